"""The present layer's bodies for the page: messages, a batch of steps' labels, the log with its steps.

Pure functions of the URL like every run body (cached, ETag with the render version)."""

from __future__ import annotations

from dataclasses import replace

from backprop_lens.present import Context, messages, slide_context
from backprop_lens.present.inspect import tensor_figures
from backprop_lens.problems import Problem
from backprop_lens.render import BadArgument, step_labels
from backprop_lens.snapshot import Step, plain_graph
from backprop_lens.web.errors import BadInput, NotFound
from backprop_lens.web.responses import JSON, Body, dumps
from backprop_lens.web.runs import RunRef


def context_of(ref: RunRef, lang: str) -> Context:
    """What a slide's title says of the run (the same words `render --fit slide` writes)."""
    return slide_context(ref.scenario, ref.params, lang)


def messages_body(lang: str) -> Body:
    return Body.of(dumps(messages(lang)), JSON)


def labels_body(
    ref: RunRef, steps: list[Step], lang: str, collapse: tuple[str, ...], max_bytes: int, expand: tuple[str, ...] = ()
) -> Body:
    context = None  # as graph.svg draws it without `fit` (the page's pictures)
    zero_grad = getattr(ref.params, "zero_grad", None)
    known = zero_grad if isinstance(zero_grad, bool) else None
    try:
        out = [step_labels(step, lang, known, collapse, context, expand) for step in steps]
    except BadArgument as e:  # a module the graph does not have: the caller's mistake, named
        raise BadInput([(("query", e.field), e.problem)]) from None
    content = dumps(out)
    if len(content) > max_bytes and len(steps) > 1:  # the estimate was short: the bound holds (one step always answers)
        most = max(1, len(steps) * max_bytes // len(content))
        raise BadInput([(("query", "stop"), Problem("error.batch.bytes", {"most": most}))])
    return Body.of(content, JSON)


def tensors_body(step: Step, node_id: str, lang: str) -> Body:
    """Every tensor figure of one node's inspector at one step (fetched when the node is selected)."""
    plain = replace(step, graph=plain_graph(step.graph))
    try:
        node = plain.graph.node(node_id)
    except KeyError:
        missing = Problem("error.no_node", {"step": step.index, "node": node_id})
        raise NotFound([(("query", "node"), missing)]) from None
    return Body.of(dumps(tensor_figures(plain, node, lang)), JSON)
