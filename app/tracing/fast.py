"""The fast path for a known topology: a step whose graph has the structure of one traced before needs only
its numbers.

A training loop builds the same graph at every step. The first step of a structure is traced fully (`build` +
`annotate`); its graph becomes a `Template`. A later step computes its `signature` (every structural fact the
built graph depends on: node classes, edges, names, modules, source lines, constants, exponents) and, when a
template has that signature, `fill` copies the structure from the template and takes from this step only what
PyTorch computed: values, gradients, the backward order and the relations (still classified and checked on this
step's tensors, as a full trace does). A different signature (a branch taken, another batch shape) is traced
fully: a topology is never reused unless every structural fact is equal.

`FULL = True` (or BACKPROP_LENS_FULL_TRACE=1) turns the fast path off: every step is traced fully.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from backprop_lens.snapshot import Edge, Graph, Node
from backprop_lens.tracing.annotate import (
    TRANSPOSES,
    Labels,
    _fold_transposes,
    fold_names,
    input_ids,
    outputs_of,
    read_names,
    to_relation,
)
from backprop_lens.tracing.backward import NodeRecord
from backprop_lens.tracing.build import Observed, _exponent, value_of
from backprop_lens.tracing.formulas import formula, reads
from backprop_lens.tracing.ops import base_name
from backprop_lens.tracing.relations import DEFERRED, NodeRelations, later_jacobian
from backprop_lens.tracing.values import kept, leaf_grad, shape_of
from backprop_lens.tracing.walk import Walk

FULL = os.environ.get("BACKPROP_LENS_FULL_TRACE", "") == "1"
_LIMIT = 256  # templates kept per process (one per distinct structure; a run has one or a few)
_TEMPLATES: OrderedDict[tuple[Any, ...], Template] = OrderedDict()
_FORWARDS: OrderedDict[Any, None] = OrderedDict()  # forward keys traced fully once (see `known_forward`)
_STATS = {"full": 0, "filled": 0}  # steps traced fully / filled from a template (what tests check was taken)
_CONST_LIMIT = 64  # a constant a formula may print enters the signature by its values up to this size


def enabled() -> bool:
    return not FULL


@contextlib.contextmanager
def full_traces() -> Iterator[None]:
    """Inside: every step is traced fully (the reference the fast path is tested against)."""
    global FULL
    old, FULL = FULL, True
    try:
        yield
    finally:
        FULL = old


def clear() -> None:
    """Forget every template and forward key (tests: each run starts from a full trace)."""
    _TEMPLATES.clear()
    _FORWARDS.clear()
    _STATS.update(full=0, filled=0)


def stats() -> dict[str, int]:
    return dict(_STATS)


def count(filled: bool) -> None:
    _STATS["filled" if filled else "full"] += 1


def known_forward(key: Any) -> bool:
    """Was a step with this forward key (the tracer's named params, inputs and modules) traced before?

    Only then does its forward run without the dispatch mode: the first step teaches `modes.learn_composite`
    which calls build nodes their outputs do not show."""
    return key is not None and key in _FORWARDS


def remember_forward(key: Any) -> None:
    if key is None:
        return
    _FORWARDS[key] = None
    _FORWARDS.move_to_end(key)
    while len(_FORWARDS) > _LIMIT:
        _FORWARDS.popitem(last=False)


# -- the signature ---------------------------------------------------------------------------------------
def signature(walk: Walk, seen: Observed) -> tuple[Any, ...] | None:
    """Every structural fact `build_graph` + `annotate` read, in walk order; None when one is not hashable
    (a tensor exponent, a big constant tensor): such a step is always traced fully."""
    index = {gf: i for i, gf in enumerate(walk.order)}
    roots = set(walk.roots)
    parts: list[Any] = []
    for gf in walk.order:
        if gf in walk.leaves:
            var = gf.variable
            parts.append((type(gf), seen.names.get(id(var)), seen.param_module.get(id(var))))
            continue
        exponent = _exponent(gf)
        if exponent is not None and not isinstance(exponent, (int, float)):
            return None
        extras = _extras_signature(seen, seen.extras.get(gf, ()), reads(type(gf).__name__) > 0)
        if extras is None:
            return None
        children = tuple((-1 if c is None else index[c], nr) for c, nr in gf.next_functions)
        parts.append(
            (
                type(gf),
                children,
                len(gf._input_metadata),
                exponent,
                extras,
                gf in roots,
                seen.op_names.get(gf),
                seen.sources.get(gf),
                seen.op_module.get(gf),
            )
        )
    return tuple(parts)


def _extras_signature(seen: Observed, extras: Any, labels_read: bool) -> tuple[Any, ...] | None:
    """A node's inputs autograd does not keep. A constant's label is its value as text; only a rule that reads
    other inputs' names (`formulas.reads`) can print it, so only there do its values enter the signature. Else
    its dtype and shape do: its value is this step's, as every value is (`fill`)."""
    out: list[tuple[Any, ...]] = []
    for obj in extras:
        named = seen.names.get(id(obj))
        if named is not None:
            out.append(("data", named[0], shape_of(obj)))
        elif not labels_read:
            out.append(
                ("const", str(obj.dtype), tuple(obj.shape)) if isinstance(obj, torch.Tensor) else ("const", type(obj))
            )
        elif isinstance(obj, torch.Tensor):
            if obj.numel() > _CONST_LIMIT:
                return None
            out.append(("const", str(obj.dtype), tuple(obj.shape), tuple(obj.reshape(-1).tolist())))
        else:
            out.append(("const", type(obj), obj))
    return tuple(out)


# -- templates -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _EdgeSpec:
    edge: Edge  # the template's edge: source, target, slot, output
    walk_index: int | None  # the target's position in the walk (None: an edge from a data input or constant)
    text: str  # the formula when not folded into a transposed matmul
    fold_text: str  # the formula when it is (an edge into `W.t()` that feeds a matmul)


@dataclass(frozen=True)
class Template:
    """The graph of the step that first had this structure, and where each part of a later one comes from."""

    nodes: tuple[Node, ...]
    sources: tuple[tuple[str, int, int], ...]  # per node: ("extra", walk index, position) | ("leaf"|"op", i, 0)
    edges: tuple[_EdgeSpec, ...]
    transposes: bool  # any node whose relation `annotate` decides after backward (folded or a jacobian)


def lookup(key: tuple[Any, ...] | None) -> Template | None:
    if key is None:
        return None
    found = _TEMPLATES.get(key)
    if found is not None:
        _TEMPLATES.move_to_end(key)
    return found


def store(key: tuple[Any, ...] | None, graph: Graph, walk: Walk, seen: Observed) -> None:
    """Keep the fully traced `graph` as the template of its signature `key`."""
    if key is None:
        return
    _TEMPLATES[key] = _template(graph, walk, seen)
    while len(_TEMPLATES) > _LIMIT:
        _TEMPLATES.popitem(last=False)


def _template(graph: Graph, walk: Walk, seen: Observed) -> Template:
    position = {walk.ids[gf]: i for i, gf in enumerate(walk.order)}
    extra_at: dict[str, tuple[int, int]] = {}
    for i, gf in enumerate(walk.order):
        for p, obj in enumerate(seen.extras.get(gf, ()) if gf not in walk.leaves else ()):
            named = seen.names.get(id(obj))
            node_id = f"data:{named[0]}" if named is not None else None
            if node_id is not None:
                extra_at.setdefault(node_id, (i, p))
    sources = []
    for n in graph.nodes:
        if n.id in position:
            i = position[n.id]
            sources.append(("leaf" if walk.order[i] in walk.leaves else "op", i, 0))
        elif n.id in extra_at:
            sources.append(("extra", *extra_at[n.id]))
        else:  # a constant `const:op:N.slot`: the extra of node N at that slot
            target, slot = n.id.removeprefix("const:").rsplit(".", 1)
            sources.append(("extra", position[target], _extra_position(walk.order[position[target]], int(slot))))
    label = Labels(graph.nodes)
    inputs = input_ids(graph.edges)
    specs = []
    for e in graph.edges:
        at = position.get(e.target)
        gf = walk.order[at] if at is not None else None
        text = fold = ""
        if gf is not None and e.source in position:
            exponent = _exponent(gf)
            exponent = exponent if isinstance(exponent, (int, float, type(None))) else None
            name = type(gf).__name__
            names = read_names(inputs.get(e.target, []), e.slot, label, name)
            text = formula(name, e.slot, label[e.target], names, exponent)
            # only a transpose is ever folded (`_fold_transposes`)
            folded = fold_names(graph.edges, e, inputs, label) if base_name(name) in TRANSPOSES else None
            if folded is not None:
                fold = formula(name, e.slot, label[e.target], folded, exponent, transposed_mm=True)
        specs.append(_EdgeSpec(e, at, text, fold))
    transposes = any(type(gf).__name__ in DEFERRED for gf in walk.order)
    return Template(graph.nodes, tuple(sources), tuple(specs), transposes)


def _extra_position(gf: Any, slot: int) -> int:
    """Which of the node's extras fills input `slot` (the free slots first, then slots past the tracked ones)."""
    free = [s for s, (child, _) in enumerate(gf.next_functions) if child is None]
    slots = [*free, *range(len(gf.next_functions), len(gf.next_functions) + 64)]
    return slots.index(slot)


# -- a later step of the same structure -----------------------------------------------------------------
def fill(
    t: Template,
    walk: Walk,
    seen: Observed,
    records: Mapping[Any, NodeRecord],
    found: Mapping[Any, NodeRelations],
    locals_: Mapping[Any, list[Any]],
) -> Graph:
    """This step's graph: the template's structure with this step's numbers (what `build` + `annotate` give)."""
    order = walk.order
    empty = NodeRecord()
    nodes = []
    for n, (kind, i, p) in zip(t.nodes, t.sources, strict=True):
        gf = order[i]
        # Positional fields (Node's order): a node per op per step, and keyword building costs more than it does.
        if kind == "extra":
            value = kept(seen.extras[gf][p])
            nodes.append(Node(n.id, n.kind, n.name, n.op, n.grad_fn, n.shape, value, None, None, False, None, n.module))
        elif kind == "leaf":
            rec = records.get(gf, empty)
            var = gf.variable
            grad = leaf_grad(var, rec.grad_out, rec.fresh) if rec.order is not None else None
            nodes.append(
                Node(n.id, n.kind, n.name, n.op, n.grad_fn, tuple(var.shape), kept(var), grad, rec.grad_out,
                     n.is_loss, rec.order, n.module, n.outputs, n.source)
            )  # fmt: skip
        else:
            rec = records.get(gf, empty)
            value, shape = value_of(seen, gf)
            outputs = outputs_of(seen, gf, found.get(gf)) if n.outputs else ()
            nodes.append(
                Node(n.id, n.kind, n.name, n.op, n.grad_fn, shape, value, rec.grad_out, None, n.is_loss, rec.order,
                     n.module, outputs, n.source)
            )  # fmt: skip
    raw, folded = _relations(t, walk, found) if found else ({}, {})
    edges = []
    for s in t.edges:
        e = s.edge
        if s.walk_index is None or e.source.startswith(("data:", "const:")):
            edges.append(e)
            continue
        gf = order[s.walk_index]
        rec = records.get(gf, empty)
        local = locals_.get(gf, ())
        key = (e.target, e.slot)
        relation = None
        rel = folded.get(key) or raw.get(key)
        if rel is not None:
            relation = to_relation(rel, s.fold_text if key in folded else s.text)
        grad = rec.grad_in[e.slot] if e.slot < len(rec.grad_in) else None
        loc = local[e.slot] if e.slot < len(local) else None
        edges.append(Edge(e.source, e.target, e.slot, grad, rec.grad_out, loc, relation, e.output))
    return Graph(nodes=tuple(nodes), edges=tuple(edges))


def _relations(t: Template, walk: Walk, found: Mapping[Any, NodeRelations]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """The edges' relations as `annotate` decides them: the hook's, transposes folded or as jacobians."""
    raw = {}
    for s in t.edges:
        if s.walk_index is None:
            continue
        rels = found.get(walk.order[s.walk_index])
        slot = s.edge.slot
        rel = rels.slots[slot] if rels is not None and slot < len(rels.slots) else None
        if rel is not None:
            raw[(s.edge.target, slot)] = rel
    if not t.transposes:
        return raw, {}
    by_id = {walk.ids[gf]: gf for gf in walk.order if gf not in walk.leaves}
    folded = _fold_transposes(tuple(s.edge for s in t.edges), by_id, found, raw)
    for node_id, slot in list(raw):
        gf = by_id.get(node_id)
        rels = found.get(gf)
        if (node_id, slot) not in folded and type(gf).__name__ in DEFERRED and rels is not None:
            raw[(node_id, slot)] = later_jacobian(gf, rels, slot)
    return raw, {key: rel for key, (rel, _) in folded.items()}
