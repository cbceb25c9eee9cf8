"""Render layer: SVG structure and content per phase, the layout that stays put, escaping, DOT/JSON/PNG output,
missing Graphviz. Expectations are derived from the hand-built input snapshots (tests/render_fixtures.py)."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from itertools import pairwise

import pytest
from backprop_lens import render as R
from backprop_lens.present.format import NUM_WIDTH, PREVIEW_WIDTH, fmt_num, fmt_preview
from backprop_lens.render import GraphvizMissing, LayoutCache, RenderError, layout_for, render, to_dot
from backprop_lens.render import graphviz as graphviz_mod
from backprop_lens.render import layout as layout_mod
from backprop_lens.render.budget import WIDTH_BUDGET
from backprop_lens.render.labels import PAGE
from backprop_lens.render.theme import THEMES
from backprop_lens.snapshot import Graph, Node, step_to_dict

from tests.render_fixtures import chain_graph, lecture04_step, module_step, png_header, tensor_graph

NS = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


def svg_of(obj, **kw) -> ET.Element:
    return ET.fromstring(render(obj, **kw))


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node-id"): g for g in root.iter(f"{NS}g") if g.get("data-node-id") is not None}


def edge_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if (g.get("class") or "").split()[:1] == ["edge"]]


def chain_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if g.get("class") == "chain"]


def row(group: ET.Element, key: str) -> str:
    """The text of a box's row by its language-independent class (k-value, k-grad): an op's value and grad
    are drawn without their words, a parameter's with them."""
    for t in group.iter(f"{NS}text"):
        if t.get("class") == f"k-{key}":
            return " ".join(s.strip() for s in t.itertext() if s.strip())
    return ""


def texts(el: ET.Element) -> str:
    """All visible text of an element, titles (tooltips) excluded."""
    out = []
    for t in el.iter(f"{NS}text"):
        out.append(" ".join(s.strip() for s in t.itertext() if s.strip()))
    return " | ".join(out)


def g4(x: float) -> str:
    """The lecture's numbers to 4 significant digits, computed independently of backprop_lens.render.format."""
    return f"{x:.4g}"


@pytest.fixture
def cache() -> LayoutCache:
    return LayoutCache(maxsize=8)


# --- structure ---------------------------------------------------------------------------------------------


@needs_dot
def test_svg_is_standalone_valid_xml(cache):
    data = render(lecture04_step(0), cache=cache)
    root = ET.fromstring(data)
    assert root.tag == f"{NS}svg"
    assert root.get("viewBox") and root.get("width") and root.get("height")
    w, h = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}" and w > 100 and h > 100
    assert root.find(f"{NS}title") is not None and "step 0" in root.find(f"{NS}title").text
    text = data.decode()
    for banned in ("<style", "foreignObject", "var(", "href", "url(", "@import", "dominant-baseline", "<script"):
        assert banned not in text, banned
    assert "DejaVu Sans" in root.get("font-family")


@needs_dot
def test_named_nodes_with_values_are_present(cache):
    step = lecture04_step(1)  # x=2, y=4, w=1.02 after one update
    root = svg_of(step, cache=cache)
    groups = node_groups(root)
    assert set(groups) == {n.id for n in step.graph.nodes}
    for n in step.graph.nodes:
        g = groups[n.id]
        assert g.get("id") == n.id
        assert n.kind in g.get("class").split()
        shown = texts(g)
        if n.kind == "op":  # PyTorch's class name is in the box's tooltip: its header stays narrow
            assert n.op in shown and n.grad_fn not in shown
            assert n.grad_fn in "".join(g.find(f"{NS}title").itertext())
        elif n.name:
            assert n.name in shown
        assert g4(n.value) in shown, (n.id, shown)
        assert g.find(f"{NS}title") is not None
    assert "loss" in groups["loss"].get("class").split()
    # the loss value and the step in the header
    assert g4(step.loss) in texts(root) and "Step 1" in texts(root)


@needs_dot
def test_edges_carry_source_and_target(cache):
    step = lecture04_step(0)
    root = svg_of(step, cache=cache)
    edges = [(g.get("data-source"), g.get("data-target"), g.get("data-slot")) for g in edge_groups(root)]
    assert sorted(edges) == sorted((e.source, e.target, str(e.slot)) for e in step.graph.edges)


@needs_dot
def test_node_order_is_exposed_for_the_page(cache):
    step = lecture04_step(0)
    groups = node_groups(svg_of(step, cache=cache))
    for n in step.graph.nodes:
        assert groups[n.id].get("data-order") == (str(n.order) if n.order is not None else None)


