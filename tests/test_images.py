import numpy as np
import pytest
import torch

import isvs_graph
from isvs_graph.images import image_to_signal


def photo(size=24):
    from skimage import data
    return data.astronaut()[100:100 + size, 180:180 + size]


def test_uint8_rgb_round_trip_through_the_grid():
    image = photo()
    out = isvs_graph.smooth_image(image, sparsity=0.8)
    assert out.dtype == np.uint8 and out.shape == image.shape
    graph = isvs_graph.grid_graph(24, 24)
    expected = isvs_graph.solve(graph, image.reshape(-1, 3) / 255.0, sparsity=0.8)
    np.testing.assert_array_equal(
        out, np.clip(np.round(expected * 255), 0, 255).astype(np.uint8).reshape(image.shape))


def test_torch_chw_matches_numpy_hwc():
    image = photo().astype(np.float32) / 255
    a = isvs_graph.smooth_image(image, t=3.0)
    b = isvs_graph.smooth_image(torch.from_numpy(image).permute(2, 0, 1), t=3.0)
    assert b.shape == (3, 24, 24) and b.dtype == torch.float32
    np.testing.assert_array_equal(a, b.permute(1, 2, 0).numpy())


def test_torch_uint8_image_comes_back_as_uint8():
    image = torch.from_numpy(photo()).permute(2, 0, 1).contiguous()
    out = isvs_graph.smooth_image(image, sparsity=0.9)
    assert out.dtype == torch.uint8 and out.shape == image.shape


def test_grayscale_and_coarsest_scale():
    image = photo()[..., 0]
    out = isvs_graph.smooth_image(image, t=0)
    assert out.shape == image.shape
    assert np.unique(out).tolist() == [round(image.mean())]


def test_eight_connectivity_is_used():
    image = photo().astype(float) / 255
    four = isvs_graph.smooth_image(image, sparsity=0.8)
    eight = isvs_graph.smooth_image(image, sparsity=0.8, connectivity=8)
    assert not np.allclose(four, eight)


@pytest.mark.parametrize("bad,error,match", [
    (np.zeros((2, 2, 2, 2)), ValueError, "shape \\(H, W\\) or \\(H, W, C\\)"),
    (torch.zeros(1, 3, 4, 4), ValueError, "for a batch"),
    ([[0, 1]], TypeError, "numpy.ndarray or torch.Tensor"),
    (np.zeros((3, 3), dtype=bool), TypeError, "boolean"),
])
def test_bad_images(bad, error, match):
    with pytest.raises(error, match=match):
        image_to_signal(bad)
