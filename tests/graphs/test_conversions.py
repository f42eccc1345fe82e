import networkx as nx
import numpy as np
import pytest
import scipy.sparse
import torch

import isvs_graph
from reference import canonical_edges, split_lbi


def test_karate_club_from_networkx_solves_like_the_reference():
    graph = nx.karate_club_graph()  # ships with networkx; weighted edges
    signal = np.array([1.0 if graph.nodes[n]["club"] == "Mr. Hi" else 0.0
                       for n in graph.nodes])
    data = isvs_graph.from_networkx(graph, signal=signal)
    assert data.num_nodes == 34 and data.num_edges == 78
    weights = nx.get_edge_attributes(graph, "weight")
    for (i, j), w in zip(data.edge_index.T.tolist(), data.edge_weight.tolist()):
        assert weights.get((i, j), weights.get((j, i))) == w
    edges = canonical_edges(data.edge_index.numpy(), 34, data.edge_weight.numpy())
    expected, _, _ = split_lbi(edges, 34, signal[:, None], t=1.0)
    np.testing.assert_allclose(isvs_graph.solve(data, t=1.0).numpy(), expected[:, 0],
                               rtol=1e-10)


def test_networkx_node_names_attributes_and_directed_graphs():
    graph = nx.DiGraph()
    graph.add_node("b", value=2.0)
    graph.add_node("a", value=1.0)
    graph.add_edge("a", "b", weight=3.0)
    data = isvs_graph.from_networkx(graph, signal="value")
    assert data.node_names == ["b", "a"]
    assert data.x.tolist() == [2.0, 1.0]
    assert data.edge_index.tolist() == [[0], [1]] and data.edge_weight.tolist() == [3.0]
    unweighted = isvs_graph.from_networkx(graph, weight=None)
    assert unweighted.edge_weight.tolist() == [1.0]


def test_parallel_edges_of_a_multigraph_get_their_mean_weight():
    # As canonical_graph merges copies of an edge (networkx's adjacency sums them).
    from torch_geometric.data import Data
    graph = nx.MultiGraph()
    graph.add_edge(0, 1, weight=2.0)
    graph.add_edge(0, 1, weight=4.0)
    graph.add_edge(1, 2, weight=0.5)
    graph.add_edge(1, 2)  # weight 1 where missing
    data = isvs_graph.from_networkx(graph)
    assert data.edge_index.tolist() == [[0, 1], [1, 2]]
    assert data.edge_weight.tolist() == [3.0, 0.75]
    copies = Data(edge_index=torch.tensor([[0, 0, 1, 1], [1, 1, 2, 2]]),
                  edge_weight=torch.tensor([2.0, 4.0, 0.5, 1.0]), num_nodes=3)
    assert isvs_graph.canonical_graph(copies).edge_weight.tolist() == [3.0, 0.75]
    x = np.array([0.0, 1.0, 3.0])
    np.testing.assert_array_equal(isvs_graph.solve(data, x, 10.0),
                                  isvs_graph.solve(copies, x, 10.0))
    unweighted = isvs_graph.from_networkx(graph, weight=None)
    assert unweighted.edge_weight.tolist() == [1.0, 1.0]


def test_a_directed_multigraph_edge_gets_the_mean_of_all_its_copies():
    graph = nx.MultiDiGraph()
    graph.add_edge(0, 1, weight=1.0)
    graph.add_edge(0, 1, weight=3.0)
    graph.add_edge(1, 0, weight=5.0)
    graph.add_edge(1, 2, weight=2.0)
    data = isvs_graph.from_networkx(graph)
    assert data.edge_index.tolist() == [[0, 1], [1, 2]]
    assert data.edge_weight.tolist() == [3.0, 2.0]  # (1 + 3 + 5) / 3, not (2 + 5) / 2
    from torch_geometric.data import Data
    copies = Data(edge_index=torch.tensor([[0, 0, 1, 1], [1, 1, 0, 2]]),
                  edge_weight=torch.tensor([1.0, 3.0, 5.0, 2.0]), num_nodes=3)
    assert isvs_graph.canonical_graph(copies).edge_weight.tolist() == [3.0, 2.0]
    directed = nx.DiGraph([(0, 1, {"weight": 2.0}), (1, 0, {"weight": 4.0})])
    assert isvs_graph.from_networkx(directed).edge_weight.tolist() == [3.0]


def test_networkx_bad_input():
    graph = nx.path_graph(3)
    graph.edges[0, 1]["weight"] = -1
    with pytest.raises(ValueError, match="weights must be finite and > 0"):
        isvs_graph.from_networkx(graph)
    with pytest.raises(ValueError, match="has no attribute 'value'"):
        isvs_graph.from_networkx(nx.path_graph(3), signal="value")
    with pytest.raises(ValueError, match="signal has 2 rows"):
        isvs_graph.from_networkx(nx.path_graph(3), signal=np.zeros(2))
    with pytest.raises(ValueError, match="no nodes"):
        isvs_graph.from_networkx(nx.Graph())
    with pytest.raises(TypeError, match="networkx graph"):
        isvs_graph.from_networkx({0: [1]})


