"""`backprop-lens run SCENARIO [options]`: the training log, in its lecture's format."""

from __future__ import annotations

import argparse
import sys

from backprop_lens.cli.common import add_scenario_parsers, build_run

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

    rec.on_step = flush
    run.scenario.train(run.params, rec)
    flush()
    return 0
