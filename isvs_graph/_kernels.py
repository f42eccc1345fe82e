"""Fused CPU kernels (numba) for Split LBI on a batch of signals.

The torch iteration in :mod:`isvs_graph.solver` makes about fifteen passes over
memory per step and waits for the slowest signal of a batch. Here each signal runs in
its own thread-parallel task with its whole state in cache: one pass over the edges
(difference, ``z`` and ``γ`` update, scatter of ``Dᵀ r``) and one over the nodes per
iteration, and each signal stops at its own iteration. Arithmetic is done in the
signal's dtype, in the same order as the torch iteration, so the two agree to
rounding.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; torch is the fallback
    numba = None

#: Status codes of a signal after :func:`run_batch`.
REACHED, CONVERGED, MAX_ITER, NON_FINITE = 0, 1, 2, 3


def available() -> bool:
    return numba is not None


if numba is not None:
    njit = numba.njit(cache=True, nogil=True, fastmath=False)

    @njit
    def _edge_nonzero(gamma, e):
        for c in range(gamma.shape[1]):
            if gamma[e, c] != 0:
                return True
        return False

    @njit
    def _write_support(gamma, joint, out):
        """``out`` (m, 1) joint or (m, C) channel: where ``γ ≠ 0``."""
        for e in range(gamma.shape[0]):
            if joint:
                out[e, 0] = _edge_nonzero(gamma, e)
            else:
                for c in range(gamma.shape[1]):
                    out[e, c] = gamma[e, c] != 0

    @njit
    def _target_reached(k, sparsity, k_target, s_target):
        """The stop rule of DESIGN §2: time (``k α >= t``) or sparsity."""
        return (k_target >= 0 and k >= k_target) or (s_target >= 0 and sparsity <= s_target)

    @njit
    def _max_abs_difference(a, b):
        """max |a − b| over flat arrays; NaN if any difference is NaN."""
        largest = 0.0
        for q in range(a.shape[0]):
            d = abs(a[q] - b[q])
            if not d <= largest:  # also catches NaN
                largest = d
        return largest

    @njit
    def _edge_residual_max(src, dst, w, u, gamma):
        """max |(D u)_e − γ_e| over edges and channels (NaN-propagating)."""
        largest = 0.0
        for e in range(src.shape[0]):
            i, j = src[e], dst[e]
            for c in range(u.shape[1]):
                d = abs(w[e] * (u[i, c] - u[j, c]) - gamma[e, c])
                if not d <= largest:
                    largest = d
        return largest

    @njit
    def _convergence(u_err, r_err, u_thr, r_thr):
        """The convergence test of the solver: a status, or −1 to go on."""
        if not (np.isfinite(u_err) and np.isfinite(r_err)):
            return NON_FINITE
        if u_err <= u_thr and r_err <= r_thr:
            return CONVERGED
        return -1

    @njit
    def _one_signal(src, dst, w, x, u, z, gamma, g, params, joint, k_target, s_target,
                    max_iter, u_thr, r_thr, check_every, levels, snapshots, snap_support,
                    snap_iter, entry_iter):
        """Run one signal to its target. Returns (iterations, sparsity, status, leaves)."""
        p, channels = x.shape
        m = src.shape[0]
        kappa, inv_nu, step_u, step_z = params[0], params[1], params[2], params[3]
        one = params[4]
        entries = m if joint else m * channels
        count = 0
        leaves = 0
        level = 0
        record = entry_iter.shape[0] > 0
        k = 0
        while True:
            sparsity = (entries - count) / entries if entries else 0.0
            while level < levels.shape[0] and sparsity <= levels[level]:
                snapshots[level] = u
                _write_support(gamma, joint, snap_support[level])
                snap_iter[level] = k
                level += 1
            if _target_reached(k, sparsity, k_target, s_target):
                return k, sparsity, REACHED, leaves
            last = max_iter >= 0 and k >= max_iter
            if k % check_every == 0 or last:
                status = _convergence(_max_abs_difference(u.ravel(), x.ravel()),
                                      _edge_residual_max(src, dst, w, u, gamma), u_thr, r_thr)
                if status >= 0:
                    return k, sparsity, status, leaves
            if last:
                return k, sparsity, MAX_ITER, leaves

            # One Split LBI step: edges (r_k, z, γ, Dᵀ r_k), then nodes (u).
            count = 0
            for e in range(m):
                i, j = src[e], dst[e]
                was = _edge_nonzero(gamma, e) if joint else False
                norm2 = 0.0 * one
                for c in range(channels):
                    r = w[e] * (u[i, c] - u[j, c]) - gamma[e, c]
                    z[e, c] += step_z * r
                    wr = r * w[e]
                    g[i, c] += wr
                    g[j, c] -= wr
                    if joint:
                        norm2 += z[e, c] * z[e, c]
                if joint:
                    # Most edges lie outside the support (‖z_e‖ <= 1): skip sqrt and
                    # division there, the costliest operations of the step.
                    factor = 0.0 * one
                    if norm2 > one:
                        factor = max(one - one / np.sqrt(norm2), 0.0 * one)
                    for c in range(channels):
                        gamma[e, c] = (z[e, c] * factor) * kappa
                    now = factor > 0
                    if now:
                        count += 1
                    if record:
                        if now and entry_iter[e] < 0:
                            entry_iter[e] = k + 1
                        elif was and not now:
                            leaves += 1
                else:
                    for c in range(channels):
                        before = gamma[e, c] != 0
                        zc = z[e, c]
                        clipped = min(max(zc, -one), one)
                        gamma[e, c] = (zc - clipped) * kappa
                        now = gamma[e, c] != 0
                        if now:
                            count += 1
                        if record:
                            if now and entry_iter[e * channels + c] < 0:
                                entry_iter[e * channels + c] = k + 1
                            elif before and not now:
                                leaves += 1
            for n in range(p):
                for c in range(channels):
                    d = (u[n, c] - x[n, c]) + inv_nu * g[n, c]
                    u[n, c] -= step_u * d
                    g[n, c] = 0.0 * one
            k += 1

    @numba.njit(cache=True, nogil=True, parallel=True)
    def _run_batch(src, dst, w, x, u, params, joint, k_target, s_target, max_iter,
                   u_thr, r_thr, check_every, levels, snapshots, snap_support, snap_iter,
                   entry_iter, support, iterations, sparsity, status, leaves):
        batch, p, channels = x.shape
        m = src.shape[0]
        for b in numba.prange(batch):
            z = np.zeros((m, channels), dtype=x.dtype)
            gamma = np.zeros((m, channels), dtype=x.dtype)
            g = np.zeros((p, channels), dtype=x.dtype)
            k, s, st, lv = _one_signal(
                src, dst, w, x[b], u[b], z, gamma, g, params, joint, k_target[b],
                s_target[b], max_iter, u_thr[b], r_thr[b], check_every, levels,
                snapshots[b], snap_support[b], snap_iter[b], entry_iter[b])
            iterations[b] = k
            sparsity[b] = s
            status[b] = st
            leaves[b] = lv
            _write_support(gamma, joint, support[b])


def run_batch(*args) -> None:
    """Run the batch kernel (arguments in its order; outputs are written in place)."""
    # Signals differ in cost by orders of magnitude (each stops at its own iteration):
    # hand them to threads one at a time, not in equal contiguous blocks.
    with numba.parallel_chunksize(1):
        _run_batch(*args)


# Pixel grids. An image's edges fall into a few directions (right, down, and for 8
# neighbours the two diagonals); along each image row, the edges of one direction
# join two contiguous runs of pixels. With channels stored as planes (C, H, W), every
# loop below runs over contiguous memory without indirection or scatter, so LLVM
# vectorises it, the joint shrinkage included. ``dirs[d] = (dr, ci, cj, ncols)``: in
# image row ``r``, edge ``q`` of direction ``d`` joins pixel ``(r, ci + q)`` to
# ``(r + dr, cj + q)``. γ and z are (C, m), edges stored direction by direction, row by
# row; ``eid`` maps that order to the canonical edge order.
if numba is not None:
    # error_model="numpy": 1 / 0 gives inf (as in torch), not an exception.
    grid_njit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @grid_njit
    def _write_grid_support(gamma, eid, joint, out):
        channels, m = gamma.shape
        for el in range(m):
            e = eid[el]
            if joint:
                flag = False
                for c in range(channels):
                    if gamma[c, el] != 0:
                        flag = True
                out[e, 0] = flag
            else:
                for c in range(channels):
                    out[e, c] = gamma[c, el] != 0

    @grid_njit
    def _grid_residual_max(dirs, offsets, u, gamma):
        channels, height, _ = u.shape
        r_err = 0.0
        for c in range(channels):
            for dd in range(dirs.shape[0]):
                dr, ci, cj, ncols = dirs[dd, 0], dirs[dd, 1], dirs[dd, 2], dirs[dd, 3]
                for r in range(height - dr):
                    base = offsets[dd] + r * ncols
                    for q in range(ncols):
                        d = abs((u[c, r, ci + q] - u[c, r + dr, cj + q]) - gamma[c, base + q])
                        if not d <= r_err:  # also catches NaN
                            r_err = d
        return r_err

    @grid_njit
    def _grid_signal(dirs, offsets, eid, x, u, z, gamma, g, rbuf, factor, nonzero,
                     params, joint, k_target, s_target, max_iter, u_thr, r_thr, check_every,
                     levels, snapshots, snap_support, snap_iter, entry_iter):
        """``x, u, g``: (C, H, W); ``z, gamma``: (C, m). Contract of _one_signal."""
        channels, height, width = x.shape
        m = eid.shape[0]
        kappa, inv_nu, step_u, step_z = params[0], params[1], params[2], params[3]
        one = params[4]
        zero = 0.0 * one
        entries = m if joint else m * channels
        count = 0
        leaves = 0
        level = 0
        record = entry_iter.shape[0] > 0
        xf, uf, gf = x.ravel(), u.ravel(), g.ravel()
        zf, gammaf = z.ravel(), gamma.ravel()
        k = 0
        while True:
            sparsity = (entries - count) / entries if entries else 0.0
            while level < levels.shape[0] and sparsity <= levels[level]:
                for c in range(channels):
                    for n in range(height * width):
                        snapshots[level, n, c] = uf[c * height * width + n]
                _write_grid_support(gamma, eid, joint, snap_support[level])
                snap_iter[level] = k
                level += 1
            if _target_reached(k, sparsity, k_target, s_target):
                return k, sparsity, REACHED, leaves
            last = max_iter >= 0 and k >= max_iter
            if k % check_every == 0 or last:
                status = _convergence(_max_abs_difference(uf, xf),
                                      _grid_residual_max(dirs, offsets, u, gamma), u_thr, r_thr)
                if status >= 0:
                    return k, sparsity, status, leaves
            if last:
                return k, sparsity, MAX_ITER, leaves

            # r_k, z_{k+1} and Dᵀ r_k: one channel, direction and image row at a time.
            for c in range(channels):
                for dd in range(dirs.shape[0]):
                    dr, ci, cj, ncols = dirs[dd, 0], dirs[dd, 1], dirs[dd, 2], dirs[dd, 3]
                    for r in range(height - dr):
                        base = offsets[dd] + r * ncols
                        ui = u[c, r, ci:ci + ncols]
                        uj = u[c, r + dr, cj:cj + ncols]
                        gam = gamma[c, base:base + ncols]
                        zz = z[c, base:base + ncols]
                        for q in range(ncols):
                            rbuf[q] = (ui[q] - uj[q]) - gam[q]
                        for q in range(ncols):
                            zz[q] += step_z * rbuf[q]
                        gi = g[c, r, ci:ci + ncols]
                        for q in range(ncols):
                            gi[q] += rbuf[q]
                        gj = g[c, r + dr, cj:cj + ncols]
                        for q in range(ncols):
                            gj[q] -= rbuf[q]
            # γ_{k+1} = κ shrink(z_{k+1}).
            count = 0
            if joint:
                for el in range(m):
                    factor[el] = zero
                for c in range(channels):
                    for el in range(m):
                        factor[el] += z[c, el] * z[c, el]
                for el in range(m):
                    # max(0, 1 − 1/‖z_e‖): 0 for ‖z_e‖ <= 1 (and for z_e = 0: 1 − inf).
                    factor[el] = max(one - one / np.sqrt(factor[el]), zero)
                for c in range(channels):
                    for el in range(m):
                        gamma[c, el] = (z[c, el] * factor[el]) * kappa
                for el in range(m):
                    count += factor[el] > 0
                if record:
                    for el in range(m):
                        now = factor[el] > 0
                        if now and entry_iter[eid[el]] < 0:
                            entry_iter[eid[el]] = k + 1
                        elif nonzero[el] and not now:
                            leaves += 1
                        nonzero[el] = now
            else:
                for q in range(zf.shape[0]):
                    zq = zf[q]
                    gammaf[q] = (zq - min(max(zq, -one), one)) * kappa
                for q in range(zf.shape[0]):
                    count += gammaf[q] != 0
                if record:
                    for q in range(zf.shape[0]):
                        now = gammaf[q] != 0
                        e = eid[q % m] * channels + q // m
                        if now and entry_iter[e] < 0:
                            entry_iter[e] = k + 1
                        elif nonzero[q] and not now:
                            leaves += 1
                        nonzero[q] = now
            # u_{k+1} = u_k − κα[(u_k − x) + Dᵀ r_k / ν].
            for q in range(uf.shape[0]):
                d = (uf[q] - xf[q]) + inv_nu * gf[q]
                uf[q] -= step_u * d
                gf[q] = zero
            k += 1

    @numba.njit(cache=True, nogil=True, parallel=True)
    def _run_grid_batch(dirs, offsets, eid, x, u, params, joint, k_target, s_target,
                        max_iter, u_thr, r_thr, check_every, levels, snapshots, snap_support,
                        snap_iter, entry_iter, support, iterations, sparsity, status, leaves):
        batch, channels, height, width = x.shape
        m = eid.shape[0]
        for b in numba.prange(batch):
            z = np.zeros((channels, m), dtype=x.dtype)
            gamma = np.zeros((channels, m), dtype=x.dtype)
            g = np.zeros((channels, height, width), dtype=x.dtype)
            rbuf = np.zeros(width, dtype=x.dtype)
            factor = np.zeros(m, dtype=x.dtype)
            nonzero = np.zeros(m if joint else m * channels, dtype=np.bool_)
            k, s, st, lv = _grid_signal(
                dirs, offsets, eid, x[b], u[b], z, gamma, g, rbuf, factor, nonzero, params,
                joint, k_target[b], s_target[b], max_iter, u_thr[b], r_thr[b], check_every,
                levels, snapshots[b], snap_support[b], snap_iter[b], entry_iter[b])
            iterations[b] = k
            sparsity[b] = s
            status[b] = st
            leaves[b] = lv
            _write_grid_support(gamma, eid, joint, support[b])


def grid_layout(height: int, width: int, connectivity: int, edge_index: np.ndarray):
    """Directions, offsets and the map to canonical edge ids for the grid kernel.

    ``edge_index`` is the grid's canonical edge list; each direction's edges are
    looked up in it, so the kernel's support and entries come out in canonical order.
    """
    directions = [(0, 0, 1, width - 1), (1, 0, 0, width)]
    if connectivity == 8:
        directions += [(1, 0, 1, width - 1), (1, 1, 0, width - 1)]
    node = np.arange(height * width).reshape(height, width)
    p = height * width
    keys = edge_index[0].astype(np.int64) * p + edge_index[1]  # sorted: canonical order
    dirs, offsets, eid = [], [0], []
    for dr, ci, cj, ncols in directions:
        rows = height - dr
        if rows <= 0 or ncols <= 0:
            continue
        a = node[:rows, ci:ci + ncols].reshape(-1)
        b = node[dr:dr + rows, cj:cj + ncols].reshape(-1)
        eid.append(np.searchsorted(keys, np.minimum(a, b) * p + np.maximum(a, b)))
        dirs.append((dr, ci, cj, ncols))
        offsets.append(offsets[-1] + rows * ncols)
    eid = np.concatenate(eid) if eid else np.zeros(0, dtype=np.int64)
    return (np.asarray(dirs, dtype=np.int64).reshape(-1, 4), np.asarray(offsets, dtype=np.int64),
            eid.astype(np.int64))


def run_grid_batch(*args) -> None:
    """Run the pixel-grid batch kernel (outputs are written in place)."""
    with numba.parallel_chunksize(1):
        _run_grid_batch(*args)
