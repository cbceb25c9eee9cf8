"""Names and source lines: scenarios name y_hat, the residual and the loss; every op node says which line of
code made it, and that line is in the scenario's own code the server hands out."""

from __future__ import annotations

import linecache

import pytest
import torch
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import graph_to_dict, step_to_dict
from backprop_lens.tracing import Tracer


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_op_node_has_a_source_line_in_the_scenarios_code(scenario: str) -> None:
    files = SCENARIOS[scenario].source_files()
    graph = step_to_dict(build_run(scenario, {"epochs": 1}).step(0))["graph"]
    ops = [n for n in graph["nodes"] if n["kind"] == "op"]
    assert ops
    for n in ops:
        src = n["source"]
        assert src is not None, n
        lines = files[src["file"]].splitlines()
        assert lines[src["line"] - 1].strip() == src["code"], (n["grad_fn"], src)
    names = {n["name"] for n in ops}
    assert {"y_hat", "loss"} <= names
    loss = next(n for n in ops if n["is_loss"])
    assert loss["name"] == "loss"


@pytest.mark.parametrize("scenario", ["lecture04", "quadratic", "affine", "gd_vs_sgd"])
def test_the_lectures_residual_is_named(scenario: str) -> None:
    graph = step_to_dict(build_run(scenario, {"epochs": 1}).step(0))["graph"]
    residual = next(n for n in graph["nodes"] if n["name"] == "y_hat - y")
    assert residual["grad_fn"] == "SubBackward0"
    if scenario == "lecture04":  # the lecture's own line (its code calls y_hat `y_pred`)
        assert residual["source"]["code"] == "return (y_pred - y) ** 2"
    else:
        assert residual["source"]["code"].count("y_hat - y") == 2  # the code line and the name it gives


def test_user_code_names_and_lines() -> None:
    """Outside the package the first frame outside torch is the user's: this test file, this function."""
    w = torch.tensor([1.0], requires_grad=True)
    with Tracer(params={"w": w}) as tracer:
        y_hat = tracer.name(w * 3.0, "y_hat")
        loss = (y_hat - 2.0) ** 2
        tracer.name(loss, "loss")
        loss.backward()
    graph = graph_to_dict(tracer.graph)
    by_name = {n["name"]: n for n in graph["nodes"] if n["kind"] == "op"}
    assert set(by_name) >= {"y_hat", "loss"}
    src = by_name["y_hat"]["source"]
    assert src["file"] == __file__
    assert src["code"] == 'y_hat = tracer.name(w * 3.0, "y_hat")'
    assert linecache.getline(__file__, src["line"]).strip() == src["code"]


def test_names_given_up_front() -> None:
    """`Tracer(names={"h": h})`: a result made before the block is named by its grad_fn."""
    w = torch.tensor([2.0], requires_grad=True)
    h = w * w
    with Tracer(params={"w": w}, names={"h": h}) as tracer:
        h.sum().backward()
    mul = next(n for n in graph_to_dict(tracer.graph)["nodes"] if n["grad_fn"] == "MulBackward0")
    assert mul["name"] == "h"


async def test_source_route(client) -> None:
    r = await client.get("/api/scenarios/lecture04/source")
    assert r.status_code == 200
    body = r.json()
    assert body["scenario"] == "lecture04"
    assert set(body["files"]) == set(SCENARIOS["lecture04"].source_files())
    assert "    return x * w\n" in body["files"]["backprop_lens/scenarios/scripts/lecture04.py"]
    missing = await client.get("/api/scenarios/nope/source")
    assert missing.status_code == 404
