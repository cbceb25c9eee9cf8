"""Load and abuse benchmark against a real server on loopback (bounded: --seconds of abuse, then a drain).

The abuse mix, all at once: heavy creates (big runs, polled while they answer 202), abandoned requests (heavy
POSTs and GETs of big ids dropped after 0.5 s), PNGs, big batches of a big graph, small fresh runs, and cached
reads. Prints errors other than 503-with-Retry-After (goal 0), p50/p99 of cached reads during the abuse (goal
p99 <= 50 ms), p99 of small fresh runs (goal <= 2 s), and the server's peak and final RSS (goals 800 / 500 MB).
    .venv/bin/python bench/bench_load.py [--seconds 60] [--drain 75] [--setting NAME VALUE ...]
Against another checkout's server (e.g. the version before a change): PYTHONPATH=that/package/parent.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 20.0  # a request that a well-behaved client waits for; past it, it counts as an error
CUSTOM = {"w1": 0.5, "w2": 0.5, "b": 0.0}
BIG_CUSTOM = "sigmoid(w1*x) * tanh(w2*x) + sin(w1*x) * cos(w2*x) + exp(-w1*x*x) + b*x + w2*x*x - w1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of the server and all its descendants (worker processes, PNG children, dot) together.

    RSS counts the pages the processes share (torch's libraries, in the server and in every worker) once per
    process; PSS splits each shared page between its sharers: the sum is what the machine really holds."""
    rss = pss = 0
    for p in [pid, *descendants(pid)]:
        rss += _kib(f"/proc/{p}/status", "VmRSS:")
        pss += _kib(f"/proc/{p}/smaps_rollup", "Pss:")
    return rss / 1024, pss / 1024


def roles_mib(pid: int) -> dict[str, float]:
    """RSS by role (the server itself, its torch workers, everything else: PNG children, dot, the resource
    tracker): which process holds the peak."""
    out: dict[str, float] = {}
    for p in [pid, *descendants(pid)]:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        role = "server" if p == pid else "worker" if b"spawn_main" in cmd else "other"
        out[role] = out.get(role, 0.0) + _kib(f"/proc/{p}/status", "VmRSS:") / 1024
    return out


def _kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Children of every thread (a worker started from a thread is listed under that thread), recursively."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(c) for c in children.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    def note(self, kind: str, started: float, r: httpx.Response | None, error: str | None = None) -> None:
        if error is not None:
            self.errors[(kind, error)] += 1
            return
        assert r is not None
        self.statuses[(kind, r.status_code)] += 1
        refused = r.status_code == 503 and "retry-after" in r.headers  # the server is full, and says when to retry
        if r.status_code >= 500 and not refused:
            self.errors[(kind, r.status_code)] += 1
        elif r.status_code < 300:
            self.latencies.setdefault(kind, []).append(time.perf_counter() - started)


def heavy_bodies(rng: random.Random) -> dict:
    lr = round(rng.uniform(0.001, 0.01), 6)
    return rng.choice(
        [
            {"scenario": "lecture04", "params": {"epochs": 10_000, "lr": lr}},
            {"scenario": "quadratic", "params": {"epochs": 10_000, "lr": lr / 10}},
            {"scenario": "custom", "params": {"epochs": 10_000, "lr": lr / 10, "model": BIG_CUSTOM, "params": CUSTOM}},
            {"scenario": "two_layer", "params": {"epochs": 5_000, "hidden": 32, "lr": lr}},
        ]
    )


async def heavy_creates(http: httpx.AsyncClient, stop: float, rng: random.Random, t: Tally, h: dict) -> None:
    """Big runs, waited for: a 202 is polled (as the page does) a few times, then left."""
    while time.monotonic() < stop:
        start = time.perf_counter()
        try:
            r = await http.post("/api/runs", json=heavy_bodies(rng), headers=h)
            t.note("heavy", start, r)
            if r.status_code == 202:
                for _ in range(rng.randint(1, 5)):
                    await asyncio.sleep(1)
                    s0 = time.perf_counter()
                    t.note("status", s0, await http.get(r.headers["location"], headers=h))
            elif r.status_code == 503:
                await asyncio.sleep(float(r.headers.get("retry-after", 1)))
        except httpx.HTTPError as e:
            t.note("heavy", start, None, type(e).__name__)


async def abandoned(base: str, stop: float, rng: random.Random, t: Tally) -> None:
    """Heavy POSTs dropped by their client after 0.5 s (the flood of the issue)."""
    # One abusive address (the server trusts X-Real-IP from loopback, as from nginx): its share is bounded.
    async with httpx.AsyncClient(base_url=base, timeout=0.5, headers={"x-real-ip": "10.0.0.66"}) as http:
        while time.monotonic() < stop:
            try:
                r = await http.post("/api/runs", json=heavy_bodies(rng))
                t.statuses[("abandoned", r.status_code)] += 1
                if r.status_code >= 500 and not (r.status_code == 503 and "retry-after" in r.headers):
                    t.errors[("abandoned", r.status_code)] += 1
            except httpx.TimeoutException:
                t.statuses[("abandoned", "dropped")] += 1
            except httpx.HTTPError as e:
                t.errors[("abandoned", type(e).__name__)] += 1
            await asyncio.sleep(0.1)


async def reads(
    http: httpx.AsyncClient, kind: str, urls: list[str], stop: float, rng: random.Random, t: Tally, h: dict
) -> None:
    while time.monotonic() < stop:
        start = time.perf_counter()
        try:
            r = await http.get(rng.choice(urls), headers=h)
            t.note(kind, start, r)
            if r.status_code in (202, 503):
                await asyncio.sleep(1)
        except httpx.HTTPError as e:
            t.note(kind, start, None, type(e).__name__)


