"""The inspector: one node of one step, every string it shows, in the requested language.

`inspector_model` gives a node's rows (per view: forward, backward, the backward pass before autograd reached
the node, update), its chain rule (backward only), its local derivative and which tensor figures each view
shows; `tensor_figures` gives those figures (each element's short text, its full-precision text, a shade for
the colour). The page places these strings; it formats no number and writes no word.
"""

from __future__ import annotations

import json
import math
from typing import Any

from backprop_lens.present.catalog import t
from backprop_lens.present.claims import kind_of
from backprop_lens.present.derivatives import local_rule
from backprop_lens.present.format import flatten, fmt_full, fmt_num, fmt_preview, fmt_value, nested_shape
from backprop_lens.present.nodes import shape_text, title_of
from backprop_lens.snapshot import Edge, Node, ParamState, Step

PREVIEW = 40  # characters of a tensor preview in a row of the inspector
TIP_ELEMENTS = 64  # elements of a tensor in a preview's tooltip
GRID_CELLS = 256  # a grid of numbers up to this many elements; a canvas of shades beyond
GRID_COLS = 16
LISTED = 4096  # elements listed at full precision (and given a tooltip)
SHADED = 65536  # elements coloured on a canvas
VIEWS = ("forward", "backward", "pending", "update")
ALL = "fbpu"  # a row shown in every view: forward, backward, pending (autograd has not reached it), update

Row = list[str]  # [label, text, css class]
Part = list[str | None]  # [text, tooltip or None, css class]


def is_tensor(value: Any) -> bool:
    """More than one element: shown as a preview in a row and as a figure below."""
    return isinstance(value, (list, tuple)) and sum(1 for _ in zip(range(2), flatten(value), strict=False)) > 1


def _shown(value: Any) -> str:
    return fmt_preview(value, PREVIEW) if is_tensor(value) else fmt_full(value)


def _part(value: Any, cls: str = "") -> Part:
    if is_tensor(value):
        return [fmt_preview(value, PREVIEW), fmt_full(value, TIP_ELEMENTS), cls]
    return [fmt_full(value), None, cls]


def _param_of(step: Step, node: Node) -> ParamState | None:
    """A parameter node's state across the step (before, grad, after); None for any other node."""
    return step.params.get(node.name) if node.kind == "param" and node.name else None


def _kind(node: Node) -> str:
    return "loss" if node.is_loss else node.kind


def _grad_rows(node: Node, grad: Any, grad_step: Any, views: str, lang: str) -> list[Row]:
    if node.kind == "param" and grad_step is not None and fmt_full(grad_step) != fmt_full(grad):
        return [
            [t(lang, "inspector.grad.step"), _shown(grad_step), "grad", views],
            [t(lang, "inspector.grad.acc"), _shown(grad), "grad", views],
        ]
    return [[t(lang, "inspector.grad"), _shown(grad), "grad", views]]


def _rows(node: Node, param: ParamState | None, lang: str) -> list[Row]:
    """[label, text, css class, views]: `views` the letters of the views that show the row (f, b, p, u)."""
    rows: list[Row] = []
    if node.grad_fn:
        rows.append([t(lang, "inspector.class"), node.grad_fn, "", ALL])
    shape = f"{shape_text(node.shape, lang)} ({json.dumps(list(node.shape))})" if node.shape else shape_text((), lang)
    rows.append([t(lang, "inspector.shape"), shape, "", ALL])
    if param is not None:
        rows.append([t(lang, "inspector.value"), _shown(node.value), "", "fbp"])
        rows.append([t(lang, "inspector.before"), _shown(param.before), "", "u"])
        rows.append([t(lang, "inspector.after"), _shown(param.after), "", "u"])
    else:
        rows.append([t(lang, "inspector.value"), _shown(node.value), "", ALL])
    if node.kind not in ("param", "op"):
        rows.append([t(lang, "inspector.grad"), t(lang, "inspector.nograd"), "muted", ALL])
    else:
        rows.append([t(lang, "inspector.grad"), "—", "muted", "f"])
        rows.append([t(lang, "inspector.grad"), t(lang, "inspector.pending"), "muted", "p"])
        if param is not None:
            rows += _grad_rows(node, node.grad, node.grad_step, "b", lang)
            rows += _grad_rows(node, param.grad, param.grad_step, "u", lang)
        else:
            rows += _grad_rows(node, node.grad, node.grad_step, "bu", lang)
    for i, out in enumerate(node.outputs):  # a multi-output op (split, unbind, chunk): every output
        rows.append([t(lang, "inspector.output", i=i), _shown(out.value), "", ALL])
        if out.grad is not None:
            rows.append([t(lang, "inspector.output.grad", i=i), _shown(out.grad), "grad", "bu"])
    if node.order is not None:
        rows.append([t(lang, "inspector.order"), f"#{node.order + 1}", "", ALL])
    if node.module:
        rows.append([t(lang, "inspector.module"), node.module, "", ALL])
    if node.source is not None:  # the line of the user's code that made the op
        rows.append([t(lang, "inspector.source"), node.source.code, "code", ALL])
        rows.append([t(lang, "inspector.where"), f"{node.source.file}:{node.source.line}", "muted", ALL])
    return rows


