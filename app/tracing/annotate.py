"""Add what the relations hook, the naming hook and the source lines found to a built `Graph`.

Kept apart from `build` so the graph's structure and its annotations change independently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from backprop_lens.snapshot import Edge, Graph, Node, Output, Relation
from backprop_lens.tracing.build import Observed, _exponent
from backprop_lens.tracing.formulas import formula, reads
from backprop_lens.tracing.ops import base_name
from backprop_lens.tracing.relations import DEFERRED, Found, NodeRelations, later_jacobian, transposed_matmul
from backprop_lens.tracing.values import kept
from backprop_lens.tracing.walk import Walk

TRANSPOSES = frozenset({"T", "Transpose"})


def annotate(graph: Graph, walk: Walk, seen: Observed, found: Mapping[Any, NodeRelations]) -> Graph:
    by_id = {walk.ids[gf]: gf for gf in walk.order if gf not in walk.leaves}
    nodes = [_node(n, by_id.get(n.id), seen, found) for n in graph.nodes]
    label = Labels(nodes)
    inputs = input_ids(graph.edges)
    raw: dict[tuple[str, int], Found] = {}
    for e in graph.edges:
        gf = by_id.get(e.target)
        rels = found.get(gf)
        rel = rels.slots[e.slot] if rels is not None and e.slot < len(rels.slots) else None
        if rel is not None:
            raw[(e.target, e.slot)] = rel
    folded = _fold_transposes(graph.edges, by_id, found, raw)
    for (node_id, slot), _ in list(raw.items()):  # transposes that fed no matmul: their jacobian now
        gf = by_id.get(node_id)
        rels = found.get(gf)
        if (node_id, slot) not in folded and type(gf).__name__ in DEFERRED and rels is not None:
            raw[(node_id, slot)] = later_jacobian(gf, rels, slot)
    folded_rel = {key: rel for key, (rel, _) in folded.items()}
    edges = []
    for e in graph.edges:
        gf = by_id.get(e.target)
        output = gf.next_functions[e.slot][1] if gf is not None and e.slot < len(gf.next_functions) else 0
        rel = folded_rel.get((e.target, e.slot)) or raw.get((e.target, e.slot))
        relation = None
        if rel is not None and gf is not None:
            if (e.target, e.slot) in folded:  # dL/dW = (dL/d(matmul))ᵀ · X, X the matmul's left input
                names = _folded_names(inputs.get(e.target, []), folded[(e.target, e.slot)][1], inputs, label)
            else:
                names = read_names(inputs.get(e.target, []), e.slot, label, type(gf).__name__)
            exponent = _exponent(gf)
            if not isinstance(exponent, (int, float, type(None))):
                exponent = None  # a tensor exponent: the rule says n
            text = formula(
                type(gf).__name__,
                e.slot,
                label[e.target],
                names,
                exponent,
                transposed_mm=(e.target, e.slot) in folded,
            )
            relation = to_relation(rel, text)
        # positional, as `fast.fill` builds them: dataclasses.replace was half of annotate (ResNet-18: ~1 ms)
        edges.append(Edge(e.source, e.target, e.slot, e.grad, e.upstream, e.local, relation, output or 0))
    return Graph(nodes=tuple(nodes), edges=tuple(edges))


def _node(n: Node, gf: Any, seen: Observed, found: Mapping[Any, NodeRelations]) -> Node:
    if gf is None:
        return n
    name, source = seen.op_names.get(gf), seen.sources.get(gf)
    outputs: tuple[Output, ...] = ()
    if len(gf._input_metadata) > 1:
        outputs = outputs_of(seen, gf, found.get(gf))
    if name is None and source is None and not outputs:
        return n
    return dataclasses.replace(n, name=name, source=source, outputs=outputs)


def outputs_of(seen: Observed, gf: Any, rels: NodeRelations | None) -> tuple[Output, ...]:
    """Each output of a multi-output node: its value (while unchanged since made) and its gradient."""
    metas = gf._input_metadata
    grads = rels.grad_outputs if rels is not None else [None] * len(metas)
    return tuple(_output(seen, gf, i, g, m) for i, (g, m) in enumerate(zip(grads, metas, strict=False)))


def _output(seen: Observed, gf: Any, i: int, grad: Any, meta: Any) -> Output:
    made = seen.values.get((gf, i))
    value = kept(made[0]) if made is not None and made[0]._version == made[1] else None
    if grad is None:
        grad = torch.zeros(tuple(meta.shape), dtype=meta.dtype)  # an output the loss does not use: dL/d(it) = 0
    return Output(value=value, grad=grad)


def _folded_names(ids: list[str], use: Edge, inputs: Mapping[str, list[str]], label: Labels) -> tuple[str, ...]:
    first = (label[ids[0]] if ids[0] else "") if ids else "W"
    return (first, label[use.target], _at(inputs.get(use.target, []), use.slot - 1, label))


def fold_names(
    edges: tuple[Edge, ...], e: Edge, inputs: Mapping[str, list[str]], label: Labels
) -> tuple[str, ...] | None:
    """The names `formula` gets for edge `e` when its target, a transpose, is folded into the one matmul it
    feeds (see `_fold_transposes`); None when the target feeds no single consumer."""
    uses = [u for u in edges if u.source == e.target]
    if len(uses) != 1:
        return None
    return _folded_names(inputs.get(e.target, []), uses[0], inputs, label)


class Labels(dict[str, str]):
    """Node id -> `display_name`, computed when first read: a constant's label is its value as text (a
    BatchNorm's running statistics: hundreds of numbers), and most formulas never read it."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        super().__init__()
        self._nodes = {n.id: n for n in nodes}

    def __missing__(self, node_id: str) -> str:
        n = self._nodes.get(node_id)
        text = self[node_id] = display_name(n) if n is not None else "?"
        return text


