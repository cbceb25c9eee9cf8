"""PNG = our SVG rasterised by librsvg, so the PNG looks exactly like the SVG (same positions, same styling)."""

from __future__ import annotations

import shutil
import subprocess

from backprop_lens.render.errors import RSVG_MISSING, GraphvizMissing, RenderError

ZOOM = 3.0  # 3x: crisp on a 4K projector, and when zoomed on a laptop
MAX_SIDE = 12000  # pixels; huge graphs get a smaller zoom rather than a 400 MB image
TIMEOUT_S = 120.0


def zoom_for(width: float, height: float) -> float:
    side = max(width, height, 1.0)
    return max(1.0, min(ZOOM, MAX_SIDE / side))


def svg_to_png(svg: bytes, width: float, height: float) -> bytes:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        raise GraphvizMissing(RSVG_MISSING)
    zoom = zoom_for(width, height)
    try:
        proc = subprocess.run(
            [exe, "--format=png", f"--zoom={zoom:g}"], input=svg, capture_output=True, timeout=TIMEOUT_S, check=False
        )
    except OSError as exc:
        raise GraphvizMissing(RSVG_MISSING) from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"rsvg-convert took longer than {TIMEOUT_S:.0f}s") from exc
    if proc.returncode != 0 or not proc.stdout.startswith(b"\x89PNG"):
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"rsvg-convert failed: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    return proc.stdout
