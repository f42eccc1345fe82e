"""Argument checks shared by every public entry point.

Every function here raises :class:`ValueError` (bad value) or :class:`TypeError`
(wrong container) with a message that names the argument, quotes the bad value and
says what is allowed. Entry points call these first, once, so the numerical code
below them can assume valid input.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._signals import dtype_name, host_array, host_numbers, is_tensor, numpy_view
from ._warnings import warn_user

MODES = ("joint", "channel")
#: Channel counts an image plausibly has (grey, grey + alpha, RGB, RGBA): how a layout
#: mix-up (H × W × C given where C × H × W is read, or the reverse) is recognised.
IMAGE_CHANNELS = (1, 2, 3, 4)


def plain(value: Any) -> Any:
    """``value`` with NumPy and torch scalars and small arrays as Python numbers and
    lists, for messages: ``58.9``, not ``np.float64(58.9)``."""
    if isinstance(value, np.generic):
        return _as_written(value)
    if isinstance(value, np.ndarray) or is_tensor(value):
        size = value.size if isinstance(value, np.ndarray) else value.numel()
        if size > 8:
            return _Shown(f"<{type(value).__name__} of shape {tuple(value.shape)}>")
        if is_tensor(value):
            import torch
            if value.dtype in (torch.float16, torch.float32):  # numpy has their digits
                value = value.detach().cpu().numpy()
            elif value.dtype == torch.bfloat16:
                value = value.detach().cpu().float().numpy()  # exact in float32
            else:
                return value.tolist()
        return _as_written(value) if value.ndim == 0 else \
            [plain(item) for item in value]
    if type(value) in (list, tuple):
        return type(value)(plain(item) for item in value)
    return value


def _as_written(value: np.generic | np.ndarray) -> Any:
    """A NumPy scalar as a Python number; a float16 or float32 one as the shortest
    decimal that reads back as it (``np.float32(1.2)`` is ``1.2``, not the
    ``1.2000000476837158`` that float64 holds for it)."""
    value = np.asarray(value)[()]
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))  # NumPy prints a float the shortest way it reads back
    return value.item()


class _Shown(str):
    """A string shown as it is inside a quoted container."""

    def __repr__(self) -> str:
        return str(self)


def shown(value: Any) -> str:
    """``repr(value)`` with plain numbers (see :func:`plain`): every message quotes
    user values through this."""
    return repr(plain(value))


def check_real(name: str, value: Any, *, positive: bool = False,
               nonnegative: bool = False) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``name``."""
    given = value
    if (isinstance(value, np.ndarray) or is_tensor(value)) and value.ndim == 0:
        value = value.item()  # (a 0-d bool or complex one is refused below)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(given).__name__} "
                        f"{shown(given)}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond float64 (10**400)
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {shown(given)}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {shown(given)}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {shown(given)}")
    return value


def check_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as a Python int ``>= minimum``: TypeError for a non-integer,
    ValueError for one too small."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {shown(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {int(value)}")
    return int(value)


def check_sparsity(name: str, value: Any) -> float:
    """Return ``value`` as a float in ``[0, 1]`` (a fraction of edges), or raise."""
    number = check_real(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {shown(value)}")
    return number


def check_at_most_one(**given: Any) -> None:
    """Raise unless at most one of the keyword arguments is not ``None``."""
    if sum(value is not None for value in given.values()) > 1:
        names = " and ".join(given)
        got = ", ".join(f"{name}={shown(value)}" for name, value in given.items())
        raise ValueError(f"give at most one of {names}, got {got}")


def check_exactly_one_scale(t: Any, sparsity: Any) -> None:
    """Raise unless exactly one of ``t`` and ``sparsity`` is given."""
    if (t is None) == (sparsity is None):
        raise ValueError("give exactly one of t (a time >= 0) and sparsity (a fraction "
                         f"in [0, 1]), got t={shown(t)}, sparsity={shown(sparsity)}")


def check_scale(t: Any, sparsity: Any) -> tuple[float | None, float | None]:
    """Check that exactly one of ``t`` and ``sparsity`` is given and in range."""
    check_exactly_one_scale(t, sparsity)
    if t is not None:
        if isinstance(t, numbers.Real) and not isinstance(t, numbers.Integral) and math.isinf(t):
            raise ValueError(f"t must be finite, got {shown(t)}; for the finest scale "
                             "give a large t (1e6, say): every run ends at the floor")
        return check_real("t", t, nonnegative=True), None
    return None, check_sparsity("sparsity", sparsity)


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"Invalid mode: {shown(mode)}; use one of {MODES}")
    return mode


