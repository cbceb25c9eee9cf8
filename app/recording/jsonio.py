"""A recording as JSON and back: the file `backprop-lens trace -o OUT.json` writes and `serve --recording` reads.

Data only: reading a recording builds dataclasses from numbers and strings; nothing in it is ever run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from backprop_lens.recording.model import HistoryRecord, LogLine, Recording, history_to_dict
from backprop_lens.snapshot import Edge, Graph, Node, Output, ParamState, Relation, Source, Step, Update, step_to_dict

FORMAT = "backprop-lens-recording"
VERSION = 1
_NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_TEXT = {"id", "kind", "name", "op", "grad_fn", "module", "formula", "source", "target", "optimizer", "grad_source"}


class BadRecording(ValueError):
    """The file is not a recording this version can read; the message says why."""


def to_dict(rec: Recording) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "title": rec.title,
        "max_steps": rec.max_steps,
        "every": rec.every,
        "error": rec.error,
        "lines": [{"text": line.text, "step": line.step, "phase": line.phase} for line in rec.lines],
        "history": [history_to_dict(h) for h in rec.history],
        "steps": [step_to_dict(s) for s in rec.steps],
        "sources": rec.sources,
    }


def write_json(rec: Recording, path: Path) -> None:
    path.write_text(json.dumps(to_dict(rec), ensure_ascii=False, allow_nan=False), encoding="utf-8")


def read_json(path: Path) -> Recording:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRecording(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadRecording(f'{path}: not a backprop-lens recording (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise BadRecording(f"{path}: recording version {data.get('version')!r}, this backprop-lens reads {VERSION}")
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise BadRecording(f"{path}: a malformed recording ({type(e).__name__}: {e})") from None


def from_dict(data: dict[str, Any]) -> Recording:
    return Recording(
        title=str(data.get("title", "recording")),
        steps=[_step(s) for s in data["steps"]],
        history=[_history(h) for h in data["history"]],
        lines=[LogLine(str(line["text"]), line["step"], line.get("phase")) for line in data["lines"]],
        error=data.get("error"),
        max_steps=int(data.get("max_steps", 0)),
        every=int(data.get("every", 1)),
        sources=_sources(data.get("sources", {})),
    )


def _sources(d: Any) -> dict[str, str]:
    """Text by file name; anything else is a malformed recording (read as data, never run)."""
    if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in d.items()):
        raise ValueError("sources must map file names to their text")
    return dict(d)


def _num(v: Any) -> Any:
    if isinstance(v, str):
        return _NONFINITE.get(v, v)
    if isinstance(v, list):
        return [_num(x) for x in v]
    if isinstance(v, dict):
        return {k: _num(x) for k, x in v.items()}
    return v


def _make(cls: Any, d: dict[str, Any], **nested: Any) -> Any:
    """A dataclass from the keys it has; values numeric unless a text field; `nested` converts the others."""
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        kw[f.name] = nested[f.name](v) if f.name in nested else (v if f.name in _TEXT else _num(v))
    return cls(**kw)


def _opt(cls: Any, **nested: Any) -> Any:
    return lambda d: None if d is None else _make(cls, d, **nested)


def _node(d: dict[str, Any]) -> Node:
    return _make(
        Node,
        d,
        shape=tuple,
        outputs=lambda os: tuple(_make(Output, o) for o in os),
        source=_opt(Source),
    )


def _edge(d: dict[str, Any]) -> Edge:
    return _make(Edge, d, relation=_opt(Relation, dims=tuple, operands=lambda o: None if o is None else tuple(o)))


def _params(d: dict[str, Any]) -> dict[str, ParamState]:
    return {name: _make(ParamState, p, update=_opt(Update)) for name, p in d.items()}


def _step(d: dict[str, Any]) -> Step:
    nodes = tuple(_node(n) for n in d["graph"]["nodes"])
    grads = {n.id: n.grad for n in nodes}
    edges = tuple(_with_upstream(e, grads) for e in map(_edge, d["graph"]["edges"]))
    graph = Graph(nodes=nodes, edges=edges)
    return Step(
        int(d["step"]), int(d["epoch"]), d["sample"], _num(d["loss"]), _params(d["params"]), graph, _num(d["inputs"])
    )


def _with_upstream(e: Edge, grads: dict[str, Any]) -> Edge:
    """The JSON leaves out an edge's `upstream` (its target's grad, written once on the node): put it back where
    a gradient flows along the edge, as the tracer has it (an input that needs no grad has none)."""
    return e if e.grad is None else dataclasses.replace(e, upstream=grads.get(e.target))


def _history(d: dict[str, Any]) -> HistoryRecord:
    return HistoryRecord(
        int(d["step"]), int(d["epoch"]), d["sample"], _num(d["loss"]), _params(d["params"]), _num(d["inputs"])
    )
