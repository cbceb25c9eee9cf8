"""A run: one scenario with concrete parameters. A pure function of its configuration.

The history (parameters, gradients, loss per step; the log) comes from one untraced pass of the real loop.
A step's graph comes from replaying the same loop and tracing that step: the tracer changes no number, so
the replay is the run itself, and nothing but the configuration is needed to recompute any step.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from typing import Any

from backprop_lens.present.format import fmt_num
from backprop_lens.problems import Problem
from backprop_lens.scenarios.base import Recorder, ReplayDone, Resume, Scenario, ScenarioParams, StepRecord, is_finite
from backprop_lens.scenarios.curve import loss_curve, predict_target
from backprop_lens.snapshot import Step, param_state_to_dict


class StepOutOfRange(LookupError):
    """`problem`: the same refusal as data, worded by the web layer in the request's language."""

    def __init__(self, step: int, count: int) -> None:
        self.problem = Problem("error.step_out_of_range", {"step": step, "last": count - 1})
        super().__init__(str(self.problem))
        self.step, self.count = step, count


class Run:
    SNAPSHOT_CACHE = 1024  # traced steps kept per run; a whole Lecture 04 run fits

    def __init__(self, scenario: Scenario, params: ScenarioParams) -> None:
        self.scenario = scenario
        self.params = params
        self._snapshots: OrderedDict[int, Step] = OrderedDict()
        # Traced steps kept, at most: a server sets it from its memory budget and the measured bytes of a step.
        self.max_traced = self.SNAPSHOT_CACHE
        # Passed to every pass of the loop (history and replays): see Recorder.on_step.
        self.on_step: Callable[[int], None] | None = None

    @cached_property
    def history(self) -> Recorder:
        return self.compute_history()

    def compute_history(self) -> Recorder:
        """The untraced pass, kept as `history`. Threads call this, not `history`: Python 3.11's cached_property
        holds one lock for every instance, so computing one run's history through it stalls all the others."""
        rec = Recorder(on_step=self.on_step)
        self.scenario.train(self.params, rec)
        self.__dict__["history"] = rec
        return rec

    @cached_property
    def step_count(self) -> int:
        return self.scenario.step_count(self.params)

    @property
    def log_text(self) -> str:
        return "".join(line + "\n" for line in self.history.log)

    def log_lines(self) -> list[dict[str, Any]]:
        """Every log line with the step and phase that printed it (no parsing of the text needed)."""
        h = self.history
        return [{"text": t, "step": m.step, "phase": m.phase} for t, m in zip(h.log, h.marks, strict=True)]

    @cached_property
    def diverged_at(self) -> int | None:
        """The first step whose loss or parameters are not finite (inf/NaN), or None."""
        for s in self.history.steps:
            if not is_finite(s.loss) or not all(is_finite(p.after) for p in s.params.values()):
                return s.index
        return None

    def record(self, k: int) -> StepRecord:
        self._check(k)
        return self.history.steps[k]

    def step(self, k: int) -> Step:
        """Step k with its traced graph."""
        return self.steps(k, k + 1)[0]

    def steps(self, start: int, stop: int) -> list[Step]:
        """Steps start..stop-1 with their graphs, traced in one replay of the loop."""
        self._check(start)
        self._check(stop - 1)
        found = {k: self._snapshots[k] for k in range(start, stop) if k in self._snapshots}
        missing = [k for k in range(start, stop) if k not in found]
        if missing:  # the replay's steps are answered even when fewer than them are kept (max_traced)
            found.update(self._replay(range(missing[0], missing[-1] + 1)))
        for k in range(start, stop):
            if k in self._snapshots:
                self._snapshots.move_to_end(k)
        return [found[k] for k in range(start, stop)]

    def _replay(self, wanted: range) -> dict[int, Step]:
        """Run the loop again, tracing the wanted steps; a replay to the end doubles as the history.

        A resumable scenario starts right at the first wanted step, from the state its history recorded.
        """
        to_the_end = wanted.stop >= self.step_count
        resume = self._resume_point(wanted.start)
        rec = Recorder(trace=wanted, stop=None if to_the_end else wanted.stop, resume=resume, on_step=self.on_step)
        with contextlib.suppress(ReplayDone):
            self.scenario.train(self.params, rec)
        if to_the_end and resume is None and "history" not in self.__dict__:
            self.__dict__["history"] = rec  # cached_property's slot: the same loop, the same numbers
        for k, snap in rec.snapshots.items():
            self._remember(k, snap)
        return rec.snapshots

    def _resume_point(self, k: int) -> Resume | None:
        if k == 0 or not self.scenario.resumable:
            return None
        steps = self.history.steps
        return Resume(step=steps[k], previous=steps[k - 1])

    def _remember(self, k: int, snap: Step) -> None:
        self._snapshots[k] = snap
        while len(self._snapshots) > max(0, self.max_traced):
            self._snapshots.popitem(last=False)

    def traced_count(self) -> int:
        """Traced steps kept (what a cache weighing this run counts besides its history)."""
        return len(self._snapshots)

    def _check(self, k: int) -> None:
        if not 0 <= k < self.step_count:
            raise StepOutOfRange(k, self.step_count)

    def summary(self) -> dict[str, Any]:
        """The run's history as plain data (JSON-ready after `to_jsonable`)."""
        h = self.history
        return {
            "scenario": self.scenario.id,
            "params": self.params.model_dump(),
            "steps": self.step_count,
            "epochs": len(h.progress),
            "diverged_at": self.diverged_at,
            "history": [
                {
                    "step": s.index,
                    "epoch": s.epoch,
                    "sample": s.sample,
                    "inputs": s.inputs,
                    "loss": s.loss,
                    "prediction": s.prediction,
                    "params": {n: param_state_to_dict(p) for n, p in s.params.items()},
                }
                for s in h.steps
            ],
            "progress": [{"epoch": p.epoch, "loss": p.loss} for p in h.progress],
            # `text`: the number as the page shows it (the server formats every number on screen)
            "predictions": {p.when: {"x": p.x, "value": p.value, "text": fmt_num(p.value)} for p in h.predictions},
            # what the charts draw besides the history: L(w) per sample and the prediction's target (or None)
            "curve": loss_curve(self.scenario, self.params, h),
            "predict_target": predict_target(self.scenario, self.params, h.predictions[0].x) if h.predictions else None,
        }
