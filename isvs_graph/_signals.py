"""Signals in, signals out: numpy or torch in any of the accepted layouts becomes the
solver's working layout ``(p, B, C)`` and back, keeping kind, shape, dtype and device.

The core is numpy: a signal on the CPU (a numpy array, or a CPU tensor, viewed without a
copy) is worked on as a numpy array, and torch is imported only when a tensor is given
(:func:`is_tensor` asks without importing it). Only a tensor on another device (CUDA)
stays a tensor, for the torch backend.

The dtype rule of every entry point is :func:`output_dtype` (what comes back) with
:func:`working_dtype` (what the solver computes in); the docstrings of the public
functions refer to it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._warnings import warn_user

if TYPE_CHECKING:
    import torch

WorkingSignal = tuple[Any, Callable[[Any], Any]]

#: Floating dtypes returned as they came (float16 and bfloat16 computed in float32).
KEPT_FLOATS = ("float16", "bfloat16", "float32", "float64")


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a :class:`torch.Tensor`, without importing torch (a program
    that never imported it cannot hold a tensor)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def on_cpu(value: Any) -> bool:
    """Whether ``value`` is a numpy array or a CPU tensor (the numpy core's input)."""
    return not is_tensor(value) or value.device.type == "cpu"


#: The torch dtypes numpy has too.
_SHARED_DTYPES = frozenset(("float16", "float32", "float64", "int8", "int16", "int32",
                            "int64", "uint8", "uint16", "uint32", "uint64", "bool"))


def numpy_view(tensor: torch.Tensor) -> np.ndarray | None:
    """The values of a CPU tensor as a numpy view (detached, no copy), or ``None`` where
    it lives on another device or numpy has no such dtype. On a small signal numpy's
    reductions cost a fraction of torch's."""
    if tensor.device.type != "cpu" or dtype_name(tensor.dtype) not in _SHARED_DTYPES:
        return None
    try:
        return tensor.detach().numpy()
    except (RuntimeError, TypeError):  # a view torch keeps lazily (a negated one)
        return None


def host_array(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values, from any device, as a numpy array; floats numpy has no dtype
    for (bfloat16, float8) as float64."""
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point() and dtype_name(tensor.dtype) not in _SHARED_DTYPES:
        tensor = tensor.double()
    return tensor.numpy()


def host_numbers(values: list | tuple) -> list:
    """``values`` with its 0-d tensors, from any device, as Python numbers (numpy cannot
    read a CUDA one in a list); other items as they are."""
    return [item.detach().cpu().item() if is_tensor(item) and item.ndim == 0 else item
            for item in values]


@functools.lru_cache(maxsize=64)  # str() of a numpy dtype takes microseconds
def dtype_name(dtype: np.dtype | torch.dtype | str) -> str:
    """``"float32"``, ``"uint8"``, ``"bfloat16"`` …: one name for numpy and torch dtypes
    (a numpy dtype in either byte order: ``">u2"`` is ``"uint16"``)."""
    text = str(dtype)
    if text.startswith("torch."):
        return text.removeprefix("torch.")
    try:
        return np.dtype(dtype).name
    except TypeError:  # a name numpy does not know ("bfloat16")
        return text


def is_integer(dtype: np.dtype | torch.dtype | str) -> bool:
    return dtype_name(dtype).startswith(("int", "uint"))


def working_dtype(dtype: np.dtype | torch.dtype | str) -> str:
    """The dtype the solver computes in for input of ``dtype`` (see :func:`output_dtype`),
    by name: float32 and float64 as they are; float16 and bfloat16 in float32; integers
    by value, in float32 up to 16 bits (which it holds exactly) and float64 beyond."""
    name = dtype_name(dtype)
    if name in ("float32", "float64"):
        return name
    if name in ("float16", "bfloat16"):
        return "float32"
    if is_integer(name) and np.dtype(name).itemsize <= 2:
        return "float32"
    return "float64"


def output_dtype(dtype: np.dtype | torch.dtype | str, *, images: bool = False) -> str:
    """The dtype every entry point returns for input of ``dtype``, by name: the one
    statement of the dtype rule.

    * float32, float64: computed and returned as they are;
    * float16, bfloat16: computed in float32 (:func:`working_dtype`) and cast back;
    * integers of any width and sign (uint8, int8, uint16, int32, int64 …): read by
      value, computed in float32 up to 16 bits and float64 beyond. Image functions
      (``smooth_image``, ``smooth_images``, ``image_paths``, ``images=True``) return
      them in their dtype, rounded to the nearest integer and clipped to its range, as
      pictures are stored; ``solve`` and ``path`` return the float they computed in, as
      a signal on a graph is a measurement;
    * bool: refused with a TypeError (by :func:`~isvs_graph._validation.check_signal`
      and the image functions) rather than guessed at: smooth a mask as numbers with
      ``mask.astype(np.float32)`` or ``mask.float()`` and threshold the result as
      wanted;
    * other floats (numpy's ``longdouble``, torch's float8 types): computed and returned
      in float64.

    By value: the solve is scale-free (see the Theory page), so an ``int64`` image holding 0–255
    (numpy's and ``torch.randint``'s default) is smoothed exactly as the same values in
    uint8 or in float, never scaled by its dtype's maximum.
    """
    name = dtype_name(dtype)
    if name in KEPT_FLOATS or (images and is_integer(name)):
        return name
    return dtype_name(working_dtype(name))


def torch_dtype(name: str) -> torch.dtype:
    import torch
    return getattr(torch, name)


#: The warning for a tensor that requires grad: smoothing has no gradient.
DETACHED = ("ISVS smoothing has no gradient: the result is detached from autograd (none "
            "flows back to the input). For a straight-through gradient (BPDA) use "
            "x + (smoothed - x).detach(); pass x.detach() (or smooth under "
            "torch.no_grad()) to silence this")


def to_working(signal: np.ndarray | torch.Tensor) -> WorkingSignal:
    """Return the signal in the working layout ``(p, B, C)`` and a function that turns a
    ``(p, B, C)`` result back into the caller's kind, layout, dtype and device
    (:func:`output_dtype`).

    The working signal is a numpy array for a numpy array or a CPU tensor (a view where
    the dtype is kept), a tensor on its device otherwise. The result is not connected to
    autograd: smoothing a tensor that requires grad warns once and returns a detached
    result (see :func:`~isvs_graph.solve`, Notes)."""
    dtype = working_dtype(signal.dtype)
    out_dtype = output_dtype(signal.dtype)
    tensor = is_tensor(signal)
    if not tensor:
        working = np.ascontiguousarray(signal, dtype=dtype)
    else:
        import torch
        if signal.requires_grad and torch.is_grad_enabled():
            warn_user(DETACHED)
        view = numpy_view(signal) if dtype_name(signal.dtype) == dtype else None
        if view is not None:  # a CPU tensor in the working dtype: numpy from here on
            working = np.ascontiguousarray(view)
        else:
            working = signal.detach().to(torch_dtype(dtype))
            if working.device.type == "cpu":
                working = working.contiguous().numpy()
    ndim = working.ndim
    if ndim == 1:
        working = working[:, None, None]
    elif ndim == 2:
        working = working[:, None, :]
    else:
        working = working.transpose(1, 0, 2) if isinstance(working, np.ndarray) else \
            working.permute(1, 0, 2)

    def restore(result: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if ndim == 1:
            result = result[:, 0, 0]
        elif ndim == 2:
            result = result[:, 0, :]
        else:
            result = result.transpose(1, 0, 2) if isinstance(result, np.ndarray) else \
                result.permute(1, 0, 2)
        if not tensor:
            return np.ascontiguousarray(result).astype(out_dtype, copy=False)
        import torch
        if isinstance(result, np.ndarray):
            result = torch.from_numpy(np.ascontiguousarray(result))
        return result.contiguous().to(torch_dtype(out_dtype))

    return working, restore


def to_dtype(values: np.ndarray | torch.Tensor,
             dtype: np.dtype | torch.dtype) -> np.ndarray | torch.Tensor:
    """``values`` (floats) cast to ``dtype``; integer dtypes get them rounded and clipped
    to the dtype's range, as every image function returns integers."""
    is_numpy = isinstance(values, np.ndarray)
    if is_integer(dtype):
        if is_numpy:
            info = np.iinfo(dtype)
        else:
            import torch
            info = torch.iinfo(dtype)
        values = values.round().clip(*float_bounds(info))
    return values.astype(dtype) if is_numpy else values.to(dtype)


def float_bounds(info) -> tuple[float, float]:
    """An integer dtype's range as floats that convert back without overflow (float64
    rounds 2⁶³ − 1 up to 2⁶³, one past int64's maximum)."""
    low, high = float(info.min), float(info.max)
    if int(high) > info.max:
        high = float(np.nextafter(high, -np.inf))
    return low, high
