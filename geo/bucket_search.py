"""The road router's compiled searches (numba): a bucket queue over compressed sparse rows.

Called by :meth:`geo.road_router.RoadRouter.search` and
:meth:`~geo.road_router.RoadRouter.cell_times`, which check every argument
first: these kernels trust their inputs.

Search: the graph's edges (fastest of parallel edges) are held as compressed
sparse rows and searched by a bucket queue (sequential delta-stepping): nodes
are kept in buckets of ``delta`` seconds and a bucket is emptied before the
next, relaxing edges as Dijkstra does; a node improved again within its bucket
is simply processed again, so the times are exact for any ``delta`` (it sets
only the speed). A bucket is a constant-time queue where Dijkstra's heap costs
a logarithm, which is what makes it several times faster than a heap on road
graphs (``bench/territories.py``). Times are in seconds.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["bucket_search", "cell_minima"]


def _compiled(fn):  # noqa: ANN001, ANN202
    """``numba.njit`` cached on disk, or per process where no cache directory is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba found no writable __pycache__ or user cache directory
        return numba.njit(nogil=True)(fn)


@_compiled
def bucket_search(indptr, indices, weights, start, offset, cutoff, delta, max_w, targets):  # noqa: ANN001, ANN201
    """Multi-source shortest times by a bucket queue (see the module docstring).

    ``start[i]`` begins at ``offset[i]`` seconds. Returns ``(dist, source)``:
    ``inf`` / -1 beyond ``cutoff`` or unreached, else the time and the index
    into ``start`` of the source it came from (on a tie, the first to reach
    it). With ``targets``, stops as soon as every target's time is final.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    source = np.full(n, -1, np.int32)  # int32 node arrays: half the cache traffic of int64
    for i in range(start.size):
        s = start[i]
        if offset[i] <= cutoff and offset[i] < dist[s]:
            dist[s] = offset[i]
            source[s] = i
    lo, hi = np.inf, 0.0
    for i in range(start.size):
        if source[start[i]] == i:
            lo = min(lo, offset[i])
            hi = max(hi, offset[i])
    if lo == np.inf:
        return dist, source
    nb = int((hi - lo + max_w) / delta) + 2  # pending labels never span more buckets
    head = np.full(nb, -1, np.int32)
    nxt = np.empty(n, np.int32)
    prv = np.empty(n, np.int32)
    where = np.full(n, -1, np.int32)
    count = 0
    for i in range(start.size):
        s = start[i]
        if source[s] == i:
            k = int(dist[s] / delta) % nb
            nxt[s], prv[s], where[s] = head[k], -1, k
            if head[k] != -1:
                prv[head[k]] = s
            head[k] = s
            count += 1
    cur = int(lo / delta)
    track = start.size > 1  # one start: every reached node's source is 0 (set at the end)
    while count > 0:
        b = cur % nb
        while head[b] != -1:
            u = head[b]
            head[b] = nxt[u]
            if nxt[u] != -1:
                prv[nxt[u]] = -1
            where[u] = -1
            count -= 1
            du = dist[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = du + weights[e]
                if nd < dist[v] and nd <= cutoff:
                    dist[v] = nd
                    if track:
                        source[v] = source[u]
                    k = int(nd / delta) % nb
                    w = where[v]
                    if w == k:
                        continue
                    if w != -1:  # move v from its bucket to the earlier one
                        p, q = prv[v], nxt[v]
                        if p != -1:
                            nxt[p] = q
                        else:
                            head[w] = q
                        if q != -1:
                            prv[q] = p
                    else:
                        count += 1
                    nxt[v], prv[v], where[v] = head[k], -1, k
                    if head[k] != -1:
                        prv[head[k]] = v
                    head[k] = v
        cur += 1
        if targets.size:
            bound = cur * delta  # every time below this is final
            done = True
            for t in targets:
                if not dist[t] < bound:
                    done = False
                    break
            if done:
                break
    if not track:
        for v in range(n):
            if dist[v] < np.inf:
                source[v] = 0
    return dist, source


@_compiled
def cell_minima(seconds, code, ncells):  # noqa: ANN001, ANN201
    """Minimum of ``seconds`` per ``code`` (``inf`` where none)."""
    best = np.full(ncells, np.inf)
    for i in range(seconds.size):
        if seconds[i] < best[code[i]]:
            best[code[i]] = seconds[i]
    return best
