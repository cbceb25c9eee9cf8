"""The command line, as a user runs it: a subprocess, its stdout, its exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("memory_byte", "1", "no such setting"),
        ("memory_bytes", "lots", "is not a whole number"),
        ("answer_s", "-1", "is negative"),
        ("light_running", "0", "less than 1"),
        ("warm_up", "maybe", "true or false"),
        ("static_dir", "/tmp", "no such setting"),  # folders are the package's, not an option
    ],
)
def test_serve_refuses_a_bad_setting_with_exit_2_before_starting(name: str, value: str, why: str) -> None:
    result = cli("serve", "--port", "1", "--setting", name, value)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"backprop-lens: error: setting {name}: "), result.stderr
    assert why in lines[0] and "Traceback" not in result.stderr


def test_every_setting_serve_takes_parses_its_default_back() -> None:
    """Each tunable setting's default, written as an operator would, gives the default again."""
    from backprop_lens.web.settings import Settings, parse_setting, tunable

    defaults = Settings()
    for name, kind in tunable().items():
        value = getattr(defaults, name)
        text = ",".join(value) if kind.startswith("tuple") else str(value).lower() if kind == "bool" else str(value)
        assert parse_setting(name, text) == value, name
    assert parse_setting("memory_bytes", "192MiB") == 192 * 2**20
    assert parse_setting("worker_idle_s", "none") is None


def test_unknown_scenario_exits_2() -> None:
    result = cli("run", "nope")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "lecture04" in result.stderr


def test_scenarios_lists_defaults() -> None:
    result = cli("scenarios")
    assert result.returncode == 0
    assert "lecture04" in result.stdout and "--lr 0.01" in result.stdout and "--zero-grad" in result.stdout


def test_version_is_the_package_version() -> None:
    import backprop_lens

    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"backprop-lens {backprop_lens.__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["serve", "--help"],
        ["scenarios", "--help"],
        ["run", "--help"],
        ["render", "--help"],
        ["export", "--help"],
        ["run", "custom", "--help"],
        ["render", "two_layer", "--help"],
    ],
)
def test_help_and_version_do_not_import_torch(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from backprop_lens.cli import main\n"
        f"try: main({args!r})\n"
        "except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr


def test_top_level_help_lists_every_command() -> None:
    from backprop_lens.cli import COMMANDS

    result = cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize(("fmt", "magic"), [(None, b"<?xml"), ("png", b"\x89PNG"), ("json", b"{")])
def test_render_to_stdout(fmt: str | None, magic: bytes) -> None:
    args = [sys.executable, "-m", "backprop_lens", "render", "lecture04", "--step", "1", "-o", "-"]
    if fmt:
        args += ["--format", fmt]
    result = subprocess.run(args, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(magic)
    assert result.stderr == b""


def test_long_run_prints_as_it_goes() -> None:
    """The first lines arrive while the loop still runs (100,000 steps), not all at the end."""
    args = ["run", "lecture04", "--epochs", "10000", "--x", *["1"] * 10, "--y", *["2"] * 10]
    proc = subprocess.Popen([sys.executable, "-m", "backprop_lens", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith("predict (before training) 4 ")
        assert second.startswith("\tgrad: 1.0 2.0 ")
        assert proc.poll() is None, "the run ended before its first lines were read"
    finally:
        proc.kill()
        proc.wait()


def test_the_command_line_titles_a_slide_as_the_web_app_does(tmp_path: Path) -> None:
    """`render --fit slide` writes the words `graph.svg?fit=slide` writes: scenario, model, loss and lr."""
    import xml.etree.ElementTree as ET

    out = tmp_path / "slide.svg"
    args = ["render", "gd_vs_sgd", "--step", "1", "--fit", "slide", "--lang", "zh", "-o", str(out)]
    subprocess.run([sys.executable, "-m", "backprop_lens", *args], check=True, capture_output=True, timeout=120)
    root = ET.fromstring(out.read_bytes())
    context = next("".join(el.itertext()) for el in root.iter() if el.get("data-label") == "h:context")
    assert context == "第 03 讲：梯度下降 vs. 逐样本 SGD · y_hat = x * w · loss = mean((y_hat - y)**2) · lr 0.01"
    assert "".join(root.find("{http://www.w3.org/2000/svg}title").itertext()).startswith(context)


def test_the_torch_free_parameters_are_the_scenarios_own() -> None:
    """The CLI's options come from `backprop_lens.parameters` (no torch); the scenarios validate with the very same
    classes and say the same words, so `--help` cannot drift from what a run accepts."""
    from backprop_lens.parameters import ABOUT
    from backprop_lens.scenarios import SCENARIOS

    assert list(ABOUT) == list(SCENARIOS)
    for sid, scenario in SCENARIOS.items():
        about = ABOUT[sid]
        assert about.params is scenario.Params and (about.title, about.description) == (
            scenario.title,
            scenario.description,
        )
