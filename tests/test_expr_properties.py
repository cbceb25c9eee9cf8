"""Property tests on the expression language (backprop_lens.expr, and the custom scenario that uses it).

Random text and random trees built from allowed and forbidden pieces. Whatever arrives:
- it is refused with an ExprError (InvalidParams at the scenario level) that names the field, or it compiles;
- it finishes within a second (Hypothesis' deadline), refusal, compilation and evaluation together;
- nothing runs beyond the whitelist: while an expression is checked, compiled and evaluated, the builtins that
  could reach outside (`__import__` from the language, `open`, `eval`, `exec`, `compile` to code, `breakpoint`)
  raise if called, and every torch function it calls is an arithmetic operator or a whitelisted function.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from backprop_lens.expr import FUNCTIONS, LIMITS, ExprError, check, compile_expr
from backprop_lens.expr.check import FUNCTION_NAMES
from backprop_lens.scenarios import InvalidParams, build_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.overrides import TorchFunctionMode

pytestmark = pytest.mark.filterwarnings(
    "ignore::hypothesis.errors.HypothesisWarning",  # large reprs of generated trees
    "ignore::SyntaxWarning",  # what ast.parse says about `1e` and friends before refusing them
    "ignore:invalid escape sequence:DeprecationWarning",
)

NAMES = ("x", "y", "y_hat", "w1", "w2", "b")
FIELD = "model"
PROPERTY = settings(
    max_examples=300,
    deadline=1000,  # ms per input: parse, check, compile and run
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------------------------------------- the guards

FORBIDDEN_BUILTINS = ("__import__", "open", "eval", "exec", "breakpoint", "input", "exit", "quit")


class Escaped(AssertionError):
    pass


@contextlib.contextmanager
def no_escape() -> Iterator[list[str]]:
    """Builtins that reach outside raise while the block runs; `compile` may only make an AST (ast.parse).
    (`getattr` cannot be trapped like this: the standard library uses it everywhere, `ast.walk` too. Attribute
    access is refused by the checker, and assert_tree_is_whitelisted checks what compiled has none.)"""
    called: list[str] = []
    table = vars(builtins)  # patched and restored through the dict: `setattr` itself is one of the trapped
    saved = {name: table[name] for name in (*FORBIDDEN_BUILTINS, "compile")}
    real_compile = saved["compile"]

    def trap(name: str) -> Any:
        def raiser(*args: Any, **kwargs: Any) -> Any:
            called.append(name)
            raise Escaped(f"{name} called with {args[0] if args and isinstance(args[0], str) else '...'}")

        return raiser

    real_import = saved["__import__"]

    def guarded_import(name: str, globals: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Library code may import (`ast.walk` imports `deque` when it runs); an import with no importing module
        (`__import__("os")` as an expression would call it) or from the expression language itself may not."""
        importer = (globals or {}).get("__name__", "")
        if not importer or importer.startswith(("backprop_lens.expr", "backprop_lens.scenarios.custom")):
            called.append("__import__")
            raise Escaped(f"__import__({name!r}) from {importer or 'nowhere'}")
        return real_import(name, globals, *args, **kwargs)

    def ast_only_compile(source: Any, filename: Any, mode: Any, flags: int = 0, *args: Any, **kwargs: Any) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            called.append("compile")
            raise Escaped("compile() to code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    try:
        for name in FORBIDDEN_BUILTINS:
            table[name] = trap(name)
        table["__import__"] = guarded_import
        table["compile"] = ast_only_compile
        yield called
    finally:
        table.update(saved)


# Tensor arithmetic (the operators of + - * / ** and unary -, by whichever name torch dispatches them), the
# whitelist's functions, and torch.tensor (a plain number as a function's argument).
ALLOWED_TORCH = {
    *(f"__{op}__" for op in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "div", "rdiv")),
    *("__pow__", "__rpow__", "__neg__", "__pos__"),
    *("add", "sub", "rsub", "mul", "div", "true_divide", "pow", "neg", "negative", "positive"),
    "tensor",
    *FUNCTION_NAMES,
}


def qualname(func: Any) -> str:
    return str(getattr(func, "__name__", repr(func)))


