"""Node positions: one Graphviz run per graph topology, cached and shared by every step (and every run).

Why: numbers change every step, structure does not. Running `dot` once and drawing later steps in Python
keeps nodes perfectly still while stepping and makes a step ~100x cheaper than a fresh Graphviz render.
Boxes are sized by `labels.node_size` (worst case over all phases and all values), never by Graphviz's font
metrics, so the layout does not depend on which fonts the machine has.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from backprop_lens.render.errors import RenderError
from backprop_lens.render.graphviz import run_dot
from backprop_lens.render.labels import PAGE, Style, edge_label_size, module_size, node_size
from backprop_lens.render.nesting import nest_clusters
from backprop_lens.render.stamps import stamp_groups
from backprop_lens.render.view import ModuleBox, View
from backprop_lens.render.xml import num
from backprop_lens.snapshot import Edge, Graph, Node

LAYOUT_VERSION = 8  # bump when sizing rules change, so cached layouts of old rules are never reused
LR_MAX_DEPTH = 8  # shallow graphs read left-to-right (16:9 slides); deep ones top-to-bottom
SPLINE_MAX_NODES = 80
# Above this many nodes the chain rule moves from a visible label on each edge into the edge's tooltip (and the
# JSON): reserving label room on a few hundred edges doubles Graphviz's time and makes the picture sprawl.
EDGE_LABEL_MAX_NODES = 100


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
class ClusterGeom:
    box: Box  # the module's frame
    label_x: float  # start of the label text (left-aligned) and its baseline
    label_y: float


def _sizeof(obj: Any) -> int:
    """Bytes of a fragment's key or value: strings and (nested) tuples or lists of them."""
    if isinstance(obj, (tuple, list)):
        return sys.getsizeof(obj) + sum(_sizeof(v) for v in obj)
    return sys.getsizeof(obj)


class Fragments(dict[Any, Any]):
    """A layout's SVG pieces, filled on first use; it counts its own bytes, so a cache holding the layout weighs
    its growth. (Two threads drawing one layout at once may miscount a piece: an estimate, never unbounded.)"""

    SLOT_BYTES = 100  # the dict's slot for one piece

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        old = self.get(key)
        if old is None:
            self.nbytes += _sizeof(key) + self.SLOT_BYTES
        else:
            self.nbytes -= _sizeof(old)
        self.nbytes += _sizeof(value)
        super().__setitem__(key, value)


@dataclass(frozen=True, slots=True)
class Layout:
    key: str
    rankdir: str
    width: float
    height: float
    nodes: dict[str, Box]  # drawn id (node id, or a collapsed module's box id) -> box
    edges: tuple[EdgeGeom, ...]  # same order as View.edges (Graph.edges less those inside collapsed modules)
    edge_labels: bool = True  # whether edges have room for visible chain-rule labels (small graphs)
    clusters: dict[str, ClusterGeom] = field(default_factory=dict)  # module path -> frame
    style: Style = PAGE  # the sizes the boxes were laid out for, which the SVG writer draws with
    # SVG pieces that depend only on this layout (and theme), filled by the SVG writer on first use
    fragments: Fragments = field(default_factory=Fragments, compare=False, repr=False)


def graph_depth(graph: Graph) -> int:
    """Longest path length in nodes."""
    ranks = longest_paths([n.id for n in graph.nodes], [(e.source, e.target) for e in graph.edges])
    return max(ranks.values(), default=-1) + 1


