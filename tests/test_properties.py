"""Property-based tests over generated graphs and signals (hypothesis).

Graphs of 1 to 12 nodes with self-loops, duplicate and reversed edges, isolated nodes and
several components, weights over six orders of magnitude, float32 and float64 signals of
1 to 4 channels. Run longer with HYPOTHESIS_PROFILE=long.
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_geometric.data import Data

import isvs_graph
from isvs_graph._solve import prepare
from isvs_graph._solver import ConvergenceWarning, run_split_lbi
from reference import canonical_edges, component_means, default_alpha, split_lbi


@st.composite
def problems(draw, dtypes=(np.float64, np.float32), decades=1.0):
    """Weights span ``10 ** ±decades``. Stiff weights (a wide span) make the step size
    tiny for the light edges, which then take very many iterations to enter: properties
    that iterate to a sparsity or to convergence use a narrow span or a max_iter cap."""
    p = draw(st.integers(1, 12))
    m = draw(st.integers(0, 24))
    pairs = draw(st.lists(st.tuples(st.integers(0, p - 1), st.integers(0, p - 1)),
                          min_size=m, max_size=m))
    edge_index = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    weights = None
    if draw(st.booleans()):
        exponents = draw(st.lists(st.floats(-decades, decades), min_size=m, max_size=m))
        weights = 10.0 ** np.array(exponents, dtype=np.float64)
    channels = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(dtypes))
    values = draw(st.lists(st.floats(-100, 100, allow_nan=False, width=32),
                           min_size=p * channels, max_size=p * channels))
    signal = np.array(values, dtype=dtype).reshape(p, channels)
    graph = Data(edge_index=torch.from_numpy(edge_index.reshape(2, -1)), num_nodes=p)
    if weights is not None:
        graph.edge_weight = torch.from_numpy(weights)
    mode = draw(st.sampled_from(["joint", "channel"]))
    return graph, signal, weights, mode


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return function(*args, **kwargs)


def stiff(graph, weights, nu=1.0, kappa=0.5) -> bool:
    """Whether the package must refuse the problem: the slower of u (rate κα) and γ
    (rate κα/ν) needs more than 100,000 steps to relax (computed independently)."""
    edges = canonical_edges(graph.edge_index.numpy(), graph.num_nodes, weights)
    alpha = default_alpha(edges, graph.num_nodes, kappa, nu)
    return max(1.0, nu) / (kappa * alpha) > 100_000


@given(problems(decades=3.0), st.integers(0, 40), st.floats(0, 1))
def test_output_is_finite_with_the_inputs_shape_kind_and_dtype(problem, steps, sparsity):
    graph, signal, weights, mode = problem
    if stiff(graph, weights):  # weights over six orders of magnitude can be
        with pytest.raises(ValueError, match="stiff.*heavy.*rescale edge_weight"):
            isvs_graph.solve(graph, signal, sparsity=sparsity, mode=mode)
        return
    alpha = prepare(graph, signal, mode=mode).options.alpha
    for out in (quietly(isvs_graph.solve, graph, signal, steps * alpha, mode=mode),
                quietly(isvs_graph.solve, graph, signal, sparsity=sparsity, mode=mode)):
        assert isinstance(out, np.ndarray) and out.shape == signal.shape
        assert out.dtype == signal.dtype and np.isfinite(out).all()
    out = quietly(isvs_graph.solve, graph, torch.from_numpy(signal), sparsity=sparsity)
    assert isinstance(out, torch.Tensor) and torch.isfinite(out).all()


@given(problems(dtypes=(np.float64,)), st.integers(0, 25), st.floats(0.05, 1))
def test_equals_the_reference(problem, steps, sparsity):
    graph, signal, weights, mode = problem
    edges = canonical_edges(graph.edge_index.numpy(), graph.num_nodes, weights)
    alpha = default_alpha(edges, graph.num_nodes)
    expected, _, _ = split_lbi(edges, graph.num_nodes, signal, mode=mode, iterations=steps)
    got = isvs_graph.solve(graph, signal, steps * alpha, mode=mode, jumps=False)
    scale = np.abs(signal).max() + 1
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * scale)
    # At a sparsity, where the reference reaches it within a bounded number of steps.
    expected, k, support = split_lbi(edges, graph.num_nodes, signal, mode=mode,
                                     sparsity=sparsity, iterations=400)
    reached = (not support.size) or (~support).mean() <= sparsity
    assume(reached)
    got = quietly(isvs_graph.solve, graph, signal, sparsity=sparsity, mode=mode,
                  jumps=False)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * scale)


@given(problems(decades=3.0))
def test_time_zero_gives_component_means(problem):
    graph, signal, weights, mode = problem
    edges = canonical_edges(graph.edge_index.numpy(), graph.num_nodes, weights)
    expected = component_means(edges, graph.num_nodes, signal.astype(np.float64))
    if stiff(graph, weights):
        with pytest.raises(ValueError, match="stiff"):
            isvs_graph.solve(graph, signal, 0.0, mode=mode)
        return
    got = isvs_graph.solve(graph, signal, 0.0, mode=mode)
    tolerance = 1e-5 if signal.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * 100)


@given(problems(decades=3.0), st.floats(0, 1))
def test_sparsity_reached_is_at_most_the_target_or_warned(problem, target):
    graph, signal, weights, mode = problem
    assume(not stiff(graph, weights))
    prepared = prepare(graph, signal, mode=mode, max_iter=5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = run_split_lbi(prepared.graph, prepared.x, prepared.initial(), prepared.options,
                               sparsity=target)
    if result.reached[0]:
        assert result.sparsity[0] <= target
    else:
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


@given(problems(), st.floats(0, 1))
def test_deterministic_and_batch_equals_one_by_one(problem, sparsity):
    graph, signal, _, mode = problem
    batch = np.stack([signal, signal[::-1].copy(), 2 * signal])
    together = quietly(isvs_graph.solve, graph, batch, sparsity=sparsity, mode=mode)
    for b in range(3):
        alone = quietly(isvs_graph.solve, graph, batch[b], sparsity=sparsity, mode=mode)
        assert alone.tobytes() == together[b].tobytes()
    again = quietly(isvs_graph.solve, graph, batch, sparsity=sparsity, mode=mode)
    assert again.tobytes() == together.tobytes()


BAD_VALUES = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, -1e-300,
                              1.5, "0.5", None, [0.5, 0.5], True])


@given(problems(), st.sampled_from(["t", "sparsity", "kappa", "nu", "alpha", "mode",
                                    "max_iter", "tol", "signal_nan", "signal_rows",
                                    "edge", "weight"]), BAD_VALUES)
def test_bad_input_always_raises_a_clear_error(problem, argument, value):
    graph, signal, _, mode = problem
    kwargs = {"t": 1.0}
    if argument in ("t", "sparsity"):
        kwargs = {argument: value}
        valid = argument == "sparsity" and isinstance(value, float) and 0 <= value <= 1
        valid |= argument == "t" and isinstance(value, float) and 0 <= value < float("inf")
        assume(not valid and value is not None)
    elif argument in ("kappa", "nu", "alpha", "tol"):
        assume(value is not None or argument != "alpha")
        kwargs[argument] = value
        assume(not (isinstance(value, float) and value > 0 and value != float("inf")
                    and argument != "alpha"))
        if argument == "alpha" and isinstance(value, float) and 0 < value < float("inf"):
            kwargs[argument] = 1e6  # far above any stability bound
    elif argument == "mode":
        kwargs["mode"] = value
    elif argument == "max_iter":
        assume(value is not None)
        kwargs["max_iter"] = value if not isinstance(value, float) or value < 0 else 2.5
    elif argument == "signal_nan":
        signal = signal.copy()
        signal[0, 0] = np.nan if isinstance(value, float) and np.isnan(value) else np.inf
    elif argument == "signal_rows":
        signal = np.concatenate([signal, signal[:1]])
    elif argument == "edge":
        graph = graph.clone()
        bad = -1 if isinstance(value, float) and value < 0 else graph.num_nodes
        graph.edge_index = torch.cat([graph.edge_index, torch.tensor([[0], [bad]])], dim=1)
        graph.edge_weight = None
    elif argument == "weight":
        graph = graph.clone()
        assume(graph.num_edges > 0)
        weight = torch.ones(graph.num_edges, dtype=torch.float64)
        weight[0] = value if isinstance(value, float) and not value > 0 else 0.0
        graph.edge_weight = weight
    with pytest.raises((ValueError, TypeError)) as error:
        isvs_graph.solve(graph, signal, **kwargs)
    assert str(error.value)  # a message that names the problem
