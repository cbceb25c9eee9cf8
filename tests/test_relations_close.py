"""`relations.close` answers as its definition says: equal bits, or within rtol 1e-5 plus 1e-6 x the size of
either `b` or the terms (`magnitude`), whichever passes: checked against that definition written here with
plain torch and floats, on random tensors with NaNs, infinities, cancellations and both sizes of path."""

from __future__ import annotations

import math

import pytest
import torch
from backprop_lens.tracing.relations import JACOBIAN_LIMIT, RTOL, _Pair, close


def within(a: torch.Tensor, b: torch.Tensor, size: torch.Tensor) -> bool:
    if a.numel() <= JACOBIAN_LIMIT:
        m = max((abs(v) for v in size.flatten().tolist()), default=0.0)
        tol = 1e-6 * m + 1e-12
        pairs = zip(a.flatten().tolist(), b.flatten().tolist(), strict=True)
        return all(abs(x - y) <= RTOL * abs(y) + tol or (math.isnan(x) and math.isnan(y)) for x, y in pairs)
    scale = float(size.abs().max()) if size.numel() else 0.0
    return torch.allclose(a.double(), b.double(), rtol=RTOL, atol=1e-6 * scale + 1e-12, equal_nan=True)


def definition(a: torch.Tensor, b: torch.Tensor, magnitude: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype == b.dtype and torch.equal(a, b):
        return True
    return within(a, b, b.abs()) or within(a, b, magnitude)


def outcome(fn: object, *args: object) -> object:
    """The answer, or the error raised (torch.allclose refuses a NaN tolerance: the relation hook catches it)."""
    try:
        return fn(*args)  # type: ignore[operator]
    except RuntimeError as e:
        return type(e)


@pytest.mark.parametrize("n", [1, 7, JACOBIAN_LIMIT, JACOBIAN_LIMIT + 1, 500])
def test_close_is_its_definition(n: int) -> None:
    gen = torch.Generator().manual_seed(n)
    answers = set()
    for trial in range(300):
        b = torch.randn(n, generator=gen) * 10 ** float(torch.randint(-8, 8, (), generator=gen))
        noise = torch.randn(n, generator=gen) * 10 ** float(torch.randint(-12, 0, (), generator=gen))
        a = b + noise * b.abs().max()
        if trial % 7 == 0:
            a[0] = b[0] = float("nan")
        if trial % 11 == 0:
            a[-1] = b[-1] = float("inf")
        if trial % 13 == 0:
            a[0] = float("nan")
        magnitude = b.abs() * 10 ** float(torch.randint(-3, 6, (), generator=gen))
        if trial % 17 == 0:
            magnitude[0] = float("nan")
        want = outcome(definition, a, b, magnitude)
        assert outcome(close, a, b, lambda m=magnitude: m) == want, trial
        answers.add(want)
    assert {True, False} <= answers  # both answers were exercised


@pytest.mark.parametrize("n", [JACOBIAN_LIMIT + 1, 100, 500])
def test_one_element_off_anywhere(n: int) -> None:
    """A big pair equal but for one element, at every position (sampled by `close` or not), by a little or a
    lot, or a NaN or an infinity there: the answer is the definition's."""
    gen = torch.Generator().manual_seed(n)
    b = torch.randn(n, generator=gen)
    answers = set()
    for i in range(n):
        for off in (1e-9, 1e-3, 10.0, float("nan"), float("inf")):
            a = b.clone()
            a[i] = b[i] + off if off == off else off
            magnitude = b.abs() * (1.0 if i % 2 else 1e4)
            want = outcome(definition, a, b, magnitude)
            assert outcome(close, a, b, lambda m=magnitude: m) == want, (i, off)
            answers.add(want)
    assert {True, False} <= answers


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_sampled_miss_is_a_torch_miss(dtype: torch.dtype) -> None:
    """What `close` takes as a sampled element outside the tolerance (`_Pair.misses`) is outside it for
    torch.isclose in float64, for ordinary numbers, signed zeros, subnormals, infinities and NaNs, at
    tolerances from 0 to infinite and a NaN one (which decides nothing)."""
    special = [0.0, -0.0, 1e-40, -1e-40, 1.0, -1.0, 1e-5, 3.4e38, float("inf"), float("-inf"), float("nan")]
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(25, generator=gen) * 10 ** torch.randint(-6, 6, (25,), generator=gen).double()
    values = special + noise.tolist()
    n = JACOBIAN_LIMIT + 1
    misses = 0
    for x in values:
        for y in values:
            a, b = torch.full((n,), x, dtype=dtype), torch.full((n,), y, dtype=dtype)
            pair = _Pair(a, b)
            for scale in (0.0, 1e-6, 1.0, 1e6, float("inf"), float("nan")):
                if not pair.misses(scale):
                    continue
                misses += 1
                tol = 1e-6 * scale + 1e-12
                assert not torch.isclose(a.double(), b.double(), rtol=RTOL, atol=tol, equal_nan=True).any(), (x, y)
    assert misses > 0
