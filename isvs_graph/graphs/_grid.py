"""Pixel grids as graphs.

Node ``r * width + c`` is pixel ``(r, c)``; the edges are generated already in canonical
order, and :func:`grid_shape` recognises such a grid however it was built, so that the
solver can take its stencil kernels. :func:`grid_canonical` is the same grid in canonical
form, without torch: what the image functions solve on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_count, shown
from ._canonical import CanonicalGraph

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

__all__ = ["grid_canonical", "grid_graph", "grid_shape"]


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


def grid_canonical(height: int, width: int, connectivity: int = 4) -> CanonicalGraph:
    """The pixel grid of :func:`grid_graph` in canonical form (numpy, unit weights)."""
    height, width = check_count("height", height), check_count("width", width)
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {shown(connectivity)}")
    edge_index = np.stack(_grid_edges(height, width, connectivity))
    return CanonicalGraph(edge_index, np.ones(edge_index.shape[1]), height * width)


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
    import torch
    from torch_geometric.data import Data

    grid = grid_canonical(height, width, connectivity)
    edge_index = torch.from_numpy(grid.edge_index).to(device)
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
            if np.array_equal(expected_src, src) and np.array_equal(expected_dst, dst):
                return height, width, connectivity
    return None
