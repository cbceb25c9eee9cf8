"""The present layer: every key translated, the zh picture free of English UI words, claims only where they hold,
and an explanation whose every equation recomputes from its shown numbers (expected numbers from plain PyTorch)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
import torch
from backprop_lens.present import LANGS, messages
from backprop_lens.present.catalog import CATALOG
from backprop_lens.present.explain import explain
from backprop_lens.render import render
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import Edge, Graph, Node, Relation, Step

# Words of the interface that must not appear on a Chinese picture (identifiers like w.grad, y_hat stay).
ENGLISH_UI_WORDS = [
    "value", "grad", "data", "param", "parameter", "loss", "progress", "upstream", "downstream", "local", "update",
    "step", "epoch", "sample", "module", "ops", "before", "after", "forward", "backward", "constant", "operation",
    "FORWARD", "BACKWARD", "UPDATE", "computed", "summed", "batch", "edge", "phase", "input", "this",
]  # fmt: skip


def test_every_key_has_every_language():
    keys = set().union(*(CATALOG[lang] for lang in LANGS))
    for lang in LANGS:
        missing = sorted(keys - set(CATALOG[lang]) - {k for k in keys if k.startswith("scenario.")})
        assert not missing, f"{lang} lacks {missing}"
        assert all(CATALOG[lang][k].strip() for k in CATALOG[lang]), f"{lang} has an empty text"


def test_every_scenario_title_and_description_is_translated():
    for sid in SCENARIOS:
        for part in ("title", "description"):
            assert f"scenario.{sid}.{part}" in CATALOG["zh"]


def test_placeholders_agree_between_languages():
    for key, text in CATALOG["en"].items():
        if key in CATALOG["zh"]:
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", CATALOG["zh"][key])), key


def _english_words(text: str, identifiers: set[str]) -> list[str]:
    found = []
    for word in ENGLISH_UI_WORDS:
        for m in re.finditer(rf"(?<![.\w]){re.escape(word)}(?![\w(])", text, flags=re.I):
            if m.group(0) not in identifiers:
                found.append(m.group(0))
    return found


@pytest.mark.parametrize("scenario", ["lecture04", "linear_module", "two_layer"])
@pytest.mark.parametrize("phase", ["forward", "backward", "update"])
def test_zh_svg_has_no_english_ui_words(scenario, phase):
    step = build_run(scenario, {"epochs": 2}).step(1)
    identifiers = {n.name for n in step.graph.nodes if n.name} | {n.module for n in step.graph.nodes if n.module}
    identifiers |= {p for name in identifiers for p in name.split(".")}
    root = ET.fromstring(render(step, phase=phase, lang="zh"))
    text = "\n".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith(("text", "title")))
    for n in step.graph.nodes:  # a node's source line is the user's code, not our words
        if n.source is not None:
            text = text.replace(f"{n.source.file}:{n.source.line}  {n.source.code}", "")
    assert not _english_words(text, identifiers), text
    english = ET.fromstring(render(step, phase=phase))
    assert "".join(english.itertext()) != "".join(root.itertext())


def test_messages_are_complete_in_both_languages():
    assert set(messages("zh")) == set(messages("en")) | set(CATALOG["zh"])
    assert messages("zh")["phase.backward"] == "反向"


# -- the explanation ---------------------------------------------------------------------------------------------

NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
OPERAND = rf"\(?{NUMBER}\)?"
EQUATION = re.compile(
    rf"(?P<a>{OPERAND})(?:²| (?P<op>[×+−]) (?P<b>{OPERAND})(?: (?P<op2>[×+]) (?P<c>{OPERAND}))?) (?P<sign>[=≈]) "
    rf"(?P<r>{NUMBER})$"
)
APPLY = {"×": lambda a, b: a * b, "+": lambda a, b: a + b, "−": lambda a, b: a - b}


def _num(text: str) -> float:
    return float(text.strip("()"))


def _value(m: re.Match[str]) -> float:
    a, op = _num(m["a"]), m["op"]
    if op is None:
        return a * a
    b = _num(m["b"])
    if m["op2"] is None:
        return APPLY[op](a, b)
    c = _num(m["c"])
    if m["op2"] == "×":  # a − b × c: the product first
        return APPLY[op](a, b * c)
    return APPLY[m["op2"]](APPLY[op](a, b), c)


def _holds_at_shown_precision(line: str) -> bool | None:
    """None when the line shows no arithmetic; else whether each equation's numbers give its result to the shown
    digits (a line may hold several equations, separated by `;`)."""
    found = None
    for part in line.split(";"):
        m = EQUATION.search(part.strip())
        if m is None:
            continue
        result = m["r"]
        digits = len(result.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) or 1
        scale = 10 ** (math.floor(math.log10(abs(float(result)) or 1)) - digits + 1)
        ok = math.isclose(_value(m), float(result), rel_tol=0, abs_tol=0.5 * scale * 1.001) or m["sign"] == "≈"
        if not ok:
            return False
        found = True
    return found


def _plain_lecture04_step(k: int) -> tuple[float, float, float, float, float]:
    """Lecture 04's loop in plain PyTorch up to step k: (x, y_hat, d loss/d y_hat, w.grad, w after)."""
    w = torch.tensor([1.0], requires_grad=True)
    data = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]
    for i in range(k + 1):
        x, y = data[i % 3]
        y_hat = x * w
        y_hat.retain_grad()
        loss = (y_hat - y) ** 2
        loss.backward()
        grad = w.grad.item()
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
    return x, y_hat.item(), y_hat.grad.item(), grad, w.item()


