"""The torch backend: Split LBI on any device, by shifted slices on pixel and voxel grids
(:class:`~.stencil.StencilOperator`) and by gather/scatter over the edge list on other
graphs (:class:`~isvs_graph._operator.DifferenceOperator`).

One loop serves both operators: it sees nodes and edges first, ``(p, B, C)`` and
``(slots, B, C)``, and the operator decides how those lie in memory (edge lists as they
are; grids as ``B × C × (nodes or slots)`` planes, so that every shift is a slice) and
maps its slots to canonical edge order on the way out.

The whole batch steps together. Stop tests run on the device at every iterate, on
integers (a step bound and a support count per signal, the count worked out on the host
with the numba kernels' float64 division, so that no device's rounding moves a stop): a
signal that meets its target is frozen by a mask (its later steps add zero), so the
host never waits for the device inside the loop. Every ``CHECK_EVERY`` steps the host
reads a few numbers per signal — stationarity, the floor, the next entry for a jump —
and drops finished signals from the working set. The arithmetic is that of the numba
kernels; the two agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .._operator import DifferenceOperator
from .._projection import component_labels
from .._signals import dtype_name
from ..graphs import CanonicalGraph
from ..graphs._grid import grid_shape
from .numba_kernels import FLOOR, MAX_ITER, NON_FINITE, REACHED, RUNNING
from .options import (CHECK_EVERY, KICK_RTOL, REGION_TOL, SolverOptions,
                      entries_for_sparsity, step_constants)
from .stencil import StencilOperator

#: Whether grids step by the stencil; False forces the edge list's gather/scatter on
#: every graph (private: for benchmarks and tests that compare the two).
_STENCIL = True

Operator = DifferenceOperator | StencilOperator

#: A step bound no signal reaches (no time target).
_NEVER = np.iinfo(np.int64).max


def operator(graph: CanonicalGraph, *, dtype: torch.dtype, device: torch.device | str,
             stencil: bool | None = None) -> Operator:
    """The operator the loop steps with: the stencil on a grid (unless ``stencil`` is
    False, or None and ``_STENCIL`` is False), gather/scatter otherwise."""
    grid = grid_shape(graph) if (_STENCIL if stencil is None else stencil) else None
    if grid is not None:
        return StencilOperator(graph, grid, dtype=dtype, device=device)
    return DifferenceOperator(graph, dtype=dtype, device=device)


@dataclass
class TorchRun:
    """Where each signal stopped (normalised units, ``(p, B, C)``)."""

    u: torch.Tensor
    support: torch.Tensor
    iterations: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    sparsity: np.ndarray


class _Batch:
    """The working set: the unfinished signals' state, shrunk as signals finish."""

    def __init__(self, op, x, u0, k_target, count_target, joint):
        p, batch, channels = x.shape
        device = x.device
        self.op = op
        self.index = torch.arange(batch, device=device)  # original index of each column
        self.x, self.u = op._nodes(x), op._nodes(u0)
        self.z = op._slots(batch, channels, dtype=x.dtype)
        self.gamma = torch.zeros_like(self.z)
        self.support = self.z[..., 0] != 0 if joint else self.z != 0
        self.k = torch.zeros(batch, dtype=torch.long, device=device)
        # The stop rule: k ≥ k_stop or count ≥ count_stop (int64 max and entries + 1
        # where a signal has no such target).
        self.k_stop = torch.from_numpy(np.where(k_target >= 0, k_target, _NEVER)).to(device)
        self.count_stop = torch.from_numpy(count_target).to(device)
        self.status = torch.full((batch,), RUNNING, dtype=torch.long, device=device)
        self.floor = torch.zeros(batch, dtype=torch.bool, device=device)

    def keep(self, columns: torch.Tensor) -> None:
        for name in ("index", "k", "k_stop", "count_stop", "status", "floor"):
            setattr(self, name, getattr(self, name)[columns])
        for name in ("x", "u", "z", "gamma", "support"):
            setattr(self, name, self.op._take(getattr(self, name), columns))


