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

import contextlib
import contextvars
import itertools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from backprop_lens.snapshot import Graph
from backprop_lens.tracing import fast as fast_path
from backprop_lens.tracing.annotate import annotate
from backprop_lens.tracing.backward import NodeRecord, local_derivatives, node_hook
from backprop_lens.tracing.build import Observed, build_graph, value_of
from backprop_lens.tracing.modes import FunctionRecorder, OutputRecorder, learn_composite, tensors
from backprop_lens.tracing.relations import NodeRelations
from backprop_lens.tracing.roots import grad_call, roots_of, with_input_grads
from backprop_lens.tracing.sources import user_source
from backprop_lens.tracing.values import kept
from backprop_lens.tracing.walk import Walk
from torch.utils._python_dispatch import _pop_mode_temporarily


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


_ACTIVE: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar("backprop_lens_tracer", default=None)


def name(tensor: Any, label: str) -> Any:
    """Name `tensor` in the graph of the tracer running now (`y_hat = name(x * w, "y_hat")`); else do nothing."""
    tracer = _ACTIVE.get()
    if tracer is not None:
        tracer.name(tensor, label)
    return tensor


def active_tracer() -> Tracer | None:
    """The tracer whose `with` block is running in this context, if any (make_dot reads its forward values)."""
    return _ACTIVE.get()


