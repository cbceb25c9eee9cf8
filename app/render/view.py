"""What is drawn: the step's graph seen through its module structure.

Nodes carry `Node.module`, the dotted path of the `nn.Module` that made them ("layer1", "cnn.conv"). Every path
and each of its prefixes is a cluster (nested paths nest). A collapsed module is drawn as one box that stands
for all of its nodes (and its sub-modules'); edges between its members vanish, edges across its border are
rerouted to the box. A view depends on the topology and the collapsed set only, so it keys the layout cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from backprop_lens.render.errors import BadArgument
from backprop_lens.snapshot import Edge, Graph, Node

MODULE_PREFIX = "module:"  # ids of collapsed-module boxes: "module:layer1"


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


def inside(path: str | None, module: str) -> bool:
    return path is not None and (path == module or path.startswith(module + "."))


def cluster_label(path: str) -> str:
    parts = path.split(".")
    last = parts[-1]
    if last.isdigit() and len(parts) > 1:  # nn.Sequential children are numbered: "blocks[3]" reads better
        return f"{parts[-2]}[{last}]"
    return last


def normalise_collapse(graph: Graph, collapse: Iterable[str] | str | None) -> tuple[str, ...]:
    """Sorted, unique module paths; RenderError naming `collapse` for an unknown one. A string is a
    comma-separated list ("linear,cnn.conv"), as in the HTTP query and the CLI."""
    if collapse is None:
        return ()
    if isinstance(collapse, str):
        names = [s.strip() for s in collapse.split(",")]
    else:
        try:
            names = [s.strip() if isinstance(s, str) else s for s in collapse]
        except TypeError:
            msg = "collapse must be module names (a list or a comma-separated string)"
            raise BadArgument("collapse", msg) from None
    wanted = set()
    for name in names:
        if not isinstance(name, str):
            raise BadArgument("collapse", f"collapse must be module names, got {type(name).__name__}")
        if name:
            wanted.add(name)
    if not wanted:
        return ()
    known = modules_of(graph)
    unknown = sorted(wanted.difference(known))
    if unknown:
        have = ", ".join(known) if known else "none"
        shown = ", ".join(repr(u) for u in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        raise BadArgument("collapse", f"collapse: unknown module {shown}; this graph's modules: {have}")
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


def make_view(graph: Graph, collapse: Iterable[str] | str | None = None) -> View:
    collapsed = normalise_collapse(graph, collapse)
    ids = {n.id for n in graph.nodes}
    placed = placed_modules(graph)

    def collapsed_root(path: str | None) -> str | None:
        if path is None:
            return None
        for c in collapsed:
            if inside(path, c):
                return c
        return None

    hidden_by: dict[str, str] = {}  # node id -> collapsed module path
    members: dict[str, list[Node]] = {c: [] for c in collapsed}
    nodes: list[Node] = []
    for n in graph.nodes:
        root = collapsed_root(placed[n.id])
        if root is None:
            nodes.append(n)
        else:
            hidden_by[n.id] = root
            members[root].append(n)
    box_id: dict[str, str] = {}
    for c in collapsed:
        bid = MODULE_PREFIX + c
        while bid in ids:  # a node id that happens to look like ours: stay unique
            bid += "'"
        box_id[c] = bid
    boxes = tuple(
        ModuleBox(
            box_id[c],
            c,
            tuple(n for n in members[c] if n.kind == "param"),
            tuple(n.id for n in members[c]),
            tuple(n.op or n.grad_fn or "op" for n in members[c] if n.kind == "op"),
        )
        for c in collapsed
    )
    edges: list[DrawnEdge] = []
    for i, e in enumerate(graph.edges):
        s = box_id[hidden_by[e.source]] if e.source in hidden_by else e.source
        t = box_id[hidden_by[e.target]] if e.target in hidden_by else e.target
        if s != t:  # edges inside a collapsed module vanish with it
            edges.append(DrawnEdge(i, e, s, t))

    owner: dict[str, str | None] = {n.id: placed[n.id] for n in nodes}
    for b in boxes:
        owner[b.id] = b.path.rpartition(".")[0] or None  # a collapsed box sits in its parent's cluster
    paths: dict[str, None] = {}  # insertion-ordered set, in first-appearance order
    for path in owner.values():
        if path is not None:
            for p in prefixes(path):
                paths.setdefault(p)
    ordered = sorted(paths, key=lambda p: p.count("."))  # stable: outer before inner, then appearance
    clusters = tuple(Cluster(p, p.rpartition(".")[0] or None, cluster_label(p)) for p in ordered)
    key = graph.topology_key()
    if collapsed:
        key = hashlib.sha256(json.dumps([key, collapsed]).encode()).hexdigest()[:16]
    return View(graph, collapsed, tuple(nodes), boxes, tuple(edges), clusters, owner, key)
