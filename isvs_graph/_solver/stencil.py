"""Pixel and voxel grids as stencils: the slot layout both backends step on.

Direction ``d`` of :func:`~isvs_graph.graphs._grid.grid_directions` joins node ``t`` to
``t + shift[d]``, so ``D u`` along it is one shifted difference of the flattened grid,
``u[t] − u[t + shift[d]]``, and ``Dᵀ r`` at node ``n`` is
``Σ_d r[d, n] − r[d, n − shift[d]]``: contiguous slices, no index lists.
:func:`grid_stencil` lays the edges out for the numba kernels; :class:`StencilOperator`
applies ``D`` and ``Dᵀ`` that way to torch tensors (the torch backend's operator on
grids) and imports torch when built. Grids are unit-weight (``grid_shape`` recognises
no other), so no weight is multiplied in; a weighted grid is an edge list.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..graphs import CanonicalGraph
from ..graphs._grid import edge_directions, edges_in_order, repeat_slabs
from .._operator import norm_bound

if TYPE_CHECKING:
    import torch

__all__ = ["StencilOperator", "grid_stencil"]


def grid_stencil(shape: tuple[int, ...], connectivity: int, dtype,
                 ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """The stencil layout of a pixel or voxel grid for the kernels:
    ``(shifts, pad, masks, eid, slot)``.

    Direction ``d`` (:func:`~isvs_graph.graphs._grid.grid_offsets`: right, down,
    down-right, down-left in 2-D) joins node ``t`` to ``t + shifts[d]``; its edges sit at
    slots ``d L + pad + t``, ``L = pad + p``, ``pad`` the largest shift. ``masks`` is 1
    on the slots that are edges; ``eid`` maps slots to the ids of the grid's canonical
    edges (−1 elsewhere) and ``slot`` edges to slots (both of :func:`index_dtype`), so
    supports and entries come out in canonical order. Canonical order is node by node,
    each node's edges by increasing shift (as ``grid_canonical``
    builds them), so both maps follow from the shape.
    """
    p = math.prod(shape)
    if shape[0] > 2:
        return _repeated(shape, connectivity, dtype)
    steps, node, direction = edges_in_order(shape, connectivity)
    pad = max(shift for shift, _ in steps)
    masks, length, index = _masks(steps, pad, p, dtype)
    slot = (direction * length + pad + node).astype(index)
    eid = np.full(len(steps) * length, -1, dtype=index)
    eid[slot] = np.arange(slot.shape[0], dtype=index)
    return (np.array([shift for shift, _ in steps], dtype=np.int64), pad, masks.reshape(-1),
            eid, slot)


def _masks(steps: list[tuple[int, np.ndarray]], pad: int, p: int, dtype,
           ) -> tuple[np.ndarray, int, type]:
    """The masks ``(directions, L)`` of a stencil, ``L``, and the type of its maps."""
    length = pad + p
    masks = np.zeros((len(steps), length), dtype=dtype)
    for d, (_, valid) in enumerate(steps):
        masks[d, pad:] = valid
    return masks, length, index_dtype(len(steps) * length)


def _repeated(shape: tuple[int, ...], connectivity: int, dtype,
              ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`grid_stencil` of a grid of more than two slabs along its first axis, from
    that of two (as :func:`~isvs_graph.graphs._grid._build_grid_edges` builds edges):
    the same directions, shifts and ``pad``; every slab but the last has the first's
    edges, the last the second's."""
    shifts, pad, _, pair_eid, pair_slot = grid_stencil((2, *shape[1:]), connectivity,
                                                       dtype)
    steps = edge_directions(shape, connectivity)
    p, slab, repeats = math.prod(shape), math.prod(shape[1:]), shape[0] - 1
    masks, length, index = _masks(steps, pad, p, dtype)
    pair_length = pad + 2 * slab
    direction, at = np.divmod(pair_slot.astype(np.int64), pair_length)
    cut = int(np.searchsorted(at, pad + slab))  # the first slab's edges (node-major)
    slot = repeat_slabs((direction * length + at).astype(index), cut, repeats, slab)
    eid = np.full((len(steps), length), -1, dtype=index)
    pair_eid = pair_eid.reshape(len(steps), pair_length).astype(index)
    offsets = np.arange(0, repeats * cut, cut, dtype=index)[:, None]
    for d in range(len(steps)):
        first, last = pair_eid[d, pad:pad + slab], pair_eid[d, pad + slab:]
        np.add(first, offsets, where=first >= 0,
               out=eid[d, pad:pad + repeats * slab].reshape(repeats, slab))
        np.add(last, (repeats - 1) * cut, where=last >= 0, out=eid[d, pad + repeats * slab:])
    return shifts, pad, masks.reshape(-1), eid.reshape(-1), slot


