"""`backprop-lens trace SCRIPT.py [-- ARGS...]`: run your own script as python would, every backward() a step."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from backprop_lens.cli.common import CliError

if TYPE_CHECKING:
    from backprop_lens.recording import Recording

HELP = "run your own training script (like `python SCRIPT.py`) and record every backward() as a step"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", metavar="SCRIPT.py", help="your script; its own arguments after `--`")
    parser.add_argument("script_args", nargs="*", metavar="ARGS", help="arguments for the script (after `--`)")
    parser.add_argument("-o", "--output", metavar="OUT", help="OUT.html (one self-contained page) or OUT.json (data)")
    parser.add_argument("--serve", action="store_true", help="then serve the recording and print its URL")
    parser.add_argument("--host", default="127.0.0.1", help="with --serve: interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="with --serve: port (default: 8000)")
    parser.add_argument("--max-steps", type=int, default=1000, metavar="N", help="graphs kept, at most (default 1000)")
    parser.add_argument("--every", type=int, default=1, metavar="K", help="keep the graph of every K-th step")


def _check(args: argparse.Namespace) -> tuple[Path, Path | None]:
    script = Path(args.script)
    if not script.is_file():
        raise CliError(f"SCRIPT.py: {script} is not a file")
    out = Path(args.output) if args.output else None
    if out is not None and out.suffix not in (".html", ".htm", ".json"):
        raise CliError(f"output: {out.name} must end in .html (the page) or .json (the recording as data)")
    if out is not None and not out.parent.is_dir():
        raise CliError(f"output: the folder {out.parent} does not exist")
    if args.max_steps < 0:
        raise CliError("max-steps: must be 0 or more")
    if args.every < 1:
        raise CliError("every: must be 1 or more")
    if args.serve and not 0 < args.port < 65536:
        raise CliError(f"port: {args.port} is not a port number (1-65535)")
    return script, out


def handle(args: argparse.Namespace) -> int:
    script, out = _check(args)
    from backprop_lens.export import Recorded, save
    from backprop_lens.recording.script import run_script

    rec, status = run_script(script, args.script_args, max_steps=args.max_steps, every=args.every, factory=Recorded)
    kept = f"{len(rec.history)} steps recorded, {len(rec.steps)} with their graphs"
    if out is not None:
        save(rec, out)
        print(f"backprop-lens: {kept}: wrote {out}", file=sys.stderr)
    else:
        print(f"backprop-lens: {kept} (write them with -o OUT.html or -o OUT.json)", file=sys.stderr)
    if args.serve:
        serve_recording(rec, args.host, args.port)
    return status


def serve_recording(rec: Recording, host: str, port: int) -> None:
    import tempfile

    from backprop_lens.recording.jsonio import write_json

    path = Path(tempfile.mkdtemp(prefix="backprop-lens-")) / "recording.json"
    write_json(rec, path)
    serve_recording_file(path, host, port)


def serve_recording_file(path: Path, host: str, port: int) -> None:
    from backprop_lens.web import Settings, serve

    print(f"backprop-lens: serving the recording at http://{host}:{port}/recording", file=sys.stderr)
    serve(host=host, port=port, settings=Settings(recording=path))
