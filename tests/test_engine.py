"""The solver engine: scale-free solving, bounded cost, jumps over idle stretches, and
the invariances of its backends (DESIGN §2, issue "The solver engine")."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Data

import isvs_graph
from helpers import DEVICES, random_graph
from isvs_graph._solver import FLOOR, MAX_ITER, REACHED, run_split_lbi
from isvs_graph._solve import prepare
from reference import split_lbi
from test_solver import grid_case


def photo_crops(count=6, size=16, seed=0):
    """Small RGB crops in [0, 1] (float64, B×C×H×W) of a bundled photo, each with some
    texture (no crop lies in a flat area)."""
    from skimage import data
    photo = data.coffee() / 255.0
    rng = np.random.default_rng(seed)
    crops = []
    while len(crops) < count:
        r = rng.integers(0, photo.shape[0] - 2 * size)
        c = rng.integers(0, photo.shape[1] - 2 * size)
        crop = photo[r:r + 2 * size:2, c:c + 2 * size:2]
        if np.ptp(crop) > 0.3:
            crops.append(crop)
    return np.stack(crops).transpose(0, 3, 1, 2).copy()


def run(graph, signal, **options):
    """run_split_lbi on a validated problem; returns the SolverResult."""
    scale = {k: options.pop(k) for k in ("t", "sparsity", "backend", "progress")
             if k in options}
    problem = prepare(graph, signal, **options)
    return run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options, **scale)


# ---------------------------------------------------------------- scale-free solving

AFFINE = [(255.0, 0.0), (1e-3, 7.0), (3.5, -40.0)]


@pytest.mark.parametrize("a,b", AFFINE)
@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("scale", [{"t": 15.0}, {"sparsity": 0.7}])
def test_solve_is_equivariant_under_affine_maps(a, b, mode, scale):
    graph, _, x = grid_case()
    expected = a * isvs_graph.solve(graph, x, mode=mode, **scale) + b
    got = isvs_graph.solve(graph, a * x + b, mode=mode, **scale)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * a * np.ptp(x))


@pytest.mark.parametrize("a,b", AFFINE)
def test_every_image_entry_point_is_equivariant(a, b):
    images = photo_crops()
    moved = a * images + b
    tolerance = {"rtol": 0, "atol": 1e-9 * a}
    smooth = isvs_graph.smooth_images(images, sparsity=0.75)
    np.testing.assert_allclose(isvs_graph.smooth_images(moved, sparsity=0.75),
                               a * smooth + b, **tolerance)
    np.testing.assert_allclose(isvs_graph.smooth_images(torch.from_numpy(moved), t=8.0),
                               a * isvs_graph.smooth_images(torch.from_numpy(images), t=8.0)
                               + b, **tolerance)
    one = images[0].transpose(1, 2, 0)
    np.testing.assert_allclose(isvs_graph.smooth_image(a * one + b, sparsity=0.8),
                               a * isvs_graph.smooth_image(one, sparsity=0.8) + b, **tolerance)
    paths = isvs_graph.image_paths(moved, levels=[1.0, 0.75])
    np.testing.assert_allclose(paths.at(sparsity=0.75), a * smooth + b, **tolerance)
    from isvs_graph.training import SmoothImages
    np.testing.assert_allclose(SmoothImages(0.75)(torch.from_numpy(moved)).numpy(),
                               a * smooth + b, **tolerance)


@pytest.mark.parametrize("a,b", AFFINE)
def test_graph_entry_points_are_equivariant(a, b):
    from isvs_graph.transforms import ISVSSmooth
    graph, _, x = grid_case()
    p = isvs_graph.path(graph, a * x + b, sparsity_min=0.6, levels=[0.8, 0.6])
    expected = a * isvs_graph.solve(graph, x, sparsity=0.6) + b
    np.testing.assert_allclose(p.at(sparsity=0.6), expected, rtol=0, atol=1e-9 * a)
    # Path entry times are dimensionless: the same for x and a x + b.
    np.testing.assert_array_equal(p.entry_times,
                                  isvs_graph.path(graph, x, sparsity_min=0.6).entry_times)
    data = graph.clone()
    data.x = torch.from_numpy(a * x + b)
    out = ISVSSmooth(sparsity=0.6)(data)
    np.testing.assert_allclose(out.x.numpy(), expected, rtol=0, atol=1e-9 * a)


def test_cli_is_equivariant(tmp_path):
    from PIL import Image

    from isvs_graph.cli import main
    image = np.round(photo_crops(1, size=24)[0].transpose(1, 2, 0) * 100).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    Image.fromarray(2 * image + 40).save(tmp_path / "b.png")
    for name in ("a", "b"):
        main(["smooth", str(tmp_path / f"{name}.png"), str(tmp_path / f"{name}_out.png"),
              "--sparsity", "0.8", "-q"])
    out_a = np.asarray(Image.open(tmp_path / "a_out.png")).astype(int)
    out_b = np.asarray(Image.open(tmp_path / "b_out.png")).astype(int)
    # Both files round to uint8: equal up to the rounding of each.
    assert np.abs(out_b - (2 * out_a + 40)).max() <= 2


def test_constant_signals_come_back_unchanged():
    # σ = 0: returned as they are (bit for bit), whatever the scale asked for.
    graph = isvs_graph.grid_graph(4, 4)
    x = np.full((16, 3), 0.3)
    with pytest.warns(isvs_graph.ConvergenceWarning, match="floor"):
        assert isvs_graph.solve(graph, x, sparsity=0.5).tolist() == x.tolist()
    assert isvs_graph.solve(graph, x, t=1e6).tolist() == x.tolist()
    batch = np.stack([x, np.random.default_rng(0).random((16, 3))])
    out = isvs_graph.solve(graph, batch, t=3.0)
    assert out[0].tolist() == x.tolist() and np.ptp(out[1]) > 0


def test_tol_is_relative_to_the_range():
    # The same image at two contrasts stops at the same floor.
    images = photo_crops()
    quantised = np.round(images * 8) / 8  # many flat edges: the floor is reached
    with pytest.warns(isvs_graph.ConvergenceWarning):
        low = isvs_graph.smooth_images(quantised * 0.01, sparsity=0.05)
    with pytest.warns(isvs_graph.ConvergenceWarning):
        high = isvs_graph.smooth_images(quantised, sparsity=0.05)
    np.testing.assert_allclose(low * 100, high, atol=1e-9)


# ---------------------------------------------------------------- bounded cost

def test_at_the_floor_the_projection_is_exact():
    """At the floor the support is final; the answer is the mean of x over each of its
    components — here x itself — not an iterate within tol of it."""
    graph = isvs_graph.grid_graph(6, 6)
    blocks = np.zeros((6, 6))
    blocks[:, 3:] = 1.0
    blocks[4:, :] += 0.5
    x = blocks.reshape(-1, 1)
    got = isvs_graph.solve(graph, x, t=1e9)
    np.testing.assert_array_equal(got, x)
    result = run(graph, x, t=1e9)
    assert result.status[0] == FLOOR and result.steps[0] < 5_000


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_unreachable_targets_warn_at_the_floor_naming_it(backend):
    graph, _, x = grid_case()
    x = np.round(x * 2) / 2  # flat edges
    with pytest.warns(isvs_graph.ConvergenceWarning, match="stopped at the floor") as caught:
        isvs_graph.solve(graph, x, sparsity=0.0, backend=backend)
    # The warning points at the caller's line, not inside the package.
    assert caught[0].filename == __file__


def test_max_iter_warning_names_the_bound_and_points_at_the_caller():
    images = photo_crops()
    with pytest.warns(isvs_graph.ConvergenceWarning, match="max_iter = 7 steps") as caught:
        isvs_graph.smooth_images(images, sparsity=0.2, max_iter=7)
    assert caught[0].filename == __file__


@pytest.mark.parametrize("options,match", [
    ({"nu": 1e-4}, "the problem is slow: nu = 0.0001 makes one relaxation"),
    ({"kappa": 50.0}, "the problem is slow: kappa = 50 is large"),
    ({"alpha": 1e-4}, "the problem is slow: alpha = 0.0001 is far below the default"),
    ({"tol": 1e-6}, "the problem is slow: tol = 1e-06 is small"),
    ({}, "raise max_iter \\(default 100,000\\)"),
])
def test_max_iter_warning_names_the_cause(options, match):
    graph, _, x = grid_case()
    with pytest.warns(isvs_graph.ConvergenceWarning, match=match):
        isvs_graph.solve(graph, x, sparsity=0.0, max_iter=100, **options)


def test_max_iter_warning_names_a_feather_light_edge():
    # An edge of weight 1e-300 joins two levels 0.9 apart: its difference counts as 1e-300
    # of theirs, so it would enter after some 1e300 steps. More max_iter is no cure, and
    # the warning says why; without such an edge it only suggests more max_iter.
    x = np.array([0.0, 0.1, 1.0, 1.1])
    edges = torch.tensor([[0, 1, 2], [1, 2, 3]])
    for weight, named in ((1e-300, True), (1e-3, False)):
        graph = Data(edge_index=edges, num_nodes=4,
                     edge_weight=torch.tensor([1.0, weight, 1.0], dtype=torch.float64))
        with pytest.warns(isvs_graph.ConvergenceWarning, match="raise max_iter") as caught:
            isvs_graph.solve(graph, x, sparsity=0.0, max_iter=50)
        message = str(caught[0].message)
        assert ("the lightest edge weighs" in message) == named, message
        if named:
            assert "weighs 1.5e-300 of the mean" in message and "drop such edges" in message


@pytest.mark.parametrize("options,match", [
    ({"nu": 1e-9}, "stiff: nu = 1e-09 makes one relaxation"),
    ({"nu": 1e9}, "stiff: nu = 1e\\+09"),
    ({"weights": True}, "edge weights are heavy.*rescale edge_weight"),
])
def test_hopelessly_stiff_problems_are_refused_promptly(options, match):
    graph, _, x = grid_case()
    if options.pop("weights", False):
        graph.edge_weight = torch.logspace(-8, 8, graph.num_edges, dtype=torch.float64)
    with pytest.raises(ValueError, match=match):
        isvs_graph.solve(graph, x, sparsity=0.5, **options)


@pytest.mark.parametrize("weight, steps", [(1e10, "more steps than any run can take"),
                                           (1e160, "more steps than any run can take"),
                                           (1e9, "about 4.21e\\+18 steps")])
def test_uniformly_heavy_weights_are_blamed_not_kappa(weight, steps):
    # Beyond 1e10 the default step is so small that no edge could ever enter; that was
    # blamed on the default κ, and beyond 1e154 numpy warned of an overflow first.
    graph, _, x = grid_case()
    graph.edge_weight = torch.full((graph.num_edges,), weight, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=rf"stiff: the edge weights are heavy .*takes "
                                             rf"{steps}; rescale edge_weight"):
            isvs_graph.solve(graph, x, t=5.0)


def test_a_huge_kappa_is_blamed_where_the_weights_would_do_with_the_default():
    graph, _, x = grid_case()
    graph.edge_weight = torch.full((graph.num_edges,), 20.0, dtype=torch.float64)
    with pytest.raises(ValueError, match="kappa = 1e\\+30 is far too large"):
        isvs_graph.solve(graph, x, t=1.0, kappa=1e30)
    isvs_graph.solve(graph, x, t=1.0, kappa=1.0)  # these weights do with a usual κ


def test_a_given_max_iter_above_the_default_allows_slow_problems():
    graph, _, x = grid_case()
    with pytest.raises(ValueError, match="stiff"):
        isvs_graph.solve(graph, x, sparsity=0.9, nu=1e-5)
    # 1/(κα) ≈ 5e5 steps: allowed when the caller grants that many.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", isvs_graph.ConvergenceWarning)
        result = run(graph, x, t=1.0, nu=1e-5, max_iter=2_000_000)
    assert result.status[0] in (REACHED, FLOOR)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_cases_that_once_hung_end_within_the_bound(backend, dtype):
    from torch_geometric.datasets import KarateClub
    image = np.full((32, 32, 3), 128, np.uint8)
    image[10:16, 12:20] = (200, 30, 60)
    cases = [
        (isvs_graph.grid_graph(32, 32, connectivity=8), image.reshape(-1, 3) / 255,
         {"sparsity": 0.8}),
        (KarateClub()[0], KarateClub()[0].x.numpy(), {"sparsity": 0.9, "mode": "channel"}),
        (Data(edge_index=torch.stack([torch.zeros(16, dtype=torch.long),
                                      torch.arange(1, 17)]), num_nodes=17),
         np.random.default_rng(0).random(17), {"sparsity": 0.0}),
    ]
    for graph, signal, options in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", isvs_graph.ConvergenceWarning)
            result = run(graph, signal.astype(dtype), backend=backend, **options)
        assert result.status[0] in (REACHED, FLOOR)
        assert result.steps[0] < 5_000  # far inside the bound (max_iter = 100,000)


@st.composite
def near_flat_images(draw):
    """A flat image with a few patches and optional faint noise: most edges are flat
    or almost flat, the targets often out of reach."""
    size = draw(st.integers(4, 20))
    channels = draw(st.sampled_from([1, 3]))
    image = np.full((size, size, channels), draw(st.floats(0, 1)))
    for _ in range(draw(st.integers(0, 3))):
        r, c = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))
        h, w = draw(st.integers(1, size)), draw(st.integers(1, size))
        image[r:r + h, c:c + w] = draw(st.floats(0, 1))
    noise = draw(st.sampled_from([0.0, 1e-7, 1e-5, 1e-3]))
    seed = draw(st.integers(0, 2**16))
    image = image + noise * np.random.default_rng(seed).standard_normal(image.shape)
    if draw(st.booleans()):
        image = np.round(image * 255) / 255  # as read from uint8
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return image.reshape(-1, channels).astype(dtype), size


@given(near_flat_images(), st.sampled_from([4, 8]), st.floats(0, 1),
       st.sampled_from(["numba", "torch"]), st.sampled_from(["joint", "channel"]))
def test_near_flat_images_end_by_target_or_floor_with_a_warning(image, connectivity,
                                                                  sparsity, backend, mode):
    signal, size = image
    graph = isvs_graph.grid_graph(size, size, connectivity=connectivity)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", isvs_graph.ConvergenceWarning)
        result = run(graph, signal, sparsity=sparsity, backend=backend, mode=mode)
    assert result.status[0] in (REACHED, FLOOR)  # never cut off by the step bound
    assert np.isfinite(result.u).all()
    if result.status[0] == REACHED:
        assert result.sparsity[0] <= sparsity
    else:
        assert any("floor" in str(w.message) for w in caught)


# ---------------------------------------------------------------- jumps

@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("scale", [{"t": 6.0}, {"t": 40.0}, {"t": 300.0},
                                   {"sparsity": 0.8}, {"sparsity": 0.5}])
def test_jumps_change_nothing_beyond_1e_6_where_the_target_is_reached(mode, scale):
    images = photo_crops(8)
    graph = isvs_graph.grid_graph(16, 16)
    signals = images.transpose(0, 2, 3, 1).reshape(8, 256, 3)
    plain = run(graph, signals, jumps=False, mode=mode, **scale)
    jumped = run(graph, signals, mode=mode, **scale)
    reached = (plain.status == REACHED) & (jumped.status == REACHED)
    assert reached.sum() >= 6
    difference = np.abs(plain.u - jumped.u).max(axis=(0, 2))
    assert (difference[reached] <= 1e-6 * np.ptp(signals, axis=(1, 2))[reached]).all()
    assert jumped.steps.sum() <= plain.steps.sum()


def test_the_opening_phase_is_jumped():
    """A long ramp: every difference is small, so the first edges enter late; u is
    stationary long before, and z only grows linearly: one jump crosses the wait."""
    graph = isvs_graph.grid_graph(1, 200)
    x = np.linspace(0, 1, 200)
    plain = run(graph, x, sparsity=0.99, jumps=False)
    jumped = run(graph, x, sparsity=0.99)
    assert plain.status[0] == jumped.status[0] == REACHED
    assert plain.iterations[0] == jumped.iterations[0]
    assert jumped.steps[0] < plain.steps[0] / 2
    np.testing.assert_allclose(jumped.u, plain.u, atol=1e-9)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_jumps_land_on_time_targets(backend):
    graph = isvs_graph.grid_graph(1, 40)
    x = np.linspace(0, 1, 40) ** 8
    alpha = prepare(graph, x).options.alpha
    for k in (5, 37, 200):
        result = run(graph, x, t=k * alpha, backend=backend)
        assert result.iterations[0] == k
        expected, _, _ = split_lbi({(i, i + 1): 1.0 for i in range(39)}, 40, x[:, None],
                                   iterations=k, project=False)
        np.testing.assert_allclose(result.u[:, 0, 0], expected[:, 0], atol=1e-8)


# ---------------------------------------------------------------- backends

@pytest.fixture
def split_steps(monkeypatch):
    """``enable()`` sends every signal of a small batch through steps split across
    threads, 5 at a time, alternating with 5 on one thread (as the measured choice may
    switch); ``calls["split"]`` counts the split stretches that ran."""
    import numba

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING
    if numba.get_num_threads() < 2:
        pytest.skip("needs two numba threads to split a step across")
    calls = {"split": 0}

    def alternate(run_until, state, b, bar=None, clock=None, ready=None, memory=None):
        split = True
        while state.status[b] == RUNNING:
            calls["split"] += split
            run_until(split, int(state.steps[b]) + 5)
            split = not split

    def enable():
        monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 1)
        monkeypatch.setattr(numba_backend, "_run_measured", alternate)

    from types import SimpleNamespace
    return SimpleNamespace(enable=enable, calls=calls)


def test_wide_steps_equal_one_signal_per_thread_bit_for_bit(monkeypatch, split_steps):
    images = photo_crops(3)
    for connectivity in (4, 8):
        graph = isvs_graph.grid_graph(16, 16, connectivity=connectivity)
        signals = images.transpose(0, 2, 3, 1).reshape(3, 256, 3).astype(np.float32)
        serial = run(graph, signals, sparsity=0.6, mode="channel")
        split_steps.enable()
        wide = run(graph, signals, sparsity=0.6, mode="channel")
        monkeypatch.undo()
        assert np.array_equal(serial.u, wide.u)
        assert np.array_equal(serial.iterations, wide.iterations)
    graph, _ = random_graph(4)
    x = np.random.default_rng(4).random((3, graph.num_nodes, 2))
    serial = run(graph, x, sparsity=0.5)
    split_steps.enable()
    wide = run(graph, x, sparsity=0.5)
    assert np.array_equal(serial.u, wide.u)
    assert split_steps.calls["split"] >= 9  # 3 signals, 3 graphs


@pytest.mark.parametrize("shape, connectivity", [((12, 13), 4), ((12, 13), 8),
                                                 ((5, 6, 7), 6), ((5, 6, 7), 26)])
def test_a_grid_step_swept_in_chunks_is_the_two_pass_step_bit_for_bit(
        monkeypatch, split_steps, shape, connectivity):
    # A chunk as large as the grid is the plain order: every edge, then every node.
    # Chunks of 1, 5 and 17 pixels (smaller than a row, than the largest shift, not at
    # row boundaries), on one thread and wide with blocks smaller than the largest
    # shift, must give the same bits: each edge reads u before its nodes move. (A
    # small grid's layout is kept per chunk size: the chunk is the one set here.)
    from isvs_graph._solver import numba_backend
    rng = np.random.default_rng(3)
    p = int(np.prod(shape))
    graph = isvs_graph.grid_graph(shape, connectivity=connectivity)
    x = rng.random((2, p, 3)).astype(np.float32)

    def solve(chunk, wide):
        monkeypatch.setattr(numba_backend, "GRID_CHUNK", chunk)
        if wide:
            split_steps.enable()
        else:
            monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
        recorded = isvs_graph.path(graph, x[0], levels=[0.9, 0.6])
        # float64, channel mode and ν = 0.2: entries leave and enter in the same
        # iteration, so the log's order within an iteration is tested too.
        changes = isvs_graph.path(graph, x[1].astype(np.float64), mode="channel", nu=0.2)
        joint = run(graph, x, sparsity=0.6)
        channel = run(graph, x, t=3.0, mode="channel")
        grey = isvs_graph.path(graph, x[0, :, :1], levels=[0.9, 0.6], nu=0.2)  # its loop
        return recorded, joint, channel, changes, grey

    plain = solve(p, wide=False)
    assert plain[1].iterations.min() > 10
    # (Chunks of a few voxels make a volume's path take minutes: volumes are swept in
    # chunks of 17, still fewer than their largest shift, 43 or 50.)
    sweeps = ((1, False), (5, False), (5, True), (17, True)) if len(shape) == 2 else \
        ((17, False), (17, True))
    for chunk, wide in sweeps:
        swept = solve(chunk, wide)
        for before, after in ((plain[0], swept[0]), (plain[3], swept[3]),
                              (plain[4], swept[4])):
            for name, array in before._arrays.items():
                np.testing.assert_array_equal(array, after._arrays[name], err_msg=name)
        for before, after in zip(plain[1:3], swept[1:3]):
            assert np.array_equal(before.u, after.u)
            assert np.array_equal(before.iterations, after.iterations)
            assert np.array_equal(before.support, after.support)
    assert len(plain[3].leave_events) > 0
    assert split_steps.calls["split"] > 0


def test_wide_steps_record_the_same_path(split_steps):
    images = photo_crops(2)
    plain = isvs_graph.image_paths(images, levels=[0.9, 0.6], nu=0.2)
    split_steps.enable()
    wide = isvs_graph.image_paths(images, levels=[0.9, 0.6], nu=0.2)
    assert split_steps.calls["split"] >= 2
    assert len(plain.leave_events) > 0  # nu = 0.2: edges leave, the log is exercised
    for name, array in plain._arrays.items():
        np.testing.assert_array_equal(array, wide._arrays[name], err_msg=name)


def test_a_progress_bar_changes_nothing(capsys):
    graph, _, x = grid_case()
    for batch in (x, np.stack([x, 2 * x])):
        quiet = isvs_graph.solve(graph, batch, sparsity=0.6)
        shown = isvs_graph.solve(graph, batch, sparsity=0.6, progress=True)
        np.testing.assert_array_equal(quiet, shown)
    assert "Split LBI" in capsys.readouterr().err


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["joint", "channel"])
def test_backends_agree_with_jumps_and_floors(device, mode):
    images = photo_crops(4)
    graph = isvs_graph.grid_graph(16, 16)
    signals = images.transpose(0, 2, 3, 1).reshape(4, 256, 3)
    for scale in ({"t": 30.0}, {"sparsity": 0.7}, {"t": 1e6}):
        numba = isvs_graph.solve(graph, signals, mode=mode, **scale)
        torch_ = isvs_graph.solve(graph, torch.from_numpy(signals).to(device), mode=mode,
                                  backend="torch", **scale)
        np.testing.assert_allclose(torch_.cpu().numpy(), numba, atol=1e-6)


# ---------------------------------------------------------------- found in review

@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_smooth_gradients_are_not_flattened_by_the_floor(backend):
    """Every edge of a fine gradient is below the floor, but the differences add up
    along it: the region is not flat, so the run goes on and splits it."""
    ramp = np.tile(np.linspace(0, 255, 512).round(), (16, 1))
    graph = isvs_graph.grid_graph(16, 512)
    got = isvs_graph.solve(graph, ramp.reshape(-1), t=1000.0, backend=backend)
    assert np.abs(got - ramp.reshape(-1)).max() <= 5 * 3e-3 * 255
    line = np.linspace(0, 1, 400)
    got = isvs_graph.solve(isvs_graph.grid_graph(1, 400), line, t=1e4, backend=backend)
    assert np.abs(got - line).max() <= 5 * 3e-3


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_a_target_met_by_the_last_step_is_reached_not_the_floor(backend):
    graph = isvs_graph.grid_graph(10, 10)
    r = np.random.default_rng(8)
    x = (r.random((100, 1)) < 0.3) * 1.0 + r.random((100, 1)) * r.choice([0, .01, .05, .2])
    result = run(graph, x, sparsity=0.115, backend=backend)
    assert result.status[0] == REACHED and result.sparsity[0] <= 0.115
    image = x.reshape(1, 1, 10, 10)
    paths = isvs_graph.image_paths(image, levels=[1.0, 0.115])
    np.testing.assert_array_equal(paths.at(sparsity=0.115),
                                  isvs_graph.smooth_images(image, sparsity=0.115))


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_graphs_without_edges_on_both_backends(backend):
    graph = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=5)
    x = np.arange(5.0)
    assert isvs_graph.solve(graph, x, t=1.0, backend=backend).tolist() == x.tolist()
    assert isvs_graph.path(graph, x).at(t=3.0).tolist() == x.tolist()
    # Several channels per channel: the torch backend's floor test labels one partition
    # per signal and channel, none of which has an edge (it failed to reshape them).
    x = np.stack([np.arange(5.0), -np.arange(5.0)], axis=1)
    for mode in ("joint", "channel"):
        got = isvs_graph.solve(graph, x, t=1.0, mode=mode, backend=backend)
        assert got.tolist() == x.tolist()


def test_pyg_batches_are_solved_graph_by_graph():
    from torch_geometric.data import Batch

    from isvs_graph.transforms import ISVSSmooth
    a, b = isvs_graph.grid_graph(8, 8), isvs_graph.grid_graph(8, 8)
    a.x = torch.rand(64, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b.x = 100 * torch.rand(64, 1, generator=torch.Generator().manual_seed(1),
                           dtype=torch.float64)
    transform = ISVSSmooth(t=20.0)
    together = transform(Batch.from_data_list([a.clone(), b.clone()])).x
    assert torch.equal(together[:64], transform(a.clone()).x)
    assert torch.equal(together[64:], transform(b.clone()).x)


def test_transform_options_are_checked_when_built_and_warnings_point_at_the_caller():
    from isvs_graph.transforms import ISVSSmooth
    with pytest.raises(TypeError, match="unknown solver options \\['kapa'\\]"):
        ISVSSmooth(sparsity=0.9, kapa=1)
    data = isvs_graph.grid_graph(4, 4)
    data.x = torch.full((16, 1), 0.5)
    with pytest.warns(isvs_graph.ConvergenceWarning) as caught:
        ISVSSmooth(sparsity=0.5)(data)
    assert caught[0].filename == __file__


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32, np.uint16])
def test_integer_images_keep_their_extremes(dtype):
    info = np.iinfo(dtype)
    for value in (info.min, info.max):
        image = np.full((3, 3), value, dtype=dtype)
        assert (isvs_graph.smooth_image(image, t=1.0) == value).all()
    image = np.zeros((4, 4), dtype=dtype) + info.min
    image[:, 2:] = info.max
    out = isvs_graph.smooth_image(image, t=1e4)
    assert out.dtype == dtype and out.min() >= info.min and out.max() <= info.max


def test_values_too_large_for_float64_sums_are_refused():
    x = np.where(np.arange(64) < 32, 1.7e308, -1.7e308)
    with pytest.raises(ValueError, match="too large to average over 64 nodes"):
        isvs_graph.solve(isvs_graph.grid_graph(8, 8), x, t=1.0)


def test_float32_jumps_stay_within_1e_6_of_the_range():
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))[..., None]
    for sparsity in (0.95, 0.7):
        jumped = isvs_graph.smooth_image(ramp, sparsity=sparsity)
        plain = isvs_graph.smooth_image(ramp, sparsity=sparsity, jumps=False)
        assert np.abs(jumped - plain).max() <= 1e-6


def test_numpy_booleans_are_accepted_for_jumps():
    graph, _, x = grid_case()
    np.testing.assert_array_equal(isvs_graph.solve(graph, x, t=3.0, jumps=np.bool_(False)),
                                  isvs_graph.solve(graph, x, t=3.0, jumps=False))


@pytest.mark.parametrize("split_cost, expected", [
    (lambda k: 0.4, "split"),  # two threads pay: nearly every step split
    (lambda k: 12.0, "one"),  # a busy machine: waking threads costs more than a step
    (lambda k: 0.4 if k < 1500 else 12.0, "adapts"),  # the machine gets busy halfway
])
def test_one_large_signal_splits_its_steps_only_while_that_is_cheaper(split_cost, expected):
    from types import SimpleNamespace

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING
    total = 3000
    state = SimpleNamespace(status=np.array([RUNNING]), steps=np.array([0]), waved=np.array([0]))
    now, split_at = [0.0], np.zeros(total, dtype=bool)

    def run_until(split, until):  # one step costs 1 ms on one thread
        for k in range(int(state.steps[0]), min(until, total)):
            now[0] += 1e-3 * (split_cost(k) if split else 1.0)
            split_at[k] = split
            state.steps[0] += 1
        if state.steps[0] == total:
            state.status[0] = REACHED

    numba_backend._run_measured(run_until, state, 0, clock=lambda: now[0])
    assert state.steps[0] == total
    best = sum(1e-3 * min(1.0, split_cost(k)) for k in range(total))
    if expected == "split":
        assert split_at.mean() > 0.9 and not split_at[:8].any()  # it starts on one
    elif expected == "one":
        assert split_at.mean() < 0.02
    else:  # noticed within a stretch of 0.1 s (250 cheap steps)
        assert split_at[:1500].mean() > 0.8 and split_at[1750:].mean() < 0.02
    assert now[0] < (1.2 if expected != "adapts" else 2.5) * best


def test_a_split_not_compiled_is_tried_only_once_a_run_is_long():
    # The split step is cheaper, but compiling it would cost seconds: until ``ready``
    # says so (cached, or the run long enough), every step stays on one thread. The
    # first stretch compiled the loop on one thread (30 s): that is not running time.
    from types import SimpleNamespace

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING
    total = 3000
    state = SimpleNamespace(status=np.array([RUNNING]), steps=np.array([0]), waved=np.array([0]))
    now, split_at, asked = [0.0], np.zeros(total, dtype=bool), []

    def run_until(split, until):  # 1 ms a step on one thread, 0.4 ms split
        now[0] += 30.0 if not state.steps[0] else 0.0
        for k in range(int(state.steps[0]), min(until, total)):
            now[0] += 1e-3 * (0.4 if split else 1.0)
            split_at[k] = split
            state.steps[0] += 1
        if state.steps[0] == total:
            state.status[0] = REACHED

    def ready(seconds):
        asked.append(seconds)
        return seconds >= 1.0

    numba_backend._run_measured(run_until, state, 0, clock=lambda: now[0], ready=ready)
    first = int(np.argmax(split_at))
    assert 1000 <= first <= 1100 and split_at[first:].mean() > 0.9
    assert asked and max(asked) < 1.1  # not asked again once the split has run


def test_a_short_run_never_tries_splitting_its_steps():
    from types import SimpleNamespace

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING
    state = SimpleNamespace(status=np.array([RUNNING]), steps=np.array([0]), waved=np.array([0]))
    now, tried = [0.0], []

    def run_until(split, until):  # 100 steps of 50 µs: 5 ms in all
        tried.append(split)
        state.steps[0] = min(until, 100)
        now[0] = 5e-5 * state.steps[0]
        if state.steps[0] == 100:
            state.status[0] = REACHED

    numba_backend._run_measured(run_until, state, 0, clock=lambda: now[0])
    assert state.steps[0] == 100 and not any(tried)


def _simulated(total, one_step, split_step, wake):
    """A signal of ``total`` steps; a step costs ``one_step`` s on one thread,
    ``split_step`` split, plus ``wake`` s for a split stretch after steps on one thread
    (the threads asleep). Returns (state, run_until, clock, split_at, now)."""
    from types import SimpleNamespace

    from isvs_graph._solver.numba_kernels import RUNNING
    state = SimpleNamespace(status=np.array([RUNNING]), steps=np.array([0]), waved=np.array([0]))
    now, split_at, awake = [0.0], np.zeros(total, dtype=bool), [False]

    def run_until(split, until):
        if split and not awake[0]:
            now[0] += wake
        awake[0] = split
        for k in range(int(state.steps[0]), min(until, total)):
            now[0] += split_step if split else one_step
            split_at[k] = split
            state.steps[0] += 1
        if state.steps[0] == total:
            state.status[0] = REACHED

    return state, run_until, (lambda: now[0]), split_at, now


def test_waking_the_threads_is_not_counted_as_the_split_steps_cost():
    # Split steps cost 0.4 ms, but the first after steps on one thread waits 20 ms for
    # the threads to wake: a trial that counted it would find the split 5× dearer.
    from isvs_graph._solver import numba_backend
    state, run_until, clock, split_at, now = _simulated(3000, 1e-3, 4e-4, 2e-2)
    numba_backend._run_measured(run_until, state, 0, clock=clock)
    assert state.steps[0] == 3000 and split_at.mean() > 0.9


def test_a_kind_of_signal_starts_the_way_that_was_cheaper_before():
    # 80 steps of 50 µs: too short for a trial. A first run on one thread leaves its
    # cost; one that learnt the split cheaper (a long run of the kind) starts split.
    from isvs_graph._solver import numba_backend
    memory = {}
    state, run_until, clock, split_at, _ = _simulated(80, 5e-5, 2e-5, 1e-4)
    numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
    assert not split_at.any()
    assert True not in memory and memory[False] == pytest.approx(5e-5)
    assert memory["spent"] == pytest.approx(80 * 5e-5)
    state, run_until, clock, split_at, _ = _simulated(3000, 5e-5, 2e-5, 1e-4)
    numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
    assert split_at.mean() > 0.9 and memory[True] < memory[False]
    state, run_until, clock, split_at, now = _simulated(100, 5e-5, 2e-5, 1e-4)
    numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
    assert split_at.all() and now[0] < 100 * 2e-5 + 2e-4
    # A machine that got busy: split steps now cost 10× one; the run notices and the
    # memory says so for the next.
    state, run_until, clock, split_at, _ = _simulated(3000, 5e-5, 5e-4, 1e-4)
    numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
    assert split_at.mean() < 0.05 and memory[True] > memory[False]
    state, run_until, clock, split_at, _ = _simulated(100, 5e-5, 5e-4, 1e-4)
    numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
    assert not split_at.any()


def test_short_signals_of_a_kind_try_the_split_once_they_have_run_long_enough():
    # Signals of 40 steps, 2 ms each on one thread: none lasts TRIAL_AFTER (5 ms), but
    # the third of the kind has, with the first two: it tries the split, which halves
    # a step, and the signals after it split from their first step.
    from isvs_graph._solver import numba_backend
    memory, split = {}, []
    for _ in range(6):
        state, run_until, clock, split_at, _ = _simulated(40, 5e-5, 2.5e-5, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        split.append(split_at.mean())
    assert split[:2] == [0.0, 0.0] and 0 < split[2] < 1 and min(split[3:]) == 1.0
    # Where the split costs 5× a step (a busy machine) it is tried once, then not.
    memory, steps = {}, 0
    for _ in range(30):
        state, run_until, clock, split_at, _ = _simulated(40, 5e-5, 2.5e-4, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        steps += int(split_at.sum())
    assert steps == numba_backend.WAKE_STEPS + numba_backend.TRIAL_STEPS


def test_plain_steps_near_a_target_bring_no_trial_of_their_own():
    # Steps in wavefronts cost about half a plain step (split: 0.3 against 0.6 ms). A run
    # whose last 400 steps go one at a time (near its target) tries one thread no more
    # often than one that runs wavefronts to its end; a load that triples every step is
    # still noticed within a stretch.
    from types import SimpleNamespace

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING

    def one_thread_steps(plain_from, load_from=10 ** 9):
        state = SimpleNamespace(status=np.array([RUNNING]), steps=np.array([0]),
                                waved=np.array([0]))
        now, alone = [0.0], []

        def run_until(split, until):
            for k in range(int(state.steps[0]), min(until, 1600)):
                waved = k < plain_from
                cost = (3e-4 if waved else 6e-4) if split else (7e-4 if waved else 1.2e-3)
                now[0] += cost * (3.0 if k >= load_from else 1.0)
                state.waved[0] += waved
                alone.append(not split)
                state.steps[0] += 1
            if state.steps[0] == 1600:
                state.status[0] = REACHED

        memory = {True: 3e-4, False: 7e-4, "spent": 1.0, "tried": 1.0, "retry": 1e3}
        numba_backend._run_measured(run_until, state, 0, clock=lambda: now[0],
                                    memory=memory)
        return np.array(alone)

    wavefronts, near = one_thread_steps(10 ** 9), one_thread_steps(1200)
    assert near.sum() == wavefronts.sum() <= numba_backend.TRIAL_STEPS
    loaded = one_thread_steps(1200, load_from=600)  # split steps get 3× dearer
    assert loaded[600:].sum() > wavefronts.sum()


def test_long_signals_of_a_kind_do_not_each_try_the_way_that_lost():
    # A 1024² photo's 140 steps: 7 ms on one thread, 2.8 ms split. Trials of one thread
    # lose, and the stretches between trials, doubled by each, carry over to the next
    # signal of the kind: not every signal pays for a trial (each did, four steps).
    from isvs_graph._solver import numba_backend
    memory, alone = {}, []
    for _ in range(8):
        state, run_until, clock, split_at, _ = _simulated(140, 7e-3, 2.8e-3, 1e-3)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        alone.append(int((~split_at).sum()))
    assert sum(alone[2:]) <= 2 * numba_backend.TRIAL_STEPS  # (each of six did: 24)
    assert memory[True] < memory[False]


def test_long_signals_of_a_kind_split_again_soon_after_a_load_has_gone():
    # 3,000 steps of 1 ms on one thread; under a load that lasts 50 signals (150 s) the
    # split costs 5 ms a step, then 0.4 ms. What the trials lost under the load (their
    # interval, the stretches between them) is capped: the first signal after the load
    # splits again within about 2 s, the next from its start.
    from isvs_graph._solver import numba_backend
    memory = {}
    for _ in range(50):
        state, run_until, clock, split_at, _ = _simulated(3000, 1e-3, 5e-3, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        assert split_at.mean() < 0.05
    assert memory["every"] <= numba_backend.CARRIED_EVERY
    assert memory["retry"] <= numba_backend.RETRY_MAX
    after = []
    for _ in range(2):
        state, run_until, clock, split_at, _ = _simulated(3000, 1e-3, 4e-4, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        after.append(split_at.mean())
    assert after[0] > 0.2 and after[1] > 0.9  # (uncapped: 36 signals on one thread)


def test_short_signals_of_a_kind_try_again_after_a_load_has_passed():
    # Short signals (2 ms) that found the split 5× dearer under load: once the load
    # passes (the split halves a step), the kind tries it again within RETRY_AFTER
    # seconds of running and splits from then on; under a load that stays, the trials
    # grow rarer (RETRY_AFTER, then twice that, …): a few dozen split steps in 4 s.
    from isvs_graph._solver import numba_backend
    memory, loaded = {}, 0
    for _ in range(10):
        state, run_until, clock, split_at, _ = _simulated(40, 5e-5, 2.5e-4, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        loaded += int(split_at.sum())
    assert loaded <= numba_backend.WAKE_STEPS + numba_backend.TRIAL_STEPS
    split = []
    for _ in range(400):  # 0.8 s of signals
        state, run_until, clock, split_at, _ = _simulated(40, 5e-5, 2.5e-5, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        split.append(split_at.mean())
    assert max(split[:50]) == 0.0 and min(split[-100:]) == 1.0
    memory, steps = {}, 0
    for _ in range(2000):  # 4 s of signals under a load that stays
        state, run_until, clock, split_at, _ = _simulated(40, 5e-5, 2.5e-4, 1e-4)
        numba_backend._run_measured(run_until, state, 0, clock=clock, memory=memory)
        steps += int(split_at.sum())
    trials = steps // (numba_backend.WAKE_STEPS + numba_backend.TRIAL_STEPS)
    assert 2 <= trials <= 7  # the first, then after 0.25, 0.5, 1, 2 s (4.0 s in all)


def test_the_costs_learnt_are_kept_per_kind_for_the_latest_kinds(monkeypatch):
    from isvs_graph._kept import Kept
    from isvs_graph._solver import numba_backend
    monkeypatch.setattr(numba_backend, "_MEASURED", Kept(0, 3))  # the latest 3 kinds
    first = numba_backend._measured(("a",))
    first[False] = 1.0
    assert numba_backend._measured(("a",)) is first
    assert numba_backend._measured(("b",)) == {}
    for kind in ("c", "d"):
        numba_backend._measured((kind,))
    assert list(numba_backend._MEASURED) == [("b",), ("c",), ("d",)]  # "a" the oldest
    assert numba_backend._measured(("a",)) == {}


def test_a_small_grid_keeps_its_kernel_layout(monkeypatch):
    # A small image's call spent more time laying its grid out than solving it: a grid's
    # layout is kept per dtype and threads (within KEPT_LAYOUT_BYTES), the same arrays as
    # a fresh one.
    from isvs_graph._solver import numba_backend
    from isvs_graph.graphs._grid import grid_canonical
    graph = grid_canonical(9, 8, connectivity=8)
    kept = numba_backend.kernel_graph(graph, np.dtype(np.float32))
    assert numba_backend.kernel_graph(grid_canonical(9, 8, connectivity=8),
                                      np.dtype(np.float32)) is kept
    assert numba_backend.kernel_graph(graph, np.dtype(np.float64)) is not kept
    x = np.random.default_rng(1).random((72, 3)).astype(np.float32)
    solved = isvs_graph.solve(graph, x, sparsity=0.6)
    from isvs_graph._kept import Kept
    monkeypatch.setattr(numba_backend, "_KEPT_LAYOUTS", Kept(0, 32))  # none kept
    fresh = numba_backend.kernel_graph(graph, np.dtype(np.float32))
    assert fresh is not kept
    assert all(np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype
               for a, b in zip(kept, fresh))
    assert np.array_equal(isvs_graph.solve(graph, x, sparsity=0.6), solved)


WAVEFRONT_CASES = [((23, 29), 4), ((23, 29), 8), ((6, 7, 8), 6), ((6, 7, 8), 26)]


@pytest.mark.parametrize("shape, connectivity", WAVEFRONT_CASES)
def test_steps_run_as_a_wavefront_are_the_plain_steps_bit_for_bit(monkeypatch, shape,
                                                                  connectivity):
    # A large grid runs the steps up to each check as one wavefront, each step ``pad``
    # pixels behind the one before. Forced on small grids, with chunks of 1 pixel, fewer
    # than ``pad`` and the whole grid, it must give the bits of plain steps at every
    # stop: a sparsity near which the steps go one at a time, a time, the step bound,
    # the floor, and runs resumed in stretches (a progress bar).
    from isvs_graph._solver import numba_backend
    rng = np.random.default_rng(5)
    p = int(np.prod(shape))
    graph = isvs_graph.grid_graph(shape, connectivity=connectivity)
    x = rng.random((3, p, 3)).astype(np.float32)
    steps = np.repeat(np.arange(4.0), -(-p // 4))[:p, None] * np.ones(2)  # a floor

    def solve(min_nodes, chunk):
        monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
        monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", min_nodes)
        monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_ROWS", 1)
        monkeypatch.setattr(numba_backend, "WAVEFRONT_CHUNK", chunk)
        monkeypatch.setattr(numba_backend, "COMPILE_WAVEFRONT", True)
        layout = numba_backend.kernel_graph(prepare(graph, x[0]).graph, np.dtype(np.float32))
        assert layout.wavefront == (chunk if min_nodes <= p else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the floor and the bound warn
            return [run(graph, x, sparsity=0.6), run(graph, x, sparsity=0.3, mode="channel"),
                    run(graph, x.astype(np.float64), t=5.0),
                    run(graph, x, sparsity=0.05, max_iter=21),
                    run(graph, steps, sparsity=0.0),
                    run(graph, x[:1], sparsity=0.4, progress=True)]

    plain = solve(10 ** 9, 1)
    assert plain[4].status[0] == FLOOR and plain[3].status[0] == MAX_ITER
    # Stops that are no check step: inside a wavefront, or at its cut.
    assert any(s % 8 > 1 for result in plain for s in result.steps)
    for chunk in (1, 7, p):
        for before, after in zip(plain, solve(1, chunk)):
            for name in ("u", "support", "iterations", "steps", "status"):
                assert np.array_equal(getattr(before, name), getattr(after, name)), name
    assert _wavefronts_compiled() > 0


def _seen(monkeypatch, name):
    """``Recorded.<name>`` of every numba run, summed over its signals: a list that grows
    with every run."""
    from isvs_graph._solver import numba_backend
    seen = []
    original = numba_backend._run_signals

    def counted(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(int(getattr(out, name).sum()))
        return out

    monkeypatch.setattr(numba_backend, "_run_signals", counted)
    return seen


@pytest.fixture
def reruns(monkeypatch):
    """How often each numba run went again from its start."""
    return _seen(monkeypatch, "reruns")


def _fronts_cases(graph, x, steps):
    """The stops a wavefront must land on exactly: a sparsity (passed inside one: the
    run goes again), per channel, a time in float64, the step bound, the floor, and two
    signals one after the other."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the floor and the bound warn
        return [run(graph, x[:1], sparsity=0.6), run(graph, x[:1], sparsity=0.3, mode="channel"),
                run(graph, x[:1].astype(np.float64), t=5.0),
                run(graph, x[:1], sparsity=0.05, max_iter=21),
                run(graph, steps, sparsity=0.0), run(graph, x, sparsity=0.8)]


