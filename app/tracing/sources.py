"""Where the user's code made a node: the first frame outside torch and backprop_lens.

The built-in scenarios live inside backprop_lens but are the "user code" of a run: their frames count.
"""

from __future__ import annotations

import linecache
import os
import sys
from types import CodeType, FrameType

import torch
from backprop_lens.snapshot import Source

_TORCH = os.path.dirname(torch.__file__) + os.sep
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_SCENARIOS = _PACKAGE + "scenarios" + os.sep
_internal: dict[CodeType, bool] = {}  # per code object: is it torch's or ours (not a scenario)?


def user_source(skip: int = 1) -> Source | None:
    """The innermost frame of user code on the current stack, as (file, line, code); None when there is none."""
    frame: FrameType | None = sys._getframe(skip + 1)
    while frame is not None:
        code = frame.f_code
        internal = _internal.get(code)
        if internal is None:
            internal = _internal[code] = _is_internal(code.co_filename)
        if not internal:
            line = frame.f_lineno or 0
            return Source(display_path(code.co_filename), line, linecache.getline(code.co_filename, line).strip())
        frame = frame.f_back
    return None


def _is_internal(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_TORCH):
        return True
    if path.startswith(_PACKAGE):
        return not path.startswith(_SCENARIOS)
    return path.startswith("<frozen") or os.sep + "contextlib.py" in path


def display_path(filename: str) -> str:
    """Our own files by their package path (`backprop_lens/scenarios/lecture.py`), anybody else's as given."""
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_PACKAGE):
        return "backprop_lens/" + path[len(_PACKAGE) :].replace(os.sep, "/")
    return filename
