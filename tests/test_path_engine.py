"""The path engine: one class for every graph, exact or bounded reads, compact caches."""

import warnings

import numpy as np
import pytest
import torch

import isvs_graph
from isvs_graph import image_paths, load_paths, smooth_images
from isvs_graph._solver import run_split_lbi
from isvs_graph._solve import prepare

from test_engine import photo_crops

BETWEEN = (0.97, 0.93, 0.85, 0.77, 0.72, 0.64, 0.52)


def assert_within_bound(paths, images, scales, **options):
    """Reads equal smooth_images at recorded levels, within bound() between them."""
    for s in scales:
        got = paths.at(sparsity=s).astype(np.float64)
        expected = smooth_images(images, sparsity=s, **options).astype(np.float64)
        error = np.abs(got - expected).reshape(len(images), -1).max(axis=1)
        bound = paths.bound(sparsity=s)
        assert (error <= bound).all(), (s, error, bound)
        if s in paths.levels:
            assert (error == 0).all() and (bound == 0).all()


@pytest.mark.parametrize("kind", ["uint8", "uint8, 8-grid", "float32", "float64",
                                  "low contrast", "0-255 floats"])
def test_reads_are_exact_at_levels_and_bounded_between(kind):
    crops = (photo_crops(6) * 255).round().astype(np.uint8)
    images = {"uint8": crops, "uint8, 8-grid": crops,
              "float32": (crops / 255).astype(np.float32), "float64": crops / 255,
              "low contrast": (0.45 + 0.1 * crops / 255).astype(np.float32),
              "0-255 floats": crops.astype(np.float64)}[kind]
    connectivity = 8 if "8-grid" in kind else 4
    paths = image_paths(images, connectivity=connectivity)
    assert_within_bound(paths, images, (*paths.levels[::2], *BETWEEN),
                        connectivity=connectivity)


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_leaves_keep_partitions_exact_and_reads_bounded(mode):
    images = (photo_crops(4) / 255).astype(np.float32)
    # A small nu makes the path greedy: entries leave and come back.
    paths = image_paths(images, levels=[1.0, 0.8, 0.6], nu=0.2, mode=mode)
    events = paths.leave_events
    assert (~events["entering"]).sum() > 0
    assert_within_bound(paths, images, (1.0, 0.9, 0.8, 0.7, 0.6), nu=0.2, mode=mode)
    # The support at any iteration is the solver's, leaves included.
    signals = images.transpose(0, 2, 3, 1).reshape(4, -1, 3)
    problem = prepare(isvs_graph.grid_graph(16, 16), signals, nu=0.2, mode=mode)
    shortest = paths.n_iter.min()
    moments = np.unique(events["iteration"])
    for k in moments[moments <= shortest][:6]:
        result = run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options,
                               t=k * paths.alpha)
        support = result.support.transpose(1, 0, *range(2, result.support.ndim))
        np.testing.assert_array_equal(paths.support(k * paths.alpha), support)


def test_any_graph_is_recorded_by_the_kernels_and_reads_time_too():
    rng = np.random.default_rng(3)
    import networkx as nx
    g = nx.connected_watts_strogatz_graph(300, 6, 0.2, seed=3)
    graph = isvs_graph.from_networkx(g)
    x = np.repeat(rng.random((6, 2)), 50, axis=0) + 0.05 * rng.standard_normal((300, 2))
    paths = isvs_graph.path(graph, x, t_max=40.0, levels=[1.0, 0.9, 0.8],
                            record_times=[5.0, 20.0])
    for t in (0.0, 5.0, 20.0, 40.0):
        np.testing.assert_array_equal(paths.at(t), isvs_graph.solve(graph, x, t))
        assert paths.bound(t) == 0.0
    for t in (2.0, 11.0, 33.0):
        error = np.abs(paths.at(t) - isvs_graph.solve(graph, x, t)).max()
        assert error <= paths.bound(t)
    for s in paths.levels:
        np.testing.assert_array_equal(paths.at(sparsity=s),
                                      isvs_graph.solve(graph, x, sparsity=s))


def test_save_and_load_round_trip_keeps_every_layout(tmp_path):
    import networkx as nx
    graph = isvs_graph.from_networkx(nx.karate_club_graph())
    x = torch.linspace(0, 1, 34, dtype=torch.float64)
    cases = {"signal": isvs_graph.path(graph, x, sparsity_min=0.6, levels=[0.9, 0.6]),
             "images": image_paths(photo_crops(3), levels=[1.0, 0.8]),
             "batch": isvs_graph.path(graph, torch.stack([x, x.flip(0)])[..., None],
                                      sparsity_min=0.7, levels=[0.9, 0.7])}
    for name, paths in cases.items():
        file = tmp_path / f"{name}.npz"
        paths.save(file)
        loaded = load_paths(file)
        assert loaded.layout == paths.layout and loaded.options == paths.options
        assert np.array_equal(loaded.graph.edge_index, paths.graph.edge_index)
        for s in (0.95, 0.9, 0.8):
            a, b = loaded.at(sparsity=s), paths.at(sparsity=s)
            assert type(a) is type(b)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.npz", "images.npz",
                                                           "signal.npz"]


def test_cache_is_compact():
    images = (photo_crops(16, size=32) * 255).round().astype(np.uint8)
    paths = image_paths(images)  # default levels 1 … 0.5
    assert paths.nbytes <= 4 * images.nbytes
    assert paths._arrays["order"].dtype == np.uint16
    assert paths._arrays["values"].dtype == np.uint8


def test_select_and_entry_iterations():
    images = photo_crops(5)
    paths = image_paths(images, levels=[1.0, 0.8])
    part = paths.select([3, 1])
    np.testing.assert_array_equal(part.at(sparsity=0.8), paths.at(sparsity=0.8)[[3, 1]])
    np.testing.assert_array_equal(part.entry_iter, paths.entry_iter[[3, 1]])
    np.testing.assert_array_equal(paths.at(sparsity=[0.9, 0.8], signals=[3, 1]),
                                  paths.at(sparsity=[1.0, 0.8, 1.0, 0.9, 1.0])[[3, 1]])
    entered = paths.entry_iter >= 0
    np.testing.assert_array_equal(paths.support(sparsity=0.8),
                                  entered & (paths.entry_iter <= paths.iterations(
                                      sparsity=0.8)[:, None]))
    assert np.isinf(paths.entry_times[~entered]).all()


def test_old_names_still_work_and_warn():
    with pytest.deprecated_call():
        assert isvs_graph.ImagePaths is isvs_graph.ISVSPath
    graph = isvs_graph.grid_graph(1, 4)
    x = np.array([0.0, 0.0, 1.0, 1.0])
    with pytest.deprecated_call():
        p = isvs_graph.path(graph, x, sparsity_min=0.7, record_sparsities=[1.0, 0.7])
    assert list(p.levels) == [1.0, 0.7]
    with pytest.deprecated_call():
        assert p.iteration(sparsity=0.7) == p.iterations(sparsity=0.7)
    assert p.recorded_iterations == [0, p.iterations(sparsity=0.7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.at(sparsity=0.7), p.labels(sparsity=0.7), p.entry_times, p.leave_events
