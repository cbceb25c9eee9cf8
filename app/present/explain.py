"""Explain this step: the step worked in words and numbers, in the order PyTorch computed it, from the
recorded values: the forward pass node by node, the backward pass in autograd's order, the optimizer's
update, zero_grad. One line per node (keyed by node id, so the page can highlight the visited node's line
and the inspector can show the same text). Every equation shown recomputes from its shown numbers (calc).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from backprop_lens.present.calc import holds, paren, scalar, shown
from backprop_lens.present.catalog import t
from backprop_lens.present.claims import kind_of, shape_of
from backprop_lens.present.format import fmt_num, fmt_value
from backprop_lens.present.updates import update_line, zero_grad_line
from backprop_lens.snapshot import Edge, Graph, Node, Step, plain_graph

SYMBOL = {"*": "·", "+": "+", "-": "−", "/": "/"}
TIMES = {"*": "×", "+": "+", "-": "−", "/": "/"}
CALC = {"*": "mul", "+": "add", "-": "sub", "/": "div"}


@dataclass(frozen=True, slots=True)
class Line:
    phase: str  # "forward" | "backward" | "update" | "zero_grad"
    node: str | None  # the node the line is about
    text: str


class _Graph:
    """Names and neighbours of a step's graph, as the explanation reads them."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.by_id = {n.id: n for n in graph.nodes}
        self.inputs: dict[str, list[Edge]] = {}
        self.uses: dict[str, list[Edge]] = {}
        for e in graph.edges:
            self.inputs.setdefault(e.target, []).append(e)
            self.uses.setdefault(e.source, []).append(e)
        for edges in self.inputs.values():
            edges.sort(key=lambda e: e.slot)
        root = graph.root
        self.root_name = self.name(root) if root is not None else "L"

    def name(self, node: Node) -> str:
        if node.name:
            return node.name
        if node.is_loss:
            return "loss"
        return "z" + node.id.rsplit(":", 1)[-1] if node.kind == "op" else node.id

    def term(self, node: Node) -> str:
        """The name as an operand: `(y_hat - y)` where the name is itself an expression."""
        name = self.name(node)
        return name if name.replace(".", "_").isidentifier() else f"({name})"

    def d(self, node: Node) -> str:
        return f"∂{self.root_name}/∂{self.term(node)}"

    def args(self, node: Node) -> list[Node]:
        return [self.by_id[e.source] for e in self.inputs.get(node.id, [])]


def _forward(g: _Graph, n: Node, lang: str) -> str:
    name, args, op = g.name(n), g.args(n), n.op or n.grad_fn or "op"
    value, nums = scalar(n.value), [scalar(a.value) for a in args]
    known = value is not None and all(x is not None for x in nums)
    names = [g.term(a) for a in args]
    if known and op in CALC and len(args) == 2 and holds(CALC[op], nums, value):
        s = shown(CALC[op], nums, value)
        expr = f"{names[0]} {SYMBOL[op]} {names[1]}"
        return f"{name} = {expr} = {s.operands[0]} {TIMES[op]} {paren(s.operands[1])} {s.sign} {s.result}"
    if known and op == "**2" and len(args) == 1 and holds("sq", nums, value):
        s = shown("sq", nums, value)
        return f"{name} = {names[0]}² = ({s.operands[0]})² {s.sign} {s.result}"
    if op in SYMBOL and len(args) == 2:
        call = f"{names[0]} {SYMBOL[op]} {names[1]}"
    elif op == "**2" and len(args) == 1:
        call = f"{names[0]}²"
    else:
        call = f"{op}({', '.join(names)})"
    if value is not None:
        return f"{name} = {call} = {fmt_num(value)}"
    return f"{name} = {call} → {'×'.join(map(str, n.shape))}: {fmt_value(n.value)}"


def _local_symbol(g: _Graph, e: Edge) -> str | None:
    """The local derivative ∂target/∂source by name, where the op is one of the lecture's and the recorded
    local number agrees with it; None otherwise (the line then names no rule)."""
    target, ins = g.by_id[e.target], g.inputs.get(e.target, [])
    local = scalar(e.local)
    if local is None:
        return None
    if target.op == "*" and len(ins) == 2:
        other = g.by_id[ins[1 - e.slot].source] if e.slot in (0, 1) else None
        if other is not None and scalar(other.value) == local:
            return g.term(other)
    if target.op in ("+", "-") and len(ins) == 2 and abs(local) == 1.0:
        return fmt_num(local)
    if target.op == "**2" and len(ins) == 1:
        a = scalar(g.by_id[ins[0].source].value)
        if a is not None and holds("mul", [2.0, a], local):
            return f"2{g.term(g.by_id[ins[0].source])}"
    return None


