"""The classroom deployment for real: two `backprop-lens serve` processes behind nginx started with
deploy/nginx.conf (its ports and paths replaced), all on loopback. The HTTP cache and the routing are nginx's."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_server import free_port, stop, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx(backends: list[str], tmp: Path) -> Iterator[str]:
    port = free_port()
    conf = CONF.read_text()
    ports = [b.rsplit(":", 1)[1] for b in backends]
    for default, real in zip(("8001", "8002"), ports, strict=True):
        conf = conf.replace(f"server 127.0.0.1:{default} ", f"server 127.0.0.1:{real} ")
    conf = conf.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("/var/cache/nginx/backprop-lens", str(tmp / "cache"))
    if os.geteuid() == 0:  # nginx's workers would run as nobody, who may not write our temporary folder
        conf = "user root;\n" + conf
    (tmp / "nginx.conf").write_text(conf)
    (tmp / "logs").mkdir()
    globals_ = f"daemon off; pid {tmp}/nginx.pid; error_log {tmp}/logs/error.log;"
    proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", globals_])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (tmp / "logs" / "error.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.1)
        yield base
    finally:
        stop(proc)


@contextlib.contextmanager
def backends(count: int, tmp: Path) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """`count` x `python -m backprop_lens serve` on free loopback ports, with their processes."""
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        for i in range(count):
            port = free_port()
            log = (tmp / f"backend{i}.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "backprop_lens", "serve", "--port", str(port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((f"http://127.0.0.1:{port}", proc))
        for base, proc in started:
            with (tmp / "wait.log").open("w+b") as log:
                wait_healthy(proc, base, log)
        yield started
    finally:
        for _, proc in started:
            if proc.poll() is None:
                stop(proc)


def upstream(r: httpx.Response) -> str:
    return r.headers["x-upstream"].split(",")[-1].strip()


def test_two_backends_behind_nginx(tmp_path):
    with (
        backends(2, tmp_path) as pairs,
        nginx([b for b, _ in pairs], tmp_path) as front,
        httpx.Client(base_url=front, timeout=60) as c,
    ):
        v = c.get("/api/version").json()["version"]
        created = c.post("/api/runs", json={"scenario": "lecture04", "params": {"lr": 0.02, "epochs": 5}})
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        url = f"/api/runs/{run_id}/steps/7/graph.svg?v={v}"

        # Repeated immutable URLs: the first reaches the run's backend, the next are nginx's.
        first = c.get(url)
        assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS"
        owner = upstream(first)
        again = c.get(url)
        assert again.headers["x-cache-status"] == "HIT" and again.content == first.content

        # Both backends give identical bytes for the same URL (asked directly, no cache in between).
        direct = {httpx.get(b + url, timeout=60).content for b, _ in pairs}
        assert direct == {first.content}

        # Every part of one run goes to the same backend.
        for part in ("", "/log", "/steps/1", "/status"):
            assert upstream(c.get(f"/api/runs/{run_id}{part}")) == owner

        # A big run: accepted (202) by whichever backend got the POST, computed by the run's backend, whose
        # status (progress) is the one we read.
        big = c.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 10_000, "lr": 0.003}})
        assert big.status_code == 202, big.text
        status_url = big.headers["location"]
        states, backends_seen = [], set()
        for _ in range(600):
            s = c.get(status_url)
            backends_seen.add(upstream(s))
            states.append(s.json())
            if states[-1]["state"] == "done":
                break
            time.sleep(0.1)
        assert states[-1]["state"] == "done" and len(backends_seen) == 1, (states[-3:], backends_seen)
        assert any(0 < s["steps_done"] < s["steps"] for s in states), "progress was never reported"
        big_owner = backends_seen.pop()
        summary = c.get(f"/api/runs/{big.json()['id']}")
        assert summary.status_code == 200 and upstream(summary) == big_owner  # computed once, where it lives

        # Kill the backend that owns the first run: cached URLs still come from nginx, and everything else is
        # answered by the other backend, which recomputes.
        victim = next(proc for b, proc in pairs if b.endswith(":" + owner.rsplit(":", 1)[1]))
        victim.kill()
        victim.wait(10)
        assert c.get(url).headers["x-cache-status"] == "HIT"
        fresh = c.get(f"/api/runs/{run_id}/steps/8/graph.svg?v={v}")
        assert fresh.status_code == 200 and upstream(fresh) != owner
        assert c.get(f"/api/runs/{run_id}/log").status_code == 200
        other = c.post("/api/runs", json={"scenario": "quadratic", "params": {"epochs": 2}})
        assert other.status_code == 201


pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (make test installs it)")
