"""Values kept by key, the most recently used first, within a budget of bytes.

What a grid's shape determines (its canonical edges, the kernels' stencil maps) costs a
large part of a call on a mid-size image to build again — a fifth of a 512² photo's
smoothing — and nothing to keep while memory allows: :class:`Kept` holds such values up
to a budget of bytes (counted from their arrays), dropping the least recently used.
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Any, Callable, Hashable

import numpy as np

__all__ = ["Kept", "array_bytes", "clear_caches"]

#: Every :class:`Kept` made, for :func:`clear_caches` (weakly: one replaced is dropped).
_ALL: weakref.WeakSet = weakref.WeakSet()


def clear_caches() -> int:
    """Free what isvs_graph keeps between calls.

    The canonical grids and the kernels' stencil layouts of the most recent image sizes
    are kept so that the next image of a size is smoothed without building them again
    (up to 64 MB of each: after a 1024² photo a process keeps about 75 MB; and the
    edges of the last 8 small grids), and what was measured about splitting one
    signal's steps across threads. The next call builds what it needs again.

    Returns
    -------
    int
        The bytes of arrays freed.

    Examples
    --------
    >>> import numpy as np, isvs_graph
    >>> _ = isvs_graph.smooth_image(np.random.default_rng(0).random((256, 256)), t=1.0)
    >>> isvs_graph.clear_caches() > 0
    True
    >>> isvs_graph.clear_caches()
    0
    """
    freed = 0
    for kept in list(_ALL):
        freed += kept.bytes
        kept.clear()
    return freed


def array_bytes(value: Any) -> int:
    """The bytes of the numpy arrays among ``value``'s fields (a tuple or named tuple;
    none in a dict), views counted whole: what keeping ``value`` holds in memory, near
    enough."""
    return sum(field.nbytes for field in value if isinstance(field, np.ndarray))


class Kept:
    """At most ``entries`` values, of ``budget`` bytes in all (:func:`array_bytes`), the
    most recently used. A value larger than the budget is built and handed back, never
    kept. Safe to call from several threads (two may build one value at once; the
    first kept is shared)."""

    def __init__(self, budget: int, entries: int) -> None:
        self.budget, self.entries = budget, entries
        self._values: collections.OrderedDict = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        _ALL.add(self)

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value kept for ``key``, else ``build()`` (kept if it fits)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key][0]
        value = build()
        size = array_bytes(value)
        if size > self.budget or self.entries < 1:
            return value
        with self._lock:
            if key in self._values:  # another thread kept one meanwhile
                return self._values[key][0]
            self._values[key] = (value, size)
            self._bytes += size
            while self._bytes > self.budget or len(self._values) > self.entries:
                _, (_, dropped) = self._values.popitem(last=False)
                self._bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        """The keys, the least recently used first."""
        with self._lock:
            return iter(list(self._values))

    @property
    def bytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0