@pytest.mark.parametrize("shape, connectivity", [
    ((40, 29), 4), ((40, 29), 8), ((23, 29), 4), ((41, 5, 6), 6), ((41, 5, 6), 26),
    ((300, 1), 4), ((1, 300), 4)])
def test_steps_split_as_wavefronts_are_the_plain_steps_bit_for_bit(
        monkeypatch, reruns, shape, connectivity):
    # Split across threads, the steps up to each check run as one wavefront a block of
    # rows, each keeping ``pad`` pixels further from its neighbours with every step, then
    # the wedges left at the cuts. On 2 threads (23, 29)'s blocks of 11–12 rows allow 5
    # steps at once and the 26-grid's 7; one row cannot be cut (plain split steps).
    # Whole runs and runs resumed in stretches of 5 steps must give the bits of plain
    # steps on one thread.
    import numba

    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import RUNNING
    if numba.get_num_threads() < 2:
        pytest.skip("needs two numba threads to split a step across")
    rng = np.random.default_rng(5)
    p = int(np.prod(shape))
    graph = isvs_graph.grid_graph(shape, connectivity=connectivity)
    x = rng.random((2, p, 3)).astype(np.float32)
    steps = np.repeat(np.arange(4.0), -(-p // 4))[:p, None] * np.ones(2)  # a floor
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 10 ** 9)
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
    plain = _fronts_cases(graph, x, steps)
    assert plain[4].status[0] == FLOOR and plain[3].status[0] == MAX_ITER
    assert any(s % 8 > 1 for result in plain for s in result.steps)
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 1)
    for stretch in (numba_backend.EVERY_STEP, 5):
        def split(run_until, state, b, bar=None, clock=None, ready=None, memory=None):
            while state.status[b] == RUNNING:
                run_until(True, min(int(state.steps[b]) + stretch, numba_backend.EVERY_STEP))

        monkeypatch.setattr(numba_backend, "_run_measured", split)
        for before, after in zip(plain, _fronts_cases(graph, x, steps)):
            for name in ("u", "support", "iterations", "steps", "status"):
                assert np.array_equal(getattr(before, name), getattr(after, name)), name
    assert _wavefronts_compiled(split=True) > 0


