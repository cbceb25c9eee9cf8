"""A bounded, thread-safe LRU that computes each missing key once, however many threads ask at the same time.

Bounded by entry count and by total bytes (each entry weighed with its key), so memory stays bounded whatever
is asked. Why not cachetools' `LRUCache(maxsize, getsizeof=...)`: it bounds one quantity (entries or size, not
both), its `maxsize` cannot change at run time (the run cache shrinks while runs in progress hold bytes), it is
neither thread-safe nor compute-once, and a value larger than the cache raises. A wrapper doing all that would be
this class plus a dependency.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# What holding one entry costs besides its key and value: the ordered dict's slot and link, the (value, bytes)
# tuple and its int. So a cache of tiny entries (ints, short strings) is still weighed honestly.
ENTRY_OVERHEAD = 104 + sys.getsizeof((None, 0)) + sys.getsizeof(2**40)


class LruCache(Generic[K, V]):
    def __init__(
        self,
        max_entries: int,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
        weigh_key: Callable[[K], int] | None = None,
    ):
        """`max_weight`: bytes (None: entries only); an entry weighs `weigh(value) + weigh_key(key)`, plus
        ENTRY_OVERHEAD when a byte bound is set (`weigh` alone, e.g. `len` of a body, keeps the old meaning)."""
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh or (lambda _v: 1)
        self._weigh_key = weigh_key
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()
        self._inflight: dict[K, tuple[threading.Lock, list[int]]] = {}  # key -> (lock, [waiters])
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def weight(self) -> int:
        return self._weight

    def stats(self, share: int | None = None) -> dict[str, int | None]:
        """Entries, bytes held, and the byte bound (`share`: the configured one, when resize moves the bound)."""
        return {"entries": len(self._data), "bytes": self._weight, "max_bytes": share or self.max_weight}

    def _weight_of(self, key: K, value: V) -> int:
        if self._weigh_key is None:
            return self._weigh(value)
        return self._weigh(value) + self._weigh_key(key) + ENTRY_OVERHEAD

    def values(self) -> list[V]:
        """The values held now (a copy: other threads may put and evict meanwhile)."""
        with self._lock:
            return [v for v, _ in self._data.values()]

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: K, value: V) -> None:
        """Keep (or re-weigh) `value`; evict the least recently used entries past the bounds."""
        weight = self._weight_of(key, value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if self.max_weight is not None and weight > self.max_weight:
                return  # larger than the whole cache: serve it, do not keep it
            self._data[key] = (value, weight)
            self._weight += weight
            self._evict()

    def resize(self, max_weight: int) -> None:
        """A new weight bound (the memory budget less the work in progress), evicting at once to meet it."""
        with self._lock:
            self.max_weight = max(0, max_weight)
            self._evict()

    def _evict(self) -> None:
        while self._data and (
            len(self._data) > self.max_entries or (self.max_weight is not None and self._weight > self.max_weight)
        ):
            _, (_, w) = self._data.popitem(last=False)
            self._weight -= w

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value, or compute it once: concurrent callers for the same key wait for the first."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            lock, waiters = self._inflight.setdefault(key, (threading.Lock(), [0]))
            waiters[0] += 1
        try:
            with lock:
                value = self.get(key)  # computed by the thread we waited for
                if value is None:
                    with self._lock:
                        self.misses += 1
                    value = compute()
                    self.put(key, value)
                return value
        finally:
            with self._lock:
                waiters[0] -= 1
                if waiters[0] == 0:
                    del self._inflight[key]


def memory_shares(memory_bytes: int, body_bytes: int) -> dict[str, int]:
    """How one memory budget is split among the caches; the shares sum to at most `memory_bytes`.

    The body cache keeps its own setting (at most half the budget); the small memo caches and the layouts get
    fixed fractions; runs (their history and traced steps, and the runs in progress) get the rest.
    """
    shares = {
        "bodies": min(body_bytes, memory_bytes // 2),
        "ids": memory_bytes // 64,  # ~5 MiB of 320: thousands of ids at ~1 KB each
        "profiles": memory_bytes // 256,
        "labels_sizes": memory_bytes // 256,
        "failures": memory_bytes // 256,
        "layouts": memory_bytes // 16,  # a layout of a big graph with its SVG fragments: ~100 KB
    }
    shares["runs"] = max(1, memory_bytes - sum(shares.values()))
    return shares


def total_bytes(parts: Mapping[str, Mapping[str, int | None]]) -> dict[str, int]:
    """The sum of every cache's bytes and bounds (what /readyz reports as the process's cache memory)."""
    return {
        "bytes": sum(p.get("bytes") or 0 for p in parts.values()),
        "max_bytes": sum(p.get("max_bytes") or 0 for p in parts.values()),
    }
