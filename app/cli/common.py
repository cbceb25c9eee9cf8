"""What the subcommands share: the usage error, and scenario parameters as options."""

from __future__ import annotations

import argparse
import typing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo


class CliError(Exception):
    """A user mistake: printed as `backprop-lens: error: ...`, exit status 2."""


def add_scenario_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """One sub-parser per scenario, with one option per parameter of its pydantic model."""
    from backprop_lens.parameters import ABOUT  # torch-free: `run --help` answers at once

    per_scenario = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    parsers = {}
    for about in ABOUT.values():
        sub = per_scenario.add_parser(about.id, help=about.title, description=about.description)
        add_param_options(sub, about.params.model_fields)
        parsers[about.id] = sub
    return parsers


def add_param_options(parser: argparse.ArgumentParser, fields: dict[str, FieldInfo]) -> None:
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


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def raw_params(args: argparse.Namespace) -> dict[str, Any]:
    from backprop_lens.parameters import ABOUT

    raw = {}
    for name in ABOUT[args.scenario].params.model_fields:
        value = getattr(args, name, None)
        if isinstance(value, list):  # "--x 1 2 3" and "--x 1,2,3" both work
            value = [part for v in value for part in v.split(",") if part.strip()]
        if value is not None:
            raw[name] = value
    return raw


def build_run(args: argparse.Namespace) -> Any:
    """The run the options describe; bad parameters are a usage error naming the field."""
    from backprop_lens.scenarios import InvalidParams, build_run

    try:
        return build_run(args.scenario, raw_params(args))
    except InvalidParams as e:
        raise CliError(str(e)) from None
