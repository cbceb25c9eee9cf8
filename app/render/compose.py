"""The layout of a view with repeated blocks open (stamps.py): each alike group laid out once, the rest around.

1. A group's block is laid out alone (its first copy; each box at the largest size of any copy), with an anchor
   point before it (above it top-to-bottom, left of it left-to-right) for each drawn item outside that feeds it,
   and one after it for each item inside that feeds outside: the edges crossing its border start or end at an
   anchor. (An anchor Graphviz puts beside the frame is joined to the border by a straight lead.)
2. The rest of the view is laid out with each copy as one box of the block's size whose border has a port at
   each anchor: the edges from one item into a copy are one edge ending at its port; an edge out of a copy
   starts at one.
3. Each copy's boxes, frames and edges are the block's, moved to where its box landed; an edge crossing a
   border is its pieces joined at the ports. Its chain-rule label is the block's piece's for an edge into a copy
   (one per edge: the outer piece may stand for several), the outer piece's for an edge out of one.

Graphviz runs once per group (the groups in parallel: `dot` is a subprocess) and once for the rest.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from backprop_lens.render.graphviz import run_dot
from backprop_lens.render.labels import Style
from backprop_lens.render.layout import (
    Box,
    DotExtras,
    Drawn,
    EdgeGeom,
    Layout,
    arrowhead,
    carries_grad,
    dot_names,
    fixed_room,
    frame_geom,
    graph_node,
    item_size,
    label_room,
    layout_dot,
    read_dot,
    shows_edge_labels,
    splines_for,
)
from backprop_lens.render.stamps import Stamp
from backprop_lens.render.view import DrawnEdge, ModuleBox, View, inside, relative
from backprop_lens.render.xml import num
from backprop_lens.snapshot import Node

Point = tuple[float, float]
STAMP_PREFIX = "stamp:"  # the outer layout's box for a copy: "stamp:<module path>"


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of an edge's spline, in SVG coordinates: the B-spline points and, with an arrowhead, its tip."""

    points: tuple[Point, ...]
    tip: Point | None
    label: Box | None = None

    def moved(self, dx: float, dy: float) -> Piece:
        tip = None if self.tip is None else (self.tip[0] + dx, self.tip[1] + dy)
        label = None if self.label is None else replace(self.label, x=self.label.x + dx, y=self.label.y + dy)
        return Piece(tuple((x + dx, y + dy) for x, y in self.points), tip, label)


@dataclass(frozen=True, slots=True)
class Block:
    """One group's shared layout, relative to its top-left corner."""

    width: float
    height: float
    boxes: tuple[Box, ...]  # by local item
    frames: dict[str, Box]  # frame path relative to the block ("" = the block's own) -> frame
    edges: tuple[Piece, ...]  # by local edge
    ins: tuple[tuple[Piece, ...], ...]  # anchor -> each of its targets, as Stamp.ins
    outs: tuple[Piece, ...]  # item -> its anchor, as Stamp.outs
    in_at: tuple[Point, ...]  # the anchors
    out_at: tuple[Point, ...]
    leads_in: tuple[Piece | None, ...] = ()  # border -> anchor, as `ins` (None: the anchor is on the border)
    leads_out: tuple[Piece | None, ...] = ()  # anchor -> border, as `outs`


@dataclass(frozen=True, slots=True)
class Outer:
    """The view with each copy as one box, and what each of its edges stands for."""

    view: View
    members: tuple[tuple[int, ...], ...]  # per outer edge, the positions in the view's edges it is part of
    extras: DotExtras
    across: bool  # top to bottom (ports on the top and bottom borders)


