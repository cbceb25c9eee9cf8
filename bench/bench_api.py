"""API benchmark: a step's SVG against /healthz on the same real uvicorn server (loopback only).

(a) latency: the 300 step SVGs of lecture04 fetched once (warm), then a second pass timed per request, against 300
    /healthz requests on the same keep-alive connection: median, p90, ratio. Goal: SVG <= 1.5x healthz.
(b) throughput: 16 concurrent clients for a bounded time each (default 5 s, in alternating 1 s slices), SVGs
    (cycling over the 300 steps) and /healthz: requests/s, ratio. Goal: SVG >= 0.5x healthz.
The client runs on the same machine: on a small, busy machine both numbers are partly the client's.

    .venv/bin/python bench/bench_api.py [--seconds 5] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
STEPS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(start_timeout: float = 120) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_lens", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("server did not answer /healthz in time")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def timed(client: httpx.Client, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        t = time.perf_counter()
        r = client.get(url)
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise SystemExit(f"{url}: {r.status_code} {r.text[:200]}")
    return out


async def throughput(base: str, urls: list[str], clients: int, seconds: float) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    done, errors = 0, 0
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as c:
        deadline = time.monotonic() + seconds

        async def worker(offset: int) -> None:
            nonlocal done, errors
            i = offset
            while time.monotonic() < deadline:
                r = await c.get(urls[i % len(urls)])
                i += clients
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1

        start = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.monotonic() - start
    return done / elapsed, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput phase")
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()

    svgs = [f"/api/runs/lecture04/steps/{k}/graph.svg" for k in range(STEPS)]
    health = ["/healthz"] * STEPS
    with server() as base:
        with httpx.Client(base_url=base, timeout=60) as c:
            t = time.perf_counter()
            timed(c, svgs)  # first pass: computes and caches
            first_pass = time.perf_counter() - t
            timed(c, health[:50])  # warm the connection and the route
            # Interleaved (svg k, healthz, svg k+1, ...): both see the same machine load at the same moments.
            lat_health, lat_svg = [], []
            for url in svgs:
                lat_svg += timed(c, [url])
                lat_health += timed(c, ["/healthz"])
            size = len(c.get(svgs[0]).content)
        # Alternating one-second slices for the same reason; `--seconds` in total for each.
        rps = {"health": [0.0, 0], "svg": [0.0, 0]}
        slices = max(1, round(args.seconds))
        for _ in range(slices):
            for name, urls in (("health", health), ("svg", svgs)):
                r, e = asyncio.run(throughput(base, urls, args.clients, args.seconds / slices))
                rps[name][0] += r / slices
                rps[name][1] += e
        (rps_health, err_h), (rps_svg, err_s) = rps["health"], rps["svg"]

    ms = 1000
    med_h, med_s = statistics.median(lat_health) * ms, statistics.median(lat_svg) * ms
    p90_h, p90_s = percentile(lat_health, 0.9) * ms, percentile(lat_svg, 0.9) * ms
    print(f"first pass over {STEPS} step SVGs (compute + render + cache): {first_pass:.2f} s; one SVG is {size} bytes")
    print()
    print(f"{'':28}{'healthz':>12}{'step SVG':>12}{'ratio':>9}{'goal':>10}")
    print(f"{'latency median (ms)':28}{med_h:12.3f}{med_s:12.3f}{med_s / med_h:9.2f}{'<= 1.5':>10}")
    print(f"{'latency p90 (ms)':28}{p90_h:12.3f}{p90_s:12.3f}{p90_s / p90_h:9.2f}{'':>10}")
    print(
        f"{f'throughput, {args.clients} clients (req/s)':28}{rps_health:12.0f}{rps_svg:12.0f}"
        f"{rps_svg / rps_health:9.2f}{'>= 0.5':>10}"
    )
    print(f"{'errors':28}{int(err_h):12d}{int(err_s):12d}")
    ok = med_s / med_h <= 1.5 and rps_svg / rps_health >= 0.5 and err_h == err_s == 0
    print("\ngoals met" if ok else "\ngoals NOT met")


if __name__ == "__main__":
    main()
