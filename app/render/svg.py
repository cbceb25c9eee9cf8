"""The SVG writer: draws one step's LabelSet from cached positions, in pure Python (no Graphviz after the first
layout), and writes no word of its own.

Slide-ready by construction: standalone (presentation attributes only, no <style>, no CSS variables, no
external fonts or images, no foreignObject), baselines placed explicitly (no dominant-baseline, which
librsvg and Chromium treat differently), every text XML-escaped. Hooks for the web page: each node group has
`id` = `data-node-id` = Node.id, class "node <kind>", `data-order`; each edge `data-source`/`data-target`;
every text that changes with the step has `data-label="SLOT"` and every `<title>` `data-tip="SLOT"`
(slots: backprop_lens.present.labelset). Positions depend on the layout alone, never on the step's numbers.
"""

from __future__ import annotations

from functools import lru_cache

from backprop_lens.present import Context, LabelSet, NodeLabel, build_labels, t
from backprop_lens.present.labelset import edge_slot, node_slot
from backprop_lens.present.modules import module_rows
from backprop_lens.render import labels as L
from backprop_lens.render.layout import Box, Layout, shows_edge_labels
from backprop_lens.render.legend import draw_legend, legend_height, legend_width
from backprop_lens.render.metrics import sans_width
from backprop_lens.render.parts import CAPTION, DIM, TITLE, Frame, module_frame, node_frame
from backprop_lens.render.slide import pad_to_slide
from backprop_lens.render.theme import MONO, SANS, Theme
from backprop_lens.render.view import Cluster, View, make_view
from backprop_lens.render.xml import esc
from backprop_lens.render.xml import num as _n
from backprop_lens.snapshot import Graph, Phase, Step

PAGE_MARGIN = L.PAGE.margin  # the header's (only styles with a header draw one)
TOP = 58  # header: title + subtitle
CONTEXT_H = 18  # a slide's context line (scenario · model · loss · lr) under the title
BADGE_SIZE = 12


def canvas_size(
    layout: Layout, labels: LabelSet | None = None, fit: str | None = None
) -> tuple[float, float, float, float]:
    """(width, height, graph x offset, graph y offset): from the layout and the legend's room in any language,
    so identical for every step of a run. `fit="slide"`: padded to 16:9, the graph centred. A style without
    a header (presenter mode's) starts with the graph: its page says the step."""
    st = layout.style
    margin = st.margin
    context = labels.header.context if labels is not None else ""
    top = (TOP + (CONTEXT_H if context else 0)) if st.header else margin
    # a slide's context line (a custom model may be long) widens the canvas rather than leaving it
    text_w = sans_width(context, 13) if context and st.header else 0.0
    legend_w = legend_width(labels.legend if labels else None, st.legend_size)
    least = 460.0 if st.header else 0.0  # room for the header's title and badge
    w = max(layout.width + 2 * margin, least, legend_w + 2 * margin, text_w + 2 * margin)
    h = top + layout.height + legend_height(st.legend_size) + margin / 2
    w, h = float(int(w + 0.999)), float(int(h + 0.999))
    extra_y = 0.0
    if fit == "slide":
        w2, h2 = pad_to_slide(w, h)
        extra_y = (h2 - h) / 2
        w, h = w2, h2
    return w, h, round((w - layout.width) / 2, 2), float(top) + round(extra_y, 2)


def make_labels(
    view: View | Graph, phase: Phase, step: Step | None = None, lang: str = "en", context: Context | None = None
) -> LabelSet:
    if isinstance(view, Graph):
        view = make_view(view)
    return build_labels(view, phase, step, lang, labelled=shows_edge_labels(view), context=context)


def _text(slot: str, text: str, attrs: str) -> str:
    return f'<text data-label="{esc(slot)}" {attrs}>{esc(text)}</text>'