def test_lecture04_step2_explained_with_the_lecture_numbers():
    lines = explain(build_run("lecture04", {}).step(2), "en", zero_grad=True)
    text = "\n".join(ln.text for ln in lines)
    x, y_hat, d_y_hat, grad, after = _plain_lecture04_step(2)
    assert f"{d_y_hat:.3g}" == "-5.41" and f"{grad:.4g}" == "-16.23" and f"{after:.3g}" == "1.26"
    for shown in ("-5.41", "-16.23", "1.26", f"{y_hat:.4g}"):
        assert shown in text
    phases = [ln.phase for ln in lines]
    assert phases == sorted(phases, key=["forward", "backward", "update", "zero_grad"].index)
    assert any(ln.phase == "zero_grad" and ln.text == "w.grad ← 0" for ln in lines)
    by_node = {ln.node: ln.text for ln in lines if ln.phase == "backward"}
    assert by_node["param:w"].endswith(f"× {x:g} = {grad:.4g}") and "× x" in by_node["param:w"]


@pytest.mark.parametrize(
    ("scenario", "params"),
    [(s, {}) for s in sorted(SCENARIOS)] + [("linear_module", {"optimizer": o}) for o in ("momentum", "adam")],
)
def test_every_scenario_is_explained_and_every_equation_recomputes(scenario, params):
    run = build_run(scenario, {"epochs": 2, **params})
    for k in (0, run.step_count - 1):
        step = run.step(k)
        lines = explain(step, "en")
        assert {ln.phase for ln in lines} >= {"forward", "backward", "update"}
        visited = {n.id for n in step.graph.nodes if n.order is not None}
        assert visited <= {ln.node for ln in lines if ln.phase == "backward"}  # one line per visited node
        for ln in lines:
            assert _holds_at_shown_precision(ln.text) is not False, ln.text
        zh = explain(step, "zh")
        assert len(zh) == len(lines)


def test_explanation_claims_no_product_for_a_relation_that_is_not_elementwise():
    up, down = [[1.0, 2.0]], [[3.0, 4.0, 5.0]]
    nodes = (
        Node("op:0", "op", op="mm", grad_fn="MmBackward0", shape=(1, 2), value=[[1.0]], grad=up, is_loss=True, order=0),
        Node("param:W", "param", name="W", shape=(1, 3), value=[[0.0, 0.0, 0.0]], grad=down, order=1),
    )  # fmt: skip
    rel = Relation("matmul", formula="∂L/∂W = δᵀ·X", left=[[1.0], [2.0]], right=[[3.0, 4.0, 5.0]])
    edge = Edge("param:W", "op:0", grad=down, upstream=up, local=[[1.0, 1.0, 1.0]], relation=rel)
    step = Step(0, 0, None, 1.0, {}, Graph(nodes, (edge,)))
    line = next(ln.text for ln in explain(step) if ln.node == "param:W")
    assert "δᵀ·X" in line and "2×1 · 1×3" in line and "×" not in line.split("=")[1].split("(")[0]


