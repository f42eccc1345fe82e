"""Split Linearized Bregman Iteration (Split LBI), the discretized inverse scale space.

With ``r_k = D u_k − γ_k`` and ``x`` the signal (DESIGN §2)::

    u_{k+1} = u_k − κ α [ (u_k − x) + Dᵀ r_k / ν ]
    z_{k+1} = z_k + α r_k / ν
    γ_{k+1} = κ · shrink(z_{k+1})
    t_{k+1} = (k + 1) α

started from ``u_0`` = the mean of ``x`` over each connected component, ``z_0 = γ_0 = 0``.
Two backends run it for a batch of signals of shape ``(p, B, C)``, each signal stopping
at its own iteration: the torch iteration over a
:class:`~isvs_graph.operator.DifferenceOperator` (gather/scatter, any device; finished
signals leave the working set), and on the CPU the fused numba kernels of
:mod:`isvs_graph._kernels` (edge-list and pixel-grid), one thread task per signal. They
agree to rounding. Stop rules, convergence thresholds and warnings live here, shared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from . import _kernels
from ._validation import check_max_iter, check_mode, check_real
from .graphs import grid_shape
from .operator import DifferenceOperator

__all__ = ["ConvergenceWarning", "SolverOptions", "SolverResult", "run_split_lbi",
           "solver_options", "iterations_for_time"]

#: Time targets are met by the first ``k`` with ``k α >= t (1 − TIME_RTOL)``.
TIME_RTOL = 1e-9
#: Default damping κ. Iterations to a given sparsity grow linearly with κ while the
#: partitions barely move (benchmarks/README.md: κ = 0.5 against κ = 10 on photo crops);
#: 0.5 halves the work of κ = 1 for nearly the same partitions.
DEFAULT_KAPPA = 0.5
#: The convergence test runs every this many iterations.
CHECK_EVERY = 8


class ConvergenceWarning(UserWarning):
    """The iteration converged (or hit ``max_iter``) before reaching its target."""


@dataclass(frozen=True)
class SolverOptions:
    """Validated solver parameters (see :func:`solver_options`)."""

    kappa: float
    nu: float
    alpha: float
    mode: str
    tol: float
    max_iter: int | None


def stability_bound(kappa: float, nu: float, norm_bound: float) -> float:
    """``2ν / (κ (ν + 1 + Λ))``: every ``α`` below it is stable (DESIGN §2)."""
    return 2.0 * nu / (kappa * (nu + 1.0 + norm_bound))


def solver_options(norm_bound: float, *, kappa: float = DEFAULT_KAPPA, nu: float = 1.0,
                   alpha: float | None = None, mode: str = "joint", tol: float = 1e-6,
                   max_iter: int | None = None) -> SolverOptions:
    """Validate solver parameters for a graph whose ``‖D‖² <= norm_bound``.

    ``alpha=None`` picks ``1.9 ν / (κ (ν + 1 + Λ))``, 0.95 times the stability
    bound; a given ``alpha`` at or above the bound is refused.
    """
    kappa = check_real("kappa", kappa, positive=True)
    nu = check_real("nu", nu, positive=True)
    mode = check_mode(mode)
    tol = check_real("tol", tol, positive=True)
    max_iter = check_max_iter(max_iter)
    bound = stability_bound(kappa, nu, norm_bound)
    if alpha is None:
        alpha = 1.9 * nu / (kappa * (nu + 1.0 + norm_bound))
    else:
        alpha = check_real("alpha", alpha, positive=True)
        if alpha >= bound:
            raise ValueError(
                f"alpha = {alpha!r} is unstable for kappa = {kappa!r}, nu = {nu!r} on this "
                f"graph (norm bound Λ = {norm_bound!r}): it must be < 2ν / (κ (ν + 1 + Λ)) "
                f"= {bound!r}; leave alpha=None for the default {0.95 * bound!r}")
    return SolverOptions(kappa, nu, alpha, mode, tol, max_iter)


def iterations_for_time(t: float, alpha: float) -> int:
    """The first ``k`` with ``k α >= t``, up to a relative tolerance of 1e-9."""
    return max(0, math.ceil(t * (1.0 - TIME_RTOL) / alpha))


@dataclass
class SolverResult:
    """Where each signal of a batch stopped.

    ``u`` is ``(p, B, C)``; ``support`` is ``(m, B)`` (joint) or ``(m, B, C)``
    (channel), True where ``γ ≠ 0``; ``iterations``, ``sparsity``, ``reached`` and
    ``converged`` are ``(B,)`` arrays. With ``record_levels`` and ``record_entries``
    (numba backend) it also holds, per signal, the first iteration at which each
    entry of ``γ`` became non-zero (``entry_iter``, ``(B, entries)``, −1 if never),
    the number of leave events, and ``u_k`` with its support at the first iterate
    whose sparsity is at most each level (``snapshots`` ``(B, L, p, C)``,
    ``snapshot_support`` ``(B, L, m, 1 or C)``, ``snapshot_iter`` ``(B, L)``, −1
    where a level was not reached).
    """

    u: torch.Tensor
    support: torch.Tensor
    iterations: np.ndarray
    sparsity: np.ndarray
    reached: np.ndarray
    converged: np.ndarray
    entry_iter: np.ndarray | None = None
    leaves: np.ndarray | None = None
    snapshots: np.ndarray | None = None
    snapshot_support: np.ndarray | None = None
    snapshot_iter: np.ndarray | None = None


#: Called as ``observer(k, u, gamma_nonzero, sparsities)`` at every iterate, before
#: the stop test, with the working (unfinished) signals; used to record a path.
Observer = Callable[[int, torch.Tensor, torch.Tensor, np.ndarray], None]


@dataclass
class Targets:
    """Per-signal stop rules and convergence thresholds, shared by both backends."""

    k_target: np.ndarray  # (B,) int64, −1 where the signal has no time target
    s_target: np.ndarray  # (B,) float64, −1 where it has no sparsity target
    u_threshold: np.ndarray  # (B,) float64
    r_threshold: np.ndarray  # (B,) float64



def _targets(op: DifferenceOperator, x: torch.Tensor, options: SolverOptions,
             t, sparsity) -> Targets:
    batch = x.shape[1]
    k_target = np.full(batch, -1, dtype=np.int64)
    s_target = np.full(batch, -1.0)
    if t is not None:
        times = np.broadcast_to(np.asarray(t, dtype=np.float64), (batch,))
        k_target[:] = [iterations_for_time(float(v), options.alpha) for v in times]
    if sparsity is not None:
        s_target[:] = np.broadcast_to(np.asarray(sparsity, dtype=np.float64), (batch,))
    scale = x.amax(dim=(0, 2)).double() - x.amin(dim=(0, 2)).double()
    eps = torch.finfo(x.dtype).eps
    u_threshold = options.tol * scale + 16 * eps * x.abs().amax(dim=(0, 2)).double()
    w_max = float(op.weight.max()) if op.num_edges else 1.0
    u_threshold = u_threshold.cpu().numpy()
    return Targets(k_target, s_target, u_threshold, u_threshold * w_max)


def run_split_lbi(op: DifferenceOperator, x: torch.Tensor, u0: torch.Tensor,
                  options: SolverOptions, *, t=None, sparsity=None,
                  observer: Observer | None = None, progress: bool = False,
                  backend: str = "auto", record_levels: Sequence[float] | None = None,
                  record_entries: bool = False) -> SolverResult:
    """Run Split LBI on a batch of signals until each meets its target.

    Parameters
    ----------
    op : DifferenceOperator
    x, u0 : Tensor of shape ``(p, B, C)``
        The signals and the starting point (their component means).
    options : SolverOptions
    t, sparsity : float or array of shape (B,)
        At most one: stop at the first ``k`` with ``k α >= t``, or at the first
        ``k`` whose sparsity is ``<= sparsity``, per signal. ``None`` for both runs
        to convergence (or ``max_iter``).
    observer : callable, optional
        Called at every iterate (torch backend).
    progress : bool
        Show a progress bar (tqdm).
    backend : {"auto", "torch", "numba"}
        ``"auto"`` takes the fused numba kernels for CPU tensors when numba is
        installed and no observer is given, and torch otherwise (CUDA).
    record_levels, record_entries
        Path recording (numba backend): see :class:`SolverResult`.

    Returns
    -------
    SolverResult

    A signal also stops, short of its target, once the iteration has converged:
    ``max |u_k − x|`` and ``max |r_k|`` at most ``tol`` times the signal's range
    (times the largest weight for ``r``), i.e. ``(u_k, z_k)`` is a fixed point within
    tolerance and no further edge can enter. A sparsity target not reached by then,
    or a target cut off by ``max_iter``, gives a :class:`ConvergenceWarning`.
    """
    if backend not in ("auto", "torch", "numba"):
        raise ValueError(f"Invalid backend: {backend!r}; use 'auto', 'torch' or 'numba'")
    recording = record_levels is not None or record_entries
    use_numba = backend == "numba" or (
        backend == "auto" and _kernels.available() and x.device.type == "cpu"
        and observer is None and not (progress and x.shape[1] == 1))
    if use_numba and (not _kernels.available() or x.device.type != "cpu"):
        raise ValueError("the numba backend needs numba installed and CPU tensors")
    if recording and not use_numba:
        raise ValueError("path recording of batches needs the numba backend (CPU)")
    targets = _targets(op, x, options, t, sparsity)
    result = _iterate(use_numba, op, x, u0, options, targets, observer, progress,
                      record_levels, record_entries)
    _warn_if_short(result, options, t, sparsity)
    return result


def _iterate(use_numba, op, x, u0, options, targets, observer, progress, record_levels,
             record_entries) -> SolverResult:
    if use_numba:
        return _iterate_numba(op, x, u0, options, targets, progress, record_levels,
                              record_entries)
    return _iterate_torch(op, x, u0, options, targets, observer, progress)


def _warn_if_short(result: SolverResult, options: SolverOptions, t, sparsity) -> None:
    reached, converged = result.reached, result.converged
    short = ~reached & ((sparsity is not None) | ~converged)
    if not short.any():
        return
    what = ("the target sparsity" if sparsity is not None and np.ndim(sparsity) else
            f"sparsity {sparsity!r}" if sparsity is not None else
            f"t = {t!r}" if t is not None and not np.ndim(t) else
            "the target time" if t is not None else "convergence")
    why = (f"max_iter = {options.max_iter} was reached"
           if not converged[short].all() else "the iteration converged")
    warnings.warn(
        f"{int(short.sum())} of {len(reached)} signal(s) stopped short of {what} because "
        f"{why}; the finest sparsity reached was {result.sparsity[short].min():.4g}. "
        "Edges across which the signal is flat never enter the support; the result "
        "is the finest available scale.", ConvergenceWarning, stacklevel=4)


def _non_finite_error(k, options: SolverOptions) -> FloatingPointError:
    return FloatingPointError(
        f"Split LBI produced non-finite values by iteration {k} (alpha = "
        f"{options.alpha!r}, kappa = {options.kappa!r}, nu = {options.nu!r}); the step "
        "size is too large for these edge weights or the signal overflows its dtype")


def _iterate_numba(op: DifferenceOperator, x: torch.Tensor, u0: torch.Tensor,
                   options: SolverOptions, targets: Targets, progress: bool,
                   record_levels, record_entries: bool) -> SolverResult:
    p, batch, channels = x.shape
    m = op.num_edges
    joint = options.mode == "joint"
    per_edge = 1 if joint else channels
    dtype = x.numpy().dtype
    kappa, nu, alpha = options.kappa, options.nu, options.alpha
    params = np.array([kappa, 1.0 / nu, kappa * alpha, alpha / nu, 1.0], dtype=dtype)
    levels = np.asarray(sorted(record_levels or (), reverse=True), dtype=np.float64)
    n_levels = len(levels)
    snapshots = np.zeros((batch, n_levels, p, channels), dtype=dtype)
    snapshot_support = np.zeros((batch, n_levels, m, per_edge), dtype=bool)
    snapshot_iter = np.full((batch, n_levels), -1, dtype=np.int64)
    entry_iter = np.full((batch, m * per_edge if record_entries else 0), -1, dtype=np.int64)
    support = np.zeros((batch, m, per_edge), dtype=bool)
    iterations = np.zeros(batch, dtype=np.int64)
    sparsity = np.zeros(batch)
    status = np.zeros(batch, dtype=np.int64)
    leaves = np.zeros(batch, dtype=np.int64)
    max_iter = -1 if options.max_iter is None else options.max_iter

    grid = grid_shape(op.graph)
    if grid is not None:
        height, width, connectivity = grid
        dirs, offsets, eid = _kernels.grid_layout(height, width, connectivity,
                                                  op.graph.edge_index.numpy())
        # The grid kernels keep channels as planes: (B, C, H, W).
        planes = x.permute(1, 2, 0).contiguous().numpy().reshape(batch, channels, height,
                                                                 width)
        u_planes = u0.permute(1, 2, 0).contiguous().numpy().copy().reshape(
            batch, channels, height, width)
        us = u_planes.reshape(batch, channels, p).transpose(0, 2, 1)  # a view: (B, p, C)

        def run(part: slice) -> None:
            _kernels.run_grid_batch(
                dirs, offsets, eid, planes[part], u_planes[part], params, joint,
                targets.k_target[part], targets.s_target[part], max_iter,
                targets.u_threshold[part], targets.r_threshold[part], CHECK_EVERY, levels,
                snapshots[part], snapshot_support[part], snapshot_iter[part],
                entry_iter[part], support[part], iterations[part], sparsity[part],
                status[part], leaves[part])
    else:
        xs = x.permute(1, 0, 2).contiguous().numpy()
        us = u0.permute(1, 0, 2).contiguous().numpy().copy()
        src, dst, weight = op.src.numpy(), op.dst.numpy(), op.weight.numpy()

        def run(part: slice) -> None:
            _kernels.run_batch(
                src, dst, weight, xs[part], us[part], params, joint, targets.k_target[part],
                targets.s_target[part], max_iter, targets.u_threshold[part],
                targets.r_threshold[part], CHECK_EVERY, levels, snapshots[part],
                snapshot_support[part], snapshot_iter[part], entry_iter[part], support[part],
                iterations[part], sparsity[part], status[part], leaves[part])

    # Chunks of signals let a progress bar move; without one, one call does all.
    chunk = max(1, batch // 20) if progress and batch > 1 else batch
    bar = tqdm(total=batch, desc="Split LBI", unit="signal", dynamic_ncols=True) \
        if progress else None
    for start in range(0, batch, chunk):
        part = slice(start, min(start + chunk, batch))
        run(part)
        if bar is not None:
            bar.update(part.stop - part.start)
    if bar is not None:
        bar.close()
    if (status == _kernels.NON_FINITE).any() or not np.isfinite(us).all():
        raise _non_finite_error(int(iterations.max()), options)
    support_t = torch.from_numpy(support).permute(1, 0, 2)
    return SolverResult(
        torch.from_numpy(us).permute(1, 0, 2), support_t[:, :, 0] if joint else support_t,
        iterations, sparsity, status == _kernels.REACHED, status == _kernels.CONVERGED,
        entry_iter if record_entries else None, leaves,
        snapshots if n_levels else None, snapshot_support if n_levels else None,
        snapshot_iter if n_levels else None)


def _iterate_torch(op: DifferenceOperator, x: torch.Tensor, u0: torch.Tensor,
                   options: SolverOptions, targets: Targets, observer: Observer | None,
                   progress: bool) -> SolverResult:
    p, batch, channels = x.shape
    m = op.num_edges
    kappa, nu, alpha = options.kappa, options.nu, options.alpha
    joint = options.mode == "joint"
    entries = m if joint else m * channels
    max_iter = options.max_iter
    k_target, s_target = targets.k_target, targets.s_target
    u_threshold = torch.from_numpy(targets.u_threshold).to(x.device)
    r_threshold = torch.from_numpy(targets.r_threshold).to(x.device)

    u = u0.clone()
    x = x.contiguous()
    z = x.new_zeros((m, batch, channels))
    gamma = torch.zeros_like(z)
    r = torch.empty_like(z)
    grad = torch.empty_like(u)
    adjoint = torch.empty_like(u)
    nonzero = torch.zeros((m, batch) if joint else (m, batch, channels), dtype=torch.bool,
                          device=x.device)
    norm = x.new_empty((m, batch, 1)) if joint else None

    # Per original signal: its final state. ``active[i]`` is the original index of
    # working column ``i``.
    active = torch.arange(batch, device=x.device)
    active_np = np.arange(batch)
    out_u = torch.empty_like(u)
    out_support = torch.empty_like(nonzero)
    iterations = np.zeros(batch, dtype=np.int64)
    final_sparsity = np.zeros(batch)
    reached = np.zeros(batch, dtype=bool)
    converged = np.zeros(batch, dtype=bool)

    bar = None
    if progress:
        finite = k_target[k_target >= 0]
        bar = tqdm(total=int(finite.max()) if finite.size == batch else None,
                   desc="Split LBI", unit="it", dynamic_ncols=True)
    k = 0
    while active.numel():
        torch.sub(op.apply(u, out=r), gamma, out=r)
        torch.sub(u, x, out=grad)

        zero_count = nonzero.sum(dim=0) if joint else nonzero.sum(dim=(0, 2))
        zero_count = entries - zero_count
        current = (zero_count.double() / entries).cpu().numpy() if entries else \
            np.zeros(active.numel())
        if observer is not None:
            observer(k, u, nonzero, current)
        if bar is not None and k % 16 == 0:
            bar.update(k - bar.n)
            bar.set_postfix(sparsity=f"{current.max():.4f}", refresh=False)

        kt, st = k_target[active_np], s_target[active_np]
        done_target = ((kt >= 0) & (k >= kt)) | ((st >= 0) & (current <= st))
        done_converged = np.zeros(active.numel(), dtype=bool)
        if k % CHECK_EVERY == 0 or (max_iter is not None and k >= max_iter):
            u_err = grad.abs().amax(dim=(0, 2)).double()
            r_err = r.abs().amax(dim=(0, 2)).double() if m else torch.zeros_like(u_err)
            if not (torch.isfinite(u_err).all() and torch.isfinite(r_err).all()):
                raise _non_finite_error(k, options)
            done_converged = ((u_err <= u_threshold[active]) &
                              (r_err <= r_threshold[active])).cpu().numpy()
        done_limit = np.full(active.numel(), max_iter is not None and k >= max_iter)
        done = done_target | done_converged | done_limit
        if done.any():
            finished = torch.from_numpy(np.nonzero(done)[0]).to(x.device)
            where = active[finished]
            final = u.index_select(1, finished)
            if not torch.isfinite(final).all():
                raise _non_finite_error(k, options)
            out_u[:, where] = final
            out_support[:, where] = nonzero.index_select(1, finished)
            where_np = active_np[done]
            iterations[where_np] = k
            final_sparsity[where_np] = current[done]
            reached[where_np] = done_target[done]
            converged[where_np] = done_converged[done] & ~done_target[done]
            keep_np = np.nonzero(~done)[0]
            if keep_np.size == 0:
                break
            keep = torch.from_numpy(keep_np).to(x.device)
            active, active_np = active[keep], active_np[keep_np]
            u, x, z, gamma, r, grad, adjoint, nonzero = (
                v.index_select(1, keep) for v in (u, x, z, gamma, r, grad, adjoint, nonzero))
            if norm is not None:
                norm = norm.index_select(1, keep)

        # u_{k+1} = u_k − κα[(u_k − x) + Dᵀ r_k / ν]
        grad.add_(op.adjoint(r, out=adjoint), alpha=1.0 / nu)
        u.sub_(grad, alpha=kappa * alpha)
        # z_{k+1} = z_k + α r_k / ν;  γ_{k+1} = κ shrink(z_{k+1})
        z.add_(r, alpha=alpha / nu)
        if joint:
            torch.linalg.vector_norm(z, dim=2, keepdim=True, out=norm)
            factor = norm.reciprocal_().neg_().add_(1.0).clamp_(min=0.0)
            torch.mul(z, factor, out=gamma).mul_(kappa)
            torch.gt(factor[..., 0], 0.0, out=nonzero)
        else:
            torch.clamp(z, -1.0, 1.0, out=gamma)
            torch.sub(z, gamma, out=gamma).mul_(kappa)
            torch.ne(gamma, 0.0, out=nonzero)
        k += 1

    if bar is not None:
        bar.update(k - bar.n)
        bar.close()
    return SolverResult(out_u, out_support, iterations, final_sparsity, reached, converged)
