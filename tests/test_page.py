"""The page in a real browser (headless Chromium) against a real server: load, stepping, console, playback,
URL state, language, export, bad input, in-place updates, inspector, divergence, classroom; screenshots."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests import page_helpers
from tests.page_helpers import GRAPH_JS, STEP_JS, PageSession

# the fixtures: one server per session, one browser for this module, a fresh page per test
browser = page_helpers.browser
page_server = page_helpers.page_server
session = page_helpers.session

SVG_NS = "{http://www.w3.org/2000/svg}"


def lecture_steps(n: int) -> list[dict[str, float]]:
    """Lecture 04's first n steps in plain PyTorch: x, y, the gradient the script prints, and the chain-rule parts."""
    torch = pytest.importorskip("torch")
    x_data, y_data = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    w = torch.tensor([1.0])
    w.requires_grad = True
    out = []
    for k in range(n):
        x, y = x_data[k % 3], y_data[k % 3]
        y_hat = x * w
        diff = y_hat - y
        diff.retain_grad()
        y_hat.retain_grad()
        loss = diff**2
        loss.backward()
        out.append({"x": x, "y": y, "grad": w.grad.item(), "upstream": y_hat.grad.item(), "w": w.item()})
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
    return out


def server_svg_texts(base: str, run: str, k: int, phase: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/api/runs/{run}/steps/{k}/graph.svg?phase={phase}&theme=light") as r:
        root = ET.fromstring(r.read())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def post_run(base: str, scenario: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{base}/api/runs",
        data=json.dumps({"scenario": scenario, "params": params}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_loads_with_every_hook(session: PageSession) -> None:
    session.open()
    page = session.page
    for hook in ("graph", "step-prev", "step-next", "play", "timeline", "phase", "chart-loss", "chart-params",
                 "console", "lang-toggle", "export-svg", "scenario", "param-lr"):  # fmt: skip
        assert page.get_by_test_id(hook).count() == 1, hook
    assert page.get_by_test_id("scenario").input_value() == "lecture04"
    assert page.get_by_test_id("param-lr").input_value() == "0.01"
    assert not page.get_by_test_id("log-scale").is_checked()  # a converging run keeps its linear axes
    graph = page.get_by_test_id("graph")
    assert graph.locator("svg g.node[data-node-id='param:w']").count() == 1
    assert page.locator("#chart-loss canvas").count() == 1
    assert "predict (before training) 4 4.0" in page.get_by_test_id("console").inner_text()
    session.shot("page-default.png")


def test_step_with_buttons_and_keys(session: PageSession) -> None:
    session.open()
    page = session.page
    assert page.get_by_test_id("step-prev").is_disabled()
    page.get_by_test_id("step-next").click()
    session.wait_step(1)
    page.get_by_test_id("step-next").click()
    session.wait_step(2)
    page.get_by_test_id("step-prev").click()
    session.wait_step(1)
    page.locator("body").focus()
    page.keyboard.press("ArrowRight")
    session.wait_step(2)
    page.keyboard.press("ArrowLeft")
    session.wait_step(1)
    page.keyboard.press("End")
    session.wait_step(299)
    assert page.get_by_test_id("timeline").input_value() == "299"
    page.keyboard.press("Home")
    session.wait_step(0)
    # by phase: forward -> backward -> update -> next step's forward
    page.get_by_test_id("by").select_option("phase")
    page.locator("#phase input[value='forward']").check(force=True)
    session.wait_step(0, "forward")
    page.get_by_test_id("step-next").click()
    session.wait_step(0, "backward")
    page.get_by_test_id("step-next").click()
    session.wait_step(0, "update")
    page.get_by_test_id("step-next").click()
    session.wait_step(1, "forward")
    page.get_by_test_id("step-prev").click()
    session.wait_step(0, "update")


def test_console_after_three_steps_prints_the_lecture_line(session: PageSession) -> None:
    expected = lecture_steps(3)[2]
    line = f"grad: {expected['x']} {expected['y']} {expected['grad']}"
    assert line == "grad: 3.0 6.0 -16.228801727294922"  # the lecture's own printed output
    session.open()
    console = session.page.get_by_test_id("console")
    assert line not in console.inner_text()
    for k in (1, 2, 3):
        session.page.get_by_test_id("step-next").click()
        session.wait_step(k)
    assert line in console.inner_text()
    # printed lines up to the current step; the current step's line is highlighted
    current = console.locator(".line.current").inner_text()
    assert current.strip().startswith("grad: 1.0 2.0")  # step 3 is epoch 1's first sample
    assert "progress: 0 7.315943717956543" in console.inner_text()


def test_play_and_pause(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&speed=30")
    page = session.page
    page.get_by_test_id("play").click()
    session.wait_js(f"{STEP_JS} >= 5", timeout=10_000)
    assert page.get_by_test_id("play").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("play").click()
    assert page.get_by_test_id("play").get_attribute("aria-pressed") == "false"
    page.wait_for_timeout(100)  # the last step played is drawn on the next frame
    k = session.state()["k"]
    page.wait_for_timeout(400)
    assert session.state()["k"] == k
    page.locator("body").focus()
    page.keyboard.press("Space")
    session.wait_js(f"{STEP_JS} > {k}", timeout=10_000)
    page.keyboard.press("Space")
    assert session.state()["playing"] is False


def test_url_restores_the_state_after_reload(session: PageSession) -> None:
    session.open("scenario=lecture04&lr=0.02")
    page = session.page
    page.get_by_test_id("by").select_option("epoch")
    page.get_by_test_id("step-next").click()  # one epoch = 3 steps
    session.wait_step(3)
    page.locator("#phase input[value='update']").check(force=True)
    session.wait_step(3, "update")
    page.get_by_test_id("log-scale").check()
    page.locator("svg g.node[data-node-id='op:2']").click()
    page.get_by_test_id("theme-toggle").click()
    page.get_by_test_id("lang-toggle").click()
    session.wait_js("location.hash.includes('lang=zh') && location.hash.includes('node=')")
    url = page.url
    assert "lr=0.02" in url and "step=3" in url and "phase=update" in url
    page.reload()
    session.wait_selector("[data-testid=graph][data-ready='1'][data-step='3'][data-phase='update']")
    st = session.state()
    assert st["by"] == "epoch" and st["theme"] == "dark" and st["selected"] == "op:2"
    assert page.get_by_test_id("param-lr").input_value() == "0.02"
    assert page.get_by_test_id("log-scale").is_checked()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert page.get_by_test_id("lang-toggle").inner_text() == "English"
    assert page.locator("svg g.node.lens-selected[data-node-id='op:2']").count() == 1
    assert "MulBackward0" in page.get_by_test_id("inspector").inner_text()


def test_language_toggle_changes_labels(session: PageSession) -> None:
    session.open()
    page = session.page
    assert page.locator("#console-title").text_content() == "Training log"
    assert page.get_by_test_id("play").get_attribute("aria-label") == "Play"
    page.get_by_test_id("lang-toggle").click()
    session.wait_js("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#console-title").text_content() == "训练日志"
    assert page.get_by_test_id("play").get_attribute("aria-label") == "播放"
    assert page.locator("label[for='param-lr']").inner_text() == "学习率 (lr)"
    session.wait_selector("[data-testid=graph][data-lang='zh']")  # the server's zh labels and SVG arrived
    assert "第 0 步" in page.locator("svg g.header text").first.text_content()
    scenario = page.get_by_test_id("scenario")
    assert scenario.locator("option:checked").text_content() == "第 04 讲：y_hat = x * w"
    # no English label left among the marked elements
    leftovers = page.evaluate(
        "[...document.querySelectorAll('[data-i18n]:not([data-i18n=\"lang.toggle\"])')]"
        ".filter(e => e.offsetParent !== null)"
        ".map(e => e.textContent).filter(t => /^[A-Za-z][a-z]+( [a-z]+)*$/.test(t.trim()))"
    )
    assert leftovers == [], leftovers
    session.shot("page-zh.png")
    page.get_by_test_id("lang-toggle").click()
    session.wait_js("document.documentElement.lang === 'en'")
    assert page.locator("#console-title").text_content() == "Training log"
    assert scenario.locator("option:checked").text_content() == "Lecture 04: y_hat = x * w"  # the server's words


def test_export_downloads_a_valid_svg_and_png(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    with page.expect_download() as info:
        page.get_by_test_id("export-svg").click()
    download = info.value
    assert download.suggested_filename.endswith(".svg")
    root = ET.parse(download.path()).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("data-step") == "2" and root.get("data-phase") == "backward"
    ids = {g.get("data-node-id") for g in root.iter(f"{SVG_NS}g") if g.get("data-node-id")}
    assert "param:w" in ids
    with page.expect_download() as info:
        page.get_by_test_id("export-png").click()
    with open(info.value.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_lr_shows_the_servers_message_next_to_the_field(session: PageSession) -> None:
    status, body = post_run(session.base, "lecture04", {"lr": -1})
    assert status == 422
    message = next(d["msg"] for d in body["detail"] if d["field"] == "lr")
    session.open()
    page = session.page
    page.get_by_test_id("param-lr").fill("-1")
    page.get_by_test_id("param-epochs").fill("7")
    page.get_by_test_id("run").click()
    error = page.get_by_test_id("param-lr-error")
    error.wait_for(state="visible")
    assert message in error.inner_text()
    assert page.get_by_test_id("param-lr").get_attribute("aria-invalid") == "true"
    # nothing is lost: what was typed stays, in the fields and in the URL
    assert page.get_by_test_id("param-lr").input_value() == "-1"
    assert page.get_by_test_id("param-epochs").input_value() == "7"
    # a refused value never reaches the URL, and the run on screen stays
    assert "lr=-1" not in page.url and "epochs=7" not in page.url
    assert page.locator("[data-testid=graph] svg g.node").count() >= 3
    assert "predict (before training)" in page.get_by_test_id("console").inner_text()
    page.get_by_test_id("param-lr").fill("0.02")
    assert not error.is_visible()


def test_values_change_in_place_exactly_as_the_server_draws_them(session: PageSession) -> None:
    """Playback patches the SVG's text from step JSON: every <text> must equal the server's SVG of that step."""
    for query, run in (("scenario=lecture04", "lecture04"), ("scenario=lecture04&zero_grad=0", None)):
        session.open(query)
        page = session.page
        run_id = run or session.run_id()
        layout = page.evaluate("document.querySelector('[data-testid=graph] g.node').getAttribute('transform')")
        for k in (0, 1, 2, 7, 150, 299):
            for phase in ("forward", "backward", "update"):
                session.go(k, phase)
                mine = session.texts()
                if mine != server_svg_texts(session.base, run_id, k, phase):  # a new template may be on its way
                    page.wait_for_timeout(500)
                    mine = session.texts()
                assert mine == server_svg_texts(session.base, run_id, k, phase), (query, k, phase)
        # the layout did not move
        assert page.evaluate("document.querySelector('[data-testid=graph] g.node').getAttribute('transform')") == layout


def test_playback_needs_no_request_per_step(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&speed=120")
    page = session.page
    page.wait_for_timeout(1500)  # the first batches are prefetched while idle
    before = len([u for u in session.requests if "/api/" in u])
    page.get_by_test_id("play").click()
    session.wait_js(f"{STEP_JS} >= 90", timeout=20_000)
    page.get_by_test_id("play").click()
    steps = session.state()["k"]
    during = [u for u in session.requests if "/api/" in u][before:]
    assert len(during) <= 2, during  # at most the next prefetch batch
    assert steps >= 90


def test_inspector_shows_the_chain_rule_from_pytorch(session: PageSession) -> None:
    s = lecture_steps(3)[2]
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    inspector = page.get_by_test_id("inspector")
    page.locator("svg g.node[data-node-id='op:2']").click()
    inspector.get_by_text("MulBackward0", exact=True).first.wait_for()  # the inspector fills in asynchronously
    text = inspector.inner_text()
    assert "∂z/∂a = b" in text
    # upstream × local = downstream, at full precision, all from PyTorch
    assert f"{s['upstream']!r} × {s['x']!r} = {s['grad']!r}" in text.replace("[", "").replace("]", "")
    page.locator("svg g.node[data-node-id='param:w']").click()
    inspector.get_by_text("AccumulateGrad", exact=True).first.wait_for()
    text = inspector.inner_text()
    assert repr(s["grad"]) in text and repr(s["w"]) in text and "AccumulateGrad" in text


def test_a_line_of_the_explanation_selects_its_node(session: PageSession) -> None:
    """The words and the picture are one: clicking a line (or Enter on it) selects the node it is about, as a
    click on the node does: the inspector opens on it and the line is marked; again, and it is let go."""
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    line = page.locator("#explain-body li[data-node='param:w']")
    line.click()
    session.wait_selector("[data-testid=graph][data-selected='param:w']")
    page.get_by_test_id("inspector").get_by_text("AccumulateGrad", exact=True).first.wait_for()
    session.wait_selector("#explain-body li.is-selected[data-node='param:w']")
    session.wait_js("location.hash.includes('node=param')")  # the selection is in the URL, as a node's click puts it
    other = page.locator("#explain-body li[data-node='op:2']")
    other.focus()
    page.keyboard.press("Enter")
    session.wait_selector("[data-testid=graph][data-selected='op:2']")
    assert page.locator("#explain-body li.is-selected").count() == 1
    page.locator("#explain-body li[data-node='op:2']").click()  # again: let go
    session.wait_selector("[data-testid=graph][data-selected='']")


def test_backward_lights_up_nodes_in_autograd_order(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&step=0&phase=forward&by=node")
    page = session.page
    nodes = session.step_json(0)["graph"]["nodes"]
    order = [n["id"] for n in sorted((n for n in nodes if n["order"] is not None), key=lambda n: n["order"])]
    assert order[0] == "op:0" and order[-1] == "param:w"
    for i, node_id in enumerate(order):
        page.get_by_test_id("step-next").click()
        session.wait_selector(f"[data-testid=graph][data-reveal='{i + 1}']")
        assert page.locator(f"svg g.node.lens-current[data-node-id='{node_id}']").count() == 1
        later = order[i + 1 :]
        for other in later:
            assert page.locator(f"svg g.node.lens-pending[data-node-id='{other}']").count() == 1
        if i == 1:
            session.shot("page-mid-backward.png")
    page.get_by_test_id("step-next").click()
    session.wait_step(0, "update")


def test_divergence_is_shown_plainly(session: PageSession) -> None:
    status, body = post_run(session.base, "lecture04", {"lr": 1.0})
    assert status == 201 and body["diverged_at"] is not None
    session.open("scenario=lecture04&lr=1")
    banner = session.page.locator("#banner")
    banner.wait_for(state="visible")
    assert f"step {body['diverged_at']}" in banner.inner_text()
    assert "smaller lr" in banner.inner_text()
    # a linear axis would flatten the run: the charts switch to log scale and say why
    assert session.page.get_by_test_id("log-scale").is_checked()
    assert "diverges" in session.page.get_by_test_id("log-hint").inner_text()
    session.page.locator("#banner-goto").click()
    session.wait_step(body["diverged_at"])
    session.shot("page-divergent.png")


def test_dark_theme_and_classroom_mode(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=dark&step=4&phase=backward")
    page = session.page
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert page.locator("[data-testid=graph] svg").get_attribute("class").endswith("theme-dark")
    session.shot("page-dark.png")
    page.get_by_test_id("classroom").click()
    session.wait_js("document.documentElement.classList.contains('classroom')")
    assert not page.get_by_test_id("play").is_visible()
    # presenter mode: a 16:9 stage of the graph and the explanation only
    stage = page.locator("main.layout").bounding_box()
    assert stage and abs(stage["width"] / stage["height"] - 16 / 9) < 0.02
    box = page.get_by_test_id("graph").bounding_box()
    assert box and box["width"] * box["height"] >= 0.5 * stage["width"] * stage["height"]
    assert page.get_by_test_id("explain").is_visible() and not page.get_by_test_id("inspector").is_visible()
    page.keyboard.press("ArrowRight")
    session.wait_step(5)
    assert re.search(r"classroom=1", page.url)
    session.shot("page-classroom.png")
    page.keyboard.press("Escape")
    session.wait_js("!document.documentElement.classList.contains('classroom')")
    assert page.get_by_test_id("play").is_visible()


# the Content-Security-Policy the web layer sends (or will): no inline scripts or styles, no eval
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
CSP_LISTENER = """window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


def serve_with_csp(session: PageSession, paths: tuple[str, ...] = ("/",)) -> list[str]:
    """Add STRICT_CSP to the documents at `paths` (whatever the server sends) and record violations."""
    messages: list[str] = []
    documents = {session.base + p for p in paths}

    def add_header(route: Any) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    session.page.route(lambda url: url.split("#")[0].split("?")[0] in documents, add_header)
    session.page.add_init_script(CSP_LISTENER)
    session.page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    return messages


def test_the_page_runs_under_a_strict_csp(session: PageSession) -> None:
    """No inline script or style, no eval: zero violations while loading, stepping, playing and inspecting."""
    console_errors = serve_with_csp(session)
    session.open(hash_="lang=en&theme=dark&step=2&phase=backward")
    page = session.page
    page.get_by_test_id("step-next").click()
    session.wait_step(3)
    page.locator("svg g.node[data-node-id='op:2']").click()
    page.get_by_test_id("log-scale").check()
    page.get_by_test_id("speed").select_option("120")
    page.get_by_test_id("play").click()
    session.wait_js(f"{STEP_JS} >= 20", timeout=20_000)
    page.get_by_test_id("play").click()
    page.get_by_test_id("lang-toggle").click()
    session.wait_js("document.documentElement.lang === 'zh-CN'")
    assert page.locator("html").get_attribute("data-theme") == "dark"  # boot.js ran before the module
    assert page.evaluate("window.__csp") == []
    assert [m for m in console_errors if "Content Security Policy" in m] == []


def test_docs_render_offline(session: PageSession) -> None:
    """/docs is Swagger UI from static/vendor/swagger-ui: it renders with every request going to our server."""
    page = session.page
    outside: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith(session.base + "/") or url.startswith("data:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{session.base}/docs")
    page.locator(".opblock-summary-path", has_text="/api/runs/{run_id}/steps/{k}").first.wait_for(timeout=30_000)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("backprop-lens")
    assert outside == []
    assert all(u.startswith(session.base + "/") or u.startswith("data:") for u in session.requests), session.requests
    assert any(u.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in session.requests)
    session.shot("docs-offline.png")


def scenario_ids(base: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/api/scenarios") as r:
        return [s["id"] for s in json.loads(r.read())]


def test_every_scenario_loads_and_steps(session: PageSession) -> None:
    """Each scenario end to end: its form, its graph, its charts, and its log lined up with the steps."""
    ids = scenario_ids(session.base)
    assert {"lecture04", "quadratic", "affine", "gd_vs_sgd", "linear_module", "logistic", "two_layer", "softmax",
            "custom"} <= set(ids)  # fmt: skip
    page = session.page
    for query in [f"scenario={s}" for s in ids] + ["scenario=gd_vs_sgd&mode=sgd"]:
        session.open(query)
        assert page.get_by_test_id("scenario").input_value() == query.split("&")[0].split("=")[1]
        assert page.locator("[data-testid=graph] svg g.node").count() >= 3, query
        assert page.locator("#chart-loss canvas").count() == 1, query
        assert page.get_attribute("#console", "data-aligned") == "1", query  # every step found its log line
        page.get_by_test_id("step-next").click()
        session.wait_step(1)
        current = page.locator("#console .line.current").inner_text()
        log = urllib.request.urlopen(f"{session.base}/api/runs/{session.run_id()}/log").read().decode()
        assert current.strip() and current.strip() in log, (query, current)
        # a full-batch step prints its epoch line; a per-sample step its grad line
        full_batch = session.step_json(1)["sample"] is None
        assert ("grad:" not in current) == full_batch or "Epoch" in current, (query, current)
    # enum choices are offered as choices
    session.open("scenario=two_layer")
    assert page.locator("#param-activation option").all_inner_texts() == ["sigmoid", "none"]
    assert "adam" in page.locator("#param-optimizer option").all_inner_texts()
    assert page.get_by_test_id("param-hidden").input_value() == "4"


def test_expression_errors_point_at_the_offending_part(session: PageSession) -> None:
    model = "w1*x**2 + w2*x + b + foo(x)"
    status, body = post_run(session.base, "custom", {"model": model})
    assert status == 422
    message = next(d["msg"] for d in body["detail"] if d["field"] == "model")
    session.open("scenario=custom")
    page = session.page
    page.get_by_test_id("param-model").fill(model)
    page.get_by_test_id("run").click()
    error = page.get_by_test_id("param-model-error")
    error.wait_for(state="visible")
    assert message in error.inner_text()
    assert page.locator("[data-testid=param-model-where] mark").inner_text() == "foo"
    assert page.get_by_test_id("param-model-where").inner_text() == model
    assert page.get_by_test_id("param-model").input_value() == model  # nothing is lost
    session.shot("page-custom-error.png")
    # parameters as name = value rows: add one, use it, run
    page.get_by_test_id("param-model").fill("w1*x**2 + w2*x + b + c")
    assert not error.is_visible()
    page.get_by_test_id("kv-add").click()
    page.get_by_test_id("kv-name-3").fill("c")
    page.get_by_test_id("kv-value-3").fill("0.5")
    before = session.run_id()
    page.get_by_test_id("run").click()
    session.wait_js(f"location.search.includes('c%3D0.5') && {GRAPH_JS}.dataset.run !== '{before}'")
    with urllib.request.urlopen(f"{session.base}/api/runs/{session.run_id()}") as r:
        assert json.loads(r.read())["params"]["params"]["c"] == 0.5
    # a bad name is marked on its row
    page.get_by_test_id("kv-name-3").fill("1c")
    page.get_by_test_id("run").click()
    page.get_by_test_id("param-params-error").wait_for(state="visible")
    assert page.locator(".kv-row.invalid").count() == 1


def test_inspector_shows_matrices_in_full_with_a_heatmap(session: PageSession) -> None:
    session.open("scenario=softmax", hash_="lang=en&theme=light&step=3&phase=backward&node=param:linear.weight")
    page = session.page
    tensors = page.get_by_test_id("tensors")
    tensors.wait_for()
    step = session.step_json(3)
    node = next(n for n in step["graph"]["nodes"] if n["id"] == "param:linear.weight")
    rows, cols = node["shape"]
    grids = tensors.locator(".heatmap")
    assert grids.count() == 2  # the value and the gradient
    assert tensors.locator("figure.grad .heatmap .cell").count() == rows * cols
    # every element at full precision (Python's repr) in the cells' tooltips and in the list
    titles = tensors.locator("figure.value .heatmap .cell").evaluate_all("els => els.map(e => e.title)")
    flat = [v for row in node["value"] for v in row]
    assert titles == [f"linear.weight[{i // cols}, {i % cols}] = {v!r}" for i, v in enumerate(flat)]
    full = tensors.locator("figure.grad pre").text_content()
    assert all(repr(g) in full for row in node["grad"] for g in row)
    # colours come from the values (set through the CSSOM: no style attribute in any HTML string)
    colours = tensors.locator("figure.value .heatmap .cell").evaluate_all(
        "els => els.map(e => e.style.backgroundColor)"
    )
    assert len(set(colours)) > 1
    session.shot("page-softmax-inspector.png")


def test_modules_collapse_and_expand_from_the_page(session: PageSession) -> None:
    """One chip per nn.Module, pressed when the picture draws it as one box; clicks set graph.svg?collapse= and
    ?expand= and live in the URL. (Whether two_layer opens collapsed is the server's to say: see
    tests/test_page_modules.py for a graph the server opens collapsed.)"""
    session.open("scenario=two_layer", hash_="lang=en&theme=light&step=3&phase=backward")
    page = session.page
    chips = page.locator("#modules-list .chip")
    assert set(chips.all_inner_texts()) >= {"layer1", "layer2"}
    hash_js = "new URLSearchParams(location.hash.slice(1))"
    everything = page.get_by_test_id("modules-all")
    if everything.inner_text() == "expand all":  # the server drew boxes by itself: open them first
        everything.click()
        session.wait_js(f"{hash_js}.get('expand') === '*'")
        session.wait_js("document.querySelector('[data-testid=modules-all]').textContent === 'collapse all'")
    everything.click()  # collapse all: the top-level modules, named
    session.wait_js(f"/layer1,layer2/.test({hash_js}.get('collapse') || '')")
    assert page.evaluate(f"{hash_js}.get('expand')") is None
    session.wait_js("document.querySelector('[data-testid=module-layer2]').getAttribute('aria-pressed') === 'true'")
    page.get_by_test_id("module-layer2").click()  # a box: opens exactly it (expand wins over collapse)
    session.wait_js(f"{hash_js}.get('expand') === 'layer2'")
    session.wait_js("document.querySelector('[data-testid=module-layer2]').getAttribute('aria-pressed') === 'false'")
    assert page.get_by_test_id("module-layer1").get_attribute("aria-pressed") == "true"
    collapse = page.evaluate(f"{hash_js}.get('collapse')")
    run_id = session.run_id()
    view = f"collapse={collapse}&expand=layer2"
    session.wait_selector("[data-testid=graph] g.node.module[data-module='layer1']")
    session.go(7, "backward")
    page.wait_for_timeout(300)
    url = f"{session.base}/api/runs/{run_id}/steps/7/graph.svg?phase=backward&theme=light&{view}"
    with urllib.request.urlopen(url) as r:
        root = ET.fromstring(r.read())
    assert session.texts() == ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]  # patched in place
    session.shot("page-two-layer-collapsed.png")
    page.reload()
    session.wait_selector("[data-testid=graph][data-ready='1']")
    session.wait_js("document.querySelector('[data-testid=module-layer1]').getAttribute('aria-pressed') === 'true'")
    assert page.get_by_test_id("module-layer2").get_attribute("aria-pressed") == "false"
    everything.click()  # expand all
    session.wait_js(f"!location.hash.includes('collapse=') && {hash_js}.get('expand') === '*'")
    session.wait_js("document.querySelector('[data-testid=module-layer1]').getAttribute('aria-pressed') === 'false'")


def test_a_busy_server_delays_the_view_but_does_not_break_it(session: PageSession) -> None:
    """The summary answers 202 (still computing) once and 503 (server full) once, a step batch and the labels
    503 once, all with Retry-After: 1; the page waits as told, asks again, and shows the run."""
    page = session.page
    refused: list[str] = []

    def busy(kind: str, statuses: list[int]) -> Any:
        def handler(route: Any) -> None:
            if route.request.method != "GET" or not statuses:
                route.continue_()
                return
            code = statuses.pop(0)
            refused.append(f"{kind} {code}")
            body = {"state": "running", "progress": 0.5} if code == 202 else {"message": "the server is busy"}
            headers = {"Retry-After": "1"}
            route.fulfill(status=code, headers=headers, content_type="application/json", body=json.dumps(body))

        return handler

    page.route(re.compile(r".*/api/runs/[^/?]+$"), busy("run", [202, 503]))
    page.route(re.compile(r".*/api/runs/[^/]+/steps\?.*"), busy("steps", [503]))
    page.route(re.compile(r".*/api/runs/[^/]+/labels\?.*"), busy("labels", [503]))
    session.open()
    assert sorted(refused) == ["labels 503", "run 202", "run 503", "steps 503"]
    st = session.state()
    assert st["k"] == 0 and st["run"]
    assert page.locator("#graph-empty").is_hidden()
    retried = [r for r in session.requests if re.search(r"/api/runs/[^/?]+$", r)]
    assert len(retried) == 3  # 202, 503, then the summary


def test_practice_mode_asks_each_gradient_before_showing_it(session: PageSession) -> None:
    """The student types ∂loss/∂(y_hat - y), ∂loss/∂y_hat, ∂loss/∂w in autograd's order; right and wrong
    answers are judged against PyTorch's numbers (plain PyTorch here), and the answer is hidden until given."""
    s = lecture_steps(3)[2]
    r = 2 * ((s["x"] * s["w"]) - s["y"])  # ∂loss/∂r = 2r, by hand from the step's numbers
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    page.get_by_test_id("practice-toggle").click()
    practice = page.get_by_test_id("practice")
    practice.get_by_test_id("practice-input").wait_for()
    assert "∂loss/∂(y_hat - y)" in practice.inner_text()
    # the answer is not on screen: w's gradient and the label of the edge into w are hidden
    assert "-16.23" not in session.visible_graph_text()
    page.get_by_test_id("practice-input").fill(f"{r:.3f}")
    page.get_by_test_id("practice-check").click()
    page.get_by_text("Right: PyTorch computed").wait_for()
    assert "∂loss/∂y_hat" in practice.inner_text()
    page.get_by_test_id("practice-input").fill("7")  # wrong: the working is shown
    page.get_by_test_id("practice-check").click()
    page.get_by_text("Not quite").wait_for()
    assert repr(s["upstream"]) in practice.inner_text() and "× 1 =" in practice.inner_text()
    assert "∂loss/∂w" in practice.inner_text() and "-16.23" not in session.visible_graph_text()
    page.get_by_test_id("practice-input").fill("abc")  # not a number: said, nothing judged
    page.get_by_test_id("practice-check").click()
    page.get_by_text("Type a number").wait_for()
    page.get_by_test_id("practice-input").fill(f"{s['upstream'] * s['x']:.2f}")  # -16.23, within 1 %
    page.get_by_test_id("practice-check").click()
    page.get_by_text("Every gradient of this step is shown").wait_for()
    assert page.get_by_test_id("practice-score").inner_text() == "This step: 2 of 3 right"
    assert "-16.23" in session.visible_graph_text()
    assert "practice=1" in page.url
    session.shot("page-practice.png")


def test_hovering_a_chart_shows_the_steps_numbers_and_marks_it_everywhere(session: PageSession) -> None:
    """The hover readout is the server's text of PyTorch's numbers; the step is marked on the timeline and in
    the log too, and the log's lines mark it back."""
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    over = page.locator("#chart-loss .u-over")
    over.scroll_into_view_if_needed()  # the charts may start below the first screen: a pointer only hovers what is seen
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] / 2)
    readout = page.get_by_test_id("chart-hover")
    session.wait_js("!document.querySelector('[data-testid=chart-hover]').textContent.includes('…')")
    text = readout.inner_text()
    k = int(re.match(r"step (\d+): loss", text).group(1))  # type: ignore[union-attr]
    s = lecture_steps(k + 1)[k]
    torch = pytest.importorskip("torch")
    loss = ((torch.tensor([s["x"]]) * torch.tensor([s["w"]]) - s["y"]) ** 2).item()
    assert text == f"step {k}: loss {loss:.4g} · w {s['w']:.4g}", text
    assert page.locator("#timeline-hover").is_visible()
    page.mouse.move(0, 0)
    session.wait_js("document.querySelector('[data-testid=chart-hover]').textContent === ''")
    assert not page.locator("#timeline-hover").is_visible()
    # the log marks back: the first gradient line (printed by step 0) marks step 0 in the charts' readout
    page.evaluate("""() => {
        const line = [...document.querySelectorAll('#console .line')].find(l => l.textContent.startsWith('\\tgrad:'));
        line.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); }""")
    session.wait_js("document.querySelector('[data-testid=chart-hover]').textContent.startsWith('step 0:')")
    assert page.locator("#console .line.hovered").count() >= 1


def test_the_source_panel_shows_the_line_that_made_the_node(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&step=2&phase=backward&node=op:2")
    page = session.page
    line = page.get_by_test_id("source-line")
    line.wait_for()
    node = next(n for n in session.step_json(2)["graph"]["nodes"] if n["id"] == "op:2")
    # the lecture's own line, as the course prints its script
    assert line.inner_text().strip() == node["source"]["code"].strip() == "return x * w"
    assert node["source"]["file"] == "backprop_lens/scenarios/scripts/lecture04.py"
    assert page.locator("#source-file").inner_text() == f"{node['source']['file']}:{node['source']['line']}"
    # six lines of context each side (fewer at the file's ends), the node's line among them
    before = page.evaluate("[...document.querySelectorAll('.src-line')].findIndex(e => e.classList.contains('here'))")
    assert before == min(node["source"]["line"] - 1, 6) and page.locator(".src-line").count() <= 13
    page.locator("svg g.node[data-node-id='param:w']").click()  # w was not made by a line: said so
    page.get_by_text("was not made by a line of this code").wait_for()


# the cards of the page, with their boxes in page coordinates: [left, top, right, bottom]
CARDS_JS = """(() => [...document.querySelectorAll('main.layout > .card, main.layout > details.card')]
  .filter((e) => e.getClientRects().length)
  .map((e) => { const r = e.getBoundingClientRect();
    return [e.id || e.className, r.left, r.top + scrollY, r.right, r.bottom + scrollY]; }))()"""


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1440, 900)])
@pytest.mark.parametrize("scenario", ["lecture04", "two_layer"])
def test_no_empty_band_under_the_transport(
    browser: Any, page_server: page_helpers.Server, width: int, height: int, scenario: str
) -> None:
    """The transport row is as tall as its controls, not as the explanation beside it: the next card in its
    column starts one grid gap (12 px) under it, and so does the card after the charts."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    try:
        s = PageSession.attach(context.new_page(), page_server.base)
        s.open(f"scenario={scenario}", "lang=en&theme=light&step=2")
        s.page.wait_for_timeout(300)  # the layout after the graph's shape is known (graph-wide)
        cards = s.page.evaluate(CARDS_JS)
        (transport,) = [c for c in cards if c[0] == "transport"]

        def next_below(card: list[Any]) -> list[Any]:
            """The nearest card under `card` that shares its column (overlaps it horizontally)."""
            below = [c for c in cards if c[1] < card[3] - 1 and c[3] > card[1] + 1 and c[2] >= card[4] - 1]
            return min(below, key=lambda c: c[2])

        after = next_below(transport)
        assert "charts-card" in after[0], (after, cards)
        assert after[2] - transport[4] <= 16, (width, scenario, cards)
        below_charts = next_below(after)
        assert below_charts[2] - after[4] <= 16, (width, scenario, cards)
        assert not s.errors, s.errors
    finally:
        context.close()
