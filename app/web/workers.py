"""A small pool of worker processes for the heavy computations (a run's history), so the server keeps the GIL.

Training in the server's threads held the GIL between torch calls: the event loop got it a third of the time and
cached reads waited. Here each worker is a spawned process (`backprop_lens.scenarios.worker.main`), started once
and warm (torch imported, one step traced), `os.nice`d so the server wins the CPU. One task at a time per worker:
  - the task goes down the worker's pipe as plain data (scenario id, validated parameters);
  - cancellation: the caller's Token decides, as in process; when it says stop, this side sets the worker's flag in
    shared memory and the loop raises at its next step (the same cancel-within-a-step as in process);
  - progress: the loop writes its steps done to a shared counter, copied to the Token while we wait;
  - the result comes back pickled (a Recorder: numbers and strings); an error as the exception itself;
  - a worker that dies fails its task with `WorkerDied` (a clear 503) and is replaced;
  - a worker idle for `idle_s` exits (each holds ~300 MB: torch) and is started again by the next task, so a server
    whose abuse ended returns to its own size.
The calling side blocks a lane's thread (the lanes still bound how much runs at once) but holds no GIL meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from backprop_lens.problems import Problem
from backprop_lens.scenarios import worker
from backprop_lens.web.admission import Unavailable
from backprop_lens.web.jobs import Token

log = logging.getLogger("backprop_lens.web")

POLL_S = 0.05  # how often a waiting caller copies progress and asks its token whether to stop
READY_S = 180.0  # a worker that has not warmed up by then (torch import on a loaded machine) is given up


class WorkerDied(Unavailable):
    """The process computing a task stopped (killed, out of memory): its task answers 503, the pool replaces it."""

    def __init__(self, code: int | None, retry_after: int) -> None:
        super().__init__(Problem("error.worker.died", {"code": "?" if code is None else code}), retry_after)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    slot: int  # its place in the shared arrays
    idle_since: float = 0.0


class WorkerPool:
    """`size` processes (0: none; every task then runs in the caller's thread, see Compute); each one started when
    a task needs it (or at `start`) and retired after `idle_s` without a task (None: kept)."""

    def __init__(self, size: int, niceness: int, retry_after: int, idle_s: float | None = None) -> None:
        self.size, self.niceness, self.retry_after, self.idle_s = size, niceness, retry_after, idle_s
        self._ctx = multiprocessing.get_context("spawn")  # fork would copy the server's threads and locks
        self._cancel = self._ctx.RawArray("b", max(1, size))
        self._progress = self._ctx.RawArray("q", max(1, size))
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: dict[int, _Worker] = {}  # slot -> its live worker (started and warm)
        self._starting: set[int] = set()  # slots whose worker is warming up
        self._lock = threading.Lock()
        self._closed = False
        self._reaping = False
        self.tasks = self.died = self.retired = 0

    def start(self) -> None:
        """Start a worker in every empty slot, in the background: they warm up while the server answers."""
        with self._lock:
            if self._closed:
                return
            empty = [s for s in range(self.size) if s not in self._workers and s not in self._starting]
            self._starting.update(empty)
            reap = self.idle_s is not None and self.size > 0 and not self._reaping
            if reap:
                self._reaping = True
        for slot in empty:
            threading.Thread(target=self._bring_up, args=(slot,), name=f"worker-{slot}-start", daemon=True).start()
        if reap:
            threading.Thread(target=self._reap, name="worker-reaper", daemon=True).start()

    def _bring_up(self, slot: int) -> None:
        parent, child = self._ctx.Pipe()
        args = (child, self._cancel, self._progress, slot, self.niceness)
        process = self._ctx.Process(target=worker.main, args=args, name=f"backprop-lens-worker-{slot}", daemon=True)
        try:
            process.start()
            child.close()
            try:
                ready = parent.poll(READY_S) and parent.recv()[0] == "ready"
            except (EOFError, OSError):
                ready = False
            if not ready or self._closed:
                log.error("worker %d did not start (exit code %s)", slot, process.exitcode)
                process.kill()
                return
            w = _Worker(process, parent, slot)
            with self._lock:
                self._workers[slot] = w
            self._release(w)
        finally:
            with self._lock:
                self._starting.discard(slot)

    def _release(self, w: _Worker) -> None:
        w.idle_since = time.monotonic()
        self._idle.put(w)

    def _reap(self) -> None:
        """Retire the workers idle for `idle_s` (a task then starts one again: its warm-up, ~3 s, is the price)."""
        assert self.idle_s is not None
        while not self._closed:
            time.sleep(min(5.0, max(0.05, self.idle_s / 4)))
            kept: list[_Worker] = []
            while True:
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    break
                if time.monotonic() - w.idle_since >= self.idle_s or not w.process.is_alive():
                    self._retire(w)
                else:
                    kept.append(w)
            for w in kept:
                self._idle.put(w)

    def _retire(self, w: _Worker) -> None:
        self._forget(w)
        self.retired += 1
        _stop(w)

    def _forget(self, w: _Worker) -> None:
        with self._lock:
            if self._workers.get(w.slot) is w:
                del self._workers[w.slot]

    def pids(self) -> list[int]:
        """The live workers' process ids (tests kill one; /api/stats counts them)."""
        with self._lock:
            return [w.process.pid for w in self._workers.values() if w.process.pid is not None]

    def run(self, kind: str, args: tuple[Any, ...], token: Token) -> Any:
        """Blocking (a lane's thread): `worker.TASKS[kind](*args)` in a worker, stopped when `token` says so."""
        self.start()
        w = self._take(token)
        self._cancel[w.slot], self._progress[w.slot] = 0, 0
        self.tasks += 1
        try:
            w.conn.send((kind, args))
            while not w.conn.poll(POLL_S):
                token.steps_done = self._progress[w.slot]
                if token.why_stop() is not None:
                    self._cancel[w.slot] = 1  # the loop raises at its next step and answers "stopped"
            status, value = w.conn.recv()
        except (EOFError, OSError):
            raise self._lost(w) from None
        token.steps_done = self._progress[w.slot]
        self._release(w)
        if status == "ok":
            return value
        if status == "stopped":
            token.check()  # raises Cancelled with the token's reason
        raise value  # the loop's own error, as it raised it

    def _take(self, token: Token) -> _Worker:
        """An idle, live worker; while none is free, the token may still stop the wait (and a slot retired
        meanwhile is started again)."""
        while True:
            try:
                w = self._idle.get(timeout=POLL_S)
            except queue.Empty:
                token.check()
                self.start()
                continue
            if w.process.is_alive():
                return w
            self._lost(w)  # died while idle: replaced, and look again

    def _lost(self, w: _Worker) -> WorkerDied:
        """A dead worker: forgotten, a fresh one started in its slot; the error its task answers with."""
        w.process.join(1.0)
        code = w.process.exitcode
        self.died += 1
        log.error("worker %d (pid %s) died with exit code %s: replacing it", w.slot, w.process.pid, code)
        self._forget(w)
        w.conn.close()
        self.start()  # a fresh one in its slot
        return WorkerDied(code, self.retry_after)

    def stats(self) -> dict[str, int]:
        live = len(self.pids())
        return {"size": self.size, "live": live, "tasks": self.tasks, "died": self.died, "retired": self.retired}

    def close(self) -> None:
        """At shutdown: no worker outlives the server (they are daemonic too: they go when it exits)."""
        self._closed = True
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for w in workers:
            _stop(w)


def _stop(w: _Worker) -> None:
    """Close its pipe (its recv sees EOF and it returns); killed if it has not exited within 2 s."""
    w.conn.close()
    w.process.join(2.0)
    if w.process.is_alive():
        w.process.kill()
