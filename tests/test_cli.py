"""The command line, as a user runs it: a subprocess, its stdout, its exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.oracles import lecture04_log, quadratic_log


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backprop_lens", *args], capture_output=True, text=True, timeout=120)


def test_run_lecture04_prints_the_lecture_output() -> None:
    result = cli("run", "lecture04")
    assert result.returncode == 0, result.stderr
    assert result.stdout == lecture04_log()
    assert len(result.stdout.splitlines()) == 402


def test_run_with_options() -> None:
    result = cli("run", "quadratic", "--lr", "0.02", "--epochs", "3", "--x", "1,2", "--y", "2", "4", "--no-zero-grad")
    assert result.returncode == 0, result.stderr
    assert result.stdout == quadratic_log(lr=0.02, epochs=3, x_data=(1.0, 2.0), y_data=(2.0, 4.0), zero_grad=False)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["run", "lecture04", "--lr", "-1"], "lr"),
        (["run", "lecture04", "--lr", "abc"], "lr"),
        (["run", "lecture04", "--epochs", "0"], "epochs"),
        (["run", "lecture04", "--x", "1", "2"], "y"),
        (["render", "lecture04", "--step", "300", "-o", "/tmp/x.svg"], "step"),
        (["render", "lecture04", "--step", "0", "-o", "/tmp/x.gif"], "output"),
    ],
)
def test_bad_input_exits_2_with_one_line_reason(args: list[str], field: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"backprop-lens: error: {field}"), result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_scenario_exits_2() -> None:
    result = cli("run", "nope")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "lecture04" in result.stderr


def test_scenarios_lists_defaults() -> None:
    result = cli("scenarios")
    assert result.returncode == 0
    assert "lecture04" in result.stdout and "--lr 0.01" in result.stdout and "--zero-grad" in result.stdout
