"""XML text for our SVG and DOT writers: escaping and compact numbers (one home for both)."""

from __future__ import annotations

import re

BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not XML 1.0


def esc(s: object) -> str:
    """XML-escape text and attribute values (quotes too), dropping characters XML 1.0 cannot carry at all."""
    t = str(s)
    if BAD_XML.search(t) is not None:
        t = BAD_XML.sub("\ufffd", t)
    if "&" in t or "<" in t or ">" in t or '"' in t:  # substring tests are C speed: the common case is none
        t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return t


def num(v: float) -> str:
    """A coordinate: whole points as integers, else at most two decimals."""
    if v == int(v):  # most coordinates are whole points: skip the string surgery
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")
