"""The weighted edge-difference operator ``D`` of a graph.

``(D u)_e = w_e (u_i - u_j)`` for every canonical edge ``e = (i, j)``, ``i < j``.
:class:`DifferenceOperator` applies ``D`` and ``Dᵀ`` by gather/scatter over the edge
list, so one code path serves CPU and CUDA tensors and any number of trailing signal
dimensions (channels, a batch of signals on the same graph); it is the torch backend's
operator on graphs that are no grid (grids step by shifted slices,
:class:`~isvs_graph._solver.stencil.StencilOperator`) and imports torch when built.
:func:`difference_operator` exports the same matrix to SciPy, and :func:`norm_bound`
bounds its norm, both in numpy.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse

from .graphs import CanonicalGraph, canonical_graph
from .graphs._grid import edge_directions, frozen_grid_shape

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

__all__ = ["DifferenceOperator", "difference_operator", "norm_bound"]


def norm_bound(graph: CanonicalGraph) -> float:
    """Cheap upper bound ``Λ`` on ``‖D‖²``: the maximum over edges of ``d_i + d_j``.

    ``d_i = Σ_{e∋i} w_e²`` is the weighted degree of node ``i``. ``DᵀD`` is a
    weighted graph Laplacian, whose largest eigenvalue is at most this maximum
    (Anderson & Morley, 1985). On a 4-neighbour grid with unit weights ``Λ = 8``.
    A graph without edges has ``Λ = 0``.
    """
    if graph.num_edges == 0:
        return 0.0
    grid = frozen_grid_shape(graph)
    if grid is not None:
        return _grid_norm_bound(*grid)
    src, dst = graph.edge_index
    with np.errstate(over="ignore"):  # weights beyond 1e154: Λ = inf, refused as heavy
        squared = graph.edge_weight ** 2
        degree = np.bincount(src, squared, minlength=graph.num_nodes) + \
            np.bincount(dst, squared, minlength=graph.num_nodes)
        return float((degree[src] + degree[dst]).max())


@functools.lru_cache(maxsize=16)
def _grid_norm_bound(shape: tuple[int, ...], connectivity: int) -> float:
    """:func:`norm_bound` of a unit-weight grid, from its directions (no edge list)."""
    directions = edge_directions(shape, connectivity)
    degree = np.zeros(math.prod(shape), dtype=np.int64)
    for shift, valid in directions:  # each edge adds 1 at both of its ends
        degree += valid
        degree[shift:] += valid[:degree.shape[0] - shift]
    return float(max((degree[:-shift] + degree[shift:])[valid[:-shift]].max()
                     for shift, valid in directions))


class DifferenceOperator:
    """``D`` and ``Dᵀ`` of a canonical graph, on a given device and dtype.

    Parameters
    ----------
    graph : CanonicalGraph or torch_geometric.data.Data
        From :func:`~isvs_graph.graphs.canonical_graph`, or a PyG graph (made canonical
        here).
    dtype : torch.dtype
        Floating dtype of the signals the operator is applied to.
    device : torch.device or str, optional
        Where the edge list lives; signals must live there too.
    """

    def __init__(self, graph: CanonicalGraph | Data, *, dtype: torch.dtype,
                 device: torch.device | str | None = None) -> None:
        import torch
        graph = graph if isinstance(graph, CanonicalGraph) else canonical_graph(graph)
        self.graph = graph
        self.num_nodes = graph.num_nodes
        self.num_edges = graph.num_edges
        # (torch wraps only writeable memory: a frozen grid's arrays are copied)
        src, dst = (np.array(row, copy=not row.flags.writeable) for row in graph.edge_index)
        weight = np.array(graph.edge_weight, copy=not graph.edge_weight.flags.writeable)
        self.src = torch.from_numpy(src).to(device)
        self.dst = torch.from_numpy(dst).to(device)
        self.weight = torch.from_numpy(weight).to(device=device, dtype=dtype)
        self.norm_bound = norm_bound(graph)
        self._num_slots = graph.num_edges  # the torch solver's state: one slot an edge

    # The layout the torch backend keeps its state in (private to it): nodes or edges
    # first, ``(n, B, C)``.
    def _nodes(self, values: torch.Tensor) -> torch.Tensor:
        """A contiguous copy of ``(p, B, C)`` values."""
        import torch
        return values.clone(memory_format=torch.contiguous_format)

    def _slots(self, batch: int, channels: int, *, dtype: torch.dtype) -> torch.Tensor:
        """Zeros ``(m, B, C)``."""
        import torch
        return torch.zeros((self.num_edges, batch, channels), dtype=dtype,
                           device=self.src.device)

    def _take(self, values: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """The signals ``columns`` of ``(n, B, ...)`` values."""
        return values.index_select(1, columns)

    def _to_edges(self, values: torch.Tensor) -> torch.Tensor:
        """Per-edge values in canonical edge order: as they are."""
        return values

    def _weight_for(self, value: torch.Tensor) -> torch.Tensor:
        return self.weight.view(-1, *([1] * (value.ndim - 1)))

    def apply(self, u: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``D u`` for ``u`` of shape ``(p, ...)``; returns shape ``(m, ...)``."""
        import torch
        out = torch.sub(u[self.src], u[self.dst], out=out)
        return out.mul_(self._weight_for(out))

    def adjoint(self, r: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``Dᵀ r`` for ``r`` of shape ``(m, ...)``; returns shape ``(p, ...)``."""
        if out is None:
            out = r.new_zeros((self.num_nodes, *r.shape[1:]))
        else:
            out.zero_()
        weighted = r * self._weight_for(r)
        out.index_add_(0, self.src, weighted)
        return out.index_add_(0, self.dst, weighted, alpha=-1)


def difference_operator(graph: Data | CanonicalGraph) -> scipy.sparse.csr_array:
    """The weighted edge-difference matrix ``D`` of a graph, as SciPy sparse.

    Parameters
    ----------
    graph : torch_geometric.data.Data
        Any graph :func:`isvs_graph.solve` accepts.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(m, p)``, float64. Row ``e`` belongs to the ``e``-th canonical edge
        ``(i, j)``, ``i < j`` (sorted lexicographically, each undirected edge once)
        and holds ``w_e`` in column ``i`` and ``-w_e`` in column ``j``.

    Examples
    --------
    >>> import isvs_graph
    >>> D = isvs_graph.difference_operator(isvs_graph.grid_graph(1, 3))
    >>> D.toarray()
    array([[ 1., -1.,  0.],
           [ 0.,  1., -1.]])
    """
    if not isinstance(graph, CanonicalGraph):
        graph = canonical_graph(graph)
    m = graph.num_edges
    rows = np.repeat(np.arange(m), 2)
    cols = graph.edge_index.T.reshape(-1)
    w = graph.edge_weight
    values = np.stack([w, -w], axis=1).reshape(-1)
    return scipy.sparse.csr_array((values, (rows, cols)), shape=(m, graph.num_nodes))
