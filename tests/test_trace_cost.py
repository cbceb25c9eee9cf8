"""What a trace costs, checked by what it does (never by timings): no tensor becomes a list or a printed text
while tracing, gradients are not copied twice, and what is shared is still right after the loop writes into
its tensors (zero_grad, an optimizer step)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from backprop_lens.api import trace
from backprop_lens.tracing import fast
from backprop_lens.tracing.values import SHARE_FROM
from torch import nn


@pytest.fixture(autouse=True)
def _fresh_templates() -> Iterator[None]:
    fast.clear()
    yield
    fast.clear()


class CountCalls:
    """Counts calls of a torch.Tensor method while installed (the original still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, at_least: int = 0) -> None:
        self.calls = 0
        original = getattr(torch.Tensor, name)

        def counted(t: torch.Tensor, *args: object, **kwargs: object) -> object:
            self.calls += t.numel() >= at_least
            return original(t, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)


class ConvBn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.relu(self.bn(self.conv(x))), 1))


def test_a_trace_prints_no_tensor_and_makes_no_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """A BatchNorm's running statistics and the input image are constants of the graph: their label (the value
    as text) is made only when a formula reads it, and none does; relations keep tensors until JSON is asked
    for."""
    torch.manual_seed(0)
    model, x, y = ConvBn(), torch.randn(2, 2, 5, 5), torch.tensor([0, 2])
    # small tensors become lists on purpose: a constant's values in the structural signature, close() on a few
    # numbers; the BatchNorm's statistics (4), the image (50), the weights (100, 300) and every activation do not
    reprs, lists = CountCalls(monkeypatch, "__repr__"), CountCalls(monkeypatch, "tolist", at_least=65)
    for _ in range(2):  # a full trace, then one of a known forward
        with trace(model) as t:
            F.cross_entropy(model(x), y).backward()
    assert reprs.calls == 0
    assert lists.calls == 0
    kinds = {e.relation.kind for e in t.graph.edges if e.relation is not None}
    assert "matmul" in kinds
    for e in t.graph.edges:
        rel = e.relation
        if rel is not None:
            assert all(v is None or isinstance(v, torch.Tensor) for v in (rel.local, rel.left, rel.right, rel.jacobian))