# --- the layout stays put --------------------------------------------------------------------------------


def geometry(data: bytes) -> dict[str, str]:
    root = ET.fromstring(data)
    geo = {f"node:{k}": g.get("transform") for k, g in node_groups(root).items()}
    for g in edge_groups(root):
        geo[f"edge:{g.get('data-source')}->{g.get('data-target')}"] = g.find(f"{NS}path").get("d")
    for g in root.iter(f"{NS}g"):
        if g.get("class") == "cluster":
            geo[f"cluster:{g.get('data-module')}"] = ET.tostring(g.find(f"{NS}rect"))
    geo["viewBox"] = root.get("viewBox")
    return geo


@needs_dot
def test_positions_identical_across_steps_and_no_graphviz_after_first(cache, monkeypatch):
    first, last = lecture04_step(0), lecture04_step(299)
    assert first.graph.topology_key() == last.graph.topology_key()
    assert first.graph.nodes[0].value != last.graph.nodes[0].value  # the numbers did change
    a = render(first, cache=cache)
    assert cache.misses == 1

    def boom(*args, **kwargs):
        raise AssertionError("Graphviz was called for a topology already laid out")

    monkeypatch.setattr(layout_mod, "run_dot", boom)
    monkeypatch.setattr(subprocess, "run", boom)
    monkeypatch.setattr(subprocess, "Popen", boom)
    b = render(last, cache=cache)
    for phase in ("forward", "update"):
        render(last, phase=phase, cache=cache)  # every phase shares the one layout too
    assert cache.misses == 1
    assert a != b
    assert geometry(a) == geometry(b)
    assert g4(last.params["w"].before) in b.decode()


@needs_dot
def test_phases_and_themes_share_positions(cache):
    step = lecture04_step(5)
    base = geometry(render(step, cache=cache))
    for phase in ("forward", "backward", "update"):
        for theme in ("light", "dark"):
            assert geometry(render(step, phase=phase, theme=theme, cache=cache)) == base
    assert cache.misses == 1


@needs_dot
def test_other_runs_with_same_topology_share_the_layout(cache):
    render(lecture04_step(0), cache=cache)
    render(lecture04_step(0, w=-3.5), cache=cache)  # another run: other initial w
    assert cache.misses == 1
    render(lecture04_step(0, param_name="v"), cache=cache)  # another topology (a renamed param)
    assert cache.misses == 2


@needs_dot
def test_layout_fits_every_value(cache):
    """Labels reserved in the layout hold the widest numbers: boxes are the same for tiny and huge values."""
    small, huge = lecture04_step(0, w=1.0), lecture04_step(0, w=-1.234567e-300)
    assert layout_for(small.graph, cache=cache) is layout_for(huge.graph, cache=cache)
    root = svg_of(huge, cache=cache)
    for g in node_groups(root).values():
        rect = g.find(f"{NS}rect")
        width = float(rect.get("width"))
        for t in g.iter(f"{NS}tspan"):
            if t.get("text-anchor") == "end" and t.get("font-family", "").startswith("DejaVu Sans Mono"):
                chars = len(t.text or "")
                room = width - (40 if "param" in g.get("class").split() else 16)  # a key column, or only padding
                assert chars * 0.602 * float(t.get("font-size")) < room, (t.text, width)


def test_layout_cache_is_bounded():
    c = LayoutCache(maxsize=2)
    calls = []

    def fake(view, rankdir=None, style=None):
        calls.append(view.key)
        return layout_mod.Layout(view.key, "LR", 0, 0, {}, ())

    orig = layout_mod.compute_layout
    layout_mod.compute_layout = fake
    try:
        graphs = [Graph((Node(id=f"n{i}", kind="data", name=f"n{i}"),), ()) for i in range(3)]
        for g in graphs:
            c.get(g)
        assert len(c) == 2 and c.misses == 3
        c.get(graphs[2])  # still cached
        c.get(graphs[0])  # evicted: computed again
        assert c.misses == 4
    finally:
        layout_mod.compute_layout = orig


@needs_dot
def test_real_lecture04_steps_keep_their_positions(cache):
    pytest.importorskip("torch")
    scenarios = pytest.importorskip("backprop_lens.scenarios")
    run = scenarios.build_run("lecture04", {})
    s0, s299 = run.step(0), run.step(299)
    a, b = render(s0, cache=cache), render(s299, cache=cache)
    assert cache.misses == 1 and a != b
    assert geometry(a) == geometry(b)


# --- phases ------------------------------------------------------------------------------------------------


