"""``run_split_lbi``: the contract every entry point calls, whatever the backend.

1. Scale-free (DESIGN §2). Each signal of a batch is normalised by its range
   ``σ = max − min`` over all its entries and solved as ``(x − min) / σ`` — the same
   iteration as ``x / σ``, since Split LBI commutes with adding a constant — and the
   result is scaled back. So ``solve(a x + b) = a solve(x) + b`` for ``a > 0`` and every
   parameter is dimensionless. A constant signal (``σ = 0``) comes back as it is.
2. Bounded cost. A signal stops at its target; at the floor (stationary within
   ``tol`` with only flat edges, weighted difference ``<= tol``, left outside the
   support); or after ``max_iter`` computed steps. Idle stretches are jumped over.
3. One result type for both backends, and one warning that names its cause (the
   floor, ``max_iter``, a stiff problem) at the user's line.

The CPU path is numpy from end to end (the numba backend); torch is imported only for the
torch backend, which takes tensors on any device (numpy signals are lent to it as CPU
tensors and its results handed back as numpy).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._signals import dtype_name
from .._warnings import convergence_warning, warn_user
from ..graphs import CanonicalGraph
from ..graphs._grid import frozen_grid_shape
from . import numba_backend, numba_kernels
from .numba_kernels import FLOOR, MAX_ITER, NON_FINITE, REACHED
from .options import (DEFAULT_MAX_ITER, SolverOptions, is_slow, iterations_for_time,
                      stiffness_cause)

if TYPE_CHECKING:
    import torch

#: A signal batch ``(p, B, C)``: a numpy array (CPU) or a tensor (any device).
Array = Any


@dataclass
class SolverResult:
    """Where each signal of a batch stopped, in the signal's own units.

    ``u`` is ``(p, B, C)``; ``support`` is ``(m, B)`` (joint) or ``(m, B, C)``
    (channel), True where ``γ ≠ 0``; both numpy for numpy signals, tensors on the
    signals' device for tensors; ``iterations`` (the iterate ``k``, jumps
    included), ``steps`` (computed), ``sparsity``, ``status`` (``REACHED``, ``FLOOR``,
    ``MAX_ITER``) and ``leaves`` are ``(B,)``; ``offset`` and ``scale`` the
    normalisation ``(x − offset) / scale`` of each signal; ``constant`` marks signals
    with ``σ = 0`` (their ``u`` is the signal itself).

    Path recording (numba backend) adds, per signal: ``entry_iter`` ``(B, entries)``,
    the first iteration at which each entry of ``γ`` (an edge, or an edge-channel pair
    in channel mode, canonical order) became non-zero, −1 if never; ``log_k``,
    ``log_e``, ``log_n``: every later change of an entry (a leave or a re-entry) as
    ``(iteration, entry)``; ``level_u`` ``(B, L, p, C)``, ``level_support``
    ``(B, L, m, 1 or C)`` and ``level_iter`` ``(B, L)`` at the first iterate whose
    sparsity is at most each recorded level (−1 where not reached); ``stop_u``,
    ``stop_support``, ``stop_iter`` likewise at each recorded iteration; ``drift``
    ``(B,)``, ``level_drift`` ``(B, L)`` and ``stop_drift`` ``(B, S)``: the summed
    largest change of ``u`` per step up to the end and to each snapshot, in the
    signal's units, so that ``max |u_k − u_r| <= drift_k − drift_r`` (recorded with the
    entries); ``mark_k`` and ``mark_d`` ``(B, marks)`` with ``mark_n`` ``(B,)``: the
    iterates at which the support count changed and the drift there.
    """

    u: Array
    support: Array
    iterations: np.ndarray
    steps: np.ndarray
    sparsity: np.ndarray
    status: np.ndarray
    leaves: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    constant: np.ndarray | None = None
    entry_iter: np.ndarray | None = None
    log_k: np.ndarray | None = None
    log_e: np.ndarray | None = None
    log_n: np.ndarray | None = None
    level_u: np.ndarray | None = None
    level_support: np.ndarray | None = None
    level_iter: np.ndarray | None = None
    stop_u: np.ndarray | None = None
    stop_support: np.ndarray | None = None
    stop_iter: np.ndarray | None = None
    drift: np.ndarray | None = None
    level_drift: np.ndarray | None = None
    stop_drift: np.ndarray | None = None
    mark_k: np.ndarray | None = None
    mark_d: np.ndarray | None = None
    mark_n: np.ndarray | None = None

    @property
    def reached(self) -> np.ndarray:
        """Signals that met their target."""
        return self.status == REACHED

    @property
    def converged(self) -> np.ndarray:
        """Signals that stopped at the floor (the finest scale above ``tol``)."""
        return self.status == FLOOR


def _ranges(x: Array) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest entry of each signal of ``x`` ``(p, B, C)``, float64."""
    if isinstance(x, np.ndarray):
        if x.shape[1] == 1:  # one signal: a plain reduction, several times cheaper
            return (np.array([x.min()], dtype=np.float64),
                    np.array([x.max()], dtype=np.float64))
        return x.min(axis=(0, 2)).astype(np.float64), x.max(axis=(0, 2)).astype(np.float64)
    return x.amin(dim=(0, 2)).double().cpu().numpy(), \
        x.amax(dim=(0, 2)).double().cpu().numpy()


