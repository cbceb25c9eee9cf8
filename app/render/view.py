"""What is drawn: the step's graph seen through its module structure.

Nodes carry `Node.module`, the dotted path of the `nn.Module` that made them ("layer1", "cnn.conv"). Every path
and each of its prefixes is a cluster (nested paths nest). A collapsed module is drawn as one box that stands
for all of its nodes (and its sub-modules'); edges between its members vanish, edges across its border are
rerouted to the box. A view depends on the topology and the collapsed set only, so it keys the layout cache.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from backprop_lens.problems import Problem
from backprop_lens.render.blocks import block_depth, structures
from backprop_lens.render.collapse import (
    EXPAND_ALL,
    LIMIT,
    auto_collapse,
    chain_folds,
    enclosing,
    frontier,
    reopen,
    top_level,
)
from backprop_lens.render.errors import BadArgument
from backprop_lens.snapshot import Edge, Graph, Node

MODULE_PREFIX = "module:"  # ids of collapsed-module boxes: "module:layer1"
FOLD_PREFIX = "fold:"  # ids of folded chains: "fold:<id of its first member>"
GROUP_PREFIX = "group:"  # ids of alike siblings drawn as one: "group:<id of its first>"
MIN_GROUP = 4  # fewer alike siblings stay as they are: each can still be told apart


@dataclass(frozen=True, slots=True)
class ModuleBox:
    """A collapsed module, drawn as one box with its parameters."""

    id: str  # drawn id, "module:<path>" (made unique against node ids)
    path: str
    params: tuple[Node, ...]  # the module's parameter nodes (sub-modules' too), in graph order
    members: tuple[str, ...]  # ids of the nodes it hides
    ops: tuple[str, ...] = ()  # readable operators of its op nodes, graph order


@dataclass(frozen=True, slots=True)
class Cluster:
    path: str
    parent: str | None  # enclosing cluster's path
    label: str  # short label: the last path component ("bn1"; numbered children as "blocks[3]")


@dataclass(frozen=True, slots=True)
class DrawnEdge:
    index: int  # position in Graph.edges
    edge: Edge
    source: str  # drawn endpoint ids: a node id, or a module box id when that end is collapsed
    target: str
    stands_for: int = 1  # graph edges drawn as this one (a group's alike edges, see `_group_parallel`)


@dataclass(frozen=True, slots=True)
class View:
    graph: Graph
    collapse: tuple[str, ...]  # normalised: sorted, unique, none inside another collapsed module
    nodes: tuple[Node, ...]  # visible nodes, graph order
    boxes: tuple[ModuleBox, ...]
    edges: tuple[DrawnEdge, ...]
    clusters: tuple[Cluster, ...]  # outer before inner
    owner: dict[str, str | None]  # drawn id (node or box) -> innermost enclosing cluster path
    key: str  # topology key + collapsed set: the layout cache key

    @property
    def size(self) -> int:
        return len(self.nodes) + len(self.boxes)

    def cluster_tree(self) -> tuple[dict[str | None, list[str]], dict[str | None, list[int]]]:
        """(drawn ids directly in each cluster path, child cluster indices of each path); None is the top level."""
        members: dict[str | None, list[str]] = {}
        for drawn_id, path in self.owner.items():
            members.setdefault(path, []).append(drawn_id)
        children: dict[str | None, list[int]] = {}
        for k, c in enumerate(self.clusters):
            children.setdefault(c.parent, []).append(k)
        return members, children


def module_of(node: Node) -> str | None:
    return node.module or None  # "" means no module, like None


def prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def modules_of(graph: Graph) -> list[str]:
    """Every module path of the graph and all their prefixes, sorted."""
    out: set[str] = set()
    for n in graph.nodes:
        m = module_of(n)
        if m is not None:
            out.update(prefixes(m))
    return sorted(out)


def relative(path: str | None, module: str) -> str:
    """`path` seen from `module`, which holds it ("layer1.0.conv1" from "layer1.0": "conv1"; itself: "")."""
    return "" if path is None or path == module else path[len(module) + 1 :]


def inside(path: str | None, module: str) -> bool:
    return path is not None and (path == module or path.startswith(module + "."))


def cluster_label(path: str) -> str:
    parts = path.split(".")
    last = parts[-1]
    if last.isdigit() and len(parts) > 1:  # nn.Sequential children are numbered: "blocks[3]" reads better
        return f"{parts[-2]}[{last}]"
    return last


def normalise_collapse(graph: Graph, collapse: Iterable[str] | str | None, field: str = "collapse") -> tuple[str, ...]:
    """Sorted, unique module paths; RenderError naming `field` (`collapse`) for an unknown one. A string is a
    comma-separated list ("linear,cnn.conv"), as in the HTTP query and the CLI."""
    if collapse is None:
        return ()
    if isinstance(collapse, str):
        names = [s.strip() for s in collapse.split(",")]
    else:
        try:
            names = [s.strip() if isinstance(s, str) else s for s in collapse]
        except TypeError:
            raise BadArgument(field, Problem("error.collapse.not_names", {"field": field})) from None
    wanted = set()
    for name in names:
        if not isinstance(name, str):
            wrong = Problem("error.collapse.not_name", {"field": field, "type": type(name).__name__})
            raise BadArgument(field, wrong)
        if name:
            wanted.add(name)
    if not wanted:
        return ()
    if field == "expand" and EXPAND_ALL in wanted:  # "*" opens everything, whatever else is named
        return (EXPAND_ALL,)
    known = modules_of(graph)
    unknown = sorted(wanted.difference(known))
    if unknown:
        have: str | Problem = ", ".join(known) if known else Problem("error.collapse.no_modules")
        shown = ", ".join(repr(u) for u in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        args = {"field": field, "modules": shown, "have": have}
        raise BadArgument(field, Problem("error.collapse.unknown", args))
    if field == "expand":  # every one stays open, nested ones too
        return tuple(sorted(wanted))
    # a module inside another collapsed one is hidden by it anyway
    return tuple(sorted(m for m in wanted if not any(m != o and inside(m, o) for o in wanted)))


def common_module(paths: list[str | None]) -> str | None:
    """The innermost module enclosing all `paths` (None if any is outside every module)."""
    if not paths or any(p is None for p in paths):
        return None
    parts = [p.split(".") for p in paths if p is not None]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if any(x != level[0] for x in level):
            break
        common.append(level[0])
    return ".".join(common) or None


def placed_modules(graph: Graph) -> dict[str, str | None]:
    """The module each node is drawn in: its own, or for an unnamed constant without one (BatchNorm's eps, the
    2 of `** 2`) the module of the ops it feeds, so it sits next to them rather than outside every frame."""
    placed = {n.id: module_of(n) for n in graph.nodes}
    consumers: dict[str, list[str | None]] = {}
    for e in graph.edges:
        consumers.setdefault(e.source, []).append(placed.get(e.target))
    for n in graph.nodes:
        if n.kind == "const" and placed[n.id] is None and n.id in consumers:
            placed[n.id] = common_module(consumers[n.id])
    return placed


def make_view(
    graph: Graph, collapse: Iterable[str] | str | None = None, expand: Iterable[str] | str | None = None
) -> View:
    """The view to draw. Named `collapse` modules are drawn as boxes, exactly those (with `expand` too: the named
    boxes, an expanded one and its ancestors opened, see `collapse.reopen`). Without `collapse`, a graph of more
    than `collapse.LIMIT` nodes opens collapsed (the deepest module level that fits, no deeper than its repeated
    blocks (blocks.py), `expand` kept open; chains
    of single-input ops folded when that is not enough); a smaller graph of modules too wide to read on the page
    (budget.py) opens with its top-level modules collapsed; `expand="*"` draws everything, always."""
    collapsed = normalise_collapse(graph, collapse)
    opened = normalise_expand(graph, expand)
    placed = placed_modules(graph)
    if EXPAND_ALL in opened:
        return _build(graph, (), placed, fold=False)
    modules = modules_of(graph)
    if collapsed:
        return _build(graph, reopen(modules, collapsed, opened), placed, fold=False)
    if len(graph.nodes) <= LIMIT:
        full = _build(graph, (), placed, fold=False)
        if not modules or not _too_wide(full):
            return full
        # too wide to read at Fit on the page: the top-level modules as boxes (`expand` keeps named ones open; a
        # lone root holding them all is opened: its children are the top level)
        narrow = _build(graph, frontier(modules, top_level(modules), opened), placed, fold=False)
        return narrow if narrow.boxes else full

    per_path = Counter(placed.values())  # nodes drawn in each module: sizes are counted per path, not per node

    def size_of(candidate: tuple[str, ...]) -> int:
        boxes = set(candidate)
        hidden = sum(k for path, k in per_path.items() if enclosing(path, boxes) is not None)
        return len(graph.nodes) - hidden + len(candidate)

    chosen = auto_collapse(graph, modules, opened, size_of, block_depth(modules, structures(graph, placed)))
    return _build(graph, chosen, placed, fold=size_of(chosen) > LIMIT)


def _too_wide(view: View) -> bool:
    from backprop_lens.render.budget import too_wide  # budget sizes boxes (labels), which import this module

    return too_wide(view)


def normalise_expand(graph: Graph, expand: Iterable[str] | str | None) -> tuple[str, ...]:
    """Like `normalise_collapse`, for `expand` (module paths kept open; "*" among them opens everything)."""
    return normalise_collapse(graph, expand, field="expand")


def _build(graph: Graph, collapsed: tuple[str, ...], placed: dict[str, str | None], *, fold: bool) -> View:
    ids = {n.id for n in graph.nodes}

    boxed = set(collapsed)

    def collapsed_root(path: str | None) -> str | None:
        return enclosing(path, boxed)  # `collapsed` has none inside another: the outermost is the only one

    hidden_by: dict[str, str] = {}  # node id -> drawn box id
    members: dict[str, list[Node]] = {}
    box_id: dict[str, str] = {}
    for c in collapsed:
        bid = MODULE_PREFIX + c
        while bid in ids:  # a node id that happens to look like ours: stay unique
            bid += "'"
        box_id[c] = bid
        members[bid] = []
    nodes: list[Node] = []
    for n in graph.nodes:
        root = collapsed_root(placed[n.id])
        if root is None:
            nodes.append(n)
        else:
            hidden_by[n.id] = box_id[root]
            members[box_id[root]].append(n)
    boxes = [
        ModuleBox(
            box_id[c],
            c,
            tuple(n for n in members[box_id[c]] if n.kind == "param"),
            tuple(n.id for n in members[box_id[c]]),
            tuple(n.op or n.grad_fn or "op" for n in members[box_id[c]] if n.kind == "op"),
        )
        for c in collapsed
    ]
    owner: dict[str, str | None] = {}
    for b in boxes:
        owner[b.id] = b.path.rpartition(".")[0] or None  # a collapsed box sits in its parent's cluster
    if fold:
        nodes = _fold(graph, nodes, hidden_by, placed, boxes, owner, ids)
    edges = _drawn_edges(graph, hidden_by)
    for n in nodes:
        owner[n.id] = placed[n.id]
    paths: dict[str, None] = {}  # insertion-ordered set, in first-appearance order
    for path in owner.values():
        if path is not None:
            for p in prefixes(path):
                paths.setdefault(p)
    ordered = sorted(paths, key=lambda p: p.count("."))  # stable: outer before inner, then appearance
    clusters = tuple(Cluster(p, p.rpartition(".")[0] or None, cluster_label(p)) for p in ordered)
    key = graph.topology_key()
    folded = [b.members[0] for b in boxes if b.id.startswith((FOLD_PREFIX, GROUP_PREFIX))]
    if collapsed or folded:
        key = hashlib.sha256(json.dumps([key, collapsed, folded]).encode()).hexdigest()[:16]
    return View(graph, collapsed, tuple(nodes), tuple(boxes), tuple(edges), clusters, owner, key)


def _drawn_edges(graph: Graph, hidden_by: dict[str, str]) -> list[DrawnEdge]:
    """Edges between drawn ends; a group's alike edges (to or from one box) are drawn once, by the first."""
    edges: list[DrawnEdge] = []
    first_of: dict[tuple[str, str], int] = {}  # (source, target) of a group's edges -> its drawn edge
    for i, e in enumerate(graph.edges):
        s = hidden_by.get(e.source, e.source)
        t = hidden_by.get(e.target, e.target)
        if s == t:  # edges inside a collapsed module vanish with it
            continue
        if s.startswith(GROUP_PREFIX) or t.startswith(GROUP_PREFIX):
            k = first_of.get((s, t))
            if k is not None:
                edges[k] = replace(edges[k], stands_for=edges[k].stands_for + 1)
                continue
            first_of[(s, t)] = len(edges)
        edges.append(DrawnEdge(i, e, s, t))
    return edges


