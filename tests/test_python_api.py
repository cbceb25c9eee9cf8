"""The Python API on real models: node values and gradients against torch.autograd, op nodes against the
autograd functions reachable from the loss."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import backprop_lens
import pytest
import torch
import torch.nn.functional as F
from backprop_lens.snapshot import graph_to_dict, plain_graph
from backprop_lens.tracing import TraceError

NO_BACKWARD = r"call loss\.backward\(\) \(or torch\.autograd\.grad\(loss, \.\.\.\)\) inside"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def reachable_ops(loss: torch.Tensor) -> Counter[str]:
    """Class names of the autograd functions reachable from loss.grad_fn, leaves (AccumulateGrad) excluded."""
    seen, stack = set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(child for child, _ in fn.next_functions)
    return Counter(type(fn).__name__ for fn in seen if type(fn).__name__ != "AccumulateGrad")


def op_nodes(graph) -> Counter[str]:
    return Counter(n.grad_fn for n in graph.nodes if n.kind == "op")


def node_for(graph, grad_fn: str, tensor: torch.Tensor):
    """The op node of class `grad_fn` whose forward value is this tensor's."""
    found = [n for n in graph.nodes if n.grad_fn == grad_fn and n.value == tensor.tolist()]
    assert len(found) == 1, f"{len(found)} {grad_fn} nodes with that value"
    return found[0]


def close(a, b) -> bool:
    return torch.allclose(torch.tensor(a), torch.as_tensor(b), rtol=1e-6, atol=1e-7)


def check_params(graph, model: torch.nn.Module) -> None:
    for name, p in model.named_parameters():
        node = graph.node(f"param:{name}")
        assert node.kind == "param" and node.name == name
        assert node.shape == tuple(p.shape)
        assert node.value == p.tolist()
        assert node.grad == p.grad.tolist()


# -- an MLP ------------------------------------------------------------------------------------------------------------
def mlp() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    return model, torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])


def test_mlp_ops_values_and_gradients() -> None:
    model, x, y = mlp()
    with backprop_lens.trace(model, inputs={"x": x, "y": y}) as t:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    graph = plain_graph(t.graph)
    assert op_nodes(graph) == reachable_ops(loss)
    check_params(graph, model)
    assert graph.root.value == loss.item() and graph.root.grad == 1.0
    assert graph.node("data:x").value == x.tolist() and graph.node("data:x").shape == (5, 4)

    # The same forward again, outside the trace: autograd's own gradients at every intermediate.
    h = model[0](x)
    a = model[1](h)
    out = model[2](a)
    g_h, g_a, g_out = torch.autograd.grad(F.cross_entropy(out, y), [h, a, out])
    assert close(node_for(graph, "AddmmBackward0", h).grad, g_h)
    assert close(node_for(graph, "ReluBackward0", a).grad, g_a)
    assert close(node_for(graph, "AddmmBackward0", out).grad, g_out)
    assert node_for(graph, "ReluBackward0", a).shape == (5, 8)
    assert node_for(graph, "ReluBackward0", a).module == "1"
    assert graph.node("param:0.weight").module == "0"


# -- a small CNN -------------------------------------------------------------------------------------------------------
class SmallCnn(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, kernel_size=3)
        self.fc = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1))


def test_cnn_ops_values_and_gradients() -> None:
    torch.manual_seed(1)
    model, x, target = SmallCnn(), torch.randn(2, 1, 6, 6), torch.randn(2, 2)
    with backprop_lens.trace(params=dict(model.named_parameters()), inputs={"x": x}, modules={"cnn": model}) as t:
        loss = F.mse_loss(model(x), target)
        loss.backward()
    graph = plain_graph(t.graph)
    assert op_nodes(graph) == reachable_ops(loss)
    assert "ConvolutionBackward0" in op_nodes(graph)
    check_params(graph, model)

    c = model.conv(x)
    r = F.relu(c)
    p = F.max_pool2d(r, 2)
    g_c, g_r, g_p = torch.autograd.grad(F.mse_loss(model.fc(p.flatten(1)), target), [c, r, p])
    conv = node_for(graph, "ConvolutionBackward0", c)
    assert conv.shape == (2, 2, 4, 4) and close(conv.grad, g_c)
    assert close(node_for(graph, "ReluBackward0", r).grad, g_r)
    assert close(node_for(graph, "MaxPool2DWithIndicesBackward0", p).grad, g_p)
    assert conv.module == "cnn.conv"
    assert graph.node("param:conv.weight").module == "cnn.conv"
    assert node_for(graph, "ReluBackward0", r).module == "cnn"  # F.relu runs in the model's own forward


