// The graph's template: the server's SVG for one (phase, theme, collapse, line set), parsed once, with the
// elements that change from step to step found by class and data attribute (nodes, value lines, edges, chains).

import { fmtFull, fmtPair, isScalarShape, NUM_WIDTH, PREVIEW_WIDTH } from "./format.js";
import { SVG_WORDS } from "./i18n.js";


export const KEY_VALUE = "value";
export const KEY_GRAD = "grad";
export const KEY_STEP = "this step";
export const KEY_BEFORE = "before";
export const KEY_AFTER = "after";

export const PHASE_TEXT = {
  forward: "forward pass: values",
  backward: "backward pass: values and gradients dL/d(node)",
  update: "update: parameters before → after",
};

export function valueChars(shape) {
  return !shape || !shape.length || isScalarShape(shape) ? NUM_WIDTH : PREVIEW_WIDTH;
}

export function titleOf(node) {
  if (node.kind === "op") return node.op || node.grad_fn || "op";
  if (node.kind === "const") return node.name || "const";
  return node.name || node.kind;
}

/** The lines a node shows in a phase: a port of app/render/labels.py node_label. */
export function nodeLines(node, phase, param) {
  const lines = [];
  const push = (key, value, role = "value", text = null) =>
    lines.push({ key, value, text, role: value === null || value === undefined ? "muted" : role });
  if (node.kind === "param") {
    let value = node.value;
    let grad = node.grad;
    let stepGrad = node.grad_step;
    const update = phase === "update" && param ? fmtPair(param.before, param.after) : null;
    if (phase === "update" && param) {
      value = param.before;
      grad = param.grad;
      stepGrad = param.grad_step;
    }
    if (phase === "forward") {
      push(KEY_VALUE, value);
    } else {
      push(phase === "update" ? KEY_BEFORE : KEY_VALUE, value, "value", update && update[0]);
      if (stepGrad !== null && stepGrad !== undefined && fmtFull(stepGrad) !== fmtFull(grad)) push(KEY_STEP, stepGrad, "grad");
      push(KEY_GRAD, grad, "grad");
      if (phase === "update") push(KEY_AFTER, param ? param.after : null, "value", update && update[1]);
    }
  } else {
    push(KEY_VALUE, node.value);
    if (node.kind === "op" && phase !== "forward") push(KEY_GRAD, node.grad, "grad");
  }
  return lines;
}

export function signature(step, phase) {
  if (phase === "forward") return "";
  const parts = [];
  for (const n of step.graph.nodes) {
    if (n.kind !== "param") continue;
    const keys = nodeLines(n, phase, step.params[n.name]).map((l) => l.key);
    if (keys.includes(KEY_STEP)) parts.push(n.id);
  }
  return parts.join(",");
}

export function edgeLabelled(edge, phase) {
  return phase === "backward" && !(edge.grad === null && edge.upstream === null);
}