def _per_signal(values: np.ndarray, like: Array, dtype: str | None = None) -> Array:
    """``values`` ``(B,)`` shaped ``(1, B, 1)`` as ``like``'s kind, dtype and device."""
    dtype = dtype or dtype_name(like.dtype)
    shaped = values.astype(dtype)[None, :, None]
    if isinstance(like, np.ndarray):
        return shaped
    import torch
    return torch.from_numpy(shaped).to(like.device)


def _fits(scale: np.ndarray, like: Array) -> bool:
    """Whether ranges up to ``scale`` can be divided out in ``like``'s dtype without
    overflow (values near float32's limit cannot)."""
    return bool((scale < _largest(like.dtype) / 4).all())


@functools.lru_cache(maxsize=None)
def _largest(dtype) -> float:
    """The largest finite value of a float dtype (numpy's or torch's)."""
    return float(np.finfo(dtype_name(dtype)).max)


def _wide(x: Array) -> Array:
    return x.astype(np.float64) if isinstance(x, np.ndarray) else x.double()


def _narrow(x: Array, like: Array) -> Array:
    return x.astype(like.dtype) if isinstance(x, np.ndarray) else x.to(like.dtype)


def normalise(x: Array) -> tuple[Array, np.ndarray, np.ndarray, np.ndarray]:
    """``((x − min) / σ, min, σ, constant)`` per signal of ``x`` ``(p, B, C)`` (numpy or a
    tensor); ``σ = 1`` where a signal is constant (``constant``: max = min). ``min`` and
    ``σ`` are float64 numpy arrays; the division runs in ``x``'s dtype unless the range
    would overflow it (values near float32's limit)."""
    if not math.prod(x.shape):
        zero = np.zeros(x.shape[1])
        return (x.copy() if isinstance(x, np.ndarray) else x.clone(), zero, zero + 1,
                np.ones(x.shape[1], dtype=bool))
    low, high = _ranges(x)
    scale = np.where(high > low, high - low, 1.0)
    return _scaled(x, low, scale), low, scale, high == low


def _scaled(x: Array, low: np.ndarray, scale: np.ndarray) -> Array:
    """``(x − low) / scale`` per signal, in ``x``'s dtype (through float64 where the
    range would overflow it)."""
    if _fits(scale, x):
        return (x - _per_signal(low, x)) / _per_signal(scale, x)
    wide = (_wide(x) - _per_signal(low, x, "float64")) / _per_signal(scale, x, "float64")
    return _narrow(wide, x)


