"""Behaviour behind the speed work (never timings): tensors kept as tensors, JSON linear in the graph, big graphs
opening collapsed, and the graph shown being the one PyTorch builds without us."""

from __future__ import annotations

import json
from collections import Counter

import torch
import torch.nn.functional as F
from backprop_lens.api import trace
from backprop_lens.render import label_slots, make_view, render
from backprop_lens.render.collapse import LIMIT
from backprop_lens.snapshot import graph_to_dict, plain_graph
from torch import nn


def classes(loss: torch.Tensor) -> Counter[str]:
    """Autograd node classes reachable from the loss, in a run without the tracer."""
    seen, todo = set(), [loss.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return Counter(type(f).__name__ for f in seen)


class Block(nn.Module):  # torchvision's BasicBlock layout, small
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + x)


def resnet_like() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Sequential(Block(4), Block(4)), nn.Flatten(), nn.LazyLinear(3)
    )


def transformer() -> nn.Module:
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)


def check_model(model: nn.Module, x: torch.Tensor) -> None:
    model(x)  # materialise lazy modules
    params = dict(model.named_parameters())
    want = torch.autograd.grad(model(x).pow(2).mean(), list(params.values()))
    untraced = classes(model(x).pow(2).mean())
    model.zero_grad()
    with trace(model) as t:
        loss = model(x).pow(2).mean()
        loss.backward()
    graph = t.graph
    got = Counter(n.grad_fn for n in graph.nodes if n.grad_fn)
    assert got == untraced  # fidelity: the very op classes PyTorch builds without us
    for (name, p), g in zip(params.items(), want, strict=True):
        node = graph.node(f"param:{name}")
        assert isinstance(node.grad, torch.Tensor) and isinstance(node.value, torch.Tensor)  # kept as tensors
        assert torch.allclose(node.grad, g, rtol=1e-5, atol=1e-7), name
        assert torch.equal(node.value, p.detach())
    p0 = next(iter(params.values()))
    node = graph.node(f"param:{next(iter(params))}")
    p0.grad.zero_()  # a later in-place change must not reach the snapshot
    assert node.grad.abs().sum() > 0


def test_resnet_like_traces_with_tensors_kept() -> None:
    check_model(resnet_like(), torch.randn(1, 3, 6, 6))


def test_transformer_block_traces_with_the_op_classes_pytorch_builds() -> None:
    check_model(transformer(), torch.randn(1, 5, 16))


def wide_graph(n: int) -> tuple[dict, torch.Tensor]:
    w = torch.randn(n, requires_grad=True)
    with trace(params={"w": w}) as t:
        loss = torch.stack([torch.sin(w[i] * 2.0) for i in range(n)]).sum()
        loss.backward()
    return graph_to_dict(t.graph), w


def test_json_of_a_wide_graph_has_each_gradient_once() -> None:
    data, w = wide_graph(300)
    stack = next(n for n in data["nodes"] if n["grad_fn"] == "StackBackward0")
    assert stack["grad"] == [1.0] * 300  # dL/d(stack) once, on its node
    text = json.dumps(data)
    assert "upstream" not in text  # an edge refers to its target's grad instead of copying it
    grads = [n["grad"] for n in data["nodes"]] + [e["grad"] for e in data["edges"]]
    # once on its node, once on the one edge that leaves it: never once per input edge (fan-in 300)
    assert sum(g == stack["grad"] for g in grads) == 2
    into = [e["grad"] for e in data["edges"] if e["target"] == stack["id"]]
    assert len(into) == 300 and all(not isinstance(g, list) or len(g) <= 1 for g in into)
    assert data["nodes"][[n["id"] for n in data["nodes"]].index("param:w")]["grad"] == w.grad.tolist()


def chain_graph(n: int):
    w = torch.tensor([0.5], requires_grad=True)
    with trace(params={"w": w}) as t:
        h = w
        for i in range(n):
            h = torch.sin(h) if i % 2 else h * 1.001
        h.sum().backward()
    return t.graph, w


def test_a_5k_node_graph_opens_collapsed_and_expands() -> None:
    graph, _ = chain_graph(3400)
    assert len(graph.nodes) > 5000
    first = make_view(graph)
    assert first.size <= LIMIT  # folded: Graphviz sees a few boxes
    (fold,) = first.boxes
    assert len(fold.members) >= 5000 - 3
    full = make_view(graph, expand="*")
    assert full.size == len(graph.nodes) and not full.boxes
    svg = render(graph).decode()  # the first view is drawn (Graphviz never sees 5k boxes)
    assert f"{fold.ops[0]} → … → {fold.ops[-1]}" in svg and " ops" not in svg  # operators, no English words
    assert f"{fold.ops[0]} → … → {fold.ops[-1]}" in render(graph, lang="zh").decode()


