"""Validation errors a person understands, in English and 简体中文, as data the page places without reading words.

API: each refusal names the field, counts elements from 1, points at the column of an expression (`span`, computed
here from the text), names the other field of a length mismatch (`related`), and uses only keys both languages
have. Page (Chromium): the zh page shows the Chinese message on the field, keeps the run on screen and the URL, puts
a length mismatch on the field edited, marks the expression's column. form.js never matches English text again.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
from backprop_lens.present.catalog import CATALOG

from tests import page_helpers
from tests.page_helpers import GRAPH_JS, PageSession

ROOT = Path(__file__).resolve().parents[1]

# Words of our English messages (and pydantic's) that a Chinese message must not contain.
ENGLISH = [
    "is", "not", "must", "be", "number", "element", "value", "values", "greater", "least", "most", "parameter",
    "scenario", "syntax", "error", "column", "allowed", "between", "target", "targets", "give", "input", "invalid",
    "Input", "should", "valid", "known", "field", "probabilities", "name", "of", "has", "but", "Extra", "permitted",
]  # fmt: skip

SYNTAX_MODEL = "w*x +* 2"
BAD_PARAMS = "w=abc"
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "x has a letter": ("lecture04", {"x": [1, 2, "a"]}),
    "lr negative": ("lecture04", {"lr": -1}),
    "epochs zero": ("lecture04", {"epochs": 0}),
    "y shorter than x": ("lecture04", {"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.0]}),
    "logistic target 1.5": ("logistic", {"y": [0.0, 1.5, 1.0]}),
    "custom model syntax": ("custom", {"model": SYNTAX_MODEL, "params": "w=1"}),
    "custom params not numbers": ("custom", {"params": BAD_PARAMS}),
    "unknown parameter": ("lecture04", {"bogus": 1}),
}


def _english_words(text: str, identifiers: set[str]) -> list[str]:
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    return [w for w in words if w in ENGLISH and w not in identifiers]


def _keys(item: dict[str, Any]) -> set[str]:
    """The item's key and the keys of its nested parts (args that are {"key", "args"})."""
    found = {item["key"]}
    for v in item.get("args", {}).values():
        if isinstance(v, dict) and "key" in v:
            found |= _keys(v)
    return found


