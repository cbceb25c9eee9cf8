"""Text width estimates, so box sizes are decided by us (deterministically) and not by whatever fonts the
machine that ran Graphviz happened to have. Widths are DejaVu Sans advances (the widest font of our stack),
so Helvetica/Arial fallbacks only ever leave a little more room."""

from __future__ import annotations

MONO_ADVANCE = 0.602  # DejaVu Sans Mono: every glyph is 1233/2048 em

# DejaVu Sans advance widths in em, for the characters our labels use most; others fall back to DEFAULT.
_SANS: dict[str, float] = {
    " ": 0.318, ".": 0.318, ",": 0.318, ":": 0.337, ";": 0.337, "-": 0.361, "_": 0.5, "·": 0.318,
    "(": 0.39, ")": 0.39, "[": 0.39, "]": 0.39, "*": 0.5, "/": 0.337, "\\": 0.337, "'": 0.275, '"': 0.46,
    "+": 0.838, "=": 0.838, "<": 0.838, ">": 0.838, "&": 0.78, "×": 0.838, "→": 0.838, "Σ": 0.7, "@": 1.0,
    "a": 0.613, "b": 0.635, "c": 0.55, "d": 0.635, "e": 0.615, "f": 0.352, "g": 0.635, "h": 0.634,
    "i": 0.278, "j": 0.278, "k": 0.579, "l": 0.278, "m": 0.974, "n": 0.634, "o": 0.612, "p": 0.635,
    "q": 0.635, "r": 0.411, "s": 0.521, "t": 0.392, "u": 0.634, "v": 0.592, "w": 0.818, "x": 0.592,
    "y": 0.592, "z": 0.525,
    "A": 0.684, "B": 0.686, "C": 0.698, "D": 0.77, "E": 0.632, "F": 0.575, "G": 0.775, "H": 0.752,
    "I": 0.295, "J": 0.295, "K": 0.656, "L": 0.557, "M": 0.863, "N": 0.748, "O": 0.787, "P": 0.603,
    "Q": 0.787, "R": 0.695, "S": 0.635, "T": 0.611, "U": 0.732, "V": 0.684, "W": 0.989, "X": 0.685,
    "Y": 0.611, "Z": 0.685,
}  # fmt: skip
_DIGIT = 0.636
_DEFAULT = 0.75  # unknown Latin-ish glyphs
_WIDE = 1.0  # CJK and other full-width glyphs
_BOLD = 1.1  # DejaVu Sans Bold is about 10% wider


def sans_width(text: str, size: float, bold: bool = False) -> float:
    em = 0.0
    for ch in text:
        if ch.isdigit() and ch.isascii():
            em += _DIGIT
        elif ch in _SANS:
            em += _SANS[ch]
        else:
            em += _WIDE if ord(ch) >= 0x1100 else _DEFAULT
    return em * size * (_BOLD if bold else 1.0)


def mono_width(chars: int, size: float) -> float:
    return chars * MONO_ADVANCE * size
