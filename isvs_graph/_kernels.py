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
            if k_target >= 0 and k >= k_target:
                return k, sparsity, 0, leaves
            if s_target >= 0 and sparsity <= s_target:
                return k, sparsity, 0, leaves
            last = max_iter >= 0 and k >= max_iter
            if k % check_every == 0 or last:
                u_err = 0.0
                for n in range(p):
                    for c in range(channels):
                        d = abs(u[n, c] - x[n, c])
                        if not d <= u_err:  # also catches NaN
                            u_err = d
                r_err = 0.0
                for e in range(m):
                    i, j = src[e], dst[e]
                    for c in range(channels):
                        d = abs(w[e] * (u[i, c] - u[j, c]) - gamma[e, c])
                        if not d <= r_err:
                            r_err = d
                if not (np.isfinite(u_err) and np.isfinite(r_err)):
                    return k, sparsity, 3, leaves
                if u_err <= u_thr and r_err <= r_thr:
                    return k, sparsity, 1, leaves
            if last:
                return k, sparsity, 2, leaves

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
    _run_batch(*args)
