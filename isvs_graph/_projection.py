"""The variational sparsification: project a signal onto the partition that a
support leaves.

Removing the support edges ``S`` from the graph leaves connected components
``V_1 … V_c``; the orthogonal projection of ``u`` onto ``{u : (D u)_e = 0, e ∉ S}``
replaces ``u`` by its mean over each component. For CPU signals (numpy arrays: the
numpy core) one fused numba pass per signal does both (a union-find over the kept
edges, then the means), signals in parallel; a pixel or voxel grid's edges follow from
its shape, so its edge list is never read (:func:`label_grid`). For signals on another
device the components come from :func:`scipy.sparse.csgraph.connected_components`
(only the boolean support crosses to the CPU, never the signal) and the means are
formed where the signal lives. Both cost ``O(p + m)`` per signal, and sums are accumulated in
float64.

Several *groups* (signals of a batch, or channels in channel mode) are labelled in
one call on a block-diagonal graph: group ``g`` owns nodes ``g p … (g + 1) p - 1``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from ._threads import parallel_allowed
from .graphs import CanonicalGraph
from .graphs._grid import _strides as grid_strides, frozen_grid_shape, grid_offsets

try:
    import numba
    from ._union_find import number, union
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

if TYPE_CHECKING:
    import torch

__all__ = ["component_labels", "component_means", "project"]


#: The most planes of a group (channels of one image) the serial pass averages in one
#: sweep (:func:`_average`); more at once, their sums would leave the cache (a 64-plane
#: group ran 2–3 times slower in one sweep).
FUSED_PLANES = 4

if numba is not None:
    _njit = numba.njit(cache=True, nogil=True)

    @_njit
    def label_components(src, dst, keep, labels):
        """Components of ``(V, {e : keep[e]})`` into ``labels``, numbered ``0 … c − 1`` in
        the order of each component's smallest node; returns ``c``."""
        parent = np.arange(labels.shape[0])
        for e in range(src.shape[0]):
            if keep[e]:
                union(parent, src[e], dst[e])
        return number(parent, labels)

    @_njit
    def label_grid(dims, offsets, keep, labels):
        """:func:`label_components` on a pixel or voxel grid, whose edges follow from its
        shape: ``dims`` (depth, height, width; depth 1 for an image) and the ``offsets``
        (``(D, 3)``) from a node to its neighbours ahead, in canonical order (by
        increasing shift), so that ``keep`` is read in canonical edge order."""
        depth, height, width = dims[0], dims[1], dims[2]
        directions = offsets.shape[0]
        shift = np.empty(directions, dtype=np.int64)
        for d in range(directions):
            shift[d] = (offsets[d, 0] * height + offsets[d, 1]) * width + offsets[d, 2]
        inside = np.empty(directions, dtype=np.bool_)  # (along this row; then its ends)
        end = np.empty(directions, dtype=np.bool_)
        parent = np.arange(labels.shape[0])
        e = 0
        for i in range(depth):
            for j in range(height):
                t = (i * height + j) * width
                for d in range(directions):
                    inside[d] = i + offsets[d, 0] < depth and 0 <= j + offsets[d, 1] < height
                for k in range(width):
                    if 0 < k < width - 1:  # no neighbour ahead leaves the row's width
                        for d in range(directions):
                            if inside[d]:
                                if keep[e]:
                                    union(parent, t + k, t + k + shift[d])
                                e += 1
                        continue
                    for d in range(directions):
                        end[d] = inside[d] and 0 <= k + offsets[d, 2] < width
                    for d in range(directions):
                        if end[d]:
                            if keep[e]:
                                union(parent, t + k, t + k + shift[d])
                            e += 1
        return number(parent, labels)

    @_njit
    def _label(src, dst, dims, offsets, keep, labels):
        """:func:`label_grid` where ``dims`` is given (a grid), else
        :func:`label_components` on the edge list ``src``, ``dst``."""
        if dims.shape[0]:
            return label_grid(dims, offsets, keep, labels)
        return label_components(src, dst, keep, labels)

    @numba.njit(cache=True, nogil=True, parallel=True)
    def _project_groups(src, dst, dims, offsets, keep, values, out):
        """For each group ``g``: the means of ``values[g]`` (``K`` planes of ``p`` nodes
        sharing one partition) over the components of the edges ``keep[g]`` keeps (an
        edge list ``src``, ``dst``, or a grid's ``dims`` and ``offsets``: see
        :func:`_label`). Groups are labelled in parallel, then every (group, plane) is
        averaged in parallel, so one partition shared by many planes uses every thread
        too."""
        groups, planes, p = values.shape
        labels = np.empty((groups, p), dtype=np.int64)
        counts = np.empty(groups, dtype=np.int64)
        for g in numba.prange(groups):
            counts[g] = _label(src, dst, dims, offsets, keep[g], labels[g])
        for job in numba.prange(groups * planes):
            g, k = job // planes, job % planes
            _average(labels[g], counts[g], values[g, k:k + 1], out[g, k:k + 1])

    @numba.njit(cache=True, nogil=True)
    def _project_groups_serial(src, dst, dims, offsets, keep, values, out):
        """:func:`_project_groups` on the calling thread, a group's planes averaged
        :data:`FUSED_PLANES` at a time (the same bits)."""
        groups, planes, p = values.shape
        labels = np.empty(p, dtype=np.int64)
        for g in range(groups):
            count = _label(src, dst, dims, offsets, keep[g], labels)
            for k in range(0, planes, FUSED_PLANES):
                _average(labels, count, values[g, k:k + FUSED_PLANES],
                         out[g, k:k + FUSED_PLANES])

    @_njit
    def _plane_means(planes, out):
        """Each row of ``out``: the mean of that row of ``planes``, summed in order in
        float64 as :func:`_average` sums a component. Up to four rows are summed in one
        sweep (four chains of dependent additions side by side, not one after another:
        the same bits)."""
        count = planes.shape[1]
        for k in range(0, planes.shape[0], 4):
            a, b, c, d = 0.0, 0.0, 0.0, 0.0
            rows = min(4, planes.shape[0] - k)
            for i in range(count):
                a += planes[k, i]
                if rows > 1:
                    b += planes[k + 1, i]
                if rows > 2:
                    c += planes[k + 2, i]
                if rows > 3:
                    d += planes[k + 3, i]
            totals = (a, b, c, d)
            for j in range(rows):
                out[k + j, :] = totals[j] / count

    @numba.njit(cache=True, nogil=True, inline="always")
    def _store_run(size, sums, at, n, a, b, c, d):
        """The size and sums (of up to four planes) of component ``at`` after a run."""
        size[at], sums[at, 0] = n, a
        if sums.shape[1] > 1:
            sums[at, 1] = b
        if sums.shape[1] > 2:
            sums[at, 2] = c
        if sums.shape[1] > 3:
            sums[at, 3] = d

    @numba.njit(cache=True, nogil=True)
    def _average(labels, count, values, out):
        """``out[k, i]``: the mean of plane ``values[k]`` over the component
        ``labels[i]``. Each plane's sums are formed in node order (the same bits whatever
        planes are averaged together), up to four planes in one sweep over the nodes.
        Along a run of nodes of one component a component's sums and size stay in
        registers, loaded at its start and stored at its end (the same additions in
        the same order): adding each node into memory made every addition wait for the
        one before (a component's nodes mostly follow each other), 3–4 times slower."""
        planes = values.shape[0]
        size = np.zeros(count)
        sums = np.zeros((count, planes))
        if planes > 4:  # (the serial pass fuses at most FUSED_PLANES, the parallel one 1)
            for i in range(labels.shape[0]):
                size[labels[i]] += 1.0
                for k in range(planes):
                    sums[labels[i], k] += values[k, i]
        elif labels.shape[0]:
            at = labels[0]
            n, a, b, c, d = 0.0, 0.0, 0.0, 0.0, 0.0
            for i in range(labels.shape[0]):
                if labels[i] != at:  # a run ends: store its component's, load the next's
                    _store_run(size, sums, at, n, a, b, c, d)
                    at = labels[i]
                    n, a = size[at], sums[at, 0]
                    if planes > 1:
                        b = sums[at, 1]
                    if planes > 2:
                        c = sums[at, 2]
                    if planes > 3:
                        d = sums[at, 3]
                n += 1.0
                a += values[0, i]
                if planes > 1:
                    b += values[1, i]
                if planes > 2:
                    c += values[2, i]
                if planes > 3:
                    d += values[3, i]
            _store_run(size, sums, at, n, a, b, c, d)
        for j in range(count):  # one division a component, not one a node
            for k in range(planes):
                sums[j, k] /= size[j]
        for i in range(labels.shape[0]):
            for k in range(planes):
                out[k, i] = sums[labels[i], k]


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


