"""backprop-lens: see backpropagation happen in real PyTorch.

    import app
    with app.trace(params={"w": w}) as t:   # records real PyTorch code
        loss = (x * w - y) ** 2
        loss.backward()
    t.svg(); t.to_dict()
    app.make_dot(loss, params={"w": w})     # torchviz's make_dot, with values

Nothing heavy is imported here: `app.trace` and `app.make_dot` load PyTorch on first use, so that
`import app.render` (which never needs torch) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Trace", "make_dot", "trace"]


def __getattr__(name: str) -> Any:
    if name == "trace":
        # The subpackage app.trace is callable (see app/trace/__init__.py) and becomes this attribute on import.
        return importlib.import_module("app.trace")
    if name in ("make_dot", "Trace"):
        return getattr(importlib.import_module("app.api"), name)
    raise AttributeError(f"module 'app' has no attribute {name!r}")
