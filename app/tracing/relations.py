"""Which arithmetic links each edge's gradient to its target's, found and checked while the tensors are alive.

A post-hook on every autograd node sees dL/d(outputs) (upstream) and what the node sent along each input
(downstream) while the node's saved tensors still exist. From PyTorch alone — the node called on ones, on
one-hot gradients, or its saved matrices — we try, in order, and keep the first that recomputes `downstream`:
- elementwise: down == up * local, one shape;
- reduce:      down == sum_to(up * local) (broadcasting, sum, mean), `dims` the summed dimensions;
- matmul:      down == left @ right, operands as PyTorch saved them (mm, addmm, bmm);
- jacobian:    flatten(down) == J @ flatten(up), for small tensors only;
- opaque:      nothing could be had, nothing is claimed.
No derivative rule of ours computes anything here; we only check what PyTorch computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from backprop_lens.snapshot import RelationKind

JACOBIAN_LIMIT = 64  # elements on each side: the matrix is at most 64 x 64, and costs one node call per column
RTOL = 1e-5


@dataclass(frozen=True, slots=True)
class Found:
    """One edge's relation with its tensors (lists only when JSON is asked for)."""

    kind: RelationKind
    local: torch.Tensor | None = None
    dims: tuple[int, ...] = ()
    left: torch.Tensor | None = None
    right: torch.Tensor | None = None
    jacobian: torch.Tensor | None = None
    operands: tuple[str, str] | None = None


@dataclass
class NodeRelations:
    """What the hook found for one node: a relation per input slot, and every output's gradient."""

    slots: list[Found | None]
    grad_outputs: list[torch.Tensor | None]
    downstream: list[torch.Tensor | None]
    ones: Sequence[Any] | None = None  # the node called on ones (what `Edge.local` shows), when it was called


def relation_hook(store: dict[Any, NodeRelations], gf: Any) -> Callable[..., None]:
    """A post-hook for `Node.register_hook` that classifies every edge of `gf`; it changes no gradient."""

    def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        try:
            with torch._C.DisableTorchFunction():  # our own arithmetic: not the user's, and no mode overhead
                store[gf] = classify(gf, list(grad_inputs), list(grad_outputs))
        except Exception:  # a node we cannot call again: its edges claim nothing
            slots = [None if d is None else Found("opaque") for d in grad_inputs]
            store[gf] = NodeRelations(slots, list(grad_outputs), list(grad_inputs))

    return hook


def classify(gf: Any, downs: list[Any], ups_raw: list[Any]) -> NodeRelations:
    ups = ups_raw
    if any(u is None for u in ups_raw):  # an output the loss does not use sends no gradient: dL/d(it) = 0
        metas = list(gf._input_metadata)
        ups = [u if u is not None else torch.zeros(tuple(m.shape), dtype=m.dtype) for u, m in _pairs(ups_raw, metas)]
    lazy = _Lazy(gf, ups, downs)
    slots: list[Found | None] = []
    inputs = gf.next_functions  # a new tuple at every access: read once
    for slot, down in enumerate(downs):
        if down is None or inputs[slot][0] is None or not down.is_floating_point():
            slots.append(None)
            continue
        slots.append(_one_edge(gf, slot, ups, down, lazy))
    return NodeRelations(slots, ups_raw, downs, lazy._ones)


# Transposes save no tensors, so they can be called after backward: their relation waits for the matmul
# they feed (dL/dW = δᵀ·X, see `transposed_matmul`), and only without one becomes a jacobian (`later_jacobian`).
DEFERRED = frozenset({"TBackward0", "TransposeBackward0"})


def _one_edge(gf: Any, slot: int, ups: list[torch.Tensor], down: torch.Tensor, lazy: _Lazy) -> Found:
    if type(gf).__name__ in DEFERRED:
        return Found("opaque")
    if len(ups) == 1:
        local = lazy.ones_result(slot)
        if local is not None:
            found = _elementwise_or_reduce(ups[0], local, down)
            if found is not None:
                return found
        found = _matmul(gf, slot, ups[0], down)
        if found is not None:
            return found
    return _jacobian_or_opaque(slot, ups, down, lazy)