#: What the kernels take for a graph that is not a grid (no ``dims``) and for a grid (no
#: edge list): read-only, as :func:`_grid_walk`'s arrays, so that one compiled kernel
#: serves both.
_NO_GRID = (_read_only(np.zeros(0, dtype=np.int64)),
            _read_only(np.zeros((0, 3), dtype=np.int64)))
_NO_EDGES = _read_only(np.zeros((2, 0), dtype=np.int64))


@functools.lru_cache(maxsize=16)
def _grid_walk(shape: tuple[int, ...], connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dims, offsets)`` of :func:`label_grid` for a grid: its sizes as a volume's
    (depth 1 for an image) and the offsets to its neighbours ahead in canonical order
    (by increasing shift; two that share a shift never both leave one node)."""
    lead = (1,) * (3 - len(shape))
    strides = grid_strides(shape)
    offsets = sorted(grid_offsets(len(shape), connectivity),
                     key=lambda offset: int(np.dot(offset, strides)))
    return (_read_only(np.array(lead + tuple(shape), dtype=np.int64)),
            _read_only(np.array([(0,) * len(lead) + o for o in offsets], dtype=np.int64)))


def component_labels(graph: CanonicalGraph, keep: np.ndarray | torch.Tensor | None = None,
                     ) -> tuple[np.ndarray, int]:
    """Label the connected components of ``(V, kept edges)``, per group.

    Parameters
    ----------
    graph : CanonicalGraph
    keep : bool array of shape ``(m,)`` or ``(m, G)``, optional
        Which edges stay (``True``) in each group ``g``; ``None`` keeps all edges
        in one group.

    Returns
    -------
    labels : ndarray of shape ``(G, p)``, int64
        Component id of every node. Ids are global and contiguous per group: those
        of group ``g`` are ``offsets[g] … offsets[g + 1] - 1``, numbered in the
        order of each component's smallest node.
    n_components : int
        Total number of components over all groups.
    """
    p, m = graph.num_nodes, graph.num_edges
    if keep is None:
        keep = np.ones((m, 1), dtype=bool)
    if not isinstance(keep, np.ndarray):  # a tensor: only the boolean support crosses
        keep = keep.cpu().numpy()
    if keep.ndim == 1:
        keep = keep[:, None]
    groups = keep.shape[1]
    grid = frozen_grid_shape(graph)
    if grid is not None and numba is not None:  # labelled from its shape (no edge list)
        dims, offsets = _grid_walk(*grid)
        rows = np.ascontiguousarray(keep.T)
        labels = np.empty((groups, p), dtype=np.int64)
        total = 0
        for g in range(groups):
            count = label_grid(dims, offsets, rows[g], labels[g])
            labels[g] += total
            total += count
        return labels, total
    # Group-major order makes the rows of the block-diagonal adjacency sorted (canonical
    # edges are sorted by source), so its CSR arrays are built directly, with no COO
    # conversion. csgraph works in int32 indices.
    index = np.int32 if groups * p < 2**31 - 1 else np.int64
    offsets = (np.arange(groups, dtype=index) * p)[:, None]
    kept = np.flatnonzero(keep.T)
    rows = (graph.edge_index[0].astype(index) + offsets).ravel()[kept]
    cols = (graph.edge_index[1].astype(index) + offsets).ravel()[kept]
    indptr = np.zeros(groups * p + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=groups * p), out=indptr[1:])
    adjacency = scipy.sparse.csr_array((np.ones(len(kept), dtype=np.int8), cols, indptr),
                                       shape=(groups * p, groups * p))
    n_components, labels = connected_components(adjacency, directed=False)
    return labels.astype(np.int64).reshape(groups, p), int(n_components)


def component_means(u: torch.Tensor, labels: np.ndarray, n_components: int) -> torch.Tensor:
    """Replace ``u`` by its mean over each component.

    Parameters
    ----------
    u : Tensor of shape ``(p, G, K)``
        ``G`` groups of ``K`` channels that share one partition per group.
    labels : ndarray of shape ``(G, p)``
        From :func:`component_labels`.
    n_components : int

    Returns
    -------
    Tensor of the shape, dtype and device of ``u``. Sums are accumulated in float64
    so that the mean of a component is correct to the last digit of ``u``'s dtype.
    """
    import torch
    p, groups, channels = u.shape
    index = torch.from_numpy(labels.reshape(-1)).to(u.device)
    flat = u.permute(1, 0, 2).reshape(groups * p, channels).double()
    sums = flat.new_zeros((n_components, channels)).index_add_(0, index, flat)
    counts = torch.bincount(index, minlength=n_components).to(sums.dtype)
    means = (sums / counts[:, None])[index]
    return means.to(u.dtype).view(groups, p, channels).permute(1, 0, 2)


def project(graph: CanonicalGraph, u: np.ndarray | torch.Tensor,
            support: np.ndarray | torch.Tensor | None) -> np.ndarray | torch.Tensor:
    """Average ``u`` over the components that ``support`` leaves.

    Parameters
    ----------
    graph : CanonicalGraph
    u : array of shape ``(p, B, C)``
        A numpy array (the CPU path) or a tensor on any device.
    support : bool array of shape ``(m, B)`` (joint: one partition per signal,
        shared by its channels) or ``(m, B, C)`` (channel: one per channel), or
        ``None`` for the empty support (components of the whole graph).

    Returns
    -------
    An array like ``u`` (numpy for numpy, a tensor on ``u``'s device for a tensor).
    """
    p, batch, channels = u.shape
    if isinstance(u, np.ndarray):
        if numba is None:  # pragma: no cover - numba is a dependency
            raise ImportError("the projection of numpy signals needs numba")
        return _project_cpu(graph, u, support)
    if support is None:
        labels, n = component_labels(graph)
        flat = u.reshape(p, 1, batch * channels)
        return component_means(flat, labels, n).reshape(p, batch, channels)
    if support.ndim == 2:
        labels, n = component_labels(graph, ~support)
        return component_means(u, labels, n)
    labels, n = component_labels(graph, ~support.reshape(graph.num_edges, batch * channels))
    flat = u.reshape(p, batch * channels, 1)
    return component_means(flat, labels, n).reshape(p, batch, channels)


def _project_cpu(graph: CanonicalGraph, u: np.ndarray, support: np.ndarray | None,
                 ) -> np.ndarray:
    """:func:`project` by the fused numba pass, on channel planes ``(B, C, p)``."""
    p, batch, channels = u.shape
    m = graph.num_edges
    planes = np.ascontiguousarray(u.transpose(1, 2, 0))  # a view when u came from the solver
    grid = frozen_grid_shape(graph)
    if support is None and grid is not None:
        # A grid is connected: each plane's mean, formed as the kernel forms a
        # component's (so the same bits), with no labels to find.
        out = np.empty_like(planes)
        _plane_means(planes.reshape(-1, p), out.reshape(-1, p))
        return out.transpose(2, 0, 1)
    if support is None:  # one partition, shared by every plane
        keep = np.ones((1, m), dtype=np.bool_)
        values = planes.reshape(1, batch * channels, p)
    elif support.ndim == 2:  # joint: one partition per signal
        keep = np.ascontiguousarray(~support.T)
        values = planes
    else:  # channel: one partition per signal and channel
        keep = np.ascontiguousarray((~support).transpose(1, 2, 0).reshape(batch * channels, m))
        values = planes.reshape(batch * channels, 1, p)
    # A grid's edges follow from its shape (its edge list is not read); another graph's
    # are its list.
    # Read-only views, as the placeholders are: one compiled kernel per dtype serves both.
    src, dst = _NO_EDGES if grid is not None else (
        _read_only(edges.view()) for edges in graph.edge_index)
    dims, offsets = _grid_walk(*grid) if grid is not None else _NO_GRID
    # A few planes (one image) are averaged on this thread: the same arithmetic, and a
    # first call then compiles no parallel loops.
    few = values.shape[0] * values.shape[1] <= 4
    if parallel_allowed() and not few:
        out = np.empty_like(values)
        _project_groups(src, dst, dims, offsets, keep, values, out)
    else:  # (sums in float64 whatever the dtype, each mean rounded once to it)
        out = np.empty_like(values)
        _project_groups_serial(src, dst, dims, offsets, keep, values, out)
    return out.reshape(batch, channels, p).transpose(2, 0, 1)
