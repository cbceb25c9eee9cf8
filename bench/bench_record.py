"""Benchmark: a script run plainly against the same script under `record()`, and the offline HTML.

Same process, alternating runs, stdout to a buffer for both; prints medians and ratios for each script (the
lecture's, no modules; a small MLP with Adam, whose nn.Modules the recorder names and frames), and the HTML
file's time and size for the lecture's 300 steps (every graph kept).
    .venv/bin/python bench/bench_record.py [--repeat N] [--no-html]
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

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SCRIPTS = {"lecture04": FIXTURES / "lecture04.py", "mlp_adam": FIXTURES / "mlp_adam.py"}


def plain(script: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path(str(script), run_name="__main__")


def recorded(script: Path, **options: int) -> Any:
    with contextlib.redirect_stdout(io.StringIO()), record(**options) as rec:
        runpy.run_path(str(script), run_name="__main__")
    return rec


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def bench(name: str, script: Path, n: int) -> Any:
    """Medians of n alternating runs; returns the last full recording."""
    plain(script), recorded(script)  # warm-up: imports, torch._dynamo, first trace
    runs: dict[str, list[float]] = {"plain": [], "record (every graph)": [], "record (history only)": []}
    rec = None
    for _ in range(n):
        runs["plain"].append(timed(plain, script)[0])
        t, rec = timed(recorded, script)
        runs["record (every graph)"].append(t)
        runs["record (history only)"].append(timed(recorded, script, max_steps=0)[0])
    base = statistics.median(runs["plain"])
    for label, times in runs.items():
        med = statistics.median(times)
        print(f"{name:10s} {label:24s} {med * 1000:8.1f} ms  {med / base:6.2f}x plain")
    return rec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-html", action="store_true", help="skip timing the lecture's HTML export")
    args = parser.parse_args()
    recs = {name: bench(name, script, args.repeat) for name, script in SCRIPTS.items()}
    if not args.no_html:
        t, html = timed(export_html, recs["lecture04"])
        size = len(str(html).encode("utf-8"))
        print(f"{'HTML export (300 steps)':35s} {t * 1000:8.1f} ms  {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
