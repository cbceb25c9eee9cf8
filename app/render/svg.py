"""The SVG writer: draws one step from cached positions, in pure Python (no Graphviz after the first layout).

Slide-ready by construction: standalone (presentation attributes only, no <style>, no CSS variables, no
external fonts or images, no foreignObject), baselines placed explicitly (no dominant-baseline, which
librsvg and Chromium treat differently), every text XML-escaped. Hooks for the web page: each node group has
`id` = `data-node-id` = Node.id, class "node <kind>", `data-order`; each edge `data-source`/`data-target`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backprop_lens.render import labels as L
from backprop_lens.render.format import fmt_full, fmt_num, fmt_preview
from backprop_lens.render.layout import Box, ClusterGeom, Layout, shows_edge_labels
from backprop_lens.render.metrics import MONO_ADVANCE, sans_width
from backprop_lens.render.theme import KINDS, MONO, SANS, Theme
from backprop_lens.render.view import Cluster, ModuleBox, View, make_view
from backprop_lens.snapshot import Graph, Node, Phase, Step

MARGIN = 20
TOP = 58  # header: title + subtitle
LEGEND_H = 38
DIM = ' opacity="0.45"'  # what the current phase does not touch
RADIUS = {"op": 10.0, "param": 3.0, "data": 3.0, "const": 3.0, "module": 6.0}
LEGEND_SIZE = 11
LEGEND_GAP = 18  # between legend items; bold text is measured with bold metrics, plus slack for font fallbacks

BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not XML 1.0

PHASE_TEXT = {
    "forward": "forward pass: values",
    "backward": "backward pass: values and gradients dL/d(node)",
    "update": "update: parameters before → after",
}
LEGEND_KINDS = {
    "param": "parameter",
    "data": "data",
    "const": "constant",
    "op": "operation",
    "loss": "loss",
    "module": "module",
}
LEGEND_GRAD = "grad = dL/d(node)"
LEGEND_CHAIN = "edge: upstream × local = downstream"
LEGEND_CHAIN_TIP = "edge tooltip: upstream × local = downstream"  # big graphs: no visible edge labels


def esc(s: object) -> str:
    """XML-escape text and attribute values (quotes too), dropping characters XML 1.0 cannot carry at all."""
    t = str(s)
    if BAD_XML.search(t) is not None:
        t = BAD_XML.sub("\ufffd", t)
    if "&" in t or "<" in t or ">" in t or '"' in t:  # substring tests are C speed: the common case is none
        t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return t


def _n(v: float) -> str:
    if v == int(v):  # most coordinates are whole points: skip the string surgery
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _text_w(text: str, bold: bool = False) -> float:
    # a little slack (4%) on top of DejaVu's advances: a fallback font (Arial, Helvetica) must fit too
    return sans_width(text, LEGEND_SIZE, bold=bold) * 1.04


def legend_width() -> float:
    w = sum(20 + _text_w(t) + LEGEND_GAP for t in LEGEND_KINDS.values())
    return w + _text_w(LEGEND_GRAD, bold=True) + LEGEND_GAP + _text_w(LEGEND_CHAIN_TIP)


MIN_WIDTH = max(460.0, legend_width() + 2 * MARGIN)


def canvas_size(layout: Layout) -> tuple[float, float, float, float]:
    """(width, height, graph x offset, graph y offset): structure-only, so identical for every step."""
    w = max(layout.width + 2 * MARGIN, MIN_WIDTH)
    h = TOP + layout.height + LEGEND_H + MARGIN / 2
    return float(int(w + 0.999)), float(int(h + 0.999)), round((w - layout.width) / 2, 2), float(TOP)


def _header(step: Step | None, phase: Phase, theme: Theme, width: float) -> list[str]:
    if step is None:
        title = "Autograd graph"
    else:
        title = f"Step {step.index} · epoch {step.epoch}"
        if step.sample is not None:
            title += f" · sample {step.sample}"
    sub = PHASE_TEXT[phase]
    if step is not None and step.loss is not None:
        sub += f"  ·  loss {fmt_num(step.loss) if not isinstance(step.loss, list) else fmt_preview(step.loss)}"
    badge_colour = {"forward": theme.kinds["op"].strong, "backward": theme.grad, "update": theme.kinds["param"].strong}
    badge_text = phase.upper()
    bw = sans_width(badge_text, 11, bold=True) + 18
    bx = width - MARGIN - bw
    on_badge = theme.background if phase != "forward" else "#ffffff"
    return [
        f'<g class="header"><text x="{MARGIN}" y="27" font-size="17" font-weight="bold" fill="{theme.text}">'
        f"{esc(title)}</text>",
        f'<text x="{MARGIN}" y="46" font-size="12" fill="{theme.muted}">{esc(sub)}</text>',
        f'<rect class="phase-badge" x="{_n(bx)}" y="12" width="{_n(bw)}" height="20" rx="10" '
        f'fill="{badge_colour[phase]}"/>',
        f'<text x="{_n(bx + bw / 2)}" y="26" font-size="11" font-weight="bold" text-anchor="middle" '
        f'fill="{on_badge}">{esc(badge_text)}</text></g>',
    ]


def _legend(theme: Theme, y: float, phase: Phase, kinds: set[str], chain: str = LEGEND_CHAIN) -> list[str]:
    out = [f'<g class="legend" font-size="{LEGEND_SIZE}" fill="{theme.muted}">']
    x = float(MARGIN)
    for kind, text in LEGEND_KINDS.items():
        if kind not in kinds:
            continue  # only what this graph has (the canvas is sized for all, so nothing moves)
        if kind == "module":  # a module frame, as clusters are drawn
            out.append(
                f'<rect class="legend-module" x="{_n(x)}" y="{_n(y - 10)}" width="14" height="12" rx="3" '
                f'fill="{theme.cluster_fill[1]}" stroke="{theme.cluster_stroke}" stroke-width="1.2"/>'
            )
        else:
            ks = theme.kinds[kind]
            dash = ' stroke-dasharray="3 2"' if kind == "const" else ""
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="14" height="12" rx="{3 if kind != "op" else 6}" '
                f'fill="{ks.body}" stroke="{ks.strong}" stroke-width="{3 if kind == "loss" else 1.8}"{dash}/>'
            )
        x += 20
        out.append(f'<text x="{_n(x)}" y="{_n(y)}">{esc(text)}</text>')
        x += _text_w(text) + LEGEND_GAP
    if phase != "forward":
        out.append(f'<text x="{_n(x)}" y="{_n(y)}" font-weight="bold" fill="{theme.grad}">{esc(LEGEND_GRAD)}</text>')
        x += _text_w(LEGEND_GRAD, bold=True) + LEGEND_GAP
    if phase == "backward":
        out.append(f'<text x="{_n(x)}" y="{_n(y)}" fill="{theme.grad}">{esc(chain)}</text>')
    out.append("</g>")
    return out


Frame = tuple[str, str, str, tuple[tuple[str, ...], ...]]


def _frame(
    opening: str,
    ks_kind: str,
    is_loss: bool,
    title: str,
    title_size: float,
    caption: str,
    box: Box,
    rows: int,
    theme: Theme,
) -> Frame:
    """The parts of a box that only depend on the topology and theme: opening tag, box and header, the x of the
    value column, and for every count of shown lines the y of each (centred in the reserved rows, so a box that
    shows one line in the forward phase is balanced, and the box itself never changes size or place)."""
    ks = theme.kind(ks_kind, is_loss)
    w, h = box.w, box.h
    r = RADIUS.get(ks_kind, 3.0)
    stroke_w = 3 if is_loss else (2 if ks_kind == "module" else 1.6)
    dash = ' stroke-dasharray="5 3"' if ks_kind == "const" else ""
    hh = L.HEADER_H
    arc = f"A{_n(r)},{_n(r)} 0 0 1"
    band = f"M0,{hh} V{_n(r)} {arc} {_n(r)},0 H{_n(w - r)} {arc} {_n(w)},{_n(r)} V{hh} Z"  # rounded top only
    frame = [
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="{ks.body}"/>',
        f'<path d="{band}" fill="{ks.strong}"/>',
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="none" stroke="{ks.strong}" '
        f'stroke-width="{stroke_w}"{dash}/>',
        f'<text x="{L.PAD_X}" y="17.5" font-size="{title_size}" font-weight="bold" fill="{ks.on_strong}">'
        f"{esc(title)}</text>",
    ]
    if caption:
        frame.append(
            f'<text x="{_n(w - L.PAD_X)}" y="16.5" font-size="{L.CAPTION_SIZE}" text-anchor="end" '
            f'fill="{ks.on_strong}">{esc(caption)}</text>'
        )
    return opening, "".join(frame), _n(w - L.PAD_X), _row_ys(h, rows)


_ROWS: dict[tuple[float, int], tuple[tuple[str, ...], ...]] = {}


def _row_ys(h: float, rows: int) -> tuple[tuple[str, ...], ...]:
    """For each count of shown lines, their baselines, centred in the rows' room (shared by equal boxes)."""
    hit = _ROWS.get((h, rows))
    if hit is None:
        body = h - L.HEADER_H - L.PAD_BOTTOM  # room for the rows, whatever Graphviz rounded the box to
        hit = tuple(
            tuple(_n(L.HEADER_H + (body - shown * L.LINE_H) / 2 + 13.0 + i * L.LINE_H) for i in range(shown))
            for shown in range(rows + 1)
        )
        if len(_ROWS) < 4096:
            _ROWS[(h, rows)] = hit
    return hit