def test_a_wavefront_that_passes_its_target_goes_again_from_the_start(monkeypatch, reruns):
    # A target sparsity is seen only at a wavefront's end. Where one passes it, the run
    # goes again from its start up to the step that reached it: the bits of plain steps,
    # on one thread or split. Near a target (the support growing fast: the first
    # entries, a burst of ties; or twice its largest growth by a wavefront would reach
    # it) the steps go one at a time instead, so these runs go again only when that is
    # switched off.
    import numba

    from isvs_graph._solver import numba_backend
    rng = np.random.default_rng(2)
    graph = isvs_graph.grid_graph(48, 40)
    # Noise (entries start at once), and flat blocks (their edges enter in a burst).
    blocks = np.kron(rng.random((12, 10, 3)), np.ones((4, 4, 1))).reshape(-1, 3)
    x = np.stack([rng.random(blocks.shape), blocks]).astype(np.float32)
    targets = (0.99, 0.95, 0.9, 0.8)
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 10 ** 9)
    plain = [run(graph, x[i:i + 1], sparsity=target) for i in range(2) for target in targets]
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 1)
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_ROWS", 1)
    monkeypatch.setattr(numba_backend, "COMPILE_WAVEFRONT", True)
    ways = {}
    for anticipate in (True, False):
        monkeypatch.setattr(numba_backend, "ANTICIPATE", anticipate)
        reruns.clear()
        ways["one thread", anticipate] = [run(graph, x[i:i + 1], sparsity=target)
                                          for i in range(2) for target in targets]
        assert (sum(reruns) > 0) == (not anticipate)
    if numba.get_num_threads() > 1:
        monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 1)
        monkeypatch.setattr(numba_backend, "_run_measured",
                            lambda run_until, *args, **kwargs: run_until(
                                True, numba_backend.EVERY_STEP))
        reruns.clear()
        ways["split", False] = [run(graph, x[i:i + 1], sparsity=target)
                                for i in range(2) for target in targets]
        assert sum(reruns) > 0
    for results in ways.values():
        for before, after in zip(plain, results):
            for name in ("u", "support", "iterations", "steps", "status"):
                assert np.array_equal(getattr(before, name), getattr(after, name)), name


