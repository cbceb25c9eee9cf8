"""The fast path for a known topology gives exactly what a full trace of every step gives.

The reference is the tracer with `fast.full_traces()`: every step walked, built and annotated from scratch, the
dispatch mode on for the whole forward. Gradients are also checked against torch.autograd.grad of a plain run.
"""

from __future__ import annotations

import copy
import runpy
from pathlib import Path

import pytest
import torch
from backprop_lens.recording import record
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import Graph, plain_graph
from backprop_lens.tracing import Datum, Tracer, fast
from torch import nn

FIXTURES = Path(__file__).parent / "fixtures"
STEPS = 12  # per scenario: the first step of a structure and enough later ones (Lecture 04: all 300, below)


@pytest.fixture(autouse=True)
def _fresh_templates():
    fast.clear()  # no template from an earlier test: the first step of each run is traced fully here too
    yield
    fast.clear()


def same(a: Graph, b: Graph) -> str:
    """repr of every field as plain numbers (NaN prints as nan, so two NaNs compare equal)."""
    return repr(plain_graph(a)) if a is not None else "", repr(plain_graph(b)) if b is not None else ""


def assert_same_graphs(fast_graphs: list[Graph], full_graphs: list[Graph]) -> None:
    assert len(fast_graphs) == len(full_graphs)
    for k, (a, b) in enumerate(zip(fast_graphs, full_graphs, strict=True)):
        ra, rb = same(a, b)
        assert ra == rb, f"step {k}"


def scenario_graphs(name: str, steps: int) -> list[Graph]:
    run = build_run(name)
    return [s.graph for s in run.steps(0, min(steps, run.step_count))]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_equals_a_full_trace_of_each_step(name: str) -> None:
    steps = 300 if name == "lecture04" else STEPS
    with fast.full_traces():
        full = scenario_graphs(name, steps)
    fast.clear()
    assert_same_graphs(scenario_graphs(name, steps), full)


@pytest.mark.parametrize("script", ["lecture04.py", "mlp_adam.py"])
def test_a_recorded_script_equals_a_full_trace(script: str) -> None:
    def graphs() -> list[Graph]:
        with record() as rec:
            runpy.run_path(str(FIXTURES / script), run_name="__main__")
        return [s.graph for s in rec.steps]

    with fast.full_traces():
        full = graphs()
    fast.clear()
    assert_same_graphs(graphs(), full)


def test_the_fast_path_is_taken_after_the_first_step() -> None:
    """Later steps of Lecture 04 reuse the first step's template and run their forward without the dispatch
    mode (the check above would pass trivially if every step were traced fully)."""
    build_run("lecture04").steps(0, 5)
    assert fast.stats() == {"full": 1, "filled": 4}


