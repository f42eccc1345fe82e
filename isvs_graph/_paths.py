"""The regularization path: solve once, read any scale afterwards, keep it on disk.

:func:`path` (one or many signals on any graph) and :func:`~isvs_graph.image_paths`
(a ``B × C × H × W`` batch on its pixel grid) run Split LBI once per signal in the
numba kernels and record, per signal,

* every change of the support: each entry of ``γ`` (an edge, or an edge-channel pair in
  channel mode) in the order it entered, with its iteration, and a log of later leaves
  and re-entries, so the partition at *any* iteration is exact;
* the smoothed signal at the recorded iterates (each sparsity of ``levels``, each time
  of ``record_times``, the last iterate, and the finest scale for a run that stopped at
  the floor) as one value per component: exactly what :func:`~isvs_graph.solve` returns
  there, in its dtype;
* ``drift``: how far ``u`` can move between consecutive recorded iterates, measured by
  the kernels (the summed largest change per step), and from every iterate at which the
  support changed to the next recorded one.

:meth:`ISVSPath.at` reads a scale with one union-find over the edges per signal. At a
recorded iterate it returns exactly what :func:`~isvs_graph.solve` does. Between two
recorded iterates ``r₁ < k < r₂`` it averages the values recorded at ``r₂`` over the
exact partition at ``k``, which differs from the solve by at most
:meth:`ISVSPath.bound` (``drift`` from the last change of the support at or before ``k``
to ``r₂``, plus the spread of ``u`` within ``r₂``'s components if an entry left between
``k`` and ``r₂``, plus rounding; only rounding while no support edge separates
anything yet, where the read is exact).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _path_kernels as kernels
from ._io import atomic_write
from ._signals import (dtype_name, float_bounds, host_array, host_numbers, is_integer,
                       is_tensor, output_dtype, to_dtype, torch_dtype)
from ._threads import parallel_allowed
from ._validation import (check_at_most_one, check_batch_scale, check_real, check_scale,
                          check_sparsity, shown)
from .graphs import CanonicalGraph
from .graphs._canonical import canonical_arrays, is_graph
from .graphs._grid import grid_canonical, grid_shape
from ._projection import project
from ._solve import prepare
from ._solver import (DEFAULT_KAPPA, DEFAULT_TOL, FLOOR, MAX_ITER, entries_for_sparsity,
                      iterations_for_time, run_split_lbi)

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

#: A scale argument of a read: one value, or one per signal.
Scale = float | Sequence[float] | np.ndarray | None

__all__ = ["DEFAULT_LEVELS", "ISVSPath", "load_paths", "path"]

#: The sparsities recorded by default: 1, 0.95, …, 0.5.
DEFAULT_LEVELS = tuple(round(1.0 - 0.05 * i, 10) for i in range(11))
FORMAT = "isvs_graph.paths"
FORMAT_VERSION = 4
_STATUS = {0: "reached", 1: "floor", 2: "max_iter"}
#: Reads of at least this many signals run in parallel.
_PARALLEL_READS = 8
#: The arrays a path stores (and saves), in checksum order.
_ARRAYS = ("order", "order_iter", "order_count", "log_iter", "log_entry", "log_count",
           "snap_iter", "snap_count", "limit", "comp_count", "values", "drift", "spread",
           "mark_iter", "mark_drift", "mark_count", "status", "low", "scale")


@dataclass(frozen=True)
class Layout:
    """How values leave a path: the caller's kind, dtype and shape.

    ``form`` is ``"signal"`` (``shape`` ``(p,)``, ``(p, C)`` or ``(B, p, C)``, as given
    to :func:`path`) or ``"images"`` (``(B, C, H, W)``). ``dtype`` is what
    :func:`~isvs_graph.solve` (or :func:`~isvs_graph.smooth_images`) returns; working
    is the dtype the solver ran in; :attr:`stored` the dtype values are kept and read in.
    """

    form: str
    kind: str
    dtype: str
    working: str
    shape: tuple

    @property
    def channels(self) -> int:
        if self.form == "images":
            return self.shape[1]
        return 1 if len(self.shape) == 1 else self.shape[-1]

    @property
    def stored(self) -> np.dtype:
        """The dtype values are recorded and read in: ``dtype``, except float16 and
        bfloat16, kept in float32 (what the solver returned before its cast) and cast on
        the way out, as :func:`~isvs_graph.solve` casts."""
        return np.dtype("float32" if self.dtype in ("float16", "bfloat16") else self.dtype)

    @property
    def resolution(self) -> float:
        """The relative rounding of the returned dtype (0 for integers)."""
        if is_integer(self.dtype):
            return 0.0
        if self.dtype == "bfloat16":  # numpy has no bfloat16: 8 bits of mantissa
            return 2.0 ** -7
        return float(np.finfo(self.dtype).eps)

    @property
    def single(self) -> bool:
        """One signal (``(p,)`` or ``(p, C)``): reads return one signal, not a batch."""
        return self.form == "signal" and len(self.shape) < 3

    def present(self, planes: np.ndarray, device: str = "cpu"):
        """``(B, C, p)`` planes in the stored dtype → the caller's layout and dtype."""
        if self.form == "images":
            out = planes.reshape(len(planes), *self.shape[1:])
        elif len(self.shape) == 1:
            out = planes[0, 0]
        elif len(self.shape) == 2:
            out = planes[0].T
        else:
            out = planes.transpose(0, 2, 1)
        out = np.ascontiguousarray(out)
        if self.kind == "numpy":
            return out.astype(self.dtype, copy=False)
        import torch
        return torch.from_numpy(out).to(device=device, dtype=torch_dtype(self.dtype))