def _waved(counts, reach, stretch, every=8):
    """The steps of a run to ``reach`` entries that go in wavefronts (of up to ``every``
    steps, to each check) in stretches of ``stretch`` steps, as the near test of
    ``numba_kernels.run_signal`` decides, from the support's size after each step
    (``counts[k]``): after the first wavefront (steps 1 to the first check), one at a
    time until the support has grown between two checks and while it does not grow;
    elsewhere halved while its share of twice the growth (times
    its acceleration), or of twice the largest growth between two checks fading by an
    eighth a check, would reach the target."""
    steps = count = mark = before = last = grown = waved = 0
    until = stretch
    while count < reach:
        if steps >= until:
            until += stretch
        depth = min(-steps % every + 1, until - steps)
        growth = max(last, count - mark)
        if (before <= 0 or growth <= 0) and steps > 1:  # (the first wavefront runs)
            depth = 1
        elif steps > 1:
            ahead = 2 * max(growth * max(1.0, growth / before), grown)
            while depth > 1 and count + ahead * depth / every >= reach:
                depth //= 2
        check = (steps + depth - 1) % every == 0
        waved += depth if depth > 1 else 0
        steps += depth
        count = counts[steps]
        if check:
            before, last = last, count - mark
            grown, mark = max(last, grown - (grown + 7) // 8), count
    return waved, steps


def _coffee_plain(monkeypatch):
    """The coffee photo at 64×48 on its grid and its run in plain steps to sparsity 0.5,
    jumps off (one thread)."""
    from skimage import data, transform

    from isvs_graph._solver import numba_backend
    graph = isvs_graph.grid_graph(64, 48)
    x = transform.resize(data.coffee(), (64, 48), anti_aliasing=True)
    x = x.reshape(-1, 3).astype(np.float32)
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 10 ** 9)
    return graph, x, run(graph, x, sparsity=0.5, jumps=False)


