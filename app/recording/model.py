"""A recording as plain data: every step's history, the graphs kept, the script's log line by line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backprop_lens.snapshot import ParamState, Step, param_state_to_dict, to_jsonable

DEFAULT_MAX_STEPS = 1000


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line the script printed, and the step whose backward came last before it (None: before any)."""

    text: str
    step: int | None
    phase: str | None = None  # "backward" (after its backward) or "update" (after a parameter changed)


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One step without its graph: enough for the charts, the timeline and the console."""

    index: int
    epoch: int
    sample: int | None
    loss: Any
    params: dict[str, ParamState]
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recording:
    """What `record()` saw. `steps` are the steps whose graphs were kept (all of them, up to `max_steps`)."""

    title: str = "recording"
    steps: list[Step] = field(default_factory=list)
    history: list[HistoryRecord] = field(default_factory=list)
    lines: list[LogLine] = field(default_factory=list)
    error: str | None = None  # the traceback of a script that raised
    max_steps: int = DEFAULT_MAX_STEPS
    every: int = 1
    # The code the kept nodes name (`source.file` -> its text), read when the block ends: a recording, and the
    # page exported from it, show the line that made a node without the script beside them.
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        """The script's output, as it printed it."""
        return "".join(line.text + "\n" for line in self.lines)

    def __len__(self) -> int:
        return len(self.history)

    def __repr__(self) -> str:
        return f"<Recording {self.title!r}: {len(self.history)} steps, {len(self.steps)} graphs kept>"


def history_to_dict(h: HistoryRecord) -> dict[str, Any]:
    return {
        "step": h.index,
        "epoch": h.epoch,
        "sample": h.sample,
        "inputs": to_jsonable(h.inputs),
        "loss": to_jsonable(h.loss),
        "prediction": None,
        "params": {n: param_state_to_dict(p) for n, p in h.params.items()},
    }