@needs_dot
def test_forward_shows_values_only(cache):
    step = lecture04_step(0)
    root = svg_of(step, phase="forward", cache=cache)
    groups = node_groups(root)
    for n in step.graph.nodes:
        shown = texts(groups[n.id])
        assert g4(n.value) in shown
        assert "grad" not in shown, shown
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "chain"]
    assert THEMES["light"].grad not in render(step, phase="forward", cache=cache).decode()


@needs_dot
def test_backward_shows_gradients_and_chain_rule(cache):
    step = lecture04_step(1)
    root = svg_of(step, phase="backward", cache=cache)
    groups = node_groups(root)
    for n in step.graph.nodes:
        if n.kind == "param":
            assert f"grad {g4(n.grad)}" in texts(groups[n.id]), texts(groups[n.id])
        elif n.kind == "op":  # bold, in the gradients' colour, without the word (the legend says what it is)
            assert row(groups[n.id], "grad") == g4(n.grad), texts(groups[n.id])
    chains = [g for g in root.iter(f"{NS}g") if g.get("class") == "chain"]
    with_grad = [e for e in step.graph.edges if e.grad is not None]
    assert len(chains) == len(with_grad) > 0
    shown = [texts(c) for c in chains]
    for e in with_grad:
        expect = f"{g4(e.upstream)} | × {g4(e.local)} | = {g4(e.grad)}"
        assert expect in shown, (expect, shown)
        assert e.upstream * e.local == pytest.approx(e.grad)  # the fixture itself obeys the chain rule
    assert "upstream × local = downstream" in texts(root)


@needs_dot
def test_update_shows_before_grad_after(cache):
    step = lecture04_step(2)
    p = step.params["w"]
    root = svg_of(step, phase="update", cache=cache)
    shown = texts(node_groups(root)["w"])
    assert f"before {g4(p.before)}" in shown
    assert f"grad {g4(p.grad)}" in shown
    assert f"after {g4(p.after)}" in shown
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "chain"]
    tip = node_groups(root)["w"].find(f"{NS}title").text
    assert f"{p.before!r} → {p.after!r}" in tip  # full precision in the tooltip


@needs_dot
def test_accumulated_gradients_show_both(cache):
    step = lecture04_step(1, grad_accum=-2.0)  # zero_grad off: .grad = this step's + the previous -2
    p = step.params["w"]
    assert p.grad != p.grad_step
    for phase in ("backward", "update"):
        shown = texts(node_groups(svg_of(step, phase=phase, cache=cache))["w"])
        assert f"this step {g4(p.grad_step)}" in shown and f"grad {g4(p.grad)}" in shown
    normal = texts(node_groups(svg_of(lecture04_step(1), cache=cache))["w"])
    assert "this step" not in normal


@needs_dot
def test_tooltips_carry_full_precision(cache):
    step = lecture04_step(7)
    root = svg_of(step, cache=cache)
    mul = step.graph.node("mul")
    tip = node_groups(root)["mul"].find(f"{NS}title").text
    assert repr(mul.value) in tip and repr(mul.grad) in tip
    assert len(repr(mul.value)) > len(g4(mul.value))  # the label really is the compact one


@needs_dot
def test_bare_graph_renders(cache):
    graph = lecture04_step(0).graph
    root = svg_of(graph, phase="update", cache=cache)
    assert "Autograd graph" in texts(root)
    assert "after ?" in texts(node_groups(root)["w"])  # no Step, no update to show


# --- values of every shape ---------------------------------------------------------------------------------


@needs_dot
def test_non_finite_and_missing_values_render(cache):
    step = lecture04_step(0)
    nodes = list(step.graph.nodes)
    nodes[0] = replace(nodes[0], value=math.nan, grad=math.inf)
    nodes[2] = replace(nodes[2], value=[-math.inf], grad=None)
    g = Graph(tuple(nodes), step.graph.edges)
    root = svg_of(replace(step, graph=g, loss=math.nan), cache=cache)
    groups = node_groups(root)
    assert "value nan" in texts(groups["w"]) and "grad inf" in texts(groups["w"])
    assert row(groups["mul"], "value") == "-inf" and row(groups["mul"], "grad") == "?"
    assert "loss nan" in texts(root)


@needs_dot
def test_tensor_values_show_shape_and_preview(cache):
    vals = [[0.5 * i + j for j in range(3)] for i in range(4)]
    grads = [[-1.0 / (1 + i + j) for j in range(3)] for i in range(4)]
    root = svg_of(tensor_graph(vals, grads, (4, 3)), cache=cache)
    a = texts(node_groups(root)["a"])
    assert "4×3" in a
    assert "[0, 1, 2" in a and "…]" in a  # first elements, then an ellipsis
    assert fmt_num(grads[0][0], 3) in a


