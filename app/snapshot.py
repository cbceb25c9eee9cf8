"""The snapshot of one training step: plain dataclasses, no PyTorch, no Graphviz.

`backprop_lens.tracing` produces these from real PyTorch; `backprop_lens.render` draws them;
the web layer serialises them.
Values are what `tensor.tolist()` gives (a 0-d tensor is a plain number); JSON conversion (non-finite
numbers as strings) lives in `to_jsonable` so every consumer writes the same JSON.
"""

from __future__ import annotations

import gc
import hashlib
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

NodeKind = Literal["param", "data", "const", "op"]
Phase = Literal["forward", "backward", "update"]
PHASES: tuple[Phase, ...] = ("forward", "backward", "update")

# A value as `tensor.tolist()` returns it: a number, a bool, or nested lists of them. None means unknown.
Value = Any


RelationKind = Literal["elementwise", "reduce", "matmul", "jacobian", "opaque"]


@dataclass(frozen=True, slots=True)
class Relation:
    """What links an edge's gradient (downstream) to its target's gradient (upstream), checked while tracing.

    - elementwise: downstream == upstream * local (same shape)
    - reduce:      downstream == (upstream * local).sum(dims), reshaped to downstream's shape (broadcast, sum, mean)
    - matmul:      downstream == left @ right (mm, addmm, matmul, linear, bmm), operands as PyTorch saved them
    - jacobian:    flatten(downstream) == jacobian @ flatten(upstream), jacobian [numel(down), numel(up)]
    - opaque:      no arithmetic claimed
    `formula` is the op's rule as text with node names (`∂L/∂a = ∂L/∂c · 2a`): a text, never computed.
    """

    kind: RelationKind
    formula: str = ""
    local: Value = None
    dims: tuple[int, ...] = ()
    left: Value = None
    right: Value = None
    jacobian: Value = None
    # matmul only: what `left` and `right` are, as text ("upstream", "mat1ᵀ", "mat2ᵀ", "upstreamᵀ of addmm", ...)
    operands: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Output:
    """One output of a node with several (split, unbind, chunk, GRU): its value and dL/d(that output)."""

    value: Value = None
    grad: Value = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where the user's code created a node: the first frame outside torch and backprop_lens."""

    file: str
    line: int
    code: str


@dataclass(frozen=True, slots=True)
class Update:
    """What the optimizer did to one parameter, enough to recompute `after` with its documented rule."""

    optimizer: str  # "sgd" | "momentum" | "adam" | "adagrad" | "rmsprop" | "assign" (a script's own w.data = ...)
    hyper: dict[str, Any] = field(default_factory=dict)  # lr, momentum, betas, eps, ...
    state_before: dict[str, Value] = field(default_factory=dict)  # optimizer.state: momentum_buffer, exp_avg, step ...
    state_after: dict[str, Value] = field(default_factory=dict)
    formula: str = ""  # the rule as text: "w ← w − lr · w.grad"
    grad: Value = None  # the `.grad` the optimizer read: the accumulated one when zero_grad is off
    grad_source: str = "step"  # "step" (this backward's gradient) or "accumulated" (summed over earlier steps)


@dataclass(frozen=True, slots=True)
class Node:
    """One vertex of the step's graph, in forward direction (inputs -> ops -> loss)."""

    id: str
    kind: NodeKind
    name: str | None = None
    op: str | None = None  # readable operator: "*", "-", "**2", "sigmoid", "mm" ...
    grad_fn: str | None = None  # PyTorch's class name: "MulBackward0", "AccumulateGrad"
    shape: tuple[int, ...] = ()
    value: Value = None  # forward value
    grad: Value = None  # dL/d(node) after backward; for params the accumulated `.grad`
    grad_step: Value = None  # params only: this backward's own contribution to `.grad`
    is_loss: bool = False
    order: int | None = None  # position in autograd's backward execution order (0 = first visited)
    module: str | None = None  # owning nn.Module path, for clusters
    outputs: tuple[Output, ...] = ()  # every output of a multi-output op (empty when it has one)
    source: Source | None = None  # op nodes: the line of user code that created them


