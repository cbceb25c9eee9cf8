"""`backprop-lens run SCENARIO [options]`: the training log, in its lecture's format."""

from __future__ import annotations

import argparse
import sys

from backprop_lens.cli.common import add_scenario_parsers, build_run

HELP = "print a scenario's training log (Lecture 04's format)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_scenario_parsers(parser)


def handle(args: argparse.Namespace) -> int:
    sys.stdout.write(build_run(args).log_text)
    sys.stdout.flush()
    return 0
