"""Recordings: a user's own training loop, every backward() one step. Tracing-level: no HTTP, no Graphviz."""

from backprop_lens.recording.model import DEFAULT_MAX_STEPS, HistoryRecord, LogLine, Recording
from backprop_lens.recording.recorder import record

__all__ = ["DEFAULT_MAX_STEPS", "HistoryRecord", "LogLine", "Recording", "record"]