class Tracer:
    """Context manager: run forward and `backward()` inside it; read `graph` afterwards.

    `params` and `inputs` name tensors (or `Datum` floats) by identity: `Tracer(params={"w": w}, inputs={"x": x})`;
    `modules` (`{"": model}`) groups nodes by the nn.Module that owns or made them.
    `names` (`{"y_hat": y_hat}`) or `tracer.name(tensor, "y_hat")` name intermediate results: the op node that
    made the tensor (its grad_fn) gets the name. `relations=False` skips the edge relations.
    `fast=False` traces every step fully (default: `fast.enabled()`; see `backprop_lens.tracing.fast`): no
    template of a known topology, the dispatch mode on for the whole forward.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        *,
        local_derivatives: bool = True,
        modules: Mapping[str, Any] | None = None,
        names: Mapping[str, Any] | None = None,
        relations: bool = True,
        fast: bool | None = None,
    ) -> None:
        self.seen = Observed()
        self.seen.names = {id(v): (k, "param") for k, v in (params or {}).items()}
        self.seen.names.update({id(v): (k, "data") for k, v in (inputs or {}).items()})
        self._keep = [*(params or {}).values(), *(inputs or {}).values()]  # ids stay unique while we trace
        self.seen.param_module, self._module_paths = _module_paths(modules or {})
        self._module_stack: list[str | None] = []  # paths of the nn.Modules whose forward is running
        self._module_hooks: list[Any] = []
        self._local = local_derivatives
        self._relations = relations
        for label, tensor in (names or {}).items():
            self.name(tensor, label)
        self.recording = True
        self.pending: list[torch.Tensor] = []  # dispatch-level outputs since the last Python-level call
        self._fast = fast_path.enabled() if fast is None else fast
        # The same params, inputs and modules at every step of a loop: what says "this forward ran before".
        self._forward_key = _forward_key(params, inputs, modules) if self._fast else None
        # True: the dispatch mode is entered only around composite calls (modes.composite), not for the whole
        # forward; set on entering, for a forward key traced before.
        self.per_call_dispatch = False
        self._modes: tuple[Any, ...] | None = None
        self._active: contextvars.Token[Tracer | None] | None = None
        self.graphs: list[Graph] = []

    # -- context ---------------------------------------------------------------------------------------
    def __enter__(self) -> Tracer:
        self._active = _ACTIVE.set(self)
        self.per_call_dispatch = fast_path.known_forward(self._forward_key)
        self._modes = (
            (FunctionRecorder(self),) if self.per_call_dispatch else (FunctionRecorder(self), OutputRecorder(self))
        )
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
        if self._active is not None:
            _ACTIVE.reset(self._active)
            self._active = None
        for h in self._module_hooks:
            h.remove()
        self._module_hooks.clear()
        self._module_stack.clear()
        self.seen.clear()
        self.pending.clear()

    @property
    def graph(self) -> Graph:
        if not self.graphs:
            raise TraceError("nothing traced yet: call loss.backward() inside the `with` block (or capture(loss))")
        return self.graphs[-1]

    def name(self, tensor: Any, label: str) -> Any:
        """Name `tensor` in the graph (`y_hat`): the op that made it, or the leaf itself. Returns the tensor."""
        gf = getattr(tensor, "grad_fn", None)
        if gf is not None:
            self.seen.op_names[gf] = label
        else:
            kind = "param" if getattr(tensor, "requires_grad", False) else "data"
            self.seen.names[id(tensor)] = (label, kind)
            self._keep.append(tensor)
        return tensor

    def value_of(self, grad_fn: Any) -> Any:
        """The forward value of the output of autograd node `grad_fn`, if this trace saw it being made."""
        value = value_of(self.seen, grad_fn)[0]
        return value.tolist() if isinstance(value, torch.Tensor) else value

    def capture(self, loss: torch.Tensor) -> Graph:
        """Snapshot the forward graph of `loss` without running backward (values only)."""
        walk = self._walk(loss)
        graph = annotate(build_graph(walk, self.seen, {}, {}), walk, self.seen, {})
        self.graphs.append(graph)
        return graph

    # -- what the modes and module hooks report --------------------------------------------------------
    @property
    def module_stack(self) -> list[str | None]:
        """The modules whose forward is running, innermost last: process-wide hooks (a recording's) push here too."""
        return self._module_stack

    def _module_entered(self, path: str | None) -> Callable[..., None]:
        def pre_hook(module: Any, args: Any) -> None:
            self._module_stack.append(path)

        return pre_hook

    def _module_left(self, module: Any, args: Any, output: Any) -> None:
        if self._module_stack:
            self._module_stack.pop()

    def on_call(self, func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
        """After each Python-level torch call: keep the outputs' values and the inputs autograd won't keep."""
        pending, self.pending = self.pending, []
        if not pending and not isinstance(out, (torch.Tensor, tuple, list)):
            return  # an attribute (`.grad_fn`, `.shape`), `item()`: nothing the graph shows
        module = self._module_stack[-1] if self._module_stack else None
        source = None
        for t in itertools.chain(pending, tensors(out)):
            gf = t.grad_fn
            if gf is not None:
                self.seen.values[(gf, t.output_nr)] = (t, t._version)
                if gf not in self.seen.sources:
                    source = source or user_source()
                    if source is not None:
                        self.seen.sources[gf] = source
                if module is not None:  # made inside a module's forward: the innermost module owns it
                    self.seen.op_module.setdefault(gf, module)
        if pending or self.per_call_dispatch:
            self._learn_composite(func, pending, out)
        first = next(iter(tensors(out)), None)
        if first is None or first.grad_fn is None or first.grad_fn in self.seen.extras:
            return
        arithmetic = getattr(func, "__name__", "") in _ARITHMETIC
        extras = [a for a in args if self._is_extra_input(a, arithmetic)]
        if extras:
            self.seen.extras[first.grad_fn] = extras

    def _learn_composite(self, func: Any, pending: list[torch.Tensor], out: Any) -> None:
        """Did `func` make autograd nodes its outputs do not show (a composite)? Then every later trace runs it
        inside the dispatch mode, which sees those nodes' values.

        Under the dispatch mode: a pending output with a node the outputs do not have. Without it: an output
        whose node has an input node no call showed (it was made inside `func`; conservatively, also a node made
        before the trace began — that costs only time)."""
        outs = [t.grad_fn for t in tensors(out) if t.grad_fn is not None]
        if any(t.grad_fn is not None and t.grad_fn not in outs for t in pending):
            learn_composite(func)
            return
        if pending:
            return
        values = self.seen.values
        for gf in outs:
            for child, nr in gf.next_functions:
                if child is not None and (child, nr) not in values and not hasattr(child, "variable"):
                    learn_composite(func)
                    return

    def _is_extra_input(self, a: Any, arithmetic: bool) -> bool:
        if isinstance(a, torch.Tensor):
            return not a.requires_grad
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            return False
        return arithmetic or id(a) in self.seen.names

    def on_backward(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._stepping_aside(func, args, kwargs, roots_of(args[0]), None)

    def on_grad(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`torch.autograd.grad(...)`: recorded like backward, with the returned gradients on its inputs."""
        roots, inputs = grad_call(args, kwargs)
        if kwargs.get("is_grads_batched"):  # vmapped: a batch of gradients per node, none to show as its value
            warnings.warn(
                "backprop_lens: torch.autograd.grad(..., is_grads_batched=True) runs but is not recorded "
                "(call it once per grad_outputs row to see each)",
                stacklevel=5,  # past the mode, handle_torch_function and grad(): the user's line
            )
            roots = []
        return self._stepping_aside(func, args, kwargs, roots, inputs)

    def _stepping_aside(self, func: Any, args: Any, kwargs: dict[str, Any], roots: list[Any], inputs: Any) -> Any:
        self.recording = False
        try:
            # Our dispatch mode steps aside: backward's own aten ops are not forward values (and it is faster).
            with contextlib.nullcontext() if self.per_call_dispatch else _pop_mode_temporarily():
                if not roots:
                    return func(*args, **kwargs)
                return self._traced_backward(roots, func, args, kwargs, inputs)
        finally:
            self.recording = True

    def _traced_backward(
        self, roots: list[Any], func: Callable[..., Any], args: Any, kwargs: dict[str, Any], inputs: Any = None
    ) -> Any:
        walk = self._walk(*roots)
        # A structure traced before needs only this step's numbers (see `fast`); read before backward frees it.
        key = fast_path.signature(walk, self.seen) if self._fast else None
        template = fast_path.lookup(key)
        leaves = walk.leaves
        records = {gf: NodeRecord(fresh=gf in leaves and gf.variable.grad is None) for gf in walk.order}
        counter = itertools.count()
        found: dict[Any, NodeRelations] = {}
        # One hook per node: its gradients, and (op nodes) the relations while the saved tensors are alive.
        handles = [
            gf.register_hook(
                node_hook(records[gf], counter, found if self._relations and gf not in leaves else None, gf)
            )
            for gf in walk.order
        ]
        # The relations hook calls every node on ones anyway: its results are the local derivatives.
        locals_ = local_derivatives(walk.op_nodes) if self._local and not self._relations else {}
        try:
            result = func(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        if self._local and self._relations:
            # our own calls' results, which nobody else holds or writes: no copy needed
            locals_ = {gf: [_own(t) for t in r.ones] for gf, r in found.items() if r.ones is not None}
        if template is not None:
            graph = fast_path.fill(template, walk, self.seen, records, found, locals_)
        else:
            graph = annotate(build_graph(walk, self.seen, records, locals_), walk, self.seen, found)
            fast_path.store(key, graph, walk, self.seen)
        fast_path.remember_forward(self._forward_key)
        fast_path.count(filled=template is not None)
        self.graphs.append(graph if inputs is None else with_input_grads(graph, walk, inputs, result))
        return result

    def _walk(self, *losses: Any) -> Walk:
        for loss in losses:
            if not isinstance(loss, torch.Tensor):
                raise TraceError(f"expected a tensor to trace, got {type(loss).__name__}: return the loss tensor")
            if loss.is_meta:
                raise TraceError(
                    "the loss is on the 'meta' device, which has shapes but no values to show: run the model on "
                    "real tensors (e.g. model.to_empty(device='cpu') and load its weights first)"
                )
            if loss.grad_fn is None:
                raise TraceError(
                    "the loss has no grad_fn: no parameter requiring grad reaches it "
                    "(set requires_grad=True on your parameters and compute the loss from them)"
                )
        walk = Walk.from_roots([loss.grad_fn for loss in losses])
        walk.name_leaves(self.seen.names)
        return walk


def _own(t: Any) -> Any:
    return t.detach() if isinstance(t, torch.Tensor) else kept(t)


def _forward_key(
    params: Mapping[str, Any] | None, inputs: Mapping[str, Any] | None, modules: Mapping[str, Any] | None
) -> tuple[Any, ...] | None:
    """The same parameter tensors (by identity), input names and modules: the same loop's next step. None for a
    tracer given none of them (a recording's, which names what it finds): its forward keeps the dispatch mode."""
    if not (params or inputs or modules):
        return None
    return (
        tuple((k, id(v)) for k, v in (params or {}).items()),
        tuple(inputs or {}),
        tuple((k, id(m)) for k, m in (modules or {}).items()),
    )


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
