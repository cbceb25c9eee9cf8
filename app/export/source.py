"""What the page asks the API for, answered from one run or one recording: plain data, no HTTP.

The export writes these answers into the HTML file; `backprop-lens serve --recording` answers the page's URLs
with the very same file, so a recording reaches the page along one data path.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from backprop_lens.present import LANGS, title_lines
from backprop_lens.recording import Recording
from backprop_lens.recording.model import history_to_dict
from backprop_lens.scenarios import Run
from backprop_lens.scenarios.base import is_finite
from backprop_lens.snapshot import Step, step_to_dict


@dataclass
class PageSource:
    """One run's worth of answers: the scenario entry, the created run, the summary, the log and the steps."""

    run_id: str
    title: str
    description: str
    params: dict[str, Any]
    schema: dict[str, Any]
    history: list[dict[str, Any]]
    epochs: int
    steps_per_epoch: int
    log_text: str
    steps: list[Step]
    extra: dict[str, Any]  # summary fields a run has beyond the history (progress, predictions)
    diverged_at: int | None = None
    log_lines: list[dict[str, Any]] = field(default_factory=list)  # {"text", "step", "phase"} per printed line
    zero_grad: bool | None = None  # the scenario's switch, when it has one (the explanation mentions it)
    sources: dict[str, str] = field(default_factory=dict)  # the code nodes' `source.file` names, by that name

    def scenario_entry(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "title": self.title,
            "description": self.description,
            "params": self.params,
            "schema": self.schema,
        }

    def _head(self) -> dict[str, Any]:
        """What the POST answer and the summary share, as the server writes them."""
        return {
            "id": self.run_id,
            "scenario": self.run_id,
            "params": self.params,
            "steps": len(self.steps),
            "epochs": self.epochs,
            "diverged_at": self.diverged_at,
        }

    def created(self) -> dict[str, Any]:
        return {**self._head(), "steps_per_epoch": self.steps_per_epoch, "url": f"/api/runs/{self.run_id}"}

    def summary(self) -> dict[str, Any]:
        return {
            **self._head(),
            "history": self.history,
            "progress": [],
            "predictions": {},
            **self.extra,
        }

    def step_dicts(self) -> list[dict[str, Any]]:
        return [step_to_dict(s) for s in self.steps]


def from_recording(rec: Recording, run_id: str = "recording") -> PageSource:
    """The page's view of a recording: the steps whose graphs were kept, numbered 0.. in the order they ran.

    With `every`/`max_steps` the kept steps are fewer than the history; the page steps through the kept ones,
    each keeping its own epoch and sample, and the summary's history is theirs (the full one is in the JSON).
    """
    kept = [_renumbered(s, i) for i, s in enumerate(rec.steps)]
    by_index = {h.index: h for h in rec.history}
    history = [{**history_to_dict(by_index[s.index]), "step": i} for i, s in enumerate(rec.steps)]
    epochs = len({s.epoch for s in kept})
    per_epoch = max(1, round(len(kept) / epochs)) if epochs else 1
    return PageSource(
        run_id=run_id,
        title=rec.title,
        description=f"your own training loop: {len(rec.history)} steps recorded, {len(kept)} with their graphs",
        params={},
        schema={"type": "object", "properties": {}},
        history=history,
        epochs=epochs,
        steps_per_epoch=per_epoch,
        log_text=rec.log,
        steps=kept,
        extra={"titles": {lang: rec.title for lang in LANGS}},
        diverged_at=next((i for i, s in enumerate(rec.steps) if not _finite(s)), None),
        log_lines=_lines_on_kept_steps(rec),
        sources=rec.sources,
    )


TRACE_CHUNK = 500  # steps traced per replay: a run keeps a bounded number of traced steps at a time


def from_run(run: Run, run_id: str, max_steps: int | None = None) -> PageSource:
    """The page's view of a built-in scenario's run: its first `max_steps` steps (all by default), traced."""
    summary = run.summary()
    count = run.step_count if max_steps is None else min(max_steps, run.step_count)
    steps: list[Step] = []
    for start in range(0, count, TRACE_CHUNK):
        steps += run.steps(start, min(count, start + TRACE_CHUNK))
    return PageSource(
        run_id=run_id,
        title=run.scenario.title,
        description=run.scenario.description,
        params=summary["params"],
        schema={"type": "object", "properties": {}},
        history=summary["history"][:count],
        epochs=len({s.epoch for s in steps}),
        steps_per_epoch=run.params.steps_per_epoch(),
        log_text=run.log_text,
        steps=steps,
        extra={
            **{k: summary[k] for k in ("progress", "predictions", "curve", "predict_target") if k in summary},
            "titles": title_lines(run.scenario, run.params),
        },
        diverged_at=run.diverged_at,
        log_lines=[line for line in run.log_lines() if line["step"] is None or line["step"] < count],
        zero_grad=getattr(run.params, "zero_grad", None),
        sources=run.scenario.source_files(run.params),
    )


def _renumbered(step: Step, i: int) -> Step:
    if step.index == i:
        return step
    return Step(i, step.epoch, step.sample, step.loss, step.params, step.graph, step.inputs)


def _finite(step: Step) -> bool:
    return is_finite(step.loss) and all(is_finite(p.after) for p in step.params.values())


def _lines_on_kept_steps(rec: Recording) -> list[dict[str, Any]]:
    """Each printed line on the page's step: the kept step it belongs to, or the last kept one before it."""
    kept = [s.index for s in rec.steps]
    out = []
    for line in rec.lines:
        pos = None if line.step is None else bisect.bisect_right(kept, line.step) - 1
        out.append({"text": line.text, "step": None if pos is None or pos < 0 else pos, "phase": line.phase})
    return out
