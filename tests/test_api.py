"""The HTTP API in-process (httpx + ASGITransport): endpoints, numbers against plain PyTorch, caching headers."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.oracles import lecture04_log

ROOT = Path(__file__).resolve().parent.parent
X_DATA, Y_DATA = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]


def lecture04_steps(lr: float = 0.01, epochs: int = 100, w0: float = 1.0, x_data=X_DATA, y_data=Y_DATA):
    """The lecture's loop in plain PyTorch: per step (w before, grad, w after, loss), all as .item()."""
    w = torch.tensor([w0])
    w.requires_grad = True
    out = []
    for _ in range(epochs):
        for x, y in zip(x_data, y_data, strict=True):
            before = w.item()
            l = (x * w - y) ** 2  # noqa: E741
            l.backward()
            grad = w.grad.item()
            w.data = w.data - lr * w.grad.data
            w.grad.data.zero_()
            out.append((before, grad, w.item(), l.item()))
    return out


def quadratic_steps(lr: float = 0.01, epochs: int = 2):
    w1, w2, b = (torch.tensor([1.0]) for _ in range(3))
    for t in (w1, w2, b):
        t.requires_grad = True
    out = []
    for _ in range(epochs):
        for x, y in zip(X_DATA, Y_DATA, strict=True):
            l = (w1 * x * x + w2 * x + b - y) ** 2  # noqa: E741
            l.backward()
            out.append({n: t.grad.item() for n, t in (("w1", w1), ("w2", w2), ("b", b))} | {"loss": l.item()})
            for t in (w1, w2, b):
                t.data = t.data - lr * t.grad.data
                t.grad.data.zero_()
    return out