def _through(g: _Graph, e: Edge, lang: str) -> str:
    """∂root/∂source along one edge: the claim of its relation, with numbers where they are scalars."""
    source, target = g.by_id[e.source], g.by_id[e.target]
    u, loc, d = scalar(e.upstream), scalar(e.local), scalar(e.grad)
    kind = kind_of(e)
    if kind == "elementwise" and None not in (u, loc, d):
        sym = _local_symbol(g, e) or f"∂{g.term(target)}/∂{g.term(source)}"
        if target.is_loss and u == 1.0:
            if target.op == "**2" and sym.startswith("2"):
                s = shown("mul", [2.0, scalar(g.args(target)[0].value) or 0.0], d)
                return f"{sym} = 2 × {paren(s.operands[1])} {s.sign} {s.result}"
            return f"{sym} = {fmt_num(d)}"
        s = shown("mul", [u, loc], d)
        return f"{g.d(target)} × {sym} = {s.operands[0]} × {paren(s.operands[1])} {s.sign} {s.result}"
    rel, down = e.relation, fmt_value(e.grad)
    if kind == "elementwise":
        return f"{g.d(target)} × ∂{g.term(target)}/∂{g.term(source)} = {down}"
    if kind == "reduce":
        local = f"∂{g.term(target)}/∂{g.term(source)}"
        return f"Σ({g.d(target)} × {local}) = {down}  ({t(lang, 'explain.reduce')})"
    if kind == "matmul" and rel is not None:
        words = t(lang, "explain.matmul", ls=shape_of(rel.left), rs=shape_of(rel.right))
        claim = rel.formula.split("=")[-1].strip().replace("∂L/", f"∂{g.root_name}/")  # the tracer calls the root L
        return f"{claim or 'A · B'} = {down}  ({words})"
    if kind == "jacobian" and rel is not None:
        return f"J · {g.d(target)} = {down}  ({t(lang, 'explain.jacobian', shape=shape_of(rel.jacobian))})"
    if kind == "opaque":
        return f"{down}  ({t(lang, 'explain.computed', fn=target.grad_fn or 'autograd')})"
    return f"{down}  ({t(lang, 'explain.unchecked')})"


def _backward(g: _Graph, n: Node, lang: str) -> str:
    if n.is_loss:
        return f"{g.d(n)} = {fmt_value(n.grad)}"
    uses = [e for e in g.uses.get(n.id, []) if e.grad is not None]
    if len(uses) == 1:
        line = f"{g.d(n)} = {_through(g, uses[0], lang)}"
    else:
        parts = [scalar(e.grad) for e in uses]
        total = scalar(n.grad)
        if total is not None and uses and all(p is not None for p in parts) and holds("sum", parts, total):
            s = shown("sum", parts, total)
            line = f"{g.d(n)} = {' + '.join(paren(p) for p in s.operands)} {s.sign} {s.result}"
        else:
            line = f"{g.d(n)} = {fmt_value(n.grad)}"
        line += f"  ({t(lang, 'explain.uses', n=len(uses))})"
    if n.kind == "param" and n.grad_step is not None and fmt_value(n.grad_step) != fmt_value(n.grad):
        line += "; " + t(
            lang, "explain.accumulated", name=g.name(n), step=fmt_value(n.grad_step), grad=fmt_value(n.grad)
        )
    return line


def explain(step: Step, lang: str = "en", zero_grad: bool | None = None) -> list[Line]:
    """The step's lines. `zero_grad`: whether the loop zeroes `.grad` after the update (None: not known)."""
    step = replace(step, graph=plain_graph(step.graph, for_picture=True))  # tensors -> lists (previews)
    g = _Graph(step.graph)
    ops = [n for n in step.graph.nodes if n.kind == "op"]
    forward = sorted(ops, key=lambda n: -(n.order if n.order is not None else -1))  # inputs before outputs
    lines = [Line("forward", n.id, _forward(g, n, lang)) for n in forward]
    visited = sorted((n for n in step.graph.nodes if n.order is not None), key=lambda n: n.order or 0)
    lines += [Line("backward", n.id, _backward(g, n, lang)) for n in visited]
    params = {n.name: n.id for n in step.graph.nodes if n.kind == "param" and n.name}
    for name, state in step.params.items():
        lines.append(Line("update", params.get(name), update_line(name, state, lang)))
    if zero_grad is not None:
        for name, state in step.params.items():
            lines.append(Line("zero_grad", params.get(name), zero_grad_line(name, state, zero_grad, lang)))
    return lines


def inspector(lines: list[Line]) -> dict[str, list[str]]:
    """Per node, its lines of every phase: what the inspector shows for the selected node."""
    out: dict[str, list[str]] = {}
    for ln in lines:
        if ln.node is not None:
            out.setdefault(ln.node, []).append(ln.text)
    return out


def gradient_symbols(graph: Graph) -> dict[str, str]:
    """Each node's gradient as the explanation writes it: `∂loss/∂y_hat`."""
    g = _Graph(graph)
    return {n.id: g.d(n) for n in graph.nodes}
