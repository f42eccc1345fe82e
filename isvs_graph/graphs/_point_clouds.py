"""Point clouds: k-nearest-neighbour and radius graphs (scipy.spatial.cKDTree)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch_geometric.data import Data

from .._validation import check_count, check_real
from ._canonical import undirected_edges

__all__ = ["knn_graph", "radius_graph"]


def _points(points) -> np.ndarray:
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    if not isinstance(points, np.ndarray):
        raise TypeError(f"points must be a numpy.ndarray or torch.Tensor, got "
                        f"{type(points).__name__}")
    if points.ndim != 2 or 0 in points.shape:
        raise ValueError(f"points must have shape (n, d) with n >= 1 and d >= 1, got "
                         f"{points.shape}")
    points = points.astype(np.float64)
    if not np.isfinite(points).all():
        raise ValueError("points contain NaN or infinite coordinates")
    return points


def _graph(points: np.ndarray, pairs: np.ndarray, weights: str | None,
           sigma: float | None) -> Data:
    """Data over the undirected edges ``pairs`` (k, 2), with optional Gaussian weights."""
    edge_index, _ = undirected_edges(pairs.T, len(points))
    pairs = edge_index.T
    data = Data(pos=torch.from_numpy(points), edge_index=torch.from_numpy(edge_index),
                num_nodes=len(points))
    if weights not in (None, "gaussian"):
        raise ValueError(f"Invalid weights: {weights!r}; use None or 'gaussian'")
    if weights == "gaussian" and len(pairs):
        distance = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
        if sigma is None:
            sigma = float(distance.mean()) or 1.0
        else:
            sigma = check_real("sigma", sigma, positive=True)
        weight = np.exp(-(distance / sigma) ** 2 / 2)
        # Far pairs underflow to 0, which no solver can use: keep them tiny but positive.
        data.edge_weight = torch.from_numpy(np.maximum(weight, np.finfo(np.float64).tiny))
    return data


def knn_graph(points: np.ndarray | torch.Tensor, k: int = 8, *, weights: str | None = None,
              sigma: float | None = None) -> Data:
    """The symmetric k-nearest-neighbour graph of a point cloud.

    Parameters
    ----------
    points : array of shape (n, d)
    k : int, default 8
        Neighbours per point, ``1 <= k < n``. ``i`` and ``j`` are joined when either
        is among the other's ``k`` nearest (the union, so the graph is undirected).
    weights : {None, "gaussian"}, optional
        ``"gaussian"``: ``exp(−d² / 2σ²)`` of the distance ``d``.
    sigma : float, optional
        Width of the Gaussian; default the mean edge length.

    Returns
    -------
    torch_geometric.data.Data
        ``pos``, canonical ``edge_index``, ``edge_weight`` when weighted.

    See Also
    --------
    torch_geometric.nn.pool.knn_graph, torch_geometric.nn.pool.radius_graph :
        PyG's builders (they need ``torch-cluster``, return directed edges and take
        batches); these take any point array, return each undirected edge once in
        canonical order and can weight edges, which is what :func:`isvs_graph.solve`
        uses.

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import knn_graph
    >>> knn_graph(np.array([[0.0], [1.0], [3.0], [7.0]]), k=1).edge_index.tolist()
    [[0, 1, 2], [1, 2, 3]]
    """
    points = _points(points)
    n = len(points)
    k = check_count("k", k)
    if k >= n:
        raise ValueError(f"k must be < the number of points ({n}), got {k}")
    _, neighbours = cKDTree(points).query(points, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    # Column 0 is the point itself (unless duplicates tie: the self-pair is dropped then).
    pairs = np.stack([rows, neighbours[:, 1:].reshape(-1)], axis=1)
    return _graph(points, pairs, weights, sigma)


def radius_graph(points: np.ndarray | torch.Tensor, r: float, *, weights: str | None = None,
                 sigma: float | None = None) -> Data:
    """Join every pair of points at most ``r`` apart (``r > 0``); see
    :func:`knn_graph`."""
    points = _points(points)
    r = check_real("r", r, positive=True)
    pairs = cKDTree(points).query_pairs(r, output_type="ndarray").astype(np.int64)
    return _graph(points, pairs, weights, sigma)