def composed_layout(view: View, groups: list[list[Stamp]], rankdir: str, style: Style) -> Layout:
    labelled = shows_edge_labels(view)
    splines = splines_for(view)
    with ThreadPoolExecutor(max_workers=min(4, len(groups))) as pool:
        blocks = list(pool.map(lambda g: _block(view, g, rankdir, style, labelled, splines), groups))
    copies = {s.path: (s, block) for g, block in zip(groups, blocks, strict=True) for s in g}
    outer = _outer(view, copies, rankdir, labelled, splines)
    drawn = read_dot(run_dot(layout_dot(outer.view, rankdir, style, outer.extras)))
    name = dot_names(outer.view)
    nodes: dict[str, Box] = {}
    clusters = {outer.view.clusters[k].path: frame_geom(box, style) for k, box in drawn.frames.items()}
    corner: dict[str, Point] = {}
    items: list[Node | ModuleBox] = [*outer.view.nodes, *outer.view.boxes]
    for item in items:
        box = drawn.boxes[name[item.id]]
        if isinstance(item, ModuleBox) and item.id.startswith(STAMP_PREFIX):
            corner[item.path] = (box.x, box.y)
        else:
            nodes[item.id] = box
    for path, (stamp, block) in copies.items():
        dx, dy = corner[path]
        for item_id, b in zip(stamp.items, block.boxes, strict=True):
            nodes[item_id] = Box(round(b.x + dx, 2), round(b.y + dy, 2), b.w, b.h)
        for rel, frame in block.frames.items():
            moved = Box(round(frame.x + dx, 2), round(frame.y + dy, 2), frame.w, frame.h)
            clusters[f"{path}.{rel}" if rel else path] = frame_geom(moved, style)
    edges = _edges(view, copies, corner, drawn, outer, style)
    return Layout(view.key, rankdir, drawn.width, drawn.height, nodes, edges, labelled, clusters, style)


# -- 1. a block, laid out once ------------------------------------------------------------------------------------
def _label_room(view: View, positions: list[int], style: Style) -> tuple[int, int] | None:
    """The chain-rule label room of alike edges (one per copy): the largest; None where no gradient flows."""
    ends = [view.edges[k].edge for k in positions]
    graph = view.graph
    if not carries_grad(graph_node(graph, ends[0].source)):
        return None
    each = [label_room(graph, e, style) for e in ends]
    return max(w for w, _ in each), max(h for _, h in each)


def _block(view: View, group: list[Stamp], rankdir: str, style: Style, labelled: bool, splines: str) -> Block:
    first = group[0]
    drawn_by_id: dict[str, Node | ModuleBox] = {n.id: n for n in view.nodes}
    drawn_by_id.update({b.id: b for b in view.boxes})
    sizes = [
        (max(w for w, _ in each), max(h for _, h in each))
        for each in ([item_size(drawn_by_id[s.items[k]], style) for s in group] for k in range(len(first.items)))
    ]
    rooms: dict[int, tuple[int, int]] = {}
    in_rooms: dict[tuple[int, int], tuple[int, int] | None] = {}
    if labelled:
        for j in range(len(first.edges)):
            room = _label_room(view, [s.edges[j] for s in group], style)
            if room is not None:
                rooms[j] = room
        for j, positions in enumerate(first.in_edges):
            for m in range(len(positions)):
                in_rooms[(j, m)] = _label_room(view, [s.in_edges[j][m] for s in group], style)
    inner = _inner_view(view, first)
    name = dot_names(inner)
    # The anchors take ranks of their own, first and last (rank=source, sink; newrank: held across the block's
    # frames). Where the frame shares such a rank (its first items fed by nothing outside, or a block whose edges
    # loop: ResNet's relu box, used twice), an anchor sits beside the frame, and a straight lead joins it to the
    # border (_leads). (Invisible edges ranking the anchors before and after every item also work, but each runs
    # through every rank between: 12 ms of Graphviz for a block of 128 boxes became 96 ms, seconds when bigger.)
    extras = DotExtras(
        sizes={item: (int(w), int(h)) for item, (w, h) in zip(first.items, sizes, strict=True)},
        label_sizes=rooms,
        lines=_anchor_lines(first, name, in_rooms),
        fed=frozenset(first.items[t] for targets in first.ins for t, _ in targets),
        labelled=labelled,
        splines=splines,
    )
    drawn = read_dot(run_dot(layout_dot(inner, rankdir, style, extras)))
    boxes = tuple(drawn.boxes[name[item]] for item in first.items)
    frames = {relative(inner.clusters[k].path, first.path): box for k, box in drawn.frames.items()}
    edges = tuple(_piece(drawn, f"e{j}", rooms.get(j)) for j in range(len(first.edges)))
    ins = tuple(
        tuple(_piece(drawn, f"i{j}_{m}", in_rooms.get((j, m))) for m in range(len(targets)))
        for j, targets in enumerate(first.ins)
    )
    outs = tuple(_piece(drawn, f"o{j}", None) for j in range(len(first.outs)))
    in_at = tuple(_centre(drawn.boxes[f"i{j}"]) for j in range(len(first.ins)))
    out_at = tuple(_centre(drawn.boxes[f"o{j}"]) for j in range(len(first.outs)))
    return _leads(_trimmed(Block(drawn.width, drawn.height, boxes, frames, edges, ins, outs, in_at, out_at)), rankdir)


