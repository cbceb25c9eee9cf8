"""Recorded nn.Modules: a user's script draws module frames named by its own code (`model`, `model.linear`,
`net.0`), with its parameters and ops in them, checked against a plain run of the same script.

The oracle is plain PyTorch in the test: the script run without us, its modules' `named_modules()` paths under
the variables holding them, forward hooks on its leaf modules for the op each one makes, and its printed numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from backprop_lens.export import load_recording
from backprop_lens.export.page import embedded_data
from backprop_lens.recording import record
from backprop_lens.render import render
from backprop_lens.snapshot import plain_graph
from backprop_lens.web import create_app

from tests import page_helpers
from tests.apps import settings_for_tests
from tests.page_helpers import ARTIFACTS, READY, Server, free_port, stop_server, wait_healthy, wait_js

browser = page_helpers.browser

FIXTURES = Path(__file__).parent / "fixtures"
# script, and the loss of its first step written with its own variables (run again on the plain run's modules)
CASES = {
    "lecture05.py": "criterion(model(x_data), y_data)",
    "mlp_adam.py": "loss_fn(net(inputs[0:4]), targets[0:4])",
}


def plain(script: Path) -> tuple[dict[str, Any], str]:
    """The script run without us: its globals and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        g = runpy.run_path(str(script), run_name="__main__")
    return g, out.getvalue()


def recorded(script: Path) -> Any:
    with contextlib.redirect_stdout(io.StringIO()), record() as rec:
        runpy.run_path(str(script), run_name="__main__")
    return rec


def module_paths(g: dict[str, Any]) -> dict[str, torch.nn.Module]:
    """Every module of the script's models by the path its code gives: the variable, then `named_modules()` under
    it. A module without parameters (the loss function) is none: the loss is drawn outside, as in the scenarios."""
    models = {
        name: v for name, v in g.items() if isinstance(v, torch.nn.Module) and next(v.parameters(), None) is not None
    }
    return {path: m for name, v in models.items() for path, m in v.named_modules(prefix=name)}


def made_by_leaf_modules(g: dict[str, Any], loss: str) -> set[tuple[str, str]]:
    """(leaf module path, the autograd class of the output its forward makes), from hooks on the plain modules."""
    made: set[tuple[str, str]] = set()
    hooks = [
        m.register_forward_hook(lambda m, a, out, path=path: made.add((path, out.grad_fn.name())))
        for path, m in module_paths(g).items()
        if next(m.children(), None) is None
    ]
    try:
        eval(loss, g)
    finally:
        for h in hooks:
            h.remove()
    return made


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], str, Any]:
    script = FIXTURES / request.param
    g, printed = plain(script)
    return request.param, g, printed, recorded(script)


def test_parameters_and_ops_carry_the_users_module_paths(case) -> None:
    name, g, _, rec = case
    paths = module_paths(g)
    owners = {f"{path}.{p}": path for path, m in paths.items() for p, _ in m.named_parameters(recurse=False)}
    made = made_by_leaf_modules(g, CASES[name])
    assert made  # the oracle saw the modules' forwards
    for step in rec.steps:
        params = {n.name: n.module for n in step.graph.nodes if n.kind == "param"}
        assert params == owners  # `net.0.weight` is drawn in `net.0`
        ops = [n for n in step.graph.nodes if n.kind == "op"]
        assert {(n.module, n.grad_fn) for n in ops} >= made  # each module's output op is in its frame
        assert {n.module for n in ops} - {None} == {path for path, _ in made}  # ops: the innermost module's
        assert all(n.module is None for n in ops if n.is_loss)  # the loss function's module has no parameters
        assert all(n.module is None for n in step.graph.nodes if n.kind == "data")


def test_values_and_gradients_equal_the_plain_run(case) -> None:
    _, g, printed, rec = case
    root = next(v for v in ("model", "net") if v in g)
    expected = [json.loads(line) for line in printed.splitlines()]
    assert len(rec.steps) == len(expected)
    for step, want in zip(rec.steps, expected, strict=True):
        graph = plain_graph(step.graph)
        loss = next(n for n in graph.nodes if n.is_loss)
        assert loss.value == want["loss"]
        grads = {n.name: n.grad for n in graph.nodes if n.kind == "param"}
        assert grads == {f"{root}.{p}": grad for p, grad in want["grad"].items()}


def _clusters(svg: bytes) -> set[str]:
    return set(re.findall(r'class="cluster" data-module="([^"]+)"', svg.decode()))


