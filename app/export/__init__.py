"""Export: the page and a run's (or a recording's) data in one self-contained HTML file; the notebook view."""

from backprop_lens.export.files import export_html, load_recording, save
from backprop_lens.export.notebook import Recorded, notebook_html, record

__all__ = ["Recorded", "export_html", "load_recording", "notebook_html", "record", "save"]
