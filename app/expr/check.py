"""Checking a user's expression: `ast` parse, then a whitelist walk with limits. No torch here.

Every refusal names the field and quotes the offending part of the text with its column (1-based), e.g.
"model: `__import__` is not allowed (column 1): ...". The refusal is a Problem (catalog keys `error.expr.*`,
worded in English by `str()`, in the request's language by the web layer) with the part's span in the text.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Collection
from dataclasses import dataclass

from backprop_lens.problems import Arg, Problem, number

# Kept here (not imported from functions.py) so that checking needs no torch; functions.py must agree.
FUNCTION_NAMES = (
    "sigmoid",
    "tanh",
    "relu",
    "softplus",
    "exp",
    "log",
    "sin",
    "cos",
    "abs",
    "sqrt",
    "square",
    "mean",
    "sum",
)

_OPERATORS: dict[type[ast.AST], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
# Why a construct is refused, in words a student understands: catalog keys (app/present/errors_*.py).
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "error.expr.no_attribute",
    ast.Subscript: "error.expr.no_subscript",
    ast.Lambda: "error.expr.no_lambda",
    ast.ListComp: "error.expr.no_comprehension",
    ast.SetComp: "error.expr.no_comprehension",
    ast.DictComp: "error.expr.no_comprehension",
    ast.GeneratorExp: "error.expr.no_comprehension",
    ast.List: "error.expr.no_list",
    ast.Tuple: "error.expr.no_tuple",
    ast.Set: "error.expr.no_set",
    ast.Dict: "error.expr.no_dict",
    ast.Compare: "error.expr.no_compare",
    ast.BoolOp: "error.expr.no_boolop",
    ast.IfExp: "error.expr.no_ifexp",
    ast.NamedExpr: "error.expr.no_walrus",
    ast.Starred: "error.expr.no_starred",
    ast.Await: "error.expr.no_await",
    ast.Yield: "error.expr.no_yield",
    ast.YieldFrom: "error.expr.no_yield",
    ast.JoinedStr: "error.expr.no_string",
    ast.FormattedValue: "error.expr.no_string",
    ast.Slice: "error.expr.no_subscript",
}
# Python's own syntax messages, for the common ones: the key says it in both languages (the rest stay Python's).
_SYNTAX: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"invalid syntax"), "error.syntax.invalid"),
    (re.compile(r"'(?P<char>.)' was never closed"), "error.syntax.never_closed"),
    (re.compile(r"unmatched '(?P<char>.)'"), "error.syntax.unmatched"),
    (re.compile(r"invalid (decimal|hexadecimal|octal|binary) literal"), "error.syntax.bad_number"),
    (re.compile(r"unterminated string literal"), "error.syntax.unterminated_string"),
]


@dataclass(frozen=True)
class Limits:
    max_length: int = 200  # characters
    max_depth: int = 16  # nesting of operations and calls
    max_nodes: int = 80  # numbers, names, operators and calls together
    max_exponent: float = 10  # |constant exponent|
    max_number: float = 1e6  # |number literal|


LIMITS = Limits()


class ExprError(ValueError):
    """A refused expression: `field` (`model`, `loss`), the Problem (`message`: its English words), and the
    1-based column when known (the start of the Problem's span)."""

    def __init__(self, field: str, problem: Problem) -> None:
        self.field, self.problem, self.message = field, problem, str(problem)
        self.column = problem.span[0] + 1 if problem.span is not None else None
        super().__init__(f"{field}: {self.message}")


def _at(i: int, length: int = 1) -> tuple[int, int]:
    return (i, i + length)


def _syntax(e: SyntaxError, text: str) -> Problem:
    col = e.offset or 1
    reason: Problem = Problem("error.syntax.other", {"text": e.msg})
    for pattern, key in _SYNTAX:
        m = pattern.search(e.msg)
        if m:
            reason = Problem(key, m.groupdict())
            break
    start = min(col - 1, len(text))  # the character Python stopped at (none past the end: an empty span there)
    return Problem("error.expr.syntax", {"column": col, "reason": reason}, span=(start, min(start + 1, len(text))))


def check(text: object, names: Collection[str], *, field: str, limits: Limits = LIMITS) -> ast.expr:
    """Parse and check `text`; return the checked expression tree or raise `ExprError`."""
    if not isinstance(text, str):
        raise ExprError(field, Problem("error.expr.not_text", {"type": type(text).__name__}))
    if not text.strip():
        raise ExprError(field, Problem("error.expr.empty"))
    if len(text) > limits.max_length:
        raise ExprError(field, Problem("error.expr.too_long", {"length": len(text), "most": limits.max_length}))
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch == " ")):
            raise ExprError(field, Problem("error.expr.character", {"char": repr(ch), "column": i + 1}, _at(i)))
    if "#" in text:  # a comment would be stored and echoed, and give one model endless ids
        i = text.index("#")
        raise ExprError(field, Problem("error.expr.comment", {"column": i + 1}, _at(i)))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExprError(field, _syntax(e, text)) from None
    except (ValueError, RecursionError, MemoryError):  # the parser's own limits (e.g. nesting)
        raise ExprError(field, Problem("error.expr.too_deep")) from None
    _Checker(text, set(names), field, limits).visit(tree.body, 1)
    return tree.body


