"""What the backward pass tells us, read from PyTorch itself: gradients through hooks, local derivatives by
calling each autograd node on ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from backprop_lens.tracing.relations import NodeRelations, relation_hook
from backprop_lens.tracing.values import handed, kept, leaf_step


@dataclass
class NodeRecord:
    """What one autograd node showed us during the backward pass."""

    order: int | None = None  # position in autograd's execution order
    grad_out: Any = None  # dL/d(node's output)
    grad_in: list[Any] = field(default_factory=list)  # the gradient sent along each of its input edges
    fresh: bool = False  # a leaf whose `.grad` was None before this backward (see `values.leaf_grad`)


def recording_hook(rec: NodeRecord, counter: Iterator[int], gf: Any = None) -> Callable[..., None]:
    """A post-hook for `Node.register_hook`: it changes nothing, it only writes down (the gradients as
    handed, see `values.handed`; a leaf's after its `.grad` may have taken it over, see `values.leaf_step`)."""
    var = getattr(gf, "variable", None)
    if var is not None:

        def leaf_hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
            rec.order = next(counter)
            rec.grad_out = leaf_step(grad_outputs[0], var) if grad_outputs else None
            rec.grad_in = [kept(g) for g in grad_inputs]

        return leaf_hook

    def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        rec.order = next(counter)
        rec.grad_out = handed(grad_outputs[0]) if grad_outputs else None
        rec.grad_in = [handed(g) for g in grad_inputs]

    return hook


def node_hook(
    rec: NodeRecord, counter: Iterator[int], relations: dict[Any, NodeRelations] | None, gf: Any
) -> Callable[..., None]:
    """`recording_hook` and, when `relations` is given, `relation_hook` in one hook (one call per node)."""
    record = recording_hook(rec, counter, gf)
    if relations is None:
        return record
    classify = relation_hook(relations, gf)

    def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        record(grad_inputs, grad_outputs)
        classify(grad_inputs, grad_outputs)

    return hook


def local_derivatives(nodes: list[Any]) -> dict[Any, list[Any]]:
    """Each node's backward applied to ones: d(output)/d(input) for elementwise ops, a VJP with ones else.

    Must run before the real backward, which frees the saved tensors these calls need.
    """
    ones: dict[tuple[Any, Any], torch.Tensor] = {}  # one tensor per shape and dtype: backward reads, never writes
    found: dict[Any, list[Any]] = {}
    with torch.no_grad():
        for gf in nodes:
            try:
                args = [_ones(ones, m.shape, m.dtype) for m in gf._input_metadata]
                out = gf(*args)
            except Exception:  # nodes that cannot be called twice or take no ones: show no local derivative
                continue
            found[gf] = [kept(t) for t in (out if isinstance(out, tuple) else (out,))]
    return found


def _ones(cache: dict[tuple[Any, Any], torch.Tensor], shape: Any, dtype: Any) -> torch.Tensor:
    key = (tuple(shape), dtype)
    if key not in cache:
        cache[key] = torch.ones(key[0], dtype=dtype)
    return cache[key]
