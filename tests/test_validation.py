"""Every bad input named in the core issue raises a clear exception."""

import numpy as np
import pytest
import scipy.sparse
import torch
from torch_geometric.data import Data

import isvs_graph

GRAPH = isvs_graph.grid_graph(3, 3)
X = np.linspace(0.0, 1.0, 9)


def graph_with(**fields):
    base = {"edge_index": GRAPH.edge_index, "num_nodes": 9}
    base.update(fields)
    return Data(**{k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize("bad,match", [
    (np.array([np.nan] + [0.0] * 8), "signal contains NaN or infinite"),
    (np.array([np.inf] + [0.0] * 8), "signal contains NaN or infinite"),
    (torch.tensor([float("-inf")] + [0.0] * 8), "signal contains NaN or infinite"),
    # (Found by the signal's minimum and maximum, through which a NaN propagates.)
    (torch.tensor([0.0] * 4 + [float("nan")] + [1.0] * 4, dtype=torch.float16),
     "signal contains NaN or infinite"),
    (torch.tensor([0.0] * 8 + [float("nan")], dtype=torch.bfloat16),
     "signal contains NaN or infinite"),
    (np.array([1.0] * 4 + [-np.inf, np.nan] + [0.0] * 3, dtype=np.float32),
     "signal contains NaN or infinite"),
    (torch.tensor([0.0] * 8 + [float("nan")]).to(torch.float8_e5m2),
     "signal contains NaN or infinite"),
    (np.zeros(8), "signal has 8 rows .* num_nodes = 9"),
    (np.zeros((9, 2, 2, 2)), "shape \\(p,\\), \\(p, C\\) or \\(B, p, C\\)"),
    (np.zeros((2, 8, 3)), "signal has 8 rows"),
    (np.zeros((9, 0)), "no channels"),
])
def test_bad_signal_values_and_shapes(bad, match):
    with pytest.raises(ValueError, match=match):
        isvs_graph.solve(GRAPH, bad, 1.0)


@pytest.mark.parametrize("dtype", [torch.float8_e5m2, torch.float8_e4m3fn])
def test_a_float8_signal_is_checked_and_solved_by_value(dtype):
    # torch has no minimum or maximum for float8: its values are checked as float32,
    # and solved (as other floats) in float64.
    signal = torch.tensor(X, dtype=torch.float32).to(dtype)
    out = isvs_graph.solve(GRAPH, signal, 1.0)
    assert out.dtype == torch.float64
    assert torch.equal(out, isvs_graph.solve(GRAPH, signal.double(), 1.0))


@pytest.mark.parametrize("bad", [[0.0] * 9, "signal", np.zeros(9, dtype=complex),
                                 torch.zeros(9, dtype=torch.bool)])
def test_bad_signal_types(bad):
    with pytest.raises(TypeError, match="signal must"):
        isvs_graph.solve(GRAPH, bad, 1.0)


def test_missing_signal():
    with pytest.raises(ValueError, match="graph.x is not set"):
        isvs_graph.solve(GRAPH, None, 1.0)


@pytest.mark.parametrize("graph,match", [
    (graph_with(edge_index=torch.tensor([[0, 9], [1, 2]])), "refers to node 9"),
    (graph_with(edge_index=torch.tensor([[0, -1], [1, 2]])), "negative node index"),
    (graph_with(edge_index=torch.tensor([[0, 1, 2]])), "shape \\(2, m\\)"),
    (graph_with(edge_weight=torch.zeros(12)), "edge_weight must be > 0"),
    (graph_with(edge_weight=-torch.ones(12)), "edge_weight must be > 0"),
    (graph_with(edge_weight=torch.full((12,), float("nan"))), "edge_weight contains NaN"),
    (graph_with(edge_weight=torch.ones(11)), "edge_weight must have shape \\(12,\\)"),
    (graph_with(num_nodes=0, edge_index=torch.empty(2, 0, dtype=torch.long)),
     "num_nodes must be >= 1"),
    (Data(edge_index=GRAPH.edge_index), "neither num_nodes, x nor pos"),
    (Data(num_nodes=9), "no edge_index"),
])
def test_bad_graphs(graph, match):
    with pytest.raises(ValueError, match=match):
        isvs_graph.solve(graph, X, 1.0)


@pytest.mark.parametrize("graph,match", [
    ("not a graph", "graph must be a torch_geometric.data.Data"),
    (graph_with(edge_index=torch.tensor([[0.0], [1.0]])), "edge_index must hold integers"),
])
def test_bad_graph_types(graph, match):
    with pytest.raises(TypeError, match=match):
        isvs_graph.solve(graph, X, 1.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"t": -1.0}, "t must be >= 0"),
    ({"t": float("nan")}, "t must be finite"),
    ({"t": float("inf")}, "t must be finite"),
    ({"sparsity": 1.5}, "sparsity must lie in \\[0, 1\\]"),
    ({"sparsity": -0.1}, "sparsity must lie in \\[0, 1\\]"),
    ({"sparsity": float("nan")}, "sparsity must be finite"),
    ({}, "exactly one of t .* and sparsity"),
    ({"t": 1.0, "sparsity": 0.5}, "exactly one of t .* and sparsity"),
    ({"t": 1.0, "kappa": 0.0}, "kappa must be > 0"),
    ({"t": 1.0, "kappa": -2.0}, "kappa must be > 0"),
    # So large that no edge could enter within 2**62 steps (float32 overflows from 3e38,
    # α underflows to 0 near float64's limit): refused, never a NaN or a division by 0.
    ({"t": 1.0, "kappa": 1e19}, "kappa = 1e\\+19 is far too large.*ν/α = 4.74e\\+19 steps"),
    ({"t": 1.0, "kappa": 1e50}, "kappa = 1e\\+50 is far too large"),
    ({"sparsity": 0.5, "kappa": 1.7e308}, "kappa = 1.7e\\+308 is far too large.*ν/α = inf"),
    ({"t": 1.0, "nu": 0.0}, "nu must be > 0"),
    ({"t": 1.0, "mode": "joined"}, "Invalid mode: 'joined'"),
    ({"t": 1.0, "alpha": 0.5}, "alpha = 0.5 is unstable .* must be < "),
    ({"t": 1.0, "alpha": 2 / 4.5}, "unstable"),  # at the bound 2ν/(κ(ν+1+Λ)), Λ = 7
    ({"t": 1.0, "alpha": -0.1}, "alpha must be > 0"),
    ({"t": 1.0, "max_iter": -1}, "max_iter must be >= 0"),
    ({"t": 1.0, "tol": 0.0}, "tol must be > 0"),
])
def test_bad_scales_and_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        isvs_graph.solve(GRAPH, X, **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"t": "1.0"}, "t must be a real number"),
    ({"sparsity": "0.5"}, "sparsity must be a real number"),
    ({"t": 1.0, "kappa": None}, "kappa must be a real number"),
    ({"t": 1.0, "max_iter": 2.5}, "max_iter must be an int"),
])
def test_wrong_types_of_options(kwargs, match):
    with pytest.raises(TypeError, match=match):
        isvs_graph.solve(GRAPH, X, **kwargs)


