"""Bad input: 422 naming the field, 404 for unknown ids and steps, 413 for big bodies; never a 500."""

from __future__ import annotations

import base64
import json
import random
import zlib
from typing import Any

import pytest

LECTURE = "lecture04"


def ok_params(**changes: Any) -> dict[str, Any]:
    return {"scenario": LECTURE, "params": changes}


def forged_id(payload: Any, scenario: str = LECTURE) -> str:
    raw = zlib.compress(json.dumps(payload).encode())
    return scenario + "~" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_error(r, status: int, field: str | None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["message"], str) and body["message"]
    assert body["detail"] and all({"loc", "field", "msg"} <= set(d) for d in body["detail"])
    if field is not None:
        fields = [d["field"] for d in body["detail"]]
        assert field in fields, fields
        assert body["message"].startswith(f"{field}: ") or f"; {field}: " in body["message"]


POST_CASES: list[tuple[str, Any, int, str]] = [
    ("unknown scenario", {"scenario": "nope"}, 422, "scenario"),
    ("missing scenario", {"params": {}}, 422, "scenario"),
    ("scenario not a string", {"scenario": 4}, 422, "scenario"),
    ("unknown top-level key", {"scenario": LECTURE, "extra": 1}, 422, "extra"),
    ("params not an object", {"scenario": LECTURE, "params": [1]}, 422, "params"),
    ("unknown parameter", ok_params(bogus=1), 422, "bogus"),
    ("lr as a string", ok_params(lr="0.1"), 422, "lr"),
    ("lr zero", ok_params(lr=0), 422, "lr"),
    ("lr negative", ok_params(lr=-0.1), 422, "lr"),
    ("lr too large", ok_params(lr=1e7), 422, "lr"),
    ("epochs zero", ok_params(epochs=0), 422, "epochs"),
    ("epochs negative", ok_params(epochs=-3), 422, "epochs"),
    ("epochs over 10,000", ok_params(epochs=10_001), 422, "epochs"),
    ("epochs a float", ok_params(epochs=1.5), 422, "epochs"),
    ("epochs a string", ok_params(epochs="3"), 422, "epochs"),
    ("epochs huge int", ok_params(epochs=10**100), 422, "epochs"),
    ("too many steps", ok_params(epochs=10_000, x=[1.0] * 11, y=[2.0] * 11), 422, "epochs"),
    ("over 1,000 data points", ok_params(x=[1.0] * 1001, y=[1.0] * 1001), 422, "x"),
    ("no data", ok_params(x=[], y=[]), 422, "x"),
    ("x and y lengths differ", ok_params(x=[1.0, 2.0], y=[1.0]), 422, "y"),
    ("x item a string", ok_params(x=[1.0, "2"]), 422, "x.1"),
    ("x not a list", ok_params(x=3.0), 422, "x"),
    ("w too large", ok_params(w=1e300), 422, "w"),
    ("zero_grad a string", ok_params(zero_grad="yes"), 422, "zero_grad"),
    ("zero_grad an int", ok_params(zero_grad=1), 422, "zero_grad"),
    ("quadratic unknown parameter w", {"scenario": "quadratic", "params": {"w": 1.0}}, 422, "w"),
    ("body a list", [LECTURE], 422, None),
    ("body a number", 3, 422, None),
]


@pytest.mark.parametrize(("body", "status", "field"), [c[1:] for c in POST_CASES], ids=[c[0] for c in POST_CASES])
async def test_bad_run_requests(client, body, status, field):
    assert_error(await client.post("/api/runs", json=body), status, field)


