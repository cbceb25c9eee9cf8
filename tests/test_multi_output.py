"""Nodes with several outputs (chunk, unbind, split, GRU's gates): every output's value and gradient, and the
output each edge leaves; gradients checked against torch.autograd.grad on that very output."""

from __future__ import annotations

import pytest
import torch
from backprop_lens.snapshot import graph_to_dict
from backprop_lens.tracing import Tracer

from tests.relation_check import check_graph


def _chunk(a: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return a.chunk(3)


def _unbind(a: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return a.unbind(0)


def _split(a: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return a.split([1, 2])


@pytest.mark.parametrize("cut", [_chunk, _unbind, _split], ids=["chunk", "unbind", "split"])
def test_every_output_has_its_gradient(cut) -> None:
    torch.manual_seed(0)
    w = torch.randn(3, 2, requires_grad=True)
    x = torch.randn(3, 2)

    def model() -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        parts = cut(x * w)
        loss = (parts[0].sum() * 3 + parts[-1].pow(2).sum()) if len(parts) > 2 else parts[0].sum() * parts[1].sum()
        return loss, parts

    loss, parts = model()  # plain autograd on each output
    expected = torch.autograd.grad(loss, parts, allow_unused=True, materialize_grads=True)
    with Tracer(params={"w": w}, inputs={"x": x}) as tracer:
        loss2, _ = model()
        loss2.backward()
    graph = graph_to_dict(tracer.graph)
    node = next(n for n in graph["nodes"] if n["outputs"])
    assert len(node["outputs"]) == len(parts)
    for out, part, grad in zip(node["outputs"], parts, expected, strict=True):
        assert out["value"] == part.tolist()
        assert torch.allclose(torch.tensor(out["grad"]), grad), (out["grad"], grad)
    leaving = {e["output"] for e in graph["edges"] if e["source"] == node["id"]}
    assert leaving == ({0, len(parts) - 1} if len(parts) > 2 else {0, 1})  # unused middle output: no edge
    check_graph(graph)


def test_gru_gates_leave_their_own_outputs() -> None:
    torch.manual_seed(0)
    gru, x = torch.nn.GRU(2, 3), torch.randn(2, 1, 2)
    with Tracer(params=dict(gru.named_parameters()), inputs={"x": x}) as tracer:
        out, _ = gru(x)
        out.pow(2).sum().backward()
    graph = graph_to_dict(tracer.graph)
    multi = [n for n in graph["nodes"] if n["outputs"]]
    assert multi, "a GRU splits its gates"
    outputs_used = {(e["source"], e["output"]) for e in graph["edges"] if e["source"] in {n["id"] for n in multi}}
    assert any(o > 0 for _, o in outputs_used)
    for n in multi:
        assert all(o["grad"] is not None for o in n["outputs"])
    check_graph(graph)