def _header(labels: LabelSet, phase: Phase, theme: Theme, width: float) -> list[str]:
    h = labels.header
    badge_colour = {"forward": theme.kinds["op"].strong, "backward": theme.grad, "update": theme.kinds["param"].strong}
    bw = max(sans_width(h.badge, BADGE_SIZE, bold=True) + 18, 90.0)  # the widest badge of any phase or language
    bx = width - PAGE_MARGIN - bw
    on_badge = theme.background if phase != "forward" else "#ffffff"
    sub_y = 46 + (CONTEXT_H if h.context else 0)
    out = ['<g class="header">']
    out.append(
        _text("h:title", h.title, f'x="{PAGE_MARGIN}" y="27" font-size="17" font-weight="bold" fill="{theme.text}"')
    )
    if h.context:
        out.append(_text("h:context", h.context, f'x="{PAGE_MARGIN}" y="46" font-size="13" fill="{theme.text}"'))
    out.append(_text("h:sub", h.subtitle, f'x="{PAGE_MARGIN}" y="{sub_y}" font-size="12" fill="{theme.muted}"'))
    out.append(
        f'<rect class="phase-badge" x="{_n(bx)}" y="12" width="{_n(bw)}" height="20" rx="10" '
        f'fill="{badge_colour[phase]}"/>'
    )
    badge = (
        f'x="{_n(bx + bw / 2)}" y="26.3" font-size="{BADGE_SIZE}" font-weight="bold" text-anchor="middle" '
        f'fill="{on_badge}"'
    )
    out.append(_text("h:badge", h.badge, badge) + "</g>")
    return out


def _node(frame: Frame, node_id: str, label: NodeLabel, theme: Theme, st: L.Style, kind: str) -> str:
    opening, body, x_end, ys = frame
    body = body.replace(TITLE, esc(label.title), 1).replace(CAPTION, esc(label.tag), 1)
    parts = [opening, f'<title data-tip="n:{esc(node_id)}">{esc(label.tooltip)}</title>', body]
    fills = {"value": theme.text, "grad": theme.grad, "muted": theme.muted}
    rows = ys[min(len(label.lines), len(ys) - 1)]
    for i, (ln, y) in enumerate(zip(label.lines, rows, strict=False)):
        weight = ' font-weight="bold"' if ln.role == "grad" else ""
        key_slot, value_slot = _row_slots(node_id, i)
        cls = _hook(ln.key_id)
        key = ""
        if kind in L.KEYED:  # the word stays in the tooltip and the accessible name either way
            kx = _n(st.pad_x + (st.indent if ln.indent else 0))
            key = (
                f'<tspan data-label="{key_slot}" x="{kx}" font-size="{_n(st.key_size)}" '
                f'fill="{theme.muted}">{esc(ln.key)}</tspan>'
            )
        parts.append(
            f'<text class="k-{cls}" y="{y}">{key}'
            f'<tspan data-label="{value_slot}" x="{x_end}" text-anchor="end" '
            f'font-family="{MONO}" font-size="{_n(st.value_size)}" fill="{fills[ln.role]}"{weight}>'
            f"{esc(ln.text)}</tspan></text>"
        )
    parts.append("</g>")
    return "".join(parts)


@lru_cache(maxsize=65536)
def _row_slots(node_id: str, i: int) -> tuple[str, str]:
    """The escaped slot ids of a node's line i: the same for every step, built once."""
    return esc(node_slot(node_id, i, "k")), esc(node_slot(node_id, i, "v"))


@lru_cache(maxsize=4096)
def _hook(key_id: str) -> str:
    """A language-independent class for a line: k-value, k-this-step, k-NAME (a module's parameter)."""
    return esc(t("en", key_id).replace(" ", "-"))


def _fit(text: str, width: float, size: float) -> str:
    """`text`, cut with an ellipsis to fit `width` px of the cluster label font (a long name in a slim frame)."""
    if sans_width(text, size, bold=True) <= width:
        return text
    while text and sans_width(text + "…", size, bold=True) > width:
        text = text[:-1]
    return text + "…"