def later_jacobian(gf: Any, rels: NodeRelations, slot: int) -> Found:
    """A deferred node's jacobian, after backward (it kept no saved tensors that backward could free)."""
    down = rels.downstream[slot] if slot < len(rels.downstream) else None
    if down is None:
        return Found("opaque")
    metas = list(gf._input_metadata)
    # zeros only for an output that sent no gradient (they were made for every one: ResNet-18's fc.weight.t(), 2 MB)
    ups = [
        u if u is not None else torch.zeros(tuple(m.shape), dtype=m.dtype) for u, m in _pairs(rels.grad_outputs, metas)
    ]
    lazy = _Lazy(gf, ups, rels.downstream)
    with torch._C.DisableTorchFunction():
        return _jacobian_or_opaque(slot, ups, down, lazy)


def _jacobian_or_opaque(slot: int, ups: list[torch.Tensor], down: torch.Tensor, lazy: _Lazy) -> Found:
    jac = lazy.jacobian(slot)
    flat = _flat_ups(ups).to(jac.dtype) if jac is not None else None
    if jac is not None and flat is not None and close(jac @ flat, down.flatten(), lambda: jac.abs() @ flat.abs()):
        return Found("jacobian", jacobian=jac)
    return Found("opaque")


def _elementwise_or_reduce(up: torch.Tensor, local: torch.Tensor, down: torch.Tensor) -> Found | None:
    if up.shape == local.shape == down.shape:  # the common case, decided before any shape arithmetic
        product = up * local
        return Found("elementwise", local=local) if close(product, down, product.abs) else None
    shape = _broadcast(tuple(up.shape), tuple(local.shape))
    if shape is None:  # checked by shape first: a torch error costs more than the whole check
        return None
    dims = summed_dims(shape, tuple(down.shape))
    if dims is None:
        return None
    product = up * local
    if up.shape == local.shape == down.shape:
        return Found("elementwise", local=local) if close(product, down, product.abs) else None
    summed = product.sum(dim=dims, keepdim=True) if dims else product

    def magnitude() -> torch.Tensor:
        return product.abs().sum(dim=dims, keepdim=True) if dims else product.abs()

    if summed.numel() != down.numel() or not close(summed.reshape(down.shape), down, magnitude):
        return None
    return Found("reduce", local=local, dims=dims)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape `a * b` has, or None when they do not broadcast."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(a, b, strict=True))


def summed_dims(full: tuple[int, ...], to: tuple[int, ...]) -> tuple[int, ...] | None:
    """The dimensions `sum_to_size` sums to bring shape `full` to shape `to`; None when it cannot."""
    lead = len(full) - len(to)
    if lead < 0:
        return None
    dims = list(range(lead))
    for i, size in enumerate(to):
        if size == full[lead + i]:
            continue
        if size != 1:
            return None
        dims.append(lead + i)
    return tuple(dims)


# grad_fn class -> (saved attribute of input 0, of input 1), slots of the two matrices, for out = A @ B.
_MATMUL: dict[str, tuple[str, str, int]] = {
    "MmBackward0": ("_saved_self", "_saved_mat2", 0),
    "BmmBackward0": ("_saved_self", "_saved_mat2", 0),
    "AddmmBackward0": ("_saved_mat1", "_saved_mat2", 1),
}


