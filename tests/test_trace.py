"""The tracer reports what PyTorch computed: checked against torch.autograd.grad on independent passes."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import plain_graph
from backprop_lens.tracing import Datum, TraceError, Tracer

from tests.oracles import dfs_order


def _close(ours, theirs: torch.Tensor) -> bool:
    return torch.allclose(torch.as_tensor(ours, dtype=theirs.dtype), theirs.detach(), rtol=1e-6, atol=1e-7)


def _check_against_autograd(build) -> None:
    """Trace `build()` -> (loss, intermediates); every intermediate's node must carry PyTorch's own numbers.

    The test walks the graph itself (tests.oracles.dfs_order) to find which node is which, and asks
    torch.autograd.grad for every intermediate's gradient before the traced backward runs.
    """
    with Tracer() as t:
        loss, intermediates = build()
        expected = torch.autograd.grad(loss, intermediates, retain_graph=True)
        order = dfs_order(loss.grad_fn)
        loss.backward()
    nodes = {n.id: n for n in plain_graph(t.graph).nodes}
    for tensor, grad in zip(intermediates, expected, strict=True):
        index = next(i for i, fn in enumerate(order) if fn is tensor.grad_fn)
        node = nodes[f"op:{index}"]
        assert node.grad_fn == type(tensor.grad_fn).__name__
        assert _close(node.value, tensor), node
        assert _close(node.grad, grad), node
    reachable = Counter(type(fn).__name__ for fn in order if not hasattr(fn, "variable"))
    assert Counter(n.grad_fn for n in plain_graph(t.graph).nodes if n.kind == "op") == reachable


def test_lecture_graph_gradients_match_autograd() -> None:
    w = torch.tensor([1.3], requires_grad=True)

    def build():
        y_pred = Datum(2.0) * w
        diff = y_pred - Datum(4.0)
        loss = diff**2
        return loss, [y_pred, diff, loss]

    _check_against_autograd(build)


def test_linear_sigmoid_bce_gradients_match_autograd() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(1, 1)
    x, y = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[0.0], [0.0], [1.0]])

    def build():
        z = lin(x)
        p = torch.sigmoid(z)
        loss = F.binary_cross_entropy(p, y)
        return loss, [z, p, loss]

    _check_against_autograd(build)


def test_small_conv_net_gradients_match_autograd() -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(1, 2, 3)
    fc = torch.nn.Linear(2 * 3 * 3, 3)
    img, target = torch.randn(2, 1, 8, 8), torch.tensor([0, 2])

    def build():
        h = torch.relu(conv(img))
        pooled = F.max_pool2d(h, 2)
        flat = pooled.flatten(1)
        logits = fc(flat)
        loss = F.cross_entropy(logits, target)
        return loss, [h, pooled, flat, logits, loss]

    _check_against_autograd(build)


def test_inputs_autograd_does_not_keep_are_named_nodes() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    x, y = Datum(2.0), Datum(2.0)  # equal values, told apart by identity
    with Tracer(params={"w": w}, inputs={"x": x, "y": y}) as t:
        ((x * w - y) ** 2).backward()
    by_id = {n.id: n for n in plain_graph(t.graph).nodes}
    assert by_id["data:x"].value == 2.0 and by_id["data:y"].value == 2.0
    sub = next(n for n in plain_graph(t.graph).nodes if n.grad_fn == "SubBackward0")
    mul = next(n for n in plain_graph(t.graph).nodes if n.grad_fn == "MulBackward0")
    edges = {(e.source, e.target) for e in plain_graph(t.graph).edges}
    assert ("data:y", sub.id) in edges and ("data:x", mul.id) in edges and ("param:w", mul.id) in edges
    assert by_id["param:w"].grad == w.grad.tolist()


def test_chain_rule_parts_come_from_pytorch() -> None:
    """On a scalar graph, upstream x local = downstream on every edge that carries a gradient."""
    run = build_run("quadratic")
    for step in (run.step(0), run.step(5)):
        carrying = [e for e in plain_graph(step.graph).edges if e.grad is not None]
        assert carrying
        for e in carrying:
            assert e.upstream[0] * e.local[0] == pytest.approx(e.grad[0], rel=1e-6)


def test_node_ids_are_the_same_at_every_step() -> None:
    run = build_run("lecture04")
    first, last = run.step(0), run.step(299)
    assert [n.id for n in first.graph.nodes] == [n.id for n in last.graph.nodes]
    assert [(e.source, e.target) for e in first.graph.edges] == [(e.source, e.target) for e in last.graph.edges]
    assert first.graph.topology_key() == last.graph.topology_key()
    assert {"param:w", "data:x", "data:y"} <= {n.id for n in first.graph.nodes}
    assert sum(n.is_loss for n in first.graph.nodes) == 1


def test_step_values_match_a_plain_replay() -> None:
    """Step k's nodes carry the values of an independent plain forward pass from w before step k."""
    run = build_run("lecture04", {"lr": 0.03})
    for k in (0, 4, 17):
        step = run.step(k)
        w = torch.tensor(step.params["w"].before, requires_grad=True)
        x, y = step.inputs["x"], step.inputs["y"]
        y_pred = x * w
        diff = y_pred - y
        loss = diff**2
        grads = torch.autograd.grad(loss, [y_pred, diff, w])
        ops = {n.grad_fn: n for n in plain_graph(step.graph).nodes}
        assert ops["MulBackward0"].value == y_pred.tolist()
        assert ops["SubBackward0"].value == diff.tolist()
        assert ops["PowBackward0"].value == loss.tolist() and ops["PowBackward0"].is_loss
        assert ops["MulBackward0"].grad == grads[0].tolist()
        assert ops["SubBackward0"].grad == grads[1].tolist()
        assert ops["AccumulateGrad"].grad == grads[2].tolist()


def test_without_zero_grad_the_snapshot_shows_contribution_and_accumulation() -> None:
    run = build_run("lecture04", {"zero_grad": False, "epochs": 2})
    w = torch.tensor([1.0], requires_grad=True)
    xs, ys = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    for k in range(6):
        x, y = xs[k % 3], ys[k % 3]
        loss = (x * w - y) ** 2
        (contribution,) = torch.autograd.grad(loss, [w], retain_graph=True)
        loss.backward()
        step = run.step(k)
        node = next(n for n in plain_graph(step.graph).nodes if n.kind == "param")
        assert node.grad_step == contribution.tolist() == step.params["w"].grad_step
        assert node.grad == w.grad.tolist() == step.params["w"].grad
        w.data = w.data - 0.01 * w.grad.data
    assert step.params["w"].grad != step.params["w"].grad_step


def test_misuse_is_explained() -> None:
    with pytest.raises(TraceError, match="requires_grad"), Tracer() as t:
        t.capture(torch.tensor([1.0]) * 2)
    with pytest.raises(TraceError, match="backward"):
        _ = Tracer().graph
