import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import isvs_graph
from isvs_graph.graphs._grid import grid_shape
from reference import canonical_edges


def test_grid_4_exact_edges():
    g = isvs_graph.grid_graph(2, 3)
    assert g.edge_index.tolist() == [[0, 0, 1, 1, 2, 3, 4], [1, 3, 2, 4, 5, 4, 5]]
    assert g.num_nodes == 6
    assert g.pos.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]


def test_grid_8_exact_edges():
    g = isvs_graph.grid_graph(2, 2, connectivity=8)
    assert g.edge_index.tolist() == [[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]]


@pytest.mark.parametrize("height,width", [(1, 1), (1, 5), (5, 7), (8, 3)])
def test_grid_edge_counts(height, width):
    four = height * (width - 1) + (height - 1) * width
    diagonals = 2 * (height - 1) * (width - 1)
    assert isvs_graph.grid_graph(height, width).num_edges == four
    assert isvs_graph.grid_graph(height, width, connectivity=8).num_edges == four + diagonals
    assert isvs_graph.grid_graph(5, 7, connectivity=8).num_edges == 106


@pytest.mark.parametrize("kwargs,error,match", [
    ({"height": 0, "width": 3}, ValueError, "height must be >= 1"),
    ({"height": 3, "width": 2.5}, TypeError, "width must be an int"),
])
def test_grid_bad_arguments(kwargs, error, match):
    shape = [kwargs.pop(name) for name in ("height", "width")]
    with pytest.raises(error, match=match):
        isvs_graph.grid_graph(*shape, **kwargs)


@pytest.mark.parametrize("shape,connectivity,match", [
    ((3, 3), 6, r"connectivity must be one of \(4, 8\) for a 2-D grid, got 6"),
    ((3, 3, 3), 8, r"connectivity must be one of \(6, 18, 26\) for a 3-D grid, got 8"),
    ((3, 3), 4.0, r"connectivity must be one of \(4, 8\) for a 2-D grid, got 4.0"),
    ((3, 3, 3), np.float32(6), r"connectivity must be one of \(6, 18, 26\)"),
    ((3,), None, "a grid has 2 dimensions .* or 3 .*, got 1"),
    ((2, 2, 2, 2), None, "got 4"),
    ((3, 0, 2), None, "height must be >= 1"),
])
def test_grid_dimensions_and_connectivity_are_checked(shape, connectivity, match):
    with pytest.raises(ValueError, match=match):
        isvs_graph.grid_graph(*shape, connectivity=connectivity)


def test_the_old_positional_connectivity_still_reads_with_a_deprecation():
    with pytest.warns(DeprecationWarning, match=r"connectivity=8\) for a pixel grid"):
        old = isvs_graph.grid_graph(5, 7, 8)
    assert torch.equal(old.edge_index, isvs_graph.grid_graph(5, 7, connectivity=8).edge_index)
    # Named, a third size is a volume; a tuple is a shape.
    assert isvs_graph.grid_graph(5, 7, 8, connectivity=6).num_nodes == 280
    assert isvs_graph.grid_graph((5, 7, 3)).num_nodes == 105


@pytest.mark.parametrize("connectivity,reach", [(6, 1), (18, 2), (26, 3)])
def test_volume_grids_join_the_neighbours_of_their_connectivity(connectivity, reach):
    shape = (3, 4, 5)
    g = isvs_graph.grid_graph(*shape, connectivity=connectivity)
    coords = np.stack(np.unravel_index(np.arange(60), shape), axis=1)
    src, dst = g.edge_index.numpy()
    step = np.abs(coords[src] - coords[dst])
    assert step.max() == 1 and set((step > 0).sum(axis=1)) == set(range(1, reach + 1))
    # Every pair within reach is an edge, exactly once.
    near = np.abs(coords[:, None] - coords[None]).max(axis=2) == 1
    near &= (np.abs(coords[:, None] - coords[None]) > 0).sum(axis=2) <= reach
    assert g.num_edges == near.sum() // 2
    assert (src < dst).all() and (np.diff(src * 60 + dst) > 0).all()
    np.testing.assert_array_equal(g.pos.numpy(), coords)
    assert grid_shape(isvs_graph.canonical_graph(g)) == (shape, connectivity)


