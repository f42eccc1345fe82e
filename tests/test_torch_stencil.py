"""The torch backend on pixel and voxel grids: shifted slices (the stencil) instead of
gather/scatter, agreeing with the numba kernels to rounding."""

import warnings

import numpy as np
import pytest
import torch

import isvs_graph
from helpers import DEVICES, random_graph
from isvs_graph._operator import DifferenceOperator
from isvs_graph._solve import prepare
from isvs_graph._solver import run_split_lbi, torch_backend
from isvs_graph._solver.stencil import StencilOperator
from isvs_graph.graphs import CanonicalGraph
from isvs_graph.graphs._grid import grid_canonical
from reference import canonical_edges, dense_operator

GRIDS = [((9, 11), 4), ((9, 11), 8), ((4, 5, 6), 6), ((4, 5, 6), 18), ((3, 4, 5), 26)]


def blocks(shape, batch=3, channels=3, seed=0):
    """Piecewise-constant blocks with noise, ``(B, p, C)``: a path with many entries."""
    rng = np.random.default_rng(seed)
    index = np.indices(shape).reshape(len(shape), -1)
    level = (index // 2).sum(axis=0) % 3
    x = level[None, :, None] * rng.random((batch, 1, channels))
    return x + 0.2 * rng.standard_normal((batch, level.size, channels))


def both_backends(graph, x, *, stencil=True, device="cpu", **options_and_targets):
    targets = {k: options_and_targets.pop(k) for k in ("t", "sparsity")
               if k in options_and_targets}
    problem = prepare(graph, x, **options_and_targets)
    args = (problem.graph, problem.x, problem.initial(), problem.options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the floor's ConvergenceWarning, on both sides
        numba = run_split_lbi(*args, backend="numba", **targets)
        previous, torch_backend._STENCIL = torch_backend._STENCIL, stencil
        try:
            tensors = run_split_lbi(*args[:1], torch.from_numpy(problem.x).to(device),
                                    torch.from_numpy(problem.initial()).to(device),
                                    args[3], backend="torch", **targets)
        finally:
            torch_backend._STENCIL = previous
    return numba, tensors


def assert_same_run(numba, tensors):
    np.testing.assert_allclose(tensors.u.cpu().numpy(), numba.u, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(tensors.support.cpu().numpy(), numba.support)
    np.testing.assert_array_equal(tensors.iterations, numba.iterations)
    np.testing.assert_array_equal(tensors.status, numba.status)
    np.testing.assert_allclose(tensors.sparsity, numba.sparsity, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("grid,connectivity", GRIDS)
@pytest.mark.parametrize("target", [{"sparsity": [0.9, 0.8, 0.6]}, {"t": [0.5, 3.0, 8.0]},
                                    {}])
@pytest.mark.parametrize("device", DEVICES)
def test_the_stencil_agrees_with_the_numba_kernels(grid, connectivity, mode, target, device):
    graph = isvs_graph.grid_graph(grid, connectivity=connectivity)
    x = blocks(grid)
    if not target:  # to the floor: flat regions, and a coarse tol so that it comes soon
        x = np.round(x * 4) / 4
        target = {"tol": 0.03}
    assert_same_run(*both_backends(graph, x, mode=mode, device=device, **target))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("jumps", [True, False])
def test_signals_that_finish_early_leave_the_working_set_unchanged(jumps, device):
    # Mixed targets: signals stop at different checks and are dropped from the batch.
    graph = isvs_graph.grid_graph(6, 8, connectivity=8)
    x = blocks((6, 8), batch=6, seed=2)
    assert_same_run(*both_backends(graph, x, sparsity=[1.0, 0.95, 0.9, 0.8, 0.7, 0.5],
                                   jumps=jumps, max_iter=5_000, device=device))
    assert_same_run(*both_backends(graph, x, t=[0.0, 0.1, 1.0, 2.0, 5.0, 30.0],
                                   jumps=jumps, device=device))


def test_max_iter_and_the_floor_are_the_same_statuses():
    graph = isvs_graph.grid_graph(5, 6)
    x = blocks((5, 6), batch=2, seed=3)
    numba, tensors = both_backends(graph, x, sparsity=0.2, max_iter=40)
    assert (numba.status == isvs_graph._solver.MAX_ITER).all()
    assert_same_run(numba, tensors)
    np.testing.assert_array_equal(tensors.steps, numba.steps)


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_gather_forced_on_a_grid_agrees_with_the_stencil(mode):
    graph = isvs_graph.grid_graph(7, 9)
    x = blocks((7, 9), seed=4)
    _, stencil = both_backends(graph, x, mode=mode, sparsity=0.7)
    _, gather = both_backends(graph, x, mode=mode, sparsity=0.7, stencil=False)
    assert_same_run(stencil, gather)


@pytest.mark.parametrize("grid,connectivity", GRIDS + [((1, 7), 4), ((2, 2), 8)])
def test_stencil_apply_and_adjoint_match_the_matrix(grid, connectivity):
    canonical = grid_canonical(*grid, connectivity=connectivity)
    op = torch_backend.operator(canonical, dtype=torch.float64, device="cpu")
    assert isinstance(op, StencilOperator)
    D = dense_operator(canonical_edges(canonical.edge_index, canonical.num_nodes),
                       canonical.num_nodes)
    rng = np.random.default_rng(0)
    u = torch.from_numpy(rng.standard_normal((canonical.num_nodes, 2, 3)))
    np.testing.assert_allclose(op._to_edges(op.apply(op._nodes(u))).numpy(),
                               np.einsum("ep,pbc->ebc", D, u.numpy()), rtol=1e-13)
    r = op._slots(2, 3, dtype=torch.float64)
    edges = torch.from_numpy(rng.standard_normal((canonical.num_edges, 2, 3)))
    r[op.slot] = edges  # the other slots stay zero, as in the solver
    np.testing.assert_allclose(op.adjoint(r).numpy(),
                               np.einsum("ep,ebc->pbc", D, edges.numpy()), rtol=1e-12,
                               atol=1e-13)


def test_grids_take_the_stencil_and_other_graphs_gather():
    grid = grid_canonical(4, 5, 6, connectivity=18)
    choose = torch_backend.operator
    assert isinstance(choose(grid, dtype=torch.float32, device="cpu"), StencilOperator)
    assert isinstance(choose(grid, dtype=torch.float32, device="cpu", stencil=False),
                      DifferenceOperator)
    other = isvs_graph.graphs.canonical_graph(random_graph(0)[0])
    assert isinstance(choose(other, dtype=torch.float32, device="cpu"), DifferenceOperator)
    # A grid with weights is no stencil (the numba kernels treat it as an edge list too).
    weighted = CanonicalGraph(grid.edge_index, 2 * grid.edge_weight, grid.num_nodes)
    assert isinstance(choose(weighted, dtype=torch.float32, device="cpu"), DifferenceOperator)


def test_the_solver_steps_grids_by_the_stencil(monkeypatch):
    used = []
    run = torch_backend.run
    monkeypatch.setattr(torch_backend, "run", lambda op, *a, **k: used.append(op) or
                        run(op, *a, **k))
    images = torch.rand(2, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    isvs_graph.smooth_images(images, sparsity=0.9, backend="torch")
    graph, _ = random_graph(1)
    isvs_graph.solve(graph, torch.rand(graph.num_nodes, 2, dtype=torch.float64), 1.0,
                     backend="torch")
    assert [type(op) for op in used] == [StencilOperator, DifferenceOperator]


@pytest.mark.parametrize("grid,connectivity", [((1, 17), 4), ((17, 1), 8), ((15, 2), 8),
                                               ((2, 15), 8), ((1, 1, 12), 26)])
def test_the_stencil_agrees_on_narrow_grids(grid, connectivity):
    # One row or column, and two columns where the right edge and the down-left
    # diagonal share the shift 1: each direction's gaps must be masked.
    graph = isvs_graph.grid_graph(grid, connectivity=connectivity)
    for mode in ("joint", "channel"):
        assert_same_run(*both_backends(graph, blocks(grid, seed=5), mode=mode,
                                       sparsity=[0.9, 0.7, 0.5]))


@pytest.mark.parametrize("device", DEVICES)
def test_the_stencil_agrees_in_float32(device):
    # The dtype of training batches: the same supports and steps, u to float32 rounding.
    graph = isvs_graph.grid_graph(9, 11, connectivity=8)
    numba, tensors = both_backends(graph, blocks((9, 11), seed=4).astype(np.float32),
                                   t=[0.5, 3.0, 8.0], device=device)
    assert numba.u.dtype == np.float32 and tensors.u.dtype == torch.float32
    np.testing.assert_allclose(tensors.u.cpu().numpy(), numba.u, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(tensors.iterations, numba.iterations)
    assert (tensors.support.cpu().numpy() != numba.support).mean() < 1e-3


@pytest.mark.parametrize("entries", [0, 1, 7, 10, 480, 1440, 3 * 1023 * 1024])
def test_count_targets_are_the_least_counts_that_meet_the_sparsity(entries):
    # The torch backend stops on integers: count ≥ target. The target must be the least
    # count whose sparsity, by the numba kernels' float64 division, is ≤ s — also where
    # a target is met exactly (0.7 of 1440 entries), which a GPU's division by a scalar
    # (a product with its reciprocal) can miss by one ulp.
    rng = np.random.default_rng(entries)
    exact = [(entries - c) / entries for c in rng.integers(0, entries + 1, 20)] \
        if entries else []
    targets = np.concatenate([[-1.0, 0.0, 1.0, 0.5, 0.7, 0.8, 0.6, 0.1, 0.9, 1 / 3],
                              rng.random(40), exact])
    got = torch_backend.count_targets(targets, entries)
    for s, c in zip(targets, got):
        if s < 0:
            assert c == entries + 1
            continue
        sparsity = [(entries - n) / entries if entries else 0.0 for n in
                    range(max(0, c - 3), min(entries, c + 3) + 1)]
        meets = [n for n, v in zip(range(max(0, c - 3), entries + 1), sparsity) if v <= s]
        assert meets and meets[0] == c, (s, c)


def test_channel_norms_round_each_product_as_the_numba_kernels_do():
    # An entry that falls on a step's boundary: ‖z‖² from fused multiply-adds (addcmul_)
    # came out one ulp away and the torch backend stopped a step after the kernels.
    x = np.array([[0.0, 0.0], [1.0, 0.8561062209082605]])
    numba, tensors = both_backends(isvs_graph.grid_graph(1, 2), x, mode="joint",
                                   kappa=0.36730789032914485, nu=1.7271910108020585,
                                   tol=1e-6, sparsity=0.0)
    assert numba.iterations.tolist() == [2]
    assert_same_run(numba, tensors)


# Entries on a step's boundary (found by bisecting the input between two iteration
# counts of the numba kernels): (second channel, the third if any, κ, ν, jumps,
# iterations).
BOUNDARY_CASES = [
    (0.5276541659407994, [0.1515974146458225], 1.0709464121171075, 0.6619125825673449,
     True, 8),
    (0.4990639279366989, [], 1.5321428993150072, 1.7613125099780724, False, 9),
    (0.536245956169078, [0.25803429277393936], 0.4969715412003095, 1.9834223399512512,
     False, 4),
    (0.3072981881862495, [], 1.3021535055428817, 0.3661248292320806, False, 15),
    (0.16175326504690102, [], 1.8053844534069095, 2.082959527405413, True, 10),
]


@pytest.mark.parametrize("value, others, kappa, nu, jumps, iterations", BOUNDARY_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_both_backends_step_with_the_same_constants(value, others, kappa, nu, jumps,
                                                    iterations, device):
    # ``α/ν`` and ``1/ν`` rounded as the kernels round them (options.step_constants):
    # the torch backend's ``α · (1/ν)`` in double moved z by another last bit, and each
    # of these runs stopped a step away from the kernels.
    x = np.zeros((2, 2 + len(others)))
    x[1] = [1.0, value, *others]
    numba, tensors = both_backends(isvs_graph.grid_graph(1, 2), x, device=device,
                                   mode="joint", kappa=kappa, nu=nu, jumps=jumps, tol=1e-6,
                                   sparsity=0.0)
    assert numba.iterations.tolist() == [iterations]
    assert_same_run(numba, tensors)
