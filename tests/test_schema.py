"""schemathesis against our own /openapi.json, in process (ASGI), bounded and derandomized.

Every operation gets up to MAX_EXAMPLES generated requests, valid and invalid ones (schemathesis' default
generation modes), and every response is checked: never a 5xx, a documented status code, a documented content
type, a body that matches the documented schema, documented headers; and requests the schema forbids are refused.

One check is left out on purpose: `positive_data_acceptance` ("a schema-valid request must get a 2xx"). The
schema cannot say everything our validation says: which parameters belong to which scenario, len(x) == len(y),
epochs x data points <= 100,000, stop > start, a custom expression that parses. Those requests get a 422 naming
the field, which is the documented answer.

Random run ids almost always 404; so that the deep paths (steps, graphs in every format, logs) are exercised too,
two of three generated run ids are swapped for real ones (a flatmap hook: still drawn by Hypothesis, still
derandomized), and their step index is folded into the run's range (or just past it).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from backprop_lens.web import create_app
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.apps import settings_for_tests

MAX_EXAMPLES = 25
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

app = create_app(settings_for_tests())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

# Small runs of several kinds, one diverging: (scenario, params) -> filled in with (id, steps) on first use.
REAL_RUNS: list[tuple[str, dict[str, Any]]] = [
    ("lecture04", {"epochs": 2}),
    ("lecture04", {"lr": 10.0, "epochs": 3}),  # diverges: NaN and Infinity in every format
    ("quadratic", {"epochs": 1, "zero_grad": False}),
    ("gd_vs_sgd", {"epochs": 2}),
    ("linear_module", {"epochs": 1, "optimizer": "adam"}),
    ("two_layer", {"epochs": 1}),
    ("softmax", {"epochs": 1}),
    ("custom", {"epochs": 1, "model": "sigmoid(w1*x) + b", "params": {"w1": 0.5, "b": 0.0}}),
]
_ids: list[tuple[str, int]] = []


def real_runs() -> list[tuple[str, int]]:
    if not _ids:
        from starlette.testclient import TestClient

        with TestClient(app) as client:
            for scenario, params in REAL_RUNS:
                r = client.post("/api/runs", json={"scenario": scenario, "params": params})
                assert r.status_code == 201, r.text
                _ids.append((r.json()["id"], r.json()["steps"]))
    return _ids


@schema.hook("flatmap_path_parameters")
def real_run_ids(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    if not isinstance(path_parameters, dict) or "run_id" not in path_parameters:
        return st.just(path_parameters)

    def swap(choice: int) -> dict[str, Any]:
        if choice >= len(real_runs()):
            return path_parameters  # keep the generated (random or invalid) id
        run_id, steps = real_runs()[choice]
        out = {**path_parameters, "run_id": run_id}
        if isinstance(out.get("k"), int):
            out["k"] = abs(out["k"]) % (steps + 1)  # in range, or one past the end (a 404)
        return out

    return st.integers(0, len(REAL_RUNS) * 3 // 2).map(swap)


@pytest.fixture(scope="module", autouse=True)
def _created() -> None:
    real_runs()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a first trace of a run takes a while; hangs are bounded by the overall run instead
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_api_matches_its_schema(case: schemathesis.Case) -> None:
    response = case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
    assert response.status_code < 500


def test_every_operation_is_fuzzed() -> None:
    """The parametrized test above covers every documented operation (a route left out of the schema would
    escape it): the schema names exactly the API's routes."""
    operations = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    assert operations == {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/api/version"),
        ("GET", "/api/messages"),
        ("GET", "/api/scenarios"),
        ("GET", "/api/scenarios/{scenario_id}/source"),
        ("POST", "/api/runs"),
        ("GET", "/api/runs/{run_id}"),
        ("GET", "/api/runs/{run_id}/status"),
        ("GET", "/api/runs/{run_id}/log"),
        ("GET", "/api/runs/{run_id}/log.json"),
        ("GET", "/api/runs/{run_id}/source"),
        ("GET", "/api/runs/{run_id}/labels"),
        ("GET", "/api/runs/{run_id}/steps"),
        ("GET", "/api/runs/{run_id}/steps/{k}"),
        ("GET", "/api/runs/{run_id}/steps/{k}/graph.{fmt}"),
        ("GET", "/api/runs/{run_id}/steps/{k}/tensors"),
        ("GET", "/api/version"),
        ("GET", "/api/messages"),
        ("GET", "/api/runs/{run_id}/labels"),
        ("GET", "/api/runs/{run_id}/log.json"),
    }