class Calls(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.seen.append(func)
        return func(*args, **(kwargs or {}))


WHITELISTED = {id(f) for f in FUNCTIONS.values()}


def assert_only_whitelisted(seen: list[Any]) -> None:
    for func in seen:
        if id(func) in WHITELISTED:
            continue
        assert qualname(func) in ALLOWED_TORCH, f"called {qualname(func)}"


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Every torch function once, outside the guards: lazy imports inside torch are not the user's doing."""
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    for fn in FUNCTIONS.values():
        fn(t).sum().backward()
    compile_expr("sigmoid(x)**2 + 2**x - 1/x", NAMES, field=FIELD)({n: t for n in NAMES})


def env() -> dict[str, Any]:
    return {
        "x": 2.0,
        "y": 4.0,
        "y_hat": torch.tensor(3.0, requires_grad=True),
        "w1": torch.tensor([1.0], requires_grad=True),
        "w2": torch.tensor(-0.5, requires_grad=True),
        "b": torch.tensor(0.25, requires_grad=True),
    }


def compile_and_run(text: str) -> Any:
    """The property under test: refused with an ExprError, or compiled and run on real tensors, escaping nothing
    and calling only whitelisted torch."""
    mode = Calls()
    with no_escape() as called:
        try:
            expr = compile_expr(text, NAMES, field=FIELD)
        except ExprError as e:
            assert e.field == FIELD and e.message
            assert e.column is None or 1 <= e.column <= len(text) + 1, (e.column, text)
            return None
        with mode:
            value = expr(env())
    assert called == []
    assert_only_whitelisted(mode.seen)
    assert isinstance(value, (torch.Tensor, float, int)), type(value)
    assert_tree_is_whitelisted(text)
    return value


def assert_tree_is_whitelisted(text: str) -> None:
    """What compiled is made only of numbers, declared names, + - * / **, unary +/-, whitelisted calls."""
    for node in ast.walk(ast.parse(text, mode="eval").body):
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in FUNCTION_NAMES, ast.dump(node)
            assert len(node.args) == 1 and not node.keywords
        elif isinstance(node, ast.Name):
            assert node.id in NAMES or node.id in FUNCTION_NAMES, node.id
        elif isinstance(node, ast.Constant):
            assert type(node.value) in (int, float) and math.isfinite(node.value)
        else:
            allowed = (ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)
            assert isinstance(node, (*allowed, ast.Load)), type(node).__name__


# ----------------------------------------------------------------------------------------------- the guards work


def test_the_guards_catch_an_escape() -> None:
    """The guards are not vacuous: a closure that imports, opens or compiles is caught."""
    for attempt in (
        lambda: __import__("os"),
        lambda: open("/etc/hostname"),  # noqa: SIM115
        lambda: eval("1"),
        lambda: compile("1", "<x>", "eval"),
    ):
        with pytest.raises(Escaped), no_escape():
            attempt()
    with no_escape():
        ast.parse("1 + 1", mode="eval")  # parsing to an AST is what the checker does: allowed
    mode, ones = Calls(), torch.ones(2)
    with mode:
        torch.linalg.norm(ones)
    with pytest.raises(AssertionError, match="norm"):
        assert_only_whitelisted(mode.seen)


# ----------------------------------------------------------------------------------------------- random text

ALPHABET = st.sampled_from(
    [
        *"xyw12b_ .()+-*/%@<>=!&|^~[]{},:;'\"\\#e0123456789",
        *("**", "//", "__", "sigmoid(", "exp(", "log(", "sum(", "mean(", "y_hat", "w1", "w2", "lambda ", " if "),
        *("__import__", "open", "eval", "exec", "os", "system", "__class__", ".__subclasses__()", "getattr"),
        *("9" * 30, "1e308", "1e309", "inf", "nan", "True", "None", "'a'", "\n", "\t", "\x00", "é", "٣"),
    ]
)


@PROPERTY
@given(st.text(max_size=120))
def test_any_text_is_refused_or_runs(text: str) -> None:
    compile_and_run(text)


@PROPERTY
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_text_made_of_language_pieces_is_refused_or_runs(text: str) -> None:
    compile_and_run(text)


def test_overlong_and_deep_inputs_are_refused_quickly() -> None:
    for text in ("x+" * 5000 + "x", "(" * 10_000 + "x" + ")" * 10_000, "-" * 100_000 + "x", "x" * 10**6):
        with pytest.raises(ExprError):
            check(text, NAMES, field=FIELD)


# ----------------------------------------------------------------------------------------------- random trees

ALLOWED_LEAVES = st.one_of(
    st.sampled_from(NAMES).map(lambda n: ast.Name(n, ast.Load())),
    st.integers(-20, 20).map(ast.Constant),
    st.floats(-1e6, 1e6, allow_nan=False).map(ast.Constant),
)
FORBIDDEN_LEAVES = st.one_of(
    st.sampled_from(["__import__", "open", "eval", "exec", "os", "_x", "sigmoid", "torch", "w3", "self"]).map(
        lambda n: ast.Name(n, ast.Load())
    ),
    st.sampled_from(["os", "", b"x", True, None, 1j, 1e7, float("inf")]).map(ast.Constant),
)
BINOPS = st.sampled_from([ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Pow()])
BAD_BINOPS = st.sampled_from([ast.FloorDiv(), ast.Mod(), ast.MatMult(), ast.LShift(), ast.BitOr(), ast.BitXor()])


def trees(leaves: st.SearchStrategy[ast.expr], forbidden: bool) -> st.SearchStrategy[ast.expr]:
    def extend(inner: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        allowed = st.one_of(
            st.builds(ast.BinOp, inner, BINOPS, inner),
            st.builds(ast.UnaryOp, st.sampled_from([ast.USub(), ast.UAdd()]), inner),
            st.builds(lambda f, a: ast.Call(ast.Name(f, ast.Load()), [a], []), st.sampled_from(FUNCTION_NAMES), inner),
        )
        if not forbidden:
            return allowed
        bad = st.one_of(
            st.builds(ast.BinOp, inner, BAD_BINOPS, inner),
            st.builds(ast.UnaryOp, st.sampled_from([ast.Not(), ast.Invert()]), inner),
            st.builds(lambda v, a: ast.Attribute(v, a, ast.Load()), inner, st.sampled_from(["__class__", "data"])),
            st.builds(lambda v, i: ast.Subscript(v, i, ast.Load()), inner, inner),
            st.builds(
                lambda f, a: ast.Call(ast.Name(f, ast.Load()), a, []),
                st.sampled_from(FUNCTION_NAMES),
                st.lists(inner, max_size=3),
            ),
            st.builds(
                lambda f, a: ast.Call(ast.Name(f, ast.Load()), [a], []),
                st.sampled_from(["open", "eval", "__import__", "print", "getattr"]),
                inner,
            ),
            st.builds(lambda a: ast.Lambda(ast.arguments([], [], None, [], [], None, []), a), inner),
            st.builds(lambda a, b: ast.Compare(a, [ast.Lt()], [b]), inner, inner),
            st.builds(lambda a: ast.ListComp(a, [ast.comprehension(ast.Name("x", ast.Store()), a, [], 0)]), inner),
            st.builds(lambda a, b: ast.IfExp(a, b, a), inner, inner),
            st.builds(lambda a, b: ast.Tuple([a, b], ast.Load()), inner, inner),
            st.builds(lambda a: ast.Call(ast.Attribute(a, "__subclasses__", ast.Load()), [], []), inner),
        )
        return st.one_of(allowed, bad)

    return st.recursive(leaves, extend, max_leaves=25)


def source(tree: ast.expr) -> str:
    return ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))


