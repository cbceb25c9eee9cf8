// The patcher: writes one step's numbers into a parsed template in place (text of value tspans, tooltips,
// walk classes). Numbers are formatted as the server formats them (format.js ports app/render/format.py) until
// the server sends the label strings themselves.

import { fmtFull, fmtNum, fmtPreview, NUM_WIDTH, PREVIEW_WIDTH } from "./format.js";
import {
  edgeLabelled,
  KEY_AFTER,
  KEY_GRAD,
  nodeLines,
  PHASE_TEXT,
  setClass,
  setText,
  titleOf,
  valueChars,
} from "./graph-template.js";
import { SVG_WORDS } from "./i18n.js";
import { walkState } from "./walk.js";

/** Draw `step` into `tpl`. view: {phase, reveal, selected, quick, lang}; quick leaves the tooltips for later. */
export function patchStep(tpl, step, view) {
  patchHeader(tpl, step, view);
  const byId = new Map(step.graph.nodes.map((n) => [n.id, n]));
  for (const node of step.graph.nodes) patchNode(tpl, step, node, view);
  patchModules(tpl, step, view.phase, byId);
  step.graph.edges.forEach((edge, i) => patchEdge(tpl, step, edge, i, byId, view));
}

function patchHeader(tpl, step, { phase, quick, lang }) {
  const words = SVG_WORDS[lang] || {};
  const hasSample = step.sample !== null && step.sample !== undefined;
  const loss = step.loss;
  const lossText = Array.isArray(loss) && loss.length > 1 ? fmtPreview(loss) : fmtNum(Array.isArray(loss) ? loss[0] : loss);
  let title = `Step ${step.step} · epoch ${step.epoch}` + (hasSample ? ` · sample ${step.sample}` : "");
  let sub = PHASE_TEXT[phase] + (loss !== null && loss !== undefined ? `  ·  loss ${lossText}` : "");
  if (lang === "zh") {
    title = `第 ${step.step} 步 · 第 ${step.epoch} 轮` + (hasSample ? ` · 样本 ${step.sample}` : "");
    sub = (words[PHASE_TEXT[phase]] || PHASE_TEXT[phase]) + (loss !== null ? `  ·  损失 ${lossText}` : "");
  }
  setText(tpl.headTitle, title);
  setText(tpl.headSub, sub);
  if (quick) return;
  let svgTitle = `backprop-lens: autograd graph, step ${step.step} (epoch ${step.epoch}`;
  svgTitle += hasSample ? `, sample ${step.sample})` : ")";
  if (loss !== null) svgTitle += `, loss ${fmtFull(loss)}`;
  setText(tpl.svgTitle, `${svgTitle}, ${phase} phase`);
}

function patchNode(tpl, step, node, view) {
  const entry = tpl.nodes.get(node.id);
  if (!entry) return;
  const { phase, quick } = view;
  const param = node.kind === "param" && node.name ? step.params[node.name] : null;
  const chars = Math.max(valueChars(node.shape), NUM_WIDTH);
  const state = walkState(step, node, view);
  const tip = quick ? null : [entry.head];
  for (const ln of nodeLines(node, phase, param)) {
    // a gradient autograd has not computed yet is hidden, in the tooltip too
    if (tip && !(state === "pending" && (ln.role === "grad" || view.phase === "forward"))) tip.push(`${ln.key}: ${fmtFull(ln.value)}`);
    const slot = entry.lines.get(ln.key);
    if (!slot || !slot.valT) continue;
    const s = ln.text || fmtPreview(ln.value, chars);
    if (slot.last !== s) {
      slot.valT.textContent = s;
      slot.last = s;
    }
    const fill = ln.role === "muted" ? tpl.mutedFill : slot.fill;
    if (slot.valT.getAttribute("fill") !== fill) slot.valT.setAttribute("fill", fill);
  }
  if (tip) {
    if (node.kind === "param" && phase === "update" && param) tip.push(`update: ${fmtFull(param.before)} → ${fmtFull(param.after)}`);
    if (node.module) tip.push(`module: ${node.module}`);
    const tipText = tip.join("\n");
    if (entry.title && entry.lastTip !== tipText) {
      entry.title.textContent = tipText;
      entry.lastTip = tipText;
    }
  }
  let cls = state ? `lens-${state}` : "";
  if (view.onPath) cls += view.onPath.has(node.id) ? " lens-path" : " lens-dim";
  if (node.id === view.selected) cls += " lens-selected";
  setClass(entry, entry.g, cls.trim());
}