def check_max_iter(max_iter: Any) -> int | None:
    if max_iter is None:
        return None
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"max_iter must be an int or None, got {shown(max_iter)}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {int(max_iter)}")
    # No run reaches 2**62 steps: a larger bound (beyond int64 even) means the same.
    return min(int(max_iter), 2**62)


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, or raise TypeError unless it is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def check_image_layout(shape: tuple[int, ...], *, kind: str, batch: bool = False) -> None:
    """Refuse, or warn about, an image whose channels seem to be on the wrong axis.

    ``shape`` is a numpy image's ``(H, W, C)``, a torch image's ``(C, H, W)`` or a
    batch's ``(B, C, H, W)`` (``batch``, either kind). Image channels number 1 to 4
    (:data:`IMAGE_CHANNELS`). Where the axis read as channels cannot be one and the axis
    at the other end can, the image came in the other layout and is refused: read as it
    is, it would be smoothed on the wrong grid. Where neither end can be, an image is
    refused too: most likely a grey volume (``D × H × W``) that would be smoothed as
    ``D`` rows of ``W`` channels; the message names ``channel_axis`` for either reading
    (a batch, which has no such argument, is read as documented, with a warning that
    names the fix for ``B × D × H × W`` volumes). Where both ends can be channels and the
    middle axis is longer than 4 pixels (``3 × 32 × 3``), the layout is ambiguous: it is
    read as documented, with a warning that names the fix for the other reading. Tiny
    images (every side at most 4) are read as documented without a word.
    """
    name = "images" if batch else "image"
    if batch:
        read, instead = "B × C × H × W", "B × H × W × C"
        fix = "images.permute(0, 3, 1, 2)" if kind == "torch" else \
            "images.transpose(0, 3, 1, 2)"
        back = "permute(0, 2, 3, 1)" if kind == "torch" else "transpose(0, 2, 3, 1)"
        first, middle, last = shape[1:]
        channels, other = first, last
    elif kind == "torch":
        read, instead = "C × H × W", "H × W × C"
        fix, back = "image.permute(2, 0, 1)", "permute(1, 2, 0)"
        channels, middle, other = shape
    else:
        read, instead = "H × W × C", "C × H × W"
        fix, back = "image.transpose(1, 2, 0)", "transpose(2, 0, 1)"
        other, middle, channels = shape
    described = f"{kind} {name} of shape {tuple(int(v) for v in shape)}"
    # "the numpy images … look like", "the numpy image … looks like"
    looks, is_, it = ("look", "are", "they are") if batch else ("looks", "is", "it is")
    if channels not in IMAGE_CHANNELS and other not in IMAGE_CHANNELS:
        holds = "images in that layout have" if batch else "an image in that layout has"
        said = (f"the {described} {is_} read as {read}, with {channels} channels, but "
                f"{holds} 1 to {max(IMAGE_CHANNELS)}")
        if batch:  # (no argument names the layout of a batch: the reading stands)
            warn_user(f"{said}; if {it} grey volumes (B × D × H × W), pass images[:, None] "
                      "(B × 1 × D × H × W)")
            return
        axis = 0 if kind == "torch" else -1
        raise ValueError(f"{said}: for a grey volume (D × H × W) pass channel_axis=None; "
                         f"for an image of {channels} channels, name their axis: "
                         f"channel_axis={axis}")
    if channels not in IMAGE_CHANNELS and other in IMAGE_CHANNELS:
        raise ValueError(
            f"the {described} {looks} like {instead}: {it} read as {read}, with {channels} "
            f"channels; pass {fix} (and turn the result back with .{back}). To smooth "
            f"{channels} channels, use isvs_graph.solve on isvs_graph.grid_graph(H, W)")
    if channels in IMAGE_CHANNELS and other in IMAGE_CHANNELS and middle > 4 and \
            not channels == other == 1:
        warn_user(f"the {described} {is_} ambiguous: {it} read as {read}, with {channels} "
                  f"channel(s); if {it} {instead}, pass {fix} instead")


