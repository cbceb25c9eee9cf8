"""The one place that maps errors to status codes and to one JSON shape:

    {"detail": [{"loc": ["body", "params", "lr"], "field": "lr", "msg": "lr must be greater than 0", "type": "...",
                 "key": "error.greater_than", "args": {"what": "lr", "gt": 0}}],
     "message": "lr: must be greater than 0"}

`message` joins the items as `field: what is wrong`, the field named once (`lr: must be greater than 0`).
`msg` and `message` are in the request's language (`?lang=zh`, else an `Accept-Language` starting with zh, else
English); `key`/`args` say the same as data, with `span` (the character range in the field's text) and `related`
(the other fields involved) where known, so a page places a message without reading its words.

404: unknown scenario (in a URL), run id or step. 422: bad input, naming the field. 413: body too large.
503: a system tool for rendering is missing or failed. Anything unexpected: a JSON 500 without a traceback (a bug).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from backprop_lens.problems import Problem, as_problem, from_pydantic
from backprop_lens.render import BadArgument, GraphvizMissing, RenderError
from backprop_lens.scenarios import InvalidParams, StepOutOfRange, UnknownScenario
from backprop_lens.web.admission import Full, Unavailable
from backprop_lens.web.responses import IMMUTABLE, SafeJSONResponse
from backprop_lens.web.security import security_headers
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("backprop_lens.web")

Loc = tuple[str | int, ...]
Message = str | Problem  # our own checks give Problems; a plain text is shown as it is, in any language

# Where a request's value came from: not part of the field's name.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


class ApiError(Exception):
    """An error we answer on purpose: a status and (loc, message) pairs."""

    status_code = 400
    kind = "error"

    def __init__(self, errors: Sequence[tuple[Loc, Message]]) -> None:
        self.errors = list(errors)
        super().__init__(message_of(self.errors))


class NotFound(ApiError):
    status_code = 404
    kind = "not_found"


class BadInput(ApiError):
    status_code = 422
    kind = "invalid"


class Redirect(Exception):
    """308 to the canonical URL (a run id spelled another way)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def field_of(loc: Sequence[str | int]) -> str:
    """`("body", "params", "x", 2)` -> "x.2" (after `params`, the scenario's own field names)."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "params":
        parts = parts[1:]
    if loc and loc[0] == "body" and all(isinstance(p, int) for p in parts):
        return "body"  # the body as a whole (invalid JSON: the loc ends with a character position)
    return ".".join(str(p) for p in parts) or (str(loc[0]) if loc else "request")


def message_of(errors: Sequence[tuple[Loc, Message]], lang: str = "en") -> str:
    return "; ".join(_part(field_of(loc), as_problem(msg), lang) for loc, msg in errors)


def _part(field: str, problem: Problem, lang: str) -> str:
    """`lr: must be greater than 0`: the field once, not "lr: lr must ..." when the words start with it too."""
    text = problem.text(lang)
    subject = problem.args.get("what", problem.args.get("field"))
    if subject == field and text.startswith(field) and text[len(field) : len(field) + 1] in (" ", ":"):
        text = text[len(field) :].lstrip(": ")
    return f"{field}: {text}"


MAX_ERRORS = 20  # a body with thousands of unknown keys gets a readable answer, not thousands of lines


def error_body(errors: Sequence[tuple[Loc, Message]], kind: str, lang: str = "en") -> dict[str, Any]:
    if len(errors) > MAX_ERRORS:
        rest = len(errors) - MAX_ERRORS
        errors = [*errors[:MAX_ERRORS], (errors[MAX_ERRORS][0], Problem("error.more", {"n": rest}))]
    return {
        "detail": [_item(loc, as_problem(msg), kind, lang) for loc, msg in errors],
        "message": message_of(errors, lang),
    }


def _item(loc: Loc, problem: Problem, kind: str, lang: str) -> dict[str, Any]:
    return {"loc": list(loc), "field": field_of(loc), "msg": problem.text(lang), "type": kind, **problem.to_json()}


def unknown_run_id(reason: Problem) -> Problem:
    """A run id we could not have made: `reason` says why (bad shape, unknown scenario, invalid parameters)."""
    return Problem("error.unknown_run_id", {"reason": reason})


def request_lang(request: Request) -> str:
    """The page says `?lang=zh` (its own convention); other clients may say it in Accept-Language."""
    asked = request.query_params.get("lang")
    if asked in ("en", "zh"):
        return asked
    return "zh" if request.headers.get("accept-language", "").strip().lower().startswith("zh") else "en"


def params_errors(e: InvalidParams) -> list[tuple[Loc, Message]]:
    """InvalidParams fields are dotted paths (`x.2`): back to a loc under the request body's `params`."""
    return [(("body", "params", *_parts(f)), p) for f, p in e.problems]