@pytest.mark.parametrize("shape, connectivity", [
    ((3, 2), 8), ((5, 1), 4), ((4, 3), 8), ((6, 7), 4), ((3, 1, 1), 6), ((4, 2, 3), 18),
    ((5, 3, 2), 26), ((3, 4, 1), 18), ((7, 2, 2), 6)])
def test_grids_repeated_from_two_slabs_have_every_edge_once_in_order(shape, connectivity):
    # The edges (and the kernels' stencil) of all slabs but the last are repeated from
    # a grid of two: the result must be the grid found pair by pair.
    from isvs_graph._solver.stencil import grid_stencil
    from isvs_graph.graphs._grid import CONNECTIVITIES, grid_canonical
    p, reach = int(np.prod(shape)), CONNECTIVITIES[len(shape)][connectivity]
    coords = np.stack(np.unravel_index(np.arange(p), shape), axis=1)
    apart = np.abs(coords[:, None] - coords[None])
    near = (apart.max(axis=2) == 1) & ((apart > 0).sum(axis=2) <= reach)
    expected = np.array(np.nonzero(np.triu(near)))  # (i < j, sorted)
    edges = grid_canonical(*shape, connectivity=connectivity).edge_index
    np.testing.assert_array_equal(edges, expected)
    shifts, pad, masks, eid, slot = grid_stencil(shape, connectivity, np.float32)
    direction, first = np.divmod(slot, pad + p)
    np.testing.assert_array_equal(first - pad, expected[0])
    np.testing.assert_array_equal(expected[0] + shifts[direction], expected[1])
    np.testing.assert_array_equal(eid[slot], np.arange(expected.shape[1]))
    assert (eid >= 0).sum() == expected.shape[1] and set(np.unique(eid[eid < 0])) <= {-1}
    assert masks.sum() == expected.shape[1] and (masks[slot] == 1).all()


def test_canonical_graph_of_a_messy_edge_list():
    edge_index = torch.tensor([[2, 1, 0, 1, 3, 2], [1, 2, 0, 0, 3, 0]])
    weight = torch.tensor([1.0, 3.0, 5.0, 2.0, 7.0, 4.0])
    c = isvs_graph.canonical_graph(Data(edge_index=edge_index, edge_weight=weight,
                                        num_nodes=4))
    assert c.edge_index.tolist() == [[0, 0, 1], [1, 2, 2]]
    # (1, 2) is stored twice with weights 1 and 3: the mean is kept.
    assert c.edge_weight.tolist() == [2.0, 4.0, 2.0]
    assert c.num_nodes == 4 and c.num_edges == 3
    assert canonical_edges(edge_index.numpy(), 4, weight.numpy()) == {
        (0, 1): 2.0, (0, 2): 4.0, (1, 2): 2.0}


def test_canonical_graph_takes_numpy_and_num_nodes_from_x():
    data = Data(edge_index=np.array([[1], [0]]), x=torch.zeros(3, 2))
    c = isvs_graph.canonical_graph(data)
    assert c.edge_index.tolist() == [[0], [1]] and c.num_nodes == 3
    assert c.edge_weight.dtype == np.float64 and isinstance(c.edge_index, np.ndarray)


def test_symmetric_pyg_graph_keeps_its_weights():
    from torch_geometric.utils import to_undirected
    edge_index = torch.tensor([[0, 1], [1, 2]])
    weight = torch.tensor([0.5, 2.0])
    both, both_weight = to_undirected(edge_index, weight, reduce="mean")
    c = isvs_graph.canonical_graph(Data(edge_index=both, edge_weight=both_weight,
                                        num_nodes=3))
    assert c.edge_weight.tolist() == [0.5, 2.0]


@pytest.mark.parametrize("height,width", [(1, 1), (1, 5), (5, 1), (3, 4), (6, 2)])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_grid_shape_is_detected_in_any_layout(height, width, connectivity):
    g = isvs_graph.grid_graph(height, width, connectivity=connectivity)
    flipped = Data(edge_index=g.edge_index.flip(0), num_nodes=g.num_nodes)
    shape = grid_shape(isvs_graph.canonical_graph(flipped))
    if height * width == 1:
        assert shape is None  # no edges: nothing for a grid kernel to do
        return
    if height > 1 and width > 1:
        assert shape == ((height, width), connectivity)
    # A 1×n grid and an n×1 grid are the same path graph: either shape is right.
    assert torch.equal(isvs_graph.grid_graph(*shape[0], connectivity=shape[1]).edge_index,
                       g.edge_index)


