"""The run store: run ids <-> validated configurations, and bounded caches of runs and response bodies.

Everything here is synchronous and thread-safe; the routes call it through the threadpool on a cache miss, so a
run that takes seconds to compute never blocks the event loop, and concurrent requests compute it once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from backprop_lens.render import BadArgument, render
from backprop_lens.runid import InvalidRunId, decode_run_id, encode_run_id
from backprop_lens.scenarios import (
    SCENARIOS,
    InvalidParams,
    Run,
    Scenario,
    ScenarioParams,
    UnknownScenario,
    get_scenario,
    validate_params,
)
from backprop_lens.snapshot import Step, step_to_dict
from backprop_lens.web.caching import LruCache
from backprop_lens.web.errors import BadInput, NotFound, params_errors
from backprop_lens.web.responses import JSON, Body, dumps
from backprop_lens.web.settings import Settings
from starlette.concurrency import run_in_threadpool

MEDIA_TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "json": JSON,
}
TEXT = "text/plain; charset=utf-8"
# A step asked for alone is traced with its neighbours in one replay of the loop: playback asks for k, k+1, ...
# and a replay costs as much as all the steps before k, so one step at a time would be quadratic.
TRACE_BLOCK = 50


@dataclass(frozen=True, slots=True)
class RunRef:
    """A validated configuration and its canonical id (the cache key: any spelling of a config maps to it)."""

    id: str
    scenario: Scenario
    params: ScenarioParams


@dataclass(slots=True)
class RunEntry:
    run: Run
    # Run's step cache is not thread-safe: one replay per run at a time (different runs trace in parallel).
    lock: threading.Lock = field(default_factory=threading.Lock)


def defaults_of(scenario: Scenario) -> dict[str, Any]:
    return scenario.Params().model_dump()


class RunStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._defaults = {sid: defaults_of(s) for sid, s in SCENARIOS.items()}
        self._refs: LruCache[str, RunRef] = LruCache(settings.id_cache_entries)
        self._runs: LruCache[str, RunEntry] = LruCache(
            settings.run_cache_entries, settings.run_cache_steps, weigh=lambda e: max(1, e.run.step_count)
        )
        self._bodies: LruCache[Hashable, Body] = LruCache(
            settings.body_cache_entries, settings.body_cache_bytes, weigh=len
        )

    # -- ids -------------------------------------------------------------------------------------------------

    def ref_for(self, scenario_name: str, raw_params: dict[str, Any]) -> RunRef:
        """From a request body: 422 naming the field for an unknown scenario or bad parameters."""
        try:
            scenario = get_scenario(scenario_name)
        except UnknownScenario as e:
            raise BadInput([(("body", "scenario"), str(e))]) from None
        try:
            params = validate_params(scenario, raw_params, strict=True)
        except InvalidParams as e:
            raise BadInput(params_errors(e)) from None
        return self._ref(scenario, params)

    def resolve(self, run_id: str) -> RunRef:
        """From a URL: 404 for anything that is not an id we could have made (tampered, unknown, invalid)."""
        ref = self._refs.get(run_id)
        if ref is not None:
            return ref
        try:
            name, raw = decode_run_id(run_id)
            scenario = get_scenario(name)
            params = validate_params(scenario, raw, strict=True)
        except InvalidRunId as e:
            raise NotFound([(("path", "run_id"), f"unknown run id: {e}")]) from None
        except UnknownScenario as e:
            raise NotFound([(("path", "run_id"), f"unknown run id: {e}")]) from None
        except InvalidParams as e:
            raise NotFound([(("path", "run_id"), f"unknown run id: its parameters are invalid ({e})")]) from None
        ref = self._ref(scenario, params)
        self._refs.put(run_id, ref)
        return ref

    def _ref(self, scenario: Scenario, params: ScenarioParams) -> RunRef:
        run_id = encode_run_id(scenario.id, params.model_dump(), self._defaults[scenario.id])
        return RunRef(run_id, scenario, params)

    # -- runs and bodies (sync: call from a thread) ----------------------------------------------------------

    def entry(self, ref: RunRef) -> RunEntry:
        def compute() -> RunEntry:
            run = Run(ref.scenario, ref.params)
            run.history  # noqa: B018 — computes the whole run now, in this thread
            return RunEntry(run)

        return self._runs.get_or_compute(ref.id, compute)

    def run(self, ref: RunRef) -> Run:
        return self.entry(ref).run

    async def _body(self, key: Hashable, compute: Callable[[], Body]) -> Body:
        """The cached body on the event loop if present (no thread hop), else computed once in the threadpool."""
        body = self._bodies.get(key)
        if body is None:
            body = await run_in_threadpool(self._bodies.get_or_compute, key, compute)
        return body

    async def created(self, ref: RunRef) -> Run:
        return await run_in_threadpool(self.run, ref)

    async def summary(self, ref: RunRef) -> Body:
        return await self._body(("summary", ref.id), lambda: self._summary(ref))

    async def log(self, ref: RunRef) -> Body:
        return await self._body(("log", ref.id), lambda: Body.of(self.run(ref).log_text.encode("utf-8"), TEXT))

    async def step(self, ref: RunRef, k: int) -> Body:
        return await self._body(
            ("step", ref.id, k), lambda: Body.of(dumps(step_to_dict(self._step(self.entry(ref), k))), JSON)
        )

    async def steps(self, ref: RunRef, start: int, stop: int) -> Body:
        return await self._body(("steps", ref.id, start, stop), lambda: self._steps(ref, start, stop))

    async def graph(
        self, ref: RunRef, k: int, fmt: str, phase: str, theme: str, collapse: tuple[str, ...] = ()
    ) -> Body:
        return await self._body(
            ("graph", ref.id, k, fmt, phase, theme, collapse), lambda: self._graph(ref, k, fmt, phase, theme, collapse)
        )

    def _summary(self, ref: RunRef) -> Body:
        return Body.of(dumps({"id": ref.id, **self.run(ref).summary()}), JSON)

    def _steps(self, ref: RunRef, start: int, stop: int) -> Body:
        entry = self.entry(ref)
        with entry.lock:
            steps = entry.run.steps(start, stop)
        return Body.of(dumps([step_to_dict(s) for s in steps]), JSON)

    @staticmethod
    def _step(entry: RunEntry, k: int) -> Step:
        run = entry.run
        with entry.lock:
            if not 0 <= k < run.step_count:
                return run.step(k)  # raises StepOutOfRange with its message
            start = k - k % TRACE_BLOCK
            return run.steps(start, min(start + TRACE_BLOCK, run.step_count))[k - start]

    def _graph(self, ref: RunRef, k: int, fmt: str, phase: str, theme: str, collapse: tuple[str, ...] = ()) -> Body:
        step = self._step(self.entry(ref), k)
        try:
            data = render(step, phase=phase, theme=theme, fmt=fmt, collapse=collapse)
        except BadArgument as e:  # a module name the graph does not have: the caller's mistake, not a 503
            raise BadInput([(("query", e.field), str(e))]) from None
        return Body.of(data, MEDIA_TYPES[fmt])

    def stats(self) -> dict[str, Any]:
        return {
            "runs": {"entries": len(self._runs), "steps": self._runs.weight},
            "bodies": {"entries": len(self._bodies), "bytes": self._bodies.weight},
        }

    def warm_up(self) -> None:
        """Build the default Lecture 04 run, trace and draw step 0: pays torch._dynamo's import and dot's start."""
        scenario = get_scenario("lecture04")
        ref = self._ref(scenario, scenario.Params())
        key = ("graph", ref.id, 0, "svg", "backward", "light", ())
        self._bodies.get_or_compute(key, lambda: self._graph(ref, 0, "svg", "backward", "light"))
