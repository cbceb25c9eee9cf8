"""Record one forward/backward pass of real PyTorch code as a `Graph` snapshot.

How the numbers are obtained — all from PyTorch itself, never from derivative rules of ours:
- structure: the walk from the loss's `grad_fn` through `next_functions` (like torchviz), leaves through
  `AccumulateGrad.variable`;
- forward values: a dispatch mode sees every aten op's output, including those inside composite functions
  (the transpose inside `F.linear`), and we map them to the autograd node that produced them;
- inputs autograd does not keep (the `y` of `y_hat - y`, the Python float `x` of `x * w`): a function mode sees
  the Python-level call and its arguments, so named inputs are recognised by identity;
- gradients: hooks on every autograd node give dL/d(output) and the gradient sent along every edge;
- local derivatives: each node's backward applied to ones, before the real backward frees its saved tensors.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _pop_mode_temporarily

from app.snapshot import Edge, Graph, Node
from app.trace.ops import base_name, readable_op
from app.trace.values import plain, shape_of


class TraceError(ValueError):
    """Misuse of the tracer, with a message that says what to do instead."""


class Datum(float):
    """A float with an identity of its own, so that the tracer can tell `x = 2.0` from `y = 2.0`.

    PyTorch sees an ordinary Python float; printing it prints the float.
    """

    __slots__ = ()


# Python-level functions whose numeric arguments are operands (shown as constants), not options like `dim=1`.
_ARITHMETIC = frozenset(
    [
        "mul",
        "add",
        "sub",
        "div",
        "true_divide",
        "rsub",
        "matmul",
        "mm",
        "__mul__",
        "__rmul__",
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__truediv__",
        "__rtruediv__",
        "__matmul__",
        "__rmatmul__",
    ]
)
_BACKWARD_FUNCS = (torch.Tensor.backward, torch.autograd.backward)


@dataclass
class _NodeRecord:
    """What one autograd node showed us during the backward pass."""

    order: int | None = None
    grad_out: Any = None
    grad_in: list[Any] = field(default_factory=list)


class Tracer:
    """Context manager: run forward and `backward()` inside it; read `graph` afterwards.

    `params` and `inputs` name tensors (or `Datum` floats) by identity: `Tracer(params={"w": w}, inputs={"x": x})`.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        *,
        local_derivatives: bool = True,
        modules: Mapping[str, Any] | None = None,
    ) -> None:
        self._names = {id(v): (k, "param") for k, v in (params or {}).items()}
        self._names.update({id(v): (k, "data") for k, v in (inputs or {}).items()})
        self._keep = [*(params or {}).values(), *(inputs or {}).values()]  # ids stay unique while we trace
        self._module_of, self._module_paths = _module_paths(modules or {})
        self._module_stack: list[str | None] = []  # paths of the nn.Modules whose forward is running
        self._op_module: dict[Any, str] = {}
        self._module_hooks: list[Any] = []
        self._local = local_derivatives
        self._recording = True
        self._pending: list[Any] = []
        self._values: dict[tuple[Any, int], tuple[torch.Tensor, int]] = {}
        self._extras: dict[Any, list[Any]] = {}
        self._modes: tuple[_FunctionRecorder, _OutputRecorder] | None = None
        self.graphs: list[Graph] = []

    # -- context ---------------------------------------------------------------------------------------
    def __enter__(self) -> Tracer:
        self._modes = (_FunctionRecorder(self), _OutputRecorder(self))
        for mode in self._modes:
            mode.__enter__()
        # Per-module hooks (not the global ones): only the named modules, only while we trace, any thread safe.
        for module, path in self._module_paths:
            self._module_hooks.append(module.register_forward_pre_hook(self._module_entered(path)))
            self._module_hooks.append(module.register_forward_hook(self._module_left, always_call=True))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._modes is not None
        for mode in reversed(self._modes):
            mode.__exit__(None, None, None)
        self._modes = None
        for h in self._module_hooks:
            h.remove()
        self._module_hooks.clear()
        self._module_stack.clear()
        self._op_module.clear()
        self._values.clear()
        self._extras.clear()
        self._pending.clear()

    @property
    def graph(self) -> Graph:
        if not self.graphs:
            raise TraceError("nothing traced yet: call loss.backward() inside the `with` block (or capture(loss))")
        return self.graphs[-1]

    # -- recording (called by the modes and module hooks) ----------------------------------------------
    def _module_entered(self, path: str | None) -> Callable[..., None]:
        def pre_hook(module: Any, args: Any) -> None:
            self._module_stack.append(path)

        return pre_hook

    def _module_left(self, module: Any, args: Any, output: Any) -> None:
        if self._module_stack:
            self._module_stack.pop()

    def _on_call(self, func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
        """After each Python-level torch call: keep the outputs' values and the inputs autograd won't keep."""
        pending, self._pending = self._pending, []
        module = self._module_stack[-1] if self._module_stack else None
        for t in itertools.chain(pending, _tensors(out)):
            gf = t.grad_fn
            if gf is not None:
                self._values[(gf, t.output_nr)] = (t, t._version)
                if module is not None:  # made inside a module's forward: the innermost module owns it
                    self._op_module.setdefault(gf, module)
        first = next(iter(_tensors(out)), None)
        if first is None or first.grad_fn is None or first.grad_fn in self._extras:
            return
        arithmetic = getattr(func, "__name__", "") in _ARITHMETIC
        extras = [a for a in args if self._is_extra_input(a, arithmetic)]
        if extras:
            self._extras[first.grad_fn] = extras

    def _is_extra_input(self, a: Any, arithmetic: bool) -> bool:
        if isinstance(a, torch.Tensor):
            return not a.requires_grad
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            return False
        return arithmetic or id(a) in self._names

    def _backward(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        loss = args[0] if isinstance(args[0], torch.Tensor) else args[0][0]
        self._recording = False
        try:
            # Our dispatch mode steps aside: backward's own aten ops are not forward values (and it is faster).
            with _pop_mode_temporarily():
                return self._traced_backward(loss, func, args, kwargs)
        finally:
            self._recording = True

    def _traced_backward(self, loss: Any, func: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
        walk = self._walk(loss)
        records = {gf: _NodeRecord() for gf in walk.order}
        counter = itertools.count()
        handles = [gf.register_hook(_hook(records[gf], counter)) for gf in walk.order]
        # Local derivatives before the real backward frees the saved tensors they need.
        locals_ = self._local_derivatives(walk.op_nodes) if self._local else {}
        try:
            result = func(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        self.graphs.append(self._build(walk, records, locals_))
        return result

    def capture(self, loss: torch.Tensor) -> Graph:
        """Snapshot the forward graph of `loss` without running backward (values only)."""
        walk = self._walk(loss)
        graph = self._build(walk, {}, {})
        self.graphs.append(graph)
        return graph

    # -- the walk --------------------------------------------------------------------------------------
    def _walk(self, loss: torch.Tensor) -> _Walk:
        if not isinstance(loss, torch.Tensor):
            raise TraceError(f"expected a tensor to trace, got {type(loss).__name__}: return the loss tensor")
        if loss.grad_fn is None:
            raise TraceError(
                "the loss has no grad_fn: no parameter requiring grad reaches it "
                "(set requires_grad=True on your parameters and compute the loss from them)"
            )
        walk = _Walk.from_root(loss.grad_fn)
        walk.name_leaves(self._names)
        return walk

    @staticmethod
    def _local_derivatives(nodes: list[Any]) -> dict[Any, list[Any]]:
        """Each node's backward applied to ones: d(output)/d(input) for elementwise ops, a VJP with ones else."""
        ones: dict[tuple[Any, Any], torch.Tensor] = {}  # one tensor per shape and dtype: backward reads, never writes
        found: dict[Any, list[Any]] = {}
        with torch.no_grad():
            for gf in nodes:
                try:
                    args = [_ones(ones, m.shape, m.dtype) for m in gf._input_metadata]
                    out = gf(*args)
                except Exception:  # nodes that cannot be called twice or take no ones: show no local derivative
                    continue
                found[gf] = [plain(t) for t in (out if isinstance(out, tuple) else (out,))]
        return found

    # -- building the snapshot -------------------------------------------------------------------------
    def _build(self, walk: _Walk, records: Mapping[Any, _NodeRecord], locals_: Mapping[Any, list[Any]]) -> Graph:
        nodes: list[Node] = []
        edges: list[Edge] = []
        extra_nodes: dict[str, Node] = {}
        for gf in walk.order:
            rec = records.get(gf, _NodeRecord())
            node_id = walk.ids[gf]
            if gf in walk.leaves:
                nodes.append(self._leaf_node(node_id, gf, rec))
                continue
            nodes.append(self._op_node(node_id, gf, rec, is_loss=gf is walk.root))
            upstream = rec.grad_out
            local = locals_.get(gf, [])
            free_slots = []
            for slot, (child, _) in enumerate(gf.next_functions):
                if child is None:
                    free_slots.append(slot)
                    continue
                edges.append(
                    Edge(
                        source=walk.ids[child],
                        target=node_id,
                        slot=slot,
                        grad=_at(rec.grad_in, slot),
                        upstream=upstream,
                        local=_at(local, slot),
                    )
                )
            extra_slots = itertools.chain(free_slots, itertools.count(len(gf.next_functions)))
            for obj, slot in zip(self._extras.get(gf, []), extra_slots, strict=False):
                extra = self._input_node(obj, f"{node_id}.{slot}")
                extra_nodes.setdefault(extra.id, extra)
                edges.append(Edge(source=extra.id, target=node_id, slot=slot))
        return Graph(nodes=tuple([*extra_nodes.values(), *nodes]), edges=tuple(edges))

    def _leaf_node(self, node_id: str, gf: Any, rec: _NodeRecord) -> Node:
        var = gf.variable
        name, _ = self._names.get(id(var), (None, "param"))
        return Node(
            id=node_id,
            kind="param",
            name=name,
            op=None,
            grad_fn=type(gf).__name__,
            shape=tuple(var.shape),
            value=plain(var),
            grad=plain(var.grad) if rec.order is not None else None,
            grad_step=rec.grad_out,
            order=rec.order,
            module=self._module_of.get(id(var)),
        )

    def _op_node(self, node_id: str, gf: Any, rec: _NodeRecord, *, is_loss: bool) -> Node:
        value, shape = self._value_of(gf)
        class_name = type(gf).__name__
        return Node(
            id=node_id,
            kind="op",
            op=readable_op(
                class_name, getattr(gf, "_saved_exponent", None) if base_name(class_name) == "Pow" else None
            ),
            grad_fn=class_name,
            shape=shape,
            value=value,
            grad=rec.grad_out,
            is_loss=is_loss,
            order=rec.order,
            module=self._op_module.get(gf),
        )

    def _value_of(self, gf: Any) -> tuple[Any, tuple[int, ...]]:
        seen = self._values.get((gf, 0))
        if seen is not None:
            tensor, version = seen
            shape = tuple(tensor.shape)
            # An in-place op changed the tensor after this node made it: the value it had is gone.
            return (plain(tensor) if tensor._version == version else None), shape
        meta = getattr(gf, "_input_metadata", ())
        return None, tuple(meta[0].shape) if meta else ()

    def _input_node(self, obj: Any, const_id: str) -> Node:
        named = self._names.get(id(obj))
        if named is not None:
            name, _ = named
            return Node(id=f"data:{name}", kind="data", name=name, shape=shape_of(obj), value=plain(obj))
        return Node(id=f"const:{const_id}", kind="const", shape=shape_of(obj), value=plain(obj))


@dataclass
class _Walk:
    """The autograd graph in deterministic depth-first order from the loss, with structural ids."""

    root: Any
    order: list[Any]
    ids: dict[Any, str]
    leaves: set[Any]

    @property
    def op_nodes(self) -> list[Any]:
        return [gf for gf in self.order if gf not in self.leaves]

    @classmethod
    def from_root(cls, root: Any) -> _Walk:
        order: list[Any] = []
        ids: dict[Any, str] = {}
        leaves: set[Any] = set()
        stack = [root]
        while stack:
            gf = stack.pop()
            if gf in ids:
                continue
            ids[gf] = f"op:{len(ids)}"
            order.append(gf)
            if hasattr(gf, "variable"):
                leaves.add(gf)
            children = [child for child, _ in gf.next_functions if child is not None]
            stack.extend(reversed(children))
        return cls(root=root, order=order, ids=ids, leaves=leaves)

    def name_leaves(self, names: Mapping[int, tuple[str, str]]) -> None:
        """Named parameters get the id `param:NAME`; unnamed leaves `leaf:N`."""
        for gf in self.leaves:
            name = names.get(id(gf.variable))
            self.ids[gf] = f"param:{name[0]}" if name else self.ids[gf].replace("op:", "leaf:")


def _hook(rec: _NodeRecord, counter: Iterable[int]) -> Callable[..., None]:
    it = iter(counter)

    def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        rec.order = next(it)
        rec.grad_out = plain(grad_outputs[0]) if grad_outputs else None
        rec.grad_in = [plain(g) for g in grad_inputs]

    return hook


def _ones(cache: dict[tuple[Any, Any], torch.Tensor], shape: Any, dtype: Any) -> torch.Tensor:
    key = (tuple(shape), dtype)
    if key not in cache:
        cache[key] = torch.ones(key[0], dtype=dtype)
    return cache[key]


def _exponent(gf: Any) -> Any:
    """The Python exponent of `t ** 2`, folded into the operator's label rather than drawn as a node."""
    return getattr(gf, "_saved_exponent", None) if base_name(type(gf).__name__) == "Pow" else None


def _at(items: list[Any], i: int) -> Any:
    return items[i] if i < len(items) else None


def _tensors(out: Any) -> Iterable[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, torch.Tensor):
                yield o


def _module_paths(modules: Mapping[str, Any]) -> tuple[dict[int, str], list[tuple[Any, str | None]]]:
    """id(parameter) -> path of the module that owns it directly; and every (sub)module with its path.

    `{"model": net}` gives `model`, `model.fc1`, ...; the root path "" (`{"": net}`) is no cluster of its own,
    so `named_parameters()` names and module paths agree: `linear.weight` belongs to `linear`.
    """
    owner: dict[int, str] = {}
    paths: list[tuple[Any, str | None]] = []
    seen: set[int] = set()
    for root, module in modules.items():
        for sub, m in module.named_modules(prefix=root):
            if id(m) in seen:
                continue
            seen.add(id(m))
            path = sub or None
            paths.append((m, path))
            if path is not None:
                for p in m.parameters(recurse=False):
                    owner.setdefault(id(p), path)
    return owner, paths


class _FunctionRecorder(TorchFunctionMode):
    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if func in _BACKWARD_FUNCS and self.tracer._recording:
            return self.tracer._backward(func, args, kwargs)
        out = func(*args, **kwargs)
        if self.tracer._recording:
            self.tracer._on_call(func, args, out)
        return out


class _OutputRecorder(TorchDispatchMode):
    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        if self.tracer._recording:
            self.tracer._pending.extend(_tensors(out))
        return out
