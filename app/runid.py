"""Run ids that carry their configuration, so any server process can recompute a run after any restart.

    encode_run_id("lecture04", validated, defaults)  -> "lecture04"               (all defaults)
                                                     -> "lecture04~eNqrVs..."     (what differs, compressed)
    decode_run_id("lecture04~eNqrVs...")             -> ("lecture04", {"lr": 0.02})

The suffix is base64url (no padding) of zlib-compressed canonical JSON (sorted keys, no spaces) of the parameters
that differ from the scenario's defaults. Callers pass the *validated* `model_dump()`, so `0.01` and `1e-2`, or
`1` and `1.0` for a float field, give the same id. Decoding only parses; the caller validates the parameters again
(an id is user input). Pure Python: no torch, no pydantic.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

SEPARATOR = "~"  # unreserved in URLs (RFC 3986), never part of a scenario id or of base64url
MAX_ID_LENGTH = 64 * 1024  # 1,000 data points of arbitrary floats fit with room to spare
MAX_JSON_BYTES = 256 * 1024  # decompression bound: a tiny id cannot expand into a huge payload
_SCENARIO_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidRunId(ValueError):
    """The id is not one we could have made: wrong shape, bad encoding, corrupt or oversized payload."""


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, shortest float repr; NaN/Infinity are refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def changed_params(params: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters whose canonical JSON differs from the default's (so -0.0 differs from 0.0, True from 1)."""
    return {k: v for k, v in params.items() if k not in defaults or canonical_json(v) != canonical_json(defaults[k])}


def encode_run_id(scenario: str, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    if not _SCENARIO_ID.fullmatch(scenario):
        raise ValueError(f"not a scenario id: {scenario!r}")
    diff = changed_params(params, defaults)
    if not diff:
        return scenario
    packed = zlib.compress(canonical_json(diff).encode(), 9)
    return scenario + SEPARATOR + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_run_id(run_id: str) -> tuple[str, dict[str, Any]]:
    """(scenario id, raw changed parameters). Raises InvalidRunId; never anything else."""
    if len(run_id) > MAX_ID_LENGTH:
        raise InvalidRunId(f"run id is longer than {MAX_ID_LENGTH} characters")
    scenario, sep, payload = run_id.partition(SEPARATOR)
    if not _SCENARIO_ID.fullmatch(scenario):
        raise InvalidRunId("run id does not start with a scenario id")
    if not sep:
        return scenario, {}
    if not _B64URL.fullmatch(payload):
        raise InvalidRunId("run id payload is not base64url")
    try:
        packed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, MAX_JSON_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise InvalidRunId("run id payload is truncated or too large")
        diff = json.loads(text.decode("utf-8"), parse_constant=_refuse_constant)
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, InvalidRunId):
            raise
        raise InvalidRunId("run id payload is corrupt") from None
    if not isinstance(diff, dict) or not diff:
        raise InvalidRunId("run id payload is not a non-empty object of parameters")
    return scenario, diff


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a parameter value")
