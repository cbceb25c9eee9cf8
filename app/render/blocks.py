"""Repeated blocks: modules that do the same thing (ResNet's layer1.0 and layer1.1, a transformer's layers.0 ...
layers.5). A module's structure is what its nodes are (kind and operator, by their path inside the module) and
how its edges link them, without values, names or shapes; two modules with one structure are alike.

A big graph's first view opens down to the blocks, no deeper (view.make_view): a block is a module with
sub-modules of its own that has an alike sibling. ResNet-18 opens as conv1, bn1, ..., layer1.0 ... layer4.1,
avgpool, fc: a picture that reads, each block one click from its layers.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from backprop_lens.snapshot import Graph


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def structures(graph: Graph, placed: dict[str, str | None]) -> dict[str, str]:
    """Module path -> a digest of its structure. Nodes x depth + edges x depth: linear in the graph."""
    parts: dict[str, list[str]] = defaultdict(list)
    local: dict[tuple[str, str], int] = {}  # (module, node id) -> the node's position among the module's nodes
    for n in graph.nodes:
        path = placed.get(n.id)
        if path is None:
            continue
        what = f"{n.kind}|{n.op or n.grad_fn or ''}|{n.is_loss}"
        for m in _prefixes(path):
            local[(m, n.id)] = len(parts[m])
            parts[m].append(f"N|{path[len(m) + 1 :]}|{what}")
    for e in graph.edges:
        s, t = placed.get(e.source), placed.get(e.target)
        if s is None or t is None:
            continue
        for m in _prefixes(s):
            j = local.get((m, e.target))
            if j is not None:
                parts[m].append(f"E|{local[(m, e.source)]}|{j}|{e.slot}")
    return {m: hashlib.sha256("\n".join(p).encode("utf-8", "surrogatepass")).hexdigest()[:16] for m, p in parts.items()}


def block_depth(modules: list[str], structure: dict[str, str]) -> int | None:
    """The deepest module depth holding a repeated block (a module with sub-modules and an alike sibling)."""
    composite = {m.rpartition(".")[0] for m in modules if "." in m}
    seen: dict[tuple[str, str], int] = defaultdict(int)  # (parent, structure) -> blocks
    for m in modules:
        if m in composite and m in structure:
            seen[(m.rpartition(".")[0], structure[m])] += 1
    depths = [parent.count(".") + 2 if parent else 1 for (parent, _), k in seen.items() if k >= 2]
    return max(depths, default=None)
