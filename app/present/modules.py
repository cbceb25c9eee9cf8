"""What a collapsed module's box says: per parameter its value (before), grad and after; its ops otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from backprop_lens.present.catalog import t
from backprop_lens.present.format import NUM_WIDTH, describe
from backprop_lens.present.nodes import (
    BOX_PREVIEW,
    K_AFTER,
    K_GRAD,
    K_OPS,
    Describe,
    Line,
    NodeLabel,
    Role,
    value_chars,
)
from backprop_lens.snapshot import Node, ParamState, Phase


class ModuleBox(Protocol):
    """A collapsed module as the renderer's view has it (render.view.ModuleBox): present never imports render."""

    @property
    def path(self) -> str: ...
    @property
    def params(self) -> Sequence[Node]: ...
    @property
    def members(self) -> Sequence[str]: ...
    @property
    def ops(self) -> Sequence[str]: ...


def module_caption(box: ModuleBox, lang: str = "en") -> str:
    n = len(box.members)
    return t(lang, "svg.module.caption.one") if n == 1 else t(lang, "svg.module.caption", n=n)


def short_param(box: ModuleBox, node: Node) -> str:
    name = node.name or node.id
    return name[len(box.path) + 1 :] if name.startswith(box.path + ".") else name


def module_ops(box: ModuleBox) -> str:
    """What a module without parameters does (an activation, a pooling): its ops, within the preview width."""
    ops = ", ".join(dict.fromkeys(op for op in box.ops))
    return ops if len(ops) <= BOX_PREVIEW else ops[: BOX_PREVIEW - 1] + "…"


def module_rows(box: ModuleBox) -> int:
    """Lines reserved: per parameter its value (before), grad and after; one line of ops when it has none."""
    return max(1, 3 * len(box.params))


def module_label(
    box: ModuleBox,
    phase: Phase,
    params: dict[str, ParamState] | None = None,
    desc: Describe = describe,
    lang: str = "en",
) -> NodeLabel:
    lines: list[Line] = []

    def line(key: str, word: str, v: Any, chars: int, role: Role = "value", indent: bool = False) -> Line:
        text, full = desc(v, chars)
        return Line(word, text, full, role if v is not None else "muted", indent, key)

    for p in box.params:
        chars = max(value_chars(p.shape), NUM_WIDTH)
        state = (params or {}).get(p.name or "") if phase == "update" else None
        value, grad = (state.before, state.grad) if state is not None else (p.value, p.grad)
        name = short_param(box, p)
        lines.append(line(name, name, value, chars))
        if phase != "forward":
            lines.append(line(K_GRAD, t(lang, K_GRAD), grad, chars, "grad", True))
        if phase == "update":
            after = state.after if state is not None else None
            lines.append(line(K_AFTER, t(lang, K_AFTER), after, chars, indent=True))
    if not box.params:
        ops = module_ops(box)
        lines.append(Line(t(lang, K_OPS), ops, ops, "muted", key_id=K_OPS))
    tip = [t(lang, "svg.tip.collapsed", path=box.path, n=len(box.members))]
    for ln in lines:
        tip.append(("  " if ln.indent else "") + t(lang, "svg.tip.line", key=ln.key, value=ln.full))
    return NodeLabel(box.path, module_caption(box, lang), tuple(lines), "\n".join(tip))
