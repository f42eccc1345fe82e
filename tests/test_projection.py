import numpy as np
import pytest
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_grid_is_averaged_as_one_component_to_the_last_bit(dtype):
    # A grid known at no cost (frozen) is connected: its means are formed without a
    # labelling, summed in the kernel's order (the same bits as the edge list's pass).
    from isvs_graph._projection import project
    from isvs_graph.graphs import CanonicalGraph
    from isvs_graph.graphs._grid import grid_canonical
    grid = grid_canonical(70, 1000)
    edges = CanonicalGraph(grid.edge_index.copy(), grid.edge_weight.copy(), grid.num_nodes)
    u = (np.random.default_rng(2).random((grid.num_nodes, 2, 3)) * 1e3).astype(dtype)
    fast, slow = project(grid, u, None), project(edges, u, None)
    assert fast.dtype == slow.dtype == dtype and fast.flags.writeable
    assert np.array_equal(fast, slow)


@pytest.mark.parametrize("shape, connectivity", [
    ((9, 7), 4), ((9, 7), 8), ((7, 2), 8), ((1, 6), 8), ((6, 1), 4), ((5, 4, 3), 6),
    ((5, 4, 3), 18), ((4, 3, 2), 26), ((3, 1, 5), 26), ((1, 4, 4), 18)])
def test_a_grid_is_labelled_from_its_shape_as_its_edge_list_is(shape, connectivity):
    # A grid known at no cost (frozen) is labelled from its shape, its edge list unread:
    # the same components as the list's (narrow grids, where two offsets share a shift,
    # included), so the same bits, one signal or several, joint or per channel.
    from isvs_graph._projection import _project_cpu
    from isvs_graph.graphs import CanonicalGraph
    from isvs_graph.graphs._grid import frozen_grid_shape, grid_canonical
    grid = grid_canonical(*shape, connectivity=connectivity)
    edges = CanonicalGraph(grid.edge_index.copy(), grid.edge_weight.copy(), grid.num_nodes)
    assert frozen_grid_shape(grid) is not None and frozen_grid_shape(edges) is None
    rng = np.random.default_rng(len(shape) * connectivity)
    p, m = grid.num_nodes, grid.num_edges
    for batch, channels, per_channel in ((1, 3, False), (4, 2, False), (2, 3, True)):
        u = rng.standard_normal((p, batch, channels)).astype(np.float32)
        for fraction in (0.2, 0.6, 0.95):
            size = (m, batch, channels) if per_channel else (m, batch)
            support = rng.random(size) < fraction
            fast, slow = _project_cpu(grid, u, support), _project_cpu(edges, u, support)
            assert np.array_equal(fast, slow)
            keep = ~support.reshape(m, -1)  # (what the torch backend labels)
            for a, b in zip(component_labels(grid, keep), component_labels(edges, keep)):
                assert np.array_equal(a, b)
            if not per_channel:
                expected = project(edges, torch.from_numpy(u), torch.from_numpy(support))
                np.testing.assert_allclose(fast, expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("planes", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_component_means_are_sums_in_node_order_to_the_last_bit(planes, dtype):
    # A component's sums run in registers along each run of its nodes: the additions
    # are those of adding each node in turn into memory (np.add.at, in order), so the
    # same bits, whatever the runs (long, of one node, components interleaved).
    from isvs_graph._projection import _average
    rng = np.random.default_rng(planes)
    runs = rng.integers(1, 40, 300)
    labels = np.unique(np.repeat(rng.integers(0, 50, runs.size), runs),
                       return_inverse=True)[1]  # (every component has nodes)
    count = labels.max() + 1
    values = (rng.standard_normal((planes, labels.size)) * 10.0 ** rng.integers(
        -3, 4, (planes, labels.size))).astype(dtype)
    out = np.empty_like(values)
    _average(labels, count, values, out)
    sums = np.zeros((count, planes))
    np.add.at(sums, labels, values.T.astype(np.float64))
    size = np.bincount(labels, minlength=count).astype(np.float64)
    expected = (sums / size[:, None])[labels].T.astype(dtype)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("groups,planes", [(1, 1), (1, 3), (2, 4), (2, 5), (1, 9)])
def test_serial_and_parallel_passes_give_the_same_bits(groups, planes):
    # The serial pass (one image) averages a group's few planes in one sweep over its
    # nodes, more one at a time; the parallel pass (batches) one plane at a time. Each
    # sums in node order, so both give the same bits, and the component means of a
    # reference.
    from isvs_graph._projection import _NO_GRID, _project_groups, _project_groups_serial
    data, edges = random_graph(9)
    canonical = isvs_graph.canonical_graph(data)
    rng = np.random.default_rng(9)
    m, p = canonical.num_edges, canonical.num_nodes
    keep = rng.random((groups, m)) < 0.6
    values = rng.standard_normal((groups, planes, p)) * 1e3
    serial, parallel = np.empty_like(values), np.empty_like(values)
    src, dst = canonical.edge_index
    dims, offsets = _NO_GRID
    _project_groups_serial(src, dst, dims, offsets, keep, values, serial)
    _project_groups(src, dst, dims, offsets, keep, values, parallel)
    assert np.array_equal(serial, parallel)
    # float32 planes: summed in float64 all the same, each mean rounded once.
    narrow = values.astype(np.float32)
    wide = np.empty_like(values)
    _project_groups_serial(src, dst, dims, offsets, keep, narrow.astype(np.float64), wide)
    for project_groups in (_project_groups_serial, _project_groups):
        out = np.empty_like(narrow)
        project_groups(src, dst, dims, offsets, keep, narrow, out)
        assert np.array_equal(out, wide.astype(np.float32))
    keys = list(edges)
    for g in range(groups):
        removed = [keys[e] for e in np.flatnonzero(~keep[g])]
        expected = reference_means(edges, p, values[g].T, removed)
        np.testing.assert_allclose(serial[g].T, expected, rtol=1e-13)
