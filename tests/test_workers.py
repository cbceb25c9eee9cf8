"""Big runs' histories and long replays compute in worker processes (app/web/workers.py): the same bytes as in
process, progress through the shared counter, cancelled through the shared flag (the worker is free again), and
a killed worker fails its run with a clear 503 while the next run gets a fresh worker."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest
from fastapi import FastAPI

SMALL = {"scenario": "lecture04", "params": {"epochs": 40, "lr": 0.02}}  # 120 steps
NET = {"scenario": "two_layer", "params": {"epochs": 120, "hidden": 4}}  # cannot resume: replays from step 0
ENDLESS = {"scenario": "quadratic", "params": {"epochs": 10_000}}  # 30,000 steps: seconds, long enough to stop


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=120)


async def warm(app: FastAPI) -> list[int]:
    """The app's workers started and warm (torch imported): their pids."""
    pool = app.state.store.compute.workers
    pool.start()
    for _ in range(1200):
        if len(pool.pids()) == pool.size:
            return pool.pids()
        await asyncio.sleep(0.1)
    raise AssertionError("the workers did not start")


async def parts(c: httpx.AsyncClient, body: dict, batch: tuple[int, int]) -> list[bytes]:
    r = await c.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    run = f"/api/runs/{r.json()['id']}"
    urls = [run, f"{run}/log", f"{run}/steps/7", f"{run}/steps?start={batch[0]}&stop={batch[1]}"]
    got = [await c.get(url) for url in urls]
    assert [g.status_code for g in got] == [200] * 4, [g.text[:200] for g in got]
    return [g.content for g in got]


@pytest.mark.parametrize(("body", "batch"), [(SMALL, (60, 70)), (NET, (100, 110))])
async def test_a_run_computed_in_a_worker_has_the_bytes_of_one_computed_here(app_factory, body, batch):
    here = app_factory(worker_processes=0)
    there = app_factory(worker_processes=1, worker_cost=0)  # everything that can go to a worker does
    await warm(there)
    async with client_for(here) as a, client_for(there) as b:
        mine, theirs = await parts(a, body, batch), await parts(b, body, batch)
    # summary (the history), log, a step (traced here from the worker's history), a batch (traced there)
    assert mine == theirs
    assert there.state.store.compute.workers.stats()["tasks"] == 2  # the history and the batch's replay
    assert here.state.store.compute.workers.stats()["tasks"] == 0


async def wait_running(app: FastAPI, c: httpx.AsyncClient, status_url: str) -> dict:
    """Poll a 202 run's status (as the page does) until its loop has done steps in the worker."""
    for _ in range(600):
        s = (await c.get(status_url)).json()
        if s["state"] == "running" and s["steps_done"] > 0:
            return s
        assert s["state"] in ("queued", "running"), s
        await asyncio.sleep(0.05)
    raise AssertionError("the run did not start")


async def test_a_dropped_run_stops_in_its_worker_and_the_worker_is_free_again(app_factory):
    app = app_factory(worker_processes=1, worker_cost=0, async_cost=1_000, light_cost=1_000, abandon_s=0.5)
    pids = await warm(app)
    compute = app.state.store.compute
    async with client_for(app) as c:
        r = await c.post("/api/runs", json=ENDLESS)
        assert r.status_code == 202, r.text
        first = await wait_running(app, c, r.headers["location"])  # progress comes through the shared counter
        later = await wait_running(app, c, r.headers["location"])
        assert later["steps_done"] >= first["steps_done"]
        job = compute.jobs[r.json()["id"]]
        left = time.monotonic()  # nobody asks any more: 0.5 s later the flag is set, the loop stops at its step
        while compute.jobs and time.monotonic() - left < 20:
            await asyncio.sleep(0.05)
        assert not compute.jobs and job.state == "failed" and "nobody" in str(job.error), job.status()
        assert 0 < job.token.steps_done < job.steps
        assert compute.reserved == 0 and compute.cancelled == 1
        # The same worker (not killed: it stopped its loop) computes the next run.
        done = await c.post("/api/runs", json=SMALL)
        assert done.status_code == 201, done.text
        assert compute.workers.pids() == pids and compute.workers.stats()["tasks"] == 2


async def test_a_killed_worker_fails_its_run_with_a_clear_503_and_the_next_run_succeeds(app_factory):
    app = app_factory(worker_processes=1, worker_cost=0, async_cost=10**9, light_cost=1_000, retry_after_s=4)
    (pid,) = await warm(app)
    compute = app.state.store.compute
    async with client_for(app) as c:
        waited = asyncio.create_task(c.post("/api/runs", json=ENDLESS))  # waited for (not a 202)
        for _ in range(600):
            job = next(iter(compute.jobs.values()), None)
            if job is not None and job.token.steps_done > 0:
                break
            await asyncio.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        r = await waited
        assert r.status_code == 503 and r.headers["retry-after"] == "4", r.text
        assert "worker process" in r.json()["message"] and "-9" in r.json()["message"], r.json()
        assert not compute.jobs and compute.reserved == 0
        # A fresh worker takes its place; the next run is computed there.
        again = await c.post("/api/runs", json=SMALL)
        assert again.status_code == 201, again.text
        assert compute.workers.pids() not in ([], [pid])
        assert compute.workers.stats() == {"size": 1, "live": 1, "tasks": 2, "died": 1, "retired": 0}


async def test_an_idle_worker_exits_and_the_next_big_run_starts_one_again(app_factory):
    """A worker holds ~300 MB (torch): after `worker_idle_s` without a task it exits, and a server whose abuse ended
    returns to its own size; the next run that needs a worker starts one and gets the same history."""
    app = app_factory(worker_processes=1, worker_cost=0, worker_idle_s=0.5)
    (pid,) = await warm(app)
    compute = app.state.store.compute
    async with client_for(app) as c:
        first = await c.post("/api/runs", json=SMALL)
        assert first.status_code == 201, first.text
        for _ in range(200):  # idle for 0.5 s: retired (the reaper looks every idle_s / 4)
            if not compute.workers.pids():
                break
            await asyncio.sleep(0.05)
        # at least once: the warm worker may already retire before the first run takes it (it then starts another)
        assert compute.workers.pids() == [] and compute.workers.stats()["retired"] >= 1
        for _ in range(100):
            if not _alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not _alive(pid)  # the process is gone, not only forgotten
        other = {"scenario": "lecture04", "params": {"epochs": 41, "lr": 0.02}}  # not cached: needs a worker
        again = await c.post("/api/runs", json=other)
        assert again.status_code == 201, again.text
        assert compute.workers.stats()["tasks"] == 2
    here = app_factory(worker_processes=0)
    async with client_for(here) as h, client_for(app) as c:
        run = f"/api/runs/{again.json()['id']}"
        assert (await h.post("/api/runs", json=other)).json()["id"] == again.json()["id"]
        assert (await h.get(run)).content == (await c.get(run)).content


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
