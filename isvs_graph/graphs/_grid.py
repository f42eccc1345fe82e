"""Pixel grids and voxel grids as graphs.

Node ``r * width + c`` is pixel ``(r, c)`` (``(z * height + r) * width + c`` is voxel
``(z, r, c)``): the C order in which ``image.reshape(-1, C)`` lists them. The edges are
generated already in canonical order, and :func:`grid_shape` recognises such a grid
however it was built, so that the solver can take its stencil kernels.
:func:`grid_canonical` is the same grid in canonical form, without torch: what the image
functions solve on.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import warnings
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .._kept import Kept
from .._validation import check_count, shown
from ._canonical import CanonicalGraph, frozen, frozen_ones, is_frozen

if TYPE_CHECKING:
    import torch
    from torch_geometric.data import Data

__all__ = ["CONNECTIVITIES", "LazyGrid", "frozen_grid_shape", "grid_canonical",
           "grid_graph", "grid_offsets", "grid_shape"]

#: The neighbourhoods of a grid, per number of dimensions, and how far each reaches
#: (the largest number of axes a neighbour's offset moves along): 4 and 6 join along one
#: axis, 8 and 18 along up to two (the diagonals of a square), 26 along three.
CONNECTIVITIES = {2: {4: 1, 8: 2}, 3: {6: 1, 18: 2, 26: 3}}
#: Grids of at most this many nodes (128², 25³) keep their edges (the last 8, within
#: ``SMALL_GRID_BYTES``: a 25³ 26-neighbour grid's take 3.4 MB), whatever grid holds them
#: (whole grids are kept within ``KEPT_GRID_BYTES``).
SMALL_GRID = 1 << 14
SMALL_GRID_BYTES = 32 << 20
_SMALL_EDGES = Kept(SMALL_GRID_BYTES, 8)


def grid_offsets(ndim: int, connectivity: int) -> list[tuple[int, ...]]:
    """The offsets from a node to its neighbours ahead of it (the first non-zero
    component positive), one per undirected direction, in the stencil's order: along
    one axis first (the innermost axis first), then the diagonals.

    2-D, 8 neighbours: ``(0, 1)`` right, ``(1, 0)`` down, ``(1, 1)`` down-right,
    ``(1, −1)`` down-left.
    """
    return list(_offsets(ndim, connectivity))


@functools.lru_cache(maxsize=None)  # five neighbourhoods; grid_shape asks at every call
def _offsets(ndim: int, connectivity: int) -> tuple[tuple[int, ...], ...]:
    reach = CONNECTIVITIES[ndim][connectivity]
    offsets = [o for o in itertools.product((-1, 0, 1), repeat=ndim)
               if 0 < sum(map(abs, o)) <= reach and o[next(i for i, v in enumerate(o) if v)] > 0]
    return tuple(sorted(offsets, key=lambda o: (sum(map(abs, o)),
                                                tuple(-v for v in reversed(o)))))


def _strides(shape: tuple[int, ...]) -> np.ndarray:
    """Node-index strides of a C-ordered grid."""
    return np.array([int(np.prod(shape[a + 1:])) for a in range(len(shape))], dtype=np.int64)


def grid_directions(shape: tuple[int, ...], connectivity: int,
                    ) -> list[tuple[int, np.ndarray]]:
    """Per offset of :func:`grid_offsets`: its shift in node index and the nodes
    (a boolean mask over all of them) from which it leads to a node of the grid."""
    strides = _strides(shape)
    directions = []
    for offset in grid_offsets(len(shape), connectivity):
        valid = np.ones(shape, dtype=bool)
        for axis, step in enumerate(offset):
            if step:  # the last (first, going back) |step| slices along the axis lead out
                edge = slice(shape[axis] - step, None) if step > 0 else slice(None, -step)
                valid[(slice(None),) * axis + (edge,)] = False
        directions.append((int(np.dot(offset, strides)), valid.reshape(-1)))
    return directions


def edge_directions(shape: tuple[int, ...], connectivity: int,
                    ) -> list[tuple[int, np.ndarray]]:
    """The directions of :func:`grid_directions` along which the grid has edges (a
    grid one node wide has none across)."""
    return [(shift, valid) for shift, valid in grid_directions(shape, connectivity)
            if valid.any()]


def _grid_edges(shape: tuple[int, ...], connectivity: int) -> np.ndarray:
    """The canonical edges of a grid, ``(2, m)``, frozen: those of a small grid
    (:data:`SMALL_GRID`) are kept, as building them costs more than solving its image."""
    if math.prod(shape) <= SMALL_GRID:
        key = (tuple(int(n) for n in shape), connectivity)
        return _SMALL_EDGES.get(key, lambda: (_build_grid_edges(*key),))[0]
    return _shared(("edges", tuple(shape), connectivity),
                   lambda: _build_grid_edges(shape, connectivity))


#: Frozen arrays of large grids that some graph still holds, by what they are: weak
#: references, so a call that rebuilds one (recognising the grid) finds it while it is
#: in use and memory is not kept for it after.
_SHARED: dict = {}


def _shared(key: tuple, build) -> np.ndarray:
    """The frozen array ``build()`` makes, shared while something holds it."""
    with _LOCK:  # (calls from several threads: the dict changes under them)
        kept = _SHARED.get(key)
        array = kept() if kept is not None else None
    if array is None:
        array = build()
        with _LOCK:
            for dead in [k for k, ref in list(_SHARED.items()) if ref() is None]:
                _SHARED.pop(dead, None)
            _SHARED[key] = weakref.ref(array)
    return array


_LOCK = threading.Lock()


def _build_grid_edges(shape: tuple[int, ...], connectivity: int) -> np.ndarray:
    """The canonical edges of a grid, generated in order (no sort), frozen.

    The slabs along the first axis (rows of an image, planes of a volume) but the last
    have the same edges, shifted by a slab's nodes: the edges of a grid of more than two
    slabs are those of a grid of two, repeated (:func:`repeat_slabs`), a fraction of
    the work of finding each edge of the grid. On two slabs the same directions have
    edges as on more, with the same shifts (the strides do not depend on the first
    size): the first slab's edges are those of every slab but the last, the second's
    those of the last.
    """
    if shape[0] <= 2:
        return frozen(_edges_of(shape, connectivity))
    pattern = _edges_of((2, *shape[1:]), connectivity)
    slab = math.prod(shape[1:])
    cut = int(np.searchsorted(pattern[0], slab))
    edges = np.empty((2, (shape[0] - 1) * cut + pattern.shape[1] - cut), dtype=np.int64)
    for row, out in zip(pattern, edges):
        repeat_slabs(row, cut, shape[0] - 1, slab, out=out)
    return frozen(edges)


def _edges_of(shape: tuple[int, ...], connectivity: int) -> np.ndarray:
    directions, node, direction = edges_in_order(shape, connectivity)
    shift = np.array([step for step, _ in directions], dtype=np.int64)
    edges = np.empty((2, node.shape[0]), dtype=np.int64)
    edges[0] = node
    np.add(node, shift[direction] if directions else 0, out=edges[1])
    return edges


def edges_in_order(shape: tuple[int, ...], connectivity: int,
                   ) -> tuple[list[tuple[int, np.ndarray]], np.ndarray, np.ndarray]:
    """The directions of :func:`grid_directions` that have edges, and for each canonical
    edge in order its source node and the index of its direction in that list.

    Canonical order is node by node, each node's edges by increasing shift; two offsets
    may share a shift on a narrow grid (2-D, ``W = 2``: right and down-left) but never
    from the same node (their targets would be one node). Found node by node: callers
    build large grids from a grid of two slabs (:func:`_build_grid_edges`).
    """
    directions = edge_directions(shape, connectivity)
    if not directions:
        return directions, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    by_shift = sorted(range(len(directions)), key=lambda d: directions[d][0])  # stable
    valid = np.stack([directions[d][1] for d in by_shift], axis=1)  # (p, D), node-major
    node, column = np.divmod(np.flatnonzero(valid), len(directions))
    return directions, node, np.array(by_shift, dtype=np.int64)[column]


def repeat_slabs(pattern: np.ndarray, cut: int, repeats: int, step: int, *,
                 out: np.ndarray | None = None) -> np.ndarray:
    """A grid's values per edge in canonical order from those of a grid of its first two
    slabs (``pattern``, the first slab's ``cut`` first; see :func:`_build_grid_edges`):
    the first slab's ``repeats`` times, the ``s``-th plus ``s · step``, then the second
    slab's plus ``(repeats − 1) · step`` (``step``: a slab's nodes, or its slots); in
    ``out`` where given."""
    if out is None:
        out = np.empty(repeats * cut + pattern.shape[0] - cut, dtype=pattern.dtype)
    np.add(np.arange(0, repeats * step, step, dtype=pattern.dtype)[:, None],
           pattern[None, :cut], out=out[:repeats * cut].reshape(repeats, cut))
    np.add(pattern[cut:], (repeats - 1) * step, out=out[repeats * cut:])
    return out


def _check_grid(shape, connectivity) -> tuple[tuple[int, ...], int]:
    """The shape's sizes as ints ``>= 1`` and the connectivity, checked for its
    dimensions (default 4 in 2-D, 6 in 3-D)."""
    if len(shape) not in CONNECTIVITIES:
        raise ValueError("a grid has 2 dimensions (height, width) or 3 (depth, height, "
                         f"width), got {len(shape)}: {shown(tuple(shape))}")
    names = ("height", "width") if len(shape) == 2 else ("depth", "height", "width")
    shape = tuple(check_count(name, size) for name, size in zip(names, shape))
    allowed = CONNECTIVITIES[len(shape)]
    if connectivity is None:
        connectivity = min(allowed)
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)) \
            or connectivity not in allowed:  # (4.0 too, as a size of 4.0 is refused)
        raise ValueError(f"connectivity must be one of {tuple(allowed)} for a "
                         f"{len(shape)}-D grid, got {shown(connectivity)}")
    return shape, int(connectivity)


def _read_shape(shape: tuple, connectivity: int | None, *, legacy: bool = False,
                ) -> tuple[tuple, int | None]:
    """Positional sizes as a shape (or a tuple given whole). ``legacy`` (``grid_graph``):
    three with the third 4 or 8 and no ``connectivity`` are the old
    ``(height, width, connectivity)``, read as that with a deprecation warning."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0]), connectivity
    if legacy and len(shape) == 3 and connectivity is None and shape[2] in (4, 8) and \
            not isinstance(shape[2], bool):
        warnings.warn(
            f"grid_graph{tuple(shape)} reads the third number as the connectivity, as "
            "before volumes were supported; this will change: pass "
            f"grid_graph({shape[0]}, {shape[1]}, connectivity={shape[2]}) for a pixel grid "
            f"or grid_graph({shape[0]}, {shape[1]}, {shape[2]}, connectivity=6) for a "
            "volume", DeprecationWarning, stacklevel=3)
        return tuple(shape[:2]), shape[2]
    return tuple(shape), connectivity