def _matmul(gf: Any, slot: int, up: torch.Tensor, down: torch.Tensor) -> Found | None:
    spec = _MATMUL.get(type(gf).__name__)
    if spec is None:
        return None
    a_attr, b_attr, first = spec
    a_name, b_name = a_attr.removeprefix("_saved_"), b_attr.removeprefix("_saved_")
    left: torch.Tensor | None
    right: torch.Tensor | None
    if slot == first:  # dL/dA = up @ Bᵀ
        b = getattr(gf, b_attr, None)
        left, right, operands = up, None if b is None else b.transpose(-1, -2), ("upstream", f"{b_name}ᵀ")
    elif slot == first + 1:  # dL/dB = Aᵀ @ up
        a = getattr(gf, a_attr, None)
        left, right, operands = None if a is None else a.transpose(-1, -2), up, (f"{a_name}ᵀ", "upstream")
    else:
        return None
    if left is None or right is None:
        return None
    product = left @ right
    if product.shape != down.shape or not close(product, down, lambda: left.abs() @ right.abs()):
        return None  # alpha/beta other than 1, or anything else we cannot show as one product
    # A saved operand shares memory with the forward's tensor (`W.t()`: the weight an optimizer updates in
    # place): the snapshot keeps a copy of it; `up` is the gradient the hook was handed, nobody else's.
    kept_left, kept_right = (left, right.clone()) if slot == first else (left.clone(), right)
    return Found("matmul", left=kept_left, right=kept_right, operands=operands)


def transposed_matmul(up_rel: Found, up: torch.Tensor | None, down: torch.Tensor) -> Found | None:
    """The transpose feeding a matmul's right operand (`W.t()` in `F.linear`): dL/dW = (Aᵀ·δ)ᵀ = δᵀ·A.

    `up_rel` (Aᵀ·δ == up, the transpose's upstream) is checked already; so checking down == upᵀ checks
    δᵀ·A == down without a second matrix product."""
    if up_rel.kind != "matmul" or up_rel.operands is None or up_rel.operands[1] != "upstream":
        return None
    assert up_rel.left is not None and up_rel.right is not None
    if up_rel.left.dim() != 2:
        return None
    if up is None or up.dim() != 2 or up.t().shape != down.shape or not close(up.t(), down, up.t().abs):
        return None
    left, right = up_rel.right.t(), up_rel.left.t()
    a_name = up_rel.operands[0].removesuffix("ᵀ")
    return Found("matmul", left=left, right=right, operands=("upstreamᵀ of the matmul", a_name))


class _Lazy:
    """The node called on ones, or on one-hot gradients, at most once each and only when asked for."""

    def __init__(self, gf: Any, ups: list[torch.Tensor], downs: list[Any]) -> None:
        self.gf, self.ups, self.downs = gf, ups, downs
        self._ones: Sequence[Any] | None = None
        self._jac: list[torch.Tensor | None] | None = None

    def ones_result(self, slot: int) -> torch.Tensor | None:
        """d(output)/d(input) for elementwise ops, before the engine sums broadcast dimensions away."""
        if self._ones is None:
            self._ones = _call(self.gf, [torch.ones_like(u) for u in self.ups])
        out = self._ones[slot] if slot < len(self._ones) else None
        return out if isinstance(out, torch.Tensor) else None

    def jacobian(self, slot: int) -> torch.Tensor | None:
        if self._jac is None:
            self._jac = self._compute_jacobian()
        return self._jac[slot] if slot < len(self._jac) else None

    def _compute_jacobian(self) -> list[torch.Tensor | None]:
        sizes = [u.numel() for u in self.ups]
        total = sum(sizes)
        shapes = [None if d is None else tuple(d.shape) for d in self.downs]
        if total > JACOBIAN_LIMIT or any(s is not None and _numel(s) > JACOBIAN_LIMIT for s in shapes):
            return []
        columns: list[list[torch.Tensor | None]] = [[] for _ in shapes]
        for j in range(total):
            hot = torch.zeros(total, dtype=torch.float64)
            hot[j] = 1.0
            parts = [p.reshape(u.shape).to(u.dtype) for p, u in zip(hot.split(sizes), self.ups, strict=False)]
            out = _call(self.gf, parts)
            for slot, shape in enumerate(shapes):
                g = out[slot] if slot < len(out) else None
                columns[slot].append(None if g is None or shape is None else g.sum_to_size(shape).flatten())
        return [_stack(col) for col in columns]


def _stack(col: list[torch.Tensor | None]) -> torch.Tensor | None:
    if not col or any(c is None for c in col):
        return None
    return torch.stack([c for c in col if c is not None], dim=1)


