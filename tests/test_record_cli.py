"""`backprop-lens trace SCRIPT.py`, `export SCENARIO`, `serve --recording`: as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from backprop_lens.export.page import embedded_data
from backprop_lens.web import create_app

from tests.apps import settings_for_tests

FIXTURES = Path(__file__).parent / "fixtures"
LECTURE = FIXTURES / "lecture04.py"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backprop_lens", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    out = tmp_path_factory.mktemp("trace") / "lecture.json"
    done = cli("trace", str(LECTURE), "-o", str(out))
    return done, json.loads(out.read_text(encoding="utf-8")), out


def test_trace_prints_exactly_what_python_prints(traced) -> None:
    done, data, _ = traced
    plain = subprocess.run([sys.executable, str(LECTURE)], capture_output=True, text=True, check=True).stdout
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain and len(plain.splitlines()) == 402
    assert len(data["steps"]) == len(data["history"]) == 300
    step2 = data["steps"][2]
    assert step2["params"]["w"]["grad"] == [-16.228801727294922]
    assert {n["name"] for n in step2["graph"]["nodes"] if n["kind"] != "op"} == {"w", "x", "y"}
    assert [line["text"] for line in data["lines"]] == plain.splitlines()


def test_trace_passes_arguments_and_honours_max_steps(tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    done = cli("trace", str(FIXTURES / "argv.py"), "-o", str(out), "--max-steps", "3", "--", "7")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "argv ['7']\n"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["history"]) == 7 and len(data["steps"]) == 3


def test_a_raising_script_writes_what_it_recorded(tmp_path: Path) -> None:
    out = tmp_path / "raises.html"
    done = cli("trace", str(FIXTURES / "raises.py"), "-o", str(out))
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "RuntimeError: the script fails at step 2" in done.stderr
    assert "runpy" not in done.stderr  # the user's traceback, not ours
    assert out.stat().st_size > 0 and done.stdout.count("step ") == 3


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["trace", "no_such_script.py"], "SCRIPT.py"),
        (["trace", str(LECTURE), "-o", "out.svg"], "output"),
        (["trace", str(LECTURE), "--every", "0"], "every"),
        (["trace", str(LECTURE), "--max-steps", "-1"], "max-steps"),
        (["export", "lecture04", "-o", "out.json"], "output"),
        (["export", "lecture04", "--lr", "abc", "-o", "out.html"], "lr"),
        (["serve", "--recording", str(LECTURE)], "recording"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], field: str, tmp_path: Path) -> None:
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in done.stderr


def test_export_writes_a_scenario(tmp_path: Path) -> None:
    out = tmp_path / "lecture04.html"
    done = cli("export", "lecture04", "--epochs", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in html and len(embedded_data(html)["steps"]) == 6


async def test_serve_recording_answers_the_page(traced) -> None:
    app = create_app(settings_for_tests(recording=traced[2]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.get("/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "'sha256-" in policy and "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert "-16.228801727294922" in json.dumps(embedded_data(r.text))