def test_what_the_trace_shares_survives_the_loops_writes() -> None:
    """Gradients are kept as the engine handed them and a leaf's .grad shares its step's tensor: after
    zero_grad and an optimizer step they still hold what plain PyTorch computed (a leaf used twice, a result
    used twice, a weight whose saved transpose a relation shows)."""
    torch.manual_seed(0)
    lin = nn.Linear(40, 30)
    w2 = torch.randn(30, 40, requires_grad=True)
    x = torch.randn(8, 40)

    def loss_of(weight: torch.Tensor, bias: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(F.linear(x, weight, bias))
        return ((h * h).sum(1) + (h @ w).sum(1) * (w * w).sum()).mean()

    # plain PyTorch: the gradients and the loss's upstream into each parameter, before any update
    ref = [p.detach().clone().requires_grad_() for p in (lin.weight, lin.bias, w2)]
    expected = torch.autograd.grad(loss_of(*ref), ref)
    weight_before = lin.weight.detach().clone()

    params = {"weight": lin.weight, "bias": lin.bias, "w2": w2}
    opt = torch.optim.SGD(params.values(), lr=0.5)
    with trace(params) as t:
        loss_of(lin.weight, lin.bias, w2).backward()
    opt.step()
    opt.zero_grad(set_to_none=False)  # writes zeros into every .grad
    graph = t.graph
    for name, want in zip(params, expected, strict=True):
        node = graph.node(f"param:{name}")
        torch.testing.assert_close(node.grad, want, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(node.grad_step, want, rtol=1e-5, atol=1e-6)
        if want.numel() >= SHARE_FROM:  # first accumulation: one tensor for both (a small one is copied)
            assert node.grad is node.grad_step
    torch.testing.assert_close(graph.node("param:weight").value, weight_before)
    matmuls = [e.relation for e in graph.edges if e.relation is not None and e.relation.kind == "matmul"]
    assert matmuls
    for rel in matmuls:  # each still recomputes the gradient it claims, from the copies it holds
        assert rel.left is not None and rel.right is not None
    fed_weight = [e for e in graph.edges if e.source == "param:weight"]
    assert len(fed_weight) == 1 and fed_weight[0].relation is not None
    rel = fed_weight[0].relation
    torch.testing.assert_close(rel.left @ rel.right, expected[0], rtol=1e-5, atol=1e-6)
    for e in graph.edges:  # every edge's gradient is the one its source node received
        if e.grad is not None and e.source.startswith("op:"):
            assert e.grad.shape == graph.node(e.source).shape


RULES = [
    "MulBackward0", "AddBackward0", "SubBackward0", "RsubBackward1", "NegBackward0", "DivBackward0", "PowBackward0",
    "MeanBackward0", "SumBackward0", "ExpandBackward0", "TBackward0", "PermuteBackward0", "MmBackward0",
    "BmmBackward0", "AddmmBackward0", "MseLossBackward0", "BinaryCrossEntropyBackward0", "NllLossBackward0",
    "LogSoftmaxBackward0", "SoftmaxBackward0", "SelectBackward0", "SplitBackward0", "UnbindBackward0",
    "ConvolutionBackward0", "NativeLayerNormBackward0", "NativeBatchNormBackward0", "CatBackward0",
    "StackBackward0", "SigmoidBackward0", "TanhBackward0", "ReluBackward0", "LogBackward0", "SqrtBackward0",
    "ViewBackward0", "CloneBackward0", "WhatEverBackward0",
]  # fmt: skip


@pytest.mark.parametrize("class_name", RULES)
def test_a_rule_reads_only_the_names_formulas_reads_says(class_name: str) -> None:
    """`annotate` makes only the input names a rule reads (a constant's name is its printed value): blanking
    every other name gives the same sentence."""
    from backprop_lens.tracing.formulas import formula, reads

    names = ("a0", "a1", "a2", "a3", "a4")
    for slot in range(len(names)):
        blanked = tuple(n if k < reads(class_name) or k == slot else "" for k, n in enumerate(names))
        assert formula(class_name, slot, "c", blanked, 2.0) == formula(class_name, slot, "c", names, 2.0)


def test_a_first_accumulation_is_shared_without_comparing_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """`.grad` None before backward: PyTorch sets it to the step's gradient (or a copy), so the node holds one
    tensor for both without comparing them; a hook run after accumulation that rewrites `.grad` (through
    `.data`, which no version counter sees) is still shown as it left `.grad`."""
    from backprop_lens.tracing import values

    compared = []
    original = values.same_bits
    monkeypatch.setattr(values, "same_bits", lambda a, b: compared.append(a.numel()) or original(a, b))
    torch.manual_seed(0)
    w = torch.randn(40, 40, requires_grad=True)  # >= SHARE_FROM elements
    v = torch.randn(40, requires_grad=True)
    x = torch.randn(8, 40)

    def loss_of(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ w + v).pow(2).sum()

    ref = [w.detach().clone().requires_grad_(), v.detach().clone().requires_grad_()]
    want_w, want_v = torch.autograd.grad(loss_of(*ref), ref)
    with trace({"w": w, "v": v}) as t:
        loss_of(w, v).backward()
    node = t.graph.node("param:w")
    assert compared == []
    assert node.grad is node.grad_step
    torch.testing.assert_close(node.grad, want_w, rtol=1e-5, atol=1e-6)
    assert torch.equal(node.grad, w.grad)
    assert torch.equal(t.graph.node("param:v").grad, v.grad)

    w.grad = v.grad = None

    def doubled(p: torch.Tensor) -> None:
        assert p.grad is not None
        p.grad.data.mul_(2.0)

    v.register_post_accumulate_grad_hook(doubled)
    with trace({"w": w, "v": v}) as t:
        loss_of(w, v).backward()
    node = t.graph.node("param:v")
    torch.testing.assert_close(node.grad_step, want_v, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(node.grad, 2 * want_v, rtol=1e-5, atol=1e-6)
    assert torch.equal(node.grad, v.grad)