async def small_runs(http: httpx.AsyncClient, stop: float, rng: random.Random, t: Tally, h: dict) -> None:
    while time.monotonic() < stop:
        body = {"scenario": "lecture04", "params": {"epochs": 1, "lr": round(rng.uniform(0.001, 0.1), 8)}}
        start = time.perf_counter()
        try:
            t.note("small", start, await http.post("/api/runs", json=body, headers=h))
        except httpx.HTTPError as e:
            t.note("small", start, None, type(e).__name__)
        await asyncio.sleep(0.2)


async def prepare(http: httpx.AsyncClient) -> tuple[list[str], list[str], list[str]]:
    """Cached URLs (read once now), PNG URLs and batch URLs of a mid-size two_layer run (computed now)."""
    cached = [f"/api/runs/lecture04/steps/{k}/graph.svg" for k in range(0, 40, 4)] + ["/api/runs/lecture04/log"]
    for url in cached:
        assert (await http.get(url)).status_code == 200, url
    body = {"scenario": "two_layer", "params": {"epochs": 2000, "hidden": 16}}
    r = await http.post("/api/runs", json=body, timeout=180)  # set-up, not measured: a loaded machine is slow
    run = r.json()["id"]
    pngs = [f"/api/runs/{run}/steps/{k}/graph.png" for k in range(0, 2000, 37)]
    batches = [f"/api/runs/{run}/steps?start={s}&stop={s + 60}" for s in range(0, 1900, 60)]
    return cached, pngs, batches


def ip(i: int) -> dict:
    """A client address of its own for each well-behaved client (X-Real-IP, trusted from loopback)."""
    return {"x-real-ip": f"10.0.1.{i}"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1e3 if values else float("nan")


async def abuse(base: str, pid: int, seconds: float, drain: float) -> None:
    t = Tally()
    rss: list[tuple[float, float]] = []
    roles: dict[str, float] = {}  # each role's own peak RSS
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=httpx.Limits(max_connections=64)) as http:
        cached, pngs, batches = await prepare(http)
        before = memory_mib(pid)
        stop = time.monotonic() + seconds
        rng = random.Random

        async def sample() -> None:
            while time.monotonic() < stop + drain:
                rss.append(memory_mib(pid))
                for role, mib in roles_mib(pid).items():
                    roles[role] = max(roles.get(role, 0.0), mib)
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(
            *(heavy_creates(http, stop, rng(i), t, ip(i)) for i in range(4)),
            *(abandoned(base, stop, rng(10 + i), t) for i in range(4)),
            *(reads(http, "png", pngs, stop, rng(20 + i), t, ip(20 + i)) for i in range(2)),
            *(reads(http, "batch", batches, stop, rng(30 + i), t, ip(30 + i)) for i in range(2)),
            *(reads(http, "cached", cached, stop, rng(40 + i), t, ip(40 + i)) for i in range(4)),
            *(small_runs(http, stop, rng(50 + i), t, ip(50 + i)) for i in range(2)),
        )
        await asyncio.sleep(drain)  # the abuse is over: what is left running should stop, memory come back
        final = memory_mib(pid)
        held = (await http.get("/readyz")).json()["checks"].get("memory", {}).get("detail")
        await sampler
    print(f"abuse {seconds:.0f} s, then {drain:.0f} s quiet; loopback; 18 clients")
    print(f"errors other than 503 with Retry-After: {sum(t.errors.values())}  {dict(t.errors) or ''}")
    print(f"{'kind':9}{'ok':>7}{'p50 ms':>10}{'p99 ms':>10}")
    for kind in ("cached", "small", "heavy", "status", "png", "batch"):
        values = t.latencies.get(kind, [])
        med = statistics.median(values) * 1e3 if values else float("nan")
        print(f"{kind:9}{len(values):7}{med:10.1f}{pct(values, 0.99):10.1f}")
    print("statuses:", dict(sorted(t.statuses.items(), key=str)))
    for i, what in enumerate(("RSS", "PSS")):
        peak = max((m[i] for m in rss), default=float("nan"))
        print(f"server {what} MiB (with its processes): before {before[i]:.0f}, peak {peak:.0f}, final {final[i]:.0f}")
    if held:
        caches = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(held["caches"].items()) if v >= 2**20)
        print(
            f"at the end the server's caches hold {held['bytes'] / 2**20:.0f} MiB of its memory_bytes "
            f"{held['memory_bytes'] / 2**20:.0f} ({caches}); its own RSS {held['rss_bytes'] / 2**20:.0f} MiB"
        )
    print("peak RSS by role (each at its own peak) MiB:", ", ".join(f"{r} {m:.0f}" for r, m in sorted(roles.items())))
    print("goals: errors 0, cached p99 <= 50 ms, small p99 <= 2000 ms, peak <= 800 MB, final <= 500 MB")


def _setting_args(pairs: list[list[str]]) -> list[str]:
    return [arg for name, value in pairs for arg in ("--setting", name, value)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    # longer than the server's worker_idle_s (60 s): its idle worker exits and the server is back to its own size
    parser.add_argument("--drain", type=float, default=75)
    parser.add_argument(
        "--setting", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="passed on to `serve`"
    )
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_lens", "serve", "--port", str(port), *_setting_args(args.setting)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(abuse(base, proc.pid, args.seconds, args.drain))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
