"""What each node box says, per phase and language: its title, caption, lines (key, compact text, full text)
and tooltip. The renderer reserves room for the worst case over every phase, value and language, so any step
fits the same geometry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from backprop_lens.present.catalog import LANGS, t
from backprop_lens.present.format import NUM_WIDTH, describe, fmt_full, fmt_pair, is_scalar_shape
from backprop_lens.present.updates import update_line
from backprop_lens.snapshot import Node, ParamState, Phase

Role = Literal["value", "grad", "muted"]
Describe = Callable[[Any, int], tuple[str, str]]

# Message keys of the value column, in the order a box shows them.
K_VALUE, K_GRAD, K_STEP, K_BEFORE, K_AFTER = (
    "svg.key.value",
    "svg.key.grad",
    "svg.key.step",
    "svg.key.before",
    "svg.key.after",
)
K_OPS = "svg.key.ops"


@dataclass(frozen=True, slots=True)
class Line:
    key: str  # the word on the left, in the label's language
    text: str  # compact, fits the reserved width
    full: str  # full precision, for the tooltip
    role: Role = "value"
    indent: bool = False  # a sub-line of the line above (a collapsed module's parameter's grad / after)
    key_id: str = ""  # the message key (or the parameter name) the word came from: stable across languages


@dataclass(frozen=True, slots=True)
class NodeLabel:
    title: str  # name of a param/data node, operator (or name) of an op
    caption: str  # kind (and shape), or PyTorch's class name: the tooltip's and the accessible name's
    lines: tuple[Line, ...]
    tooltip: str
    tag: str = ""  # what the box's header shows beside the title: the shape of a non-scalar (see tag_of)


# Characters a box's value column or a chain label reserves for a tensor preview: "[-0.604, -1.21, …]". Shorter
# than the formatter's default (PREVIEW_WIDTH, the inspector's and tooltips' concern): graphs of vectors are as
# wide as their previews, and the whole graph must read at Fit; the node's inspector shows every element.
BOX_PREVIEW = 20


def value_chars(shape: tuple[int, ...]) -> int:
    return NUM_WIDTH if is_scalar_shape(shape) or not shape else BOX_PREVIEW


def title_of(node: Node, lang: str = "en") -> str:
    if node.kind == "op":
        op = node.op or node.grad_fn or "op"
        return f"{node.name}: {op}" if node.name and node.name != op else op  # the name the code gave it
    if node.kind == "const":
        return node.name or t(lang, "svg.kind.const")
    return node.name or t(lang, f"svg.kind.{node.kind}")


def shape_text(shape: tuple[int, ...], lang: str = "en") -> str:
    return "×".join(str(d) for d in shape) if shape else t(lang, "svg.scalar")


def caption_of(node: Node, lang: str = "en") -> str:
    if node.kind == "op":
        base = node.grad_fn or ""
        if node.is_loss:
            loss = t(lang, "svg.kind.loss")
            base = f"{loss} · {base}" if base else loss
    elif node.kind == "const":
        base = ""  # the title already says "const"
    else:
        base = t(lang, f"svg.kind.{node.kind}")
    if node.shape and not is_scalar_shape(node.shape):
        base = f"{base} · {shape_text(node.shape, lang)}" if base else shape_text(node.shape, lang)
    return base


def tag_of(node: Node, lang: str = "en") -> str:
    """The header's short caption: a non-scalar's shape, nothing else. The kind is the box's colour (and the
    legend's), PyTorch's class name is in the tooltip, the inspector and the accessible name: a header of the
    name alone keeps boxes narrow enough to read a whole graph at Fit."""
    return shape_text(node.shape, lang) if node.shape and not is_scalar_shape(node.shape) else ""


def reserved_keys(node: Node) -> tuple[str, ...]:
    """Message keys of every line the node may show in any phase, in the order of the most crowded phase."""
    if node.kind == "param":
        return (K_BEFORE, K_STEP, K_GRAD, K_AFTER)  # update phase with accumulation is the worst case
    if node.kind == "op":
        return (K_VALUE, K_GRAD)
    return (K_VALUE,)  # data and const need no grad


def key_texts(keys: tuple[str, ...]) -> list[str]:
    """Every language's words for these keys: the renderer sizes the key column for the widest."""
    return [t(lang, k) for lang in LANGS for k in keys]


def node_label(
    node: Node, phase: Phase, param: ParamState | None = None, desc: Describe = describe, lang: str = "en"
) -> NodeLabel:
    chars = max(value_chars(node.shape), NUM_WIDTH)

    def line(key: str, value: Any, role: Role = "value", text: str | None = None) -> Line:
        compact, full = desc(value, chars)
        return Line(t(lang, key), text or compact, full, role if value is not None else "muted", key_id=key)

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
            if step_grad is not None and not same(step_grad, grad):
                lines.append(line(K_STEP, step_grad, "grad"))  # gradients accumulate: this backward's share
            lines.append(line(K_GRAD, grad, "grad"))
            if phase == "update":
                after = param.after if param is not None else None
                lines.append(line(K_AFTER, after, text=update and update[1]))
    else:
        lines.append(line(K_VALUE, node.value))
        if node.kind == "op" and phase != "forward":
            lines.append(line(K_GRAD, node.grad, "grad"))

    title, caption = title_of(node, lang), caption_of(node, lang)
    tip = [f"{title} — {caption}", *(t(lang, "svg.tip.line", key=ln.key, value=ln.full) for ln in lines)]
    if node.kind == "param" and phase == "update" and param is not None:
        tip.append(t(lang, "svg.tip.update", before=fmt_full(param.before), after=fmt_full(param.after)))
        tip.append(update_line(node.name or node.id, param, lang))  # the rule of the optimizer that ran
    if node.source is not None:
        tip.append(f"{node.source.file}:{node.source.line}  {node.source.code}")
    if node.module:
        tip.append(t(lang, "svg.tip.module", module=node.module))
    return NodeLabel(title, caption, tuple(lines), "\n".join(tip), tag_of(node, lang))


def same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if a == b:  # C-speed for nested lists of numbers
            return True
    except Exception:  # exotic values: fall through to the text comparison
        pass
    return fmt_full(a) == fmt_full(b)  # nan equals nan here, as a student would expect
