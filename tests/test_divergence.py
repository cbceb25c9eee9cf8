"""A run that diverges is computed, not refused: its numbers match plain PyTorch, its JSON stays valid."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from backprop_lens.render import render
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import step_to_dict, to_jsonable

from tests.oracles import lecture04_log


@pytest.mark.parametrize("lr", [1.0, 10.0, 1e6])
def test_divergent_runs_are_computed_like_plain_pytorch(lr: float) -> None:
    run = build_run("lecture04", {"lr": lr, "epochs": 40})
    assert run.log_text == lecture04_log(lr=lr, epochs=40)
    assert run.diverged_at is not None
    first_bad = run.history.steps[run.diverged_at]
    assert not all(math.isfinite(v) for v in [first_bad.loss, *first_bad.params["w"].after])
    assert all(math.isfinite(s.loss) for s in run.history.steps[: run.diverged_at])


@pytest.mark.parametrize("lr", [1.0, 1e6])
def test_divergent_steps_give_valid_json_and_svg(lr: float) -> None:
    run = build_run("lecture04", {"lr": lr, "epochs": 40})
    text = json.dumps(to_jsonable(run.summary()), allow_nan=False)
    assert '"NaN"' in text or '"Infinity"' in text or '"-Infinity"' in text
    for k in (run.diverged_at, run.step_count - 1):
        step = run.step(k)
        json.dumps(step_to_dict(step), allow_nan=False)
        for phase in ("forward", "backward", "update"):
            ET.fromstring(render(step, phase=phase, fmt="svg"))


def test_a_converging_run_does_not_diverge() -> None:
    assert build_run("lecture04").diverged_at is None