def _narrow(largest: int) -> np.dtype:
    """The narrowest unsigned type holding ``0 … largest`` (int64 beyond 32 bits)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _pointers(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _round_up32(values: np.ndarray) -> np.ndarray:
    """float32 values no smaller than ``values`` (bounds stay bounds)."""
    low = values.astype(np.float32)
    return np.where(low.astype(np.float64) < values, np.nextafter(low, np.float32(np.inf)),
                    low)


class ISVSPath:
    """Recorded inverse-scale-space paths of one or many signals on one graph.

    Made by :func:`path`, :func:`~isvs_graph.image_paths` or :func:`load_paths`.
    Reads take ``t`` or ``sparsity`` (one value, or one per signal) like
    :func:`~isvs_graph.solve`; a path of one signal answers for that signal, a batch
    with one row per signal.

    Attributes
    ----------
    graph : ~isvs_graph.graphs.CanonicalGraph
        The graph the paths live on.
    layout
        Kind (numpy or torch), form (signal or images), dtype and shape of what
        :meth:`at` returns.
    options : dict
        The solver options and recording the paths were made with.
    levels : numpy.ndarray
        The recorded sparsities, decreasing: :meth:`at` is exact there.
    status : numpy.ndarray of str
        Per signal, why its run ended: ``"reached"`` (``t_max`` or ``sparsity_min``),
        ``"floor"`` (the finest scale above ``tol``: every later scale reads as it) or
        ``"max_iter"``.
    """

    def __init__(self, graph: CanonicalGraph, layout: Layout, options: dict,
                 arrays: dict[str, np.ndarray], device: str = "cpu") -> None:
        self.graph = graph
        self.layout = layout
        self.options = dict(options)
        self.levels = np.asarray(self.options["levels"], dtype=np.float64)
        self._arrays = arrays
        self._device = device
        self._planes = 1 if self.options["mode"] == "joint" else layout.channels
        self._width = layout.channels if self._planes == 1 else 1
        self._src = graph.edge_index[0].astype(np.int64)
        self._dst = graph.edge_index[1].astype(np.int64)
        a = arrays
        self._order_ptr = _pointers(a["order_count"])
        self._log_ptr = _pointers(a["log_count"])
        self._snap_ptr = _pointers(a["snap_count"])
        self._mark_ptr = _pointers(a["mark_count"])
        self._comp_ptr = _pointers(a["comp_count"].reshape(-1))
        # Snapshots are sorted by (signal, iteration); this key finds them by search.
        self._span = int(a["snap_iter"].max(initial=0)) + 2
        signal_of = np.repeat(np.arange(len(a["snap_count"])), a["snap_count"])
        self._snap_key = signal_of * self._span + a["snap_iter"].astype(np.int64) + \
            np.where(self._limit_rows(), 1, 0)  # the limit sorts after its iterate

    # ------------------------------------------------------------------ basics

    def _limit_rows(self) -> np.ndarray:
        """Per snapshot, whether it is a signal's limit (its last, at the floor)."""
        rows = np.zeros(len(self._arrays["snap_iter"]), dtype=bool)
        rows[self._snap_ptr[1:][self._arrays["limit"]] - 1] = True
        return rows

    def __len__(self) -> int:
        return len(self._arrays["status"])

    @property
    def status(self) -> np.ndarray | str:
        names = np.array([_STATUS[int(v)] for v in self._arrays["status"]])
        return str(names[0]) if self.layout.single else names

    @property
    def converged(self) -> np.ndarray | bool:
        """Whether each run ended at the floor (every finer scale reads as its last)."""
        out = self._arrays["status"] == FLOOR
        return bool(out[0]) if self.layout.single else out

    @property
    def n_iter(self) -> np.ndarray | int:
        """``K``, the last iterate of each run."""
        out = self._last_iter()
        return int(out[0]) if self.layout.single else out

    def _last_iter(self) -> np.ndarray:
        last = self._snap_ptr[1:] - 1 - self._arrays["limit"]
        return self._arrays["snap_iter"][last].astype(np.int64)

    @property
    def alpha(self) -> float:
        return float(self.options["alpha"])

    @property
    def mode(self) -> str:
        return self.options["mode"]

    @property
    def nbytes(self) -> int:
        """Bytes the stored arrays take (what :meth:`save` writes, less the header)."""
        return int(sum(array.nbytes for array in self._arrays.values()))

    def __repr__(self) -> str:
        return (f"ISVSPath(signals={len(self)}, layout={self.layout.form} "
                f"{self.layout.shape}, mode={self.mode!r}, levels={len(self.levels)}, "
                f"kappa={self.options['kappa']!r}, nu={self.options['nu']!r})")

    def _one(self, values):
        return values[0] if self.layout.single else values

    def _entries(self) -> int:
        return self.graph.num_edges * self._planes

    def _entry_shape(self, values: np.ndarray) -> np.ndarray:
        """``(B, entries)`` → ``(B, m)`` joint or ``(B, m, C)`` channel (one signal:
        without ``B``)."""
        if self._planes > 1:
            values = values.reshape(len(values), self.graph.num_edges, self._planes)
        return self._one(values)

    # ------------------------------------------------------------------ the record

    @property
    def entry_iter(self) -> np.ndarray:
        """First iteration at which each entry of ``γ`` entered the support, ``−1`` if
        never: ``(m,)`` or ``(m, C)`` per signal (channel mode), canonical edge order."""
        a = self._arrays
        out = np.full((len(self), self._entries()), -1, dtype=np.int64)
        rows = np.repeat(np.arange(len(self)), a["order_count"])
        out[rows, a["order"].astype(np.int64)] = a["order_iter"]
        return self._entry_shape(out)

    @property
    def entry_times(self) -> np.ndarray:
        """:attr:`entry_iter` as times ``k α``; ``inf`` for entries that never entered."""
        k = self.entry_iter
        return np.where(k >= 0, k * self.alpha, np.inf)

    @property
    def leave_events(self) -> np.ndarray:
        """Every change of an entry after it first entered, as a structured array with
        fields ``signal``, ``iteration``, ``entry`` (index into the flat entries:
        ``edge`` joint, ``edge · C + channel`` channel) and ``entering`` (False: it
        left, True: it came back), in iteration order per signal."""
        a = self._arrays
        signal = np.repeat(np.arange(len(self)), a["log_count"])
        entry = a["log_entry"].astype(np.int64)
        order = np.lexsort((np.arange(len(entry)), entry, signal))
        first = np.ones(len(entry), dtype=bool)
        same = (signal[order][1:] == signal[order][:-1]) & \
            (entry[order][1:] == entry[order][:-1])
        first[1:] = ~same
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(entry)), 0))
        parity = (np.arange(len(entry)) - group_start) % 2  # 0: leaves (it was in)
        entering = np.empty(len(entry), dtype=bool)
        entering[order] = parity == 1
        out = np.empty(len(entry), dtype=[("signal", np.int64), ("iteration", np.int64),
                                          ("entry", np.int64), ("entering", bool)])
        out["signal"], out["iteration"] = signal, a["log_iter"]
        out["entry"], out["entering"] = entry, entering
        return out

    @property
    def recorded_iterations(self) -> list[int] | list[np.ndarray]:
        """The recorded iterates of each signal (:meth:`at` is exact there)."""
        a = self._arrays
        rows = [a["snap_iter"][lo:hi].astype(np.int64)
                for lo, hi in zip(self._snap_ptr[:-1], self._snap_ptr[1:])]
        rows = [np.unique(row) for row in rows]
        return rows[0].tolist() if self.layout.single else rows

    # ------------------------------------------------------------------ locating scales

    def iterations(self, t: Scale = None, *, sparsity: Scale = None) -> np.ndarray | int:
        """The iterate :func:`~isvs_graph.solve` stops at for ``t`` or ``sparsity``,
        per signal (an int for a path of one signal)."""
        k, _ = self._locate(t, sparsity)
        return int(k[0]) if self.layout.single else k

    def _locate(self, t, sparsity, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Per signal of ``rows`` (default all): the iterate to read and the snapshot to
        read it from."""
        rows = np.arange(len(self)) if rows is None else rows
        batch = len(rows)
        t, sparsity = check_batch_scale(t, sparsity, batch)
        a = self._arrays
        last = self._last_iter()[rows]
        if t is not None:
            unique, inverse = np.unique(t, return_inverse=True)
            k = np.array([iterations_for_time(float(v), self.alpha) for v in unique],
                         dtype=np.int64)[inverse.reshape(-1)]
        else:
            needed = entries_for_sparsity(self._entries(), sparsity)
            k = kernels.first_iterations(rows, needed, a["order"], a["order_iter"],
                                         self._order_ptr, a["log_iter"], a["log_entry"],
                                         self._log_ptr, self._entries())
        beyond = (k < 0) | (k > last)
        status = a["status"][rows]
        stuck = beyond & (status != FLOOR) & (status != MAX_ITER)
        if self._entries() == 0:
            stuck[:] = False  # no edges (a one-pixel image): every scale is the first
        if stuck.any():
            # Where the paths end, as a user can ask for them: t and sparsity.
            scale, asked = ("t", t) if t is not None else ("sparsity", sparsity)
            ends_at = np.atleast_1d(self.sparsity_at(self._last_iter()))[rows]
            which = np.flatnonzero(stuck)
            ends = [f"t = {last[b] * self.alpha:.4g} (sparsity {ends_at[b]:.4g})"
                    + ("" if self.layout.single else f" for signal {int(rows[b])}")
                    for b in which[:3]]
            more = ", …" if len(which) > 3 else ""
            wanted = f"{scale} = {asked[which[0]]:g}" if len(np.unique(asked[which])) == 1 \
                else f"the {scale} asked"
            made = ", ".join(f"{name} = {float(self.options[name])!r}"
                             for name in ("t_max", "sparsity_min")
                             if self.options[name] is not None)
            single = self.layout.single
            raise ValueError(
                ("the path has" if single else f"{len(which)} of {batch} signals have")
                + f" no recorded iterate at {wanted}: {'it ends' if single else 'they end'}"
                f" at {', '.join(ends)}{more}, as paths stop earlier where told to (made "
                f"with {made or 'no stop'}); compute it again with a larger t_max or a "
                "smaller sparsity_min")
        k = np.where(beyond, last, k)
        snap = np.searchsorted(self._snap_key, rows * self._span + k, side="left")
        # Beyond the last iterate, a run that stopped at the floor reads its limit.
        floor = beyond & (status == FLOOR)
        snap = np.where(floor, self._snap_ptr[1:][rows] - 1, snap)
        return k, snap

    # ------------------------------------------------------------------ reads

    def at(self, t: Scale = None, *, sparsity: Scale = None,
           signals: Sequence[int] | np.ndarray | None = None) -> np.ndarray | torch.Tensor:
        """The smoothed signal(s) at time ``t`` or at ``sparsity``.

        Exactly what :func:`~isvs_graph.solve` (:func:`~isvs_graph.smooth_images` for
        image paths) returns at the recorded iterates; elsewhere within
        :meth:`bound` of it. Same kind and layout as the signals the paths were made
        from, and the dtype ``solve`` (``smooth_images``) returns for them.
        ``signals`` (indices) reads those signals of a batch only, in that order (``t``
        or ``sparsity`` then has one value or one per index).
        """
        rows = None
        if signals is not None:
            rows = np.atleast_1d(np.arange(len(self))[_host_index(signals)]).astype(np.int64)
        k, snap = self._locate(t, sparsity, rows)
        rows = np.arange(len(k)) if rows is None else rows
        a = self._arrays
        channels, p = self.layout.channels, self.graph.num_nodes
        dtype = self.layout.stored
        out = np.empty((len(k), channels, p), dtype=dtype)
        integer = dtype.kind in "iu"
        low, high = float_bounds(np.iinfo(dtype)) if integer else (0.0, 0.0)
        # A few signals are read on this thread (waking the pool costs more), and so are
        # all of them where threads may not start (see isvs_graph._threads).
        parallel = len(rows) >= _PARALLEL_READS and parallel_allowed()
        read = kernels.read if parallel else kernels.read_serial
        read(rows, k, snap, self._src, self._dst, p, self._planes,
                     self._width, a["order"], a["order_iter"], self._order_ptr,
                     a["log_iter"], a["log_entry"], self._log_ptr, a["snap_iter"],
                     self._comp_ptr, a["values"], integer,
                     self.layout.working == "float32", low, high, out)
        return self.layout.present(out, self._device)

    def bound(self, t: Scale = None, *, sparsity: Scale = None) -> np.ndarray | float:
        """How far :meth:`at` can be from :func:`~isvs_graph.solve` at that scale: the
        largest absolute difference of any value, in the signal's units (0 at the
        recorded iterates, rounding only where the partition is still the graph's
        components, about the true difference just before a recorded iterate). See
        :func:`path` for how it is made up."""
        k, snap = self._locate(t, sparsity)
        a = self._arrays
        exact = a["snap_iter"][snap].astype(np.int64) == k
        out = np.minimum(a["drift"][snap].astype(np.float64), self._drift_after(k, snap))
        for b in np.flatnonzero(a["log_count"] > 0):  # leaves between k and the snapshot
            lo, hi = self._log_ptr[b], self._log_ptr[b + 1]
            events = a["log_iter"][lo:hi].astype(np.int64)
            r = int(a["snap_iter"][snap[b]])
            if ((events > k[b]) & (events <= r)).any():
                out[b] += float(a["spread"][snap[b]])
        if is_integer(self.layout.dtype):
            out = out + 1.5  # the recorded values and the read are both rounded
        else:
            magnitude = np.maximum(np.abs(a["low"]), np.abs(a["low"] + a["scale"]))
            eps = float(np.finfo(self.layout.stored).eps)
            # Rounding in the stored dtype, and in the cast to a narrower one; and the
            # component means' float64 sums, formed in other orders by the two: up to a
            # rounding a node (an offset far above the range makes that count).
            sums = self.graph.num_nodes * float(np.finfo(np.float64).eps)
            out = out + (4 * eps + self.layout.resolution + sums) * magnitude
        out = np.where(exact, 0.0, out)
        return float(out[0]) if self.layout.single else out

    def _drift_after(self, k: np.ndarray, snap: np.ndarray) -> np.ndarray:
        """Per signal, a bound on ``max |u_k − u_r|`` for the snapshot ``r`` read at ``k``
        that is tighter than the drift over the whole interval before ``r``: only the
        rounding of the steps up to ``r`` where the partition at ``k`` is still the
        graph's connected components (whose means the iteration keeps: no support edge
        bounds them), else the drift from the last iterate at or before ``k`` where the
        support changed (if after the previous snapshot) to ``r``; ``inf`` where neither
        applies (a floor's limit)."""
        a = self._arrays
        out = np.full(len(k), np.inf)
        snap_iter = a["snap_iter"].astype(np.int64)
        first_snap = self._snap_ptr[:-1]
        previous = np.where(snap > first_snap, snap_iter[np.maximum(snap - 1, 0)], -1)
        marks = a["mark_iter"].astype(np.int64)
        mark_drift = a["mark_drift"].astype(np.float64)
        limit = self._limit_rows()[snap]
        whole = self._whole_components(k)
        eps = float(np.finfo(self.layout.working).eps)
        for b in np.flatnonzero(~limit):
            lo, hi = self._mark_ptr[b], self._mark_ptr[b + 1]
            last = lo + int(np.searchsorted(marks[lo:hi], k[b], side="right")) - 1
            if whole[b]:
                out[b] = 4 * eps * (snap_iter[snap[b]] + 1) * float(a["scale"][b])
            elif last >= lo and marks[last] > previous[b]:
                out[b] = mark_drift[last]
        return out

    def _whole_components(self, k: np.ndarray) -> np.ndarray:
        """Per signal, whether its partition at iterate ``k`` is the graph's connected
        components (no support edge separates anything, in any plane)."""
        rows = np.arange(len(k))
        p = self.graph.num_nodes
        out = np.empty((len(k) + 1, self._planes, p), dtype=np.int64)
        labels = kernels.labels if parallel_allowed() else kernels.labels_serial
        a = self._arrays
        ks = np.concatenate([k, [0]])  # and the graph's own components, at k = 0
        labels(np.concatenate([rows, [0]]), ks, self._src, self._dst, p, self._planes,
               a["order"], a["order_iter"], self._order_ptr, a["log_iter"], a["log_entry"],
               self._log_ptr, out)
        counts = out.max(axis=2, initial=-1) + 1  # (B + 1, planes)
        return (counts[:-1] == counts[-1]).all(axis=1)

    def labels(self, t: Scale = None, *, sparsity: Scale = None) -> np.ndarray:
        """The component of every node at that scale, numbered ``0 … c − 1`` in the
        order of each component's smallest node: ``(p,)`` (joint) or ``(p, C)``
        (channel) per signal."""
        k, _ = self._locate(t, sparsity)
        a = self._arrays
        out = np.empty((len(k), self._planes, self.graph.num_nodes), dtype=np.int64)
        labels = kernels.labels if parallel_allowed() else kernels.labels_serial
        labels(np.arange(len(k)), k, self._src, self._dst, self.graph.num_nodes,
               self._planes, a["order"], a["order_iter"], self._order_ptr, a["log_iter"],
               a["log_entry"], self._log_ptr, out)
        out = out[:, 0] if self._planes == 1 else out.transpose(0, 2, 1)
        return self._one(out)

    def support(self, t: Scale = None, *, sparsity: Scale = None) -> np.ndarray:
        """Where ``γ ≠ 0`` at that scale: ``(m,)`` (joint) or ``(m, C)`` (channel) per
        signal, canonical edge order."""
        k, _ = self._locate(t, sparsity)
        a = self._arrays
        out = np.empty((len(k), self._entries()), dtype=bool)
        supports = kernels.supports if parallel_allowed() else kernels.supports_serial
        supports(np.arange(len(k)), k, a["order"], a["order_iter"], self._order_ptr,
                 a["log_iter"], a["log_entry"], self._log_ptr, out)
        return self._entry_shape(out)

    def sparsity_at(self, k: int | Sequence[int] | np.ndarray) -> np.ndarray | float:
        """The sparsity of ``γ_k`` at iterate(s) ``k`` (one value or one per signal)."""
        a = self._arrays
        k = np.broadcast_to(np.asarray(k, dtype=np.int64), (len(self),))
        entries = self._entries()
        counts = np.array([kernels.count_at(b, int(k[b]), a["order"], a["order_iter"],
                                            self._order_ptr, a["log_iter"], a["log_entry"],
                                            self._log_ptr, entries)
                           for b in range(len(self))])
        out = (entries - counts) / entries if entries else np.zeros(len(self))
        return float(out[0]) if self.layout.single else out

    # ------------------------------------------------------------------ subsets, disk

    def select(self, index: int | slice | Sequence[int] | np.ndarray) -> ISVSPath:
        """The paths of some signals only (``index``: an int, a slice or indices), as a
        batch."""
        rows = np.atleast_1d(np.arange(len(self))[_host_index(index)])
        a = self._arrays
        picked = {}
        for name, ptr in (("order", self._order_ptr), ("log", self._log_ptr),
                          ("snap", self._snap_ptr), ("mark", self._mark_ptr)):
            take = _ranges(ptr, rows)
            fields = {"order": ("order", "order_iter"), "log": ("log_iter", "log_entry"),
                      "snap": ("snap_iter", "comp_count", "drift", "spread"),
                      "mark": ("mark_iter", "mark_drift")}[name]
            for field in fields:
                picked[field] = a[field][take]
            picked[f"{name}_count"] = a[f"{name}_count"][rows]
        snaps = _ranges(self._snap_ptr, rows)
        comp_ptr = self._comp_ptr.reshape(-1)
        planes = self._planes
        starts = comp_ptr[:-1].reshape(-1, planes)[snaps, 0] * self._width
        stops = comp_ptr[1:].reshape(-1, planes)[snaps, -1] * self._width
        picked["values"] = a["values"][_spans(starts, stops)]
        for name in ("limit", "status", "low", "scale"):
            picked[name] = a[name][rows]
        layout = self.layout
        shape = (len(rows), *layout.shape[1:]) if layout.form == "images" else \
            (len(rows), self.graph.num_nodes, layout.channels)
        layout = Layout(layout.form, layout.kind, layout.dtype, layout.working, shape)
        return ISVSPath(self.graph, layout, self.options, picked, self._device)

    def save(self, file: str | os.PathLike) -> None:
        """Write the paths to ``file`` (an ``.npz``) atomically, with a checksum."""
        arrays = dict(self._arrays)
        meta = self._meta(arrays)
        digest = _checksum(meta, arrays)
        with atomic_write(file) as handle:
            np.savez(handle, meta=np.frombuffer(meta.encode(), dtype=np.uint8),
                     checksum=np.frombuffer(digest.encode(), dtype=np.uint8), **arrays)

    def _meta(self, arrays: dict) -> str:
        shape = grid_shape(self.graph)
        graph = {"num_nodes": self.graph.num_nodes}
        if shape is not None:
            graph["grid"], graph["connectivity"] = list(shape[0]), shape[1]
        else:
            arrays["edge_index"] = self.graph.edge_index.astype(
                _narrow(max(self.graph.num_nodes - 1, 0)))
            arrays["edge_weight"] = self.graph.edge_weight.astype(np.float64)
        layout = asdict(self.layout)
        layout["shape"] = list(layout["shape"])
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "graph": graph,
                           "layout": layout, "options": self.options}, sort_keys=True)

    def plot(self, shape: tuple[int, ...] | None = None, *, signal: int = 0,
             sparsities: Sequence[float] | None = None, times: Sequence[float] | None = None,
             axes: Sequence[Any] | None = None) -> Any:
        """Draw one signal at several scales, from coarse to fine (needs matplotlib).

        Parameters
        ----------
        shape : tuple, optional
            ``(H, W)`` or ``(H, W, C)`` to show a node signal as an image (nodes in
            row-major pixel order, as :func:`~isvs_graph.graphs.grid_graph` numbers them),
            ``(D, H, W, C)`` a volume (its middle plane is drawn); image paths know their
            shape. 3 or 4 channels are drawn in colour (RGB, RGBA), any other number the
            first in grey. Default for other paths: the signal drawn as a line.
        signal : int, default 0
            Which signal of a batch.
        sparsities, times : sequence of float, optional
            The scales to draw (at most one); default six sparsities from 1 down to the
            finest recorded level the signal's path reaches.
        axes : sequence of matplotlib Axes, optional
            One per scale; default a new figure.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._path_plot import plot_path
        return plot_path(self, shape, signal=signal, sparsities=sparsities, times=times,
                         axes=axes)

    # ------------------------------------------------------------------ deprecated names

    def iteration(self, t: Scale = None, *, sparsity: Scale = None) -> np.ndarray | int:
        """Deprecated; use :meth:`iterations`."""
        _deprecated("ISVSPath.iteration()", "ISVSPath.iterations()")
        return self.iterations(t, sparsity=sparsity)

    @property
    def n_leave_events(self) -> int:
        """Deprecated; the number of leaves in :attr:`leave_events`."""
        _deprecated("ISVSPath.n_leave_events", "ISVSPath.leave_events")
        return int((~self.leave_events["entering"]).sum())

    @property
    def times(self) -> np.ndarray:
        """Deprecated; ``k α`` at every iterate ``0 … K`` of a path of one signal."""
        _deprecated("ISVSPath.times", "ISVSPath.iterations() and ISVSPath.alpha")
        return np.arange(self._single_last() + 1) * self.alpha

    @property
    def sparsities(self) -> np.ndarray:
        """Deprecated; the sparsity at every iterate ``0 … K`` of a path of one signal."""
        _deprecated("ISVSPath.sparsities", "ISVSPath.sparsity_at()")
        last = self._single_last()
        entries = self._entries()
        events = np.zeros(last + 2, dtype=np.int64)
        a = self._arrays
        np.add.at(events, a["order_iter"].astype(np.int64), 1)
        for event in self.leave_events:
            events[event["iteration"]] += 1 if event["entering"] else -1
        counts = np.cumsum(events)[:last + 1]
        return (entries - counts) / entries if entries else np.zeros(last + 1)

    def _single_last(self) -> int:
        if len(self) != 1:
            raise ValueError("times and sparsities exist for a path of one signal only")
        return int(self._last_iter()[0])


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                  DeprecationWarning, stacklevel=3)


def _ranges(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of the items of ``rows`` in a ragged array with pointers ``ptr``."""
    return _spans(ptr[rows], ptr[rows + 1])


