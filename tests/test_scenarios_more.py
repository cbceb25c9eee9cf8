"""The course's other scenarios against plain PyTorch loops written here (never against our own output)."""

from __future__ import annotations

import pytest
import torch
from backprop_lens.cli import main
from backprop_lens.scenarios import MAX_STEPS, SCENARIOS, InvalidParams, build_run


# -- plain PyTorch oracles -----------------------------------------------------------------------------------
def sgd_log(forward, names, init, lr=0.01, epochs=100, xs=(1.0, 2.0, 3.0), ys=(2.0, 4.0, 6.0)) -> str:
    """Lecture 04's loop for a model of several scalar parameters: one gradient per parameter on the grad line."""
    p = {n: torch.tensor([v], requires_grad=True) for n, v in zip(names, init, strict=True)}
    lines = [f"predict (before training) 4 {forward(4, p).item()}"]
    for epoch in range(epochs):
        for x, y in zip(xs, ys, strict=True):
            l = (forward(x, p) - y) ** 2  # noqa: E741
            l.backward()
            lines.append("\tgrad: " + " ".join(str(v) for v in [x, y, *(p[n].grad.item() for n in names)]))
            for t in p.values():
                t.data = t.data - lr * t.grad.data
                t.grad.data.zero_()
        lines.append(f"progress: {epoch} {l.item()}")
    lines.append(f"predict (after training) 4 {forward(4, p).item()}")
    return "".join(line + "\n" for line in lines)


class Lecture05Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


OPTIMIZERS = {
    "sgd": lambda ps, lr: torch.optim.SGD(ps, lr=lr),
    "momentum": lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9),
    "adam": lambda ps, lr: torch.optim.Adam(ps, lr=lr),
    "adagrad": lambda ps, lr: torch.optim.Adagrad(ps, lr=lr),
    "rmsprop": lambda ps, lr: torch.optim.RMSprop(ps, lr=lr),
}


def batch_oracle(model_fn, criterion, x, y, *, epochs, lr, optimizer="sgd", seed=0):
    """Lecture 05's loop: returns (losses, final named parameters)."""
    torch.manual_seed(seed)
    model = model_fn()
    opt = OPTIMIZERS[optimizer](model.parameters(), lr)
    losses = []
    for _ in range(epochs):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses, {n: p.tolist() for n, p in model.named_parameters()}, model


def run_losses(run) -> list[float]:
    return [s.loss for s in run.history.steps]


# -- affine ----------------------------------------------------------------------------------------------------
def test_affine_log_equals_the_plain_loop() -> None:
    expected = sgd_log(lambda x, p: x * p["w"] + p["b"], ("w", "b"), (1.0, 1.0))
    assert build_run("affine").log_text == expected


def test_affine_with_other_values() -> None:
    run = build_run("affine", {"w": 0.5, "b": -1.0, "lr": 0.02, "epochs": 3})
    assert run.log_text == sgd_log(lambda x, p: x * p["w"] + p["b"], ("w", "b"), (0.5, -1.0), lr=0.02, epochs=3)
    assert set(run.history.steps[0].params) == {"w", "b"}


# -- gd_vs_sgd ----------------------------------------------------------------------------------------------------
def plain_gd(epochs=100, lr=0.01, w0=1.0, xs=(1.0, 2.0, 3.0), ys=(2.0, 4.0, 6.0)):
    w = torch.tensor([w0], requires_grad=True)
    x, y = torch.tensor(xs), torch.tensor(ys)
    out = []
    for _ in range(epochs):
        l = ((x * w - y) ** 2).mean()  # noqa: E741
        l.backward()
        w.data = w.data - lr * w.grad.data
        w.grad.data.zero_()
        out.append((l.item(), w.item()))
    return out