def test_number_format_is_compact_and_bounded():
    rng = random.Random(4)
    specials = [0.0, -0.0, 1.0, -2.0, 1e-300, -1.2345678e300, 123456789, math.nan, math.inf, -math.inf, 1 / 3]
    for x in specials + [rng.uniform(-1, 1) * 10 ** rng.randint(-320, 308) for _ in range(2000)]:
        s = fmt_num(x)
        assert len(s) <= NUM_WIDTH, (x, s)
        if math.isfinite(x) and x != 0:
            assert float(s) == pytest.approx(x, rel=5e-3), (x, s)
    assert fmt_num(-2.0) == "-2" and fmt_num(1.0199999809265137) == "1.02" and fmt_num(math.nan) == "nan"
    assert fmt_num(None) == "?" and fmt_num(True) == "true"


def test_preview_is_bounded():
    rng = random.Random(5)
    for _ in range(300):
        n = rng.randint(0, 40)
        v = [rng.uniform(-1e6, 1e6) for _ in range(n)]
        for width in (NUM_WIDTH, PREVIEW_WIDTH):
            assert len(fmt_preview(v, width)) <= width
    assert fmt_preview([[7.0]]) == "7"  # one-element tensors are numbers
    assert fmt_preview([]) == "[]"


# --- escaping ----------------------------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("name", ["<script>", '"&', "a]]>b", "x\\ny", "w'\"<&>", "bell\x07"])
def test_names_are_escaped(cache, name):
    step = lecture04_step(0, param_name=name)
    data = render(step, cache=cache)
    root = ET.fromstring(data)  # still parses
    shown = name.replace("\x07", "\ufffd")  # XML 1.0 cannot carry control characters at all
    g = node_groups(root)[shown]
    assert shown in texts(g).split(" | ")[0]  # the header shows the name as text
    if "<" in name:
        assert b"<script" not in data
    dot_src = to_dot(step)
    proc = subprocess.run(["dot", "-Tsvg"], input=dot_src.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    ET.fromstring(proc.stdout)


# --- formats -----------------------------------------------------------------------------------------------


@needs_dot
def test_dark_theme_differs(cache):
    step = lecture04_step(0)
    light, dark = svg_of(step, theme="light", cache=cache), svg_of(step, theme="dark", cache=cache)
    bg = lambda r: next(x for x in r.iter(f"{NS}rect") if x.get("class") == "background").get("fill")  # noqa: E731
    assert bg(light) == THEMES["light"].background and bg(dark) == THEMES["dark"].background != bg(light)
    assert "theme-dark" in dark.get("class")


@needs_dot
def test_dot_output_is_valid_and_labelled():
    step = lecture04_step(1)
    src = render(step, fmt="dot").decode()
    assert src.startswith("digraph")
    for n in step.graph.nodes:
        assert g4(n.value) in src
    assert "MulBackward0" in src
    proc = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout)
    assert (
        f"grad {g4(step.graph.node('mul').grad)}" in " ".join(" ".join(t.itertext()) for t in root.iter(f"{NS}text"))
        or g4(step.graph.node("mul").grad) in proc.stdout.decode()
    )


def test_json_output_is_the_snapshot():
    step = lecture04_step(0)
    nodes = list(step.graph.nodes)
    nodes[0] = replace(nodes[0], grad=math.nan)
    step = replace(step, graph=Graph(tuple(nodes), step.graph.edges))
    data = json.loads(render(step, fmt="json"))
    assert data == json.loads(json.dumps(step_to_dict(step)))
    assert data["graph"]["nodes"][0]["grad"] == "NaN"
    assert json.loads(render(step.graph, fmt="json"))["nodes"][0]["id"] == step.graph.nodes[0].id


@needs_dot
def test_png_decodes_at_projector_resolution(cache):
    step = lecture04_step(0)
    svg_root = svg_of(step, cache=cache)
    png = render(step, fmt="png", cache=cache)
    w, h = png_header(png)
    sw, sh = float(svg_root.get("width")), float(svg_root.get("height"))
    assert w >= 2 * sw and h >= 2 * sh
    assert w / h == pytest.approx(sw / sh, rel=0.02)


# --- errors ------------------------------------------------------------------------------------------------


