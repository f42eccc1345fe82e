"""The canonical form every solver works on, and the one canonicaliser every builder
ends in.

A graph given to :func:`isvs_graph.solve` may store an undirected edge in either
direction, several times, and with self-loops. :func:`canonical_graph` turns it into
the form of DESIGN §2: each undirected edge once as ``(i, j)`` with ``i < j``, sorted
lexicographically, no self-loops, weights ``> 0``. Because the order is canonical, the
same graph given in any layout yields bit-identical results.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._signals import is_tensor
from .._validation import (check_edge_attr, check_edge_index, check_edge_weight,
                           check_num_nodes, check_weight_attribute)

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["CanonicalGraph", "canonical_graph"]


class CanonicalGraph(NamedTuple):
    """A graph in canonical form (see :func:`canonical_graph`), as numpy arrays: the
    form the solver, the projection and the paths work on, without torch."""

    edge_index: np.ndarray
    """``(2, m)`` int64, ``edge_index[0] < edge_index[1]``, sorted, no duplicates."""
    edge_weight: np.ndarray
    """``(m,)`` float64, every entry ``> 0``."""
    num_nodes: int

    @property
    def num_edges(self) -> int:
        return self.edge_index.shape[1]


def frozen(array: np.ndarray) -> np.ndarray:
    """``array``, or a copy of it that nothing can write: its memory is a ``bytes``
    object, so it cannot be made writeable again (a read-only flag alone can be
    cleared). What such an array holds is known for as long as it lives."""
    if is_frozen(array):
        return array
    return np.frombuffer(np.ascontiguousarray(array).tobytes(),
                         dtype=array.dtype).reshape(array.shape)


def frozen_ones(count: int) -> np.ndarray:
    """``count`` float64 ones, :func:`frozen`: written once, straight into their
    ``bytes`` (no array to copy)."""
    return np.frombuffer(np.ones(1).tobytes() * count, dtype=np.float64)


def is_frozen(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of immutable memory (see :func:`frozen`)."""
    base = array
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    return isinstance(base, bytes)


def is_graph(value: Any) -> bool:
    """Whether ``value`` is a :class:`torch_geometric.data.Data`, without importing PyG."""
    data = sys.modules.get("torch_geometric.data")
    return data is not None and isinstance(value, data.Data)


def canonical_graph(graph: Data) -> CanonicalGraph:
    """Validate ``graph`` and bring it into canonical form.

    Parameters
    ----------
    graph : torch_geometric.data.Data
        Needs ``edge_index`` and ``num_nodes``, ``x`` or ``pos``: the number of nodes
        is read from the first of them present, as PyG does. ``edge_weight`` is
        optional (default 1): the weights are read from it only, as PyG keeps scalar
        weights there and features in ``edge_attr``. A graph with ``edge_attr`` but no
        ``edge_weight`` is refused (its weights might be in ``edge_attr``; the message
        says how to pass them).

    Returns
    -------
    CanonicalGraph
        Edges ``(i, j)`` with ``i < j``, each undirected edge once, sorted by
        ``(i, j)``, self-loops dropped, as numpy arrays. An edge stored several times
        (for instance in both directions, as PyG stores undirected graphs) gets the
        mean of its copies' weights, so a symmetric graph keeps its weights.

    Raises
    ------
    ValueError
        Empty graph, indices out of range or negative, non-positive or non-finite
        weights, a weight vector of the wrong length, or ``edge_attr`` without
        ``edge_weight``.
    TypeError
        ``graph`` is not a :class:`~torch_geometric.data.Data`, or a field has the
        wrong type.
    """
    if not is_graph(graph):
        raise TypeError(not_a_graph(graph))
    if graph.get("edge_index") is None:
        raise ValueError("graph has no edge_index; a graph without edges needs "
                         "edge_index = torch.empty(2, 0, dtype=torch.long)")
    counted = next((key for key in ("x", "pos") if graph.get(key) is not None), None)
    if "num_nodes" in graph:
        num_nodes = graph.num_nodes
    elif counted is not None:  # (where PyG looks, in its order)
        rows = graph[counted]
        if not (isinstance(rows, np.ndarray) or is_tensor(rows)) or rows.ndim == 0:
            got = "a 0-d one" if hasattr(rows, "ndim") else f"a {type(rows).__name__}"
            raise TypeError(f"graph.{counted}, which gives the number of nodes, must be an "
                            f"array or tensor of one row a node, got {got}; set "
                            "graph.num_nodes, or make it one")
        num_nodes = rows.shape[0]
    else:
        raise ValueError("graph has neither num_nodes, x nor pos; set graph.num_nodes")
    has_weight = graph.get("edge_weight") is not None
    check_edge_attr(graph.get("edge_attr"), has_weight)
    if hasattr(graph.edge_index, "shape") and graph.edge_index.ndim == 2:
        check_weight_attribute(graph.get("weight"), graph.edge_index.shape[1], has_weight)
    return canonical_arrays(graph.edge_index, num_nodes, graph.get("edge_weight"))


