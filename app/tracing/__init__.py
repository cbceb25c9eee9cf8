"""PyTorch in, plain dataclasses (`backprop_lens.snapshot`) out. Knows nothing of HTTP or Graphviz."""

from backprop_lens.tracing.tracer import Datum, TraceError, Tracer, name

__all__ = ["Datum", "TraceError", "Tracer", "name"]
