"""Every cache weighs its entries in bytes and keeps to its share of `memory_bytes` (issue 15).

The lower bounds on what a cache holds are measured here with `sys.getsizeof` of its keys (the standard library,
not our own weighing), so a cache that kept more than its share would fail whatever its own accounting says.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

import httpx
import pytest
from backprop_lens.render import layout as layout_mod
from backprop_lens.render.cache import LayoutCache
from backprop_lens.render.view import make_view
from backprop_lens.runid import encode_run_id
from backprop_lens.scenarios import get_scenario
from backprop_lens.snapshot import Graph, Node
from backprop_lens.web.caching import LruCache
from backprop_lens.web.profile import approx_bytes

CACHES = ("ids", "runs", "bodies", "profiles", "labels_sizes", "failures", "layouts")


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def lecture04_id(**changes) -> str:
    defaults = get_scenario("lecture04").Params().model_dump()
    return encode_run_id("lecture04", {**defaults, **changes}, defaults)


async def created(c: httpx.AsyncClient, body: dict) -> dict:
    """POST a run and wait until it is computed (a big one may be accepted with 202 and computed meanwhile)."""
    r = await c.post("/api/runs", json=body)
    assert r.status_code in (201, 202), r.text
    for _ in range(600):
        status = (await c.get(f"/api/runs/{r.json()['id']}/status")).json()
        if status["state"] == "done":
            return r.json()
        assert status["state"] != "failed", status
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done: {status}")


def chain(n: int) -> Graph:
    """A graph of n data nodes in a row: a distinct topology (so a distinct layout) for each n."""
    nodes = tuple(Node(id=f"n{i}", kind="data", name=f"x{i}") for i in range(n))
    return Graph(nodes, ())


# -- the LRU ---------------------------------------------------------------------------------------------------


def test_lru_weighs_keys_too():
    """Tiny values under big keys: a bound on bytes must count the keys, or it holds far more than it says."""
    cache: LruCache[str, int] = LruCache(10_000, max_weight=20_000, weigh=lambda _v: 0, weigh_key=sys.getsizeof)
    keys = [f"{i:06d}" + "k" * 1000 for i in range(200)]
    for k in keys:
        cache.put(k, 1)
    held = [k for k in keys if cache.get(k) is not None]
    assert 0 < len(held) < 200
    assert sum(sys.getsizeof(k) for k in held) <= cache.weight <= 20_000


# -- the store's caches ----------------------------------------------------------------------------------------


async def test_the_id_cache_keeps_to_its_share_of_memory(app_factory):
    memory = 1_000_000
    app = app_factory(memory_bytes=memory)
    store = app.state.store
    async with client_of(app) as c:
        for i in range(400):  # distinct ids, resolved (no computation: the source route only reads the id)
            assert (await c.get(f"/api/runs/{lecture04_id(lr=0.001 + i * 1e-5)}/source")).status_code == 200
    held = [k for k, _ in store._refs._data.items()]
    assert 0 < len(held) < 400, "the id cache should have evicted some of 400 ids"
    ids = store.stats()["ids"]
    assert sum(sys.getsizeof(k) for k in held) <= ids["bytes"] <= ids["max_bytes"] < memory


async def test_the_profile_memo_keeps_to_its_share_of_memory(app_factory):
    """Profiles are memoised per structure: runs of 1..40 data points measure 40 distinct profiles."""
    memory = 1_000_000
    app = app_factory(memory_bytes=memory, body_cache_bytes=memory // 40, max_per_client=8)
    store = app.state.store
    async with client_of(app) as c:
        for n in range(1, 41):
            params = {"epochs": 1, "x": [float(i + 1) for i in range(n)], "y": [2.0 * (i + 1) for i in range(n)]}
            r = await c.post("/api/runs", json={"scenario": "lecture04", "params": params})
            assert r.status_code == 201, r.text
    held = [k for k, _ in store._profiles._data.items()]
    assert 0 < len(held) < 40
    profiles = store.stats()["profiles"]
    assert sum(sys.getsizeof(k) for k in held) <= profiles["bytes"] <= profiles["max_bytes"] < memory


def test_layouts_keep_to_their_bytes_and_count_their_fragments(monkeypatch):
    monkeypatch.setattr(layout_mod, "compute_layout", lambda view, rankdir=None, style=None: fake_layout(view))
    cache = LayoutCache(maxsize=1000, max_bytes=60_000, weigh=approx_bytes)
    layouts = [cache.get(chain(n)) for n in range(1, 60)]  # 59 distinct topologies
    assert 0 < len(cache) < 59 and cache.nbytes <= 60_000
    assert sum(approx_bytes(lay) for lay in layouts[-len(cache) :]) <= 60_000
    # The SVG writer fills a kept layout's fragments after the fact: the cache counts that growth and evicts.
    newest = layouts[-1]
    before = cache.nbytes
    newest.fragments[("frame", "n0", "light")] = "<g>" + "x" * 20_000 + "</g>"
    assert cache.nbytes >= before + 20_000
    kept = len(cache)
    assert cache.get(chain(59)) is newest  # a hit: the bound is checked again
    assert len(cache) < kept and cache.nbytes <= 60_000


def test_a_layout_bigger_than_its_cache_is_answered_not_kept(monkeypatch):
    monkeypatch.setattr(layout_mod, "compute_layout", lambda view, rankdir=None, style=None: fake_layout(view))
    cache = LayoutCache(max_bytes=100, weigh=approx_bytes)
    assert cache.get(chain(3)).key == make_view(chain(3)).key
    assert len(cache) == 0 and cache.nbytes == 0


def fake_layout(view) -> layout_mod.Layout:
    boxes = {n.id: layout_mod.Box(0.0, 0.0, 10.0, 10.0) for n in view.graph.nodes}
    return layout_mod.Layout(view.key, "LR", 10.0, 10.0, boxes, ())


async def test_a_layout_bigger_than_its_share_is_not_kept_and_the_picture_still_answers(app_factory):
    memory = 40_000  # layouts get 1/16: 2.5 KB, less than Lecture 04's layout
    app = app_factory(memory_bytes=memory, body_cache_bytes=1_000)
    async with client_of(app) as c:
        r = await c.get(f"/api/runs/{lecture04_id(epochs=1)}/steps/0/graph.svg")
    assert r.status_code == 200 and r.content.startswith(b"<?xml")
    assert len(app.state.store.layouts) == 0  # larger than its share
    assert app.state.store.stats()["layouts"]["bytes"] == 0


async def test_a_run_keeps_its_traced_steps_within_its_share_and_stays_cached(app_factory):
    """Tracing every step of a 1,200-step run: the run keeps only what fits, so it is never dropped whole (which
    would recompute its history on the next request)."""
    memory = 8_200_000
    app = app_factory(memory_bytes=memory, body_cache_bytes=memory // 40, max_per_client=8)
    store = app.state.store
    async with client_of(app) as c:
        run = await created(c, {"scenario": "lecture04", "params": {"epochs": 400}})
        losses = []
        for start in range(0, 1200, 200):
            r = await c.get(f"/api/runs/{run['id']}/steps", params={"start": start, "stop": start + 200})
            assert r.status_code == 200, r.text
            assert [s["step"] for s in r.json()] == list(range(start, start + 200))
            losses += [s["loss"] for s in r.json()]
        assert losses == pytest.approx(lecture04_losses(400), rel=1e-6)  # batches larger than what a run keeps
        # Dropped once its traced steps outgrew the share, it would be computed again by the next batch.
        assert store.compute.started == 1, "the run was dropped and its history computed again"
        stats = store.stats()
        assert stats["runs"]["entries"] == 1
        assert 0 < stats["runs"]["traced_bytes"] <= stats["runs"]["max_bytes"] // 4
        assert stats["runs"]["bytes"] <= stats["runs"]["max_bytes"]
        assert (await c.get(f"/api/runs/{run['id']}/steps/0")).status_code == 200  # evicted: traced again
    assert store.compute.started == 1


def lecture04_losses(epochs: int) -> list[float]:
    """The lecture's loop in plain PyTorch: the loss of every step."""
    import torch

    w = torch.tensor([1.0], requires_grad=True)
    out = []
    for _ in range(epochs):
        for x, y in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], strict=True):
            loss = (x * w - y) ** 2
            loss.backward()
            out.append(loss.item())
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
    return out


