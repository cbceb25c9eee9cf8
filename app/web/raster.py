"""PNGs are rasterised in a child process: resvg holds the GIL for the whole image (seconds for a big graph),
which froze the event loop (cached bodies, health) for as long. The SVG is drawn here as for the `svg` format;
only the raster step crosses to the child.

One short-lived child per image (a plain subprocess, not multiprocessing: spawn would re-import the server's
main module): it imports resvg and our PNG module only (no torch, ~25 MB, ~0.1 s), its memory (hundreds of MB
for a 24 Mpx image) goes back to the OS when it exits, and an image nobody waits for any more is killed.
The png lane still bounds how many run at once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable

from backprop_lens.render import RenderError

Check = Callable[[], None] | None  # raises to stop: the work's Token.check

# The root's width and height are the canvas size render(fmt="png") rasterises at: same zoom, same bytes.
_SIZE = re.compile(rb'<svg\b[^>]*?\swidth="([0-9.]+)"[^>]*?\sheight="([0-9.]+)"')
_CHILD = (
    "import sys; from backprop_lens.render.png import svg_to_png; "
    "w, h = map(float, sys.argv[1:3]); sys.stdout.buffer.write(svg_to_png(sys.stdin.buffer.read(), w, h))"
)
POLL_S = 0.1  # how often a waiting lane thread asks whether the image is still wanted


def canvas_of(svg: bytes) -> tuple[float, float]:
    m = _SIZE.search(svg, 0, 4096)
    if m is None:
        raise RenderError("an SVG without width and height on its root")
    return float(m[1]), float(m[2])


class Rasteriser:
    def __init__(self) -> None:
        self.images = 0  # made in a child (for tests and /api/stats)
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def png(self, svg: bytes, check: Check = None) -> bytes:
        """Blocks the calling (lane) thread, not the GIL. `check()`, called while waiting, raises to stop."""
        width, height = canvas_of(svg)
        args = [sys.executable, "-c", _CHILD, repr(width), repr(height)]
        child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with self._lock:
            self._children.add(child)
        try:
            out, err = self._communicate(child, svg, check)
        finally:
            with self._lock:
                self._children.discard(child)
        if child.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {child.returncode}"]
            raise RenderError(f"the PNG renderer failed: {last[0]}")
        self.images += 1
        return out

    @staticmethod
    def _communicate(child: subprocess.Popen[bytes], svg: bytes, check: Check) -> tuple[bytes, bytes]:
        pending: bytes | None = svg
        while True:
            try:
                return child.communicate(pending, timeout=POLL_S)
            except subprocess.TimeoutExpired:
                pending = None  # written already: later calls only read
                if check is not None:
                    try:
                        check()
                    except BaseException:
                        child.kill()
                        child.communicate()
                        raise

    def close(self) -> None:
        """At shutdown: no child outlives the server."""
        with self._lock:
            children = list(self._children)
        for child in children:
            child.kill()
