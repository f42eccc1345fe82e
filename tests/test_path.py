import warnings

import numpy as np
import pytest
import torch

import isvs_graph
from reference import canonical_edges, default_alpha, split_lbi
from test_solver import grid_case


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_at_recorded_sparsities_and_times_equals_solve(mode):
    graph, _, x = grid_case()
    p = isvs_graph.path(graph, x, sparsity_min=0.3, levels=[0.9, 0.6, 0.3],
                        record_times=[1.0, 2.5], mode=mode)
    # Recorded by the numba kernels: equal to solve bit for bit, to torch to rounding.
    for s in (0.9, 0.6, 0.3):
        np.testing.assert_array_equal(p.at(sparsity=s),
                                      isvs_graph.solve(graph, x, sparsity=s, mode=mode))
        np.testing.assert_allclose(
            p.at(sparsity=s), isvs_graph.solve(graph, x, sparsity=s, mode=mode,
                                               backend="torch"), rtol=1e-12, atol=1e-14)
        assert p.bound(sparsity=s) == 0.0
    for t in (0.0, 1.0, 2.5):
        np.testing.assert_array_equal(p.at(t), isvs_graph.solve(graph, x, t, mode=mode))


def test_times_sparsities_and_entry_times_match_reference():
    graph, edges, x = grid_case()
    p = isvs_graph.path(graph, x, t_max=25.0)
    alpha = default_alpha(edges, graph.num_nodes)
    assert p.alpha == alpha
    with pytest.deprecated_call():
        np.testing.assert_allclose(p.times, np.arange(p.n_iter + 1) * alpha)
    with pytest.deprecated_call():
        sparsities = p.sparsities
    first_entry = np.full(len(edges), np.inf)
    for k in range(p.n_iter + 1):
        _, _, support = split_lbi(edges, graph.num_nodes, x, iterations=k, project=False)
        assert sparsities[k] == pytest.approx((~support).mean(), abs=1e-15)
        assert p.sparsity_at(k) == sparsities[k]
        first_entry[np.isinf(first_entry) & support] = k * alpha
    np.testing.assert_allclose(p.entry_times, first_entry)
    assert np.isfinite(p.entry_times).sum() > 5  # the path really moved


def test_labels_between_records_are_exact_partitions():
    graph, edges, x = grid_case()
    p = isvs_graph.path(graph, x, t_max=25.0, levels=[1.0])
    _, _, support = split_lbi(edges, graph.num_nodes, x, t=19.3, project=False)
    assert support.sum() > 5
    np.testing.assert_array_equal(p.support(19.3), support)
    labels = p.labels(19.3)
    keys = list(edges)
    for e, (i, j) in enumerate(keys):
        if not support[e]:
            assert labels[i] == labels[j]
    # Between records the partition is exact, the values within the bound of solve.
    smoothed = p.at(19.3)
    for c in np.unique(labels):
        assert np.ptp(smoothed[labels == c], axis=0).max() < 1e-12
    exact = isvs_graph.solve(graph, x, 19.3)
    assert 0 < np.abs(smoothed - exact).max() <= p.bound(19.3)


@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_bound_is_tight_where_the_read_is_exact_and_near_recorded_iterates(mode):
    """bound() is not the drift of the whole interval before the next record: where no
    support edge separates anything yet the read is exact and the bound is rounding;
    just before a recorded level it is the drift from the last change of the support."""
    from skimage import data
    image = data.camera()[::8, ::8] / 255.0
    graph = isvs_graph.grid_graph(*image.shape)
    x = np.stack([image.reshape(-1), image.T.reshape(-1)], axis=1)
    p = isvs_graph.path(graph, x, sparsity_min=0.5, mode=mode)
    k_first = int(np.nanmin(np.where(np.isfinite(p.entry_times), p.entry_times, np.nan))
                  / p.alpha)
    early = 0.5 * k_first * p.alpha  # before any edge entered
    assert 0 < p.bound(early) < 1e-10
    assert np.abs(p.at(early) - isvs_graph.solve(graph, x, early, mode=mode)).max() < 1e-12
    interval = p._arrays["drift"][p._locate(early, None)[1]][0]
    assert interval > 0.01  # what the bound was: the drift from t = 0 to the next level
    for level in p.levels[1:8]:
        before = (p.iterations(sparsity=level) - 1) * p.alpha  # one step before its record
        whole = p._arrays["drift"][p._locate(before, None)[1]][0]
        bound = p.bound(before)
        error = np.abs(p.at(before) - isvs_graph.solve(graph, x, before, mode=mode)).max()
        assert 0 < error <= bound <= 2 * error  # it was the interval's drift: 9-57 times
        assert bound < whole / 4


def test_labels_at_coarsest_scale_are_the_components():
    graph = isvs_graph.grid_graph(1, 4)
    p = isvs_graph.path(graph, np.array([0.0, 0.0, 1.0, 1.0]), sparsity_min=0.7)
    assert p.labels(sparsity=1.0).tolist() == [0, 0, 0, 0]
    assert p.labels(sparsity=0.7).tolist() == [0, 0, 1, 1]
    assert len(p.leave_events) == 0
    with pytest.deprecated_call():
        assert p.n_leave_events == 0


def test_beyond_the_path_is_refused():
    graph, _, x = grid_case()
    p = isvs_graph.path(graph, x, t_max=1.0)
    with pytest.raises(ValueError, match="paths stop earlier .*t_max = 1.0"):
        p.at(5.0)
    with pytest.raises(ValueError, match="larger t_max or a smaller sparsity_min"):
        p.at(sparsity=0.0)


