"""Node positions: one Graphviz run per graph topology, cached and shared by every step (and every run).

Why: numbers change every step, structure does not. Running `dot` once and drawing later steps in Python
keeps nodes perfectly still while stepping and makes a step ~100x cheaper than a fresh Graphviz render.
Boxes are sized by `labels.node_size` (worst case over all phases and all values), never by Graphviz's font
metrics, so the layout does not depend on which fonts the machine has.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.render.errors import DOT_MISSING, GraphvizMissing, RenderError
from app.render.labels import edge_label_size, node_size
from app.snapshot import Graph, Node

LAYOUT_VERSION = 3  # bump when sizing rules change, so cached layouts of old rules are never reused
LR_MAX_DEPTH = 8  # shallow graphs read left-to-right (16:9 slides); deep ones top-to-bottom
DOT_TIMEOUT_S = 120.0
SPLINE_MAX_NODES = 80


@dataclass(frozen=True, slots=True)
class Box:
    x: float  # top-left corner, y down (SVG convention)
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class EdgeGeom:
    path: str  # SVG path data of the spline
    arrow: str  # SVG polygon points of the arrowhead
    label: Box | None  # the room reserved for the chain-rule label


@dataclass(frozen=True, slots=True)
class Layout:
    key: str
    rankdir: str
    width: float
    height: float
    nodes: dict[str, Box]
    edges: tuple[EdgeGeom, ...]  # same order as Graph.edges
    # SVG pieces that depend only on this layout (and theme), filled by the SVG writer on first use
    fragments: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def graph_depth(graph: Graph) -> int:
    """Longest path length in nodes (Kahn order); cycles, which autograd never makes, just stop early."""
    succ: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    indeg = dict.fromkeys(succ, 0)
    for e in graph.edges:
        if e.source in succ and e.target in succ:
            succ[e.source].append(e.target)
            indeg[e.target] += 1
    depth = dict.fromkeys(succ, 1)
    todo = [k for k, d in indeg.items() if d == 0]
    while todo:
        k = todo.pop()
        for t in succ[k]:
            depth[t] = max(depth[t], depth[k] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                todo.append(t)
    return max(depth.values(), default=0)


def splines_for(graph: Graph) -> str:
    """Curves for lecture-sized graphs; straight segments for big ones, where spline routing around a few
    hundred edge labels costs about a third of the layout time and curves add little."""
    return "true" if len(graph.nodes) <= SPLINE_MAX_NODES else "polyline"


def carries_grad(source: Node) -> bool:
    """Whether an edge from `source` can carry a gradient: data and constants never require grad."""
    return source.kind not in ("data", "const")


def layout_dot(graph: Graph, rankdir: str) -> str:
    """The layout-only DOT: empty fixed-size boxes and fixed-size edge-label placeholders."""
    nodes = {n.id: n for n in graph.nodes}
    out = [
        "digraph L {",
        f"graph [rankdir={rankdir} nodesep=0.28 ranksep=0.32 margin=0 pad=0 splines={splines_for(graph)}];",
        'node [shape=box fixedsize=true label="" margin=0];',
        "edge [arrowsize=0.8];",
    ]
    # DOT node names are synthetic ("n0", "n1", ...): a DOT ID keeps backslashes literally and cannot end in
    # one, so ids like `x\` would not survive the round trip; positions come back by index instead.
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    for i, n in enumerate(graph.nodes):
        w, h = node_size(n)
        out.append(f"n{i} [width={w / 72:.6f} height={h / 72:.6f}];")
    for i, e in enumerate(graph.edges):
        if e.source not in nodes or e.target not in nodes:
            raise RenderError(f"edge {e.source!r} -> {e.target!r} names a node that is not in the graph")
        if not carries_grad(nodes[e.source]):
            out.append(f"n{index[e.source]} -> n{index[e.target]} [id=e{i}];")  # no chain rule to show: no room
            continue
        lw, lh = edge_label_size(nodes[e.source], nodes[e.target])
        cell = f'<TD FIXEDSIZE="TRUE" WIDTH="{lw}" HEIGHT="{lh}"> </TD>'
        label = f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{cell}</TR></TABLE>>'
        out.append(f"n{index[e.source]} -> n{index[e.target]} [id=e{i} label={label}];")
    out.append("}")
    return "\n".join(out)


def _run_dot(source: str) -> dict[str, Any]:
    """The one place that runs Graphviz. Tests patch it to prove later steps never get here."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(DOT_MISSING)
    try:
        proc = subprocess.run(
            [exe, "-Tjson0"], input=source.encode(), capture_output=True, timeout=DOT_TIMEOUT_S, check=False
        )
    except OSError as exc:  # vanished between which() and run(), or not executable
        raise GraphvizMissing(DOT_MISSING) from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"Graphviz took longer than {DOT_TIMEOUT_S:.0f}s to lay out the graph") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz failed: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    return json.loads(proc.stdout)


