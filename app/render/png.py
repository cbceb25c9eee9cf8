"""PNG = our SVG rasterised by resvg (the `resvg-py` wheel ships the renderer: no system tool to install), so the
PNG looks like the SVG in the browser: same positions, same styling, the same DejaVu-first font stack.

Fonts come from the system (resvg scans the usual font folders). The SVG names DejaVu first and our text metrics
are DejaVu's; on a machine without DejaVu, resvg takes the next family of the stack that is installed, else its
default sans-serif / monospace, so text still shows but may run a little wider or narrower than its box.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from backprop_lens.render.errors import RenderError

ZOOM = 3.0  # 3x: crisp on a 4K projector, and when zoomed on a laptop
MAX_SIDE = 12000  # pixels; huge graphs get a smaller zoom rather than a 400 MB image
# Rasterising costs per pixel: a 60-node graph at 3x was 75 Mpx (over 30 s). 24 Mpx is three 4K screens.
MAX_PIXELS = 24e6
# Folders to look for DejaVu in (resvg itself scans these and the user's font folders).
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts")


def zoom_for(width: float, height: float) -> float:
    side = max(width, height, 1.0)
    area = max(width, 1.0) * max(height, 1.0)
    return max(1.0, min(ZOOM, MAX_SIDE / side, (MAX_PIXELS / area) ** 0.5))


def svg_to_png(svg: bytes, width: float, height: float) -> bytes:
    return rasterise(svg, zoom_for(width, height))


def rasterise(svg: bytes, zoom: float) -> bytes:
    import resvg_py  # the Rust renderer: loaded on the first PNG only

    try:
        sans, mono = _generic_families()
        data = resvg_py.svg_to_bytes(svg_string=svg.decode(), zoom=zoom, sans_serif_family=sans, monospace_family=mono)
    except ValueError as exc:
        raise RenderError(f"resvg could not rasterise the graph: {exc}") from exc
    return bytes(data)


@cache
def _generic_families() -> tuple[str | None, str | None]:
    """`sans-serif` and `monospace` (the stacks' last resort) as DejaVu when it is installed, else resvg's own."""
    dirs = [d for d in FONT_DIRS if Path(d).is_dir()]
    sans = "DejaVu Sans" if _has_font(dirs, "DejaVuSans.ttf") else None
    mono = "DejaVu Sans Mono" if _has_font(dirs, "DejaVuSansMono.ttf") else None
    return sans, mono


def _has_font(dirs: list[str], name: str) -> bool:
    return any(next(Path(d).rglob(name), None) is not None for d in dirs)