@dataclass(frozen=True, slots=True)
class Edge:
    """An input entering an op. In the backward phase the gradient flows against the arrow.

    Chain rule, all read from PyTorch: `upstream` = dL/d(target), `local` = the target's backward applied to
    ones (d target / d source for elementwise ops, the vector-Jacobian product with ones otherwise), and
    `grad` = the gradient autograd actually sent to the source along this edge.
    """

    source: str
    target: str
    slot: int = 0  # which input of the target op
    grad: Value = None
    upstream: Value = None
    local: Value = None
    relation: Relation | None = None
    output: int = 0  # which output of the source node this edge leaves (multi-output nodes)


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def root(self) -> Node | None:
        return next((n for n in self.nodes if n.is_loss), None)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def topology_key(self) -> str:
        """A digest of the structure alone (ids, kinds, labels, edges), not of any value.

        Two graphs with the same key can share one layout.
        """
        h = hashlib.sha256()
        for n in self.nodes:
            h.update(_utf8(f"N|{n.id}|{n.kind}|{n.name}|{n.op}|{n.grad_fn}|{n.shape}|{n.is_loss}|{n.module}\n"))
        for e in self.edges:
            h.update(_utf8(f"E|{e.source}|{e.target}|{e.slot}\n"))
        return h.hexdigest()[:16]


def _utf8(text: str) -> bytes:
    # Names come from users: a lone surrogate must hash, not raise.
    return text.encode("utf-8", errors="surrogatepass")


@dataclass(frozen=True, slots=True)
class ParamState:
    """A parameter across one step: before the update, its `.grad` after backward, after the update."""

    before: Value
    grad: Value
    after: Value
    grad_step: Value = None  # this step's contribution (differs from `grad` when gradients accumulate)
    update: Update | None = None  # what the optimizer did, with its state


@dataclass(frozen=True, slots=True)
class Step:
    """One optimisation step of a run, with the graph of its forward and backward pass."""

    index: int
    epoch: int
    sample: int | None  # None for full-batch steps
    loss: Value
    params: dict[str, ParamState]
    graph: Graph
    inputs: dict[str, Value] = field(default_factory=dict)


def plain(value: Any) -> Any:
    """A value as `tensor.tolist()` gives it. The tracer keeps tensors; this module must not import torch, so
    anything with `.tolist()` (a tensor, a numpy array) is converted by duck typing, on demand."""
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None and not isinstance(value, (int, float)) else value


PREVIEW_ELEMENTS = 64  # a tensor with more elements reaches a picture as its first ones only


class Preview(list):
    """A big tensor's first PREVIEW_ELEMENTS (row-major), nested to the tensor's rank, and its real size `total`
    and `shape` (the nesting holds one row: a shape read from it would be 1×64): what a label shows of it, without
    converting millions of numbers (ResNet's weights) for a picture."""

    total: int
    shape: tuple[int, ...]


def preview(value: Any) -> Any:
    """`plain` for small values; a `Preview` for a tensor of more than PREVIEW_ELEMENTS elements."""
    numel = getattr(value, "numel", None)
    if numel is None or isinstance(value, (int, float)) or numel() <= PREVIEW_ELEMENTS:
        return plain(value)
    first: Any = value.reshape(-1)[:PREVIEW_ELEMENTS].tolist()
    for _ in range(value.dim() - 1):
        first = [first]
    out = Preview(first)
    out.total = numel()
    out.shape = tuple(value.shape)
    return out


