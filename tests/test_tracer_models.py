"""The tracer on tensor-valued models: shapes and values of matrix nodes, and Node.module for clusters."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import plain_graph
from backprop_lens.tracing import Tracer


class Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = torch.nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.inner(x)) * 2


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = torch.nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.block(x)
        return self.head(self.block(h))  # the block runs twice: shared weights


def traced_net(modules_key: str = "net"):
    torch.manual_seed(0)
    net, x = Net(), torch.randn(4, 3)
    with Tracer(params=dict(net.named_parameters()), inputs={"x": x}, modules={modules_key: net}) as tracer:
        loss = net(x).pow(2).mean()
        loss.backward()
    return net, x, plain_graph(tracer.graph)


def test_ops_belong_to_the_innermost_module() -> None:
    *_, graph = traced_net()
    by_class: dict[str, set] = {}
    for n in graph.nodes:
        if n.kind == "op":
            by_class.setdefault(n.grad_fn, set()).add(n.module)
    assert by_class["AddmmBackward0"] == {"net.block.inner", "net.head"}
    assert by_class["TanhBackward0"] == {"net.block"}  # torch.tanh in Block.forward itself
    assert by_class["MulBackward0"] == {"net.block"}
    assert by_class["PowBackward0"] == {None}  # the loss is computed outside every module
    assert by_class["MeanBackward0"] == {None}
    assert sum(1 for n in graph.nodes if n.grad_fn == "TanhBackward0") == 2  # two calls, two nodes
    assert graph.node("param:block.inner.weight").module == "net.block.inner"
    assert graph.node("param:head.bias").module == "net.head"


def test_root_path_is_no_cluster() -> None:
    _, _, graph = traced_net(modules_key="")
    assert graph.node("param:head.weight").module == "head"
    assert {n.module for n in graph.nodes if n.grad_fn == "PowBackward0"} == {None}


def test_without_modules_nothing_is_clustered() -> None:
    torch.manual_seed(0)
    net, x = Net(), torch.randn(4, 3)
    with Tracer(params=dict(net.named_parameters())) as tracer:
        net(x).sum().backward()
    assert {n.module for n in plain_graph(tracer.graph).nodes} == {None}


def test_module_hooks_are_removed_even_after_an_error() -> None:
    net = Net()
    with pytest.raises(RuntimeError), Tracer(modules={"net": net}):
        net(torch.randn(2, 5))  # wrong width: fails inside the module's forward
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks


def test_matrix_nodes_carry_shapes_values_and_gradients() -> None:
    net, x, graph = traced_net()
    inner_out = net.block.inner(x)
    first = torch.tanh(inner_out) * 2
    mid = net.block.inner(first)
    second = torch.tanh(mid) * 2
    out = net.head(second)
    grads = torch.autograd.grad(out.pow(2).mean(), [inner_out, first, out])
    for tensor, grad in zip([inner_out, first, out], grads, strict=True):
        matches = [n for n in graph.nodes if n.kind == "op" and n.value == tensor.tolist()]
        assert len(matches) == 1
        node = matches[0]
        assert node.shape == tuple(tensor.shape)
        assert torch.allclose(torch.tensor(node.grad), grad, atol=1e-7)
    # the shared weight: one node, its .grad is the sum over both uses
    weight = graph.node("param:block.inner.weight")
    assert weight.shape == (3, 3) and weight.grad == net.block.inner.weight.grad.tolist()


def test_linear_module_graph_edges_carry_matrix_gradients() -> None:
    step = build_run("linear_module", {"epochs": 3}).step(1)
    graph = plain_graph(step.graph)
    weight = graph.node("param:linear.weight")
    assert weight.shape == (1, 1) and weight.module == "linear"
    assert weight.grad == step.params["linear.weight"].grad
    x = graph.node("data:x")
    assert x.shape == (3, 1) and x.value == [[1.0], [2.0], [3.0]]
    (edge,) = [e for e in graph.edges if e.source == "param:linear.weight"]
    assert edge.grad == weight.grad  # the transpose sends it on unchanged in shape (1, 1)


def test_two_layer_graph_is_clustered_by_layer() -> None:
    graph = plain_graph(build_run("two_layer", {"epochs": 2, "hidden": 3}).step(0).graph)
    modules = {n.module for n in graph.nodes}
    assert {"layer1", "act", "layer2"} <= modules
    hidden = next(n for n in graph.nodes if n.grad_fn == "SigmoidBackward0")
    assert hidden.shape == (5, 3) and hidden.module == "act"
    assert len(hidden.value) == 5 and len(hidden.value[0]) == 3


def test_conv_values_in_the_graph() -> None:
    torch.manual_seed(0)
    conv, x = torch.nn.Conv2d(1, 1, 2), torch.randn(1, 1, 3, 3)
    with Tracer(params=dict(conv.named_parameters()), inputs={"x": x}, modules={"conv": conv}) as tracer:
        y = conv(x)
        F.relu(y).sum().backward()
    node = next(n for n in plain_graph(tracer.graph).nodes if n.grad_fn == "ConvolutionBackward0")
    assert node.value == y.tolist() and node.shape == (1, 1, 2, 2) and node.module == "conv"
