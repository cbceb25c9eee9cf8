"""Benchmark: the lecture's script run plainly against the same script under `record()`, and the offline HTML.

Same process, alternating runs, stdout to a buffer for both; prints medians and ratios, and the HTML file's time
and size for the lecture's 300 steps (every graph kept).
    .venv/bin/python bench/bench_record.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import runpy
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backprop_lens.export import export_html, record

SCRIPT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lecture04.py"


def plain() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path(str(SCRIPT), run_name="__main__")


def recorded(**options: int) -> Any:
    with contextlib.redirect_stdout(io.StringIO()), record(**options) as rec:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    return rec


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    n = parser.parse_args().repeat
    plain(), recorded()  # warm-up: imports, torch._dynamo, first trace
    runs: dict[str, list[float]] = {"plain": [], "record (300 graphs)": [], "record (history only)": []}
    rec = None
    for _ in range(n):
        runs["plain"].append(timed(plain)[0])
        t, rec = timed(recorded)
        runs["record (300 graphs)"].append(t)
        runs["record (history only)"].append(timed(recorded, max_steps=0)[0])
    base = statistics.median(runs["plain"])
    for name, times in runs.items():
        med = statistics.median(times)
        print(f"{name:24s} {med * 1000:8.1f} ms  {med / base:6.2f}x plain")
    t, html = timed(export_html, rec)
    size = len(str(html).encode("utf-8"))
    print(f"{'HTML export (300 steps)':24s} {t * 1000:8.1f} ms  {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
