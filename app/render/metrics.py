"""Text width estimates, so box sizes are decided by us (deterministically) and not by whatever fonts the
machine that ran Graphviz happened to have. Widths are DejaVu Sans advances (the widest font of our stack),
so Helvetica/Arial fallbacks only ever leave a little more room."""

from __future__ import annotations

from functools import lru_cache

MONO_ADVANCE = 0.602  # DejaVu Sans Mono: every glyph is 1233/2048 em

# DejaVu Sans advance widths in em, for the characters our labels use most; others fall back to DEFAULT.
_SANS: dict[str, float] = {
    " ": 0.318, ".": 0.318, ",": 0.318, ":": 0.337, ";": 0.337, "-": 0.361, "_": 0.5, "·": 0.318,
    "(": 0.39, ")": 0.39, "[": 0.39, "]": 0.39, "*": 0.5, "/": 0.337, "\\": 0.337, "'": 0.275, '"': 0.46,
    "+": 0.838, "=": 0.838, "<": 0.838, ">": 0.838, "&": 0.78, "×": 0.838, "→": 0.838, "Σ": 0.632, "@": 1.0,
    "a": 0.613, "b": 0.635, "c": 0.55, "d": 0.635, "e": 0.615, "f": 0.352, "g": 0.635, "h": 0.634,
    "i": 0.278, "j": 0.278, "k": 0.579, "l": 0.278, "m": 0.974, "n": 0.634, "o": 0.612, "p": 0.635,
    "q": 0.635, "r": 0.411, "s": 0.521, "t": 0.392, "u": 0.634, "v": 0.592, "w": 0.818, "x": 0.592,
    "y": 0.592, "z": 0.525,
    "A": 0.684, "B": 0.686, "C": 0.698, "D": 0.77, "E": 0.632, "F": 0.575, "G": 0.775, "H": 0.752,
    "I": 0.295, "J": 0.295, "K": 0.656, "L": 0.557, "M": 0.863, "N": 0.748, "O": 0.787, "P": 0.603,
    "Q": 0.787, "R": 0.695, "S": 0.635, "T": 0.611, "U": 0.732, "V": 0.684, "W": 0.989, "X": 0.685,
    "Y": 0.611, "Z": 0.685,
}  # fmt: skip
# DejaVu Sans Bold advances for the same characters (read from DejaVuSans-Bold.ttf): bold is 0-22% wider
# than regular depending on the glyph, so one factor under-estimates words like "grad = dL/d(node)".
_SANS_BOLD: dict[str, float] = {
    ' ': 0.348, '.': 0.38, ',': 0.38, ':': 0.4, ';': 0.4, '-': 0.415, '_': 0.5, '·': 0.38, '(': 0.457, ')': 0.457,
    '[': 0.457, ']': 0.457, '*': 0.523, '/': 0.365, '\\': 0.365, "'": 0.306, '"': 0.521, '+': 0.838, '=': 0.838,
    '<': 0.838, '>': 0.838, '&': 0.872, '×': 0.838, '→': 0.838, 'Σ': 0.683, '@': 1.0, 'a': 0.675, 'b': 0.716, 'c':
    0.593, 'd': 0.716, 'e': 0.678, 'f': 0.435, 'g': 0.716, 'h': 0.712, 'i': 0.343, 'j': 0.343, 'k': 0.665, 'l':
    0.343, 'm': 1.042, 'n': 0.712, 'o': 0.687, 'p': 0.716, 'q': 0.716, 'r': 0.493, 's': 0.595, 't': 0.478, 'u':
    0.712, 'v': 0.652, 'w': 0.924, 'x': 0.645, 'y': 0.652, 'z': 0.582, 'A': 0.774, 'B': 0.762, 'C': 0.734, 'D':
    0.83, 'E': 0.683, 'F': 0.683, 'G': 0.821, 'H': 0.837, 'I': 0.372, 'J': 0.372, 'K': 0.775, 'L': 0.637, 'M':
    0.995, 'N': 0.837, 'O': 0.85, 'P': 0.733, 'Q': 0.85, 'R': 0.77, 'S': 0.72, 'T': 0.682, 'U': 0.812, 'V': 0.774,
    'W': 1.103, 'X': 0.771, 'Y': 0.724, 'Z': 0.725,
}  # fmt: skip
_DIGIT = 0.636
_DIGIT_BOLD = 0.696
_DEFAULT = 0.75  # unknown Latin-ish glyphs
_WIDE = 1.0  # CJK and other full-width glyphs
_BOLD = 1.2  # unknown glyphs in bold: the widest ratio seen in the table above


@lru_cache(maxsize=8192)  # the same keys, names and captions are measured for every node of a big graph
def sans_width(text: str, size: float, bold: bool = False) -> float:
    table, digit = (_SANS_BOLD, _DIGIT_BOLD) if bold else (_SANS, _DIGIT)
    em = 0.0
    for ch in text:
        if ch.isdigit() and ch.isascii():
            em += digit
        elif ch in table:
            em += table[ch]
        else:
            em += (_WIDE if ord(ch) >= 0x1100 else _DEFAULT) * (_BOLD if bold else 1.0)
    return em * size


def mono_width(chars: int, size: float) -> float:
    return chars * MONO_ADVANCE * size
