"""The real server, `python -m backprop_lens serve` as a subprocess: same URL, same bytes, after restarts too."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0  # importing torch and the warm-up's first trace take a few seconds on a cold machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def servers(count: int = 1, *extra: str) -> Iterator[list[str]]:
    """Start `count` x `python -m backprop_lens serve` on free loopback ports; yield their base URLs when all answer
    /healthz. Always stopped on the way out."""
    procs: list[subprocess.Popen] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [stop(p) for p in procs])
        bases, logs = [], []
        for _ in range(count):
            port = free_port()
            log = stack.enter_context(tempfile.TemporaryFile())  # not a pipe: a full pipe would block the server
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "backprop_lens", "serve", "--port", str(port), *extra],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
            logs.append(log)
        for proc, base, log in zip(procs, bases, logs, strict=True):
            wait_healthy(proc, base, log)
        yield bases


def wait_healthy(proc: subprocess.Popen, base: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited with {proc.returncode}: {log.read().decode()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"server did not answer /healthz within {START_TIMEOUT} s")
        time.sleep(0.1)  # polling interval, not a wait for readiness


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def render_available() -> bool:
    try:
        import backprop_lens.render  # noqa: F401
    except ImportError:
        return False
    import shutil

    return shutil.which("dot") is not None


pytestmark = pytest.mark.skipif(
    not render_available(), reason="backprop_lens.render or Graphviz's dot is not available"
)


def test_same_url_same_bytes_after_restart_and_on_two_processes():
    with servers(2) as (a, b):
        created = httpx.post(f"{a}/api/runs", json={"scenario": "lecture04", "params": {"lr": 0.02, "w": 0.5}})
        assert created.status_code == 201
        run_id = created.json()["id"]
        path = f"/api/runs/{run_id}/steps/7/graph.svg?phase=backward"
        first = httpx.get(a + path, timeout=60)
        assert first.status_code == 200 and first.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in first.content
        # Another process, no shared state, never told about the run:
        other = httpx.get(b + path, timeout=60)
        assert other.status_code == 200 and other.content == first.content
        assert other.headers["etag"] == first.headers["etag"]
    with servers() as (restarted,):  # the teacher's slide, after a restart
        again = httpx.get(restarted + path, timeout=60)
        assert again.status_code == 200 and again.content == first.content
        assert httpx.get(restarted + path, headers={"if-none-match": first.headers["etag"]}).status_code == 304


def test_workers_serve_the_same_bytes():
    with servers(1, "--workers", "2") as (base,):
        urls = [f"{base}/api/runs/lecture04/steps/{k}/graph.svg" for k in (0, 1)]
        with httpx.Client(timeout=60) as c:
            bodies = {url: {c.get(url).content for _ in range(4)} for url in urls}
        assert all(len(v) == 1 for v in bodies.values())


@pytest.mark.parametrize("processes", ["1", "2"])
def test_serve_setting_reaches_every_server_process(processes):
    """`--setting NAME VALUE` as an operator gives it: the light lane's room (2 running + 5 queued) is what each
    process's /readyz reports, with one server process and with several (they read it from their environment)."""
    extra = ("--workers", processes, "--setting", "light_queued", "5", "--setting", "warm_up", "false")
    with servers(1, *extra) as (base,), httpx.Client(timeout=60) as c:
        capacities = {
            c.get(f"{base}/readyz").json()["checks"]["queue"]["detail"]["lanes"]["light"]["capacity"] for _ in range(8)
        }
    assert capacities == {2 + 5}


def test_serve_warns_when_listening_on_all_interfaces(monkeypatch, capsys):
    import uvicorn
    from backprop_lens.web import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    serve(host="0.0.0.0", port=8123, workers=1)
    assert "listening on all interfaces" in capsys.readouterr().err
    serve(host="127.0.0.1", port=8123, workers=1)
    assert capsys.readouterr().err == ""
    serve(host="127.0.0.1", port=8123, workers=3)
    assert calls[-1][0] == "backprop_lens.web.main:app" and calls[-1][1]["workers"] == 3
    assert all(kw["host"] in ("0.0.0.0", "127.0.0.1") and kw["port"] == 8123 for _, kw in calls)
