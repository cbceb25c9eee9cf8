"""Property tests: whatever parameters arrive, a run is either refused with a named field or computed."""

from __future__ import annotations

import json

from backprop_lens.scenarios import SCENARIOS, InvalidParams, build_run
from backprop_lens.snapshot import step_to_dict, to_jsonable
from hypothesis import given, settings
from hypothesis import strategies as st

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
FIELDS = sorted({f for s in SCENARIOS.values() for f in s.Params.model_fields})
PARAMS = st.dictionaries(st.sampled_from([*FIELDS, "extra", "__class__"]), JSONISH, max_size=6)
SMALL = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.floats(min_value=1e-6, max_value=1e6),
        "epochs": st.integers(1, 3),
        "zero_grad": st.booleans(),
        "w": st.floats(-1e6, 1e6),
        "w1": st.floats(-1e6, 1e6),
    },
)


@settings(max_examples=150, deadline=1000)
@given(scenario=st.sampled_from(sorted(SCENARIOS)), raw=PARAMS)
def test_any_parameters_are_refused_with_a_field_or_accepted(scenario: str, raw: dict) -> None:
    try:
        run = build_run(scenario, raw, strict=True)
    except InvalidParams as e:
        assert e.errors and all(field and message for field, message in e.errors)
        return
    assert run.step_count >= 1


@settings(max_examples=40, deadline=None)  # the first trace imports torch._dynamo (seconds)
@given(scenario=st.sampled_from(["lecture04", "quadratic"]), raw=SMALL)
def test_small_valid_runs_always_give_valid_json(scenario: str, raw: dict) -> None:
    raw = {k: v for k, v in raw.items() if k in SCENARIOS[scenario].Params.model_fields}
    run = build_run(scenario, raw)
    json.dumps(to_jsonable(run.summary()), allow_nan=False)
    json.dumps(step_to_dict(run.step(run.step_count - 1)), allow_nan=False)
