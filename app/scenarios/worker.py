"""A worker process's side of the server's pool: runs a scenario's loop, sends its history (or traced steps) back
as plain data.

Training holds the GIL between torch calls; in the server's threads it starved the event loop (cached bodies,
health). In a process of its own it cannot. The server's worker pool starts these processes,
gives them tasks and reads the result; this module knows nothing of HTTP: a task arrives on a pipe, a flag in
shared memory says "stop" (read after every step, as the in-process loop reads its token) and a shared counter
carries the steps done (the run's progress).
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable
from typing import Any

from backprop_lens import heap
from backprop_lens.problems import as_problem

# One task's slot in the pool's shared arrays: cancel[slot] set by the server, progress[slot] written here.
Flags = Any  # multiprocessing RawArray of bytes (typed loosely: ctypes arrays have no useful static type)
Counters = Any


class Stopped(Exception):
    """The server set this task's cancel flag: nobody waits for the run any more."""


class WorkerFailure(Exception):
    """An error in a worker that could not be sent back as it was (not picklable): its class and words."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.problem = as_problem(text)


def history(scenario_id: str, params: Any, on_step: Callable[[int], None]) -> Any:
    """The run's untraced pass (its Recorder: plain numbers and strings, cheap to pickle)."""
    from backprop_lens.scenarios import Run, get_scenario

    run = Run(get_scenario(scenario_id), params)
    run.on_step = on_step
    rec = run.compute_history()
    rec.on_step = None  # a closure over this process's flags: not for the server
    return rec


def traced(scenario_id: str, params: Any, start: int, stop: int, resume: Any, on_step: Callable[[int], None]) -> Any:
    """Steps start..stop-1 traced in one replay of the loop (from `resume`, the history's records, when the
    scenario resumes; from step 0 otherwise), as plain data: `step_to_dict` of each (what a batch is made of)."""
    import contextlib

    from backprop_lens.scenarios import Recorder, get_scenario
    from backprop_lens.scenarios.base import ReplayDone
    from backprop_lens.snapshot import step_to_dict

    rec = Recorder(trace=range(start, stop), stop=stop, resume=resume, on_step=on_step)
    with contextlib.suppress(ReplayDone):
        get_scenario(scenario_id).train(params, rec)
    return [step_to_dict(rec.snapshots[k]) for k in range(start, stop)]


TASKS: dict[str, Callable[..., Any]] = {"history": history, "traced": traced}


def _sendable(error: BaseException) -> BaseException:
    """The error itself when it survives pickling (the server maps our own errors by type), else its words."""
    try:
        restored: BaseException = pickle.loads(pickle.dumps(error))
        return restored
    except Exception:
        return WorkerFailure(f"{type(error).__name__}: {error}")


def _warm() -> None:
    """Pay the first-call costs (torch's dispatcher, the tracer's imports) before the first task. (No optimizer
    here: the scenarios' optimizers do not import torch._dynamo, see scenarios/optim.py.)"""
    import torch

    torch.set_num_threads(1)  # tiny tensors: one thread, as the server's own (the cores are the server's)
    from backprop_lens.scenarios import Run, get_scenario, validate_params

    scenario = get_scenario("lecture04")
    run = Run(scenario, validate_params(scenario, {"epochs": 1}, strict=True))
    run.compute_history()
    run.step(0)


def main(conn: Any, cancel: Flags, progress: Counters, slot: int, niceness: int) -> None:
    """The worker's loop: (kind, args) in, ("ok", result) | ("stopped", steps) | ("error", exception) out."""
    os.nice(niceness)  # the server process wins the CPU: its event loop answers while we train
    _warm()
    conn.send(("ready", os.getpid()))

    def on_step(done: int) -> None:
        progress[slot] = done
        if cancel[slot]:
            raise Stopped

    while True:
        try:
            kind, args = conn.recv()
        except (EOFError, OSError):  # the server went away: so do we
            return
        try:
            reply: tuple[str, Any] = ("ok", TASKS[kind](*args, on_step))
        except Stopped:
            reply = ("stopped", progress[slot])
        except Exception as e:
            reply = ("error", _sendable(e))
        conn.send(reply)
        del reply  # the history is the server's now: free it, and give the heap back (the worker lives on)
        gc.collect()
        heap.trim()
