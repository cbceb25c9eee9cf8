"""Render a step's autograd graph: annotated SVG (drawn from a cached layout), PNG, DOT and JSON.

Never imports torch: input is the plain `backprop_lens.snapshot` dataclasses.

    render(step_or_graph, phase="backward", theme="light", fmt="svg", collapse=(), expand=(), lang="en",
           fit=None) -> bytes

Every word comes from `backprop_lens.present` (the LabelSet of the step, in `lang`); render only lays out and
draws. `fit="slide"` picks the layout direction closest to 16:9 and pads the canvas to exactly 16:9; `fit="tall"`
picks the direction closest to 3:4 (the page on a phone held upright); `fit="stage"` draws presenter mode's style
(labels.STAGE: larger type, no key column, no in-picture header; the same slots, so the same labels fill it).

Nodes with a `module` path are drawn inside labelled (nested) module frames; `collapse` names modules to draw
as one box each (their parameters inside, their edges rerouted to the box). Without it, a graph of more than
`LIMIT` nodes opens collapsed to the deepest module level that fits (no deeper than its repeated blocks);
`expand` opens named modules (their children become boxes), `expand="*"` draws everything. Both together: the
named boxes, expand winning.

Errors: `RenderError` for bad arguments (message names the field) or a failing external tool;
`GraphvizMissing` (a RenderError) when Graphviz's `dot` is not installed, with the install commands.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal, get_args

from backprop_lens.present import LANGS, Context, check_lang
from backprop_lens.present.explain import explain, inspector
from backprop_lens.present.inspect import inspector_models, step_numbers
from backprop_lens.present.practice import practice
from backprop_lens.render.cache import DEFAULT_CACHE, LayoutCache, cache_or_default, layout_for
from backprop_lens.render.collapse import EXPAND_ALL, LIMIT, module_names
from backprop_lens.render.dot import to_dot_source
from backprop_lens.render.errors import BadArgument, GraphvizMissing, RenderError
from backprop_lens.render.labels import KEYED, PAGE, STAGE
from backprop_lens.render.layout import Layout
from backprop_lens.render.png import svg_to_png
from backprop_lens.render.slide import FITS, fitted_layout
from backprop_lens.render.svg import canvas_size, make_labels, render_svg
from backprop_lens.render.theme import THEMES, Theme
from backprop_lens.render.version import RENDER_VERSION
from backprop_lens.render.view import View, make_view, modules_of
from backprop_lens.snapshot import PHASES, Graph, Phase, Step, graph_to_dict, plain_graph, step_to_dict

Format = Literal["svg", "png", "dot", "json"]
ThemeName = Literal["light", "dark"]
Fit = Literal["slide", "tall", "stage"]
FORMATS: tuple[Format, ...] = get_args(Format)

__all__ = [
    "DEFAULT_CACHE",
    "EXPAND_ALL",
    "FITS",
    "FORMATS",
    "LANGS",
    "LIMIT",
    "RENDER_VERSION",
    "THEMES",
    "BadArgument",
    "Context",
    "Fit",
    "Format",
    "GraphvizMissing",
    "Layout",
    "LayoutCache",
    "RenderError",
    "ThemeName",
    "View",
    "label_slots",
    "layout_for",
    "make_view",
    "module_names",
    "modules_of",
    "render",
    "step_labels",
    "to_dot",
]


def _split(step_or_graph: Step | Graph) -> tuple[Step | None, Graph]:
    # Traced values are tensors; labels read plain lists, converted here by duck typing (render imports no torch).
    if isinstance(step_or_graph, Step):
        graph = _plain(step_or_graph.graph)
        return replace(step_or_graph, graph=graph), graph
    if isinstance(step_or_graph, Graph):
        return None, _plain(step_or_graph)
    raise RenderError(f"render() needs a Step or a Graph, got {type(step_or_graph).__name__}")


_PLAIN: OrderedDict[int, tuple[Graph, Graph]] = OrderedDict()
_PLAIN_LOCK = threading.Lock()


def _plain(graph: Graph) -> Graph:
    """`plain_graph` once per graph for its last few pictures: a step is drawn in three phases, two languages and
    as label slots, and converting a big graph's tensors is most of a picture's cost (snapshots are immutable)."""
    with _PLAIN_LOCK:
        hit = _PLAIN.get(id(graph))
        if hit is not None and hit[0] is graph:
            _PLAIN.move_to_end(id(graph))
            return hit[1]
    plain = plain_graph(graph, for_picture=True)
    with _PLAIN_LOCK:
        _PLAIN[id(graph)] = (graph, plain)  # holds the graph, so its id stays its own while cached
        while len(_PLAIN) > 8:
            _PLAIN.popitem(last=False)
    return plain


def _validate(graph: Graph) -> None:
    """Structural sanity, so a malformed snapshot is a RenderError (a clear 422), never a KeyError (a 500)."""
    ids = {n.id for n in graph.nodes}
    if len(ids) != len(graph.nodes):
        raise RenderError("graph: node ids must be unique")
    for e in graph.edges:
        if e.source not in ids or e.target not in ids:
            raise RenderError(f"graph: edge {e.source!r} -> {e.target!r} names a node that is not in the graph")


def _check(phase: str, theme: str, lang: str = "en", fit: str | None = None) -> tuple[Phase, Theme]:
    for ph in PHASES:
        if phase == ph:
            break
    else:
        raise BadArgument("phase", f"phase must be one of {', '.join(PHASES)}; got {phase!r}")
    if theme not in THEMES:
        raise BadArgument("theme", f"theme must be one of {', '.join(THEMES)}; got {theme!r}")
    try:
        check_lang(lang)
    except ValueError as e:
        raise BadArgument("lang", str(e)) from None
    if fit is not None and fit not in FITS:
        raise BadArgument("fit", f"fit must be one of {', '.join(FITS)}; got {fit!r}")
    return ph, THEMES[theme]


def to_dot(
    step_or_graph: Step | Graph,
    *,
    phase: str = "backward",
    theme: str = "light",
    collapse: Iterable[str] | str | None = None,
    expand: Iterable[str] | str | None = None,
    lang: str = "en",
    context: Context | None = None,
) -> str:
    """DOT source with the same labels, module clusters and collapsed boxes as the SVG (valid input for `dot`)."""
    step, graph = _split(step_or_graph)
    ph, th = _check(phase, theme, lang)
    _validate(graph)
    return to_dot_source(make_view(graph, collapse, expand), phase=ph, theme=th, step=step, lang=lang, context=context)


def label_slots(
    step: Step,
    *,
    phase: str = "backward",
    lang: str = "en",
    collapse: Iterable[str] | str | None = None,
    expand: Iterable[str] | str | None = None,
    context: Context | None = None,
) -> dict[str, object]:
    """The slots of the picture `render` draws for these arguments: {"texts", "tips", "template"} (the page
    writes them into the SVG by `data-label` / `data-tip`), and "aria": each node's accessible name."""
    ph, _ = _check(phase, "light", lang)
    plain_step, graph = _split(step)
    _validate(graph)
    view = make_view(graph, collapse, expand)
    labels = make_labels(view, ph, plain_step, lang, context)
    keyless = frozenset(n.id for n in view.nodes if n.kind not in KEYED)  # the slots the SVG has (svg._node)
    return {
        "texts": labels.texts(keyless),
        "tips": labels.tips(),
        "aria": labels.aria(),
        "template": labels.template(),
    }