# -- shared weights and a view -----------------------------------------------------------------------------------------
def test_shared_weight_and_view() -> None:
    torch.manual_seed(2)
    w = torch.randn(3, 3, requires_grad=True)
    x = torch.randn(2, 3)

    def forward(x):
        h = torch.tanh(x @ w)
        return (h.view(3, 2).t() @ w).pow(2).sum()

    with backprop_lens.trace(params={"W": w}, inputs={"x": x}) as t:
        loss = forward(x)
        loss.backward()
    graph = plain_graph(t.graph)
    assert op_nodes(graph) == reachable_ops(loss)
    assert "ViewBackward0" in op_nodes(graph)
    assert [n.id for n in graph.nodes].count("param:W") == 1
    assert len([e for e in graph.edges if e.source == "param:W"]) == 2  # used twice, one node
    (g_w,) = torch.autograd.grad(forward(x), [w])
    assert close(graph.node("param:W").grad, g_w)
    h = torch.tanh(x @ w)
    v = h.view(3, 2)
    g_h, g_v = torch.autograd.grad((v.t() @ w).pow(2).sum(), [h, v])
    assert close(node_for(graph, "TanhBackward0", h).grad, g_h)
    view = node_for(graph, "ViewBackward0", v)
    assert view.shape == (3, 2) and close(view.grad, g_v)
    # The gradients sent along the two edges out of W add up to W.grad.
    sent = [torch.tensor(e.grad) for e in graph.edges if e.source == "param:W"]
    assert close(sum(sent).tolist(), g_w)


# -- the trace object --------------------------------------------------------------------------------------------------
def scalar_trace():
    w = torch.tensor([1.0], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as t:
        loss = (2.0 * w - 4.0) ** 2
        loss.backward()
    return t


def test_to_dict_is_the_step_json_graph() -> None:
    t = scalar_trace()
    assert t.to_dict() == graph_to_dict(t.graph)
    json.dumps(t.to_dict(), allow_nan=False)
    assert {n["id"] for n in t.to_dict()["nodes"]} >= {"param:w"}
    assert plain_graph(t.graph).node("param:w").grad == [-8.0]


@needs_dot
def test_svg_and_jupyter() -> None:
    t = scalar_trace()
    svg = t.svg()
    assert isinstance(svg, str) and "<svg" in svg
    assert "<svg" in t.svg(phase="forward", theme="dark")


def test_capture_inside_the_block_gives_values_without_gradients() -> None:
    w = torch.tensor([3.0], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as t:
        out = torch.sigmoid(w * 2.0)
        graph = plain_graph(t.capture(out))
    assert graph.root.value == out.tolist() and graph.root.grad is None
    assert not t.has_gradients
    with pytest.raises(TraceError, match=NO_BACKWARD):
        t.svg()


def test_misuse_explains_what_to_do() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as t:
        out = (w * 2, w * 3)
        with pytest.raises(TraceError, match=r"pass the loss tensor, not a tuple: e\.g\. out\[0\]"):
            t.capture(out)
        with pytest.raises(TraceError, match="requires_grad=True"):
            t.capture(torch.ones(2) * 3)
    with pytest.raises(TraceError, match=NO_BACKWARD):
        _ = plain_graph(t.graph)
    with pytest.raises(TraceError, match="not a tensor"):
        backprop_lens.trace(params={"w": 1.0})


def test_trace_is_a_function_beside_the_tracing_package() -> None:
    # The tracer lives in backprop_lens.tracing; importing it must not shadow the API's `trace` function.
    import backprop_lens.tracing

    assert callable(backprop_lens.trace) and not isinstance(backprop_lens.trace, type(backprop_lens))
    assert isinstance(backprop_lens.trace(), backprop_lens.Trace)
    assert backprop_lens.tracing.Tracer is not None
    # `import backprop_lens` importing no torch is checked in test_architecture.py.


# -- names -------------------------------------------------------------------------------------------------------------
def test_names_inside_the_block_and_from_trace() -> None:
    w, x = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0])
    with backprop_lens.trace(params={"w": w}, inputs={"x": x}) as t:
        y_hat = t.name(x * w, "y_hat")
        loss = t.name((y_hat - 4.0) ** 2, "loss")
        loss.backward()
    named = {n.name: n for n in plain_graph(t.graph).nodes if n.kind == "op" and n.name}
    assert named["y_hat"].grad_fn == "MulBackward0" and named["y_hat"].value == (x * w).tolist()
    assert named["loss"].is_loss and named["loss"].value == ((x * w - 4.0) ** 2).tolist()

    h = x * w  # made before the block: named by trace(names=...)
    with backprop_lens.trace(params={"w": w}, names={"h": h}) as t2:
        (h - 4.0).pow(2).backward()
    assert [n.grad_fn for n in plain_graph(t2.graph).nodes if n.name == "h"] == ["MulBackward0"]