def test_converged_path_answers_any_later_scale():
    graph = isvs_graph.grid_graph(1, 4)
    x = np.array([0.0, 0.0, 1.0, 1.0])
    p = isvs_graph.path(graph, x)
    assert p.converged
    np.testing.assert_allclose(p.at(1e6), x, atol=1e-5)


def test_torch_signal_gives_torch_results():
    graph, _, x = grid_case()
    p = isvs_graph.path(graph, torch.from_numpy(x), t_max=2.0)
    assert isinstance(p.at(1.0), torch.Tensor)


def test_a_batch_has_one_path_per_signal():
    graph, _, x = grid_case()
    batch = np.stack([x, 3 * x[::-1] + 1])
    p = isvs_graph.path(graph, batch, sparsity_min=0.5, levels=[0.8, 0.5])
    assert len(p) == 2 and p.at(sparsity=0.8).shape == batch.shape
    for s in (0.8, 0.5):
        np.testing.assert_array_equal(p.at(sparsity=s),
                                      isvs_graph.solve(graph, batch, sparsity=s))
    one = p.select(1)
    np.testing.assert_array_equal(one.at(sparsity=[0.8])[0], p.at(sparsity=0.8)[1])
    assert p.iterations(sparsity=[0.8, 0.5]).shape == (2,)


def test_plot_draws_one_panel_per_scale():
    pytest.importorskip("matplotlib", reason="needs matplotlib for plotting")
    import matplotlib
    matplotlib.use("Agg")
    graph, _, x = grid_case()
    p = isvs_graph.path(graph, x)
    fig = p.plot((6, 7, 3), sparsities=[1.0, 0.5, 0.2])
    assert len(fig.axes) == 3
    assert "sparsity=1.00" in fig.axes[0].get_title()


def test_plot_by_default_stops_where_the_path_does():
    """Six sparsities down to the finest level the signal reaches: a path stopped above
    the lowest level (``sparsity_min``) drew nothing but an error before."""
    pytest.importorskip("matplotlib", reason="needs matplotlib for plotting")
    import matplotlib
    matplotlib.use("Agg")
    images = np.random.default_rng(0).random((1, 3, 16, 16))
    p = isvs_graph.image_paths(images, sparsity_min=0.8)
    assert p.levels.min() == 0.5 and p.sparsity_at(p.n_iter)[0] > 0.7
    fig = p.plot()
    assert len(fig.axes) == 6
    assert fig.axes[-1].get_title().endswith(f"sparsity={p.sparsity_at(p.n_iter)[0]:.2f}")
    bf16 = isvs_graph.image_paths(torch.from_numpy(images).to(torch.bfloat16))
    assert len(bf16.plot().axes) == 6  # (numpy has no bfloat16: drawn as float32)


def test_plot_refuses_a_shape_that_does_not_hold_the_signal_and_adds_its_channels():
    pytest.importorskip("matplotlib", reason="needs matplotlib for plotting")
    import matplotlib
    matplotlib.use("Agg")
    graph, _, x = grid_case()  # 6 × 7 nodes, 3 channels
    p = isvs_graph.path(graph, x)
    assert len(p.plot((6, 7), sparsities=[1.0, 0.5]).axes) == 2  # (6, 7, 3) drawn
    with pytest.raises(ValueError, match=r"shape \(5, 5\) holds 25 values, but signal 0 "
                                         r"has 42 nodes × 3 channel\(s\)"):
        p.plot((5, 5))
    with pytest.raises(ValueError, match="no scale to draw"):
        p.plot((6, 7), sparsities=[])
    fig = p.plot((6, 7), sparsities=[1.0])
    with pytest.raises(ValueError, match="1 axes for 3 scales: give one a scale"):
        p.plot((6, 7), sparsities=[1.0, 0.8, 0.6], axes=fig.axes)
    three = p.plot((6, 7), sparsities=[1.0, 0.8, 0.6]).axes
    assert p.plot((6, 7), sparsities=[1.0], axes=three) is three[0].figure  # more: fine


@pytest.mark.parametrize("images, drawn, says", [
    ((1, 4, 8, 9), (8, 9, 4), None),  # RGBA: in colour, alpha included
    ((1, 2, 8, 9), (8, 9), "channel 0 of 2"),
    ((1, 6, 8, 9), (8, 9), "channel 0 of 6"),
    ((1, 1, 5, 8, 9), (8, 9), "plane 2 of 5"),  # a grey volume: its middle plane
    ((1, 3, 5, 8, 9), (8, 9, 3), "plane 2 of 5"),
])
def test_plot_draws_images_of_any_channels_and_volumes(images, drawn, says):
    pytest.importorskip("matplotlib", reason="needs matplotlib for plotting")
    import matplotlib
    matplotlib.use("Agg")
    batch = np.random.default_rng(0).random(images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (6 channels: "grey volumes?" is asked)
        p = isvs_graph.image_paths(batch, levels=[1.0, 0.8])
    fig = p.plot(sparsities=[1.0, 0.8])
    for ax, sparsity in zip(fig.axes, (1.0, 0.8)):
        array = ax.get_images()[0].get_array()
        assert array.shape == drawn
        if len(drawn) == 2:  # grey: the channel (and plane) named, as the solve gave it
            plane = np.asarray(p.at(sparsity=sparsity))[0, 0]
            plane = plane[images[2] // 2] if len(images) == 5 else plane
            np.testing.assert_allclose(array, plane)
        title = ax.get_title()
        assert title.count("\n") == (2 if says else 1) and (says is None or says in title)