def input_ids(edges: Iterable[Edge]) -> dict[str, list[str]]:
    """Per target, the id of the node at each input slot ("" for a slot no edge fills)."""
    inputs: dict[str, list[str]] = {}
    for e in edges:
        ids = inputs.setdefault(e.target, [])
        ids.extend([""] * (e.slot + 1 - len(ids)))
        ids[e.slot] = e.source
    return inputs


def read_names(ids: list[str], slot: int, label: Labels, class_name: str) -> tuple[str, ...]:
    """The input names `formula` gets for the edge into `slot`: only those its rule reads (`formulas.reads`)
    are made; the others stay "" (the rule never reads them)."""
    others = reads(class_name)
    return tuple(label[i] if i and (k < others or k == slot) else "" for k, i in enumerate(ids))


def display_name(n: Node) -> str:
    """How a formula names a node: its name (in parentheses when it is an expression such as `y_hat - y`),
    a constant's value, else its operator in parentheses."""
    if n.name:
        return n.name if n.name.replace("_", "").replace(".", "").isalnum() else f"({n.name})"
    if n.kind == "const":
        return str(n.value)
    return f"({n.op})" if n.op else n.id


def _fold_transposes(
    edges: tuple[Edge, ...], by_id: Mapping[str, Any], found: Mapping[Any, NodeRelations], raw: dict[Any, Found]
) -> dict[tuple[str, int], tuple[Found, Edge]]:
    """`W.t()` feeding a matmul: the edge into the transpose says dL/dW = δᵀ·X rather than a permutation."""
    consumers: dict[str, list[Edge]] = {}
    for e in edges:
        consumers.setdefault(e.source, []).append(e)
    folded = {}
    for node_id, gf in by_id.items():
        if base_name(type(gf).__name__) not in TRANSPOSES or len(consumers.get(node_id, [])) != 1:
            continue
        use = consumers[node_id][0]
        up_rel, rels = raw.get((use.target, use.slot)), found.get(gf)
        if up_rel is None or rels is None or not rels.downstream or rels.downstream[0] is None:
            continue
        rel = transposed_matmul(up_rel, rels.grad_outputs[0] if rels.grad_outputs else None, rels.downstream[0])
        if rel is not None:
            folded[(node_id, 0)] = (rel, use)
    return folded


def to_relation(f: Found, text: str) -> Relation:
    """The snapshot's relation: its tensors stay tensors (lists only when JSON is asked for); each is our own
    (a node called on ones, a stacked jacobian, a copy of a saved operand) or the gradient the hook was handed."""
    return Relation(
        kind=f.kind,
        formula=text,
        local=f.local,
        dims=f.dims,
        left=f.left,
        right=f.right,
        jacobian=f.jacobian,
        operands=f.operands,
    )


def _at(ids: list[str], i: int, label: Labels) -> str:
    return (label[ids[i]] or "X") if 0 <= i < len(ids) and ids[i] else "X"