def _spans(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, b) for a, b in zip(starts, stops)])``, vectorised."""
    lengths = stops - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.arange(total, dtype=np.int64) + offsets


def _starts_like_a_cache(file: str) -> bool:
    """Whether ``file`` begins as :meth:`ISVSPath.save` writes: a zip archive whose first
    member is the header, ``meta.npy``. Only such a file can be a damaged cache; any
    other is someone else's and is not called damaged (nor offered for deletion)."""
    with open(file, "rb") as handle:
        head = handle.read(64)
    return head.startswith(b"PK\x03\x04") and b"meta.npy" in head


def _checksum(meta: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(meta.encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------- recording

def record(problem, layout: Layout, *, levels: Sequence[float], record_times=(),
           t_max=None, sparsity_min=None, progress: bool = False, exact_constants=None,
           options: dict | None = None) -> ISVSPath:
    """Run Split LBI on ``problem`` (CPU) recording paths; see :func:`path`.

    ``exact_constants``: per signal, the value a constant signal must read as (integer
    images whose values a float cannot hold); ``options``: extra entries for
    :attr:`ISVSPath.options` (``connectivity``).
    """
    x = problem.x
    batch, channels = x.shape[1], x.shape[2]
    p, m = problem.graph.num_nodes, problem.graph.num_edges
    opts = problem.options
    planes = 1 if opts.mode == "joint" else channels
    width = channels if planes == 1 else 1
    t_stop = None if t_max is None else check_batch_scale(t_max, None, batch)[0]
    s_stop = None if sparsity_min is None else check_batch_scale(None, sparsity_min,
                                                                 batch)[1]
    # The first iterate (t = 0, the component means) is always recorded.
    stops = sorted({0.0, *(float(v) for v in record_times)})
    result = run_split_lbi(problem.graph, x, problem.initial(), opts, t=t_stop,
                           sparsity=s_stop, progress=progress, backend="numba",
                           record_levels=levels, record_times=stops, record_entries=True)
    n_levels, n_stops = len(levels), len(result.stop_iter[0]) if result.stop_iter is not None \
        else 0
    last = result.iterations.astype(np.int64)
    floor = result.status == FLOOR
    final_u = result.u.transpose(1, 0, 2)[:, None]  # (B, 1, p, C)
    support = result.support if result.support.ndim == 3 else result.support[:, :, None]
    final_support = support.transpose(1, 0, 2)[:, None]  # (B, 1, m, P)
    x_nodes = x.transpose(1, 0, 2)[:, None]
    parts_iter = [result.level_iter if n_levels else np.zeros((batch, 0), np.int64),
                  result.stop_iter if n_stops else np.zeros((batch, 0), np.int64),
                  last[:, None], np.where(floor, last, -1)[:, None]]
    parts_u = [result.level_u if n_levels else None, result.stop_u if n_stops else None,
               final_u, x_nodes]
    parts_support = [result.level_support if n_levels else None,
                     result.stop_support if n_stops else None, final_support, final_support]
    parts_drift = [result.level_drift if n_levels else np.zeros((batch, 0)),
                   result.stop_drift if n_stops else np.zeros((batch, 0)),
                   result.drift[:, None], result.drift[:, None]]
    iters = np.concatenate(parts_iter, axis=1)  # (B, N): −1 where none
    drifts = np.concatenate(parts_drift, axis=1)
    slots = iters.shape[1]
    is_limit = np.zeros(slots, dtype=bool)
    is_limit[-1] = True
    # Sort each signal's snapshots by iteration (the limit after its iterate), drop
    # duplicates of one iterate and the missing ones.
    key = np.where(iters >= 0, iters * 2 + is_limit, np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    sorted_key = np.take_along_axis(key, order, axis=1)
    keep = sorted_key != np.iinfo(np.int64).max
    keep[:, 1:] &= sorted_key[:, 1:] != sorted_key[:, :-1]
    rows, cols = np.nonzero(keep)
    slot = order[rows, cols]

    def gather(parts, shape_tail, dtype):
        out = np.empty((len(rows), *shape_tail), dtype=dtype)
        start = 0
        for part in parts:
            width_ = 0 if part is None else part.shape[1]
            chosen = (slot >= start) & (slot < start + width_)
            if chosen.any():
                out[chosen] = part[rows[chosen], slot[chosen] - start]
            start += width_
        return out

    snap_u = gather(parts_u, (p, channels), x.dtype)
    snap_support = gather(parts_support, (m, planes), bool)
    snap_iter = iters[rows, slot]
    snap_drift = drifts[rows, slot]
    snap_count = keep.sum(axis=1)
    # The drift from each change of the support to the next snapshot.
    mark_n = result.mark_n.astype(np.int64)
    mark_rows, mark_cols = np.nonzero(np.arange(result.mark_k.shape[1])[None, :]
                                      < mark_n[:, None])
    mark_iter = result.mark_k[mark_rows, mark_cols]
    span = int(max(snap_iter.max(initial=0), mark_iter.max(initial=0))) + 2
    following = np.searchsorted(rows * span + snap_iter, mark_rows * span + mark_iter,
                                side="left")
    ahead = snap_drift[following] if len(following) else np.zeros(0)
    mark_drift = np.maximum(ahead - result.mark_d[mark_rows, mark_cols], 0.0) + 1e-12 * ahead
    # Exactly what solve returns at each snapshot: the projection, presented.
    u_t = snap_u.transpose(1, 0, 2)
    support_t = snap_support.transpose(1, 0, 2)
    projected = project(problem.graph, u_t, support_t[:, :, 0] if planes == 1 and
                        opts.mode == "joint" else support_t)
    projected = projected.transpose(1, 2, 0)  # (S, C, p)
    constant = result.constant[rows]
    if constant.any():  # their own answer, to the last bit
        projected = projected.copy()
        projected[constant] = x_nodes[rows[constant], 0].transpose(0, 2, 1)
    presented = to_dtype(projected, layout.stored)
    if constant.any() and exact_constants is not None:
        presented[constant] = np.asarray(exact_constants)[rows[constant]][:, None, None]
    counts = np.empty((len(rows), planes), dtype=np.int64)
    values = np.empty((len(rows), planes, p * width), dtype=presented.dtype)
    spread = np.empty(len(rows))
    flat_support = np.ascontiguousarray(snap_support.reshape(len(rows), m * planes))
    compress = kernels.compress if parallel_allowed() else kernels.compress_serial
    compress(problem.graph.edge_index[0].astype(np.int64),
             problem.graph.edge_index[1].astype(np.int64), flat_support,
             np.ascontiguousarray(presented), np.ascontiguousarray(snap_u.transpose(0, 2, 1)),
             projected, width, counts, values, spread)
    used = np.arange(p * width)[None, None, :] < (counts * width)[:, :, None]
    values = values[used]
    # Drift over the interval that ends at each snapshot (from the previous one or 0).
    previous = np.concatenate([[0.0], snap_drift[:-1]])
    first = np.zeros(len(rows), dtype=bool)
    first[_pointers(snap_count)[:-1][snap_count > 0]] = True
    interval = np.maximum(snap_drift - np.where(first, 0.0, previous), 0.0)
    interval = interval + 1e-12 * snap_drift  # the float64 sums' own rounding
    # Entries in the order they entered, per signal.
    entries = m * planes
    entry_iter = result.entry_iter
    key = np.where(entry_iter >= 0, entry_iter * entries + np.arange(entries),
                   np.iinfo(np.int64).max)
    entry_order = np.sort(key, axis=1)
    entered = entry_order != np.iinfo(np.int64).max
    order_ids = entry_order[entered] % entries if entries else entry_order[entered]
    order_iter = entry_order[entered] // entries if entries else entry_order[entered]
    log_n = result.log_n.astype(np.int64)
    log_mask = np.arange(result.log_k.shape[1])[None, :] < log_n[:, None]
    log_iter, log_entry = result.log_k[log_mask], result.log_e[log_mask]
    largest_iter = int(max(order_iter.max(initial=0), log_iter.max(initial=0),
                           snap_iter.max(initial=0)))
    id_type = _narrow(max(entries - 1, 0))
    iter_type = _narrow(largest_iter)
    arrays = {
        "order": order_ids.astype(id_type),
        "order_iter": order_iter.astype(iter_type),
        "order_count": entered.sum(axis=1).astype(_narrow(entries)),
        "log_iter": log_iter.astype(iter_type),
        "log_entry": log_entry.astype(id_type),
        "log_count": log_n.astype(_narrow(int(log_n.max(initial=0)))),
        "snap_iter": snap_iter.astype(iter_type),
        "snap_count": snap_count.astype(np.uint8),
        "limit": floor,
        "comp_count": counts.astype(_narrow(p)),
        "values": values,
        "drift": _round_up32(interval),
        "spread": _round_up32(spread),
        "mark_iter": mark_iter.astype(iter_type),
        "mark_drift": _round_up32(mark_drift),
        "mark_count": mark_n.astype(_narrow(int(mark_n.max(initial=0)))),
        "status": result.status.astype(np.int8),
        "low": result.offset.astype(np.float64),
        "scale": result.scale.astype(np.float64),
    }
    record_options = {
        "kappa": opts.kappa, "nu": opts.nu, "alpha": opts.alpha, "mode": opts.mode,
        "tol": opts.tol, "jumps": bool(opts.jumps), "max_iter": int(opts.max_iter),
        "levels": [float(v) for v in levels],
        "record_times": sorted({float(v) for v in record_times}),
        "t_max": None if t_max is None else float(np.max(t_max)),
        "sparsity_min": None if sparsity_min is None else float(np.min(sparsity_min)),
        **(options or {})}
    return ISVSPath(problem.graph, layout, record_options, arrays)


def check_levels(levels: Iterable[float]) -> list[float]:
    """Recorded sparsities: each in [0, 1], decreasing, at least one; from any collection
    of them (a list, an array, a tensor, a set)."""
    try:
        values = None if isinstance(levels, (str, bytes)) else list(levels)
    except TypeError:  # not iterable (a number, a 0-d tensor)
        values = None
    if values is None:
        raise TypeError(f"levels must be a collection of sparsities, got "
                        f"{type(levels).__name__} {shown(levels)}")
    out = sorted({check_sparsity("levels", v) for v in values}, reverse=True)
    if not out:
        raise ValueError("levels must name at least one sparsity")
    return out


def path(graph: Data, signal: np.ndarray | torch.Tensor | None = None, *,
         t_max: float | None = None, sparsity_min: float | None = None,
         levels: Sequence[float] = DEFAULT_LEVELS, record_times: Sequence[float] = (),
         kappa: float = DEFAULT_KAPPA, nu: float = 1.0, alpha: float | None = None,
         mode: str = "joint", tol: float = DEFAULT_TOL, max_iter: int | None = None,
         jumps: bool = True, progress: bool = False,
         record_sparsities: Sequence[float] | None = None) -> ISVSPath:
    """Compute the inverse-scale-space path of one or many signals on a graph.

    Parameters
    ----------
    graph, signal
        As for :func:`isvs_graph.solve`; ``signal`` of shape ``(p,)``, ``(p, C)`` or
        ``(B, p, C)`` (many signals, one path each). Paths are a CPU-side record: a
        CUDA signal is computed on the CPU and read back on its device.
    t_max, sparsity_min : float, optional
        Stop at this time or sparsity (at most one). Default: run each signal to the
        floor (or ``max_iter``).
    levels : sequence of float
        Sparsities whose iterates are recorded, so that :meth:`ISVSPath.at` is exact
        there; default 1, 0.95, …, 0.5. The last iterate is always recorded.
    record_times : sequence of float
        Times whose iterates are recorded as well.
    kappa, nu, alpha, mode, tol, max_iter, jumps, progress
        As for :func:`isvs_graph.solve`.
    record_sparsities
        Deprecated name of ``levels``.

    Returns
    -------
    ISVSPath

    Notes
    -----
    Exact and bounded reads. The partition at every iteration is exact (every entry
    and every leave is recorded). The values are recorded at the recorded iterates
    ``r``: :meth:`ISVSPath.at` returns exactly what ``solve`` does there. At ``k``
    between two of them, ``r₁ < k < r₂``, it averages ``r₂``'s values over ``k``'s
    partition, and :meth:`ISVSPath.bound` says how far that can be from ``solve``:

    * ``drift(c, r₂) = Σ_j max_i |u_{j+1,i} − u_{j,i}|`` over the steps from ``c``, the
      last iterate at or before ``k`` where the support changed (or ``r₁``, whichever
      is later), to ``r₂``, which bounds ``max |u_k − u_{r₂}|``; since no edge leaves
      in between the
      partition at ``k`` is a coarsening of ``r₂``'s and its means of ``u_{r₂}`` are
      computed exactly from ``r₂``'s component values;
    * if an entry left the support between ``k`` and ``r₂``, plus the largest
      deviation of ``u_{r₂}`` from its component means;
    * plus rounding: 1.5 for integer images (values are stored and read rounded),
      a few units of the dtype's resolution for floats.

    While no support edge separates anything (the partition at ``k`` is the graph's
    connected components), the read is exact: the iteration keeps the mean of ``u``
    over every connected component, so the drift term is the rounding of the steps.

    Records more levels (or times) for tighter reads: the bound shrinks with the
    spacing.

    Examples
    --------
    >>> import numpy as np
    >>> import isvs_graph
    >>> graph = isvs_graph.grid_graph(1, 4)
    >>> p = isvs_graph.path(graph, np.array([0.0, 0.0, 1.0, 1.0]), sparsity_min=0.7)
    >>> p.labels(sparsity=1.0).tolist(), p.labels(sparsity=0.7).tolist()
    ([0, 0, 0, 0], [0, 0, 1, 1])
    >>> (p.entry_iter >= 0).tolist()
    [False, True, False]
    >>> bool(np.allclose(p.at(sparsity=0.7), isvs_graph.solve(graph, np.array(
    ...     [0.0, 0.0, 1.0, 1.0]), sparsity=0.7)))
    True
    """
    if record_sparsities is not None:
        _deprecated("path(record_sparsities=...)", "path(levels=...)")
        levels = record_sparsities
    check_at_most_one(t_max=t_max, sparsity_min=sparsity_min)
    t_max = None if t_max is None else check_scale(t_max, None)[0]
    sparsity_min = None if sparsity_min is None else check_scale(None, sparsity_min)[1]
    levels = check_levels(levels)
    times = [check_real("record_times", v, nonnegative=True) for v in record_times]
    device = "cpu"
    if is_tensor(signal):
        device = str(signal.device)
        signal = signal.detach().cpu()
    if signal is None and is_graph(graph) and is_tensor(graph.get("x")):
        device = str(graph.x.device)  # read back where graph.x lives
        signal = graph.x.detach().cpu()  # paths are a CPU-side cache
    problem = prepare(graph, signal, kappa=kappa, nu=nu, alpha=alpha, mode=mode, tol=tol,
                      max_iter=max_iter, jumps=jumps)
    given = signal if signal is not None else graph.x
    kind = "torch" if is_tensor(given) else "numpy"
    working = dtype_name(problem.x.dtype)
    layout = Layout("signal", kind, output_dtype(given.dtype), working,
                    tuple(int(v) for v in given.shape))
    built = record(problem, layout, levels=levels, record_times=times, t_max=t_max,
                   sparsity_min=sparsity_min, progress=progress)
    built._device = device
    return built


def _host_index(index: Any) -> Any:
    """Indices given as a tensor (on any device), or as a list or tuple holding 0-d
    ones, as numpy can read them; others as they are."""
    if is_tensor(index):
        return host_array(index)
    return host_numbers(index) if type(index) in (list, tuple) else index


def _same_option(have: Any, value: Any) -> bool:
    """Whether an option read from a cache is the one expected: floats equal to a
    relative 1e-9 (a level computed as ``np.linspace(1, 0.5, 11)[7]`` is the 0.65 written
    by hand), lists item by item, anything else exactly."""
    if isinstance(have, list) and isinstance(value, (list, tuple)):
        return len(have) == len(value) and all(map(_same_option, have, value))
    real = (int, float, np.integer, np.floating)
    if isinstance(have, float) and isinstance(value, real) and not isinstance(value, bool):
        return math.isclose(have, float(value), rel_tol=1e-9, abs_tol=1e-300)
    return have == value


def load_paths(file: str | os.PathLike, **expected_options: Any) -> ISVSPath:
    """Read paths written by :meth:`ISVSPath.save`. Paths made from tensors read back
    as CPU tensors (a file does not say which device its signals came from: move the
    reads with ``.to(device)``).

    Parameters
    ----------
    file : str or path
    **expected_options
        Options the paths must have been made with (``kappa``, ``nu``, ``mode``,
        ``connectivity``, ``levels`` …); paths made with others are refused.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a path cache (another file is named as such and left alone), a
        cache truncated or corrupted (checksum), of another version, or made with other
        options.
    """
    file = os.fspath(file)
    if not os.path.exists(file):
        raise FileNotFoundError(f"no path cache at {file!r}")
    if os.path.isdir(file):
        raise ValueError(f"{file!r} is a folder, not a path cache; give the path of a cache "
                         "file (.npz) written by ISVSPath.save")
    if not _starts_like_a_cache(file):
        raise ValueError(f"{file!r} is not an isvs_graph path cache (those are .npz files "
                         "written by ISVSPath.save); give the path of one")
    try:
        with np.load(file, allow_pickle=False) as data:
            contents = {name: data[name] for name in data.files}
    except Exception as error:  # zipfile, zlib, format errors: all mean damage
        raise ValueError(f"path cache {file!r} is damaged and cannot be read "
                         f"({type(error).__name__}: {error}); delete it and build it again"
                         ) from error
    if "meta" not in contents or "checksum" not in contents:
        raise ValueError(f"{file!r} is not an isvs_graph path cache: it has no header")
    meta_text = contents.pop("meta").tobytes().decode("utf-8", errors="replace")
    checksum = contents.pop("checksum").tobytes().decode(errors="replace")
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as error:
        raise ValueError(f"path cache {file!r} is damaged: unreadable header") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{file!r} is not an isvs_graph path cache")
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"path cache {file!r} has format version {meta.get('version')!r}; "
                         f"this isvs_graph reads version {FORMAT_VERSION}: build it again")
    missing = set(_ARRAYS) - set(contents)
    if missing:
        raise ValueError(f"path cache {file!r} is damaged: missing {sorted(missing)}")
    if _checksum(meta_text, contents) != checksum:
        raise ValueError(f"path cache {file!r} is damaged: its checksum does not match")
    options = meta["options"]
    for name, value in expected_options.items():
        have = options.get(name, "<missing>")
        if name in ("levels", "record_times"):  # sets of floats: their order is no option
            down = name == "levels"  # (levels from coarse to fine, times from 0 up)
            value = sorted({float(v) for v in value}, reverse=down)
            have = sorted(set(have), reverse=down) if isinstance(have, list) else have
        if not _same_option(have, value):
            raise ValueError(f"path cache {file!r} was made with {name}={shown(have)}, not "
                             f"{shown(value)}: build it again with these options")
    spec = meta["graph"]
    if "grid" in spec:
        graph = grid_canonical(*spec["grid"], connectivity=spec["connectivity"])
    else:
        graph = canonical_arrays(contents.pop("edge_index").astype(np.int64),
                                 spec["num_nodes"], contents.pop("edge_weight"))
    layout = meta["layout"]
    layout = Layout(layout["form"], layout["kind"], layout["dtype"], layout["working"],
                    tuple(layout["shape"]))
    return ISVSPath(graph, layout, options, {name: contents[name] for name in _ARRAYS})
