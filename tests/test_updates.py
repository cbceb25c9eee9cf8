"""The update record lets anyone recompute `after`: the optimizer's documented rule (written here, from the
torch.optim docs) applied to the record's own before, grad, hyper-parameters and state."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import step_to_dict

OPTIMIZERS = ["sgd", "momentum", "adam", "adagrad", "rmsprop"]


def t(value: Any) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def apply_rule(u: dict[str, Any], before: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """`after` and the new state, by the rule of the optimizer the record names (default options but lr)."""
    h, s, g = u["hyper"], u["state_before"], t(u["grad"])
    lr = h["lr"]
    if u["optimizer"] == "sgd":
        return before - lr * g, {}
    if u["optimizer"] == "momentum":
        buf = g if s.get("momentum_buffer") is None else h["momentum"] * t(s["momentum_buffer"]) + g
        return before - lr * buf, {"momentum_buffer": buf}
    if u["optimizer"] == "adam":
        (b1, b2), eps, step = h["betas"], h["eps"], s.get("step", 0.0) + 1
        m = b1 * t(s.get("exp_avg", 0.0)) + (1 - b1) * g
        v = b2 * t(s.get("exp_avg_sq", 0.0)) + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**step), v / (1 - b2**step)
        return before - lr * m_hat / (v_hat.sqrt() + eps), {"exp_avg": m, "exp_avg_sq": v, "step": t(step)}
    if u["optimizer"] == "adagrad":
        step = s.get("step", 0.0) + 1
        total = t(s.get("sum", 0.0)) + g * g
        clr = lr / (1 + (step - 1) * h["lr_decay"])
        return before - clr * g / (total.sqrt() + h["eps"]), {"sum": total, "step": t(step)}
    if u["optimizer"] == "rmsprop":
        sq = h["alpha"] * t(s.get("square_avg", 0.0)) + (1 - h["alpha"]) * g * g
        return before - lr * g / (sq.sqrt() + h["eps"]), {"square_avg": sq}
    raise AssertionError(u["optimizer"])


def check_params(params: dict[str, Any]) -> None:
    for name, p in params.items():
        u = p["update"]
        assert u is not None and u["formula"], name
        after, state = apply_rule(u, t(p["before"]))
        assert torch.allclose(after, t(p["after"]), rtol=1e-5, atol=1e-7), (name, u["optimizer"], after, p["after"])
        for key, value in state.items():
            assert torch.allclose(value, t(u["state_after"][key]), rtol=1e-5, atol=1e-9), (name, key)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("zero_grad", [True, False])
def test_every_optimizer_recomputes_after(optimizer: str, zero_grad: bool) -> None:
    run = build_run("linear_module", {"epochs": 4, "optimizer": optimizer, "zero_grad": zero_grad})
    for k in range(4):
        step = step_to_dict(run.step(k))
        check_params(step["params"])
        for p in step["params"].values():
            assert p["update"]["grad"] == p["grad"]  # the .grad the optimizer read
            assert p["update"]["grad_source"] == ("step" if zero_grad else "accumulated")
    history = run.summary()["history"]
    for h in history:
        check_params(h["params"])  # the history carries the same records


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_record_is_what_torch_optim_did(optimizer: str) -> None:
    """State read from optimizer.state: a plain torch.optim run in the test gives the same state."""
    run = build_run("two_layer", {"epochs": 2, "optimizer": optimizer})
    u = step_to_dict(run.step(1))["params"]["layer1.weight"]["update"]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))
    kinds = {"sgd": (torch.optim.SGD, {}), "momentum": (torch.optim.SGD, {"momentum": 0.9})}
    kinds |= {
        "adam": (torch.optim.Adam, {}),
        "adagrad": (torch.optim.Adagrad, {}),
        "rmsprop": (torch.optim.RMSprop, {}),
    }
    cls, extra = kinds[optimizer]
    opt = cls(model.parameters(), lr=0.1, **extra)
    x = torch.tensor([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
    y = torch.tensor([[4.0], [1.0], [0.0], [1.0], [4.0]])
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    state = opt.state[model[0].weight]
    assert set(u["state_after"]) == set(state)
    for key, value in state.items():
        mine = u["state_after"][key]
        if value is None:  # plain SGD keeps no momentum buffer
            assert mine is None
            continue
        assert torch.allclose(t(mine), t(value.tolist()), rtol=1e-6), key
    after = [p.tolist() for p in model[0].weight]
    assert torch.allclose(t(after), t(step_to_dict(run.step(1))["params"]["layer1.weight"]["after"]), rtol=1e-6)


@pytest.mark.parametrize("scenario", ["lecture04", "quadratic", "affine", "custom", "gd_vs_sgd"])
@pytest.mark.parametrize("zero_grad", [True, False])
def test_plain_scripts_update_with_the_gradient_they_read(scenario: str, zero_grad: bool) -> None:
    run = build_run(scenario, {"epochs": 2, "zero_grad": zero_grad})
    for k in range(min(4, run.step_count)):
        step = step_to_dict(run.step(k))
        check_params(step["params"])
        for name, p in step["params"].items():
            u = p["update"]
            assert (u["optimizer"], u["hyper"]) == ("sgd", {"lr": 0.01})
            assert u["formula"] == f"{name} ← {name} − lr · {name}.grad"
            assert u["grad"] == p["grad"]  # accumulated when zero_grad is off, not this step's part
            assert u["grad_source"] == ("step" if zero_grad else "accumulated")


def test_lecture04_accumulating_update_uses_the_sum_of_the_gradients() -> None:
    """zero_grad off: the lecture's loop without w.grad.data.zero_(), in plain PyTorch, step 1."""
    step = step_to_dict(build_run("lecture04", {"zero_grad": False}).step(1))
    w = torch.tensor([1.0], requires_grad=True)
    (1.0 * w - 2.0).pow(2).backward()
    w.data = w.data - 0.01 * w.grad.data
    (2.0 * w - 4.0).pow(2).backward()  # .grad is now the sum of both steps' gradients
    u = step["params"]["w"]["update"]
    assert u["grad"] == pytest.approx(w.grad.tolist(), rel=1e-6)
    assert not math.isclose(u["grad"][0], step["params"]["w"]["grad_step"][0])