def run(op: Operator, x: torch.Tensor, u0: torch.Tensor, options: SolverOptions,
        k_target: np.ndarray, s_target: np.ndarray, *, progress: bool = False) -> TorchRun:
    """Run Split LBI on normalised signals ``x`` (``(p, B, C)``) from ``u0``."""
    p, batch, channels = x.shape
    device, dtype = x.device, x.dtype
    joint = options.mode == "joint"
    m = op.num_edges
    entries = m if joint else m * channels
    # The numba kernels' constants, exact in the dtype (a Python float torch rounds to it).
    kappa, inv_nu, step_u, step_z = (float(c) for c in step_constants(
        options, dtype_name(dtype)))
    resolution = 32 * torch.finfo(dtype).eps
    floor_tol = max(options.tol, resolution)
    jumps = options.jumps

    work = _Batch(op, x, u0, k_target, count_targets(s_target, entries), joint)
    out_u = torch.empty_like(x)
    out_support = torch.empty((m, batch) if joint else (m, batch, channels), dtype=torch.bool,
                              device=device)
    iterations = np.zeros(batch, dtype=np.int64)
    steps_out = np.zeros(batch, dtype=np.int64)
    status_out = np.full(batch, RUNNING, dtype=np.int64)
    sparsity_out = np.ones(batch)

    def finish(columns: torch.Tensor, steps: int) -> None:
        where = work.index[columns]
        out_u[:, where] = work.u.index_select(1, columns)
        out_support[:, where] = op._to_edges(work.support.index_select(1, columns))
        where_np = where.cpu().numpy()
        iterations[where_np] = work.k[columns].cpu().numpy()
        status_out[where_np] = work.status[columns].cpu().numpy()
        count = _count(work.support.index_select(1, columns), joint).cpu().numpy()
        sparsity_out[where_np] = (entries - count) / entries if entries else 0.0
        steps_out[where_np] = steps

    bar = tqdm(desc="Split LBI", unit="step", dynamic_ncols=True) if progress else None
    steps = 0
    count = torch.zeros(batch, dtype=torch.long, device=device)
    floor_found = False
    while True:
        # The stop rule at the current iterate, on the device.
        done = (work.status == RUNNING) & ((work.k >= work.k_stop) | (count >= work.count_stop))
        work.status.masked_fill_(done, REACHED)
        if floor_found:  # at the last check; a target it met comes first
            work.status.masked_fill_((work.status == RUNNING) & work.floor, FLOOR)
            floor_found = False
        check = steps % CHECK_EVERY == 0
        if check or steps >= options.max_iter:
            running = work.status == RUNNING
            if steps >= options.max_iter:
                work.status = torch.where(running, MAX_ITER, work.status)
                running = torch.zeros_like(running)
            finished = torch.nonzero(~running).flatten()
            if finished.numel():
                finish(finished, steps)
                if finished.numel() == work.index.numel():
                    break
                left = torch.nonzero(running).flatten()
                work.keep(left)
                count = count[left]
        running = work.status == RUNNING
        active = running.to(dtype)[None, :, None]

        # One step (DESIGN §2), frozen signals masked out.
        r = op.apply(work.u) - work.gamma
        grad = (work.u - work.x) + op.adjoint(r) * inv_nu
        if check:
            eps = torch.maximum(grad.abs().amax(dim=(0, 2)), _support_max(r, work.support))
        work.u.addcmul_(grad, active, value=-step_u)
        work.z.addcmul_(r, active, value=step_z)
        if joint:
            factor = (1.0 - 1.0 / _channel_norm(work.z)).clamp_(min=0.0).mul_(kappa)
            work.gamma = work.z * factor[..., None]
            work.support = factor > 0
        else:
            work.gamma = (work.z - work.z.clamp(-1.0, 1.0)) * kappa
            work.support = work.gamma != 0
        count = _count(work.support, joint)
        work.k += running
        steps += 1
        if bar is not None and check:
            bar.update(steps - bar.n)
        if not check:
            continue
        # Stationarity, the floor and jumps: a few numbers per signal cross to the host.
        if not bool(torch.isfinite(eps[running]).all()):
            work.status = torch.where(running & ~torch.isfinite(eps), NON_FINITE,
                                      work.status)
            finish(torch.nonzero(work.status == NON_FINITE).flatten(), steps)
            break
        idle = running & (eps <= floor_tol)
        if not bool(idle.any()):
            continue
        nonflat, nstar, rstar = _scan(work, r, step_z, floor_tol, resolution,
                                      joint)
        candidates = idle & ~nonflat
        if bool(candidates.any()):
            regions = _regions_flat(op.graph, work.x, op._to_edges(work.support),
                                    max(REGION_TOL * options.tol, resolution))
            work.floor = work.floor | (candidates & regions)
            floor_found = True
        if jumps:
            kick_noise = 4 * torch.finfo(dtype).eps
            kick = idle & ~work.floor & (eps <= torch.clamp(KICK_RTOL * rstar, min=kick_noise)) \
                & torch.isfinite(nstar)
            jump = torch.where(kick, torch.floor(nstar).long() - 1, 0)
            jump = torch.minimum(jump, work.k_stop - work.k).clamp(min=0)
            if bool((jump > 0).any()):
                outside = ~work.support[..., None] if joint else ~work.support
                scale = (jump.to(dtype) * step_z)[None, :, None]
                work.z += r * scale * outside
                work.k += jump
    if bar is not None:
        bar.update(steps - bar.n)
        bar.close()
    return TorchRun(out_u, out_support, iterations, steps_out, status_out, sparsity_out)


def count_targets(s_target: np.ndarray, entries: int) -> np.ndarray:
    """Per signal, the support count at which it meets its sparsity target
    (:func:`~.options.entries_for_sparsity`); ``entries + 1`` (never) where it has none
    (``s_target`` −1)."""
    return np.where(s_target >= 0, entries_for_sparsity(entries, np.maximum(s_target, 0.0)),
                    entries + 1)


