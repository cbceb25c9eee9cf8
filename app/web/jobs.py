"""Jobs: a run's history being computed, with its progress, and the token that stops it when nobody waits.

The training loop calls `Token.check` after every step (Recorder.on_step): it raises `Cancelled` once the
deadline passed, or once no one keeps the token alive: no request waits for it (a waiting request counts while its
client is connected, and for a moment after it left) and no status poll asked within `abandon_s` (a 202 run).
Counting waiters, not timing them, keeps a busy event loop from cancelling work that someone waits for.
A cancelled loop unwinds, its partial history is dropped with its frames, and a later request starts over.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from backprop_lens.problems import Problem

if TYPE_CHECKING:
    from backprop_lens.web.admission import Lane

State = Literal["queued", "running", "done", "failed"]


class Cancelled(Exception):
    """Raised inside the training loop: nobody waits for this work any more, or it passed its deadline."""

    def __init__(self, reason: Problem) -> None:
        super().__init__(str(reason))
        self.problem = reason


class Token:
    """Thread-safe enough: written by the event loop (floats, a str), read by the worker between steps."""

    def __init__(self, deadline_s: float, alive_s: float) -> None:
        now = time.monotonic()
        self.deadline = now + deadline_s
        self.deadline_s = deadline_s
        self.alive_until = now + alive_s
        self.reason: Problem | None = None
        self.steps_done = 0
        self.waiters = 0  # requests waiting for it right now, their clients connected

    def touch(self, seconds: float) -> None:
        self.alive_until = max(self.alive_until, time.monotonic() + seconds)

    def cancel(self, reason: Problem) -> None:
        self.reason = self.reason or reason

    def why_stop(self) -> Problem | None:
        now = time.monotonic()
        if self.reason is None and now > self.deadline:
            self.reason = Problem("error.job.deadline", {"seconds": f"{self.deadline_s:g}"})
        if self.reason is None and self.waiters == 0 and now > self.alive_until:
            self.reason = Problem("error.job.nobody_waiting")
        return self.reason

    def check(self, steps_done: int | None = None) -> None:
        """The loop's cancel point: after every step."""
        if steps_done is not None:
            self.steps_done = steps_done
        reason = self.why_stop()
        if reason is not None:
            raise Cancelled(reason)


@dataclass(eq=False)
class Job:
    """One run's history in the making. Lives in RunStore's job table until it ends."""

    run_id: str
    steps: int
    lane: Lane
    client: str
    token: Token
    reserved: int  # bytes held for it in the memory budget
    state: State = "queued"
    error: Problem | None = None  # why it failed, worded in the asker's language by `status`
    background: bool = False  # accepted with 202: kept alive by status polls, not by a waiting request
    result: Any = None  # what `make` returned (the store's cache entry)
    exception: Exception | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = field(default_factory=time.monotonic)

    def status(self, lang: str = "en") -> dict[str, Any]:
        done = self.steps if self.state == "done" else min(self.token.steps_done, self.steps)
        out: dict[str, Any] = {
            "state": self.state,
            "progress": round(done / self.steps, 4) if self.steps else 1.0,
            "steps_done": done,
            "steps": self.steps,
        }
        if self.error is not None:
            out["message"] = self.error.text(lang)
        return out


def done_status(steps: int) -> dict[str, Any]:
    return {"state": "done", "progress": 1.0, "steps_done": steps, "steps": steps}