export class Template {
  constructor(svg, phase, theme) {
    this.svg = svg;
    this.phase = phase;
    this.theme = theme;
    this.lang = "en";
    const vb = svg.viewBox.baseVal;
    this.width = vb && vb.width ? vb.width : Number(svg.getAttribute("width"));
    this.height = vb && vb.height ? vb.height : Number(svg.getAttribute("height"));
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    this.svgTitle = svg.querySelector(":scope > title");
    const header = svg.querySelectorAll("g.header > text");
    this.headTitle = header[0] || null;
    this.headSub = header[1] || null;
    this.nodes = new Map();
    for (const g of svg.querySelectorAll("g.node")) {
      const lines = new Map();
      for (const text of g.querySelectorAll("text[class^='k-']")) {
        const tspans = text.querySelectorAll("tspan");
        lines.set(text.getAttribute("class").slice(2).replace(/-/g, " "), {
          text,
          keyT: tspans[0],
          valT: tspans[1],
          fill: tspans[1] ? tspans[1].getAttribute("fill") : null,
          last: null,
        });
      }
      const title = g.querySelector(":scope > title");
      this.nodes.set(g.dataset.nodeId, {
        g,
        lines,
        title,
        head: title ? title.textContent.split("\n")[0] : "",
        lastTip: null,
        cls: "",
      });
    }
    this.edges = [...svg.querySelectorAll("g.edge")].map((g) => {
      const title = g.querySelector(":scope > title");
      return { g, title, lastTip: null, cls: "", chain: null, key: edgeKeyOf(g) };
    });
    this.byEnds = new Map(); // "source|target|slot" -> edge entry, when the SVG names the ends
    for (const e of this.edges) if (e.key) this.byEnds.set(e.key, e);
    this.chains = [...svg.querySelectorAll("g.chain")];
    this.chainsMapped = false;
    // collapsed modules: one box for many nodes, one group of rows per parameter
    this.modules = [...svg.querySelectorAll("g.node.module")].map((g) => ({
      g,
      path: g.dataset.module || "",
      rows: [...g.querySelectorAll("text[class^='k-']")].map((text) => {
        const tspans = text.querySelectorAll("tspan");
        const keyT = tspans[0];
        return { key: keyT ? keyT.textContent.trim() : "", keyT, valT: tspans[1], fill: tspans[1] ? tspans[1].getAttribute("fill") : null, last: null };
      }),
    }));
    this.words = [...svg.querySelectorAll("g.legend text, g.header text, text[class^='k-'] > tspan:first-child")].map(
      (el) => ({ el, en: el.textContent }),
    );
    this.mutedFill = (svg.querySelector("text[class^='k-'] > tspan") || {}).getAttribute?.("fill") || "#6b6b6b";
    // the smallest type in the picture, in SVG units (how readable it is at a scale)
    const sizes = [...svg.querySelectorAll("text[font-size]")].map((el) => Number(el.getAttribute("font-size")));
    this.minFont = sizes.length ? Math.min(...sizes) : 12;
  }

  /** The entry of a step's edge i: by its ends when the SVG names them, else by position (no collapsed modules). */
  edgeAt(edge, i) {
    if (this.byEnds.size) return this.byEnds.get(`${edge.source}|${edge.target}|${edge.slot}`) || null;
    return this.edges[i] || null;
  }

  mapChains(step) {
    if (this.chainsMapped) return;
    this.chainsMapped = true;
    const keyed = this.chains.filter((g) => edgeKeyOf(g));
    if (keyed.length && keyed.length === this.chains.length) {
      for (const g of this.chains) {
        const entry = this.byEnds.get(edgeKeyOf(g));
        if (entry) entry.chain = { g, vals: [...g.querySelectorAll("text > tspan:last-child")], last: [], cls: "" };
      }
      return;
    }
    const labelled = step.graph.edges.map((e, i) => (edgeLabelled(e, this.phase) ? i : -1)).filter((i) => i >= 0);
    if (labelled.length !== this.chains.length) return; // the renderer found no room for some label: no reveal on chains
    labelled.forEach((edgeIndex, j) => {
      const g = this.chains[j];
      this.edges[edgeIndex].chain = { g, vals: [...g.querySelectorAll("text > tspan:last-child")], last: [], cls: "" };
    });
  }

  translate(lang) {
    if (this.lang === lang) return;
    this.lang = lang;
    const words = SVG_WORDS[lang] || {};
    for (const w of this.words) {
      if (w.el === this.headTitle || w.el === this.headSub) continue;
      const s = words[w.en] ?? w.en;
      if (w.el.textContent !== s) w.el.textContent = s;
    }
  }
}

function edgeKeyOf(g) {
  const d = g.dataset;
  return d.source !== undefined && d.target !== undefined ? `${d.source}|${d.target}|${d.slot ?? ""}` : null;
}

export function setText(el, s) {
  if (el && el.textContent !== s) el.textContent = s;
}

export function setClass(entry, el, cls) {
  if (entry.cls === cls) return;
  if (entry.cls) for (const c of entry.cls.split(" ")) el.classList.remove(c);
  if (cls) for (const c of cls.split(" ")) el.classList.add(c);
  entry.cls = cls;
}

