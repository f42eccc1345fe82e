"""Batched solving: smooth_images and the numba and torch backends."""

import numpy as np
import pytest
import torch

import isvs_graph
from helpers import DEVICES, random_graph
from reference import canonical_edges, split_lbi
from isvs_graph import smooth_images


def photo_batch(count=5, size=20):
    from skimage import data
    image = data.coffee()
    crops = [image[50 * i:50 * i + size, 70 * i:70 * i + size] for i in range(count)]
    return np.stack(crops).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("mode", ["joint", "channel"])
@pytest.mark.parametrize("scale", [{"t": 4.0}, {"sparsity": 0.8}])
def test_backends_agree(mode, scale):
    data, _ = random_graph(11)
    x = np.random.default_rng(11).standard_normal((3, data.num_nodes, 2))
    a = isvs_graph.solve(data, x, mode=mode, backend="numba", **scale)
    b = isvs_graph.solve(data, x, mode=mode, backend="torch", **scale)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_backends_agree_in_float32():
    images = photo_batch().astype(np.float32) / 255
    a = smooth_images(images, sparsity=0.8, backend="numba")
    b = smooth_images(images, sparsity=0.8, backend="torch")
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_unknown_backend():
    with pytest.raises(ValueError, match="Invalid backend: 'gpu'"):
        isvs_graph.solve(isvs_graph.grid_graph(2, 2), np.zeros(4), 1.0, backend="gpu")


def test_smooth_images_equals_image_by_image():
    images = photo_batch()
    batch = smooth_images(images, sparsity=0.8)
    assert batch.dtype == np.uint8 and batch.shape == images.shape
    for b in range(len(images)):
        one = isvs_graph.smooth_image(images[b].transpose(1, 2, 0), sparsity=0.8)
        np.testing.assert_array_equal(batch[b], one.transpose(2, 0, 1))


def test_per_image_scales():
    images = photo_batch().astype(np.float64) / 255
    levels = [1.0, 0.9, 0.8, 0.7, 0.6]
    batch = smooth_images(images, sparsity=levels)
    for b, level in enumerate(levels):
        np.testing.assert_array_equal(batch[b], smooth_images(images[b:b + 1],
                                                              sparsity=level)[0])
    times = smooth_images(images, t=[0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(times[3], smooth_images(images[3:4], t=3.0)[0])


@pytest.mark.parametrize("device", DEVICES)
def test_torch_batches_keep_device_and_dtype(device):
    images = torch.from_numpy(photo_batch()).to(device)
    out = smooth_images(images, sparsity=0.85)
    assert out.device == images.device and out.dtype == torch.uint8
    expected = smooth_images(photo_batch(), sparsity=0.85)
    assert np.abs(out.cpu().numpy().astype(int) - expected).max() <= 1


def test_out_of_reach_targets_stop_at_convergence_with_a_warning():
    images = np.zeros((2, 1, 8, 8))
    images[1, :, 2:5, 2:5] = 1.0  # a square: 12 of 112 edges are not flat
    with pytest.warns(isvs_graph.ConvergenceWarning, match="2 of 2 signal"):
        out = smooth_images(images, sparsity=0.5)
    np.testing.assert_allclose(out, images, atol=1e-5)


def test_a_flat_edge_can_enter_on_the_way():
    """x = (0, 0, 2) on a path with κ = 0.25: the flat edge (0, 1) enters transiently,
    so sparsity 0 is reached although only half the edges are not flat: neither a
    shortcut nor the floor may skip that."""
    graph = isvs_graph.grid_graph(1, 3)
    x = np.array([0.0, 0.0, 2.0])
    path = isvs_graph.path(graph, x, sparsity_min=0.0, kappa=0.25)
    assert path.sparsity_at(path.iterations(sparsity=0.0)) == 0.0
    edges = canonical_edges(graph.edge_index.numpy(), 3)
    expected, _, _ = split_lbi(edges, 3, x[:, None], sparsity=0.0, kappa=0.25)
    for jumps in (True, False):
        np.testing.assert_allclose(
            isvs_graph.solve(graph, x, sparsity=0.0, kappa=0.25, jumps=jumps),
            expected[:, 0], rtol=1e-12)


def test_a_flat_edge_stalled_at_the_threshold_ends_at_the_floor():
    """With κ = 0.5 that edge's z settles on the threshold itself, where its increments
    are rounding noise: the run ends at the floor with a warning, not at max_iter."""
    graph = isvs_graph.grid_graph(1, 3)
    x = np.array([0.0, 0.0, 2.0])
    for jumps in (True, False):
        with pytest.warns(isvs_graph.ConvergenceWarning, match="floor"):
            got = isvs_graph.solve(graph, x, sparsity=0.0, jumps=jumps)
        np.testing.assert_allclose(got, x, atol=1e-12)


@pytest.mark.parametrize("bad,error,match", [
    (np.zeros((3, 8, 8)), ValueError, "shape \\(B, C, H, W\\)"),
    (np.zeros((0, 3, 8, 8)), ValueError, "must not be empty"),
    ([1, 2], TypeError, "numpy.ndarray or torch.Tensor"),
])
def test_bad_batches(bad, error, match):
    with pytest.raises(error, match=match):
        smooth_images(bad, sparsity=0.8)


def test_wrong_number_of_scales():
    with pytest.raises(ValueError, match="sparsity has 2 values for a batch of 5"):
        smooth_images(photo_batch(), sparsity=[0.8, 0.9])
