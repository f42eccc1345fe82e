"""Whether the numba kernels may start threads here.

Not in a DataLoader worker (the loader already runs one process per core; threads on
top would oversubscribe them), and not in a process forked from the one that imported
the package: numba's default threading layer on Linux is GNU OpenMP, which cannot be
used again in a forked child once the parent has started it ("fork() called from a
process already using GNU OpenMP"). There the kernels' serial twins run instead, with
the same results.
"""

from __future__ import annotations

import os
import sys

_PID = os.getpid()


def parallel_allowed() -> bool:
    """True in the process that imported isvs_graph, outside DataLoader workers."""
    if os.getpid() != _PID:
        return False
    data = sys.modules.get("torch.utils.data")
    return data is None or data.get_worker_info() is None
