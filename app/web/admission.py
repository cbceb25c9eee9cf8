"""Admission control: lanes of bounded computations in progress and a bounded queue; past them a 503 at once.

A lane is an anyio CapacityLimiter (how many threads compute at once) plus a count of who is inside (computing
or waiting), bounded in total and per client address. Cheap work (small runs, one step's JSON) takes the light
lane, big runs the heavy one, PNGs their own: a flood of heavy requests fills only its lane, so cached bodies
(never admitted: served on the event loop), health and small runs keep answering.

Hand-written on anyio's limiter: the maintained libraries we found (`limits`, `aiolimiter`, `pyrate-limiter`,
slowapi) bound request *rates*, not work in progress, and none refuses at once when a queue is full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from backprop_lens.problems import Problem, as_problem

T = TypeVar("T")


class Full(Exception):
    """The server is full: answered as 503 with Retry-After, worded from `problem` in the request's language."""

    def __init__(self, message: str | Problem, retry_after: int) -> None:
        self.problem = as_problem(message)
        super().__init__(str(self.problem))
        self.retry_after = retry_after


class Unavailable(Exception):
    """Work we accepted and then stopped (its deadline passed): 503 with Retry-After too."""

    def __init__(self, message: str | Problem, retry_after: int) -> None:
        self.problem = as_problem(message)
        super().__init__(str(self.problem))
        self.retry_after = retry_after


# A lane's name as the user reads it (a lane of another name is shown as it is).
_LANE_KEYS = {"light": "error.lane.light", "heavy": "error.lane.heavy", "png": "error.lane.png"}


def lane_word(name: str) -> str | Problem:
    key = _LANE_KEYS.get(name)
    return Problem(key) if key else name


@dataclass(frozen=True, slots=True)
class LaneLimits:
    running: int  # threads computing at once
    queued: int  # requests waiting for one of them
    per_client: int  # one client address's share of running + queued


class Lane:
    """Bounded work of one kind. Only touched from the event loop (no lock needed for the counters)."""

    def __init__(self, name: str, limits: LaneLimits, retry_after: int, max_wait: float | None = None) -> None:
        """`max_wait`: how long `run` waits for a slot (None: as long as it takes)."""
        self.name, self.limits, self.retry_after, self.max_wait = name, limits, retry_after, max_wait
        self._limiter = CapacityLimiter(limits.running)
        self._inside: Counter[str] = Counter()  # client -> requests computing or waiting
        self.inside = 0
        self.refused = 0

    @property
    def capacity(self) -> int:
        return self.limits.running + self.limits.queued

    @property
    def full(self) -> bool:
        return self.inside >= self.capacity

    def enter(self, client: str) -> None:
        """Take a place (computing or queued), or raise Full at once."""
        if self.full:
            self.refused += 1
            busy = Problem("error.busy.lane", {"lane": lane_word(self.name), "inside": self.inside})
            raise Full(busy, self.retry_after)
        if self._inside[client] >= self.limits.per_client:
            self.refused += 1
            args = {"lane": lane_word(self.name), "count": self._inside[client]}
            raise Full(Problem("error.busy.client", args), self.retry_after)
        self._inside[client] += 1
        self.inside += 1

    def leave(self, client: str) -> None:
        self.inside -= 1
        self._inside[client] -= 1
        if self._inside[client] <= 0:
            del self._inside[client]

    async def call(self, fn: Callable[[], T], max_wait: float | None = None) -> T:
        """Run `fn` in a worker thread once one of the lane's slots is free (the caller has entered).

        `max_wait`: a request that waited this long for a slot gets a 503 rather than its client's timeout.
        """
        with anyio.move_on_after(max_wait) as waited:
            await self._limiter.acquire()
        if waited.cancelled_caught:
            self.refused += 1
            args = {"lane": lane_word(self.name), "seconds": max_wait}
            raise Full(Problem("error.busy.waited", args), self.retry_after)
        try:
            return await anyio.to_thread.run_sync(fn)
        finally:
            self._limiter.release()

    async def run(self, client: str, fn: Callable[[], T]) -> T:
        self.enter(client)
        try:  # a bounded wait: a client's timeout is not our 503 (a profile's measurement waited behind batches)
            return await self.call(fn, self.max_wait)
        finally:
            self.leave(client)

    def stats(self) -> dict[str, int]:
        return {
            "inside": self.inside,
            "capacity": self.capacity,
            "running": int(self._limiter.borrowed_tokens),
            "refused": self.refused,
        }
