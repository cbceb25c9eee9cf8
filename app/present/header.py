"""The picture's header (title, subtitle, phase badge, the document title) and its legend, per language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backprop_lens.present.catalog import LANGS, t
from backprop_lens.present.format import fmt_full, fmt_value
from backprop_lens.snapshot import Phase, Step

NODE_KINDS = ("param", "data", "const", "op", "loss", "module")
CLAIM_KINDS = ("elementwise", "reduce", "matmul", "jacobian", "opaque", "none")


@dataclass(frozen=True, slots=True)
class Context:
    """What a slide's title says besides the step: the scenario, its model, loss and learning rate."""

    scenario: str
    model: str = ""
    loss: str = ""
    lr: str = ""

    def line(self) -> str:
        """scenario · model · loss · lr, the parts it has."""
        parts = [self.scenario, self.model, self.loss, f"lr {self.lr}" if self.lr else ""]
        return " · ".join(p for p in parts if p)


def scenario_words(lang: str, scenario_id: str, field: str, english: str) -> str:
    """A scenario's title or description: the catalog's translation, the scenario's own English otherwise."""
    key = f"scenario.{scenario_id}.{field}"
    text = t(lang, key)
    return english if lang == "en" or text == key else text


def slide_context(scenario: Any, params: Any, lang: str) -> Context:
    """What a slide's title says of a run (the web app's `?fit=slide` and `render --fit slide` alike): the
    scenario's title, its model and loss as the code writes them, the learning rate and a non-plain optimizer."""
    model, loss = scenario.formulas(params)
    lr = getattr(params, "lr", None)
    lr_text = f"{lr:g}" if isinstance(lr, (int, float)) else ""
    optimizer = getattr(params, "optimizer", None)
    if lr_text and isinstance(optimizer, str) and optimizer != "sgd":
        lr_text += f" ({optimizer})"
    title = scenario_words(lang, scenario.id, "title", scenario.title)
    return Context(scenario=title, model=model, loss=loss, lr=lr_text)


def title_lines(scenario: Any, params: Any) -> dict[str, str]:
    """The slide title's line in every language: what presenter mode's title says (the run summary's `titles`)."""
    return {lang: slide_context(scenario, params, lang).line() for lang in LANGS}


@dataclass(frozen=True, slots=True)
class Header:
    title: str
    subtitle: str
    badge: str
    document: str  # the SVG's <title>: what a screen reader and a slide's alt text get
    context: str = ""  # scenario · model · loss · lr (slides); empty without a context


@dataclass(frozen=True, slots=True)
class Legend:
    kinds: tuple[tuple[str, str], ...]  # (node kind, word) for the kinds the graph has, in NODE_KINDS order
    grad: str  # "grad = dL/d(node)", or "" in the forward phase
    claims: tuple[tuple[str, str], ...]  # (relation kind, what its edge label claims), backward phase only


def header(step: Step | None, phase: Phase, lang: str = "en", context: Context | None = None) -> Header:
    if step is None:
        title = t(lang, "svg.title.graph")
        doc = t(lang, "svg.doc.title")
    elif step.sample is None:
        title = t(lang, "svg.title.step", step=step.index, epoch=step.epoch)
        doc = t(lang, "svg.doc.title") + ", " + t(lang, "svg.doc.step", step=step.index, epoch=step.epoch)
    else:
        title = t(lang, "svg.title.sample", step=step.index, epoch=step.epoch, sample=step.sample)
        doc = t(lang, "svg.doc.title") + ", "
        doc += t(lang, "svg.doc.sample", step=step.index, epoch=step.epoch, sample=step.sample)
    sub = t(lang, f"svg.phase.{phase}")
    if step is not None and step.loss is not None:
        sub += "  ·  " + t(lang, "svg.sub.loss", loss=fmt_value(step.loss))
        doc += ", " + t(lang, "svg.doc.loss", loss=fmt_full(step.loss))
    doc += ", " + t(lang, "svg.doc.phase", phase=t(lang, f"phase.{phase}"))
    line = ""
    if context is not None:
        line = context.line()
        doc = f"{line}; {doc}"
    return Header(title, sub, t(lang, f"svg.badge.{phase}"), doc, line)


def legend(phase: Phase, kinds: set[str], claims: set[str], labelled: bool, lang: str = "en") -> Legend:
    """Only what this graph has. `labelled`: edges carry visible labels (else the chain rule is in tooltips)."""
    shown = tuple((k, t(lang, f"svg.legend.{k}")) for k in NODE_KINDS if k in kinds)
    grad = t(lang, "svg.legend.grad") if phase != "forward" else ""
    notes: tuple[tuple[str, str], ...] = ()
    if phase == "backward":
        if labelled:
            notes = tuple((k, t(lang, f"svg.legend.{k}")) for k in CLAIM_KINDS if k in claims)
        else:
            notes = (("tooltip", t(lang, "svg.legend.tooltip")),)
    return Legend(shown, grad, notes)