def index_dtype(count: int) -> type:
    """int32 for indices below ``count`` where they fit (half the memory of a layout's
    maps), else int64."""
    return np.int32 if count < 2**31 else np.int64


class StencilOperator:
    """``D`` and ``Dᵀ`` of a unit-weight grid by shifted slices, on a given device.

    The torch backend's operator on grids. Its slots are :func:`grid_stencil`'s without
    the padding: slot ``d p + t`` holds the edge from node ``t`` along direction ``d``
    (mask 0, and always zero, where there is none). Values are laid out in memory as
    ``B × C × (nodes or slots)``, each signal's planes contiguous, and handed to the
    solver loop as the views ``(nodes or slots, B, C)`` that the edge-list operator
    uses, so one loop serves both.

    Parameters
    ----------
    graph : CanonicalGraph
        A grid: :func:`~isvs_graph.graphs._grid.grid_shape` gives ``grid``.
    grid : (shape, connectivity)
    dtype : torch.dtype
    device : torch.device or str, optional
    """

    def __init__(self, graph: CanonicalGraph, grid: tuple[tuple[int, ...], int], *,
                 dtype: torch.dtype, device: torch.device | str | None = None) -> None:
        import torch
        self.graph = graph
        self.num_nodes = p = graph.num_nodes
        self.num_edges = graph.num_edges
        self.norm_bound = norm_bound(graph)
        shifts, pad, masks, _, slot = grid_stencil(*grid, np.float64)
        masks = masks.reshape(len(shifts), pad + p)[:, pad:]
        self.shifts = [int(s) for s in shifts]
        self._num_slots = len(self.shifts) * p
        # Per direction, the mask of the sources that have a neighbour along it, where
        # some inside the overlap ``t < p − shift`` have none (the last column…).
        self.masks = [None if masks[d, :p - s].all() else
                      torch.from_numpy(masks[d, :p - s].copy()).to(device=device, dtype=dtype)
                      for d, s in enumerate(self.shifts)]
        # canonical edge -> its slot here (grid_stencil's, less the padding before each)
        slot = slot.astype(np.int64)
        slot -= pad * (slot // (pad + p) + 1)
        self.slot = torch.from_numpy(slot).to(device)

    def _nodes(self, values: torch.Tensor) -> torch.Tensor:
        """A copy of ``(p, B, C)`` values in this operator's memory layout."""
        import torch
        return values.movedim(0, -1).clone(memory_format=torch.contiguous_format).movedim(-1, 0)

    def _slots(self, batch: int, channels: int, *, dtype: torch.dtype) -> torch.Tensor:
        """Zeros ``(slots, B, C)`` in this operator's memory layout."""
        import torch
        return torch.zeros((batch, channels, self._num_slots), dtype=dtype,
                           device=self.slot.device).movedim(-1, 0)

    def _take(self, values: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """The signals ``columns`` of ``(slots or nodes, B, ...)`` values, in this layout."""
        return values.movedim(0, -1).index_select(0, columns).movedim(-1, 0)

    def _to_edges(self, values: torch.Tensor) -> torch.Tensor:
        """Per-slot values ``(slots, ...)`` in canonical edge order ``(m, ...)``."""
        return values.index_select(0, self.slot)

    def apply(self, u: torch.Tensor) -> torch.Tensor:
        """``D u`` for ``u`` ``(p, B, C)``; returns ``(slots, B, C)``."""
        import torch
        planes = _planes(u)  # (B, C, p)
        p = self.num_nodes
        out = planes.new_zeros((*planes.shape[:-1], len(self.shifts), p))  # the tails: 0
        for d, (shift, mask) in enumerate(zip(self.shifts, self.masks)):
            row = out[..., d, :p - shift]
            torch.sub(planes[..., :p - shift], planes[..., shift:], out=row)
            if mask is not None:
                row.mul_(mask)
        return out.reshape(*planes.shape[:-1], -1).movedim(-1, 0)

    def adjoint(self, r: torch.Tensor) -> torch.Tensor:
        """``Dᵀ r`` for ``r`` ``(slots, B, C)``; returns ``(p, B, C)``."""
        p = self.num_nodes
        rows = _planes(r)
        rows = rows.reshape(*rows.shape[:-1], len(self.shifts), p)  # (B, C, d, p)
        out = rows[..., 0, :].clone()  # the edges leaving each node …
        for d in range(1, len(self.shifts)):
            out += rows[..., d, :]
        for d, shift in enumerate(self.shifts):  # … less those arriving (in place:
            out[..., shift:].sub_(rows[..., d, :p - shift])  # ``-=`` copies back)
        return out.movedim(-1, 0)


def _planes(values: torch.Tensor) -> torch.Tensor:
    """``(n, B, C)`` values as contiguous ``(B, C, n)`` planes (a view when they lie in
    the stencil's layout, as the solver keeps them)."""
    return values.movedim(0, -1).contiguous()
