"""Render a step's autograd graph: annotated SVG (drawn from a cached layout), PNG, DOT and JSON.

Never imports torch: input is the plain `app.snapshot` dataclasses.

    render(step_or_graph, phase="backward", theme="light", fmt="svg") -> bytes

Errors: `RenderError` for bad arguments (message names the field) or a failing external tool;
`GraphvizMissing` (a RenderError) when `dot` / `rsvg-convert` is not installed, with the install commands.
"""

from __future__ import annotations

import json

from app.render.dot import to_dot_source
from app.render.errors import GraphvizMissing, RenderError
from app.render.layout import DEFAULT_CACHE, Layout, LayoutCache, cache_or_default, layout_for
from app.render.png import svg_to_png
from app.render.svg import canvas_size, make_labels, render_svg
from app.render.theme import THEMES, Theme
from app.snapshot import PHASES, Graph, Phase, Step, graph_to_dict, step_to_dict

FORMATS = ("svg", "png", "dot", "json")

__all__ = [
    "DEFAULT_CACHE",
    "FORMATS",
    "GraphvizMissing",
    "Layout",
    "LayoutCache",
    "RenderError",
    "layout_for",
    "render",
    "to_dot",
]


def _split(step_or_graph: Step | Graph) -> tuple[Step | None, Graph]:
    if isinstance(step_or_graph, Step):
        return step_or_graph, step_or_graph.graph
    if isinstance(step_or_graph, Graph):
        return None, step_or_graph
    raise RenderError(f"render() needs a Step or a Graph, got {type(step_or_graph).__name__}")


def _validate(graph: Graph) -> None:
    """Structural sanity, so a malformed snapshot is a RenderError (a clear 422), never a KeyError (a 500)."""
    ids = {n.id for n in graph.nodes}
    if len(ids) != len(graph.nodes):
        raise RenderError("graph: node ids must be unique")
    for e in graph.edges:
        if e.source not in ids or e.target not in ids:
            raise RenderError(f"graph: edge {e.source!r} -> {e.target!r} names a node that is not in the graph")


def _check(phase: str, theme: str) -> tuple[Phase, Theme]:
    if phase not in PHASES:
        raise RenderError(f"phase must be one of {', '.join(PHASES)}; got {phase!r}")
    if theme not in THEMES:
        raise RenderError(f"theme must be one of {', '.join(THEMES)}; got {theme!r}")
    return phase, THEMES[theme]  # type: ignore[return-value]


def to_dot(step_or_graph: Step | Graph, *, phase: str = "backward", theme: str = "light") -> str:
    """DOT source with the same labels as the SVG (valid input for `dot`)."""
    step, graph = _split(step_or_graph)
    ph, th = _check(phase, theme)
    _validate(graph)
    return to_dot_source(graph, phase=ph, theme=th, step=step)


def render(
    step_or_graph: Step | Graph,
    *,
    phase: str = "backward",
    theme: str = "light",
    fmt: str = "svg",
    cache: LayoutCache | None = None,
) -> bytes:
    """One picture of a step (or bare graph) as svg | png | dot | json bytes.

    The first render of a topology runs Graphviz once for the layout; later ones reuse it (see `layout_for`).
    """
    step, graph = _split(step_or_graph)
    ph, th = _check(phase, theme)
    _validate(graph)
    if fmt not in FORMATS:
        raise RenderError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if fmt == "json":
        data = step_to_dict(step) if step is not None else graph_to_dict(graph)
        return json.dumps(data, allow_nan=False, ensure_ascii=False).encode()
    if fmt == "dot":
        return to_dot_source(graph, phase=ph, theme=th, step=step).encode()
    pending = cache_or_default(cache).get_future(graph)  # a new topology: `dot` starts in the background ...
    labels = make_labels(graph, ph, step)  # ... while we format this step's numbers
    layout = pending.result()
    svg = render_svg(graph, layout, phase=ph, theme=th, step=step, labels=labels).encode()
    if fmt == "svg":
        return svg
    width, height, _, _ = canvas_size(layout)
    return svg_to_png(svg, width, height)