class _Checker:
    def __init__(self, text: str, names: set[str], field: str, limits: Limits) -> None:
        self.text, self.names, self.field, self.limits = text, names, field, limits
        self.nodes = 0

    def refuse(self, node: ast.AST, why: str, part: str | None = None, **args: Arg) -> ExprError:
        """`why`: the reason's catalog key, `args` its placeholders; the span covers the part in the text."""
        start = getattr(node, "col_offset", 0)
        segment = ast.get_source_segment(self.text, node)
        whole = part if part is not None else (segment or type(node).__name__)
        end = start + len(whole) if part is not None or segment else start + 1
        shown = whole if len(whole) <= 40 else whole[:37] + "..."
        reason = Problem(why, args)
        span = (start, min(end, len(self.text)))
        return ExprError(
            self.field, Problem("error.expr.refused", {"part": shown, "column": start + 1, "why": reason}, span)
        )

    def visit(self, node: ast.AST, depth: int) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.refuse(node, "error.expr.too_many_parts", most=self.limits.max_nodes)
        if depth > self.limits.max_depth:
            raise self.refuse(node, "error.expr.too_nested", most=self.limits.max_depth)
        if isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.BinOp):
            self.binop(node, depth)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.refuse(node, "error.expr.unary")
            self.visit(node.operand, depth + 1)
        elif isinstance(node, ast.Call):
            self.call(node, depth)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            # Blame the leftmost offence: in `__import__('os').system` that is `__import__`.
            self.visit(node.value, depth + 1)
            start = node.value.end_col_offset or 0
            while start < len(self.text) and self.text[start] in ") ":  # past the closing parentheses
                start += 1
            marker = ast.Pass()
            marker.col_offset = start
            part = self.text[start : node.end_col_offset]
            raise self.refuse(marker, _REFUSED_NODES[type(node)], part=part, allowed=self.allowed())
        else:
            why = _REFUSED_NODES.get(type(node), "error.expr.no_construct")
            raise self.refuse(node, why, construct=type(node).__name__, allowed=self.allowed())

    def allowed(self) -> Problem:
        names, functions = ", ".join(sorted(self.names)), ", ".join(FUNCTION_NAMES)
        return Problem("error.expr.allowed", {"names": names, "functions": functions})

    def constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, (str, bytes)):
            raise self.refuse(node, "error.expr.no_strings")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.refuse(node, "error.expr.no_values", type=type(v).__name__)
        if not math.isfinite(v) or abs(v) > self.limits.max_number:
            raise self.refuse(node, "error.expr.number_size", most=number(self.limits.max_number))

    def name(self, node: ast.Name) -> None:
        if node.id in self.names:
            return
        if node.id.startswith("_"):
            raise self.refuse(node, "error.expr.underscore")
        if node.id in FUNCTION_NAMES:
            raise self.refuse(node, "error.expr.uncalled", name=node.id)
        raise self.refuse(node, "error.expr.unknown_name", names=", ".join(sorted(self.names)))

    def binop(self, node: ast.BinOp, depth: int) -> None:
        op = type(node.op)
        if op not in _OPERATORS:
            sym = _REFUSED_OPERATORS.get(op, type(node.op).__name__)
            raise self.refuse(self.operator_at(node, sym), "error.expr.operator", part=sym, op=sym)
        if op is ast.Pow and not _has_name(node.right):
            value = _constant_value(node.right)
            if value is None or abs(value) > self.limits.max_exponent:
                limit = number(self.limits.max_exponent)
                raise self.refuse(node, "error.expr.exponent", low=-limit, high=limit)
        # A chain `a + b + c + d` is flat to a reader, though ast nests it to the left: only the right operand
        # counts as one level deeper. (The length limit bounds the chain, so recursion stays shallow.)
        self.visit(node.left, depth)
        self.visit(node.right, depth + 1)

    def operator_at(self, node: ast.BinOp, sym: str) -> ast.AST:
        """A stand-in node at the operator's own column (the BinOp itself starts at its left operand)."""
        start = _offset(self.text, node.left.end_lineno, node.left.end_col_offset)
        col = self.text.find(sym, start) if start is not None else -1
        marker = ast.Pass()
        marker.col_offset = col if col >= 0 else node.col_offset
        return marker

    def call(self, node: ast.Call, depth: int) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            self.visit(func, depth + 1)  # refuses the attribute or subscript that makes the callee
            raise self.refuse(func, "error.expr.only_functions", functions=", ".join(FUNCTION_NAMES))
        if func.id not in FUNCTION_NAMES:
            raise self.refuse(func, "error.expr.only_functions", functions=", ".join(FUNCTION_NAMES))
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise self.refuse(node, "error.expr.one_argument", name=func.id)
        self.visit(node.args[0], depth + 1)


def _offset(text: str, lineno: int | None, col: int | None) -> int | None:
    """Character offset of (line, UTF-8 byte column); our text is ASCII and one line, so bytes == characters."""
    if lineno != 1 or col is None:
        return None
    return col


def _has_name(node: ast.AST) -> bool:
    """True when a variable (not a function's name) occurs: `exp(exp(3))` is still a constant exponent."""
    functions = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return any(isinstance(n, ast.Name) and id(n) not in functions for n in ast.walk(node))


def _constant_value(node: ast.AST) -> float | None:
    """The value of `3`, `-3`, `+0.5`; None for anything else."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sign * node.value
    return None


def names_in(tree: ast.AST) -> set[str]:
    """The variable names an expression uses (function names excluded)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}
