"""The message catalog: every word the user sees, by key, in English and 简体中文.

`t(lang, key, **vars)` fills `{name}` placeholders. A key missing in a language is a bug caught by
tests/test_present_catalog.py; at run time it falls back to English, then to the key itself.
"""

from __future__ import annotations

from typing import Literal

from backprop_lens.present.errors_en import ERRORS_EN
from backprop_lens.present.errors_zh import ERRORS_ZH
from backprop_lens.present.graph_en import GRAPH_EN
from backprop_lens.present.graph_zh import GRAPH_ZH
from backprop_lens.present.page_en import PAGE_EN
from backprop_lens.present.page_zh import PAGE_ZH

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

CATALOG: dict[str, dict[str, str]] = {
    "en": {**PAGE_EN, **GRAPH_EN, **ERRORS_EN},
    "zh": {**PAGE_ZH, **GRAPH_ZH, **ERRORS_ZH},
}


class _Vars(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unfilled placeholder stays visible instead of raising


def t(lang: str, key: str, /, **vars: object) -> str:
    text = CATALOG.get(lang, CATALOG["en"]).get(key) or CATALOG["en"].get(key) or key
    if not vars:
        return text
    try:
        return text.format(**vars)  # the hot path: every placeholder given
    except (KeyError, IndexError, ValueError):
        return text.format_map(_Vars(vars))


def messages(lang: str) -> dict[str, str]:
    """Every key of the language (English where a key lacks a translation: never, by test)."""
    return {**CATALOG["en"], **CATALOG.get(lang, {})}


def check_lang(lang: str) -> Lang:
    for known in LANGS:
        if lang == known:
            return known
    raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