@PROPERTY
@given(trees(ALLOWED_LEAVES, forbidden=False).map(source))
def test_trees_of_allowed_pieces_run_or_hit_a_limit(text: str) -> None:
    value = compile_and_run(text)
    if value is None:  # refused: only a limit can refuse a tree of allowed pieces
        with pytest.raises(ExprError) as e:
            check(text, NAMES, field=FIELD)
        assert any(
            word in e.value.message
            for word in ("too long", "parts", "nesting", "exponent", "numbers must be", "too deeply")
        ), e.value.message


@PROPERTY
@given(trees(ALLOWED_LEAVES | FORBIDDEN_LEAVES, forbidden=True).map(source))
def test_trees_with_forbidden_pieces_are_refused_or_harmless(text: str) -> None:
    compile_and_run(text)


@PROPERTY
@given(trees(ALLOWED_LEAVES, forbidden=False), trees(FORBIDDEN_LEAVES, forbidden=True))
def test_one_forbidden_piece_anywhere_is_refused(good: ast.expr, bad: ast.expr) -> None:
    """A forbidden piece (a forbidden leaf somewhere inside) makes the whole expression refused."""
    text = source(ast.BinOp(good, ast.Add(), bad))
    if len(text) > LIMITS.max_length:
        return
    with no_escape(), pytest.raises(ExprError):
        compile_expr(text, NAMES, field=FIELD)


# --------------------------------------------------------------------------------- through the custom scenario


@settings(max_examples=60, deadline=1000, derandomize=True, database=None)
@given(
    model=st.one_of(st.text(max_size=60), trees(ALLOWED_LEAVES | FORBIDDEN_LEAVES, forbidden=True).map(source)),
    loss=st.sampled_from(["(y_hat - y)**2", "abs(y_hat - y)", "y_hat", "open('x')", "(y_hat - y)**2 # <b>"]),
)
def test_the_custom_scenario_refuses_with_invalid_params_or_runs(model: str, loss: str) -> None:
    with no_escape() as called:
        try:
            run = build_run("custom", {"model": model, "loss": loss, "epochs": 1, "x": [1.0, 2.0], "y": [2.0, 4.0]})
        except InvalidParams as e:
            assert e.errors and all(field and message for field, message in e.errors)
            return
    assert called == []
    assert run.step_count == 2
    assert run.log_text.startswith("predict (before training) 4 ")
