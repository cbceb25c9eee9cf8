"""The parts of a node box that depend only on the layout and theme (frame, header band, title, caption, row
baselines): built once per layout and reused for every step."""

from __future__ import annotations

from backprop_lens.present.nodes import tag_of
from backprop_lens.render import labels as L
from backprop_lens.render.layout import Box
from backprop_lens.render.theme import Theme
from backprop_lens.render.view import ModuleBox
from backprop_lens.render.xml import esc
from backprop_lens.render.xml import num as _n
from backprop_lens.snapshot import Node

RADIUS = {"op": 10.0, "param": 3.0, "data": 3.0, "const": 3.0, "module": 6.0}
DIM = ' opacity="0.45"'  # what the current phase does not touch
TITLE, CAPTION = "\x00T", "\x00C"

# (opening tag, frame body, x of the value column's right edge, for every count of shown lines their baselines)
Frame = tuple[str, str, str, tuple[tuple[str, ...], ...]]
Sizes = tuple[float, bool]  # (title size, whether the header shows a shape)


def _frame(
    opening: str, kind: str, is_loss: bool, slot: str, box: Box, rows: int, theme: Theme, st: L.Style, sizes: Sizes
):
    """Title and caption (a non-scalar's shape) carry slots (`n:ID:title`, `n:ID:caption`), filled per language
    by the LabelSet: the body holds the placeholders TITLE and CAPTION (characters no escaped text contains)."""
    title_size, tagged = sizes
    ks = theme.kind(kind, is_loss)
    w, h = box.w, box.h
    r = RADIUS.get(kind, 3.0)
    stroke_w = 3 if is_loss else (2 if kind == "module" else 1.6)
    dash = ' stroke-dasharray="5 3"' if kind == "const" else ""
    hh = st.header_h
    arc = f"A{_n(r)},{_n(r)} 0 0 1"
    band = f"M0,{hh} V{_n(r)} {arc} {_n(r)},0 H{_n(w - r)} {arc} {_n(w)},{_n(r)} V{hh} Z"  # rounded top only
    body = (
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="{ks.body}"/>'
        f'<path d="{band}" fill="{ks.strong}"/>'
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="none" stroke="{ks.strong}" '
        f'stroke-width="{stroke_w}"{dash}/>'
        f'<text data-label="{esc(slot)}:title" x="{_n(st.pad_x)}" y="{_n(hh * 0.5 + title_size * 0.36)}" '
        f'font-size="{_n(title_size)}" font-weight="bold" fill="{ks.on_strong}">\x00T</text>'
    )
    if tagged:  # a non-scalar's shape; the kind is the box's colour, the class name is in the tooltip
        y = _n(hh * 0.5 + st.caption_size * 0.36)
        body += (
            f'<text data-label="{esc(slot)}:caption" x="{_n(w - st.pad_x)}" y="{y}" '
            f'font-size="{_n(st.caption_size)}" text-anchor="end" fill="{ks.on_strong}">\x00C</text>'
        )
    return opening, body, _n(w - st.pad_x), _row_ys(h, rows, st, listed=kind == "module")


_ROWS: dict[tuple[float, int, str, bool], tuple[tuple[str, ...], ...]] = {}


def _row_ys(h: float, rows: int, st: L.Style, listed: bool = False) -> tuple[tuple[str, ...], ...]:
    """For each count of shown lines, their baselines, centred in the rows' room (shared by equal boxes).

    `listed` (a collapsed module's list of parameters): the shown lines start where all `rows` reserved ones
    would, under the header, so a phase that shows fewer leaves its room at the bottom, not in two bands."""
    hit = _ROWS.get((h, rows, st.name, listed))
    if hit is None:
        body = h - st.header_h - st.pad_bottom  # room for the rows, whatever Graphviz rounded the box to
        base = st.line_h * 0.5 + max(st.key_size, st.value_size) * 0.36  # a row's baseline in its line
        hit = tuple(
            tuple(
                _n(st.header_h + (body - (rows if listed else shown) * st.line_h) / 2 + base + i * st.line_h)
                for i in range(shown)
            )
            for shown in range(rows + 1)
        )
        if len(_ROWS) < 4096:
            _ROWS[(h, rows, st.name, listed)] = hit
    return hit


def node_frame(node: Node, box: Box, theme: Theme, dim: bool, st: L.Style = L.PAGE) -> Frame:
    classes = f"node {node.kind}" + (" loss" if node.is_loss else "")
    order = f' data-order="{node.order}"' if node.order is not None else ""
    module = f' data-module="{esc(node.module)}"' if node.module else ""
    opening = (
        f'<g id="{esc(node.id)}" class="{classes}" data-node-id="{esc(node.id)}" data-kind="{node.kind}"{order}'
        f'{module} transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    slot = f"n:{node.id}"
    sizes = (L.title_size(node, st), bool(tag_of(node)))  # a tag is a shape: the same in every language
    return _frame(opening, node.kind, node.is_loss, slot, box, L.reserved_rows(node), theme, st, sizes)


def module_frame(mod: ModuleBox, box: Box, theme: Theme, dim: bool, rows: int, st: L.Style = L.PAGE) -> Frame:
    opening = (
        f'<g id="{esc(mod.id)}" class="node module collapsed" data-node-id="{esc(mod.id)}" data-kind="module" '
        f'data-module="{esc(mod.path)}" data-members="{esc(" ".join(mod.members))}" '
        f'transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    return _frame(opening, "module", False, f"n:{mod.id}", box, rows, theme, st, (st.title_size, False))
