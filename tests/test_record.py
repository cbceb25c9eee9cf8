"""record(): an unmodified training loop, every backward() one step, checked against a plain run of the script."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from backprop_lens.recording import record
from backprop_lens.snapshot import plain_graph

FIXTURES = Path(__file__).parent / "fixtures"
LECTURE = FIXTURES / "lecture04.py"


def plain_run(script: Path) -> str:
    """The script run as `python script.py`, without us: the oracle."""
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=script.parent, check=True)
    return done.stdout


def recorded(script: Path, **options):
    with record(**options) as rec:
        runpy.run_path(str(script), run_name="__main__")
    return rec


@pytest.fixture(scope="module")
def lecture():
    return plain_run(LECTURE)


@pytest.fixture(scope="module")
def lecture_rec():
    return recorded(LECTURE)


def test_the_lecture_passes_its_output_through(lecture: str, capsys: pytest.CaptureFixture[str]) -> None:
    rec = recorded(LECTURE, max_steps=0)
    assert capsys.readouterr().out == lecture  # passed through unchanged
    assert rec.log == lecture and not rec.steps


def test_the_lecture_in_process(lecture: str, lecture_rec) -> None:
    rec = lecture_rec
    assert rec.log == lecture
    assert len(lecture.splitlines()) == 402
    assert len(rec.steps) == len(rec.history) == 300
    grads = [float(line.split()[-1]) for line in lecture.splitlines() if line.startswith("\tgrad:")]
    assert [h.params["w"].grad[0] for h in rec.history] == grads
    step = rec.steps[2]
    assert step.params["w"].grad == [-16.228801727294922]  # the lecture's printed third grad line
    names = {n.name for n in step.graph.nodes if n.kind != "op"}
    assert names == {"w", "x", "y"}
    assert step.inputs == {"x": 3.0, "y": 6.0}
    assert (step.epoch, step.sample) == (0, 2)
    w = plain_graph(step.graph).node("param:w")
    assert w.grad == [-16.228801727294922] and w.value == step.params["w"].before


def test_after_is_what_the_next_forward_uses(lecture_rec) -> None:
    rec = lecture_rec
    w = torch.tensor([1.0])
    for h in rec.history:  # the lecture's update, replayed in plain PyTorch from the recorded gradient
        assert h.params["w"].before == w.tolist()
        w = w - 0.01 * torch.tensor(h.params["w"].grad)
        assert h.params["w"].after == w.tolist()
    assert [line.step for line in rec.lines[:5]] == [None, 0, 1, 2, 2]


def test_lines_know_their_step(lecture_rec) -> None:
    rec = lecture_rec
    grad_lines = [line for line in rec.lines if line.text.startswith("\tgrad:")]
    assert [line.step for line in grad_lines] == list(range(300))
    assert rec.lines[-1].text.startswith("predict (after training)") and rec.lines[-1].step == 299


def _per_step(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize(("script", "root"), [("lecture05.py", "model"), ("mlp_adam.py", "net")])
def test_modules_and_optimizers_equal_a_plain_run(script: str, root: str) -> None:
    """Parameters are named by the model's variable and their `named_parameters()` path (`net.0.weight`)."""
    expected = _per_step(plain_run(FIXTURES / script))
    rec = recorded(FIXTURES / script)
    assert len(rec.history) == len(rec.steps) == len(expected)
    for h, want in zip(rec.history, expected, strict=True):
        assert h.loss == want["loss"]
        assert {n: p.grad for n, p in h.params.items()} == {f"{root}.{n}": g for n, g in want["grad"].items()}
        assert {n: p.after for n, p in h.params.items()} == {f"{root}.{n}": a for n, a in want["after"].items()}
        assert h.epoch == want["epoch"]
    for prev, h in zip(rec.history, rec.history[1:], strict=False):
        assert {n: p.before for n, p in h.params.items()} == {n: p.after for n, p in prev.params.items()}