def check_dense(values: Any, name: str) -> None:
    """Refuse what is not a numpy array or a torch tensor (a scipy sparse matrix, a
    list), a numpy matrix (2-D whatever it becomes), a numpy masked array (the solve
    would smooth the values under its mask, and a NaN hidden there would pass the
    finiteness check) and a sparse torch tensor (:func:`check_strided`)."""
    if not (isinstance(values, np.ndarray) or is_tensor(values)):
        hint = f"; pass {name}.toarray()" if hasattr(values, "toarray") else ""
        raise TypeError(f"{name} must be a numpy.ndarray or torch.Tensor, got "
                        f"{type(values).__name__}{hint}")
    if isinstance(values, np.matrix):
        raise TypeError(f"{name} is a numpy.matrix, which stays 2-D however it is indexed "
                        f"or reshaped; pass np.asarray({name})")
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(f"{name} is a numpy masked array, and isvs_graph smooths every "
                        f"value, masked or not; pass {name}.filled(value) (or "
                        f"{name}.data) to say which values to smooth")
    check_strided(values, name)


def check_strided(value: Any, name: str) -> None:
    """Refuse a sparse torch tensor (COO, CSR, …), whose values numpy cannot view."""
    if is_tensor(value):
        import torch
        if value.layout != torch.strided:
            raise TypeError(f"{name} is a sparse torch tensor ({value.layout}); pass "
                            f"{name}.to_dense()")


def check_signal(signal: Any, num_nodes: int, *, name: str = "signal") -> None:
    """Check container, shape and values of a node signal.

    Allowed shapes are ``(p,)``, ``(p, C)`` and, for a batch of signals on the same
    graph, ``(B, p, C)``, where ``p`` is the number of nodes.
    """
    tensor = is_tensor(signal)
    check_dense(signal, name)
    boolean = dtype_name(signal.dtype) == "bool"
    if boolean or (not tensor and signal.dtype.kind not in "biuf") or (
            tensor and signal.is_complex()):
        hint = "; convert a mask to numbers first (0 and 1), e.g. with .astype(np.float32) " \
            "or .float()" if boolean else ""
        raise TypeError(f"{name} must hold real numbers, got dtype {signal.dtype}{hint}")
    if signal.ndim not in (1, 2, 3):
        raise ValueError(f"{name} must have shape (p,), (p, C) or (B, p, C) with "
                         f"p = num_nodes = {num_nodes}, got shape {tuple(signal.shape)}")
    rows = signal.shape[1] if signal.ndim == 3 else signal.shape[0]
    if rows != num_nodes:
        raise ValueError(_misread_signal(name, tuple(signal.shape), num_nodes))
    if signal.ndim >= 2 and signal.shape[-1] == 0:
        raise ValueError(f"{name} has no channels (shape {tuple(signal.shape)})")
    if signal.ndim == 3 and signal.shape[0] == 0:
        raise ValueError(f"{name} is a batch of no signals (shape {tuple(signal.shape)})")
    floating = signal.is_floating_point() if tensor else signal.dtype.kind == "f"
    if not floating:
        return  # integers are finite, and far too small to overflow float64 sums
    # NaN propagates through the minimum and maximum, and an infinity is one of them:
    # they check the values, with no temporary array the size of the signal.
    if not (signal.numel() if tensor else signal.size):
        return
    values = numpy_view(signal) if tensor else signal
    if values is None:
        values = signal.detach()
        if values.element_size() == 1:  # float8: torch has no minimum for it
            values = values.float()
        low, high = values.aminmax()
        finite = bool(low.isfinite() and high.isfinite())
    else:
        low, high = values.min(), values.max()
        finite = bool(np.isfinite(low) and np.isfinite(high))
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values")
    # Means over a component add up to num_nodes values in float64: they must not overflow.
    largest = float(max(-low, high))
    limit = np.finfo(np.float64).max / (4 * max(num_nodes, 1))
    if largest > limit:
        raise ValueError(f"{name} has values up to {largest:.3g}, too large to average over "
                         f"{num_nodes} nodes in float64 (at most {limit:.3g}); rescale it "
                         "(the result scales with it)")