#: Canonical grids kept between calls (:class:`~isvs_graph._kept.Kept`): the most
#: recent, up to this many bytes of arrays (a 512² 4-neighbour grid holds 12.6 MB) and
#: 32 grids. Their arrays are frozen, so every call may share them (and
#: :func:`grid_shape` recognises them at once); building a 512² grid again took a fifth
#: of smoothing its photo.
KEPT_GRID_BYTES = 64 << 20
_KEPT = Kept(KEPT_GRID_BYTES, 32)


def grid_canonical(*shape: int, connectivity: int | None = None) -> CanonicalGraph:
    """The grid of :func:`grid_graph` in canonical form (numpy, unit weights).

    A grid whose arrays would exceed what is kept (:data:`KEPT_GRID_BYTES`) builds them
    when they are first read (:class:`LazyGrid`): the solver's stencil kernels and the
    projection never read them, so smoothing a large image builds none."""
    shape, connectivity = _check_grid(*_read_shape(shape, connectivity))
    # (int64 edges, float64 weights; a grid with an axis of one node is recognised as
    # another shape, so only its arrays say which: built)
    if 24 * _edge_count(shape, connectivity) > _KEPT.budget and min(shape) > 1:
        return LazyGrid(shape, connectivity=connectivity)
    return _KEPT.get((shape, connectivity), lambda: _build_canonical(shape, connectivity))