def _denormalise(u: Array, low: np.ndarray, scale: np.ndarray) -> Array:
    """The inverse of :func:`normalise` on ``(p, B, C)`` values."""
    if _fits(scale, u):
        return u * _per_signal(scale, u) + _per_signal(low, u)
    wide = _wide(u) * _per_signal(scale, u, "float64") + _per_signal(low, u, "float64")
    return _narrow(wide, u)


def select_signals(mask: np.ndarray, a: Array, b: Array) -> Array:
    """``a`` where the signal mask ``(B,)`` is set, else ``b`` (``(p, B, C)`` arrays)."""
    if isinstance(a, np.ndarray):
        return np.where(mask[None, :, None], a, b)
    import torch
    return torch.where(torch.from_numpy(mask).to(a.device)[None, :, None], a, b)


def _is_finite(u: Array) -> bool:
    return bool(np.isfinite(u).all()) if isinstance(u, np.ndarray) else \
        bool(u.isfinite().all())


def run_split_lbi(graph: CanonicalGraph, x: Array, u0: Array,
                  options: SolverOptions, *, t=None, sparsity=None,
                  progress: bool = False,
                  backend: str = "auto", record_levels: Sequence[float] | None = None,
                  record_times: Sequence[float] = (), record_entries: bool = False,
                  ) -> SolverResult:
    """Run Split LBI on a batch of signals until each meets its stop rule.

    Parameters
    ----------
    graph : CanonicalGraph
    x, u0 : array of shape ``(p, B, C)``
        The signals and the starting point (their component means): numpy arrays, or
        tensors on any device.
    options : SolverOptions
    t, sparsity : float or array of shape (B,)
        At most one: stop at the first ``k`` with ``k α >= t``, or at the first
        ``k`` whose sparsity is ``<= sparsity``, per signal. ``None`` for both runs
        to the floor (or ``max_iter``).
    progress : bool
        Show a progress bar (tqdm); it never changes the backend or the arithmetic.
    backend : {"auto", "torch", "numba"}
        ``"auto"`` takes the numba kernels for CPU signals (numpy arrays or CPU tensors)
        and torch otherwise.
    record_levels, record_times, record_entries
        Path recording (numba backend): see :class:`SolverResult`.

    Returns
    -------
    SolverResult
        ``u`` and ``support`` of ``x``'s kind (and device).

    Raises
    ------
    FloatingPointError
        The iteration became non-finite.
    """
    if backend not in ("auto", "torch", "numba"):
        raise ValueError(f"Invalid backend: {backend!r}; use 'auto', 'torch' or 'numba'")
    on_cpu = isinstance(x, np.ndarray) or x.device.type == "cpu"
    use_numba = backend == "numba" or (backend == "auto" and numba_kernels.available()
                                       and on_cpu)
    if use_numba and (not numba_kernels.available() or not on_cpu):
        raise ValueError("the numba backend needs numba installed and CPU tensors")
    recording = bool(record_levels) or bool(record_times) or record_entries
    if recording and not use_numba:
        raise ValueError("path recording needs the numba backend (CPU tensors)")
    given_tensor = not isinstance(x, np.ndarray)
    if use_numba and given_tensor:  # the numpy core, on views of the CPU tensors
        x, u0 = x.numpy(), u0.numpy()
    elif not use_numba and not given_tensor:  # numpy lent to the torch backend
        import torch
        x, u0 = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(u0))
    batch = x.shape[1]
    k_target, s_target = _targets(options, batch, t, sparsity)
    xn, low, scale, constant = normalise(x)
    un = _scaled(u0, low, scale)
    stops = sorted({iterations_for_time(float(v), options.alpha) for v in record_times})
    if use_numba:
        result = _run_numba(graph, xn, un, options, k_target, s_target, progress,
                            record_levels or (), stops, record_entries)
    else:
        from . import torch_backend
        op = torch_backend.operator(graph, dtype=x.dtype, device=x.device)
        run = torch_backend.run(op, xn, un, options, k_target, s_target,
                                progress=progress)
        result = SolverResult(run.u, run.support, run.iterations, run.steps, run.sparsity,
                              run.status, np.zeros(batch, dtype=np.int64),
                              np.zeros(batch), np.ones(batch))
    if (result.status == NON_FINITE).any() or not _is_finite(result.u):
        raise FloatingPointError(
            f"Split LBI produced non-finite values (alpha = {options.alpha:g}, kappa = "
            f"{options.kappa:g}, nu = {options.nu:g}): the step size is too large for "
            "these edge weights")
    result.offset, result.scale = low, scale
    result.u = _denormalise(result.u, low, scale)
    # A constant signal is its own answer at every scale, to the last bit.
    result.constant = constant
    if result.constant.any():
        result.u = select_signals(result.constant, x, result.u)
    for name in ("level_u", "stop_u"):
        snapshots = getattr(result, name)
        if snapshots is not None:  # (B, L, p, C): as _denormalise does, in the dtype
            repeat = snapshots.shape[1]
            u = snapshots.transpose(2, 0, 1, 3).reshape(snapshots.shape[2], -1,
                                                        snapshots.shape[3])
            u = _denormalise(u, np.repeat(low, repeat), np.repeat(scale, repeat))
            setattr(result, name, np.ascontiguousarray(
                u.reshape(snapshots.shape[2], *snapshots.shape[:2], -1).transpose(
                    1, 2, 0, 3)))
    for name in ("drift", "level_drift", "stop_drift", "mark_d"):
        drift = getattr(result, name)
        if drift is not None:  # normalised units → the signal's, rounded up
            scaled = drift * result.scale.reshape((-1,) + (1,) * (drift.ndim - 1))
            setattr(result, name, np.nextafter(scaled, np.inf))
    if given_tensor and use_numba:  # back to the caller's kind, without copies
        import torch
        result.u = torch.from_numpy(np.ascontiguousarray(result.u))
        result.support = torch.from_numpy(np.ascontiguousarray(result.support))
    elif not given_tensor and not use_numba:
        result.u, result.support = result.u.numpy(), result.support.numpy()
    _warn_if_short(result, options, t, sparsity, graph)
    return result


