"""nn.Modules in a recording: each op filed under the module whose forward made it, by the user's own paths.

The tracer draws module frames for the modules it is given (`Tracer(modules={"": model})`, per-module hooks). A
recording is given nothing: its modules are whatever the script builds. So while recording, process-wide module
hooks (installed by `record()`, removed when it exits, also when the script raises) push each module entered onto
the tracer's module stack, and the tracer files every op under the innermost one, as for the modules it is given.

A module's name is only known from the frames that call backward() (`names.named_modules`: `model`, `model.0`),
so until then the stack holds a stand-in key for it; at each backward the keys become paths. The first path a
module gets sticks (its frame and its leaves' ids stay put across steps), so later forwards push the path itself.
A module that nothing in sight names (built inline, held by a non-module object) gets no frame.
"""

from __future__ import annotations

from typing import Any

import torch
from backprop_lens.tracing.build import Observed
from backprop_lens.tracing.tracer import Tracer, active_tracer

_KEY = "\0"  # starts a stand-in key; never a path (a path starts with a Python variable's name)


class ModulePaths:
    """Module -> path for one recording: stand-in keys during a forward, the user's paths from each backward."""

    def __init__(self) -> None:
        self._paths: dict[int, str] = {}  # id(module) -> the first path the user's frames gave it
        self._named: list[torch.nn.Module] = []  # the modules in _paths stay alive, so their ids stay unique
        self._waiting: dict[str, torch.nn.Module] = {}  # key -> a module that ran before it had a name

    def entered(self, module: torch.nn.Module) -> str:
        """What to push for `module` on the module stack: its path, or a key to resolve at the next backward."""
        path = self._paths.get(id(module))
        if path is not None:
            return path
        key = f"{_KEY}{id(module)}"
        self._waiting.setdefault(key, module)
        return key

    def resolve(self, seen: Observed, in_sight: dict[int, tuple[str, torch.nn.Module]]) -> None:
        """At a backward: name the modules in sight, turn this step's keys into paths (or drop them), and file
        the named modules' own parameters under them."""
        for path, module in in_sight.values():
            if id(module) not in self._paths:
                self._paths[id(module)] = path
                self._named.append(module)
                for param in module.parameters(recurse=False):
                    seen.param_module.setdefault(id(param), path)
        if any(m.startswith(_KEY) for m in seen.op_module.values()):
            seen.op_module = {gf: at for gf, m in seen.op_module.items() if (at := self._path_of(m)) is not None}
        self._waiting.clear()  # unnamed modules are not kept alive (a loss module built inline at every step)

    def _path_of(self, entry: str) -> str | None:
        if not entry.startswith(_KEY):
            return entry
        module = self._waiting.get(entry)
        return None if module is None else self._paths.get(id(module))


def module_hooks(tracer: Tracer, paths: ModulePaths) -> list[Any]:
    """Process-wide module forward hooks that report to `tracer` only from its own context (thread); the post
    hook runs also when a forward raises (`always_call`), so the stack stays balanced."""
    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    def entered(module: torch.nn.Module, args: Any) -> None:
        if active_tracer() is tracer:
            tracer.module_stack.append(paths.entered(module))

    def left(module: torch.nn.Module, args: Any, output: Any) -> None:
        if active_tracer() is tracer and tracer.module_stack:
            tracer.module_stack.pop()

    return [register_module_forward_pre_hook(entered), register_module_forward_hook(left, always_call=True)]