def step_labels(
    traced: Step,
    lang: str = "en",
    zero_grad: bool | None = None,
    collapse: Iterable[str] = (),
    context: Any = None,
    expand: Iterable[str] = (),
) -> dict[str, Any]:
    """A step's strings for the page (GET /api/runs/{id}/labels, and the offline file's copy of it): per phase
    the SVG's slots (of the picture `render` draws with the same `collapse` and `expand`), the step's
    explanation, every node's inspector and the numbers shown beside the graph."""
    step = replace(traced, graph=plain_graph(traced.graph))  # tensors to lists once, for every part
    lines = explain(step, lang, zero_grad)
    modules, opened = tuple(collapse), tuple(expand)

    def slots(ph: str) -> dict[str, object]:
        return label_slots(step, phase=ph, lang=lang, collapse=modules, expand=opened, context=context)

    return {
        "step": step.index,
        "phases": {ph: slots(ph) for ph in PHASES},
        "explain": [{"phase": ln.phase, "node": ln.node, "text": ln.text} for ln in lines],
        "inspector": inspector(lines),
        "nodes": inspector_models(step, lang),
        "numbers": step_numbers(step),
        "practice": practice(step, lines, lang),
    }


def render(
    step_or_graph: Step | Graph,
    *,
    phase: str = "backward",
    theme: str = "light",
    fmt: str = "svg",
    cache: LayoutCache | None = None,
    collapse: Iterable[str] | str | None = None,
    expand: Iterable[str] | str | None = None,
    lang: str = "en",
    fit: str | None = None,
    context: Context | None = None,
) -> bytes:
    """One picture of a step (or bare graph) as svg | png | dot | json bytes.

    The first render of a topology (with its set of collapsed modules) runs Graphviz once for the layout;
    later ones reuse it (see `layout_for`). `collapse`: module paths (or "a,b.c"); an unknown one raises
    `BadArgument` naming `collapse` (`expand` likewise), as do a bad `phase`, `theme`, `lang` or `fit`. Without
    `collapse`, a big graph opens collapsed (see `view.make_view`); `expand` opens modules, `expand="*"` draws
    everything; with `collapse`, `expand` opens named boxes again. `fmt="json"` is the whole step either way.
    """
    step, graph = _split(step_or_graph)
    ph, th = _check(phase, theme, lang, fit)
    _validate(graph)
    if fmt not in FORMATS:
        raise BadArgument("fmt", f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    view = make_view(graph, collapse, expand)  # validates `collapse` for every format
    if fmt == "json":
        data = step_to_dict(step) if step is not None else graph_to_dict(graph)
        return json.dumps(data, allow_nan=False, ensure_ascii=False).encode()
    if fmt == "dot":
        return to_dot_source(view, phase=ph, theme=th, step=step, lang=lang, context=context).encode()
    cache = cache_or_default(cache)
    style = STAGE if fit == "stage" else PAGE
    pending = cache.get_future(view, style=style)  # a new topology: `dot` starts in the background ...
    labels = make_labels(view, ph, step, lang, context)  # ... while we format this step's numbers
    layout = pending.result() if fit in (None, "stage") else fitted_layout(cache, view, pending, fit)
    svg = render_svg(view, layout, phase=ph, theme=th, step=step, labels=labels, fit=fit).encode()
    if fmt == "svg":
        return svg
    width, height, _, _ = canvas_size(layout, labels, fit)
    return svg_to_png(svg, width, height)
