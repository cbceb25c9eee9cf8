"""The SVG looks the same in resvg (our PNG: `render(fmt="png")`, the page's PNG button) and in Chromium (the
web page): rasterise with both, check the images are not blank, show every node kind's colour, and put those
colours in the same places."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from backprop_lens.render import LayoutCache, render
from backprop_lens.render.png import rasterise
from backprop_lens.render.theme import THEMES

from tests.page_helpers import CHROMIUM_ARGS
from tests.render_fixtures import lecture04_step, png_pixels

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed"),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (set CHROMIUM_PATH)"),
]


def resvg(svg: Path) -> bytes:
    """Our PNG path at the browser's scale (1 CSS pixel = 1 pixel), so the two images line up."""
    return rasterise(svg.read_bytes(), 1.0)


def chromium(svg: Path, width: int, height: int, tmp: Path) -> bytes:
    out = tmp / f"{svg.stem}.chromium.png"
    args = [
        CHROMIUM,
        "--headless",
        *CHROMIUM_ARGS,
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp / 'profile'}",
        f"--window-size={width},{height}",
        f"--screenshot={out}",
        svg.as_uri(),
    ]
    subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert out.exists(), "chromium wrote no screenshot"
    return out.read_bytes()


def hexrgb(h: str) -> tuple[int, int, int]:
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


def regions(png: bytes, colours: dict[str, str], tol: int = 24) -> tuple[dict[str, tuple[int, ...]], float]:
    """Per colour: (pixel count, bounding box); plus the share of pixels that are not background."""
    w, h, px = png_pixels(png)
    targets = {k: hexrgb(v) for k, v in colours.items()}
    found: dict[str, list[int]] = {k: [0, w, h, -1, -1] for k in targets}
    bg = px[0]
    busy = 0
    for i, p in enumerate(px):
        if abs(p[0] - bg[0]) + abs(p[1] - bg[1]) + abs(p[2] - bg[2]) > 30:
            busy += 1
        for k, t in targets.items():
            if abs(p[0] - t[0]) <= tol and abs(p[1] - t[1]) <= tol and abs(p[2] - t[2]) <= tol:
                y, x = divmod(i, w)
                f = found[k]
                f[0] += 1
                f[1], f[2], f[3], f[4] = min(f[1], x), min(f[2], y), max(f[3], x), max(f[4], y)
        # (a pure-Python loop over ~300k pixels: a second or two, fine for two images per theme)
    return {k: tuple(v) for k, v in found.items()}, busy / len(px)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("renderer", ["resvg", "chromium"])
def test_rasterised_svg_shows_the_nodes(tmp_path, theme, renderer):
    step = lecture04_step(1)
    data = render(step, phase="backward", theme=theme, cache=LayoutCache())
    root = ET.fromstring(data)
    width, height = int(float(root.get("width"))), int(float(root.get("height")))
    svg = tmp_path / f"graph-{theme}.svg"
    svg.write_bytes(data)
    png = resvg(svg) if renderer == "resvg" else chromium(svg, width, height, tmp_path)

    th = THEMES[theme]
    colours = {k: th.kinds[k].strong for k in ("param", "data", "op", "loss")} | {"grad": th.grad}
    found, busy = regions(png, colours)
    assert 0.05 < busy < 0.9, f"{renderer} image looks blank or flooded ({busy:.1%} non-background)"
    for kind, (count, *_box) in found.items():
        assert count > 150, f"{renderer}: too few {kind} pixels ({count})"
    # the data kind appears twice (x and y): its pixels span from one box to the other
    _, x0, y0, x1, y1 = found["data"]
    assert (x1 - x0) > 100 or (y1 - y0) > 60


def test_resvg_and_chromium_put_things_in_the_same_places(tmp_path):
    step = lecture04_step(2)
    data = render(step, phase="backward", cache=LayoutCache())
    root = ET.fromstring(data)
    width, height = int(float(root.get("width"))), int(float(root.get("height")))
    svg = tmp_path / "same.svg"
    svg.write_bytes(data)
    th = THEMES["light"]
    colours = {k: th.kinds[k].strong for k in ("param", "data", "op", "loss")}
    a, _ = regions(resvg(svg), colours)
    b, _ = regions(chromium(svg, width, height, tmp_path), colours)
    for kind in colours:
        ca, *box_a = a[kind]
        cb, *box_b = b[kind]
        assert abs(ca - cb) <= 0.1 * max(ca, cb), (kind, ca, cb)
        assert all(abs(p - q) <= 3 for p, q in zip(box_a, box_b, strict=True)), (kind, box_a, box_b)


def ink_box(png: bytes) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the dark pixels on a white image."""
    w, _h, px = png_pixels(png)
    dark = [i for i, p in enumerate(px) if sum(p) < 3 * 128]
    assert dark, "no text was drawn"
    xs, ys = [i % w for i in dark], [i // w for i in dark]
    return min(xs), min(ys), max(xs), max(ys)


def test_resvg_draws_our_text_in_dejavu_sans_mono(tmp_path):
    """The layout reserves DejaVu Sans Mono's advance per character: resvg must find that font on this machine
    (it loads the system's fonts; the wheel ships none) and give the digits exactly that width."""
    from backprop_lens.render.metrics import MONO_ADVANCE
    from backprop_lens.render.theme import MONO

    size, n = 100, 10
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n * size}" height="{2 * size}">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="0" y="{1.5 * size}" font-family="{MONO}" font-size="{size}" fill="#000">{"8" * n}</text></svg>'
    )
    x0, _, x1, _ = ink_box(rasterise(svg.encode(), 1.0))
    # n glyphs span (n - 1) advances plus one glyph's ink (about half an advance in DejaVu Sans Mono's "8")
    expected = (n - 1) * MONO_ADVANCE * size
    assert expected < x1 - x0 < expected + MONO_ADVANCE * size, (x0, x1, expected)