def _fold(
    graph: Graph,
    nodes: list[Node],
    hidden_by: dict[str, str],
    placed: dict[str, str | None],
    boxes: list[ModuleBox],
    owner: dict[str, str | None],
    ids: set[str],
) -> list[Node]:
    """Fold chains among the visible nodes into boxes (appended to `boxes`); the nodes still visible."""
    visible = {n.id for n in nodes}
    links = [(e.source, e.target) for e in graph.edges if e.source in visible and e.target in visible]
    for f in chain_folds(nodes, links, placed):
        bid = FOLD_PREFIX + f.members[0]
        while bid in ids:
            bid += "'"
        first = f.ops[0]
        ops = tuple(n.op or n.grad_fn or "op" for n in f.ops)
        # operators only, no words: the title reads the same in every language (the caption counts the nodes)
        title = " → ".join(ops) if len(ops) <= 3 else f"{ops[0]} → … → {ops[-1]}"
        boxes.append(ModuleBox(bid, title, (), f.members, ops))
        owner[bid] = placed[first.id]
        for m in f.members:
            hidden_by[m] = bid
    left = [n for n in nodes if n.id not in hidden_by]
    return _group_parallel(graph, left, hidden_by, placed, boxes, owner, ids)


def _group_parallel(
    graph: Graph,
    nodes: list[Node],
    hidden_by: dict[str, str],
    placed: dict[str, str | None],
    boxes: list[ModuleBox],
    owner: dict[str, str | None],
    ids: set[str],
) -> list[Node]:
    """Draw many alike siblings as one box: ops or folded chains doing the same operators between the same
    drawn neighbours (7,500 `w[i] * c -> sin` terms summed are one box of 7,500, not 7,500 boxes)."""
    drawn = {n.id: n for n in nodes}
    folds = {b.id: b for b in boxes if b.id.startswith(FOLD_PREFIX)}
    ins: dict[str, set[str]] = {}
    outs: dict[str, set[str]] = {}
    for e in graph.edges:
        s, t = hidden_by.get(e.source, e.source), hidden_by.get(e.target, e.target)
        if s != t:
            outs.setdefault(s, set()).add(t)
            ins.setdefault(t, set()).add(s)

    def doing(item: str) -> tuple[str, ...] | None:
        """What an item computes, when it may join a group: an op that is not the loss, or a folded chain."""
        if item in folds:
            return folds[item].ops
        n = drawn[item]
        return (n.op or n.grad_fn or "op",) if n.kind == "op" and not n.is_loss else None

    Alike = tuple[tuple[str, ...], str | None, frozenset[str], frozenset[str]]  # ops, module, ins, outs
    alike: dict[Alike, list[str]] = {}
    for item in [*drawn, *folds]:
        ops = doing(item)
        if ops is not None:
            where = owner[item] if item in folds else placed[item]
            key = (ops, where, frozenset(ins.get(item, ())), frozenset(outs.get(item, ())))
            alike.setdefault(key, []).append(item)
    for (ops, where, _, _), items in alike.items():
        if len(items) < MIN_GROUP:
            continue
        bid = GROUP_PREFIX + items[0]
        while bid in ids:
            bid += "'"
        members = [m for item in items for m in (folds[item].members if item in folds else (item,))]
        title = f"{len(items):,} × " + (folds[items[0]].path if items[0] in folds else ops[0])
        boxes.append(ModuleBox(bid, title, (), tuple(members), tuple(ops)))
        owner[bid] = where
        for item in items:
            owner.pop(item, None)
        grouped = set(items)
        boxes[:] = [b for b in boxes if b.id not in grouped]
        for m in members:
            hidden_by[m] = bid
    return [n for n in nodes if n.id not in hidden_by]