def _channel_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``Σ_c a_c b_c`` per slot, ``(slots, B)``: summed channel by channel, each product
    rounded before it is added, as the numba kernels do (a fused multiply-add,
    ``addcmul_``, rounds differently and moves an entry that falls on a step's boundary
    to the next step twice as often), and so that each sum runs over whole planes in the
    stencil's layout (a reduction over a middle axis of the memory is slow on the CPU)."""
    out = a[..., 0] * b[..., 0]
    for c in range(1, a.shape[2]):
        out += a[..., c] * b[..., c]
    return out


def _channel_norm(z: torch.Tensor) -> torch.Tensor:
    """``‖z_e‖`` over the channels, ``(slots, B)``."""
    return _channel_dot(z, z).sqrt_()


def _count(support: torch.Tensor, joint: bool) -> torch.Tensor:
    return support.sum(dim=0) if joint else support.sum(dim=(0, 2))


def _support_max(r: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """``max |r|`` over the support, per signal (0 where the support is empty)."""
    inside = support[..., None] if support.ndim == 2 else support
    return torch.where(inside, r.abs(), 0).amax(dim=(0, 2)) if r.shape[0] else \
        r.new_zeros(r.shape[1])


def _regions_flat(graph: CanonicalGraph, x: torch.Tensor, support: torch.Tensor,
                  limit: float) -> torch.Tensor:
    """Per signal: whether every component left by the support (canonical edge order)
    varies by at most ``limit`` in ``x`` (see the numba kernels' ``_regions_flat``).
    Only the support crosses to the CPU, for the labelling."""
    p, batch, channels = x.shape
    joint = support.ndim == 2
    keep = ~(support if joint else support.reshape(support.shape[0], batch * channels))
    labels, count = component_labels(graph, keep)  # (groups, p), ids global
    index = torch.from_numpy(labels).to(x.device)
    # Joint: one partition per signal for all channels; channel: one per channel.
    values = x.permute(1, 0, 2) if joint else x.permute(1, 2, 0).reshape(-1, p, 1)
    flat = values.reshape(-1, values.shape[-1])
    ids = index.reshape(-1, 1).expand_as(flat)
    high = flat.new_full((count, flat.shape[1]), -torch.inf).scatter_reduce(
        0, ids, flat, "amax")
    low = flat.new_full((count, flat.shape[1]), torch.inf).scatter_reduce(
        0, ids, flat, "amin")
    wide = (high - low).amax(dim=1) > limit  # per component
    # Ids are numbered group by group, each group's first id at its node 0.
    firsts = torch.from_numpy(labels[:, 0].copy()).to(x.device)
    owner = torch.searchsorted(firsts, torch.arange(count, device=x.device), right=True) - 1
    wide_groups = torch.zeros(labels.shape[0], dtype=torch.long, device=x.device)
    wide_groups.index_add_(0, owner, wide.long())
    return (wide_groups.reshape(batch, -1) == 0).all(dim=1)


def _scan(work: _Batch, r: torch.Tensor, step_z: float, tol: float, noise: float,
          joint: bool):
    """Per signal: any entry outside the support that is not flat, the steps to the next
    entry and that entry's weighted difference (see the numba kernels' ``_scan``)."""
    batch = work.index.numel()
    if r.shape[0] == 0:  # no edges: nothing can enter
        none = torch.zeros(batch, dtype=torch.bool, device=r.device)
        return none, torch.full((batch,), torch.inf, dtype=torch.float64, device=r.device), \
            torch.zeros(batch, dtype=torch.float64, device=r.device)
    z, r = work.z.double(), r.double()
    a = r * step_z
    if joint:
        outside = ~work.support  # (m, B)
        rn = _channel_norm(r)
        zz, za, aa = _channel_dot(z, z), _channel_dot(z, a), _channel_dot(a, a)
        root = (-za + torch.sqrt(torch.clamp(za * za + aa * (1.0 - zz), min=0.0))) / aa
        n = torch.where(outside & (rn > noise), root, torch.inf)
    else:
        outside = ~work.support  # (m, B, C)
        rn = r.abs()
        n = torch.where(outside & (rn > noise), (torch.sign(a) - z) / a, torch.inf)
    nonflat = outside & (rn > tol)
    nonflat = nonflat.any(dim=0) if joint else nonflat.any(dim=2).any(dim=0)
    batch = n.shape[1]
    flat_n = n.reshape(n.shape[0], batch, -1).permute(1, 0, 2).reshape(batch, -1)
    flat_r = rn.reshape(rn.shape[0], batch, -1).permute(1, 0, 2).reshape(batch, -1)
    if flat_n.shape[1] == 0:
        return nonflat, torch.full((batch,), torch.inf, dtype=n.dtype, device=n.device), \
            torch.zeros(batch, dtype=n.dtype, device=n.device)
    nstar, where = flat_n.min(dim=1)
    return nonflat, nstar, flat_r.gather(1, where[:, None])[:, 0]
