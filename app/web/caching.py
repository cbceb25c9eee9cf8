"""A bounded, thread-safe LRU that computes each missing key once, however many threads ask at the same time.

Bounded by entry count and by total weight (bytes of a body, steps of a run), so memory stays bounded whatever
is asked. No library in our dependencies does both plus compute-once; this is small enough to own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, max_entries: int, max_weight: int | None = None, weigh: Callable[[V], int] | None = None):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh or (lambda _v: 1)
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
        weight = self._weigh(value)
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
