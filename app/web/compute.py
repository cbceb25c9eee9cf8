"""Where computations run: admitted to a lane, charged to the memory budget, stopped when nobody waits.

A run's history is a Job (shared by every request for that run, with progress), computed in a worker process
when it is big (workers.py: training there cannot starve the event loop of the GIL); a body (a step, a batch, an
image) is computed in the lane its cost calls for. Either way the caller waits only while its client is
connected: it keeps the work's Token alive for a moment at a time, and when it stops doing so the training loop
raises `Cancelled` at its next step.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from backprop_lens import heap
from backprop_lens.problems import Problem, as_problem
from backprop_lens.scenarios import Run
from backprop_lens.web.admission import Full, Lane, LaneLimits, Unavailable
from backprop_lens.web.jobs import Cancelled, Job, Token
from backprop_lens.web.settings import Settings
from backprop_lens.web.workers import WorkerPool
from fastapi import Request

log = logging.getLogger("backprop_lens.web")
T = TypeVar("T")

POLL_S = 0.1  # how often a waiting request looks whether its client is still there
GRACE_S = 0.5  # how long work goes on after its last waiter stopped looking
TRIM_AFTER_S = 2.0  # the lanes this long empty: the heap's freed memory goes back to the OS


def client_of(request: Request) -> str:
    """The client's address; behind a trusted proxy on this machine (nginx), the one it forwards in X-Real-IP."""
    peer = request.client.host if request.client else "unknown"
    if peer in request.app.state.settings.trusted_proxies:
        return request.headers.get("x-real-ip", peer)
    return peer


def answer_left(request: Request, answer_s: float) -> float:
    """Seconds this request may still wait before it answers (202 or 503 "still computing"): one budget for the
    whole request, so a run that had to be computed again and then its body cannot add up to twice `answer_s`."""
    until = getattr(request.state, "answer_by", None)
    if until is None:
        until = request.state.answer_by = time.monotonic() + answer_s
    return max(0.0, until - time.monotonic())