def _call(gf: Any, grads: list[torch.Tensor]) -> Sequence[Any]:
    if torch.is_grad_enabled():  # backward(create_graph=True): our calls must not grow the user's graph
        with torch.no_grad():
            out = gf(*grads)
    else:  # the usual backward runs without grad already (and entering no_grad here is slow)
        out = gf(*grads)
    return out if isinstance(out, tuple) else (out,)


def _pairs(ups: list[Any], metas: list[Any]) -> list[tuple[Any, Any]]:
    return list(zip(ups, metas, strict=False))


def _flat_ups(ups: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([u.flatten() for u in ups])


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def close(a: torch.Tensor, b: torch.Tensor, magnitude: Callable[[], torch.Tensor]) -> bool:
    """Equal within rtol 1e-5 (in float64). A sum whose terms cancel (a bias before BatchNorm: about 0) is
    compared against the size of its terms, `magnitude()` (the same sum of absolute values: float32 rounding),
    computed only when the plain comparison fails."""
    if a.shape != b.shape:
        return False
    if a.dtype == b.dtype and torch.equal(a, b):  # equal bits are close (NaNs are not equal: checked below)
        return True
    pair = _Pair(a, b)
    first = pair.scale(b)
    if not pair.misses(first) and pair.within(first):
        return True
    second = pair.scale(magnitude())
    # a tolerance no larger than the first's passes no more pairs (NaN scales compare false: checked)
    return not second <= first and not pair.misses(second) and pair.within(second)


SAMPLE = 16  # elements of a big pair looked at first: a relation that does not hold misses on nearly all


class _Pair:
    """`a` and `b` compared at a tolerance of 1e-6 x a scale (plus rtol): converted once for both tolerances.

    A big pair is first looked at in a few elements (`misses`): the check of a relation that does not hold
    (a convolution's or a BatchNorm's input edge tried as elementwise) ends there, without the float64 copies."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        self.small = a.numel() <= JACOBIAN_LIMIT  # small tensors (all of the built-in scenarios): plain floats
        self.a, self.b = a.detach(), b.detach()
        self._64: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.small:
            self.xs, self.ys = a.flatten().tolist(), b.flatten().tolist()
        elif a.is_floating_point() and b.is_floating_point():
            self.xs, self.ys = _sample(self.a), _sample(self.b)
        else:
            self.xs = self.ys = []

    def scale(self, size: torch.Tensor) -> float:
        """The largest absolute value of `size` (0 when empty)."""
        if self.small:
            return max((abs(v) for v in size.flatten().tolist()), default=0.0)
        return float(size.detach().abs().max()) if size.numel() else 0.0

    def misses(self, scale: float) -> bool:
        """Is a sampled element of a big pair outside the tolerance? Then `within(scale)` is False.

        torch.isclose counts an element when equal, both NaN, or |x - y| <= atol + |rtol * y| in float64: the
        same arithmetic on the same float64 numbers here, so an element that is none of these fails allclose
        too. A NaN scale decides nothing here (allclose refuses it: `within` raises as it always did)."""
        if self.small or scale != scale:
            return False
        tol = 1e-6 * scale + 1e-12
        pairs = zip(self.xs, self.ys, strict=True)
        return any(not (x == y or (x != x and y != y) or abs(x - y) <= tol + abs(RTOL * y)) for x, y in pairs)

    def within(self, scale: float) -> bool:
        tol = 1e-6 * scale + 1e-12
        if self.small:
            pairs = zip(self.xs, self.ys, strict=True)
            return all(abs(x - y) <= RTOL * abs(y) + tol or (x != x and y != y) for x, y in pairs)
        if self._64 is None:
            self._64 = (self.a.double(), self.b.double())
        a64, b64 = self._64
        return bool(torch.allclose(a64, b64, rtol=RTOL, atol=tol, equal_nan=True))


def _sample(t: torch.Tensor) -> list[float]:
    """`SAMPLE` elements spread over `t` (the same positions for any tensor of its size)."""
    flat = t.reshape(-1)
    return flat[:: max(1, flat.numel() // SAMPLE)].tolist()