def _figures(node: Node, view: str, param: ParamState | None, lang: str) -> list[Row]:
    """[what, label, kind] of each figure the view shows; `what` names it in `tensor_figures`."""
    if view == "update" and param is not None:
        shown = [
            ("before", param.before, "value"),
            ("update.grad", param.grad, "grad"),
            ("after", param.after, "value"),
        ]
    else:
        shown = [("value", node.value, "value")]
        if view in ("backward", "update") and node.kind in ("param", "op"):
            shown.append(("grad", node.grad, "grad"))
    label = {"before": "inspector.before", "after": "inspector.after", "value": "inspector.value"}
    return [[what, t(lang, label.get(what, "inspector.grad")), kind] for what, v, kind in shown if is_tensor(v)]


def _name(node: Node, lang: str) -> str:
    """A node as the chain rule names it: the name the code gave it, else its title."""
    return node.name or title_of(node, lang)


def _claim(e: Edge, by_id: dict[str, Node]) -> list[Part]:
    """What the edge's relation says, and only that: u × l = d for an elementwise edge, else its formula."""
    if kind_of(e) == "elementwise":
        local = e.relation.local if e.relation is not None else e.local
        return [_part(by_id[e.target].grad), [" × ", None, ""], _part(local), [" = ", None, ""], _part(e.grad, "eq")]
    rule = e.relation.formula if e.relation is not None and e.relation.formula else ""
    return [*([[f"{rule} = ", None, ""]] if rule else []), _part(e.grad, "eq")]


def _chain(node: Node, step: Step, by_id: dict[str, Node], lang: str) -> dict[str, Any]:
    me = _name(node, lang)
    ins = sorted((e for e in step.graph.edges if e.target == node.id and e.grad is not None), key=lambda e: e.slot)
    into = []
    for e in ins:
        name = _name(by_id[e.source], lang)
        into.append(
            {
                "edge": e.source,
                "label": f"→ {name} ({t(lang, 'inspector.input', slot=e.slot)})",
                "rule": f"dL/d({me}) × ∂({me})/∂({name}) = dL/d({name})",
                "claim": _claim(e, by_id),
            }
        )
    outs = [] if node.is_loss else [e for e in step.graph.edges if e.source == node.id and e.grad is not None]
    out_of = [
        {"edge": e.target, "label": f"{_name(by_id[e.target], lang)} → {me}", "rule": "", "claim": _claim(e, by_id)}
        for e in outs
    ]
    return {
        "into": {"heading": t(lang, "inspector.chain"), "rows": into},
        "out_of": {"heading": t(lang, "inspector.chain.out"), "rows": out_of},
        "sum": t(lang, "inspector.chain.sum") if len(outs) > 1 else None,
    }


def _local(node: Node, lang: str) -> dict[str, Any] | None:
    if not node.grad_fn:
        return None
    lines = local_rule(node.grad_fn, lang)
    return {
        "heading": f"{t(lang, 'inspector.local')} · {node.grad_fn}",
        "lines": lines or [],
        "help": None if lines else t(lang, "inspector.local.unknown", fn=node.grad_fn),
    }


def inspector_model(step: Step, node: Node, lang: str = "en") -> dict[str, Any]:
    """Everything the inspector shows of `node` (values as plain lists: `plain_graph` first)."""
    by_id = {n.id: n for n in step.graph.nodes}
    param = _param_of(step, node)
    return {
        "title": title_of(node, lang),
        "kind": _kind(node),
        "kind_text": t(lang, f"kind.{_kind(node)}"),
        "rows": _rows(node, param, lang),
        "figures": {view: _figures(node, view, param, lang) for view in VIEWS},
        "figures_heading": t(lang, "inspector.tensors"),
        "chain": _chain(node, step, by_id, lang),
        "local": _local(node, lang),
    }


