"""Hand-built snapshots for render tests (no torch, no tracer): the Lecture 04 graph `(x * w - y) ** 2`.

Numbers are derived here from the lecture's maths in plain Python, so tests compare against the input and
never against our own rendered output.
"""

from __future__ import annotations

from typing import Any

from backprop_lens.snapshot import Edge, Graph, Node, ParamState, Step

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
    return Step(
        index=index, epoch=epoch, sample=sample, loss=loss, params=params, graph=Graph(tuple(nodes), tuple(edges))
    )


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


# --- a tiny PNG reader (Pillow is not a dependency): enough for 8-bit RGB/RGBA, non-interlaced ---


def png_header(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; asserts the PNG signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode to (width, height, RGB pixels row-major), composited over white."""
    import struct
    import zlib

    width, height = png_header(data)
    pos, idat = 8, b""
    depth = ctype = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            depth, ctype, interlace = body[8], body[9], body[12]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    i = 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        for x in range(0, stride, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if bpp == 4:
                a = line[x + 3]
                r, g, b = ((c * a + 255 * (255 - a)) // 255 for c in (r, g, b))
            pixels.append((r, g, b))
        prev = line
    return width, height, pixels


def chain_graph(n_ops: int, *, module: str | None = None) -> Graph:
    """A param `w` through `n_ops` ops `y = 2 * x` to a loss (a graph of n_ops + 1 nodes), with the chain rule
    on every edge computed here: d(loss)/d(op_i) = 2 ** (n_ops - 1 - i)."""
    nodes = [Node(id="w", kind="param", name="w", value=0.5, grad=2.0**n_ops, module=module)]
    edges = []
    value = 0.5
    for i in range(n_ops):
        value *= 2
        grad = 2.0 ** (n_ops - 1 - i)
        last = i == n_ops - 1
        nodes.append(
            Node(id=f"op{i}", kind="op", op="*2", grad_fn="MulBackward0", value=value, grad=grad, is_loss=last)
        )
        src = "w" if i == 0 else f"op{i - 1}"
        edges.append(Edge(src, f"op{i}", 0, grad=grad * 2, upstream=grad, local=2.0))
    return Graph(tuple(nodes), tuple(edges))


def module_step(index: int = 0, w: float = 0.5, v: float = -1.5) -> Step:
    """A small net with nested modules: x -> cnn.conv (* w) -> cnn (relu) -> head (* v) -> loss (**2).

    Modules: "cnn.conv" (param cnn.conv.weight and its op), "cnn" (the relu), "head" (param head.weight and its
    op); the data x and the loss belong to no module. Numbers are the plain maths of that chain.
    """
    x = 2.0
    conv = w * x
    relu = max(conv, 0.0)
    head = v * relu
    loss = head**2
    g_head = 2 * head
    g_relu = g_head * v
    g_conv = g_relu * (1.0 if conv > 0 else 0.0)
    g_w, g_v = g_conv * x, g_head * relu
    nodes = (
        Node(id="x", kind="data", name="x", value=x),
        Node(id="cw", kind="param", name="cnn.conv.weight", value=w, grad=g_w, module="cnn.conv"),
        Node(id="conv", kind="op", op="*", grad_fn="MulBackward0", value=conv, grad=g_conv, module="cnn.conv"),
        Node(id="relu", kind="op", op="relu", grad_fn="ReluBackward0", value=relu, grad=g_relu, module="cnn"),
        Node(id="hw", kind="param", name="head.weight", value=v, grad=g_v, module="head"),
        Node(id="head", kind="op", op="*", grad_fn="MulBackward0", value=head, grad=g_head, module="head"),
        Node(id="loss", kind="op", op="**2", grad_fn="PowBackward0", value=loss, grad=1.0, is_loss=True),
    )
    edges = (
        Edge("x", "conv", 0),
        Edge("cw", "conv", 1, grad=g_w, upstream=g_conv, local=x),
        Edge("conv", "relu", 0, grad=g_conv, upstream=g_relu, local=1.0 if conv > 0 else 0.0),
        Edge("relu", "head", 0, grad=g_relu, upstream=g_head, local=v),
        Edge("hw", "head", 1, grad=g_v, upstream=g_head, local=relu),
        Edge("head", "loss", 0, grad=g_head, upstream=1.0, local=2 * head),
    )
    params = {
        "cnn.conv.weight": ParamState(before=w, grad=g_w, after=w - LR * g_w),
        "head.weight": ParamState(before=v, grad=g_v, after=v - LR * g_v),
    }
    return Step(index=index, epoch=index, sample=None, loss=loss, params=params, graph=Graph(nodes, edges))
