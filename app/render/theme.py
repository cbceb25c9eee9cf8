"""Colours and fonts. Okabe–Ito palette (colour-blind safe); every colour is a plain hex literal because
librsvg has no CSS variables and slides need the picture to carry its own styles."""

from __future__ import annotations

from dataclasses import dataclass

from app.snapshot import NodeKind

SANS = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"

KINDS: tuple[str, ...] = ("param", "data", "const", "op", "loss")


@dataclass(frozen=True, slots=True)
class KindStyle:
    strong: str  # header band and border
    on_strong: str  # header text, readable on `strong`
    body: str  # node body fill


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    background: str
    text: str  # values
    muted: str  # keys, captions, placeholders
    grad: str  # every gradient, in nodes and on edges
    edge: str
    label_bg: str  # halo behind edge labels
    kinds: dict[str, KindStyle]

    def kind(self, kind: NodeKind | str, is_loss: bool = False) -> KindStyle:
        return self.kinds["loss" if is_loss else kind]


# Okabe–Ito: orange E69F00, sky blue 56B4E9, bluish green 009E73, yellow F0E442, blue 0072B2,
# vermillion D55E00, reddish purple CC79A7. Gradients get the purple (darkened for text contrast on white).
LIGHT = Theme(
    name="light",
    background="#ffffff",
    text="#1b1b1b",
    muted="#6b6b6b",
    grad="#a8327a",
    edge="#8c8c8c",
    label_bg="#ffffff",
    kinds={
        "param": KindStyle("#e69f00", "#1b1b1b", "#fdf3dc"),
        "data": KindStyle("#009e73", "#ffffff", "#e0f3ec"),
        "const": KindStyle("#7a7a7a", "#ffffff", "#f3f3f3"),
        "op": KindStyle("#0072b2", "#ffffff", "#e4f0f8"),
        "loss": KindStyle("#d55e00", "#ffffff", "#fbe6d9"),
    },
)

DARK = Theme(
    name="dark",
    background="#16181d",
    text="#ececec",
    muted="#a3a7ae",
    grad="#f09ccd",
    edge="#7d828b",
    label_bg="#16181d",
    kinds={
        "param": KindStyle("#e69f00", "#16181d", "#2e2617"),
        "data": KindStyle("#009e73", "#ffffff", "#152b25"),
        "const": KindStyle("#8a8a8a", "#16181d", "#25272b"),
        "op": KindStyle("#3a9ad9", "#ffffff", "#172633"),
        "loss": KindStyle("#e4711a", "#16181d", "#33210f"),
    },
)

THEMES: dict[str, Theme] = {"light": LIGHT, "dark": DARK}
