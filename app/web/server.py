"""`backprop-lens serve`: uvicorn on 127.0.0.1 by default."""

from __future__ import annotations

import sys

import uvicorn
from backprop_lens.web.settings import Settings

ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})
# A run id carries its configuration: 1,000 custom data points make a long URL, longer than h11's 16 KiB default.
MAX_REQUEST_HEAD = 128 * 1024


def configure_process() -> None:
    """Per server process: one intra-op thread per request. Our tensors are tiny, requests run concurrently in
    a thread pool, and torch's default (a thread per core) only makes those threads fight over the cores."""
    import torch

    torch.set_num_threads(1)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, settings: Settings | None = None) -> None:
    if host in ALL_INTERFACES:
        print(
            f"backprop-lens: warning: listening on all interfaces ({host or '0.0.0.0'}): anyone who can reach this "
            "machine can use the app; use --host 127.0.0.1 to keep it on this machine.",
            file=sys.stderr,
        )
    if workers > 1:
        # Each worker process imports the app itself: an import string, and the default settings.
        uvicorn.run(
            "backprop_lens.web.main:app",
            host=host,
            port=port,
            workers=workers,
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        )
    else:
        from backprop_lens.web.app import create_app

        configure_process()
        uvicorn.run(create_app(settings), host=host, port=port, h11_max_incomplete_event_size=MAX_REQUEST_HEAD)