def test_names_misuse() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    t = backprop_lens.trace(params={"w": w})
    with pytest.raises(TraceError, match="inside the `with"):
        t.name(w * 2, "y_hat")
    with pytest.raises(TraceError, match=r"names\['y'\] is a float"):
        backprop_lens.trace(names={"y": 2.0})
    with pytest.raises(TraceError, match="non-empty string"), backprop_lens.trace() as t:
        t.name(w * 2, "")


# -- save and the notebook ---------------------------------------------------------------------------------------------
@needs_dot
def test_save_by_extension(tmp_path) -> None:
    t = scalar_trace()
    assert "<svg" in t.save(tmp_path / "step.svg").read_text()
    assert (tmp_path / "step.svg").read_text() == t.svg()
    assert t.save(tmp_path / "step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert t.save(str(tmp_path / "step.dot")).read_text().lstrip().startswith("digraph")
    assert json.loads(t.save(tmp_path / "step.json").read_text()) == t.to_dict()
    with pytest.raises(TraceError, match=r"\.svg, \.png, \.dot or \.json .* got 'step\.pdf'"):
        t.save(tmp_path / "step.pdf")
    w = torch.tensor([3.0], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as fwd:
        fwd.capture(torch.sigmoid(w * 2.0))
    assert 'data-phase="forward"' in fwd.save(tmp_path / "forward.svg").read_text()  # no gradients: forward


@needs_dot
def test_notebook_svg_scales_down_to_the_output_width() -> None:
    t = scalar_trace()
    shown = t._repr_svg_()
    assert shown is not None and not shown.startswith("<?xml")
    root = shown[: shown.index(">") + 1]
    assert 'style="max-width: 100%; height: auto;"' in root and "viewBox=" in root
    assert shown.replace(' style="max-width: 100%; height: auto;"', "", 1) in t.svg()  # otherwise the same SVG
    assert backprop_lens.trace()._repr_svg_() is None  # nothing recorded: Jupyter falls back to the repr


# -- clear messages ----------------------------------------------------------------------------------------------------
def test_meta_device_is_refused_with_what_to_do() -> None:
    model = torch.nn.Linear(2, 1, device="meta")
    with pytest.raises(TraceError, match=r"'weight' is on the 'meta' device.*to_empty\(device='cpu'\)"):
        backprop_lens.trace(model)
    with backprop_lens.trace() as t:
        w = torch.ones(2, device="meta", requires_grad=True)
        with pytest.raises(TraceError, match="the loss is on the 'meta' device"):
            (w * 2).sum().backward()
    assert t.graphs == []


def test_complex_values_are_json_data() -> None:
    w = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as t:
        (w * w).abs().sum().backward()
    data = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    node = next(n for n in data["nodes"] if n["id"] == "param:w")
    assert node["value"] == [{"real": v.real, "imag": v.imag} for v in w.tolist()]
    assert node["grad"] == [{"real": v.real, "imag": v.imag} for v in w.grad.tolist()]


# -- torch.autograd.grad and several roots -----------------------------------------------------------------------------
def plain_grads(fn, *params: torch.Tensor) -> list[list[float]]:
    """The gradients plain PyTorch computes, on fresh copies of the parameters."""
    copies = [p.detach().clone().requires_grad_() for p in params]
    fn(*copies).backward()
    return [c.grad.tolist() for c in copies]


def test_autograd_grad_is_recorded() -> None:
    w = torch.tensor([1.5], requires_grad=True)

    def loss_of(w):
        return (2.0 * w - 4.0) ** 2

    with backprop_lens.trace(params={"w": w}) as t:
        (g,) = torch.autograd.grad(loss_of(w), [w])
    assert w.grad is None  # grad() leaves .grad alone
    assert t.has_gradients and plain_graph(t.graph).root.grad == [1.0]
    assert plain_graph(t.graph).node("param:w").grad == g.tolist() == plain_grads(loss_of, w)[0]
    assert op_nodes(plain_graph(t.graph)) == Counter({"PowBackward0": 1, "SubBackward0": 1, "MulBackward0": 1})

    with backprop_lens.trace(params={"w": w}) as t2:  # keywords, and an intermediate as the input
        y_hat = 2.0 * w
        (g_y,) = torch.autograd.grad(outputs=(y_hat - 4.0) ** 2, inputs=y_hat)
    assert node_for(plain_graph(t2.graph), "MulBackward0", y_hat).grad == g_y.tolist()


def test_double_backprop_records_both_passes() -> None:
    w = torch.tensor([0.5], requires_grad=True)
    with backprop_lens.trace(params={"w": w}) as t:
        y = (w**3).sum()
        (g,) = torch.autograd.grad(y, w, create_graph=True)
        (g.pow(2).sum() + y).backward()
    assert len(t.graphs) == 2
    expected = plain_grads(
        lambda v: torch.autograd.grad((v**3).sum(), v, create_graph=True)[0].pow(2).sum() + (v**3).sum(), w
    )
    assert plain_graph(t.graphs[1]).node("param:w").grad == w.grad.tolist() == expected[0]


def test_backward_of_several_losses_records_every_root() -> None:
    w = torch.tensor([1.0], requires_grad=True)

    def losses(w):
        return (3.0 * w - 1.0) ** 2, w.exp()

    with backprop_lens.trace(params={"w": w}) as alone:
        l1 = losses(w)[0]
        l1.backward()
    w.grad = None
    with backprop_lens.trace(params={"w": w}) as t:
        l1, l2 = losses(w)
        torch.autograd.backward([l1, l2])
    graph = plain_graph(t.graph)
    assert len(t.graphs) == 1
    assert sorted(n.grad_fn for n in graph.nodes if n.is_loss) == ["ExpBackward0", "PowBackward0"]
    assert op_nodes(graph) == reachable_ops(l1) + reachable_ops(l2)
    assert graph.node("param:w").grad == plain_grads(lambda v: sum(losses(v)).sum(), w)[0]
    assert {n.id: n.grad_fn for n in plain_graph(alone.graph).nodes}.items() <= {
        n.id: n.grad_fn for n in graph.nodes
    }.items()


def test_the_readme_example_shows_what_the_readme_says() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Python API") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("```\n", start)]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # our own README's example, run as a user would
    t, w = scope["t"], scope["w"]
    g = plain_graph(t.graph)
    (mul,) = [n for n in g.nodes if n.grad_fn == "MulBackward0"]
    (sub,) = [n for n in g.nodes if n.grad_fn == "SubBackward0"]
    (w_edge,) = [e for e in g.edges if e.source == "param:w"]
    # the numbers the README's picture names, from plain PyTorch
    x, y = scope["x"], scope["y"]
    v = w.detach().clone().requires_grad_()
    y_hat = x * v
    y_hat.retain_grad()
    diff = y_hat - y
    diff.retain_grad()
    (diff**2).backward()
    assert g.node("param:w").value == v.tolist() == [1.0] and g.node("param:w").grad == v.grad.tolist() == [-8.0]
    assert (mul.name, mul.value, mul.grad) == ("y_hat", y_hat.tolist(), y_hat.grad.tolist()) == ("y_hat", [2.0], [-4.0])
    assert (sub.value, sub.grad) == (diff.tolist(), diff.grad.tolist()) == ([-2.0], [-4.0])
    assert (g.root.value, g.root.grad) == ([4.0], [1.0])
    assert (w_edge.upstream, w_edge.local, w_edge.grad) == ([-4.0], [2.0], [-8.0])
    assert "value 1, grad -8" in section and "value 2, grad -4" in section and "-4 × 2 = -8 into w" in section
    assert t._repr_svg_() is not None


def test_autograd_grad_variants() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    u = torch.tensor([3.0], requires_grad=True)
    with backprop_lens.trace(params={"w": w, "u": u}) as t:
        g_w, g_u = torch.autograd.grad((w * 2).sum(), [w, u], allow_unused=True)  # u does not reach the loss
        (g2,) = torch.autograd.grad([(w * 2).sum(), (w**2).sum()], (w,))  # two outputs: two roots
    assert g_u is None and "param:u" not in {n.id for n in t.graphs[0].nodes}
    assert plain_graph(t.graphs[0]).node("param:w").grad == g_w.tolist() == [2.0, 2.0]
    second = plain_graph(t.graphs[1])
    assert len([n for n in second.nodes if n.is_loss]) == 2
    assert second.node("param:w").grad == g2.tolist() == plain_grads(lambda v: (v * 2).sum() + (v**2).sum(), w)[0]

    with backprop_lens.trace(params={"w": w}) as t2, pytest.warns(UserWarning, match="is_grads_batched=True"):
        (jac,) = torch.autograd.grad(w * 3, w, grad_outputs=torch.eye(2), is_grads_batched=True)
    assert jac.tolist() == [[3.0, 0.0], [0.0, 3.0]] and t2.graphs == []  # PyTorch's answer, nothing recorded