RAW_CASES = [
    ("not JSON", b"{not json", "body"),
    ("empty body", b"", "body"),
    ("NaN literal", b'{"scenario": "lecture04", "params": {"lr": NaN}}', "lr"),
    ("Infinity literal", b'{"scenario": "lecture04", "params": {"w": -Infinity}}', "w"),
    ("overflowing float", b'{"scenario": "lecture04", "params": {"lr": 1e400}}', "lr"),
    ("deeply nested", b'{"scenario": "lecture04", "params": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}", None),
    ("invalid UTF-8", b'{"scenario": "\xff\xfe"}', None),
]


@pytest.mark.parametrize(("raw", "field"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
async def test_malformed_bodies(client, raw, field):
    r = await client.post("/api/runs", content=raw, headers={"content-type": "application/json"})
    assert_error(r, 422, field)


TOO_MANY_STEPS = forged_id({"epochs": 10_000, "x": [1.0] * 11, "y": [1.0] * 11})
GET_CASES = [
    ("unknown run id", "/api/runs/nope", 404, "run_id"),
    ("upper-case id", "/api/runs/LECTURE04/steps/0", 404, "run_id"),
    ("corrupt payload", "/api/runs/lecture04~abc/steps/0", 404, "run_id"),
    ("empty payload", "/api/runs/lecture04~/log", 404, "run_id"),
    ("forged invalid lr", f"/api/runs/{forged_id({'lr': -1})}", 404, "run_id"),
    ("forged unknown parameter", f"/api/runs/{forged_id({'bogus': 1})}/log", 404, "run_id"),
    ("forged string lr", f"/api/runs/{forged_id({'lr': '0.1'})}/steps/0", 404, "run_id"),
    ("forged unknown scenario", f"/api/runs/{forged_id({'lr': 0.1}, 'nope')}", 404, "run_id"),
    ("forged list payload", f"/api/runs/{forged_id([1, 2])}", 404, "run_id"),
    ("forged too many steps", f"/api/runs/{TOO_MANY_STEPS}", 404, "run_id"),
    ("step out of range", "/api/runs/lecture04/steps/300", 404, "k"),
    ("negative step", "/api/runs/lecture04/steps/-1", 404, "k"),
    ("huge step", f"/api/runs/lecture04/steps/{10**30}/graph.svg", 404, "k"),
    ("step not an int", "/api/runs/lecture04/steps/abc", 422, "k"),
    ("step a float", "/api/runs/lecture04/steps/1.5/graph.svg", 422, "k"),
    ("unknown format", "/api/runs/lecture04/steps/0/graph.gif", 422, "fmt"),
    ("unknown phase", "/api/runs/lecture04/steps/0/graph.svg?phase=zero_grad", 422, "phase"),
    ("unknown theme", "/api/runs/lecture04/steps/0/graph.svg?theme=blue", 422, "theme"),
    ("graph of an unknown run", "/api/runs/nope/steps/0/graph.svg", 404, "run_id"),
    ("batch stop before start", "/api/runs/lecture04/steps?start=5&stop=5", 422, "stop"),
    ("batch too large", "/api/runs/lecture04/steps?start=0&stop=501", 422, "stop"),
    ("batch negative start", "/api/runs/lecture04/steps?start=-1&stop=3", 422, "start"),
    ("batch start not an int", "/api/runs/lecture04/steps?start=a", 422, "start"),
    ("batch start past the end", "/api/runs/lecture04/steps?start=300&stop=301", 404, "start"),
    ("unknown route", "/api/nothing", 404, None),
]


@pytest.mark.parametrize(("url", "status", "field"), [c[1:] for c in GET_CASES], ids=[c[0] for c in GET_CASES])
async def test_bad_urls(client, url, status, field):
    assert_error(await client.get(url), status, field)


async def test_wrong_method(client):
    r = await client.delete("/api/runs/lecture04")
    assert r.status_code == 405
    assert r.json()["message"]


async def test_body_over_the_limit_is_413(client):
    r = await client.post("/api/runs", json=ok_params(x=[1.0] * 20_000, y=[1.0] * 20_000))
    assert r.status_code == 413
    assert "larger than" in r.json()["message"]


async def test_streamed_body_over_the_limit_is_413(client):
    async def chunks():
        yield b'{"scenario": "lecture04", "params": {"x": ['
        for _ in range(2000):
            yield b"1.0, " * 20
        yield b"1.0]}}"

    r = await client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_a_body_just_under_the_limit_is_read(client):
    body = json.dumps(ok_params(x=[1.0] * 1000, y=[2.0] * 1000, epochs=1)).encode()
    assert len(body) < 64 * 1024
    r = await client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201


async def test_error_messages_carry_no_traceback(client):
    for r in (await client.post("/api/runs", json=ok_params(lr="x")), await client.get("/api/runs/lecture04~zz")):
        assert "Traceback" not in r.text and 'File "' not in r.text


async def test_random_inputs_never_give_a_500(client):
    """A small, seeded fuzz over bodies and ids: every answer is a 2xx/4xx with JSON."""
    rng = random.Random(4)
    values: list[Any] = [None, True, 0, -1, 1, 2.5, 1e308, -1e-308, "", "0.1", "NaN", [], [1.0], {}, {"a": 1}, "é" * 3]
    names = ["lr", "epochs", "x", "y", "w", "zero_grad", "w1", "bogus", "", "__class__"]
    for _ in range(150):
        params = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(0, 3))}
        body = {"scenario": rng.choice([LECTURE, "quadratic", "", "x" * 100, 3]), "params": params}
        r = await client.post("/api/runs", json=body)
        assert r.status_code in (201, 422), (body, r.text)
    good = forged_id({"lr": 0.02})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.%"
    for _ in range(150):
        chars = list(good)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        r = await client.get(f"/api/runs/{''.join(chars)}/steps/{rng.randint(-2, 400)}")
        assert r.status_code in (200, 404, 422), r.text
        r.json()


async def test_thousands_of_errors_are_summarised(client):
    r = await client.post("/api/runs", json=ok_params(**{f"p{i}": i for i in range(3000)}))
    assert r.status_code == 422
    body = r.json()
    assert len(body["detail"]) <= 21 and "more errors" in body["detail"][-1]["msg"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [("post", "/api/runs", {"scenario": "nope"}), ("get", "/api/runs/nope", None), ("get", "/nothing", None)],
)
async def test_errors_carry_nosniff(client, method, url, body):
    r = await client.request(method, url, json=body)
    assert r.status_code >= 400 and r.headers["x-content-type-options"] == "nosniff"


async def test_every_format_and_phase_of_a_diverged_step(client):
    run = (await client.post("/api/runs", json=ok_params(lr=1.0, epochs=20))).json()
    assert run["diverged_at"] is not None
    for fmt in ("svg", "png", "dot", "json"):
        for phase in ("forward", "backward", "update"):
            r = await client.get(f"/api/runs/{run['id']}/steps/59/graph.{fmt}?phase={phase}&theme=dark")
            assert r.status_code == 200, (fmt, phase, r.text[:300])
