"""Readiness: can this process answer what it is asked? Graphviz, the PNG renderer, room in its lanes; and
what it holds (its caches against `memory_bytes`, its RSS), for whoever watches it.

Each tool is checked by using it on a tiny input (whichever PNG renderer the render layer uses, a program or a
wheel), and the answer kept for a few seconds: a monitor polling every second costs nothing.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from typing import Any

from backprop_lens.render import RenderError, render
from backprop_lens.snapshot import Edge, Graph, Node

TOOLS_TTL_S = 10.0
# Two nodes and an edge: enough for dot to lay out, and for a PNG to be drawn; a layout of its own (cached once).
_TINY = Graph(
    nodes=(
        Node("data:a", "data", name="a", value=1.0),
        Node("op:0", "op", op="-", grad_fn="NegBackward0", is_loss=True),
    ),
    edges=(Edge("data:a", "op:0"),),
)


class Readiness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tools: tuple[float, dict[str, dict[str, Any]]] | None = None

    def tools(self) -> dict[str, dict[str, Any]]:
        """{"graphviz": {"ok", "detail"}, "png": {...}}, at most TOOLS_TTL_S old (sync: call from a thread)."""
        with self._lock:
            if self._tools is not None and time.monotonic() - self._tools[0] < TOOLS_TTL_S:
                return self._tools[1]
            checks = {"graphviz": _check("svg"), "png": _check("png")}
            self._tools = (time.monotonic(), checks)
            return checks


def _check(fmt: str) -> dict[str, Any]:
    if fmt == "svg" and shutil.which("dot") is None:  # a layout cached earlier would still draw: ask for dot itself
        return {"ok": False, "detail": "Graphviz's `dot` is not on PATH"}
    try:
        data = render(_TINY, fmt=fmt)
    except RenderError as e:
        return {"ok": False, "detail": str(e).splitlines()[0]}
    except Exception as e:  # a broken install is not ready, whatever it raises
        return {"ok": False, "detail": f"{type(e).__name__}: {e}"}
    where = shutil.which("dot") if fmt == "svg" else None
    detail = f"rendered a test graph ({len(data)} bytes)" + (f" with {where}" if where else "")
    return {"ok": bool(data), "detail": detail}


def memory_check(stats: dict[str, Any]) -> dict[str, Any]:
    """What this process's caches and runs in progress hold against `memory_bytes` (RunStore.stats), each cache's
    bytes, and the process's RSS (the interpreter and torch are ~300 MB of it): never a reason not to be ready,
    the budget is kept by eviction; `ok` says it is."""
    memory = stats["memory"]
    detail = {
        "bytes": memory["bytes"],
        "memory_bytes": memory["memory_bytes"],
        "rss_bytes": rss_bytes(),
        "caches": memory["caches"],
    }
    return {"ok": memory["bytes"] <= memory["memory_bytes"], "detail": detail}


def rss_bytes() -> int | None:
    """This process's resident set now (Linux: /proc/self/statm; elsewhere None)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