def _anchor_lines(
    stamp: Stamp, name: dict[str, str], in_rooms: dict[tuple[int, int], tuple[int, int] | None]
) -> tuple[str, ...]:
    """The anchors of a block's DOT, their edges (with the chain-rule label room of an edge into the block), and
    their ranks."""
    ins, outs = [f"i{j}" for j in range(len(stamp.ins))], [f"o{j}" for j in range(len(stamp.outs))]
    lines = ["graph [newrank=true];"]
    lines += [f"{a} [shape=point width=0.01 height=0.01];" for a in ins + outs]
    for j, targets in enumerate(stamp.ins):
        for m, (t, _slot) in enumerate(targets):
            room = in_rooms.get((j, m))
            label = f" label={fixed_room(*room)}" if room is not None else ""
            lines.append(f"i{j} -> {name[stamp.items[t]]} [id=i{j}_{m}{label}];")
    lines += [f"{name[stamp.items[k]]} -> o{j} [id=o{j} arrowhead=none];" for j, k in enumerate(stamp.outs)]
    if ins:
        lines.append(f"{{rank=source; {' '.join(ins)}}}")
    if outs:
        lines.append(f"{{rank=sink; {' '.join(outs)}}}")
    return tuple(lines)


def _line(a: Point, b: Point) -> Piece:
    return Piece((a, a, b, b), None)


def _leads(block: Block, rankdir: str) -> Block:
    """Each anchor joined to its port on the block's border by a straight lead: beside the frame, where Graphviz
    put an anchor on one of the frame's ranks, nothing is in its way; an anchor on the border needs none."""
    across = rankdir == "TB"

    def lead_in(x: float, y: float) -> Piece | None:
        start = (x, 0.0) if across else (0.0, y)
        return _line(start, (x, y)) if (y if across else x) > 0.5 else None

    def lead_out(x: float, y: float) -> Piece | None:
        end = (x, block.height) if across else (block.width, y)
        return _line((x, y), end) if (block.height - y if across else block.width - x) > 0.5 else None

    return replace(
        block,
        leads_in=tuple(lead_in(x, y) for x, y in block.in_at),
        leads_out=tuple(lead_out(x, y) for x, y in block.out_at),
    )


