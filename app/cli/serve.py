"""`backprop-lens serve`: the web app (the only importer of the web layer besides tests)."""

from __future__ import annotations

import argparse

from backprop_lens.cli.common import CliError

HELP = "start the web app"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default: 1)")


def handle(args: argparse.Namespace) -> int:
    from backprop_lens.web import serve

    if not 0 < args.port < 65536:
        raise CliError(f"port: {args.port} is not a port number (1-65535)")
    if args.workers < 1:
        raise CliError("workers: must be at least 1")
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0
