"""A CUDA device emulated on the CPU, for tests of device-agnostic code without a GPU.

Inside ``with FakeCuda():`` (a ``TorchFunctionMode``), tensors marked as on the device
(:func:`to_dev`, or made with ``device="cuda"``, ``.to("cuda")``, ``.cuda()``) behave as
CUDA tensors do where it matters to code that must run on both:

* their ``.device`` is ``cuda:0`` (``is_cuda`` True); ``.cpu()`` and ``.to("cpu")``
  return unmarked copies, and results of operations on them stay marked;
* ``.numpy()`` and ``__array__`` (``np.asarray``) raise, as on CUDA;
* an operation mixing them with unmarked tensors of one or more dimensions raises (0-d
  CPU tensors pass as scalars; a device tensor indexed by CPU indices is allowed);
* a CPU generator for a device tensor raises;
* host syncs (``.item()``, ``bool()``, ``float()``, ``int()``, ``tolist()``) are
  recorded in ``syncs`` with their stack;
* ``default_device=True`` emulates ``torch.set_default_device("cuda")``: factories
  without a ``device`` make device tensors.

The data stay on the CPU, so results can be compared with a CPU run exactly. It is an
approximation of CUDA's rules, not CUDA: a test passing here may still fail on a GPU for
reasons it does not model (fused arithmetic, memory).
"""
import traceback
import torch
from torch.overrides import TorchFunctionMode

CUDA = torch.device("cuda", 0)
CPU = torch.device("cpu")
T = torch.Tensor


def tagged(t):
    return isinstance(t, torch.Tensor) and getattr(t, "_fake", False)


def tag(obj, value=True):
    if isinstance(obj, torch.Tensor):
        try:
            obj._fake = value
        except Exception:
            pass
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            tag(o, value)
    return obj


def is_dev(device):
    if device is None:
        return None
    if isinstance(device, torch.device):
        return device.type == "cuda"
    if isinstance(device, str):
        return device.startswith("cuda")
    if isinstance(device, int):
        return True
    return None


def flat(x, out):
    if isinstance(x, torch.Tensor):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for y in x:
            flat(y, out)
    elif isinstance(x, dict):
        for y in x.values():
            flat(y, out)
    return out


class DeviceMix(RuntimeError):
    pass


def _name(func):
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", str(func))


SYNCS = {"item", "__bool__", "__float__", "__int__", "tolist", "__index__"}
INDEXING = {"__getitem__", "__setitem__", "index_put_", "index_put"}


class FakeCuda(TorchFunctionMode):
    def __init__(self, record_syncs=True, default_device=False):
        super().__init__()
        self.syncs = []
        self.record_syncs = record_syncs
        self.default_device = default_device  # emulate torch.set_default_device('cuda')

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = _name(func)
        short = name.split(".")[-1]
        if short == "__get__":
            name = "get." + getattr(getattr(func, "__self__", None), "__name__", "?")
        # properties
        if name == "get.device":
            t = args[0]
            return CUDA if tagged(t) else CPU
        if name == "get.is_cuda":
            return bool(tagged(args[0]))
        if name == "get.is_cpu":
            return not tagged(args[0])
        if short == "__get__":
            return func(*args, **kwargs)
        if short in ("numpy", "__array__") and args and tagged(args[0]):
            raise TypeError(f"[fakecuda] {name}: can't convert cuda:0 device type tensor "
                            "to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        if short == "pin_memory" and args and tagged(args[0]):
            raise RuntimeError("[fakecuda] cannot pin a CUDA tensor")
        if short in SYNCS and args and tagged(args[0]):
            if self.record_syncs:
                self.syncs.append((name, "".join(traceback.format_stack(limit=8)[:-1])))
            return func(*args, **kwargs)
        if short == "cpu":
            out = func(*args, **kwargs)
            if out is args[0]:
                out = out.detach().clone() if tagged(out) else out
            return tag(out, False)
        if short == "cuda":
            out = args[0] if tagged(args[0]) else args[0].clone()
            return tag(out, True)
        if short == "to" and args and isinstance(args[0], torch.Tensor):
            src = args[0]
            dev = kwargs.get("device")
            rest = list(args[1:])
            for i, a in enumerate(rest):
                if isinstance(a, (torch.device, str, int)) and is_dev(a) is not None:
                    dev = a
                    rest[i] = CPU
                elif isinstance(a, torch.Tensor):
                    dev = CUDA if tagged(a) else CPU
                    rest[i] = a.dtype
            if "device" in kwargs:
                kwargs["device"] = CPU
            out = func(src, *rest, **kwargs)
            target = is_dev(dev)
            if target is None:  # dtype only: stays where it is
                target = tagged(src)
            if out is src and target != tagged(src):
                out = src.clone()
            return tag(out, target)
        # factories / anything with device=
        tensors = flat(args, []) + flat(kwargs, [])
        dev_kw = kwargs.get("device", "absent")
        target = None
        if dev_kw != "absent":
            target = is_dev(dev_kw)
            if target:
                kwargs["device"] = CPU
            gen = kwargs.get("generator")
            if gen is not None and target and gen.device.type == "cpu":
                raise DeviceMix(f"[fakecuda] {name}: CPU generator for a cuda tensor")
        elif self.default_device and short in (
                "zeros", "ones", "full", "empty", "arange", "rand", "randn", "randint",
                "tensor", "linspace", "eye", "randperm", "as_tensor", "asarray", "fftfreq",
                "rfftfreq", "scalar_tensor", "range", "logspace", "empty_strided"):
            target = True
            gen = kwargs.get("generator")
            if gen is not None and gen.device.type == "cpu":
                raise DeviceMix(f"[fakecuda] {name}: CPU generator for a default-cuda tensor")
        # mixing check
        dev_t = [t for t in tensors if tagged(t)]
        host_t = [t for t in tensors if not tagged(t) and t.ndim > 0]
        if dev_t and host_t:
            allowed = False
            if short in INDEXING:
                # index tensors on the CPU are fine; values must be on the device
                # __setitem__(self, idx, value)
                if short == "__setitem__":
                    value = args[2] if len(args) > 2 else None
                    allowed = not (isinstance(value, torch.Tensor) and not tagged(value)
                                   and value.ndim > 0) and tagged(args[0])
                    if not allowed and not tagged(args[0]):
                        allowed = False
                else:
                    allowed = tagged(args[0])
            if short in ("copy_",):
                allowed = True
            if short == "from_numpy":
                allowed = True
            if not allowed:
                raise DeviceMix(
                    f"[fakecuda] {name}: expected all tensors on the same device, got "
                    f"{len(dev_t)} cuda and {len(host_t)} cpu (shapes "
                    f"{[tuple(t.shape) for t in host_t][:3]})")
        # host tensor indexed by a device tensor: error on CUDA too
        if short in INDEXING and args and isinstance(args[0], torch.Tensor) \
                and not tagged(args[0]) and args[0].ndim > 0 and dev_t:
            raise DeviceMix(f"[fakecuda] {name}: CPU tensor indexed with a cuda tensor")
        out = func(*args, **kwargs)
        if target is None:
            target = bool(dev_t)
        if target:
            tag(out, True)
        return out


def to_dev(t):
    """A copy of ``t`` marked as on the emulated device."""
    t = t.clone()
    t._fake = True
    return t
