"""The command line: `backprop-lens run|render|serve|scenarios|trace|export`. Bad input exits 2 with a one-line reason.

One module per subcommand (`backprop_lens.cli.NAME`), each with `HELP` (its line in `--help`), `configure(parser)`
(its options) and `handle(args) -> int`. Only the subcommand being run is configured: `run` and `render` derive
their options from the scenarios' parameter models, and nobody else should pay for importing them, so
`backprop-lens --help`, `--version` and `serve` start without torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from backprop_lens import __version__
from backprop_lens.cli.common import CliError

# The subcommands, in `--help` order: a new one is a module in this package and a name here.
COMMANDS = ("run", "render", "serve", "scenarios", "trace", "export")

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args_list, script_args = _split_script_args(args_list)
    parser = build_parser(only=_command_of(args_list) or "")
    args = parser.parse_args(args_list)
    if script_args is not None:  # `trace SCRIPT.py -o OUT.html -- ARGS...`: the script's, never ours
        if not hasattr(args, "script_args"):
            parser.error("unrecognized arguments after --")
        args.script_args = [*args.script_args, *script_args]
    try:
        return int(args.handler(args) or 0)
    except CliError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `backprop-lens run lecture04 | head`
        return 0


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that subcommand gets its options (the others keep their help line)."""
    parser = argparse.ArgumentParser(
        prog="backprop-lens",
        description="See backpropagation happen in real PyTorch: annotated autograd graphs, step by step.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = _module(name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        if only is None or only == name:
            module.configure(sub)
            sub.set_defaults(handler=module.handle)
    return parser


def _split_script_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    if "--" not in argv:
        return argv, None
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in argv: the first word that is not an option (the top level has no valued options)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"backprop_lens.cli.{name}")
