"""The legend row(s) under the graph: node kinds with their swatches, then what gradients and edge labels
mean. Words from the LabelSet; the room is the widest any language needs, so the canvas never changes."""

from __future__ import annotations

from functools import lru_cache

from backprop_lens.present.catalog import LANGS
from backprop_lens.present.header import CLAIM_KINDS, NODE_KINDS, Legend, legend
from backprop_lens.render.metrics import sans_width
from backprop_lens.render.theme import Theme
from backprop_lens.render.xml import esc
from backprop_lens.render.xml import num as _n

LEGEND_SIZE = 12
LEGEND_GAP = 1.5  # between legend items, in ems; bold text is measured with bold metrics, plus slack for fallbacks


def legend_height(size: float = LEGEND_SIZE) -> float:
    """Two rows (node kinds and gradients; what the edge labels claim) and their margins, in px."""
    return float(round(size * 4.6))


def _text_w(text: str, size: float, bold: bool = False) -> float:
    # a little slack (4%) on top of DejaVu's advances: a fallback font (Arial, Helvetica) must fit too
    return sans_width(text, size, bold=bold) * 1.04


def _rows_width(lg: Legend, size: float) -> float:
    gap, swatch = LEGEND_GAP * size, 1.7 * size
    first = sum(swatch + _text_w(word, size) + gap for _, word in lg.kinds)
    first += _text_w(lg.grad, size, bold=True) if lg.grad else 0.0
    second = sum(_text_w(claim, size) + gap for _, claim in lg.claims)
    return max(first, second)


def legend_width(lg: Legend | None, size: float = LEGEND_SIZE) -> float:
    """The room the legend needs in any language and phase: of these kinds, or of every kind when unknown."""
    kinds = frozenset(k for k, _ in lg.kinds) if lg is not None else frozenset(NODE_KINDS)
    claims = frozenset(k for k, _ in lg.claims) if lg is not None else frozenset(CLAIM_KINDS[:1])
    labelled = lg is None or not any(k == "tooltip" for k, _ in lg.claims)
    return _width_of(kinds, claims, labelled, size)


@lru_cache(maxsize=256)  # per graph shape, not per step: a handful of distinct legends per process
def _width_of(kinds: frozenset[str], claims: frozenset[str], labelled: bool, size: float) -> float:
    return max(
        _rows_width(legend(phase, set(kinds), set(claims), labelled, lang), size)
        for lang in LANGS
        for phase in ("forward", "backward", "update")
    )


def draw_legend(lg: Legend, theme: Theme, y: float, size: float = LEGEND_SIZE, margin: float = 20) -> list[str]:
    """The legend's rows, the first baseline at `y`."""
    out = [f'<g class="legend" font-size="{_n(size)}" fill="{theme.muted}">']
    gap, sw, sh, line = LEGEND_GAP * size, 1.2 * size, size, 1.45 * size
    top = y - 0.85 * size  # a swatch's top: it sits on the baseline like a capital letter
    x = float(margin)
    for kind, word in lg.kinds:
        if kind == "module":  # a module frame, as clusters are drawn
            out.append(
                f'<rect class="legend-module" x="{_n(x)}" y="{_n(top)}" width="{_n(sw)}" height="{_n(sh)}" rx="3" '
                f'fill="{theme.cluster_fill[1]}" stroke="{theme.cluster_stroke}" stroke-width="1.2"/>'
            )
        else:
            ks = theme.kinds[kind]
            dash = ' stroke-dasharray="3 2"' if kind == "const" else ""
            out.append(
                f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(sw)}" height="{_n(sh)}" rx="{3 if kind != "op" else 6}" '
                f'fill="{ks.body}" stroke="{ks.strong}" stroke-width="{3 if kind == "loss" else 1.8}"{dash}/>'
            )
        x += 1.7 * size
        out.append(f'<text data-label="l:kind:{kind}" x="{_n(x)}" y="{_n(y)}">{esc(word)}</text>')
        x += _text_w(word, size) + gap
    if lg.grad:
        out.append(
            f'<text data-label="l:grad" x="{_n(x)}" y="{_n(y)}" font-weight="bold" fill="{theme.grad}">'
            f"{esc(lg.grad)}</text>"
        )
    x = float(margin)
    for kind, claim in lg.claims:
        out.append(
            f'<text data-label="l:claim:{kind}" x="{_n(x)}" y="{_n(y + line)}" fill="{theme.grad}">{esc(claim)}</text>'
        )
        x += _text_w(claim, size) + gap
    out.append("</g>")
    return out
