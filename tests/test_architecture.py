"""The house stays layered: checked by import-linter (contracts in pyproject.toml) and at run time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run([BIN / "lint-imports"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_render_and_snapshot_load_without_torch() -> None:
    code = "import sys, backprop_lens.render, backprop_lens.snapshot; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_the_scenarios_parameters_load_without_torch() -> None:
    code = "import sys, backprop_lens.parameters; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_importing_app_does_not_import_torch() -> None:
    code = "import sys, backprop_lens; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


# What would make a number's text in the browser: Number's formatters, and the names of the deleted port.
FORMATTERS = re.compile(r"\.toPrecision\(|\.toExponential\(|\bpyRepr\b|\bfmtNum\b|\bfmtFull\b|\bfmtPreview\b")


def _without_function(source: str, name: str) -> str:
    """The source minus one top-level function (up to the next line that closes a top-level block)."""
    start = source.find(f"function {name}(")
    if start < 0:
        return source
    end = source.find("\n}\n", start)
    return source[:start] + source[end + 3 :]


def test_the_page_formats_no_number_python_shows() -> None:
    """One source of truth: every number of a step, the inspector, the readout and the explanation is the
    server's text. The charts' axis ticks are the one exception: the chart library picks where they fall."""
    js = ROOT / "static" / "js"
    assert not (js / "format.js").exists()
    for path in sorted(js.glob("*.js")):
        source = path.read_text(encoding="utf-8")
        if path.name == "chart-axes.js":
            source = _without_function(source, "fmtTick")
        found = FORMATTERS.findall(source)
        assert not found, f"{path.name} formats numbers itself: {found}"


def test_the_formatter_check_can_fail() -> None:
    assert FORMATTERS.findall("const s = x.toPrecision(4) + pyRepr(y);") == [".toPrecision(", "pyRepr"]
    source = "function fmtTick(v) {\n  return v.toExponential(0);\n}\nconst k = 1;\n"
    assert FORMATTERS.findall(_without_function(source, "fmtTick")) == []


# What a JavaScript copy of a scenario's model or loss looks like (the L(w) chart had one: DISPLAY_MODELS).
MODEL_PORT = re.compile(r"\bDISPLAY_MODELS\b|\*\*\s*2\b")


def test_the_page_ports_no_model_or_loss() -> None:
    """L(w) is the server's: PyTorch runs the scenario's model and loss on a grid of w; the page only draws it."""
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        found = MODEL_PORT.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} computes a model or a loss itself: {found}"


def test_the_model_port_check_can_fail() -> None:
    old = "export const DISPLAY_MODELS = { lecture04: { loss: (yhat, y) => (yhat - y) ** 2 } };"
    assert MODEL_PORT.findall(old) == ["DISPLAY_MODELS", "** 2"]


MAX_MODULE_LINES = 300  # issue 13: small front-end modules, one job each


def test_no_front_end_module_is_long() -> None:
    """Every page module stays small enough to read in one sitting (the vendored libraries are not ours)."""
    js = ROOT / "static" / "js"
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in js.glob("*.js")}
    assert len(sizes) > 20
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
