"""The regularization path: one run of Split LBI, read at any scale afterwards."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ._validation import check_real, check_scale
from .projection import component_labels, component_means
from .smoothing import limit_values, prepare
from ._solver import DEFAULT_KAPPA, DEFAULT_TOL, iterations_for_time, run_split_lbi

__all__ = ["ISVSPath", "path"]

DEFAULT_RECORD_SPARSITIES = tuple(np.round(np.linspace(1.0, 0.0, 21), 10))


class ISVSPath:
    """The recorded inverse-scale-space path of one signal on one graph.

    Made by :func:`isvs_graph.path`; not meant to be built by hand.

    Attributes
    ----------
    times : ndarray of shape (K + 1,)
        ``t_k = k α`` of every iterate visited, ``k = 0 … K``.
    sparsities : ndarray of shape (K + 1,)
        Fraction of zero entries of ``γ_k`` at every iterate.
    entry_times : ndarray of shape (m,) or (m, C)
        First time each edge (joint mode) or edge-channel pair (channel mode)
        entered the support, in canonical edge order; ``inf`` if it never did.
    n_leave_events : int
        How often an entry left the support again. Partitions read from the path
        are exact regardless: the path keeps every entry and leave event.
    recorded_iterations : list of int
        Iterates whose ``u_k`` is stored: :meth:`at` is exact there.
    converged : bool
        Whether the run ended because the iteration converged.
    """

    def __init__(self, problem, result, events, snapshots, times, sparsities) -> None:
        self._problem = problem
        self._events = events  # (iteration, entry, entering), in iteration order
        self._snapshots = snapshots
        self.times = np.asarray(times)
        self.sparsities = np.asarray(sparsities)
        self.converged = bool(result.converged[0])
        self.recorded_iterations = sorted(snapshots)
        iteration, entry, entering = events
        first = np.full(self._num_entries, np.inf)
        np.minimum.at(first, entry[entering], iteration[entering])
        entry_times = np.where(np.isfinite(first), first * problem.options.alpha, np.inf)
        self.entry_times = entry_times if self.mode == "joint" else \
            entry_times.reshape(problem.graph.num_edges, self._entries_per_edge)
        self.n_leave_events = int((~entering).sum())

    @property
    def _entries_per_edge(self) -> int:
        return 1 if self.mode == "joint" else self._problem.x.shape[2]

    @property
    def _num_entries(self) -> int:
        return self._problem.graph.num_edges * self._entries_per_edge

    @property
    def mode(self) -> str:
        return self._problem.options.mode

    @property
    def alpha(self) -> float:
        return self._problem.options.alpha

    @property
    def n_iter(self) -> int:
        """``K``, the last iterate visited."""
        return len(self.times) - 1

    def iteration(self, t: float | None = None, *, sparsity: float | None = None) -> int:
        """The iterate ``k`` that :func:`isvs_graph.solve` would stop at.

        Raises ``ValueError`` when that iterate lies beyond the recorded path
        (unless the run converged, in which case the last iterate is the answer).
        """
        t, sparsity = check_scale(t, sparsity)
        if t is not None:
            k = iterations_for_time(t, self.alpha)
            found = k <= self.n_iter
        else:
            below = np.nonzero(self.sparsities <= sparsity)[0]
            found = below.size > 0
            k = int(below[0]) if found else self.n_iter + 1
        if not found:
            if not self.converged:
                scale = f"t = {t!r}" if t is not None else f"sparsity = {sparsity!r}"
                raise ValueError(
                    f"{scale} lies beyond this path, which stops at t = {self.times[-1]!r} "
                    f"(sparsity {self.sparsities[-1]!r}); compute the path with a larger "
                    "t_max or a smaller sparsity_min")
            k = self.n_iter
        return k

    def support(self, t: float | None = None, *, sparsity: float | None = None) -> np.ndarray:
        """Boolean support of ``γ`` at the iterate for ``t`` or ``sparsity``."""
        return self._support_at(self.iteration(t, sparsity=sparsity))

    def _support_at(self, k: int) -> np.ndarray:
        iteration, entry, entering = self._events
        upto = np.searchsorted(iteration, k, side="right")
        state = np.zeros(self._num_entries, dtype=bool)
        # Events are in time order, so the last write to an entry wins.
        state[entry[:upto]] = entering[:upto]
        return state.reshape(self._problem.graph.num_edges, self._entries_per_edge)

    def labels(self, t: float | None = None, *, sparsity: float | None = None) -> np.ndarray:
        """Component of every node at that scale: shape ``(p,)`` (joint) or ``(p, C)``
        (channel), ids ``0 … c − 1`` numbered by each component's smallest node."""
        support = self.support(t, sparsity=sparsity)
        labels, _ = component_labels(self._problem.graph, ~support)
        labels = labels - labels.min(axis=1, keepdims=True)
        return labels[0] if self.mode == "joint" else labels.T

    def at(self, t: float | None = None, *, sparsity: float | None = None):
        """The smoothed signal at time ``t`` or at ``sparsity``.

        Exactly what :func:`isvs_graph.solve` returns at the recorded iterates
        (:attr:`recorded_iterations`). Between them the partition is still exact and
        the values are the nearest recorded ``u_k`` averaged over it.
        """
        k = self.iteration(t, sparsity=sparsity)
        position = bisect.bisect_left(self.recorded_iterations, k)
        nearby = self.recorded_iterations[max(position - 1, 0):position + 1]
        nearest = min(nearby, key=lambda j: (abs(j - k), j))
        u = self._snapshots[nearest]
        support = torch.from_numpy(self._support_at(k))
        graph = self._problem.graph
        p, _, channels = u.shape
        labels, n = component_labels(graph, ~support)
        if self.mode == "joint":
            smoothed = component_means(u, labels, n)
        else:
            smoothed = component_means(u.reshape(p, channels, 1), labels, n)
            smoothed = smoothed.reshape(p, 1, channels)
        return self._problem.restore(smoothed)

    def plot(self, shape: tuple[int, ...] | None = None, *,
             sparsities: Sequence[float] | None = None, times: Sequence[float] | None = None,
             axes=None):
        """Draw the signal from coarse to fine, one panel per scale.

        Parameters
        ----------
        shape : tuple, optional
            ``(H, W)`` or ``(H, W, C)`` to show a node signal as an image (nodes in
            row-major pixel order, as :func:`~isvs_graph.grid_graph` numbers them).
            Default: the graph's ``pos`` is not used; the signal is drawn as a line.
        sparsities, times : sequence of float, optional
            The scales to draw; default six sparsities from 1 (coarsest) to the
            finest the path reached.
        axes : sequence of matplotlib Axes, optional
            One per scale; default a new figure.

        Returns
        -------
        matplotlib.figure.Figure
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError("ISVSPath.plot needs matplotlib: pip install matplotlib"
                              ) from error
        if sparsities is not None and times is not None:
            raise ValueError("give sparsities or times, not both")
        if times is not None:
            scales = [("t", check_real("t", v, nonnegative=True)) for v in times]
        else:
            if sparsities is None:
                finest = float(self.sparsities.min())
                sparsities = np.linspace(1.0, finest, 6)
            scales = [("sparsity", v) for v in sparsities]
        if axes is None:
            fig, axes = plt.subplots(1, len(scales), figsize=(2.2 * len(scales), 2.6),
                                     squeeze=False)
            axes = axes[0]
        fig = axes[0].figure
        for ax, (kind, value) in zip(axes, scales):
            smoothed = self.at(**{kind: value})
            smoothed = smoothed.cpu().numpy() if isinstance(smoothed, torch.Tensor) \
                else smoothed
            k = self.iteration(**{kind: value})
            if shape is None:
                ax.plot(smoothed)
            else:
                image = smoothed.reshape(shape)
                lo, hi = float(image.min()), float(image.max())
                if image.ndim == 3 and image.shape[2] == 3:
                    ax.imshow(np.clip(image, 0, 1) if hi <= 1.0 and lo >= 0.0
                              else (image - lo) / max(hi - lo, 1e-12))
                else:
                    ax.imshow(image.reshape(shape[:2]), cmap="gray")
                ax.set_axis_off()
            ax.set_title(f"t={self.times[k]:.3g}\nsparsity={self.sparsities[k]:.2f}",
                         fontsize=8)
        return fig

    def __repr__(self) -> str:
        return (f"ISVSPath(n_iter={self.n_iter}, t_max={self.times[-1]:.4g}, "
                f"sparsity={self.sparsities[-1]:.4g}, mode={self.mode!r}, "
                f"recorded={len(self.recorded_iterations)})")


def path(graph: Data, signal: np.ndarray | torch.Tensor | None = None, *,
         t_max: float | None = None, sparsity_min: float | None = None,
         record_sparsities: Sequence[float] = DEFAULT_RECORD_SPARSITIES,
         record_times: Sequence[float] = (), kappa: float = DEFAULT_KAPPA, nu: float = 1.0,
         alpha: float | None = None, mode: str = "joint", tol: float = DEFAULT_TOL,
         max_iter: int | None = None, progress: bool = False) -> ISVSPath:
    """Compute the inverse-scale-space path of one signal, from ``t = 0`` onwards.

    Parameters
    ----------
    graph, signal
        As for :func:`isvs_graph.solve`; ``signal`` of shape ``(p,)`` or ``(p, C)``.
    t_max, sparsity_min : float, optional
        Stop at this time or sparsity (at most one). Default: run until the
        iteration converges (or ``max_iter``).
    record_sparsities, record_times : sequence of float
        Store ``u_k`` at the iterates that ``solve`` would stop at for these
        sparsities and times, so that :meth:`ISVSPath.at` is exact there. The
        default records sparsities 1, 0.95, …, 0. The first and last iterates are
        always stored.
    kappa, nu, alpha, mode, tol, max_iter, progress
        As for :func:`isvs_graph.solve`.

    Returns
    -------
    ISVSPath

    Examples
    --------
    >>> import numpy as np
    >>> import isvs_graph
    >>> graph = isvs_graph.grid_graph(1, 4)
    >>> p = isvs_graph.path(graph, np.array([0.0, 0.0, 1.0, 1.0]), sparsity_min=0.7)
    >>> p.labels(sparsity=1.0).tolist(), p.labels(sparsity=0.7).tolist()
    ([0, 0, 0, 0], [0, 0, 1, 1])
    >>> np.isinf(p.entry_times).tolist()
    [True, False, True]
    """
    if t_max is not None and sparsity_min is not None:
        raise ValueError("give at most one of t_max and sparsity_min, got "
                         f"t_max={t_max!r}, sparsity_min={sparsity_min!r}")
    t_max = None if t_max is None else check_scale(t_max, None)[0]
    sparsity_min = None if sparsity_min is None else check_scale(None, sparsity_min)[1]
    problem = prepare(graph, signal, kappa=kappa, nu=nu, alpha=alpha, mode=mode, tol=tol,
                      max_iter=max_iter)
    if problem.x.shape[1] != 1:
        raise ValueError("path takes one signal of shape (p,) or (p, C), got a batch of "
                         f"{problem.x.shape[1]}; compute one path per signal")
    levels = sorted((check_scale(None, s)[1] for s in record_sparsities), reverse=True)
    record_k = sorted({iterations_for_time(check_scale(v, None)[0], problem.options.alpha)
                       for v in record_times})

    times, sparsities, snapshots = [], [], {}
    previous = np.zeros(problem.graph.num_edges * (
        1 if problem.options.mode == "joint" else problem.x.shape[2]), dtype=bool)
    events: tuple[list, list, list] = ([], [], [])
    level = 0

    def observe(k: int, u: torch.Tensor, nonzero: torch.Tensor, current: np.ndarray) -> None:
        nonlocal previous, level
        sparsity = float(current[0])
        now = nonzero.reshape(-1).cpu().numpy().copy()
        changed = np.nonzero(now != previous)[0]
        events[0].extend([k] * len(changed))
        events[1].extend(changed.tolist())
        events[2].extend(now[changed].tolist())
        previous = now
        times.append(k * problem.options.alpha)
        sparsities.append(sparsity)
        store = k == 0 or k in record_k
        while level < len(levels) and sparsity <= levels[level]:
            store, level = True, level + 1
        if store:
            snapshots[k] = u.clone()

    result = run_split_lbi(problem.op, problem.x, problem.initial(), problem.options,
                           t=t_max, sparsity=sparsity_min, observer=observe,
                           progress=progress)
    # The observer saw the normalised iterates (x − offset) / scale.
    for k, u in snapshots.items():
        snapshots[k] = (u.double() * float(result.scale[0]) + float(result.offset[0])).to(
            u.dtype)
    # At the floor the finest scale is the projection of x itself (see solve).
    snapshots[int(result.iterations[0])] = limit_values(problem.x, result).clone()
    packed = (np.asarray(events[0], dtype=np.int64), np.asarray(events[1], dtype=np.int64),
              np.asarray(events[2], dtype=bool))
    return ISVSPath(problem, result, packed, snapshots, times, sparsities)