@functools.lru_cache(maxsize=64)  # (asked at every grid_canonical call)
def _edge_count(shape: tuple[int, ...], connectivity: int) -> int:
    """The edges of a grid: along each offset, the nodes it leads from to a node."""
    return sum(math.prod(n - abs(v) for n, v in zip(shape, offset))
               for offset in _offsets(len(shape), connectivity))


class LazyGrid(CanonicalGraph):
    """A pixel or voxel grid in canonical form whose arrays are built when first read
    (once, then shared while some graph holds them), as :func:`grid_canonical` gives a
    large grid with no axis of one node: what it is (``grid``: its shape and
    connectivity, as :func:`grid_shape` answers), its nodes and its edges are known
    without them. Its fields, unpacking, indexing, ``_replace``, ``_make``, equality and
    pickling behave as a :class:`CanonicalGraph`'s (rebuilt from its three fields, it is
    one); what reads a tuple's items directly (``tuple.__getitem__``, ``+``, numba)
    sees placeholders."""

    def __new__(cls, *fields, connectivity: int | None = None):
        if len(fields) == 3 and not isinstance(fields[0], (int, np.integer)):
            return CanonicalGraph(*fields)  # rebuilt from its fields: eager
        shape, connectivity = _check_grid(*_read_shape(fields, connectivity))
        self = super().__new__(cls, None, None, math.prod(shape))
        self._grid = (shape, connectivity)
        self._arrays = None
        self._lock = threading.Lock()
        return self

    @classmethod
    def _make(cls, iterable) -> CanonicalGraph:
        return CanonicalGraph._make(iterable)

    @property
    def grid(self) -> tuple[tuple[int, ...], int]:
        return self._grid

    @property
    def edge_index(self) -> np.ndarray:
        return self._built()[0]

    @property
    def edge_weight(self) -> np.ndarray:
        return self._built()[1]

    @property
    def num_edges(self) -> int:
        return _edge_count(*self.grid)

    def _built(self) -> tuple[np.ndarray, np.ndarray]:
        arrays = self._arrays
        if arrays is None:
            with self._lock:  # (threads reading it at once build it once)
                arrays = self._arrays
                if arrays is None:
                    arrays = self._arrays = tuple(_build_canonical(*self.grid)[:2])
        return arrays

    def __iter__(self):
        return iter((self.edge_index, self.edge_weight, self.num_nodes))

    def __getitem__(self, index):
        return tuple(self)[index]

    def _replace(self, **changes) -> CanonicalGraph:
        return CanonicalGraph(*self)._replace(**changes)

    def _asdict(self) -> dict:
        return dict(zip(self._fields, self))

    def __eq__(self, other) -> bool:  # (not the placeholders the tuple holds)
        if isinstance(other, LazyGrid):
            return self.grid == other.grid
        return tuple(self) == tuple(other) if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.grid)

    def __repr__(self) -> str:
        shape, connectivity = self.grid
        return (f"LazyGrid(shape={shape}, connectivity={connectivity}, "
                f"num_nodes={self.num_nodes}, num_edges={self.num_edges})")

    def __reduce__(self):
        shape, connectivity = self.grid
        return functools.partial(LazyGrid, connectivity=connectivity), (shape,)