def inspector_models(step: Step, lang: str = "en") -> dict[str, dict[str, Any]]:
    return {n.id: inspector_model(step, n, lang) for n in step.graph.nodes}


# ---------------------------------------------------------------- tensor figures


def _grid(shape: tuple[int, ...], n: int) -> tuple[int, int]:
    """rows × cols: a vector is one row, a matrix rows × columns, higher ranks fold the leading dimensions."""
    if not shape:
        return 1, n
    if len(shape) == 1:
        return 1, shape[0]
    cols = shape[-1]
    return (n // cols if cols else 0), cols


def _index(i: int, shape: tuple[int, ...]) -> str:
    idx = []
    for d in reversed(shape):
        idx.append(i % d if d else 0)
        i = i // d if d else 0
    return "[" + ", ".join(str(x) for x in reversed(idx)) + "]"


def _shade(x: Any, scale: float) -> float | None:
    """-1 (most negative) .. 1 (most positive), rounded for the wire; None for NaN (drawn grey)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return None
    return math.copysign(1.0, f) if math.isinf(f) else round(f / scale, 3)


def tensor_figure(value: Any, name: str, label: str, kind: str, lang: str = "en") -> dict[str, Any]:
    """One tensor in full: caption, a grid of short numbers (or a canvas of shades), the scale, every element
    at full precision (tooltips and the list), up to LISTED elements."""
    flat = list(flatten(value))
    shape = nested_shape(value)
    rows, cols = _grid(shape, len(flat))
    finite = [abs(float(x)) for x in flat if isinstance(x, (int, float)) and math.isfinite(x)]
    top = max(finite, default=0.0)
    listed = flat[:LISTED]
    fulls = [fmt_full(x) for x in listed]
    index = [_index(i, shape) for i in range(len(listed))]
    grid = len(flat) <= GRID_CELLS and cols <= GRID_COLS
    more = len(flat) - len(listed)
    return {
        "label": label,
        "kind": kind,
        "dims": shape_text(shape, lang),
        "rows": rows,
        "cols": cols,
        "grid": grid,
        "cells": [fmt_num(x) for x in flat] if grid else None,
        "shades": [_shade(x, top or 1.0) for x in flat[:SHADED]],
        "tips": [f"{name}{ix} = {full}" for ix, full in zip(index, fulls, strict=True)],
        "low": f"−{fmt_num(top)}" if top else "0",
        "high": f"+{fmt_num(top)}" if top else "0",
        "summary": t(lang, "inspector.full", n=len(flat)),
        "listing": "\n".join(f"{ix} {full}" for ix, full in zip(index, fulls, strict=True))
        + (("\n" + t(lang, "inspector.full.more", n=more)) if more else ""),
    }


def tensor_figures(step: Step, node: Node, lang: str = "en") -> dict[str, dict[str, Any]]:
    """Every figure any view of the node's inspector shows, by `what` (values as plain lists)."""
    param = _param_of(step, node)
    name = title_of(node, lang)
    out: dict[str, dict[str, Any]] = {}
    for view in VIEWS:
        for what, label, kind in _figures(node, view, param, lang):
            if what not in out:
                value = {
                    "value": node.value,
                    "grad": node.grad,
                    "before": param.before if param else None,
                    "after": param.after if param else None,
                    "update.grad": param.grad if param else None,
                }[what]
                out[what] = tensor_figure(value, name, label, kind, lang)
    return out


def step_numbers(step: Step) -> dict[str, Any]:
    """The step's numbers the page shows outside the graph: the readout's loss, each parameter's gradients
    (the L(w) chart's tangent slope, the accumulation table)."""
    return {
        "loss": fmt_value(step.loss),
        "params": {
            name: {
                "value": fmt_value(p.before),  # during the step, before its update (the parameter chart's point)
                "grad": fmt_full(p.grad),
                "grad_step": fmt_full(p.grad_step if p.grad_step is not None else p.grad),
                # the L(w) chart's tangent slope as the graph shows numbers (the full one is in grad_step)
                "slope": fmt_value(p.grad_step if p.grad_step is not None else p.grad),
            }
            for name, p in step.params.items()
        },
    }
