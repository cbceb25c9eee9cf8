"""What each node and edge says, per phase, and how much room that can ever take.

Two halves that must agree: `node_size`/`edge_label_size` look only at the topology (kind, name, op, shape)
and reserve the worst case; `node_label`/`edge_label` fill in one step's numbers, which by construction of
`backprop_lens.render.format` never exceed what was reserved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from backprop_lens.render.format import (
    NUM_WIDTH,
    PREVIEW_WIDTH,
    describe,
    fmt_full,
    fmt_pair,
    fmt_shape,
    is_scalar_shape,
)
from backprop_lens.render.metrics import mono_width, sans_width
from backprop_lens.render.view import ModuleBox
from backprop_lens.snapshot import Edge, Node, ParamState, Phase

Role = Literal["value", "grad", "muted"]

# Box geometry in SVG px (= Graphviz points). Shared by the layout (sizes) and the SVG writer (drawing).
PAD_X = 10
HEADER_H = 24
LINE_H = 17
PAD_BOTTOM = 7
GAP = 14  # between key column and value column
TITLE_SIZE = 13.5
OP_TITLE_SIZE = 16
CAPTION_SIZE = 10.5
KEY_SIZE = 11
VALUE_SIZE = 12
EDGE_SIZE = 12
EDGE_LINE_H = 15
EDGE_PAD = 4

# Keys of the value column, in the order they appear. Reserved key width is the widest one a kind can show.
K_VALUE, K_GRAD, K_STEP, K_BEFORE, K_AFTER = "value", "grad", "this step", "before", "after"
K_OPS = "ops"  # a collapsed module without parameters


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    text: str  # compact, fits the reserved width
    full: str  # full precision, for the tooltip
    role: Role = "value"
    indent: bool = False  # a sub-line of the line above (a collapsed module's parameter's grad / after)


@dataclass(frozen=True, slots=True)
class NodeLabel:
    title: str  # name of a param/data node, operator of an op
    caption: str  # kind (and shape), or PyTorch's class name
    lines: tuple[Line, ...]
    tooltip: str


@dataclass(frozen=True, slots=True)
class EdgeLabel:
    lines: tuple[tuple[str, str], ...]  # (operator, number): ("", upstream), ("×", local), ("=", grad)
    tooltip: str


def _value_chars(shape: tuple[int, ...]) -> int:
    return NUM_WIDTH if is_scalar_shape(shape) or not shape else PREVIEW_WIDTH


def title_of(node: Node) -> str:
    if node.kind == "op":
        return node.op or node.grad_fn or "op"
    if node.kind == "const":
        return node.name or "const"
    return node.name or node.kind


def title_size(node: Node) -> float:
    return OP_TITLE_SIZE if node.kind == "op" else TITLE_SIZE  # "*" and "-" need size to be seen


def caption_of(node: Node) -> str:
    if node.kind == "op":
        base = node.grad_fn or ""
        if node.is_loss:
            base = f"loss · {base}" if base else "loss"
    elif node.kind == "const":
        base = ""  # the title already says "const"
    else:
        base = node.kind
    if node.shape and not is_scalar_shape(node.shape):
        base = f"{base} · {fmt_shape(node.shape)}" if base else fmt_shape(node.shape)
    return base


def reserved_keys(node: Node) -> tuple[str, ...]:
    """Every key the node may show in any phase, in the order of the most crowded phase."""
    if node.kind == "param":
        return (K_BEFORE, K_STEP, K_GRAD, K_AFTER)  # update phase with accumulation is the worst case
    if node.kind == "op":
        return (K_VALUE, K_GRAD)
    return (K_VALUE,)  # data and const need no grad


def node_size(node: Node) -> tuple[int, int]:
    """(width, height) in px, even integers (Graphviz rounds sizes to whole points; even keeps centres whole)."""
    keys = reserved_keys(node)
    key_w = max(sans_width(k, KEY_SIZE) for k in keys)
    val_w = mono_width(_value_chars(node.shape), VALUE_SIZE)
    title_w = sans_width(title_of(node), title_size(node), bold=True)
    header_w = title_w + GAP + sans_width(caption_of(node), CAPTION_SIZE)
    w = max(key_w + GAP + val_w, header_w) + 2 * PAD_X
    h = HEADER_H + len(keys) * LINE_H + PAD_BOTTOM
    return _even(w), _even(h)


def edge_chars(source: Node, target: Node) -> int:
    both_scalar = _value_chars(source.shape) == NUM_WIDTH and _value_chars(target.shape) == NUM_WIDTH
    return NUM_WIDTH if both_scalar else PREVIEW_WIDTH


def edge_label_size(source: Node, target: Node) -> tuple[int, int]:
    w = mono_width(2 + edge_chars(source, target), EDGE_SIZE) + 2 * EDGE_PAD
    h = 3 * EDGE_LINE_H + 2 * EDGE_PAD
    return _even(w), _even(h)


def _even(x: float) -> int:
    n = int(x + 0.999)
    return n + (n % 2)


Describe = Callable[[Any, int], tuple[str, str]]


class MemoDescribe:
    """`describe` remembering its answers by object identity for one render: autograd hands the same tensor
    to several places (an op's grad is the upstream of each of its input edges), no need to format it twice.
    Holds references to the values, so identities stay valid while it lives."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], tuple[Any, tuple[str, str]]] = {}
        self._full: dict[int, tuple[Any, str]] = {}

    def full(self, value: Any) -> str:
        """Only the full-precision text (tooltips of edges without a visible label): cheaper than describe."""
        if not isinstance(value, list):
            return fmt_full(value)
        hit = self._full.get(id(value))
        if hit is None:
            memo = self._memo.get((id(value), NUM_WIDTH)) or self._memo.get((id(value), PREVIEW_WIDTH))
            hit = self._full[id(value)] = (value, memo[1][1] if memo is not None else fmt_full(value))
        return hit[1]

    def __call__(self, value: Any, width: int) -> tuple[str, str]:
        if not isinstance(value, list):
            return describe(value, width)  # numbers are cheap, and small ints share identities
        key = (id(value), width)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = (value, describe(value, width))
        return hit[1]


def node_label(node: Node, phase: Phase, param: ParamState | None = None, desc: Describe = describe) -> NodeLabel:
    chars = _value_chars(node.shape)

    def line(key: str, value: Any, role: Role = "value", text: str | None = None) -> Line:
        compact, full = desc(value, max(chars, NUM_WIDTH))
        return Line(key, text or compact, full, role if value is not None else "muted")

    lines: list[Line] = []
    if node.kind == "param":
        value, grad, step_grad = node.value, node.grad, node.grad_step
        update = fmt_pair(param.before, param.after) if phase == "update" and param is not None else None
        if phase == "update" and param is not None:
            value, grad, step_grad = param.before, param.grad, param.grad_step
        if phase == "forward":
            lines.append(line(K_VALUE, value))
        else:
            lines.append(line(K_BEFORE if phase == "update" else K_VALUE, value, text=update and update[0]))
            if step_grad is not None and not _same(step_grad, grad):
                lines.append(line(K_STEP, step_grad, "grad"))  # gradients accumulate: this backward's share
            lines.append(line(K_GRAD, grad, "grad"))
            if phase == "update":
                after = param.after if param is not None else None
                lines.append(line(K_AFTER, after, text=update and update[1]))
    else:
        lines.append(line(K_VALUE, node.value))
        if node.kind == "op" and phase != "forward":
            lines.append(line(K_GRAD, node.grad, "grad"))

    head = f"{title_of(node)} — {caption_of(node)}"
    tip = [head, *(f"{ln.key}: {ln.full}" for ln in lines)]
    if node.kind == "param" and phase == "update" and param is not None:
        tip.append(f"update: {fmt_full(param.before)} → {fmt_full(param.after)}")
    if node.module:
        tip.append(f"module: {node.module}")
    return NodeLabel(title_of(node), caption_of(node), tuple(lines), "\n".join(tip))


def edge_label(
    edge: Edge,
    source: Node,
    target: Node,
    phase: Phase,
    desc: Describe = describe,
    *,
    visible: bool = True,
    full: Callable[[Any], str] = fmt_full,
) -> EdgeLabel | None:
    """The chain rule on an edge, backward phase only: upstream × local = downstream.

    `visible=False` (big graphs): the tooltip only, and `lines` empty; the compact texts are never made."""
    if phase != "backward" or (edge.grad is None and edge.upstream is None):
        return None
    values = (edge.upstream, edge.local, edge.grad)
    if visible:
        chars = edge_chars(source, target)
        (up, up_full), (loc, loc_full), (down, down_full) = (desc(v, chars) for v in values)
        lines: tuple[tuple[str, str], ...] = (("", up), ("×", loc), ("=", down))
    else:
        up_full, loc_full, down_full = (full(v) for v in values)
        lines = ()
    t, s = title_of(target), title_of(source)
    tip = (
        f"{s} → {t} (input {edge.slot})\n"
        f"upstream dL/d({t}): {up_full}\n"
        f"local d({t})/d({s}): {loc_full}\n"
        f"downstream gradient: {down_full}"
    )
    return EdgeLabel(lines, tip)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if a == b:  # C-speed for nested lists of numbers
            return True
    except Exception:  # exotic values: fall through to the text comparison
        pass
    return fmt_full(a) == fmt_full(b)  # nan equals nan here, as a student would expect


# --- collapsed modules: one box with the module's parameters ---------------------------------------------------

CLUSTER_LABEL_SIZE = 11
# A module frame's margin around its contents: its label sits in the top margin (no Graphviz label: a
# labelled cluster costs dot ~20% more time on a big net), and a nested frame's label clears its parent's.
CLUSTER_MARGIN = 17
CLUSTER_LABEL_BASELINE = 13
INDENT = 10


def module_caption(box: ModuleBox) -> str:
    n = len(box.members)
    return f"module · {n} node{'s' if n != 1 else ''}"


def short_param(box: ModuleBox, node: Node) -> str:
    name = node.name or node.id
    return name[len(box.path) + 1 :] if name.startswith(box.path + ".") else name


def module_ops(box: ModuleBox) -> str:
    """What a module without parameters does (an activation, a pooling): its ops, within the preview width."""
    ops = ", ".join(dict.fromkeys(op for op in box.ops))
    return ops if len(ops) <= PREVIEW_WIDTH else ops[: PREVIEW_WIDTH - 1] + "…"


def module_rows(box: ModuleBox) -> int:
    """Lines reserved: per parameter its value (before), grad and after; one line of ops when it has none."""
    return max(1, 3 * len(box.params))


def module_size(box: ModuleBox) -> tuple[int, int]:
    keys = [sans_width(K_AFTER, KEY_SIZE) + INDENT, *(sans_width(short_param(box, p), KEY_SIZE) for p in box.params)]
    vals = [mono_width(_value_chars(p.shape), VALUE_SIZE) for p in box.params]
    if not box.params:
        keys, vals = [sans_width(K_OPS, KEY_SIZE)], [mono_width(len(module_ops(box)), VALUE_SIZE)]
    title_w = sans_width(box.path, TITLE_SIZE, bold=True)
    header_w = title_w + GAP + sans_width(module_caption(box), CAPTION_SIZE)
    w = max(max(keys) + GAP + max(vals), header_w, 120) + 2 * PAD_X
    h = HEADER_H + module_rows(box) * LINE_H + PAD_BOTTOM
    return _even(w), _even(h)


def module_label(
    box: ModuleBox, phase: Phase, params: dict[str, ParamState] | None = None, desc: Describe = describe
) -> NodeLabel:
    lines: list[Line] = []

    def line(key: str, v: Any, chars: int, role: Role = "value", indent: bool = False) -> Line:
        text, full = desc(v, chars)
        return Line(key, text, full, role if v is not None else "muted", indent)

    for p in box.params:
        chars = max(_value_chars(p.shape), NUM_WIDTH)
        state = (params or {}).get(p.name or "") if phase == "update" else None
        value, grad = (state.before, state.grad) if state is not None else (p.value, p.grad)
        lines.append(line(short_param(box, p), value, chars))
        if phase != "forward":
            lines.append(line(K_GRAD, grad, chars, "grad", True))
        if phase == "update":
            lines.append(line(K_AFTER, state.after if state is not None else None, chars, indent=True))
    if not box.params:
        ops = module_ops(box)
        lines.append(Line(K_OPS, ops, ops, "muted"))
    tip = [f"{box.path} — collapsed module ({len(box.members)} nodes)"]
    for ln in lines:
        tip.append(f"{'  ' if ln.indent else ''}{ln.key}: {ln.full}")
    return NodeLabel(box.path, module_caption(box), tuple(lines), "\n".join(tip))
