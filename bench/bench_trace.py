"""Benchmark: the whole 300-step Lecture 04 run with every step's snapshot, against the plain loop.

Same process, same machine, alternating runs; prints medians and the ratio. Goal (issue 16): at most 2x the
plain loop. "traced, every step in full" forces the full trace of each step (no template of the known topology,
the dispatch mode on for every forward): what the fast path saves.
    .venv/bin/python bench/bench_trace.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from backprop_lens.scenarios import build_run

try:
    from backprop_lens.tracing.fast import full_traces
except ImportError:  # an older tree (bench it against this one): no fast path, every step is a full trace
    full_traces = None  # type: ignore[assignment]


def plain_loop() -> list[str]:
    """Lecture 04's script, collecting its lines instead of printing them (our run collects them too)."""
    lines = []
    w = torch.tensor([1.0])
    w.requires_grad = True

    def forward(x):
        return x * w

    def loss(x, y):
        return (forward(x) - y) ** 2

    lines.append(f"predict (before training) 4 {forward(4).item()}")
    for epoch in range(100):
        for x, y in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], strict=True):
            l = loss(x, y)  # noqa: E741
            l.backward()
            lines.append(f"\tgrad: {x} {y} {w.grad.item()}")
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
        lines.append(f"progress: {epoch} {l.item()}")
    lines.append(f"predict (after training) 4 {forward(4).item()}")
    return lines


def traced_run() -> int:
    """Our run with all 300 snapshots (graph, values, gradients, chain rule), from a fresh configuration."""
    run = build_run("lecture04")
    return len(run.steps(0, 300))


def traced_full() -> int:
    """The same, every step traced fully (`fast.full_traces()`), as before the fast path existed."""
    with full_traces():
        return traced_run()


def history_only() -> int:
    """Our run's history and log without graphs (what the run summary needs)."""
    return len(build_run("lecture04").history.steps)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    candidates = {"plain loop": plain_loop, "history only": history_only, "traced, 300 snapshots": traced_run}
    if full_traces is not None:
        candidates["traced, every step in full"] = traced_full
    for fn in candidates.values():  # warm-up: the first trace imports torch._dynamo, once per process
        fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeat):
        for name, fn in candidates.items():
            samples[name].append(timed(fn))
    base = statistics.median(samples["plain loop"])
    threads = torch.get_num_threads()
    print(f"Lecture 04, 300 steps, median of {args.repeat} (torch {torch.__version__}, {threads} threads)")
    # the fastest run too: on a loaded machine (other processes on the cores) the least disturbed one
    low = min(samples["plain loop"])
    print(f"{'':28}{'median ms':>10}{'per step us':>13}{'ratio':>8}{'min ms':>9}{'ratio':>8}")
    for name, values in samples.items():
        med = statistics.median(values)
        print(
            f"{name:28}{med * 1e3:10.1f}{med / 300 * 1e6:13.0f}{med / base:8.2f}x"
            f"{min(values) * 1e3:9.1f}{min(values) / low:8.2f}x"
        )
    print("goal: traced <= 2.00x plain")


if __name__ == "__main__":
    main()
