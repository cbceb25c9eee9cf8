"""Fitted pictures: of the two layout directions, the one whose canvas is closest to a shape.

`fit="slide"` (exports): 16:9, padded to exactly 16:9 and titled; `fit="tall"` (the page on a phone held
upright): 3:4, nothing added. Both layouts are cached like any other. (`fit="stage"`, presenter mode's larger
type, is a style of its own: labels.STAGE.)"""

from __future__ import annotations

import math
from concurrent.futures import Future

from backprop_lens.render.cache import LayoutCache
from backprop_lens.render.layout import Layout
from backprop_lens.render.view import View

FITS: tuple[str, ...] = ("slide", "tall", "stage")  # render.Fit, as a tuple for messages and the CLI
SLIDE = 16 / 9
ASPECT = {"slide": SLIDE, "tall": 3 / 4}


def _misfit(layout: Layout, aspect: float) -> float:
    w, h = max(layout.width, 1.0), max(layout.height, 1.0)
    return abs(math.log((w / h) / aspect))


def fitted_layout(cache: LayoutCache, view: View, default: Future[Layout], fit: str = "slide") -> Layout:
    """Both directions (each cached like any layout), the better fit for `fit`'s shape wins; ties keep the default."""
    first = default.result()
    other = cache.get(view, "TB" if first.rankdir == "LR" else "LR")
    aspect = ASPECT[fit]
    return other if _misfit(other, aspect) < _misfit(first, aspect) else first


def pad_to_slide(width: float, height: float) -> tuple[float, float]:
    """The smallest 16:9 canvas holding width x height."""
    if width / height < SLIDE:
        return float(math.ceil(height * SLIDE)), height
    return width, float(math.ceil(width / SLIDE))
