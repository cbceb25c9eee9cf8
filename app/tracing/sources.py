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
# per (code object, line): its Source, made once (a loop asks for the same few lines at every step). Keyed by
# the object's identity, which it holds: code objects compare equal across files when their bytecode is equal.
_sources: dict[tuple[int, int], tuple[CodeType, Source]] = {}


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
            hit = _sources.get((id(code), line))
            if hit is None or hit[0] is not code:
                text = linecache.getline(code.co_filename, line).strip()
                hit = _sources[(id(code), line)] = (code, Source(display_path(code.co_filename), line, text))
            return hit[1]
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
