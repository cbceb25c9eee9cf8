"""Step + phase + language -> LabelSet: every string of one step's picture (see labelset for the slots)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from backprop_lens.present.catalog import t
from backprop_lens.present.claims import EdgeLabel, edge_label, plain_tooltip
from backprop_lens.present.format import MemoDescribe
from backprop_lens.present.header import Context, header, legend
from backprop_lens.present.labelset import LabelSet
from backprop_lens.present.modules import ModuleBox, module_label
from backprop_lens.present.nodes import node_label, title_of
from backprop_lens.snapshot import Edge, Graph, Node, Phase, Step


class DrawnEdge(Protocol):
    @property
    def edge(self) -> Edge: ...
    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def stands_for(self) -> int: ...


class Box(ModuleBox, Protocol):
    @property
    def id(self) -> str: ...


class ViewLike(Protocol):
    """What present needs of the renderer's view (render.view.View), without importing render."""

    @property
    def graph(self) -> Graph: ...
    @property
    def nodes(self) -> Sequence[Node]: ...
    @property
    def boxes(self) -> Sequence[Box]: ...
    @property
    def edges(self) -> Sequence[DrawnEdge]: ...
    @property
    def clusters(self) -> Sequence[object]: ...


def build_labels(
    view: ViewLike,
    phase: Phase,
    step: Step | None = None,
    lang: str = "en",
    *,
    labelled: bool = True,
    context: Context | None = None,
) -> LabelSet:
    """`labelled`: edges have room for visible chain labels (lecture-sized graphs); else tooltips only."""
    by_id = {n.id: n for n in view.graph.nodes}
    params = step.params if step is not None else {}
    desc = MemoDescribe()
    nodes = [
        node_label(n, phase, params.get(n.name) if n.kind == "param" and n.name else None, desc, lang)
        for n in view.nodes
    ]
    nodes += [module_label(b, phase, params, desc, lang) for b in view.boxes]
    edges: list[EdgeLabel | None] = []
    tips: list[str] = []
    titles = {b.id: b.path for b in view.boxes}
    for d in view.edges:
        e = d.edge
        source, target = by_id[e.source], by_id[e.target]
        if d.stands_for > 1:  # many alike edges drawn as one: no single edge's numbers stand for them all
            source_title = titles.get(d.source) or title_of(by_id[d.source], lang)
            target_title = titles.get(d.target) or title_of(by_id[d.target], lang)
            edges.append(None)
            tips.append(t(lang, "svg.tip.edges", n=f"{d.stands_for:,}", source=source_title, target=target_title))
            continue
        lab = edge_label(e, source, target, phase, desc, visible=labelled, full=desc.full, lang=lang)
        edges.append(lab)
        tips.append(lab.tooltip if lab is not None else plain_tooltip(e, source, target, lang))
    kinds = {"loss" if n.is_loss else n.kind for n in view.nodes}
    if view.clusters or view.boxes:
        kinds.add("module")
    claims = {lab.kind for lab in edges if lab is not None}
    return LabelSet(
        lang=lang,
        header=header(step, phase, lang, context),
        legend=legend(phase, kinds, claims, labelled, lang),
        node_ids=tuple([n.id for n in view.nodes] + [b.id for b in view.boxes]),
        nodes=tuple(nodes),
        edges=tuple(edges),
        edge_tips=tuple(tips),
    )
