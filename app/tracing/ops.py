"""Readable operator names for autograd node classes (display only; no maths here)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_SUFFIX = re.compile(r"Backward\d*$")

# PyTorch class name without its "BackwardN" suffix -> the operator a student recognises.
_READABLE: dict[str, str] = {
    "Mul": "*",
    "Add": "+",
    "Sub": "-",
    "Rsub": "-",
    "Div": "/",
    "Neg": "neg",
    "Mm": "mm",
    "Bmm": "bmm",
    "Addmm": "addmm",
    "Matmul": "@",
    "T": "T",
    "Transpose": "T",
    "Permute": "permute",
    "View": "view",
    "Reshape": "view",
    "UnsafeView": "view",
    "Expand": "expand",
    "Squeeze": "squeeze",
    "Unsqueeze": "unsqueeze",
    "Select": "[ ]",
    "Slice": "[ : ]",
    "Index": "[ ]",
    "Clone": "clone",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Relu": "relu",
    "Exp": "exp",
    "Log": "log",
    "Sin": "sin",
    "Cos": "cos",
    "Abs": "abs",
    "Sqrt": "sqrt",
    "Mean": "mean",
    "Sum": "sum",
    "MseLoss": "mse",
    "BinaryCrossEntropy": "bce",
    "NllLoss": "nll",
    "NllLoss2D": "nll",
    "LogSoftmax": "log_softmax",
    "Softmax": "softmax",
    "Convolution": "conv",
    "MaxPool2DWithIndices": "maxpool",
    "AvgPool2D": "avgpool",
    "AdaptiveAvgPool2D": "avgpool",
    "NativeBatchNorm": "batchnorm",
    "NativeLayerNorm": "layernorm",
    "AccumulateGrad": "leaf",
}


@lru_cache(maxsize=1024)  # a handful of class names, asked for at every node of every step
def base_name(class_name: str) -> str:
    return _SUFFIX.sub("", class_name)


def readable_op(class_name: str, exponent: Any = None) -> str:
    """`MulBackward0` -> `*`; `PowBackward0` with exponent 2 -> `**2`; unknown names -> lower-case base."""
    base = base_name(class_name)
    if base == "Pow":
        return f"**{_number(exponent)}" if exponent is not None else "**"
    return _READABLE.get(base, base.lower() or class_name)


def _number(x: Any) -> str:
    """2.0 -> "2", 0.5 -> "0.5": exponents read as a person writes them."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)
