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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._warnings import ConvergenceWarning, warn_user
from .._operator import DifferenceOperator
from . import numba_backend, numba_kernels, torch_backend
from .numba_kernels import FLOOR, MAX_ITER, NON_FINITE, REACHED
from .options import (DEFAULT_MAX_ITER, SolverOptions, is_slow, iterations_for_time,
                      stiffness_cause)


@dataclass
class SolverResult:
    """Where each signal of a batch stopped, in the signal's own units.

    ``u`` is ``(p, B, C)``; ``support`` is ``(m, B)`` (joint) or ``(m, B, C)``
    (channel), True where ``γ ≠ 0``; ``iterations`` (the iterate ``k``, jumps
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
    entries).
    """

    u: torch.Tensor
    support: torch.Tensor
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

    @property
    def reached(self) -> np.ndarray:
        """Signals that met their target."""
        return self.status == REACHED

    @property
    def converged(self) -> np.ndarray:
        """Signals that stopped at the floor (the finest scale above ``tol``)."""
        return self.status == FLOOR


def normalise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``((x − min) / σ, min, σ)`` per signal of ``x`` ``(p, B, C)``; ``σ = 1`` where a
    signal is constant. ``min`` and ``σ`` are float64; the division runs in ``x``'s
    dtype unless the range would overflow it (values near float32's limit)."""
    if not x.numel():
        zero = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
        return x.clone(), zero, zero + 1
    low = x.amin(dim=(0, 2)).double()
    high = x.amax(dim=(0, 2)).double()
    scale = torch.where(high > low, high - low, torch.ones_like(high))
    if bool((scale < torch.finfo(x.dtype).max / 4).all()):
        return (x - low.to(x.dtype)[None, :, None]) / scale.to(x.dtype)[None, :, None], \
            low, scale
    wide = (x.double() - low[None, :, None]) / scale[None, :, None]
    return wide.to(x.dtype), low, scale


def _denormalise(u: torch.Tensor, low: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`normalise` on ``(p, B, C)`` values."""
    if bool((scale < torch.finfo(u.dtype).max / 4).all()):
        return u * scale.to(u.dtype)[None, :, None] + low.to(u.dtype)[None, :, None]
    return (u.double() * scale[None, :, None] + low[None, :, None]).to(u.dtype)


def run_split_lbi(op: DifferenceOperator, x: torch.Tensor, u0: torch.Tensor,
                  options: SolverOptions, *, t=None, sparsity=None,
                  progress: bool = False,
                  backend: str = "auto", record_levels: Sequence[float] | None = None,
                  record_times: Sequence[float] = (), record_entries: bool = False,
                  ) -> SolverResult:
    """Run Split LBI on a batch of signals until each meets its stop rule.

    Parameters
    ----------
    op : DifferenceOperator
    x, u0 : Tensor of shape ``(p, B, C)``
        The signals and the starting point (their component means).
    options : SolverOptions
    t, sparsity : float or array of shape (B,)
        At most one: stop at the first ``k`` with ``k α >= t``, or at the first
        ``k`` whose sparsity is ``<= sparsity``, per signal. ``None`` for both runs
        to the floor (or ``max_iter``).
    progress : bool
        Show a progress bar (tqdm); it never changes the backend or the arithmetic.
    backend : {"auto", "torch", "numba"}
        ``"auto"`` takes the numba kernels for CPU tensors and torch otherwise.
    record_levels, record_times, record_entries
        Path recording (numba backend): see :class:`SolverResult`.

    Returns
    -------
    SolverResult

    Raises
    ------
    FloatingPointError
        The iteration became non-finite.
    """
    if backend not in ("auto", "torch", "numba"):
        raise ValueError(f"Invalid backend: {backend!r}; use 'auto', 'torch' or 'numba'")
    use_numba = backend == "numba" or (backend == "auto" and numba_kernels.available()
                                       and x.device.type == "cpu")
    if use_numba and (not numba_kernels.available() or x.device.type != "cpu"):
        raise ValueError("the numba backend needs numba installed and CPU tensors")
    recording = bool(record_levels) or bool(record_times) or record_entries
    if recording and not use_numba:
        raise ValueError("path recording needs the numba backend (CPU tensors)")
    batch = x.shape[1]
    k_target, s_target = _targets(options, batch, t, sparsity)
    xn, low, scale = normalise(x)
    un = ((u0.double() - low[None, :, None]) / scale[None, :, None]).to(x.dtype) \
        if not bool((scale < torch.finfo(x.dtype).max / 4).all()) else \
        (u0 - low.to(x.dtype)[None, :, None]) / scale.to(x.dtype)[None, :, None]
    stops = sorted({iterations_for_time(float(v), options.alpha) for v in record_times})
    if use_numba:
        result = _run_numba(op, xn, un, options, k_target, s_target, progress,
                            record_levels or (), stops, record_entries)
    else:
        run = torch_backend.run(op, xn, un, options, k_target, s_target,
                                progress=progress)
        result = SolverResult(run.u, run.support, run.iterations, run.steps, run.sparsity,
                              run.status, np.zeros(batch, dtype=np.int64),
                              np.zeros(batch), np.ones(batch))
    if (result.status == NON_FINITE).any() or not bool(torch.isfinite(result.u).all()):
        raise FloatingPointError(
            f"Split LBI produced non-finite values (alpha = {options.alpha:g}, kappa = "
            f"{options.kappa:g}, nu = {options.nu:g}): the step size is too large for "
            "these edge weights")
    result.offset, result.scale = low.cpu().numpy(), scale.cpu().numpy()
    result.u = _denormalise(result.u, low.to(result.u.device), scale.to(result.u.device))
    # A constant signal is its own answer at every scale, to the last bit.
    constant = (x.amax(dim=(0, 2)) == x.amin(dim=(0, 2))) if x.numel() else \
        torch.ones(batch, dtype=torch.bool, device=x.device)
    result.constant = constant.cpu().numpy()
    if result.constant.any():
        result.u = torch.where(constant[None, :, None], x, result.u)
    for name in ("level_u", "stop_u"):
        snapshots = getattr(result, name)
        if snapshots is not None:  # (B, L, p, C): as _denormalise does, in the dtype
            u = torch.from_numpy(snapshots).permute(2, 0, 1, 3).reshape(
                snapshots.shape[2], -1, snapshots.shape[3])
            repeat = snapshots.shape[1]
            u = _denormalise(u, low.cpu().repeat_interleave(repeat),
                             scale.cpu().repeat_interleave(repeat))
            setattr(result, name, np.ascontiguousarray(
                u.reshape(snapshots.shape[2], *snapshots.shape[:2], -1).permute(
                    1, 2, 0, 3).numpy()))
    for name in ("drift", "level_drift", "stop_drift"):
        drift = getattr(result, name)
        if drift is not None:  # normalised units → the signal's, rounded up
            scaled = drift * result.scale.reshape((-1,) + (1,) * (drift.ndim - 1))
            setattr(result, name, np.nextafter(scaled, np.inf))
    _warn_if_short(result, options, t, sparsity)
    return result


def _targets(options: SolverOptions, batch: int, t, sparsity):
    k_target = np.full(batch, -1, dtype=np.int64)
    s_target = np.full(batch, -1.0)
    if t is not None:
        times = np.broadcast_to(np.asarray(t, dtype=np.float64), (batch,))
        k_target[:] = [iterations_for_time(float(v), options.alpha) for v in times]
    if sparsity is not None:
        s_target[:] = np.broadcast_to(np.asarray(sparsity, dtype=np.float64), (batch,))
    return k_target, s_target


def _run_numba(op, xn, un, options, k_target, s_target, progress, levels, stops,
               record_entries) -> SolverResult:
    out = numba_backend.run(op, xn, un, options, k_target, s_target, progress=progress,
                            levels=levels, stops=stops, record_entries=record_entries)
    joint = options.mode == "joint"
    dtype = out.u.dtype
    graph = numba_backend.kernel_graph(op, dtype)
    support = numba_backend.support(out, graph, joint, dtype.type(1))  # (B, m, P)
    support_t = torch.from_numpy(support).permute(1, 0, 2)
    u = torch.from_numpy(out.u).permute(2, 0, 1)  # (B, C, p) → (p, B, C)
    rec = out.rec

    def planes_to_nodes(snapshots: np.ndarray) -> np.ndarray:  # (B, L, C, p) → (B, L, p, C)
        return np.ascontiguousarray(snapshots.transpose(0, 1, 3, 2))

    recorded = {}
    if levels or stops or record_entries:
        recorded = dict(
            entry_iter=rec.entry_iter if record_entries else None,
            log_k=rec.log_k[:, :int(rec.log_n.max(initial=0))] if record_entries else None,
            log_e=rec.log_e[:, :int(rec.log_n.max(initial=0))] if record_entries else None,
            log_n=rec.log_n if record_entries else None,
            level_u=planes_to_nodes(rec.level_u) if len(levels) else None,
            level_support=rec.level_support if len(levels) else None,
            level_iter=rec.level_iter if len(levels) else None,
            stop_u=planes_to_nodes(rec.stop_u) if len(stops) else None,
            stop_support=rec.stop_support if len(stops) else None,
            stop_iter=rec.stop_iter if len(stops) else None,
            drift=rec.drift if record_entries else None,
            level_drift=rec.level_drift if record_entries and len(levels) else None,
            stop_drift=rec.stop_drift if record_entries and len(stops) else None)
    return SolverResult(u, support_t[:, :, 0] if joint else support_t, out.iterations,
                        out.steps, out.sparsity, out.status, out.leaves,
                        np.zeros(len(out.steps)), np.ones(len(out.steps)), **recorded)


def _warn_if_short(result: SolverResult, options: SolverOptions, t, sparsity) -> None:
    status = result.status
    if sparsity is not None:
        what = "the target sparsity" if np.ndim(sparsity) else f"sparsity {sparsity:g}"
    elif t is not None:
        what = "the target time" if np.ndim(t) else f"t = {t:g}"
    else:
        what = "the floor"
    batch = len(status)
    floor = (status == FLOOR) & (sparsity is not None)
    if floor.any():
        warn_user(
            f"{int(floor.sum())} of {batch} signal(s) cannot reach {what}: they stopped at "
            f"the floor, where every edge left outside the support has a weighted "
            f"difference below tol = {options.tol:g} of the signal's range (such edges "
            "count as flat and never enter). The result is the finest scale above the "
            f"floor (sparsity {result.sparsity[floor].min():.4g}).", ConvergenceWarning)
    cut = status == MAX_ITER
    if cut.any():
        if is_slow(options):
            why = "the problem is slow: " + stiffness_cause(
                options.kappa, options.nu, options.alpha, options.tol, options.norm_bound,
                options.relaxation)
        else:
            why = f"raise max_iter (default {DEFAULT_MAX_ITER:,}) for a finer result"
        warn_user(
            f"{int(cut.sum())} of {batch} signal(s) stopped after max_iter = "
            f"{options.max_iter} steps short of {what} (sparsity reached: "
            f"{result.sparsity[cut].min():.4g}); {why}.", ConvergenceWarning)
