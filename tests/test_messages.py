"""Messages a user can act on: each says what was understood and the fix, and quotes
numbers as the user wrote them (issue 22)."""

import re

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
import torch

import isvs_graph
from isvs_graph._validation import shown


@pytest.fixture(scope="module")
def grid():
    return isvs_graph.grid_graph(8, 8)


def test_a_networkx_graph_is_named_with_its_converter():
    graph = nx.karate_club_graph()
    x = np.random.default_rng(0).random(graph.number_of_nodes())
    with pytest.raises(TypeError, match=r"got networkx Graph; convert it with "
                                        r"isvs_graph\.graphs\.from_networkx\(graph\)$"):
        isvs_graph.solve(graph, x, sparsity=0.7)
    # and the fix it names works
    assert isvs_graph.graphs.from_networkx(graph).num_nodes == 34


@pytest.mark.parametrize("make", [scipy.sparse.csr_array, scipy.sparse.coo_matrix])
def test_a_sparse_matrix_is_named_with_from_scipy(make):
    adjacency = make(nx.to_scipy_sparse_array(nx.path_graph(5)))
    with pytest.raises(TypeError, match=r"got scipy\.sparse \w+; if it is an adjacency "
                                        r"matrix, convert it with isvs_graph\.graphs\."
                                        r"from_scipy\(adjacency\)"):
        isvs_graph.solve(adjacency, np.arange(5.0), sparsity=0.7)


def test_a_square_array_is_taken_for_an_adjacency_matrix():
    adjacency = nx.to_numpy_array(nx.path_graph(5))
    with pytest.raises(TypeError, match=r"got numpy ndarray of shape \(5, 5\).*"
                                        r"from_scipy\(adjacency\)"):
        isvs_graph.solve(adjacency, np.arange(5.0), sparsity=0.7)
    with pytest.raises(TypeError, match=r"from_scipy\(adjacency\.cpu\(\)\.numpy\(\)\)"):
        isvs_graph.solve(torch.from_numpy(adjacency), np.arange(5.0), sparsity=0.7)


def test_anything_else_is_pointed_to_the_builders():
    with pytest.raises(TypeError, match=r"got tuple; build one with a builder of "
                                        r"isvs_graph\.graphs .*Data\(edge_index="):
        isvs_graph.solve(([0, 1], [1, 2]), np.arange(3.0), sparsity=0.7)


def test_a_3d_signal_is_said_to_be_read_as_a_batch(grid):
    with pytest.raises(ValueError) as caught:
        isvs_graph.solve(grid, np.zeros((64, 2, 2)), sparsity=0.7)
    message = str(caught.value)
    assert "read as a batch (B, p, C) of 64 signal(s) of 2 node(s) × 2 channel(s))" in message
    assert "num_nodes = 64" in message
    assert "(p, C) = (64, C)" in message and "signal.reshape(64, -1)" in message
    # the fix it names is accepted
    signal = np.random.default_rng(0).random((64, 2, 2))
    assert isvs_graph.solve(grid, signal.reshape(64, -1), t=1.0).shape == (64, 4)


def test_a_3d_batch_of_the_wrong_size_says_what_a_batch_is(grid):
    with pytest.raises(ValueError, match=r"batch \(B, p, C\) of 3 signal\(s\) of 60 node\(s\)"
                                         r".*a batch has shape \(B, 64, C\)"):
        isvs_graph.solve(grid, np.zeros((3, 60, 1)), sparsity=0.7)


def test_a_transposed_signal_gets_both_readings(grid):
    with pytest.raises(ValueError, match=re.escape(
            "signal has 3 rows (shape (3, 64)) but the graph has num_nodes = 64; it is read "
            "as (p, C): for 3 channels pass signal.T, for a batch of 3 signals (B, p, C) "
            "pass signal[..., None]")):
        isvs_graph.solve(grid, np.zeros((3, 64)), sparsity=0.7)
    with pytest.raises(ValueError, match=r"has 60 rows .*a signal has shape \(64,\) or "
                                         r"\(64, C\), a batch \(B, 64, C\)$"):
        isvs_graph.solve(grid, np.zeros(60), sparsity=0.7)