def longest_paths(ids: list[str], pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Each id's rank: the longest path to it from a source, in edges (Kahn order); cycles, which autograd never
    makes, just stop early. Pairs naming an unknown id are ignored."""
    succ: dict[str, list[str]] = {i: [] for i in ids}
    indeg = dict.fromkeys(succ, 0)
    for source, target in pairs:
        if source in succ and target in succ:
            succ[source].append(target)
            indeg[target] += 1
    rank = dict.fromkeys(succ, 0)
    todo = [k for k, d in indeg.items() if d == 0]
    while todo:
        k = todo.pop()
        for t in succ[k]:
            rank[t] = max(rank[t], rank[k] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                todo.append(t)
    return rank


def splines_for(view: View) -> str:
    """Curves, except for graphs just under the edge-label limit: spline routing around a hundred edge labels
    costs about a third of the layout time. (Bigger graphs have no edge labels, and curves are cheap again.)"""
    return "polyline" if SPLINE_MAX_NODES < view.size <= EDGE_LABEL_MAX_NODES else "true"


def shows_edge_labels(view: View | Graph) -> bool:
    """Visible chain-rule labels on edges for lecture-sized graphs; tooltips only for big ones."""
    size = view.size if isinstance(view, View) else len(view.nodes)
    return size <= EDGE_LABEL_MAX_NODES


def carries_grad(source: Node) -> bool:
    """Whether an edge from `source` can carry a gradient: data and constants never require grad."""
    return source.kind not in ("data", "const")


def item_size(item: Node | ModuleBox, style: Style = PAGE) -> tuple[int, int]:
    """A drawn box's (w, h) px: a node's or a collapsed module's."""
    return node_size(item, style) if isinstance(item, Node) else module_size(item, style)


def label_room(graph: Graph, edge: Edge, style: Style = PAGE) -> tuple[int, int]:
    """The chain-rule label room of a graph edge."""
    return edge_label_size(graph_node(graph, edge.source), graph_node(graph, edge.target), style)


def fixed_room(w: int, h: int) -> str:
    """An HTML-like label that is just a fixed-size empty cell: room reserved by us, not by Graphviz's fonts."""
    cell = f'<TD FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h}"> </TD>'
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{cell}</TR></TABLE>>'


@dataclass(frozen=True)
class DotExtras:
    """What a composed layout (compose.py) adds to a view's layout DOT: sizes of its own, stamp boxes with ports,
    edges that end at a port without an arrowhead, and statements of its own (anchors)."""

    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # drawn id -> (w, h) px, instead of its own
    shapes: dict[str, str] = field(default_factory=dict)  # drawn id -> its DOT attributes, instead of a box
    label_sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # edge position -> label room
    ports: dict[int, tuple[str, str]] = field(default_factory=dict)  # edge position -> (tail, head) port suffix
    open_ends: frozenset[int] = frozenset()  # edge positions drawn without an arrowhead (they go on in a block)
    no_label: frozenset[int] = frozenset()  # edge positions without label room (their label is on a block's piece)
    loose: frozenset[int] = frozenset()  # edge positions that need not be drawn short or straight (weight 0)
    lines: tuple[str, ...] = ()
    fed: frozenset[str] = frozenset()  # drawn ids fed by edges of `lines` (a block's items fed from outside it)
    labelled: bool | None = None  # edge label room, when not the view's own rule (a block of a bigger view)
    splines: str | None = None


NO_EXTRAS = DotExtras()


def dot_names(view: View) -> dict[str, str]:
    """Drawn id -> its DOT node name. Synthetic ("n0" for graph.nodes[0], "m0" for the first box): a DOT ID
    keeps backslashes literally and cannot end in one, so ids like `x\\` would not survive; positions come back
    by name."""
    name = {n.id: f"n{i}" for i, n in enumerate(view.graph.nodes)}
    name.update({b.id: f"m{i}" for i, b in enumerate(view.boxes)})
    return name


def layout_dot(view: View, rankdir: str, style: Style = PAGE, extras: DotExtras = NO_EXTRAS) -> str:
    """The layout-only DOT: empty fixed-size boxes, fixed-size edge-label and cluster-label placeholders,
    one `subgraph cluster_k` per module (nested as the module paths nest)."""
    graph = view.graph
    splines = extras.splines or splines_for(view)
    out = [
        "digraph L {",
        f"graph [rankdir={rankdir} nodesep={style.nodesep} ranksep={style.ranksep} margin=0 pad=0 splines={splines}];",
        'node [shape=box fixedsize=true label="" margin=0];',
        "edge [arrowsize=0.8];",
    ]
    name = dot_names(view)
    decl: dict[str, str] = {}
    items: list[Node | ModuleBox] = [*view.nodes, *view.boxes]
    for item in items:
        if item.id in extras.shapes:
            decl[item.id] = f"{name[item.id]} [{extras.shapes[item.id]}];"
            continue
        w, h = extras.sizes.get(item.id) or item_size(item, style)
        decl[item.id] = f"{name[item.id]} [width={w / 72:.6f} height={h / 72:.6f}];"
    if view.clusters:
        margin = f"{style.cluster_margin:g}"
        nest_clusters(view, lambda k, _depth: f"subgraph cluster_{k} {{ margin={margin};", decl, out)
    else:
        out.extend(decl.values())
    labelled = shows_edge_labels(view) if extras.labelled is None else extras.labelled
    # Inputs (parameters, constants) of ops inside a module frame may share their op's rank: otherwise a weight
    # sits one rank above its op, in the rank of the previous module's last op, and Graphviz must then put the
    # two frames side by side: a deep net becomes a staircase many screens wide.
    fed = {d.target for d in view.edges} | extras.fed
    beside = rankdir == "TB" and bool(view.clusters)
    for i, d in enumerate(view.edges):
        e = d.edge
        src, tgt = graph_node(graph, e.source), graph_node(graph, e.target)
        tail, head = extras.ports.get(i, ("", ""))
        attrs = f"id=e{i}"
        if beside and d.source not in fed and view.owner.get(d.source) is not None:
            attrs += " minlen=0"
        if i in extras.open_ends:
            attrs += " arrowhead=none"
        if i in extras.loose:
            attrs += " weight=0"
        # the chain rule's room (none where no gradient flows, nor where a block's piece carries the label)
        if labelled and carries_grad(src) and i not in extras.no_label:
            lw, lh = extras.label_sizes.get(i) or edge_label_size(src, tgt, style)
            attrs += f" label={fixed_room(lw, lh)}"
        out.append(f"{name[d.source]}{tail} -> {name[d.target]}{head} [{attrs}];")
    out.extend(extras.lines)
    out.append("}")
    return "\n".join(out)


def graph_node(graph: Graph, node_id: str) -> Node:
    index = graph_index(graph)
    if node_id not in index:
        raise RenderError(f"graph: an edge names {node_id!r}, which is not in the graph")
    return index[node_id]


_INDEX: dict[int, tuple[Graph, dict[str, Node]]] = {}


def graph_index(graph: Graph) -> dict[str, Node]:
    """id -> Node for one graph, remembered for the last few graphs (edges look nodes up a lot)."""
    hit = _INDEX.get(id(graph))
    if hit is None or hit[0] is not graph:
        if len(_INDEX) > 16:
            _INDEX.clear()
        hit = _INDEX[id(graph)] = (graph, {n.id: n for n in graph.nodes})
    return hit[1]


def _pt(s: str) -> tuple[float, float]:
    x, y = s.split(",")[:2]
    return float(x), float(y)


def default_rankdir(graph: Graph) -> str:
    return "LR" if graph_depth(graph) <= LR_MAX_DEPTH else "TB"


def compute_layout(view: View, rankdir: str | None = None, style: Style = PAGE) -> Layout:
    graph = view.graph
    rankdir = rankdir or default_rankdir(graph)  # of the whole graph: collapsing never turns the picture
    labelled = shows_edge_labels(view)
    if not view.nodes and not view.boxes:
        return Layout(view.key, rankdir, 0.0, 0.0, {}, (), labelled, style=style)
    groups = stamp_groups(view)
    if groups:  # repeated blocks open: each laid out once (compose builds on this module, hence imported here)
        from backprop_lens.render.compose import composed_layout

        return composed_layout(view, groups, rankdir, style)
    drawn = read_dot(run_dot(layout_dot(view, rankdir, style)))
    by_name = {nm: drawn_id for drawn_id, nm in dot_names(view).items()}
    nodes = {by_name[nm]: box for nm, box in drawn.boxes.items() if nm in by_name}
    clusters = {view.clusters[k].path: frame_geom(box, style) for k, box in drawn.frames.items()}
    edges: list[EdgeGeom] = []
    for i, d in enumerate(view.edges):
        geo = drawn.edges[f"e{i}"]
        path, arrow = _spline(geo["pos"], drawn.height)
        label = None
        if "lp" in geo:
            label = drawn.label_box(geo, label_room(graph, d.edge, style))
        edges.append(EdgeGeom(path, arrow, label))
    return Layout(view.key, rankdir, drawn.width, drawn.height, nodes, tuple(edges), labelled, clusters, style)


@dataclass(frozen=True, slots=True)
class Drawn:
    """What one Graphviz run gave, in SVG coordinates (y down) of its own bounding box."""

    width: float
    height: float
    boxes: dict[str, Box]  # DOT node name -> its box
    frames: dict[int, Box]  # k of `cluster_k` -> its frame
    edges: dict[str, dict[str, Any]]  # DOT edge id -> Graphviz's edge object (pos, lp)

    def label_box(self, geo: dict[str, Any], size: tuple[int, int]) -> Box:
        lx, ly = _pt(geo["lp"])
        lw, lh = size
        return Box(round(lx - lw / 2, 2), round(self.height - ly - lh / 2, 2), lw, lh)


def read_dot(data: dict[str, Any]) -> Drawn:
    """Graphviz's JSON (y up) as boxes, frames and edges by name, y flipped."""
    _, _, bw, bh = (float(v) for v in data["bb"].split(","))
    boxes: dict[str, Box] = {}
    frames: dict[int, Box] = {}
    for obj in data.get("objects", []):
        nm = obj.get("name", "")
        if nm.startswith("cluster_") and "bb" in obj:
            x0, y0, x1, y1 = (float(v) for v in obj["bb"].split(","))
            frames[int(nm[8:])] = Box(round(x0, 2), round(bh - y1, 2), round(x1 - x0, 2), round(y1 - y0, 2))
        elif "pos" in obj:
            x, y = _pt(obj["pos"])
            w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
            boxes[nm] = Box(round(x - w / 2, 2), round(bh - y - h / 2, 2), round(w, 2), round(h, 2))
    edges = {e.get("id"): e for e in data.get("edges", [])}
    return Drawn(bw, bh, boxes, frames, edges)


def frame_geom(box: Box, style: Style) -> ClusterGeom:
    return ClusterGeom(box, box.x + 9, box.y + style.cluster_label_baseline)


def _spline(pos: str, bh: float) -> tuple[str, str]:
    """Graphviz's "e,x,y p0 p1 ... p3n" B-spline (with arrow end point) to SVG path data and an arrowhead.
    (The hot loop of parsing a big layout: x is copied as Graphviz wrote it, only y is flipped.)"""
    end = None
    xs: list[str] = []
    ys: list[float] = []
    for tok in pos.split():
        if tok[1] == "," and tok[0] in "es":
            if tok[0] == "e":
                x, y = _pt(tok[2:])
                end = (x, bh - y)
            continue
        x_txt, _, y_txt = tok.partition(",")
        xs.append(x_txt)
        ys.append(bh - float(y_txt))
    if not xs:
        return "", ""
    txt = [f"{x},{round(y, 2):.7g}" for x, y in zip(xs, ys, strict=True)]
    d = ["M" + txt[0]]
    for i in range(1, len(txt) - 2, 3):
        d.append(f"C{txt[i]} {txt[i + 1]} {txt[i + 2]}")
    arrow = "" if end is None else arrowhead((float(xs[-1]), ys[-1]), end)
    return " ".join(d), arrow


def arrowhead(base: tuple[float, float], tip: tuple[float, float]) -> str:
    """SVG polygon points of an arrowhead from the spline's last point to Graphviz's arrow tip."""
    (px, py), (tx, ty) = base, tip
    dx, dy = tx - px, ty - py
    n = (dx * dx + dy * dy) ** 0.5 or 1.0
    hx, hy = -dy / n * 3.6, dx / n * 3.6  # half the arrowhead's base, perpendicular to its axis
    return f"{num(tx)},{num(ty)} {num(px + hx)},{num(py + hy)} {num(px - hx)},{num(py - hy)}"