def test_gd_mode_is_full_batch_gradient_descent() -> None:
    run = build_run("gd_vs_sgd", {"mode": "gd", "epochs": 20})
    assert run.step_count == 20
    expected = plain_gd(epochs=20)
    assert [(s.loss, s.params["w"].after[0]) for s in run.history.steps] == expected
    assert all(s.sample is None for s in run.history.steps)
    epoch_lines = [line for line in run.log_text.splitlines() if line.startswith("Epoch:")]
    assert epoch_lines[0].startswith(f"Epoch: 0 | GD: w= {expected[0][1]} loss= {expected[0][0]} | SGD: w= ")
    ops = {n.grad_fn for n in run.step(3).graph.nodes}
    assert "MeanBackward0" in ops


def test_sgd_mode_is_lecture_04_beside_gd() -> None:
    gd = build_run("gd_vs_sgd", {"mode": "gd", "epochs": 5})
    sgd = build_run("gd_vs_sgd", {"mode": "sgd", "epochs": 5})
    assert sgd.step_count == 15
    lecture = sgd_log(lambda x, p: x * p["w"], ("w",), (1.0,), epochs=5)
    grad_lines = [line for line in lecture.splitlines() if line.startswith("\tgrad:")]
    assert [line for line in sgd.log_text.splitlines() if line.startswith("\tgrad:")] == grad_lines
    # Both modes print both methods, measured the same way: the epoch lines agree.
    assert [line for line in gd.log_text.splitlines() if line.startswith("Epoch:")] == [
        line for line in sgd.log_text.splitlines() if line.startswith("Epoch:")
    ]


# -- linear_module ------------------------------------------------------------------------------------------------
X3, Y3 = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[2.0], [4.0], [6.0]])


def test_linear_module_log_is_lecture_05() -> None:
    run = build_run("linear_module", {"epochs": 30})
    losses, final, model = batch_oracle(Lecture05Model, torch.nn.MSELoss(reduction="sum"), X3, Y3, epochs=30, lr=0.01)
    expected = [f"Epoch: {e} | Loss: {v} " for e, v in enumerate(losses)]
    expected.append(f"Prediction (after training) 4 {model(torch.tensor([[4.0]])).item()}")
    assert run.log_text.splitlines() == expected
    assert {n: p.after for n, p in run.history.steps[-1].params.items()} == final
    assert list(run.history.steps[0].params) == ["linear.weight", "linear.bias"]


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_linear_module_optimizers(optimizer: str) -> None:
    run = build_run("linear_module", {"epochs": 12, "optimizer": optimizer, "seed": 3, "lr": 0.05})
    losses, final, _ = batch_oracle(
        Lecture05Model, torch.nn.MSELoss(reduction="sum"), X3, Y3, epochs=12, lr=0.05, optimizer=optimizer, seed=3
    )
    assert run_losses(run) == losses
    assert {n: p.after for n, p in run.history.steps[-1].params.items()} == final
    # The update phase shows the optimizer's real update: before -> after differs from plain lr * grad
    # except for plain SGD.
    s = run.history.steps[5]
    w = s.params["linear.weight"]
    sgd_after = w.before[0][0] - 0.05 * w.grad[0][0]
    assert (abs(w.after[0][0] - sgd_after) < 1e-6) == (optimizer == "sgd")


def test_linear_module_replay_reproduces_optimizer_state() -> None:
    run = build_run("linear_module", {"epochs": 8, "optimizer": "adam"})
    step = run.step(6)
    assert step.params == run.history.steps[6].params
    weight = step.graph.node("param:linear.weight")
    assert weight.value.tolist() == run.history.steps[6].params["linear.weight"].before  # snapshots keep tensors
    assert weight.module == "linear"
    assert {n.module for n in step.graph.nodes if n.grad_fn == "AddmmBackward0"} == {"linear"}


def test_seed_changes_the_start_and_is_reproducible() -> None:
    a = build_run("linear_module", {"epochs": 2, "seed": 1}).history.steps[0].params
    b = build_run("linear_module", {"epochs": 2, "seed": 1}).history.steps[0].params
    c = build_run("linear_module", {"epochs": 2, "seed": 2}).history.steps[0].params
    assert a == b != c