def test_weighted_or_other_graphs_are_not_grids():
    g = isvs_graph.grid_graph(3, 3)
    g.edge_weight = torch.full((g.num_edges,), 2.0)
    assert grid_shape(isvs_graph.canonical_graph(g)) is None
    ring = Data(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), num_nodes=4)
    assert grid_shape(isvs_graph.canonical_graph(ring)) is None



@pytest.mark.parametrize("change", ["weights", "edges"])
def test_a_grid_changed_after_it_was_built_is_solved_as_what_it_is(change):
    # A grid's canonical form (as a path keeps it) changed afterwards is no longer that
    # grid: it is recognised from its edges and weights at every call, never trusted.
    from reference import split_lbi
    images = np.random.default_rng(0).random((2, 1, 8, 8))
    grid = isvs_graph.image_paths(images, levels=[1.0, 0.5]).graph
    assert grid_shape(grid) == ((8, 8), 4)
    if change == "weights":
        changed = grid._replace(
            edge_weight=np.random.default_rng(1).uniform(0.2, 3.0, grid.num_edges))
    else:
        changed = grid._replace(edge_index=grid.edge_index[:, :-40],
                                edge_weight=grid.edge_weight[:-40])
    assert grid_shape(changed) is None
    x = images[0, 0].reshape(-1, 1)
    expected = split_lbi(canonical_edges(changed.edge_index, 64, changed.edge_weight), 64,
                         x, t=30.0)[0]
    np.testing.assert_allclose(isvs_graph.solve(changed, x, 30.0, jumps=False), expected,
                               atol=1e-9)


