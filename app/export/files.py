"""Writing what the user asked for: `.html` (the self-contained page) or `.json` (the recording as data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backprop_lens.export.bundle import bundle
from backprop_lens.export.page import page_html
from backprop_lens.export.source import PageSource, from_recording
from backprop_lens.recording import Recording
from backprop_lens.recording.jsonio import read_json, write_json

SUFFIXES = (".html", ".json")


def export_html(src: PageSource | Recording) -> str:
    """The self-contained page for a run or a recording."""
    source = from_recording(src) if isinstance(src, Recording) else src
    return page_html(bundle(source), source.title)


def save(rec: Recording, path: Any) -> Path:
    out = Path(path)
    if out.suffix == ".json":
        write_json(rec, out)
    elif out.suffix in (".html", ".htm"):
        out.write_text(export_html(rec), encoding="utf-8")
    else:
        raise ValueError(f"{out.name}: write .html (the page) or .json (the data)")
    return out


def load_recording(path: Any) -> Recording:
    return read_json(Path(path))
