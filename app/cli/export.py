"""`backprop-lens export SCENARIO [options] -o OUT.html`: a built-in scenario as one self-contained page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backprop_lens.cli.common import CliError, add_scenario_parsers, build_run

HELP = "write a scenario's run as one self-contained HTML file (works from file://, no server)"


def configure(parser: argparse.ArgumentParser) -> None:
    for sub in add_scenario_parsers(parser).values():
        sub.add_argument("-o", "--output", metavar="OUT.html", required=True, help="the file to write")
        sub.add_argument("--max-steps", type=int, default=1000, metavar="N", help="the first N steps (default 1000)")


def handle(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix not in (".html", ".htm"):
        raise CliError(f"output: {out.name} must end in .html")
    if not out.parent.is_dir():
        raise CliError(f"output: the folder {out.parent} does not exist")
    if args.max_steps < 1:
        raise CliError("max-steps: must be 1 or more")
    run = build_run(args)
    from backprop_lens.export import export_html
    from backprop_lens.export.source import from_run

    source = from_run(run, args.scenario, max_steps=args.max_steps)
    out.write_text(export_html(source), encoding="utf-8")
    print(f"backprop-lens: {len(source.steps)} of {run.step_count} steps: wrote {out}", file=sys.stderr)
    return 0
