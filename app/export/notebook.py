"""The notebook view: the same self-contained page, in a sandboxed iframe's `srcdoc`.

Chosen over a widget library (anywidget): the view needs no kernel connection and no extension, so it works in
Lab, Notebook and VS Code alike, keeps working in a saved notebook or its HTML export, and is byte for byte the
file `rec.save("run.html")` writes (one thing to test). The sandbox (scripts only, an opaque origin) keeps the
page away from the notebook's own origin.
"""

from __future__ import annotations

import html
from typing import Any

from backprop_lens.export.files import export_html, save
from backprop_lens.recording import Recording
from backprop_lens.recording import record as _record

HEIGHT = 860  # px: the page's graph, transport and console without an inner scroll on a laptop


def notebook_html(rec: Recording) -> str:
    doc = html.escape(export_html(rec), quote=True)
    return (
        f'<iframe class="backprop-lens" title="{html.escape(rec.title)}" sandbox="allow-scripts allow-downloads" '
        f'style="width:100%;height:{HEIGHT}px;border:0" srcdoc="{doc}"></iframe>'
    )


class Recorded(Recording):
    """A Recording that shows itself in Jupyter and saves itself: what `backprop_lens.record()` yields."""

    def save(self, path: Any) -> None:
        """`.html`: the self-contained stepping page; `.json`: the recording as data."""
        save(self, path)

    def _repr_html_(self) -> str:
        return notebook_html(self)


def record(**options: Any) -> _record:
    """`with backprop_lens.record() as rec:` — every backward() of the block one step (see recording.record)."""
    options.setdefault("factory", Recorded)
    return _record(**options)
