import numpy as np
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