def test_grid_arrays_are_frozen_and_shared_while_held(monkeypatch):
    import gc
    import weakref

    from isvs_graph._kept import Kept
    from isvs_graph.graphs import _grid
    from isvs_graph.graphs._grid import SMALL_GRID, _grid_edges, grid_canonical, grid_shape
    edges = _grid_edges((4, 5), 8)
    assert _grid_edges((4, 5), 8) is edges  # a small grid's are kept
    graph = grid_canonical(4, 5, connectivity=8)
    for array in (edges, graph.edge_index, graph.edge_weight):
        with pytest.raises(ValueError):
            array[..., 0] = 3
        with pytest.raises(ValueError):  # not a read-only flag that could be cleared
            array.flags.writeable = True
    # A grid larger than what is kept (KEPT_GRID_BYTES) is shared while a graph holds
    # its arrays, and not kept after.
    big = (SMALL_GRID // 64 + 1, 64)
    monkeypatch.setattr(_grid, "_KEPT", Kept(big[0] * big[1] * 16, 32))  # < 48 B a node
    held = grid_canonical(*big)
    assert grid_canonical(*big).edge_index is held.edge_index
    assert grid_shape(held) == (big, 4)
    kept = weakref.ref(held.edge_index)
    del held
    gc.collect()
    assert kept() is None
    # A caller changes a copy: that graph is recognised as what it is.
    changed = graph._replace(edge_index=graph.edge_index.copy())
    changed.edge_index[1, -1] = 0  # an edge (18, 0): no longer canonical, nor a grid
    assert grid_shape(changed) is None
    assert grid_shape(graph) == ((4, 5), 8)


def test_grids_are_kept_between_calls_within_a_budget_of_bytes(monkeypatch):
    from isvs_graph._kept import Kept, array_bytes
    from isvs_graph.graphs import _grid
    from isvs_graph.graphs._grid import grid_canonical
    one = array_bytes(_grid._build_canonical((100, 100), 4))  # 19,800 edges: 475,200 B
    monkeypatch.setattr(_grid, "_KEPT", Kept(2 * one + 1, 32))
    a, b = grid_canonical(100, 100), grid_canonical(100, 100, connectivity=4)
    assert a is b and _grid._KEPT.bytes == one  # kept: the same frozen arrays
    wide = grid_canonical(150, 150)  # 44,700 edges: over the budget
    assert grid_canonical(150, 150) is not wide  # built each time
    assert grid_canonical(100, 100) is a
    c = grid_canonical(50, 200)  # as large: both kept
    assert len(_grid._KEPT) == 2 and grid_canonical(100, 100) is a
    grid_canonical(200, 50)  # a third: the least recently used (50 × 200) goes
    assert grid_canonical(100, 100) is a and grid_canonical(50, 200) is not c
    assert _grid._KEPT.bytes <= 2 * one + 1
    monkeypatch.setattr(_grid, "_KEPT", Kept(10 ** 9, 2))  # at most 2 entries
    for shape in ((3, 3), (4, 4), (5, 5)):
        grid_canonical(*shape)
    assert len(_grid._KEPT) == 2


def test_a_grid_too_large_to_keep_builds_its_arrays_only_when_read(monkeypatch):
    # Beyond what is kept, a grid's canonical form builds its edge list and weights when
    # first read: smoothing an image (one or a batch, joint or per channel, projected or
    # not, a volume, the torch backend, a run cut off by max_iter) reads neither, and
    # gets the bits of the grid built whole. Read, the grid is any canonical graph: the
    # same arrays, fields, unpacking, copies, pickling.
    import concurrent.futures
    import pickle
    import time
    import warnings

    from isvs_graph._kept import Kept
    from isvs_graph.graphs import CanonicalGraph, _grid
    from isvs_graph.graphs._grid import LazyGrid, _build_canonical, grid_canonical
    rng = np.random.default_rng(4)
    image, volume = rng.random((40, 36, 3)).astype(np.float32), rng.random((12, 10, 9))
    calls = [lambda: isvs_graph.smooth_image(image, sparsity=0.8),
             lambda: isvs_graph.smooth_image(image, sparsity=0.9, mode="channel"),
             lambda: isvs_graph.smooth_image(image, t=3.0, project=False),
             lambda: isvs_graph.smooth_images(np.stack([image.transpose(2, 0, 1)] * 2),
                                              sparsity=0.85),
             lambda: isvs_graph.smooth_image(volume, sparsity=0.8, channel_axis=None),
             lambda: isvs_graph.smooth_image(torch.from_numpy(image.transpose(2, 0, 1)),
                                             sparsity=0.8, backend="torch"),
             lambda: isvs_graph.smooth_image(image, sparsity=0.5, max_iter=3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (max_iter warns)
        whole = [call() for call in calls]
    monkeypatch.setattr(_grid, "_KEPT", Kept(1000, 32))  # every grid here: lazy
    built = LazyGrid._built
    monkeypatch.setattr(LazyGrid, "_built", lambda self: pytest.fail("arrays read"))
    for call, expected in zip(calls, whole):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(call(), expected)
    monkeypatch.setattr(LazyGrid, "_built", built)
    # A grid with an axis of one node is recognised as another shape: built whole, so
    # that it is answered as before. Threads reading a lazy grid at once build it once.
    for shape, connectivity in (((1, 30, 40), 6), ((30, 40, 1), 26), ((1, 500), 4)):
        graph = grid_canonical(*shape, connectivity=connectivity)
        assert not isinstance(graph, LazyGrid)
        assert grid_shape(graph) == grid_shape(CanonicalGraph(*graph))
    builds = []

    def slow_build(*grid):  # (a wide window for threads to build at once)
        builds.append(grid)
        time.sleep(0.05)
        return _build_canonical(*grid)

    monkeypatch.setattr(_grid, "_build_canonical", slow_build)
    shared = grid_canonical(30, 20)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        read = list(pool.map(lambda _: shared.edge_index, range(8)))
    assert all(array is read[0] for array in read) and len(builds) == 1
    monkeypatch.setattr(_grid, "_build_canonical", _build_canonical)
    lazy, eager = grid_canonical(12, 10, 9, connectivity=26), _build_canonical((12, 10, 9), 26)
    assert isinstance(lazy, LazyGrid) and lazy.num_edges == eager.num_edges
    assert lazy.num_nodes == 1080 and grid_shape(lazy) == ((12, 10, 9), 26)
    for a, b in zip(lazy, eager):
        np.testing.assert_array_equal(a, b)
    edge_index, edge_weight, p = lazy
    assert edge_index is lazy.edge_index and lazy[1] is edge_weight and p == 1080
    assert lazy._asdict()["edge_index"] is edge_index
    changed = lazy._replace(edge_weight=2 * edge_weight)
    assert type(changed) is CanonicalGraph and grid_shape(changed) is None
    copy = pickle.loads(pickle.dumps(lazy))
    assert isinstance(copy, LazyGrid) and copy.grid == lazy.grid
    np.testing.assert_array_equal(copy.edge_index, edge_index)
    assert "connectivity=26" in repr(lazy)
    assert lazy == copy and hash(lazy) == hash(copy)
    assert lazy != LazyGrid((12, 10, 9), connectivity=6) and lazy == LazyGrid(12, 10, 9,
                                                                               connectivity=26)
    # Rebuilt from its fields, as generic code rebuilds a named tuple: an eager graph.
    for rebuilt in (type(lazy)(*lazy), type(lazy)._make(lazy)):
        assert type(rebuilt) is CanonicalGraph and rebuilt.edge_index is edge_index
    with pytest.raises(ValueError, match="connectivity"):
        LazyGrid((12, 10, 9), connectivity=8)
    with pytest.raises(AttributeError):
        lazy.grid = ((1, 1080), 4)


def test_clear_caches_frees_the_kept_grids_and_layouts():
    from isvs_graph._solver import numba_backend
    from isvs_graph.graphs import _grid
    image = np.random.default_rng(3).random((96, 80, 3)).astype(np.float32)
    isvs_graph.clear_caches()
    first = isvs_graph.smooth_image(image, sparsity=0.7)
    kept = _grid._KEPT.bytes + numba_backend._KEPT_LAYOUTS.bytes
    kept += _grid._SMALL_EDGES.bytes
    assert kept > 0 and len(_grid._KEPT) and len(numba_backend._KEPT_LAYOUTS)
    assert len(_grid._SMALL_EDGES)
    assert isvs_graph.clear_caches() == kept
    assert _grid._KEPT.bytes == numba_backend._KEPT_LAYOUTS.bytes == 0
    assert not len(_grid._KEPT) and not len(numba_backend._KEPT_LAYOUTS)
    assert not len(_grid._SMALL_EDGES)  # (96 × 80 is a small grid: its edges went too)
    assert not len(numba_backend._MEASURED)
    assert isvs_graph.clear_caches() == 0
    # built again when needed: the same bits
    np.testing.assert_array_equal(isvs_graph.smooth_image(image, sparsity=0.7), first)


def test_frozen_arrays_cannot_be_changed_through_a_view():
    from isvs_graph.graphs._canonical import frozen, is_frozen
    values = np.arange(6.0)
    kept = frozen(values)
    assert is_frozen(kept) and is_frozen(kept[2:]) and is_frozen(kept.reshape(2, 3))
    assert frozen(kept) is kept  # no second copy
    values[0] = 9.0  # the original is the caller's; the frozen copy does not follow
    assert kept[0] == 0.0
    read_only = np.arange(3.0)
    read_only.flags.writeable = False  # a flag alone is no promise
    assert not is_frozen(read_only) and not is_frozen(read_only[1:])
    from isvs_graph.graphs._canonical import frozen_ones
    for count in (0, 1, 5):  # unit weights, written straight into their bytes
        ones = frozen_ones(count)
        assert is_frozen(ones) and ones.dtype == np.float64
        np.testing.assert_array_equal(ones, np.ones(count))
        with pytest.raises(ValueError):
            ones.flags.writeable = True


def test_grid_offsets_are_the_callers_own():
    from isvs_graph.graphs._grid import grid_offsets
    offsets = grid_offsets(2, 8)
    offsets.clear()
    assert grid_offsets(2, 8) == [(0, 1), (1, 0), (1, 1), (1, -1)]


def test_grids_are_recognised_from_many_threads_at_once(monkeypatch):
    # The kept answers and shared arrays are dicts that calls change: from several
    # threads at once (DataLoader threads, a thread pool) without a lock, one thread's
    # clean-up broke another's iteration ("dictionary changed size during iteration").
    # (No grid kept whole, so that every large one goes through the shared arrays; each
    # is then a LazyGrid, read here as a canonical graph of its arrays.)
    import sys
    import threading

    from isvs_graph._kept import Kept
    from isvs_graph.graphs import CanonicalGraph, _grid
    from isvs_graph.graphs._grid import SMALL_GRID, grid_canonical, grid_shape
    monkeypatch.setattr(_grid, "_KEPT", Kept(0, 0))
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                h, w = (int(v) for v in rng.integers(2, 12, 2))
                graph = grid_canonical(h, w)  # small: kept; fresh answers kept too
                assert grid_shape(CanonicalGraph(*graph)) is not None
                big = grid_canonical(SMALL_GRID // 128 + int(rng.integers(1, 4)), 128)
                assert grid_shape(CanonicalGraph(*big)) is not None
        except Exception as error:  # noqa: BLE001 - reported below, with its thread
            errors.append(repr(error))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