def _targets(options: SolverOptions, batch: int, t, sparsity):
    k_target = np.full(batch, -1, dtype=np.int64)
    s_target = np.full(batch, -1.0)
    if t is not None:
        times = np.asarray(t, dtype=np.float64)
        if times.ndim:
            k_target[:] = [iterations_for_time(float(v), options.alpha) for v in times]
        else:
            k_target[:] = iterations_for_time(float(times), options.alpha)
    if sparsity is not None:
        s_target[:] = sparsity  # one value, or one a signal
    return k_target, s_target


def _log_in_order(rec) -> tuple[np.ndarray, np.ndarray]:
    """The log of support changes, per signal by iteration and then entry.

    An entry changes at most once an iteration; within one, the kernels log in the order
    they sweep (chunks, and blocks across threads), which is no property of the path:
    sorted, the log is the same whatever the chunking and the threads."""
    n = int(rec.log_n.max(initial=0))
    log_k, log_e = rec.log_k[:, :n], rec.log_e[:, :n]
    unused = np.arange(n)[None, :] >= rec.log_n[:, None]
    last = np.iinfo(np.int64).max
    order = np.lexsort((np.where(unused, last, log_e), np.where(unused, last, log_k)))
    return np.take_along_axis(log_k, order, 1), np.take_along_axis(log_e, order, 1)


