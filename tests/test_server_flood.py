"""The abandoned flood in miniature, on a real server (uvicorn on a loopback port, so clients really hang up):
12 heavy POSTs dropped after 0.5 s. A fresh small run still answers at once, the abandoned work stops within
about a second, and nothing is left behind (jobs, lane places, reserved bytes, cached partial runs)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn
from backprop_lens.web import Settings, create_app
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """uvicorn in a thread of this process: the test can look inside the app while it serves."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def idle(app: FastAPI) -> bool:
    compute = app.state.store.compute
    lanes = compute.stats()["lanes"].values()
    return not compute.jobs and compute.reserved == 0 and all(lane["inside"] == 0 for lane in lanes)


async def flood(base: str, count: int) -> list[str]:
    """`count` heavy POSTs at once, each dropped by its client after 0.5 s: what each one got."""

    async def one(i: int) -> str:
        body = {"scenario": "lecture04", "params": {"epochs": 10_000, "lr": 0.001 + i * 1e-5}}
        try:
            async with httpx.AsyncClient(timeout=0.5) as c:
                r = await c.post(f"{base}/api/runs", json=body)
        except httpx.TimeoutException:
            return "dropped"
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        return "503"

    return await asyncio.gather(*(one(i) for i in range(count)))


def test_an_abandoned_flood_stops_and_leaves_nothing_behind():
    settings = Settings(
        warm_up=False, heavy_running=1, heavy_queued=2, max_per_client=12, async_cost=10**9, light_cost=5_000
    )
    app = create_app(settings)
    store = app.state.store
    with running(app) as base:
        # The profile of this configuration (its first step) is measured once, before the flood.
        assert httpx.post(f"{base}/api/runs", json={"scenario": "lecture04", "params": {"epochs": 1}}).status_code
        got = asyncio.run(flood(base, 12))
        dropped_at = time.monotonic()
        assert got.count("dropped") == 3 and got.count("503") == 9, got  # 1 computing + 2 queued, the rest refused
        # A fresh small run answers at once, while the abandoned work winds down.
        t0 = time.monotonic()
        small = httpx.post(f"{base}/api/runs", json={"scenario": "quadratic", "params": {"epochs": 1, "lr": 0.02}})
        assert small.status_code == 201 and time.monotonic() - t0 < 2.0
        while not idle(app) and time.monotonic() - dropped_at < 5:
            time.sleep(0.02)
        stopped_after = time.monotonic() - dropped_at
        assert idle(app), store.stats()
        assert stopped_after < 1.5, f"abandoned work went on for {stopped_after:.2f} s"
        assert store.compute.cancelled == 3  # the running one mid-loop, the queued ones before starting
        # No partial run was kept: only the two small runs are cached.
        assert store.stats()["runs"]["entries"] == 2
        # The same heavy run, asked for again by a client that waits, starts over and completes.
        r = httpx.post(f"{base}/api/runs", json={"scenario": "lecture04", "params": {"epochs": 3_000}}, timeout=60)
        assert r.status_code == 201 and r.json()["steps"] == 9_000
