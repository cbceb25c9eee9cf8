"""PyTorch in, plain dataclasses (`app.snapshot`) out. Knows nothing of HTTP or Graphviz."""

import importlib
import sys
import types
from typing import Any

from app.trace.tracer import Datum, TraceError, Tracer

__all__ = ["Datum", "TraceError", "Tracer"]


class _CallableModule(types.ModuleType):
    """`app.trace(...)` is the Python API's context manager, yet `app.trace` is also this package.

    Importing `app.trace` sets the attribute `trace` of `app` to this module (Python's import system does
    that), so the module itself must be callable for `import app; app.trace(params=...)` to keep working.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # A forwarding shim, resolved at call time: the tracer itself never depends on the API layer above it.
        return importlib.import_module("app.api").trace(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