def _build_canonical(shape: tuple[int, ...], connectivity: int) -> CanonicalGraph:
    edge_index = _grid_edges(shape, connectivity)
    m = edge_index.shape[1]
    return CanonicalGraph(edge_index, _shared(("ones", m), lambda: frozen_ones(m)),
                          math.prod(shape))


def grid_graph(*shape: int, connectivity: int | None = None,
               device: torch.device | str | None = None) -> Data:
    """The pixel grid of an image, or the voxel grid of a volume, as a graph.

    Node ``r * width + c`` is pixel ``(r, c)``, node ``(z * height + r) * width + c``
    voxel ``(z, r, c)``: the C order in which ``image.reshape(-1, C)`` lists them.

    Parameters
    ----------
    *shape : int
        ``height, width`` for an image, ``depth, height, width`` for a volume, each
        ``>= 1`` (or one tuple of them).
    connectivity : {4, 8} in 2-D, {6, 18, 26} in 3-D, optional
        The neighbours joined: 4 (2-D) and 6 (3-D, the default) along the axes; 8 adds
        the diagonals of each square, 18 those of each face of a cube, 26 the cube's
        own. Every edge has weight 1 (no ``edge_weight`` is stored).
    device : torch.device or str, optional
        Where ``edge_index`` is allocated.

    Returns
    -------
    torch_geometric.data.Data
        ``edge_index`` (2, m) in canonical order (``i < j``, sorted), ``num_nodes``
        and ``pos`` (p, 2) or (p, 3), the coordinates of each node.

    Raises
    ------
    ValueError
        Not 2 or 3 sizes, a size below 1, a connectivity the dimensions do not have.

    Notes
    -----
    ``grid_graph(height, width, 8)``, the connectivity given third without its name,
    is read as before volumes were supported, with a :class:`DeprecationWarning`; name it
    (``connectivity=8``).

    Examples
    --------
    >>> from isvs_graph import grid_graph
    >>> g = grid_graph(2, 3)
    >>> g.edge_index.tolist()
    [[0, 0, 1, 1, 2, 3, 4], [1, 3, 2, 4, 5, 4, 5]]
    >>> grid_graph(5, 7, connectivity=8).num_edges
    106
    >>> grid_graph(2, 2, 2).num_edges, grid_graph(2, 2, 2, connectivity=26).num_edges
    (12, 28)
    """
    import torch
    from torch_geometric.data import Data

    shape, connectivity = _check_grid(*_read_shape(shape, connectivity, legacy=True))
    grid = grid_canonical(*shape, connectivity=connectivity)
    edge_index = torch.from_numpy(grid.edge_index.copy()).to(device)  # a tensor of its own
    axes = torch.meshgrid(*(torch.arange(n, device=device) for n in shape), indexing="ij")
    pos = torch.stack([a.reshape(-1) for a in axes], dim=1).float()
    return Data(edge_index=edge_index, num_nodes=grid.num_nodes, pos=pos)


