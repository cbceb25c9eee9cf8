"""Presentation: Step + phase + language -> every string the user sees, once, in Python.

No torch, no Graphviz. `build_labels` makes a step's LabelSet (drawn by render, served as slots by the web
layer); `catalog` holds every word by key in English and 简体中文; `format` is the one number formatter.
"""

from __future__ import annotations

from backprop_lens.present.build import build_labels
from backprop_lens.present.catalog import LANGS, Lang, check_lang, messages, t
from backprop_lens.present.header import Context, scenario_words, slide_context, title_lines
from backprop_lens.present.labelset import LabelSet
from backprop_lens.present.nodes import NodeLabel

__all__ = [
    "LANGS",
    "Context",
    "LabelSet",
    "Lang",
    "NodeLabel",
    "build_labels",
    "check_lang",
    "messages",
    "scenario_words",
    "slide_context",
    "t",
    "title_lines",
]
