"""Module frames as nested DOT subgraphs, written once for both DOT writers (the layout's and the export's)."""

from __future__ import annotations

from collections.abc import Callable

from backprop_lens.render.view import View


def nest_clusters(view: View, opening: Callable[[int, int], str], decl: dict[str, str], out: list[str]) -> None:
    """Append each drawn declaration inside its module's `subgraph cluster_k { ... }`, nested as module paths
    nest. `opening(k, depth)` writes cluster k's first line (depth 0 = outermost)."""
    members, children = view.cluster_tree()

    def emit(path: str | None, k: int | None, depth: int) -> None:
        if k is not None:
            out.append(opening(k, depth))
        out.extend(decl[i] for i in members.get(path, ()))
        for j in children.get(path, ()):
            emit(view.clusters[j].path, j, depth + 1)
        if k is not None:
            out.append("}")

    emit(None, None, -1)
