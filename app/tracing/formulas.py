"""Each op's derivative rule as text with the node names (`∂L/∂w = ∂L/∂y_hat · x`), chosen by grad_fn class.

Text only: nothing here computes a number. The numbers on screen come from PyTorch and are checked by the
relation the edge carries; this sentence says which rule PyTorch applied.
"""

from __future__ import annotations

from functools import lru_cache

from backprop_lens.tracing.ops import base_name

_UNARY: dict[str, str] = {  # base name -> factor after "∂L/∂{c} ·", with {a} the input and {c} the output
    "Sigmoid": "{c}·(1 − {c})",
    "Tanh": "(1 − {c}²)",
    "Relu": "[{a} > 0]",
    "Exp": "{c}",
    "Sin": "cos({a})",
    "Cos": "(−sin({a}))",
    "Abs": "sign({a})",
    "Softplus": "sigmoid({a})",
}
_DIVIDED: dict[str, str] = {"Log": "{a}", "Sqrt": "(2·{c})"}
_PASS: set[str] = {"Clone", "View", "Reshape", "UnsafeView", "Squeeze", "Unsqueeze", "Alias"}
# The rules that read the names of inputs other than their own slot (of inputs 0 .. READS - 1 only); every other
# rule reads only its own input's name. `annotate.read_names` makes only the names a rule reads: a constant's
# name is its value as text, costly for a big one (a BatchNorm's running statistics, an image).
READS = 3
_READS_OTHERS = frozenset({"Mul", "Div", "Mm", "Bmm", "Addmm", "MseLoss"})


def reads(class_name: str) -> int:
    """How many leading input names a rule of `class_name` may read besides its own slot's (0 or READS)."""
    return READS if base_name(class_name) in _READS_OTHERS else 0


@lru_cache(maxsize=4096)  # the same graph at every step of a run: the same sentences
def formula(
    class_name: str,
    slot: int,
    target: str,
    inputs: tuple[str, ...],
    exponent: object = None,
    *,
    transposed_mm: bool = False,
) -> str:
    """The rule for the gradient that `class_name` sends to its input `slot`; `inputs` names every input."""
    base = base_name(class_name)
    a = _at(inputs, slot)
    lhs, up = f"∂L/∂{a}", f"∂L/∂{target}"
    if transposed_mm:  # inputs: (W, the matmul's output, the matmul's other operand X)
        return f"{lhs} = (∂L/∂{_at(inputs, 1)})ᵀ · {_at(inputs, 2, 'X')}"
    rule = _rule(base, slot, a, target, inputs, up, exponent)
    return f"{lhs} = {rule}" if rule else f"{lhs} = {up} · ∂{target}/∂{a}  (computed by {class_name})"


def _rule(base: str, slot: int, a: str, c: str, inputs: tuple[str, ...], up: str, exponent: object) -> str | None:
    other = _at(inputs, 1 - slot) if slot in (0, 1) else "?"
    simple = {
        "Mul": f"{up} · {other}",
        "Add": up,
        "Sub": up if slot == 0 else f"−{up}",
        "Rsub": f"−{up}" if slot == 0 else up,
        "Neg": f"−{up}",
        "Div": f"{up} / {other}" if slot == 0 else f"−{up} · {_at(inputs, 0)} / {a}²",
        "Pow": f"{up} · {_power_rule(a, exponent)}",
        "Mean": f"{up} / n  (n = number of elements averaged)",
        "Sum": f"{up}, copied to every element",
        "Expand": f"Σ {up} over the broadcast dimensions",
        "T": f"({up})ᵀ",
        "Transpose": f"({up})ᵀ",
        "Permute": f"{up} with the dimensions permuted back",
        "Mm": f"{up} · {other}ᵀ" if slot == 0 else f"{other}ᵀ · {up}",
        "Bmm": f"{up} · {other}ᵀ (per batch)" if slot == 0 else f"{other}ᵀ · {up} (per batch)",
        "Addmm": _addmm(slot, inputs, up),
        "MseLoss": f"2·({_at(inputs, 0)} − {_at(inputs, 1, 'y')}) / n · {up}",
        "BinaryCrossEntropy": f"({a} − y) / ({a}·(1 − {a})) / n · {up}",
        "NllLoss": f"−{up} / n at each sample's target class, 0 elsewhere",
        "LogSoftmax": f"{up} − softmax({a}) · Σ {up}",
        "Softmax": f"{c} · ({up} − Σ {up}·{c})",
        "Select": f"{up} placed at the selected index, 0 elsewhere",
        "Slice": f"{up} placed in the slice, 0 elsewhere",
        "Split": "the output gradients, concatenated",
        "SplitWithSizes": "the output gradients, concatenated",
        "UnsafeSplit": "the output gradients, concatenated",
        "Unbind": "the output gradients, stacked",
        "Convolution": _conv(slot, up),
        "NativeLayerNorm": _norm(slot, up, "over each sample's features", "over the batch"),
        "NativeBatchNorm": _norm(slot, up, "over the batch", "over the batch and every position"),
        "Cat": f"the part of {up} that came from {a}",
        "Stack": f"the part of {up} that came from {a}",
    }
    if base in simple:
        return simple[base]
    if base in _UNARY:
        return f"{up} · " + _UNARY[base].format(a=a, c=c)
    if base in _DIVIDED:
        return f"{up} / " + _DIVIDED[base].format(a=a, c=c)
    if base in _PASS:
        return f"{up}, reshaped to {a}'s shape"
    return None


def _conv(slot: int, up: str) -> str:
    if slot == 0:
        return f"{up} convolved back with the kernel (a transposed convolution)"
    return f"{up} correlated with the input" if slot == 1 else f"Σ {up} over the batch and every position"


def _norm(slot: int, up: str, stats: str, summed: str) -> str:
    """x̂ = (x − mean) / σ, c = γ·x̂ + β: the statistics taken `stats`, γ and β shared `summed`."""
    if slot == 0:
        return f"γ/σ · ({up} − mean({up}) − x̂ · mean({up} · x̂)), means {stats}"
    return f"Σ {up} · x̂ {summed}" if slot == 1 else f"Σ {up} {summed}"


def _addmm(slot: int, inputs: tuple[str, ...], up: str) -> str:
    x, w = _at(inputs, 1, "X"), _at(inputs, 2, "Wᵀ")
    if slot == 0:
        return f"Σ_batch {up}"
    return f"{up} · {w}ᵀ" if slot == 1 else f"{x}ᵀ · {up}"


def _at(names: tuple[str, ...], i: int, default: str = "?") -> str:
    return names[i] if 0 <= i < len(names) and names[i] else default


def _num(x: object) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return "n" if x is None else str(x)


def _power_rule(a: str, x: object) -> str:
    """d(a**n)/da as a person writes it: 2·a for n = 2, 3·a^2 for n = 3, n·a^(n−1) for a tensor exponent."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return f"n·{a}^(n−1)"
    m = float(x) - 1
    if m == 0:
        return "1"
    power = "" if m == 1 else "^" + (str(int(m)) if m.is_integer() else str(m))
    return f"{_num(x)}·{a}{power}"