def test_a_max_iter_beyond_any_run_means_no_bound():
    # Larger than int64 holds: the same as 2**62, which no run reaches.
    out = isvs_graph.solve(GRAPH, X, 1.0, max_iter=10**30)
    np.testing.assert_array_equal(out, isvs_graph.solve(GRAPH, X, 1.0))


def test_just_below_the_bound_is_accepted():
    out = isvs_graph.solve(GRAPH, X, 1.0, alpha=2 / 4.5 * (1 - 1e-9))
    assert np.isfinite(out).all()


def test_odd_but_valid_graphs_are_accepted():
    graph = Data(edge_index=torch.tensor([[0, 0, 3, 1], [0, 1, 1, 0]]), num_nodes=5)
    out = isvs_graph.solve(graph, np.arange(5.0), 0.0)
    # Components {0, 1, 3}, {2}, {4}; the self-loop is dropped.
    np.testing.assert_allclose(out, [4 / 3, 4 / 3, 2.0, 4 / 3, 4.0])


def test_pygs_from_networkx_weights_are_refused_not_dropped():
    # torch_geometric.utils.from_networkx keeps a networkx "weight" as graph.weight, which
    # is no edge_weight: solved, the weights were dropped in silence.
    import networkx as nx
    from torch_geometric.utils import from_networkx as pyg_from_networkx
    graph = nx.path_graph(4)
    for (a, b), w in zip(graph.edges, (1.0, 5.0, 0.5)):
        graph.edges[a, b]["weight"] = w
    data = pyg_from_networkx(graph)
    x = np.array([0.0, 1.0, 0.2, 0.9])
    with pytest.raises(ValueError, match="graph has weight .* but no edge_weight.*Set "
                                         "graph.edge_weight = graph.weight"):
        isvs_graph.solve(data, x, sparsity=0.5)
    data.edge_weight = data.weight
    np.testing.assert_array_equal(isvs_graph.solve(data, x, sparsity=0.5),
                                  isvs_graph.solve(isvs_graph.from_networkx(graph), x,
                                                   sparsity=0.5))


