"""The built-in scenarios' optimizers never import torch._dynamo (issue 16: ~80 MB and ~3 s per server process,
issue 15: the server's memory), and still do what torch.optim's own `step()` does, number for number."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from backprop_lens.scenarios import optim
from backprop_lens.scenarios.batch import make_optimizer

OPTIMIZERS = ["sgd", "momentum", "adam", "adagrad", "rmsprop"]
FRESH = """
import sys
from backprop_lens.scenarios import Run, get_scenario, validate_params
for name in ["sgd", "momentum", "adam", "adagrad", "rmsprop"]:
    for scenario in ("linear_module", "two_layer", "logistic", "softmax"):
        s = get_scenario(scenario)
        run = Run(s, validate_params(s, {"epochs": 3, "optimizer": name}))
        run.compute_history()
        run.step(2)
print(sorted(m for m in sys.modules if m.startswith(("torch._dynamo", "sympy"))))
"""


def test_a_process_running_every_optimizer_never_imports_dynamo() -> None:
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout[-500:]


def test_the_optimizer_methods_are_found_where_torch_keeps_them() -> None:
    assert optim.without_dynamo_import()  # a torch that moved them would fall back (and import): this says so


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_step_is_torch_optim_step(name: str) -> None:
    """Two runs from one start, one stepping with optimizer.step(), one with optim.step(): equal bits, state too."""

    def train(stepper: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
        opt = make_optimizer(name, model.parameters(), 0.05)
        x = torch.randn(8, 2)
        for _ in range(4):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step() if stepper == "torch" else optim.step(opt)
        state = [v for p in model.parameters() for v in opt.state[p].values() if isinstance(v, torch.Tensor)]
        return [p.detach().clone() for p in model.parameters()], state

    (theirs, their_state), (ours, our_state) = train("torch"), train("ours")
    assert all(torch.equal(a, b) for a, b in zip(theirs, ours, strict=True))
    assert len(their_state) == len(our_state) and all(
        torch.equal(a, b) for a, b in zip(their_state, our_state, strict=True)
    )
