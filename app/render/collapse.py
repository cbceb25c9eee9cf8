"""Big graphs open collapsed: which modules to draw as one box, and which op chains to fold, for a first view
that Graphviz lays out in a blink.

- `auto_collapse`: with modules, the deepest module depth whose collapsed picture has at most `limit` boxes
  (depth 1 = top-level modules), and no deeper than repeated blocks (blocks.py: ResNet's layer1.0, layer1.1 as
  boxes, not their convolutions); `expand` keeps named modules open (their children collapse instead).
- `reopen`: `collapse` and `expand` together (the named boxes, with the expanded ones opened a level).
- `module_names`: the canonical spelling of a `?collapse=` / `?expand=` list.
- `chain_folds`: without modules (or where modules are not enough), a chain of single-input ops (each feeding
  only the next, each fed by no other op) becomes one box. Constants that feed only its members fold with it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from backprop_lens.snapshot import Graph, Node

LIMIT = 150  # drawn boxes of a first view: above it the graph opens collapsed
MIN_CHAIN = 3  # shorter chains stay as they are: a fold of two saves nothing
EXPAND_ALL = "*"  # expand=* : everything open, the full picture


def depth(path: str) -> int:
    return path.count(".") + 1


def inside(path: str | None, module: str) -> bool:
    return path is not None and (path == module or path.startswith(module + "."))


def module_names(text: str | None) -> tuple[str, ...]:
    """The canonical spelling of a `?collapse=` / `?expand=` list ("b, a,,a" -> ("a", "b")): sorted, unique, no
    blanks, so every spelling of one set shares one URL's cache entry; with `*` in it, just ("*",)."""
    names = {s.strip() for s in (text or "").split(",") if s.strip()}
    return (EXPAND_ALL,) if EXPAND_ALL in names else tuple(sorted(names))


def with_ancestors(expand: Iterable[str]) -> set[str]:
    """The modules an `expand` list opens: each named one and the ones around it (a box cannot hold an open module)."""
    opened = set(expand)
    for e in list(opened):
        parts = e.split(".")
        opened.update(".".join(parts[: i + 1]) for i in range(len(parts) - 1))
    return opened


def enclosing(path: str | None, modules: set[str]) -> str | None:
    """The outermost of `modules` that is `path` or holds it. By the path's prefixes, so a big graph's thousands of
    nodes against hundreds of candidate boxes cost nodes x depth, not nodes x boxes."""
    if path is None:
        return None
    parts = path.split(".")
    for i in range(1, len(parts) + 1):
        if (prefix := ".".join(parts[:i])) in modules:
            return prefix
    return None


def outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """Sorted, without the ones inside another: a box hides the modules inside it anyway."""
    out = set(paths)
    return tuple(sorted(m for m in out if enclosing(m.rpartition(".")[0] or None, out) is None))


def top_level(modules: list[str]) -> int:
    """The first module level worth collapsing to: past a lone root that holds the rest (a script's `model`,
    whose children are the parts a reader knows: `model.layer1`, `model.head`), one box for everything says
    nothing."""
    level = 1
    while True:
        at = [m for m in modules if depth(m) == level]
        if len(at) != 1 or not any(depth(m) > level for m in modules):
            return level
        level += 1


def frontier(modules: list[str], level: int, expand: Iterable[str]) -> tuple[str, ...]:
    """Modules to collapse at `level`: those of that depth, and for an expanded module its children instead
    (an expanded module deeper than `level` opens its ancestors down to it)."""
    opened = with_ancestors(expand)
    return outermost(
        m
        for m in modules
        if m not in opened and (depth(m) == level or (depth(m) > level and m.rpartition(".")[0] in opened))
    )


def reopen(modules: list[str], collapse: Iterable[str], expand: Iterable[str]) -> tuple[str, ...]:
    """`collapse` and `expand` together: the named boxes, but expand wins. A named box that is (or holds) an
    expanded module is drawn open, down to the expanded one, and the other children of what opens become boxes,
    as an expanded module's children do in a first view (a click opens one level, not a whole subtree)."""
    opened = with_ancestors(expand)
    kept = [c for c in collapse if c not in opened]
    opening = [c for c in collapse if c in opened]
    children = [
        m for m in modules if m not in opened and m.rpartition(".")[0] in opened and any(inside(m, c) for c in opening)
    ]
    return outermost([*kept, *children])


def auto_collapse(
    graph: Graph,
    modules: list[str],
    expand: Iterable[str],
    size_of: Callable[[tuple[str, ...]], int],
    blocks: int | None = None,
) -> tuple[str, ...]:
    """The collapsed set of the deepest level that fits `LIMIT` boxes (the top level when none fits), and no
    deeper than `blocks`, the depth of repeated blocks (blocks.block_depth) when the graph has some."""
    expand = tuple(expand)
    if not modules:
        return ()
    first = top_level(modules)
    best: tuple[str, ...] = frontier(modules, first, expand)
    for level in range(first + 1, min(max(depth(m) for m in modules), blocks or sys.maxsize) + 1):
        candidate = frontier(modules, level, expand)
        if size_of(candidate) > LIMIT:
            break
        best = candidate
    return best


@dataclass(frozen=True, slots=True)
class Fold:
    members: tuple[str, ...]  # node ids, graph order (consumers first, as the walk lists them)
    ops: tuple[Node, ...]  # its op nodes, input to output


def chain_folds(nodes: list[Node], edges: list[tuple[str, str]], placed: dict[str, str | None]) -> list[Fold]:
    """Maximal chains of ops, each feeding only the next and fed by no op but the previous, in one module."""
    by_id = {n.id: n for n in nodes}
    outs: dict[str, list[str]] = {}
    op_ins: dict[str, list[str]] = {}
    const_out: dict[str, set[str]] = {}
    for s, t in edges:
        outs.setdefault(s, []).append(t)
        kind = by_id[s].kind if s in by_id else None
        if kind == "const":
            const_out.setdefault(s, set()).add(t)
        elif kind is not None:
            op_ins.setdefault(t, []).append(s)

    def foldable(n: Node) -> bool:
        return n.kind == "op" and not n.is_loss

    def link(u: str) -> str | None:
        """The op that u alone feeds, when u is its only non-constant input and both fold."""
        nxt = outs.get(u, [])
        if len(nxt) != 1 or nxt[0] not in by_id:
            return None
        v = nxt[0]
        ok = foldable(by_id[v]) and op_ins.get(v) == [u] and placed.get(u) == placed.get(v)
        return v if ok else None

    has_prev = {v for u in by_id if foldable(by_id[u]) for v in [link(u)] if v is not None}
    # Indexes, so each chain costs its own length (a graph of 7,500 parallel chains was quadratic: 26 s).
    position = {n.id: i for i, n in enumerate(nodes)}
    consts_feeding: dict[str, list[str]] = {}
    for c, ts in const_out.items():
        if len(outs.get(c, [])) == len(ts):  # feeds only ops (every edge of it is to one)
            for t in ts:
                consts_feeding.setdefault(t, []).append(c)
    folds = []
    for n in nodes:
        if not foldable(n) or n.id in has_prev:
            continue
        chain = [n.id]
        while (v := link(chain[-1])) is not None:
            chain.append(v)
        if len(chain) < MIN_CHAIN:
            continue
        members = set(chain)
        for op in chain:  # the constants that feed nothing but this chain go in with it
            members.update(c for c in consts_feeding.get(op, ()) if const_out[c] <= members)
        order = sorted(members, key=position.__getitem__)
        folds.append(Fold(tuple(order), tuple(by_id[c] for c in chain)))
    return folds
