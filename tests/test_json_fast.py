"""Step JSON (issue 16): a tensor becomes `tolist()` once, and a real, all-finite one is a `Clean` list that no
later pass walks again; the bytes stay exactly what the plain recursive conversion writes (NaN, Infinity,
complex numbers included)."""

from __future__ import annotations

import json
import math
from typing import Any

import backprop_lens
import pytest
import torch
from backprop_lens import snapshot
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import Clean, graph_to_dict, step_to_dict, to_jsonable


def reference_jsonable(value: Any) -> Any:
    """The conversion as it was before issue 16: every number visited in Python (the oracle)."""
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, (list, tuple)):
        return [reference_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: reference_jsonable(v) for k, v in value.items()}
    if isinstance(value, complex):
        return {"real": reference_jsonable(value.real), "imag": reference_jsonable(value.imag)}
    return value


def encode(data: Any) -> bytes:
    # what web/responses.dumps does: to_jsonable again on the dict, strict JSON
    return json.dumps(to_jsonable(data), allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def reference_bytes(make: Any, monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(snapshot, "to_jsonable", reference_jsonable)
        data = make()
    return json.dumps(reference_jsonable(data), allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


SCENARIOS = [
    ("lecture04", {"epochs": 1}),
    ("lecture04", {"lr": 10.0, "epochs": 10}),  # diverges at step 11: Infinity, then NaN
    ("quadratic", {"epochs": 1, "zero_grad": False}),
    ("linear_module", {"epochs": 1, "optimizer": "adam"}),
    ("two_layer", {"epochs": 1}),
    ("softmax", {"epochs": 1}),
]


@pytest.mark.parametrize(("name", "params"), SCENARIOS)
def test_step_json_bytes_equal_the_plain_conversion(name: str, params: dict[str, Any], monkeypatch: Any) -> None:
    run = build_run(name, params)
    for k in sorted({0, 12, run.step_count // 2, run.step_count - 1} & set(range(run.step_count))):
        step = run.step(k)
        assert encode(step_to_dict(step)) == reference_bytes(lambda s=step: step_to_dict(s), monkeypatch)


def test_the_diverging_run_writes_nan_and_infinity_as_before(monkeypatch: Any) -> None:
    run = build_run("lecture04", {"lr": 10.0, "epochs": 10})
    texts = [encode(step_to_dict(run.step(k))) for k in range(run.step_count)]
    assert any(b'"NaN"' in t for t in texts) and any(b'"Infinity"' in t or b'"-Infinity"' in t for t in texts)


def traced_with_odd_values() -> Any:
    """A graph whose tensors hold NaN, +-Infinity, ints, bools and finite floats, of several ranks."""
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    with backprop_lens.trace({"w": w}) as t:
        a = torch.log(w)  # NaN for the negative entry
        b = a / torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # +-Infinity
        c = torch.nan_to_num(b, nan=0.0, posinf=1.0, neginf=-1.0)
        (c * w).sum().backward()
    return t.graph


def test_a_graph_with_non_finite_tensors_writes_the_same_bytes(monkeypatch: Any) -> None:
    graph = traced_with_odd_values()
    ours = encode(graph_to_dict(graph))
    assert ours == reference_bytes(lambda: graph_to_dict(graph), monkeypatch)
    assert b'"NaN"' in ours and b"Infinity" in ours


@pytest.mark.parametrize(
    "tensor",
    [
        torch.tensor([[1.5, -0.0], [2.0, 3.25]]),
        torch.tensor([1.0, float("nan"), float("inf"), -float("inf")]),
        torch.tensor(float("nan")),
        torch.tensor(2.5),
        torch.tensor([1, 2, 3]),
        torch.tensor([True, False]),
        torch.tensor([1 + 2j, float("inf") - 1j]),
        torch.zeros(2, 0, 3),
        torch.tensor([0.1, 0.2], dtype=torch.float16),
    ],
)
def test_tensor_values_match_the_plain_conversion(tensor: torch.Tensor) -> None:
    assert json.dumps(to_jsonable(tensor)) == json.dumps(reference_jsonable(tensor.tolist()))
    assert json.dumps(to_jsonable((tensor, {"k": [tensor]}))) == json.dumps(
        reference_jsonable((tensor, {"k": [tensor]}))
    )


def test_a_finite_tensor_is_converted_once_and_never_walked_again() -> None:
    """The second pass (web/responses.dumps runs to_jsonable on step_to_dict's result) hands the same lists on:
    it walks the dict's structure, not the numbers (before: a new list of every number, twice)."""
    w = torch.randn(300, 200, requires_grad=True)
    with backprop_lens.trace({"w": w}) as t:
        (w.sin() * 2.0).sum().backward()
    data = graph_to_dict(t.graph)
    param = next(n for n in data["nodes"] if n["kind"] == "param")
    assert isinstance(param["value"], Clean) and param["value"] == w.detach().tolist()
    again = to_jsonable(data)
    assert next(n for n in again["nodes"] if n["kind"] == "param")["value"] is param["value"]
    assert json.loads(json.dumps(again)) == reference_jsonable(data)


def test_non_finite_or_complex_tensors_are_never_marked_clean() -> None:
    for t in (torch.tensor([1.0, float("nan")]), torch.tensor([1 + 1j]), torch.tensor([float("-inf")])):
        assert not isinstance(to_jsonable(t), Clean)
    assert isinstance(to_jsonable(torch.tensor([1.0, 2.0])), Clean)


@pytest.mark.parametrize(
    "value",
    [
        [1.0, 2, True, -0.0],
        (1.5, 2.5),
        [],
        [[1.0, 2.0], [3.0, float("nan")]],
        [1e308, 1e308],  # finite numbers whose sum overflows
        [1.0, float("inf")],
        [float("-inf"), float("inf")],
        [1.0, None, "a"],
        [1 + 2j, 3.0],
        [10**400, 1],
        [torch.tensor(1.0), torch.tensor(2.0)],
        [torch.tensor([1.0, float("nan")])],
        [{"a": float("nan")}, [1.0]],
    ],
)
def test_plain_lists_match_the_plain_conversion(value: Any) -> None:
    """Lists the tracer already made (a relation's `local`) take a shortcut when all finite, the walk otherwise."""
    assert json.dumps(to_jsonable(value)) == json.dumps(reference_jsonable(value))


def test_a_finite_plain_list_is_walked_once() -> None:
    first = to_jsonable({"local": [0.5] * 1000})
    assert isinstance(first["local"], Clean) and to_jsonable(first)["local"] is first["local"]
