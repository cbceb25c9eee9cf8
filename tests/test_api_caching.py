"""Bounded caches, compute-once under concurrency, a free event loop while a run computes, the warm-up."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from backprop_lens.web.caching import LruCache


def test_lru_is_bounded_by_entries_and_weight():
    cache: LruCache[int, bytes] = LruCache(max_entries=3, max_weight=10, weigh=len)
    for k in range(5):
        cache.put(k, b"x")
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) == b"x"
    cache.put(9, b"y" * 9)
    assert cache.weight <= 10 and cache.get(9) is not None
    cache.put(10, b"z" * 11)  # larger than the whole cache: not kept
    assert cache.get(10) is None and cache.weight <= 10


def test_lru_evicts_least_recently_used():
    cache: LruCache[str, int] = LruCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.get("a") == 1 and cache.get("b") is None


def test_lru_computes_once_for_concurrent_callers():
    cache: LruCache[str, int] = LruCache(max_entries=4)
    calls = []
    started = threading.Event()

    def compute() -> int:
        calls.append(1)
        started.set()
        time.sleep(0.2)  # the others arrive while this computes
        return 42

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: cache.get_or_compute("k", compute), range(8)))
    assert results == [42] * 8 and len(calls) == 1


def test_lru_does_not_cache_failures():
    cache: LruCache[str, int] = LruCache(max_entries=4)
    with pytest.raises(ZeroDivisionError):
        cache.get_or_compute("k", lambda: 1 // 0)
    assert cache.get_or_compute("k", lambda: 7) == 7


async def test_concurrent_requests_for_a_new_run_compute_it_once(app, client):
    store = app.state.store
    body = {"scenario": "lecture04", "params": {"epochs": 50, "lr": 0.015}}
    responses = await asyncio.gather(*(client.post("/api/runs", json=body) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert store.compute.started == 1


async def test_memory_stays_bounded(app_factory):
    memory = 8_200_000  # fractions of it below: the caches' shares are fractions of the one setting
    app = app_factory(
        run_cache_entries=2, memory_bytes=memory, body_cache_entries=5, body_cache_bytes=memory // 40, max_per_client=8
    )
    store = app.state.store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        for i in range(6):
            run = (await c.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 2 + i}})).json()
            for k in range(3):
                assert (await c.get(f"/api/runs/{run['id']}/steps/{k}/graph.svg")).status_code == 200
        big = (await c.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 400}})).json()
        assert big["steps"] == 1200
        assert (await c.get(f"/api/runs/{big['id']}/steps/1199")).status_code == 200
        # A run whose history alone outweighs the budget is refused up front, naming its size.
        huge = await c.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 10_000}})
        assert huge.status_code == 422 and "MiB" in huge.json()["message"], huge.text
    stats = store.stats()
    assert stats["runs"]["entries"] <= 2 and stats["runs"]["bytes"] <= stats["runs"]["max_bytes"] < memory
    assert stats["bodies"]["entries"] <= 5 and stats["bodies"]["bytes"] <= memory // 40
    assert stats["memory"]["bytes"] <= stats["memory"]["max_bytes"] <= memory  # every cache, in progress too


async def test_the_event_loop_answers_while_a_run_computes(app, client, monkeypatch):
    release, entered = threading.Event(), threading.Event()
    scenario = app.state.store.resolve("lecture04").scenario
    real_train = type(scenario).train

    def slow_train(self, params, rec):
        if rec.trace == range(0):  # the history pass (not the one-step profile)
            entered.set()
            release.wait(30)  # a run that takes "seconds", in a worker thread
        return real_train(self, params, rec)

    monkeypatch.setattr(type(scenario), "train", slow_train)
    post = asyncio.create_task(client.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 7}}))
    while not entered.is_set():
        await asyncio.sleep(0.01)
    health = await asyncio.wait_for(client.get("/healthz"), timeout=10)
    assert health.status_code == 200
    assert not post.done()  # the run is still computing, and /healthz was answered meanwhile
    release.set()
    assert (await post).status_code == 201


async def test_warm_up_builds_the_default_run_and_draws_step_0(app_factory):
    app = app_factory(warm_up=True)
    async with app.router.lifespan_context(app):
        stats = app.state.store.stats()
        assert stats["runs"]["entries"] == 1 and stats["bodies"]["entries"] == 1
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.get("/api/runs/lecture04/steps/0/graph.svg")
        assert r.status_code == 200
        assert app.state.store._bodies.misses == 1  # served from the warm-up's cache entry


async def test_playback_one_step_at_a_time_replays_the_loop_rarely(app, client, monkeypatch):
    """Step k alone costs a replay of steps 0..k; the store traces k's whole block, so k+1 is already there."""
    from backprop_lens.web import runs

    replays = []
    scenario = app.state.store.resolve("lecture04").scenario
    real_train = type(scenario).train
    monkeypatch.setattr(type(scenario), "train", lambda self, p, rec: (replays.append(1), real_train(self, p, rec)))
    for k in range(2 * runs.TRACE_BLOCK):
        assert (await client.get(f"/api/runs/lecture04/steps/{k}/graph.svg")).status_code == 200
    assert len(replays) <= 4  # the first step alone (the run's profile), the history, then one replay per block
