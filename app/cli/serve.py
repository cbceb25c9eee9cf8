"""`backprop-lens serve`: the web app (the only importer of the web layer besides tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backprop_lens.cli.common import CliError

HELP = "start the web app"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default: 1)")
    parser.add_argument("--recording", metavar="FILE.json", help="also serve this recording, read-only, at /recording")
    parser.add_argument(
        "--setting",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="change one of the settings (README: Settings), e.g. --setting memory_bytes 192MiB; repeatable",
    )


def handle(args: argparse.Namespace) -> int:
    from backprop_lens.web import serve
    from backprop_lens.web.settings import SettingError, Settings, with_settings

    if not 0 < args.port < 65536:
        raise CliError(f"port: {args.port} is not a port number (1-65535)")
    if args.workers < 1:
        raise CliError("workers: must be at least 1")
    pairs = [(name, value) for name, value in args.setting]
    try:
        with_settings(Settings(), pairs)  # a bad setting is a usage error now, in every server process later
    except SettingError as e:
        raise CliError(str(e)) from None
    if args.recording is None:
        serve(host=args.host, port=args.port, workers=args.workers, setting_pairs=pairs)
        return 0
    if pairs:
        raise CliError("setting: a recording is served with the default settings (leave out --setting)")
    if args.workers > 1:
        raise CliError("recording: one server process serves a recording (leave out --workers)")
    from backprop_lens.cli.trace import serve_recording_file
    from backprop_lens.recording.jsonio import BadRecording, read_json

    try:
        read_json(Path(args.recording))  # a bad file is a usage error now, not a broken page later
    except BadRecording as e:
        raise CliError(f"recording: {e}") from None
    serve_recording_file(Path(args.recording), args.host, args.port)
    return 0
