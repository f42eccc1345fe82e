"""Graphs from elsewhere: networkx graphs and SciPy sparse adjacency matrices."""

from __future__ import annotations

import math
import numbers

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
    if not adjacency.shape[0]:
        raise ValueError("adjacency has no nodes (shape (0, 0)): a graph needs one at least")
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


def _weight(u, v, name: str | None, value) -> float:
    """The weight ``value`` of edge ``(u, v)`` as a float, checked: a real number,
    finite and > 0."""
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"edge ({u!r}, {v!r}) has {name} = {value!r}, a "
                        f"{type(value).__name__}; weights must be plain real numbers (a "
                        "0-d array's or tensor's .item())")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"edge ({u!r}, {v!r}) has {name} = {value!r}; weights must be "
                         "finite and > 0")
    return number


def _node_values(graph: nx.Graph, nodes: list, name: str) -> np.ndarray:
    """The attribute ``name`` of every node as an array ``(p,)`` or ``(p, C)``: one
    number or one vector of the same length a node."""
    values = [graph.nodes[node][name] for node in nodes]
    for node, value in zip(nodes, values):
        try:
            vector = np.asarray(value)
        except (TypeError, ValueError):  # ragged
            vector = None
        if vector is not None and vector.dtype.kind == "O" and all(
                map(_real, vector.ravel())):
            vector = vector.astype(np.float64)  # numbers numpy holds as objects: Fraction
        if vector is None or vector.ndim > 1 or vector.dtype.kind not in "biuf":
            raise ValueError(f"node {node!r} has {name} = {value!r}; each node's value must "
                             "be a number or a vector of numbers")
        if vector.shape != np.shape(values[0]):
            raise ValueError(
                f"node {nodes[0]!r} has {_described(values[0])} as {name} but node "
                f"{node!r} has {_described(value)}; every node needs as many")
    return np.asarray(values, dtype=np.float64)


def _real(value) -> bool:
    """Whether ``value`` is a real number of any kind (Decimal is a number, not complex)."""
    return isinstance(value, numbers.Real) or (
        isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex))


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
        A directed graph is read as undirected, and a multigraph's parallel edges as
        one: an edge gets the mean weight of its copies (each direction, each parallel
        edge), as :func:`~isvs_graph.graphs.canonical_graph` merges copies. Self-loops
        are dropped.
    weight : str or None, default "weight"
        Edge attribute holding the weight (1 where missing), a real number, finite and
        > 0; ``None`` for unit weights.
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
    index = {node: i for i, node in enumerate(nodes)}
    src, dst, weights = [], [], []
    edges = graph.edges(data=weight, default=1.0) if weight is not None else \
        ((u, v, 1.0) for u, v in graph.edges())
    for u, v, value in edges:  # every copy: both directions, parallel edges
        if u != v:  # (a self-loop is dropped, whatever it holds)
            src.append(index[u])
            dst.append(index[v])
            weights.append(_weight(u, v, weight, value))
    if src:  # one edge each, the mean of its copies' weights, as canonical_graph merges
        edge_index, edge_weight = undirected_edges(np.array([src, dst], dtype=np.int64),
                                                   len(nodes), np.array(weights))
        data = Data(edge_index=torch.from_numpy(edge_index),
                    edge_weight=torch.from_numpy(edge_weight), num_nodes=len(nodes))
    else:
        data = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=len(nodes))
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
