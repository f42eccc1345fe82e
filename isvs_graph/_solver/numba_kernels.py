"""Fused CPU kernels (numba) for Split LBI on a batch of signals.

One loop, :func:`run_signal`, runs one signal to its stop rule; :func:`run_batch`
hands signals to threads one at a time, or runs them one after the other with each
step split into blocks of rows (pixel grids) or of edges and nodes (edge lists) across
threads (``split=True``, for large graphs). Both run the same per-block arithmetic in
the same order, so they agree bit for bit. On a large grid the steps up to each check
run as one wavefront (:func:`_grid_steps`; split across threads, one a thread on its
block of rows, then the wedges between: :func:`_step_fronts`). The loop is compiled
for the step it runs (a grid's or an edge list's, on one thread or split, with a
wavefront or without): seconds each, so none is compiled before it is used.

Layout. Signals are stored as channel planes: ``x`` and ``u`` are ``(C, p)``, ``z`` and
the residual ``r`` are ``(C, entries)``, so every inner loop runs over contiguous memory.
A pixel grid is a stencil: for each direction ``d`` (right, down, and for 8 neighbours
the two diagonals) the edge from pixel ``t`` to pixel ``t + shift[d]`` sits at slot
``d L + pad + t``, ``L = pad + p``; slots that are not edges (the last column for a
rightward edge, the leading ``pad`` zeros) have mask 0 and stay zero. Every pass is then
one contiguous loop per channel and direction, whatever the image's width, and ``Dᵀ r``
at pixel ``n`` is ``Σ_d r[d, n] − r[d, n − shift[d]]``. An edge list keeps canonical
order and gathers ``Dᵀ r`` per node. ``Graph.eid`` maps slots to canonical edge ids (−1:
no edge). ``γ`` is not stored: in joint mode ``f_e = κ max(0, 1 − 1/‖z_e‖)`` (one number
per edge) gives ``γ_e = f_e z_e``; in channel mode ``γ = κ (z − clip(z, −1, 1))``.

One step, in two passes (DESIGN §2, ``r_k = D u_k − γ_k``)::

    edges:  r_k = D u_k − γ_k;   z_{k+1} = z_k + (α/ν) r_k;   γ_{k+1} = κ shrink(z_{k+1})
    nodes:  u_{k+1} = u_k − κα [(u_k − x) + Dᵀ r_k / ν]      (Dᵀ r gathered per node)

On a grid one sweep does both, chunk by chunk of pixels (:func:`_grid_sweep`): a
chunk's edges, then its nodes, while their ``r`` and ``u`` are still in cache.

Every ``check_every`` steps the loop measures how stationary the iterate is
(``ε = max(max |∂L/∂u|, max_{e ∈ S} |r_e|)``). Once ``ε <= tol`` it scans the edges
outside the support: when all are flat (weighted difference ``<= tol``) the run has
reached the floor and stops; when ``ε`` is small enough for the rest of the idle
stretch to be predicted (``z`` outside the support grows linearly), ``z`` jumps to
just before the next entry (see :mod:`isvs_graph._solver.options`).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._threads import parallel_allowed

try:
    import numba
    import numba.extending

    from .._union_find import root, union
except ImportError:  # pragma: no cover - numba is a dependency; torch is the fallback
    numba = None

#: Status of a signal. RUNNING: paused by a step budget (progress bars), to be resumed.
RUNNING, REACHED, FLOOR, MAX_ITER, NON_FINITE = -1, 0, 1, 2, 3

#: The graph as the kernels see it: ``num_edges`` edges, ``eid`` slot → canonical edge
#: id (−1: no edge). Pixel grid (``grid`` True): ``shifts`` per direction, ``pad``,
#: ``masks`` (1 on edge slots, 0 elsewhere). Edge list: ``src``, ``dst``, ``weight`` per
#: edge; ``indptr``/``incident``/``coef``: the edges at each node with ``±w`` (CSR), so
#: ``Dᵀ r`` is gathered per node. ``edge_blocks``/``node_blocks``: block boundaries for
#: wide steps (pixel ranges at row boundaries; edge and node ranges of a list, as many of
#: each). ``chunk``: pixels a grid step sweeps at a time (edges, then their nodes).
#: ``wavefront``: pixels a step of a wavefront sweeps at a time (0: none; see
#: :func:`_grid_steps`). ``slot``: the inverse of ``eid``, canonical edge id → slot
#: (for reading results). ``front_blocks``: a grid's pixel ranges (at row boundaries) for
#: a wavefront split across threads, one per thread (see :func:`_step_fronts`; no
#: entries: none).
Graph = namedtuple("Graph", ["grid", "num_edges", "width", "shifts", "pad", "masks", "eid",
                             "src", "dst", "weight", "indptr", "incident", "coef",
                             "edge_blocks", "node_blocks", "chunk", "wavefront", "slot",
                             "front_blocks"])
#: Constants of the iteration, in the working dtype (``one`` is 1 in that dtype).
Constants = namedtuple("Constants", ["kappa", "inv_nu", "step_u", "step_z", "one", "joint"])
#: Per-signal stop rule: ``k_target`` (−1: none), ``s_target`` (−1: none), the step
#: bound, the floor tolerance and the largest variation of ``x`` a region may keep at the
#: floor, the jump criterion, the dtype's resolution (no threshold below it),
#: ``rounding``: what one step's rounding may move ``u`` by (4 units of the dtype's
#: resolution: the drift's rounding, and the noise below which a jump deems the iterate
#: stationary), how often to check, whether to jump, iterations a jump must not pass
#: (``stops``, sorted: the recorded times), and whether a wavefront steps one at a time
#: where it might pass a target sparsity (``anticipate``; else it runs again from the
#: start each time it passes one: see :func:`run_signal`), and how many times its depth
#: ahead a wavefront with no growth of the support to go by looks for entries due
#: (``foresight``; 0: it steps one at a time).
StopRule = namedtuple("StopRule", ["k_target", "s_target", "max_steps", "tol", "region_tol",
                                   "kick_rtol", "resolution", "rounding", "check_every",
                                   "jumps", "stops", "anticipate", "foresight"])
#: What a path records (arrays with a zero-length axis when unused): ``u`` and the
#: support at the first iterate at or below each sparsity level and at each stop
#: iteration; the first entry iteration of every entry; every later change of an
#: entry (leave or re-entry) as a log ``(iteration, entry)`` of capacity ``log_k.shape[1]``
#: (``log_n`` counts changes, beyond the capacity too). ``drift`` (when recording entries)
#: is ``Σ_j max_i |u_{j+1, i} − u_{j, i}|`` over the steps so far, rounding included, so
#: ``max |u_k − u_r| <= drift_k − drift_r``; ``level_drift``/``stop_drift`` hold it at
#: each snapshot; ``mark_k``/``mark_d``/``mark_n`` log ``(k, drift_k)`` at every iterate
#: whose support count changed (capacity: the entries and the log's), so that
#: ``drift_r − drift_k`` can be bounded from the last mark at or before ``k``.
Recording = namedtuple("Recording", ["levels", "level_u", "level_support", "level_iter",
                                     "level_drift", "stop_u", "stop_support", "stop_iter",
                                     "stop_drift", "entry_iter", "log_k", "log_e", "log_n",
                                     "drift", "mark_k", "mark_d", "mark_n"])
#: Per-signal state, resumable: iterate, counters, status, next level and stop to record;
#: ``r``, the residuals of each signal, kept across calls (none: each call makes its own);
#: ``start``, the iterate each signal started from, for a wavefront to run again from
#: (none: no wavefront to a sparsity); what tells a wavefront that it might pass a
#: target sparsity: ``before`` and ``last``, by how much the support grew between the
#: last three checks, ``grown``, the most it grew by between two checks (fading by an
#: eighth at each check), ``jumped``, 1 where the last check jumped, ``mark``, the
#: support's size at the last check; ``reruns``, how often the run went
#: again from its start (see :func:`run_signal`); and ``waved``, the steps it ran in
#: wavefronts of two steps or more (those of a run that went again included).
State = namedtuple("State", ["u", "z", "f", "k", "steps", "status", "count", "level",
                             "stop", "leaves", "sparsity", "r", "start", "before", "last",
                             "grown", "jumped", "mark", "reruns", "waved"])


def available() -> bool:
    return numba is not None


if numba is not None:
    # error_model="numpy": 1 / 0 gives inf (as in torch), not an exception.
    FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
    njit = numba.njit(**FLAGS)
    #: Inlined into its caller's numba IR, not called: numba links a compiled callee into
    #: its caller and optimises the whole again, so each level of calls repeats the work
    #: of everything below it (the one-thread steps and the floor tests compile about 1 s
    #: faster inlined into the loop). The edge and node passes stay functions: numba
    #: types one large function more slowly than its parts.
    njit_inline = numba.njit(inline="always", **FLAGS)
    #: True as a typed bool: numba specialises a function on a literal argument.
    _TRUE = np.bool_(True)

    @njit
    def _nan_max(a, b):
        """max that propagates NaN (a non-finite iterate must not look stationary)."""
        if a != a or b != b:
            return np.nan
        return max(a, b)

    def _bits(values):
        """Float ``values`` as the integers of their bit patterns, and the mask of every
        bit but the sign's (numba only: the width is chosen when compiling, so a float32
        kernel compiles no int64 view, and back)."""
        raise NotImplementedError("numba only")

    @numba.extending.overload(_bits)
    def _bits_of_width(values):
        if values.dtype.bitwidth == 32:
            return lambda values: (values.view(np.int32), np.int32(0x7FFFFFFF))
        return lambda values: (values.view(np.int64), np.int64(0x7FFFFFFFFFFFFFFF))

    @njit
    def _abs_max(values, old, threshold, inside):
        """``max |values[q]|`` over the ``q`` with ``|old[q]| > threshold`` (``<=`` when
        not ``inside``), NaN if one of them is NaN, as a float.

        Callers pass ``threshold`` in the working dtype and ``inside`` as a typed bool
        (``_TRUE``, ``np.bool_(False)``; a literal would compile a copy per value).

        A float max reduction does not vectorise without reassociation; non-negative
        floats order like their bit patterns, so the maximum is taken over the integer
        bits (NaN's bits lie above infinity's, so NaN wins), which vectorises.
        """
        bits, mask = _bits(values)
        largest = mask - mask
        for q in range(bits.shape[0]):
            v = (bits[q] & mask) * ((abs(old[q]) > threshold) == inside)
            largest = v if v > largest else largest
        cell = np.empty(1, dtype=values.dtype)
        _bits(cell)[0][0] = largest
        return float(cell[0])

    # ------------------------------------------------------------------ edge passes

    @njit
    def _transition(entry, now, old, k_next, entry_iter, log_k, log_e, log_n):
        """Record a change of one entry of the support; returns 1 for a leave."""
        if entry_iter.shape[0] > 0:
            if now and entry_iter[entry] < 0:
                entry_iter[entry] = k_next
            else:
                n = log_n[0]
                if n < log_k.shape[0]:
                    log_k[n] = k_next
                    log_e[n] = entry
                log_n[0] = n + 1
        return 1 if old and not now else 0

    @njit
    def _grid_edges(graph, consts, u, z, f, rb, lo, hi, check, k_next, entry_iter,
                    log_k, log_e, log_n, nbuf, obuf, joint, channel):
        """Edges leaving pixels ``lo … hi − 1``: r, z, the support; (count, ε_r, leaves).

        Changes of the support (entries, leaves) are tracked only when recording.
        """
        kappa, step_z, one = consts.kappa, consts.step_z, consts.one
        tracking = entry_iter.shape[0] > 0
        zero = one - one
        channels, p = u.shape
        length = graph.pad + p
        count = 0
        leaves = 0
        eps_r = 0.0
        for d in range(graph.shifts.shape[0]):
            shift = graph.shifts[d]
            top = min(hi, p - shift)
            if top <= lo:
                continue
            n = top - lo
            a = d * length + graph.pad + lo
            mask = graph.masks[a:a + n]
            if joint is not None and channels == 1:
                # One channel (a grey image or volume): one loop, with nothing per edge
                # to share among channels; ‖z_e‖ = sqrt(z_e²) = |z_e| exactly (a
                # correctly rounded square root of a rounded square), and where z_e²
                # under- or overflows both give the same f (0, or κ): the bits below.
                fseg = f[a:a + n]
                ui, uj = u[0, lo:top], u[0, lo + shift:top + shift]
                zs, rs = z[0, a:a + n], rb[0, a:a + n]
                o = obuf[:n]
                inside = 0
                for q in range(n):
                    fo = fseg[q]
                    o[q] = fo
                    v = ((ui[q] - uj[q]) - zs[q] * fo) * mask[q]
                    rs[q] = v
                    zn = zs[q] + step_z * v
                    zs[q] = zn
                    fn = kappa * max(one - one / abs(zn), zero)
                    fseg[q] = fn
                    inside += fn > zero
            elif joint is not None:
                fseg = f[a:a + n]
                n2 = nbuf[:n]
                for c in range(channels):
                    ui, uj = u[c, lo:top], u[c, lo + shift:top + shift]
                    zs, rs = z[c, a:a + n], rb[c, a:a + n]
                    if c == 0:
                        for q in range(n):
                            v = ((ui[q] - uj[q]) - zs[q] * fseg[q]) * mask[q]
                            rs[q] = v
                            zn = zs[q] + step_z * v
                            zs[q] = zn
                            n2[q] = zn * zn
                    else:
                        for q in range(n):
                            v = ((ui[q] - uj[q]) - zs[q] * fseg[q]) * mask[q]
                            rs[q] = v
                            zn = zs[q] + step_z * v
                            zs[q] = zn
                            n2[q] += zn * zn
                o = obuf[:n]
                for q in range(n):
                    o[q] = fseg[q]
                    # 0 inside the unit ball (and 1 − 1/0 = −inf for z = 0): no branch,
                    # so the loop stays vectorised.
                    fseg[q] = kappa * max(one - one / np.sqrt(n2[q]), zero)
                inside = 0
                for q in range(n):
                    inside += fseg[q] > zero
            if joint is not None:
                count += inside
                changed = 0
                if tracking:
                    for q in range(n):
                        changed += (fseg[q] > zero) != (o[q] > zero)
                if check:  # max |r| on the support
                    for c in range(channels):
                        eps_r = _nan_max(eps_r, _abs_max(rb[c, a:a + n], o, zero, _TRUE))
                if changed:
                    for q in range(n):
                        old, now = o[q] > zero, fseg[q] > zero
                        if old != now:
                            leaves += _transition(graph.eid[a + q], now, old, k_next,
                                                  entry_iter, log_k, log_e, log_n)
            if channel is not None:
                for c in range(channels):
                    ui, uj = u[c, lo:top], u[c, lo + shift:top + shift]
                    zs, rs = z[c, a:a + n], rb[c, a:a + n]
                    o = obuf[:n]
                    for q in range(n):
                        zq = zs[q]
                        o[q] = zq
                        gamma = kappa * (zq - min(max(zq, -one), one))
                        v = ((ui[q] - uj[q]) - gamma) * mask[q]
                        rs[q] = v
                        zs[q] = zq + step_z * v
                    inside = 0
                    for q in range(n):
                        inside += abs(zs[q]) > one
                    count += inside
                    changed = 0
                    if tracking:
                        for q in range(n):
                            changed += (abs(zs[q]) > one) != (abs(o[q]) > one)
                    if check:  # max |r| on the support
                        eps_r = _nan_max(eps_r, _abs_max(rs, o, one, _TRUE))
                    if changed:
                        for q in range(n):
                            old, now = abs(o[q]) > one, abs(zs[q]) > one
                            if old != now:
                                leaves += _transition(graph.eid[a + q] * channels + c, now,
                                                      old, k_next, entry_iter, log_k, log_e,
                                                      log_n)
        return count, eps_r, leaves

    @njit
    def _list_edges(graph, consts, u, z, f, rb, lo, hi, check, k_next, entry_iter,
                    log_k, log_e, log_n, joint, channel):
        """Edges ``lo … hi − 1`` of an edge list: r, z, the support; (count, ε_r, leaves)."""
        kappa, step_z, one = consts.kappa, consts.step_z, consts.one
        zero = one - one
        channels = u.shape[0]
        src, dst, weight = graph.src, graph.dst, graph.weight
        count = 0
        leaves = 0
        eps_r = 0.0
        for e in range(lo, hi):
            i, j, w = src[e], dst[e], weight[e]
            if joint is not None:
                fo = f[e]
                n2 = zero
                for c in range(channels):
                    zq = z[c, e]
                    v = w * (u[c, i] - u[c, j]) - zq * fo
                    rb[c, e] = v
                    zn = zq + step_z * v
                    z[c, e] = zn
                    n2 += zn * zn
                fn = kappa * max(one - one / np.sqrt(n2), zero)
                f[e] = fn
                old, now = fo > zero, fn > zero
                count += now
                if check and old:
                    for c in range(channels):
                        eps_r = _nan_max(eps_r, abs(rb[c, e]))
                if old != now:
                    leaves += _transition(e, now, old, k_next, entry_iter, log_k, log_e,
                                          log_n)
            if channel is not None:
                for c in range(channels):
                    zq = z[c, e]
                    gamma = kappa * (zq - min(max(zq, -one), one))
                    v = w * (u[c, i] - u[c, j]) - gamma
                    rb[c, e] = v
                    zn = zq + step_z * v
                    z[c, e] = zn
                    old, now = abs(zq) > one, abs(zn) > one
                    count += now
                    if check and old:
                        eps_r = _nan_max(eps_r, abs(v))
                    if old != now:
                        leaves += _transition(e * channels + c, now, old, k_next,
                                              entry_iter, log_k, log_e, log_n)
        return count, eps_r, leaves

    # ------------------------------------------------------------------ node passes

    @njit
    def _grid_nodes(graph, consts, x, u, rb, lo, hi, check, gbuf):
        """``u`` of pixels ``lo … hi − 1``; returns ``max |∂L/∂u|`` when checking."""
        inv_nu, step_u, one = consts.inv_nu, consts.step_u, consts.one
        channels, p = u.shape
        length = graph.pad + p
        n = hi - lo
        g = gbuf[:n]
        eps_u = 0.0
        for c in range(channels):
            # Dᵀ r at pixel t: r of the edges leaving t minus r of those arriving.
            for d in range(graph.shifts.shape[0]):
                a = d * length + graph.pad + lo
                out, into = rb[c, a:a + n], rb[c, a - graph.shifts[d]:a - graph.shifts[d] + n]
                if d == 0:
                    for q in range(n):
                        g[q] = out[q] - into[q]
                else:
                    for q in range(n):
                        g[q] += out[q] - into[q]
            uc, xc = u[c, lo:hi], x[c, lo:hi]
            if check:  # keep ∂L/∂u in g for its maximum
                for q in range(n):
                    g[q] = (uc[q] - xc[q]) + inv_nu * g[q]
                    uc[q] -= step_u * g[q]
                eps_u = _nan_max(eps_u, _abs_max(g, g, -one, _TRUE))
            else:
                for q in range(n):
                    step = (uc[q] - xc[q]) + inv_nu * g[q]
                    uc[q] -= step_u * step
        return eps_u

    @njit
    def _list_nodes(graph, consts, x, u, rb, lo, hi, check):
        """``u`` of nodes ``lo … hi − 1`` of an edge list; ``max |∂L/∂u|`` when checking."""
        inv_nu, step_u, one = consts.inv_nu, consts.step_u, consts.one
        zero = one - one
        channels = u.shape[0]
        indptr, incident, coef = graph.indptr, graph.incident, graph.coef
        eps_u = 0.0
        for n in range(lo, hi):
            for c in range(channels):
                g = zero
                for at in range(indptr[n], indptr[n + 1]):
                    g += coef[at] * rb[c, incident[at]]
                d = (u[c, n] - x[c, n]) + inv_nu * g
                u[c, n] -= step_u * d
                if check:
                    eps_u = _nan_max(eps_u, abs(d))
        return eps_u

    # ------------------------------------------------------------------ one step

    @njit_inline
    def _grid_sweep(graph, consts, x, u, z, f, rb, lo, hi, defer, check, measure, k_next,
                    entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel):
        """Pixels ``lo … hi − 1`` of a grid, their edges then their nodes chunk by chunk,
        so that a chunk's ``r`` and ``u`` are still in cache for its node pass; the nodes
        ``lo … lo + defer − 1`` are left to the caller. (count, ε_r, leaves, ε_u).

        The same arithmetic as an edge pass over every pixel and then a node pass: the
        edges of pixel ``t`` read ``u`` at ``t`` and ``t + shift`` (not yet updated, as
        nodes are updated only up to the chunk being swept), and the node pass of ``t``
        reads ``r`` of the edges leaving ``t`` and of those arriving from ``t − shift``
        (already computed).
        """
        chunk = nbuf.shape[0]
        count, leaves = 0, 0
        eps_r, eps_u = 0.0, 0.0
        for start in range(lo, hi, chunk):
            stop = min(start + chunk, hi)
            c, e, lv = _grid_edges(graph, consts, u, z, f, rb, start, stop, check, k_next,
                                   entry_iter, log_k, log_e, log_n, nbuf, obuf, joint,
                                   channel)
            count += c
            leaves += lv
            eps_r = _nan_max(eps_r, e)
            first = max(start, lo + defer)
            if first < stop:
                eps_u = _nan_max(eps_u, _grid_nodes(graph, consts, x, u, rb, first, stop,
                                                    check or measure, gbuf))
        return count, eps_r, leaves, eps_u

    @njit_inline
    def _step_grid(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter, log_k,
                   log_e, log_n, nbuf, obuf, gbuf, joint, channel):
        """One step of one signal on a grid, on one thread: (count, ε, leaves,
        max |∂L/∂u|), the last measured at every step when ``measure``, else only when
        checking — :func:`_grid_steps` of one step, in a loop compiled without the
        wavefront (seconds less to compile)."""
        # A literal 0 would compile the sweep once more (for lo = 0): a typed zero.
        lo = np.int64(0)
        count, eps_r, leaves, eps_u = _grid_sweep(
            graph, consts, x, u, z, f, rb, lo, np.int64(x.shape[1]), lo, check, measure,
            k_next, entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel)
        return count, _nan_max(eps_u, eps_r), leaves, eps_u

    @njit_inline
    def _grid_steps(graph, consts, x, u, z, f, rb, depth, check, measure, k_next, counts,
                    done, entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel,
                    lo, hi, inner_lo, inner_hi):
        """``depth`` steps of one signal on pixels ``lo … hi − 1`` of a grid, on one
        thread: (count, ε, leaves, max |∂L/∂u|) of the last step, which is checked when
        ``check`` (``max |∂L/∂u|`` measured at every step when ``measure``); ``counts[t]``,
        the support's size after step ``t`` (of these pixels' edges). ``done``: scratch of
        ``depth`` entries. Entries are recorded (and ``measure`` set) only with ``depth``
        1. ``joint``, ``channel``: as in :func:`run_signal`.

        Several steps run as a wavefront: each step sweeps the pixels in order
        (:func:`_grid_sweep`), ``graph.wavefront`` at a time, and step ``t + 1`` follows
        step ``t`` at ``pad`` pixels. Its edges read ``u`` up to ``pad`` pixels ahead,
        which step ``t`` has updated, and its ``r`` overwrites slots that step ``t`` no
        longer reads (a node pass reads ``r`` up to ``pad`` pixels back). So a stretch of
        the image stays in cache for all the steps instead of being read from memory once
        a step, and every value is computed from the same operands as in ``depth``
        sweeps: the same bits.

        The whole grid is ``lo, hi = 0, p`` with ``inner_lo = inner_hi = 0``. A block of
        it (:func:`_step_fronts`) whose neighbours step at the same time keeps ``pad``
        pixels (``inner_lo``, ``inner_hi``) further from each such neighbour with every
        step: step ``t`` sweeps the edges of pixels ``lo + t inner_lo … hi − (t + 1)
        inner_hi − 1`` and the nodes from ``lo + (t + 1) inner_lo``, so that it reads
        and writes nothing a neighbour writes or reads (a trapezoid in pixels × steps).
        """
        pad = graph.pad
        chunk = graph.wavefront if depth > 1 and graph.wavefront > 0 else graph.chunk
        chunk = max(1, min(chunk, nbuf.shape[0]))
        nb, ob, gb = nbuf[:chunk], obuf[:chunk], gbuf[:chunk]
        for t in range(depth):
            counts[t] = 0
            done[t] = lo + t * inner_lo
        last = depth - 1
        leaves = 0
        eps_r, eps_u = 0.0, 0.0
        while done[last] < hi - depth * inner_hi:
            for t in range(depth):
                end = hi - (t + 1) * inner_hi
                if t == 0:
                    top = min(end, done[0] + chunk)
                elif done[t - 1] >= hi - t * inner_hi:  # (the step before has finished)
                    top = end
                else:
                    top = min(end, done[t - 1] - pad)
                start = done[t]
                if top <= start:
                    continue
                checked = check and t == last
                c, e, lv, g = _grid_sweep(
                    graph, consts, x, u, z, f, rb, start, top,
                    max(lo + (t + 1) * inner_lo - start, 0), checked,
                    measure and t == last, k_next + t, entry_iter, log_k, log_e, log_n, nb,
                    ob, gb, joint, channel)
                counts[t] += c
                leaves += lv
                done[t] = top
                if t == last:
                    eps_r, eps_u = _nan_max(eps_r, e), _nan_max(eps_u, g)
        return counts[last], _nan_max(eps_u, eps_r), leaves, eps_u

    @njit_inline
    def _step_list(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter, log_k,
                   log_e, log_n, joint, channel):
        """One step of one signal on an edge list, on one thread: (count, ε, leaves,
        max |∂L/∂u|), the last measured at every step when ``measure``, else only when
        checking (``check``)."""
        lo = np.int64(0)
        count, eps_r, leaves = _list_edges(graph, consts, u, z, f, rb, lo,
                                           graph.src.shape[0], check, k_next, entry_iter,
                                           log_k, log_e, log_n, joint, channel)
        eps_u = _list_nodes(graph, consts, x, u, rb, lo, x.shape[1], check or measure)
        return count, _nan_max(eps_u, eps_r), leaves, eps_u

    @numba.njit(parallel=True, **FLAGS)
    def _grid_blocks(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter,
                     block_log_k, block_log_e, logged, counts, eps_r, leaves, eps_u, nbuf,
                     obuf, gbuf, joint, channel):
        """The blocks of one grid step across threads: each block of pixels is swept
        whole (:func:`_grid_sweep`), leaving the nodes within ``pad`` of its start, whose
        ``u`` the block before still reads and whose ``Dᵀ r`` needs that block's edges,
        to :func:`_step_wide`."""
        for blk in numba.prange(graph.edge_blocks.shape[0] - 1):
            lo, hi = graph.edge_blocks[blk], graph.edge_blocks[blk + 1]
            defer = min(graph.pad, hi - lo) if blk > 0 else 0
            c, e, lv, g = _grid_sweep(
                graph, consts, x, u, z, f, rb, lo, hi, defer, check, measure, k_next,
                entry_iter, block_log_k[blk], block_log_e[blk], logged[blk:blk + 1],
                nbuf[blk], obuf[blk], gbuf[blk], joint, channel)
            counts[blk], eps_r[blk], leaves[blk], eps_u[blk] = c, e, lv, g

    @numba.njit(parallel=True, **FLAGS)
    def _list_blocks(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter,
                     block_log_k, block_log_e, logged, counts, eps_r, leaves, eps_u, joint,
                     channel):
        """The blocks of one edge-list step across threads: the edge pass (phase 0),
        then the node pass (phase 1); one parallel loop (one is compiled)."""
        blocks = graph.edge_blocks.shape[0] - 1
        for phase in range(2):
            for blk in numba.prange(blocks):
                if phase == 0:
                    lo, hi = graph.edge_blocks[blk], graph.edge_blocks[blk + 1]
                    c, e, lv = _list_edges(graph, consts, u, z, f, rb, lo, hi, check,
                                           k_next, entry_iter, block_log_k[blk],
                                           block_log_e[blk], logged[blk:blk + 1],
                                           joint, channel)
                    counts[blk], eps_r[blk], leaves[blk] = c, e, lv
                else:
                    lo, hi = graph.node_blocks[blk], graph.node_blocks[blk + 1]
                    eps_u[blk] = _list_nodes(graph, consts, x, u, rb, lo, hi,
                                             check or measure)

    @njit
    def _step_wide(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter, log_k,
                   log_e, log_n, block_log_k, block_log_e, nbuf, obuf, gbuf, stencil,
                   edge_list, joint, channel):
        """One step of one signal, its blocks across threads (``edge_blocks``; an edge
        list's node blocks are as many); ``stencil``, ``edge_list``, ``joint``,
        ``channel`` as in :func:`run_signal`.

        Each block logs its support changes in its own row of ``block_log_*``; they are
        appended to the signal's log in block order. The arithmetic is the serial step's.
        """
        blocks = graph.edge_blocks.shape[0] - 1
        counts = np.empty(blocks, dtype=np.int64)
        leaves = np.empty(blocks, dtype=np.int64)
        logged = np.zeros(blocks, dtype=np.int64)
        eps_r = np.empty(blocks)
        eps_u = np.zeros(blocks)
        if edge_list is not None:
            _list_blocks(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter,
                         block_log_k, block_log_e, logged, counts, eps_r, leaves, eps_u, joint,
                         channel)
        if stencil is not None:
            _grid_blocks(graph, consts, x, u, z, f, rb, check, measure, k_next, entry_iter,
                         block_log_k, block_log_e, logged, counts, eps_r, leaves, eps_u,
                         nbuf, obuf, gbuf, joint, channel)
            # The nodes each block left: the edges around them are done.
            chunk = gbuf.shape[1]
            for blk in range(1, blocks):
                lo = graph.edge_blocks[blk]
                hi = lo + min(graph.pad, graph.edge_blocks[blk + 1] - lo)
                for start in range(lo, hi, chunk):
                    eps_u[blk] = _nan_max(eps_u[blk], _grid_nodes(
                        graph, consts, x, u, rb, start, min(start + chunk, hi),
                        check or measure, gbuf[0]))
        for blk in range(blocks):
            for n in range(logged[blk]):
                at = log_n[0]
                if at < log_k.shape[0]:
                    log_k[at] = block_log_k[blk, n]
                    log_e[at] = block_log_e[blk, n]
                log_n[0] = at + 1
        eps, largest_u = 0.0, 0.0
        count, left = 0, 0
        for blk in range(blocks):
            eps = _nan_max(eps, eps_r[blk])
            count += counts[blk]
            left += leaves[blk]
        for blk in range(blocks):
            largest_u = _nan_max(largest_u, eps_u[blk])
        return count, _nan_max(eps, largest_u), left, largest_u

    @njit
    def _grid_wedge(graph, consts, x, u, z, f, rb, at, depth, check, k_next, counts,
                    entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel):
        """What ``depth`` steps of the blocks of :func:`_step_fronts` leave around their
        cut at pixel ``at``: step ``t`` sweeps the edges of pixels ``at − (t + 1) pad …
        at + t pad − 1`` and their nodes, then the nodes ``at + t pad … at + (t + 1) pad −
        1`` (whose edges the block after has swept). (ε, leaves) of the last step (checked
        when ``check``); ``counts[t]``, the support's size after step ``t`` (of these
        edges)."""
        pad = graph.pad
        chunk = nbuf.shape[0]
        leaves = 0
        eps = 0.0
        for t in range(depth):
            checked = check and t == depth - 1
            c, e, lv, g = _grid_sweep(graph, consts, x, u, z, f, rb, at - (t + 1) * pad,
                                      at + t * pad, at - at, checked, False, k_next + t,
                                      entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf,
                                      joint, channel)
            for start in range(at + t * pad, at + (t + 1) * pad, chunk):
                g = _nan_max(g, _grid_nodes(graph, consts, x, u, rb, start,
                                            min(start + chunk, at + (t + 1) * pad), checked,
                                            gbuf))
            counts[t] = c
            leaves += lv
            if checked:
                eps = _nan_max(e, g)
        return eps, leaves

    @numba.njit(parallel=True, **FLAGS)
    def _grid_fronts(graph, consts, x, u, z, f, rb, depth, check, k_next, counts, done,
                     eps, leaves, entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint,
                     channel):
        """The two phases of :func:`_step_fronts`, each across threads: the blocks' rows
        ``0 … blocks − 1`` of ``counts``, ``eps``, ``leaves``, then the cuts' rows after
        them; one parallel loop (one is compiled)."""
        cuts = graph.front_blocks
        blocks = cuts.shape[0] - 1
        pad = graph.pad
        for phase in range(2):
            for i in numba.prange(blocks - phase):
                if phase == 0:
                    lo, hi = cuts[i], cuts[i + 1]
                    _, eps[i], leaves[i], _ = _grid_steps(
                        graph, consts, x, u, z, f, rb, depth, check, False, k_next,
                        counts[i], done[i], entry_iter, log_k, log_e, log_n, nbuf[i], obuf[i],
                        gbuf[i], joint, channel, lo, hi, pad if i > 0 else 0,
                        pad if i < blocks - 1 else 0)
                else:
                    row = blocks + i
                    eps[row], leaves[row] = _grid_wedge(
                        graph, consts, x, u, z, f, rb, cuts[i + 1], depth, check, k_next,
                        counts[row], entry_iter, log_k, log_e, log_n, nbuf[i + 1], obuf[i + 1],
                        gbuf[i + 1], joint, channel)

    @njit
    def _step_fronts(graph, consts, x, u, z, f, rb, depth, check, k_next, counts,
                     entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel):
        """``depth`` steps of one signal on a grid, as wavefronts across threads: (count,
        ε, leaves, 0) of the last step, checked when ``check``; ``counts[t]``, the
        support's size after step ``t``. One step (``depth`` 1) is a split step in two
        phases. No support change may be recorded (``entry_iter`` has no entries: the
        logs are not written) and ``max |∂L/∂u|`` is not measured: a run that records
        them splits its steps with :func:`_step_wide`.

        Each thread's block of rows (``graph.front_blocks``) runs the steps as a
        wavefront (:func:`_grid_steps`) that keeps ``pad`` pixels further from each
        neighbouring block with every step, so the blocks step at once without reading
        what another writes; then the wedges left around each cut are stepped, across
        threads too (:func:`_grid_wedge`). Every value is computed from the operands of
        plain steps (the same bits), the threads wake twice for the ``depth`` steps, not
        ``depth`` times, and each block's state is read from memory once for all of
        them. A block needs at least ``(2 depth + 1) pad`` pixels
        (:func:`front_depth`).
        """
        blocks = graph.front_blocks.shape[0] - 1
        rows = 2 * blocks - 1
        per_row = np.zeros((rows, depth), dtype=np.int64)
        done = np.empty((blocks, depth), dtype=np.int64)
        eps = np.zeros(rows)
        leaves = np.zeros(rows, dtype=np.int64)
        _grid_fronts(graph, consts, x, u, z, f, rb, depth, check, k_next, per_row, done, eps,
                     leaves, entry_iter, log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel)
        largest, left = 0.0, 0
        for row in range(rows):
            largest = _nan_max(largest, eps[row])
            left += leaves[row]
        for t in range(depth):
            counts[t] = 0
            for row in range(rows):
                counts[t] += per_row[row, t]
        return counts[depth - 1], largest, left, 0.0

    @njit
    def front_depth(graph, steps):
        """The most steps (at most ``steps``) the blocks of :func:`_step_fronts` can run
        at once: each needs ``(2 depth + 1) pad`` pixels; 0 when they cannot run one (or
        there is one block)."""
        cuts = graph.front_blocks
        if cuts.shape[0] < 3:
            return 0
        depth = steps
        for blk in range(cuts.shape[0] - 1):
            depth = min(depth, ((cuts[blk + 1] - cuts[blk]) // graph.pad - 1) // 2)
        return max(depth, 0)

    # ------------------------------------------------------------------ idle stretches

    @njit_inline
    def _scan(consts, z, f, rb, tol, noise, joint, channel):
        """Entries outside the support: (any not flat, steps to the next entry, the
        weighted difference of that entry).

        An entry is flat when its weighted difference ``|r_e|`` is at most ``tol``.
        At its current rate it enters after ``n`` steps (``z`` grows by ``(α/ν) r`` a
        step), unless ``|r|`` is rounding noise (``<= noise``): such a ``z`` does not
        move, and a jump must not wait for it.
        """
        step_z, one = float(consts.step_z), float(consts.one)
        channels, m = z.shape
        nonflat = False
        nstar = np.inf
        rstar = 0.0
        for e in range(m):
            if joint is not None:
                if f[e] > 0:
                    continue
                zz = za = aa = rr = 0.0
                for c in range(channels):
                    zc, v = float(z[c, e]), float(rb[c, e])
                    a = step_z * v
                    zz += zc * zc
                    za += zc * a
                    aa += a * a
                    rr += v * v
                if rr > noise * noise:
                    # ‖z + n a‖² = 1: the first n past the positive root enters.
                    n = (-za + np.sqrt(max(za * za + aa * (one - zz), 0.0))) / aa
                    if rr > tol * tol:
                        nonflat = True
                    if n < nstar:
                        nstar, rstar = n, np.sqrt(rr)
            if channel is not None:
                for c in range(channels):
                    zc = float(z[c, e])
                    if abs(zc) > one:
                        continue
                    v = float(rb[c, e])
                    a = step_z * v
                    if abs(v) > noise:
                        n = ((one if a > 0.0 else -one) - zc) / a
                        if abs(v) > tol:
                            nonflat = True
                        if n < nstar:
                            nstar, rstar = n, abs(v)
        return nonflat, nstar, rstar

    @njit
    def _entering(consts, z, f, rb, horizon, joint, channel):
        """Entries outside the support that enter within ``horizon`` steps at their
        current rate (``z`` grows by ``(α/ν) r`` a step): ``‖z_e + horizon (α/ν) r_e‖ >
        1`` (per channel in channel mode)."""
        ahead = consts.step_z * horizon
        one = consts.one
        channels, m = z.shape
        count = 0
        if joint is not None:  # (a chunk at a time: no array the size of z)
            norms = np.empty(max(1, min(m, 4096)), dtype=z.dtype)
            for lo in range(0, m, norms.shape[0]):
                n = min(norms.shape[0], m - lo)
                for c in range(channels):
                    zs, rs = z[c, lo:lo + n], rb[c, lo:lo + n]
                    if c == 0:
                        for q in range(n):
                            v = zs[q] + ahead * rs[q]
                            norms[q] = v * v
                    else:
                        for q in range(n):
                            v = zs[q] + ahead * rs[q]
                            norms[q] += v * v
                fs = f[lo:lo + n]
                for q in range(n):
                    count += (norms[q] > one) & (fs[q] <= one - one)
        if channel is not None:
            for c in range(channels):
                zs, rs = z[c], rb[c]
                for e in range(m):
                    count += (abs(zs[e]) <= one) & (abs(zs[e] + ahead * rs[e]) > one)
        return count

    @njit_inline
    def _outside_largest(consts, z, f, rb, joint, channel):
        """The largest squared weighted difference of an entry outside the support (a
        cheap, vectorised pass: the full :func:`_scan` runs only when it matters)."""
        channels, m = z.shape
        largest = 0.0
        if joint is not None:
            norms = np.zeros(m, dtype=rb.dtype)
            for c in range(channels):
                rs = rb[c]
                for e in range(m):
                    norms[e] += rs[e] * rs[e]
            largest = _abs_max(norms, f, consts.one - consts.one, np.bool_(False))
        if channel is not None:
            for c in range(channels):
                largest = _nan_max(largest, _abs_max(rb[c], z[c], consts.one,
                                                     np.bool_(False)))
            largest *= largest
        return largest

    @njit_inline
    def _regions_flat(graph, consts, x, z, f, limit, joint, channel):
        """Whether every component left by the support varies by at most ``limit`` in
        ``x`` (max − min, per channel). Edges below the floor can add up along a chain
        (a gradient): the floor needs the regions they join to be flat as well."""
        channels, p = x.shape
        slots = graph.eid.shape[0]
        groups = 1 if joint is not None else channels
        parent = np.empty(p, dtype=np.int64)
        low = np.empty(p, dtype=x.dtype)
        high = np.empty(p, dtype=x.dtype)
        length = graph.pad + p
        for g in range(groups):
            for i in range(p):
                parent[i] = i
            for el in range(slots):
                if graph.eid[el] < 0:
                    continue
                if joint is not None:
                    if f[el] > 0:
                        continue
                if channel is not None:
                    if abs(z[g, el]) > consts.one:
                        continue
                if graph.grid:
                    first = el % length - graph.pad
                    i, j = first, first + graph.shifts[el // length]
                else:
                    i, j = graph.src[el], graph.dst[el]
                union(parent, i, j)
            for c in range(channels):
                if channel is not None and c != g:
                    continue
                for i in range(p):
                    low[i] = x[c, i]
                    high[i] = x[c, i]
                for i in range(p):
                    r = root(parent, i)
                    low[r] = min(low[r], x[c, i])
                    high[r] = max(high[r], x[c, i])
                for i in range(p):
                    if parent[i] == i and high[i] - low[i] > limit:
                        return False
        return True

    @njit_inline
    def _jump(consts, z, f, rb, steps, joint, channel):
        """Advance ``z`` outside the support by ``steps`` idle steps at once."""
        channels, m = z.shape
        scale = consts.step_z * (consts.one * steps)
        for c in range(channels):
            for e in range(m):
                if joint is not None:
                    if f[e] > 0:
                        continue
                if channel is not None:
                    if abs(z[c, e]) > consts.one:
                        continue
                z[c, e] += scale * rb[c, e]

    # ------------------------------------------------------------------ recording

    @njit_inline
    def _restart(start, u, z, f):
        """Set a signal's iterate back to ``start`` (``z = 0``, no support)."""
        for c in range(u.shape[0]):
            for i in range(u.shape[1]):
                u[c, i] = start[c, i]
            for i in range(z.shape[1]):
                z[c, i] = 0
        for i in range(f.shape[0]):
            f[i] = 0

    @njit
    def _record(graph, consts, u, z, f, values, supports, iters, drifts, b, slot, k, drift,
                measure, joint, channel):
        """Record signal ``b``'s iterate ``k`` (its snapshot, and the drift so far when
        measured) in ``slot`` of a level or stop table."""
        _snapshot(graph, consts, u, z, f, values[b, slot], supports[b, slot], joint, channel)
        iters[b, slot] = k
        if measure:
            drifts[b, slot] = drift

    @njit_inline
    def _snapshot(graph, consts, u, z, f, out_u, out_support, joint, channel):
        channels = u.shape[0]
        for c in range(channels):
            for i in range(u.shape[1]):
                out_u[c, i] = u[c, i]
        eid = graph.eid
        for el in range(eid.shape[0]):
            if eid[el] < 0:
                continue
            if joint is not None:
                out_support[eid[el], 0] = f[el] > 0
            if channel is not None:
                for c in range(channels):
                    out_support[eid[el], c] = abs(z[c, el]) > consts.one

    # ------------------------------------------------------------------ the loop

    @njit
    def run_signal(b, graph, consts, rule, x, state, rec, until, block_log_k, block_log_e,
                   stencil, edge_list, joint, channel, front, fronts):
        """Run signal ``b`` until its stop rule, its step bound or ``until`` steps.

        Each step is split into blocks across threads when ``block_log_k``/
        ``block_log_e`` are given: the blocks' logs (rows with no columns when entries
        are not recorded); with ``None`` it stays on this thread. ``stencil`` is the
        grid's ``shifts`` and ``edge_list`` the list's ``src``, the other ``None``;
        ``joint`` and ``channel`` say the mode: one is ``True``, the other ``None``.
        These ``None`` are compile-time choices (numba prunes the branch of an argument
        that is ``None``): a first call compiles only the step it runs — one thread, on
        a grid, joint, for a photo — and the split step (seconds to compile) only when
        it is used (see :func:`split_cached`). ``front`` (``True`` or ``None``, the same
        way): whether the steps up to each check may run as one wavefront
        (:func:`_grid_steps`) on a grid whose layout allows it (``graph.wavefront``).
        ``fronts`` (``True``, with no block logs; or ``None``): every step of a grid split
        across threads, through :func:`_step_fronts` (whose blocks must allow one step:
        :func:`front_depth`); nothing may be recorded then but the stops. A run starts at
        step 0, from ``state.start`` where it may go again from there.
        """
        xb, u, z, f = x[b], state.u[b], state.z[b], state.f[b]
        channels, p = xb.shape
        m = graph.num_edges
        entries = m if joint is not None else m * channels
        # Slots that are not edges must read as r = 0: zeros, never written. A signal run
        # in stretches of steps keeps its residuals (state.r): a call allocates nothing.
        # (Zeroed by a loop: np.zeros would compile one more allocator per dtype.)
        if state.r.shape[0]:
            rb = state.r[b]
        else:
            rb = np.empty(z.shape, dtype=xb.dtype)
            for c in range(rb.shape[0]):
                for e in range(rb.shape[1]):
                    rb[c, e] = 0
        # Scratch of a grid: one chunk's worth per block (wide) or for this thread.
        rows = (graph.edge_blocks.shape[0] - 1 if block_log_k is not None or
                fronts is not None else 1) \
            if graph.grid else 0
        scratch = (rows, max(1, min(max(graph.chunk, graph.wavefront), p)))
        nbuf = np.empty(scratch, dtype=xb.dtype)
        obuf = np.empty(scratch, dtype=xb.dtype)
        gbuf = np.empty(scratch, dtype=xb.dtype)
        entry_iter, log_k, log_e = rec.entry_iter[b], rec.log_k[b], rec.log_e[b]
        log_n = rec.log_n[b:b + 1]
        measure = rec.drift.shape[0] > 0
        drift = rec.drift[b] if measure else 0.0
        # One step moves u by step_u |∂L/∂u| at most, plus the rounding of u (|u| <= 1
        # normalised, give or take the overshoot: a few units of the dtype's resolution).
        rounding = rule.rounding
        step_u = float(consts.step_u)
        k, steps, count = state.k[b], state.steps[b], state.count[b]
        level, stop, leaves = state.level[b], state.stop[b], state.leaves[b]
        k_target, s_target = rule.k_target[b], rule.s_target[b]
        floor_tol = max(rule.tol, rule.resolution)
        status = RUNNING
        sparsity = 1.0
        at_floor = False
        counted = count
        # The steps up to each check go as one wavefront on a large grid (the layout
        # says; split across threads, as deep as its blocks allow), unless something is
        # recorded. A sparsity target is seen only at a wavefront's end, so near it a
        # wavefront is cut short. Just after a jump (entries are due) the steps go one at
        # a time. With no growth of the support between two checks to go by (the first
        # entries; a plateau, after which a burst may follow) a wavefront runs only where
        # the entries due within ``foresight`` times its depth at their present rate,
        # counted twice, leave the target unreached, but for the first (steps 1 to the
        # first check: r_0 = 0 foresees nothing, and going again costs those steps).
        # Where twice the support's growth since the last check or between the last two,
        # times its acceleration (that
        # growth over the one before), or twice its largest growth between two checks
        # (fading by an eighth a check: a burst seen before) would reach the target, it is
        # halved (rounding down: 8, 4, 2 steps, then one) while its share (its steps of
        # the ``check_every`` between two checks) would, and runs only where the entries
        # due within twice its steps, counted twice, leave the target unreached too (a
        # plateau's tied edges enter at once). Where a wavefront passes it all the same,
        # the run goes again from its start (``state.start``: the same steps, the same
        # bits) up to the step that reached it (``serial_until``), wavefronts ending
        # there.
        deepest = rule.check_every if fronts is None else \
            front_depth(graph, rule.check_every)
        wavefront = (front is not None and graph.wavefront > 0 or fronts is not None) and \
            deepest > 1 and entry_iter.shape[0] == 0 and not measure and \
            rec.levels.shape[0] == 0 and \
            (s_target < 0 or state.start.shape[0] > b)
        reach = entries * (1.0 - s_target)  # the support's size at the target
        before, last, jumped = state.before[b], state.last[b], state.jumped[b]
        grown = state.grown[b]
        mark = state.mark[b]  # (the support's size at the last check)
        if fronts is not None and (entry_iter.shape[0] > 0 or measure or
                                   rec.levels.shape[0] > 0):
            raise ValueError("split wavefronts record nothing: split with block logs")
        counts = np.empty(rule.check_every, dtype=np.int64)
        done = np.empty(rule.check_every, dtype=np.int64)
        serial_until = steps
        clear = False  # whether no entries are foreseen to reach the target before the
        # next check (see ``foresight``; read anew after each check)
        entered = steps  # (the steps done before this call)
        barred = False  # whether entries due barred a wavefront near the target since the
        # last check
        while True:
            sparsity = (entries - count) / entries if entries else 0.0
            while level < rec.levels.shape[0] and sparsity <= rec.levels[level]:
                _record(graph, consts, u, z, f, rec.level_u, rec.level_support,
                        rec.level_iter, rec.level_drift, b, level, k, drift, measure, joint,
                        channel)
                level += 1
            while stop < rule.stops.shape[0] and k >= rule.stops[stop]:
                if k == rule.stops[stop]:
                    _record(graph, consts, u, z, f, rec.stop_u, rec.stop_support,
                            rec.stop_iter, rec.stop_drift, b, stop, k, drift, measure, joint,
                            channel)
                stop += 1
            if (k_target >= 0 and k >= k_target) or (s_target >= 0 and sparsity <= s_target):
                status = REACHED
                break
            if at_floor:
                status = FLOOR
                break
            if steps >= rule.max_steps:
                status = MAX_ITER
                break
            if steps >= until:
                break
            check = steps % rule.check_every == 0
            depth = 1
            if (front is not None or fronts is not None) and wavefront:
                # (Compiled only for a wavefront.) Up to and with the next check step
                # (none when stopped before it).
                depth = min((-steps) % rule.check_every + 1, until - steps,
                            rule.max_steps - steps, deepest)
                if k_target >= 0:
                    depth = min(depth, k_target - k)
                if stop < rule.stops.shape[0]:
                    depth = min(depth, rule.stops[stop] - k)
                if steps < serial_until:
                    depth = min(depth, serial_until - steps)
                elif s_target >= 0 and rule.anticipate:
                    growth = max(last, count - mark)
                    # ``r`` is this run's once a step of this call has run, or kept
                    # between calls (a call that keeps none starts from zeros).
                    live = state.r.shape[0] > 0 or steps > entered
                    if jumped:
                        depth = 1
                    elif before <= 0 or growth <= 0:
                        # No growth to go by (the opening, a plateau): the entries due
                        # within ``foresight`` times the wavefront at their present rate,
                        # read once after a check (the first step's r is 0: none before).
                        if rule.foresight > 0 and live and \
                                steps % rule.check_every == 1 and steps > rule.check_every:
                            clear = count + 2 * _entering(
                                consts, z, f, rb, rule.foresight * depth, joint,
                                channel) < reach
                        # The first wavefront (steps 1 to the first check) runs all the
                        # same: u_0 is the mean of each component, so r_0 = 0 foresees
                        # nothing, and a run that passes its target there goes again over
                        # no more than its own steps.
                        if not clear and steps > 1:
                            depth = 1
                    else:
                        ahead = 2 * max(growth * max(1.0, growth / before), grown)
                        if count + ahead >= reach:
                            # Near the target: halved while its share of twice the growth
                            # would reach it. There a burst of ties (a plateau's edges
                            # entering at once) would pass it too: the entries due within
                            # twice its steps, counted twice, must leave it unreached.
                            while depth > 1 and \
                                    count + ahead * depth / rule.check_every >= reach:
                                depth //= 2
                            # (Once barred, until the next check: no pass over the
                            # entries at each step that follows.)
                            if depth > 1 and rule.foresight > 0 and (barred or not (
                                    live and count + 2 * _entering(
                                        consts, z, f, rb, 2 * depth, joint,
                                        channel) < reach)):
                                depth, barred = 1, True
                if depth > 1:
                    check = (steps + depth - 1) % rule.check_every == 0
            if block_log_k is not None:
                count, eps, left, eps_u = _step_wide(
                    graph, consts, xb, u, z, f, rb, check, measure, k + 1, entry_iter,
                    log_k, log_e, log_n, block_log_k, block_log_e, nbuf, obuf, gbuf,
                    stencil, edge_list, joint, channel)
            elif fronts is not None:
                count, eps, left, eps_u = _step_fronts(
                    graph, consts, xb, u, z, f, rb, depth, check, k + 1, counts, entry_iter,
                    log_k, log_e, log_n, nbuf, obuf, gbuf, joint, channel)
            else:
                if edge_list is not None:
                    count, eps, left, eps_u = _step_list(
                        graph, consts, xb, u, z, f, rb, check, measure, k + 1, entry_iter,
                        log_k, log_e, log_n, joint, channel)
                if stencil is not None and front is None:
                    count, eps, left, eps_u = _step_grid(
                        graph, consts, xb, u, z, f, rb, check, measure, k + 1, entry_iter,
                        log_k, log_e, log_n, nbuf[0], obuf[0], gbuf[0], joint, channel)
                if stencil is not None and front is not None:
                    count, eps, left, eps_u = _grid_steps(
                        graph, consts, xb, u, z, f, rb, depth, check, measure, k + 1, counts,
                        done, entry_iter, log_k, log_e, log_n, nbuf[0], obuf[0], gbuf[0],
                        joint, channel, np.int64(0), np.int64(p), np.int64(0), np.int64(0))
            if (front is not None or fronts is not None) and depth > 1:
                state.waved[b] += depth
                ran = depth
                if s_target >= 0 and entries:
                    for t in range(depth - 1):
                        if (entries - counts[t]) / entries <= s_target:
                            ran = t + 1
                            break
                if ran < depth:  # the target was passed inside: go again, up to it
                    serial_until = steps + ran
                    _restart(state.start[b], u, z, f)
                    state.reruns[b] += 1
                    k, steps, count, level, stop, leaves, mark = 0, 0, 0, 0, 0, 0, 0
                    continue
                # All but the last step counted here; the last as one step below.
                k += depth - 1
                steps += depth - 1
            leaves += left
            if measure:
                drift += step_u * eps_u * (1.0 + rounding) + rounding
            k += 1
            steps += 1
            if measure and count != counted:  # the support changed: mark (k, drift_k)
                n = rec.mark_n[b]
                if n < rec.mark_k.shape[1]:
                    rec.mark_k[b, n] = k
                    rec.mark_d[b, n] = drift
                rec.mark_n[b] = n + 1
            counted = count
            if not check:
                continue
            # At every check (the last step of a wavefront, or a check step on its own):
            # how much the support grew since the last, for the near test above.
            before, last = last, count - mark
            grown = max(last, grown - (grown + 7) // 8)
            mark, jumped, clear, barred = count, 0, False, False
            if not np.isfinite(eps):
                status = NON_FINITE
                break
            if eps > floor_tol:
                continue
            largest = _outside_largest(consts, z, f, rb, joint, channel)
            if largest <= floor_tol * floor_tol and _regions_flat(
                    graph, consts, xb, z, f, max(rule.region_tol, rule.resolution), joint,
                    channel):
                # Every entry outside is flat and so is every region: the floor. The
                # step may have reached the target or a level: the loop's top decides.
                at_floor = True
                continue
            if not rule.jumps or eps > max(rule.kick_rtol * np.sqrt(largest), rule.rounding):
                continue  # not idle enough for any jump
            nonflat, nstar, rstar = _scan(consts, z, f, rb, floor_tol, rule.resolution,
                                          joint, channel)
            if eps <= max(rule.kick_rtol * rstar, rule.rounding) and nstar < np.inf:
                jump = int(nstar) - 1  # land one step before the entry: it is computed
                if k_target >= 0:
                    jump = min(jump, k_target - k)
                if stop < rule.stops.shape[0]:
                    jump = min(jump, rule.stops[stop] - k)
                if jump > 0:
                    _jump(consts, z, f, rb, jump, joint, channel)
                    k += jump
                    jumped = 1  # (entries are due: a burst, maybe)
        state.k[b], state.steps[b], state.count[b], state.status[b] = k, steps, count, status
        state.level[b], state.stop[b], state.leaves[b] = level, stop, leaves
        state.sparsity[b] = sparsity
        state.before[b], state.last[b], state.jumped[b] = before, last, jumped
        state.grown[b] = grown
        state.mark[b] = mark
        if measure:
            rec.drift[b] = drift

    @numba.njit(parallel=True, **FLAGS)
    def _run_parallel(order, graph, consts, rule, x, state, rec, until, stencil,
                      edge_list, joint, channel):
        for i in numba.prange(order.shape[0]):
            run_signal(order[i], graph, consts, rule, x, state, rec, until, None, None,
                       stencil, edge_list, joint, channel, None, None)

    @njit
    def _run_serial(order, graph, consts, rule, x, state, rec, until, stencil, edge_list,
                    joint, channel):
        for i in range(order.shape[0]):
            run_signal(order[i], graph, consts, rule, x, state, rec, until, None, None,
                       stencil, edge_list, joint, channel, None, None)


def run_batch(order: np.ndarray, split: bool, graph: Graph, consts: Constants,
              rule: StopRule, x: np.ndarray, state: State, rec: Recording,
              until: int, front: bool = False) -> None:
    """Run the signals ``order`` (indices into the batch) until each stops or has done
    ``until`` steps in all, one after the other with each step split across threads
    (``split``), or each on one thread; the state is updated in place. ``front``: a
    single signal, on one thread or split, runs the steps up to each check as one
    wavefront where its layout allows (see :func:`run_signal`)."""
    kind = _kind(graph, consts)
    if split:
        # Wavefronts take no block logs (nothing is recorded): another loop.
        logs = (None, None) if front else _block_logs(graph, consts, x, rec)
        for b in order:
            run_signal(int(b), graph, consts, rule, x, state, rec, until, *logs, *kind, None,
                       True if front else None)
    elif order.shape[0] == 1:
        # The loop a single signal runs, split or not, shares its compiled steps.
        run_signal(int(order[0]), graph, consts, rule, x, state, rec, until, None, None,
                   *kind, True if front else None, None)
    elif not parallel_allowed():  # see isvs_graph._threads
        _run_serial(order, graph, consts, rule, x, state, rec, until, *kind)
    else:
        # Signals differ in cost by orders of magnitude: one at a time per thread.
        with numba.parallel_chunksize(1):
            _run_parallel(order, graph, consts, rule, x, state, rec, until, *kind)


def _kind(graph: Graph, consts: Constants) -> tuple:
    """``(stencil, edge_list, joint, channel)`` of :func:`run_signal`: the graph's
    arrays and the mode, each pair with one ``None``."""
    kind = (graph.shifts, None) if graph.grid else (None, graph.src)
    return kind + ((True, None) if consts.joint else (None, True))


def _block_logs(graph: Graph, consts: Constants, x: np.ndarray,
                rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """The logs of support changes a split step keeps per block: each block's row holds
    the entries it can change in one step (its edges; per pixel, one a direction); no
    columns when entries are not recorded."""
    blocks = graph.edge_blocks.shape[0] - 1
    per_block = 0
    if rec.entry_iter.shape[1]:
        per_block = int(np.diff(graph.edge_blocks).max())
        per_block *= graph.shifts.shape[0] if graph.grid else 1
        per_block *= 1 if consts.joint else x.shape[1]
    return (np.empty((blocks, per_block), dtype=np.int64),
            np.empty((blocks, per_block), dtype=np.int64))


def split_cached(graph: Graph, consts: Constants, rule: StopRule, x: np.ndarray,
                 state: State, rec: Recording, front: bool = False) -> bool:
    """Whether ``run_batch(…, split=True, …, front)`` on arguments of these types runs
    without compiling: its loop is compiled in this process, or in numba's on-disk cache
    (then it is loaded here). Compiling it takes seconds (``python -m isvs_graph._warm``
    puts it in the cache)."""
    logs = (None, None) if front else _block_logs(graph, consts, x, rec)
    return _loop_cached((0, graph, consts, rule, x, state, rec, 0, *logs,
                         *_kind(graph, consts), None, True if front else None))


def front_cached(graph: Graph, consts: Constants, rule: StopRule, x: np.ndarray,
                 state: State, rec: Recording) -> bool:
    """:func:`split_cached` for ``run_batch(…, front=True)`` on one signal."""
    return _loop_cached((0, graph, consts, rule, x, state, rec, 0, None, None,
                         *_kind(graph, consts), True, None))


def _loop_cached(args: tuple) -> bool:
    """Whether :func:`run_signal` on arguments of these types is compiled in this
    process or in numba's cache (then it is loaded here)."""
    signature = tuple(run_signal.typeof_pyval(arg) for arg in args)
    if signature in run_signal.overloads:
        return True
    try:  # numba's cache of the dispatcher (private: no public way to ask it)
        cached = run_signal._cache.load_overload(signature, run_signal.targetctx)
    except Exception:  # pragma: no cover - another numba: count it as not cached
        return False
    if cached is None:
        return False
    run_signal.compile(signature)  # from the cache: adds it to the dispatcher
    return True
