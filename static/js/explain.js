// "Explain this step" (data-testid=explain): the step in the order PyTorch computed it, one line per node, from
// the step JSON's numbers. In a walk, what is not computed yet is hidden and the current line is marked.
// (Until the server sends these lines in words, the page assembles them from its numbers, as the caption did.)

import { fmtFull, fmtNum } from "./format.js";
import { titleOf } from "./graph-template.js";
import { t } from "./i18n.js";
import { S } from "./store.js";
import { forwardRanks, walkState } from "./walk.js";

const $ = (sel) => document.querySelector(sel);

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** The nodes a phase explains, in the order PyTorch computed them. */
function ordered(step, phase) {
  const nodes = step.graph.nodes;
  if (phase === "forward") {
    const r = forwardRanks(step);
    return nodes.filter((n) => r.has(n.id)).sort((a, b) => r.get(a.id) - r.get(b.id));
  }
  if (phase === "update") return nodes.filter((n) => n.kind === "param" && step.params[n.name]);
  return nodes.filter((n) => n.order !== null && n.order !== undefined).sort((a, b) => a.order - b.order);
}

function lineOf(step, node, phase, byId) {
  const name = titleOf(node);
  if (phase === "forward") {
    const ins = step.graph.edges.filter((e) => e.target === node.id).map((e) => titleOf(byId.get(e.source)));
    return `<b>${esc(name)}</b>(${esc(ins.join(", "))}) = <code>${esc(fmtNum(node.value))}</code>`;
  }
  if (phase === "update") {
    const p = step.params[node.name];
    return `<b>${esc(name)}</b> ← <code>${esc(fmtNum(p.before))}</code> → <code>${esc(fmtNum(p.after))}</code> (grad <code>${esc(fmtNum(p.grad))}</code>)`;
  }
  const ins = step.graph.edges.filter((e) => e.target === node.id && e.grad !== null);
  const parts = ins.map(
    (e) => `→ ${esc(titleOf(byId.get(e.source)))}: <code>${esc(fmtNum(e.upstream))} × ${esc(fmtNum(e.local))} = ${esc(fmtNum(e.grad))}</code>`,
  );
  if (node.kind === "param") parts.push(`<code>${esc(name)}.grad = ${esc(fmtNum(node.grad))}</code>`);
  const head = `<b>${esc(name)}</b>${node.grad_fn ? ` <span class="muted">${esc(node.grad_fn)}</span>` : ""}`;
  return `${head}${parts.length ? " " + parts.join(" · ") : ""}`;
}

let lastKey = "";

/** Draw the panel for the current state (cheap when nothing changed: keyed on step, phase, reveal, language). */
export function renderExplain(step) {
  const el = $("#explain-body");
  const key = `${step.step}|${S.phase}|${S.reveal}|${S.lang}|${S.selected}|${S.hoverNode}`;
  if (key === lastKey) return;
  lastKey = key;
  const byId = new Map(step.graph.nodes.map((n) => [n.id, n]));
  const view = { phase: S.phase, reveal: S.reveal };
  const items = ordered(step, S.phase).map((node) => {
    const state = walkState(step, node, view);
    const cls = [state && `is-${state}`, node.id === S.selected && "is-selected", node.id === S.hoverNode && "is-hover"];
    const hidden = state === "pending" ? " hidden" : "";
    return `<li data-node="${esc(node.id)}" class="${cls.filter(Boolean).join(" ")}"${hidden}>${lineOf(step, node, S.phase, byId)}</li>`;
  });
  el.innerHTML = `<ol class="explain-lines">${items.join("")}</ol>`;
  $("#explain-progress").textContent =
    S.reveal !== null && S.phase !== "update" ? t("walk.progress", { i: S.reveal, n: items.length }) : "";
  renderAccum(step);
}

export function resetExplain() {
  lastKey = "";
}

function renderAccum(step) {
  const el = $("#accum");
  if (S.run.meta.params.zero_grad !== false) {
    el.hidden = true;
    return;
  }
  const rows = Object.entries(step.params)
    .map(([name, p]) => `<tr><td>${esc(name)}.grad</td><td>${esc(fmtFull(p.grad_step))}</td><td class="grad">${esc(fmtFull(p.grad))}</td></tr>`)
    .join("");
  el.innerHTML = `<h3>${esc(t("accum.title"))}</h3><table><thead><tr><th></th><th>${esc(t("accum.step"))}</th><th>${esc(t("accum.total"))}</th></tr></thead><tbody>${rows}</tbody></table>`;
  el.hidden = false;
}