def test_lecture05_names() -> None:
    rec = recorded(FIXTURES / "lecture05.py")
    nodes = {n.id: n for n in rec.steps[0].graph.nodes}
    assert {"param:model.linear.weight", "param:model.linear.bias", "data:x_data", "data:y_data"} <= set(nodes)
    # zero_grad before backward: each step's .grad is its own contribution, not an accumulation
    for h in rec.history:
        assert all(p.grad == p.grad_step for p in h.params.values())


def test_a_loop_in_a_function_names_its_locals() -> None:
    def train() -> None:
        weight = torch.tensor([0.5], requires_grad=True)
        for inp, target in [(1.0, 3.0), (2.0, 5.0)]:
            loss = (inp * weight - target) ** 2
            loss.backward()
            with torch.no_grad():
                weight -= 0.1 * weight.grad
            # no zero_grad: gradients accumulate, and the step shows both

    with record() as rec:
        train()
    assert [s.graph.node("param:weight").name for s in rec.steps] == ["weight", "weight"]
    assert rec.steps[1].inputs == {"inp": 2.0, "target": 5.0}
    second = rec.steps[1].params["weight"]
    g0 = rec.steps[0].params["weight"].grad[0]
    assert second.grad[0] == pytest.approx(g0 + second.grad_step[0], rel=1e-6)
    assert rec.steps[0].params["weight"].after == second.before


def test_max_steps_and_every_bound_the_graphs_not_the_history(lecture: str) -> None:
    rec = recorded(LECTURE, max_steps=10, every=3)
    assert len(rec.history) == 300
    assert [s.index for s in rec.steps] == list(range(0, 30, 3))
    assert rec.history[299].params["w"].grad == [float(lecture.splitlines()[-3].split()[-1])]


def test_a_raising_script_keeps_what_was_recorded() -> None:
    with pytest.raises(RuntimeError, match="fails at step 2"), record() as rec:
        runpy.run_path(str(FIXTURES / "raises.py"), run_name="__main__")
    assert len(rec.steps) == 3
    assert rec.error is not None and "RuntimeError: the script fails at step 2" in rec.error
    last = rec.steps[2].params["w"]  # updated, then raised: `after` is what w held at the end
    assert last.after == (torch.tensor(last.before) - 0.01 * torch.tensor(last.grad)).tolist()
    assert sys.stdout is not None and rec.lines[-1].text.startswith("step 2")


def test_autograd_grad_in_a_loop_leaves_no_graphs_and_equals_plain_torch() -> None:
    def run() -> list[float]:
        torch.manual_seed(0)
        w = torch.randn(3, requires_grad=True)
        x = torch.randn(3)
        out = []
        for _ in range(5):
            (g,) = torch.autograd.grad((w * x).sin().sum(), w)
            out.extend(g.tolist())
            w = (w - 0.1 * g).detach().requires_grad_()
        return out

    expected = run()
    rec_ctx = record()
    with rec_ctx as rec:
        got = run()
    assert rec_ctx._tracer is not None
    assert rec_ctx._tracer.graphs == []
    assert got == expected
    assert rec.steps == [] and rec.history == []


