import numpy as np
import pytest
import torch

import isvs_graph
from helpers import random_graph
from isvs_graph._operator import DifferenceOperator, norm_bound
from reference import dense_operator


def test_scipy_export_matches_the_definition():
    data, edges = random_graph(3)
    D = isvs_graph.difference_operator(data)
    assert D.shape == (len(edges), data.num_nodes)
    np.testing.assert_array_equal(D.toarray(), dense_operator(edges, data.num_nodes))


def test_gather_scatter_apply_and_adjoint_match_the_matrix():
    data, edges = random_graph(4)
    canonical = isvs_graph.canonical_graph(data)
    op = DifferenceOperator(canonical, dtype=torch.float64)
    D = dense_operator(edges, data.num_nodes)
    rng = np.random.default_rng(0)
    u = rng.standard_normal((data.num_nodes, 2, 3))
    r = rng.standard_normal((len(edges), 2, 3))
    np.testing.assert_allclose(op.apply(torch.from_numpy(u)).numpy(),
                               np.einsum("ep,pbc->ebc", D, u), rtol=1e-13)
    np.testing.assert_allclose(op.adjoint(torch.from_numpy(r)).numpy(),
                               np.einsum("ep,ebc->pbc", D, r), rtol=1e-12, atol=1e-13)


def test_norm_bound_bounds_the_spectral_norm():
    for seed in range(5):
        data, edges = random_graph(seed)
        D = dense_operator(edges, data.num_nodes)
        bound = norm_bound(isvs_graph.canonical_graph(data))
        assert np.linalg.norm(D, 2) ** 2 <= bound * (1 + 1e-12)
    assert norm_bound(isvs_graph.canonical_graph(isvs_graph.grid_graph(4, 4))) == 8.0
    assert norm_bound(isvs_graph.canonical_graph(isvs_graph.grid_graph(1, 1))) == 0.0


GRIDS = [((1, 5), 4), ((2, 2), 8), ((3, 3), 4), ((4, 7), 8), ((7, 2), 8), ((2, 3, 4), 18),
         ((5, 6, 7), 26), ((3, 1, 4), 6), ((6, 5, 4), 6)]


@pytest.mark.parametrize("shape, connectivity", GRIDS)
def test_a_grid_bounds_its_norm_from_its_shape_as_from_its_edges(shape, connectivity):
    from isvs_graph.graphs import CanonicalGraph
    from isvs_graph.graphs._grid import grid_canonical
    grid = grid_canonical(*shape, connectivity=connectivity)  # frozen: from the shape
    edges = CanonicalGraph(grid.edge_index.copy(), grid.edge_weight.copy(), grid.num_nodes)
    assert norm_bound(grid) == norm_bound(edges)


@pytest.mark.parametrize("shape, connectivity", GRIDS)
def test_the_stencil_layout_maps_every_canonical_edge_to_its_slot(shape, connectivity):
    from isvs_graph._solver.stencil import grid_stencil
    from isvs_graph.graphs._grid import grid_canonical
    src, dst = grid_canonical(*shape, connectivity=connectivity).edge_index
    shifts, pad, masks, eid, slot = grid_stencil(shape, connectivity, np.float32)
    length = pad + int(np.prod(shape))
    direction, first = np.divmod(slot, length)
    assert np.array_equal(first - pad, src)  # slot d L + pad + t: edge (t, t + shift[d])
    assert np.array_equal(src + shifts[direction], dst)
    assert np.array_equal(eid[slot], np.arange(len(src)))
    assert (eid >= 0).sum() == len(src) == masks.sum() and (masks[slot] == 1).all()
