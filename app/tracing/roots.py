"""What a backward call asks for: its roots (`backward([l1, l2])` has two) and, for `torch.autograd.grad`,
the inputs whose gradients it returns instead of accumulating them into `.grad`."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any

import torch
from backprop_lens.snapshot import Graph
from backprop_lens.tracing.values import kept
from backprop_lens.tracing.walk import Walk

_GRAD_SIGNATURE = inspect.signature(torch.autograd.grad)


def roots_of(tensors: Any) -> list[Any]:
    """The tensors a backward call starts from, in order, each once (a tensor, or a sequence of them)."""
    items = list(tensors) if isinstance(tensors, Sequence) and not isinstance(tensors, torch.Tensor) else [tensors]
    out: list[Any] = []
    for t in items:
        if not any(t is o for o in out):
            out.append(t)
    return out


def grad_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(roots, inputs) of a `torch.autograd.grad(outputs, inputs, ...)` call, however its arguments were passed."""
    bound = _GRAD_SIGNATURE.bind(*args, **kwargs)
    inputs = bound.arguments["inputs"]
    if isinstance(inputs, dict):
        inputs = list(inputs.values())
    return roots_of(bound.arguments["outputs"]), roots_of(inputs)


def with_input_grads(graph: Graph, walk: Walk, inputs: list[Any], grads: Any) -> Graph:
    """The gradients `torch.autograd.grad` returned, written onto the nodes of its inputs.

    grad() leaves `.grad` alone and runs no AccumulateGrad, so no hook saw these: a leaf input's node gets the
    returned dL/d(leaf) as its gradient; a non-leaf input's op node gets it as dL/d(output) where no hook did.
    """
    if isinstance(grads, dict):
        grads = list(grads.values())
    found: dict[str, Any] = {}
    for tensor, grad in zip(inputs, grads, strict=False):
        if grad is None or not isinstance(tensor, torch.Tensor):
            continue  # allow_unused=True: this input does not reach the outputs
        node = tensor.grad_fn if tensor.grad_fn is not None else _accumulator(walk, tensor)
        if node is not None and node in walk.ids and tensor.output_nr == 0:
            found[walk.ids[node]] = kept(grad)
    if not found:
        return graph
    nodes = tuple(_with_grad(n, found[n.id]) if n.id in found else n for n in graph.nodes)
    return dataclasses.replace(graph, nodes=nodes)


def _accumulator(walk: Walk, leaf: torch.Tensor) -> Any:
    return next((gf for gf in walk.leaves if gf.variable is leaf), None)


def _with_grad(node: Any, grad: Any) -> Any:
    if node.kind == "param":
        return dataclasses.replace(node, grad=grad, grad_step=grad)
    return node if node.grad is not None else dataclasses.replace(node, grad=grad)