def _boxes(svg: bytes) -> dict[str, set[str]]:
    """Collapsed modules drawn as one box: their members."""
    found = re.findall(
        r'<g id="module:([^"]+)" class="node module collapsed"[^>]* data-members="([^"]*)"', svg.decode()
    )
    return {m: set(members.split()) for m, members in found}


def test_the_svg_draws_the_frames_with_the_users_names(case) -> None:
    _, g, _, rec = case
    paths = module_paths(g)
    step = rec.steps[1]
    assert _clusters(render(step, expand="*")) == set(paths)  # `model`, `model.linear`, `criterion` / `net.0` ...
    leaf = max(paths, key=lambda p: (p.count("."), p))  # the deepest module: `net.2`, `model.linear`
    svg = render(step, collapse=leaf)
    own = {n.id for n in step.graph.nodes if n.module == leaf}
    assert _boxes(svg) == {leaf: own} and leaf not in _clusters(svg)


def test_hooks_are_installed_only_while_recording_also_when_the_script_raises() -> None:
    from torch.nn.modules import module as mod

    def hooks() -> tuple[int, int, int]:
        return (
            len(mod._global_forward_pre_hooks),
            len(mod._global_forward_hooks),
            len(mod._global_forward_hooks_always_called),
        )

    before = hooks()
    linear = torch.nn.Linear(1, 1)
    with pytest.raises(RuntimeError, match="boom"), record() as rec:
        assert hooks() == (before[0] + 1, before[1] + 1, before[2] + 1)
        linear(torch.ones(1, 1)).sum().backward()
        raise RuntimeError("boom")
    assert hooks() == before
    modules = {n.name or n.op: n.module for n in rec.steps[0].graph.nodes if n.kind in ("param", "op")}
    assert modules == {
        "linear.weight": "linear",
        "linear.bias": "linear",
        "T": "linear",
        "addmm": "linear",
        "sum": None,
    }


def test_a_loop_in_a_function_and_an_inline_loss_module() -> None:
    """Locals name the model (`model.0`), a module built inline at every step gets no frame, and a module
    held by `self` (backward called in the model's own method) is named from outer frames when they hold it."""

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))

        def train_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
            torch.nn.MSELoss()(self.body(x), y).backward()

    def train() -> None:
        torch.manual_seed(0)
        model = Net()
        for _ in range(2):
            model.train_step(torch.ones(4, 2), torch.zeros(4, 1))

    with record() as rec:
        train()
    modules = {n.module for s in rec.steps for n in s.graph.nodes}
    assert modules == {"model.body.0", "model.body.1", "model.body.2", None}
    loss = next(n for n in rec.steps[1].graph.nodes if n.is_loss)
    assert loss.module is None  # the inline MSELoss() is in no variable: no frame
    params = {n.name for n in rec.steps[0].graph.nodes if n.kind == "param"}
    assert params == {"model.body.0.weight", "model.body.0.bias", "model.body.2.weight", "model.body.2.bias"}


# -- a served recording ------------------------------------------------------------------------------------------


