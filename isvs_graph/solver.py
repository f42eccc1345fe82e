"""Split Linearized Bregman Iteration (Split LBI), the discretized inverse scale space.

With ``r_k = D u_k − γ_k`` and ``x`` the signal (DESIGN §2)::

    u_{k+1} = u_k − κ α [ (u_k − x) + Dᵀ r_k / ν ]
    z_{k+1} = z_k + α r_k / ν
    γ_{k+1} = κ · shrink(z_{k+1})
    t_{k+1} = (k + 1) α

started from ``u_0`` = the mean of ``x`` over each connected component, ``z_0 = γ_0 = 0``.
The iteration is written once, over a :class:`~isvs_graph.operator.DifferenceOperator`,
for a batch of signals of shape ``(p, B, C)`` on any device. Each signal stops at its
own iteration; finished signals leave the working set, so they cost nothing more.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ._validation import check_max_iter, check_mode, check_real
from .operator import DifferenceOperator

__all__ = ["ConvergenceWarning", "SolverOptions", "SolverResult", "run_split_lbi",
           "solver_options", "iterations_for_time"]

#: Time targets are met by the first ``k`` with ``k α >= t (1 − TIME_RTOL)``.
TIME_RTOL = 1e-9
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


def solver_options(norm_bound: float, *, kappa: float = 1.0, nu: float = 1.0,
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
    (channel), True where ``γ ≠ 0``; the rest are ``(B,)`` arrays.
    """

    u: torch.Tensor
    support: torch.Tensor
    iterations: np.ndarray
    sparsity: np.ndarray
    reached: np.ndarray
    converged: np.ndarray


#: Called as ``observer(k, u, gamma_nonzero, sparsities)`` at every iterate, before
#: the stop test, with the working (unfinished) signals; used to record a path.
Observer = Callable[[int, torch.Tensor, torch.Tensor, np.ndarray], None]


def run_split_lbi(op: DifferenceOperator, x: torch.Tensor, u0: torch.Tensor,
                  options: SolverOptions, *, t: float | None = None,
                  sparsity: float | None = None, observer: Observer | None = None,
                  progress: bool = False) -> SolverResult:
    """Run Split LBI on a batch of signals until each meets its target.

    Parameters
    ----------
    op : DifferenceOperator
    x, u0 : Tensor of shape ``(p, B, C)``
        The signals and the starting point (their component means).
    options : SolverOptions
    t, sparsity : float
        Exactly one: stop at the first ``k`` with ``k α >= t``, or at the first
        ``k`` whose sparsity is ``<= sparsity``. ``None`` for both runs to
        convergence (or ``max_iter``).
    observer : callable, optional
        Called at every iterate.
    progress : bool
        Show a progress bar (tqdm) of iterations and the sparsity reached.

    Returns
    -------
    SolverResult

    A signal also stops, short of its target, once the iteration has converged:
    ``max |u_k − x|`` and ``max |r_k|`` at most ``tol`` times the signal's range
    (times the largest weight for ``r``), i.e. ``(u_k, z_k)`` is a fixed point within
    tolerance and no further edge can enter. A sparsity target not reached by then,
    or a target cut off by ``max_iter``, gives a :class:`ConvergenceWarning`.
    """
    p, batch, channels = x.shape
    m = op.num_edges
    kappa, nu, alpha = options.kappa, options.nu, options.alpha
    joint = options.mode == "joint"
    entries = m if joint else m * channels
    k_target = iterations_for_time(t, alpha) if t is not None else None
    max_iter = options.max_iter

    scale = x.amax(dim=(0, 2)).double() - x.amin(dim=(0, 2)).double()
    eps = torch.finfo(x.dtype).eps
    u_threshold = options.tol * scale + 16 * eps * x.abs().amax(dim=(0, 2)).double()
    w_max = float(op.weight.max()) if m else 1.0
    r_threshold = u_threshold * w_max

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
    out_u = torch.empty_like(u)
    out_support = torch.empty_like(nonzero)
    iterations = np.zeros(batch, dtype=np.int64)
    final_sparsity = np.zeros(batch)
    reached = np.zeros(batch, dtype=bool)
    converged = np.zeros(batch, dtype=bool)

    bar = None
    if progress:
        target = f"t = {t:g}" if t is not None else (
            f"sparsity {sparsity:g}" if sparsity is not None else "convergence")
        bar = tqdm(total=k_target, desc=f"Split LBI to {target}", unit="it",
                   dynamic_ncols=True)
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
        if bar is not None and (k % 16 == 0 or k == k_target):
            bar.update(k - bar.n)
            bar.set_postfix(sparsity=f"{current.max():.4f}", refresh=False)

        if k_target is not None:
            done_target = np.full(active.numel(), k >= k_target)
        elif sparsity is not None:
            done_target = current <= sparsity
        else:
            done_target = np.zeros(active.numel(), dtype=bool)
        done_converged = np.zeros(active.numel(), dtype=bool)
        if k % CHECK_EVERY == 0 or (max_iter is not None and k >= max_iter):
            u_err = grad.abs().amax(dim=(0, 2)).double()
            r_err = r.abs().amax(dim=(0, 2)).double() if m else torch.zeros_like(u_err)
            if not (torch.isfinite(u_err).all() and torch.isfinite(r_err).all()):
                raise FloatingPointError(
                    f"Split LBI produced non-finite values at iteration {k} (alpha = "
                    f"{alpha!r}, kappa = {kappa!r}, nu = {nu!r}); the step size is too "
                    "large for these edge weights or the signal overflows its dtype")
            done_converged = ((u_err <= u_threshold[active]) &
                              (r_err <= r_threshold[active])).cpu().numpy()
        done_limit = np.full(active.numel(), max_iter is not None and k >= max_iter)
        done = done_target | done_converged | done_limit
        if done.any():
            finished = torch.from_numpy(np.nonzero(done)[0]).to(x.device)
            where = active[finished]
            final = u.index_select(1, finished)
            if not torch.isfinite(final).all():
                raise FloatingPointError(
                    f"Split LBI produced non-finite values by iteration {k} (alpha = "
                    f"{alpha!r}); the step size is too large for these edge weights")
            out_u[:, where] = final
            out_support[:, where] = nonzero.index_select(1, finished)
            where_np = where.cpu().numpy()
            iterations[where_np] = k
            final_sparsity[where_np] = current[done]
            reached[where_np] = done_target[done]
            converged[where_np] = done_converged[done]
            keep = torch.from_numpy(np.nonzero(~done)[0]).to(x.device)
            if keep.numel() == 0:
                break
            active = active[keep]
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
    short = ~reached & ((sparsity is not None) | ~converged)
    if short.any():
        what = (f"sparsity {sparsity!r}" if sparsity is not None else
                f"t = {t!r}" if t is not None else "convergence")
        why = (f"max_iter = {max_iter} was reached"
               if not converged[short].all() else "the iteration converged")
        warnings.warn(
            f"{int(short.sum())} of {batch} signal(s) stopped short of {what} because "
            f"{why}; the finest sparsity reached was {final_sparsity[short].min():.4g}. "
            "Edges across which the signal is flat never enter the support; the result "
            "is the finest available scale.", ConvergenceWarning, stacklevel=3)
    return SolverResult(out_u, out_support, iterations, final_sparsity, reached, converged)
