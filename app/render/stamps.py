"""Repeated blocks drawn alike: open modules that hold the same drawn things linked the same way (ResNet's
layer1.0 and layer1.1 expanded; with everything open, layer2, layer3 and layer4) share one layout, stamped at
each place (compose.py). Every copy then looks the same, which is what lets a reader see a repeated block as
one, and Graphviz lays a block out once rather than once per copy.

A stamp is a module drawn as a frame, holding modules of its own (as frames or as boxes: a block, not one
nn.Linear), whose drawn items (nodes and collapsed boxes) and edges between them match another's item for item:
the same kinds and operators at the same places inside, the same sub-frames, the same items fed from outside and
feeding outside. Values, names and shapes may differ: the boxes take the largest size of their copies. Folded
chains and groups (the first view of a very big graph) make a module no stamp.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

from backprop_lens.render.view import FOLD_PREFIX, GROUP_PREFIX, MODULE_PREFIX, View, prefixes, relative


@dataclass(frozen=True, slots=True)
class Stamp:
    """One copy of a repeated block: its items and edges in an order every alike copy shares."""

    path: str  # the module drawn as this copy's outer frame
    items: tuple[str, ...]  # drawn ids inside it (local index = position here)
    edges: tuple[int, ...]  # positions in View.edges of the edges between its items
    # Edges from outside, by the drawn item they come from (one anchor each, ordered by their first target):
    ins: tuple[tuple[tuple[int, int], ...], ...]  # per anchor, its (local target, slot)s, sorted
    in_edges: tuple[tuple[int, ...], ...]  # per anchor, the positions in View.edges of those edges
    sources: tuple[str, ...]  # per anchor, the drawn id outside it comes from (this copy's own)
    outs: tuple[int, ...]  # local items feeding an edge to outside, sorted (one anchor each)
    frames: tuple[str, ...]  # paths of the frames inside it, relative to `path`, sorted


@dataclass
class _Gathered:
    """What one open module holds, gathered in one pass over the view."""

    items: list[str]
    desc: list[Hashable]
    edges: list[tuple[int, int, int, int]]  # (local source, local target, slot, position in View.edges)
    ins: dict[str, list[tuple[int, int, int]]]  # drawn source outside -> (local target, slot, position)s
    outs: set[int]
    unstampable: bool = False
    holds_modules: bool = False  # a collapsed module box among its items


def _gather(view: View) -> dict[str, _Gathered]:
    """Every open module's items, edges and borders: items x depth + edges x depth."""
    open_paths = {c.path for c in view.clusters}
    held: dict[str, _Gathered] = defaultdict(lambda: _Gathered([], [], [], defaultdict(list), set()))
    local: dict[tuple[str, str], int] = {}
    drawn: list[tuple[str, tuple[Hashable, ...]]] = [
        (n.id, ("N", n.kind, n.op or n.grad_fn or "", n.is_loss)) for n in view.nodes
    ]
    drawn += [(b.id, ("B", b.ops, len(b.params))) for b in view.boxes]
    folded = {b.id for b in view.boxes if b.id.startswith((FOLD_PREFIX, GROUP_PREFIX))}
    for item, what in drawn:
        owner = view.owner.get(item)
        for m in prefixes(owner) if owner is not None else ():
            if m not in open_paths:
                continue
            g = held[m]
            local[(m, item)] = len(g.items)
            g.items.append(item)
            g.desc.append((relative(owner, m), *what) if item not in folded else item)
            g.unstampable |= item in folded
            g.holds_modules |= item.startswith(MODULE_PREFIX) and item not in folded
    for k, d in enumerate(view.edges):
        so, to = view.owner.get(d.source), view.owner.get(d.target)
        inside_s = set(prefixes(so)) & open_paths if so is not None else set()
        inside_t = set(prefixes(to)) & open_paths if to is not None else set()
        for m in inside_s & inside_t:
            held[m].edges.append((local[(m, d.source)], local[(m, d.target)], d.edge.slot, k))
        for m in inside_s - inside_t:
            held[m].outs.add(local[(m, d.source)])
        for m in inside_t - inside_s:
            held[m].ins[d.source].append((local[(m, d.target)], d.edge.slot, k))
    return held


def _anchors(g: _Gathered) -> list[tuple[str, list[tuple[int, int, int]]]]:
    """The edges from outside by their source, each source's sorted, the sources by their first target."""
    return sorted(((source, sorted(fed)) for source, fed in g.ins.items()), key=lambda t: t[1])


def _signature(g: _Gathered, frames: tuple[str, ...]) -> Hashable:
    links = tuple((s, t, slot) for s, t, slot, _ in g.edges)
    ins = tuple(tuple((t, slot) for t, slot, _ in fed) for _, fed in _anchors(g))
    return (tuple(g.desc), links, frames, ins, tuple(sorted(g.outs)))


def stamp_groups(view: View) -> list[list[Stamp]]:
    """Groups of two or more alike stamps, outermost modules only (a stamp's insides are stamped with it)."""
    if len(view.clusters) < 2:
        return []
    held = _gather(view)
    frames: dict[str, list[str]] = defaultdict(list)
    for c in view.clusters:
        for m in prefixes(c.path)[:-1]:
            frames[m].append(relative(c.path, m))
    alike: dict[Hashable, list[str]] = defaultdict(list)
    for path, g in held.items():
        # a block holds modules of its own (open or as boxes): two nn.Linear layers are no repeated block, and a
        # small graph's own layout is the more compact one
        if not g.unstampable and len(g.items) >= 2 and (frames[path] or g.holds_modules):
            g.edges.sort()
            alike[_signature(g, tuple(sorted(frames[path])))].append(path)
    candidates = {p for paths in alike.values() if len(paths) >= 2 for p in paths}
    groups = []
    for paths in alike.values():
        kept = [p for p in paths if p in candidates and not any(q in candidates for q in prefixes(p)[:-1])]
        if len(kept) >= 2:
            groups.append([_stamp(p, held[p], frames[p]) for p in sorted(kept)])
    return sorted(groups, key=lambda g: g[0].path)


def _stamp(path: str, g: _Gathered, frames: list[str]) -> Stamp:
    anchors = _anchors(g)
    return Stamp(
        path,
        tuple(g.items),
        tuple(k for *_, k in g.edges),
        tuple(tuple((t, slot) for t, slot, _ in fed) for _, fed in anchors),
        tuple(tuple(k for *_, k in fed) for _, fed in anchors),
        tuple(source for source, _ in anchors),
        tuple(sorted(g.outs)),
        tuple(sorted(frames)),
    )
