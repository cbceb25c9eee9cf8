"""Health that tells the truth, HEAD on every GET route, Unicode parameter names, `#` in expressions, and the
temporary Graphviz folders of killed servers."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from backprop_lens.web import Settings, create_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.apps import settings_for_tests

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


async def test_readyz_reports_graphviz_png_and_the_queue(client):
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and set(body["checks"]) == {"graphviz", "png", "queue", "memory"}
    assert all(c["ok"] for c in body["checks"].values())
    memory = body["checks"]["memory"]["detail"]
    assert 0 <= memory["bytes"] <= memory["memory_bytes"] == Settings().memory_bytes
    assert memory["rss_bytes"] > 50 * 2**20  # this process: an interpreter with torch
    assert set(memory["caches"]) >= {"runs", "bodies", "layouts", "ids"}
    assert r.headers["cache-control"] == "no-store"
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_readyz_is_not_ready_without_dot(app_factory, monkeypatch):
    from backprop_lens.web import readiness

    app = app_factory()
    monkeypatch.setattr(readiness.shutil, "which", lambda name: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "not ready"
        assert r.json()["checks"]["graphviz"] == {"ok": False, "detail": "Graphviz's `dot` is not on PATH"}
        assert (await c.get("/healthz")).status_code == 200  # alive, only not ready


async def test_readyz_is_not_ready_when_the_lanes_are_full(app_factory):
    app = app_factory(light_running=1, light_queued=0)
    lane = app.state.store.compute.light
    lane.enter("someone")  # a computation in progress takes the only place
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["queue"]["detail"]["full"] == ["light"]
        lane.leave("someone")
        assert (await c.get("/readyz")).status_code == 200


HEAD_URLS = [
    "/",
    "/healthz",
    "/readyz",
    "/api/scenarios",
    "/openapi.json",
    "/docs",
    "/api/runs/lecture04",
    "/api/runs/lecture04/status",
    "/api/runs/lecture04/log",
    "/api/runs/lecture04/steps?start=0&stop=2",
    "/api/runs/lecture04/steps/1",
    "/api/runs/lecture04/steps/1/graph.svg",
    "/api/runs/lecture04/steps/1/graph.dot",
]


@pytest.mark.parametrize("url", HEAD_URLS)
async def test_head_answers_like_get_without_a_body(client, url):
    get = await client.get(url)
    head = await client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("content-type", "etag", "cache-control", "content-security-policy", "x-content-type-options"):
        assert head.headers.get(name) == get.headers.get(name), name
    if "content-length" in get.headers:
        assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


async def test_head_on_a_static_file_and_a_missing_route(client):
    assert (await client.head("/static/js/app.js")).status_code in (200, 404)
    missing = await client.head("/no/such/route")
    assert missing.status_code == 404 and missing.content == b""


APP = create_app(settings_for_tests())

# Names that str.isdigit() calls digits (superscripts, circled numbers) crashed the error formatter once.
UNICODE_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.sampled_from(["¹", "①", "²³", "٣", "Ⅻ", "x.¹", "0", "1e3"]), UNICODE_NAMES))
def test_any_unknown_parameter_name_is_a_422_naming_it(name):
    from starlette.testclient import TestClient

    with TestClient(APP) as c:
        r = c.post("/api/runs", json={"scenario": "lecture04", "params": {name: 1}})
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == [name]
    assert r.json()["message"].startswith(f"{name}: ")


async def test_a_hash_comment_in_an_expression_is_refused(client):
    r = await client.post("/api/runs", json={"scenario": "custom", "params": {"model": "w1*x + b  # anything"}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "model" and "`#`" in r.json()["message"]
    assert "column 11" in r.json()["message"]


def test_stale_graphviz_folders_are_removed_and_live_ones_kept(tmp_path):
    from backprop_lens.web.server import clean_stale_tempdirs

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    (tmp_path / f"backprop-lens-graphviz-{dead_pid}-abc").mkdir()
    (tmp_path / f"backprop-lens-graphviz-{os.getppid()}-def").mkdir()  # a live process (our parent)
    (tmp_path / f"backprop-lens-graphviz-{os.getpid()}-ghi").mkdir()  # ours
    old = tmp_path / "backprop-lens-graphviz-xyz"  # an older version's folder: no pid, removed once old
    old.mkdir()
    os.utime(old, (0, 0))
    (tmp_path / "unrelated").mkdir()
    assert clean_stale_tempdirs(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"backprop-lens-graphviz-{os.getppid()}-def", f"backprop-lens-graphviz-{os.getpid()}-ghi", "unrelated"]
    )


def test_serve_without_dot_prints_one_line(monkeypatch, capsys):
    import uvicorn
    from backprop_lens.web import server

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setattr(server.shutil, "which", lambda name: None)
    server.serve(port=8123)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Graphviz" in err and "Traceback" not in err
