"""Graphs: builders that return :class:`torch_geometric.data.Data`, and the
canonical form every solver works on.

A graph given to :func:`isvs_graph.solve` may store an undirected edge in either
direction, several times, and with self-loops. :func:`canonical_graph` turns it into
the form of DESIGN §2: each undirected edge once as ``(i, j)`` with ``i < j``, sorted
lexicographically, no self-loops, weights ``> 0``. Because the order is canonical, the
same graph given in any layout yields bit-identical results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce

from ._validation import check_edge_index, check_edge_weight, check_num_nodes

__all__ = ["CanonicalGraph", "canonical_graph", "grid_graph", "grid_shape"]


class CanonicalGraph(NamedTuple):
    """A graph in canonical form (see :func:`canonical_graph`)."""

    edge_index: torch.Tensor
    """``(2, m)`` int64, ``edge_index[0] < edge_index[1]``, sorted, no duplicates."""
    edge_weight: torch.Tensor
    """``(m,)`` float64, every entry ``> 0``."""
    num_nodes: int

    @property
    def num_edges(self) -> int:
        return self.edge_index.shape[1]


def canonical_graph(graph: Data) -> CanonicalGraph:
    """Validate ``graph`` and bring it into canonical form.

    Parameters
    ----------
    graph : torch_geometric.data.Data
        Needs ``edge_index`` and either ``num_nodes`` or ``x`` (from which the
        number of nodes is read). ``edge_weight`` is optional (default 1).

    Returns
    -------
    CanonicalGraph
        Edges ``(i, j)`` with ``i < j``, each undirected edge once, sorted by
        ``(i, j)``, self-loops dropped, on the CPU. An edge stored several times
        (for instance in both directions, as PyG stores undirected graphs) gets the
        mean of its copies' weights, so a symmetric graph keeps its weights.

    Raises
    ------
    ValueError
        Empty graph, indices out of range or negative, non-positive or non-finite
        weights, or a weight vector of the wrong length.
    TypeError
        ``graph`` is not a :class:`~torch_geometric.data.Data`, or a field has the
        wrong type.
    """
    if not isinstance(graph, Data):
        raise TypeError("graph must be a torch_geometric.data.Data, got "
                        f"{type(graph).__name__}")
    if graph.get("edge_index") is None:
        raise ValueError("graph has no edge_index; a graph without edges needs "
                         "edge_index = torch.empty(2, 0, dtype=torch.long)")
    if "num_nodes" in graph:
        num_nodes = graph.num_nodes
    elif graph.get("x") is not None:
        num_nodes = graph.x.shape[0]
    else:
        raise ValueError("graph has neither num_nodes nor x; set graph.num_nodes")
    num_nodes = check_num_nodes(num_nodes)
    edge_index = check_edge_index(graph.edge_index, num_nodes).cpu()
    edge_weight = check_edge_weight(graph.get("edge_weight"), edge_index.shape[1])
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], dtype=torch.float64)
    edge_weight = edge_weight.cpu()

    if not _is_canonical(edge_index, num_nodes):
        edge_index, _ = edge_index.sort(dim=0)  # each column becomes (min, max)
        keep = edge_index[0] != edge_index[1]
        edge_index, edge_weight = coalesce(edge_index[:, keep], edge_weight[keep],
                                           num_nodes=num_nodes, reduce="mean")
    return CanonicalGraph(edge_index.contiguous(), edge_weight.contiguous(), num_nodes)


def _is_canonical(edge_index: torch.Tensor, num_nodes: int) -> bool:
    """Whether the edges are already ``i < j``, sorted and unique (the builders' output):
    then canonicalising copies nothing."""
    src, dst = edge_index
    if not bool((src < dst).all()):
        return False
    keys = src * num_nodes + dst
    return bool((keys[1:] > keys[:-1]).all())


def _grid_edges(height: int, width: int, connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """The canonical edges of a pixel grid, generated in order (no sort).

    Node ``i`` joins, in increasing order, ``i + 1`` (right), ``i + W − 1`` (down-left),
    ``i + W`` (down) and ``i + W + 1`` (down-right) where those pixels exist; for
    ``W = 2`` the right and down-left neighbours coincide but never from the same node.
    """
    p = height * width
    row, col = np.divmod(np.arange(p, dtype=np.int64), width)
    below = row < height - 1
    steps = [(1, col < width - 1)]
    if connectivity == 8:
        steps += [(width - 1, below & (col > 0))]
    steps += [(width, below)]
    if connectivity == 8:
        steps += [(width + 1, below & (col < width - 1))]
    shift = np.array([step for step, _ in steps], dtype=np.int64)
    valid = np.stack([mask for _, mask in steps], axis=1)  # (p, directions), node-major
    src = np.broadcast_to(np.arange(p, dtype=np.int64)[:, None], valid.shape)[valid]
    dst = src + np.broadcast_to(shift, valid.shape)[valid]
    return src, dst


def grid_graph(height: int, width: int, connectivity: int = 4, *,
               device: torch.device | str | None = None) -> Data:
    """The pixel grid of an ``height × width`` image as a graph.

    Node ``r * width + c`` is pixel ``(r, c)``: the row-major order in which
    ``image.reshape(height * width, C)`` lists pixels.

    Parameters
    ----------
    height, width : int
        Image size, ``>= 1`` each.
    connectivity : {4, 8}, optional
        4 joins horizontal and vertical neighbours; 8 adds the diagonals. Every
        edge has weight 1 (no ``edge_weight`` is stored).
    device : torch.device or str, optional
        Where ``edge_index`` is allocated.

    Returns
    -------
    torch_geometric.data.Data
        ``edge_index`` (2, m) in canonical order (``i < j``, sorted), ``num_nodes``
        and ``pos`` (p, 2), the ``(row, column)`` of each pixel.

    Examples
    --------
    >>> from isvs_graph import grid_graph
    >>> g = grid_graph(2, 3)
    >>> g.edge_index.tolist()
    [[0, 0, 1, 1, 2, 3, 4], [1, 3, 2, 4, 5, 4, 5]]
    >>> grid_graph(5, 7, connectivity=8).num_edges
    106
    """
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    src, dst = _grid_edges(height, width, connectivity)
    edge_index = torch.from_numpy(np.stack([src, dst])).to(device)
    rows, cols = torch.meshgrid(torch.arange(height, device=device),
                                torch.arange(width, device=device), indexing="ij")
    pos = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1).float()
    return Data(edge_index=edge_index, num_nodes=height * width, pos=pos)


def grid_shape(graph: CanonicalGraph) -> tuple[int, int, int] | None:
    """``(height, width, connectivity)`` if ``graph`` is exactly the unit-weight pixel
    grid :func:`grid_graph` builds (in any layout), else ``None``.

    Lets the solver take its pixel-grid kernels for any grid, however it was built.
    """
    p, m = graph.num_nodes, graph.num_edges
    if m == 0 or not bool((graph.edge_weight == 1).all()):
        return None
    src, dst = graph.edge_index
    out_of_first = dst[src == 0].tolist()
    widths = {p, 1} | set(out_of_first[1:3])
    for width in sorted(widths):
        if width < 1 or p % width:
            continue
        height = p // width
        for connectivity in (4, 8):
            edges = height * (width - 1) + (height - 1) * width
            if connectivity == 8:
                edges += 2 * (height - 1) * (width - 1)
            if edges != m:
                continue
            expected_src, expected_dst = _grid_edges(height, width, connectivity)
            if np.array_equal(expected_src, src.numpy()) and \
                    np.array_equal(expected_dst, dst.numpy()):
                return height, width, connectivity
    return None