def canonical_arrays(edge_index: Any, num_nodes: Any, edge_weight: Any = None,
                     ) -> CanonicalGraph:
    """:func:`canonical_graph` of an edge index, a node count and optional weights (numpy
    arrays or tensors), checked as there."""
    num_nodes = check_num_nodes(num_nodes)
    edge_index = check_edge_index(edge_index, num_nodes)
    edge_weight = check_edge_weight(edge_weight, edge_index.shape[1])
    if edge_weight is None:
        edge_weight = np.ones(edge_index.shape[1])
    edge_index, edge_weight = undirected_edges(edge_index, num_nodes, edge_weight)
    return CanonicalGraph(np.ascontiguousarray(edge_index),
                          np.ascontiguousarray(edge_weight), num_nodes)


def not_a_graph(graph: object) -> str:
    """The message for a ``graph`` that is no :class:`~torch_geometric.data.Data`: what
    it was taken for and how to convert it."""
    kind, module = type(graph).__name__, type(graph).__module__ or ""
    said = "graph must be a torch_geometric.data.Data"
    if module.split(".")[0] == "networkx":
        return (f"{said}, got networkx {kind}; convert it with "
                "isvs_graph.graphs.from_networkx(graph)")
    if module.startswith("scipy.sparse"):
        return (f"{said}, got scipy.sparse {kind}; if it is an adjacency matrix, convert "
                "it with isvs_graph.graphs.from_scipy(adjacency)")
    shape = getattr(graph, "shape", None)
    if (isinstance(graph, np.ndarray) or is_tensor(graph)) and len(shape) == 2 and \
            shape[0] == shape[1]:
        given = "adjacency" if isinstance(graph, np.ndarray) else "adjacency.cpu().numpy()"
        return (f"{said}, got {module.split('.')[0]} {kind} of shape {tuple(shape)}; if "
                f"it is an adjacency matrix, convert it with "
                f"isvs_graph.graphs.from_scipy({given})")
    return (f"{said}, got {kind}; build one with a builder of isvs_graph.graphs "
            "(grid_graph, knn_graph, from_networkx, from_scipy, …) or "
            "torch_geometric.data.Data(edge_index=..., num_nodes=...)")


def undirected_edges(edge_index: Any, num_nodes: int, edge_weight: Any = None, *,
                     reduce: str = "mean") -> tuple[np.ndarray, np.ndarray | None]:
    """Each undirected edge once as ``(i, j)`` with ``i < j``, sorted by ``(i, j)``,
    self-loops dropped: the last step of every graph builder, as PyG's end in
    :func:`~torch_geometric.utils.coalesce`.

    The weights of an edge's copies (both directions, repeats) are reduced by
    ``reduce``: ``"mean"`` (the rule for weights given by a user: a symmetric graph
    keeps its weights, a directed one gets the mean of its two directions) or ``"sum"``
    (for weights that add up, such as boundary lengths). Takes numpy arrays or CPU
    tensors; returns int64 edges and float64 weights (``None`` when none were given) as
    numpy arrays.
    """
    edge_index = np.ascontiguousarray(np.asarray(edge_index, dtype=np.int64).reshape(2, -1))
    if edge_weight is not None:
        edge_weight = np.ascontiguousarray(edge_weight, dtype=np.float64)
    if _is_canonical(edge_index, num_nodes):
        return edge_index, edge_weight
    edge_index = np.sort(edge_index, axis=0)  # each column becomes (min, max)
    keep = edge_index[0] != edge_index[1]
    edge_index = edge_index[:, keep]
    keys = edge_index[0] * num_nodes + edge_index[1]
    unique, first, copy_of = np.unique(keys, return_index=True, return_inverse=True)
    edges = edge_index[:, first]
    if edge_weight is None:
        return edges, None
    # (float64 even without edges, where bincount would return int64)
    weight = np.bincount(copy_of, weights=edge_weight[keep],
                         minlength=len(unique)).astype(np.float64)
    if reduce == "mean":
        weight /= np.bincount(copy_of, minlength=len(unique))
    elif reduce != "sum":
        raise ValueError(f"Invalid reduce: {reduce!r}; use 'mean' or 'sum'")
    return edges, weight


def _is_canonical(edge_index: np.ndarray, num_nodes: int) -> bool:
    """Whether the edges are already ``i < j``, sorted and unique (the builders' output):
    then canonicalising copies nothing."""
    src, dst = edge_index
    if not bool((src < dst).all()):
        return False
    keys = src * num_nodes + dst
    return bool((keys[1:] > keys[:-1]).all())
