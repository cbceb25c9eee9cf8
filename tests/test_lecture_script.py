"""Lecture 04's built-in scenario runs the lecture's own script: its `forward` and `loss` build the graph, a node's
source line is the lecture's line, and the script the page shows, run with plain Python, prints the run's log.

The reference is tests/fixtures/lecture04.py: the lecture's script as the course prints it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from backprop_lens.scenarios import SCENARIOS, build_run
from backprop_lens.snapshot import step_to_dict

LECTURE = Path(__file__).parent / "fixtures" / "lecture04.py"
FILE = "backprop_lens/scenarios/scripts/lecture04.py"
OTHER = {"epochs": 3, "lr": 0.05, "x": [1.0, 2.5, -1.5], "y": [3.0, 5.0, 0.25], "w": 0.5}


def _line_of(text: str, code: str) -> int:
    (line,) = [i for i, ln in enumerate(text.splitlines(), 1) if ln.strip() == code]
    return line


def test_the_code_shown_for_the_lectures_numbers_is_the_lectures_script() -> None:
    files = SCENARIOS["lecture04"].source_files()
    assert files[FILE] == LECTURE.read_text(encoding="utf-8")


def test_each_node_was_made_by_the_lectures_line() -> None:
    lecture = LECTURE.read_text(encoding="utf-8")
    graph = step_to_dict(build_run("lecture04", {"epochs": 1}).step(2))["graph"]
    made_by = {n["name"]: n["source"] for n in graph["nodes"] if n["kind"] == "op"}
    assert made_by["y_hat"] == {"file": FILE, "line": _line_of(lecture, "return x * w"), "code": "return x * w"}
    residual_line = _line_of(lecture, "return (y_pred - y) ** 2")
    for name in ("y_hat - y", "loss"):
        assert made_by[name] == {"file": FILE, "line": residual_line, "code": "return (y_pred - y) ** 2"}


def _plain_python(script: str, tmp_path: Path) -> str:
    path = tmp_path / "lecture04.py"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("zero_grad", [True, False])
def test_the_script_shown_with_other_numbers_prints_the_runs_log(zero_grad: bool, tmp_path: Path) -> None:
    """The page's script for a run of other numbers is a program: plain Python prints exactly the run's log."""
    params: dict[str, Any] = {**OTHER, "zero_grad": zero_grad}
    script = SCENARIOS["lecture04"].source_files(SCENARIOS["lecture04"].Params(**params))[FILE]
    assert "w.data = w.data - 0.05 * w.grad.data" in script and "for epoch in range(3):" in script
    # the same lines as the lecture's, in the same places: only the constants differ
    lecture = LECTURE.read_text(encoding="utf-8").splitlines()
    changed = [i for i, (a, b) in enumerate(zip(lecture, script.splitlines(), strict=True)) if a != b]
    assert len(changed) == (5 if zero_grad else 6), changed
    assert _plain_python(script, tmp_path) == build_run("lecture04", params).log_text


async def test_a_runs_source_has_its_numbers(client: Any) -> None:
    created = await client.post("/api/runs", json={"scenario": "lecture04", "params": {"lr": 0.05, "epochs": 2}})
    run_id = created.json()["id"]
    r = await client.get(f"/api/runs/{run_id}/source")
    assert r.status_code == 200
    script = r.json()["files"][FILE]
    assert "w.data = w.data - 0.05 * w.grad.data" in script and "for epoch in range(2):" in script
    default = (await client.get("/api/scenarios/lecture04/source")).json()["files"][FILE]
    assert default == LECTURE.read_text(encoding="utf-8")
    assert (await client.get("/api/runs/lecture04~nope/source")).status_code in (404, 422)