def _trimmed(block: Block) -> Block:
    """The block on what it draws: Graphviz's bounding box holds the invisible ranking edges' routes too."""
    rects = [*block.boxes, *block.frames.values()]
    pieces = [*block.edges, *(p for each in block.ins for p in each), *block.outs]
    rects += [p.label for p in pieces if p.label is not None]
    points = [*block.in_at, *block.out_at, *(pt for p in pieces for pt in p.points)]
    points += [p.tip for p in pieces if p.tip is not None]
    x0 = min([r.x for r in rects] + [x for x, _ in points])
    y0 = min([r.y for r in rects] + [y for _, y in points])
    x1 = max([r.x + r.w for r in rects] + [x for x, _ in points])
    y1 = max([r.y + r.h for r in rects] + [y for _, y in points])

    def box(b: Box) -> Box:
        return Box(round(b.x - x0, 2), round(b.y - y0, 2), b.w, b.h)

    return Block(
        round(x1 - x0, 2),
        round(y1 - y0, 2),
        tuple(box(b) for b in block.boxes),
        {rel: box(f) for rel, f in block.frames.items()},
        tuple(p.moved(-x0, -y0) for p in block.edges),
        tuple(tuple(p.moved(-x0, -y0) for p in each) for each in block.ins),
        tuple(p.moved(-x0, -y0) for p in block.outs),
        tuple((x - x0, y - y0) for x, y in block.in_at),
        tuple((x - x0, y - y0) for x, y in block.out_at),
    )


def _centre(box: Box) -> Point:
    return box.x + box.w / 2, box.y + box.h / 2


def _inner_view(view: View, stamp: Stamp) -> View:
    """The block alone: its items, the edges between them, its frames (its own outermost)."""
    held = set(stamp.items)
    clusters = tuple(
        replace(c, parent=None) if c.path == stamp.path else c for c in view.clusters if inside(c.path, stamp.path)
    )
    return View(
        view.graph,
        (),
        tuple(n for n in view.nodes if n.id in held),
        tuple(b for b in view.boxes if b.id in held),
        tuple(view.edges[k] for k in stamp.edges),
        clusters,
        {item: view.owner.get(item) for item in stamp.items},
        "",
    )


def _piece(drawn: Drawn, edge_id: str, label_size: tuple[int, int] | None) -> Piece:
    geo = drawn.edges[edge_id]
    points: list[Point] = []
    tip = None
    for tok in geo["pos"].split():
        if tok[1] == "," and tok[0] in "es":
            if tok[0] == "e":
                x, y = (float(v) for v in tok[2:].split(",")[:2])
                tip = (x, drawn.height - y)
            continue
        x, y = (float(v) for v in tok.split(",")[:2])
        points.append((x, drawn.height - y))
    label = drawn.label_box(geo, label_size) if "lp" in geo and label_size is not None else None
    return Piece(tuple(points), tip, label)


