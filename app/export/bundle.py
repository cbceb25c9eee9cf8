"""The data an offline page needs, keyed as the page asks for it: fixed URLs, the steps, one SVG per graph shape.

The page fetches a step's SVG once per graph structure (its template) and writes each step's numbers into it,
so the file carries one SVG per topology, phase, theme and language instead of one per step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from backprop_lens.export.source import PageSource
from backprop_lens.present import LANGS, messages
from backprop_lens.present.inspect import tensor_figures
from backprop_lens.render import PHASES, THEMES, LayoutCache, render, step_labels
from backprop_lens.snapshot import Step, plain_graph, to_jsonable

READONLY = "this file holds one recorded run: its parameters cannot change here (run backprop-lens to try others)"


def bundle(src: PageSource) -> dict[str, Any]:
    """Everything the embedded API answers: JSON-ready (non-finite numbers as strings)."""
    rid = quote(src.run_id, safe="")
    svgs, topology = _templates(src)
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
            "svgs": svgs,
            "topology": topology,
            "labels": {lang: [step_labels(s, lang, src.zero_grad) for s in src.steps] for lang in LANGS},
            "tensors": {lang: [_tensors(s, lang) for s in src.steps] for lang in LANGS},
        }
    )


def _templates(src: PageSource) -> tuple[list[dict[str, str]], list[int]]:
    """One SVG per (topology, phase, theme, language), and each step's topology."""
    index: dict[str, int] = {}
    svgs: list[dict[str, str]] = []
    topology: list[int] = []
    layouts = LayoutCache()
    for step in src.steps:
        key = step.graph.topology_key()
        if key not in index:
            index[key] = len(svgs)
            svgs.append(
                {
                    f"{phase}|{theme}|{lang}": render(step, phase=phase, theme=theme, lang=lang, cache=layouts).decode()
                    for phase in PHASES
                    for theme in THEMES
                    for lang in LANGS
                }
            )
        topology.append(index[key])
    return svgs, topology


def _tensors(step: Step, lang: str) -> dict[str, Any]:
    """The inspector's tensor figures of every node of a step (the server sends them for one node on request)."""
    plain = replace(step, graph=plain_graph(step.graph))
    figures = {n.id: tensor_figures(plain, n, lang) for n in plain.graph.nodes}
    return {node: f for node, f in figures.items() if f}
