"""Practice mode: before autograd's next gradient is shown, the student types it and the page checks it.

For each node of the backward walk with a scalar gradient (the loss itself is given: 1), a question in words,
the interval of accepted answers (PyTorch's number within TOLERANCE), the answer as the graph shows it and the
working (the node's line of the explanation). The page compares a typed number with `low`..`high` and places
these strings; it decides nothing else.
"""

from __future__ import annotations

import math
from typing import Any

from backprop_lens.present.calc import scalar
from backprop_lens.present.catalog import t
from backprop_lens.present.explain import Line, gradient_symbols
from backprop_lens.present.format import fmt_full, fmt_num
from backprop_lens.snapshot import Node, Step

TOLERANCE = 0.01  # relative: numbers worked by hand from the graph's 4 digits land well inside 1 %
FLOOR = 1e-6  # absolute, so that a gradient of exactly 0 accepts 0


def _expected(node: Node) -> float | None:
    """This backward's gradient: for a parameter its own contribution (`.grad` may hold earlier steps' too)."""
    value = node.grad_step if node.kind == "param" and node.grad_step is not None else node.grad
    x = scalar(value)
    return x if x is not None and math.isfinite(x) else None


def practice(step: Step, lines: list[Line], lang: str = "en") -> dict[str, dict[str, Any]]:
    """Per node id of the walk (not the loss), its question; values as plain lists (`plain_graph` first)."""
    symbols = gradient_symbols(step.graph)
    working = {ln.node: ln.text for ln in lines if ln.phase == "backward" and ln.node is not None}
    out: dict[str, dict[str, Any]] = {}
    for node in step.graph.nodes:
        if node.order is None or node.is_loss:
            continue
        x = _expected(node)
        if x is None:  # a tensor's gradient is shown, not asked
            out[node.id] = {"asked": False, "question": t(lang, "practice.tensor", d=symbols[node.id])}
            continue
        tol = max(abs(x) * TOLERANCE, FLOOR)
        out[node.id] = {
            "asked": True,
            "question": t(lang, "practice.question", d=symbols[node.id]),
            "low": x - tol,
            "high": x + tol,
            "answer": fmt_num(x),
            "full": fmt_full(x),
            "tolerance": t(lang, "practice.tolerance", pct=f"{TOLERANCE:.0%}"),
            "working": working.get(node.id, ""),
        }
    return out
