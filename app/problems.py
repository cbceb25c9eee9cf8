"""What is wrong with an input, as data: a catalog key and its arguments, not a sentence.

No torch, no HTTP. Scenarios and the expression checker raise Problems; the web layer words them in the request's
language (catalog keys `error.*`, app/present/errors_en.py and errors_zh.py), the CLI in English (`str()`).

    Problem("error.not_a_number", {"what": Problem("error.subject.element", {"name": "x", "n": 3})})
    -> "element 3 of x is not a number" / "x 的第 3 个值不是数字"
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
# An argument is a plain value or a Problem of its own (a part that is worded too, e.g. "element 3 of x").
Arg = Union[str, int, float, bool, None, "Problem"]


@dataclass(frozen=True)
class Problem:
    """`key`: a catalog key; `args`: its placeholders; `span`: the (start, end) 0-based character range in the
    field's own text the message is about; `related`: the other fields involved (x for a y of the wrong length)."""

    key: str
    args: Mapping[str, Arg] = field(default_factory=dict)
    span: tuple[int, int] | None = None
    related: tuple[str, ...] = ()

    def text(self, lang: str = "en") -> str:
        # Imported here: the catalog lives in present, which needs nothing of the layers that raise Problems.
        from backprop_lens.present.catalog import t

        text = t(lang, self.key, **{k: v.text(lang) if isinstance(v, Problem) else v for k, v in self.args.items()})
        # A part that ends in a Chinese character ("x 的第 3 个值") joins the next without the space kept for `lr`.
        return _CJK_GAP.sub("", text) if lang == "zh" else text

    def __str__(self) -> str:
        return self.text("en")

    def to_json(self) -> dict[str, Any]:
        """`key`, `args` (nested Problems as {"key", "args"}), and `span`/`related` when known."""
        out: dict[str, Any] = {"key": self.key, "args": _args_json(self.args)}
        if self.span is not None:
            out["span"] = list(self.span)
        if self.related:
            out["related"] = list(self.related)
        return out

    def keys(self) -> set[str]:
        """This key and those of the nested Problems (every one must exist in both languages)."""
        found = {self.key}
        for v in self.args.values():
            if isinstance(v, Problem):
                found |= v.keys()
        return found


def as_problem(message: str | Problem) -> Problem:
    """A Problem as it is; a plain text (a tool's or a library's own words) shown as it is, in any language."""
    return message if isinstance(message, Problem) else Problem("error.plain", {"text": message})


def _args_json(args: Mapping[str, Arg]) -> dict[str, Any]:
    return {k: {"key": v.key, "args": _args_json(v.args)} if isinstance(v, Problem) else v for k, v in args.items()}


def number(v: float | int) -> float | int:
    """A bound as a person writes it: 0.0 -> 0, 1e6 -> 1000000 (pydantic's ctx gives floats for float fields)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def subject(loc: Sequence[str | int]) -> Arg:
    """What a message is about: `lr`, or `("x", 2)` -> "element 3 of x" (counted from 1, as a person counts)."""
    parts = [p for p in loc if p not in ("body", "query", "path", "params")] or list(loc[-1:])
    if not parts:
        return "params"
    name = ".".join(str(p) for p in parts if not isinstance(p, int)) or str(parts[0])
    index = next((p for p in reversed(parts) if isinstance(p, int)), None)
    if index is None:
        return name
    return Problem("error.subject.element", {"name": name, "n": index + 1})


# pydantic's error types -> our keys. Every key takes {what} (the subject) and, by name, the ctx values it shows.
_BY_TYPE = {
    "float_parsing": "error.not_a_number",
    "float_type": "error.not_a_number",
    "int_parsing": "error.not_an_integer",
    "int_type": "error.not_an_integer",
    "int_from_float": "error.not_whole",
    "int_parsing_size": "error.too_large",
    "finite_number": "error.not_finite",
    "greater_than": "error.greater_than",
    "greater_than_equal": "error.at_least",
    "less_than": "error.less_than",
    "less_than_equal": "error.at_most",
    "too_long": "error.too_long",
    "list_type": "error.not_a_list",
    "dict_type": "error.not_pairs",
    "model_type": "error.not_an_object",
    "model_attributes_type": "error.not_an_object",
    "string_type": "error.not_text",
    "bool_type": "error.not_a_bool",
    "bool_parsing": "error.not_a_bool",
    "missing": "error.missing",
    "json_invalid": "error.json_invalid",
    "json_type": "error.json_invalid",
}
_CTX_NUMBERS = ("gt", "ge", "lt", "le", "max_length", "actual_length", "min_length")


def from_pydantic(err: Mapping[str, Any], *, params: bool = True) -> Problem:
    """One item of `ValidationError.errors()` as a Problem. `params`: the loc is inside a scenario's parameters
    (an unknown name there is "not a parameter of this scenario", elsewhere "not a known field")."""
    kind, loc, ctx = str(err.get("type", "")), tuple(err.get("loc", ())), dict(err.get("ctx") or {})
    what = subject(loc)
    if kind == "problem" and isinstance(ctx.get("problem"), Problem):  # our own, raised inside a validator
        return ctx["problem"]
    if kind == "extra_forbidden":
        return Problem("error.unknown_param" if params else "error.unknown_field", {"what": what})
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return Problem("error.empty", {"what": what})
        return Problem("error.too_short", {"what": what, "min_length": ctx.get("min_length")})
    if kind in ("literal_error", "enum"):
        # pydantic words the choices ("'gd' or 'sgd'"); we keep only the quoted values and join them ourselves
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [str(ctx.get("expected", ""))]
        return Problem("error.choice", {"what": what, "choices": ", ".join(choices)})
    key = _BY_TYPE.get(kind)
    if key is None:
        # Unmapped (value_error, ...): a generic key, translated, that still carries pydantic's own English text.
        return Problem("error.invalid", {"what": what, "text": str(err.get("msg", ""))})
    args: dict[str, Arg] = {"what": what}
    for name in _CTX_NUMBERS:
        if isinstance(ctx.get(name), (int, float)):
            args[name] = number(ctx[name])
    return Problem(key, args)


def problem_error(problem: Problem) -> Exception:
    """A pydantic error carrying a Problem, for validators: `from_pydantic` gives the Problem back."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("problem", "{text}", {"text": str(problem), "problem": problem})