def _force_fronts(monkeypatch):
    """Every grid, whatever its size, runs its steps as wavefronts on one thread."""
    from isvs_graph._solver import numba_backend
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 1)
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_ROWS", 1)
    monkeypatch.setattr(numba_backend, "COMPILE_WAVEFRONT", True)


@pytest.mark.parametrize("stretch", [10 ** 9, 5, 12])
def test_steps_far_from_a_target_run_as_wavefronts(monkeypatch, stretch):
    # The near test reads the support's growth between two checks, each at the end of a
    # wavefront or a step of its own, across stretches too (a progress bar): the steps
    # far from the target run as wavefronts, as a simulation of the rule says.
    from isvs_graph._solver import numba_backend
    graph, x, plain = _coffee_plain(monkeypatch)
    steps = int(plain.steps[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step bound warns
        counts = [0] + [int(run(graph, x, sparsity=0.0, max_iter=k, jumps=False)
                            .support.sum()) for k in range(1, steps + 1)]
    assert counts[-1] == int(plain.support.sum())
    reach = graph.num_edges * (1 - 0.5)
    expected, expected_steps = _waved(counts, reach, stretch)
    assert expected_steps == steps and expected >= steps // 2  # (114 steps, 80–84)
    _force_fronts(monkeypatch)
    monkeypatch.setattr(numba_backend, "PROGRESS_STEPS", stretch)
    monkeypatch.setattr(numba_backend, "FORESIGHT", 0)  # (the rule on counts alone)
    waved = _seen(monkeypatch, "waved")
    fronts = run(graph, x, sparsity=0.5, jumps=False, progress=stretch < 10 ** 9)
    assert waved == [expected]
    assert np.array_equal(fronts.u, plain.u) and int(fronts.steps[0]) == steps


def test_the_opening_runs_as_wavefronts_where_no_entries_are_foreseen(monkeypatch, reruns):
    # With no growth of the support to go by (the first entries), a wavefront reads how
    # many entries its step's r would bring within four times its depth: where twice that
    # leaves the target unreached, the opening runs as wavefronts too — the bits of plain
    # steps, no run going again; where entries come in a burst (flat blocks), it does not.
    # The first wavefront (steps 1–8) runs either way: step 0's r is 0 (u_0 is the mean).
    from isvs_graph._solver import numba_backend, numba_kernels
    graph, x, plain = _coffee_plain(monkeypatch)
    _force_fronts(monkeypatch)
    monkeypatch.setattr(numba_backend, "PROGRESS_STEPS", 24)  # (the opening: a stretch)
    stretches, original = [], numba_kernels.run_batch

    def seen(order, split, graph, consts, rule, x, state, *args):
        original(order, split, graph, consts, rule, x, state, *args)
        stretches.append((int(state.steps[0]), int(state.waved[0])))

    monkeypatch.setattr(numba_kernels, "run_batch", seen)
    opening = {}
    for foresight in (0, numba_backend.FORESIGHT):
        monkeypatch.setattr(numba_backend, "FORESIGHT", foresight)
        stretches.clear()
        fronts = run(graph, x, sparsity=0.5, jumps=False, progress=True)
        assert np.array_equal(fronts.u, plain.u) and stretches[0][0] == 24
        opening[foresight] = stretches[0][1]
    assert opening == {0: 8, numba_backend.FORESIGHT: 16} and sum(reruns) == 0
    # Flat blocks: their edges enter together, soon after the first (a burst) — foreseen.
    rng = np.random.default_rng(2)
    blocks = np.kron(rng.random((16, 12, 3)), np.ones((4, 4, 1))).reshape(-1, 3)
    for target in (0.99, 0.97, 0.95, 0.9):
        run(graph, blocks.astype(np.float32), sparsity=target)
    assert sum(reruns) == 0


def test_bursts_of_ties_and_stretches_bring_no_run_that_goes_again(monkeypatch, reruns):
    # Near a target a wavefront is halved by the support's growth, but a plateau's tied
    # edges enter in one step (stripes: 768 → 1,776 entries): the entries due must leave
    # the target unreached as well. And a run resumed in stretches (a progress bar) starts
    # each with r = 0 on one thread: the look ahead waits for a step of its own.
    from skimage import data, transform

    from isvs_graph._solver import numba_backend
    H, W = 48, 40
    stripes = np.repeat(((np.arange(W) // 3) % 2)[None, :, None], H, 0) * np.ones((1, 1, 3))
    checker = (((np.arange(H)[:, None] // 6) + (np.arange(W)[None] // 6)) % 2)[..., None]
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    photo = transform.resize(data.astronaut() / 255.0, (H, W), anti_aliasing=True)
    cases = [(stripes, 4, "joint", 0.6, {}), (checker, 8, "joint", 0.6, {}),
             (np.stack([yy, xx], -1), 8, "channel", 0.3, {}),
             (photo, 4, "joint", 0.97, {"progress": True})]
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
    monkeypatch.setattr(numba_backend, "PROGRESS_STEPS", 9)
    for image, connectivity, mode, target, extra in cases:
        graph = isvs_graph.grid_graph((H, W), connectivity=connectivity)
        x = image.reshape(-1, image.shape[-1]).astype(np.float32)
        monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 10 ** 9)
        plain = run(graph, x, sparsity=target, mode=mode, jumps=False)
        _force_fronts(monkeypatch)
        reruns.clear()
        fronts = run(graph, x, sparsity=target, mode=mode, jumps=False, **extra)
        assert np.array_equal(fronts.u, plain.u) and sum(reruns) == 0


def test_the_blocks_of_a_split_wavefront_bound_its_depth():
    # Each block needs (2 depth + 1) pad pixels: the trapezoid of its steps, and the
    # wedges at its cuts, must not overlap.
    from isvs_graph._solver import numba_backend
    from isvs_graph._solver.numba_kernels import front_depth
    layout = numba_backend.kernel_graph(
        isvs_graph.graphs.canonical_graph(isvs_graph.grid_graph(40, 10)), np.dtype(np.float32))

    def depth(cuts, pad, steps=8):
        return front_depth(layout._replace(front_blocks=np.array(cuts, dtype=np.int64),
                                           pad=pad), steps)

    assert depth([0, 100, 250], 10) == 4  # (100 // 10 − 1) // 2
    assert depth([0, 100, 250], 10, steps=3) == 3
    assert depth([0, 170, 340], 10) == 8
    assert depth([0, 100, 250], 60) == 0  # too small a block for a step: split plainly
    assert depth([0, 30, 60], 10) == 1
    assert depth([0, 250], 10) == 0  # one block: nothing to split


def _wavefronts_compiled(split=False):
    """The loops compiled for a wavefront (split across threads, or on one)."""
    import numba

    from isvs_graph._solver.numba_kernels import run_signal
    at = 15 if split else 14  # (fronts: split, with no block logs; front: one thread)
    return sum(not isinstance(s[at], numba.types.NoneType) for s in run_signal.signatures)


def test_a_large_image_is_solved_as_a_wavefront_with_the_plain_steps_bits(monkeypatch):
    from skimage import data, transform

    from isvs_graph._solver import numba_backend
    image = transform.resize(data.camera(), (256, 256), anti_aliasing=True)
    # (a 256² image stands for a large one: the default takes a quarter of the L2 in
    # nodes)
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 256 * 256)
    monkeypatch.setattr(numba_backend, "COMPILE_WAVEFRONT", True)  # (or the cache has it)
    monkeypatch.setattr(numba_backend, "WIDE_MIN_NODES", 10 ** 9)
    fronts = [isvs_graph.smooth_image(image.astype(dtype), sparsity=0.8, mode=mode)
              for dtype in (np.float32, np.float64) for mode in ("joint", "channel")]
    assert _wavefronts_compiled() > 0
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 10 ** 9)
    plain = [isvs_graph.smooth_image(image.astype(dtype), sparsity=0.8, mode=mode)
             for dtype in (np.float32, np.float64) for mode in ("joint", "channel")]
    for front, step in zip(fronts, plain):
        assert np.array_equal(front, step)


@pytest.mark.parametrize("size,expected", [("512K", 512 << 10), ("2048K", 2 << 20),
                                           ("1M", 1 << 20), ("1536 K", 0), ("", 0),
                                           ("²K", 0), ("1.5M", 0), (b"\xff", 0)])
def test_the_l2_cache_is_read_from_linux_cpu_folders(tmp_path, size, expected):
    from isvs_graph._solver.numba_backend import l2_cache_bytes
    entries = [("1", "Data", "48K"), ("1", "Instruction", "32K"),
               ("2", "Unified", size), ("3", "Unified", "32768K")]
    for i, (level, kind, text) in enumerate(entries):
        index = tmp_path / f"index{i}"
        index.mkdir()
        for name, value in (("level", level), ("type", kind), ("size", text)):
            data = value if isinstance(value, bytes) else value.encode()
            (index / name).write_bytes(data + b"\n")  # (undecodable bytes too)
    assert l2_cache_bytes(str(tmp_path)) == expected
    assert l2_cache_bytes(str(tmp_path / "absent")) == 0  # another system


def test_the_wavefront_starts_at_a_quarter_of_the_l2_in_nodes():
    from isvs_graph._solver.numba_backend import wavefront_min_nodes
    assert wavefront_min_nodes(1 << 20) == 512 * 512  # measured on a 1 MB L2
    assert wavefront_min_nodes(2 << 20) == 1 << 19  # 724²: above 512² on 2 MB
    assert wavefront_min_nodes(128 << 10) == 1 << 16  # never below 256²
    assert wavefront_min_nodes(0) == 512 * 512  # unknown: the 1 MB figure


def test_volumes_and_short_grids_run_plain_steps(monkeypatch):
    # The eight steps of a wavefront span eight rows (planes): on a grid of fewer than
    # WAVEFRONT_MIN_ROWS along its first long axis that window is too large a part of it.
    from isvs_graph._solver import numba_backend
    monkeypatch.setattr(numba_backend, "WAVEFRONT_MIN_NODES", 1)
    layout = lambda *shape: numba_backend.kernel_graph(  # noqa: E731
        isvs_graph.graphs.canonical_graph(isvs_graph.grid_graph(shape)), np.dtype(np.float32))
    assert layout(63, 64, 64).wavefront == 0
    assert layout(64, 64, 64).wavefront == numba_backend.WAVEFRONT_CHUNK
    assert layout(63, 40).wavefront == 0
    assert layout(64, 40).wavefront == numba_backend.WAVEFRONT_CHUNK
    assert layout(1, 300).wavefront == numba_backend.WAVEFRONT_CHUNK  # one row: lag 1


def test_calls_that_record_nothing_share_only_empty_arrays():
    """Calls that record nothing share their recording's arrays (sizes and dtypes
    kept between calls): safe only because every one of them is empty, bar the log's
    count, which each call gets anew."""
    from isvs_graph._solver import numba_backend
    args = (2, 3, 64, 112, 1, np.dtype(np.float32), (), (), False, 64)
    first, second = numba_backend._recording(*args), numba_backend._recording(*args)
    for name, a, b in zip(first._fields, first, second):
        if name == "log_n":
            assert a is not b and a.shape == (2,) and not a.any()
        elif isinstance(a, np.ndarray):
            assert a.size == 0, name
    assert numba_backend._EMPTY_RECORDINGS.bytes == 0  # (clear_caches frees nothing)
    recorded = numba_backend._recording(2, 3, 64, 112, 1, np.float32, (0.5,), (), False, 64)
    assert recorded.level_u.shape == (2, 1, 3, 64)  # a recording call gets its own