def _trace(script: Path, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backprop_lens", "trace", str(script), "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("modules")
    out = {}
    for name in CASES:
        out[name] = folder / name.replace(".py", ".json")
        _trace(FIXTURES / name, out[name])
    return out


async def test_a_served_recording_carries_the_module_paths(saved: dict[str, Path]) -> None:
    import httpx

    path = saved["mlp_adam.py"]
    rec = load_recording(path)
    assert {n.module for n in rec.steps[0].graph.nodes} == {"net.0", "net.1", "net.2", None}
    app = create_app(settings_for_tests(recording=path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.get("/recording")
    assert r.status_code == 200
    data = embedded_data(r.text)
    assert {n.get("module") for n in data["steps"][0]["graph"]["nodes"]} == {"net.0", "net.1", "net.2", None}
    # the served steps draw every view of the modules: opened, and each one as a box
    step = rec.steps[0]
    assert _clusters(render(step, expand="*")) == {"net", "net.0", "net.1", "net.2"}
    assert set(_boxes(render(step, collapse="net.0,net.2"))) == {"net.0", "net.2"}
    opened = render(step, expand="net")  # mlp_adam opens with `net` as a box; expanded, its children are
    assert "net" in _clusters(opened) and set(_boxes(opened)) >= {"net.0", "net.2"}


@pytest.fixture(scope="module")
def served(saved: dict[str, Path]) -> Iterator[Server]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--recording", str(saved["lecture05.py"])]
    proc = subprocess.Popen([sys.executable, "-m", "backprop_lens", *args], stdout=subprocess.DEVNULL)
    server = Server(base, proc)
    try:
        wait_healthy(base, proc)
        yield server
    finally:
        stop_server(server)


GRAPH = "document.querySelectorAll('[data-testid=graph] svg"
RECT = "const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"
NODE_JS = f"(id) => {{ const e = document.getElementById(id).querySelector('rect, path'); {RECT} }}"
FRAME_JS = (
    f"(m) => {{ const e = [...{GRAPH} g.cluster')].find((g) => g.dataset.module === m).querySelector('rect'); {RECT} }}"
)


def test_the_served_page_draws_the_frames_around_their_nodes(
    served: Server, saved: dict[str, Path], browser: Any
) -> None:
    """Geometry: each node inside its module's frame on the page (lecture05 opens with its frames drawn)."""
    nodes = {n.id: n.module for n in load_recording(saved["lecture05.py"]).steps[1].graph.nodes}
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=2)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served.base}/recording#step=1&phase=backward&lang=en&theme=light")
        page.wait_for_selector(READY, timeout=60_000)
        wait_js(page, "document.querySelector('[data-testid=graph]').dataset.step === '1'")
        frames = page.evaluate(f"[...{GRAPH} g.cluster')].map((g) => g.dataset.module)")
        assert set(frames) == {"model", "model.linear"}
        box = {m: page.evaluate(FRAME_JS, m) for m in frames}
        assert {m for m in nodes.values() if m} == {"model.linear"}
        for node, module in nodes.items():  # weight, bias, their addmm in `model.linear`; the rest outside
            drawn = page.evaluate(NODE_JS, node)
            assert _inside(drawn, box[module]) if module else not any(_overlap(drawn, b) for b in box.values())
        assert _inside(box["model.linear"], box["model"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "record-modules-1280.png"))
    finally:
        ctx.close()
    assert not errors


def _inside(a: list[float], b: list[float]) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_script_without_modules_draws_no_frames() -> None:
    """The lecture's script has no nn.Module: no node gets a module, the names stay `w`, `x`, `y`."""
    with contextlib.redirect_stdout(io.StringIO()), record(max_steps=6) as rec:
        runpy.run_path(str(FIXTURES / "lecture04.py"), run_name="__main__")
    assert len(rec.steps) == 6 and len(rec.history) == 300
    assert all(n.module is None for s in rec.steps for n in s.graph.nodes)
    assert {n.name for n in rec.steps[2].graph.nodes if n.kind != "op"} == {"w", "x", "y"}


BOXES_JS = (
    "[...document.querySelectorAll('[data-testid=graph] svg g.node[data-kind=module]')].map((g) => g.dataset.module)"
)
CLUSTERS_JS = "[...document.querySelectorAll('[data-testid=graph] svg g.cluster')].map((g) => g.dataset.module)"
HASH_JS = "Object.fromEntries(new URLSearchParams(location.hash.slice(1)))"


def test_the_served_pages_chips_collapse_and_expand_the_users_modules(
    served: Server, saved: dict[str, Path], browser: Any
) -> None:
    """The chips carry the script's names; a click draws that module as one box holding its nodes, inside its
    parent's frame, and the link says so (#collapse=); a pasted #collapse= / #expand= link draws the same."""
    inner = {n.id for n in load_recording(saved["lecture05.py"]).steps[0].graph.nodes if n.module == "model.linear"}
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served.base}/recording#lang=en&theme=light")
        page.wait_for_selector(READY, timeout=60_000)
        chips = page.evaluate("[...document.querySelectorAll('#modules-list .chip')].map((b) => b.dataset.module)")
        assert sorted(chips) == ["model", "model.linear"]
        page.get_by_test_id("module-model.linear").click()
        wait_js(page, f"{BOXES_JS}.length === 1")
        wait_js(page, f"{HASH_JS}.collapse === 'model.linear'")  # the link follows within the URL's 60 ms coalescing
        box = page.locator("[data-testid=graph] svg g.node[data-kind=module]")
        assert set(str(box.get_attribute("data-members")).split()) == inner
        assert page.evaluate(CLUSTERS_JS) == ["model"]
        assert _inside(page.evaluate(NODE_JS, "module:model.linear"), page.evaluate(FRAME_JS, "model"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "record-modules-390.png"), full_page=True)
        for link, boxes, frames in [
            ("collapse=model", ["model"], []),
            ("expand=*", [], ["model", "model.linear"]),
        ]:
            page.goto(f"{served.base}/recording#{link}&lang=en&theme=light")
            page.wait_for_selector(READY, timeout=60_000)
            wait_js(page, f"JSON.stringify({BOXES_JS}.sort()) === {json.dumps(json.dumps(boxes))}")
            assert sorted(page.evaluate(CLUSTERS_JS)) == frames
    finally:
        ctx.close()
    assert not errors
