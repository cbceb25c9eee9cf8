// The patcher: writes one step's strings, as the server wrote them, into a template's slots, and marks the walk
// (what is computed, what is being computed) and the selection's paths from the step JSON's autograd order.

import { setClass } from "./graph-template.js";
import { walkState } from "./walk.js";

/** Draw a step: `labels` = {texts, tips} of its phase; view: {phase, reveal, selected, quick, onPath, practice}. */
export function patchStep(tpl, step, labels, view) {
  for (const s of tpl.slots) {
    const text = labels.texts[s.id] ?? ""; // a slot the step does not fill is blank
    if (s.last !== text) {
      s.el.textContent = text;
      s.last = text;
    }
  }
  const byId = new Map(step.graph.nodes.map((n) => [n.id, n])); // one lookup for the three passes
  if (!view.quick) {
    patchTips(tpl, step, labels.tips, view, byId);
    patchAria(tpl, step, labels.aria, view, byId);
  }
  patchClasses(tpl, step, view, byId);
}

function patchTips(tpl, step, tips, view, byId) {
  for (const s of tpl.tips) {
    // a tooltip of something not computed yet would give the answer away: it keeps only its first line
    const node = s.id.startsWith("n:") ? byId.get(s.id.slice(2)) : null;
    let text = tips[s.id] ?? "";
    if (node && walkState(step, node, view) === "pending") text = text.split("\n")[0];
    const edge = s.id.startsWith("e:") && !view.collapsed ? step.graph.edges[Number(s.id.slice(2))] : null;
    if (edge && hidden(step, edge, byId, view)) text = text.split("\n")[0];
    if (s.last !== text) {
      s.el.textContent = text;
      s.last = text;
    }
  }
}

/** Each node's accessible name, the server's: with its numbers, or without them while the walk has not reached it. */
function patchAria(tpl, step, aria, view, byId) {
  if (!aria) return; // labels of an older server: the nodes keep their tooltips
  for (const [id, entry] of tpl.nodes) {
    const said = aria[id];
    const node = byId.get(id);
    const text = !said ? "" : node && walkState(step, node, view) === "pending" ? said.short : said.full;
    if (entry.aria === text) continue;
    if (text) entry.key.setAttribute("aria-label", text);
    else entry.key.removeAttribute("aria-label");
    entry.aria = text;
  }
}

function patchClasses(tpl, step, view, byId) {
  for (const node of step.graph.nodes) {
    const entry = tpl.nodes.get(node.id);
    if (!entry) continue;
    const state = walkState(step, node, view);
    let cls = state ? `lens-${state}` : "";
    if (view.onPath) cls += view.onPath.has(node.id) ? " lens-path" : " lens-dim";
    if (node.id === view.selected) cls += " lens-selected";
    setClass(entry, cls.trim());
  }
  for (const edge of step.graph.edges) {
    const ends = `${edge.source}|${edge.target}|${edge.slot}`;
    const state = walkState(step, byId.get(edge.target), view);
    let cls = state ? `lens-${state}` : "";
    if (view.onPath) cls += view.onPath.has(edge.source) && view.onPath.has(edge.target) ? " lens-path" : " lens-dim";
    const entry = tpl.edges.get(ends);
    if (entry) setClass(entry, cls.trim());
    const chain = tpl.chains.get(ends);
    const chainState = hidden(step, edge, byId, view) ? "pending" : state;
    if (chain) setClass(chain, chainState ? `lens-${chainState}` : "");
  }
}

/** Practice mode: an edge into the node being asked carries its answer (× local = the gradient): hidden. */
function hidden(step, edge, byId, view) {
  if (!view.practice || !edge) return false;
  return walkState(step, byId.get(edge.source), view) === "pending";
}

/** Every node on a path from `id` to the loss (following edges forward), and `id` itself. */
export function pathsToLoss(step, id) {
  const out = new Set([id]);
  const next = new Map();
  for (const e of step.graph.edges) {
    if (!next.has(e.source)) next.set(e.source, []);
    next.get(e.source).push(e.target);
  }
  const todo = [id];
  while (todo.length) {
    for (const t of next.get(todo.pop()) || []) {
      if (!out.has(t)) {
        out.add(t);
        todo.push(t);
      }
    }
  }
  return out;
}
