"""`backprop-lens render SCENARIO [options] --step K -o FILE`: one step's graph as SVG, PNG, DOT or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backprop_lens.cli.common import CliError, add_scenario_parsers, build_run

if TYPE_CHECKING:
    from backprop_lens.present import Context

HELP = "write one step's graph as .svg, .png, .dot or .json"


def configure(parser: argparse.ArgumentParser) -> None:
    for sub in add_scenario_parsers(parser).values():
        _add_render_options(sub)


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    from backprop_lens.present import LANGS
    from backprop_lens.render import FITS, FORMATS, THEMES  # the one list of each (render never loads torch)
    from backprop_lens.snapshot import PHASES

    parser.add_argument("--step", type=int, required=True, metavar="K", help="step index (0-based)")
    parser.add_argument("--phase", choices=PHASES, default="backward", help="what the graph shows")
    parser.add_argument("--theme", choices=tuple(THEMES), default="light", help="colour theme")
    parser.add_argument("--lang", choices=LANGS, default="en", help="language of every word in the picture")
    parser.add_argument("--fit", choices=FITS, default=None, help="slide: 16:9, titled; tall: closest to 3:4")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file (format from its extension), or - for stdout"
    )
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format (default: from FILE; - : svg)")
    parser.add_argument(
        "--collapse",
        action="append",
        default=None,
        metavar="MODULE[,MODULE]",
        help="draw these modules (e.g. layer1, cnn.conv) as one box each; repeat or separate with commas",
    )
    parser.add_argument(
        "--expand",
        action="append",
        default=None,
        metavar="MODULE[,MODULE]",
        help="open these modules of a big graph (which opens collapsed), their children as boxes; '*' opens "
        "everything; with --collapse, a named box that is or holds one opens",
    )


def handle(args: argparse.Namespace) -> int:
    from backprop_lens.render import FORMATS, BadArgument, RenderError, render
    from backprop_lens.scenarios import StepOutOfRange

    to_stdout = args.output == "-"
    out = Path(args.output)
    fmt = args.format or ("svg" if to_stdout else out.suffix.lstrip(".").lower())
    if fmt not in FORMATS:
        raise CliError(f"output: cannot tell the format of {out.name!r}: use one of .{', .'.join(FORMATS)}")
    run = build_run(args)
    try:
        step = run.step(args.step)
    except StepOutOfRange as e:
        raise CliError(f"step: {e}") from None
    try:
        data = render(
            step,
            phase=args.phase,
            theme=args.theme,
            fmt=fmt,
            collapse=",".join(args.collapse or ()),
            expand=",".join(args.expand or ()),
            lang=args.lang,
            fit=args.fit,
            context=_context(run, args.lang) if args.fit == "slide" else None,
        )
    except BadArgument as e:  # an unknown module name (collapse or expand): a usage error (exit 2), like any bad option
        raise CliError(str(e)) from None
    except RenderError as e:  # Graphviz missing and the like: one line, no traceback
        print(f"backprop-lens: {e}", file=sys.stderr)
        return 1
    if to_stdout:  # `render ... -o - | display`: the bytes only, nothing else on stdout
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        out.write_bytes(data)
    except OSError as e:
        raise CliError(f"output: cannot write {out}: {e.strerror}") from None
    print(f"wrote {out} (step {args.step}, {args.phase}, {len(data)} bytes)", file=sys.stderr)
    return 0


def _context(run: Any, lang: str) -> Context:
    """A slide's title, as the web app's `?fit=slide` writes it."""
    from backprop_lens.present import slide_context

    return slide_context(run.scenario, run.params, lang)