def _validation_problem(err: Any) -> Problem:
    loc = tuple(err.get("loc", ()))
    return from_pydantic(err, params="params" in loc[:2])


def _parts(dotted: str) -> list[str | int]:
    """`x.2` -> ["x", 2]: the first part is a parameter's name (any text: `0`, `¹`, `①`), later digits are list
    indexes (ASCII digits only: `int("¹")` fails though `"¹".isdigit()` is true)."""
    name, *rest = dotted.split(".")
    return [name, *(int(p) if p.isascii() and p.isdecimal() else p for p in rest)]


def _respond(
    request: Request,
    status: int,
    errors: Sequence[tuple[Loc, Message]],
    kind: str,
    headers: dict[str, str] | None = None,
):
    # The words follow Accept-Language (and ?lang=): a cache that kept an error must know it (200s never vary).
    headers = {**(headers or {}), "Vary": "Accept-Language"}
    return SafeJSONResponse(error_body(errors, kind, request_lang(request)), status_code=status, headers=headers)


# Starlette's own refusals (a route that does not exist, a method it does not take), by their default phrase.
_HTTP_KEYS = {(404, "Not Found"): "error.http.not_found", (405, "Method Not Allowed"): "error.http.method"}


def http_problem(e: StarletteHTTPException) -> Problem:
    key = _HTTP_KEYS.get((e.status_code, str(e.detail)))
    return Problem(key) if key else as_problem(str(e.detail))


def render_problem(e: RenderError) -> Problem:
    """A render error's Problem when it has one (BadArgument), else the tool's own English inside our words."""
    problem = getattr(e, "problem", None)
    return problem if isinstance(problem, Problem) else Problem("error.render_failed", {"text": str(e)})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError):
        return _respond(request, e.status_code, e.errors, e.kind)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError):
        errors: list[tuple[Loc, Message]] = [
            (tuple(err.get("loc", ())), _validation_problem(err)) for err in e.errors()
        ]
        return _respond(request, 422, errors or [(("body",), Problem("error.invalid_request"))], "invalid")

    @app.exception_handler(InvalidParams)
    async def _invalid_params(request: Request, e: InvalidParams):
        return _respond(request, 422, params_errors(e), "invalid")

    @app.exception_handler(UnknownScenario)
    async def _unknown_scenario(request: Request, e: UnknownScenario):
        return _respond(request, 404, [(("path", "scenario"), e.problem)], "not_found")

    @app.exception_handler(StepOutOfRange)
    async def _step_out_of_range(request: Request, e: StepOutOfRange):
        return _respond(request, 404, [(("path", "k"), e.problem)], "not_found")

    @app.exception_handler(Full)
    async def _full(request: Request, e: Full):
        return _respond(request, 503, [(("server",), e.problem)], "busy", {"Retry-After": str(e.retry_after)})

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, e: Unavailable):
        return _respond(request, 503, [(("server",), e.problem)], "cancelled", {"Retry-After": str(e.retry_after)})

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, e: Redirect):
        return Response(status_code=308, headers={"Location": e.location, "Cache-Control": IMMUTABLE})

    @app.exception_handler(BadArgument)
    async def _bad_argument(request: Request, e: BadArgument):  # the caller's mistake (a module name), not a tool's
        return _respond(request, 422, [(("query", e.field), e.problem)], "invalid")

    @app.exception_handler(RenderError)
    async def _render_error(request: Request, e: RenderError):
        kind = "graphviz_missing" if isinstance(e, GraphvizMissing) else "render_failed"
        log.error("render failed: %s", e)
        problem = Problem("error.graphviz_missing") if kind == "graphviz_missing" else render_problem(e)
        return _respond(request, 503, [(("render",), problem)], kind)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        if e.status_code == 400:  # FastAPI could not parse the body (too deeply nested JSON, ...): bad input
            return _respond(request, 422, [(("body",), Problem("error.json_invalid"))], "invalid")
        loc: Loc = ("path",) if e.status_code in (404, 405) else ("request",)
        return _respond(request, e.status_code, [(loc, http_problem(e))], "http", dict(e.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):
        # A bug: log it with its traceback for us, answer without one.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Answered by Starlette's outermost middleware, outside SecurityHeaders: the headers come along here.
        headers = {k.decode(): v.decode() for k, v in security_headers(b"application/json")}
        return _respond(request, 500, [(("server",), Problem("error.internal"))], "internal", headers)