def _run_numba(graph, xn, un, options, k_target, s_target, progress, levels, stops,
               record_entries) -> SolverResult:
    out = numba_backend.run(graph, xn, un, options, k_target, s_target, progress=progress,
                            levels=levels, stops=stops, record_entries=record_entries)
    joint = options.mode == "joint"
    dtype = out.u.dtype
    support = numba_backend.support(out, out.graph, joint, dtype.type(1))  # (B, m, P)
    support_t = support.transpose(1, 0, 2)
    u = out.u.transpose(2, 0, 1)  # (B, C, p) → (p, B, C)
    rec = out.rec

    def planes_to_nodes(snapshots: np.ndarray) -> np.ndarray:  # (B, L, C, p) → (B, L, p, C)
        return np.ascontiguousarray(snapshots.transpose(0, 1, 3, 2))

    recorded = {}
    if levels or stops or record_entries:
        log_k, log_e = _log_in_order(rec) if record_entries else (None, None)
        recorded = dict(
            entry_iter=rec.entry_iter if record_entries else None,
            log_k=log_k,
            log_e=log_e,
            log_n=rec.log_n if record_entries else None,
            level_u=planes_to_nodes(rec.level_u) if len(levels) else None,
            level_support=rec.level_support if len(levels) else None,
            level_iter=rec.level_iter if len(levels) else None,
            stop_u=planes_to_nodes(rec.stop_u) if len(stops) else None,
            stop_support=rec.stop_support if len(stops) else None,
            stop_iter=rec.stop_iter if len(stops) else None,
            drift=rec.drift if record_entries else None,
            level_drift=rec.level_drift if record_entries and len(levels) else None,
            stop_drift=rec.stop_drift if record_entries and len(stops) else None,
            mark_k=rec.mark_k[:, :int(rec.mark_n.max(initial=0))] if record_entries else None,
            mark_d=rec.mark_d[:, :int(rec.mark_n.max(initial=0))] if record_entries else None,
            mark_n=rec.mark_n if record_entries else None)
    return SolverResult(u, support_t[:, :, 0] if joint else support_t, out.iterations,
                        out.steps, out.sparsity, out.status, out.leaves,
                        np.zeros(len(out.steps)), np.ones(len(out.steps)), **recorded)


#: An edge lighter than this part of the mean weight barely moves: max_iter is then no
#: cure, and a run cut off by it says so.
LIGHT_EDGE = 1e-6


def _warn_if_short(result: SolverResult, options: SolverOptions, t, sparsity,
                   graph: CanonicalGraph) -> None:
    status = result.status
    if not ((status == FLOOR) | (status == MAX_ITER)).any():
        return
    if sparsity is not None:
        what = "the target sparsity" if np.ndim(sparsity) else f"sparsity {sparsity:g}"
    elif t is not None:
        what = "the target time" if np.ndim(t) else f"t = {t:g}"
    else:
        what = "the floor"
    batch = len(status)
    floor = (status == FLOOR) & (sparsity is not None)
    if floor.any():
        warn_user(convergence_warning(
            f"{int(floor.sum())} of {batch} signal(s) cannot reach {what}: they stopped at "
            f"the floor, where every edge left outside the support has a weighted "
            f"difference below tol = {options.tol:g} of the signal's range (such edges "
            "count as flat and never enter). The result is the finest scale above the "
            f"floor (sparsity {result.sparsity[floor].min():.4g}).", np.flatnonzero(floor)))
    cut = status == MAX_ITER
    if cut.any():
        if is_slow(options):
            why = "the problem is slow: " + stiffness_cause(
                options.kappa, options.nu, options.alpha, options.tol, options.norm_bound,
                options.relaxation)
        else:
            why = f"raise max_iter (default {DEFAULT_MAX_ITER:,}) for a finer result"
            lightest = 1.0
            if frozen_grid_shape(graph) is None:  # (a grid's weights are 1: not read)
                weight = graph.edge_weight
                lightest = float(weight.min() / weight.mean()) if weight.size else 1.0
            if lightest < LIGHT_EDGE:
                why += (f", though the lightest edge weighs {lightest:.3g} of the mean: a "
                        "difference across it counts that little, so it enters only after "
                        f"about {1 / lightest:.3g} times the steps of an average edge, if "
                        "ever (drop such edges, or raise their weight)")
        warn_user(convergence_warning(
            f"{int(cut.sum())} of {batch} signal(s) stopped after max_iter = "
            f"{options.max_iter} steps short of {what} (sparsity reached: "
            f"{result.sparsity[cut].min():.4g}); {why}.", np.flatnonzero(cut)))