def plain_graph(g: Graph, *, for_picture: bool = False) -> Graph:
    """The graph with every value as plain lists and numbers (what render's labels read). One conversion per
    distinct tensor: an op's gradient is also the upstream of each of its input edges, and stays one object.
    `for_picture`: big tensors as their `preview` only (JSON always has every number)."""
    memo: dict[int, tuple[Any, Any]] = {}
    convert = preview if for_picture else plain

    def conv(v: Any) -> Any:
        if v is None or isinstance(v, (int, float, list)):
            return v
        hit = memo.get(id(v))
        if hit is None:
            hit = memo[id(v)] = (v, convert(v))  # holds v, so its id stays its own while we convert
        return hit[1]

    nodes = tuple(
        replace(
            n,
            value=conv(n.value),
            grad=conv(n.grad),
            grad_step=conv(n.grad_step),
            outputs=tuple(Output(conv(o.value), conv(o.grad)) for o in n.outputs),
        )
        for n in g.nodes
    )
    edges = tuple(
        replace(
            e, grad=conv(e.grad), upstream=conv(e.upstream), local=conv(e.local), relation=_plain_rel(e.relation, conv)
        )
        for e in g.edges
    )
    return Graph(nodes=nodes, edges=edges)


def _plain_rel(r: Relation | None, conv: Any) -> Relation | None:
    if r is None:
        return None
    return replace(r, local=conv(r.local), left=conv(r.left), right=conv(r.right), jacobian=conv(r.jacobian))


class Clean(list):
    """Nested lists of finite real numbers (a real tensor's `tolist()` with no NaN or infinity): JSON-ready as
    they are, so `to_jsonable` returns them without walking every number again (json's C encoder writes a list
    subclass as a list). Only `jsonable_tensor` makes one, after checking the tensor."""

    __slots__ = ()


IN_NUMPY = 1024  # elements: above, a tensor is checked and listed from its numpy copy (~12 us to make); below, per row
SPARSE_SHARE = 0.5  # a big float tensor with at most this share of non-zeros is listed around one shared 0.0


def jsonable_tensor(value: Any) -> Any:
    """A tensor's values, JSON-ready: `tolist()` once; when the tensor is real and all finite (a big one checked
    in numpy, a small one by `_finite_numbers` per row) the list is `Clean` and no number is visited in Python.
    Anything else with `.tolist()` (a numpy array, a complex or non-finite tensor) goes through `to_jsonable`'s
    walk, as before. A tensor seen before in the same `converting()` block is the list made then."""
    memo = _MEMO.get()
    hit = memo.get(id(value)) if memo is not None else None
    if hit is not None:
        return hit[1]
    out = _jsonable_tensor(value)
    if memo is not None:
        memo[id(value)] = (value, out)  # holds value, so its id stays its own while the dict is made
    return out


def _jsonable_tensor(value: Any) -> Any:
    numel = getattr(value, "numel", None)
    if numel is None or numel() <= IN_NUMPY or not hasattr(value, "is_floating_point"):
        return to_jsonable(value.tolist())  # a small tensor: its rows are checked by a C sum each
    if value.is_complex():
        return to_jsonable(value.tolist())
    if not value.is_floating_point():  # ints and bools: finite; tolist gives ints and bools
        return Clean(value.tolist())
    listed = _finite_floats(value)
    return to_jsonable(value.tolist()) if listed is None else Clean(listed)


