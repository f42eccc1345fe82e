import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import isvs_graph
from helpers import DEVICES, random_graph
from reference import canonical_edges, component_means, default_alpha, split_lbi


def grid_case(height=6, width=7, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    graph = isvs_graph.grid_graph(height, width)
    edges = canonical_edges(graph.edge_index.numpy(), graph.num_nodes)
    # Piecewise-constant blocks plus noise: a real path with many entries.
    blocks = (np.arange(height)[:, None] // 3 + np.arange(width)[None, :] // 4) % 3
    x = blocks[..., None] * np.array([1.0, 0.5, -0.7])[:channels]
    x = x.reshape(-1, channels) + 0.2 * rng.standard_normal((height * width, channels))
    return graph, edges, x


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("t", [0.0, 0.5, 3.0, 12.0])
def test_grid_at_time_matches_reference(mode, t):
    graph, edges, x = grid_case()
    expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, t=t)
    got = isvs_graph.solve(graph, x, t, mode=mode)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("sparsity", [1.0, 0.9, 0.7, 0.5])
def test_grid_at_sparsity_matches_reference(mode, sparsity):
    graph, edges, x = grid_case()
    expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, sparsity=sparsity)
    got = isvs_graph.solve(graph, x, sparsity=sparsity, mode=mode)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("kappa,nu", [(1.0, 1.0), (4.0, 0.5), (0.5, 3.0)])
def test_random_weighted_graph_matches_reference(seed, mode, kappa, nu):
    # The plain iteration (no jumps) is the mathematics to the last digits.
    graph, edges = random_graph(seed)
    x = np.random.default_rng(seed).standard_normal((graph.num_nodes, 2))
    for t in (1.0, 6.0):
        expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, t=t,
                                   kappa=kappa, nu=nu)
        got = isvs_graph.solve(graph, x, t, mode=mode, kappa=kappa, nu=nu, jumps=False)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
        jumped = isvs_graph.solve(graph, x, t, mode=mode, kappa=kappa, nu=nu)
        np.testing.assert_allclose(jumped, expected, rtol=0, atol=1e-6 * np.ptp(x))
    expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, sparsity=0.6,
                               kappa=kappa, nu=nu)
    got = isvs_graph.solve(graph, x, sparsity=0.6, mode=mode, kappa=kappa, nu=nu,
                           jumps=False)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_unprojected_iterate_matches_reference(mode):
    graph, edges, x = grid_case()
    expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, t=4.0, project=False)
    got = isvs_graph.solve(graph, x, 4.0, mode=mode, project=False)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_given_alpha_is_used():
    graph, edges, x = grid_case()
    alpha = 0.1
    expected, _, _ = split_lbi(edges, graph.num_nodes, x, alpha=alpha, iterations=37)
    got = isvs_graph.solve(graph, x, 37 * alpha, alpha=alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_time_rounds_to_first_iterate_at_or_after_t():
    graph, edges, x = grid_case()
    alpha = default_alpha(edges, graph.num_nodes)
    assert alpha == 1.9 / (0.5 * (1 + 1 + 8))  # κ = 0.5, ν = 1, Λ = 8 on a 4-grid
    on_step = isvs_graph.solve(graph, x, 10 * alpha)
    just_after = isvs_graph.solve(graph, x, 10 * alpha * (1 + 1e-6))
    expected_10, _, _ = split_lbi(edges, graph.num_nodes, x, iterations=10)
    expected_11, _, _ = split_lbi(edges, graph.num_nodes, x, iterations=11)
    np.testing.assert_allclose(on_step, expected_10, rtol=1e-12)
    np.testing.assert_allclose(just_after, expected_11, rtol=1e-12)


def test_t_zero_gives_component_means():
    graph, edges = random_graph(5)
    x = np.random.default_rng(5).standard_normal((graph.num_nodes, 3))
    got = isvs_graph.solve(graph, x, 0.0)
    np.testing.assert_allclose(got, component_means(edges, graph.num_nodes, x), rtol=1e-13)
    assert isvs_graph.solve(graph, x, sparsity=1.0).tolist() == got.tolist()


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_large_t_converges_promptly_to_the_signal(mode):
    graph, _, x = grid_case()
    x = np.round(x * 8) / 8  # flat edges too, as in quantized images
    # max_iter far below t / α: the run must end by convergence, without a warning.
    got = isvs_graph.solve(graph, x, 1e7, mode=mode, max_iter=20_000)
    np.testing.assert_allclose(got, x, atol=1e-5)


def test_unreachable_sparsity_warns_and_returns_the_finest_scale():
    graph = isvs_graph.grid_graph(1, 4)
    x = np.array([0.0, 0.0, 1.0, 1.0])
    with pytest.warns(isvs_graph.ConvergenceWarning, match="sparsity 0.2"):
        got = isvs_graph.solve(graph, x, sparsity=0.2)
    np.testing.assert_allclose(got, x, atol=1e-5)


def test_max_iter_cut_warns():
    graph, _, x = grid_case()
    with pytest.warns(isvs_graph.ConvergenceWarning, match="max_iter = 5"):
        isvs_graph.solve(graph, x, sparsity=0.1, max_iter=5)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_a_convergence_warning_names_the_signals_it_is_about(backend):
    graph = isvs_graph.grid_graph(1, 4)
    rng = np.random.default_rng(4)
    batch = rng.random((5, 4, 1))
    batch[[1, 4], :, 0] = [0.0, 0.0, 1.0, 1.0]  # one edge of three can enter: the floor
    with pytest.warns(isvs_graph.ConvergenceWarning, match="2 of 5 signal") as caught:
        isvs_graph.solve(graph, batch, sparsity=0.2, backend=backend)
    assert [w.message.signals.tolist() for w in caught] == [[1, 4]]
    grid, _, x = grid_case()
    with pytest.warns(isvs_graph.ConvergenceWarning, match="1 of 1 signal") as caught:
        isvs_graph.solve(grid, x, sparsity=0.1, max_iter=5, backend=backend)
    assert caught[0].message.signals.dtype == np.int64
    assert caught[0].message.signals.tolist() == [0]
    both = np.stack([x * 0 + x[:1], x])  # the first is constant: at the floor at once
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        isvs_graph.solve(grid, both, sparsity=0.1, max_iter=5, backend=backend)
    assert {w.category for w in caught} == {isvs_graph.ConvergenceWarning}
    said = {"floor" if "floor" in str(w.message) else "cut": w.message.signals.tolist()
            for w in caught}
    assert said == {"floor": [0], "cut": [1]}
    assert isvs_graph.ConvergenceWarning("said elsewhere").signals.tolist() == []


def test_graph_without_edges_returns_the_signal():
    from torch_geometric.data import Data
    graph = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=4)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert isvs_graph.solve(graph, x, 0.0).tolist() == x.tolist()
    assert isvs_graph.solve(graph, x, sparsity=0.0).tolist() == x.tolist()
    assert isvs_graph.solve(graph, x, 100.0).tolist() == x.tolist()


