"""Graphs from elsewhere: networkx graphs and SciPy sparse adjacency matrices."""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse
import torch
from torch_geometric.data import Data

from ._canonical import undirected_edges

__all__ = ["from_networkx", "from_scipy"]


def from_scipy(adjacency: scipy.sparse.sparray | scipy.sparse.spmatrix | np.ndarray) -> Data:
    """A graph from a (p, p) adjacency matrix: an edge wherever ``A[i, j] != 0``.

    Entries are the edge weights and must be positive; ``A[i, j]`` and ``A[j, i]``
    are one undirected edge (with the mean weight if they differ); the diagonal is
    ignored. Accepts any SciPy sparse array or matrix, or a dense numpy array.

    Examples
    --------
    >>> import scipy.sparse
    >>> from isvs_graph import from_scipy
    >>> g = from_scipy(scipy.sparse.csr_array([[0, 2.0, 0], [2.0, 0, 1.0], [0, 1.0, 0]]))
    >>> g.edge_index.tolist(), g.edge_weight.tolist()
    ([[0, 1], [1, 2]], [2.0, 1.0])
    """
    if isinstance(adjacency, np.ndarray):
        adjacency = scipy.sparse.coo_array(adjacency)
    if not scipy.sparse.issparse(adjacency):
        raise TypeError("adjacency must be a SciPy sparse array or matrix or a numpy array, "
                        f"got {type(adjacency).__name__}")
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be square (p, p), got shape {adjacency.shape}")
    coo = scipy.sparse.coo_array(adjacency)
    coo.sum_duplicates()
    keep = (coo.row != coo.col) & (coo.data != 0)
    rows, cols = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    values = coo.data[keep].astype(np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("adjacency entries must be finite and >= 0 (they are edge weights)")
    p = adjacency.shape[0]
    edge_index, weight = undirected_edges(np.stack([rows, cols]), p, values)
    return Data(edge_index=torch.from_numpy(edge_index), edge_weight=torch.from_numpy(weight),
                num_nodes=p)


def _node_values(graph: nx.Graph, nodes: list, name: str) -> np.ndarray:
    """The attribute ``name`` of every node as an array ``(p,)`` or ``(p, C)``: one
    number or one vector of the same length a node."""
    values = [graph.nodes[node][name] for node in nodes]
    for node, value in zip(nodes, values):
        try:
            vector = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            vector = None
        if vector is None or vector.ndim > 1:
            raise ValueError(f"node {node!r} has {name} = {value!r}; each node's value must "
                             "be a number or a vector of numbers")
        if vector.shape != np.shape(values[0]):
            raise ValueError(
                f"node {nodes[0]!r} has {_described(values[0])} as {name} but node "
                f"{node!r} has {_described(value)}; every node needs as many")
    return np.asarray(values, dtype=np.float64)


def _described(value) -> str:
    """``one number`` or ``a vector of n number(s)``."""
    shape = np.shape(value)
    if not shape:
        return "one number"
    return f"a vector of {shape[0]} number" + ("" if shape[0] == 1 else "s")


def from_networkx(graph: nx.Graph, weight: str | None = "weight",
                  signal: str | np.ndarray | torch.Tensor | None = None) -> Data:
    """A graph from networkx, nodes numbered in ``graph.nodes`` order.

    Parameters
    ----------
    graph : networkx.Graph
        A directed graph is read as undirected: an edge present in both directions
        gets the mean of the two weights, as :func:`from_scipy` and
        :func:`~isvs_graph.graphs.canonical_graph` merge copies; so do the parallel
        edges of a multigraph.
    weight : str or None, default "weight"
        Edge attribute holding the weight (1 where missing); ``None`` for unit weights.
    signal : str or array, optional
        A node attribute name (each node's value, a number or a vector) or an array
        of shape (p,) or (p, C) in ``graph.nodes`` order; stored as ``x``.

    Returns
    -------
    torch_geometric.data.Data
        ``edge_index``, ``edge_weight``, ``num_nodes``, ``x`` when a signal is given,
        and ``node_names``: the networkx node of each row.

    Examples
    --------
    >>> import networkx as nx
    >>> from isvs_graph import from_networkx
    >>> g = from_networkx(nx.path_graph(["a", "b", "c"]))
    >>> g.edge_index.tolist(), g.node_names
    ([[0, 1], [1, 2]], ['a', 'b', 'c'])
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph must be a networkx graph, got {type(graph).__name__}")
    nodes = list(graph.nodes)
    if not nodes:
        raise ValueError("graph has no nodes")
    if weight is not None:
        for u, v, value in graph.edges(data=weight, default=1.0):
            if u == v:
                continue
            if not isinstance(value, (int, float, np.number)):
                raise TypeError(f"edge ({u!r}, {v!r}) has {weight} = {value!r}, a "
                                f"{type(value).__name__}; weights must be plain numbers "
                                "(a 0-d array's or tensor's .item())")
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"edge ({u!r}, {v!r}) has {weight} = {value!r}; weights "
                                 "must be finite and > 0")
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=weight,
                                         format="csr")
    if graph.is_multigraph() and adjacency.nnz:
        # networkx sums parallel edges' weights: their mean, as copies merge elsewhere.
        copies = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None, format="csr")
        adjacency.sort_indices()
        copies.sort_indices()
        adjacency = adjacency.astype(np.float64)
        adjacency.data /= copies.data
    adjacency = adjacency.tocoo()
    data = from_scipy(adjacency) if adjacency.nnz else Data(
        edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=len(nodes))
    if isinstance(signal, str):
        missing = [node for node in nodes if signal not in graph.nodes[node]]
        if missing:
            raise ValueError(f"node {missing[0]!r} has no attribute {signal!r}")
        signal = _node_values(graph, nodes, signal)
    if signal is not None:
        if isinstance(signal, np.ndarray):
            signal = torch.from_numpy(signal)
        if not isinstance(signal, torch.Tensor):
            raise TypeError(f"signal must be an attribute name or an array, got "
                            f"{type(signal).__name__}")
        if signal.shape[0] != len(nodes):
            raise ValueError(f"signal has {signal.shape[0]} rows but the graph has "
                             f"{len(nodes)} nodes")
        data.x = signal
    data.node_names = nodes
    return data
