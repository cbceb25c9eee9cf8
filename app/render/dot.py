"""DOT source with the same labels, colours and tooltips as our SVG, for people who want to edit or re-render
the graph with their own Graphviz. (Our SVG itself is drawn from cached positions, not from this.)"""

from __future__ import annotations

from app.render import labels as L
from app.render.layout import LR_MAX_DEPTH, graph_depth
from app.render.svg import BAD_XML, esc
from app.render.theme import MONO, SANS, Theme
from app.snapshot import Graph, Phase, Step


def _q(s: str) -> str:
    """A DOT escString (attribute value): backslashes doubled so `\\n`-style escapes in names stay literal."""
    s = BAD_XML.sub("\ufffd", s)  # dot would copy control characters into SVG that no XML parser accepts
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(s: str) -> str:
    """Text inside an HTML-like label (an XML fragment for Graphviz)."""
    return esc(s)


def to_dot_source(graph: Graph, *, phase: Phase, theme: Theme, step: Step | None = None) -> str:
    nodes = {n.id: n for n in graph.nodes}
    params = step.params if step is not None else {}
    rankdir = "LR" if graph_depth(graph) <= LR_MAX_DEPTH else "TB"
    title = "Autograd graph" if step is None else f"Step {step.index} · epoch {step.epoch}"
    if step is not None and step.sample is not None:
        title += f" · sample {step.sample}"
    out = [
        "digraph backprop_lens {",
        f'graph [rankdir={rankdir} bgcolor="{theme.background}" fontname={_q(SANS)} fontcolor="{theme.text}" '
        f"label={_q(f'{title} · {phase}')} labelloc=t labeljust=l nodesep=0.28 ranksep=0.32];",
        f'node [shape=plain fontname={_q(SANS)} fontsize=11 fontcolor="{theme.text}"];',
        f'edge [color="{theme.edge}" arrowsize=0.8 fontname={_q(MONO)} fontsize=10 fontcolor="{theme.grad}"];',
    ]
    name = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}  # synthetic DOT IDs; the real id is `id=`
    for n in graph.nodes:
        ks = theme.kind(n.kind, n.is_loss)
        lab = L.node_label(n, phase, params.get(n.name) if n.kind == "param" and n.name else None)
        rows = [
            f'<TR><TD ALIGN="LEFT" BGCOLOR="{ks.strong}"><FONT COLOR="{ks.on_strong}"><B>{_h(lab.title)}</B>'
            "</FONT></TD>"
            f'<TD ALIGN="RIGHT" BGCOLOR="{ks.strong}"><FONT COLOR="{ks.on_strong}" POINT-SIZE="9">'
            f"{_h(lab.caption) or ' '}</FONT></TD></TR>"
        ]
        for ln in lab.lines:
            colour = {"value": theme.text, "grad": theme.grad, "muted": theme.muted}[ln.role]
            rows.append(
                f'<TR><TD ALIGN="LEFT"><FONT COLOR="{theme.muted}">{_h(ln.key)}</FONT></TD>'
                f'<TD ALIGN="RIGHT"><FONT FACE={_q(MONO)} COLOR="{colour}">{_h(ln.text)}</FONT></TD></TR>'
            )
        border = 3 if n.is_loss else 1
        style = ' STYLE="ROUNDED"' if n.kind == "op" else ""
        table = (
            f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{ks.strong}" '
            f'BGCOLOR="{ks.body}"{style}>{"".join(rows)}</TABLE>'
        )
        out.append(f"{name[n.id]} [id={_q(n.id)} tooltip={_q(lab.tooltip)} label=<{table}>];")
    for e in graph.edges:
        lab = L.edge_label(e, nodes[e.source], nodes[e.target], phase)
        attrs = ""
        if lab is not None:
            (_, up), (_, loc), (_, down) = lab.lines
            text = f"{up} × {loc}\n= {down}"
            attrs = f" label={_q(text)} tooltip={_q(lab.tooltip)}"
        out.append(f"{name[e.source]} -> {name[e.target]} [{attrs.strip()}];")
    out.append("}")
    return "\n".join(out) + "\n"