def test_graphviz_missing_names_the_install_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissing) as err:
        render(lecture04_step(0), cache=LayoutCache())
    msg = str(err.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg and "\n" not in msg
    assert isinstance(err.value, RenderError)


@needs_dot
def test_png_needs_no_system_tool(monkeypatch, tmp_path, cache):
    """resvg ships inside its wheel: once laid out, a step's PNG renders with nothing on PATH."""
    step = lecture04_step(0)
    render(step, cache=cache)  # layout while dot is still reachable
    monkeypatch.setenv("PATH", str(tmp_path))
    assert png_header(render(step, fmt="png", cache=cache))[0] > 0
    assert render(step, cache=cache).startswith(b"<?xml")  # SVG needs no tool once laid out


@pytest.mark.parametrize(
    ("kw", "field"), [({"phase": "sideways"}, "phase"), ({"theme": "neon"}, "theme"), ({"fmt": "gif"}, "fmt")]
)
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(RenderError, match=field):
        render(lecture04_step(0), **kw)
    with pytest.raises(RenderError):
        render("not a step")  # type: ignore[arg-type]


def test_render_never_imports_torch():
    code = "import sys, backprop_lens.render; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
    assert R.render is render


def test_concurrent_first_renders_share_one_layout(monkeypatch):
    """Many requests for a new topology at once (a classroom opening the same link): one Graphviz run."""
    import threading
    import time

    calls = []
    real = layout_mod.compute_layout

    def slow(view, rankdir=None, style=None):
        calls.append(view.key)
        time.sleep(0.2)
        return layout_mod.Layout(view.key, "LR", 10, 10, {}, ())

    monkeypatch.setattr(layout_mod, "compute_layout", slow)
    c = LayoutCache()
    graph = lecture04_step(0).graph
    got = []
    threads = [threading.Thread(target=lambda: got.append(c.get(graph))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and c.misses == 1
    assert len(got) == 8 and all(g is got[0] for g in got)
    assert real is not slow


@needs_dot
def test_failed_layout_is_not_cached(monkeypatch, tmp_path):
    c = LayoutCache()
    step = lecture04_step(0)
    path = __import__("os").environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissing):
        render(step, cache=c)
    monkeypatch.setenv("PATH", path)  # Graphviz installed: the next request works
    assert render(step, cache=c).startswith(b"<?xml") and c.misses == 1


@needs_dot
def test_legend_lists_the_kinds_present(cache):
    step = lecture04_step(0, with_const=False)
    legend = next(g for g in svg_of(step, cache=cache).iter(f"{NS}g") if g.get("class") == "legend")
    words = texts(legend)
    assert "parameter" in words and "data" in words and "operation" in words and "loss" in words
    assert "constant" not in words
    with_const = next(g for g in svg_of(lecture04_step(0), cache=cache).iter(f"{NS}g") if g.get("class") == "legend")
    assert "constant" in texts(with_const)


def test_malformed_graphs_are_render_errors():
    step = lecture04_step(0)
    dangling = Graph(step.graph.nodes, (*step.graph.edges, replace(step.graph.edges[0], source="ghost")))
    with pytest.raises(RenderError, match="ghost"):
        render(dangling, cache=LayoutCache())
    twice = Graph((*step.graph.nodes, step.graph.nodes[0]), step.graph.edges)
    with pytest.raises(RenderError, match="unique"):
        render(twice, fmt="dot")


def test_empty_graph_renders_without_graphviz(monkeypatch):
    monkeypatch.setattr(layout_mod, "run_dot", lambda src: pytest.fail("no layout needed"))
    root = ET.fromstring(render(Graph((), ()), cache=LayoutCache()))
    assert root.get("viewBox") and not node_groups(root)


# --- big graphs: the chain rule moves into edge tooltips -----------------------------------------------------


@needs_dot
@pytest.mark.parametrize("n_ops", [40, 140])
def test_edge_labels_visible_on_small_graphs_tooltips_on_big_ones(cache, n_ops):
    graph = chain_graph(n_ops)
    big = len(graph.nodes) > layout_mod.EDGE_LABEL_MAX_NODES
    root = svg_of(graph, cache=cache)
    assert root.get("data-edge-labels") == ("tooltip" if big else "visible")
    chains = chain_groups(root)
    assert len(chains) == (0 if big else n_ops)
    layout = layout_for(graph, cache=cache)
    assert all((geo.label is None) == big for geo in layout.edges)  # no room reserved in the layout either
    for e, g in zip(graph.edges, edge_groups(root), strict=True):
        assert (g.get("data-source"), g.get("data-target")) == (e.source, e.target)
        tip = g.find(f"{NS}title").text
        assert f"upstream dL/d(*2): {e.upstream!r}" in tip
        assert f"local d(*2)/d({'w' if e.source == 'w' else '*2'}): {e.local!r}" in tip
        assert f"downstream gradient: {e.grad!r}" in tip
    legend = texts(next(g for g in root.iter(f"{NS}g") if g.get("class") == "legend"))
    assert ("edge tooltips: the chain rule of each edge" in legend) == big
    dot = to_dot(graph)
    assert ("label=" in dot.split("->", 1)[1]) == (not big)  # the DOT export follows the same rule
    assert dot.count("downstream gradient") == n_ops


# --- chain groups are addressable ----------------------------------------------------------------------------


@needs_dot
def test_chain_groups_name_their_edge(cache):
    step = lecture04_step(3)
    root = svg_of(step, cache=cache)
    chains = chain_groups(root)
    by_ends = {(c.get("data-source"), c.get("data-target"), c.get("data-slot")): c for c in chains}
    with_grad = [e for e in step.graph.edges if e.grad is not None]
    assert len(by_ends) == len(chains) == len(with_grad)
    for e in with_grad:
        shown = texts(by_ends[(e.source, e.target, str(e.slot))])
        assert shown == f"{g4(e.upstream)} | × {g4(e.local)} | = {g4(e.grad)}"


# --- boxes are tidy: rows centred in the reserved room, which never changes --------------------------------


def row_ys(group: ET.Element) -> list[float]:
    return [float(t.get("y")) for t in group.iter(f"{NS}text") if (t.get("class") or "").startswith("k-")]


@needs_dot
def test_param_rows_are_centred_and_boxes_stay_put(cache):
    step = lecture04_step(2)
    boxes, centres = {}, {}
    for phase in ("forward", "backward", "update"):
        g = node_groups(svg_of(step, phase=phase, cache=cache))["w"]
        rect = g.find(f"{NS}rect")
        boxes[phase] = (g.get("transform"), rect.get("width"), rect.get("height"))
        ys = row_ys(g)
        assert len(ys) == {"forward": 1, "backward": 2, "update": 3}[phase]
        st = PAGE
        body_top, body_bottom = st.header_h, float(rect.get("height")) - st.pad_bottom  # header band, padding
        base = st.line_h / 2 + 0.36 * st.value_size  # a row's baseline below its top
        centres[phase] = ((ys[0] - base) + (ys[-1] - base + st.line_h)) / 2  # first row's top to last's bottom
        assert centres[phase] == pytest.approx((body_top + body_bottom) / 2, abs=0.6)
    assert len(set(boxes.values())) == 1  # same place, same size in every phase


# --- module clusters and collapsed modules -------------------------------------------------------------------


def clusters_of(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-module"): g for g in root.iter(f"{NS}g") if g.get("class") == "cluster"}


def rect_of(g: ET.Element) -> tuple[float, float, float, float]:
    r = g.find(f"{NS}rect")
    return float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height"))


def translate(g: ET.Element) -> tuple[float, float]:
    x, y = g.get("transform")[len("translate(") : -1].split(",")
    return float(x), float(y)


def contains(outer: tuple[float, ...], x: float, y: float, w: float = 0, h: float = 0) -> bool:
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


@needs_dot
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_modules_are_drawn_as_nested_labelled_clusters(cache, theme):
    step = module_step()
    root = svg_of(step, theme=theme, cache=cache)
    clusters = clusters_of(root)
    assert set(clusters) == {"cnn", "cnn.conv", "head"}  # every path and its prefixes
    labels = {k: texts(g) for k, g in clusters.items()}
    assert labels == {"cnn": "cnn", "cnn.conv": "conv", "head": "head"}
    assert clusters["cnn.conv"].get("data-depth") == "1" and clusters["cnn"].get("data-depth") == "0"
    assert contains(rect_of(clusters["cnn"]), *rect_of(clusters["cnn.conv"]))  # nested inside its parent
    assert not contains(rect_of(clusters["cnn"]), *rect_of(clusters["head"]))
    groups = node_groups(root)
    for n in step.graph.nodes:
        x, y = translate(groups[n.id])
        w, h = (float(v) for v in (groups[n.id].find(f"{NS}rect").get(a) for a in ("width", "height")))
        inside = {m for m, g in clusters.items() if contains(rect_of(g), x, y, w, h)}
        expect = {m for m in clusters if n.module and (n.module == m or n.module.startswith(m + "."))}
        assert inside == expect, (n.id, inside, expect)
    assert "module" in texts(next(g for g in root.iter(f"{NS}g") if g.get("class") == "legend"))
    assert THEMES[theme].cluster_stroke in ET.tostring(clusters["cnn"]).decode()


@needs_dot
def test_positions_with_clusters_are_identical_across_steps(cache):
    a, b = module_step(0, w=0.5, v=-1.5), module_step(7, w=1.25, v=0.75)
    assert a.graph.topology_key() == b.graph.topology_key()
    for collapse in ((), ("head",)):
        ga = geometry(render(a, cache=cache, collapse=collapse))
        for phase in ("forward", "backward", "update"):
            assert geometry(render(b, phase=phase, cache=cache, collapse=collapse)) == ga
    assert cache.misses == 2  # one layout per collapsed set, whatever the step or phase


@needs_dot
def test_collapse_draws_one_box_with_the_module_parameters(cache):
    step = module_step()
    root = svg_of(step, collapse=frozenset({"cnn"}), cache=cache)
    groups = node_groups(root)
    assert {"cw", "conv", "relu"}.isdisjoint(groups)  # the module's nodes (and its sub-module's) are hidden
    assert {"x", "hw", "head", "loss"} <= set(groups)
    box = groups["module:cnn"]
    assert "module" in box.get("class").split() and box.get("data-module") == "cnn"
    assert set(box.get("data-members").split()) == {"cw", "conv", "relu"}
    shown = texts(box)
    w = step.graph.node("cw")
    assert "cnn" in shown and f"conv.weight {g4(w.value)}" in shown and f"grad {g4(w.grad)}" in shown
    # no frame for a collapsed module nor its sub-modules; the other module keeps its frame
    assert set(clusters_of(root)) == {"head"}
    # edges across the border end at the box; edges inside it are gone
    drawn = {(g.get("data-drawn-source") or g.get("data-source"), g.get("data-drawn-target") or g.get("data-target"))
             for g in edge_groups(root)}  # fmt: skip
    assert drawn == {("x", "module:cnn"), ("module:cnn", "head"), ("hw", "head"), ("head", "loss")}
    rerouted = next(g for g in edge_groups(root) if g.get("data-drawn-target") == "module:cnn")
    assert (rerouted.get("data-source"), rerouted.get("data-target")) == ("x", "conv")  # the real edge, for the page
    update = texts(node_groups(svg_of(step, phase="update", collapse=("cnn",), cache=cache))["module:cnn"])
    p = step.params["cnn.conv.weight"]
    assert f"conv.weight {g4(p.before)}" in update and f"after {g4(p.after)}" in update
    forward = texts(node_groups(svg_of(step, phase="forward", collapse=("cnn",), cache=cache))["module:cnn"])
    assert "grad" not in forward


@needs_dot
def test_collapse_accepts_nested_and_redundant_names(cache):
    step = module_step()
    a = render(step, collapse=("cnn", "cnn.conv"), cache=cache)  # cnn.conv is inside cnn: the same picture
    b = render(step, collapse="cnn", cache=cache)
    assert a == b and cache.misses == 1
    inner = node_groups(svg_of(step, collapse=["cnn.conv"], cache=cache))
    assert "module:cnn.conv" in inner and "relu" in inner and "conv" not in inner
    assert "conv.weight" not in texts(inner["module:cnn.conv"]) and "weight" in texts(inner["module:cnn.conv"])


@pytest.mark.parametrize("collapse", [("nope",), "cnn,nope", ("cnn.con",), [3]])
def test_unknown_collapse_names_the_field(collapse):
    with pytest.raises(RenderError, match="collapse") as exc:
        render(module_step(), collapse=collapse, cache=LayoutCache())
    assert getattr(exc.value, "field", None) == "collapse"
    with pytest.raises(RenderError, match="collapse"):
        render(module_step(), fmt="json", collapse=collapse)  # validated for every format


def test_collapse_on_a_graph_without_modules_says_so():
    with pytest.raises(RenderError, match="modules: none"):
        render(lecture04_step(0), fmt="dot", collapse=("linear",))


def test_dot_output_has_clusters_and_collapsed_boxes():
    step = module_step()
    dot = to_dot(step)
    assert dot.count("subgraph cluster_") == 3 and 'label="conv"' in dot
    assert dot.index('label="cnn"') < dot.index('label="conv"')  # nested: the parent opens first
    collapsed = to_dot(step, collapse=("cnn",))
    assert 'id="module:cnn"' in collapsed and 'id="conv"' not in collapsed and "subgraph cluster_" in collapsed
    if shutil.which("dot"):
        for source in (dot, collapsed):
            out = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True).stdout
            ET.fromstring(out)


@needs_dot
def test_real_two_layer_scenario_has_its_modules(cache):
    pytest.importorskip("torch")
    scenarios = pytest.importorskip("backprop_lens.scenarios")
    run = scenarios.build_run("two_layer", {})
    s0, s3 = run.step(0), run.step(3)
    root = svg_of(s0, cache=cache, expand="*")
    assert {"layer1", "layer2"} <= set(clusters_of(root))
    assert geometry(render(s0, cache=cache)) == geometry(render(s3, cache=cache))
    # drawn open it is too wide to read on the page: it opens with its top-level modules as boxes, and says so
    first = svg_of(s0, cache=cache)
    assert first.get("data-collapse") == "act,layer1,layer2" and not clusters_of(first)
    assert float(first.get("width")) <= WIDTH_BUDGET + 2 * PAGE.margin < float(root.get("width"))
    box = node_groups(svg_of(s3, collapse=("layer1",), cache=cache))["module:layer1"]
    shown = texts(box)
    assert "weight" in shown and "bias" in shown and "grad" in shown


@needs_dot
def test_a_lone_root_module_opens_at_its_children(cache):
    """A recording names modules from the script's variable (`model.layer1`): the first view of a graph under one
    root is the one of the same graph without it (the root's children as boxes), not a single `model` box."""
    pytest.importorskip("torch")
    scenarios = pytest.importorskip("backprop_lens.scenarios")
    from backprop_lens.render.view import make_view

    graph = scenarios.build_run("two_layer", {}).step(0).graph
    rooted = replace(
        graph, nodes=[replace(n, module=f"model.{n.module}" if n.module else "model") for n in graph.nodes]
    )
    assert make_view(graph).collapse == ("act", "layer1", "layer2")
    assert make_view(rooted).collapse == ("model.act", "model.layer1", "model.layer2")


@needs_dot
def test_a_collapsed_modules_rows_start_under_its_header(cache):
    """A module box reserves rows for every phase; a phase that shows fewer lists them from the top (the room
    left is at the bottom), each row inside the box."""
    pytest.importorskip("torch")
    scenarios = pytest.importorskip("backprop_lens.scenarios")
    step = scenarios.build_run("two_layer", {}).step(3)
    for phase in ("forward", "backward", "update"):
        box = node_groups(svg_of(step, collapse=("layer1",), phase=phase, cache=cache))["module:layer1"]
        height = float(box.find("{http://www.w3.org/2000/svg}rect").get("height"))
        ys = [
            float(t.get("y"))
            for t in box.iter("{http://www.w3.org/2000/svg}text")
            if t.get("class", "").startswith("k-")
        ]
        assert ys, phase
        assert PAGE.header_h < ys[0] <= PAGE.header_h + PAGE.line_h, (phase, ys[0])
        assert all(b - a == pytest.approx(PAGE.line_h, abs=0.1) for a, b in pairwise(ys))
        assert ys[-1] < height, phase


@needs_dot
def test_tensor_loss_shows_a_preview_in_the_header(cache):
    """A per-sample (unreduced) loss is a list: the header previews it (this path once named a missing helper)."""
    step = replace(lecture04_step(0), loss=[0.25, 1.5, 4.0])
    assert "loss [0.25, 1.5, 4]" in texts(svg_of(step, cache=cache))


@needs_dot
def test_lean_graphviz_lays_out_the_same_bytes():
    """`dot` with only the core and dot_layout plugins (no pango/fontconfig start-up) gives identical layouts."""
    from backprop_lens.render.view import make_view

    exe = shutil.which("dot")
    env = graphviz_mod.lean_env(exe)
    assert env is not None, "Graphviz here reports its libdir: the lean environment should work"
    for graph, collapse in ((lecture04_step(0).graph, ()), (module_step().graph, ()), (module_step().graph, ("cnn",))):
        view = make_view(graph, collapse)
        src = layout_mod.layout_dot(view, layout_mod.default_rankdir(graph)).encode()
        plain = subprocess.run([exe, "-Tjson0"], input=src, capture_output=True, check=True).stdout
        lean = subprocess.run([exe, "-Tjson0"], input=src, capture_output=True, check=True, env=env).stdout
        assert plain == lean


def test_lean_graphviz_falls_back_quietly(tmp_path):
    assert graphviz_mod.lean_env(str(tmp_path / "no-such-dot")) is None


def test_an_update_shows_enough_digits_to_tell_before_from_after() -> None:
    from backprop_lens.present.format import fmt_pair

    before, after = 1.9999871253967285, 1.9999923706054688  # float32 values a step apart late in training
    shown = fmt_pair([before], [after])
    assert shown is not None and shown[0] != shown[1]
    assert abs(float(shown[0]) - before) < 1e-5 and abs(float(shown[1]) - after) < 1e-5
    assert fmt_pair(2.0, 2.0) == ("2", "2")  # no change: the compact form
    assert fmt_pair([1.0, 2.0], [1.5, 2.5]) is None  # tensors keep their preview
