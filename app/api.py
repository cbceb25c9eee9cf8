"""The Python API: trace real PyTorch code in a notebook or script; torchviz's `make_dot`, with values.

with backprop_lens.trace(model) as t:              # or params={"w": w}, inputs={"x": x}
    loss = criterion(model(x), y)
    loss.backward()
t.svg()            # annotated SVG: values, gradients, chain-rule parts on the edges
t.to_dict()        # {"nodes": [...], "edges": [...]}, exactly the graph of the HTTP step JSON

dot = backprop_lens.make_dot(loss, params=dict(model.named_parameters()))   # a graphviz.Digraph, like torchviz
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.present.format import fmt_num, fmt_value
from backprop_lens.snapshot import Graph, graph_to_dict
from backprop_lens.tracing import TraceError, Tracer
from backprop_lens.tracing.ops import readable_op
from backprop_lens.tracing.walk import Walk

__all__ = ["Trace", "TraceError", "make_dot", "trace"]

PREVIEW_ELEMENTS = 64  # more than any preview width shows: the rest is elided
_ACTIVE: list[Trace] = []  # traces whose `with` block is running: make_dot reads forward values from them

_NO_BACKWARD = (
    "no gradients recorded: call loss.backward() inside the `with backprop_lens.trace(...)` block "
    "(or t.capture(loss) inside it for the forward values only)"
)


class Trace:
    """A recording of the forward and backward passes run inside `with backprop_lens.trace(...) as t:`."""

    def __init__(
        self,
        params: Mapping[str, torch.Tensor] | torch.nn.Module | None = None,
        inputs: Mapping[str, Any] | None = None,
        modules: Mapping[str, torch.nn.Module] | None = None,
    ) -> None:
        named, modules = _named(params, modules)
        self._tracer = Tracer(params=named, inputs=_check_names(inputs, "inputs"), modules=modules)
        self._active = False

    def __enter__(self) -> Trace:
        self._tracer.__enter__()
        self._active = True
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False
        _ACTIVE.remove(self)
        self._tracer.__exit__(*exc)

    def _value_of(self, gf: Any) -> Any:
        """The forward value this trace saw autograd node `gf` produce, or None."""
        return self._tracer.value_of(gf)

    # -- results --------------------------------------------------------------------------------------
    @property
    def graphs(self) -> list[Graph]:
        """One graph per backward() (or capture()) inside the block, in order."""
        return list(self._tracer.graphs)

    @property
    def graph(self) -> Graph:
        """The last recorded graph."""
        if not self._tracer.graphs:
            raise TraceError(_NO_BACKWARD)
        return self._tracer.graphs[-1]

    @property
    def has_gradients(self) -> bool:
        return bool(self._tracer.graphs) and any(n.order is not None for n in self.graph.nodes)

    def capture(self, output: Any) -> Graph:
        """Record the forward graph of `output` (values, no gradients) without running backward."""
        root = _root(output)
        if not self._active:
            raise TraceError(
                "capture() works inside the `with backprop_lens.trace(...)` block, where values are recorded"
            )
        return self._tracer.capture(root)

    def to_dict(self) -> dict[str, Any]:
        return graph_to_dict(self.graph)

    def svg(self, phase: str = "backward", theme: str = "light", lang: str = "en") -> str:
        """The annotated graph as a standalone SVG document (`lang`: "en" or "zh")."""
        if phase != "forward" and not self.has_gradients:
            raise TraceError(_NO_BACKWARD + "; or ask for phase='forward'")
        from backprop_lens.render import render  # drawing needs Graphviz, not torch: import it only when asked

        return render(self.graph, phase=phase, theme=theme, fmt="svg", lang=lang).decode()

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a trace as its graph (the backward phase once gradients exist)."""
        if not self._tracer.graphs:
            return None
        return self.svg(phase="backward" if self.has_gradients else "forward")

    def __repr__(self) -> str:
        if not self._tracer.graphs:
            return "<backprop_lens.Trace: nothing recorded yet>"
        g = self.graph
        ops = sum(1 for n in g.nodes if n.kind == "op")
        return (
            f"<backprop_lens.Trace: {len(self._tracer.graphs)} graph(s), last with {ops} ops and {len(g.nodes)} nodes>"
        )


def trace(
    params: Mapping[str, torch.Tensor] | torch.nn.Module | None = None,
    inputs: Mapping[str, Any] | None = None,
    modules: Mapping[str, torch.nn.Module] | None = None,
) -> Trace:
    """Record the PyTorch code run inside `with backprop_lens.trace(...) as t:`.

    params: {name: tensor}, or an nn.Module (its named_parameters() names; its submodules become clusters).
    inputs: {name: tensor or backprop_lens.tracing.Datum} for data you want named in the graph (`x`, `y`).
    modules: {path: nn.Module}: nodes made inside these modules' forward are grouped by module path.
    """
    return Trace(params, inputs, modules)


def _named(
    params: Mapping[str, torch.Tensor] | torch.nn.Module | None, modules: Mapping[str, torch.nn.Module] | None
) -> tuple[dict[str, Any], dict[str, torch.nn.Module]]:
    modules = dict(modules or {})
    if isinstance(params, torch.nn.Module):
        modules.setdefault("", params)
        return dict(params.named_parameters()), modules
    named = _check_names(params, "params")
    for name, value in named.items():
        if not isinstance(value, torch.Tensor):
            raise TraceError(
                f"params[{name!r}] is a {type(value).__name__}, not a tensor: pass {{name: tensor}}, "
                "e.g. dict(model.named_parameters()), or the model itself"
            )
    return named, modules


