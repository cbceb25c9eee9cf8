"""Command-line start-up benchmark: how long `--help` and friends take, beside the interpreter alone and
`import torch` in the same run. Run: .venv/bin/python bench/bench_cli.py

Each line: the median wall time of `repeats` fresh processes; ratio = the command / `python -c pass`. A command
that loads PyTorch costs at least the `import torch` line; `--help` should cost about the interpreter's start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

REPEATS = 5
CASES: list[tuple[str, list[str]]] = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
    ("backprop-lens --help", [sys.executable, "-m", "backprop_lens", "--help"]),
    ("backprop-lens run --help", [sys.executable, "-m", "backprop_lens", "run", "--help"]),
    ("backprop-lens run custom --help", [sys.executable, "-m", "backprop_lens", "run", "custom", "--help"]),
    ("backprop-lens render --help", [sys.executable, "-m", "backprop_lens", "render", "--help"]),
    ("backprop-lens export --help", [sys.executable, "-m", "backprop_lens", "export", "--help"]),
    ("backprop-lens run lecture04 (402 lines)", [sys.executable, "-m", "backprop_lens", "run", "lecture04"]),
]


def median_s(args: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, timeout=300)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    base = None
    print(f"{'command':42} {'median s':>9} {'x python':>9}")
    for name, args in CASES:
        t = median_s(args)
        base = base or t
        print(f"{name:42} {t:9.3f} {t / base:9.1f}")


if __name__ == "__main__":
    main()
