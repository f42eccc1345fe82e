import numpy as np
import pytest
import torch

import isvs_graph
from isvs_graph import image_paths, load_paths, smooth_images


def photo_batch(count=6, size=16, dtype=np.uint8):
    from skimage import data
    image = data.astronaut()
    crops = [image[40 * i:40 * i + size, 60 * i:60 * i + size] for i in range(count)]
    batch = np.stack(crops).transpose(0, 3, 1, 2)
    return batch if dtype == np.uint8 else (batch / 255.0).astype(dtype)


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_recorded_levels_equal_smooth_images_exactly(mode, dtype):
    images = photo_batch(dtype=dtype)
    paths = image_paths(images, levels=[1.0, 0.9, 0.8], mode=mode)
    for level in (1.0, 0.9, 0.8):
        expected = smooth_images(images, sparsity=level, mode=mode)
        got = paths.at(sparsity=level)
        assert got.dtype == expected.dtype and got.shape == images.shape
        np.testing.assert_array_equal(got, expected)


def test_scales_between_levels_have_the_solvers_partition():
    images = photo_batch(dtype=np.float64)
    paths = image_paths(images, levels=[1.0, 0.7])
    assert len(paths.leave_events) == 0  # ν = 1 here: no entry leaves
    got = paths.at(sparsity=0.85)
    for b in range(len(images)):
        expected = isvs_graph.smooth_image(images[b].transpose(1, 2, 0), sparsity=0.85)
        # The same regions: a pixel pair is equal in one iff it is in the other.
        flat_got = got[b].reshape(3, -1)[0]
        flat_expected = expected[..., 0].reshape(-1)
        same_got = np.isclose(flat_got[:, None], flat_got[None, :], rtol=0, atol=1e-12)
        same_expected = np.isclose(flat_expected[:, None], flat_expected[None, :], rtol=0,
                                   atol=1e-12)
        assert (same_got == same_expected).mean() > 0.999
    error = np.abs(got - smooth_images(images, sparsity=0.85)).reshape(len(images), -1)
    assert (error.max(axis=1) <= paths.bound(sparsity=0.85)).all()


def test_iterations_match_the_solver():
    images = photo_batch(dtype=np.float64)
    paths = image_paths(images, levels=[1.0, 0.75])
    from isvs_graph.images import images_to_signals
    from isvs_graph._solve import prepare
    from isvs_graph._solver import run_split_lbi
    signals, (h, w), _ = images_to_signals(images)
    problem = prepare(isvs_graph.grid_graph(h, w), signals)
    for s in (0.95, 0.85, 0.75):
        result = run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options,
                               sparsity=s)
        np.testing.assert_array_equal(paths.iterations(sparsity=s), result.iterations)
    result = run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options, t=2.0)
    np.testing.assert_array_equal(paths.iterations(2.0), result.iterations)


def test_per_image_scales_and_torch_batches():
    images = torch.from_numpy(photo_batch())
    paths = image_paths(images, levels=[1.0, 0.9, 0.8])
    got = paths.at(sparsity=[1.0, 0.9, 0.8, 0.8, 0.9, 1.0])
    assert isinstance(got, torch.Tensor) and got.dtype == torch.uint8
    expected = smooth_images(images, sparsity=[1.0, 0.9, 0.8, 0.8, 0.9, 1.0])
    assert torch.equal(got, expected)


def test_beyond_the_recorded_path_is_refused():
    paths = image_paths(photo_batch(dtype=np.float32), levels=[1.0, 0.9])
    with pytest.raises(ValueError, match="no recorded iterate"):
        paths.at(sparsity=0.5)


def test_save_and_load_round_trip(tmp_path):
    images = photo_batch(dtype=np.float32)
    paths = image_paths(images, levels=[1.0, 0.9, 0.8], kappa=2.0)
    file = tmp_path / "cache.npz"
    paths.save(file)
    loaded = load_paths(file, kappa=2.0, mode="joint", levels=[0.8, 0.9, 1.0])
    for level in (1.0, 0.85, 0.8):
        np.testing.assert_array_equal(loaded.at(sparsity=level), paths.at(sparsity=level))
    assert loaded.layout == paths.layout and loaded.options == paths.options
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npz"]  # no temporary left


def test_cache_made_with_other_options_is_refused(tmp_path):
    file = tmp_path / "cache.npz"
    image_paths(photo_batch(2), levels=[1.0, 0.9]).save(file)
    with pytest.raises(ValueError, match="made with kappa=0.5, not 2.0"):
        load_paths(file, kappa=2.0)
    with pytest.raises(ValueError, match="made with levels"):
        load_paths(file, levels=[1.0, 0.8])


def test_cache_options_compare_as_values_not_as_written(tmp_path):
    file = tmp_path / "cache.npz"
    image_paths(photo_batch(2), record_times=[5.0, 2.0]).save(file)
    # A level computed (0.6499999999999999) is the 0.65 of the defaults; times are a set.
    loaded = load_paths(file, levels=np.linspace(1.0, 0.5, 11), record_times=[2, 5, 2])
    assert loaded.options["record_times"] == [2.0, 5.0]
    with pytest.raises(ValueError, match=r"made with record_times=\[2.0, 5.0\], not "
                                         r"\[2.0, 6.0\]"):
        load_paths(file, record_times=[2.0, 6.0])
    with pytest.raises(ValueError, match="made with levels"):
        load_paths(file, levels=np.linspace(1.0, 0.5, 11) + 1e-6)
    with pytest.raises(ValueError, match=rf"'{tmp_path}' is a folder, not a path cache"):
        load_paths(tmp_path)


@pytest.mark.parametrize("offset", [300.0, 1e6, 1e12])
def test_the_bound_holds_for_float64_images_far_from_zero(offset):
    # The component means' float64 sums, formed in other orders by a read and a solve,
    # differ by up to a rounding a node of the offset (at 300 that passed the bound).
    images = photo_batch(1, dtype=np.float64) / 255 + offset
    paths = image_paths(images, t_max=20)
    for t in (0.1, 0.5, 2.0, 5.0, 13.3):
        error = np.abs(paths.at(t=t) - smooth_images(images, t=t)).max()
        assert error <= paths.bound(t=t)[0], (t, error)


@pytest.mark.parametrize("times, says", [([-3.0], "must be >= 0"),
                                         ([np.nan], "must be finite"),
                                         ([np.inf], "must be finite")])
def test_image_paths_check_their_record_times(times, says):
    with pytest.raises(ValueError, match=f"record_times {says}"):
        image_paths(photo_batch(1), record_times=times)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_cache_is_refused(tmp_path, damage):
    file = tmp_path / "cache.npz"
    image_paths(photo_batch(2), levels=[1.0, 0.9]).save(file)
    raw = bytearray(file.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        # Change one byte inside the stored entry iterations.
        with np.load(file) as data:
            needle = data["values"].tobytes()[:64]
        at = raw.find(needle) + 40
        raw[at] ^= 0xFF
    elif damage == "garbage":
        raw = bytearray(b"not a zip file at all" * 10)
    else:
        raw = bytearray()
    file.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="damaged|not an isvs_graph"):
        load_paths(file)


def test_missing_cache_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no path cache"):
        load_paths(tmp_path / "nothing.npz")


def test_cache_of_another_format_version_is_refused(tmp_path, monkeypatch):
    import importlib
    module = importlib.import_module("isvs_graph._paths")
    file = tmp_path / "cache.npz"
    monkeypatch.setattr(module, "FORMAT_VERSION", 99)
    image_paths(photo_batch(2), levels=[1.0, 0.9]).save(file)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="format version 99"):
        load_paths(file)
