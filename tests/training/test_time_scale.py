"""The training scale that transfers: the dimensionless time, through every entry point.

A sparsity counts flat edges that never enter, so on an image with a plain background the
same sparsity smooths little or stops at the floor; a time means the same strength of
smoothing on every image (issue 21). These tests build such images (uint8 and float, 4-
and 8-neighbour) and check the time's promise and its plumbing.
"""

import warnings

import numpy as np
import pytest
import torch

from isvs_graph import (ConvergenceWarning, grid_graph, image_paths, path, smooth_image,
                        smooth_images, solve)
from isvs_graph.training import (DEFAULT_TIMES, CachedISVSDataset, CoarseToFine, Fixed,
                                 SmoothImages, SparsityRange, TimeRange, as_rule,
                                 bundled_digits, matched_radii, psnr)


def photo_crops(count, size=32, seed=0):
    """Busy crops of scikit-image's astronaut, uint8 ``B × 3 × size × size``."""
    from skimage import data
    photo = data.astronaut()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        r, c = rng.integers(0, photo.shape[0] - 2 * size, 2)
        out.append(photo[r:r + 2 * size:2, c:c + 2 * size:2])
    return np.stack(out).transpose(0, 3, 1, 2).copy()


def on_flat_background(count, size=32, seed=1):
    """Photo crops of half the side, pasted on an exactly flat grey background (two
    thirds of the edges flat): the kind of image a sparsity misjudges."""
    crops = photo_crops(count, size // 2, seed)
    out = np.full((count, 3, size, size), 128, dtype=np.uint8)
    lo = size // 4
    out[:, :, lo:lo + size // 2, lo:lo + size // 2] = crops
    return out


def floats(images):
    return torch.from_numpy(images).float() / 255


def tv_kept(smoothed, images):
    """Per image, the share of its total variation (the sum of absolute differences of
    neighbouring pixels) that the smoothing kept: visibly smoothed where it is well below
    1, whatever the image's contrast (a PSNR is high for any low-contrast image)."""
    def tv(a):
        a = np.asarray(a, dtype=np.float64)
        return np.abs(np.diff(a, axis=-1)).sum((1, 2, 3)) + \
            np.abs(np.diff(a, axis=-2)).sum((1, 2, 3))
    return tv(smoothed) / tv(images)


def median_psnr(smoothed, images):
    return float(psnr(floats(np.asarray(smoothed)), floats(images)).median())


@pytest.mark.parametrize("kind", ["uint8", "float"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_a_time_smooths_flat_background_images_where_a_sparsity_stalls(kind, connectivity):
    images = on_flat_background(6)
    given = images if kind == "uint8" else images.astype(np.float32) / 255
    # The default range never reaches the floor (the ConvergenceWarning is an error in
    # the test suite), and its coarse end smooths every image visibly.
    for t in DEFAULT_TIMES:
        out = smooth_images(given, t=t, connectivity=connectivity)
        kept = tv_kept(out, given)
        assert bool((kept < (0.95 if t == DEFAULT_TIMES[0] else 1.0)).all()), (t, kept)
    # The paper's sparsity range: half of these images' edges never enter.
    with pytest.warns(ConvergenceWarning, match="cannot reach"):
        smooth_images(given, sparsity=0.6, connectivity=connectivity)


def test_the_default_range_smooths_digits_photos_and_plain_backgrounds_alike():
    digits = bundled_digits()[0][0][:24]
    kinds = {"digits": digits, "photo crops": photo_crops(24),
             "flat background": on_flat_background(24)}
    spreads = []
    for t in DEFAULT_TIMES:
        medians = {name: median_psnr(smooth_images(images, t=t), images)
                   for name, images in kinds.items()}
        # (A PSNR counts the exact background as error-free: three quarters of the
        # flat-background images, which lifts theirs by up to 6 dB.)
        assert max(medians.values()) < 37, (t, medians)
        spreads.append(max(medians.values()) - min(medians.values()))
        assert spreads[-1] < 10, (t, medians)
    # The same sparsity does not: the flat background keeps far more of the image.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_sparsity = {name: median_psnr(smooth_images(images, sparsity=0.7), images)
                       for name, images in kinds.items()}
    assert max(by_sparsity.values()) - min(by_sparsity.values()) > 2 * max(spreads), \
        by_sparsity


def test_every_entry_point_reads_the_same_time():
    images = on_flat_background(3)
    t = 17.0
    batch = smooth_images(images, t=t)
    single = smooth_image(images[1].transpose(1, 2, 0), t=t)
    assert np.array_equal(single, batch[1].transpose(1, 2, 0))
    graph = grid_graph(32, 32)
    signals = images.reshape(3, 3, -1).transpose(0, 2, 1).astype(np.float64)
    solved = solve(graph, signals, t)
    paths = path(graph, signals, t_max=24.0, record_times=[t])
    np.testing.assert_array_equal(paths.at(t=t), solved)
    image_path = image_paths(images, t_max=24.0, record_times=[t])
    np.testing.assert_array_equal(image_path.at(t=t), batch)
    # One time per image, as the rules draw them.
    each = smooth_images(images, t=[12.0, 17.0, 24.0])
    np.testing.assert_array_equal(each[1], batch[1])


def test_time_rules():
    rule = TimeRange()
    assert (rule.low, rule.high) == DEFAULT_TIMES and rule.scale == "t"
    assert rule.finest == DEFAULT_TIMES[1] and rule.lowest is None
    draws = rule.draw(500, epoch=0, generator=torch.Generator().manual_seed(0))
    assert draws.min() >= 12 and draws.max() <= 24 and draws.std() > 2
    assert Fixed(16, scale="t").draw(2).tolist() == [16.0, 16.0]
    curriculum = CoarseToFine(8, 16, epochs=3, scale="t")
    assert [curriculum(e) for e in range(4)] == [8.0, 12.0, 16.0, None]
    assert curriculum.finest == 16 and curriculum.lowest is None
    assert as_rule((8, 16), scale="t").finest == 16
    assert isinstance(as_rule((0.6, 0.8)), SparsityRange)
    with pytest.raises(ValueError, match="low must be <= high"):
        TimeRange(24, 12)
    with pytest.raises(ValueError, match="t must be >= 0"):
        Fixed(-1, scale="t")
    with pytest.raises(ValueError, match="scale must be 't' or 'sparsity'"):
        Fixed(1, scale="time")
    with pytest.raises(ValueError, match="sparsity must lie in"):
        Fixed(16)  # a number without scale="t" is a sparsity


def test_smooth_images_transform_defaults_to_the_time_range():
    images = floats(photo_crops(4))
    transform = SmoothImages(seed=3)
    assert isinstance(transform.rule, TimeRange) and transform.scale == "t"
    assert repr(transform) == "SmoothImages(TimeRange(12.0, 24.0))"
    out = transform(images)
    draws = TimeRange().draw(4, epoch=0, generator=SmoothImages(seed=3)._draws())
    torch.testing.assert_close(out, smooth_images(images, t=draws), rtol=0, atol=0)
    fixed = SmoothImages(t=16)
    torch.testing.assert_close(fixed(images), smooth_images(images, t=16.0), rtol=0, atol=0)
    assert isinstance(SmoothImages(t=(8, 16)).rule, TimeRange)
    assert SmoothImages(TimeRange(8, 16)).scale == "t"  # a rule keeps its own scale
    with pytest.raises(TypeError, match="sparsity or t, not both"):
        SmoothImages(0.7, t=16)


def test_a_schedule_function_keeps_to_its_scale():
    transform = SmoothImages(t=lambda epoch: 16.0 if epoch == 0 else SparsityRange(0.6, 0.8))
    images = floats(photo_crops(2))
    torch.testing.assert_close(transform(images), smooth_images(images, t=16.0))
    transform.set_epoch(1)
    with pytest.raises(ValueError, match="a rule in sparsity, where it was given as t"):
        transform(images)


def test_smooth_images_then_augmentation_compose():
    kornia = pytest.importorskip("kornia", reason="the isvs+augment recipe needs kornia")
    images = floats(photo_crops(4))
    pipeline = torch.nn.Sequential(
        kornia.augmentation.RandomAffine(degrees=10, translate=(0.1, 0.1), p=1.0))
    torch.manual_seed(0)
    out = pipeline(SmoothImages(t=16)(images))
    torch.manual_seed(0)
    expected = pipeline(smooth_images(images, t=16.0))
    assert out.shape == images.shape and torch.equal(out, expected)
    assert not torch.equal(out, smooth_images(images, t=16.0))  # the augmentation ran


def test_cached_dataset_serves_times_and_counts_floor_hits(tmp_path):
    images = on_flat_background(8)
    labels = np.arange(8) % 2
    dataset = CachedISVSDataset(images, labels, tmp_path / "t", shard_size=3, seed=2)
    assert dataset.scale == "t" and dataset.t_max == DEFAULT_TIMES[1]
    assert dataset.build(progress=False) == 3
    for i in (0, 4, 7):
        t = dataset.scale_of(i)
        expected = torch.from_numpy(smooth_images(images[i:i + 1], t=t)[0]).float() / 255
        # Between recorded times a read is within the path's bound of the solve.
        served = dataset[i][0]  # reads the shards on first use
        bound = dataset._shards[i // 3].bound(t=t)[i % 3]
        assert (served - expected).abs().max() * 255 <= bound + 1e-9
    exact = CachedISVSDataset(images, labels, tmp_path / "fixed", t=Fixed(15.0, scale="t"),
                              record_times=[15.0])
    exact.build(progress=False)
    assert torch.equal(exact[5][0], torch.from_numpy(
        smooth_images(images[5:6], t=15.0)[0]).float() / 255)
    assert dataset.floor_hits(range(3)) == 0.0
    # The same images by sparsity: draws below their floor are counted.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_sparsity = CachedISVSDataset(images, labels, tmp_path / "s",
                                        sparsity=SparsityRange(0.5, 0.7), levels=[1.0, 0.5])
        by_sparsity.build(progress=False)
        assert by_sparsity.floor_hits(range(2)) > 0.5


def test_cached_dataset_rebuilds_for_another_time_range(tmp_path):
    images, labels = on_flat_background(4), np.zeros(4, dtype=np.int64)
    CachedISVSDataset(images, labels, tmp_path, t=(8, 16)).build(progress=False)
    assert CachedISVSDataset(images, labels, tmp_path, t=(8, 16)).build(progress=False) == 0
    assert CachedISVSDataset(images, labels, tmp_path, t=(8, 24)).build(progress=False) == 1
    with pytest.raises(ValueError, match="beyond the cached paths' end"):
        dataset = CachedISVSDataset(images, labels, tmp_path, t=(8, 24))
        dataset.t_max = 10.0
        dataset.scale_of(0)
    with pytest.raises(ValueError, match="must know the largest time"):
        CachedISVSDataset(images, labels, tmp_path, t=lambda epoch: 12.0)


def test_matched_radii_in_time():
    images = floats(photo_crops(8))
    radii = matched_radii(images, [8.0, 24.0], scale="t")
    assert radii[0] < radii[1]  # finer ISVS, wider low-pass
    with pytest.raises(ValueError, match="scale must be"):
        matched_radii(images, [8.0], scale="time")
