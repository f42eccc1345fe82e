"""Union-find for the numba kernels: every root is its set's smallest node, so numbering
components by their smallest node needs no sort. Shared by the solver's floor test, the
projection and the path reads."""

from __future__ import annotations

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

if numba is not None:
    _njit = numba.njit(cache=True, nogil=True)

    @_njit
    def root(parent, i):
        """The root of ``i``, halving the path on the way."""
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    @_njit
    def union(parent, a, b):
        """Join the sets of ``a`` and ``b``; the smaller root stays the root."""
        a, b = root(parent, a), root(parent, b)
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b

    @_njit
    def number(parent, ids):
        """Component ids ``0 … c − 1`` into ``ids``, in the order of each component's
        smallest node; returns ``c``."""
        count = 0
        for i in range(parent.shape[0]):
            r = root(parent, i)
            if r == i:
                ids[i] = count
                count += 1
            else:
                ids[i] = ids[r]  # r < i: numbered already
        return count
