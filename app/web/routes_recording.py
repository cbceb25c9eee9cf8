"""`serve --recording FILE.json`: the recording at /recording, read-only.

The page there is the very file `trace -o OUT.html` writes (the page and the recording's data in one document,
answering the page's API calls from that data), so a served recording and an exported one share one data path.
It carries its own CSP (hashes of its inline scripts), sent as the header too.
"""

from __future__ import annotations

from functools import lru_cache

from backprop_lens.export import export_html, load_recording
from backprop_lens.export.page import policy_of
from backprop_lens.web.settings import Settings
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool


def install(app: FastAPI, settings: Settings) -> None:
    if settings.recording is None:
        return
    path = settings.recording

    @lru_cache(maxsize=1)
    def page() -> str:
        return export_html(load_recording(path))

    @app.get("/recording", response_class=HTMLResponse, summary="The recording being served (read-only page)")
    async def recording_page() -> HTMLResponse:
        html = await run_in_threadpool(page)
        policy = policy_of(html) + "; frame-ancestors 'none'"
        return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"})
