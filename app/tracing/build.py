"""Turn a walk of the autograd graph, plus what the modes and hooks saw, into a plain `Graph`."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from backprop_lens.snapshot import Edge, Graph, Node, Source
from backprop_lens.tracing.backward import NodeRecord
from backprop_lens.tracing.ops import base_name, readable_op
from backprop_lens.tracing.values import kept, leaf_grad, shape_of
from backprop_lens.tracing.walk import Walk


@dataclass
class Observed:
    """What the forward pass showed the tracer."""

    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # id(object) -> (name, "param" | "data")
    values: dict[tuple[Any, int], tuple[torch.Tensor, int]] = field(default_factory=dict)  # (node, output) -> out
    extras: dict[Any, list[Any]] = field(default_factory=dict)  # node -> inputs autograd does not keep
    param_module: dict[int, str] = field(default_factory=dict)  # id(parameter) -> owning module path
    op_module: dict[Any, str] = field(default_factory=dict)  # node -> module whose forward made it
    op_names: dict[Any, str] = field(default_factory=dict)  # node -> the name the code gave its output
    sources: dict[Any, Source] = field(default_factory=dict)  # node -> the user's line that made it

    def clear(self) -> None:
        self.values.clear()
        self.extras.clear()
        self.op_module.clear()
        self.op_names.clear()
        self.sources.clear()


def build_graph(
    walk: Walk, seen: Observed, records: Mapping[Any, NodeRecord], locals_: Mapping[Any, list[Any]]
) -> Graph:
    nodes: list[Node] = []
    edges: list[Edge] = []
    inputs: dict[str, Node] = {}
    for gf in walk.order:
        rec = records.get(gf, NodeRecord())
        node_id = walk.ids[gf]
        if gf in walk.leaves:
            nodes.append(_leaf_node(seen, node_id, gf, rec))
            continue
        nodes.append(_op_node(seen, node_id, gf, rec, is_loss=gf in walk.roots))
        local = locals_.get(gf, [])
        free_slots = []
        for slot, (child, _) in enumerate(gf.next_functions):
            if child is None:  # an input autograd does not track: a data input or a constant fills it below
                free_slots.append(slot)
                continue
            grad, loc = _at(rec.grad_in, slot), _at(local, slot)
            edges.append(Edge(walk.ids[child], node_id, slot, grad=grad, upstream=rec.grad_out, local=loc))
        slots = itertools.chain(free_slots, itertools.count(len(gf.next_functions)))
        for obj, slot in zip(seen.extras.get(gf, []), slots, strict=False):
            extra = _input_node(seen, obj, f"{node_id}.{slot}")
            inputs.setdefault(extra.id, extra)
            edges.append(Edge(source=extra.id, target=node_id, slot=slot))
    return Graph(nodes=tuple([*inputs.values(), *nodes]), edges=tuple(edges))


def _leaf_node(seen: Observed, node_id: str, gf: Any, rec: NodeRecord) -> Node:
    var = gf.variable
    name, _ = seen.names.get(id(var), (None, "param"))
    return Node(
        id=node_id,
        kind="param",
        name=name,
        grad_fn=type(gf).__name__,
        shape=tuple(var.shape),
        value=kept(var),
        grad=leaf_grad(var, rec.grad_out, rec.fresh) if rec.order is not None else None,
        grad_step=rec.grad_out,
        order=rec.order,
        module=seen.param_module.get(id(var)),
    )


def _op_node(seen: Observed, node_id: str, gf: Any, rec: NodeRecord, *, is_loss: bool) -> Node:
    value, shape = value_of(seen, gf)
    class_name = type(gf).__name__
    return Node(
        id=node_id,
        kind="op",
        op=readable_op(class_name, _exponent(gf)),
        grad_fn=class_name,
        shape=shape,
        value=value,
        grad=rec.grad_out,
        is_loss=is_loss,
        order=rec.order,
        module=seen.op_module.get(gf),
    )


def value_of(seen: Observed, gf: Any) -> tuple[Any, tuple[int, ...]]:
    found = seen.values.get((gf, 0))
    if found is not None:
        tensor, version = found
        # An in-place op changed the tensor after this node made it: the value it had is gone.
        return (kept(tensor) if tensor._version == version else None), tuple(tensor.shape)
    meta = getattr(gf, "_input_metadata", ())
    return None, tuple(meta[0].shape) if meta else ()


def _input_node(seen: Observed, obj: Any, const_id: str) -> Node:
    named = seen.names.get(id(obj))
    if named is not None:
        name, _ = named
        return Node(id=f"data:{name}", kind="data", name=name, shape=shape_of(obj), value=kept(obj))
    return Node(id=f"const:{const_id}", kind="const", shape=shape_of(obj), value=kept(obj))


def _exponent(gf: Any) -> Any:
    """The Python exponent of `t ** 2`, folded into the operator's label rather than drawn as a node."""
    return getattr(gf, "_saved_exponent", None) if base_name(type(gf).__name__) == "Pow" else None


def _at(items: list[Any], i: int) -> Any:
    return items[i] if i < len(items) else None
