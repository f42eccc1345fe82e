"""Whether the numba kernels may start threads here.

Not in a DataLoader worker (the loader already runs one process per core; threads on
top would oversubscribe them), and not in a process forked from the one that imported
the package: numba's default threading layer on Linux is GNU OpenMP, which cannot be
used again in a forked child once the parent has started it ("fork() called from a
process already using GNU OpenMP"). There the kernels' serial twins run instead, with
the same results.

Where they may, numba's thread pool is started with OpenMP's passive wait policy (unless
the user chose one): by default OpenMP threads spin between parallel loops, and a step
of one large image is two short parallel loops, so on a machine whose cores are busy
(a training run, a CI job) the spinning threads starve the ones with work — a 512² photo
took 1.25 s against 0.28 s on one thread, and 0.20 s with passive threads. The policy is
set only while the pool starts: torch's own OpenMP, loaded later, keeps its default.

Where torch was imported before the pool starts (a training script), the policy has no
effect: torch loads its own GNU OpenMP into the global namespace, numba's pool binds to
it (checked with ``LD_DEBUG=bindings``), and numba's parallel loops run with torch's
default (threads spin for a while after each loop before they sleep). A busy machine
is then guarded by the measured split alone (``numba_backend._run_measured``).
"""

from __future__ import annotations

import os
import sys

_PID = os.getpid()


_STARTED = False


def parallel_allowed() -> bool:
    """True in the process that imported isvs_graph, outside DataLoader workers; then the
    thread pool is started (once, see :func:`start_threads`)."""
    if os.getpid() != _PID:
        return False
    data = sys.modules.get("torch.utils.data")
    if data is not None and data.get_worker_info() is not None:
        return False
    if not _STARTED:
        start_threads()
    return True


def start_threads() -> None:
    """Start numba's thread pool with OpenMP threads that sleep, not spin, while they
    wait (``OMP_WAIT_POLICY=PASSIVE`` for the pool's start only, unless set)."""
    global _STARTED
    _STARTED = True
    try:
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    if "OMP_WAIT_POLICY" in os.environ:
        parallel._launch_threads()
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        parallel._launch_threads()
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)
