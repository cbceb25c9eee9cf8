"""How much room each node box and edge label can ever need: geometry only, no wording.

The words come from `backprop_lens.present`; room is reserved here for the widest text over every phase,
every value (numbers have a fixed maximum width, see present.format) and every language, so one layout per
topology fits every step of every run, in English and in Chinese alike.

Two styles share the drawing code: `PAGE` (the page, exports, slides: every text >= 12 units, so the page's
9 px at Fit needs a scale of only 0.75) and `STAGE` (presenter mode: larger type, tighter margins and no
in-picture header, since the presenter's title and readout say the step). Both draw an op's and a data node's
numbers without the words "value" and "grad" (colour and weight tell them apart; the legend says how).
"""

from __future__ import annotations

from dataclasses import dataclass

from backprop_lens.present import claims, modules, nodes
from backprop_lens.present.catalog import LANGS
from backprop_lens.present.format import NUM_WIDTH
from backprop_lens.render.metrics import mono_width, sans_width
from backprop_lens.render.view import ModuleBox
from backprop_lens.snapshot import Node

# Kinds whose boxes have a key column left of the numbers, in every style (so one LabelSet fills both pictures): a
# parameter's rows (before, this step, grad, after) and a module's (its parameters' names) need their words; an
# op's value and grad are told apart by colour and weight, as the legend says ("grad = dL/d(node)", bold).
KEYED: frozenset[str] = frozenset({"param", "module"})


@dataclass(frozen=True, slots=True)
class Style:
    """Box geometry and type sizes in SVG px (= Graphviz points), shared by the layout (sizes) and the SVG
    writer (drawing). A picture never mixes two styles."""

    name: str
    pad_x: float = 8
    header_h: float = 22
    line_h: float = 17
    pad_bottom: float = 6
    gap: float = 10  # between key column and value column, and between title and shape
    title_size: float = 13.5
    op_title_size: float = 16
    caption_size: float = 12  # the shape in a non-scalar's header
    key_size: float = 12
    value_size: float = 12
    edge_size: float = 12
    edge_line_h: float = 15
    edge_pad: float = 4
    indent: float = 10
    cluster_label_size: float = 12
    # A module frame's margin around its contents: its label sits in the top margin (no Graphviz label: a
    # labelled cluster costs dot ~20% more time on a big net), and a nested frame's label clears its parent's.
    cluster_margin: float = 17
    cluster_label_baseline: float = 13
    legend_size: float = 12
    header: bool = True  # the picture's own title, subtitle and phase badge
    margin: float = 20
    nodesep: float = 0.22  # inches, as Graphviz takes them
    ranksep: float = 0.22

    @property
    def min_font(self) -> float:
        """The smallest type this style draws (what readability at a scale depends on)."""
        return min(
            self.title_size, self.caption_size, self.key_size, self.value_size,
            self.edge_size, self.cluster_label_size, self.legend_size,
        )  # fmt: skip


PAGE = Style("page")
STAGE = Style(
    "stage",
    pad_x=8,
    header_h=26,
    line_h=20,
    title_size=17,
    op_title_size=18,
    caption_size=16,
    value_size=16,
    key_size=16,
    edge_size=16,
    edge_line_h=19,
    cluster_label_size=16,
    cluster_margin=22,
    cluster_label_baseline=17,
    legend_size=16,
    header=False,
    margin=10,
    nodesep=0.18,
    ranksep=0.16,
)
STYLES = {s.name: s for s in (PAGE, STAGE)}


def even(x: float) -> int:
    """Whole, even points: Graphviz rounds sizes to whole points, and even sizes keep centres whole."""
    n = int(x + 0.999)
    return n + (n % 2)


def title_size(node: Node, style: Style = PAGE) -> float:
    return style.op_title_size if node.kind == "op" else style.title_size  # "*" and "-" need size to be seen


def reserved_rows(node: Node) -> int:
    return len(nodes.reserved_keys(node))


def _key_column(node: Node, style: Style) -> float:
    """Width of the key column and its gap (none for a kind the style draws without keys)."""
    keys = nodes.reserved_keys(node)
    if node.kind not in KEYED:
        return 0.0
    return max(sans_width(k, style.key_size) for k in nodes.key_texts(keys)) + style.gap


def node_size(node: Node, style: Style = PAGE) -> tuple[int, int]:
    """(width, height) in px for the widest key, value and header (title, and shape) of any phase and language."""
    val_w = mono_width(nodes.value_chars(node.shape), style.value_size)
    header_w = max(
        sans_width(nodes.title_of(node, lang), title_size(node, style), bold=True) + _tag_w(node, lang, style)
        for lang in LANGS
    )
    w = max(_key_column(node, style) + val_w, header_w) + 2 * style.pad_x
    h = style.header_h + reserved_rows(node) * style.line_h + style.pad_bottom
    return even(w), even(h)


def _tag_w(node: Node, lang: str, style: Style) -> float:
    tag = nodes.tag_of(node, lang)
    return style.gap + sans_width(tag, style.caption_size) if tag else 0.0


def edge_label_size(source: Node, target: Node, style: Style = PAGE) -> tuple[int, int]:
    """Three lines of the operator column and the reserved number width: every relation kind fits."""
    w = mono_width(claims.OP_CHARS + claims.edge_chars(source, target), style.edge_size) + 2 * style.edge_pad
    h = 3 * style.edge_line_h + 2 * style.edge_pad
    return even(w), even(h)


def module_size(box: ModuleBox, style: Style = PAGE) -> tuple[int, int]:
    after = max(sans_width(w, style.key_size) for w in nodes.key_texts((nodes.K_AFTER, nodes.K_GRAD)))
    keys = [after + style.indent, *(sans_width(modules.short_param(box, p), style.key_size) for p in box.params)]
    vals = [mono_width(max(nodes.value_chars(p.shape), NUM_WIDTH), style.value_size) for p in box.params]
    if not box.params:
        ops_w = max(sans_width(w, style.key_size) for w in nodes.key_texts((nodes.K_OPS,)))
        keys, vals = [ops_w], [mono_width(len(modules.module_ops(box)), style.value_size)]
    # a module's rows name its parameters: the key column stays in every style
    title_w = sans_width(box.path, style.title_size, bold=True)
    w = max(max(keys) + style.gap + max(vals), title_w, 100) + 2 * style.pad_x
    h = style.header_h + modules.module_rows(box) * style.line_h + style.pad_bottom
    return even(w), even(h)