# -- 2. the rest, each copy one box with ports ------------------------------------------------------------------
def _outer(view: View, copies: dict[str, tuple[Stamp, Block]], rankdir: str, labelled: bool, splines: str) -> Outer:
    """The view with each copy as one box of its block's size. An edge into a copy ends at the port of its
    source's anchor, without an arrowhead (the block's piece has it, and the label); the edges of one source
    into one copy are one outer edge. An edge out of a copy starts at the port of its item's anchor."""
    ids = {n.id for n in view.graph.nodes} | {b.id for b in view.boxes}
    box_of: dict[str, str] = {}
    stamp_at: dict[str, Stamp] = {}
    boxes: list[ModuleBox] = []
    shapes: dict[str, str] = {}
    owner = dict(view.owner)
    for stamp, block in copies.values():
        bid = STAMP_PREFIX + stamp.path
        while bid in ids:
            bid += "'"
        boxes.append(ModuleBox(bid, stamp.path, (), stamp.items))
        w, h = math.ceil(block.width), math.ceil(block.height)  # (Graphviz's table cells are whole points)
        shapes[bid] = f"width={w / 72:.6f} height={h / 72:.6f} label={_ported(w, h, block, rankdir == 'TB')}"
        stamp_at[bid] = stamp
        for item in stamp.items:
            box_of[item] = bid
            owner.pop(item, None)
        owner[bid] = stamp.path.rpartition(".")[0] or None
    out_port = {s.items[k]: j for s, _ in copies.values() for j, k in enumerate(s.outs)}  # item -> its anchor
    edges: list[DrawnEdge] = []
    members: list[list[int]] = []
    ports: dict[int, tuple[str, str]] = {}
    merged: dict[tuple[str, str, str, str], int] = {}  # (source, tail port, copy, head port) -> outer edge
    for k, d in enumerate(view.edges):
        source, target = box_of.get(d.source, d.source), box_of.get(d.target, d.target)
        if source == target:  # between two items of one copy: the block's
            continue
        tail = f":o{out_port[d.source]}" if source in stamp_at else ""
        head = f":i{stamp_at[target].sources.index(d.source)}" if target in stamp_at else ""
        key = (source, tail, target, head)
        if head and key in merged:
            members[merged[key]].append(k)
            continue
        merged[key] = len(edges)
        if tail or head:
            ports[len(edges)] = (tail, head)
        edges.append(replace(d, source=source, target=target))
        members.append([k])
    hidden = [s.path for s, _ in copies.values()]
    outer = View(
        view.graph,
        view.collapse,
        tuple(n for n in view.nodes if n.id not in box_of),
        tuple(b for b in view.boxes if b.id not in box_of) + tuple(boxes),
        tuple(edges),
        tuple(c for c in view.clusters if not any(inside(c.path, p) for p in hidden)),
        owner,
        view.key,
    )
    into = frozenset(q for q, d in enumerate(edges) if d.target in stamp_at)
    # Block to block: the copies one under the other (an invisible edge between their centres), the edge between
    # their ports free to slant: a block's ports need not line up, and aligning them would make a staircase.
    between = frozenset(q for q in into if edges[q].source in stamp_at)
    name = dot_names(outer)
    pairs = dict.fromkeys((edges[q].source, edges[q].target) for q in sorted(between))
    column = tuple(f"{name[a]} -> {name[b]} [style=invis weight=8];" for a, b in pairs)
    extras = DotExtras(
        shapes=shapes,
        ports=ports,
        open_ends=into,
        no_label=into,
        loose=between,
        lines=column,
        labelled=labelled,
        splines=splines,
    )
    return Outer(outer, tuple(tuple(m) for m in members), extras, rankdir == "TB")


def _ported(w: int, h: int, block: Block, across: bool) -> str:
    """An HTML-like label of the block's size with a port at each anchor: on the top and bottom borders
    (top-to-bottom) or the left and right ones. Graphviz takes whole points: the ports are within half a point
    of their anchors, and the joins below close the gap."""
    if across:
        top = _strip([x for x, _ in block.in_at], w, "i", True)
        bottom = _strip([x for x, _ in block.out_at], w, "o", True)
        body = _cell(w, max(h - 2, 1))
        return f"<{_table(f'<TR><TD>{top}</TD></TR><TR>{body}</TR><TR><TD>{bottom}</TD></TR>')}>"
    left = _strip([y for _, y in block.in_at], h, "i", False)
    right = _strip([y for _, y in block.out_at], h, "o", False)
    body = _cell(max(w - 2, 1), h)
    return f"<{_table(f'<TR><TD>{left}</TD>{body}<TD>{right}</TD></TR>')}>"


def _table(rows: str) -> str:
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{rows}</TABLE>'


def _cell(w: int, h: int, port: str = "") -> str:
    at = f' PORT="{port}"' if port else ""
    return f'<TD FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h}"{at}></TD>'


def _strip(at: list[float], length: int, prefix: str, across: bool) -> str:
    """A one-point-thick row (or column) of `length` points with a 2-point port cell centred on each anchor."""
    cells: list[str] = []
    cursor = 0
    for j, a in sorted(enumerate(at), key=lambda t: t[1]):
        start = min(max(round(a) - 1, cursor), length - 2)
        if start > cursor:
            cells.append(_cell(start - cursor, 1) if across else _cell(1, start - cursor))
        cells.append(_cell(2, 1, f"{prefix}{j}") if across else _cell(1, 2, f"{prefix}{j}"))
        cursor = start + 2
    if length > cursor:
        cells.append(_cell(length - cursor, 1) if across else _cell(1, length - cursor))
    row = "".join(cells) if across else "".join(f"<TR>{c}</TR>" for c in cells)
    return _table(f"<TR>{row}</TR>" if across else row)