async def _post(
    client, scenario: str, values: dict[str, Any], lang: str | None = None, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    url = "/api/runs" + (f"?lang={lang}" if lang else "")
    r = await client.post(url, json={"scenario": scenario, "params": values}, headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] and body["message"]
    return list(body["detail"])


@pytest.mark.parametrize("case", list(CASES))
async def test_zh_answer_is_chinese_and_every_key_exists(client, case: str) -> None:
    scenario, params = CASES[case]
    zh = await _post(client, scenario, params, lang="zh")
    en = await _post(client, scenario, params)
    assert [d["field"] for d in zh] == [d["field"] for d in en]  # field, loc and type do not depend on the language
    identifiers = {"x", "y", "lr", "epochs", "w", "bogus"}
    for z, e in zip(zh, en, strict=True):
        assert z["loc"] == e["loc"] and z["type"] == e["type"] == "invalid"
        assert z["key"] == e["key"] and z["args"] == e["args"]
        assert re.search(r"[\u4e00-\u9fff]", z["msg"]), z["msg"]
        assert not _english_words(z["msg"], identifiers), (z["msg"], _english_words(z["msg"], identifiers))
        assert z["msg"] != e["msg"]
        for key in _keys(z):
            assert key in CATALOG["en"] and key in CATALOG["zh"], key


async def test_accept_language_chooses_chinese_and_the_query_wins(client) -> None:
    params = {"lr": -1}
    by_header = await _post(client, "lecture04", params, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert re.search(r"[\u4e00-\u9fff]", by_header[0]["msg"])
    query_wins = await _post(client, "lecture04", params, headers={"Accept-Language": "zh-CN"}, lang="en")
    assert not re.search(r"[\u4e00-\u9fff]", query_wins[0]["msg"])
    r = await client.post("/api/runs?lang=zh", json={"scenario": "lecture04", "params": params})
    assert r.json()["message"].startswith("lr: ") and re.search(r"[\u4e00-\u9fff]", r.json()["message"])


async def test_elements_are_counted_from_1(client) -> None:
    x = [1, 2, "a"]
    (item,) = await _post(client, "lecture04", {"x": x})
    index = x.index("a")
    assert item["field"] == f"x.{index}"
    assert f"element {index + 1} of x" in item["msg"] and "[" not in item["msg"]
    y = [0.0, 1.5, 1.0]
    (item,) = await _post(client, "logistic", {"y": y})
    bad = next(i for i, v in enumerate(y) if not 0 <= v <= 1)
    assert item["field"] == f"y.{bad}" and f"element {bad + 1} of y" in item["msg"] and "1.5" in item["msg"]
    (zh,) = await _post(client, "lecture04", {"x": x}, lang="zh")
    assert f"第 {index + 1} 个" in zh["msg"]


async def test_bounds_come_from_the_schema(client) -> None:
    info = {s["id"]: s for s in (await client.get("/api/scenarios")).json()}["lecture04"]["schema"]["properties"]
    (lr,) = await _post(client, "lecture04", {"lr": -1})
    assert lr["msg"] == f"lr must be greater than {info['lr']['exclusiveMinimum']:g}"
    (epochs,) = await _post(client, "lecture04", {"epochs": 0})
    assert epochs["msg"] == f"epochs must be at least {info['epochs']['minimum']}"


async def test_a_length_mismatch_names_both_fields(client) -> None:
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    (item,) = await _post(client, "lecture04", {"x": x, "y": y})
    assert item["field"] == "y" and item["related"] == ["x"]
    assert item["args"] == {"ny": len(y), "nx": len(x)}
    assert item["msg"] == f"y has {len(y)} values but x has {len(x)}: give one target per input"


async def test_a_syntax_error_spans_its_column(client) -> None:
    (item,) = await _post(client, "custom", {"model": SYNTAX_MODEL, "params": "w=1"})
    at = SYNTAX_MODEL.index("*", SYNTAX_MODEL.index("+"))  # Python stops at the `*` after the `+`
    assert item["field"] == "model" and item["span"] == [at, at + 1]
    assert f"(column {at + 1})" in item["msg"]  # the English text keeps its column, counted from 1
    (zh,) = await _post(client, "custom", {"model": SYNTAX_MODEL, "params": "w=1"}, lang="zh")
    assert zh["span"] == [at, at + 1] and f"第 {at + 1} 列" in zh["msg"]


@pytest.mark.parametrize(
    ("model", "part"),
    [("w*x + foo(x)", "foo"), ("w*x.real", ".real"), ("x // w", "//"), ("w*x**100", "x**100"), ("w*'a'", "'a'")],
)
async def test_a_refused_part_is_spanned(client, model: str, part: str) -> None:
    (item,) = await _post(client, "custom", {"model": model, "params": "w=1"})
    start = model.index(part)
    assert item["span"] == [start, start + len(part)], item
    assert model[slice(*item["span"])] == part


async def test_bad_custom_params_name_the_parameter_and_its_text(client) -> None:
    (item,) = await _post(client, "custom", {"params": BAD_PARAMS})
    assert item["field"] == "params" and item["args"]["name"] == "w"
    assert item["span"] == [BAD_PARAMS.index("w"), len(BAD_PARAMS)]
    text = "b=1, " + BAD_PARAMS
    (item,) = await _post(client, "custom", {"params": text, "model": "w*x + b"})
    assert text[slice(*item["span"])] == BAD_PARAMS


async def test_unknown_fields(client) -> None:
    (item,) = await _post(client, "lecture04", {"bogus": 1})
    assert item["field"] == "bogus" and item["msg"] == "bogus is not a parameter of this scenario"
    r = await client.post("/api/runs?lang=zh", json={"scenario": "lecture04", "extra": 1})
    (item,) = r.json()["detail"]
    assert item["field"] == "extra" and item["key"] == "error.unknown_field" and "extra" in item["msg"]


def test_every_error_key_in_the_code_is_in_both_languages() -> None:
    """A key written in app/ (a Problem's) without its words would show the key itself."""
    used: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        if path.name not in ("errors_en.py", "errors_zh.py"):
            used |= set(re.findall(r"\"(error\.[a-z_]+(?:\.[a-z_]+)*)\"", path.read_text(encoding="utf-8")))
    assert len(used) > 40, used
    for lang in ("en", "zh"):
        assert not sorted(used - set(CATALOG[lang])), lang


def test_the_command_line_stays_english(capsys: pytest.CaptureFixture[str]) -> None:
    from backprop_lens.cli import main

    with pytest.raises(SystemExit) as e:
        main(["run", "lecture04", "--lr", "-1"])
    assert e.value.code == 2
    assert "lr must be greater than 0" in capsys.readouterr().err


# -- every other refusal of the web layer: 404, 422 of a query, 503, 413 ---------------------------------------------
LECTURE_STEPS = 100 * 3  # the lecture's loop: 100 epochs of 3 samples, one step each


def _scenario_ids() -> str:
    from backprop_lens.scenarios import SCENARIOS

    return ", ".join(SCENARIOS)


async def _refusal(client, method: str, url: str, status: int, lang: str | None, **kw: Any) -> httpx.Response:
    headers = {"Accept-Language": "zh-CN,zh;q=0.9"} if lang == "zh" else {}
    r = await client.request(method, url, headers=headers, **kw)
    assert r.status_code == status, r.text
    return r


def _assert_chinese(zh: dict[str, Any], en: dict[str, Any], identifiers: set[str]) -> None:
    """The same refusal, as data; only the words differ, and the Chinese ones have no English words of our own."""
    assert zh["loc"] == en["loc"] and zh["field"] == en["field"] and zh["type"] == en["type"]
    assert zh["key"] == en["key"] and zh["args"] == en["args"]
    assert re.search(r"[\u4e00-\u9fff]", zh["msg"]), zh["msg"]
    assert not _english_words(zh["msg"], identifiers), (zh["msg"], _english_words(zh["msg"], identifiers))
    for key in _keys(zh):
        assert key in CATALOG["en"] and key in CATALOG["zh"], key


async def test_an_unknown_run_id_is_a_chinese_404(client) -> None:
    en = await _refusal(client, "GET", "/api/runs/nope", 404, None)
    zh = await _refusal(client, "GET", "/api/runs/nope", 404, "zh")
    (e,), (z,) = en.json()["detail"], zh.json()["detail"]
    assert e["field"] == "run_id" and e["key"] == "error.unknown_run_id"
    assert e["msg"] == f"unknown run id: unknown scenario 'nope': choose one of {_scenario_ids()}"
    _assert_chinese(z, e, {"nope", *_scenario_ids().split(", ")})
    assert "nope" in z["msg"] and zh.headers["vary"] == "Accept-Language"


async def test_an_unknown_scenario_is_chinese_in_a_body_and_in_a_url(client) -> None:
    body = {"scenario": "nope", "params": {}}
    en = await _refusal(client, "POST", "/api/runs", 422, None, json=body)
    zh = await _refusal(client, "POST", "/api/runs", 422, "zh", json=body)
    (e,), (z,) = en.json()["detail"], zh.json()["detail"]
    assert e["field"] == "scenario" and e["msg"] == f"unknown scenario 'nope': choose one of {_scenario_ids()}"
    _assert_chinese(z, e, {"nope", *_scenario_ids().split(", ")})
    en = await _refusal(client, "GET", "/api/scenarios/nope/source", 404, None)
    zh = await _refusal(client, "GET", "/api/scenarios/nope/source", 404, "zh")
    _assert_chinese(zh.json()["detail"][0], en.json()["detail"][0], {"nope", *_scenario_ids().split(", ")})


async def test_a_step_out_of_range_is_a_chinese_404(client) -> None:
    url = f"/api/runs/lecture04/steps/{LECTURE_STEPS}"
    (e,) = (await _refusal(client, "GET", url, 404, None)).json()["detail"]
    (z,) = (await _refusal(client, "GET", url, 404, "zh")).json()["detail"]
    last = LECTURE_STEPS - 1
    assert e["field"] == "k" and e["msg"] == f"step {LECTURE_STEPS} is out of range: this run has steps 0 to {last}"
    _assert_chinese(z, e, set())
    assert f"第 {LECTURE_STEPS} 步" in z["msg"] and f"第 0 到第 {last} 步" in z["msg"]
    r = await client.get(f"/api/runs/lecture04/steps?start={LECTURE_STEPS}&stop={LECTURE_STEPS + 1}&lang=zh")
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "start"
    assert r.json()["detail"][0]["msg"] == z["msg"]  # the same words for the same step


async def test_an_unknown_collapse_module_is_a_chinese_422(client) -> None:
    url = "/api/runs/lecture04/steps/0/graph.svg?collapse=nope"
    en = (await _refusal(client, "GET", url, 422, None)).json()
    zh = (await _refusal(client, "GET", url + "&lang=zh", 422, None)).json()
    (e,), (z,) = en["detail"], zh["detail"]
    assert e["field"] == "collapse" and e["msg"] == "collapse: unknown module 'nope'; this graph's modules: none"
    assert en["message"] == "collapse: unknown module 'nope'; this graph's modules: none"  # the field once
    _assert_chinese(z, e, {"nope", "collapse"})
    assert zh["message"].startswith("collapse: ") and zh["message"].count("collapse") == 1


def _busy_app(app_factory) -> Any:
    """Lecture 04 at 2,000 epochs is heavy work; the heavy lane is full (taken by two other clients)."""
    app = app_factory(heavy_running=1, heavy_queued=1, light_cost=1_000, retry_after_s=3, max_per_client=4)
    heavy = app.state.store.compute.heavy
    for who in ("a", "b"):
        heavy.enter(who)
    assert heavy.full
    return app


async def test_a_full_server_is_a_chinese_503_with_retry_after(app_factory) -> None:
    app = _busy_app(app_factory)
    body = {"scenario": "lecture04", "params": {"epochs": 2000}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        en = await _refusal(c, "POST", "/api/runs", 503, None, json=body)
        zh = await _refusal(c, "POST", "/api/runs", 503, "zh", json=body)
    assert en.headers["retry-after"] == zh.headers["retry-after"] == "3"
    (e,), (z,) = en.json()["detail"], zh.json()["detail"]
    assert e["field"] == "server" and e["type"] == "busy"
    assert e["msg"] == "the server is busy (heavy work: 2 computing or queued); retry later"
    _assert_chinese(z, e, set())
    assert "2 个" in z["msg"]


async def test_a_body_over_the_limit_is_a_chinese_413(client, app) -> None:
    most = app.state.settings.max_body_bytes
    body = {"scenario": "lecture04", "params": {"x": [1.0] * most, "y": [1.0] * most}}
    en = await _refusal(client, "POST", "/api/runs", 413, None, json=body)
    zh = await _refusal(client, "POST", "/api/runs", 413, "zh", json=body)
    (e,), (z,) = en.json()["detail"], zh.json()["detail"]
    assert e["msg"] == f"request body is larger than {most} bytes" and e["field"] == "body"
    _assert_chinese(z, e, set())
    assert str(most) in z["msg"]


async def test_unknown_routes_and_methods_are_chinese(client) -> None:
    for method, url, status in (("GET", "/api/nothing", 404), ("DELETE", "/api/runs/lecture04", 405)):
        en = (await _refusal(client, method, url, status, None)).json()["detail"][0]
        zh = (await _refusal(client, method, url, status, "zh")).json()["detail"][0]
        _assert_chinese(zh, en, set())


async def test_the_message_names_each_field_once(client) -> None:
    r = await client.post("/api/runs", json={"scenario": "lecture04", "params": {"lr": -1, "epochs": 0}})
    items = {d["field"]: d["msg"] for d in r.json()["detail"]}
    assert items["lr"] == "lr must be greater than 0"  # msg, alone, still names its field
    parts = r.json()["message"].split("; ")
    assert sorted(parts) == ["epochs: must be at least 1", "lr: must be greater than 0"]
    r = await client.post("/api/runs?lang=zh", json={"scenario": "lecture04", "params": {"lr": -1}})
    assert r.json()["message"] == "lr: 必须大于 0"


async def test_a_cached_body_does_not_vary_by_language(client) -> None:
    """The page now sends Accept-Language on every GET: a 200 must stay one body for every language."""
    url = "/api/runs/lecture04/steps/0"
    en = await client.get(url)
    zh = await client.get(url, headers={"Accept-Language": "zh"})
    assert en.status_code == zh.status_code == 200 and en.content == zh.content
    assert "vary" not in {k.lower() for k in zh.headers} and en.headers["etag"] == zh.headers["etag"]


# -- form.js places messages by their data ------------------------------------------------------------------------
# What matching the English text of a message looks like: "(column N)", "x has"/"but x", quoted `parts`.
ENGLISH_MATCHING = re.compile(r"\(column| has[`\"']|\bbut \$\{|/`\(\[\^`\]\+\)`/|setup\.element")


def test_form_js_reads_no_message_text() -> None:
    for name in ("form.js", "form-values.js", "form-fields.js", "kv-editor.js"):
        source = (ROOT / "static" / "js" / name).read_text(encoding="utf-8")
        assert not ENGLISH_MATCHING.findall(source), name


def test_the_english_matching_check_can_fail() -> None:
    old = r"""const col = /\(column (\d+)\)/.exec(msg);
    const quoted = /`([^`]+)`/.exec(msg);
    return msg.includes(`${other} has`) || msg.includes(`but ${other}`) ? other : name;
    t("setup.element", { n })"""
    assert len(ENGLISH_MATCHING.findall(old)) == 5


# -- the page (headless Chromium) -----------------------------------------------------------------------------------
browser = page_helpers.browser
page_server = page_helpers.page_server
session = page_helpers.session


def _zh_answer(base: str, scenario: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"{base}/api/runs?lang=zh",
        data=json.dumps({"scenario": scenario, "params": params}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 422
    return list(json.loads(e.value.read())["detail"])


def _box(page: Any, testid: str) -> dict[str, float]:
    box = page.get_by_test_id(testid).bounding_box()
    assert box is not None, testid
    return dict(box)


def test_zh_page_shows_the_chinese_message_on_the_field_edited(session: PageSession) -> None:
    session.open(hash_="lang=zh&theme=light")
    page = session.page
    before = session.run_id()
    nodes = page.locator("[data-testid=graph] svg g.node").count()
    (expected,) = _zh_answer(session.base, "lecture04", {"x": [1, 2, "a"]})
    page.get_by_test_id("param-x").fill("1, 2, a")
    page.get_by_test_id("run").click()
    error = page.get_by_test_id("param-x-error")
    error.wait_for(state="visible")
    assert error.inner_text() == expected["msg"] and re.search(r"[\u4e00-\u9fff]", expected["msg"])
    assert page.get_by_test_id("param-x").get_attribute("aria-invalid") == "true"
    # the previous run stays on screen, and the refused value never reaches the URL
    assert session.run_id() == before and page.locator("[data-testid=graph] svg g.node").count() == nodes
    assert "x=" not in page.url and page.get_by_test_id("param-x").input_value() == "1, 2, a"
    # the message sits under its own input, inside the field
    field, message = _box(page, "param-x"), _box(page, "param-x-error")
    assert message["y"] >= field["y"] + field["height"] - 1 and message["y"] < field["y"] + field["height"] + 80
    assert message["x"] >= field["x"] - 1 and message["width"] > 0
    session.shot("errors-zh-element.png")

    # x edited to 4 values (y has 3): the server files it under y, related to x; the page shows it on x
    (mismatch,) = _zh_answer(session.base, "lecture04", {"x": [1.0, 2.0, 3.0, 4.0]})
    assert mismatch["field"] == "y" and mismatch["related"] == ["x"]
    page.get_by_test_id("param-x").fill("1, 2, 3, 4")
    page.get_by_test_id("run").click()
    error.wait_for(state="visible")
    assert error.inner_text() == mismatch["msg"]
    assert not page.get_by_test_id("param-y-error").is_visible()
    assert session.run_id() == before


def test_an_expression_error_marks_its_column(session: PageSession) -> None:
    model = "w1*x*x + w2*x +* b"
    session.open("scenario=custom", hash_="lang=zh&theme=light")
    page = session.page
    (expected,) = _zh_answer(session.base, "custom", {"model": model})
    at = model.index("*", model.index("+", model.index("w2")))
    assert expected["span"] == [at, at + 1]
    page.get_by_test_id("param-model").fill(model)
    page.get_by_test_id("run").click()
    page.get_by_test_id("param-model-error").wait_for(state="visible")
    assert page.get_by_test_id("param-model-error").inner_text() == expected["msg"]
    where = page.get_by_test_id("param-model-where")
    assert where.inner_text() == model
    mark = where.locator("mark")
    assert mark.inner_text() == model[at]
    # the text before the mark is exactly the expression up to the column (the mark is at the right place)
    assert (
        page.evaluate("document.querySelector('[data-testid=param-model-where]').firstChild.textContent") == model[:at]
    )
    box, inside = mark.bounding_box(), where.bounding_box()
    assert box and inside and inside["x"] <= box["x"] and box["x"] + box["width"] <= inside["x"] + inside["width"] + 1
    # the focused input selects the same characters
    assert page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]") == [at, at + 1]
    session.shot("errors-zh-expression.png")
    assert page.evaluate(f"{GRAPH_JS}.dataset.run") == session.run_id()


def _zh_refusal(base: str, path: str) -> dict[str, Any]:
    req = urllib.request.Request(f"{base}{path}", headers={"Accept-Language": "zh"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    return dict(json.loads(e.value.read()))


def test_zh_page_shows_a_failed_get_in_chinese(session: PageSession) -> None:
    """The run's summary (a GET) answers 404 (the route sends it to a run id no server made): the page asked in its
    language, so the banner shows the server's Chinese words, as the server words them, placed in the page's frame."""
    page = session.page
    asked: list[str | None] = []

    def to_unknown_run(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        asked.append(route.request.headers.get("accept-language"))
        route.continue_(url=f"{session.base}/api/runs/nope")

    page.route(re.compile(r".*/api/runs/[^/?]+$"), to_unknown_run)
    page.goto(f"{session.base}/#lang=zh&theme=light")
    banner = page.locator("#graph-empty")
    banner.wait_for(state="visible", timeout=60_000)
    session.wait_js("document.querySelector('#graph-empty').textContent.includes('nope')", timeout=60_000)
    (refusal,) = _zh_refusal(session.base, "/api/runs/nope")["detail"]
    expected = refusal["msg"]  # one refusal: its own words, which name what they are about (no "run_id: ")
    assert asked and all(a == "zh" for a in asked), asked
    assert banner.inner_text() == CATALOG["zh"]["status.error"].format(msg=expected)
    assert re.search(r"[\u4e00-\u9fff]", expected) and "unknown" not in banner.inner_text()
    # the words sit inside the graph's frame, clear of its border on both sides (they ran into it before)
    frame = _box(page, "graph")
    text = page.evaluate(
        "(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('#graph-empty'));"
        " const b = r.getBoundingClientRect(); return {x: b.x, width: b.width}; })()"
    )
    assert text["width"] > 0 and text["x"] >= frame["x"] + 8, (text, frame)
    assert text["x"] + text["width"] <= frame["x"] + frame["width"] - 8, (text, frame)
    session.shot("errors-zh-unknown-run.png")