# -- a structure that changes mid-run ------------------------------------------------------------------------
def changing_loop(steps: int) -> tuple[list[Graph], list[dict[str, list]]]:
    """Per-sample steps whose graph changes: a branch on every third step, another batch size on others,
    a different constant. Returns the traced graphs and torch.autograd.grad of a plain replica of each step."""
    torch.manual_seed(0)
    w = torch.randn(3, 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    graphs, expected = [], []
    for k in range(steps):
        batch = 4 if k % 4 == 3 else 2
        xs = torch.linspace(-1, 1, batch * 3).reshape(batch, 3) + 0.1 * k
        scale = Datum(2.0 if k % 5 else 3.0)

        def loss_of(x, w=w, b=b, k=k, scale=scale):
            h = torch.tanh(x @ w + b)
            if k % 3 == 0:  # a branch taken on some steps only
                h = h * h
            return (h * scale).sum()

        # plain replica: the same numbers, without us
        wr, br = w.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
        gw, gb = torch.autograd.grad(loss_of(xs, wr, br), [wr, br])
        expected.append({"w": gw.tolist(), "b": gb.tolist()})
        with Tracer(params={"w": w, "b": b}, inputs={"x": xs, "scale": scale}) as t:
            loss_of(xs).backward()
        graphs.append(t.graph)
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad = None
            b.grad = None
    return graphs, expected


def test_a_structure_that_changes_mid_run_is_never_given_a_wrong_topology() -> None:
    with fast.full_traces():
        full, _ = changing_loop(12)
    fast.clear()
    fast_graphs, expected = changing_loop(12)
    assert_same_graphs(fast_graphs, full)
    assert fast.stats()["filled"] >= 4  # the repeated structures were filled, not traced anew
    for graph, want in zip(fast_graphs, expected, strict=True):
        grads = {n.name: n.grad for n in plain_graph(graph).nodes if n.kind == "param"}
        for name in ("w", "b"):
            assert torch.allclose(torch.tensor(grads[name]), torch.tensor(want[name]), rtol=1e-6, atol=1e-7)


# -- fidelity: the graph PyTorch builds without us -----------------------------------------------------------
class Block(nn.Module):
    """A transformer block by hand. The heads are split by a reshape of a chunk of `qkv` (non-contiguous, but
    viewable: PyTorch builds `_reshape_alias` there, and `view` under any dispatch mode) and merged by a copying
    reshape (a clone no Python-level call returns)."""

    def __init__(self, d: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, s, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1) @ v
        merged = att.transpose(1, 2)[:, 0].reshape(n, d)  # not viewable: clone + _unsafe_view
        h = self.norm(x[:, 0] + self.out(merged))
        return h + self.ff(h)


def grad_fn_names(loss: torch.Tensor) -> list[str]:
    from backprop_lens.tracing.walk import Walk

    return sorted(type(gf).__name__ for gf in Walk.from_root(loss.grad_fn).order)


def test_a_transformer_block_is_the_graph_pytorch_builds_without_us() -> None:
    torch.manual_seed(0)
    block = Block()
    x = torch.randn(2, 3, 8)
    params = dict(block.named_parameters(prefix="block"))
    loss = block(x).pow(2).sum()
    untraced = grad_fn_names(loss)
    assert "ReshapeAliasBackward0" in untraced  # the case the issue names
    expected = dict(zip(params, torch.autograd.grad(loss, list(params.values())), strict=True))
    graphs = []
    for _ in range(3):
        with Tracer(params=params, modules={"block": block}, inputs={"x": x}) as t:
            block(x).pow(2).sum().backward()
        graphs.append(plain_graph(t.graph))
        block.zero_grad()
    # every step after the first as PyTorch builds it (the first runs under the dispatch mode, to learn the model)
    for g in graphs[1:]:
        assert sorted(n.grad_fn for n in g.nodes if n.kind in ("op", "param")) == untraced
        assert all(n.value is not None for n in g.nodes if n.kind == "op"), "a value the function mode missed"
        grads = {n.name: n.grad for n in g.nodes if n.kind == "param"}
        for name, want in expected.items():
            assert torch.allclose(torch.tensor(grads[name]), want, rtol=1e-5, atol=1e-6), name


# -- constants no formula prints: a new image, a new target at every step ------------------------------------
def conv_loop(steps: int) -> tuple[list[Graph], list[dict[str, torch.Tensor]]]:
    """A conv net with BatchNorm on a new image and class at every step (an image is a constant of 300 numbers,
    more than a signature keeps); returns the graphs and torch.autograd.grad of a plain replica of each step."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    params = dict(net.named_parameters())
    graphs, expected = [], []
    for k in range(steps):
        x, y = torch.randn(1, 3, 10, 10), torch.tensor([k % 5])
        replica = copy.deepcopy(net)
        loss = nn.functional.cross_entropy(replica(x), y)
        expected.append(dict(zip(params, torch.autograd.grad(loss, list(replica.parameters())), strict=True)))
        with Tracer(params=params, modules={"": net}) as t:
            nn.functional.cross_entropy(net(x), y).backward()
        graphs.append(t.graph)
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
                p.grad = None
    return graphs, expected


def test_a_new_image_and_target_at_every_step_take_the_template() -> None:
    with fast.full_traces():
        full, _ = conv_loop(6)
    fast.clear()
    fast_graphs, expected = conv_loop(6)
    assert fast.stats() == {"full": 1, "filled": 5}
    assert_same_graphs(fast_graphs, full)
    for graph, want in zip(fast_graphs, expected, strict=True):
        grads = {n.name: n.grad for n in graph.nodes if n.kind == "param"}
        for name, g in want.items():
            assert torch.allclose(grads[name], g, rtol=1e-5, atol=1e-6), name
