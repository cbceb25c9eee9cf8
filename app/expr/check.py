"""Checking a user's expression: `ast` parse, then a whitelist walk with limits. No torch here.

Every refusal names the field and quotes the offending part of the text with its column (1-based), e.g.
"model: `__import__` is not allowed (column 1): ...".
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection
from dataclasses import dataclass

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
# Why a construct is refused, in words a student understands.
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (`.`) is not part of the language",
    ast.Subscript: "subscripts (`[...]`) are not part of the language",
    ast.Lambda: "lambda is not part of the language",
    ast.ListComp: "comprehensions are not part of the language",
    ast.SetComp: "comprehensions are not part of the language",
    ast.DictComp: "comprehensions are not part of the language",
    ast.GeneratorExp: "comprehensions are not part of the language",
    ast.List: "lists are not part of the language",
    ast.Tuple: "tuples are not part of the language",
    ast.Set: "sets are not part of the language",
    ast.Dict: "dicts are not part of the language",
    ast.Compare: "comparisons are not part of the language",
    ast.BoolOp: "`and`/`or` are not part of the language",
    ast.IfExp: "`if`/`else` is not part of the language",
    ast.NamedExpr: "assignment (`:=`) is not part of the language",
    ast.Starred: "`*` unpacking is not part of the language",
    ast.Await: "`await` is not part of the language",
    ast.Yield: "`yield` is not part of the language",
    ast.YieldFrom: "`yield` is not part of the language",
    ast.JoinedStr: "strings are not part of the language",
    ast.FormattedValue: "strings are not part of the language",
    ast.Slice: "subscripts (`[...]`) are not part of the language",
}


@dataclass(frozen=True)
class Limits:
    max_length: int = 200  # characters
    max_depth: int = 16  # nesting of operations and calls
    max_nodes: int = 80  # numbers, names, operators and calls together
    max_exponent: float = 10  # |constant exponent|
    max_number: float = 1e6  # |number literal|


LIMITS = Limits()


class ExprError(ValueError):
    """A refused expression: `field` (`model`, `loss`), the message, and the 1-based column when known."""

    def __init__(self, field: str, message: str, column: int | None = None) -> None:
        self.field, self.message, self.column = field, message, column
        super().__init__(f"{field}: {message}")


def check(text: object, names: Collection[str], *, field: str, limits: Limits = LIMITS) -> ast.expr:
    """Parse and check `text`; return the checked expression tree or raise `ExprError`."""
    if not isinstance(text, str):
        raise ExprError(field, f"must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExprError(field, "is empty: type an expression such as `w*x + b`")
    if len(text) > limits.max_length:
        raise ExprError(field, f"is too long: {len(text)} characters, at most {limits.max_length}")
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch == " ")):
            raise ExprError(field, f"character {ch!r} is not allowed (column {i + 1})", i + 1)
    if "#" in text:  # a comment would be stored and echoed, and give one model endless ids
        col = text.index("#") + 1
        raise ExprError(field, f"`#` is not allowed (column {col}): comments are not part of an expression", col)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        col = e.offset or 1
        raise ExprError(field, f"syntax error (column {col}): {e.msg}", col) from None
    except (ValueError, RecursionError, MemoryError):  # the parser's own limits (e.g. nesting)
        raise ExprError(field, "cannot be parsed: too deeply nested") from None
    _Checker(text, set(names), field, limits).visit(tree.body, 1)
    return tree.body


class _Checker:
    def __init__(self, text: str, names: set[str], field: str, limits: Limits) -> None:
        self.text, self.names, self.field, self.limits = text, names, field, limits
        self.nodes = 0

    def refuse(self, node: ast.AST, why: str, part: str | None = None) -> ExprError:
        col = getattr(node, "col_offset", 0) + 1
        shown = part if part is not None else (ast.get_source_segment(self.text, node) or type(node).__name__)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return ExprError(self.field, f"`{shown}` is not allowed (column {col}): {why}", col)

    def visit(self, node: ast.AST, depth: int) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.refuse(node, f"the expression has more than {self.limits.max_nodes} parts")
        if depth > self.limits.max_depth:
            raise self.refuse(node, f"nesting deeper than {self.limits.max_depth} levels")
        if isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.BinOp):
            self.binop(node, depth)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.refuse(node, "only unary - and + are allowed")
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
            raise self.refuse(marker, _REFUSED_NODES[type(node)] + "; " + self.allowed(), part=part)
        else:
            why = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not part of the language")
            raise self.refuse(node, why + "; " + self.allowed())

    def allowed(self) -> str:
        return "use numbers, " + ", ".join(sorted(self.names)) + ", + - * / ** and " + ", ".join(FUNCTION_NAMES)

    def constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = "strings" if isinstance(v, (str, bytes)) else f"{type(v).__name__} values"
            raise self.refuse(node, f"{kind} are not part of the language; only real numbers")
        if not math.isfinite(v) or abs(v) > self.limits.max_number:
            raise self.refuse(node, f"numbers must be at most {self.limits.max_number:g} in size")

    def name(self, node: ast.Name) -> None:
        if node.id in self.names:
            return
        if node.id.startswith("_"):
            raise self.refuse(node, "names starting with `_` are never allowed")
        if node.id in FUNCTION_NAMES:
            raise self.refuse(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
        raise self.refuse(node, "unknown name; known names are " + ", ".join(sorted(self.names)))

    def binop(self, node: ast.BinOp, depth: int) -> None:
        op = type(node.op)
        if op not in _OPERATORS:
            sym = _REFUSED_OPERATORS.get(op, type(node.op).__name__)
            raise self.refuse(self.operator_at(node, sym), f"operator {sym} is not allowed; use + - * / **", part=sym)
        if op is ast.Pow and not _has_name(node.right):
            value = _constant_value(node.right)
            if value is None or abs(value) > self.limits.max_exponent:
                limit = self.limits.max_exponent
                raise self.refuse(node, f"a constant exponent must be a number between {-limit:g} and {limit:g}")
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
            raise self.refuse(func, "only the functions " + ", ".join(FUNCTION_NAMES) + " can be called")
        if func.id not in FUNCTION_NAMES:
            raise self.refuse(func, "only the functions " + ", ".join(FUNCTION_NAMES) + " can be called")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise self.refuse(node, f"{func.id} takes exactly one argument, e.g. {func.id}(x)")
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
