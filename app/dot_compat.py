"""`make_dot`: torchviz's function, statement for statement, with values on the nodes.

Same signature, same walk and the same `graphviz.Digraph` as `torchviz.make_dot` (node and edge statements in
the same order, the same colours, `format` left at Graphviz's default 'pdf', the same automatic `size`), so
`from torchviz import make_dot` -> `from backprop_lens import make_dot` changes nothing but the labels: leaves show
their value and `.grad`, ops their readable operator and forward value (recorded by an enclosing
`backprop_lens.trace` block, else the result the node saved), saved tensors their value.

Colours, as torchviz: grey ops; lightblue leaves that require grad; orange saved tensors (`show_saved=True`;
a custom `autograd.Function`'s `saved_tensors` always); darkolivegreen1 the outputs; darkolivegreen3 the base of
an output that is a view. Unlike torchviz it also draws after backward (freed saved tensors are left out), walks
deep graphs without recursion, and accepts a list of outputs as well as a tuple.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from backprop_lens.present.format import fmt_value
from backprop_lens.tracing import TraceError
from backprop_lens.tracing.ops import readable_op
from backprop_lens.tracing.tracer import active_tracer

__all__ = ["make_dot", "resize_graph"]

SAVED_PREFIX = "_saved_"
PREVIEW_ELEMENTS = 64  # more than any preview shows: the rest is elided
NODE_ATTR = {
    "style": "filled",
    "shape": "box",
    "align": "left",
    "fontsize": "10",
    "ranksep": "0.1",
    "height": "0.2",
    "fontname": "monospace",
}


def make_dot(
    var: Any,
    params: Mapping[str, torch.Tensor] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
) -> Any:
    """The autograd graph of `var` (a tensor, or a tuple/list of them) as a `graphviz.Digraph`, like torchviz.

    params: {name: tensor} names the leaves; show_attrs: the non-tensor attributes autograd saved (and the saved
    tensors' values); show_saved: the saved tensors as orange nodes; max_attr_chars: the width of an attribute.
    """
    import graphviz

    outputs = _outputs(var)
    drawer = _Drawer(graphviz.Digraph(node_attr=NODE_ATTR, graph_attr={"size": "12,12"}), _names(params))
    drawer.show_attrs, drawer.show_saved, drawer.max_chars = show_attrs, show_saved, max_attr_chars
    for out in outputs:
        drawer.add_base_tensor(out)
    resize_graph(drawer.dot)
    return drawer.dot


def resize_graph(dot: Any, size_per_element: float = 0.15, min_size: int = 12) -> None:
    """torchviz's rule: the drawing's size grows with its number of statements, at least 12 inches."""
    size = max(min_size, len(dot.body) * size_per_element)
    dot.graph_attr.update(size=f"{size},{size}")


def _outputs(var: Any) -> list[torch.Tensor]:
    items = list(var) if isinstance(var, (tuple, list)) else [var]
    if not items:
        raise TraceError(f"make_dot needs a tensor (or a tuple of tensors), got an empty {type(var).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            where = f"item {i} of the {type(var).__name__}" if item is not var else "the argument"
            raise TraceError(f"make_dot needs tensors: {where} is a {type(item).__name__}; pass the output tensor")
    return items


def _names(params: Mapping[str, torch.Tensor] | None) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TraceError(f"params must be a dict {{name: tensor}}, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(value, torch.Tensor):
            raise TraceError(f"params[{key!r}] is a {type(value).__name__}, not a tensor: pass {{name: tensor}}")
    return {id(v): k for k, v in params.items()}


class _Drawer:
    """torchviz's add_nodes / add_base_tensor, with an explicit stack and our own stable node ids."""

    def __init__(self, dot: Any, names: dict[int, str]) -> None:
        self.dot = dot
        self.names = names
        self.show_attrs = self.show_saved = False
        self.max_chars = 50
        self.ids: dict[int, str] = {}
        self.keep: list[Any] = []  # everything we gave an id stays alive, so no id() is reused meanwhile
        self.seen: set[int] = set()

    def id(self, obj: Any) -> str:
        key = id(obj)
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids)}"
            self.keep.append(obj)
        return self.ids[key]

    def mark(self, obj: Any) -> None:
        self.seen.add(id(obj))
        self.keep.append(obj)

    # -- tensors ----------------------------------------------------------------------------------------------
    def add_base_tensor(self, var: torch.Tensor, color: str = "darkolivegreen1") -> None:
        if id(var) in self.seen:
            return
        self.mark(var)
        kind = "output" if color == "darkolivegreen1" else "view base"
        self.dot.node(self.id(var), self.tensor_label(var, kind), fillcolor=color)
        if var.grad_fn is not None:
            self.add_nodes(var.grad_fn)
            self.dot.edge(self.id(var.grad_fn), self.id(var))
        if var._is_view() and var._base is not None:  # views of views: a short chain, recursion is fine
            self.add_base_tensor(var._base, color="darkolivegreen3")
            self.dot.edge(self.id(var._base), self.id(var), style="dotted")

    def tensor_label(self, t: torch.Tensor, default: str = "") -> str:
        lines = [self.names.get(id(t), default), _size(t), "= " + _preview(t)]
        if t.is_leaf and t.requires_grad and t.grad is not None:
            lines.append("grad = " + _preview(t.grad))
        return "\n".join(line for line in lines if line)

    # -- autograd nodes ---------------------------------------------------------------------------------------
    def add_nodes(self, root: Any) -> None:
        if id(root) in self.seen:
            return
        stack: list[Iterator[Any]] = [self.visit(root)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
            elif id(child) not in self.seen:
                stack.append(self.visit(child))

    def visit(self, fn: Any) -> Iterator[Any]:
        """One node, in torchviz's order; yields each child before drawing the rest (its recursion point)."""
        self.mark(fn)
        if self.show_saved:
            self.saved_attributes(fn)
        if hasattr(fn, "variable"):  # AccumulateGrad: the leaf tensor it accumulates into
            var = fn.variable
            self.mark(var)
            self.dot.node(self.id(var), self.tensor_label(var), fillcolor="lightblue")
            self.dot.edge(self.id(var), self.id(fn))
        self.dot.node(self.id(fn), self.fn_label(fn))
        for child, _ in getattr(fn, "next_functions", ()):
            if child is not None:
                self.dot.edge(self.id(child), self.id(fn))
                yield child
        for t in _custom_saved(fn):  # a custom autograd.Function's ctx.save_for_backward: always drawn
            self.mark(t)
            self.dot.edge(self.id(t), self.id(fn), dir="none")
            self.dot.node(self.id(t), self.tensor_label(t), fillcolor="orange")

    def saved_attributes(self, fn: Any) -> None:
        for attr, val in _saved(fn):
            self.mark(val)
            tensors = [(attr, val)] if torch.is_tensor(val) else []
            if isinstance(val, tuple):
                tensors = [(f"{attr}[{i}]", t) for i, t in enumerate(val) if torch.is_tensor(t)]
            for label, t in tensors:
                self.dot.edge(self.id(fn), self.id(t), dir="none")
                self.dot.node(self.id(t), self.tensor_label(t, label), fillcolor="orange")

    def fn_label(self, fn: Any) -> str:
        name = type(fn).__name__
        op = readable_op(name, getattr(fn, "_saved_exponent", None))
        lines = [name if op.lower() == name.lower() else f"{name}  {op}"]
        value = _forward_value(fn)
        if value is not None:
            lines.append("= " + value)
        if self.show_attrs:
            lines.extend(_attr_table(fn, self.max_chars, len(lines[0])))
        return "\n".join(lines)


def _saved(fn: Any) -> list[tuple[str, Any]]:
    """(name without the prefix, value) of each `_saved_*` attribute still readable (backward frees tensors)."""
    out = []
    for attr in dir(fn):
        if attr.startswith(SAVED_PREFIX):
            try:
                out.append((attr[len(SAVED_PREFIX) :], getattr(fn, attr)))
            except RuntimeError:  # "... saved tensors after they have already been freed"
                continue
    return out


def _custom_saved(fn: Any) -> tuple[torch.Tensor, ...]:
    try:
        return tuple(getattr(fn, "saved_tensors", ()))
    except RuntimeError:  # freed by backward
        return ()


def _attr_table(fn: Any, max_chars: int, name_width: int) -> list[str]:
    """torchviz's attribute table (a rule, then `name: value` in two columns), tensors with their values."""
    attrs: dict[str, str] = {}
    for attr, val in _saved(fn):
        if torch.is_tensor(val):
            attrs[attr] = _preview(val)
        elif isinstance(val, tuple) and any(torch.is_tensor(t) for t in val):
            attrs[attr] = "[saved tensors]"
        else:
            attrs[attr] = str(val)
    if not attrs:
        return []
    max_chars = max(max_chars, 3)
    col1 = max(len(k) for k in attrs)
    col2 = min(max(len(v) for v in attrs.values()), max_chars)

    def truncate(s: str) -> str:
        return s[: col2 - 3] + "..." if len(s) > col2 else s

    return ["-" * max(col1 + col2 + 2, name_width), *(f"{k:<{col1}}: {truncate(v):>{col2}}" for k, v in attrs.items())]


def _forward_value(fn: Any) -> str | None:
    """The node's output as the running trace saw it being made, else the result PyTorch saved for backward."""
    tracer = active_tracer()
    value = tracer.value_of(fn) if tracer is not None else None
    if value is not None:
        return fmt_value(value)
    try:
        result = getattr(fn, "_saved_result", None)
    except RuntimeError:  # freed by backward
        return None
    return _preview(result) if isinstance(result, torch.Tensor) else None


def _size(t: torch.Tensor) -> str:
    """torchviz's size text, `(2, 3)`; a nested tensor has no one size."""
    try:
        size = t.size()
    except RuntimeError:
        return "(nested)" if t.is_nested else "(?)"
    return "(" + ", ".join(str(int(d)) for d in size) + ")"


def _preview(t: torch.Tensor) -> str:
    """A short value (the one formatter of backprop_lens.present); none for tensors without plain data."""
    if t.is_meta:
        return "? (meta)"
    if t.layout != torch.strided:  # sparse, ...: torchviz shows only the size, so do we
        return f"? ({str(t.layout).removeprefix('torch.')})"
    try:
        return fmt_value(t.detach().reshape(-1)[:PREVIEW_ELEMENTS].tolist() if t.numel() > 1 else t.item())
    except (RuntimeError, NotImplementedError, TypeError, ValueError):  # quantized, nested, ...: no plain values
        return "?"
