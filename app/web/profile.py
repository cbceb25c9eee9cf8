"""What a run will cost, measured on its own first step: graph size (nodes), bytes per step of history and per
traced step. Cost = steps x graph size, so a custom model of 80 parts costs more than Lecture 04's six nodes.

One step of the real loop, traced, is a few milliseconds; profiles are memoised per configuration less its
epochs (which change the step count, not the step).
"""

from __future__ import annotations

import contextlib
import enum
import sys
import types
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from backprop_lens.present import LANGS
from backprop_lens.render import step_labels
from backprop_lens.scenarios import Recorder, Run
from backprop_lens.scenarios.base import ReplayDone
from backprop_lens.snapshot import Step, step_to_dict
from backprop_lens.web.responses import dumps

# A history's log line per step and the run's own objects: a small constant on top of the measured record.
LOG_BYTES_PER_STEP = 80
# A tensor's C++ side besides its data (TensorImpl, its storage, the allocator's rounding), which getsizeof does not
# see: without it a traced step weighed 1.3-1.7x less than the RSS it takes (Lecture 04, two_layer).
TENSOR_BYTES = 320
# Objects whose attributes are shared by the whole process (classes, modules, functions): never one entry's bytes.
_SHARED = (type, types.ModuleType, types.FunctionType, types.MethodType, enum.Enum)


@dataclass(frozen=True, slots=True)
class Profile:
    nodes: int  # graph size of one step
    record_bytes: int  # one step of history (parameters, gradient, loss, inputs)
    snapshot_bytes: int  # one traced step (graph with values and gradients)
    json_bytes: int  # one step's JSON (what a batch of steps is made of)

    def cost(self, steps: int) -> int:
        return steps * max(1, self.nodes)

    def history_bytes(self, steps: int) -> int:
        return steps * (self.record_bytes + LOG_BYTES_PER_STEP)


def _first_step(run: Run) -> tuple[Recorder, Step | None]:
    """Run and trace the first step of this configuration only (the loop stops after it)."""
    rec = Recorder(trace=range(1), stop=1)
    with contextlib.suppress(ReplayDone):
        run.scenario.train(run.params, rec)
    return rec, rec.snapshots.get(0)


def measure(run: Run) -> Profile:
    rec, snap = _first_step(run)
    nodes = len(snap.graph.nodes) if snap is not None else 1
    record = approx_bytes(rec.steps[0]) if rec.steps else 0
    if snap is None:
        return Profile(nodes, record, 0, 0)
    return Profile(nodes, record, approx_bytes(snap), len(dumps(step_to_dict(snap))))


def measure_labels(run: Run) -> int:
    """One step's labels JSON in the bigger language: what a batch of labels is made of (3-6x the step JSON, by
    scenario). Measured when labels are first asked for, so a run's admission does not pay for it."""
    _, snap = _first_step(run)
    return max(len(dumps(step_labels(snap, lang))) for lang in LANGS) if snap is not None else 0


def run_bytes(run: Run, profile: Profile, traced: bool = True) -> int:
    """What a computed run holds: its history and (`traced`) the traced steps it keeps."""
    history = run.__dict__.get("history")
    steps = len(history.steps) if history is not None else 0
    return profile.history_bytes(steps) + (run.traced_count() * profile.snapshot_bytes if traced else 0)


def approx_bytes(obj: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Approximate deep size: containers, dataclasses and tensors (by duck typing: web never imports torch)."""
    seen = _seen if _seen is not None else set()
    if id(obj) in seen or _depth > 12:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):
        return size + TENSOR_BYTES + int(obj.element_size()) * int(obj.nelement())
    if isinstance(obj, dict):
        size += sum(approx_bytes(k, seen, _depth + 1) + approx_bytes(v, seen, _depth + 1) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(approx_bytes(v, seen, _depth + 1) for v in obj)
    elif is_dataclass(obj) and not isinstance(obj, type):
        size += sum(approx_bytes(getattr(obj, f.name, None), seen, _depth + 1) for f in fields(obj))
    elif isinstance(getattr(obj, "__dict__", None), dict) and not isinstance(obj, _SHARED):
        size += approx_bytes(vars(obj), seen, _depth + 1)  # a pydantic model's fields (a run's parameters)
    return size
