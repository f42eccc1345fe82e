import numpy as np
import torch

import isvs_graph
from helpers import random_graph
from isvs_graph._projection import component_labels, project
from reference import component_means as reference_means


def test_projection_equals_networkx_component_means():
    data, edges = random_graph(7)
    canonical = isvs_graph.canonical_graph(data)
    rng = np.random.default_rng(7)
    m, p = canonical.num_edges, canonical.num_nodes
    u = rng.standard_normal((p, 3, 2))
    support = rng.random((m, 3)) < 0.4
    got = project(canonical, torch.from_numpy(u), torch.from_numpy(support)).numpy()
    keys = list(edges)
    for b in range(3):
        removed = [keys[e] for e in np.nonzero(support[:, b])[0]]
        np.testing.assert_allclose(got[:, b], reference_means(edges, p, u[:, b], removed),
                                   rtol=1e-13)


def test_channel_supports_partition_each_channel():
    data, edges = random_graph(8)
    canonical = isvs_graph.canonical_graph(data)
    rng = np.random.default_rng(8)
    m, p = canonical.num_edges, canonical.num_nodes
    u = rng.standard_normal((p, 2, 3))
    support = rng.random((m, 2, 3)) < 0.5
    got = project(canonical, torch.from_numpy(u), torch.from_numpy(support)).numpy()
    keys = list(edges)
    for b in range(2):
        for c in range(3):
            removed = [keys[e] for e in np.nonzero(support[:, b, c])[0]]
            expected = reference_means(edges, p, u[:, b, [c]], removed)[:, 0]
            np.testing.assert_allclose(got[:, b, c], expected, rtol=1e-13)


def test_labels_are_contiguous_per_group():
    canonical = isvs_graph.canonical_graph(isvs_graph.grid_graph(1, 4))
    keep = np.array([[True, False], [False, False], [True, True]])
    labels, n = component_labels(canonical, keep)
    assert labels.tolist() == [[0, 0, 1, 1], [2, 3, 4, 4]] and n == 5


def test_projection_keeps_float32():
    canonical = isvs_graph.canonical_graph(isvs_graph.grid_graph(2, 2))
    u = torch.arange(4, dtype=torch.float32).reshape(4, 1, 1)
    out = project(canonical, u, None)
    assert out.dtype == torch.float32 and out.flatten().tolist() == [1.5] * 4
