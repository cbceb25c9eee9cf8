"""How a trace shows itself in a notebook: its SVG, scaled down to the output area, never wider.

Jupyter frontends differ in how they draw `image/svg+xml`: JupyterLab and Notebook 7 put it in an `<img>` (their
stylesheet caps images at the output's width), the classic notebook, nbconvert's HTML and VS Code insert the
markup inline. Inline, only the SVG itself can say "at most 100% wide, keep the aspect ratio" — so it does, on its
root element: the `viewBox` scales the drawing, the `width`/`height` attributes stay its natural size (a small
graph is not blown up).
"""

from __future__ import annotations

import re

FIT_STYLE = "max-width: 100%; height: auto;"
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_ROOT = re.compile(r"<svg\b([^>]*)>")


def notebook_svg(svg: str) -> str:
    """The standalone SVG document as notebook markup: no XML declaration, a root that scales down to fit."""
    body = _DECLARATION.sub("", svg, count=1)
    match = _ROOT.search(body)
    if match is None or "viewBox" not in match.group(1):  # nothing to scale by: show it as it is
        return body
    attrs = match.group(1)
    if ' style="' in attrs:
        attrs = attrs.replace(' style="', f' style="{FIT_STYLE} ', 1)
    else:
        attrs += f' style="{FIT_STYLE}"'
    return body[: match.start()] + f"<svg{attrs}>" + body[match.end() :]
