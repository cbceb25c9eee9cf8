// "Explain this step" (data-testid=explain): the step in the order PyTorch computed it, one line per node. In a
// walk, what is not computed yet is hidden and the current line is marked. A line selects its node (click, or
// Enter on a focused line), as the node itself does in the picture.
// The lines are the server's (labels.explain), in the language asked for; the page only places them.

import { t } from "./i18n.js";
import { S } from "./store.js";
import { walkState } from "./walk.js";
import { esc } from "./html.js";

const $ = (sel) => document.querySelector(sel);

const SHOWN = { forward: ["forward"], backward: ["backward"], update: ["update", "zero_grad"] };

let lastKey = "";

/** Draw the panel for the current state (cheap when nothing changed: keyed on step, phase, reveal, language). */
export function renderExplain(step, labels) {
  const key = `${step.step}|${S.phase}|${S.reveal}|${S.lang}|${S.selected}|${S.collapse}`;
  if (key === lastKey) return;
  lastKey = key;
  const byId = new Map(step.graph.nodes.map((n) => [n.id, n]));
  const view = { phase: S.phase, reveal: S.reveal };
  const lines = labels.explain.filter((l) => SHOWN[S.phase].includes(l.phase));
  let shown = 0;
  const items = lines.map((line) => {
    const state = line.phase === S.phase ? walkState(step, byId.get(line.node), view) : "";
    if (state !== "pending") shown += 1;
    const cls = [state && `is-${state}`, line.node === S.selected && "is-selected"].filter(Boolean).join(" ");
    const hidden = state === "pending" ? " hidden" : "";
    // a line about a node selects it (as a click on the node does: the inspector, its path to the loss lit)
    const node = line.node && byId.has(line.node) ? ` data-node="${esc(line.node)}" tabindex="0"` : "";
    return `<li${node} data-phase="${esc(line.phase)}" class="${cls}"${hidden}>${esc(line.text)}</li>`;
  });
  $("#explain-body").innerHTML = `<ol class="explain-lines">${items.join("")}</ol>`;
  const walking = S.reveal !== null && S.phase !== "update";
  $("#explain-progress").textContent = walking ? t("walk.progress", { i: shown, n: lines.length }) : "";
  renderAccum(labels);
}

/** The words select what they are about: `pick(id)` on a click on a line, or Enter or Space on a focused one. */
export function wireExplain(pick) {
  const body = $("#explain-body");
  body.addEventListener("click", (e) => {
    const id = explainedNode(e);
    if (id) pick(id);
  });
  body.addEventListener("keydown", (e) => {
    const id = explainedNode(e);
    if (!id || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    e.stopPropagation(); // Space on a line selects it; it does not play
    pick(id);
  });
}

/** The node id of the explanation line an event is on (null: none, or a line about no node). */
function explainedNode(e) {
  const li = e.target && e.target.closest ? e.target.closest("#explain-body li[data-node]") : null;
  return li ? li.dataset.node : null;
}

export function resetExplain() {
  lastKey = "";
}

function renderAccum(labels) {
  const el = $("#accum");
  if (S.run.meta.params.zero_grad !== false) {
    el.hidden = true;
    return;
  }
  const rows = Object.entries(labels.numbers.params)
    .map(([name, p]) => `<tr><td>${esc(name)}.grad</td><td>${esc(p.grad_step)}</td><td class="grad">${esc(p.grad)}</td></tr>`)
    .join("");
  el.innerHTML = `<h3>${esc(t("accum.title"))}</h3><table><thead><tr><th></th><th>${esc(t("accum.step"))}</th><th>${esc(t("accum.total"))}</th></tr></thead><tbody>${rows}</tbody></table>`;
  el.hidden = false;
}