def _cluster(c: Cluster, layout: Layout, depth: int, theme: Theme) -> str:
    geo = layout.clusters[c.path]
    size = layout.style.cluster_label_size
    b = geo.box
    fill = theme.cluster_fill[depth % len(theme.cluster_fill)]
    return (
        f'<g class="cluster" data-module="{esc(c.path)}" data-depth="{depth}">'
        f"<title>{esc(c.path)}</title>"
        f'<rect x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.w)}" height="{_n(b.h)}" rx="8" fill="{fill}" '
        f'stroke="{theme.cluster_stroke}" stroke-width="1.2"/>'
        f'<text x="{_n(geo.label_x)}" y="{_n(geo.label_y)}" font-size="{_n(size)}" font-weight="bold" '
        f'fill="{theme.cluster_text}">{esc(_fit(c.label, b.w - 18, size))}</text></g>'
    )


def _chain(index: int, box: Box, lines: tuple[tuple[str, str], ...], theme: Theme, attrs: str, st: L.Style) -> str:
    """A written calculation filling the reserved room: operators in one column, texts right-aligned at a fixed
    x. The block is as wide as the room (not as this step's numbers), so every step has the same geometry."""
    x0, block = float(st.edge_pad), box.w - 2 * st.edge_pad
    parts = [
        f'<g class="chain" {attrs} transform="translate({_n(box.x)},{_n(box.y)})">',
        f'<rect x="{_n(x0 - 3)}" y="2" width="{_n(block + 6)}" height="{_n(box.h - 4)}" rx="3" '
        f'fill="{theme.label_bg}" fill-opacity="0.85"/>',
    ]
    y = st.edge_pad + st.edge_size
    for j, (op, text) in enumerate(lines):
        weight = ' font-weight="bold"' if j == len(lines) - 1 else ""
        parts.append(
            f'<text y="{_n(y)}" font-family="{MONO}" font-size="{_n(st.edge_size)}" fill="{theme.grad}"{weight}>'
            f'<tspan data-label="{edge_slot(index, j, "op")}" x="{_n(x0)}">{esc(op)}</tspan>'
            f'<tspan data-label="{edge_slot(index, j, "v")}" x="{_n(x0 + block)}" text-anchor="end">'
            f"{esc(text)}</tspan></text>"
        )
        y += st.edge_line_h
    parts.append("</g>")
    return "".join(parts)


def _depths(view: View) -> dict[str, int]:
    depth: dict[str, int] = {}
    for c in view.clusters:  # outer before inner
        depth[c.path] = depth[c.parent] + 1 if c.parent is not None else 0
    return depth


def _opening(view: View, layout: Layout, phase: Phase, theme: Theme, step: Step | None, size: tuple[float, float]):
    width, height = size
    collapsed = f' data-collapse="{esc(",".join(view.collapse))}"' if view.collapse else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{SANS}" class="backprop-lens theme-{theme.name}" '
        f'data-phase="{phase}" data-topology="{layout.key}" '
        f'data-edge-labels="{"visible" if layout.edge_labels else "tooltip"}"{collapsed}'
        + (f' data-step="{step.index}"' if step is not None else "")
        + ">"
    )


def _clusters(view: View, layout: Layout, theme: Theme) -> list[str]:
    if not view.clusters:
        return []
    key = ("clusters", theme.name)
    block = layout.fragments.get(key)
    if block is None:
        depth = _depths(view)
        body = [_cluster(c, layout, depth[c.path], theme) for c in view.clusters]
        block = layout.fragments[key] = "\n".join(['<g class="clusters">', *body, "</g>"])
    return [block]


