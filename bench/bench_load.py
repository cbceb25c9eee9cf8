"""Load benchmark: many clients, many distinct configurations, against a real server on loopback.

32 concurrent clients for 30 seconds (bounded; stops by itself) mix run creation, step JSON and step SVG over
many distinct configurations. Reports requests/s, p50/p99 latency, errors (goal: 0) and the server's RSS
sampled through the run (goal: flat after warm-up, bounded by the caches).
    .venv/bin/python bench/bench_load.py [--clients 32] [--seconds 30] [--configs 400]
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def configs(n: int, rng: random.Random) -> list[dict]:
    """Distinct configurations, small enough that creating one is a realistic request (a few hundred steps)."""
    out = []
    for i in range(n):
        scenario = "lecture04" if i % 2 else "quadratic"
        params = {"lr": round(0.001 + 0.0001 * i, 6), "epochs": rng.randint(5, 60)}
        out.append({"scenario": scenario, "params": params})
    return out


async def client(
    http: httpx.AsyncClient,
    pool: list[dict],
    ids: list[str],
    stop: float,
    rng: random.Random,
    latencies: dict[str, list[float]],
    statuses: Counter,
) -> None:
    while time.monotonic() < stop:
        kind = rng.choices(["create", "step", "svg"], weights=[2, 4, 4])[0]
        if kind != "create" and not ids:
            kind = "create"
        start = time.perf_counter()
        try:
            if kind == "create":
                r = await http.post("/api/runs", json=rng.choice(pool))
                if r.status_code == 201:
                    ids.append(f"{r.json()['id']}|{r.json()['steps']}")
            else:
                run_id, _, count = rng.choice(ids).partition("|")
                k = rng.randrange(int(count))
                url = f"/api/runs/{run_id}/steps/{k}" + ("/graph.svg" if kind == "svg" else "")
                r = await http.get(url)
            statuses[(kind, r.status_code)] += 1
        except httpx.HTTPError as e:
            statuses[(kind, type(e).__name__)] += 1
            continue
        latencies[kind].append(time.perf_counter() - start)


async def load(base: str, pid: int, clients: int, seconds: float, n_configs: int) -> None:
    rng = random.Random(4)
    pool = configs(n_configs, rng)
    latencies: dict[str, list[float]] = {"create": [], "step": [], "svg": []}
    statuses: Counter = Counter()
    ids: list[str] = []
    rss: list[tuple[float, float]] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        # Warm-up: a few runs and their first images, so that RSS "before" is the steady server.
        for cfg in pool[:4]:
            r = await http.post("/api/runs", json=cfg)
            ids.append(f"{r.json()['id']}|{r.json()['steps']}")
            await http.get(f"/api/runs/{r.json()['id']}/steps/0/graph.svg")
        rss.append((0.0, rss_mib(pid)))
        t0 = time.monotonic()
        stop = t0 + seconds

        async def sample() -> None:
            while time.monotonic() < stop:
                await asyncio.sleep(1)
                rss.append((time.monotonic() - t0, rss_mib(pid)))

        await asyncio.gather(
            sample(), *(client(http, pool, ids, stop, random.Random(i), latencies, statuses) for i in range(clients))
        )
        elapsed = time.monotonic() - t0
    total = sum(len(v) for v in latencies.values())
    errors = sum(n for (kind, status), n in statuses.items() if not (isinstance(status, int) and status < 400))
    print(f"{clients} clients, {elapsed:.1f} s, {n_configs} distinct configurations, loopback")
    print(f"requests: {total}  ({total / elapsed:.1f}/s)   errors: {errors}")
    print(f"{'kind':8}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, values in latencies.items():
        if values:
            values.sort()
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(f"{kind:8}{len(values):8}{statistics.median(values) * 1e3:10.1f}{p99 * 1e3:10.1f}")
    print("statuses:", dict(statuses))
    trace = "  ".join(f"{t:.0f}s:{m:.0f}" for t, m in rss[:: max(1, len(rss) // 10)])
    print(f"server RSS MiB: before {rss[0][1]:.0f}, after {rss[-1][1]:.0f}, max {max(m for _, m in rss):.0f}")
    print(f"RSS over time: {trace}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--configs", type=int, default=400)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_lens", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base, proc)
        asyncio.run(load(base, proc.pid, args.clients, args.seconds, args.configs))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