def test_seeding_leaves_the_callers_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_run("linear_module", {"epochs": 2}).history  # noqa: B018
    assert torch.equal(torch.rand(3), expected)


# -- logistic -------------------------------------------------------------------------------------------------------
class Lecture06Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


def test_logistic_is_lecture_06() -> None:
    run = build_run("logistic", {"epochs": 40, "lr": 0.5})
    y = torch.tensor([[0.0], [0.0], [1.0]])
    losses, _, model = batch_oracle(Lecture06Model, torch.nn.BCELoss(), X3, y, epochs=40, lr=0.5)
    assert run_losses(run) == losses
    lines = run.log_text.splitlines()
    assert lines[:40] == [f"Epoch {e + 1}/40 | Loss: {v:.4f}" for e, v in enumerate(losses)]
    p7 = model(torch.tensor([[7.0]])).item()
    assert lines[-1] == f"Prediction after 7 hours of training: {p7:.4f} | Above 50%: {p7 > 0.5}"
    assert run.history.steps[-1].prediction == p7
    assert "SigmoidBackward0" in {n.grad_fn for n in run.step(0).graph.nodes}


def test_logistic_refuses_targets_outside_0_1() -> None:
    with pytest.raises(InvalidParams) as e:
        build_run("logistic", {"y": [0, 2, 1]})
    assert e.value.errors[0][0] == "y.1"


# -- two_layer --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["sigmoid", "none"])
def test_two_layer_against_plain_loop(activation: str) -> None:
    xs, ys = [-2.0, -1.0, 0.0, 1.0, 2.0], [4.0, 1.0, 0.0, 1.0, 4.0]

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer1 = torch.nn.Linear(1, 4)
            self.act = torch.nn.Sigmoid() if activation == "sigmoid" else torch.nn.Identity()
            self.layer2 = torch.nn.Linear(4, 1)

        def forward(self, x):
            return self.layer2(self.act(self.layer1(x)))

    make = Net

    x, y = torch.tensor([[v] for v in xs]), torch.tensor([[v] for v in ys])
    losses, final, _ = batch_oracle(make, torch.nn.MSELoss(), x, y, epochs=60, lr=0.1)
    run = build_run("two_layer", {"activation": activation, "epochs": 60})
    assert run_losses(run) == losses
    assert {n: p.after for n, p in run.history.steps[-1].params.items()} == final


def test_two_layer_nonlinearity_matters() -> None:
    with_sigmoid = build_run("two_layer", {"activation": "sigmoid"}).history.steps[-1].loss
    without = build_run("two_layer", {"activation": "none"}).history.steps[-1].loss
    assert with_sigmoid < 0.1 < 2.0 < without  # a line cannot fit the parabola (best line: loss 2.8)


# -- softmax ---------------------------------------------------------------------------------------------------------
def test_softmax_is_a_linear_classifier_with_cross_entropy() -> None:
    from backprop_lens.scenarios.softmax import LABELS, POINTS

    x, y = torch.tensor(POINTS), torch.tensor(LABELS)

    class Lecture09Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(2, 3)

        def forward(self, x):
            return self.linear(x)

    losses, _, model = batch_oracle(Lecture09Model, torch.nn.CrossEntropyLoss(), x, y, epochs=30, lr=0.1)
    run = build_run("softmax", {"epochs": 30})
    assert run_losses(run) == losses
    lines = run.log_text.splitlines()
    assert lines[0] == f"Train Epoch: 0 | Loss: {losses[0]:.6f}"
    correct = int((model(x).argmax(dim=1) == y).sum())
    assert lines[-1] == f"Accuracy: {correct}/6 ({100 * correct / 6:.0f}%)"
    graph = run.step(2).graph
    assert {"LogSoftmaxBackward0", "NllLossBackward0"} <= {n.grad_fn for n in graph.nodes}
    assert graph.node("param:linear.weight").shape == (3, 2)


