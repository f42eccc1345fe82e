import numpy as np
import pytest
import torch

import isvs_graph
from reference import canonical_edges, split_lbi


def photo():
    from skimage import data
    return data.astronaut()[100:196, 150:246]


def test_label_map_structure_exactly():
    labels = np.array([[5, 5, 9, 9],
                       [5, 5, 9, 9],
                       [7, 7, 7, 9]])
    image = np.arange(12, dtype=float).reshape(3, 4)
    g = isvs_graph.superpixel_graph(image, segments=labels)
    assert g.num_nodes == 3
    assert g.segments.tolist() == [[0, 0, 2, 2], [0, 0, 2, 2], [1, 1, 1, 2]]
    assert g.edge_index.tolist() == [[0, 0, 1], [1, 2, 2]]
    # Boundaries in pixel sides: 5|7 two, 5|9 two, 7|9 two (one side, one below).
    assert g.boundary_length.tolist() == [2.0, 2.0, 2.0]
    assert g.edge_weight.tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(g.x[:, 0], [np.mean([0, 1, 4, 5]), np.mean([8, 9, 10]),
                                           np.mean([2, 3, 6, 7, 11])])
    np.testing.assert_allclose(g.pos[0], [0.5, 0.5])


def test_slic_graph_of_a_photo():
    image = photo()
    g = isvs_graph.superpixel_graph(image, n_segments=60, compactness=20)
    assert 30 <= g.num_nodes <= 90
    assert g.x.shape == (g.num_nodes, 3) and g.pos.shape == (g.num_nodes, 2)
    assert g.segments.shape == image.shape[:2]
    assert abs(float(g.edge_weight.mean()) - 1.0) < 1e-12
    # Every pair of touching segments is an edge, and no other pair.
    seg = g.segments.numpy()
    touching = {(min(a, b), max(a, b)) for a, b in zip(
        np.concatenate([seg[:, :-1].ravel(), seg[:-1].ravel()]),
        np.concatenate([seg[:, 1:].ravel(), seg[1:].ravel()])) if a != b}
    assert set(zip(*g.edge_index.tolist())) == touching


def test_signal_round_trip_to_pixels():
    image = photo()
    g = isvs_graph.superpixel_graph(image, n_segments=40)
    painted = g.x.numpy()[g.segments.numpy()]  # (H, W, 3)
    assert painted.shape == image.shape
    for label in range(g.num_nodes):
        mask = g.segments.numpy() == label
        np.testing.assert_allclose(painted[mask].mean(axis=0), image[mask].mean(axis=0) / 255)


def test_superpixel_graph_solves_like_the_reference():
    g = isvs_graph.superpixel_graph(photo(), n_segments=40)
    edges = canonical_edges(g.edge_index.numpy(), g.num_nodes, g.edge_weight.numpy())
    for scale in ({"t": 1.5}, {"sparsity": 0.7}):
        expected, _, _ = split_lbi(edges, g.num_nodes, g.x.numpy(), **scale)
        np.testing.assert_allclose(isvs_graph.solve(g, **scale).numpy(), expected,
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("image,segments,error,match", [
    (np.zeros((4, 4, 3, 1)), None, ValueError, "shape \\(H, W\\) or \\(H, W, C\\)"),
    (np.zeros(4), None, ValueError, "shape \\(H, W\\)"),
    (np.zeros((4, 4)), np.zeros((4, 5), dtype=int), ValueError, "segments must have"),
    (np.zeros((4, 4)), np.zeros((4, 4)), ValueError, "integer labels"),
    (np.full((4, 4), np.nan), np.zeros((4, 4), dtype=int), ValueError, "NaN"),
    ([[0.0]], None, TypeError, "numpy.ndarray"),
])
def test_bad_superpixel_input(image, segments, error, match):
    with pytest.raises(error, match=match):
        isvs_graph.superpixel_graph(image, segments=segments)


@pytest.mark.parametrize("image, options, error, match", [
    (np.zeros((16, 16, 3)), {"n_segments": 0}, ValueError, "n_segments must be >= 1, got 0"),
    (np.zeros((16, 16, 3)), {"n_segments": -5}, ValueError, "n_segments must be >= 1"),
    (np.zeros((16, 16, 3)), {"n_segments": 2.5}, TypeError, "n_segments must be an int"),
    (np.zeros((16, 16, 3)), {"compactness": 0}, ValueError, "compactness must be > 0"),
    (np.zeros((3, 16, 16)), {}, ValueError, r"looks like C × H × W.*transpose\(1, 2, 0\)"),
])
def test_slic_options_and_a_channels_first_image_are_refused(image, options, error, match):
    # (SLIC raised ZeroDivisionError or a TypeError about complex numbers, and read a
    # 3 × 16 × 16 image as 3 rows of 16 pixels of 16 channels.)
    with pytest.raises(error, match=match):
        isvs_graph.superpixel_graph(image, **options)