def _finite_floats(value: Any) -> list[Any] | None:
    """A big real float tensor's `tolist()`, made in numpy (the same Python floats: tolist widens every float
    dtype to float64 exactly, and so does numpy), or None when a value is not finite (or the tensor has no
    numpy copy). Mostly zeros (a one-hot or masked gradient): the zeros are one shared 0.0, and only the others
    are made (a Python float costs ~40 ns; wide's edges are 99.9% zeros)."""
    import numpy as np  # only with tensors, so torch has loaded it: the module stays free to import

    try:
        t = value.detach().cpu().resolve_neg()
        try:
            array = t.numpy()
        except TypeError:  # a dtype numpy lacks (bfloat16, float8): float64 holds each value exactly
            array = t.double().numpy()
    except (AttributeError, RuntimeError, TypeError):
        return None
    flat = np.ascontiguousarray(array).reshape(-1)
    if not np.isfinite(flat).all():
        return None
    bits = flat.view(f"i{flat.itemsize}")  # by the bits: -0.0 is not a zero here, and is listed as -0.0
    if np.count_nonzero(bits) > SPARSE_SHARE * len(flat):
        return array.tolist()
    nonzero = (bits != 0).nonzero()[0]
    out: list[Any] = [0.0] * len(flat)
    for i, v in zip(nonzero.tolist(), flat[nonzero].tolist(), strict=True):
        out[i] = v
    for size in reversed(tuple(array.shape)[1:]):  # rows of the last dimension, then rows of those, ...
        out = [out[i : i + size] for i in range(0, len(out), size)]
    return out


_MEMO: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("snapshot_json_memo", default=None)


@contextmanager
def converting() -> Iterator[None]:
    """One JSON conversion (a `*_to_dict` call, the web layer's `dumps`): each tensor converts once (an op's
    gradient may be a node's and an edge's), and the cyclic collector waits (`_gc_paused`)."""
    with _gc_paused():
        if _MEMO.get() is not None:  # an outer conversion's memo serves
            yield
            return
        token = _MEMO.set({})
        try:
            yield
        finally:
            _MEMO.reset(token)