function patchEdge(tpl, step, edge, i, byId, view) {
  const entry = tpl.edgeAt(edge, i);
  if (!entry) return;
  const src = byId.get(edge.source);
  const tgt = byId.get(edge.target);
  const state = walkState(step, tgt, view);
  let cls = state ? `lens-${state}` : "";
  if (view.onPath) cls += view.onPath.has(edge.source) && view.onPath.has(edge.target) ? " lens-path" : " lens-dim";
  setClass(entry, entry.g, cls.trim());
  if (!edgeLabelled(edge, view.phase) || !src || !tgt) return;
  if (!view.quick) {
    const head = `${titleOf(src)} → ${titleOf(tgt)} (input ${edge.slot})`;
    const tip =
      state === "pending"
        ? head
        : `${head}\nupstream dL/d(${titleOf(tgt)}): ${fmtFull(edge.upstream)}\n` +
          `local d(${titleOf(tgt)})/d(${titleOf(src)}): ${fmtFull(edge.local)}\n` +
          `downstream gradient: ${fmtFull(edge.grad)}`;
    if (entry.title && entry.lastTip !== tip) {
      entry.title.textContent = tip;
      entry.lastTip = tip;
    }
  }
  const chain = entry.chain;
  if (!chain) return;
  const scalar = valueChars(src.shape) === NUM_WIDTH && valueChars(tgt.shape) === NUM_WIDTH;
  const chars = scalar ? NUM_WIDTH : PREVIEW_WIDTH;
  [edge.upstream, edge.local, edge.grad].forEach((v, j) => {
    const s = fmtPreview(v, chars);
    if (chain.last[j] !== s && chain.vals[j]) {
      chain.vals[j].textContent = s;
      chain.last[j] = s;
    }
  });
  setClass(chain, chain.g, state ? `lens-${state}` : "");
}

/**
 * A collapsed module's box: per parameter a row "name: value", then "grad" and "after" rows (as
 * app/render/labels.py module_label writes them). Rows are matched by their key, so the order is the SVG's.
 */
function patchModules(tpl, step, phase, byId) {
  for (const mod of tpl.modules) {
    let param = null;
    for (const row of mod.rows) {
      if (!row.keyT || !row.valT) continue;
      let v;
      if (row.key === KEY_GRAD || row.key === KEY_AFTER) {
        if (!param) continue;
        const st = step.params[param.name];
        v = row.key === KEY_GRAD ? (phase === "update" && st ? st.grad : param.grad) : st ? st.after : null;
      } else {
        param = moduleParam(byId, mod.path, row.key);
        if (!param) continue;
        const st = step.params[param.name];
        v = phase === "update" && st ? st.before : param.value;
      }
      writeRow(tpl, row, v, param ? Math.max(valueChars(param.shape), NUM_WIDTH) : NUM_WIDTH);
    }
  }
}

function moduleParam(byId, path, key) {
  return (
    byId.get(`param:${path}.${key}`) ||
    [...byId.values()].find((n) => n.kind === "param" && (n.name === `${path}.${key}` || n.name === key)) ||
    null
  );
}

function writeRow(tpl, row, v, chars) {
  const text = fmtPreview(v, chars);
  if (row.last !== text) {
    row.valT.textContent = text;
    row.last = text;
  }
  const fill = v === null || v === undefined ? tpl.mutedFill : row.fill;
  if (fill && row.valT.getAttribute("fill") !== fill) row.valT.setAttribute("fill", fill);
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
