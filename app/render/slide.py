"""Slide exports (`fit="slide"`): of the two layout directions, the one whose canvas is closest to 16:9."""

from __future__ import annotations

import math
from concurrent.futures import Future

from backprop_lens.render.cache import LayoutCache
from backprop_lens.render.layout import Layout
from backprop_lens.render.view import View

FITS: tuple[str, ...] = ("slide",)  # render.Fit, as a tuple for messages and the CLI
SLIDE = 16 / 9


def _misfit(layout: Layout) -> float:
    w, h = max(layout.width, 1.0), max(layout.height, 1.0)
    return abs(math.log((w / h) / SLIDE))


def slide_layout(cache: LayoutCache, view: View, default: Future[Layout]) -> Layout:
    """Both directions (each cached like any layout), the better fit wins; ties keep the default."""
    first = default.result()
    other = cache.get(view, "TB" if first.rankdir == "LR" else "LR")
    return other if _misfit(other) < _misfit(first) else first


def pad_to_slide(width: float, height: float) -> tuple[float, float]:
    """The smallest 16:9 canvas holding width x height."""
    if width / height < SLIDE:
        return float(math.ceil(height * SLIDE)), height
    return width, float(math.ceil(width / SLIDE))