def test_signal_defaults_to_graph_x():
    graph, _, x = grid_case()
    graph.x = torch.from_numpy(x)
    np.testing.assert_array_equal(isvs_graph.solve(graph, t=2.0).numpy(),
                                  isvs_graph.solve(graph, x, 2.0))


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_numpy_and_torch_agree(mode):
    graph, _, x = grid_case()
    a = isvs_graph.solve(graph, x, sparsity=0.7, mode=mode)
    b = isvs_graph.solve(graph, torch.from_numpy(x), sparsity=0.7, mode=mode)
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
    np.testing.assert_array_equal(a, b.numpy())


@pytest.mark.parametrize("shape", [(42,), (42, 1), (42, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kind_shape_and_dtype_are_kept(shape, dtype):
    graph, _, x = grid_case()
    signal = x[:, : (shape[1] if len(shape) == 2 else 1)].reshape(shape).astype(dtype)
    out = isvs_graph.solve(graph, signal, 2.0)
    assert out.shape == shape and out.dtype == dtype
    out = isvs_graph.solve(graph, torch.from_numpy(signal), 2.0)
    assert tuple(out.shape) == shape and out.dtype == torch.from_numpy(signal).dtype


def test_float32_close_to_float64():
    graph, _, x = grid_case()
    a = isvs_graph.solve(graph, x, 5.0)
    b = isvs_graph.solve(graph, x.astype(np.float32), 5.0)
    np.testing.assert_allclose(b, a, atol=1e-4)


def test_integers_are_promoted_and_half_floats_kept():
    graph = isvs_graph.grid_graph(2, 2)
    assert isvs_graph.solve(graph, np.array([0, 1, 2, 3]), 1.0).dtype == np.float64
    assert isvs_graph.solve(graph, np.array([0, 1, 2, 3], np.uint8), 1.0).dtype == np.float32
    assert isvs_graph.solve(graph, torch.tensor([0, 1, 2, 3]), 1.0).dtype == torch.float64
    for dtype in (torch.float16, torch.bfloat16):
        x = torch.tensor([0.0, 1, 2, 3], dtype=dtype)
        out = isvs_graph.solve(graph, x, 1.0)
        assert out.dtype == dtype  # computed in float32, cast back
        assert torch.equal(out, isvs_graph.solve(graph, x.float(), 1.0).to(dtype))
    x = np.array([0.0, 1, 2, 3], dtype=np.float16)
    out = isvs_graph.solve(graph, x, 1.0)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, isvs_graph.solve(graph, x.astype(np.float32), 1.0)
                                  .astype(np.float16))


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("scale", [{"t": 3.0}, {"sparsity": 0.6}])
def test_batch_equals_one_by_one(mode, scale):
    graph, _, x0 = grid_case(seed=0)
    batch = np.stack([grid_case(seed=s)[2] * (1 + s) for s in range(4)])
    got = isvs_graph.solve(graph, batch, mode=mode, **scale)
    for b in range(4):
        np.testing.assert_array_equal(got[b], isvs_graph.solve(graph, batch[b], mode=mode,
                                                               **scale))


def test_layouts_of_one_graph_agree():
    """The builder's grid, networkx's grid and a shuffled, doubled copy agree exactly."""
    import networkx as nx
    from torch_geometric.utils import from_networkx
    graph, _, x = grid_case(5, 6)
    nx_graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 6), ordering="sorted")
    from_nx = from_networkx(nx_graph)
    shuffled = graph.clone()
    perm = torch.randperm(graph.num_edges, generator=torch.Generator().manual_seed(0))
    both = torch.cat([graph.edge_index, graph.edge_index.flip(0)], dim=1)
    shuffled.edge_index = both[:, torch.cat([perm, perm + graph.num_edges])]
    ref = isvs_graph.solve(graph, x, sparsity=0.6)
    np.testing.assert_array_equal(isvs_graph.solve(from_nx, x, sparsity=0.6), ref)
    np.testing.assert_array_equal(isvs_graph.solve(shuffled, x, sparsity=0.6), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_device_is_kept(device):
    graph, _, x = grid_case()
    signal = torch.from_numpy(x).to(device)
    out = isvs_graph.solve(graph, signal, sparsity=0.7)
    assert out.device == signal.device
    np.testing.assert_allclose(out.cpu().numpy(), isvs_graph.solve(graph, x, sparsity=0.7),
                               rtol=1e-9, atol=1e-12)


def test_huge_values_are_solved_scale_free():
    # The normalisation is formed in float64: values near float32's limit do not overflow.
    graph = isvs_graph.grid_graph(1, 2)
    x = np.array([3e38, -3e38], dtype=np.float32)
    got = isvs_graph.solve(graph, x, 10.0)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got / 3e38, isvs_graph.solve(graph, np.array([1.0, -1.0]), 10.0),
                               rtol=1e-6)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_divergence_raises_instead_of_returning_garbage(backend):
    from isvs_graph._solver import run_split_lbi, solver_options
    from isvs_graph._solve import prepare
    graph, _, x = grid_case()
    problem = prepare(graph, x)
    # Bypass the validation: a step far above the stability bound diverges.
    options = solver_options(problem.options.norm_bound)
    options = type(options)(**{**options.__dict__, "alpha": 40 * options.alpha})
    with pytest.raises(FloatingPointError, match="non-finite"):
        run_split_lbi(problem.graph, problem.x, problem.initial(), options, t=1e6,
                      backend=backend)


