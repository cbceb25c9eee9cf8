"""Errors the render layer raises; the CLI and the web layer print their message as one line."""

from __future__ import annotations

from backprop_lens.problems import Problem, as_problem


class RenderError(Exception):
    """Bad render input (unknown phase/theme/format) or a failed external renderer."""


class BadArgument(RenderError):
    """A bad argument from the caller (not a tool failure): the web layer answers 422 naming `field`, worded from
    `problem` in the request's language; `str()` is the English (the CLI's words)."""

    def __init__(self, field: str, message: str | Problem) -> None:
        self.problem = as_problem(message)
        super().__init__(str(self.problem))
        self.field = field


class GraphvizMissing(RenderError):
    """Graphviz's `dot`, the one system tool we shell out to, is not installed (PNG needs none: resvg is a wheel)."""


DOT_MISSING = (
    "Graphviz's `dot` was not found on PATH; install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`, macOS: `brew install graphviz`) and try again."
)
