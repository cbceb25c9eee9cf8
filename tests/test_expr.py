"""The expression language: what it computes (real torch ops) and everything it refuses, with where and why."""

from __future__ import annotations

import math

import pytest
import torch
from backprop_lens.expr import LIMITS, ExprError, compile_expr
from backprop_lens.scenarios import InvalidParams, build_run

NAMES = ("x", "w", "b")


def refusal(text: str, field: str = "model") -> ExprError:
    with pytest.raises(ExprError) as e:
        compile_expr(text, NAMES, field=field)
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ")
    return e.value


@pytest.mark.parametrize(
    ("text", "part", "column"),
    [
        ("x.__class__", "`.__class__`", 2),
        ("w + x.__class__.__mro__", "`.__class__`", 6),
        ("__import__('os')", "`__import__`", 1),
        ("__import__('os').system('ls')", "`__import__`", 1),
        ("open('/etc/passwd')", "`open`", 1),
        ("eval('1')", "`eval`", 1),
        ("w * getattr(x, 'real')", "`getattr`", 5),
        ("lambda: x", "`lambda: x`", 1),
        ("[w for w in x]", "`[w for w in x]`", 1),
        ("sum(w for w in x)", "`(w for w in x)`", 4),
        ("x[0]", "`[0]`", 2),
        ("w * 'a'", "`'a'`", 5),
        ("x**1000", "`x**1000`", 1),
        ("x**11", "`x**11`", 1),
        ("x**-11", "`x**-11`", 1),
        ("x**(2*6)", "`x**(2*6)`", 1),
        ("x**2**10", "`x**2**10`", 1),
        ("x**exp(exp(3))", "`x**exp(exp(3))`", 1),  # a function of constants is still a constant exponent
        ("1e9*x", "`1e9`", 1),
        ("x // 2", "`//`", 3),
        ("x % w", "`%`", 3),
        ("x @ w", "`@`", 3),
        ("x < w", "`x < w`", 1),
        ("x if w else b", "`x if w else b`", 1),
        ("(w := 3)", "`w := 3`", 2),
        ("z * x", "`z`", 1),
        ("_ * x", "`_`", 1),
        ("sigmoid", "`sigmoid`", 1),
        ("sigmoid(x, w)", "`sigmoid(x, w)`", 1),
        ("sigmoid(x=w)", "`sigmoid(x=w)`", 1),
        ("exp(*x)", "`exp(*x)`", 1),
        ("(1)(2)", "`1`", 2),
        ("True * x", "`True`", 1),
        ("1j * x", "`1j`", 1),
    ],
)
def test_refusals_point_at_the_offending_part(text: str, part: str, column: int) -> None:
    e = refusal(text)
    assert e.message.startswith(f"{part} is not allowed (column {column})"), e.message
    assert e.column == column


def test_refusals_in_the_loss_name_the_loss() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr("(y_hat - y).__class__", ("y_hat", "y"), field="loss")
    e = info.value
    assert str(e).startswith("loss: `.__class__` is not allowed")


def test_over_long_input() -> None:
    e = refusal("x + " * 60 + "w")
    assert f"at most {LIMITS.max_length}" in e.message


def test_deep_nesting() -> None:
    e = refusal("sigmoid(" * 20 + "x" + ")" * 20)
    assert "nesting deeper than" in e.message
    assert "nesting deeper than" in refusal("-" * 40 + "x").message


def test_too_many_parts() -> None:
    assert f"more than {LIMITS.max_nodes} parts" in refusal("+".join(["x"] * 45)).message
    compile_expr("+".join(["x"] * 40), NAMES, field="model")  # a long flat sum is fine


@pytest.mark.parametrize("text", ["", "   ", "x +", "x\n+ w", "x é"])
def test_empty_broken_or_odd_text(text: str) -> None:
    refusal(text)


def test_syntax_errors_have_a_column() -> None:
    e = refusal("w * (x + ")
    assert "syntax error (column" in e.message


def test_not_text() -> None:
    assert "must be text" in refusal(3).message  # type: ignore[arg-type]


