"""Run a user's script as `python SCRIPT.py ARGS...` would, under a recorder: its `__main__`, argv, sys.path[0];
the working directory stays the caller's, as with python.

It is the user's own code run by their own command (like `python` itself); nothing here reads a request.
"""

from __future__ import annotations

import runpy
import sys
import traceback
from pathlib import Path

from backprop_lens.recording.model import DEFAULT_MAX_STEPS, Recording
from backprop_lens.recording.recorder import record


def run_script(
    script: Path,
    args: list[str] | None = None,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    every: int = 1,
    factory: type[Recording] = Recording,
) -> tuple[Recording, int]:
    """(what was recorded, the exit status `python SCRIPT.py` would have): 1 and the traceback if it raised."""
    argv, path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [str(script), *(args or [])]
    sys.path.insert(0, str(script.resolve().parent))  # as python does: the script's folder first
    block = record(max_steps=max_steps, every=every, title=script.name, factory=factory, stop=sys._getframe())
    status = 0
    try:
        with block:
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except BaseException as e:  # the user's error: shown like python shows it, without our frames
        status = 1
        _print_user_traceback(e)
    finally:
        sys.argv = argv
        if path0 is not None and sys.path and sys.path[0] == str(script.resolve().parent):
            sys.path.pop(0)
    return block.rec, status


def _print_user_traceback(e: BaseException) -> None:
    tb = e.__traceback__
    while tb is not None and not _is_user(tb.tb_frame.f_globals.get("__name__", "")):
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))


def _is_user(module: object) -> bool:
    return not str(module).startswith(("backprop_lens", "runpy"))
