"""The inspector's "local derivative" section: what each grad_fn computes, named in symbols.

These lines only *name* the rule autograd applies (inputs a, b in slot order, z the output, G = dL/dz); they
never compute a number shown anywhere. A grad_fn not listed gets a sentence saying the numbers are PyTorch's.
Lines with words have a 简体中文 twin in ZH; the symbols are the same in both languages.
"""

from __future__ import annotations

# grad_fn -> (the forward rule, the derivative of each input)
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "MulBackward0": ("z = a · b", ("∂z/∂a = b", "∂z/∂b = a")),
    "MulBackward1": ("z = a · c", ("∂z/∂a = c",)),
    "AddBackward0": ("z = a + α·b", ("∂z/∂a = 1", "∂z/∂b = α (usually 1)")),
    "AddBackward1": ("z = a + c", ("∂z/∂a = 1",)),
    "SubBackward0": ("z = a − α·b", ("∂z/∂a = 1", "∂z/∂b = −α (usually −1)")),
    "SubBackward1": ("z = a − c", ("∂z/∂a = 1",)),
    "RsubBackward0": ("z = b − a", ("∂z/∂a = −1", "∂z/∂b = 1")),
    "RsubBackward1": ("z = c − a", ("∂z/∂a = −1",)),
    "DivBackward0": ("z = a / b", ("∂z/∂a = 1 / b", "∂z/∂b = −a / b²")),
    "DivBackward1": ("z = a / c", ("∂z/∂a = 1 / c",)),
    "NegBackward0": ("z = −a", ("∂z/∂a = −1",)),
    "PowBackward0": ("z = aⁿ", ("∂z/∂a = n · aⁿ⁻¹   (for **2: 2a)",)),
    "PowBackward1": ("z = aᵇ", ("∂z/∂a = b · aᵇ⁻¹", "∂z/∂b = aᵇ · ln a")),
    "SqrtBackward0": ("z = √a", ("∂z/∂a = 1 / (2√a)",)),
    "ExpBackward0": ("z = eᵃ", ("∂z/∂a = eᵃ = z",)),
    "LogBackward0": ("z = ln a", ("∂z/∂a = 1 / a",)),
    "SinBackward0": ("z = sin a", ("∂z/∂a = cos a",)),
    "CosBackward0": ("z = cos a", ("∂z/∂a = −sin a",)),
    "AbsBackward0": ("z = |a|", ("∂z/∂a = sign(a)",)),
    "SigmoidBackward0": ("z = σ(a) = 1 / (1 + e⁻ᵃ)", ("∂z/∂a = σ(a) · (1 − σ(a)) = z(1 − z)",)),
    "TanhBackward0": ("z = tanh a", ("∂z/∂a = 1 − tanh² a = 1 − z²",)),
    "ReluBackward0": ("z = max(0, a)", ("∂z/∂a = 1 if a > 0 else 0",)),
    "SumBackward0": ("z = Σᵢ aᵢ", ("∂z/∂aᵢ = 1",)),
    "SumBackward1": ("z = Σ a (over dims)", ("∂z/∂aᵢ = 1",)),
    "MeanBackward0": ("z = (1/n) Σᵢ aᵢ", ("∂z/∂aᵢ = 1/n",)),
    "MeanBackward1": ("z = mean(a, dims)", ("∂z/∂aᵢ = 1/n",)),
    "MmBackward0": ("Z = A · B", ("∂L/∂A = G · Bᵀ", "∂L/∂B = Aᵀ · G")),
    "MvBackward0": ("z = A · v", ("∂L/∂A = G · vᵀ", "∂L/∂v = Aᵀ · G")),
    "DotBackward0": ("z = a · b (dot)", ("∂z/∂a = b", "∂z/∂b = a")),
    "AddmmBackward0": ("Z = bias + A · B", ("∂L/∂bias = G (summed)", "∂L/∂A = G · Bᵀ", "∂L/∂B = Aᵀ · G")),
    "TBackward0": ("Z = Aᵀ", ("∂L/∂A = Gᵀ",)),
    "ViewBackward0": ("z = a.view(…)", ("∂L/∂a = G reshaped",)),
    "ReshapeAliasBackward0": ("z = a.reshape(…)", ("∂L/∂a = G reshaped",)),
    "UnsqueezeBackward0": ("z = a.unsqueeze(d)", ("∂L/∂a = G.squeeze(d)",)),
    "SqueezeBackward0": ("z = a.squeeze()", ("∂L/∂a = G reshaped",)),
    "ExpandBackward0": ("z = a.expand(…)", ("∂L/∂a = G summed over the expanded dims",)),
    "SoftmaxBackward0": ("zᵢ = eᵃⁱ / Σⱼ eᵃʲ", ("∂zᵢ/∂aⱼ = zᵢ(δᵢⱼ − zⱼ)",)),
    "LogSoftmaxBackward0": ("zᵢ = aᵢ − log Σⱼ eᵃʲ", ("∂zᵢ/∂aⱼ = δᵢⱼ − softmax(a)ⱼ",)),
    "NllLossBackward0": ("L = −mean(a[target])", ("∂L/∂a = −1/n at the targets, 0 elsewhere",)),
    "MseLossBackward0": ("L = mean((a − b)²)", ("∂L/∂a = 2(a − b) / n",)),
    "BinaryCrossEntropyBackward0": ("L = −[y ln p + (1−y) ln(1−p)]", ("∂L/∂p = (p − y) / (p(1 − p))",)),
    "AccumulateGrad": ("leaf.grad += incoming gradient", ("stores dL/d(leaf) in .grad",)),
}

# The lines above that hold words, in 简体中文.
ZH: dict[str, str] = {
    "∂z/∂b = α (usually 1)": "∂z/∂b = α（通常为 1）",
    "∂z/∂b = −α (usually −1)": "∂z/∂b = −α（通常为 −1）",
    "∂z/∂a = n · aⁿ⁻¹   (for **2: 2a)": "∂z/∂a = n · aⁿ⁻¹   （**2 时为 2a）",
    "∂z/∂a = 1 if a > 0 else 0": "∂z/∂a = 1（a > 0 时），否则为 0",
    "z = Σ a (over dims)": "z = Σ a（沿指定维度）",
    "z = a · b (dot)": "z = a · b（点积）",
    "∂L/∂bias = G (summed)": "∂L/∂bias = G（求和）",
    "∂L/∂a = G reshaped": "∂L/∂a = G 变形回 a 的形状",
    "∂L/∂a = G summed over the expanded dims": "∂L/∂a = G 在扩展的维度上求和",
    "∂L/∂a = −1/n at the targets, 0 elsewhere": "∂L/∂a = 目标处为 −1/n，其余为 0",
    "leaf.grad += incoming gradient": "leaf.grad += 传入的梯度",
    "stores dL/d(leaf) in .grad": "把 dL/d(leaf) 存入 .grad",
}


def local_rule(grad_fn: str, lang: str = "en") -> list[str] | None:
    """The forward rule and the input derivatives of `grad_fn`, or None when none is on file."""
    rule = RULES.get(grad_fn)
    if rule is None:
        return None
    lines = [rule[0], *rule[1]]
    return [ZH.get(line, line) for line in lines] if lang == "zh" else lines
