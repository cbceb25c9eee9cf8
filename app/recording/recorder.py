"""`record()`: every `backward()` of an unmodified training loop becomes one step, traced by the Tracer.

A parameter's `after` is what it holds when the next step's forward first uses it (the first torch call with it
that builds a graph), or at the end: so `w.data = w.data - lr * w.grad.data` and `optimizer.step()` are both seen,
and nothing of the optimizer's own arithmetic (under no_grad) is mistaken for a use.
"""

from __future__ import annotations

import linecache
import sys
import traceback
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

import torch
from backprop_lens.recording.model import DEFAULT_MAX_STEPS, HistoryRecord, LogLine, Recording
from backprop_lens.recording.modules import ModulePaths, module_hooks
from backprop_lens.recording.names import scan, user_frames
from backprop_lens.recording.output import LineTee
from backprop_lens.recording.updates import StepWatch
from backprop_lens.snapshot import Graph, ParamState, Step
from backprop_lens.tracing import Tracer
from backprop_lens.tracing.tracer import active_tracer
from backprop_lens.tracing.values import plain
from backprop_lens.tracing.walk import Walk
from torch.utils._python_dispatch import _pop_mode_temporarily


@dataclass
class _Pending:
    """A step whose parameters' `after` is not known yet."""

    index: int
    epoch: int
    sample: int | None
    loss: Any
    inputs: dict[str, Any]
    leaves: dict[str, torch.Tensor]
    before: dict[str, Any]
    grad: dict[str, Any]
    grad_step: dict[str, Any]
    graph: Graph | None
    after: dict[str, Any] = field(default_factory=dict)
    where: dict[str, tuple[int, int]] = field(default_factory=dict)  # storage and version after backward
    optim: StepWatch = field(default_factory=StepWatch)  # what a torch.optim step did to the leaves