def test_the_recompute_check_can_fail():
    assert _holds_at_shown_precision("z = 3 × 2 = 7") is False
    assert _holds_at_shown_precision("w ← w − lr · w.grad = 1.098 − 0.01 × (-16.23) = 1.261") is False
    assert _holds_at_shown_precision("w ← w − lr · w.grad = 1.0984 − 0.01 × (-16.229) = 1.2607") is True
    assert _holds_at_shown_precision("b ← momentum · b + g = 0.9 × (-77.88) + 18.02 = -52.07") is True
    assert _holds_at_shown_precision("b ← momentum · b + g = 0.9 × (-77.88) + 18.02 = -51.07") is False
    lines = explain(build_run("lecture04", {}).step(2), "en", zero_grad=True)
    assert sum(_holds_at_shown_precision(ln.text) is True for ln in lines) >= 5  # the lecture's arithmetic is shown


def test_cli_renders_a_chinese_slide(tmp_path):
    from backprop_lens.cli import main

    out = tmp_path / "slide.svg"
    assert main(["render", "two_layer", "--step", "2", "--lang", "zh", "--fit", "slide", "-o", str(out)]) == 0
    root = ET.fromstring(out.read_bytes())
    assert abs(float(root.get("width")) / float(root.get("height")) - 16 / 9) < 0.01
    texts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0].startswith("第 2 步") and "两层网络" in texts[1] and "lr 0.1" in texts[1]


@pytest.mark.parametrize("scenario", ["lecture04", "quadratic", "affine", "custom", "gd_vs_sgd"])
def test_each_backward_result_is_the_nodes_gradient_and_each_update_the_new_value(scenario):
    """The shown result of a line is PyTorch's own number (the JSON's), to the shown precision."""
    step = build_run(scenario, {"epochs": 1}).step(0)
    nodes = {n.id: n for n in step.graph.nodes}
    checked = 0
    for ln in explain(step):
        m = EQUATION.search(ln.text.split(";")[0].strip()) if ln.node else None
        if m is None:
            continue
        shown = float(m["r"])
        if ln.phase == "backward":
            truth = nodes[ln.node].grad
        elif ln.phase == "update":
            truth = step.params[nodes[ln.node].name].after
        else:
            truth = nodes[ln.node].value
        truth = float(truth[0] if isinstance(truth, list) else truth)
        digits = len(m["r"].lstrip("-").replace(".", "").lstrip("0"))
        assert math.isclose(shown, truth, rel_tol=10 ** (1 - digits)), ln.text
        checked += 1
    assert checked >= (1 if scenario == "gd_vs_sgd" else 4)  # full-batch GD: tensors, only the update is scalar


def test_a_big_jacobian_is_named_by_its_own_shape_in_the_picture_and_the_explanation():
    """A picture reads big tensors as previews (their first 64 numbers in one row): the Jacobian's shape it names
    is still the tensor's, as in the page's labels (the picture said J1×64 for softmax's 18×18)."""
    step = build_run("softmax", {"epochs": 1}).step(0)
    nodes = {n.id: n for n in step.graph.nodes}
    (edge,) = [e for e in step.graph.edges if e.relation is not None and e.relation.kind == "jacobian"]
    n = math.prod(nodes[edge.source].shape)  # J maps dL/d(output) to dL/d(input): numel x numel for log_softmax
    assert n > 8  # its n x n matrix is more than a picture shows
    want = f"{n}×{n}"
    for lang in LANGS:
        svg = render(step, lang=lang).decode()
        assert want in svg and "1×64" not in svg, lang
        (line,) = [ln.text for ln in explain(step, lang) if ln.phase == "backward" and "J ·" in ln.text]
        assert want in line, line


def test_a_matmul_line_names_the_root_as_every_other_line_does():
    """The tracer's matmul rule says ∂L/∂(…); in an explanation whose root is `loss` every line says ∂loss/∂…"""
    run = build_run("two_layer", {})
    lines = [ln.text for ln in explain(run.step(0), "en")]
    matmul = [ln for ln in lines if "a matrix product" in ln]
    assert matmul, lines
    assert all("∂L/" not in ln for ln in lines)
    assert all("∂loss/" in ln for ln in matmul)