# -- what it computes -----------------------------------------------------------------------------------------
def test_compiles_to_the_same_torch_ops_as_python_code() -> None:
    w = torch.tensor([1.5], requires_grad=True)
    b = torch.tensor([-0.5], requires_grad=True)
    expr = compile_expr("w*x*x + 2*x - b/4 + sigmoid(w)**2", NAMES, field="model")
    got = expr({"x": 3.0, "w": w, "b": b})
    want = w * 3.0 * 3.0 + 2 * 3.0 - b / 4 + torch.sigmoid(w) ** 2
    assert torch.equal(got, want)
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    assert expr.names == {"w", "x", "b"}
    (g_got,) = torch.autograd.grad(got, w)
    (g_want,) = torch.autograd.grad(want, w)
    assert torch.equal(g_got, g_want)


@pytest.mark.parametrize(
    ("fn", "torch_fn"),
    [
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
        ("relu", torch.relu),
        ("exp", torch.exp),
        ("log", torch.log),
        ("sin", torch.sin),
        ("cos", torch.cos),
        ("abs", torch.abs),
        ("sqrt", torch.sqrt),
        ("mean", torch.mean),
        ("sum", torch.sum),
        ("square", torch.square),
    ],
)
def test_whitelisted_functions_are_the_torch_functions(fn: str, torch_fn) -> None:
    w = torch.tensor([0.7], requires_grad=True)
    got = compile_expr(f"{fn}(w)", NAMES, field="model")({"w": w})
    assert torch.equal(got, torch_fn(w))
    assert type(got.grad_fn).__name__ == type(torch_fn(w).grad_fn).__name__


def test_literals_stay_python_numbers() -> None:
    w = torch.tensor([3.0], requires_grad=True)
    out = compile_expr("(w - 2)**2", NAMES, field="model")({"w": w})
    assert type(out.grad_fn).__name__ == "PowBackward0"
    # The exponent PyTorch saved is the Python int 2, as in the lecture's `** 2`.
    assert out.grad_fn._saved_exponent == 2 and isinstance(out.grad_fn._saved_exponent, int)


def test_plain_number_arithmetic_follows_ieee_instead_of_raising() -> None:
    env = {"x": 0.0, "w": 1.0, "b": -8.0}
    assert compile_expr("w/x", NAMES, field="model")(env) == math.inf
    assert math.isnan(compile_expr("x/x", NAMES, field="model")(env))
    assert math.isnan(compile_expr("b**0.5", NAMES, field="model")(env))  # not a complex number
    assert compile_expr("1000000**(w*1000)", NAMES, field="model")(env) == math.inf  # not OverflowError


def test_never_evaluates_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import ast
    import builtins

    real_compile = builtins.compile

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        # ast.parse is compile(..., flags=PyCF_ONLY_AST): parsing is fine, making code objects is not.
        assert flags & ast.PyCF_ONLY_AST, "compile() to code must not be used"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    w = torch.tensor([2.0], requires_grad=True)
    assert compile_expr("w*x + 1", NAMES, field="model")({"x": 3.0, "w": w}).item() == 7.0


# -- through the scenario: 422 / exit 2 material ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"model": "x.__class__"}, "model", "`.__class__` is not allowed (column 2)"),
        ({"model": "__import__('os')"}, "model", "`__import__` is not allowed (column 1)"),
        ({"loss": "open('f')"}, "loss", "`open` is not allowed (column 1)"),
        ({"model": "w1*x**1000 + w2 + b"}, "model", "`x**1000` is not allowed"),
        ({"loss": "y_hat" + " + y" * 60}, "loss", "too long"),
        ({"model": "w1*x + w2*y + b"}, "model", "`y` is not allowed"),  # y is not known to the model
        ({"params": {"__class__": 1.0}}, "params", "not a valid name"),
        ({"params": {f"w{i}": 1.0 for i in range(11)}}, "params", "at most 10"),
    ],
)
def test_custom_scenario_refusals(raw: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidParams) as e:
        build_run("custom", raw, strict=True)
    (got_field, message), *_ = e.value.errors
    assert got_field == field
    assert fragment in message
