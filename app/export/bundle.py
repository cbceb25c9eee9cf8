"""The data an offline page needs, keyed as the page asks for it: fixed URLs, the steps, one SVG per graph shape.

The page fetches a step's SVG once per graph structure (its template) and writes each step's numbers into it,
so the file carries one SVG per topology, module view, fit, phase, theme and language instead of one per step.
Module views (views.py): the pictures the chips reach, each with every step's slots; fits: the default and, where
it differs, `tall` (a phone held upright).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from typing import Any
from urllib.parse import quote

from backprop_lens.export.source import PageSource
from backprop_lens.export.views import Query, Views, chip_views
from backprop_lens.present import LANGS, messages
from backprop_lens.present.inspect import tensor_figures
from backprop_lens.render import PHASES, THEMES, LayoutCache, label_slots, render, step_labels
from backprop_lens.snapshot import Step, plain_graph, to_jsonable

READONLY = "this file holds one recorded run: its parameters cannot change here (run backprop-lens to try others)"
FITS = ("", "tall")  # the page's own fits: none (the default) and a phone's; "tall" is carried where it differs
MAX_VIEW_STEPS = 4000  # module views beyond the first x steps: each costs every step's slots (~11 ms per language)


def bundle(src: PageSource) -> dict[str, Any]:
    """Everything the embedded API answers: JSON-ready (non-finite numbers as strings)."""
    rid = quote(src.run_id, safe="")
    topology, firsts = _topologies(src.steps)
    views = _views(firsts, len(src.steps))
    fixed = {
        "/api/scenarios": [src.scenario_entry()],
        f"/api/runs/{rid}": src.summary(),
        f"/api/runs/{rid}/log": {"text": src.log_text, "type": "text/plain; charset=utf-8"},
        f"/api/runs/{rid}/log.json": src.log_lines,
        f"/api/runs/{rid}/source": {"scenario": src.run_id, "files": src.sources},
        **{f"/api/messages?lang={lang}": messages(lang) for lang in LANGS},
    }
    return to_jsonable(
        {
            "id": src.run_id,
            "params": src.params,
            "readonly": READONLY,
            "created": src.created(),
            "fixed": fixed,
            "steps": src.step_dicts(),
            "svgs": _templates(firsts, views),
            "topology": topology,
            "views": [v.queries for v in views],  # per topology: "collapse|expand" -> view (0: the first view)
            "chips": all(v.complete for v in views),  # False: only first views carried, the chips are hidden
            "labels": {lang: [step_labels(s, lang, src.zero_grad) for s in src.steps] for lang in LANGS},
            "viewSlots": _view_slots(src.steps, topology, views),
            "tensors": {lang: [_tensors(s, lang) for s in src.steps] for lang in LANGS},
        }
    )


def _topologies(steps: list[Step]) -> tuple[list[int], list[Step]]:
    """Each step's topology, and the first step of each (its pictures are every such step's templates)."""
    index: dict[str, int] = {}
    firsts: list[Step] = []
    for step in steps:
        key = step.graph.topology_key()
        if key not in index:
            index[key] = len(firsts)
            firsts.append(step)
    return [index[s.graph.topology_key()] for s in steps], firsts


def _views(firsts: list[Step], steps: int) -> list[Views]:
    """Each topology's module views, or only its first view when all of them would cost too many steps' slots."""
    views = [chip_views(s.graph) for s in firsts]
    if sum(len(v.boxes) - 1 for v in views) * steps > MAX_VIEW_STEPS:
        return [chip_views(s.graph, first_only=True) for s in firsts]
    return views


def _templates(firsts: list[Step], views: list[Views]) -> list[dict[str, str]]:
    """Per topology: {"view|fit|phase|theme|lang": SVG}, for each module view of its table."""
    layouts = LayoutCache()
    out: list[dict[str, str]] = []
    for step, table in zip(firsts, views, strict=True):
        svgs: dict[str, str] = {}
        for v, query in enumerate(table.asked):
            svgs.update(_pictures(step, v, query, layouts))
        out.append(svgs)
    return out


def _pictures(step: Step, v: int, query: Query, layouts: LayoutCache) -> dict[str, str]:
    """One module view's SVGs: every phase, theme and language; a tall one only where it is not the default."""
    collapse, expand = query
    out: dict[str, str] = {}
    for ph, th, lang in product(PHASES, THEMES, LANGS):
        look = f"{ph}|{th}|{lang}"
        default = out[f"{v}||{look}"] = render(
            step, phase=ph, theme=th, lang=lang, collapse=collapse, expand=expand, cache=layouts
        ).decode()
        tall = render(step, phase=ph, theme=th, lang=lang, collapse=collapse, expand=expand, cache=layouts, fit="tall")
        if tall.decode() != default:
            out[f"{v}|tall|{look}"] = tall.decode()
    return out


def _view_slots(steps: list[Step], topology: list[int], views: list[Views]) -> dict[str, list[dict[str, Any]]]:
    """Per language and step: the slots of each module view but the first (whose are in `labels`), pooled."""
    plain = [replace(s, graph=plain_graph(s.graph)) for s in steps] if any(len(v.asked) > 1 for v in views) else steps
    return {
        lang: [
            _pooled(
                [
                    {ph: label_slots(s, phase=ph, lang=lang, collapse=c, expand=e) for ph in PHASES}
                    for c, e in views[topology[k]].asked[1:]
                ]
            )
            for k, s in enumerate(plain)
        ]
        for lang in LANGS
    }


SLOT_PARTS = ("texts", "tips", "aria")  # label_slots' dicts by slot id; its "template" is one id per picture


def _pooled(per_view: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """One step's views' slots as {"pool", "views"}: the pool holds each slot's first value over the views, each
    view only its slots that differ from the pool (and its template). Views share most strings, so this halves
    what they add to the file; the loader lays a view's own values over the pool (the page reads only the slots
    its template has, so the pool's others are never read)."""
    pool: dict[str, dict[str, dict[str, Any]]] = {}
    for view in per_view:
        for ph, slots in view.items():
            merged = pool.setdefault(ph, {part: {} for part in SLOT_PARTS})
            for part in SLOT_PARTS:
                for key, value in slots[part].items():
                    merged[part].setdefault(key, value)
    own = [
        {
            ph: {
                "template": slots["template"],
                **{part: {k: v for k, v in slots[part].items() if pool[ph][part][k] != v} for part in SLOT_PARTS},
            }
            for ph, slots in view.items()
        }
        for view in per_view
    ]
    return {"pool": pool, "views": own}


def _tensors(step: Step, lang: str) -> dict[str, Any]:
    """The inspector's tensor figures of every node of a step (the server sends them for one node on request)."""
    plain = replace(step, graph=plain_graph(step.graph))
    figures = {n.id: tensor_figures(plain, n, lang) for n in plain.graph.nodes}
    return {node: f for node, f in figures.items() if f}
