"""Every edge's relation recomputes its gradient from the step JSON's own numbers; built-ins claim no opaque."""

from __future__ import annotations

import pytest
import torch
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import graph_to_dict, step_to_dict
from backprop_lens.tracing import Tracer

from tests.relation_check import check_graph, close, tensor

W_B = {"params": "w=1, b=0.5"}
CONFIGS = [
    ("lecture04", {}),
    ("quadratic", {}),
    ("affine", {}),
    ("gd_vs_sgd", {"mode": "gd"}),
    ("gd_vs_sgd", {"mode": "sgd"}),
    ("custom", {"model": "w*sigmoid(x) + tanh(b*x) + relu(w - b)", "loss": "(y_hat - y)**2", "params": "w=1, b=0.5"}),
    ("custom", {"model": "exp(w*x/4) + log(b*b + 1) + sqrt(w*w + 1)", "loss": "abs(y_hat - y)", "params": "w=1 b=1"}),
    ("custom", {"model": "sin(w*x) + cos(b) + softplus(w) + square(b*x)", "loss": "mean((y_hat - y)**2)"} | W_B),
    ("custom", {"model": "w*x/(b*b + 1) - sum(w*x)", "loss": "sum((y_hat - y)**2)"} | W_B),
    ("lecture04", {"zero_grad": False}),
    *[("linear_module", {"optimizer": o}) for o in ("sgd", "momentum", "adam", "adagrad", "rmsprop")],
    ("logistic", {}),
    ("two_layer", {"activation": "sigmoid"}),
    ("two_layer", {"activation": "none"}),
    ("softmax", {}),
]


