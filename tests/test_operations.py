"""The Dockerfile cannot be built on these machines: it is linted (hadolint) and its promises checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_keeps_its_promises() -> None:
    assert re.search(r"^FROM python:3\.\d+-slim", DOCKERFILE, re.M)
    assert "graphviz" in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", DOCKERFILE, re.M)
    assert '"--host", "0.0.0.0"' in DOCKERFILE


def test_dockerfile_pins_the_same_torch_as_the_setup() -> None:
    pin = re.search(r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.M)
    assert pin and f"torch=={pin.group(1)}" in DOCKERFILE


def test_readme_documents_docker_run() -> None:
    assert "docker run" in (ROOT / "README.md").read_text() and "-p 8000:8000" in (ROOT / "README.md").read_text()


def test_the_image_installs_the_built_wheel() -> None:
    """Like a user's install: a wheel built in a first stage, no editable install of the source tree."""
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2
    assert re.search(r"pip wheel --no-deps", DOCKERFILE)
    assert re.search(r"pip install -c \S*constraints.txt /tmp/dist/\*\.whl", DOCKERFILE)
    assert "-e ." not in DOCKERFILE and "COPY app" not in DOCKERFILE.split("\nFROM ")[-1]


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv/", ".git/", "artifacts/", "**/__pycache__/", ".pytest_cache/"):
        assert entry in ignored
