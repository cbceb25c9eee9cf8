"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer every response): body size limit, security headers."""

from __future__ import annotations

from backprop_lens.problems import Problem
from backprop_lens.web.errors import error_body, request_lang
from backprop_lens.web.responses import SafeJSONResponse
from backprop_lens.web.security import security_headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """413 for a request body over `max_bytes`, declared (Content-Length) or streamed (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        if declared in (None, b"0") and scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)  # the common case: no body to count
            return
        # Read the (small, bounded) body first, then replay it: a streamed body cannot outgrow the limit.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem("error.body_too_large", {"most": self.max_bytes})
        body = error_body([(("body",), problem)], "too_large", request_lang(Request(scope)))
        headers = {"Connection": "close", "Vary": "Accept-Language"}
        await SafeJSONResponse(body, status_code=413, headers=headers)(scope, receive, send)


class HeadAsGet:
    """HEAD on every GET route (monitors, `curl -I`): answered as the GET, with its headers and without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: not sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class SecurityHeaders:
    """Security headers on every response: nosniff, Referrer-Policy, COOP, X-Frame-Options (not on images, which
    slides may embed) and a Content-Security-Policy chosen by the response's media type. A response that sets a
    header itself keeps its own (/docs brings its own CSP for Swagger UI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                media = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                message["headers"] = headers + [(n, v) for n, v in security_headers(media) if n not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
