"""Recompute every edge's relation from a step JSON's own numbers (plain torch arithmetic, no backprop-lens)."""

from __future__ import annotations

from typing import Any

import torch

RTOL = 1e-5


def tensor(value: Any) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def upstream(target: dict[str, Any]) -> torch.Tensor:
    """dL/d(target's output); for a node with several outputs, every output's gradient, flattened and joined."""
    if target["outputs"]:
        return torch.cat([tensor(o["grad"]).flatten() for o in target["outputs"]])
    return tensor(target["grad"])


def recompute(edge: dict[str, Any], target: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """What the relation claims the edge's gradient is, and the size of the terms it sums (for float32
    rounding of sums that cancel); None for opaque (no claim)."""
    rel = edge["relation"]
    kind = rel["kind"]
    down_shape = tensor(edge["grad"]).shape
    if kind == "opaque":
        return None
    if kind == "jacobian":
        jac, up = tensor(rel["jacobian"]), upstream(target).flatten()
        return (jac @ up).reshape(down_shape), (jac.abs() @ up.abs()).reshape(down_shape)
    if kind == "matmul":
        left, right = tensor(rel["left"]), tensor(rel["right"])
        return left @ right, left.abs() @ right.abs()
    up = upstream(target)
    product = up * tensor(rel["local"])
    if kind == "elementwise":
        assert up.shape == product.shape == down_shape, f"elementwise claims one shape: {edge}"
        return product, product.abs()
    assert kind == "reduce", kind
    dims = rel["dims"]
    summed = product.sum(dim=dims, keepdim=True) if dims else product
    magnitude = product.abs().sum(dim=dims, keepdim=True) if dims else product.abs()
    return summed.reshape(down_shape), magnitude.reshape(down_shape)


def close(a: torch.Tensor, b: torch.Tensor, magnitude: torch.Tensor | None = None) -> bool:
    """rtol 1e-5; a sum that cancels to about 0 is compared against the size of its terms (float32 rounding)."""
    scale = float((b if magnitude is None else magnitude).abs().max()) if b.numel() else 0.0
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=RTOL, atol=1e-6 * scale + 1e-12))


def check_graph(graph: dict[str, Any]) -> dict[str, int]:
    """Assert every claimed relation recomputes its edge's gradient; return how many edges of each kind."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    kinds: dict[str, int] = {}
    for edge in graph["edges"]:
        if edge["grad"] is None:
            assert edge["relation"] is None, f"no gradient, so no relation: {edge}"
            continue
        assert edge["relation"] is not None, f"an edge with a gradient has a relation: {edge}"
        assert edge["relation"]["formula"], edge
        kind = edge["relation"]["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
        found = recompute(edge, nodes[edge["target"]])
        if found is not None:
            claimed, magnitude = found
            down = tensor(edge["grad"])
            ok = close(claimed.reshape(down.shape), down, magnitude)
            assert ok, (kind, edge["source"], edge["target"], claimed, down)
    return kinds
