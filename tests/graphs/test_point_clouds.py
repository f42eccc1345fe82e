import numpy as np
import pytest
import torch

import isvs_graph
from reference import canonical_edges, split_lbi


def cloud(n=40, seed=0):
    return np.random.default_rng(seed).random((n, 3))


def test_knn_graph_is_the_symmetric_union_of_neighbourhoods():
    points = cloud()
    g = isvs_graph.knn_graph(points, k=4)
    distance = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :4]
    expected = {(min(i, j), max(i, j)) for i in range(40) for j in nearest[i]}
    assert set(zip(*g.edge_index.tolist())) == expected
    assert g.edge_index.T.tolist() == sorted(g.edge_index.T.tolist())  # canonical order
    assert (g.edge_index[0] < g.edge_index[1]).all()


def test_radius_graph_against_brute_force():
    points = cloud()
    g = isvs_graph.radius_graph(points, 0.3)
    distance = np.linalg.norm(points[:, None] - points[None], axis=2)
    expected = {(i, j) for i in range(40) for j in range(i + 1, 40) if distance[i, j] < 0.3}
    assert set(zip(*g.edge_index.tolist())) == expected


def test_gaussian_weights_and_solve_against_reference():
    points = cloud()
    g = isvs_graph.knn_graph(points, k=5, weights="gaussian", sigma=0.2)
    i, j = g.edge_index.numpy()
    d = np.linalg.norm(points[i] - points[j], axis=1)
    np.testing.assert_allclose(g.edge_weight, np.exp(-d ** 2 / (2 * 0.2 ** 2)))
    signal = (points[:, :1] > 0.5).astype(float) + 0.05 * points[:, 1:2]
    edges = canonical_edges(g.edge_index.numpy(), 40, g.edge_weight.numpy())
    expected, _, _ = split_lbi(edges, 40, signal, sparsity=0.8)
    np.testing.assert_allclose(isvs_graph.solve(g, signal, sparsity=0.8, jumps=False),
                               expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(isvs_graph.solve(g, signal, sparsity=0.8), expected, rtol=0,
                               atol=1e-6 * np.ptp(signal))


@pytest.mark.parametrize("call,match", [
    (lambda: isvs_graph.knn_graph(cloud(5), k=5), "k must be < the number of points \\(5\\)"),
    (lambda: isvs_graph.knn_graph(cloud(5), k=0), "k must be >= 1"),
    (lambda: isvs_graph.knn_graph(np.array([[np.nan, 0.0], [1.0, 1.0]]), k=1), "NaN"),
    (lambda: isvs_graph.knn_graph(np.zeros(5), k=1), "shape \\(n, d\\)"),
    (lambda: isvs_graph.knn_graph(np.zeros((5, 0)), k=2), "d >= 1, got \\(5, 0\\)"),
    (lambda: isvs_graph.radius_graph(cloud(5), -1.0), "r must be > 0, got -1.0"),
    (lambda: isvs_graph.radius_graph(cloud(5), np.inf), "r must be finite"),
    (lambda: isvs_graph.knn_graph(cloud(5), k=2, weights="cosine"), "Invalid weights"),
    (lambda: isvs_graph.knn_graph(cloud(5), k=2, weights="gaussian", sigma=0),
     "sigma must be"),
])
def test_bad_point_clouds(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_any_real_radius_and_sigma_are_taken():
    # numpy integers and 0-d tensors are numbers like any other (np.int64 was refused).
    points = cloud(6)
    expected = isvs_graph.radius_graph(points, 1.0, weights="gaussian", sigma=0.5)
    for r, sigma in ((np.int64(1), np.float32(0.5)), (torch.tensor(1.0), 0.5)):
        got = isvs_graph.radius_graph(points, r, weights="gaussian", sigma=sigma)
        assert torch.equal(got.edge_index, expected.edge_index)
        torch.testing.assert_close(got.edge_weight, expected.edge_weight)
