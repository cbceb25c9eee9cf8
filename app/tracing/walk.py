"""The autograd graph of a loss, walked like torchviz walks it, with ids that depend on structure only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Walk:
    """Autograd nodes in deterministic depth-first order from the loss (`next_functions` in order).

    Ids are positions in that order (`op:N`), or `param:NAME` for named leaves: the same graph gives the same ids
    at every step of a run, so a layout computed once fits every step.
    """

    root: Any
    order: list[Any]
    ids: dict[Any, str]
    leaves: set[Any]
    roots: tuple[Any, ...] = ()  # every root (`torch.autograd.backward([l1, l2])`); `root` is the first

    @property
    def op_nodes(self) -> list[Any]:
        return [gf for gf in self.order if gf not in self.leaves]

    @classmethod
    def from_root(cls, root: Any) -> Walk:
        return cls.from_roots([root])

    @classmethod
    def from_roots(cls, roots: list[Any]) -> Walk:
        """One walk over the union of the roots' graphs: the first root's nodes keep the ids they have alone."""
        order: list[Any] = []
        ids: dict[Any, str] = {}
        leaves: set[Any] = set()
        stack = list(reversed(roots))
        while stack:
            gf = stack.pop()
            if gf in ids:
                continue
            ids[gf] = f"op:{len(ids)}"
            order.append(gf)
            if hasattr(gf, "variable"):  # AccumulateGrad: a leaf tensor that requires grad
                leaves.add(gf)
            children = [child for child, _ in gf.next_functions if child is not None]
            stack.extend(reversed(children))
        return cls(root=roots[0], order=order, ids=ids, leaves=leaves, roots=tuple(roots))

    def name_leaves(self, names: Mapping[int, tuple[str, str]]) -> None:
        """Named parameters get the id `param:NAME`; unnamed leaves `leaf:N`."""
        for gf in self.leaves:
            name = names.get(id(gf.variable))
            self.ids[gf] = f"param:{name[0]}" if name else self.ids[gf].replace("op:", "leaf:")
