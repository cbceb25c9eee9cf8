"""Give the C heap's freed memory back to the operating system.

glibc keeps freed heap for reuse, so a process's RSS stays at its high-water mark after big work ends (a run's
history, a batch's JSON). `malloc_trim(0)` returns the free pages. Elsewhere (musl, macOS) there is nothing to
call and this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def trim() -> None:
    """Return freed heap to the OS (a few ms); a no-op without glibc's malloc_trim."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):  # not glibc
            libc.malloc_trim(0)
