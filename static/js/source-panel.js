// The source panel (data-testid="source"): the run's own code, the line that made the selected node (or the node
// autograd is visiting) highlighted. Files come from GET /api/runs/{id}/source (with the run's numbers in them:
// Lecture 04's script says this run's lr), by the names a node's `source.file` uses; CSS counters number lines.

import { getJSON } from "./api.js";
import { t } from "./i18n.js";
import { S } from "./store.js";
import { esc } from "./html.js";

const $ = (sel) => document.querySelector(sel);
const AROUND = 6; // lines shown above and below the highlighted one
const files = new Map(); // run id -> Promise of {file: text}
let lastKey = "";

function sourcesOf(runId) {
  if (!files.has(runId)) {
    const p = getJSON(`/api/runs/${encodeURIComponent(runId)}/source`).then((r) => r.files);
    p.catch(() => files.delete(runId));
    files.set(runId, p);
  }
  return files.get(runId);
}

/** The node to show: the selected one, else the one the walk is at. */
function focusNode(step) {
  if (S.selected) return step.graph.nodes.find((n) => n.id === S.selected) || null;
  if (S.reveal === null || S.phase === "update") return null;
  const rank = S.reveal - 1;
  if (S.phase === "backward") return step.graph.nodes.find((n) => n.order === rank) || null;
  return null;
}

function lines(text, line) {
  const all = text.split("\n");
  const from = Math.max(1, line - AROUND);
  const to = Math.min(all.length, line + AROUND);
  // focusable: a region that scrolls sideways must be reachable by keyboard (WCAG, axe)
  let html = `<pre class="source-code" tabindex="0" aria-label="${esc(t("source.title"))}">`;
  for (let i = from; i <= to; i++) {
    const cls = i === line ? "src-line here" : "src-line";
    html += `<span class="${cls}"${i === line ? ' data-testid="source-line"' : ""}>${esc(all[i - 1])}</span>`;
  }
  return { html: html + "</pre>", from };
}

/** Draw the panel (cheap when nothing changed). `labels`: the step's strings (the node's title). */
export function renderSource(step, labels) {
  const card = $("#source-card");
  if (!S.run || !step || !S.scenario) {
    card.hidden = true;
    return;
  }
  const node = focusNode(step);
  const key = `${S.run.id}|${step.step}|${node ? node.id : ""}|${S.lang}`;
  if (key === lastKey) return;
  lastKey = key;
  const el = $("#source");
  sourcesOf(S.run.id).then(
    (sources) => {
      if (key !== lastKey) return; // the panel moved on while the files loaded
      card.hidden = false;
      const src = node && node.source;
      const text = src && sources[src.file];
      $("#source-file").textContent = text ? `${src.file}:${src.line}` : "";
      if (!node) el.innerHTML = `<p class="muted">${esc(t("source.hint"))}</p>`;
      else if (!text) {
        const title = labels && labels.nodes[node.id] ? labels.nodes[node.id].title : node.id;
        el.innerHTML = `<p class="muted">${esc(t("source.none", { node: title }))}</p>`;
      } else {
        const { html, from } = lines(text, src.line);
        el.innerHTML = html;
        el.firstChild.style.counterReset = `src ${from - 1}`; // CSSOM: no inline style under the CSP
      }
    },
    () => (card.hidden = true), // a recording or an offline file without the scenario's code
  );
}
