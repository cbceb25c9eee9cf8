"""The parts of a node box that depend only on the layout and theme (frame, header band, title, caption, row
baselines): built once per layout and reused for every step."""

from __future__ import annotations

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


def _frame(opening: str, kind: str, is_loss: bool, slot: str, title_size: float, box: Box, rows: int, theme: Theme):
    """Title and caption carry slots (`n:ID:title`, `n:ID:caption`), filled per language by the LabelSet:
    the body holds the placeholders TITLE and CAPTION (characters no escaped text contains)."""
    ks = theme.kind(kind, is_loss)
    w, h = box.w, box.h
    r = RADIUS.get(kind, 3.0)
    stroke_w = 3 if is_loss else (2 if kind == "module" else 1.6)
    dash = ' stroke-dasharray="5 3"' if kind == "const" else ""
    hh = L.HEADER_H
    arc = f"A{_n(r)},{_n(r)} 0 0 1"
    band = f"M0,{hh} V{_n(r)} {arc} {_n(r)},0 H{_n(w - r)} {arc} {_n(w)},{_n(r)} V{hh} Z"  # rounded top only
    body = (
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="{ks.body}"/>'
        f'<path d="{band}" fill="{ks.strong}"/>'
        f'<rect width="{_n(w)}" height="{_n(h)}" rx="{_n(r)}" fill="none" stroke="{ks.strong}" '
        f'stroke-width="{stroke_w}"{dash}/>'
        f'<text data-label="{esc(slot)}:title" x="{L.PAD_X}" y="17.5" font-size="{title_size}" font-weight="bold" '
        f'fill="{ks.on_strong}">\x00T</text>'
    )
    if kind != "const":  # a constant's title says it all: no caption, no slot
        body += (
            f'<text data-label="{esc(slot)}:caption" x="{_n(w - L.PAD_X)}" y="16.5" font-size="{L.CAPTION_SIZE}" '
            f'text-anchor="end" fill="{ks.on_strong}">\x00C</text>'
        )
    return opening, body, _n(w - L.PAD_X), _row_ys(h, rows)


_ROWS: dict[tuple[float, int], tuple[tuple[str, ...], ...]] = {}


def _row_ys(h: float, rows: int) -> tuple[tuple[str, ...], ...]:
    """For each count of shown lines, their baselines, centred in the rows' room (shared by equal boxes)."""
    hit = _ROWS.get((h, rows))
    if hit is None:
        body = h - L.HEADER_H - L.PAD_BOTTOM  # room for the rows, whatever Graphviz rounded the box to
        hit = tuple(
            tuple(_n(L.HEADER_H + (body - shown * L.LINE_H) / 2 + 13.0 + i * L.LINE_H) for i in range(shown))
            for shown in range(rows + 1)
        )
        if len(_ROWS) < 4096:
            _ROWS[(h, rows)] = hit
    return hit


def node_frame(node: Node, box: Box, theme: Theme, dim: bool) -> Frame:
    classes = f"node {node.kind}" + (" loss" if node.is_loss else "")
    order = f' data-order="{node.order}"' if node.order is not None else ""
    module = f' data-module="{esc(node.module)}"' if node.module else ""
    opening = (
        f'<g id="{esc(node.id)}" class="{classes}" data-node-id="{esc(node.id)}" data-kind="{node.kind}"{order}'
        f'{module} transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    slot = f"n:{node.id}"
    return _frame(opening, node.kind, node.is_loss, slot, L.title_size(node), box, L.reserved_rows(node), theme)


def module_frame(mod: ModuleBox, box: Box, theme: Theme, dim: bool, rows: int) -> Frame:
    opening = (
        f'<g id="{esc(mod.id)}" class="node module collapsed" data-node-id="{esc(mod.id)}" data-kind="module" '
        f'data-module="{esc(mod.path)}" data-members="{esc(" ".join(mod.members))}" '
        f'transform="translate({_n(box.x)},{_n(box.y)})"{DIM if dim else ""}>'
    )
    return _frame(opening, "module", False, f"n:{mod.id}", L.TITLE_SIZE, box, rows, theme)
