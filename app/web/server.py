"""`backprop-lens serve`: uvicorn on 127.0.0.1 by default."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from backprop_lens.web.settings import SETTINGS_ENV, Settings, with_settings

ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})
# A run id carries its configuration: 1,000 custom data points make a long URL, longer than h11's 16 KiB default.
MAX_REQUEST_HEAD = 128 * 1024


def configure_process() -> None:
    """Per server process: one intra-op thread per request. Our tensors are tiny, requests run concurrently in
    a thread pool, and torch's default (a thread per core) only makes those threads fight over the cores."""
    import torch

    torch.set_num_threads(1)
    # Training loops hold the GIL between torch calls; the event loop that answers cached bodies and health
    # gets it back sooner with a shorter switch interval (5 ms by default), so cheap requests stay fast.
    sys.setswitchinterval(0.001)


# app/render/layout.py's private Graphviz plugin folders: backprop-lens-graphviz-<pid>-<random>.
_TEMP = re.compile(r"backprop-lens-graphviz-(?:(\d+)-)?")
STALE_UNOWNED_S = 3600.0  # folders of older versions carry no pid: removed once an hour old


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_tempdirs(root: Path | None = None) -> int:
    """Remove the Graphviz folders that killed servers left behind (a live server's own folder stays)."""
    removed = 0
    for path in (root or Path(tempfile.gettempdir())).glob("backprop-lens-graphviz-*"):
        m = _TEMP.match(path.name)
        if m is None or not path.is_dir():
            continue
        with contextlib.suppress(OSError):
            stale = not _alive(int(m[1])) if m[1] else time.time() - path.stat().st_mtime > STALE_UNOWNED_S
            if stale and m[1] != str(os.getpid()):
                shutil.rmtree(path)
                removed += 1
    return removed


def dot_missing_warning() -> str | None:
    if shutil.which("dot") is not None:
        return None
    return (
        "backprop-lens: warning: Graphviz's `dot` is not installed: graphs answer 503 and /readyz says not ready "
        "until it is (apt-get install graphviz, brew install graphviz)"
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    settings: Settings | None = None,
    setting_pairs: Sequence[tuple[str, str]] = (),
) -> None:
    """Run the app; `setting_pairs` are `serve --setting NAME VALUE`'s (checked by the CLI before we get here)."""
    if host in ALL_INTERFACES:
        print(
            f"backprop-lens: warning: listening on all interfaces ({host or '0.0.0.0'}): anyone who can reach this "
            "machine can use the app; use --host 127.0.0.1 to keep it on this machine.",
            file=sys.stderr,
        )
    warning = dot_missing_warning()
    if warning is not None:
        print(warning, file=sys.stderr)
    if workers > 1:
        # Each server process imports the app itself (an import string) and reads the settings from its
        # environment, which it inherits from this one.
        os.environ[SETTINGS_ENV] = json.dumps([list(pair) for pair in setting_pairs])
        uvicorn.run(
            "backprop_lens.web.main:app",
            host=host,
            port=port,
            workers=workers,
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        )
    else:
        from backprop_lens.web.app import create_app

        configure_process()
        app = create_app(with_settings(settings or Settings(), setting_pairs))
        uvicorn.run(app, host=host, port=port, h11_max_incomplete_event_size=MAX_REQUEST_HEAD)