def test_either_byte_order_gives_the_same_result_in_the_dtype():
    rng = np.random.default_rng(0)
    image = (rng.random((6, 7)) * 60000).astype(np.uint16)
    for swapped in (image.astype(">u2"), image.astype(">f4")):
        native = swapped.astype(swapped.dtype.newbyteorder("="))
        out = isvs_graph.smooth_image(swapped, sparsity=0.6)
        assert out.dtype.name == swapped.dtype.name  # rounded uint16 / float32
        np.testing.assert_array_equal(out, isvs_graph.smooth_image(native, sparsity=0.6))


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_sparse_signals_are_refused_with_the_call_that_makes_them_dense():
    signal = torch.from_numpy(np.stack([X, X[::-1]], axis=1))
    for sparse in (signal.to_sparse(), signal.to_sparse_csr()):
        with pytest.raises(TypeError, match=rf"signal is a sparse torch tensor "
                                            rf"\({sparse.layout}\).*signal.to_dense\(\)"):
            isvs_graph.solve(GRAPH, sparse, 1.0)
        with pytest.raises(TypeError, match="signal is a sparse torch tensor"):
            isvs_graph.path(GRAPH, sparse)
    image = torch.rand(3, 5, 6)
    with pytest.raises(TypeError, match="image is a sparse torch tensor"):
        isvs_graph.smooth_image(image.to_sparse(), t=1.0)
    with pytest.raises(TypeError, match="images is a sparse torch tensor"):
        isvs_graph.smooth_images(image[None].to_sparse(), t=1.0)
    edges = GRAPH.edge_index
    weight = torch.ones(edges.shape[1], dtype=torch.float64).to_sparse()
    for field, graph in (("edge_index", Data(edge_index=edges.to_sparse(), num_nodes=9)),
                         ("edge_weight", Data(edge_index=edges, edge_weight=weight,
                                              num_nodes=9))):
        with pytest.raises(TypeError, match=rf"graph.{field} is a sparse torch tensor .*"
                                            rf"graph.{field}.to_dense\(\)"):
            isvs_graph.solve(graph, X, 1.0)
    with pytest.raises(TypeError, match=r"t is a sparse torch tensor .*t.to_dense\(\)"):
        isvs_graph.smooth_images(image[None].expand(3, -1, -1, -1),
                                 t=torch.tensor([1.0, 2.0, 3.0]).to_sparse())
    matrix = scipy.sparse.csr_array(X[:, None])
    with pytest.raises(TypeError, match=r"signal must be a numpy.ndarray or torch.Tensor, "
                                        r"got csr_array; pass signal.toarray\(\)"):
        isvs_graph.solve(GRAPH, matrix, 1.0)
    with pytest.raises(TypeError, match=r"got list$"):
        isvs_graph.smooth_image([[0.0, 1.0]], t=1.0)


@pytest.mark.filterwarnings("ignore:the matrix subclass is not:PendingDeprecationWarning")
def test_numpy_matrices_and_fields_that_are_not_arrays_are_refused():
    with pytest.raises(TypeError, match=r"image is a numpy.matrix.*np.asarray\(image\)"):
        isvs_graph.smooth_image(np.matrix(np.zeros((4, 4))), t=1.0)  # (numpy aborted)
    with pytest.raises(TypeError, match="signal is a numpy.matrix"):
        isvs_graph.solve(GRAPH, np.matrix(X[:, None]), 1.0)
    edges = GRAPH.edge_index
    for field, value, got in (("pos", [[0.0, 0.0]] * 9, "a list"), ("x", X.tolist(), "a list"),
                              ("pos", torch.tensor(1.0), "a 0-d one")):
        with pytest.raises(TypeError, match=rf"graph.{field}, which gives the number of "
                                            rf"nodes, must be an array .*got {got}"):
            isvs_graph.solve(Data(edge_index=edges, **{field: value}), X, 1.0)
    np.testing.assert_array_equal(  # an array there counts the nodes
        isvs_graph.solve(Data(edge_index=edges, pos=np.zeros((9, 2))), X, 1.0),
        isvs_graph.solve(GRAPH, X, 1.0))


