import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.transforms import Compose, ToUndirected

import isvs_graph
from isvs_graph.transforms import ISVSSmooth


def graph(seed):
    data = isvs_graph.grid_graph(4, 5)
    data.x = torch.from_numpy(np.random.default_rng(seed).random((20, 3)))
    return data


@pytest.mark.parametrize("scale", [{"t": 3.0}, {"sparsity": 0.7}])
def test_transform_replaces_x_with_solve(scale):
    data = graph(0)
    expected = isvs_graph.solve(data, data.x, **scale)
    out = ISVSSmooth(**scale, keep="x_raw", mode="channel" if "t" in scale else "joint")(data)
    if "t" in scale:
        expected = isvs_graph.solve(data, data.x, **scale, mode="channel")
    assert torch.equal(out.x, expected)
    assert torch.equal(out.x_raw, graph(0).x)
    assert torch.equal(data.x, graph(0).x)  # BaseTransform copies; the input is untouched


@pytest.mark.parametrize("scale", [{"t": 3.0}, {"sparsity": 0.7}])
def test_transform_on_a_batch_equals_graph_by_graph(scale):
    batch = Batch.from_data_list([graph(s) for s in range(3)])
    out = ISVSSmooth(**scale)(batch)
    for s, part in enumerate(out.to_data_list()):
        expected = isvs_graph.solve(graph(s), graph(s).x, **scale)
        np.testing.assert_allclose(part.x.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)


def test_composes_with_pyg_transforms_and_shows_its_parameters():
    transform = Compose([ToUndirected(), ISVSSmooth(sparsity=0.8, kappa=2.0)])
    out = transform(graph(1))
    assert out.x.shape == (20, 3)
    assert repr(transform.transforms[1]) == "ISVSSmooth(sparsity=0.8, key='x', kappa=2.0)"


def test_bad_transform_arguments():
    with pytest.raises(ValueError, match="exactly one of t"):
        ISVSSmooth()
    with pytest.raises(ValueError, match="sparsity must lie in"):
        ISVSSmooth(sparsity=2.0)
    data = isvs_graph.grid_graph(2, 2)
    with pytest.raises(ValueError, match="no attribute 'x'"):
        ISVSSmooth(t=1.0)(data)


def test_a_graph_counts_its_nodes_from_pos_as_pyg_does():
    # A point cloud or mesh often has pos and no x nor num_nodes: smoothing pos works.
    from torch_geometric.data import Data
    grid = isvs_graph.grid_graph(4, 5)
    pos = torch.from_numpy(np.random.default_rng(2).random((20, 3)))
    data = Data(edge_index=grid.edge_index, pos=pos)
    assert "num_nodes" not in data and data.num_nodes == 20
    out = ISVSSmooth(sparsity=0.6, key="pos", keep="pos_raw")(data)
    assert torch.equal(out.pos, isvs_graph.solve(grid, pos, sparsity=0.6))
    assert torch.equal(out.pos_raw, pos)
    batch = Batch.from_data_list([data, Data(edge_index=grid.edge_index, pos=pos.flip(0))])
    parts = ISVSSmooth(sparsity=0.6, key="pos")(batch).to_data_list()
    assert torch.equal(parts[1].pos, isvs_graph.solve(grid, pos.flip(0), sparsity=0.6))
    with pytest.raises(ValueError, match="graph has neither num_nodes, x nor pos"):
        ISVSSmooth(sparsity=0.6, key="y")(Data(edge_index=grid.edge_index, y=pos))


def test_a_floor_warning_on_a_batch_names_the_graph():
    import warnings
    flat = graph(1)
    flat.x = torch.zeros(20, 3, dtype=torch.float64)
    flat.x[:, 0] = torch.arange(20) % 5 >= 3  # one value step: at the floor of 0.2
    batch = Batch.from_data_list([graph(0), flat, graph(2)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ISVSSmooth(sparsity=0.2)(batch)
    floor = [w.message for w in caught if w.category is isvs_graph.ConvergenceWarning]
    assert [m.signals.tolist() for m in floor] == [[1]]
    assert str(floor[0]).startswith("graph 1 of the batch: 1 of 1 signal(s) cannot reach")


def test_batch_warnings_are_made_where_they_arise_filters_and_once_only_apply():
    import warnings
    flat = graph(1)
    flat.x = torch.zeros(20, 3, dtype=torch.float64)
    flat.x[:, 0] = torch.arange(20) % 5 >= 3  # at the floor of sparsity 0.2
    batch = Batch.from_data_list([graph(0), graph(2), flat.clone()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own: each text once a place
        for _ in range(3):
            ISVSSmooth(sparsity=0.2)(batch)
    assert len([w for w in caught if w.category is isvs_graph.ConvergenceWarning]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", isvs_graph.ConvergenceWarning)
        with pytest.raises(isvs_graph.ConvergenceWarning, match="^graph 2 of the batch: ") \
                as raised:
            ISVSSmooth(sparsity=0.2)(batch)
    assert raised.value.signals.tolist() == [2]