def _misread_signal(name: str, shape: tuple[int, ...], p: int) -> str:
    """Why a signal of ``shape`` does not fit a graph of ``p`` nodes: how its axes were
    read, and the layout expected."""
    if len(shape) == 3:
        batch, rows, channels = shape
        said = (f"{name} has {rows} rows (shape {shape}, read as a batch (B, p, C) of "
                f"{batch} signal(s) of {rows} node(s) × {channels} channel(s)) but the "
                f"graph has num_nodes = {p}")
        if batch == p:
            return (f"{said}; one signal with channels has shape (p, C) = ({p}, C): for "
                    f"{rows} × {channels} = {rows * channels} channels pass "
                    f"{name}.reshape({p}, -1)")
        return f"{said}; a batch has shape (B, {p}, C), one signal ({p},) or ({p}, C)"
    said = f"{name} has {shape[0]} rows (shape {shape}) but the graph has num_nodes = {p}"
    if len(shape) == 2 and shape[1] == p:
        return (f"{said}; it is read as (p, C): for {shape[0]} channels pass {name}.T, "
                f"for a batch of {shape[0]} signals (B, p, C) pass {name}[..., None]")
    return f"{said}; a signal has shape ({p},) or ({p}, C), a batch (B, {p}, C)"


def _as_numpy(name: str, value: Any) -> np.ndarray:
    """A field of a graph as a numpy array (a tensor is copied off its device)."""
    check_strided(value, name)
    if is_tensor(value):
        return host_array(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got "
                        f"{type(value).__name__}")
    return value


