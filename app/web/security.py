"""Security headers by response type: one home, read by the middleware and by the last-resort error handler."""

from __future__ import annotations

# Content-Security-Policy by what a response is. The page loads only its own files: no inline script, no eval,
# no inline styles (the JS sets styles through the CSSOM, which CSP allows; the graph's SVG uses presentation
# attributes only), images also as data:/blob: URLs (PNG export), its history worker from its own files.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# A standalone SVG opened directly is a document: no scripts, no requests; its own inline styles may apply.
# No frame-ancestors: a slide may embed the image with <object>/<iframe> (its <title> tooltips then work).
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# Data (JSON, text, DOT, PNG): nothing to run, nothing to load, never framed.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"

COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_IMAGES = (b"image/svg+xml", b"image/png")


def csp_for(media_type: bytes) -> bytes:
    """The policy for a response of this media type (parameters like `; charset=utf-8` ignored)."""
    media = media_type.split(b";", 1)[0].strip().lower()
    if media == b"text/html":
        return PAGE_CSP.encode()
    if media in (b"text/javascript", b"application/javascript"):
        return PAGE_CSP.encode()  # the policy a worker script (static/js/history-worker.js) runs under
    if media == b"image/svg+xml":
        return SVG_CSP.encode()
    return DATA_CSP.encode()


def security_headers(media_type: bytes) -> list[tuple[bytes, bytes]]:
    """The security headers for a response of this media type."""
    headers = list(COMMON_HEADERS)
    if not media_type.lower().startswith(_IMAGES):
        headers.append((b"x-frame-options", b"DENY"))
    headers.append((b"content-security-policy", csp_for(media_type)))
    return headers