def test_deterministic():
    graph, _, x = grid_case()
    with warnings.catch_warnings():
        a = isvs_graph.solve(graph, x, sparsity=0.5)
        b = isvs_graph.solve(graph, x, sparsity=0.5)
    assert a.tobytes() == b.tobytes()


def test_tensor_that_requires_grad_is_accepted_with_a_warning():
    graph, _, x = grid_case()
    signal = torch.from_numpy(x).requires_grad_()
    with pytest.warns(UserWarning, match="detached from autograd") as caught:
        out = isvs_graph.solve(graph, signal, 2.0)
    assert caught[0].filename == __file__  # the user's line
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), isvs_graph.solve(graph, x, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning where no graph is being built
        with torch.no_grad():
            isvs_graph.solve(graph, signal, 2.0)
        isvs_graph.solve(graph, signal.detach(), 2.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,connectivity", [((40, 50), 4), ((30, 20), 8),
                                                ((9, 10, 11), 6), ((6, 7, 8), 26)])
def test_one_channel_steps_as_a_channel_beside_a_zero_one(dtype, shape, connectivity):
    """A grey grid takes a loop of its own (‖z_e‖ is |z_e|, exactly): the same bits as
    the channel of a two-channel signal whose other channel is zero (its z stays 0)."""
    graph = isvs_graph.grid_graph(*shape, connectivity=connectivity)
    x = np.random.default_rng(graph.num_nodes).uniform(-1, 1, graph.num_nodes).astype(dtype)
    x[:2] = -1, 1  # the range of both signals: the same normalisation
    beside = np.stack([x, np.zeros_like(x)], axis=1)
    for scale in ({"t": 2.0}, {"sparsity": 0.7}):
        np.testing.assert_array_equal(isvs_graph.solve(graph, x, **scale),
                                      isvs_graph.solve(graph, beside, **scale)[:, 0])
    grey, pair = isvs_graph.path(graph, x), isvs_graph.path(graph, beside)
    np.testing.assert_array_equal(grey.entry_times, pair.entry_times)


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("shape,connectivity", [((3, 4, 5), 6), ((3, 4, 5), 18),
                                                ((2, 3, 4), 26), ((4, 1, 3), 26)])
