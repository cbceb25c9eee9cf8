"""PyTorch in, plain dataclasses (`app.snapshot`) out. Knows nothing of HTTP or Graphviz."""

from app.trace.tracer import Datum, Tracer, TraceError

__all__ = ["Datum", "TraceError", "Tracer"]
