"""How much room each node box and edge label can ever need: geometry only, no wording.

The words come from `backprop_lens.present`; room is reserved here for the widest text over every phase,
every value (numbers have a fixed maximum width, see present.format) and every language, so one layout per
topology fits every step of every run, in English and in Chinese alike.
"""

from __future__ import annotations

from backprop_lens.present import claims, modules, nodes
from backprop_lens.present.catalog import LANGS
from backprop_lens.present.format import NUM_WIDTH
from backprop_lens.render.metrics import mono_width, sans_width
from backprop_lens.render.view import ModuleBox
from backprop_lens.snapshot import Node

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
INDENT = 10

CLUSTER_LABEL_SIZE = 11
# A module frame's margin around its contents: its label sits in the top margin (no Graphviz label: a
# labelled cluster costs dot ~20% more time on a big net), and a nested frame's label clears its parent's.
CLUSTER_MARGIN = 17
CLUSTER_LABEL_BASELINE = 13


def even(x: float) -> int:
    """Whole, even points: Graphviz rounds sizes to whole points, and even sizes keep centres whole."""
    n = int(x + 0.999)
    return n + (n % 2)


def title_size(node: Node) -> float:
    return OP_TITLE_SIZE if node.kind == "op" else TITLE_SIZE  # "*" and "-" need size to be seen


def reserved_rows(node: Node) -> int:
    return len(nodes.reserved_keys(node))


def node_size(node: Node) -> tuple[int, int]:
    """(width, height) in px for the widest key, value, title and caption of any phase and language."""
    key_w = max(sans_width(k, KEY_SIZE) for k in nodes.key_texts(nodes.reserved_keys(node)))
    val_w = mono_width(nodes.value_chars(node.shape), VALUE_SIZE)
    header_w = max(
        sans_width(nodes.title_of(node, lang), title_size(node), bold=True)
        + GAP
        + sans_width(nodes.caption_of(node, lang), CAPTION_SIZE)
        for lang in LANGS
    )
    w = max(key_w + GAP + val_w, header_w) + 2 * PAD_X
    h = HEADER_H + reserved_rows(node) * LINE_H + PAD_BOTTOM
    return even(w), even(h)


def edge_label_size(source: Node, target: Node) -> tuple[int, int]:
    """Three lines of the operator column and the reserved number width: every relation kind fits."""
    w = mono_width(claims.OP_CHARS + claims.edge_chars(source, target), EDGE_SIZE) + 2 * EDGE_PAD
    h = 3 * EDGE_LINE_H + 2 * EDGE_PAD
    return even(w), even(h)


def module_size(box: ModuleBox) -> tuple[int, int]:
    after = max(sans_width(w, KEY_SIZE) for w in nodes.key_texts((nodes.K_AFTER, nodes.K_GRAD)))
    keys = [after + INDENT, *(sans_width(modules.short_param(box, p), KEY_SIZE) for p in box.params)]
    vals = [mono_width(max(nodes.value_chars(p.shape), NUM_WIDTH), VALUE_SIZE) for p in box.params]
    if not box.params:
        ops_w = max(sans_width(w, KEY_SIZE) for w in nodes.key_texts((nodes.K_OPS,)))
        keys, vals = [ops_w], [mono_width(len(modules.module_ops(box)), VALUE_SIZE)]
    title_w = sans_width(box.path, TITLE_SIZE, bold=True)
    header_w = title_w + GAP + max(sans_width(modules.module_caption(box, lang), CAPTION_SIZE) for lang in LANGS)
    w = max(max(keys) + GAP + max(vals), header_w, 120) + 2 * PAD_X
    h = HEADER_H + modules.module_rows(box) * LINE_H + PAD_BOTTOM
    return even(w), even(h)