def test_scales_per_signal_name_the_item_that_is_not_a_number():
    images = np.random.default_rng(0).random((3, 1, 4, 4))
    for scale, item in ((dict(t=[1.0, None, 3.0]), r"t\[1\] is None"),
                        (dict(t=[1.0, [2.0], 3.0]), r"t\[1\] is \[2.0\]"),
                        (dict(sparsity=[True, 0.5, 0.5]), r"sparsity\[0\] is True")):
        with pytest.raises(TypeError, match=rf"{item}: give \w+ as one number, or one "
                                            "number per signal"):
            isvs_graph.smooth_images(images, **scale)
    for zero_d in (np.array(True), np.array(1 + 2j), torch.tensor(True)):
        with pytest.raises(TypeError, match="t must be a real number"):
            isvs_graph.smooth_images(images, t=zero_d)
    np.testing.assert_array_equal(isvs_graph.smooth_images(images, t=(1, 2.0, np.float32(3))),
                                  isvs_graph.smooth_images(images, t=np.array([1.0, 2, 3])))
    # 0-d tensors as the items (any device: read as numbers), bfloat16 tensors as a whole
    np.testing.assert_array_equal(
        isvs_graph.smooth_images(images, t=[torch.tensor(1.0), 2.0, torch.tensor(3)]),
        isvs_graph.smooth_images(images, t=np.array([1.0, 2, 3])))
    with pytest.raises(TypeError, match=r"t\[1\] is True"):
        isvs_graph.smooth_images(images, t=[1.0, torch.tensor(True), 3.0])
    np.testing.assert_array_equal(
        isvs_graph.smooth_images(images, t=torch.tensor([1.0, 2, 3], dtype=torch.bfloat16)),
        isvs_graph.smooth_images(images, t=np.array([1.0, 2, 3])))


def test_masked_arrays_and_empty_batches_are_refused():
    masked = np.ma.masked_array(X.copy(), mask=np.zeros(X.shape, bool))
    masked[0] = np.ma.masked
    masked.data[0] = np.nan  # hidden under the mask: once blamed on the step size
    with pytest.raises(TypeError, match="signal is a numpy masked array.*signal.filled"):
        isvs_graph.solve(GRAPH, masked, 1.0)
    with pytest.raises(TypeError, match="image is a numpy masked array"):
        isvs_graph.smooth_image(np.ma.masked_array(np.zeros((4, 4))), t=1.0)
    with pytest.raises(TypeError, match="images is a numpy masked array"):
        isvs_graph.smooth_images(np.ma.masked_array(np.zeros((1, 1, 4, 4))), t=1.0)
    empty = np.zeros((0, GRAPH.num_nodes, 1))
    for call in (lambda: isvs_graph.solve(GRAPH, empty, 1.0),
                 lambda: isvs_graph.path(GRAPH, empty)):
        with pytest.raises(ValueError, match=r"signal is a batch of no signals \(shape "
                                             rf"\(0, {GRAPH.num_nodes}, 1\)\)"):
            call()


def test_a_scale_beyond_float64_is_refused_as_not_finite():
    for kwargs in ({"t": 10**400}, {"t": 1.0, "nu": 10**400}):
        with pytest.raises(ValueError, match="must be finite, got 1000"):
            isvs_graph.solve(GRAPH, X, **kwargs)


def test_what_pyg_and_users_hand_over_is_taken_or_named():
    # A 0-d integer tensor for num_nodes (PyG leaves one) is a count like any int.
    graph = Data(edge_index=torch.tensor([[0], [1]]), num_nodes=torch.tensor(2))
    np.testing.assert_array_equal(isvs_graph.solve(graph, np.array([0.0, 1.0]), t=0.0),
                                  [0.5, 0.5])
    with pytest.raises(TypeError, match="graph.num_nodes must be an int"):
        isvs_graph.solve(Data(edge_index=torch.tensor([[0], [1]]),
                              num_nodes=torch.tensor(2.0)), np.array([0.0, 1.0]), t=0.0)
    # An empty image is named by the shape the user gave.
    with pytest.raises(ValueError, match=r"image must not be empty, got shape \(0, 6\)"):
        isvs_graph.smooth_image(np.zeros((0, 6)), t=1.0)
    # The operator takes a PyG graph as it takes a canonical one.
    from isvs_graph import DifferenceOperator
    u = torch.linspace(0.0, 1.0, 9, dtype=torch.float64)[:, None]
    made = DifferenceOperator(GRAPH, dtype=torch.float64)
    given = DifferenceOperator(isvs_graph.canonical_graph(GRAPH), dtype=torch.float64)
    assert torch.equal(made.apply(u), given.apply(u))


def test_cpu_tensors_are_read_through_a_numpy_view_where_numpy_has_the_dtype():
    from isvs_graph._signals import numpy_view
    tensor = torch.arange(6.0, requires_grad=True)
    view = numpy_view(tensor)
    assert isinstance(view, np.ndarray) and np.shares_memory(view, tensor.detach().numpy())
    assert numpy_view(tensor.bfloat16()) is None  # numpy has no bfloat16: torch reads it
