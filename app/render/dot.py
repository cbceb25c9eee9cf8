"""DOT source with the same labels, colours and tooltips as our SVG, for people who want to edit or re-render
the graph with their own Graphviz. (Our SVG itself is drawn from cached positions, not from this.)"""

from __future__ import annotations

from backprop_lens.present import Context, LabelSet, NodeLabel, build_labels
from backprop_lens.render.layout import default_rankdir, shows_edge_labels
from backprop_lens.render.nesting import nest_clusters
from backprop_lens.render.theme import MONO, SANS, KindStyle, Theme
from backprop_lens.render.view import View, make_view
from backprop_lens.render.xml import BAD_XML, esc
from backprop_lens.snapshot import Graph, Phase, Step


def _q(s: str) -> str:
    """A DOT escString (attribute value): backslashes doubled so `\\n`-style escapes in names stay literal."""
    s = BAD_XML.sub("\ufffd", s)  # dot would copy control characters into SVG that no XML parser accepts
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(s: str) -> str:
    """Text inside an HTML-like label (an XML fragment for Graphviz)."""
    return esc(s)


def _table(lab: NodeLabel, ks: KindStyle, theme: Theme, border: int, rounded: bool) -> str:
    rows = [
        f'<TR><TD ALIGN="LEFT" BGCOLOR="{ks.strong}"><FONT COLOR="{ks.on_strong}"><B>{_h(lab.title)}</B>'
        "</FONT></TD>"
        f'<TD ALIGN="RIGHT" BGCOLOR="{ks.strong}"><FONT COLOR="{ks.on_strong}" POINT-SIZE="9">'
        f"{_h(lab.caption) or ' '}</FONT></TD></TR>"
    ]
    for ln in lab.lines:
        colour = {"value": theme.text, "grad": theme.grad, "muted": theme.muted}[ln.role]
        key = ("\u2003" if ln.indent else "") + ln.key  # an em space: sub-lines of a collapsed module's parameter
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{theme.muted}">{_h(key)}</FONT></TD>'
            f'<TD ALIGN="RIGHT"><FONT FACE={_q(MONO)} COLOR="{colour}">{_h(ln.text) or " "}</FONT></TD></TR>'
        )
    style = ' STYLE="ROUNDED"' if rounded else ""
    return (
        f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{ks.strong}" '
        f'BGCOLOR="{ks.body}"{style}>{"".join(rows)}</TABLE>'
    )


def to_dot_source(
    view: View | Graph,
    *,
    phase: Phase,
    theme: Theme,
    step: Step | None = None,
    lang: str = "en",
    context: Context | None = None,
) -> str:
    if isinstance(view, Graph):
        view = make_view(view)
    labels = build_labels(view, phase, step, lang, labelled=shows_edge_labels(view), context=context)
    title = labels.header.title if not labels.header.context else f"{labels.header.context} · {labels.header.title}"
    out = [
        "digraph backprop_lens {",
        f'graph [rankdir={default_rankdir(view.graph)} bgcolor="{theme.background}" fontname={_q(SANS)} '
        f'fontcolor="{theme.text}" label={_q(f"{title} · {labels.header.badge}")} labelloc=t labeljust=l '
        "nodesep=0.28 ranksep=0.32];",
        f'node [shape=plain fontname={_q(SANS)} fontsize=11 fontcolor="{theme.text}"];',
        f'edge [color="{theme.edge}" arrowsize=0.8 fontname={_q(MONO)} fontsize=10 fontcolor="{theme.grad}"];',
    ]
    name = {n.id: f"n{i}" for i, n in enumerate(view.graph.nodes)}  # synthetic DOT IDs; the real id is `id=`
    name.update({b.id: f"m{i}" for i, b in enumerate(view.boxes)})
    _clusters(view, theme, _declarations(view, labels, theme, name), out)
    for i, d in enumerate(view.edges):
        attrs = f"tooltip={_q(labels.edge_tips[i])}"
        chain = labels.edges[i]
        if chain is not None and chain.lines:
            rows = [f"{op} {text}".strip() for op, text in chain.lines if op or text]
            attrs = f"label={_q(chr(10).join(rows))} " + attrs
        out.append(f"{name[d.source]} -> {name[d.target]} [{attrs}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _declarations(view: View, labels: LabelSet, theme: Theme, name: dict[str, str]) -> dict[str, str]:
    decl: dict[str, str] = {}
    for drawn_id, lab in zip(labels.node_ids, labels.nodes, strict=True):
        if drawn_id in name and drawn_id not in {b.id for b in view.boxes}:
            n = view.graph.node(drawn_id)
            table = _table(lab, theme.kind(n.kind, n.is_loss), theme, 3 if n.is_loss else 1, n.kind == "op")
        else:
            table = _table(lab, theme.kinds["module"], theme, 2, True)
        decl[drawn_id] = f"{name[drawn_id]} [id={_q(drawn_id)} tooltip={_q(lab.tooltip)} label=<{table}>];"
    return decl


def _clusters(view: View, theme: Theme, decl: dict[str, str], out: list[str]) -> None:
    """Module frames as nested `subgraph cluster_k`, as the module paths nest."""

    def opening(k: int, depth: int) -> str:
        c = view.clusters[k]
        fill = theme.cluster_fill[depth % len(theme.cluster_fill)]
        return (
            f"subgraph cluster_{k} {{ label={_q(c.label)} tooltip={_q(c.path)} "
            f'style="rounded,filled" fillcolor="{fill}" color="{theme.cluster_stroke}" '
            f'fontcolor="{theme.cluster_text}" fontsize=11 labeljust=l labelloc=t margin=10;'
        )

    nest_clusters(view, opening, decl, out)