def _edges(view: View, layout: Layout, labels: LabelSet, theme: Theme, dim: str) -> tuple[list[str], list[str]]:
    """The edges (paths, arrowheads, tooltips) and, separately, their chain labels (drawn above the nodes)."""
    out, chains = ['<g class="edges">'], []
    for i, (d, geo, lab) in enumerate(zip(view.edges, layout.edges, labels.edges, strict=True)):
        e = d.edge
        ekey = ("edge", theme.name, dim, i, lab is not None)
        edge = layout.fragments.get(ekey)
        if edge is None:
            stroke, sw = (theme.grad, "2") if lab is not None else (theme.edge, "1.5")  # gradient paths stand out
            ends = f'data-source="{esc(e.source)}" data-target="{esc(e.target)}" data-slot="{e.slot}"'
            if d.source != e.source or d.target != e.target:  # rerouted to a collapsed module's box
                ends += f' data-drawn-source="{esc(d.source)}" data-drawn-target="{esc(d.target)}"'
            edge = layout.fragments[ekey] = (
                f'<g class="edge" {ends}{dim}>',
                f'<path d="{geo.path}" fill="none" stroke="{stroke}" stroke-width="{sw}"/>'
                f'<polygon points="{geo.arrow}" fill="{stroke}"/></g>',
                ends,
            )
        out.append(f'{edge[0]}<title data-tip="{edge_slot(i)}">{esc(labels.edge_tips[i])}</title>{edge[1]}')
        if lab is not None and lab.lines and geo.label is not None:
            chains.append(_chain(i, geo.label, lab.lines, theme, edge[2], layout.style))
    out.append("</g>")
    return out, chains


def _nodes(view: View, layout: Layout, labels: LabelSet, theme: Theme, phase: Phase) -> list[str]:
    out = ['<g class="nodes">']
    st = layout.style
    count = len(view.nodes)
    for n, label in zip(view.nodes, labels.nodes[:count], strict=True):
        faded = phase == "update" and n.kind != "param"  # the update only changes parameters: focus on them
        nkey = ("node", theme.name, faded, n.id, n.order)
        frame = layout.fragments.get(nkey)
        if frame is None:
            frame = layout.fragments[nkey] = node_frame(n, layout.nodes[n.id], theme, faded, st)
        out.append(_node(frame, n.id, label, theme, st, n.kind))
    for b, label in zip(view.boxes, labels.nodes[count:], strict=True):
        mkey = ("module", theme.name, b.id)  # never faded: it holds parameters
        frame = layout.fragments.get(mkey)
        if frame is None:
            frame = layout.fragments[mkey] = module_frame(b, layout.nodes[b.id], theme, False, module_rows(b), st)
        out.append(_node(frame, b.id, label, theme, st, "module"))
    out.append("</g>")
    return out


def render_svg(
    graph: Graph | View,
    layout: Layout,
    *,
    phase: Phase,
    theme: Theme,
    step: Step | None = None,
    labels: LabelSet | None = None,
    fit: str | None = None,
) -> str:
    view = graph if isinstance(graph, View) else make_view(graph)
    labels = labels or make_labels(view, phase, step)
    width, height, gx, gy = canvas_size(layout, labels, fit)
    dim = DIM if phase == "update" else ""
    edges, chains = _edges(view, layout, labels, theme, dim)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        _opening(view, layout, phase, theme, step, (width, height)),
        f'<title data-tip="h:doc">{esc(labels.header.document)}</title>',
        f'<rect class="background" width="{_n(width)}" height="{_n(height)}" fill="{theme.background}"/>',
        *(_header(labels, phase, theme, width) if layout.style.header else []),
        f'<g class="graph" transform="translate({_n(gx)},{_n(gy)})">',
        *_clusters(view, layout, theme),
        *edges,
        *_nodes(view, layout, labels, theme, phase),
    ]
    if chains:
        out += ['<g class="chains">', *chains, "</g>"]  # above nodes and edges, like Graphviz labels
    out.append("</g>")
    lkey = ("legend", theme.name, labels.legend, height)  # the same words on every step: drawn once
    legend = layout.fragments.get(lkey)
    if legend is None:
        size = layout.style.legend_size
        legend = draw_legend(labels.legend, theme, height - legend_height(size) + size * 1.6, size, layout.style.margin)
        layout.fragments[lkey] = legend
    out.extend(legend)
    out.append("</svg>")
    return "\n".join(out) + "\n"


__all__ = ["canvas_size", "esc", "make_labels", "render_svg"]
