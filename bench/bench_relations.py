"""Benchmark: what the edge relations cost the tracer, in one process, alternating runs.

For Lecture 04 (300 steps, scalars) and the two-layer net (100 full-batch steps, matrices, transposes, biases
summed over the batch), every step traced with relations and without (`Tracer(relations=False)`), against the
plain loop. Prints medians and ratios. Goal: relations cost less than the rest of the tracer (ratio < 2x).
    .venv/bin/python bench/bench_relations.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import time
from collections.abc import Callable, Iterator

import torch
from backprop_lens.scenarios import base, build_run
from backprop_lens.tracing import Tracer
from bench_trace import plain_loop


@contextlib.contextmanager
def relations(on: bool) -> Iterator[None]:
    setattr(base, "Tracer", functools.partial(Tracer, relations=on))  # noqa: B010 — the scenarios build theirs
    try:
        yield
    finally:
        setattr(base, "Tracer", Tracer)  # noqa: B010


def two_layer_plain() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.tensor([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
    y = x * x
    for _ in range(100):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def traced(scenario: str, params: dict, steps: int, on: bool) -> Callable[[], object]:
    def run() -> object:
        with relations(on):
            return build_run(scenario, params).steps(0, steps)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    cases = {
        "lecture04 (300 steps)": (plain_loop, ("lecture04", {}, 300)),
        "two_layer (100 steps)": (two_layer_plain, ("two_layer", {"epochs": 100}, 100)),
    }
    print(f"CPU time, best of {args.repeat} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'':24}{'plain ms':>10}{'no rel ms':>11}{'rel ms':>9}{'rel/plain':>11}{'rel/no rel':>12}")
    for label, (plain, (scenario, params, steps)) in cases.items():
        fns = {
            "plain": plain,
            "off": traced(scenario, params, steps, False),
            "on": traced(scenario, params, steps, True),
        }
        for fn in fns.values():  # warm-up
            fn()
        samples: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(args.repeat):
            for k, fn in fns.items():
                start = time.process_time()  # CPU time: eight engineers share two cores, wall time is noise
                fn()
                samples[k].append(time.process_time() - start)
        p, off, on = (min(samples[k]) * 1e3 for k in ("plain", "off", "on"))  # the least disturbed run
        print(f"{label:24}{p:10.1f}{off:11.1f}{on:9.1f}{on / p:10.2f}x{on / off:11.2f}x")


if __name__ == "__main__":
    main()