@pytest.mark.parametrize(("scenario", "params"), CONFIGS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CONFIGS)])
def test_builtin_relations_recompute_and_none_is_opaque(scenario: str, params: dict) -> None:
    run = build_run(scenario, {"epochs": 3, **params})
    for k in (0, run.step_count // 2, run.step_count - 1):
        kinds = check_graph(step_to_dict(run.step(k))["graph"])
        assert "opaque" not in kinds, (scenario, k, kinds)
        assert kinds, "a graph with gradients has relations"


def test_every_builtin_scenario_is_covered() -> None:
    assert {s for s, _ in CONFIGS} == set(SCENARIOS)


def test_lecture04_is_elementwise_with_the_lectures_numbers() -> None:
    """Step 2 (x = 3, y = 6, w = 1.0199 after two updates): dL/dw = dL/dy_hat · x, all elementwise."""
    step = step_to_dict(build_run("lecture04").step(2))
    edges = {(e["source"], e["target"]): e for e in step["graph"]["edges"] if e["relation"]}
    assert {e["relation"]["kind"] for e in edges.values()} == {"elementwise"}
    nodes = {n["id"]: n for n in step["graph"]["nodes"]}
    w_edge = next(e for (s, _), e in edges.items() if s == "param:w")
    assert w_edge["relation"]["local"] == [3.0]  # d(x * w)/dw = x
    w = torch.tensor([1.0], requires_grad=True)  # the lecture's loop, plain, to step 2
    for x, y in ((1.0, 2.0), (2.0, 4.0), (3.0, 6.0)):
        loss = (x * w - y) ** 2
        loss.backward()
        if x == 3.0:
            break
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
    assert w_edge["grad"] == pytest.approx(w.grad.tolist(), rel=1e-6)
    assert w_edge["relation"]["formula"] == "∂L/∂w = ∂L/∂y_hat · x"
    assert nodes[w_edge["target"]]["name"] == "y_hat"


def test_linear_layer_weight_is_delta_transposed_times_x() -> None:
    """dL/dW = δᵀ·X: the operands are the matmul's upstream (transposed) and the data PyTorch saved."""
    step = step_to_dict(build_run("linear_module", {"epochs": 2}).step(1))
    nodes = {n["id"]: n for n in step["graph"]["nodes"]}
    w_edge = next(e for e in step["graph"]["edges"] if e["source"] == "param:linear.weight")
    rel = w_edge["relation"]
    assert rel["kind"] == "matmul"
    addmm = next(n for n in nodes.values() if n["grad_fn"] == "AddmmBackward0")
    assert close(tensor(rel["left"]), tensor(addmm["grad"]).T)  # δᵀ
    assert close(tensor(rel["right"]), tensor(nodes["data:x"]["value"]))  # X
    assert rel["formula"] == "∂L/∂linear.weight = (∂L/∂y_hat)ᵀ · x"
    bias = next(e for e in step["graph"]["edges"] if e["source"] == "param:linear.bias")
    assert bias["relation"]["kind"] == "reduce" and bias["relation"]["dims"] == [0]  # summed over the batch


# -- real models built here: every claimed relation recomputes --------------------------------------------


class Attention(torch.nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.q, self.k, self.v = torch.nn.Linear(d, d), torch.nn.Linear(d, d), torch.nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.q(x) @ self.k(x).transpose(-1, -2) / x.shape[-1] ** 0.5
        return torch.softmax(scores, dim=-1) @ self.v(x) + x


def _models() -> dict[str, tuple[torch.nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 2), torch.nn.BatchNorm2d(2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 1)
    )
    return {
        "mlp_layernorm": (mlp, torch.randn(5, 3)),
        "cnn_batchnorm": (cnn, torch.randn(2, 1, 3, 3)),
        "attention": (Attention(4), torch.randn(1, 3, 4)),
    }


class GruHead(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(2, 3, batch_first=True)
        self.head = torch.nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)
        return self.head(out[:, -1])


def traced(model: torch.nn.Module, x: torch.Tensor) -> tuple[dict, dict[str, torch.Tensor]]:
    params = dict(model.named_parameters())
    with Tracer(params=params, inputs={"x": x}, modules={"": model}) as tracer:
        loss = model(x).pow(2).mean()
        loss.backward()
    return graph_to_dict(tracer.graph), {n: p.grad.clone() for n, p in params.items()}


@pytest.mark.parametrize("name", ["mlp_layernorm", "cnn_batchnorm", "attention", "gru"])
def test_real_model_relations_recompute(name: str) -> None:
    torch.manual_seed(0)
    model, x = (GruHead(), torch.randn(1, 3, 2)) if name == "gru" else _models()[name]
    graph, grads = traced(model, x)
    kinds = check_graph(graph)
    assert kinds.get("opaque", 0) == 0, kinds  # small enough for a jacobian wherever nothing else holds
    plain_model = model  # the same parameters, plain autograd: the param edges carry exactly these gradients
    for p in plain_model.parameters():
        p.grad = None
    loss = plain_model(x).pow(2).mean()
    expected = dict(zip(grads, torch.autograd.grad(loss, list(plain_model.parameters())), strict=True))
    for n, g in expected.items():
        assert torch.allclose(grads[n], g, rtol=1e-5, atol=1e-7), n


def test_big_tensors_of_other_ops_claim_nothing() -> None:
    """A softmax over 100 elements: no elementwise, no matmul, too big for a jacobian: opaque, with its formula."""
    x = torch.randn(100, requires_grad=True)
    with Tracer(params={"x": x}) as tracer:
        loss = (torch.softmax(x, dim=0) * torch.arange(100.0)).sum()
        loss.backward()
    graph = graph_to_dict(tracer.graph)
    kinds = check_graph(graph)
    assert kinds.get("opaque") == 1, kinds
    opaque = next(e for e in graph["edges"] if e["relation"] and e["relation"]["kind"] == "opaque")
    assert "softmax" in opaque["relation"]["formula"]


def test_the_check_catches_a_false_claim() -> None:
    """The recomputation is no rubber stamp: one wrong local derivative fails it."""
    graph = step_to_dict(build_run("lecture04").step(0))["graph"]
    edge = next(e for e in graph["edges"] if e["source"] == "param:w")
    edge["relation"]["local"] = [edge["relation"]["local"][0] + 1.0]
    with pytest.raises(AssertionError):
        check_graph(graph)
