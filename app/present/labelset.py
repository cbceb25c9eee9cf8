"""A LabelSet: every string one step's picture shows, keyed by a stable slot id.

The renderer draws it (each changing `<text>`/`<tspan>` carries `data-label="SLOT"`, each `<title>` carries
`data-tip="SLOT"`) and the web layer serves the same slots as JSON, so the page only writes strings by slot:

    h:title h:sub h:badge h:context         header          h:doc (tip)   the document's <title>
    n:ID:title n:ID:caption                 a node's header (name; shape)  n:ID (tip)  its tooltip
    n:ID:I:k n:ID:I:v                       line I of node ID: key word, value text
    e:I:J:op e:I:J:v                        line J (0..2) of the chain label of drawn edge I   e:I (tip)
    l:kind:K l:grad l:claim:K               legend entries
Collapsed modules use their box id (`module:PATH`) as ID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from backprop_lens.present.catalog import t
from backprop_lens.present.claims import EdgeLabel
from backprop_lens.present.header import Header, Legend
from backprop_lens.present.nodes import NodeLabel


def node_slot(node_id: str, part: str | int, sub: str = "") -> str:
    return f"n:{node_id}:{part}" + (f":{sub}" if sub else "")


def edge_slot(index: int, line: int | None = None, sub: str = "") -> str:
    return f"e:{index}" + (f":{line}:{sub}" if line is not None else "")


@dataclass(frozen=True, slots=True)
class LabelSet:
    lang: str
    header: Header
    legend: Legend
    node_ids: tuple[str, ...]  # drawn ids, same order as nodes
    nodes: tuple[NodeLabel, ...]  # visible nodes, then collapsed modules' boxes
    edges: tuple[EdgeLabel | None, ...]  # same order as the drawn edges
    edge_tips: tuple[str, ...]  # every drawn edge's tooltip (the label's, or a plain one)

    def texts(self, keyless: frozenset[str] = frozenset()) -> dict[str, str]:
        """{slot: text} of every text element that may change with the step; the nodes in `keyless` are drawn
        without their rows' key words (those stay in the tooltip and the accessible name)."""
        h = self.header
        out = {"h:title": h.title, "h:sub": h.subtitle, "h:badge": h.badge, "h:context": h.context}
        for node_id, lab in zip(self.node_ids, self.nodes, strict=True):
            out[node_slot(node_id, "title")] = lab.title
            if lab.tag:
                out[node_slot(node_id, "caption")] = lab.tag  # the header's shape (the full caption is in the tip)
            for i, ln in enumerate(lab.lines):
                if node_id not in keyless:
                    out[node_slot(node_id, i, "k")] = ln.key
                out[node_slot(node_id, i, "v")] = ln.text
        for i, e in enumerate(self.edges):
            if e is not None:
                for j, (op, text) in enumerate(e.lines):
                    out[edge_slot(i, j, "op")] = op
                    out[edge_slot(i, j, "v")] = text
        for kind, word in self.legend.kinds:
            out[f"l:kind:{kind}"] = word
        if self.legend.grad:
            out["l:grad"] = self.legend.grad
        for kind, claim in self.legend.claims:
            out[f"l:claim:{kind}"] = claim
        return out

    def tips(self) -> dict[str, str]:
        """{slot: tooltip} of every `<title>`."""
        out = {"h:doc": self.header.document}
        for node_id, lab in zip(self.node_ids, self.nodes, strict=True):
            out[f"n:{node_id}"] = lab.tooltip
        for i, tip in enumerate(self.edge_tips):
            out[edge_slot(i)] = tip
        return out

    def aria(self) -> dict[str, dict[str, str]]:
        """{node id: {"full", "short"}}: each node's accessible name, with its numbers (as the box shows them) and
        without them (for a node the walk has not reached: its numbers would give the answer away)."""
        return {node_id: aria_of(lab, self.lang) for node_id, lab in zip(self.node_ids, self.nodes, strict=True)}

    def template(self) -> str:
        """Which SVG template fits these slots: equal for steps whose pictures differ in text only."""
        h = hashlib.sha256("\n".join(self.texts()).encode("utf-8", "surrogatepass"))
        return h.hexdigest()[:12]


def aria_of(lab: NodeLabel, lang: str) -> dict[str, str]:
    head = t(lang, "svg.aria.head", title=lab.title, caption=lab.caption) if lab.caption else lab.title
    lines = t(lang, "svg.aria.sep").join(t(lang, "svg.aria.line", key=ln.key, value=ln.text) for ln in lab.lines)
    return {"full": t(lang, "svg.aria.node", head=head, lines=lines), "short": t(lang, "svg.aria.pending", head=head)}


def slots_of(labels: Sequence[LabelSet]) -> list[dict[str, object]]:
    return [{"texts": ls.texts(), "tips": ls.tips(), "aria": ls.aria(), "template": ls.template()} for ls in labels]