def _node_frame(node: Node, box: Box, theme: Theme, dim: bool) -> Frame:
    classes = f"node {node.kind}" + (" loss" if node.is_loss else "")
    order = f' data-order="{node.order}"' if node.order is not None else ""
    module = f' data-module="{esc(node.module)}"' if node.module else ""
    opening = (
        f'<g id="{esc(node.id)}" class="{classes}" data-node-id="{esc(node.id)}" data-kind="{node.kind}"{order}'
        f'{module} transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    rows = len(L.reserved_keys(node))
    return _frame(
        opening, node.kind, node.is_loss, L.title_of(node), L.title_size(node), L.caption_of(node), box, rows, theme
    )


def _module_frame(mod: ModuleBox, box: Box, theme: Theme, dim: bool) -> Frame:
    opening = (
        f'<g id="{esc(mod.id)}" class="node module collapsed" data-node-id="{esc(mod.id)}" data-kind="module" '
        f'data-module="{esc(mod.path)}" data-members="{esc(" ".join(mod.members))}" '
        f'transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    caption = L.module_caption(mod)
    return _frame(opening, "module", False, mod.path, L.TITLE_SIZE, caption, box, L.module_rows(mod), theme)


def _node(frame: Frame, label: L.NodeLabel, theme: Theme) -> str:
    opening, body, x_end, ys = frame
    parts = [opening, f"<title>{esc(label.tooltip)}</title>", body]
    fills = {"value": theme.text, "grad": theme.grad, "muted": theme.muted}
    rows = ys[min(len(label.lines), len(ys) - 1)]
    for ln, y in zip(label.lines, rows, strict=False):
        weight = ' font-weight="bold"' if ln.role == "grad" else ""
        kx = L.PAD_X + (L.INDENT if ln.indent else 0)
        parts.append(
            f'<text class="k-{esc(ln.key.replace(" ", "-"))}" y="{y}">'
            f'<tspan x="{kx}" font-size="{L.KEY_SIZE}" fill="{theme.muted}">{esc(ln.key)}</tspan>'
            f'<tspan x="{x_end}" text-anchor="end" font-family="{MONO}" font-size="{L.VALUE_SIZE}" '
            f'fill="{fills[ln.role]}"{weight}>{esc(ln.text)}</tspan></text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _fit(text: str, width: float) -> str:
    """`text`, cut with an ellipsis to fit `width` px of the cluster label font (a long name in a slim frame)."""
    if sans_width(text, L.CLUSTER_LABEL_SIZE, bold=True) <= width:
        return text
    while text and sans_width(text + "…", L.CLUSTER_LABEL_SIZE, bold=True) > width:
        text = text[:-1]
    return text + "…"


def _cluster(c: Cluster, geo: ClusterGeom, depth: int, theme: Theme) -> str:
    b = geo.box
    fill = theme.cluster_fill[depth % len(theme.cluster_fill)]
    return (
        f'<g class="cluster" data-module="{esc(c.path)}" data-depth="{depth}">'
        f"<title>module {esc(c.path)}</title>"
        f'<rect x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.w)}" height="{_n(b.h)}" rx="8" fill="{fill}" '
        f'stroke="{theme.cluster_stroke}" stroke-width="1.2"/>'
        f'<text x="{_n(geo.label_x)}" y="{_n(geo.label_y)}" font-size="{L.CLUSTER_LABEL_SIZE}" font-weight="bold" '
        f'fill="{theme.cluster_text}">{esc(_fit(c.label, b.w - 18))}</text></g>'
    )


def _edge_label(box: Box, label: L.EdgeLabel, theme: Theme, attrs: str) -> str:
    # a written multiplication, centred in the reserved room: operators in one column, numbers right-aligned
    cw = MONO_ADVANCE * L.EDGE_SIZE
    block = (max(len(num) for _, num in label.lines) + 2) * cw
    x0 = (box.w - block) / 2
    parts = [
        f'<g class="chain" {attrs} transform="translate({_n(box.x)},{_n(box.y)})">',
        # a halo only as wide as the text, so it never hides the edge the label belongs to
        f'<rect x="{_n(x0 - 3)}" y="2" width="{_n(block + 6)}" height="{_n(box.h - 4)}" rx="3" '
        f'fill="{theme.label_bg}" fill-opacity="0.85"/>',
    ]
    y = L.EDGE_PAD + L.EDGE_SIZE
    for op, num in label.lines:
        weight = ' font-weight="bold"' if op == "=" else ""
        parts.append(
            f'<text y="{_n(y)}" font-family="{MONO}" font-size="{L.EDGE_SIZE}" fill="{theme.grad}"{weight}>'
            f'<tspan x="{_n(x0)}">{esc(op)}</tspan>'
            f'<tspan x="{_n(x0 + block)}" text-anchor="end">{esc(num)}</tspan></text>'
        )
        y += L.EDGE_LINE_H
    parts.append("</g>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Labels:
    """Everything a step says, computed without positions (so it can overlap with a first Graphviz run)."""

    nodes: tuple[L.NodeLabel, ...]  # same order as View.nodes
    boxes: tuple[L.NodeLabel, ...]  # same order as View.boxes (collapsed modules)
    edges: tuple[L.EdgeLabel | None, ...]  # same order as View.edges


def make_labels(view: View | Graph, phase: Phase, step: Step | None = None) -> Labels:
    if isinstance(view, Graph):
        view = make_view(view)
    nodes = {n.id: n for n in view.graph.nodes}
    params = step.params if step is not None else {}
    desc = L.MemoDescribe()
    node_labels = tuple(
        L.node_label(n, phase, params.get(n.name) if n.kind == "param" and n.name else None, desc) for n in view.nodes
    )
    box_labels = tuple(L.module_label(b, phase, params, desc) for b in view.boxes)
    visible = shows_edge_labels(view)
    edge_labels = tuple(
        L.edge_label(d.edge, nodes[d.edge.source], nodes[d.edge.target], phase, desc, visible=visible, full=desc.full)
        for d in view.edges
    )
    return Labels(node_labels, box_labels, edge_labels)


def _depths(view: View) -> dict[str, int]:
    depth: dict[str, int] = {}
    for c in view.clusters:  # outer before inner
        depth[c.path] = depth[c.parent] + 1 if c.parent is not None else 0
    return depth


def render_svg(
    graph: Graph | View,
    layout: Layout,
    *,
    phase: Phase,
    theme: Theme,
    step: Step | None = None,
    labels: Labels | None = None,
) -> str:
    view = graph if isinstance(graph, View) else make_view(graph)
    labels = labels or make_labels(view, phase, step)
    width, height, gx, gy = canvas_size(layout)
    nodes = {n.id: n for n in view.graph.nodes}
    title = "backprop-lens: autograd graph"
    if step is not None:
        title += f", step {step.index} (epoch {step.epoch}"
        title += f", sample {step.sample})" if step.sample is not None else ")"
        if step.loss is not None:
            title += f", loss {fmt_full(step.loss)}"
    title += f", {phase} phase"
    collapsed = f' data-collapse="{esc(",".join(view.collapse))}"' if view.collapse else ""

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{SANS}" class="backprop-lens theme-{theme.name}" '
        f'data-phase="{phase}" data-topology="{layout.key}" '
        f'data-edge-labels="{"visible" if layout.edge_labels else "tooltip"}"{collapsed}'
        + (f' data-step="{step.index}"' if step is not None else "")
        + ">",
        f"<title>{esc(title)}</title>",
        f'<rect class="background" width="{_n(width)}" height="{_n(height)}" fill="{theme.background}"/>',
        *_header(step, phase, theme, width),
        f'<g class="graph" transform="translate({_n(gx)},{_n(gy)})">',
    ]
    dim = DIM if phase == "update" else ""
    frags = layout.fragments  # static pieces of this layout, per theme/phase, built on first use
    if view.clusters:
        ckey = ("clusters", theme.name)
        block = frags.get(ckey)
        if block is None:
            depth = _depths(view)
            block = frags[ckey] = "\n".join(
                ['<g class="clusters">']
                + [_cluster(c, layout.clusters[c.path], depth[c.path], theme) for c in view.clusters]
                + ["</g>"]
            )
        out.append(block)
    out.append('<g class="edges">')
    chains: list[str] = []
    for i, (d, geo, lab) in enumerate(zip(view.edges, layout.edges, labels.edges, strict=True)):
        e = d.edge
        ekey = ("edge", theme.name, dim, i, lab is not None)
        edge = frags.get(ekey)
        if edge is None:
            stroke, sw = (theme.grad, "2") if lab is not None else (theme.edge, "1.5")  # gradient paths stand out
            ends = f'data-source="{esc(e.source)}" data-target="{esc(e.target)}" data-slot="{e.slot}"'
            if d.source != e.source or d.target != e.target:  # rerouted to a collapsed module's box
                ends += f' data-drawn-source="{esc(d.source)}" data-drawn-target="{esc(d.target)}"'
            edge = frags[ekey] = (
                f'<g class="edge" {ends}{dim}>',
                f'<path d="{geo.path}" fill="none" stroke="{stroke}" stroke-width="{sw}"/>'
                f'<polygon points="{geo.arrow}" fill="{stroke}"/></g>',
                ends,
            )
        if lab is not None:
            tip = lab.tooltip
        else:
            tip = f"{L.title_of(nodes[e.source])} → {L.title_of(nodes[e.target])} (input {e.slot})"
        out.append(f"{edge[0]}<title>{esc(tip)}</title>{edge[1]}")
        if lab is not None and lab.lines and geo.label is not None:
            chains.append(_edge_label(geo.label, lab, theme, edge[2]))
    out.append("</g>")
    out.append('<g class="nodes">')
    for n, label in zip(view.nodes, labels.nodes, strict=True):
        faded = phase == "update" and n.kind != "param"  # the update only changes parameters: focus on them
        nkey = ("node", theme.name, faded, n.id, n.order)
        frame = frags.get(nkey)
        if frame is None:
            frame = frags[nkey] = _node_frame(n, layout.nodes[n.id], theme, faded)
        out.append(_node(frame, label, theme))
    for b, label in zip(view.boxes, labels.boxes, strict=True):
        mkey = ("module", theme.name, b.id)  # never faded: it holds parameters
        frame = frags.get(mkey)
        if frame is None:
            frame = frags[mkey] = _module_frame(b, layout.nodes[b.id], theme, False)
        out.append(_node(frame, label, theme))
    out.append("</g>")
    if chains:
        out.append('<g class="chains">')  # above nodes and edges, like Graphviz labels
        out.extend(chains)
        out.append("</g>")
    out.append("</g>")
    legend = frags.get(("legend", theme.name, phase))
    if legend is None:
        kinds = {"loss" if n.is_loss else n.kind for n in view.nodes}
        if view.clusters or view.boxes:
            kinds.add("module")
        chain = LEGEND_CHAIN if layout.edge_labels else LEGEND_CHAIN_TIP
        legend = frags[("legend", theme.name, phase)] = _legend(theme, height - LEGEND_H / 2 + 4, phase, kinds, chain)
    out.extend(legend)
    out.append("</svg>")
    return "\n".join(out) + "\n"


__all__ = ["KINDS", "Labels", "canvas_size", "esc", "make_labels", "render_svg"]
