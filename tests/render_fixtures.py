"""Hand-built snapshots for render tests (no torch, no tracer): the Lecture 04 graph `(x * w - y) ** 2`.

Numbers are derived here from the lecture's maths in plain Python, so tests compare against the input and
never against our own rendered output.
"""

from __future__ import annotations

from typing import Any

from app.snapshot import Edge, Graph, Node, ParamState, Step

X_DATA = [1.0, 2.0, 3.0]
Y_DATA = [2.0, 4.0, 6.0]
LR = 0.01


def lecture04_step(
    index: int = 0,
    *,
    w: float | None = None,
    param_name: str = "w",
    with_const: bool = True,
    grad_accum: float | None = None,
) -> Step:
    """Step `index` of the Lecture 04 loop (w starts at 1.0, per-sample SGD), or with an explicit `w`.

    `grad_accum` simulates zero_grad off: the accumulated `.grad` before this backward.
    """
    epoch, sample = divmod(index, 3)
    if w is None:
        w = 1.0
        for k in range(index):  # replay the lecture's updates in plain floats
            x, y = X_DATA[k % 3], Y_DATA[k % 3]
            w = w - LR * (2 * x * (x * w - y))
    x, y = X_DATA[sample], Y_DATA[sample]
    mul = x * w
    sub = mul - y
    loss = sub**2
    g_loss = 1.0
    g_sub = 2 * sub * g_loss
    g_mul = g_sub
    g_w = g_mul * x
    acc = g_w + (grad_accum or 0.0)
    p = param_name
    nodes = [
        Node(id=p, kind="param", name=p, grad_fn="AccumulateGrad", value=w, grad=acc, grad_step=g_w, order=4),
        Node(id="x", kind="data", name="x", value=x),
        Node(id="mul", kind="op", op="*", grad_fn="MulBackward0", value=mul, grad=g_mul, order=2),
        Node(id="y", kind="data", name="y", value=y),
        Node(id="sub", kind="op", op="-", grad_fn="SubBackward0", value=sub, grad=g_sub, order=1),
        Node(id="loss", kind="op", op="**2", grad_fn="PowBackward0", value=loss, grad=g_loss, is_loss=True, order=0),
    ]
    edges = [
        Edge("x", "mul", 0),  # x needs no grad: autograd sends nothing along this edge
        Edge(p, "mul", 1, grad=g_w, upstream=g_mul, local=x),
        Edge("mul", "sub", 0, grad=g_sub * 1.0, upstream=g_sub, local=1.0),
        Edge("y", "sub", 1),
        Edge("sub", "loss", 0, grad=g_sub, upstream=g_loss, local=2 * sub),
    ]
    if with_const:
        nodes.insert(5, Node(id="c2", kind="const", value=2))
        edges.append(Edge("c2", "loss", 1))
    after = w - LR * acc
    params = {p: ParamState(before=w, grad=acc, after=after, grad_step=g_w)}
    return Step(index=index, epoch=epoch, sample=sample, loss=loss, params=params, graph=Graph(tuple(nodes), tuple(edges)))


def tensor_graph(values: Any, grads: Any, shape: tuple[int, ...]) -> Graph:
    """A small graph with tensor-valued nodes: sum(a * b)."""
    a = Node(id="a", kind="param", name="a", shape=shape, value=values, grad=grads)
    b = Node(id="b", kind="data", name="b", shape=shape, value=values)
    m = Node(id="m", kind="op", op="*", grad_fn="MulBackward0", shape=shape, value=values, grad=grads)
    s = Node(id="s", kind="op", op="sum", grad_fn="SumBackward0", value=1.5, grad=1.0, is_loss=True)
    edges = (
        Edge("a", "m", 0, grad=grads, upstream=grads, local=values),
        Edge("b", "m", 1),
        Edge("m", "s", 0, grad=grads, upstream=1.0, local=grads),
    )
    return Graph((a, b, m, s), edges)
