// The inspector: one node at full precision, its chain rule and local derivative. Every word and number is the
// server's (labels.nodes[id], GET .../tensors for the figures): this module only chooses the view and places.

import { getJSON, urls } from "./api.js";
import { t } from "./i18n.js";
import { tensorFigure } from "./heatmap.js";
import { esc } from "./html.js";

const LETTER = { forward: "f", backward: "b", pending: "p", update: "u" };
const figureCache = new Map(); // `${run}|${k}|${node}|${lang}` -> Promise of the node's figures
const KEEP = 64;

function empty(el) {
  el.innerHTML = `<p class="muted">${esc(t("inspector.empty"))}</p>`;
}

/** A text of the chain rule; a tensor's preview carries every element it shows in its tooltip. */
function part([text, tip, cls]) {
  const klass = [tip ? "tensor-part" : "", cls || ""].filter(Boolean).join(" ");
  const attrs = `${klass ? ` class="${klass}"` : ""}${tip ? ` title="${esc(tip)}"` : ""}`;
  return attrs ? `<span${attrs}>${esc(text)}</span>` : esc(text);
}

function chainRows(section, withRule) {
  if (!section.rows.length) return "";
  let html = `<h3>${esc(section.heading)}</h3>`;
  for (const r of section.rows) {
    html += `<div class="chain-row" data-edge="${esc(r.edge)}"><span class="lbl">${esc(r.label)}</span>`;
    if (withRule && r.rule) html += `${esc(r.rule)}<br>`;
    html += `${r.claim.map(part).join("")}</div>`;
  }
  return html;
}

/** Which of the model's views the page is in: the backward pass before autograd reached the node is "pending". */
export function viewOf(node, phase, reveal) {
  const pending = phase === "backward" && reveal !== null && node.order !== null && node.order !== undefined && node.order >= reveal;
  return pending ? "pending" : phase;
}

function figuresOf(runId, k, nodeId, lang) {
  const key = `${runId}|${k}|${nodeId}|${lang}`;
  if (!figureCache.has(key)) {
    if (figureCache.size >= KEEP) figureCache.delete(figureCache.keys().next().value);
    const p = getJSON(urls.tensors(runId, k, nodeId, lang));
    p.catch(() => figureCache.delete(key));
    figureCache.set(key, p);
  }
  return figureCache.get(key);
}

/**
 * Render the inspector for `nodeId` in `step` with the server's model `labels.nodes[nodeId]`
 * (phase, reveal as in GraphView.draw). The tensor figures arrive afterwards, for this view only.
 */
export function renderInspector(el, step, nodeId, { phase, reveal, labels, runId, lang }) {
  const model = labels && nodeId ? labels.nodes[nodeId] : null;
  const node = step && nodeId ? step.graph.nodes.find((n) => n.id === nodeId) : null;
  if (!model || !node) return empty(el);
  const view = viewOf(node, phase, reveal);
  const letter = LETTER[view];

  let html = `<div class="head"><span class="title">${esc(model.title)}</span>
    <span class="pill ${esc(model.kind)}">${esc(model.kind_text)}</span></div>`;
  // the step's explanation of this node, as the server wrote it (what is not computed yet stays hidden)
  const known = { forward: ["forward"], pending: ["forward"], backward: ["forward", "backward"] }[view];
  const said = labels.explain.filter((l) => l.node === nodeId && (!known || known.includes(l.phase)));
  if (said.length) {
    html += `<div class="said" data-testid="inspector-explain">${said.map((l) => `<p class="formula">${esc(l.text)}</p>`).join("")}</div>`;
  }
  // the chain rule first: what a student looks for after clicking a node
  if (view === "backward") {
    html += chainRows(model.chain.into, true) + chainRows(model.chain.out_of, false);
    if (model.chain.sum && model.chain.out_of.rows.length) html += `<p class="help">${esc(model.chain.sum)}</p>`;
  }
  html += "<dl>";
  for (const [label, text, cls, views] of model.rows) {
    if (views.includes(letter)) html += `<dt>${esc(label)}</dt><dd class="${esc(cls)}">${esc(text)}</dd>`;
  }
  html += "</dl>";
  const figures = model.figures[view];
  if (figures.length) html += `<h3>${esc(model.figures_heading)}</h3><div class="tensors" data-testid="tensors"></div>`;
  if (model.local) {
    html += `<h3>${esc(model.local.heading)}</h3>`;
    for (const line of model.local.lines) html += `<p class="formula">${esc(line)}</p>`;
    if (model.local.help) html += `<p class="help">${esc(model.local.help)}</p>`;
  }
  el.innerHTML = html;

  const holder = el.querySelector(".tensors");
  if (!holder) return;
  holder.textContent = t("inspector.loading");
  figuresOf(runId, step.step, nodeId, lang).then(
    (all) => {
      if (!holder.isConnected) return; // the inspector moved on while they loaded
      holder.textContent = "";
      for (const [what] of figures) if (all[what]) holder.appendChild(tensorFigure(all[what]));
    },
    () => holder.isConnected && (holder.textContent = ""),
  );
}
