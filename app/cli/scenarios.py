"""`backprop-lens scenarios`: the scenarios and their defaults, written as options."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

HELP = "list the scenarios and their default parameters"


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def handle(args: argparse.Namespace) -> int:
    from backprop_lens.scenarios import SCENARIOS

    for s in SCENARIOS.values():
        defaults = s.Params().model_dump()
        print(f"{s.id:12} {s.title}")
        print(" " * 13 + " ".join(as_option(k, v) for k, v in defaults.items()))
    return 0


def as_option(name: str, value: Any) -> str:
    """A default as a shell would take it back: `--no-zero-grad`, `--model 'w1*x*x + b'`, `--params 'w=1, b=0'`."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    if isinstance(value, list):
        return f"--{flag} " + " ".join(shlex.quote(str(v)) for v in value)
    if isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    return f"--{flag} {shlex.quote(str(value))}"