# -- 3. the edges, each copy's pieces moved and joined ----------------------------------------------------------
def _edges(
    view: View,
    copies: dict[str, tuple[Stamp, Block]],
    corner: dict[str, Point],
    drawn: Drawn,
    outer: Outer,
    style: Style,
) -> tuple[EdgeGeom, ...]:
    inner_at: dict[int, list[Piece | None]] = {}  # view edge position -> its pieces in a copy (last, or all)
    out_at: dict[str, list[Piece | None]] = {}  # item with an edge out of its copy -> its pieces to the border
    for stamp, block in copies.values():
        dx, dy = corner[stamp.path]
        for j, k in enumerate(stamp.edges):
            inner_at[k] = [block.edges[j].moved(dx, dy)]
        for j, positions in enumerate(stamp.in_edges):
            lead = block.leads_in[j]
            for m, k in enumerate(positions):
                inner_at[k] = [lead and lead.moved(dx, dy), block.ins[j][m].moved(dx, dy)]
        for j, local in enumerate(stamp.outs):
            lead = block.leads_out[j]
            out_at[stamp.items[local]] = [block.outs[j].moved(dx, dy), lead and lead.moved(dx, dy)]
    outer_piece: dict[int, Piece] = {}
    for q, ks in enumerate(outer.members):
        d = view.edges[ks[0]]
        size = None
        if q not in outer.extras.no_label:
            size = label_room(view.graph, d.edge, style)
        piece = _piece(drawn, f"e{q}", size)
        if q in outer.extras.ports:
            piece = _tamed(piece, outer.across)
        for k in ks:
            outer_piece[k] = piece
    out: list[EdgeGeom] = []
    for k, d in enumerate(view.edges):
        if k not in outer_piece:  # inside one copy: only its own piece
            out.append(_geom([p for p in inner_at[k] if p is not None]))
            continue
        parts = [*out_at.get(d.source, ()), outer_piece[k], *inner_at.get(k, ())]
        out.append(_geom([p for p in parts if p is not None]))
    return tuple(out)


def _tamed(piece: Piece, across: bool) -> Piece:
    """A one-segment piece between neighbouring ranks with a port at an end, with its tangents kept between
    the ranks. Graphviz gives such a piece tangents as long as its sideways run: between two blocks a rank
    apart it bulges into both boxes. (A longer piece passes nodes between, and is left as Graphviz routed it.)"""
    if len(piece.points) != 4:
        return piece
    (x0, y0), _, _, (x3, y3) = piece.points
    if across:
        mid = (y0 + y3) / 2
        return replace(piece, points=((x0, y0), (x0, mid), (x3, mid), (x3, y3)))
    mid = (x0 + x3) / 2
    return replace(piece, points=((x0, y0), (mid, y0), (mid, y3), (x3, y3)))


def _geom(pieces: list[Piece]) -> EdgeGeom:
    """One edge from its pieces in order: a line closes each join (within a point), the last one's arrowhead."""
    d: list[str] = []
    for p in pieces:
        if not p.points:
            continue
        d.append(("L" if d else "M") + _xy(p.points[0]))
        d.extend(f"C{_xy(a)} {_xy(b)} {_xy(c)}" for a, b, c in zip(*[iter(p.points[1:])] * 3, strict=False))
    last = pieces[-1]
    arrow = arrowhead(last.points[-1], last.tip) if last.tip is not None and last.points else ""
    label = next((p.label for p in pieces if p.label is not None), None)
    return EdgeGeom(" ".join(d), arrow, label)


def _xy(p: Point) -> str:
    return f"{num(round(p[0], 2))},{num(round(p[1], 2))}"
