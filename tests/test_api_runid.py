"""The run-id codec: round trip, canonical form, and refusal of anything we could not have made."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from backprop_lens.runid import InvalidRunId, canonical_json, changed_params, decode_run_id, encode_run_id

DEFAULTS = {"lr": 0.01, "epochs": 100, "x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0], "zero_grad": True, "w": 1.0}


def _payload(raw: bytes) -> str:
    return "lecture04~" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_defaults_are_the_bare_scenario_id():
    assert encode_run_id("lecture04", dict(DEFAULTS), DEFAULTS) == "lecture04"
    assert decode_run_id("lecture04") == ("lecture04", {})


@pytest.mark.parametrize(
    "changes",
    [{"lr": 0.02}, {"epochs": 3, "w": -0.5}, {"x": [0.1] * 1000, "y": [0.2] * 1000}, {"zero_grad": False}],
)
def test_round_trip(changes):
    params = {**DEFAULTS, **changes}
    run_id = encode_run_id("lecture04", params, DEFAULTS)
    assert run_id.startswith("lecture04~")
    assert all(c.isalnum() or c in "-_~" for c in run_id)  # URL-safe, no padding
    assert decode_run_id(run_id) == ("lecture04", changes)


def test_key_order_and_float_spelling_do_not_change_the_id():
    a = {**DEFAULTS, "lr": 0.02, "w": 2.0}
    b = dict(reversed(list({**DEFAULTS, "w": 2.0, "lr": float("2e-2")}.items())))
    assert encode_run_id("lecture04", a, DEFAULTS) == encode_run_id("lecture04", b, DEFAULTS)


def test_values_equal_to_the_defaults_are_left_out_but_negative_zero_is_not():
    assert changed_params({**DEFAULTS, "lr": 0.01}, DEFAULTS) == {}
    assert changed_params({**DEFAULTS, "w": -0.0}, {**DEFAULTS, "w": 0.0}) == {"w": -0.0}


def test_canonical_json_refuses_non_finite():
    with pytest.raises(ValueError):
        canonical_json({"lr": float("nan")})


@pytest.mark.parametrize(
    "run_id",
    [
        "",
        "LECTURE04",
        "lecture04~",
        "lecture04~!!!",
        "lecture04~abc",
        "lecture 04",
        "../etc/passwd",
        "lecture04~" + "A" * 70_000,
        _payload(b"not zlib at all"),
        _payload(zlib.compress(b"[1, 2]")),
        _payload(zlib.compress(b"{}")),
        _payload(zlib.compress(b"{not json")),
        _payload(zlib.compress(b'{"lr": NaN}')),
        _payload(zlib.compress(b"\xff\xfe")),
        _payload(zlib.compress(b"[" * 100_000)),
        _payload(zlib.compress(b'{"x": "' + b"0" * 1_000_000 + b'"}')),  # a small id that inflates to 1 MB
        _payload(zlib.compress(b'{"lr": 0.02}')[:-3]),  # truncated
    ],
)
def test_invalid_ids_raise_invalid_run_id_only(run_id):
    with pytest.raises(InvalidRunId):
        decode_run_id(run_id)


def test_decoding_only_parses_validation_is_the_callers():
    run_id = _payload(zlib.compress(json.dumps({"lr": -1, "bogus": True}).encode()))
    assert decode_run_id(run_id) == ("lecture04", {"lr": -1, "bogus": True})