class LoopTracer(Tracer):
    """A Tracer that stays on for a whole loop: one graph per backward, names from the frames of the caller."""

    def __init__(self, rec: Recording, stop: FrameType | None) -> None:
        super().__init__()
        self.rec = rec
        self._stop = stop
        self._param_names: dict[int, str] = {}  # first name a parameter got: its node id stays put
        self._objects: list[Any] = []  # what we named stays alive, so ids stay unique
        self._pending: _Pending | None = None
        self._awaiting: dict[int, tuple[str, torch.Tensor]] = {}  # parameters whose `after` we wait for
        self._epoch: tuple[int, int] | None = None  # (epoch, samples so far in it)
        self._current_epoch: int | None = None
        self.modules = ModulePaths()  # the script's nn.Modules, by the paths its frames give them

    def line(self, text: str) -> LogLine:
        """A printed line, with the step whose backward came last and whether its parameters changed since."""
        step, p = self.last_step, self._pending
        if step is None:
            return LogLine(text, None, None)
        moved = p is not None and any(_where(t) != p.where.get(n) for n, t in p.leaves.items())
        return LogLine(text, step, "update" if moved or p is None else "backward")

    @property
    def last_step(self) -> int | None:
        return self._pending.index if self._pending else (len(self.rec.history) - 1 if self.rec.history else None)

    # -- the modes' callbacks --------------------------------------------------------------------------------
    def on_call(self, func: Any, args: tuple[Any, ...], out: Any) -> None:
        super().on_call(func, args, out)
        if self._awaiting and _builds_graph(out):
            for a in _flat(args):
                hit = self._awaiting.pop(id(a), None) if isinstance(a, torch.Tensor) else None
                if hit is not None and self._pending is not None:
                    self._pending.after[hit[0]] = plain(hit[1])

    def on_backward(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.finish()
        loss = args[0] if isinstance(args[0], torch.Tensor) else args[0][0]
        if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
            return self._untraced(func, args, kwargs)  # PyTorch says what is wrong
        leaves = self._name(loss)
        index = len(self.rec.history)
        keep = index % self.rec.every == 0 and len(self.rec.steps) < self.rec.max_steps
        before = {n: plain(t) for n, t in leaves.items()}
        fresh = {n: t.grad is None or not bool(t.grad.any()) for n, t in leaves.items()}  # zero_grad ran
        inputs = self._inputs()
        if keep:
            result = super().on_backward(func, args, kwargs)
            graph: Graph | None = self.graphs.pop()
        else:
            result, graph = self._untraced(func, args, kwargs), None
        self.seen.clear()  # this step's forward values are in the graph now
        epoch, sample = self._epoch_of(index)
        steps = {n.name: plain(n.grad_step) for n in graph.nodes if n.kind == "param" and n.name} if graph else {}
        self._pending = _Pending(
            index, epoch, sample, plain(loss.detach()), inputs, leaves, before,
            {n: plain(t.grad) for n, t in leaves.items()}, steps, graph,
        )  # fmt: skip
        self._awaiting = {id(t): (n, t) for n, t in leaves.items()}
        self._pending.where = {n: _where(t) for n, t in leaves.items()}
        self._pending.optim.fresh = fresh
        return result

    def optimizer_step(self, optimizer: torch.optim.Optimizer, done: bool) -> None:
        """A torch.optim step is about to run (or ran): read its state for the pending step's leaves."""
        if self._pending is not None:
            self._pending.optim.seen(optimizer, self._pending.leaves, done)

    def on_grad(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`torch.autograd.grad` is no optimisation step (a gradient penalty, a check): run it plainly."""
        return self._untraced(func, args, kwargs)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _untraced(self, func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        self.recording = False
        try:
            with _pop_mode_temporarily():
                return func(*args, **kwargs)
        finally:
            self.recording = True

    def _name(self, loss: torch.Tensor) -> dict[str, torch.Tensor]:
        """Name this graph's leaves and the data in sight; returns the leaves by name, in the walk's order."""
        in_sight = scan(list(user_frames(self._stop)))
        params, data, self._current_epoch = in_sight.params, in_sight.data, in_sight.epoch
        self.modules.resolve(self.seen, in_sight.modules)
        leaves: dict[str, torch.Tensor] = {}
        for gf in Walk.from_root(loss.grad_fn).order:
            var = getattr(gf, "variable", None)
            if var is None:
                continue
            name = self._param_names.get(id(var))
            if name is None:
                found = params.get(id(var))
                name = self._unique(found[0] if found else f"param{len(self._param_names)}")
                self._param_names[id(var)] = name
                self._objects.append(var)
            leaves[name] = var
        names = {i: (n, "data") for i, (n, _) in data.items()}
        names.update({id(t): (n, "param") for n, t in leaves.items()})
        self.seen.names = names
        return leaves

    def _unique(self, name: str) -> str:
        taken = set(self._param_names.values())
        if name not in taken:
            return name
        return next(f"{name}_{i}" for i in range(2, len(taken) + 3) if f"{name}_{i}" not in taken)

    def _inputs(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for extras in self.seen.extras.values():
            for obj in extras:
                named = self.seen.names.get(id(obj))
                if named is not None and named[1] == "data":
                    found.setdefault(named[0], plain(obj))
        return found

    def _epoch_of(self, index: int) -> tuple[int, int | None]:
        """The loop's own `epoch` variable when it has one (samples counted within it), else one step an epoch."""
        epoch = self._current_epoch
        if epoch is None:
            return index, None
        sample = self._epoch[1] + 1 if self._epoch and self._epoch[0] == epoch else 0
        self._epoch = (epoch, sample)
        return epoch, sample

    def finish(self) -> None:
        """The pending step is complete: parameters not used since get what they hold now."""
        p, self._pending = self._pending, None
        if p is None:
            return
        for name, t in p.leaves.items():
            p.after.setdefault(name, plain(t))
        self._awaiting.clear()
        states = {
            n: ParamState(
                before=p.before[n],
                grad=p.grad[n],
                after=p.after[n],
                grad_step=p.grad_step.get(n),
                update=p.optim.update(n, p.after[n]),
            )
            for n in p.leaves
        }
        self.rec.history.append(HistoryRecord(p.index, p.epoch, p.sample, p.loss, states, p.inputs))
        if p.graph is not None:
            self.rec.steps.append(Step(p.index, p.epoch, p.sample, p.loss, states, p.graph, p.inputs))


MAX_SOURCE_CHARS = 200_000  # a file bigger than a script (generated code) stays out of the recording


def files_named(steps: list[Step]) -> dict[str, str]:
    """The text of every file a node's source names, as Python ran it (linecache also holds notebook cells)."""
    files: dict[str, str] = {}
    for step in steps:
        for node in step.graph.nodes:
            name = node.source.file if node.source is not None else None
            if name is None or name in files:
                continue
            text = "".join(linecache.getlines(name))
            if text and len(text) <= MAX_SOURCE_CHARS:
                files[name] = text
    return files


def step_hooks(tracer: LoopTracer) -> list[Any]:
    """Process-wide optimizer step hooks that report to `tracer` only from its own context (thread)."""
    from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

    def hook(done: bool) -> Any:
        def report(optimizer: Any, args: Any, kwargs: Any) -> None:
            if active_tracer() is tracer:
                tracer.optimizer_step(optimizer, done)

        return report

    return [register_optimizer_step_pre_hook(hook(False)), register_optimizer_step_post_hook(hook(True))]


def _where(t: torch.Tensor) -> tuple[int, int]:
    """Storage and version: `w.data = ...` changes the first, in-place updates (optimizer.step) the second."""
    return t.data_ptr(), t._version


def _builds_graph(out: Any) -> bool:
    if isinstance(out, torch.Tensor):
        return out.grad_fn is not None
    return isinstance(out, (tuple, list)) and any(isinstance(o, torch.Tensor) and o.grad_fn is not None for o in out)


def _flat(args: tuple[Any, ...]) -> list[Any]:
    flat: list[Any] = []
    for a in args:
        flat.extend(a) if isinstance(a, (list, tuple)) else flat.append(a)
    return flat


class record:  # lower case: used like a function, `with backprop_lens.record() as rec:`
    """Record every backward() of the block as one step. `rec.steps`, `rec.history`, `rec.log`.

    `max_steps` and `every` bound the graphs kept (steps 0, every, 2·every, ...); the history has every step.
    The block's stdout passes through unchanged and is recorded line by line with the step that printed it.
    """

    def __init__(
        self,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        every: int = 1,
        title: str = "recording",
        factory: type[Recording] = Recording,
        stop: FrameType | None = None,
    ) -> None:
        if max_steps < 0 or every < 1:
            raise ValueError("max_steps must be >= 0 and every >= 1")
        self.rec = factory(title=title, max_steps=max_steps, every=every)
        self._stop = stop
        self._tracer: LoopTracer | None = None
        self._tee: LineTee | None = None
        self._hooks: list[Any] = []

    def __enter__(self) -> Recording:
        self._tracer = LoopTracer(self.rec, self._stop or sys._getframe(1))
        tracer = self._tracer
        self._tee = LineTee(sys.stdout, lambda text: self.rec.lines.append(tracer.line(text)))
        sys.stdout = self._tee
        tracer.__enter__()
        self._hooks = step_hooks(tracer) + module_hooks(tracer, tracer.modules)
        return self.rec

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._tracer is not None and self._tee is not None
        try:
            for h in self._hooks:
                h.remove()
            self._tracer.__exit__(None, None, None)
            self._tracer.finish()
        finally:
            tee, inner = self._tee, self._tee.inner
            if sys.stdout is tee:
                sys.stdout = inner
            tee.close()
        self.rec.sources = files_named(self.rec.steps)
        if exc is not None and not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            self.rec.error = "".join(traceback.format_exception(kind, exc, tb))
