"""The lecture's own script (scripts/lecture04.py, verbatim as the course prints it) as the code of `lecture04`.

Its `forward` and `loss` functions are compiled from that file, with their line numbers, and build the graph of
every step, so a node's `source` line is the lecture's line (`return x * w`). The loop around them is
PerSampleSgd's, which prints the script's 402 lines byte for byte. The text the page shows is the script with
this run's numbers in its constant lines (the lecture's text exactly, for the lecture's numbers), and running that
text with plain Python prints this run's log (tests/test_lecture_script.py runs it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

from backprop_lens.parameters.sgd import Lecture04Params
from backprop_lens.tracing.sources import display_path

SCRIPT = Path(__file__).with_name("scripts") / "lecture04.py"
FILE = display_path(str(SCRIPT))  # how node sources name it: backprop_lens/scenarios/scripts/lecture04.py


def _lr(p: Lecture04Params) -> str:
    return f"        w.data = w.data - {p.lr!r} * w.grad.data"


def _zero_grad(p: Lecture04Params) -> str:
    # commented out rather than dropped: every later line keeps its number
    return "        w.grad.data.zero_()" if p.zero_grad else "        # w.grad.data.zero_()  (zero_grad off)"


# The script's constant lines, each with the text it has in the lecture and the same line for other numbers.
CONSTANTS: dict[str, Callable[[Lecture04Params], str]] = {
    "x_data = [1.0, 2.0, 3.0]": lambda p: f"x_data = {p.x!r}",
    "y_data = [2.0, 4.0, 6.0]": lambda p: f"y_data = {p.y!r}",
    "w = torch.tensor([1.0])": lambda p: f"w = torch.tensor([{p.w!r}])",
    "for epoch in range(100):": lambda p: f"for epoch in range({p.epochs}):",
    "        w.data = w.data - 0.01 * w.grad.data": _lr,
    "        w.grad.data.zero_()": _zero_grad,
}


@cache
def lecture_text() -> str:
    text = SCRIPT.read_text(encoding="utf-8")
    missing = [line for line in CONSTANTS if line not in text.splitlines()]
    if missing:  # the shipped script and this table were edited apart
        raise RuntimeError(f"{FILE}: no line {missing[0]!r}")
    return text


def script_text(params: Lecture04Params) -> str:
    """The lecture's script with these numbers: byte for byte the lecture's for its own numbers."""
    return "".join(
        CONSTANTS[line.rstrip("\n")](params) + "\n" if line.rstrip("\n") in CONSTANTS else line
        for line in lecture_text().splitlines(keepends=True)
    )


@cache
def _function_codes() -> dict[str, CodeType]:
    """The code objects of the script's top-level functions, compiled from its own file (its line numbers)."""
    tree = ast.parse(lecture_text(), filename=str(SCRIPT))
    defs: list[ast.stmt] = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    module = compile(ast.Module(body=defs, type_ignores=[]), str(SCRIPT), "exec")
    return {c.co_name: c for c in module.co_consts if isinstance(c, CodeType)}


def lecture_function(name: str, **script_globals: Any) -> Callable[..., Any]:
    """The script's function `name`, reading the given names as its globals (`w`, or the `forward` it calls)."""
    return FunctionType(_function_codes()[name], {"__builtins__": __builtins__, **script_globals})