def alike_terms(terms: int):
    """`terms` alike terms w[i] * c -> sin, stacked and summed: a fan-in as wide as the graph."""
    w = torch.randn(terms, requires_grad=True)
    with trace(params={"w": w}) as t:
        torch.stack([torch.sin(w[i] * float(i % 7 + 1)) for i in range(terms)]).sum().backward()
    return t.graph, w


def test_a_wide_graph_of_alike_terms_opens_as_one_box_of_them() -> None:
    graph, w = alike_terms(400)
    assert len(graph.nodes) > 1000
    first = make_view(graph)
    (group,) = first.boxes  # 400 folded chains between the same neighbours: one box, not 400
    assert sorted(n.name or n.op for n in first.nodes) == ["stack", "sum", "w"]
    assert len(group.members) + len(first.nodes) == len(graph.nodes)
    assert group.path == "400 × [ ] → * → sin" and group.ops == ("[ ]", "*", "sin")
    # its 400 edges in and 400 out are drawn once each: Graphviz sees 4 boxes and 3 edges
    assert (
        sorted((d.source, d.target) for d in first.edges) == sorted({(d.source, d.target) for d in first.edges})
        and len(first.edges) == 3
    )
    svg = render(graph).decode()
    assert "400 × " in svg and svg.count('class="edge"') == 3
    # the drawn edge stands for 400: no one edge's numbers on it, and its tooltip says so (in both languages)
    assert svg.count("400 alike edges drawn as one") == 2 and svg.count('class="chain"') == 1  # stack -> sum
    assert render(graph, lang="zh").decode().count("400 条同样的边画成一条") == 2
    plain = plain_graph(graph)
    w_node = next(n for n in plain.nodes if n.name == "w")
    expected = (
        torch.cos(w.detach() * torch.tensor([float(i % 7 + 1) for i in range(400)]))
        * torch.tensor([float(i % 7 + 1) for i in range(400)])
    ).tolist()
    assert w_node.grad == expected == w.grad.tolist()  # the gradient the box stands for is PyTorch's own
    full = make_view(graph, expand="*")
    assert full.size == len(graph.nodes) and len(full.edges) == len(graph.edges)


def test_alike_siblings_stay_apart_when_few_or_fed_differently() -> None:
    graph, _ = alike_terms(3)  # three terms: each can still be told apart
    assert not make_view(graph).boxes
    w, v = torch.randn(300, requires_grad=True), torch.randn(300, requires_grad=True)
    with trace(params={"w": w, "v": v}) as t:  # two families of terms, each fed by its own parameter
        a = torch.stack([torch.sin(w[i] * 2.0) for i in range(300)])
        b = torch.stack([torch.cos(v[i] * 3.0) for i in range(300)])
        (a.sum() + b.sum()).backward()
    first = make_view(t.graph)
    assert sorted(b.path.split(" × ")[0] for b in first.boxes) == ["300", "300"]
    assert first.size <= LIMIT


def step_of(graph):
    from backprop_lens.snapshot import Step

    return Step(index=0, epoch=0, sample=None, loss=0.0, params={}, graph=graph)


def test_collapsed_and_expanded_agree_on_every_value() -> None:
    graph, _ = chain_graph(200)
    collapsed, full = make_view(graph), make_view(graph, expand="*")
    assert collapsed.size < full.size
    plain = plain_graph(graph)
    shown = {n.id: (n.value, n.grad) for n in plain.nodes}
    for n in collapsed.nodes:  # every node still drawn carries the same numbers as in the full picture
        assert (plain.node(n.id).value, plain.node(n.id).grad) == shown[n.id]
    for b in collapsed.boxes:  # every hidden node belongs to exactly one box
        assert set(b.members) <= set(shown)
    hidden = [m for b in collapsed.boxes for m in b.members]
    assert len(hidden) == len(set(hidden)) and len(hidden) + len(collapsed.nodes) == len(graph.nodes)
    texts = {
        ph: (label_slots(step_of(graph), phase=ph), label_slots(step_of(graph), phase=ph, expand="*"))
        for ph in ("forward", "backward")
    }
    for small, big in texts.values():  # every label the collapsed picture shows, the full one shows alike
        common = set(small["texts"]) & set(big["texts"])
        assert len(common) > 5 and all(small["texts"][k] == big["texts"][k] for k in common)
    edge_grads = {(d.edge.source, d.edge.target): d.edge.grad for d in collapsed.edges}
    for d in full.edges:  # edges kept in the collapsed view carry the very gradients of the full one
        if (d.edge.source, d.edge.target) in edge_grads:
            assert edge_grads[(d.edge.source, d.edge.target)] is d.edge.grad


def test_a_big_tensor_in_a_picture_is_previewed_with_its_real_size() -> None:
    w = torch.randn(10, 20, requires_grad=True)
    with trace(params={"w": w}) as t:
        (w * 2).sum().backward()
    svg = render(t.graph).decode()
    assert "(200 elements)" in svg and "(64 elements)" not in svg
    first = repr(w.detach().reshape(-1)[0].item())
    assert first in svg  # the preview's first number is the tensor's own