# -- custom ------------------------------------------------------------------------------------------------------------
def test_custom_with_the_homework_expression_equals_quadratic() -> None:
    custom = build_run("custom", {"model": "w1*x*x + w2*x + b", "loss": "(y_hat - y)**2"})
    quadratic = build_run("quadratic")
    assert custom.log_text == quadratic.log_text
    plain = sgd_log(lambda x, p: p["w1"] * x * x + p["w2"] * x + p["b"], ("w1", "w2", "b"), (1.0, 1.0, 1.0))
    assert custom.log_text == plain
    a, b = custom.step(7).graph, quadratic.step(7).graph

    def key(n):
        return (n.id, n.grad_fn, n.value, n.grad)

    assert [key(n) for n in a.nodes] == [key(n) for n in b.nodes]


def test_custom_other_model_and_loss_against_plain_loop() -> None:
    raw = {"model": "a*sigmoid(x) + c", "loss": "abs(y_hat - y) + 0.1*a**2", "params": "a=0.5, c=-1", "epochs": 4}
    run = build_run("custom", raw)
    a = torch.tensor([0.5], requires_grad=True)
    c = torch.tensor([-1.0], requires_grad=True)
    losses = []
    for _ in range(4):
        for x, y in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], strict=True):
            y_hat = a * torch.sigmoid(torch.tensor(x)) + c
            l = torch.abs(y_hat - y) + 0.1 * a**2  # noqa: E741
            l.backward()
            losses.append(l.item())
            for t in (a, c):
                t.data = t.data - 0.01 * t.grad.data
                t.grad.data.zero_()
    assert run_losses(run) == losses
    assert list(run.history.steps[0].params) == ["a", "c"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"model": "__import__('os')"}, "model"),
        ({"loss": "y_hat.__class__"}, "loss"),
        ({"params": {"w1": 1.0, "w2": 1.0, "b": 1.0, "unused": 0.0}}, "params"),
        ({"params": {"x": 1.0}}, "params"),
        ({"params": "w1=one"}, "params"),
        ({"model": "x*2", "params": {"w": 1.0}, "loss": "(y_hat - y)**2"}, "params"),
    ],
)
def test_custom_refusals_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(InvalidParams) as e:
        build_run("custom", raw)
    assert e.value.errors[0][0] == field


def test_custom_refusal_on_the_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", "custom", "--model", "__import__('os').system('true')"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "model: `__import__` is not allowed (column 1)" in err


def test_custom_params_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "custom", "--model", "w*x + b", "--params", "w=1 b=1", "--epochs", "1"]) == 0
    expected = sgd_log(lambda x, p: p["w"] * x + p["b"], ("w", "b"), (1.0, 1.0), epochs=1)
    assert capsys.readouterr().out == expected


# -- all of them ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["affine", "gd_vs_sgd", "linear_module", "logistic", "two_layer", "softmax", "custom"])
def test_registered_bounded_and_pure(name: str) -> None:
    scenario = SCENARIOS[name]
    fields = scenario.Params.model_fields
    assert all(f.description for f in fields.values())
    with pytest.raises(InvalidParams) as e:
        build_run(name, {"epochs": 10_001})
    assert e.value.errors[0][0] == "epochs"
    if "x" in fields:
        with pytest.raises(InvalidParams) as e:
            n = MAX_STEPS // 10_000 + 1
            build_run(name, {"epochs": 10_000, "x": [1.0] * n, "y": [0.0] * n})
        assert "epochs" in [f for f, _ in e.value.errors]
    a, b = build_run(name, {"epochs": 3}), build_run(name, {"epochs": 3})
    assert a.log_text == b.log_text
    assert a.summary() == b.summary()
    last = a.step(a.step_count - 1)
    assert last.params == a.history.steps[-1].params
    assert last.graph.root is not None
