"""Whether a picture fits the page: its width estimated from the boxes' sizes, without running Graphviz.

The page's graph panel at 1280x720 is about 1220 px wide and (for a wide picture) 300 px tall; its smallest
text must read at >= 9 px at Fit. PAGE's smallest type is 12 units, so a picture up to WIDTH_BUDGET units
wide reads at 9 px. A graph of modules wider than that opens with its top-level modules collapsed (view.py);
the estimate is deterministic (the same graph always gives the same view: labels and pictures agree).
"""

from __future__ import annotations

from backprop_lens.render.labels import PAGE, edge_label_size, module_size, node_size
from backprop_lens.render.view import View

PANEL_W = 1220  # the page's graph panel at 1280x720, CSS px
READABLE_PX = 9
WIDTH_BUDGET = PANEL_W * PAGE.min_font / READABLE_PX - 2 * PAGE.margin


def estimated_width(view: View) -> float:
    """The left-to-right width of a view: per rank (longest path) its widest box, per gap its widest chain label,
    and Graphviz's rank separation between them. Graphviz packs a little better; never much worse."""
    from backprop_lens.render.layout import carries_grad, graph_index, longest_paths, shows_edge_labels  # cycle

    index = graph_index(view.graph)
    widths = {n.id: node_size(n)[0] for n in view.nodes}
    widths.update({b.id: module_size(b)[0] for b in view.boxes})
    rank = longest_paths(list(widths), [(d.source, d.target) for d in view.edges])

    cols: dict[int, float] = {}
    gaps: dict[int, float] = {}
    labelled = shows_edge_labels(view)
    for i, w in widths.items():
        cols[rank[i]] = max(cols.get(rank[i], 0.0), float(w))
    for d in view.edges:
        src, tgt = index[d.edge.source], index[d.edge.target]
        if labelled and carries_grad(src):
            gap = rank[d.target]
            gaps[gap] = max(gaps.get(gap, 0.0), float(edge_label_size(src, tgt)[0]))
    sep = PAGE.ranksep * 72
    return sum(cols.values()) + sum(gaps.values()) + sep * (len(cols) - 1 + len(gaps))


def too_wide(view: View) -> bool:
    return estimated_width(view) > WIDTH_BUDGET
