"""Colours and fonts. Okabe–Ito palette (colour-blind safe); every colour is a plain hex literal because
librsvg has no CSS variables and slides need the picture to carry its own styles."""

from __future__ import annotations

from dataclasses import dataclass

from backprop_lens.snapshot import NodeKind

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
    cluster_fill: tuple[str, ...]  # module frames by nesting depth (cycled): each level a shade apart
    cluster_stroke: str
    cluster_text: str

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
        "module": KindStyle("#4d5766", "#ffffff", "#eef1f5"),  # a collapsed module
    },
    cluster_fill=("#f4f6f9", "#e9edf3", "#dfe5ee"),
    cluster_stroke="#a9b3c1",
    cluster_text="#4d5766",
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
        "module": KindStyle("#9aa6b8", "#16181d", "#232833"),
    },
    cluster_fill=("#1c1f26", "#22262f", "#292e39"),
    cluster_stroke="#4a5263",
    cluster_text="#aeb8c8",
)

THEMES: dict[str, Theme] = {"light": LIGHT, "dark": DARK}
