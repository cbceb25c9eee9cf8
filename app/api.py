"""The Python API: trace real PyTorch code in a notebook or script; torchviz's `make_dot`, with values.

with backprop_lens.trace(model) as t:              # or params={"w": w}, inputs={"x": x}
    y_hat = t.name(model(x), "y_hat")              # names an intermediate result in the graph
    loss = criterion(y_hat, y)
    loss.backward()
t                  # in a notebook: the annotated SVG, scaled to the notebook's width
t.svg()            # the same SVG as a string: values, gradients, chain-rule parts on the edges
t.to_dict()        # {"nodes": [...], "edges": [...]}, exactly the graph of the HTTP step JSON
t.save("step.png") # .svg .png .dot .json, by extension

dot = backprop_lens.make_dot(loss, params=dict(model.named_parameters()))   # torchviz's, with values
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from backprop_lens.dot_compat import make_dot
from backprop_lens.notebook import notebook_svg
from backprop_lens.snapshot import Graph, graph_to_dict
from backprop_lens.tracing import Datum, TraceError, Tracer

__all__ = ["Trace", "TraceError", "make_dot", "trace"]

SAVE_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".json": "json"}

_NO_BACKWARD = (
    "no gradients recorded: call loss.backward() (or torch.autograd.grad(loss, ...)) inside the "
    "`with backprop_lens.trace(...)` block (or t.capture(loss) inside it for the forward values only)"
)


class Trace:
    """A recording of the forward and backward passes run inside `with backprop_lens.trace(...) as t:`."""

    def __init__(
        self,
        params: Mapping[str, torch.Tensor] | torch.nn.Module | None = None,
        inputs: Mapping[str, Any] | None = None,
        modules: Mapping[str, torch.nn.Module] | None = None,
        names: Mapping[str, Any] | None = None,
    ) -> None:
        named, modules = _named(params, modules)
        data = _check_names(inputs, "inputs")
        labels = _check_labels(names)
        _refuse_meta(named, data, modules)
        self._tracer = Tracer(params=named, inputs=data, modules=modules, names=labels)
        self._active = False

    def __enter__(self) -> Trace:
        self._tracer.__enter__()
        self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False
        self._tracer.__exit__(*exc)

    def name(self, tensor: Any, label: str) -> Any:
        """Name an intermediate result in the graph and return it: `y_hat = t.name(x * w, "y_hat")`."""
        if not self._active:
            raise TraceError('t.name(tensor, "label") works inside the `with backprop_lens.trace(...)` block')
        return self._tracer.name(_check_label(label, tensor), label)

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

    def save(self, path: str | Path, phase: str | None = None, theme: str = "light", lang: str = "en") -> Path:
        """Write the last graph to `path`; the format follows its extension: .svg, .png, .dot (.gv), .json.

        phase: "forward", "backward" or "update" (default: backward once gradients exist, else forward).
        """
        path = Path(path)
        fmt = SAVE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise TraceError(f"save() writes .svg, .png, .dot or .json (by the file's extension); got {path.name!r}")
        from backprop_lens.render import render

        phase = phase or self._default_phase()
        if phase != "forward" and fmt != "json" and not self.has_gradients:
            raise TraceError(_NO_BACKWARD + "; or ask for phase='forward'")
        path.write_bytes(render(self.graph, phase=phase, theme=theme, fmt=fmt, lang=lang))
        return path

    def _default_phase(self) -> str:
        return "backward" if self.has_gradients else "forward"

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a trace as its graph (the backward phase once gradients exist), scaled to fit: never
        wider than the output area (JupyterLab draws it in an <img>, the classic notebook inline)."""
        if not self._tracer.graphs:
            return None
        return notebook_svg(self.svg(phase=self._default_phase()))

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
    names: Mapping[str, Any] | None = None,
) -> Trace:
    """Record the PyTorch code run inside `with backprop_lens.trace(...) as t:`.

    params: {name: tensor}, or an nn.Module (its named_parameters() names; its submodules become clusters).
    inputs: {name: tensor or backprop_lens.tracing.Datum} for data you want named in the graph (`x`, `y`).
    modules: {path: nn.Module}: nodes made inside these modules' forward are grouped by module path.
    names: {name: tensor} for results made before the block; inside it, `t.name(tensor, "y_hat")`.
    """
    return Trace(params, inputs, modules, names)


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


def _check_labels(names: Mapping[str, Any] | None) -> dict[str, Any]:
    labels = _check_names(names, "names")
    for label, tensor in labels.items():
        _check_label(label, tensor)
    return labels


def _check_label(label: Any, tensor: Any) -> Any:
    if not isinstance(label, str) or not label:
        raise TraceError(f"a name must be a non-empty string, got {label!r}")
    if not isinstance(tensor, (torch.Tensor, Datum)):
        raise TraceError(
            f"names[{label!r}] is a {type(tensor).__name__}: name a tensor (or a backprop_lens.tracing.Datum)"
        )
    return tensor


def _refuse_meta(params: Mapping[str, Any], inputs: Mapping[str, Any], modules: Mapping[str, Any]) -> None:
    """Tensors on the `meta` device have shapes but no values: nothing to show, so say so before running."""
    named = [*params.items(), *inputs.items()]
    named += [(f"{path}.{k}".lstrip("."), p) for path, m in modules.items() for k, p in m.named_parameters()]
    for label, value in named:
        if isinstance(value, torch.Tensor) and value.is_meta:
            raise TraceError(
                f"{label!r} is on the 'meta' device, which has shapes but no values to show: materialise the "
                "model first, e.g. model.to_empty(device='cpu') then model.load_state_dict(...) (or "
                "reset_parameters()), or build it outside `with torch.device('meta')`"
            )


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