def _pt(s: str) -> tuple[float, float]:
    x, y = s.split(",")[:2]
    return float(x), float(y)


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def compute_layout(graph: Graph, rankdir: str | None = None) -> Layout:
    rankdir = rankdir or ("LR" if graph_depth(graph) <= LR_MAX_DEPTH else "TB")
    key = graph.topology_key()
    if not graph.nodes:
        return Layout(key, rankdir, 0.0, 0.0, {}, ())
    data = _run_dot(layout_dot(graph, rankdir))
    _, _, bw, bh = (float(v) for v in data["bb"].split(","))

    def flip(x: float, y: float) -> tuple[float, float]:
        return x, bh - y  # Graphviz has y up, SVG y down

    nodes: dict[str, Box] = {}
    for obj in data.get("objects", []):
        if "pos" not in obj or not obj["name"].startswith("n"):
            continue  # subgraphs
        x, y = flip(*_pt(obj["pos"]))
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        node_id = graph.nodes[int(obj["name"][1:])].id
        nodes[node_id] = Box(round(x - w / 2, 2), round(y - h / 2, 2), round(w, 2), round(h, 2))

    by_id = {e.get("id"): e for e in data.get("edges", [])}
    nd = {n.id: n for n in graph.nodes}
    edges: list[EdgeGeom] = []
    for i, e in enumerate(graph.edges):
        geo = by_id[f"e{i}"]
        path, arrow = _spline(geo["pos"], flip)
        label = None
        if "lp" in geo:
            lx, ly = flip(*_pt(geo["lp"]))
            lw, lh = edge_label_size(nd[e.source], nd[e.target])
            label = Box(round(lx - lw / 2, 2), round(ly - lh / 2, 2), lw, lh)
        edges.append(EdgeGeom(path, arrow, label))
    return Layout(key, rankdir, bw, bh, nodes, tuple(edges))


def _spline(pos: str, flip: Any) -> tuple[str, str]:
    """Graphviz's "e,x,y p0 p1 ... p3n" B-spline (with arrow end point) to SVG path data and an arrowhead."""
    end = None
    pts: list[tuple[float, float]] = []
    for tok in pos.split():
        if tok.startswith("e,"):
            end = flip(*_pt(tok[2:]))
        elif tok.startswith("s,"):
            continue
        else:
            pts.append(flip(*_pt(tok)))
    if not pts:
        return "", ""
    d = [f"M{_num(pts[0][0])},{_num(pts[0][1])}"]
    for i in range(1, len(pts) - 2, 3):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[i + 1], pts[i + 2]
        d.append(f"C{_num(ax)},{_num(ay)} {_num(bx)},{_num(by)} {_num(cx)},{_num(cy)}")
    arrow = ""
    if end is not None:
        (px, py), (tx, ty) = pts[-1], end
        dx, dy = tx - px, ty - py
        n = (dx * dx + dy * dy) ** 0.5 or 1.0
        hx, hy = -dy / n * 3.6, dx / n * 3.6  # half the arrowhead's base, perpendicular to its axis
        arrow = f"{_num(tx)},{_num(ty)} {_num(px + hx)},{_num(py + hy)} {_num(px - hx)},{_num(py - hy)}"
    return " ".join(d), arrow


class LayoutCache:
    """A bounded, thread-safe LRU of layouts keyed by topology (steps of any run with that topology share).

    A topology seen for the first time is laid out in a worker thread (`dot` is a subprocess, so it runs on
    another core while Python formats the labels); concurrent requests for it wait for that one run.
    """

    def __init__(self, maxsize: int = 128) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str | None, int], Layout] = OrderedDict()
        self._pending: dict[tuple[str, str | None, int], Future[Layout]] = {}
        self._lock = threading.Lock()
        self.misses = 0  # how many layouts were computed (Graphviz runs), for tests and benchmarks

    def get_future(self, graph: Graph, rankdir: str | None = None) -> Future[Layout]:
        key = (graph.topology_key(), rankdir, LAYOUT_VERSION)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                done: Future[Layout] = Future()
                done.set_result(hit)
                return done
            fut = self._pending.get(key)
            if fut is not None:
                return fut
            fut = self._pending[key] = Future()

        def work() -> None:
            try:
                layout = compute_layout(graph, rankdir)
            except BaseException as exc:  # handed to every waiter, raised by .result()
                with self._lock:
                    self._pending.pop(key, None)
                fut.set_exception(exc)
                return
            with self._lock:
                self.misses += 1
                self._pending.pop(key, None)
                self._items[key] = layout
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            fut.set_result(layout)

        threading.Thread(target=work, name="backprop-lens-layout", daemon=True).start()
        return fut

    def get(self, graph: Graph, rankdir: str | None = None) -> Layout:
        return self.get_future(graph, rankdir).result()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


DEFAULT_CACHE = LayoutCache()


def cache_or_default(cache: LayoutCache | None) -> LayoutCache:
    return cache if cache is not None else DEFAULT_CACHE


def layout_for(graph: Graph, *, rankdir: str | None = None, cache: LayoutCache | None = None) -> Layout:
    """The (cached) layout of a graph's topology; runs Graphviz only the first time a topology is seen."""
    return (cache if cache is not None else DEFAULT_CACHE).get(graph, rankdir)