def _check_names(mapping: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise TraceError(f"{what} must be a dict {{name: tensor}}, got {type(mapping).__name__}")
    return dict(mapping)


def _root(output: Any) -> torch.Tensor:
    """The tensor to walk from, or a TraceError that says what to pass instead."""
    if isinstance(output, (tuple, list)):
        raise TraceError(
            f"pass the loss tensor, not a {type(output).__name__}: e.g. out[0] (this one has {len(output)} items)"
        )
    if not isinstance(output, torch.Tensor):
        raise TraceError(f"expected a tensor, got {type(output).__name__}: pass the loss (or output) tensor")
    if output.grad_fn is None and output.requires_grad:
        raise TraceError(
            "this tensor is a leaf (a parameter itself), so it has no grad_fn: pass the output or loss computed from it"
        )
    if output.grad_fn is None:
        raise TraceError(
            "this tensor has no grad_fn: nothing that requires grad went into it. Set requires_grad=True on your "
            "parameters (nn.Module parameters have it) and compute the output from them, outside torch.no_grad()"
        )
    return output


# -- make_dot: torchviz's signature, a graphviz.Digraph, values where PyTorch still has them -----------------
def make_dot(
    var: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
) -> Any:
    """Like `torchviz.make_dot`: the autograd graph of `var` as a `graphviz.Digraph`.

    Leaves show their name, shape, value and `.grad` (when backward has run); ops show PyTorch's class name,
    a readable operator, the output shape and the output value: recorded by an enclosing `backprop_lens.trace` block,
    else the one the node saved (sigmoid, exp, tanh ... keep their result).
    """
    import graphviz

    root = _root(var)
    names = {id(v): k for k, v in _named(params, None)[0].items()}
    dot = graphviz.Digraph(
        format="svg",
        node_attr={
            "style": "filled",
            "shape": "box",
            "align": "left",
            "fontsize": "10",
            "ranksep": "0.1",
            "height": "0.2",
            "fontname": "monospace",
        },
        graph_attr={"size": "12,12"},
    )
    walk = Walk.from_root(root.grad_fn)
    ids = {gf: f"n{i}" for i, gf in enumerate(walk.order)}  # DOT reads ":" as a port: keep names plain
    for gf in walk.order:
        node_id = ids[gf]
        if hasattr(gf, "variable"):
            leaf = gf.variable
            lines = [names.get(id(leaf), ""), _shape(leaf.shape), "= " + _preview(leaf, max_attr_chars)]
            if leaf.grad is not None:
                lines.append("grad= " + _preview(leaf.grad, max_attr_chars))
            dot.node(node_id, "\n".join(x for x in lines if x), fillcolor="lightblue")
            continue
        dot.node(node_id, _op_label(gf, show_attrs, max_attr_chars))
        for child, _ in gf.next_functions:
            if child is not None:
                dot.edge(ids[child], node_id)
        if show_saved:
            for attr, value in _saved(gf):
                if isinstance(value, torch.Tensor):
                    saved_id = f"{node_id}{attr}"
                    label = f"{attr[len('_saved_') :]}\n{_shape(value.shape)}\n= {_preview(value, max_attr_chars)}"
                    dot.node(saved_id, label, fillcolor="orange")
                    dot.edge(saved_id, node_id, dir="none")
    out_label = f"output\n{_shape(root.shape)}\n= {_preview(root, max_attr_chars)}"
    dot.node("output", out_label, fillcolor="darkolivegreen1")
    dot.edge(ids[root.grad_fn], "output")
    return dot


def _op_label(gf: Any, show_attrs: bool, max_chars: int) -> str:
    class_name = type(gf).__name__
    op = readable_op(class_name, getattr(gf, "_saved_exponent", None))
    meta = getattr(gf, "_input_metadata", ())
    lines = [class_name if op.lower() == class_name.lower() else f"{class_name}  {op}"]
    if meta:
        lines.append(_shape(meta[0].shape))
    saved = dict(_saved(gf))
    value = next((v for v in (t._value_of(gf) for t in reversed(_ACTIVE)) if v is not None), None)
    if value is not None:
        lines.append("= " + _preview_plain(value, max_chars))
    elif isinstance(saved.get("_saved_result"), torch.Tensor):
        lines.append("= " + _preview(saved["_saved_result"], max_chars))
    if show_attrs:
        for attr, value in saved.items():
            if value is None:
                continue
            text = _preview(value, max_chars) if isinstance(value, torch.Tensor) else str(value)
            if len(text) > max_chars:
                text = text[: max_chars - 3] + "..."
            lines.append(f"{attr[len('_saved_') :]}: {text}")
    return "\n".join(lines)


def _saved(gf: Any) -> list[tuple[str, Any]]:
    """The node's saved attributes that are still readable (backward frees saved tensors)."""
    out = []
    for attr in dir(gf):
        if not attr.startswith("_saved_"):
            continue
        try:
            out.append((attr, getattr(gf, attr)))
        except RuntimeError:  # "Trying to backward through the graph a second time": freed
            continue
    return out


def _shape(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _preview(t: torch.Tensor, max_chars: int) -> str:
    """A short value (the one formatter of backprop_lens.present): a number, or the first elements of a tensor."""
    if t.numel() == 1:
        return fmt_num(t.item())
    return _preview_plain(t.detach().reshape(-1)[:PREVIEW_ELEMENTS].tolist(), max_chars)


def _preview_plain(value: Any, max_chars: int) -> str:
    """The same for a plain value (`tolist()` output); elided with "…" to fit `max_chars`."""
    return fmt_value(value, max(max_chars, 8))