def check_edge_index(edge_index: Any, num_nodes: int) -> np.ndarray:
    """Check an edge index of shape (2, m) with entries in [0, num_nodes); return it as
    an int64 numpy array."""
    dtype = edge_index.dtype if is_tensor(edge_index) or \
        isinstance(edge_index, np.ndarray) else None
    edge_index = _as_numpy("graph.edge_index", edge_index)
    if edge_index.dtype.kind not in "iu":
        raise TypeError(f"graph.edge_index must hold integers, got {dtype}")
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError("graph.edge_index must have shape (2, m), got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.size:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0:
            raise ValueError(f"graph.edge_index has a negative node index ({low})")
        if high >= num_nodes:
            raise ValueError(f"graph.edge_index refers to node {high}, but num_nodes = "
                             f"{num_nodes} (valid indices are 0 .. {num_nodes - 1})")
    return edge_index.astype(np.int64, copy=False)


def check_edge_weight(edge_weight: Any, num_edges: int) -> np.ndarray | None:
    """Check optional positive, finite edge weights of shape (m,); return them as a
    float64 numpy array."""
    if edge_weight is None:
        return None
    dtype = edge_weight.dtype if is_tensor(edge_weight) or \
        isinstance(edge_weight, np.ndarray) else None
    edge_weight = _as_numpy("graph.edge_weight", edge_weight)
    if edge_weight.dtype.kind not in "fiu" or str(dtype) in ("torch.uint16", "torch.uint32",
                                                              "torch.uint64"):
        raise TypeError(f"graph.edge_weight must hold real numbers, got {dtype}")
    if edge_weight.ndim == 2 and edge_weight.shape[1] == 1:
        edge_weight = edge_weight[:, 0]
    if edge_weight.shape != (num_edges,):
        raise ValueError(f"graph.edge_weight must have shape ({num_edges},), one weight "
                         f"per column of edge_index, got {tuple(edge_weight.shape)}")
    edge_weight = edge_weight.astype(np.float64)
    if not np.isfinite(edge_weight).all():
        raise ValueError("graph.edge_weight contains NaN or infinite values")
    if num_edges and edge_weight.min() <= 0:
        raise ValueError("graph.edge_weight must be > 0 on every edge, got minimum "
                         f"{edge_weight.min().item()!r}")
    return edge_weight


def check_edge_attr(edge_attr: Any, has_weight: bool) -> None:
    """Refuse ``edge_attr`` on a graph without ``edge_weight``.

    isvs_graph follows PyG's convention (as ``GCNConv`` and ``GCNNorm`` do): one scalar
    weight per edge lives in ``edge_weight``, edge features in ``edge_attr``. A graph
    that has ``edge_attr`` but no ``edge_weight`` may hold its weights there, so it is
    refused with the one-line fix rather than solved with unit weights in silence. With
    ``edge_weight`` given, ``edge_attr`` is taken as features and left alone.
    """
    if edge_attr is None or has_weight:
        return
    shape = tuple(edge_attr.shape) if hasattr(edge_attr, "shape") else None
    if shape is not None and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        fix = "if it holds the weights, set graph.edge_weight = graph.edge_attr.reshape(-1)"
    else:
        fix = ("if one of its columns holds the weights, set graph.edge_weight = "
               "graph.edge_attr[:, k]")
    raise ValueError(
        f"graph has edge_attr (shape {shape}) but no edge_weight, and isvs_graph reads "
        "edge weights from edge_weight only (PyG's convention: edge_weight holds one "
        f"positive weight per edge, edge_attr holds edge features). Pass edge_weight: {fix}"
        "; for unit weights, set graph.edge_weight = torch.ones(graph.num_edges)")


def check_weight_attribute(weight: Any, num_edges: int, has_weight: bool) -> None:
    """Refuse an edge-level ``weight`` (one value an edge) on a graph without
    ``edge_weight``: PyG's ``from_networkx`` keeps a networkx graph's weights there,
    where they would be ignored in silence."""
    if has_weight or getattr(weight, "ndim", 0) < 1 or weight.shape[0] != num_edges:
        return
    raise ValueError(
        f"graph has weight (shape {tuple(weight.shape)}, one value an edge) but no "
        "edge_weight, and isvs_graph reads edge weights from edge_weight only (PyG's "
        "convention; torch_geometric.utils.from_networkx names a networkx edge attribute "
        "'weight' so). Set graph.edge_weight = graph.weight, or use "
        "isvs_graph.from_networkx, which does")


def check_num_nodes(num_nodes: Any) -> int:
    if is_tensor(num_nodes) and num_nodes.ndim == 0 and not num_nodes.is_floating_point():
        num_nodes = int(num_nodes)  # a 0-d integer tensor, as PyG sometimes leaves it
    return check_count("graph.num_nodes", num_nodes)


def check_batch_scale(t: Any, sparsity: Any, batch: int,
                      ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Like :func:`check_scale`, but each may also be one value per signal."""
    check_exactly_one_scale(t, sparsity)
    name, value = ("t", t) if t is not None else ("sparsity", sparsity)
    check_strided(value, name)
    if is_tensor(value):
        value = host_array(value)
    if type(value) in (list, tuple):  # each item one signal's: a number (not a bool)
        value = host_numbers(value)
        for i, item in enumerate(value):
            if item is None or isinstance(item, (bool, np.bool_)) or np.ndim(item):
                raise TypeError(f"{name}[{i}] is {shown(item)}: give {name} as one number, "
                                "or one number per signal")
    if isinstance(value, (np.ndarray, list, tuple)) and np.ndim(value) == 1:
        if len(value) != batch:
            raise ValueError(f"{name} has {len(value)} values for a batch of {batch}")
        given = np.asarray(value)
        if given.dtype.kind in "fiu":  # numbers: checked at once, the culprit named
            array = given.astype(np.float64)
            bad = ~np.isfinite(array) | (array < 0) | (array > 1 if sparsity is not None
                                                       else False)
            if not bad.any():
                return (array, None) if t is not None else (None, array)
            value = given[bad][:1]  # in its own dtype: quoted as the user wrote it
        values = [check_scale(v, None)[0] if t is not None else check_scale(None, v)[1]
                  for v in (value if isinstance(value, np.ndarray) and
                            value.dtype.kind in "fiu" else
                            np.asarray(value, dtype=object).tolist())]
    else:
        one = check_scale(value, None)[0] if t is not None else check_scale(None, value)[1]
        values = [one] * batch
    array = np.asarray(values, dtype=np.float64)
    return (array, None) if t is not None else (None, array)