@pytest.mark.parametrize("value", [np.float32(1.2), np.float16(1.2), torch.tensor(1.2),
                                   np.array(1.2, dtype=np.float32)])
def test_a_float32_sparsity_is_quoted_as_written(grid, value):
    with pytest.raises(ValueError, match=r"sparsity must lie in \[0, 1\], got 1\.2$"):
        isvs_graph.solve(grid, np.zeros(64), sparsity=value)


def test_float32_values_of_a_batch_and_of_options_are_quoted_as_written(grid):
    with pytest.raises(ValueError, match=r"got 1\.2$"):
        isvs_graph.solve(grid, np.zeros((2, 64, 1)),
                         sparsity=np.array([0.5, 1.2], dtype=np.float32))
    with pytest.raises(ValueError, match=r"t must be >= 0, got -0\.3$"):
        isvs_graph.solve(grid, np.zeros((2, 64, 1)), t=torch.tensor([0.5, -0.3]))
    with pytest.raises(ValueError, match=r"kappa must be > 0, got -0\.1$"):
        isvs_graph.solve(grid, np.zeros(64), t=1.0, kappa=np.float32(-0.1))


def test_shown_quotes_the_shortest_decimal_of_each_precision():
    assert shown(np.float32(0.1)) == "0.1"
    assert shown(np.float16(0.1)) == "0.1"
    assert shown(np.float64(0.1)) == "0.1"
    assert shown(np.float32(1e30)) == "1e+30"
    assert shown(np.float32(np.inf)) == "inf"
    assert shown(np.array([0.1, 0.7], dtype=np.float32)) == "[0.1, 0.7]"
    assert shown(torch.tensor([0.1, 0.7])) == "[0.1, 0.7]"
    assert shown(np.int64(3)) == "3"
    # the value is the float32's, only its quote is short: float32(0.1) != 0.1
    assert float(np.float32(0.1)) != 0.1


def test_a_path_read_beyond_its_end_says_where_it_ends(grid):
    rng = np.random.default_rng(1)
    x = rng.random((8, 8))
    x[:4] += 3
    p = isvs_graph.path(grid, x.reshape(-1), sparsity_min=0.5)
    end_t = p.n_iter * p.alpha
    end_s = p.sparsity_at(p.n_iter)
    asked = 10 * end_t
    with pytest.raises(ValueError) as caught:
        p.at(t=asked)
    message = str(caught.value)
    assert f"no recorded iterate at t = {asked:g}" in message
    assert f"it ends at t = {end_t:.4g} (sparsity {end_s:.4g})" in message
    assert "sparsity_min = 0.5" in message and "None" not in message
    assert end_s <= 0.5
    p.at(t=end_t)  # where it ends is readable


def test_a_batch_path_names_the_signals_that_end_early(grid):
    xs = np.random.default_rng(2).random((3, 64, 1))
    p = isvs_graph.path(grid, xs, t_max=2.0)
    ends = p.n_iter * p.alpha
    with pytest.raises(ValueError) as caught:
        p.at(sparsity=0.0)
    message = str(caught.value)
    assert message.startswith("3 of 3 signals have no recorded iterate at sparsity = 0:")
    for b in range(3):
        assert f"t = {ends[b]:.4g} (sparsity {p.sparsity_at(p.n_iter)[b]:.4g}) for signal " \
               f"{b}" in message
    assert "made with t_max = 2.0" in message


def test_a_batch_of_images_is_spoken_of_in_the_plural():
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)  # batches are B × C × H × W
    with pytest.raises(ValueError, match=r"^the numpy images of shape \(2, 32, 32, 3\) look "
                                         r"like B × H × W × C: they are read as"):
        isvs_graph.smooth_images(images, sparsity=0.9)
    with pytest.raises(ValueError, match=r"^the numpy image of shape \(3, 32, 32\) looks "
                                         r"like C × H × W: it is read as"):
        isvs_graph.smooth_image(images[0].transpose(2, 0, 1), sparsity=0.9)
