"""``solve``: the ISVS-smoothed signal of a graph at one scale."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._signals import to_working
from ._validation import (check_batch_scale, check_flag, check_real, check_signal,
                          shown)
from .graphs import CanonicalGraph, canonical_graph
from ._operator import norm_bound
from ._projection import project as project_onto_support
from ._solver import (DEFAULT_KAPPA, DEFAULT_MAX_ITER, DEFAULT_TOL, SolverOptions,
                      run_split_lbi, solver_options)
from ._solver.run import select_signals

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

__all__ = ["solve"]

#: The keyword options of :func:`solve` besides the scale, as wrappers pass them on.
SOLVER_OPTIONS = ("kappa", "nu", "alpha", "mode", "project", "tol", "max_iter", "jumps",
                  "progress", "backend")
BACKENDS = ("auto", "numba", "torch")


def check_solver_options(owner: str, options: Mapping[str, Any],
                         allowed: Collection[str] = SOLVER_OPTIONS) -> None:
    """Check the names and values of options a wrapper will pass to :func:`solve`,
    before any graph or signal is known: a misspelt name or a value that no graph
    accepts fails where the wrapper is built (a transform's constructor), not in a
    DataLoader worker.

    Unknown names raise TypeError naming the closest valid one and all of them. Values
    are checked as :func:`solve` checks them on a graph without edges (``Λ = 0``), the
    most lenient: whatever fails here fails on every graph. Only a given ``alpha``'s
    stability depends on the graph, and is checked when it is known.
    """
    if not options:  # the defaults are valid on every graph
        return
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"{owner} got unknown solver options {unknown}{hint}; valid options "
                        f"are {', '.join(sorted(allowed))}")
    if "jumps" in options:
        check_flag("jumps", options["jumps"])
    numeric = {name: options[name] for name in ("kappa", "nu", "mode", "tol", "max_iter",
                                                 "jumps") if name in options}
    solver_options(0.0, **numeric)
    if options.get("alpha") is not None:
        check_real("alpha", options["alpha"], positive=True)
    for flag in ("project", "progress"):
        if flag in options:
            check_flag(flag, options[flag])
    if "backend" in options and options["backend"] not in BACKENDS:
        raise ValueError(f"Invalid backend: {shown(options['backend'])}; use one of "
                         f"{BACKENDS}")


@dataclass
class Problem:
    """A validated call: canonical graph, working signal ``(p, B, C)`` (numpy on the CPU,
    a tensor on another device) with the function that restores the caller's kind, and
    options."""

    graph: CanonicalGraph
    x: np.ndarray | torch.Tensor
    restore: object
    options: SolverOptions

    def initial(self) -> np.ndarray | torch.Tensor:
        """``u_0``: the mean of the signal over each connected component."""
        return project_onto_support(self.graph, self.x, None)


def prepare(graph: Data | CanonicalGraph, signal: np.ndarray | torch.Tensor | None,
            **options) -> Problem:
    """Validate a graph (a PyG graph, or one already canonical), a signal and solver
    options once, up front."""
    canonical = graph if isinstance(graph, CanonicalGraph) else canonical_graph(graph)
    if signal is None:
        signal = graph.get("x")
        if signal is None:
            raise ValueError("no signal given and graph.x is not set")
        name = "graph.x"
    else:
        name = "signal"
    check_signal(signal, canonical.num_nodes, name=name)
    x, restore = to_working(signal)
    return Problem(canonical, x, restore, solver_options(norm_bound(canonical), **options))


def solve(graph: Data, signal: np.ndarray | torch.Tensor | None = None,
          t: float | None = None, *, sparsity: float | None = None,
          kappa: float = DEFAULT_KAPPA,
          nu: float = 1.0, alpha: float | None = None, mode: str = "joint",
          project: bool = True, tol: float = DEFAULT_TOL, max_iter: int | None = None,
          jumps: bool = True, progress: bool = False, backend: str = "auto",
          ) -> np.ndarray | torch.Tensor:
    r"""Smooth a signal on a graph by inverse scale space (Split LBI) at one scale.

    Split LBI [1]_ follows the inverse scale space [2]_, [3]_ of

    .. math::

        L(u, \gamma) = \tfrac12 \|u - x\|^2 + \tfrac1{2\nu} \|D u - \gamma\|^2,

    where :math:`(D u)_e = w_e (u_i - u_j)` is the weighted edge difference, from the
    coarsest scale (``t = 0``: the mean of ``x`` over every connected component)
    towards ``x`` itself. Edges whose difference is large enter the support of
    :math:`\gamma` first; the signal splits along them, so high-contrast structure
    appears early and small-scale variation late.

    Parameters
    ----------
    graph : torch_geometric.data.Data
        ``edge_index`` in any direction (duplicates and self-loops allowed),
        optional positive ``edge_weight``, ``num_nodes`` (or ``x``). Weights are read
        from ``edge_weight`` only (PyG's convention); a graph with ``edge_attr`` but no
        ``edge_weight`` is refused with the fix.
    signal : numpy.ndarray or torch.Tensor, optional
        Shape ``(p,)``, ``(p, C)`` or ``(B, p, C)`` (a batch of signals on this
        graph, each stopped at its own iteration). Default ``graph.x``.
    t : float, optional
        The time ``t >= 0``: runs the first ``k`` iterations with ``k α >= t``. For
        a batch, one value or one per signal.
    sparsity : float, optional
        Instead of ``t``: runs to the first iterate whose fraction of zero entries
        of ``γ`` is ``<= sparsity``, a value in ``[0, 1]``. ``1`` is the coarsest
        scale, ``0`` the finest. Out of reach (edges across which the signal is
        flat never enter), the run stops at the floor (see ``tol``) with a
        :class:`~isvs_graph.ConvergenceWarning` and returns the finest scale there.
    kappa : float, default 0.5
        Damping ``κ > 0``. The partitions barely change with ``κ`` while the
        iterations needed grow linearly with it.
    nu : float, default 1
        Coupling ``ν > 0`` between ``D u`` and ``γ``; 0.1 … 10 works best, and
        values so extreme that the iteration cannot relax within ``max_iter`` are
        refused.
    alpha : float, optional
        Step size; default ``1.9 ν / (κ (ν + 1 + Λ))`` with ``Λ >= ‖D‖²`` the
        degree bound (see the Theory page). Values at or above
        the stability bound ``2 ν / (κ (ν + 1 + Λ))`` are refused.
    mode : {"joint", "channel"}, default "joint"
        ``"joint"`` shares one support per edge by all channels (group shrinkage);
        ``"channel"`` shrinks and partitions each channel on its own.
    project : bool, default True
        Return the projection :math:`\tilde u_k` (``u_k`` averaged over the
        components left after removing the support edges) rather than ``u_k``.
    tol : float, default 3e-3
        The floor, relative to the signal's range ``σ``: an edge outside the support
        whose weighted difference ``|(D u)_e|`` stays below ``tol σ`` counts as flat,
        and a run that is stationary within ``tol σ``, with only flat edges left
        outside the support and every region they join varying by at most
        ``5 tol σ``, stops there (see Notes).
    max_iter : int, optional
        The most iteration steps computed per signal (jumped idle stretches do not
        count); default 100,000. A run cut off by it warns.
    jumps : bool, default True
        Jump over idle stretches (support unchanged, ``u`` stationary, ``z`` growing
        linearly) straight to the next entry. ``False`` runs the plain iteration;
        both agree within about 1e-6 of ``σ`` where the target lies above the floor.
    progress : bool, default False
        Show a progress bar (tqdm); it does not change which backend or arithmetic
        runs.
    backend : {"auto", "numba", "torch"}, default "auto"
        ``"numba"``: fused CPU kernels, each signal of a batch in its own thread
        task (a single large graph splits each step across threads). ``"torch"``:
        the gather/scatter iteration, on any device. ``"auto"`` takes numba for CPU
        tensors (when installed) and torch otherwise. The two agree to rounding
        (about 1e-15 relative in float64), not bit for bit.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The smoothed signal, of the kind, shape, dtype and device of ``signal``;
        integer signals come back as floats (see Notes). Not connected to autograd
        (see Notes).

    Raises
    ------
    ValueError
        Non-finite signal values, a signal whose rows do not match the graph,
        out-of-range edges, non-positive weights, ``edge_attr`` without
        ``edge_weight``, ``t < 0``, ``sparsity`` outside
        ``[0, 1]``, both or neither of ``t`` and ``sparsity``, ``kappa <= 0``,
        ``nu <= 0``, ``tol`` outside ``(0, 1)``, an unknown ``mode``, an unstable
        ``alpha``, or a problem too stiff to relax within ``max_iter`` (extreme
        ``nu`` or edge weights; the message says which).
    TypeError
        A container or value of the wrong type (boolean signals included: convert a
        mask to numbers first).
    FloatingPointError
        The iteration became non-finite (extreme weights with a user step size).

    Notes
    -----
    One iteration (``r_k = D u_k − γ_k``; see the Theory page)::

        u_{k+1} = u_k − κ α [(u_k − x) + Dᵀ r_k / ν]
        z_{k+1} = z_k + α r_k / ν,    γ_{k+1} = κ shrink(z_{k+1}),    t_k = k α

    Scale-free: each signal (each of a batch) is solved normalised by its range
    ``σ = max(x) − min(x)`` and scaled back, so ``solve(a x + b) = a solve(x) + b``
    for ``a > 0`` and ``κ``, ``ν``, ``α``, ``t`` and ``tol`` are dimensionless: a
    photo in [0, 1], in 0–255 or standardised gives the same partitions. A constant
    signal is returned as it is.

    Bounded cost: a run stops at its target, at the floor, or after ``max_iter``
    steps, whichever comes first, and idle stretches cost nothing. At the floor the
    iterate is stationary within ``tol σ``, every edge outside the support has
    ``|(D u)_e| <= tol σ`` and every region those edges join varies by at most
    ``5 tol σ``; the run keeps that support, and the projected result is the limit of
    the iteration with it: the mean of ``x`` over each region, within ``5 tol σ`` of
    ``x`` (``project=False`` returns ``u_k``, within a few ``tol σ`` of its limit).

    Dtypes: float32 and float64 are computed and returned as they are; float16 and
    bfloat16 are computed in float32 and cast back; integers of any width are read by
    value (never scaled by their dtype's maximum: the solve is scale-free), computed in
    float32 up to 16 bits and float64 beyond, and returned as that float. Boolean
    signals are refused.

    Autograd: smoothing is a data transform without a gradient. The result is detached
    from autograd, and a tensor that requires grad (with grad enabled) gets a warning
    saying so. For a straight-through gradient (BPDA: the smoothing forward, the
    identity backward) write ``x + (solve(graph, x.detach(), t) - x).detach()``.

    References
    ----------
    .. [1] C. Huang, X. Sun, J. Xiong, Y. Yao, "Split LBI: An iterative
       regularization path with structural sparsity", NeurIPS 2016.
    .. [2] M. Burger, G. Gilboa, S. Osher, J. Xu, "Nonlinear inverse scale space
       methods", Commun. Math. Sci. 4(1), 2006.
    .. [3] S. Osher, F. Ruan, J. Xiong, Y. Yao, W. Yin, "Sparse recovery via
       differential inclusions", Appl. Comput. Harmon. Anal. 41(2), 2016.

    Examples
    --------
    Two flat regions joined by one edge of a path graph: at ``t = 0`` the signal
    is one constant; once that edge enters the support (sparsity 2/3), the regions
    separate, and their contrast grows towards ``x`` as ``t`` grows.

    >>> import numpy as np
    >>> import isvs_graph
    >>> graph = isvs_graph.grid_graph(1, 4)
    >>> x = np.array([0.0, 0.0, 1.0, 1.0])
    >>> isvs_graph.solve(graph, x, t=0)
    array([0.5, 0.5, 0.5, 0.5])
    >>> isvs_graph.solve(graph, x, sparsity=0.7).round(3)
    array([0.218, 0.218, 0.782, 0.782])
    >>> isvs_graph.solve(graph, x, t=100).round(3)
    array([0., 0., 1., 1.])
    """
    project = check_flag("project", project)
    problem = prepare(graph, signal, kappa=kappa, nu=nu, alpha=alpha, mode=mode,
                      tol=tol, max_iter=max_iter, jumps=jumps)
    t, sparsity = check_batch_scale(t, sparsity, problem.x.shape[1])
    if problem.x.shape[1] == 1 or len(set((t if t is not None else sparsity).tolist())) == 1:
        # One value for all: keeps warnings quoting it.
        t, sparsity = (None if t is None else float(t[0]),
                       None if sparsity is None else float(sparsity[0]))
    result = run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options,
                           t=t, sparsity=sparsity, progress=progress,
                           backend=backend)
    if not project:
        return problem.restore(result.u)
    smoothed = project_onto_support(problem.graph, limit_values(problem.x, result),
                                    result.support)
    if result.constant.any():  # their own answer, to the last bit
        smoothed = select_signals(result.constant, problem.x, smoothed)
    return problem.restore(smoothed)


def limit_values(x: np.ndarray | torch.Tensor, result) -> np.ndarray | torch.Tensor:
    """The values to project: ``u_k``, or ``x`` for signals stopped at the floor.

    At the floor the support ``S`` is final, and at the limit of the iteration with
    that support every edge leaving a component of ``(V, E \\ S)`` has ``r_e = 0``, so
    each component's mean of ``u`` equals its mean of ``x``: the projection of ``x``
    is the finest scale exactly, where ``u_k`` is only within a few ``tol`` of it.
    """
    if not result.converged.any():
        return result.u
    return select_signals(result.converged, x, result.u)
