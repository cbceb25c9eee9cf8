"""What an edge says in the backward phase: the claim its relation makes, and only that.

- elementwise: `u × l = d` (upstream × local = downstream, same shape)
- reduce:      `Σ(u × l) = d` (summed over the batch)
- matmul:      `A · B = d` with the operands' shapes
- jacobian:    `J · u = d`, J's shape shown (the matrix in the tooltip and the inspector)
- opaque:      the formula and "computed by AddmmBackward0"; no arithmetic
- no relation recorded: `u × l = d` only when shapes agree and the numbers satisfy it; else just `= d`.
Every label has exactly three lines (operator column, text), blank where a kind says less, so the slots of an
edge are the same at every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backprop_lens.present.catalog import t
from backprop_lens.present.format import describe, flatten, fmt_full, nested_shape
from backprop_lens.present.nodes import Describe, title_of, value_chars
from backprop_lens.snapshot import Edge, Node, Phase, Relation

OP_CHARS = 2  # the operator column: "×", "Σ(", ")=", "·", "="
ChainLines = tuple[tuple[str, str], tuple[str, str], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class EdgeLabel:
    lines: ChainLines | tuple[()]  # (operator, text) x 3; empty when the graph is too big for visible labels
    tooltip: str
    kind: str  # the relation kind drawn ("elementwise", ..., "opaque") or "none"


def edge_chars(source: Node, target: Node) -> int:
    return max(value_chars(source.shape), value_chars(target.shape))  # a preview's room unless both are numbers


def fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 0)] + "…"


def shape_of(value: Any) -> str:
    shape = nested_shape(value)
    return "×".join(str(d) for d in shape) if shape else "1"


def holds_elementwise(u: Any, l: Any, d: Any) -> bool:  # noqa: E741 — u, l, d as in the claim
    """Same shapes, and d == u * l to float32 precision: checked before we claim it (no relation recorded)."""
    if u is None or l is None or d is None:
        return False
    if not (nested_shape(u) == nested_shape(l) == nested_shape(d)):
        return False
    for a, b, c in zip(flatten(u), flatten(l), flatten(d), strict=False):
        try:
            if not math.isclose(float(a) * float(b), float(c), rel_tol=1e-5, abs_tol=1e-6):
                return False
        except (TypeError, ValueError, OverflowError):
            return False
    return True


def kind_of(edge: Edge) -> str:
    rel = edge.relation
    if rel is not None:
        return rel.kind
    return "elementwise" if holds_elementwise(edge.upstream, edge.local, edge.grad) else "none"


def _lines(kind: str, edge: Edge, target: Node, chars: int, desc: Describe, lang: str) -> ChainLines:
    rel = edge.relation or Relation(kind="opaque")
    up, down = desc(edge.upstream, chars)[0], desc(edge.grad, chars)[0]
    width = chars - 1  # a text after an operator keeps a space between them
    if kind == "elementwise":
        return ("", up), ("×", desc(rel.local if edge.relation else edge.local, chars)[0]), ("=", down)
    if kind == "reduce":
        return ("Σ(", up), ("×", desc(rel.local, chars)[0]), (")=", down)
    if kind == "matmul":
        left = fit(f"{shape_of(rel.left)} {desc(rel.left, chars)[0]}", width)
        right = fit(f"{shape_of(rel.right)} {desc(rel.right, chars)[0]}", width)
        return ("", left), ("·", right), ("=", down)
    if kind == "jacobian":
        return ("J", fit(shape_of(rel.jacobian), width)), ("·", up), ("=", down)
    if kind == "opaque":
        computed = fit(t(lang, "svg.edge.computed", fn=target.grad_fn or "autograd"), width)
        return ("", fit(rel.formula, width)), ("", computed), ("=", down)
    return ("", ""), ("", ""), ("=", down)


def _tooltip(kind: str, edge: Edge, s: str, tg: str, full: Callable[[Any], str], lang: str, fn: str) -> str:
    rel = edge.relation
    tip = [t(lang, "svg.tip.edge", source=s, target=tg, slot=edge.slot)]
    if kind in ("elementwise", "reduce"):
        local = rel.local if rel is not None else edge.local
        tip.append(t(lang, "svg.tip.upstream", target=tg, value=full(edge.upstream)))
        tip.append(t(lang, "svg.tip.local", target=tg, source=s, value=full(local)))
        if kind == "reduce" and rel is not None:
            tip.append(t(lang, "svg.tip.reduce", dims=list(rel.dims)))
    elif kind == "matmul" and rel is not None:
        tip.append(t(lang, "svg.tip.left", shape=shape_of(rel.left), value=full(rel.left)))
        tip.append(t(lang, "svg.tip.right", shape=shape_of(rel.right), value=full(rel.right)))
        tip.append(t(lang, "svg.tip.matmul"))
    elif kind == "jacobian" and rel is not None:
        tip.append(t(lang, "svg.tip.upstream", target=tg, value=full(edge.upstream)))
        tip.append(t(lang, "svg.tip.jacobian", shape=shape_of(rel.jacobian), value=full(rel.jacobian)))
        tip.append(t(lang, "svg.tip.jacobian.rule"))
    elif kind == "opaque":
        tip.append(t(lang, "svg.tip.opaque", fn=fn))
    else:
        tip.append(t(lang, "svg.tip.unchecked"))
    tip.append(t(lang, "svg.tip.downstream", value=full(edge.grad)))
    if rel is not None and rel.formula:
        tip.append(t(lang, "svg.tip.formula", formula=rel.formula))
    return "\n".join(tip)


def edge_label(
    edge: Edge,
    source: Node,
    target: Node,
    phase: Phase,
    desc: Describe = describe,
    *,
    visible: bool = True,
    full: Callable[[Any], str] = fmt_full,
    lang: str = "en",
) -> EdgeLabel | None:
    """The chain rule on an edge, backward phase only. `visible=False` (big graphs): the tooltip only."""
    if phase != "backward" or (edge.grad is None and edge.upstream is None):
        return None
    kind = kind_of(edge)
    lines: ChainLines | tuple[()] = (
        _lines(kind, edge, target, edge_chars(source, target), desc, lang) if visible else ()
    )
    s, tg = title_of(source, lang), title_of(target, lang)
    return EdgeLabel(lines, _tooltip(kind, edge, s, tg, full, lang, target.grad_fn or "autograd"), kind)


def plain_tooltip(edge: Edge, source: Node, target: Node, lang: str = "en") -> str:
    """An edge that carries no gradient (data, constants; the forward and update phases)."""
    return t(lang, "svg.tip.edge", source=title_of(source, lang), target=title_of(target, lang), slot=edge.slot)