def test_volume_stencils_match_the_edge_list_and_the_reference(mode, shape, connectivity):
    """Voxel grids take the stencil kernels: the same answer as the edge-list kernels on
    the same graph with its nodes renumbered (no longer a grid), and as the reference."""
    from isvs_graph.graphs._grid import grid_shape
    graph = isvs_graph.grid_graph(*shape, connectivity=connectivity)
    p = graph.num_nodes
    assert grid_shape(isvs_graph.canonical_graph(graph)) is not None
    order = np.random.default_rng(p).permutation(p)  # node i becomes order[i]
    renumbered = Data(edge_index=torch.from_numpy(order[graph.edge_index.numpy()]),
                      num_nodes=p)
    assert grid_shape(isvs_graph.canonical_graph(renumbered)) is None
    edges = canonical_edges(graph.edge_index.numpy(), p)
    x = np.random.default_rng(len(edges)).random((p, 2))
    moved = np.empty_like(x)
    moved[order] = x
    for scale in ({"t": 3.0}, {"sparsity": 0.6}):
        stencil = isvs_graph.solve(graph, x, mode=mode, **scale)
        listed = isvs_graph.solve(renumbered, moved, mode=mode, **scale)[order]
        expected, _, _ = split_lbi(edges, p, x, mode=mode, **scale)
        np.testing.assert_allclose(stencil, listed, rtol=1e-12, atol=1e-13)
        # (jumps agree with the plain iteration within about 1e-6 of the range)
        np.testing.assert_allclose(stencil, expected, rtol=0, atol=1e-6)
    # Scale-free and bounded there too: a x + b is smoothed to a solve(x) + b, and a run
    # to a time beyond reach ends at the floor, within 5 tol of the signal.
    np.testing.assert_allclose(isvs_graph.solve(graph, 40 * x - 3, t=3.0, mode=mode),
                               40 * isvs_graph.solve(graph, x, t=3.0, mode=mode) - 3,
                               rtol=1e-10, atol=1e-9)
    finest = isvs_graph.solve(graph, x, t=1e9, mode=mode)
    assert np.abs(finest - x).max() <= 5 * 3e-3 * np.ptp(x) + 1e-12


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("height,width,connectivity", [(5, 6, 8), (1, 9, 4), (9, 1, 4),
                                                       (4, 3, 8)])
def test_grid_kernels_match_reference(mode, height, width, connectivity):
    """Pixel grids take the grid kernels; they follow the same mathematics."""
    graph = isvs_graph.grid_graph(height, width, connectivity=connectivity)
    edges = canonical_edges(graph.edge_index.numpy(), graph.num_nodes)
    x = np.random.default_rng(height * width).random((graph.num_nodes, 3))
    for scale in ({"t": 2.0}, {"sparsity": 0.6}):
        expected, _, _ = split_lbi(edges, graph.num_nodes, x, mode=mode, **scale)
        got = isvs_graph.solve(graph, x, mode=mode, **scale)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
