"""The real command: `backprop-lens serve` binds 127.0.0.1 unless told otherwise, and says so on stderr when it
listens on all interfaces. Each server runs on a free port, is polled on /healthz and is always stopped."""

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

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0
WARNING = "warning: listening on all interfaces"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(*args: str) -> Iterator[tuple[int, IO[bytes], IO[bytes]]]:
    """`python -m backprop_lens serve ARGS --port FREE`: (port, stdout, stderr) once /healthz answers on loopback."""
    port = free_port()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # files, never a pipe that fills up
        proc = subprocess.Popen(
            [sys.executable, "-m", "backprop_lens", "serve", *args, "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert proc.poll() is None, f"server exited with {proc.returncode}: {read(err)[-2000:]}"
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"no /healthz within {START_TIMEOUT} s"
                time.sleep(0.1)  # polling interval
            yield port, out, err
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def read(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode(errors="replace")


def outside_address() -> str | None:
    """An address of this machine that is not loopback (the one a route to the outside would use), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent, the kernel only picks a source address
        except OSError:
            return None
        addr = str(s.getsockname()[0])
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) == 0


def test_default_binds_loopback_only_and_says_nothing() -> None:
    with serve() as (port, out, err):
        logs = read(out) + read(err)
        assert f"http://127.0.0.1:{port}" in logs  # uvicorn names the address it bound
        assert WARNING not in logs
        addr = outside_address()
        if addr is not None:  # reachable from this machine's own non-loopback address only when bound to it
            assert not listening(addr, port), f"the default server answers on {addr}"


def test_all_interfaces_warns_on_stderr() -> None:
    with serve("--host", "0.0.0.0") as (port, _out, err):
        text = read(err)
        assert WARNING in text and "0.0.0.0" in text and "--host 127.0.0.1" in text
        assert f"http://0.0.0.0:{port}" in text  # and it really listens there
        addr = outside_address()
        if addr is not None:
            assert listening(addr, port)
