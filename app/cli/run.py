"""`backprop-lens run SCENARIO [options]`: the training log, in its lecture's format."""

from __future__ import annotations

import argparse
import sys

from backprop_lens.cli.common import add_scenario_parsers, build_run
from backprop_lens.cli.progress import progress_bar

HELP = "print a scenario's training log (Lecture 04's format)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_scenario_parsers(parser)


def handle(args: argparse.Namespace) -> int:
    """Print the log as the loop goes, as the lecture's script does: what each step printed, after that step."""
    from backprop_lens.scenarios import Recorder

    run = build_run(args)
    rec = Recorder()
    printed = 0

    def flush(_steps_done: int = 0) -> None:
        nonlocal printed
        lines = rec.log[printed:]
        printed += len(lines)
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()

    with progress_bar(run.step_count) as report:  # on stderr, on a terminal, for long runs

        def on_step(steps_done: int) -> None:
            flush()
            if report is not None:
                report(steps_done)

        rec.on_step = on_step
        run.scenario.train(run.params, rec)
    flush()
    return 0