# -- the budget as a whole -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "bodies"), [(320 * 2**20, 64 * 2**20), (8_200_000, 200_000), (1_000_000, 4_000_000), (4096, 4096)]
)
def test_the_shares_sum_to_at_most_memory_bytes(app_factory, memory, bodies):
    stats = app_factory(memory_bytes=memory, body_cache_bytes=bodies).state.store.stats()
    shares = [stats[name]["max_bytes"] for name in CACHES]
    assert all(s is not None and s > 0 for s in shares), shares
    assert sum(shares) == stats["memory"]["max_bytes"] <= memory


async def test_stats_report_every_cache_in_bytes(app_factory):
    app = app_factory(memory_bytes=8_200_000, body_cache_bytes=205_000)
    store = app.state.store
    async with client_of(app) as c:
        run = (await c.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 2}})).json()
        assert (await c.get(f"/api/runs/{run['id']}/steps/0/graph.svg")).status_code == 200
        assert (await c.get(f"/api/runs/{run['id']}/labels", params={"start": 0, "stop": 2})).status_code == 200
    stats = store.stats()
    for name in CACHES:
        assert set(stats[name]) >= {"entries", "bytes", "max_bytes"}, name
        assert 0 <= stats[name]["bytes"] <= stats[name]["max_bytes"], name
    for name in ("ids", "runs", "bodies", "profiles", "labels_sizes", "layouts"):
        assert stats[name]["entries"] > 0 and stats[name]["bytes"] > 0, name
    # the drawn SVG's pieces are counted with the layout that holds them
    layout = next(iter(store.layouts._items.values()))
    assert layout.fragments and stats["layouts"]["bytes"] >= layout.fragments.nbytes > 0
    assert layout.fragments.nbytes >= sum(len(v) for v in layout.fragments.values() if isinstance(v, str))
    total = sum(stats[name]["bytes"] for name in CACHES) + store.compute.reserved
    assert stats["memory"]["bytes"] == total <= stats["memory"]["max_bytes"] <= 8_200_000


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_history_keeps_one_copy_of_what_repeats_from_step_to_step(optimizer):
    """Memory of a long run: a step's `before` is the list of the step before's `after` (equal values), its
    `grad_step` is its `grad` (zero_grad on), and every step's options and formula are one object. The values
    themselves are PyTorch's: checked against a plain full-batch loop of the same net."""
    import torch
    from backprop_lens.scenarios import Run, validate_params
    from backprop_lens.scenarios.batch import make_optimizer, seeded

    scenario = get_scenario("two_layer")
    params = validate_params(scenario, {"epochs": 6, "hidden": 4, "optimizer": optimizer}, strict=True)
    steps = Run(scenario, params).compute_history().steps
    for prev, step in itertools.pairwise(steps):
        for name, state in step.params.items():
            assert state.before is prev.params[name].after
            assert state.grad_step is state.grad
            assert state.update.hyper is prev.params[name].update.hyper
            assert state.update.formula is prev.params[name].update.formula
    with seeded(params.seed):  # the same net, trained by hand: the shared lists hold PyTorch's numbers
        setup = scenario.build(params)
    named = dict(setup.model.named_parameters())
    opt = make_optimizer(optimizer, named.values(), params.lr)
    for step in steps:
        assert {n: t.tolist() for n, t in named.items()} == {n: s.before for n, s in step.params.items()}
        opt.zero_grad()
        torch.nn.functional.mse_loss(setup.model(setup.x), setup.y).backward()
        opt.step()
        assert {n: t.tolist() for n, t in named.items()} == {n: s.after for n, s in step.params.items()}


def test_a_per_sample_history_keeps_one_copy_of_what_repeats():
    """Lecture 04's loop: `before` is the step before's `after` list, `grad_step` is `grad`, and a sample's
    inputs are one dict for every epoch; the values are the lecture's (a plain loop computes them here)."""
    import torch
    from backprop_lens.scenarios import Run, validate_params

    scenario = get_scenario("lecture04")
    steps = Run(scenario, validate_params(scenario, {"epochs": 4}, strict=True)).compute_history().steps
    for prev, step in itertools.pairwise(steps):
        assert step.params["w"].before is prev.params["w"].after
        assert step.params["w"].grad_step is step.params["w"].grad
    assert steps[0].inputs is steps[3].inputs and steps[0].inputs == {"x": 1.0, "y": 2.0}
    w = torch.tensor([1.0], requires_grad=True)
    for step in steps:  # the lecture's loop, by hand
        assert step.params["w"].before == w.tolist()
        x, y = step.inputs["x"], step.inputs["y"]
        ((x * w - y) ** 2).backward()
        assert step.params["w"].grad == w.grad.tolist()
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
        assert step.params["w"].after == w.tolist()
