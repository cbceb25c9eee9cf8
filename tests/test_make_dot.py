"""`backprop_lens.make_dot` is torchviz's `make_dot`, statement for statement, with values.

torchviz's own test cases (its test/test.py: an MLP, double backprop, an LSTMCell's `(h, c)`) and the cases of its
examples notebook and docstring (show_attrs / show_saved, a custom autograd.Function's saved tensors, the base of
a view) run through both functions on the same tensors: the two Digraphs must have the same statements in the
same order — the same nodes, colours and edges (ids renamed by first appearance) — the same defaults and the
same automatic size. Only the labels differ: ours add values, checked against plain PyTorch here.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import backprop_lens
import graphviz
import pytest
import torch
import torchviz
from backprop_lens.tracing import TraceError
from torch import nn

_NODE = re.compile(r"^\t(\S+) \[(.*)\]$", re.S)
_EDGE = re.compile(r"^\t(\S+) -> (\S+)(?: \[(.*)\])?$", re.S)
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)', re.S)
_SHAPE = re.compile(r"\((\d+(?:, \d+)*)?\)")


def _attrs(text: str | None) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text or "")}


def _category(label: str, fillcolor: str | None) -> tuple[str, ...]:
    """What a node is, whoever drew it: an autograd node's class, or a tensor's colour, name and shape."""
    if fillcolor is None:  # grey: an autograd node; torchviz's label starts with its class name
        return ("fn", label.split()[0])
    lines = label.split("\n")
    name = lines[0].strip() if not _SHAPE.fullmatch(lines[0].strip()) else ""
    shape = _SHAPE.search(label)
    return ("tensor", fillcolor, name, shape.group(0) if shape else "?")


def skeleton(dot: graphviz.Digraph, names: set[str] | None = None) -> list[tuple[Any, ...]]:
    """The Digraph's statements with ids renamed in order of appearance and labels reduced to categories.

    `names`: the tensor names both drawings use (params); other first lines (our "output", "view base") are ours.
    """
    ids: dict[str, int] = {}

    def rename(node_id: str) -> int:
        return ids.setdefault(node_id, len(ids))

    out: list[tuple[Any, ...]] = []
    for statement in dot.body:
        edge = _EDGE.match(statement)
        if edge:
            out.append(("edge", rename(edge.group(1)), rename(edge.group(2)), sorted(_attrs(edge.group(3)).items())))
            continue
        node = _NODE.match(statement)
        assert node, f"not a node or edge statement: {statement!r}"
        attrs = _attrs(node.group(2))
        category = _category(attrs.pop("label", ""), attrs.pop("fillcolor", None))
        if category[0] == "tensor" and names is not None and category[2] not in names:
            category = (*category[:2], "", category[3])
        out.append(("node", rename(node.group(1)), category, sorted(attrs.items())))
    return out


def assert_same_as_torchviz(ours: graphviz.Digraph, theirs: graphviz.Digraph, params: dict | None = None) -> None:
    names = set(params or {})
    assert skeleton(ours, names) == skeleton(theirs, names)
    assert ours.graph_attr == theirs.graph_attr  # the automatic size included
    assert ours.node_attr == theirs.node_attr
    assert ours.format == theirs.format == "pdf"
    assert len(ours.body) == len(theirs.body)


def labels(dot: graphviz.Digraph) -> list[str]:
    return [_attrs(m.group(2)).get("label", "") for s in dot.body if (m := _NODE.match(s))]


def make_mlp_and_input() -> tuple[nn.Module, torch.Tensor]:  # torchviz's test/test.py
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("W0", nn.Linear(8, 16))
    model.add_module("tanh", nn.Tanh())
    model.add_module("W1", nn.Linear(16, 1))
    return model, torch.randn(1, 8)


def both(var: Any, **kwargs: Any) -> tuple[graphviz.Digraph, graphviz.Digraph]:
    return backprop_lens.make_dot(var, **kwargs), torchviz.make_dot(var, **kwargs)


# -- torchviz's own test cases ------------------------------------------------------------------------------------
def test_mlp_make_dot() -> None:
    model, x = make_mlp_and_input()
    params = dict(model.named_parameters())
    y = model(x)
    ours, theirs = both(y.mean(), params=params)
    assert_same_as_torchviz(ours, theirs, params)
    text = "\n".join(labels(ours))
    for name in params:
        assert f"{name}\n" in text
    assert f"= {y.mean().item():.4g}" in text  # the output's value


def test_double_backprop_make_dot() -> None:
    model, x = make_mlp_and_input()
    x.requires_grad = True

    def double_backprop(inputs: torch.Tensor, net: nn.Module) -> torch.Tensor:
        y = net(x).mean()
        (grad,) = torch.autograd.grad(y, x, create_graph=True, retain_graph=True)
        return grad.pow(2).mean() + y

    params = dict([*model.named_parameters(), ("x", x)])
    out = double_backprop(x, model)
    assert_same_as_torchviz(*both(out, params=params), params)


def test_lstm_make_dot_takes_the_tuple_of_outputs() -> None:
    torch.manual_seed(0)
    lstm_cell = nn.LSTMCell(128, 128)
    x = torch.randn(1, 128)
    params = dict(lstm_cell.named_parameters())
    h, c = lstm_cell(x)
    ours, theirs = both((h, c), params=params)
    assert_same_as_torchviz(ours, theirs, params)
    assert sum(1 for s in skeleton(ours) if s[0] == "node" and s[2][:2] == ("tensor", "darkolivegreen1")) == 2
    # a list works too (torchviz takes only tuples): the same drawing
    assert skeleton(backprop_lens.make_dot([h, c], params=params)) == skeleton(ours)


# -- the examples notebook and the docstring -----------------------------------------------------------------------
def test_show_attrs_and_show_saved() -> None:
    model, x = make_mlp_and_input()
    params = dict(model.named_parameters())
    y = model(x)
    ours, theirs = both(y, params=params, show_attrs=True, show_saved=True)
    assert_same_as_torchviz(ours, theirs, params)
    text = "\n".join(labels(ours))
    assert "mat1" in text and "mat2" in text and "result" in text  # addmm's and tanh's saved tensors
    assert any(s[2][:2] == ("tensor", "orange") for s in skeleton(ours) if s[0] == "node")


@pytest.mark.parametrize("max_attr_chars", [3, 10, 50])
def test_max_attr_chars_bounds_each_attribute(max_attr_chars: int) -> None:
    w = torch.randn(3, 4, requires_grad=True)
    out = w.sum(dim=1, keepdim=True).expand(3, 5).reshape(15)
    dot = backprop_lens.make_dot(out, show_attrs=True, max_attr_chars=max_attr_chars)
    assert_same_as_torchviz(dot, torchviz.make_dot(out, show_attrs=True, max_attr_chars=max_attr_chars))
    rows = [line for label in labels(dot) for line in label.split("\n") if ": " in line]
    assert rows  # dim, keepdim, sizes ...
    for row in rows:
        assert len(row.split(": ", 1)[1]) <= max(max_attr_chars, 3)


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, k)
        return x * k

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, k = ctx.saved_tensors
        return grad * k, (grad * x).sum().reshape(k.shape)


def test_custom_function_saved_tensors_are_drawn_with_their_values() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    k = torch.tensor([3.0])
    out = Scale.apply(x, k).sum()
    ours, theirs = both(out, params={"x": x})
    assert_same_as_torchviz(ours, theirs, {"x": x})
    orange = [s for s in skeleton(ours) if s[0] == "node" and s[2][:2] == ("tensor", "orange")]
    assert len(orange) == 2
    text = "\n".join(labels(ours))
    assert "= [1, 2]" in text and "= 3" in text  # x and k as ctx saved them


def test_view_base_is_drawn_dotted() -> None:
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    base = w * 2
    view = base.view(4)
    assert view._is_view()
    ours, theirs = both(view, params={"w": w})
    assert_same_as_torchviz(ours, theirs, {"w": w})
    assert any(s[0] == "edge" and ("style", "dotted") in s[3] for s in skeleton(ours))
    assert any(s[0] == "node" and s[2][:2] == ("tensor", "darkolivegreen3") for s in skeleton(ours))


def test_a_leaf_is_one_node() -> None:
    w = torch.tensor([1.5, 2.5], requires_grad=True)
    for leaf in (w, torch.ones(3)):
        ours, theirs = both(leaf, params={"w": w})
        assert_same_as_torchviz(ours, theirs, {"w": w})
        assert len(ours.body) == 1
    assert labels(backprop_lens.make_dot(w, params={"w": w})) == ["w\n(2)\n= [1.5, 2.5]"]


def test_big_graphs_get_torchvizs_size() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    out = w
    for _ in range(60):
        out = torch.sin(out) * 1.01
    ours, theirs = both(out, params={"w": w})
    assert_same_as_torchviz(ours, theirs, {"w": w})
    assert ours.graph_attr["size"] == f"{len(ours.body) * 0.15},{len(ours.body) * 0.15}"  # > 12 inches
    assert len(ours.body) * 0.15 > 12


def test_deep_graphs_need_no_recursion() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    out = w
    for _ in range(3000):  # torchviz recurses once per node: past Python's limit of 1000 frames
        out = out + 1.0
    dot = backprop_lens.make_dot(out, params={"w": w})
    assert sum(1 for s in dot.body if " -> " in s) == 3000 + 1 + 1  # each add, w -> AccumulateGrad, -> output


# -- values, from plain PyTorch ------------------------------------------------------------------------------------
def test_values_and_gradients_on_the_nodes() -> None:
    w = torch.tensor([0.5], requires_grad=True)
    x = torch.tensor([2.0, 4.0])
    loss = ((x * w).sigmoid() - 1.0).pow(2).sum()
    before = backprop_lens.make_dot(loss, params={"w": w})
    loss.backward()
    after = backprop_lens.make_dot(loss, params={"w": w})
    (g,) = torch.autograd.grad(((x * w).sigmoid() - 1.0).pow(2).sum(), [w])
    sig = (x * w).sigmoid()
    text_before, text_after = "\n".join(labels(before)), "\n".join(labels(after))
    assert f"SigmoidBackward0  sigmoid\n= [{sig[0].item():.3g}, {sig[1].item():.3g}]" in text_before  # saved result
    assert "grad" not in text_before
    assert f"w\n(1)\n= 0.5\ngrad = {g.item():.4g}" in text_after
    assert f"= {loss.item():.4g}" in text_after


def test_inside_a_trace_every_op_shows_its_value() -> None:
    w = torch.tensor([0.5], requires_grad=True)
    with backprop_lens.trace(params={"w": w}):
        y = w * 4.0  # 2.0: a value autograd does not keep
        loss = y + 1.0
        dot = backprop_lens.make_dot(loss, params={"w": w})
    assert f"MulBackward0  *\n= {y.item():g}" in labels(dot)
    assert f"AddBackward0  +\n= {loss.item():g}" in labels(dot)


def test_after_backward_freed_saved_tensors_are_left_out() -> None:
    # torchviz raises here ("Trying to backward through the graph a second time ... already been freed")
    model, x = make_mlp_and_input()
    out = model(x).mean()
    out.backward()
    dot = backprop_lens.make_dot(out, params=dict(model.named_parameters()), show_attrs=True, show_saved=True)
    assert not any(s[2][:2] == ("tensor", "orange") for s in skeleton(dot) if s[0] == "node")
    with pytest.raises(RuntimeError, match="freed"):
        torchviz.make_dot(out, params=dict(model.named_parameters()), show_attrs=True, show_saved=True)


def test_signature_and_misuse() -> None:
    assert list(inspect.signature(backprop_lens.make_dot).parameters) == list(
        inspect.signature(torchviz.make_dot).parameters
    )
    w = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(TraceError, match=r"item 1 of the tuple is a str"):
        backprop_lens.make_dot((w * 2, "loss"))
    with pytest.raises(TraceError, match=r"the argument is a float"):
        backprop_lens.make_dot(1.0)
    with pytest.raises(TraceError, match="empty list"):
        backprop_lens.make_dot([])
    with pytest.raises(TraceError, match=r"params\['w'\] is a float"):
        backprop_lens.make_dot(w * 2, params={"w": 1.0})


def test_tensors_without_plain_values_still_draw() -> None:
    emb = nn.Embedding(5, 3, sparse=True)
    out = emb(torch.tensor([1, 2])).sum()
    out.backward()  # a sparse .grad
    params = dict(emb.named_parameters())
    ours, theirs = both(out, params=params)
    assert_same_as_torchviz(ours, theirs, params)
    assert any(label.endswith("grad = ? (sparse_coo)") for label in labels(ours))
    nested = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)], requires_grad=True)
    assert labels(backprop_lens.make_dot(nested * 2))[0] == "output\n(nested)\n= ?"  # torchviz raises on .size()