_gc_lock = threading.Lock()
YOUNG_UNWALKED = 100_000  # young containers: more, and a conversion hands them to the oldest generation unwalked
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic collector off while tensors become lists and dicts: their rows are millions of new containers,
    and the collections they trigger cost 5x the listing itself (ResNet's 4-d weights; each full collection also
    walks every list made so far); lists and dicts of numbers make no cycles. Turned on again, the collector
    would walk them all at the next allocation (2.4 s for ResNet's step: they are young, and counted): freeze
    and unfreeze first hand the young objects to the oldest generation, unwalked, and zero the count (both O(1);
    a young cycle of another thread is then collected by the next full collection, not the next young one; so
    only after a big conversion, and small ones leave the generations to the collector).
    Across threads the first to pause remembers whether it was on, the last to leave turns it on again."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                young = gc.get_count()[0]  # unfrozen (nobody froze objects, before a fork) and only after many
                if young > YOUNG_UNWALKED and gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


def to_jsonable(value: Any) -> Any:
    """Make a value JSON-safe: non-finite floats become "NaN", "Infinity", "-Infinity"; tuples become lists;
    tensors (anything with `.tolist()`) become nested lists first; a complex number (a complex tensor's
    `tolist()`) becomes `{"real": ..., "imag": ...}`. Linear in the value's size, and a `Clean` list (a checked
    tensor's numbers) costs nothing: a second pass over an already converted dict walks only its structure."""
    cls = type(value)
    if cls is Clean:
        return value
    if cls is float:
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if cls is list or cls is tuple:
        return Clean(value) if _finite_numbers(value) else [to_jsonable(v) for v in value]
    if cls is dict:
        return {k: to_jsonable(v) for k, v in value.items()}
    if cls in _AS_IS or value is None:
        return value
    return _jsonable_other(value)


_AS_IS = frozenset((int, bool, str))


def _finite_numbers(values: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a flat list holds only real numbers, all finite, checked in C: their sum is a finite number (a
    string, None, a list, a dict raise TypeError; a NaN or an infinity makes the sum one; a sum that is no
    plain int or float (complex, a tensor's, numpy's) is refused). A finite list whose sum overflows is walked
    as before: the answer is only ever a shortcut."""
    try:
        total = sum(values)
        return (type(total) is float or type(total) is int) and math.isfinite(total)
    except (TypeError, OverflowError):
        return False


def _jsonable_other(value: Any) -> Any:
    """`to_jsonable` for everything but the exact built-in types: tensors, subclasses (a `Preview`, a float
    subclass such as numpy's float64), complex numbers."""
    if isinstance(value, Clean):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):
        if _MEMO.get() is None:  # a tensor outside any `converting()` block: one of its own
            with converting():
                return jsonable_tensor(value)
        return jsonable_tensor(value)
    if isinstance(value, float):
        return to_jsonable(float(value)) if not math.isfinite(value) else value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, complex):
        return {"real": to_jsonable(value.real), "imag": to_jsonable(value.imag)}
    return value


def relation_to_dict(r: Relation | None) -> dict[str, Any] | None:
    """Only the fields the kind uses: `{"kind", "formula", ...}`, tensors as nested lists."""
    if r is None:
        return None
    out: dict[str, Any] = {"kind": r.kind, "formula": r.formula}
    if r.kind in ("elementwise", "reduce"):
        out["local"] = to_jsonable(r.local)
    if r.kind == "reduce":
        out["dims"] = list(r.dims)
    if r.kind == "matmul":
        out["left"], out["right"] = to_jsonable(r.left), to_jsonable(r.right)
        out["operands"] = list(r.operands) if r.operands else None
    if r.kind == "jacobian":
        out["jacobian"] = to_jsonable(r.jacobian)
    return out


def source_to_dict(s: Source | None) -> dict[str, Any] | None:
    return None if s is None else {"file": s.file, "line": s.line, "code": s.code}


def update_to_dict(u: Update | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {
        "optimizer": u.optimizer,
        "hyper": to_jsonable(u.hyper),
        "state_before": to_jsonable(u.state_before),
        "state_after": to_jsonable(u.state_after),
        "formula": u.formula,
        "grad": to_jsonable(u.grad),
        "grad_source": u.grad_source,
    }


def node_to_dict(n: Node) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "name": n.name,
        "op": n.op,
        "grad_fn": n.grad_fn,
        "shape": list(n.shape),
        "value": to_jsonable(n.value),
        "grad": to_jsonable(n.grad),
        "grad_step": to_jsonable(n.grad_step),
        "is_loss": n.is_loss,
        "order": n.order,
        "module": n.module,
        "outputs": [{"value": to_jsonable(o.value), "grad": to_jsonable(o.grad)} for o in n.outputs],
        "source": source_to_dict(n.source),
    }


def edge_to_dict(e: Edge) -> dict[str, Any]:
    # No `upstream`: it is the target node's `grad`, written once there (copying it per edge made the JSON of
    # a node with fan-in k carry k copies of its gradient: quadratic in the graph's size).
    return {
        "source": e.source,
        "target": e.target,
        "slot": e.slot,
        "grad": to_jsonable(e.grad),
        "local": to_jsonable(e.local),
        "output": e.output,
        "relation": relation_to_dict(e.relation),
    }


def graph_to_dict(g: Graph) -> dict[str, Any]:
    with converting():
        return {"nodes": [node_to_dict(n) for n in g.nodes], "edges": [edge_to_dict(e) for e in g.edges]}


def param_state_to_dict(p: ParamState) -> dict[str, Any]:
    return {
        "before": to_jsonable(p.before),
        "grad": to_jsonable(p.grad),
        "after": to_jsonable(p.after),
        "grad_step": to_jsonable(p.grad_step),
        "update": update_to_dict(p.update),
    }


def step_to_dict(s: Step) -> dict[str, Any]:
    with converting():
        return _step_to_dict(s)


def _step_to_dict(s: Step) -> dict[str, Any]:
    return {
        "step": s.index,
        "epoch": s.epoch,
        "sample": s.sample,
        "loss": to_jsonable(s.loss),
        "inputs": to_jsonable(s.inputs),
        "params": {name: param_state_to_dict(p) for name, p in s.params.items()},
        "graph": graph_to_dict(s.graph),
    }