LECTURE05_MOMENTUM = """
import torch
from torch import nn
torch.manual_seed(0)
x_data = torch.tensor([[1.0], [2.0], [3.0]])
y_data = torch.tensor([[2.0], [4.0], [6.0]])
model = nn.Linear(1, 1)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(6):
    y_pred = model(x_data)
    loss = criterion(y_pred, y_data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def test_sgd_momentum_updates_recompute_after() -> None:
    plain_globals: dict[str, object] = {}
    exec(LECTURE05_MOMENTUM, plain_globals)  # the same script, plainly: its final parameters
    with record() as rec:
        exec(LECTURE05_MOMENTUM, {})
    assert len(rec.history) == 6
    model = plain_globals["model"]
    assert isinstance(model, torch.nn.Module)
    for step in rec.history:
        for name, state in step.params.items():
            up = state.update
            assert up is not None and up.optimizer == "momentum", name
            mu, lr = up.hyper["momentum"], up.hyper["lr"]
            g = torch.tensor(up.grad)
            assert up.grad == state.grad and up.grad_source == "step"
            b0 = up.state_before.get("momentum_buffer")
            # torch.optim.SGD's documented rule: b <- g at the first step, else b <- momentum * b + g; w <- w - lr * b
            b = g.clone() if b0 is None else torch.tensor(b0).mul(mu).add(g)
            assert torch.equal(b, torch.tensor(up.state_after["momentum_buffer"]))
            after = torch.tensor(state.before).add(b, alpha=-lr)
            assert torch.equal(after, torch.tensor(state.after)), (step.index, name)
    weights = {n: torch.tensor(s.after) for n, s in rec.history[-1].params.items()}
    assert sorted(torch.cat([w.flatten() for w in weights.values()]).tolist()) == sorted(
        torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
    )


def test_a_plain_assignment_loop_claims_no_update() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    with record() as rec:
        for x in (1.0, 2.0):
            (w * x - 2.0).pow(2).sum().backward()
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
    assert [s.params["w"].update for s in rec.history] == [None, None]


OPTIMIZER_SCRIPT = """
import torch
from torch import nn
torch.manual_seed(0)
x_data = torch.tensor([[1.0], [2.0], [3.0]])
y_data = torch.tensor([[2.0], [4.0], [6.0]])
model = nn.Linear(1, 1)
criterion = nn.MSELoss()
optimizer = {make}
for epoch in range(5):
    loss = criterion(model(x_data), y_data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("adam", "torch.optim.Adam(model.parameters(), lr=0.1)"),
        ("adagrad", "torch.optim.Adagrad(model.parameters(), lr=0.1)"),
        ("rmsprop", "torch.optim.RMSprop(model.parameters(), lr=0.01)"),
    ],
)
def test_a_recorded_optimizer_says_what_it_did(name: str, make: str) -> None:
    """A user's loop with Adam, Adagrad or RMSprop: each step's update record names the optimizer and its state
    (read from optimizer.state), and the optimizer's documented rule applied to the record gives `after`; the
    last `after` is what the same script leaves in the model when run plainly."""
    from backprop_lens.snapshot import param_state_to_dict

    from tests.test_updates import check_params

    script = OPTIMIZER_SCRIPT.format(make=make)
    plain: dict[str, object] = {}
    exec(script, plain)
    with record() as rec:
        exec(script, {})
    assert len(rec.history) == 5
    for step in rec.history:
        params = {n: param_state_to_dict(p) for n, p in step.params.items()}
        assert all(p["update"]["optimizer"] == name for p in params.values()), params
        check_params(params)
    model = plain["model"]
    assert isinstance(model, torch.nn.Module)
    last = {n: torch.tensor(p.after) for n, p in rec.history[-1].params.items()}
    assert sorted(torch.cat([w.flatten() for w in last.values()]).tolist()) == sorted(
        torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
    )


@pytest.mark.parametrize("script", ["lecture04.py", "lecture05.py", "mlp_adam.py"])
def test_a_recording_read_back_from_json_is_the_recorded_one(script: str) -> None:
    """`serve --recording OUT.json` draws what `record()` drew: the JSON leaves each edge's upstream out (its
    target's grad), and reading puts it back, so graphs and pictures equal the in-process ones."""
    from backprop_lens.recording.jsonio import from_dict, to_dict
    from backprop_lens.render import render

    rec = recorded(FIXTURES / script, max_steps=4)
    back = from_dict(json.loads(json.dumps(to_dict(rec))))
    for ours, read in zip(rec.steps, back.steps, strict=True):
        assert read.graph == plain_graph(ours.graph)
        assert render(read) == render(ours)
