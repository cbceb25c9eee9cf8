"""The web app's settings: one explicit, immutable object passed to `create_app` (no globals, no env magic)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any


def package_files(name: str) -> Path:
    """The folder of the page's files shipped inside the package (`static`, `templates`).

    They are package data of `backprop_lens` (pyproject.toml maps the repository's top-level folders into it), so
    the same lookup finds them in a wheel's site-packages and in an editable install of the checkout.
    """
    return Path(str(resources.files(f"backprop_lens.{name}")))


@dataclass(frozen=True, slots=True)
class Settings:
    title: str = "backprop-lens"
    # One budget in bytes for what the process keeps and builds: cached runs (history and traced steps), runs in
    # progress, and the body cache below (carved out of it). The interpreter, torch and the page take ~300 MB more.
    memory_bytes: int = 320 * 1024 * 1024
    run_cache_entries: int = 16
    # Response bodies that are pure functions of the URL (images, step JSON, summaries, logs), bounded by bytes.
    body_cache_entries: int = 8192
    body_cache_bytes: int = 64 * 1024 * 1024
    # Decoded, validated run ids (cheap, but they are asked for on every request).
    id_cache_entries: int = 4096
    max_body_bytes: int = 64 * 1024
    max_batch_steps: int = 500
    max_batch_bytes: int = 8 * 1024 * 1024  # a batch of steps is bounded in bytes too (big graphs: fewer steps)
    # What one run may cost: steps x graph size (nodes of one step). Lecture 04 at 100,000 steps is 600,000.
    max_cost: int = 1_500_000
    # Work up to this cost takes the light lane (never behind heavy work) and computes in the server; costlier
    # work takes the heavy lane, and a worker process (worker_cost below) for histories and long replays.
    light_cost: int = 5_000
    async_cost: int = 150_000  # runs above it are accepted with 202 and report progress
    # Admission: computations at once and waiting, per lane; one client address's share of a lane.
    light_running: int = 2
    light_queued: int = 32
    heavy_running: int = 2  # one waits on the worker (a replay), one computes here (labels, pictures of traced steps)
    heavy_queued: int = 4
    png_running: int = 1
    png_queued: int = 2  # a PNG takes seconds: a longer queue would only make clients time out
    max_per_client: int = 2  # heavy and PNG work of one client address at once (light work: half its lane)
    # Worker processes for big runs' histories: training holds the GIL, and in the server's threads it starved the
    # event loop (cached reads, health). Each worker imports torch (~300 MB RSS, ~3 s: started with the app, warm)
    # and is niced so the server wins the CPU. 0: every run computes in a thread of the server. One by default: a
    # second doubles what the workers hold for little on two cores; more cores, more processes behind nginx.
    worker_processes: int = 1
    worker_idle_s: float | None = 60.0  # a worker without a task this long exits (the next task starts one)
    worker_cost: int = 5_000  # runs costing more go to a worker; cheaper ones are faster here than a round trip
    worker_niceness: int = 10  # added to the workers' nice value (os.nice)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")  # whose X-Real-IP names the client (nginx in front)
    retry_after_s: int = 2  # Retry-After of a 503
    queue_wait_s: float = 10.0  # a request waiting longer for a slot gets a 503 (not its client's timeout)
    # A run waited for and still computing after this answers 202 (it goes on, kept alive by status polls); a body
    # (step, batch, image) answers 503 + Retry-After and goes on for abandon_s: its retry waits for the same work.
    answer_s: float = 12.0
    deadline_s: float = 120.0  # a computation running longer is cancelled
    abandon_s: float = 10.0  # a 202 run nobody asked about (status or parts) for this long is cancelled
    static_dir: Path = field(default_factory=lambda: package_files("static"))
    templates_dir: Path = field(default_factory=lambda: package_files("templates"))
    # Build the default run, trace and draw one step at start-up: the first request does not pay the first trace's
    # and Graphviz's start-up.
    warm_up: bool = True
    # `serve --recording`: a recording's JSON, shown read-only at /recording (data only: nothing in it runs).
    recording: Path | None = None


# -- settings from the command line (`serve --setting NAME VALUE`) ----------------------------------------------
# Every setting an operator may tune from `serve`; the rest (folders, the recording, the title) have their own
# options or none.
# a tunable setting's type, as its field spells it -> how an error names what its value must be
TUNABLE = {
    "int": "a whole number",
    "float": "a number",
    "float | None": "a number or none",
    "bool": "true or false",
    "tuple[str, ...]": "a list",
}
_BINARY = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
SETTINGS_ENV = "BACKPROP_LENS_SETTINGS"  # `serve --workers N`: each server process reads the same settings here


def tunable() -> dict[str, str]:
    """Setting name -> its type's spelling, for the settings `serve --setting` takes."""
    return {f.name: str(f.type) for f in fields(Settings) if str(f.type) in TUNABLE}


class SettingError(ValueError):
    """A `--setting` that names no setting or whose value is not of its type: the words say which and why."""


def parse_setting(name: str, text: str) -> Any:
    """The value of setting `name` from its text: ints (`_` allowed; `256MiB` for a `*_bytes`), floats, `none`
    where a setting may be None, booleans (true/false), comma-separated lists."""
    kind = tunable().get(name)
    if kind is None:
        raise SettingError(f"setting {name}: no such setting (one of: {', '.join(sorted(tunable()))})")
    text = text.strip()
    try:
        if kind == "float | None" and text.lower() == "none":
            return None
        if kind == "bool":
            return _BOOLS[text.lower()]
        if kind == "tuple[str, ...]":
            return tuple(part.strip() for part in text.split(",") if part.strip())
        value: float = _number(name, text, int if kind == "int" else float)
    except (KeyError, ValueError):
        raise SettingError(f"setting {name}: {text!r} is not {TUNABLE[kind]}") from None
    if value < 0 or (name.endswith("_running") and value < 1):
        raise SettingError(f"setting {name}: {text!r} is {'negative' if value < 0 else 'less than 1'}")
    return value


def _number(name: str, text: str, kind: type[int] | type[float]) -> float:
    for suffix, factor in _BINARY.items():
        if name.endswith("_bytes") and text.endswith(suffix):
            return kind(float(text[: -len(suffix)]) * factor)
    return kind(text)


def with_settings(base: Settings, pairs: Iterable[tuple[str, str]]) -> Settings:
    """`base` with each (name, text) applied: what `serve --setting NAME VALUE` runs."""
    changes = {name: parse_setting(name, text) for name, text in pairs}
    return replace(base, **changes)


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """The settings `serve --workers N` handed its server processes: `[[name, text], ...]` as JSON."""
    return with_settings(Settings(), [(name, text) for name, text in json.loads(environ.get(SETTINGS_ENV, "[]"))])
