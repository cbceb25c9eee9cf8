"""The one place that maps errors to status codes and to one JSON shape:

    {"detail": [{"loc": ["body", "params", "lr"], "field": "lr", "msg": "...", "type": "..."}],
     "message": "lr: Input should be greater than 0"}

404: unknown scenario (in a URL), run id or step. 422: bad input, naming the field. 413: body too large.
503: a system tool for rendering is missing or failed. Anything unexpected: a JSON 500 without a traceback (a bug).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

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

# Where a request's value came from: not part of the field's name.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


class ApiError(Exception):
    """An error we answer on purpose: a status and (loc, message) pairs."""

    status_code = 400
    kind = "error"

    def __init__(self, errors: Sequence[tuple[Loc, str]]) -> None:
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


def message_of(errors: Sequence[tuple[Loc, str]]) -> str:
    return "; ".join(f"{field_of(loc)}: {msg}" for loc, msg in errors)


MAX_ERRORS = 20  # a body with thousands of unknown keys gets a readable answer, not thousands of lines


def error_body(errors: Sequence[tuple[Loc, str]], kind: str) -> dict[str, Any]:
    if len(errors) > MAX_ERRORS:
        rest = len(errors) - MAX_ERRORS
        errors = [*errors[:MAX_ERRORS], (errors[MAX_ERRORS][0], f"... and {rest} more errors")]
    return {
        "detail": [{"loc": list(loc), "field": field_of(loc), "msg": msg, "type": kind} for loc, msg in errors],
        "message": message_of(errors),
    }


def _respond(status: int, errors: Sequence[tuple[Loc, str]], kind: str, headers: dict[str, str] | None = None):
    return SafeJSONResponse(error_body(errors, kind), status_code=status, headers=headers)


def params_errors(e: InvalidParams) -> list[tuple[Loc, str]]:
    """InvalidParams fields are dotted paths (`x.2`): back to a loc under the request body's `params`."""
    return [(("body", "params", *_parts(f)), m) for f, m in e.errors]


def _parts(dotted: str) -> list[str | int]:
    """`x.2` -> ["x", 2]: the first part is a parameter's name (any text: `0`, `¹`, `①`), later digits are list
    indexes (ASCII digits only: `int("¹")` fails though `"¹".isdigit()` is true)."""
    name, *rest = dotted.split(".")
    return [name, *(int(p) if p.isascii() and p.isdecimal() else p for p in rest)]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError):
        return _respond(e.status_code, e.errors, e.kind)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError):
        errors = [(tuple(err.get("loc", ())), str(err.get("msg", "invalid"))) for err in e.errors()]
        return _respond(422, errors or [(("body",), "invalid request")], "invalid")

    @app.exception_handler(InvalidParams)
    async def _invalid_params(_: Request, e: InvalidParams):
        return _respond(422, params_errors(e), "invalid")

    @app.exception_handler(UnknownScenario)
    async def _unknown_scenario(_: Request, e: UnknownScenario):
        return _respond(404, [(("path", "scenario"), str(e))], "not_found")

    @app.exception_handler(StepOutOfRange)
    async def _step_out_of_range(_: Request, e: StepOutOfRange):
        return _respond(404, [(("path", "k"), str(e))], "not_found")

    @app.exception_handler(Full)
    async def _full(_: Request, e: Full):
        return _respond(503, [(("server",), str(e))], "busy", {"Retry-After": str(e.retry_after)})

    @app.exception_handler(Unavailable)
    async def _unavailable(_: Request, e: Unavailable):
        return _respond(503, [(("server",), str(e))], "cancelled", {"Retry-After": str(e.retry_after)})

    @app.exception_handler(Redirect)
    async def _redirect(_: Request, e: Redirect):
        return Response(status_code=308, headers={"Location": e.location, "Cache-Control": IMMUTABLE})

    @app.exception_handler(BadArgument)
    async def _bad_argument(_: Request, e: BadArgument):  # the caller's mistake (a module name), not a tool's
        return _respond(422, [(("query", e.field), str(e))], "invalid")

    @app.exception_handler(RenderError)
    async def _render_error(_: Request, e: RenderError):
        kind = "graphviz_missing" if isinstance(e, GraphvizMissing) else "render_failed"
        log.error("render failed: %s", e)
        return _respond(503, [(("render",), str(e))], kind)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException):
        if e.status_code == 400:  # FastAPI could not parse the body (too deeply nested JSON, ...): bad input
            return _respond(422, [(("body",), f"the body is not valid JSON ({e.detail})")], "invalid")
        loc: Loc = ("path",) if e.status_code in (404, 405) else ("request",)
        return _respond(e.status_code, [(loc, str(e.detail))], "http", dict(e.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):
        # A bug: log it with its traceback for us, answer without one.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Answered by Starlette's outermost middleware, outside SecurityHeaders: the headers come along here.
        headers = {k.decode(): v.decode() for k, v in security_headers(b"application/json")}
        return _respond(500, [(("server",), "internal error; the server log has the details")], "internal", headers)
