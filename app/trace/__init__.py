"""PyTorch in, plain dataclasses (`app.snapshot`) out. Knows nothing of HTTP or Graphviz."""

from app.trace.tracer import Datum, TraceError, Tracer

__all__ = ["Datum", "TraceError", "Tracer"]
