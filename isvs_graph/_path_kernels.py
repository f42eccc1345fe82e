"""The numba kernels behind :class:`~isvs_graph.ISVSPath`: compress snapshots, read.

A path stores, per signal, its entries in the order they entered the support
(``order``, with their iterations ``order_iter``), a log of later changes (leaves and
re-entries, ``log_iter``/``log_entry``), and at each recorded iterate ("snapshot") the
value of every component of the partition there, components numbered by their
smallest node. Entry ``q`` is edge ``q`` (joint mode) or edge ``q // P``, channel
``q % P`` (channel mode, ``P`` channels); a *plane* is one partition (the signal's in
joint mode, one channel's in channel mode) and carries ``W`` values per component
(``C`` joint, 1 channel).

Every read is one union-find over the edges left outside the support at the snapshot
(smallest node as root, so the numbering is that of the stored values), continued over
the edges that entered between the read iterate and the snapshot, fused with the
component means: ``O(p + m)`` per signal, signals in parallel.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
    from ._union_find import number as _number, root as _root, union as _union
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

if numba is not None:
    _njit = numba.njit(cache=True, nogil=True)
    _pjit = numba.njit(cache=True, nogil=True, parallel=True)

    @_njit
    def _support_at(b, k, order, order_iter, order_ptr, log_iter, log_entry, log_ptr,
                    support):
        """The support (True: cut) of signal ``b`` at iteration ``k``, into ``support``."""
        support[:] = False
        lo = order_ptr[b]
        end = lo + np.searchsorted(order_iter[lo:order_ptr[b + 1]], k, side='right')
        for q in range(lo, end):
            support[order[q]] = True
        for q in range(log_ptr[b], log_ptr[b + 1]):
            if log_iter[q] > k:
                break
            support[log_entry[q]] = not support[log_entry[q]]

    @_njit
    def _unite_outside(src, dst, support, plane, planes, parent):
        for i in range(parent.shape[0]):
            parent[i] = i
        for e in range(src.shape[0]):
            if not support[e * planes + plane]:
                _union(parent, src[e], dst[e])

    @_njit
    def count_at(b, k, order, order_iter, order_ptr, log_iter, log_entry, log_ptr,
                 entries):
        """Entries of the support of signal ``b`` at iteration ``k``."""
        lo = order_ptr[b]
        end = lo + np.searchsorted(order_iter[lo:order_ptr[b + 1]], k, side='right')
        count = end - lo
        if log_ptr[b + 1] == log_ptr[b]:
            return count
        state = np.zeros(entries, dtype=np.bool_)
        for q in range(lo, end):
            state[order[q]] = True
        for g in range(log_ptr[b], log_ptr[b + 1]):
            if log_iter[g] > k:
                break
            e = log_entry[g]
            count += -1 if state[e] else 1
            state[e] = not state[e]
        return count

    @_njit
    def first_iteration(b, needed, order, order_iter, order_ptr, log_iter, log_entry,
                        log_ptr, entries):
        """The first iteration at which signal ``b``'s support has at least ``needed``
        entries; −1 if it never has."""
        lo, hi = order_ptr[b], order_ptr[b + 1]
        if needed <= 0:
            return 0
        if log_ptr[b + 1] == log_ptr[b]:
            return order_iter[lo + needed - 1] if needed <= hi - lo else -1
        # Leaves and re-entries: walk the entries and the log in iteration order; the
        # count is read after all changes of an iteration.
        state = np.zeros(entries, dtype=np.bool_)
        q, g = lo, log_ptr[b]
        count = 0
        while q < hi or g < log_ptr[b + 1]:
            k = order_iter[q] if q < hi else np.iinfo(np.int64).max
            if g < log_ptr[b + 1] and log_iter[g] < k:
                k = log_iter[g]
            while q < hi and order_iter[q] == k:
                state[order[q]] = True
                count += 1
                q += 1
            while g < log_ptr[b + 1] and log_iter[g] == k:
                e = log_entry[g]
                count += -1 if state[e] else 1
                state[e] = not state[e]
                g += 1
            if count >= needed:
                return k
        return -1

    @_njit
    def first_iterations(rows, needed, order, order_iter, order_ptr, log_iter, log_entry,
                         log_ptr, entries):
        """:func:`first_iteration` for signal ``rows[i]`` with ``needed[i]``."""
        out = np.empty(needed.shape[0], dtype=np.int64)
        for i in range(needed.shape[0]):
            out[i] = first_iteration(rows[i], needed[i], order, order_iter, order_ptr,
                                     log_iter, log_entry, log_ptr, entries)
        return out

    @_njit
    def _present(value, integer, via_float32, low, high):
        if integer:
            if via_float32:
                value = np.float64(np.float32(value))
            value = np.rint(value)
            return min(max(value, low), high)
        return value

    @_pjit
    def read(rows, ks, snaps, src, dst, p, planes, width, order, order_iter, order_ptr,
             log_iter, log_entry, log_ptr, snap_iter, comp_ptr, values, integer,
             via_float32, low, high, out):
        """``out[i]`` (``(C, p)``): signal ``rows[i]`` at iteration ``ks[i]``, from the
        components recorded at snapshot ``snaps[i]`` (the first at or after it).

        Where the support is the snapshot's the stored values are copied (exact);
        elsewhere each component of the partition at ``ks[i]`` gets the mean of the
        snapshot's values over its nodes."""
        for i in numba.prange(rows.shape[0]):
            _read_one(rows[i], ks[i], snaps[i], src, dst, p, planes, width, order,
                      order_iter, order_ptr, log_iter, log_entry, log_ptr, snap_iter,
                      comp_ptr, values, integer, via_float32, low, high, out[i])

    @_njit
    def read_serial(rows, ks, snaps, src, dst, p, planes, width, order, order_iter,
                    order_ptr, log_iter, log_entry, log_ptr, snap_iter, comp_ptr, values,
                    integer, via_float32, low, high, out):
        """:func:`read` on the calling thread: for a few signals, where waking the
        thread pool costs more than the reads."""
        for i in range(rows.shape[0]):
            _read_one(rows[i], ks[i], snaps[i], src, dst, p, planes, width, order,
                      order_iter, order_ptr, log_iter, log_entry, log_ptr, snap_iter,
                      comp_ptr, values, integer, via_float32, low, high, out[i])

    @_njit
    def _read_one(b, k, j, src, dst, p, planes, width, order, order_iter, order_ptr,
                  log_iter, log_entry, log_ptr, snap_iter, comp_ptr, values, integer,
                  via_float32, low, high, out):
        entries = src.shape[0] * planes
        # As wide as k: the snapshot iterations are stored in the narrowest integer type,
        # and _support_at and searchsorted would compile again for each.
        r = np.int64(snap_iter[j])
        cut = np.empty(entries, dtype=np.bool_)
        _support_at(b, r, order, order_iter, order_ptr, log_iter, log_entry, log_ptr, cut)
        lo = order_ptr[b]
        first = lo + np.searchsorted(order_iter[lo:order_ptr[b + 1]], k, side='right')
        last = lo + np.searchsorted(order_iter[lo:order_ptr[b + 1]], r, side='right')
        # Leaves or re-entries in (k, r]: the partitions are not nested.
        nested = True
        for g in range(log_ptr[b], log_ptr[b + 1]):
            if k < log_iter[g] <= r:
                nested = False
        same = nested and first == last
        cut_k = cut
        if not nested:
            cut_k = np.empty(entries, dtype=np.bool_)
            _support_at(b, k, order, order_iter, order_ptr, log_iter, log_entry, log_ptr,
                        cut_k)
        parent = np.empty(p, dtype=np.int32)
        ids = np.empty(p, dtype=np.int32)
        # Per component of the snapshot: its smallest node and size; per root at k: the
        # size and sums of what it joins; per component again: the value read.
        scratch = 0 if same else p
        first_node = np.empty(scratch, dtype=np.int32)
        size = np.empty(scratch)
        total = np.empty(scratch)
        sums = np.empty((scratch, width))
        read_values = np.empty((scratch, width))
        for c in range(planes):
            _unite_outside(src, dst, cut, c, planes, parent)
            count = _number(parent, ids)
            base = comp_ptr[j * planes + c] * width
            if same:
                for n in range(p):
                    at = base + ids[n] * width
                    for w in range(width):
                        out[c + w, n] = values[at + w]
                continue
            if nested:
                # k's components are unions of the snapshot's: join what entered after k
                # (the same pass, continued) and average component by component.
                for g in range(count):
                    size[g] = 0.0
                for n in range(p):
                    g = ids[n]
                    if size[g] == 0.0:
                        first_node[g] = n
                    size[g] += 1.0
                for q in range(first, last):
                    if order[q] % planes == c:
                        e = order[q] // planes
                        _union(parent, src[e], dst[e])
                for g in range(count):
                    root = _root(parent, first_node[g])
                    total[root] = 0.0
                    for w in range(width):
                        sums[root, w] = 0.0
                for g in range(count):
                    root = _root(parent, first_node[g])
                    total[root] += size[g]
                    at = base + g * width
                    for w in range(width):
                        sums[root, w] += size[g] * values[at + w]
                for g in range(count):
                    root = _root(parent, first_node[g])
                    for w in range(width):
                        read_values[g, w] = _present(sums[root, w] / total[root], integer,
                                                     via_float32, low, high)
                for n in range(p):
                    g = ids[n]
                    for w in range(width):
                        out[c + w, n] = read_values[g, w]
                continue
            # Not nested: the snapshot's values stay with the nodes, k's partition.
            node_values = np.empty((p, width))
            for n in range(p):
                at = base + ids[n] * width
                for w in range(width):
                    node_values[n, w] = values[at + w]
            _unite_outside(src, dst, cut_k, c, planes, parent)
            size[:] = 0.0
            sums[:] = 0.0
            for n in range(p):
                root = _root(parent, n)
                size[root] += 1.0
                for w in range(width):
                    sums[root, w] += node_values[n, w]
            for n in range(p):
                root = _root(parent, n)
                for w in range(width):
                    out[c + w, n] = _present(sums[root, w] / size[root], integer,
                                             via_float32, low, high)

    @_pjit
    def labels(rows, ks, src, dst, p, planes, order, order_iter, order_ptr, log_iter,
               log_entry, log_ptr, out):
        """``out[i, c]``: component ids of signal ``rows[i]``'s plane ``c`` at ``ks[i]``."""
        for i in numba.prange(rows.shape[0]):
            _labels_one(rows[i], ks[i], src, dst, p, planes, order, order_iter, order_ptr,
                        log_iter, log_entry, log_ptr, out[i])

    @_njit
    def labels_serial(rows, ks, src, dst, p, planes, order, order_iter, order_ptr,
                      log_iter, log_entry, log_ptr, out):
        for i in range(rows.shape[0]):
            _labels_one(rows[i], ks[i], src, dst, p, planes, order, order_iter, order_ptr,
                        log_iter, log_entry, log_ptr, out[i])

    @_njit
    def _labels_one(b, k, src, dst, p, planes, order, order_iter, order_ptr, log_iter,
                    log_entry, log_ptr, out):
        cut = np.empty(src.shape[0] * planes, dtype=np.bool_)
        _support_at(b, k, order, order_iter, order_ptr, log_iter, log_entry, log_ptr, cut)
        parent = np.empty(p, dtype=np.int64)
        for c in range(planes):
            _unite_outside(src, dst, cut, c, planes, parent)
            _number(parent, out[c])

    @_pjit
    def supports(rows, ks, order, order_iter, order_ptr, log_iter, log_entry, log_ptr, out):
        """``out[i]``: the support of signal ``rows[i]`` at ``ks[i]``, entry by entry."""
        for i in numba.prange(rows.shape[0]):
            _support_at(rows[i], ks[i], order, order_iter, order_ptr, log_iter, log_entry,
                        log_ptr, out[i])

    @_njit
    def supports_serial(rows, ks, order, order_iter, order_ptr, log_iter, log_entry,
                        log_ptr, out):
        for i in range(rows.shape[0]):
            _support_at(rows[i], ks[i], order, order_iter, order_ptr, log_iter, log_entry,
                        log_ptr, out[i])

    @_pjit
    def compress(src, dst, support, presented, raw, projected, width, counts, values,
                 spread):
        """Per snapshot ``s``: the components of each plane's partition (``support[s]``,
        ``(entries,)``), their count, the presented value of each at its smallest node,
        and ``max |raw − projected|`` (how far the projected signal is from the one
        projected)."""
        for s in numba.prange(counts.shape[0]):
            spread[s] = _compress_one(src, dst, support[s], presented[s], raw[s],
                                      projected[s], width, counts[s], values[s])

    @_njit
    def compress_serial(src, dst, support, presented, raw, projected, width, counts, values,
                        spread):
        for s in range(counts.shape[0]):
            spread[s] = _compress_one(src, dst, support[s], presented[s], raw[s],
                                      projected[s], width, counts[s], values[s])

    @_njit
    def _compress_one(src, dst, support, presented, raw, projected, width, counts, values):
        planes = counts.shape[0]
        p = presented.shape[1]
        parent = np.empty(p, dtype=np.int64)
        ids = np.empty(p, dtype=np.int64)
        for c in range(planes):
            _unite_outside(src, dst, support, c, planes, parent)
            counts[c] = _number(parent, ids)
            for n in range(p):
                if _root(parent, n) == n:
                    for w in range(width):
                        values[c, ids[n] * width + w] = presented[c + w, n]
        largest = 0.0
        for c in range(raw.shape[0]):
            for n in range(p):
                largest = max(largest, abs(np.float64(raw[c, n]) -
                                           np.float64(projected[c, n])))
        return largest
