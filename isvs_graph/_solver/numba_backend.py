"""The CPU backend: lay a batch out for the numba kernels, run it, read it back.

Signals are handed to threads one at a time; a large graph with few signals instead
may split every step of each signal into blocks across threads ("wide"), so that one
1024² image uses every core — where that is measured to be cheaper, as it is not on a
busy machine (:func:`_run_measured`). Both orders give the same bits. A progress bar
and the measured split run the same kernels in resumable stretches (of signals, or of
steps for one signal), so neither changes the arithmetic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._threads import parallel_allowed
from ..graphs import CanonicalGraph
from .._kept import Kept
from ..graphs._grid import grid_shape
from . import numba_kernels as kernels
from .options import CHECK_EVERY, KICK_RTOL, REGION_TOL, SolverOptions, step_constants
from .stencil import grid_stencil, index_dtype

#: Graphs with at least this many nodes are solved "wide" when the batch is too small
#: to keep every thread busy with whole signals.
WIDE_MIN_NODES = 8_192
#: Blocks a wide step is split into, per thread (a wavefront split across threads
#: takes one per thread).
BLOCKS_PER_THREAD = 4
#: Pixels a grid step sweeps at a time, its edges then their nodes: the chunk's state
#: (``r``, ``u``, the scratch; about 100 kB for 3 channels on a 4-grid) is still in
#: cache for the node pass, so a large image streams its state once a step, not twice.
GRID_CHUNK = 2048


def l2_cache_bytes(folder: str = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """One core's L2 cache (data or unified) in bytes, as Linux reports it in
    ``folder``; 0 where it does not (another system, or no such entry)."""
    import pathlib
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    for index in sorted(pathlib.Path(folder).glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2" or \
                    (index / "type").read_text().strip() == "Instruction":
                continue
            size = (index / "size").read_text().strip().upper()
        except (OSError, UnicodeDecodeError):
            continue
        scale = units.get(size[-1:], 1)
        digits = size[:-1] if size[-1:] in units else size
        if digits.isascii() and digits.isdigit():
            return int(digits) * scale
    return 0


def wavefront_min_nodes(l2_bytes: int) -> int:
    """The fewest nodes of a grid that runs as a wavefront: a quarter of the L2 cache in
    bytes (a 3-channel float32 state, about 88 B a pixel, then spans about 20 times the
    L2), at least 65,536; 512² where the L2 is unknown. Measured, one thread, 1 MB L2,
    photos to sparsity 0.8: 512² ran 3–30 % faster as a wavefront, 768² 1.4× faster,
    256² 3–5 % slower."""
    return max(1 << 16, l2_bytes // 4) if l2_bytes > 0 else 1 << 18


#: Grids with at least this many nodes run the steps up to each check as one wavefront
#: (the steps follow each other through the image ``pad`` pixels apart, so its state is
#: read from memory once for all of them), each step sweeping this many at a time. A
#: smaller grid's state stays in cache anyway, and the sweeps' set-up costs more than
#: the wavefront saves: where that size lies follows the core's L2 cache.
WAVEFRONT_MIN_NODES = wavefront_min_nodes(l2_cache_bytes())
#: ... and at least this many rows (planes of a volume) along its first axis of more than
#: one: the eight steps in flight span eight rows, which must be a part of the grid.
#: Measured, one thread, to sparsity 0.8: noisy 80³, 96³ and 128³ volumes ran 1.17–1.32×
#: faster as a wavefront, 64³ 0.95–1.17×; photos of 64 × 8,192 and 128 × 4,096 pixels
#: 1.13–1.28× faster. (256 before the near test was mended and the sweeps widened, when
#: 64³–128³ volumes ran 2–20 % slower as wavefronts.)
WAVEFRONT_MIN_ROWS = 64
#: Pixels each step of a wavefront sweeps at a time. Each sweep sets up a loop per
#: direction and channel, so small ones cost: measured, one thread, photos to sparsity
#: 0.8, 8,192 against 1,024 made 512²–2048² photos 1–16 % faster (two threads: 4–8 %); the
#: stretch in flight (eight steps, each a row and a sweep behind the one before: 6.5 MB
#: at 1024²) then stays in the L3 cache, not the L2.
WAVEFRONT_CHUNK = 8192
#: The wavefront's loop is compiled (seconds) only where that pays: when neither
#: compiled nor in numba's cache, a grid of fewer nodes than this runs plain steps
#: (``python -m isvs_graph._warm`` compiles it ahead of use); ``COMPILE_WAVEFRONT``
#: compiles it whatever the size.
WAVEFRONT_COMPILE_NODES = 1 << 22
COMPILE_WAVEFRONT = False
#: ``until`` for a run to its end (no step bound).
EVERY_STEP = int(np.iinfo(np.int64).max)
#: Whether a wavefront steps one at a time where it might pass a target sparsity (the
#: support is growing fast, or twice its largest growth between two checks would reach
#: the target, or the iterate has just jumped): off, a wavefront that passes it goes
#: again from the start (tests switch it off to make runs go again).
ANTICIPATE = True
#: With no growth of the support to go by (the opening, or while it does not grow), a
#: wavefront runs where the entries due within this many times its depth at their present
#: rate, twice, leave the target unreached (read once a check; 0: it steps one at a time,
#: and a wavefront halved near a target runs without reading the entries due). The first
#: wavefront of a run runs either way (``r_0 = 0`` foresees nothing).
FORESIGHT = 4
#: Steps per chunk when a progress bar follows one signal.
PROGRESS_STEPS = 64
#: Splitting the steps of one large signal across threads, measured (see
#: :func:`_run_measured`): the first stretch of steps, the longest (in steps and in
#: seconds), the steps of a trial of the other way, the seconds a run lasts before a
#: first trial, and how much cheaper per step the other way must be to be taken.
PROBE_STEPS = 8
MAX_STRETCH = 1024
MAX_STRETCH_SECONDS = 0.1
TRIAL_STEPS = 4
TRIAL_AFTER = 0.005
TRIAL_MARGIN = 0.9
#: How much dearer per step than the best of its sort (split or not, mostly wavefronts or
#: not) a stretch must be for the other way to be tried before its turn: a load that
#: arrives costs 2–25× (a core shared), where a stretch of half wavefronts after one of
#: all (the steps nearing a target) costs 1.1–1.4×.
DEARER = 1.5
#: Seconds signals of a kind run between trials of the way not preferred, when each is
#: too short to try it alone (the time doubles with each trial it loses, and starts
#: again from here when one wins): a load that passed is noticed.
RETRY_AFTER = 0.25
#: ... doubling up to this many seconds: a load that lasted long is not waited out as long
#: again once it has gone.
RETRY_MAX = 4.0
#: The most stretches between trials a signal takes over from the signals of its kind
#: before it (each trial lost doubles them, up to ``MAX_STRETCH``): a long signal still
#: tries the other way within a few stretches of a load that has come or gone.
CARRIED_EVERY = 16
#: Steps a split stretch runs unmeasured when the threads were idle before it: waking
#: them (0.4–3 ms on a 2-core VM after a 256² image's single-thread work, against 0.18 ms
#: a split step) is not what a split step costs.
WAKE_STEPS = 1
#: What :func:`_run_measured` learnt, per kind of signal (grid, size, channels, dtype,
#: mode, threads, what is recorded): the cost per step of each way and the seconds run,
#: for the next signal of the kind to start the cheaper way. The most recent
#: ``MEASURED_KINDS`` kinds.
MEASURED_KINDS = 64
_MEASURED = Kept(0, MEASURED_KINDS)  # (what is kept holds no arrays: no bytes)
#: Seconds a signal runs on one thread before its split step is compiled, when that is
#: neither compiled nor in numba's cache: compiling it takes about 13 s on a 2-core VM (a
#: grid's, with its wavefronts; 9 s without), which only a long run can win back.
SPLIT_COMPILE_AFTER = 15.0


@dataclass
class Recorded:
    """What a numba run hands back (normalised units; ``(B, C, p)`` planes)."""

    u: np.ndarray
    z: np.ndarray
    f: np.ndarray
    iterations: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    sparsity: np.ndarray
    leaves: np.ndarray
    rec: kernels.Recording
    graph: kernels.Graph | None = None
    #: How often each signal's run went again from its start (a wavefront passed its
    #: target sparsity where none was expected: see ``numba_kernels.run_signal``).
    reruns: np.ndarray | None = None
    #: The steps each signal ran in wavefronts of two steps or more.
    waved: np.ndarray | None = None


def _blocks(count: int, parts: int, unit: int = 1) -> np.ndarray:
    """``parts`` ranges covering ``0 … count``, cut at multiples of ``unit``."""
    units = -(-count // unit)
    parts = max(1, min(parts, units))
    cuts = np.linspace(0, units, parts + 1).round().astype(np.int64) * unit
    cuts[-1] = count
    return cuts


#: Grid layouts kept between calls (a grid's follows from its shape, dtype and
#: threads; the kernels never write it): the most recent, up to this many bytes (a 512²
#: 4-neighbour grid's float32 layout holds 6.3 MB) and 32 layouts.
KEPT_LAYOUT_BYTES = 64 << 20
_KEPT_LAYOUTS = Kept(KEPT_LAYOUT_BYTES, 32)


def kernel_graph(canonical: CanonicalGraph, dtype: np.dtype) -> kernels.Graph:
    """A canonical graph in the kernels' form (a grid's kept for other calls:
    :data:`KEPT_LAYOUT_BYTES`)."""
    import numba
    parts = BLOCKS_PER_THREAD * numba.get_num_threads()
    shape = grid_shape(canonical)
    if shape is not None:
        rows = next((n for n in shape[0] if n > 1), 1)  # (shape: dimensions, connectivity)
        wavefront = WAVEFRONT_CHUNK if canonical.num_nodes >= WAVEFRONT_MIN_NODES and \
            rows >= WAVEFRONT_MIN_ROWS else 0
        key = (*shape, np.dtype(dtype), parts, GRID_CHUNK, wavefront)
        return _KEPT_LAYOUTS.get(key, lambda: _grid_graph(*key))
    none_i, none_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=dtype)
    m, p = canonical.num_edges, canonical.num_nodes
    src = canonical.edge_index[0].astype(np.int64)
    dst = canonical.edge_index[1].astype(np.int64)
    weight = canonical.edge_weight.astype(dtype)
    # The edges at each node, in edge order, with ±w: Dᵀ r gathered per node.
    ends = np.concatenate([src, dst])
    order = np.argsort(ends, kind="stable")
    incident = np.concatenate([np.arange(m), np.arange(m)])[order]
    coef = np.concatenate([weight, -weight])[order]
    indptr = np.zeros(p + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=p), out=indptr[1:])
    parts = min(parts, max(1, m), max(1, p))  # as many edge blocks as node blocks
    identity = np.arange(m, dtype=index_dtype(m))  # the type a grid's maps have
    return kernels.Graph(False, m, 0, none_i, 0, none_f, identity, src, dst, weight, indptr,
                         incident.astype(np.int64), coef.astype(dtype), _blocks(m, parts),
                         _blocks(p, parts), 0, 0, identity, none_i)


def _grid_graph(dims: tuple[int, ...], connectivity: int, dtype, parts: int, chunk: int,
                wavefront: int) -> kernels.Graph:
    """A grid in the kernels' form: its stencil, blocks of whole rows (``parts``, and one
    a thread for a wavefront split across threads), the pixels a step sweeps at a time
    (``chunk``, and ``wavefront`` in a wavefront: 0 for none)."""
    none_i, none_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=dtype)
    shifts, pad, masks, eid, slot = grid_stencil(dims, connectivity, dtype)
    p, width = math.prod(dims), dims[-1]
    rows = _blocks(p, parts, unit=width)
    fronts = _blocks(p, max(1, parts // BLOCKS_PER_THREAD), unit=width)
    return kernels.Graph(True, slot.shape[0], width, shifts, pad, masks, eid, none_i,
                         none_i, none_f, none_i, none_i, none_f, rows, rows, chunk, wavefront,
                         slot, fronts)


def _recording(batch, channels, p, m, per_edge, dtype, levels, stops, record_entries,
               log_capacity) -> kernels.Recording:
    if not (len(levels) or len(stops) or record_entries):
        # Nothing recorded: every array is empty but the log's count, which stays 0. Empty
        # arrays hold nothing to write, so every such call may share them.
        empty = _EMPTY_RECORDINGS.get(
            (batch, channels, p, m, per_edge, np.dtype(dtype)),
            lambda: _new_recording(batch, channels, p, m, per_edge, dtype, (), (), False,
                                   0)._replace(log_n=np.zeros(0, dtype=np.int64)))
        return empty._replace(log_n=np.zeros(batch, dtype=np.int64))
    return _new_recording(batch, channels, p, m, per_edge, dtype, levels, stops,
                          record_entries, log_capacity)


#: The empty recordings of calls that record nothing, by shape and dtype (no bytes: the
#: log's count, the one array with entries, is each call's own).
_EMPTY_RECORDINGS = Kept(1 << 20, 64)


def _new_recording(batch, channels, p, m, per_edge, dtype, levels, stops, record_entries,
                   log_capacity) -> kernels.Recording:
    n_levels, n_stops = len(levels), len(stops)
    entries = m * per_edge if record_entries else 0
    capacity = log_capacity if record_entries else 0
    drifts = batch if record_entries else 0
    return kernels.Recording(
        np.asarray(levels, dtype=np.float64),
        np.zeros((batch, n_levels, channels, p), dtype=dtype),
        np.zeros((batch, n_levels, m, per_edge), dtype=bool),
        np.full((batch, n_levels), -1, dtype=np.int64),
        np.zeros((drifts, n_levels)),
        np.zeros((batch, n_stops, channels, p), dtype=dtype),
        np.zeros((batch, n_stops, m, per_edge), dtype=bool),
        np.full((batch, n_stops), -1, dtype=np.int64),
        np.zeros((drifts, n_stops)),
        np.full((batch, entries), -1, dtype=np.int64),
        np.zeros((batch, capacity), dtype=np.int64),
        np.zeros((batch, capacity), dtype=np.int64),
        np.zeros(batch, dtype=np.int64),
        np.zeros(drifts),
        np.zeros((drifts, entries + capacity), dtype=np.int64),
        np.zeros((drifts, entries + capacity)),
        np.zeros(drifts, dtype=np.int64))


def run(canonical: CanonicalGraph, x: np.ndarray, u0: np.ndarray, options: SolverOptions,
        k_target: np.ndarray, s_target: np.ndarray, *, progress: bool = False,
        levels=(), stops=(), record_entries: bool = False) -> Recorded:
    """Run Split LBI on normalised signals ``x`` (``(p, B, C)`` numpy) from ``u0``."""
    p, batch, channels = x.shape
    dtype = x.dtype
    graph = kernel_graph(canonical, dtype)
    m = canonical.num_edges
    slots = graph.eid.shape[0]
    joint = options.mode == "joint"
    per_edge = 1 if joint else channels
    one = dtype.type(1)
    consts = kernels.Constants(*step_constants(options, dtype), one, joint)
    # Thresholds never below what the working dtype resolves; a jump needs the iterate
    # stationary to within a few units of rounding.
    eps = float(np.finfo(dtype).eps)
    rule = kernels.StopRule(k_target.astype(np.int64), s_target.astype(np.float64),
                            int(options.max_iter), float(options.tol),
                            REGION_TOL * float(options.tol), KICK_RTOL, 32 * eps, 4 * eps,
                            CHECK_EVERY, bool(options.jumps),
                            np.asarray(sorted(set(stops)), dtype=np.int64), ANTICIPATE,
                            FORESIGHT)
    xs = np.ascontiguousarray(x.transpose(1, 2, 0))
    u0s = u0.transpose(1, 2, 0)  # (B, C, p); each run copies what it starts from
    levels = sorted(levels, reverse=True)
    capacity = max(64, m * per_edge // 16)
    signals = np.arange(batch)
    out = None
    while signals.size:
        part = _run_signals(graph, consts, rule, xs, u0s, signals, m, slots, per_edge,
                            levels, record_entries, capacity, progress)
        if out is None:
            out = part
        else:
            _scatter(out, part, signals)
        # Signals whose log of support changes overflowed run again with room for all.
        overflow = part.rec.log_n > capacity
        signals = signals[overflow] if record_entries else signals[:0]
        capacity = int(part.rec.log_n.max())
    out.graph = graph
    return out


def _run_signals(graph, consts, rule, xs, u0s, signals, m, slots, per_edge, levels,
                 record_entries, capacity, progress) -> Recorded:
    batch = len(signals)
    _, channels, p = xs.shape
    dtype = xs.dtype
    x = xs[signals] if batch != xs.shape[0] else xs
    sub_rule = rule._replace(k_target=rule.k_target[signals],
                             s_target=rule.s_target[signals])
    state = kernels.State(
        np.array(u0s[signals], order="C"),  # the kernels write the iterate in place
        np.zeros((batch, channels, slots), dtype=dtype),
        np.zeros((batch, slots if consts.joint else 0), dtype=dtype),
        np.zeros(batch, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.full(batch, kernels.RUNNING, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.zeros(batch, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.zeros(batch, dtype=np.int64), np.ones(batch),
        np.zeros((0, channels, slots), dtype=dtype), np.zeros((0, channels, p), dtype=dtype),
        np.zeros(batch, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.zeros(batch, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.zeros(batch, dtype=np.int64), np.zeros(batch, dtype=np.int64),
        np.zeros(batch, dtype=np.int64))
    rec = _recording(batch, channels, p, m, per_edge, dtype, levels,
                     sub_rule.stops, record_entries, capacity)
    import numba
    threads = numba.get_num_threads()
    wide = threads > 1 and p >= WIDE_MIN_NODES and batch < 2 * threads and parallel_allowed()
    order = np.arange(batch)
    if progress:
        from tqdm.auto import tqdm

    # A wavefront where one signal runs on one thread: wide, or a batch of one.
    front = graph.wavefront > 0 and (wide or batch == 1) and (
        COMPILE_WAVEFRONT or p >= WAVEFRONT_COMPILE_NODES or
        kernels.front_cached(graph, consts, sub_rule, x[:1], state, rec))

    # Split across threads, a grid runs the steps up to each check as wavefronts, a
    # block of rows a thread (``numba_kernels._step_fronts``), whatever its size:
    # measured on 2 threads, 5–14 % faster than split steps at 128², 1–7 % at 256², up
    # to 1.5× from 1024² (the state read from memory once for all the steps). Not when
    # support changes are recorded (a path), nor where its blocks cannot take one step
    # (asked in Python: compiled for this call alone, it cost a cold first photo 0.17 s).
    split_front = wide and graph.grid and not record_entries and not levels and \
        kernels.front_depth.py_func(graph, CHECK_EVERY) >= 1
    if (front or split_front) and (sub_rule.s_target >= 0).any():
        # Where a wavefront passes the target sparsity, the run goes again from here.
        state = state._replace(start=state.u.copy())

    def run_until(signals, split, until):
        kernels.run_batch(signals, split, graph, consts, sub_rule, x, state, rec, until,
                          split_front if split else front)

    if wide:  # one signal at a time, each step split across threads where that pays
        state = state._replace(r=np.zeros((batch, channels, slots), dtype=dtype))
        cached = []

        def ready(seconds):  # whether a split may be tried: compiled, or worth compiling
            if not cached:
                cached.append(kernels.split_cached(graph, consts, sub_rule, x, state, rec,
                                                   split_front))
            return cached[0] or seconds >= SPLIT_COMPILE_AFTER

        bar = None
        if progress:
            bar = tqdm(desc="Split LBI", unit="step", dynamic_ncols=True) if batch == 1 \
                else tqdm(total=batch, desc="Split LBI", unit="signal", dynamic_ncols=True)
        try:
            memory = _measured((p, slots, channels, dtype.str, bool(consts.joint),
                                threads, bool(front), bool(record_entries), len(levels)))
            for b in range(batch):
                _run_measured(lambda split, until, one=order[b:b + 1]:
                              run_until(one, split, until), state, b,
                              bar if batch == 1 else None, ready=ready, memory=memory)
                if bar is not None and batch > 1:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    elif not progress:
        run_until(order, False, EVERY_STEP)
    elif batch > 1:
        with tqdm(total=batch, desc="Split LBI", unit="signal", dynamic_ncols=True) as bar:
            chunk = max(1, batch // 20)
            for start in range(0, batch, chunk):
                run_until(order[start:start + chunk], False, EVERY_STEP)
                bar.update(min(chunk, batch - start))
    else:
        with tqdm(desc="Split LBI", unit="step", dynamic_ncols=True) as bar:
            until = 0
            while state.status[0] == kernels.RUNNING:
                until += PROGRESS_STEPS
                run_until(order, False, until)
                _show_steps(bar, state, 0)
    return Recorded(state.u, state.z, state.f, state.k, state.steps, state.status,
                    state.sparsity, state.leaves, rec, reruns=state.reruns,
                    waved=state.waved)


def _show_steps(bar, state: kernels.State, b: int) -> None:
    bar.update(int(state.steps[b]) - bar.n)
    bar.set_postfix(sparsity=f"{state.sparsity[b]:.4f}", refresh=False)


def _measured(kind: tuple) -> dict:
    """What was learnt for signals of ``kind`` (empty at first; see :data:`_MEASURED`),
    to be read and updated by :func:`_run_measured`."""
    return _MEASURED.get(kind, dict)


def _run_measured(run_until, state: kernels.State, b: int, bar=None,
                  clock=time.perf_counter, ready=lambda seconds: True,
                  memory: dict | None = None) -> None:
    """Run signal ``b`` to its end in stretches of steps, each split across threads or
    on this thread, whichever cost less per step when last measured.

    A step split across threads wakes them for every step; on a busy machine (another
    program's threads spinning: torch's just after its own work) a woken thread may
    wait for a core longer than the step takes — a 128² image took 25× longer on two
    threads than on one just after a torch matmul. So the split is measured, not
    assumed: the run starts on this thread and, once it has lasted ``TRIAL_AFTER``
    seconds (a short run never pays for a trial), tries ``TRIAL_STEPS`` steps the other
    way; from then on it runs the cheaper way in stretches that grow while it stays
    cheaper (twice as long, four times when it wins by far; split stretches at most
    ``MAX_STRETCH_SECONDS``), and tries the other way again when the chosen one gets
    dearer than its best, or after a number of stretches that doubles with every trial
    it wins. Both ways give the same bits. ``run_until(split, until)`` runs until
    ``until`` steps in all; ``clock`` gives seconds; ``ready(seconds)`` says whether the
    split may be tried after ``seconds`` of running past the first stretch (which may
    have compiled the loop): its step compiled, or worth compiling
    (:data:`SPLIT_COMPILE_AFTER`).

    A split stretch after steps on this thread first runs ``WAKE_STEPS`` steps
    unmeasured (waking the threads). ``memory`` (:func:`_measured`): the costs learnt
    from earlier signals of the kind (``True``, ``False``) and the seconds they ran
    (``"spent"``); a run starts the way they found cheaper (a short run, which never
    tries, then splits from its first step where that paid before), counts their
    seconds towards ``TRIAL_AFTER`` until both ways are measured (short signals of a
    kind try the split once they have run that long together; later, each signal's own
    seconds count, so that noise does not bring a trial to every one, and the kind's
    every ``RETRY_AFTER`` seconds, doubling while trials lose) and leaves its own costs
    and seconds there.
    """
    cost, best = {}, {}
    prefer, trial = False, False
    stretch = PROBE_STEPS
    probe = None  # the first stretch's seconds: they include compiling the loop, if any
    since, every = 0, 1  # stretches since the last trial; stretches between trials
    memory = {} if memory is None else memory
    spent = memory.get("spent", 0.0)  # (of the kind; ``ran``: of this signal)
    ran = 0.0
    tried, retry = memory.get("tried", 0.0), memory.get("retry", RETRY_AFTER)
    # A stretch's cost per step is compared with the best of its own sort (split or not,
    # mostly wavefronts or not): wavefronts cost about half a plain step, so a plain
    # stretch after wavefronts (the steps near a target) is no sign of a load.
    latest = dict(memory.get("sorts", {}))  # the last cost of each sort
    if True in memory and False in memory:  # (the split ran: it is compiled)
        cost = {split: memory[split] for split in (False, True)}
        best = dict(latest)
        prefer = memory[True] < TRIAL_MARGIN * memory[False]
        probe, every = 0.0, memory.get("every", 4)  # (doubled by trials lost before)
    awake = False  # whether the last stretch was split (the threads are awake)
    while state.status[b] == kernels.RUNNING:
        split = not prefer if trial else prefer
        steps = TRIAL_STEPS if trial else stretch
        if not trial and prefer and prefer in cost:  # split: see soon if that stops paying
            steps = max(PROBE_STEPS, min(steps, int(MAX_STRETCH_SECONDS / cost[prefer])))
        before = int(state.steps[b])
        if split and not awake:
            start = clock()
            run_until(split, before + WAKE_STEPS)
            ran += clock() - start
            before = int(state.steps[b])
            if state.status[b] != kernels.RUNNING:
                break
        awake = split
        waved = int(state.waved[b])
        start = clock()
        run_until(split, before + steps)
        seconds = clock() - start
        ran += seconds
        probe = seconds if probe is None else probe
        done = int(state.steps[b]) - before
        if not done:  # the signal has stopped
            continue
        cost[split] = max(seconds, 1e-9) / done
        sort = (split, 2 * (int(state.waved[b]) - waved) >= done)
        latest[sort] = cost[split]
        if trial:
            trial, since, tried = False, 0, spent + ran
            rival = latest.get((prefer, sort[1]), cost[prefer])  # (of the same sort)
            if cost[split] < TRIAL_MARGIN * rival:  # clearly cheaper: switch
                prefer, stretch, every, retry = split, 4 * PROBE_STEPS, 1, RETRY_AFTER
                best[sort] = cost[split]
            else:  # the longer, the more the other way lost by
                grow = 4 if cost[split] > rival / TRIAL_MARGIN ** 3 else 2
                stretch = min(grow * stretch, MAX_STRETCH)
                every = min(2 * every, MAX_STRETCH)
                retry = min(2 * retry, RETRY_MAX)
            continue
        since += 1
        dearer = cost[split] > DEARER * best.get(sort, np.inf)
        best[sort] = min(best.get(sort, np.inf), cost[split])
        # (The kind's seconds count until both ways are measured: a trial is due; then
        # each signal's own, and the kind's since the last trial: RETRY_AFTER.)
        run = spent + ran if len(cost) < 2 else ran
        due = len(cost) == 2 and spent + ran - tried >= retry
        usual = run >= TRIAL_AFTER and (len(cost) < 2 or dearer or since >= every)
        trial = (due or usual) and (True in cost or ready(ran - probe))
        if not trial:
            stretch = min(2 * stretch, MAX_STRETCH)
        if bar is not None:
            _show_steps(bar, state, b)
    if bar is not None:
        _show_steps(bar, state, b)
    memory.update(cost, spent=spent + ran, tried=tried, retry=retry, sorts=latest,
                  every=min(max(every, 4), CARRIED_EVERY))


def _scatter(out: Recorded, part: Recorded, signals: np.ndarray) -> None:
    """Write a rerun of ``signals`` into ``out``; the logs grow to the larger capacity."""
    for name in ("u", "z", "f", "iterations", "steps", "status", "sparsity", "leaves",
                 "reruns", "waved"):
        getattr(out, name)[signals] = getattr(part, name)
    capacity = max(out.rec.log_k.shape[1], part.rec.log_k.shape[1])

    def grown_to(log: np.ndarray, width: int) -> np.ndarray:
        if log.shape[1] >= width:
            return log
        wider = np.zeros((log.shape[0], width), dtype=log.dtype)
        wider[:, :log.shape[1]] = log
        return wider

    def grown(log: np.ndarray) -> np.ndarray:
        return grown_to(log, capacity)

    fields = {}
    for name in kernels.Recording._fields:
        whole, rerun = getattr(out.rec, name), getattr(part.rec, name)
        if name in ("log_k", "log_e"):
            whole, rerun = grown(whole), grown(rerun)
        elif name in ("mark_k", "mark_d"):
            whole, rerun = grown_to(whole, rerun.shape[1]), grown_to(rerun, whole.shape[1])
        if name != "levels":
            whole[signals] = rerun
        fields[name] = whole
    out.rec = kernels.Recording(**fields)


def support(recorded: Recorded, graph: kernels.Graph, joint: bool, one) -> np.ndarray:
    """The final support in canonical edge order: ``(B, m, 1)`` joint, ``(B, m, C)``."""
    # (take: about twice as fast as indexing with the map)
    if joint:
        return (recorded.f.take(graph.slot, axis=1) > 0)[:, :, None]
    return (np.abs(recorded.z.take(graph.slot, axis=2)) > one).transpose(0, 2, 1)
