"""Running Graphviz's `dot` for a layout: the one place a subprocess is started, with a lean plugin set."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from backprop_lens.render.errors import DOT_MISSING, GraphvizMissing, RenderError

DOT_TIMEOUT_S = 120.0

_ENV_LOCK = threading.Lock()
_ENVS: dict[str, dict[str, str] | None] = {}


def lean_env(exe: str) -> dict[str, str] | None:
    """An environment in which `dot` loads only the two plugins a layout needs (core: JSON output; dot_layout).

    By default `dot` loads every installed plugin at start-up, pango and fontconfig included: about 16 ms of
    CPU per run, more than a lecture graph's whole layout. Our layout input has no text to measure (fixed-size
    empty boxes), so the output is the same bytes. Built once per process in a private temp directory; None
    (the normal environment) if anything about it fails, e.g. a Graphviz without `libdir` in `dot -v`.
    """
    with _ENV_LOCK:
        if exe in _ENVS:
            return _ENVS[exe]
        _ENVS[exe] = None
        try:
            probe = subprocess.run([exe, "-v"], input=b"", capture_output=True, timeout=10, check=False)
            found = re.search(r'libdir = "([^"]+)"', probe.stderr.decode(errors="replace"))
            if found is None:
                return None
            libdir = Path(found[1])
            tmp = Path(tempfile.mkdtemp(prefix=f"backprop-lens-graphviz-{os.getpid()}-"))  # pid: see web cleanup
            atexit.register(shutil.rmtree, tmp, True)
            for plugin in ("core", "dot_layout"):
                libs = sorted(
                    (p for p in libdir.glob(f"libgvplugin_{plugin}.*") if p.suffix != ".la"), key=_name_length
                )
                if not libs:
                    return None
                (tmp / libs[0].name).symlink_to(libs[0])
            env = dict(os.environ, GVBINDIR=str(tmp))
            subprocess.run([exe, "-c"], env=env, capture_output=True, timeout=10, check=True)
            test = subprocess.run(
                [exe, "-Tjson0"], input=b"digraph{a->b}", env=env, capture_output=True, timeout=10, check=False
            )
            if test.returncode == 0 and b'"bb"' in test.stdout:
                _ENVS[exe] = env
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        return _ENVS[exe]


def _name_length(p: Path) -> int:
    return len(p.name)


def run_dot(source: str) -> dict[str, Any]:
    """The one place that runs Graphviz. Tests patch it to prove later steps never get here."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(DOT_MISSING)
    try:
        proc = subprocess.run(
            [exe, "-Tjson0"],
            input=source.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
            env=lean_env(exe),
        )
    except OSError as exc:  # vanished between which() and run(), or not executable
        raise GraphvizMissing(DOT_MISSING) from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"Graphviz took longer than {DOT_TIMEOUT_S:.0f}s to lay out the graph") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz failed: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
