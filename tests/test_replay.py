"""Tracing step k of a run resumes from the state the history recorded: it must equal a replay from step 0."""

from __future__ import annotations

import json

import pytest
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import step_to_dict

CASES = [
    ("lecture04", {}),
    ("lecture04", {"zero_grad": False, "epochs": 10}),
    ("lecture04", {"lr": 1.0, "epochs": 20}),  # diverges: inf and nan restore as they were
    ("quadratic", {"epochs": 10}),
    ("quadratic", {"zero_grad": False, "epochs": 5, "x": [0.5, -2.0], "y": [1.0, 3.0]}),
]


def _as_json(step) -> str:
    return json.dumps(step_to_dict(step), sort_keys=True)


@pytest.mark.parametrize(("scenario", "params"), CASES, ids=str)
def test_resumed_steps_equal_a_replay_from_the_start(scenario: str, params: dict) -> None:
    assert SCENARIOS[scenario].resumable
    resumed = build_run(scenario, params)
    from_start = build_run(scenario, params)
    from_start._resume_point = lambda k: None  # force the plain replay from step 0
    last = resumed.step_count - 1
    for k in sorted({1, 2, 3, 7, last // 2, last}):
        assert _as_json(resumed.step(k)) == _as_json(from_start.steps(k, k + 1)[0]), k
    assert _as_json(resumed.steps(4, 9)[2]) == _as_json(from_start.step(6))
