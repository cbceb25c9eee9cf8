"""The script's stdout: passed through unchanged, and handed over line by line as it is printed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO


class LineTee:
    """A text stream that writes through to `inner` and calls `on_line` for every complete line."""

    def __init__(self, inner: TextIO, on_line: Callable[[str], None]) -> None:
        self.inner = inner
        self._on_line = on_line
        self._partial = ""

    def write(self, s: str) -> int:
        n = self.inner.write(s)
        if "\n" in s:
            *done, self._partial = (self._partial + s).split("\n")
            for line in done:
                self._on_line(line)
        else:
            self._partial += s
        return len(s) if n is None else n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        """The last line, if the script did not end it."""
        if self._partial:
            self._on_line(self._partial)
            self._partial = ""

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, buffer ...: the real stream's
        return getattr(self.inner, name)