def test_networkx_weights_and_node_values_that_are_not_plain_numbers():
    graph = nx.path_graph(3)
    graph.edges[1, 2]["weight"] = torch.tensor(2.0)
    with pytest.raises(TypeError, match=r"edge \(1, 2\) has weight = tensor\(2\.\), a "
                                        r"Tensor; weights must be plain real numbers"):
        isvs_graph.from_networkx(graph)
    graph.edges[1, 2]["weight"] = np.complex128(2.0)
    with pytest.raises(TypeError, match="a complex128; weights must be plain real numbers"):
        isvs_graph.from_networkx(graph)
    graph.edges[1, 2]["weight"] = 2**1100  # beyond float64: not finite
    with pytest.raises(ValueError, match=r"edge \(1, 2\) has weight = \d+; weights must "
                                         r"be finite and > 0"):
        isvs_graph.from_networkx(graph)
    graph.edges[1, 2]["weight"] = np.float32(2.0)  # numpy scalars are numbers
    assert isvs_graph.from_networkx(graph).edge_weight.tolist() == [1.0, 2.0]
    graph.edges[1, 2]["weight"] = 2**70  # a large int, as a float
    assert isvs_graph.from_networkx(graph).edge_weight.tolist() == [1.0, 2.0**70]
    graph.add_edge(1, 1, weight=None)  # a self-loop is dropped, whatever it holds
    assert isvs_graph.from_networkx(graph).edge_index.tolist() == [[0, 1], [1, 2]]
    ragged = {0: [1.0, 2.0], 1: [1.0], 2: [3.0, 4.0]}
    nx.set_node_attributes(graph, ragged, "x")
    with pytest.raises(ValueError, match="node 0 has a vector of 2 numbers as x but node 1 "
                                         "has a vector of 1 number; every node needs as many"):
        isvs_graph.from_networkx(graph, signal="x")
    nx.set_node_attributes(graph, {0: 1.0, 1: [1.0, 2.0], 2: 3.0}, "x")
    with pytest.raises(ValueError, match="node 0 has one number as x but node 1 has a "
                                         "vector of 2 numbers"):
        isvs_graph.from_networkx(graph, signal="x")
    nx.set_node_attributes(graph, {0: 1.0, 1: "a", 2: 3.0}, "x")
    with pytest.raises(ValueError, match="node 1 has x = 'a'; each node's value must be a "
                                         "number or a vector of numbers"):
        isvs_graph.from_networkx(graph, signal="x")
    for odd in ("2.5", b"7", None, [None, 1.0], 1j):  # strings, bytes, None, complex
        nx.set_node_attributes(graph, {0: 1.0, 1: odd, 2: 3.0}, "x")
        with pytest.raises(ValueError, match=r"node 1 has x = .*; each node's value must "
                                             r"be a number or a vector of numbers"):
            isvs_graph.from_networkx(graph, signal="x")
    nx.set_node_attributes(graph, {0: np.eye(2), 1: np.eye(2), 2: np.eye(2)}, "x")
    with pytest.raises(ValueError, match="node 0 has x = array"):
        isvs_graph.from_networkx(graph, signal="x")
    from decimal import Decimal
    from fractions import Fraction
    nx.set_node_attributes(graph, {0: Fraction(1, 2), 1: Decimal(2), 2: [3][0]}, "x")
    assert isvs_graph.from_networkx(graph, signal="x").x.tolist() == [0.5, 2.0, 3.0]
    # Vectors as lists, arrays and tensors mix, as do numbers.
    nx.set_node_attributes(graph, {0: torch.tensor([1.0, 2.0]), 1: np.array([1, 2]),
                                   2: [3, 4]}, "x")
    assert isvs_graph.from_networkx(graph, signal="x").x.tolist() == [[1, 2], [1, 2], [3, 4]]
    nx.set_node_attributes(graph, {0: torch.tensor(1.0), 1: np.float32(2.0), 2: 3}, "x")
    assert isvs_graph.from_networkx(graph, signal="x").x.tolist() == [1.0, 2.0, 3.0]


def test_from_scipy_is_the_same_graph_as_the_grid():
    grid = isvs_graph.grid_graph(4, 5)
    adjacency = scipy.sparse.coo_array(
        (np.ones(grid.num_edges), tuple(grid.edge_index.numpy())), shape=(20, 20))
    data = isvs_graph.from_scipy(adjacency + adjacency.T)
    assert data.edge_index.tolist() == grid.edge_index.tolist()
    x = np.random.default_rng(0).random((20, 3))
    np.testing.assert_array_equal(isvs_graph.solve(data, x, sparsity=0.7),
                                  isvs_graph.solve(grid, x, sparsity=0.7))


def test_from_scipy_dense_and_bad_input():
    data = isvs_graph.from_scipy(np.array([[5.0, 1.0], [3.0, 0.0]]))
    assert data.edge_index.tolist() == [[0], [1]] and data.edge_weight.tolist() == [2.0]
    with pytest.raises(ValueError, match="square"):
        isvs_graph.from_scipy(scipy.sparse.csr_array(np.ones((2, 3))))
    with pytest.raises(ValueError, match=">= 0"):
        isvs_graph.from_scipy(np.array([[0.0, -1.0], [-1.0, 0.0]]))
    with pytest.raises(TypeError, match="SciPy sparse"):
        isvs_graph.from_scipy([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"adjacency has no nodes \(shape \(0, 0\)\)"):
        isvs_graph.from_scipy(np.zeros((0, 0)))  # (a graph every solver then refused)


def test_any_pyg_data_works_directly():
    from torch_geometric.data import Data
    from torch_geometric.utils import erdos_renyi_graph
    torch.manual_seed(0)
    data = Data(edge_index=erdos_renyi_graph(30, 0.2), x=torch.rand(30, 2))
    out = isvs_graph.solve(data, sparsity=0.8)
    assert out.shape == (30, 2) and torch.isfinite(out).all()
    edges = canonical_edges(data.edge_index.numpy(), 30)
    expected, _, _ = split_lbi(edges, 30, data.x.double().numpy(), sparsity=0.8)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