class Compute:
    def __init__(self, settings: Settings, budget: int, on_reserved: Callable[[int], None]) -> None:
        """`budget`: bytes for runs (cached and in progress); `on_reserved(bytes)` when work in progress changes."""
        self.settings, self.budget, self.on_reserved = settings, budget, on_reserved
        s, retry = settings, settings.retry_after_s
        # The light lane is where a page's first steps go: a client may take up to half of it.
        light_share = max(s.max_per_client, (s.light_running + s.light_queued) // 2)
        wait = s.queue_wait_s
        self.light = Lane("light", LaneLimits(s.light_running, s.light_queued, light_share), retry, wait)
        self.heavy = Lane("heavy", LaneLimits(s.heavy_running, s.heavy_queued, s.max_per_client), retry, wait)
        self.png = Lane("png", LaneLimits(s.png_running, s.png_queued, s.max_per_client), retry, wait)
        # bodies being computed, by cache key: a retry (after a 503 "still computing") waits for the same work
        self._bodies: dict[Hashable, tuple[asyncio.Future[Any], Token]] = {}
        self.jobs: dict[str, Job] = {}
        self.reserved = 0  # bytes of the runs in progress
        self._tasks: set[asyncio.Task[None]] = set()
        self.cancelled = 0
        self.started = 0
        self._trim_due = False
        self.on_failed: Callable[[Job], None] = lambda job: None
        self.workers = WorkerPool(s.worker_processes, s.worker_niceness, retry, s.worker_idle_s)
        weakref.finalize(self, self.workers.close)  # an app dropped without its lifespan's end (tests) too
        if s.warm_up:
            self.workers.start()  # warm (torch imported) before the first big run; else at the first one

    def lane_for(self, cost: int) -> Lane:
        return self.light if cost <= self.settings.light_cost else self.heavy

    @property
    def full(self) -> bool:
        return self.heavy.full and self.light.full

    # -- runs ------------------------------------------------------------------------------------------------

    def start(self, run_id: str, make: Callable[[Token], Any], steps: int, cost: int, nbytes: int, client: str) -> Job:
        """Admit a run's history: a place in its lane and its bytes in the budget, or Full at once.

        `make(token)` runs in the lane's thread and computes the run, calling `token.check` after every step.
        """
        if self.reserved + nbytes > self.budget:
            raise Full(Problem("error.busy.memory"), self.settings.retry_after_s)
        lane = self.lane_for(cost)
        lane.enter(client)
        job = Job(run_id, steps, lane, client, Token(self.settings.deadline_s, GRACE_S), nbytes)
        job.background = cost > self.settings.async_cost
        self._reserve(nbytes)
        self.jobs[run_id] = job
        self.started += 1
        task = asyncio.get_running_loop().create_task(self._execute(job, make))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def _reserve(self, nbytes: int) -> None:
        self.reserved += nbytes
        self.on_reserved(self.reserved)

    async def _execute(self, job: Job, make: Callable[[Token], Any]) -> None:
        try:
            job.result = await job.lane.call(lambda: self._history(job, make))
            job.state = "done"
        except Cancelled as e:
            self.cancelled += 1
            job.state, job.error = "failed", Problem("error.cancelled", {"reason": e.problem})
        except Exception as e:  # kept on the job: its waiters re-raise it
            problem = getattr(e, "problem", None)  # our refusals carry theirs; anything else, its own words
            job.state, job.exception = "failed", e
            job.error = as_problem(problem if isinstance(problem, Problem) else str(e))
        finally:
            self._end(job)
        self._trim_when_idle()

    def _trim_when_idle(self) -> None:
        """A moment after the lanes empty, give the freed heap back: a burst of work leaves RSS at its high-water
        mark (glibc keeps what it freed). One trim scheduled at a time; if work came back by then, its own end
        schedules the next."""
        if self._trim_due or self._busy():
            return
        self._trim_due = True

        def due() -> None:
            self._trim_due = False
            if not self._busy():
                task = asyncio.ensure_future(asyncio.to_thread(heap.trim))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        asyncio.get_running_loop().call_later(TRIM_AFTER_S, due)

    def _busy(self) -> bool:
        return any(lane.inside for lane in (self.light, self.heavy, self.png))

    def _end(self, job: Job) -> None:
        job.lane.leave(job.client)
        self._reserve(-job.reserved)
        if id(self.jobs.get(job.run_id)) == id(job):  # not a newer job for the same run
            del self.jobs[job.run_id]
        job.done.set()
        if job.state == "failed":
            self.on_failed(job)

    def offloads(self, cost: int) -> bool:
        """Work of this cost goes to a worker process (cheaper work is faster here than a round trip)."""
        return self.workers.size > 0 and cost > self.settings.worker_cost

    def history(self, run: Run, cost: int, token: Token) -> None:
        """Compute `run`'s history, stoppable after every step: in a worker process when it costs more than
        `worker_cost` (the history comes back as plain data), else in this (lane) thread."""
        if self.offloads(cost):
            run.history = self.workers.run("history", (run.scenario.id, run.params), token)
            return
        run.on_step = token.check
        try:
            run.compute_history()
        finally:
            run.on_step = None

    def traced(self, run: Run, start: int, stop: int, token: Token) -> list[dict[str, Any]]:
        """Steps start..stop-1 traced in a worker process, as `step_to_dict` gives them (a replay of a scenario
        that cannot resume runs the loop from step 0: seconds of GIL in a thread here)."""
        resume = run._resume_point(start)  # Run's own rule of where a replay may start (its history's records)
        args = (run.scenario.id, run.params, start, stop, resume)
        steps: list[dict[str, Any]] = self.workers.run("traced", args, token)
        return steps

    @staticmethod
    def _history(job: Job, make: Callable[[Token], Any]) -> Any:
        job.token.check(0)  # abandoned while queued: never start
        job.state = "running"
        return make(job.token)

    async def wait(self, job: Job, request: Request) -> bool:
        """Wait for the job while the client is connected; True when it ended, False when the client left or
        `answer_s` passed: then the job goes on as a 202 run (kept alive by its status polls), and the caller
        answers 202 with its status rather than hold the client past its timeout."""
        left = answer_left(request, self.settings.answer_s)
        ended = await self._watch(job.done.wait(), job.token, request, left)
        if not ended and not await request.is_disconnected():
            job.background = True
            job.token.touch(self.settings.abandon_s)
        return ended

    async def _watch(self, aw: Awaitable[Any], token: Token, request: Request, timeout: float | None = None) -> bool:
        """True when `aw` ended, False when the client left first or `timeout` passed (then `aw` is cancelled if
        we made its task)."""
        task = asyncio.ensure_future(aw)
        token.waiters += 1
        until = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=POLL_S)
                if done:
                    return True
                if await request.is_disconnected() or (until is not None and time.monotonic() > until):
                    return False
        finally:
            token.waiters -= 1
            token.touch(GRACE_S)
            if task is not aw and not task.done():
                task.cancel()

    # -- bodies ----------------------------------------------------------------------------------------------

    async def body(self, lane: Lane, request: Request, fn: Callable[[Token], T], key: Hashable = None) -> T:
        """Compute `fn(token)` in `lane` while the client waits; cancelled (at the next step) once nobody does.

        A body still computing after `answer_s` answers 503 with Retry-After (not the client's timeout) and goes
        on for `abandon_s`: a retry of the same `key` waits for that work instead of starting it again.
        """
        work, token = self._bodies.get(key) or self._begin(lane, client_of(request), fn, key)
        if not await self._watch(work, token, request, answer_left(request, self.settings.answer_s)):
            if await request.is_disconnected():
                raise Unavailable(Problem("error.job.client_gone"), self.settings.retry_after_s)  # nobody reads it
            token.touch(self.settings.abandon_s)
            raise Unavailable(Problem("error.busy.computing"), self.settings.retry_after_s)
        try:
            return await work
        except Cancelled as e:
            raise Unavailable(Problem("error.cancelled", {"reason": e.problem}), self.settings.retry_after_s) from None

    def _begin(
        self, lane: Lane, client: str, fn: Callable[[Token], Any], key: Hashable
    ) -> tuple[asyncio.Future[Any], Token]:
        """Admit a body's work to its lane (or Full at once); its place is freed when the work ends."""
        lane.enter(client)
        token = Token(self.settings.deadline_s, GRACE_S)
        work = asyncio.ensure_future(lane.call(lambda: fn(token), self.settings.queue_wait_s))
        pending = (work, token)
        if key is not None:
            self._bodies[key] = pending

        def ended(_: asyncio.Future[Any]) -> None:
            lane.leave(client)
            if key is not None and self._bodies.get(key) is pending:
                del self._bodies[key]
            if not work.cancelled() and isinstance(work.exception(), Cancelled):
                self.cancelled += 1
            self._trim_when_idle()

        work.add_done_callback(ended)
        return pending

    def stats(self) -> dict[str, Any]:
        return {
            "lanes": {lane.name: lane.stats() for lane in (self.light, self.heavy, self.png)},
            "jobs": len(self.jobs),
            "reserved_bytes": self.reserved,
            "started": self.started,
            "cancelled": self.cancelled,
            "workers": self.workers.stats(),
        }

    def close(self) -> None:
        self.workers.close()
