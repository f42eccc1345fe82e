"""Volumes: the image functions on 3-D grids, with scikit-image's ``channel_axis``."""

import numpy as np
import pytest
import torch

import isvs_graph
from isvs_graph import image_paths, smooth_image, smooth_images


def blobs(shape=(6, 7, 8), channels=None, seed=0):
    """A piecewise-constant volume with noise (a few cubes on a background)."""
    rng = np.random.default_rng(seed)
    volume = np.zeros(shape)
    for _ in range(3):
        corner = [rng.integers(0, n - 2) for n in shape]
        volume[tuple(slice(c, c + 3) for c in corner)] += rng.random()
    volume += 0.05 * rng.standard_normal(shape)
    if channels:
        volume = np.stack([volume * (c + 1) for c in range(channels)], axis=-1)
    return volume


@pytest.mark.parametrize("connectivity", [None, 6, 18, 26])
def test_a_grey_volume_is_solved_on_its_voxel_grid(connectivity):
    volume = blobs()
    got = smooth_image(volume, t=4.0, channel_axis=None, connectivity=connectivity)
    graph = isvs_graph.grid_graph(volume.shape, connectivity=connectivity)  # (6, 7, 8)
    expected = isvs_graph.solve(graph, volume.reshape(-1), t=4.0).reshape(volume.shape)
    np.testing.assert_array_equal(got, expected)
    assert got.shape == volume.shape and np.abs(got - volume).max() > 0.01
    batch = smooth_images(volume[None, None], t=4.0, connectivity=connectivity)
    np.testing.assert_array_equal(batch[0, 0], got)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_channel_axis_picks_the_channels_and_keeps_the_layout(axis):
    volume = np.moveaxis(blobs(channels=2), -1, axis)
    got = smooth_image(volume, sparsity=0.9, channel_axis=axis)
    assert got.shape == volume.shape
    planes = np.moveaxis(volume, axis, 0)[None]  # (1, C, D, H, W)
    expected = np.moveaxis(smooth_images(planes, sparsity=0.9)[0], 0, axis)
    np.testing.assert_array_equal(got, expected)
    tensor = smooth_image(torch.from_numpy(volume), sparsity=0.9, channel_axis=axis)
    np.testing.assert_array_equal(tensor.numpy(), got)


def test_a_2d_image_reads_the_same_with_its_channel_axis_named():
    image = blobs((9, 10), channels=3)
    np.testing.assert_array_equal(smooth_image(image, t=3.0),
                                  smooth_image(image, t=3.0, channel_axis=-1))
    grey = image[..., 0]
    np.testing.assert_array_equal(smooth_image(grey, t=3.0),
                                  smooth_image(grey, t=3.0, channel_axis=None))


def test_integer_volumes_come_back_in_their_dtype():
    volume = (blobs() * 200).clip(0, 255).astype(np.uint8)
    got = smooth_image(volume, t=4.0, channel_axis=None)
    assert got.dtype == np.uint8
    exact = smooth_image(volume.astype(np.float64), t=4.0, channel_axis=None)
    assert np.abs(got.astype(float) - exact).max() <= 0.5 + 1e-9


def test_volume_paths_read_what_smooth_images_returns():
    batch = np.stack([blobs(seed=s, channels=2) for s in range(3)]).transpose(0, 4, 1, 2, 3)
    paths = image_paths(batch, levels=[1.0, 0.9, 0.8], connectivity=18)
    for s in (0.9, 0.8):
        np.testing.assert_array_equal(paths.at(sparsity=s),
                                      smooth_images(batch, sparsity=s, connectivity=18))
    between = paths.at(sparsity=0.85)
    exact = smooth_images(batch, sparsity=0.85, connectivity=18)
    error = np.abs(between - exact).reshape(3, -1).max(axis=1)
    assert (error <= paths.bound(sparsity=0.85)).all()
    assert paths.options["connectivity"] == 18


@pytest.mark.parametrize("shape,axis,match", [
    ((4, 5, 6, 7), None, "has 4 axes besides its channels"),
    ((4, 5), 0, "has 1 axes besides its channels"),
    ((4, 5, 6), 3, r"channel_axis must be None or an axis of the image \(-3 … 2\), got 3"),
    ((4, 5, 6, 2), "image", "must have shape"),
])
def test_shapes_that_are_no_image_or_volume_are_refused(shape, axis, match):
    options = {} if axis == "image" else {"channel_axis": axis}
    with pytest.raises(ValueError, match=match):
        smooth_image(np.zeros(shape), t=1.0, **options)


@pytest.mark.parametrize("axis", [1.0, "last", True])
def test_a_channel_axis_that_is_no_int_is_a_type_error(axis):
    with pytest.raises(TypeError, match="channel_axis must be None or an int"):
        smooth_image(np.zeros((4, 5, 6)), t=1.0, channel_axis=axis)


def test_a_volume_connectivity_on_an_image_is_refused():
    with pytest.raises(ValueError, match=r"one of \(4, 8\) for a 2-D grid, got 6"):
        smooth_image(np.zeros((5, 5)), t=1.0, connectivity=6)
