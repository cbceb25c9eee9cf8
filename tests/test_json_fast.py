"""Step JSON (issue 16): a tensor becomes `tolist()` once, and a real, all-finite one is a `Clean` list that no
later pass walks again; the bytes stay exactly what the plain recursive conversion writes (NaN, Infinity,
complex numbers included)."""

from __future__ import annotations

import gc
import json
import math
from typing import Any

import backprop_lens
import numpy as np
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


# --- issue 16: big tensors listed in numpy, and orjson writing the step (web/responses.dumps) -----------------
def strict_same(a: Any, b: Any) -> bool:
    """Equal value for value, with the types json.loads gives (int, float, bool, str) and -0.0 apart from 0.0."""
    if isinstance(a, list) and isinstance(b, list):  # a `Clean` list is a list
        return len(a) == len(b) and all(strict_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or (a != a and b != b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_same(a[k], b[k]) for k in a)
    return bool(a == b)


def stdlib_bytes(value: Any) -> bytes:
    """The step endpoint's bytes before issue 16: the plain conversion and json's encoder."""
    return json.dumps(reference_jsonable(value), allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def varied_tensors() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    big = 3000  # above snapshot.IN_NUMPY: the numpy path; the small ones take the walk
    sparse = torch.zeros(big)
    sparse[[5, 17, 2999]] = torch.tensor([1.25, -3e-7, 7.0])
    sparse[9] = -0.0
    odd = torch.randn(big, generator=g, dtype=torch.float64)
    odd[:6] = torch.tensor([5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, -1e-300, 1e-5, 1e16])
    nonfinite = torch.randn(big, generator=g)
    nonfinite[[3, 40, 41]] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    return [
        torch.tensor(2.5),
        torch.tensor(-0.0),
        torch.tensor(7),
        torch.tensor(True),
        torch.tensor(float("inf")),
        torch.zeros(0),
        torch.zeros(3, 0, 2),
        torch.randn(4, 5, generator=g),
        torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
        torch.randn(big, generator=g),
        torch.randn(10, 20, 30, generator=g),  # nested, dense
        torch.randn(30, 40, generator=g).t(),  # not contiguous
        torch.randn(big, generator=g).half(),
        torch.randn(big, generator=g).bfloat16(),
        torch.tensor([1e-45, 1.4e-45, 1.17e-38, 3.4e38, -3.4e38] * 400),  # float32 subnormals and extremes
        odd,
        sparse,
        sparse.reshape(30, 100),  # nested, mostly zeros
        torch.relu(torch.randn(8, 16, 32, generator=g)),  # ReLU's half zeros
        torch.zeros(50, 60),
        -torch.zeros(2000),  # every element -0.0
        nonfinite,
        nonfinite.reshape(60, 50),
        torch.randint(-(2**62), 2**62, (big,), generator=g),  # ints past 2**53 stay exact ints
        torch.randint(0, 255, (40, 50), generator=g, dtype=torch.uint8),
        torch.rand(big, generator=g) > 0.5,  # bools stay bools
        torch.randn(big, generator=g, dtype=torch.complex64),
        torch.randn(big, generator=g, requires_grad=True) * 2,  # requires grad
        torch._neg_view(torch.randn(big, generator=g, dtype=torch.float64)),  # a negative view
    ]


@pytest.mark.parametrize("tensor", varied_tensors(), ids=lambda t: f"{t.dtype}{list(t.shape)}")
def test_dumps_parses_as_the_stdlib_path_did(tensor: torch.Tensor) -> None:
    from backprop_lens.web.responses import dumps

    expected = json.loads(stdlib_bytes(tensor))
    assert strict_same(json.loads(dumps(tensor)), expected)
    assert strict_same(
        json.loads(dumps({"a": [tensor, (tensor,)], "b": tensor})), {"a": [expected, [expected]], "b": expected}
    )
    assert strict_same(json.loads(json.dumps(to_jsonable(tensor))), expected)  # the dicts' lists, for json too


@pytest.mark.parametrize("tensor", varied_tensors(), ids=lambda t: f"{t.dtype}{list(t.shape)}")
def test_the_lists_are_what_tolist_gives(tensor: torch.Tensor) -> None:
    """What `*_to_dict` hands to Python (t.to_dict(), the recording and the export) is `tolist()`'s values."""
    plain = tensor.detach().tolist()
    if tensor.is_complex() or (tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())):
        return  # written as {"real", "imag"} and strings: the walk's, compared above
    assert strict_same(to_jsonable(tensor), plain)


def test_a_graph_step_parses_as_the_stdlib_path_did(monkeypatch: Any) -> None:
    from backprop_lens.web.responses import dumps

    for name, params in SCENARIOS:
        run = build_run(name, params)
        for k in sorted({0, run.step_count - 1}):
            step = run.step(k)
            expected = json.loads(reference_bytes(lambda s=step: step_to_dict(s), monkeypatch))
            assert strict_same(json.loads(dumps(step_to_dict(step))), expected)
    graph = traced_with_odd_values()
    expected = json.loads(reference_bytes(lambda: graph_to_dict(graph), monkeypatch))
    assert strict_same(json.loads(dumps(graph_to_dict(graph))), expected)


class Key(str):
    pass


@pytest.mark.parametrize(
    "content",
    [
        {3: "int key", 2.5: "float key", True: "bool", None: "none"},
        {Key("k"): 1.0},
        {"big": 2**70, "neg": -(2**64)},
        {"s": 'é \u2028 \x00 \x1f " \\ </script>'},
        {"deep": json.loads("[" * 300 + "]" * 300)},
        {"np": [np.float64(1e-05), np.float64(-0.0), np.float32(0.1), np.int64(3), np.array([1.5, float("nan")])]},
        {"floats": [1e-05, 1e16, 1e22, 5e-324, -0.0, 0.1, 123456789012345678.0, float("nan"), float("-inf")]},
        {"tuple": (1, (2.0, "x")), "nested": {"a": [None, True, False, 0]}},
    ],
)
def test_dumps_parses_as_json_did_for_any_content(content: Any) -> None:
    """Whatever orjson refuses (non-str keys, big ints, deep nesting) goes to json's encoder, as before."""
    from backprop_lens.web.responses import dumps

    assert strict_same(json.loads(dumps(content)), json.loads(stdlib_bytes(content)))


def test_the_collector_is_back_as_it_was() -> None:
    big = torch.randn(100, 100)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    converted = to_jsonable({"a": big})
    assert gc.isenabled() and isinstance(converted["a"], Clean) and gc.get_freeze_count() == 0
    gc.disable()
    try:
        to_jsonable({"a": big})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_big_conversion_leaves_no_young_walk_behind() -> None:
    """Its lists go to the oldest generation unwalked: no collection walks them once the collector is back
    (it would at the next allocation: 200,000 young lists are over its threshold)."""
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        data = to_jsonable(torch.randn(200_000, 2))  # 200,000 lists
        more = [[i] for i in range(100)]  # a few allocations, under the threshold (700)
    finally:
        gc.callbacks.remove(seen)
    assert collections == [] and len(data) == 200_000 and len(more) == 100


def test_objects_frozen_by_others_stay_frozen() -> None:
    """The server freezes its imports (web/server.settle_heap): a conversion must not unfreeze them."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        to_jsonable({"a": torch.randn(100, 100)})
        assert gc.get_freeze_count() > frozen // 2 and gc.isenabled()  # unfreeze would leave none (0)
    finally:
        gc.unfreeze()


def test_a_tensor_in_two_places_converts_once() -> None:
    big = torch.randn(50, 50)
    with snapshot.converting():
        a, b = to_jsonable([big, {"again": big}])
    assert a is b["again"] and a == big.tolist()
