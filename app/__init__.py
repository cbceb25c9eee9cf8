"""backprop-lens: see backpropagation happen in real PyTorch.

    import backprop_lens
    with backprop_lens.trace(params={"w": w}) as t:   # records real PyTorch code
        loss = (x * w - y) ** 2
        loss.backward()
    t                                                # in a notebook: the annotated graph
    backprop_lens.make_dot(loss, params={"w": w})     # torchviz's make_dot, with values

Nothing heavy is imported here: `trace`, `Trace` and `make_dot` load PyTorch on first use, so that
`import backprop_lens.render` (which never needs torch) and `backprop-lens --help` stay light.
The tracer itself lives in `backprop_lens.tracing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["Trace", "__version__", "make_dot", "record", "trace"]

if TYPE_CHECKING:
    from backprop_lens.api import Trace, make_dot, trace
    from backprop_lens.export import record

_LAZY = {"trace": "backprop_lens.api", "Trace": "backprop_lens.api", "make_dot": "backprop_lens.api"}
_LAZY["record"] = "backprop_lens.export"  # record() yields a Recording that saves and shows itself


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'backprop_lens' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
