"""The bare arithmetic of a Split LBI step on a pixel grid: a floor under the solver.

One step of DESIGN §2 in joint mode on a 4-neighbour RGB grid, in the solver's stencil
layout (``isvs_graph._solver.numba_kernels``), with nothing else: no stop rule, no
checks, no support count, no records, no chunks. Timed on a small image (its state in
the L1 and L2 caches), its cost per edge-channel per step is what numba makes of the
step's arithmetic alone, so ``steps × edges × channels × that cost`` is a floor under
the time the solver's kernels (numba code of the same arithmetic, and more) can take on
one core of this machine. DESIGN fixes the steps a target needs (``t / α``, with ``α``
from the degree bound), so the floor shows where no tuning of those kernels can make one
thread as fast as a peer. (numba's ``fastmath``, which the solver cannot use, lowered it
by 0–8 % on a 2-core AMD EPYC VM.)
"""

from __future__ import annotations

import time

import numba
import numpy as np


@numba.njit(nogil=True, error_model="numpy")
def _steps(u, x, z, f, r, mask, shifts, pad, steps, kappa, step_z, step_u, inv_nu, n2, g):
    channels, p = u.shape
    length = pad + p
    one, zero = u.dtype.type(1), u.dtype.type(0)
    for _ in range(steps):
        # Edges: r = D u − γ, z += (α/ν) r, γ = κ shrink(z), kept as
        # f = κ max(0, 1 − 1/‖z‖).
        for d in range(shifts.shape[0]):
            shift = shifts[d]
            top = p - shift
            a = d * length + pad
            fd, md = f[a:a + top], mask[a:a + top]
            for c in range(channels):
                ui, uj = u[c, :top], u[c, shift:top + shift]
                zc, rc = z[c, a:a + top], r[c, a:a + top]
                if c == 0:  # (two loops: a branch inside would stop vectorising)
                    for q in range(top):
                        v = ((ui[q] - uj[q]) - zc[q] * fd[q]) * md[q]
                        rc[q] = v
                        zn = zc[q] + step_z * v
                        zc[q] = zn
                        n2[q] = zn * zn
                else:
                    for q in range(top):
                        v = ((ui[q] - uj[q]) - zc[q] * fd[q]) * md[q]
                        rc[q] = v
                        zn = zc[q] + step_z * v
                        zc[q] = zn
                        n2[q] += zn * zn
            for q in range(top):
                fd[q] = kappa * max(one - one / np.sqrt(n2[q]), zero)
        # Nodes: u −= κα [(u − x) + Dᵀ r / ν], Dᵀ r from the edges leaving and arriving.
        for c in range(channels):
            for d in range(shifts.shape[0]):
                a = d * length + pad
                out, into = r[c, a:a + p], r[c, a - shifts[d]:a - shifts[d] + p]
                if d == 0:
                    for q in range(p):
                        g[q] = out[q] - into[q]
                else:
                    for q in range(p):
                        g[q] += out[q] - into[q]
            uc, xc = u[c], x[c]
            for q in range(p):
                uc[q] -= step_u * ((uc[q] - xc[q]) + inv_nu * g[q])


def bare_step_ns(side: int, steps: int = 50, repeat: int = 5) -> float:
    """Best ns per edge-channel per step of :func:`_steps` on a ``side × side × 3``
    float32 grid (random values; the arithmetic does not depend on them)."""
    p, pad = side * side, side
    length = pad + p
    rng = np.random.default_rng(0)
    x = rng.random((3, p), dtype=np.float32)
    u = x.copy()
    z, r = np.zeros((3, 2 * length), np.float32), np.zeros((3, 2 * length), np.float32)
    f = np.zeros(2 * length, np.float32)
    mask = np.zeros(2 * length, np.float32)
    mask[pad:length] = (np.arange(p) % side) != side - 1  # rightward edges
    mask[length + pad:length + pad + p - side] = 1.0  # downward edges
    shifts = np.array([1, side], dtype=np.int64)
    n2, g = np.zeros(p, np.float32), np.zeros(p, np.float32)
    # κ = 0.5, α = 1.9 ν / (κ (ν + 1 + 8)) = 0.38, ν = 1: the defaults on a 4-grid.
    constants = (np.float32(0.5), np.float32(0.38), np.float32(0.19), np.float32(1.0))
    args = (u, x, z, f, r, mask, shifts, pad)
    _steps(*args, 1, *constants, n2, g)  # compile
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        _steps(*args, steps, *constants, n2, g)
        best = min(best, time.perf_counter() - start)
    edges = 2 * side * (side - 1)
    return best / (steps * edges * 3) * 1e9


def bare_floor_ns(sides=(32, 64, 128)) -> float:
    """The least of :func:`bare_step_ns` over small grids: the floor's cost per
    edge-channel per step on this machine."""
    return min(bare_step_ns(side) for side in sides)