def strict_json(body: bytes) -> Any:
    """Parse refusing bare NaN/Infinity: our JSON must be valid for every client."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"bare {name} in JSON")

    return json.loads(body, parse_constant=refuse)


async def create(client, scenario: str = "lecture04", **params: Any) -> dict[str, Any]:
    r = await client.post("/api/runs", json={"scenario": scenario, "params": params})
    assert r.status_code == 201, r.text
    return r.json()


# -- meta -----------------------------------------------------------------------------------------------------


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_scenarios_list_defaults_and_schema(client):
    r = await client.get("/api/scenarios")
    assert r.status_code == 200
    by_id = {s["id"]: s for s in r.json()}
    assert {"lecture04", "quadratic"} <= set(by_id)
    lecture = by_id["lecture04"]
    assert lecture["params"] == {"lr": 0.01, "epochs": 100, "x": X_DATA, "y": Y_DATA, "zero_grad": True, "w": 1.0}
    assert lecture["title"] and lecture["description"]
    assert set(lecture["schema"]["properties"]) == set(lecture["params"])
    assert lecture["schema"]["properties"]["epochs"]["maximum"] == 10_000


async def test_openapi_documents_every_route_with_examples(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert set(spec["paths"]) >= {
        "/healthz",
        "/api/scenarios",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/log",
        "/api/runs/{run_id}/steps",
        "/api/runs/{run_id}/steps/{k}",
        "/api/runs/{run_id}/steps/{k}/graph.{fmt}",
    }
    schemas = spec["components"]["schemas"]
    for name in ("RunRequest", "RunCreated", "StepOut", "ErrorOut", "ScenarioInfo"):
        assert schemas[name].get("examples"), name
    graph = spec["paths"]["/api/runs/{run_id}/steps/{k}/graph.{fmt}"]["get"]
    assert {"image/svg+xml", "image/png"} <= set(graph["responses"]["200"]["content"])
    assert (await client.get("/docs")).status_code == 200


async def test_the_page_is_served(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().lower().startswith("<!doctype html>")


async def test_the_page_template_gets_title_and_scenarios(app_factory, tmp_path):
    import httpx

    (tmp_path / "index.html").write_text("{{ title }}|{% for s in scenarios %}{{ s.id }},{% endfor %}")
    app = app_factory(templates_dir=tmp_path, title="lens")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/")
    assert r.status_code == 200
    assert r.text.startswith("lens|lecture04,quadratic,")


async def test_missing_page_and_static_files(app_factory, tmp_path):
    import httpx

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.js").write_text("console.log(1)")
    app = app_factory(static_dir=tmp_path / "static", templates_dir=tmp_path / "none")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await c.get("/")).status_code == 404
        r = await c.get("/static/app.js")
        assert r.status_code == 200 and r.text == "console.log(1)"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert (await c.get("/static/missing.js")).status_code == 404


# -- runs: ids -------------------------------------------------------------------------------------------------


async def test_default_configuration_has_the_scenario_id(client):
    run = await create(client)
    assert run["id"] == "lecture04"
    assert run["steps"] == 300 and run["epochs"] == 100 and run["steps_per_epoch"] == 3
    assert run["diverged_at"] is None
    assert run["url"] == "/api/runs/lecture04"
    assert run["params"]["lr"] == 0.01


async def test_same_configuration_same_id_whatever_the_spelling(client):
    a = await create(client, lr=0.02, w=2, epochs=3)
    b = await create(client, epochs=3, w=2.0, lr=0.02)
    raw = b'{"params": {"epochs": 3, "lr": 2e-2, "w": 2.0, "zero_grad": true}, "scenario": "lecture04"}'
    r = await client.post("/api/runs", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 201
    assert a["id"] == b["id"] == r.json()["id"] != "lecture04"
    assert a["params"]["w"] == 2.0


async def test_an_id_resolves_on_a_fresh_app_with_the_same_bytes(client, app_factory):
    import httpx

    run = await create(client, lr=0.03, epochs=5)
    url = f"/api/runs/{run['id']}/steps/7"
    first = await client.get(url)
    other = app_factory()  # no shared state: a restart, another process
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://test") as c2:
        again = await c2.get(url)
        summary = await c2.get(f"/api/runs/{run['id']}")
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert summary.json()["params"]["lr"] == 0.03


async def test_a_non_canonical_id_redirects_to_the_canonical_url(client):
    from backprop_lens.runid import encode_run_id

    # An id that spells out a default value explicitly: the same run.
    longer = encode_run_id("lecture04", {"lr": 0.01, "epochs": 4}, {"epochs": 100})
    canonical = (await create(client, epochs=4))["id"]
    assert longer != canonical
    a = await client.get(f"/api/runs/{longer}/steps/1/graph.svg?phase=forward")
    assert a.status_code == 308  # one URL per run: every cache (nginx's, a browser's) keeps one copy
    assert a.headers["location"] == f"/api/runs/{canonical}/steps/1/graph.svg?phase=forward"
    b = await client.get(a.headers["location"])
    assert b.status_code == 200 and b.headers["content-type"] == "image/svg+xml"
    summary = await client.get(f"/api/runs/{longer}", follow_redirects=True)
    assert summary.status_code == 200 and summary.json()["id"] == canonical


# -- runs: numbers against plain PyTorch -------------------------------------------------------------------------


async def test_history_matches_plain_pytorch(client):
    expected = lecture04_steps()
    r = await client.get("/api/runs/lecture04")
    assert r.status_code == 200
    body = strict_json(r.content)
    assert body["id"] == "lecture04" and body["steps"] == 300 and body["diverged_at"] is None
    history = body["history"]
    assert len(history) == 300
    for k, (before, grad, after, loss) in enumerate(expected):
        h = history[k]
        assert (h["step"], h["epoch"], h["sample"]) == (k, k // 3, k % 3)
        assert h["params"]["w"]["before"] == [before]
        assert h["params"]["w"]["grad"] == [grad]
        assert h["params"]["w"]["after"] == [after]
        assert h["loss"] == loss
    assert [p["loss"] for p in body["progress"]] == [expected[3 * e + 2][3] for e in range(100)]
    assert body["predictions"]["before"] == {"x": 4, "value": 4.0, "text": "4"}
    after = body["predictions"]["after"]
    assert after["value"] == pytest.approx(4 * expected[-1][2], rel=1e-6)
    assert after["text"] == f"{after['value']:.4g}"  # the lecture prints 7.999...; the chart's note 4 digits


@pytest.mark.parametrize("k", [0, 1, 2, 3, 150, 299])
async def test_step_matches_plain_pytorch(client, k):
    before, grad, after, loss = lecture04_steps()[k]
    r = await client.get(f"/api/runs/lecture04/steps/{k}")
    assert r.status_code == 200
    step = strict_json(r.content)
    assert (step["step"], step["epoch"], step["sample"]) == (k, k // 3, k % 3)
    assert step["loss"] == loss
    assert step["inputs"] == {"x": X_DATA[k % 3], "y": Y_DATA[k % 3]}
    update = step["params"]["w"].pop("update")
    assert step["params"]["w"] == {"before": [before], "grad": [grad], "after": [after], "grad_step": [grad]}
    assert (update["optimizer"], update["hyper"], update["grad"]) == ("sgd", {"lr": 0.01}, [grad])
    nodes = {n["id"]: n for n in step["graph"]["nodes"]}
    w = next(n for n in nodes.values() if n["kind"] == "param" and n["name"] == "w")
    assert w["value"] == [before] and w["grad"] == [grad]
    root = [n for n in nodes.values() if n["is_loss"]]
    assert len(root) == 1 and root[0]["value"] == [loss]  # shape [1], as tensor.tolist() gives it
    for e in step["graph"]["edges"]:
        assert e["source"] in nodes and e["target"] in nodes
        assert set(e) >= {"source", "target", "grad"}


async def test_quadratic_matches_plain_pytorch(client):
    run = await create(client, "quadratic", epochs=2, lr=0.02)
    expected = quadratic_steps(lr=0.02, epochs=2)
    body = (await client.get(f"/api/runs/{run['id']}")).json()
    assert len(body["history"]) == 6
    for h, e in zip(body["history"], expected, strict=True):
        assert {n: p["grad"] for n, p in h["params"].items()} == {n: [e[n]] for n in ("w1", "w2", "b")}
        assert h["loss"] == e["loss"]


async def test_custom_parameters_match_plain_pytorch(client):
    run = await create(client, lr=0.05, epochs=4, w=-1.5, x=[0.5, 1.5], y=[1.0, 2.5])
    expected = lecture04_steps(lr=0.05, epochs=4, w0=-1.5, x_data=[0.5, 1.5], y_data=[1.0, 2.5])
    assert run["steps"] == 8
    batch = strict_json((await client.get(f"/api/runs/{run['id']}/steps?start=0&stop=8")).content)
    assert [s["params"]["w"]["grad"] for s in batch] == [[e[1]] for e in expected]
    assert [s["loss"] for s in batch] == [e[3] for e in expected]


async def test_log_is_the_lecture_output(client):
    r = await client.get("/api/runs/lecture04/log")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == lecture04_log()


@pytest.mark.parametrize(
    ("params", "argv"),
    [({}, []), ({"lr": 0.02, "epochs": 3, "w": 0.5}, ["--lr", "0.02", "--epochs", "3", "--w", "0.5"])],
)
async def test_log_bytes_equal_the_cli(client, params, argv):
    run = await create(client, **params)
    api = (await client.get(f"/api/runs/{run['id']}/log")).content
    cli = subprocess.run(
        [sys.executable, "-m", "backprop_lens", "run", "lecture04", *argv],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert api == cli


# -- steps: batch and graphs -----------------------------------------------------------------------------------


async def test_batch_equals_single_steps(client):
    batch = (await client.get("/api/runs/lecture04/steps?start=10&stop=14")).json()
    singles = [(await client.get(f"/api/runs/lecture04/steps/{k}")).json() for k in range(10, 14)]
    assert batch == singles


async def test_batch_stop_is_clamped_and_defaults(client):
    tail = (await client.get("/api/runs/lecture04/steps?start=295&stop=400")).json()
    assert [s["step"] for s in tail] == list(range(295, 300))
    default = (await client.get("/api/runs/lecture04/steps?start=5")).json()
    assert [s["step"] for s in default] == list(range(5, 105))


@pytest.mark.parametrize(
    ("fmt", "media_type", "magic"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("dot", "text/vnd.graphviz", b"digraph"),
        ("json", "application/json", b'{"step":'),
    ],
)
async def test_graph_formats(client, fmt, media_type, magic):
    r = await client.get(f"/api/runs/lecture04/steps/4/graph.{fmt}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media_type
    assert magic in r.content[:300]
    if fmt == "json":
        assert r.json() == (await client.get("/api/runs/lecture04/steps/4")).json()


@pytest.mark.parametrize("phase", ["forward", "backward", "update"])
@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_graph_phases_and_themes(client, phase, theme):
    r = await client.get(f"/api/runs/lecture04/steps/0/graph.svg?phase={phase}&theme={theme}")
    assert r.status_code == 200
    assert r.content.lstrip().startswith((b"<?xml", b"<svg"))


async def test_graph_default_is_backward_light(client):
    default = await client.get("/api/runs/lecture04/steps/0/graph.svg")
    explicit = await client.get("/api/runs/lecture04/steps/0/graph.svg?phase=backward&theme=light")
    assert default.content == explicit.content
    dark = await client.get("/api/runs/lecture04/steps/0/graph.svg?theme=dark")
    assert dark.content != default.content


# -- caching headers -------------------------------------------------------------------------------------------

IMMUTABLE_URLS = [
    "/api/runs/lecture04",
    "/api/runs/lecture04/log",
    "/api/runs/lecture04/steps/3",
    "/api/runs/lecture04/steps?start=0&stop=3",
    "/api/runs/lecture04/steps/3/graph.svg",
    "/api/runs/lecture04/steps/3/graph.dot?phase=forward",
]


@pytest.mark.parametrize("url", IMMUTABLE_URLS)
async def test_strong_etag_immutable_and_304(client, url):
    version = (await client.get("/api/version")).json()["version"]
    unversioned = await client.get(url)
    assert unversioned.headers["cache-control"] == "no-cache"  # a URL that names no code version: revalidate
    url += ("&" if "?" in url else "?") + f"v={version}"
    r = await client.get(url)
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert etag == unversioned.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert etag == '"' + hashlib.sha256(version.encode() + b"\0" + r.content).hexdigest()[:32] + '"'
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    for inm in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = await client.get(url, headers={"if-none-match": inm})
        assert again.status_code == 304, inm
        assert again.content == b""
        assert again.headers["etag"] == etag
    stale = await client.get(url, headers={"if-none-match": '"not-it"'})
    assert stale.status_code == 200 and stale.content == r.content


async def test_different_urls_different_etags(client):
    etags = {(await client.get(f"/api/runs/lecture04/steps/{k}/graph.svg")).headers["etag"] for k in range(4)}
    assert len(etags) == 4


async def test_mutable_endpoints_are_not_marked_immutable(client):
    for url in ("/healthz", "/api/scenarios", "/"):
        assert "immutable" not in (await client.get(url)).headers.get("cache-control", "")


# -- divergence ------------------------------------------------------------------------------------------------


async def test_divergent_run_is_valid_json_with_string_non_finites(client):
    expected = lecture04_steps(lr=1.0)
    first_bad = next(k for k, (_, g, a, loss) in enumerate(expected) if not all(map(math.isfinite, (g, a, loss))))
    run = await create(client, lr=1.0)
    assert run["diverged_at"] == first_bad
    r = await client.get(f"/api/runs/{run['id']}")
    body = strict_json(r.content)  # no bare NaN/Infinity anywhere
    assert body["diverged_at"] == first_bad
    text = r.content.decode()
    assert '"NaN"' in text and ('"Infinity"' in text or '"-Infinity"' in text)
    last = body["history"][-1]
    assert last["params"]["w"]["after"] == ["NaN"]
    step = strict_json((await client.get(f"/api/runs/{run['id']}/steps/299")).content)
    assert step["loss"] == "NaN"
    svg = await client.get(f"/api/runs/{run['id']}/steps/299/graph.svg")
    assert svg.status_code == 200
    log = (await client.get(f"/api/runs/{run['id']}/log")).text
    assert log == lecture04_log(lr=1.0)


# -- layering ----------------------------------------------------------------------------------------------------


def test_only_the_cli_imports_the_web_layer():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "app").rglob("*.py")
        if "web" not in p.relative_to(ROOT / "app").parts[:1]
        and "cli" not in p.relative_to(ROOT / "app").parts[:1]
        and ("backprop_lens.web" in p.read_text() or "from backprop_lens import web" in p.read_text())
    ]
    assert offenders == []


def test_the_run_id_codec_needs_no_torch():
    code = "import sys, backprop_lens.runid; assert 'torch' not in sys.modules and 'pydantic' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


async def test_docs_use_vendored_swagger_ui_when_present(app_factory, tmp_path):
    import httpx

    vendor = tmp_path / "vendor" / "swagger-ui"
    vendor.mkdir(parents=True)
    (vendor / "swagger-ui-bundle.js").write_text("// js")
    (vendor / "swagger-ui.css").write_text("/* css */")
    app = app_factory(static_dir=tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        page = (await c.get("/docs")).text
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "https://" not in page
        assert (await c.get("/static/vendor/swagger-ui/swagger-ui.css")).status_code == 200
