"""The installed wheel is the product: build it from the checkout, install it with the pinned torch into a fresh
venv outside the checkout, and use it from an empty folder as a new user would, with no `rsvg-convert` on PATH.

One module fixture builds and installs (the slow part: the pinned wheels come from pip's cache and the machine's
wheel folders); every test below then runs the installed `backprop-lens` / `python` in a temp folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.oracles import lecture04_log
from tests.page_helpers import READY, free_port, launch_browser, wait_healthy
from tests.render_fixtures import png_header

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "app", "static", "templates")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    env: dict[str, str]  # PATH: the venv and `dot` only (no rsvg-convert, no system Python)
    build_log: str
    seconds: float

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.bin("backprop-lens"), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _tool_dir(tmp: Path) -> Path:
    """A PATH folder holding `dot` alone, so the installed app finds Graphviz and nothing else of the system's."""
    tools = tmp / "tools"
    tools.mkdir()
    dot = shutil.which("dot")
    assert dot, "Graphviz `dot` is needed (make system-test-tools)"
    (tools / "dot").symlink_to(dot)
    return tools


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy of the tracked sources, so the build leaves nothing in the checkout
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = dist.glob("backprop_lens-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{_tool_dir(tmp)}"
    seconds = time.monotonic() - t0
    print(f"\nwheel built and installed in {seconds:.0f} s", file=sys.stderr)
    return Installed(wheel, venv, env, build.stdout + build.stderr, seconds)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


# -- the wheel itself -------------------------------------------------------------------------------------------


def test_the_build_prints_no_warnings_of_ours(installed: Installed) -> None:
    """setuptools' warnings about our metadata (the old `project.license` table gave three on every build)."""
    assert not re.search(r"deprecat|SetuptoolsWarning|BuildBackendWarning", installed.build_log, re.I), (
        installed.build_log
    )


def test_the_wheel_holds_backprop_lens_only_with_every_subpackage_and_the_page(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"backprop_lens"}
    for init in (ROOT / "app").rglob("__init__.py"):  # a subpackage missing from pyproject's list fails here
        rel = init.relative_to(ROOT / "app").as_posix()
        assert f"backprop_lens/{rel}" in names, f"app/{rel} is not in the wheel: add it to [tool.setuptools] packages"
    for folder in ("static", "templates"):
        tracked = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True)
        files = tracked.stdout.split()
        assert files, folder
        missing = [f for f in files if f"backprop_lens/{f}" not in names]
        assert missing == [], f"not in the wheel: {missing[:5]}"


def test_installed_outside_the_checkout(installed: Installed) -> None:
    site = subprocess.run(
        [installed.bin("python"), "-c", "import backprop_lens; print(backprop_lens.__file__)"],
        cwd=installed.venv,
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    path = Path(site.stdout.strip())
    assert path.is_relative_to(installed.venv) and not path.is_relative_to(ROOT), site.stdout + site.stderr
    assert (
        not (installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}")
        .joinpath("site-packages", "app")
        .exists()
    )


# -- the command line from an empty folder ------------------------------------------------------------------------


def test_version(installed: Installed, empty: Path) -> None:
    import backprop_lens

    result = installed.run("--version", cwd=empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"backprop-lens {backprop_lens.__version__}"


def test_run_lecture04_prints_the_lecture(installed: Installed, empty: Path) -> None:
    result = installed.run("run", "lecture04", cwd=empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout == lecture04_log()
    assert len(result.stdout.splitlines()) == 402


def test_render_svg_and_png_without_rsvg_convert(installed: Installed, empty: Path) -> None:
    assert shutil.which("rsvg-convert", path=installed.env["PATH"]) is None
    for name in ("step.svg", "step.png"):
        result = installed.run("render", "lecture04", "--step", "3", "-o", name, cwd=empty)
        assert result.returncode == 0, result.stderr
    assert (empty / "step.svg").read_bytes().startswith(b"<?xml")
    width, height = png_header((empty / "step.png").read_bytes())
    assert width > 1000 and height > 300


def test_import_beside_a_users_own_app_package(installed: Installed, empty: Path) -> None:
    (empty / "app").mkdir()
    (empty / "app" / "__init__.py").write_text("WHOSE = 'the user'\n")
    code = (
        "import app, backprop_lens\n"
        "assert app.WHOSE == 'the user', app\n"
        "assert callable(backprop_lens.trace) and callable(backprop_lens.make_dot)\n"
        "print(backprop_lens.__file__)"
    )
    result = subprocess.run(
        [installed.bin("python"), "-c", code], cwd=empty, env=installed.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.venv)


# -- the server from an empty folder, in Chromium ------------------------------------------------------------------


@pytest.fixture
def served(installed: Installed, empty: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (empty.parent / "serve.log").open("wb")
    proc = subprocess.Popen(
        [installed.bin("backprop-lens"), "serve", "--port", str(port)],
        cwd=empty,
        env=installed.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(base, proc, timeout=180)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.read()


def test_serve_gives_the_page_static_files_and_offline_docs(served: str) -> None:
    status, page = get(served + "/")
    assert status == 200 and b"<html" in page.lower()
    for src in re.findall(rb'(?:src|href)="(/static/[^"?#]+)', page):
        assert get(served + src.decode())[0] == 200, src
    status, docs = get(served + "/docs")
    assert status == 200 and b"/static/vendor/swagger-ui/" in docs and b"cdn" not in docs.lower()
    assert get(served + "/static/vendor/swagger-ui/swagger-ui-bundle.js")[0] == 200
    assert get(served + "/readyz")[0] == 200  # dot and the PNG renderer work here


def test_the_page_steps_and_exports_png_in_chromium(served: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
            page = context.new_page()
            page.goto(f"{served}/#lang=en&theme=light")
            page.wait_for_selector(READY, timeout=90_000)
            page.get_by_test_id("step-next").click()
            page.wait_for_selector("[data-testid=graph][data-step='1']", timeout=30_000)
            with page.expect_download(timeout=60_000) as info:
                page.get_by_test_id("export-png").click()
            with open(info.value.path(), "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()