def grid_shape(graph: CanonicalGraph) -> tuple[tuple[int, ...], int] | None:
    """``(shape, connectivity)`` if ``graph`` is exactly the unit-weight grid
    :func:`grid_graph` builds (in any layout), else ``None``; a 2-D shape where a
    volume with one slice is the same graph.

    Lets the solver take its stencil kernels for any grid, however it was built. Each
    call checks the edges themselves (a graph may have been changed since it was
    built), except those of a graph whose arrays nothing can change (:func:`frozen`,
    as :func:`grid_canonical` makes them): its answer is kept, so that every part of a
    call may ask.
    """
    kept = _kept_shape(graph)
    if kept is not _UNKNOWN:
        return kept
    if not (is_frozen(graph.edge_index) and is_frozen(graph.edge_weight)):
        return _recognise(graph)
    key = (id(graph.edge_index), id(graph.edge_weight), graph.num_nodes)
    found = _recognise(graph)
    with _LOCK:  # (an id may be reused once its array is gone: drop the dead)
        for old in [k for k, v in list(_RECOGNISED.items())
                    if v[0]() is None or v[1]() is None]:
            _RECOGNISED.pop(old, None)
        if len(_RECOGNISED) >= 16:
            _RECOGNISED.pop(next(iter(_RECOGNISED)), None)
        _RECOGNISED[key] = (weakref.ref(graph.edge_index), weakref.ref(graph.edge_weight),
                            found)
    return found


#: What :func:`grid_shape` found for frozen graphs: (edges, weights) → answer, with weak
#: references that tell whether the arrays are still the ones asked about.
_RECOGNISED: dict = {}


#: What :func:`_kept_shape` returns for arrays not asked about before.
_UNKNOWN = object()


def _kept_shape(graph: CanonicalGraph):
    """The answer kept for ``graph``'s very arrays, else :data:`_UNKNOWN`: they were
    frozen when it was kept, and stay so (numpy never makes a view of a ``bytes``
    object writeable again), so no check of theirs is needed. A :class:`LazyGrid` knows
    what it is without its arrays (they are not built to ask)."""
    if isinstance(graph, LazyGrid):
        return graph.grid
    kept = _RECOGNISED.get((id(graph.edge_index), id(graph.edge_weight), graph.num_nodes))
    if kept is not None and kept[0]() is graph.edge_index and \
            kept[1]() is graph.edge_weight:
        return kept[2]
    return _UNKNOWN


def frozen_grid_shape(graph: CanonicalGraph) -> tuple[tuple[int, ...], int] | None:
    """:func:`grid_shape` where it is known at no cost (a frozen graph: its answer is
    kept), else ``None`` without looking: for shortcuts that a grid allows but that
    are no reason to recognise one."""
    kept = _kept_shape(graph)
    if kept is not _UNKNOWN:
        return kept
    if is_frozen(graph.edge_index) and is_frozen(graph.edge_weight):
        return grid_shape(graph)
    return None


def _recognise(graph: CanonicalGraph) -> tuple[tuple[int, ...], int] | None:
    p, m = graph.num_nodes, graph.num_edges
    if m == 0 or not bool((graph.edge_weight == 1).all()):
        return None
    src, dst = graph.edge_index
    # the shifts out of node 0 (canonical edges are sorted: its edges come first)
    ahead = sorted(set(dst[:int(np.searchsorted(src, 1))].tolist()))
    candidates = [(p // w, w) for w in sorted({p, 1, *ahead}) if w >= 1 and p % w == 0]
    candidates += [(p // plane, plane // w, w) for plane in ahead for w in ahead
                   if w < plane and plane % w == 0 and p % plane == 0]
    for shape in candidates:
        for connectivity in CONNECTIVITIES[len(shape)]:
            if _edge_count(shape, connectivity) != m:
                continue
            expected = _grid_edges(shape, connectivity)
            if expected is graph.edge_index or np.array_equal(expected, graph.edge_index):
                return shape, connectivity
    return None
