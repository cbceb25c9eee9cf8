"""The command line: `backprop-lens run|render|serve|scenarios`. Bad input exits 2 with a one-line reason."""

from __future__ import annotations

import argparse
import shlex
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backprop_lens.present import LANGS, Context, t
from backprop_lens.render import FITS, FORMATS, THEMES  # the one list of each (render never loads torch)
from backprop_lens.snapshot import PHASES
from pydantic.fields import FieldInfo


class CliError(Exception):
    """A user mistake: printed as `backprop-lens: error: ...`, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CliError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `backprop-lens run lecture04 | head`
        return 0


def build_parser() -> argparse.ArgumentParser:
    from backprop_lens.scenarios import SCENARIOS

    parser = argparse.ArgumentParser(
        prog="backprop-lens",
        description="See backpropagation happen in real PyTorch: annotated autograd graphs, step by step.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="print a scenario's training log (Lecture 04's format)")
    render = commands.add_parser("render", help="write one step's graph as .svg, .png, .dot or .json")
    for command, handler in ((run, _run), (render, _render)):
        per_scenario = command.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
        for scenario in SCENARIOS.values():
            sub = per_scenario.add_parser(scenario.id, help=scenario.title, description=scenario.description)
            _add_param_options(sub, scenario.Params.model_fields)
            if command is render:
                _add_render_options(sub)
            sub.set_defaults(handler=handler)

    serve = commands.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default: 1)")
    serve.set_defaults(handler=_serve)

    listing = commands.add_parser("scenarios", help="list the scenarios and their default parameters")
    listing.set_defaults(handler=_scenarios)
    return parser


def _add_param_options(parser: argparse.ArgumentParser, fields: dict[str, FieldInfo]) -> None:
    """One option per scenario parameter; values stay strings here and are validated by the scenario."""
    group = parser.add_argument_group("scenario parameters")
    for name, info in fields.items():
        flag = "--" + name.replace("_", "-")
        default = info.get_default(call_default_factory=True)
        help_text = f"{info.description or name} (default: {_show(default)})"
        if info.annotation is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif typing.get_origin(info.annotation) is list:
            group.add_argument(flag, dest=name, nargs="+", metavar="V", default=None, help=help_text)
        else:
            group.add_argument(flag, dest=name, metavar="V", default=None, help=help_text)


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step", type=int, required=True, metavar="K", help="step index (0-based)")
    parser.add_argument("--phase", choices=PHASES, default="backward", help="what the graph shows")
    parser.add_argument("--theme", choices=tuple(THEMES), default="light", help="colour theme")
    parser.add_argument("--lang", choices=LANGS, default="en", help="language of every word in the picture")
    parser.add_argument("--fit", choices=FITS, default=None, help="slide: laid out and padded to 16:9, titled")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="output; format from the extension")
    parser.add_argument(
        "--collapse",
        action="append",
        default=None,
        metavar="MODULE[,MODULE]",
        help="draw these modules (e.g. layer1, cnn.conv) as one box each; repeat or separate with commas",
    )


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _as_option(name: str, value: Any) -> str:
    """A default as a shell would take it back: `--no-zero-grad`, `--model 'w1*x*x + b'`, `--params 'w=1, b=0'`."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    if isinstance(value, list):
        return f"--{flag} " + " ".join(shlex.quote(str(v)) for v in value)
    if isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    return f"--{flag} {shlex.quote(str(value))}"


def _raw_params(args: argparse.Namespace) -> dict[str, Any]:
    from backprop_lens.scenarios import get_scenario

    raw = {}
    for name in get_scenario(args.scenario).Params.model_fields:
        value = getattr(args, name, None)
        if isinstance(value, list):  # "--x 1 2 3" and "--x 1,2,3" both work
            value = [part for v in value for part in v.split(",") if part.strip()]
        if value is not None:
            raw[name] = value
    return raw


def _build_run(args: argparse.Namespace) -> Any:
    from backprop_lens.scenarios import InvalidParams, build_run

    try:
        return build_run(args.scenario, _raw_params(args))
    except InvalidParams as e:
        raise CliError(str(e)) from None


def _run(args: argparse.Namespace) -> int:
    sys.stdout.write(_build_run(args).log_text)
    sys.stdout.flush()
    return 0


def _render(args: argparse.Namespace) -> int:
    from backprop_lens.render import BadArgument, RenderError, render
    from backprop_lens.scenarios import StepOutOfRange

    out = Path(args.output)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise CliError(f"output: cannot tell the format of {out.name!r}: use one of .{', .'.join(FORMATS)}")
    run = _build_run(args)
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
            lang=args.lang,
            fit=args.fit,
            context=_context(run, args.lang) if args.fit else None,
        )
    except BadArgument as e:  # an unknown module name: a usage error (exit 2), like any bad option
        raise CliError(str(e)) from None
    except RenderError as e:  # Graphviz missing and the like: one line, no traceback
        print(f"backprop-lens: {e}", file=sys.stderr)
        return 1
    try:
        out.write_bytes(data)
    except OSError as e:
        raise CliError(f"output: cannot write {out}: {e.strerror}") from None
    print(f"wrote {out} (step {args.step}, {args.phase}, {len(data)} bytes)", file=sys.stderr)
    return 0


def _context(run: Any, lang: str) -> Context:
    """A slide's title: the scenario (in `lang`) and the learning rate, as the web app's `?fit=slide` gives."""
    s = run.scenario
    title = t(lang, f"scenario.{s.id}.title") if lang != "en" else s.title
    lr = getattr(run.params, "lr", None)
    return Context(scenario=title if not title.startswith("scenario.") else s.title, lr=f"{lr:g}" if lr else "")


def _serve(args: argparse.Namespace) -> int:
    from backprop_lens.web import serve

    if not 0 < args.port < 65536:
        raise CliError(f"port: {args.port} is not a port number (1-65535)")
    if args.workers < 1:
        raise CliError("workers: must be at least 1")
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    from backprop_lens.scenarios import SCENARIOS

    for s in SCENARIOS.values():
        defaults = s.Params().model_dump()
        print(f"{s.id:12} {s.title}")
        print(" " * 13 + " ".join(_as_option(k, v) for k, v in defaults.items()))
    return 0
