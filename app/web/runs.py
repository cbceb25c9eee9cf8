"""The run store: run ids <-> validated configurations, runs (computed as jobs), and response bodies.

Caches are bounded in bytes: runs by their history and traced steps (less the runs in progress, which hold
their bytes in the same budget), bodies by their length. A body found in the cache is answered on the event loop;
anything else is admitted to a lane (compute.py) and computed in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backprop_lens.present import Context, title_lines
from backprop_lens.problems import Problem
from backprop_lens.render import BadArgument, LayoutCache, render
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
from backprop_lens.web.admission import Unavailable
from backprop_lens.web.caching import LruCache, memory_shares, total_bytes
from backprop_lens.web.compute import Compute, answer_left, client_of
from backprop_lens.web.errors import BadInput, Loc, NotFound, params_errors, request_lang, unknown_run_id
from backprop_lens.web.jobs import Job, Token, done_status
from backprop_lens.web.profile import Profile, approx_bytes, measure, measure_labels, run_bytes
from backprop_lens.web.raster import Rasteriser
from backprop_lens.web.responses import JSON, Body, dumps
from backprop_lens.web.settings import Settings
from fastapi import Request

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
# Later steps print longer numbers than the first (measured) one: room for them when sizing a batch.
T = TypeVar("T")
BATCH_MARGIN = 1.5


@dataclass(frozen=True, slots=True)
class RunRef:
    """A validated configuration and its canonical id (the cache key: any spelling of a config maps to it)."""

    id: str
    scenario: Scenario
    params: ScenarioParams

    @property
    def steps(self) -> int:
        return self.scenario.step_count(self.params)


@dataclass(slots=True)
class RunEntry:
    run: Run
    profile: Profile
    # Run's step cache is not thread-safe: one replay per run at a time (different runs trace in parallel).
    lock: threading.Lock = field(default_factory=threading.Lock)


def defaults_of(scenario: Scenario) -> dict[str, Any]:
    return scenario.Params().model_dump()


def profile_key(ref: RunRef) -> str:
    """What a configuration's first step depends on for its size: not its numbers (lr, initial values, epochs:
    they change values, not the graph), only its structure (expressions, names, sizes, switches, list lengths).
    So a flood of runs differing in lr measures one profile, not one each."""
    shape = {
        k: len(v) if isinstance(v, list) else sorted(v) if isinstance(v, dict) else v
        for k, v in ref.params.model_dump().items()
        if k != "epochs" and not isinstance(v, float)
    }
    return ref.scenario.id + json.dumps(shape, sort_keys=True, default=str)


class RunStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._defaults = {sid: defaults_of(s) for sid, s in SCENARIOS.items()}
        # Every cache has a share of `memory_bytes` and weighs its entries (and keys) in bytes; the shares sum to
        # at most the budget. Runs get the rest: their history, their traced steps and the runs in progress.
        self.shares = share = memory_shares(settings.memory_bytes, settings.body_cache_bytes)
        self._refs: LruCache[str, RunRef] = LruCache(
            settings.id_cache_entries, share["ids"], weigh=lambda r: approx_bytes(r.params), weigh_key=approx_bytes
        )
        self.runs_budget = share["runs"]
        self._runs: LruCache[str, RunEntry] = LruCache(
            settings.run_cache_entries, self.runs_budget, lambda e: run_bytes(e.run, e.profile), approx_bytes
        )
        self._bodies: LruCache[Hashable, Body] = LruCache(
            settings.body_cache_entries, share["bodies"], weigh=len, weigh_key=approx_bytes
        )
        self._profiles: LruCache[str, Profile] = LruCache(4096, share["profiles"], approx_bytes, approx_bytes)
        # this app's own: apps in one process share no layout state
        self.layouts = LayoutCache(max_bytes=share["layouts"], weigh=approx_bytes)
        self.context_of: Callable[[RunRef, str], Context | None] = lambda _ref, _lang: None  # routes_present sets it
        self._labels_sizes: LruCache[str, int] = LruCache(4096, share["labels_sizes"], approx_bytes, approx_bytes)
        self._measuring: dict[tuple[str, str], asyncio.Future[Any]] = {}
        # why a 202 run stopped, told once by its status (None: told; the next status starts over)
        self._failures: LruCache[str, Problem | None] = LruCache(1024, share["failures"], approx_bytes, approx_bytes)
        self.compute = Compute(settings, self.runs_budget, lambda held: self._runs.resize(self.runs_budget - held))
        self.compute.on_failed = self.note_failure
        self.raster = Rasteriser()  # PNGs: resvg in a child process (it holds the GIL)

    # -- ids -------------------------------------------------------------------------------------------------

    def ref_for(self, scenario_name: str, raw_params: dict[str, Any]) -> RunRef:
        """From a request body: 422 naming the field for an unknown scenario or bad parameters."""
        try:
            scenario = get_scenario(scenario_name)
        except UnknownScenario as e:
            raise BadInput([(("body", "scenario"), e.problem)]) from None
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
            invalid = Problem("error.run_id.invalid", {"text": str(e)})
            raise NotFound([(("path", "run_id"), unknown_run_id(invalid))]) from None
        except UnknownScenario as e:
            raise NotFound([(("path", "run_id"), unknown_run_id(e.problem))]) from None
        except InvalidParams as e:
            field, problem = e.problems[0]  # a forged id: the first reason is enough
            bad = Problem("error.run_id.bad_params", {"field": field, "problem": problem})
            raise NotFound([(("path", "run_id"), unknown_run_id(bad))]) from None
        ref = self._ref(scenario, params)
        self._refs.put(run_id, ref)
        return ref

    def _ref(self, scenario: Scenario, params: ScenarioParams) -> RunRef:
        run_id = encode_run_id(scenario.id, params.model_dump(), self._defaults[scenario.id])
        return RunRef(run_id, scenario, params)

    # -- cost ------------------------------------------------------------------------------------------------

    async def profile(self, ref: RunRef, request: Request) -> Profile:
        """The configuration's profile, measured once however many requests ask at the same time."""
        return await self._measured("profile", self._profiles, ref, request, measure)

    async def labels_size(self, ref: RunRef, request: Request) -> int:
        """Bytes of one step's labels for this configuration, measured once, when labels are first asked for."""
        return await self._measured("labels", self._labels_sizes, ref, request, measure_labels)

    async def _measured(
        self, kind: str, memo: LruCache[str, T], ref: RunRef, request: Request, fn: Callable[[Run], T]
    ) -> T:
        """`fn` of the configuration's first step, memoised by profile key; concurrent askers share one measurement."""
        key = profile_key(ref)
        found = memo.get(key)
        if found is not None:
            return found
        pending = self._measuring.get((kind, key))
        if pending is None:
            measured = lambda: memo.get_or_compute(key, lambda: fn(Run(ref.scenario, ref.params)))  # noqa: E731
            pending = asyncio.ensure_future(self.compute.light.run(client_of(request), measured))
            self._measuring[(kind, key)] = pending
            pending.add_done_callback(lambda _: self._measuring.pop((kind, key), None))
        return await asyncio.shield(pending)

    def check_cost(self, ref: RunRef, profile: Profile, loc: Loc) -> None:
        """422 naming the limit and the cost: steps x graph size, and the bytes its history would hold."""
        steps, limit = ref.steps, self.settings.max_cost
        cost = profile.cost(steps)
        if cost > limit:
            most = max(1, limit // max(1, profile.nodes))
            args = {"cost": cost, "steps": steps, "nodes": profile.nodes, "limit": limit, "most": most}
            raise BadInput([(loc, Problem("error.cost.too_high", args))])
        nbytes = profile.history_bytes(steps)
        if nbytes > self.runs_budget:
            mib, budget = nbytes / 2**20, self.runs_budget / 2**20
            raise BadInput([(loc, Problem("error.cost.memory", {"mib": mib, "budget": budget}))])

    # -- runs ------------------------------------------------------------------------------------------------

    async def obtain(
        self, ref: RunRef, request: Request, *, wait: bool | None = None, loc: Loc = (), defer: bool = False
    ) -> RunEntry | Job | dict[str, Any]:
        """The computed run, or its job: waited for when small (or `wait`), else (202) kept alive for a while.

        `defer`: a big run is only validated, not started (its status, answered as a dict, says `queued`): behind
        a router that picks the backend by run id, its first status request starts it on the right backend.
        """
        entry = self._runs.get(ref.id)
        if entry is not None:
            return entry
        answer_left(request, self.settings.answer_s)  # the request's one answer budget starts here, before queues
        job = self.compute.jobs.get(ref.id)
        if job is None:
            profile = await self.profile(ref, request)
            self.check_cost(ref, profile, loc or ("path", "run_id"))
            # Another request may have started (or finished) it while this one measured.
            entry = self._runs.get(ref.id)
            if entry is not None:
                return entry
            job = self.compute.jobs.get(ref.id)
            if job is None and defer and profile.cost(ref.steps) > self.settings.async_cost:
                return {"state": "queued", "progress": 0.0, "steps_done": 0, "steps": ref.steps}
            job = job or self._start(ref, profile, client_of(request))
        if job.background if wait is None else not wait:
            job.token.touch(self.settings.abandon_s)
            return job
        if not await self.compute.wait(job, request):
            return job  # the client left; nobody reads this
        if job.state == "done":
            return job.result
        if job.exception is not None:
            raise job.exception
        raise Unavailable(job.error or Problem("error.run_stopped"), self.settings.retry_after_s)

    def _start(self, ref: RunRef, profile: Profile, client: str) -> Job:
        steps = ref.steps
        cost = profile.cost(steps)

        def make(token: Token) -> RunEntry:
            run = Run(ref.scenario, ref.params)
            self.compute.history(run, cost, token)  # the whole loop, stoppable after every step
            entry = RunEntry(run, profile)
            self._runs.put(ref.id, entry)
            return entry

        return self.compute.start(ref.id, make, steps, cost, profile.history_bytes(steps), client)

    async def status(self, ref: RunRef, request: Request) -> dict[str, Any]:
        """A run's state; asking keeps a 202 run alive, and starts one that is not (or no longer) computing."""
        if self._runs.get(ref.id) is not None:
            return done_status(ref.steps)
        job = self.compute.jobs.get(ref.id)
        if job is None:
            failure = self._failures.get(ref.id)
            if failure is not None:
                self._failures.put(ref.id, None)  # told once; the next status starts over
                message = failure.text(request_lang(request))
                return {"state": "failed", "progress": 0.0, "steps_done": 0, "steps": ref.steps, "message": message}
            got = await self.obtain(ref, request, wait=False)
            if not isinstance(got, Job):
                return done_status(ref.steps)
            job = got
        job.token.touch(self.settings.abandon_s)
        return job.status(request_lang(request))

    def note_failure(self, job: Job) -> None:
        if job.background and job.error:
            self._failures.put(job.run_id, job.error)

    # -- bodies ----------------------------------------------------------------------------------------------

    async def body(
        self,
        key: Hashable,
        ref: RunRef,
        request: Request,
        compute: Callable[[RunEntry, Token], Body],
        cost: Callable[[RunEntry], int],
    ) -> Body | Job:
        """A body of another router (routes_present) under the same caches, lanes and 202 jobs as ours."""
        return await self._body(key, ref, request, compute, cost)

    async def _body(
        self,
        key: Hashable,
        ref: RunRef,
        request: Request,
        compute: Callable[[RunEntry, Token], Body],
        cost: Callable[[RunEntry], int],
        png: bool = False,
    ) -> Body | Job:
        """The cached body on the event loop if present, else the run (or its 202 job), then the body in a lane."""
        body = self._bodies.get(key)
        if body is not None:
            return body
        got = await self.obtain(ref, request)
        if not isinstance(got, RunEntry):
            assert isinstance(got, Job)  # `defer` is for POST only
            return got
        entry = got
        lane = self.compute.png if png else self.compute.lane_for(cost(entry))
        traced = entry.run.traced_count()
        body = await self.compute.body(
            lane, request, lambda token: self._bodies.get_or_compute(key, lambda: compute(entry, token)), key
        )
        if entry.run.traced_count() != traced and self._runs.get(ref.id) is entry:
            self._runs.put(ref.id, entry)  # re-weighed with its new traced steps
        return body

    def replay_cost(self, entry: RunEntry, start: int, stop: int) -> int:
        """A replay runs the loop from step 0 unless the scenario resumes where the block starts."""
        first = start if entry.run.scenario.resumable else 0
        return (stop - first) * max(1, entry.profile.nodes)

    async def summary(self, ref: RunRef, request: Request) -> Body | Job:
        return await self._body(
            ("summary", ref.id),
            ref,
            request,
            lambda e, _: self._summary(ref, e.run),
            lambda e: e.profile.cost(ref.steps),
        )

    async def log(self, ref: RunRef, request: Request) -> Body | Job:
        return await self._body(
            ("log", ref.id),
            ref,
            request,
            lambda e, _: Body.of(e.run.log_text.encode("utf-8"), TEXT),
            lambda e: ref.steps,
        )

    async def step(self, ref: RunRef, request: Request, k: int) -> Body | Job:
        return await self._body(
            ("step", ref.id, k),
            ref,
            request,
            lambda e, token: Body.of(dumps(step_to_dict(self._step(e, k, token))), JSON),
            lambda e: self.replay_cost(e, k - k % TRACE_BLOCK, min(k - k % TRACE_BLOCK + TRACE_BLOCK, ref.steps)),
        )

    async def steps(self, ref: RunRef, request: Request, start: int, stop: int) -> Body | Job:
        return await self._body(
            ("steps", ref.id, start, stop),
            ref,
            request,
            lambda e, token: self._steps(e, start, stop, token),
            lambda e: self.replay_cost(e, start, stop),
        )

    def batch_limit(self, profile: Profile) -> int:
        """Steps of this run that fit in one batch response: `max_batch_steps`, and `max_batch_bytes` in JSON."""
        by_bytes = int(self.settings.max_batch_bytes / (BATCH_MARGIN * max(1, profile.json_bytes)))
        return max(1, min(self.settings.max_batch_steps, by_bytes))

    def labels_limit(self, labels_bytes: int) -> int:
        """Steps whose labels fit in one batch response, from the measured labels of the first step."""
        by_bytes = int(self.settings.max_batch_bytes / (BATCH_MARGIN * max(1, labels_bytes)))
        return max(1, min(self.settings.max_batch_steps, by_bytes))

    async def graph(
        self,
        ref: RunRef,
        request: Request,
        k: int,
        fmt: str,
        phase: str,
        theme: str,
        collapse: tuple[str, ...] = (),
        lang: str = "en",
        fit: str | None = None,
        expand: tuple[str, ...] = (),
    ) -> Body | Job:
        look = (fmt, phase, theme, collapse, lang, fit, expand)
        return await self._body(
            ("graph", ref.id, k, *look),
            ref,
            request,
            lambda e, token: self._graph(ref, e, k, look, token),
            lambda e: self.replay_cost(e, k - k % TRACE_BLOCK, min(k - k % TRACE_BLOCK + TRACE_BLOCK, ref.steps)),
            png=fmt == "png",
        )

    @staticmethod
    def _summary(ref: RunRef, run: Run) -> Body:
        return Body.of(dumps({"id": ref.id, **run.summary(), "titles": title_lines(ref.scenario, ref.params)}), JSON)

    def traced_limit(self, entry: RunEntry) -> int:
        """Traced steps a run keeps (its block cache), by bytes: a quarter of the runs' share at most, and never so
        many that the run with its history outweighs the share (it would then be dropped, history and all)."""
        room = min(self.runs_budget // 4, self.runs_budget - run_bytes(entry.run, entry.profile, traced=False))
        return max(1, min(Run.SNAPSHOT_CACHE, room // max(1, entry.profile.snapshot_bytes)))

    def traced(self, entry: RunEntry, start: int, stop: int, token: Token) -> list[Step]:
        """Steps start..stop-1 with their graphs, in one replay that stops when nobody waits (sync)."""
        with entry.lock:
            entry.run.max_traced = self.traced_limit(entry)
            entry.run.on_step = token.check
            try:
                return entry.run.steps(start, stop)
            finally:
                entry.run.on_step = None

    def _steps(self, entry: RunEntry, start: int, stop: int, token: Token) -> Body:
        if self.compute.offloads(self.replay_cost(entry, start, stop)):  # a long replay: in a worker process
            content = dumps(self.compute.traced(entry.run, start, stop, token))
        else:
            content = dumps([step_to_dict(s) for s in self.traced(entry, start, stop, token)])
        if len(content) > self.settings.max_batch_bytes:  # the estimate was short: the bound holds anyway
            most = max(1, (stop - start) * self.settings.max_batch_bytes // len(content))
            raise BadInput([(("query", "stop"), Problem("error.batch.bytes", {"most": most}))])
        return Body.of(content, JSON)

    def _step(self, entry: RunEntry, k: int, token: Token | None = None) -> Step:
        run = entry.run
        with entry.lock:
            if not 0 <= k < run.step_count:
                return run.step(k)  # raises StepOutOfRange with its message
            run.max_traced = self.traced_limit(entry)
            start = k - k % TRACE_BLOCK
            run.on_step = token.check if token is not None else None
            try:
                return run.steps(start, min(start + TRACE_BLOCK, run.step_count))[k - start]
            finally:
                run.on_step = None

    def _graph(self, ref: RunRef, entry: RunEntry, k: int, look: tuple[Any, ...], token: Token | None) -> Body:
        """`look`: (fmt, phase, theme, collapse, lang, fit, expand), as render() takes them."""
        fmt, phase, theme, collapse, lang, fit, expand = look
        step = self._step(entry, k, token)
        context = self.context_of(ref, lang) if fit == "slide" else None  # slides: scenario and lr in the title
        try:
            data = render(
                step,
                phase=phase,
                theme=theme,
                fmt="svg" if fmt == "png" else fmt,  # a PNG is this SVG, rasterised in another process
                cache=self.layouts,
                collapse=collapse,
                expand=expand,
                lang=lang,
                fit=fit,
                context=context,
            )
        except BadArgument as e:  # a module name the graph does not have: the caller's mistake, not a 503
            raise BadInput([(("query", e.field), e.problem)]) from None
        if fmt == "png":
            data = self.raster.png(data, token.check if token is not None else None)
        return Body.of(data, MEDIA_TYPES[fmt])

    def stats(self) -> dict[str, Any]:
        """Every cache's entries, bytes and share; `memory`: their sums (the shares sum to <= memory_bytes)."""
        share = self.shares
        caches = {
            "ids": self._refs.stats(),
            "runs": {**self._runs.stats(share["runs"]), "traced_bytes": self._traced_bytes()},
            "bodies": self._bodies.stats(),
            "profiles": self._profiles.stats(),
            "labels_sizes": self._labels_sizes.stats(),
            "failures": self._failures.stats(),
            "layouts": self.layouts.stats(),
        }
        held = total_bytes(caches)  # with the runs in progress, which hold bytes in the runs' share
        memory = {
            **held,
            "bytes": held["bytes"] + self.compute.reserved,
            "memory_bytes": self.settings.memory_bytes,
            "caches": {name: c["bytes"] for name, c in caches.items()},
        }
        return {**caches, "memory": memory, **self.compute.stats()}

    def _traced_bytes(self) -> int:
        """Bytes of the traced steps the cached runs keep (a part of the runs' bytes)."""
        return sum(e.run.traced_count() * e.profile.snapshot_bytes for e in self._runs.values())

    def close(self) -> None:
        """At shutdown: the rasteriser's child processes go with the server."""
        self.raster.close()

    def warm_up(self) -> None:
        """Build the default Lecture 04 run, trace and draw step 0: pays the first trace's costs and dot's start."""
        scenario = get_scenario("lecture04")
        ref = self._ref(scenario, scenario.Params())
        profile = self._profiles.get_or_compute(profile_key(ref), lambda: measure(Run(ref.scenario, ref.params)))
        run = Run(scenario, ref.params)
        run.compute_history()
        entry = RunEntry(run, profile)
        self._runs.put(ref.id, entry)
        look = ("svg", "backward", "light", (), "en", None, ())  # the page's first picture, keyed as graph() keys it
        self._bodies.get_or_compute(("graph", ref.id, 0, *look), lambda: self._graph(ref, entry, 0, look, None))
