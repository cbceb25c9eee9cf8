"""Typed dependencies. All `async def`: FastAPI runs sync dependencies in the threadpool, and these are cheap."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from backprop_lens.web.errors import Redirect
from backprop_lens.web.runs import RunRef, RunStore
from backprop_lens.web.settings import Settings
from fastapi import Depends, Path, Request


def store_of(request: Request) -> RunStore:
    return request.app.state.store


async def get_store(request: Request) -> RunStore:
    return store_of(request)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[RunStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_run_ref(
    request: Request,
    run_id: Annotated[
        str, Path(description="a run id from POST /api/runs (it encodes the configuration)", examples=["lecture04"])
    ],
) -> RunRef:
    # The store straight from app.state, not a nested Depends: every dependency costs on the hot (cached) path.
    ref: RunRef = request.app.state.store.resolve(run_id)
    if ref.id != run_id:  # another spelling of the same configuration: one URL per run, for every cache
        raise Redirect(canonical_url(request, run_id, ref.id))
    return ref


def canonical_url(request: Request, run_id: str, canonical: str) -> str:
    path = request.url.path
    prefix = "/api/runs/"
    rest = path[len(prefix) :]
    tail = rest.split("/", 1)[1] if "/" in rest else None
    url = prefix + quote(canonical, safe="~") + ("/" + tail if tail is not None else "")
    return url + ("?" + request.url.query if request.url.query else "")


RunDep = Annotated[RunRef, Depends(get_run_ref)]
