// The graph: the server's SVG for a (phase, theme), parsed once, then patched in place for every step.
//
// Why in place: the layout never changes within a run (app/render reuses one layout per topology), so only
// the numbers do. Playback rewrites the text of the value tspans from prefetched step JSON, formatted exactly
// as the server formats them (format.js ports app/render/format.py), and never asks the server for a picture
// per step. A node whose set of lines differs from the template (gradient accumulation adds "this step")
// gets its exact template fetched once and cached. Pan and zoom change the viewBox only, so all templates
// share one view and text stays crisp at every zoom.

import { stats, urls } from "./api.js";
import { fmtFull, fmtNum, fmtPair, fmtPreview, isScalarShape, NUM_WIDTH, PREVIEW_WIDTH } from "./format.js";
import { getLang, SVG_WORDS } from "./i18n.js";

const KEY_VALUE = "value";
const KEY_GRAD = "grad";
const KEY_STEP = "this step";
const KEY_BEFORE = "before";
const KEY_AFTER = "after";

const PHASE_TEXT = {
  forward: "forward pass: values",
  backward: "backward pass: values and gradients dL/d(node)",
  update: "update: parameters before → after",
};

function valueChars(shape) {
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

function signature(step, phase) {
  if (phase === "forward") return "";
  const parts = [];
  for (const n of step.graph.nodes) {
    if (n.kind !== "param") continue;
    const keys = nodeLines(n, phase, step.params[n.name]).map((l) => l.key);
    if (keys.includes(KEY_STEP)) parts.push(n.id);
  }
  return parts.join(",");
}

function edgeLabelled(edge, phase) {
  return phase === "backward" && !(edge.grad === null && edge.upstream === null);
}

class Template {
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

function setText(el, s) {
  if (el && el.textContent !== s) el.textContent = s;
}

function setClass(entry, el, cls) {
  if (entry.cls === cls) return;
  if (entry.cls) for (const c of entry.cls.split(" ")) el.classList.remove(c);
  if (cls) for (const c of cls.split(" ")) el.classList.add(c);
  entry.cls = cls;
}

/** Pan and zoom by viewBox, shared by every template of the run. Written by hand: see static/vendor/README.md. */
class Viewport {
  constructor(el, onClickNode) {
    this.el = el;
    this.onClickNode = onClickNode;
    this.canvas = null; // {w, h}
    this.view = null; // {x, y, w, h} in SVG units, aspect = element aspect
    this.svg = null;
    this.pointers = new Map();
    this.drag = null;
    el.addEventListener("pointerdown", (e) => this.down(e));
    el.addEventListener("pointermove", (e) => this.move(e));
    el.addEventListener("pointerup", (e) => this.up(e));
    el.addEventListener("pointercancel", (e) => this.up(e, true));
    el.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    el.addEventListener("dblclick", (e) => {
      if (!e.target.closest("g.node")) this.fit();
    });
    el.addEventListener("keydown", (e) => {
      if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
      else if (e.key === "-" || e.key === "_") this.zoomBy(0.8);
      else if (e.key === "0") this.fit();
      else return;
      e.preventDefault();
    });
    new ResizeObserver(() => this.resize()).observe(el);
  }

  size() {
    return { w: this.el.clientWidth || 1, h: this.el.clientHeight || 1 };
  }

  attach(svg, canvas) {
    this.svg = svg;
    this.fitHeight(canvas);
    const changed = !this.canvas || this.canvas.w !== canvas.w || this.canvas.h !== canvas.h;
    this.canvas = canvas;
    if (changed || !this.view) this.fit();
    else this.apply();
  }

  /** Size the viewport to the picture: as tall as the graph needs at full width, within bounds. */
  fitHeight(canvas) {
    const w = this.el.clientWidth || 800;
    const want = (w * canvas.h) / canvas.w + 16;
    const h = Math.round(Math.max(300, Math.min(want, window.innerHeight * 0.68, 760)));
    this.el.parentElement.style.setProperty("--graph-h", `${h}px`);
  }

  fit() {
    if (!this.canvas) return;
    const { w, h } = this.size();
    const pad = 8;
    const scale = Math.min((w - 2 * pad) / this.canvas.w, (h - 2 * pad) / this.canvas.h);
    const vw = w / scale;
    const vh = h / scale;
    this.view = { x: (this.canvas.w - vw) / 2, y: (this.canvas.h - vh) / 2, w: vw, h: vh };
    this.apply();
  }

  scale() {
    return this.size().w / this.view.w;
  }

  fitScale() {
    const { w, h } = this.size();
    return Math.min(w / this.canvas.w, h / this.canvas.h);
  }

  resize() {
    if (!this.view) return;
    const { w, h } = this.size();
    const s = this.view.w ? this.lastW / this.view.w : 1;
    if (!this.lastW || !s) {
      this.fit();
    } else {
      const cx = this.view.x + this.view.w / 2;
      const cy = this.view.y + this.view.h / 2;
      const vw = w / s;
      const vh = h / s;
      this.view = { x: cx - vw / 2, y: cy - vh / 2, w: vw, h: vh };
      this.apply();
    }
  }

  apply() {
    if (!this.view || !this.svg) return;
    this.lastW = this.size().w;
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x.toFixed(2)} ${v.y.toFixed(2)} ${v.w.toFixed(2)} ${v.h.toFixed(2)}`);
  }

  zoomAt(factor, px, py) {
    if (!this.view) return;
    const min = this.fitScale() * 0.3;
    const max = Math.max(this.fitScale() * 12, 6);
    const s = this.scale();
    const ns = Math.min(max, Math.max(min, s * factor));
    const f = ns / s;
    const ux = this.view.x + px / s;
    const uy = this.view.y + py / s;
    const vw = this.view.w / f;
    const vh = this.view.h / f;
    this.view = { x: ux - px / ns, y: uy - py / ns, w: vw, h: vh };
    this.apply();
  }

  zoomBy(f) {
    const { w, h } = this.size();
    this.zoomAt(f, w / 2, h / 2);
  }

  local(e) {
    const r = this.el.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  down(e) {
    if (e.button !== undefined && e.button !== 0) return;
    this.pointers.set(e.pointerId, this.local(e));
    if (this.pointers.size === 1) {
      const p = this.local(e);
      this.drag = { x: p.x, y: p.y, view: { ...this.view }, moved: false, target: e.target, id: e.pointerId };
    } else if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      this.pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) };
      if (this.drag) this.drag.moved = true;
    }
  }

  move(e) {
    if (!this.pointers.has(e.pointerId)) return;
    const p = this.local(e);
    this.pointers.set(e.pointerId, p);
    if (this.pointers.size === 2 && this.pinch) {
      const [a, b] = [...this.pointers.values()];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      if (this.pinch.d > 0) this.zoomAt(d / this.pinch.d, (a.x + b.x) / 2, (a.y + b.y) / 2);
      this.pinch.d = d;
      return;
    }
    const dr = this.drag;
    if (!dr || !this.view) return;
    const dx = p.x - dr.x;
    const dy = p.y - dr.y;
    if (!dr.moved && Math.hypot(dx, dy) < 4) return;
    if (!dr.moved) {
      dr.moved = true;
      this.el.classList.add("dragging");
      this.el.setPointerCapture?.(e.pointerId);
    }
    const s = this.scale();
    this.view = { ...this.view, x: dr.view.x - dx / s, y: dr.view.y - dy / s };
    this.apply();
  }

  up(e, cancelled = false) {
    this.pointers.delete(e.pointerId);
    if (this.pointers.size < 2) this.pinch = null;
    const dr = this.drag;
    if (!dr || dr.id !== e.pointerId) return;
    this.drag = null;
    this.el.classList.remove("dragging");
    if (!dr.moved && !cancelled) {
      const g = dr.target && dr.target.closest ? dr.target.closest("g.node") : null;
      this.onClickNode(g ? g.dataset.nodeId : null);
    }
  }

  wheel(e) {
    if (!this.view) return;
    e.preventDefault();
    const p = this.local(e);
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    this.zoomAt(Math.exp(-delta * 0.0015), p.x, p.y);
  }
}

export class GraphView {
  constructor(viewport, { onSelect, onTemplate, onError }) {
    this.el = viewport;
    this.onTemplate = onTemplate; // a template arrived: draw again
    this.onError = onError;
    this.viewport = new Viewport(viewport, (id) => onSelect(id));
    this.runId = null;
    this.templates = new Map(); // key -> Template
    this.pending = new Map(); // key -> Promise
    this.current = null;
    this.lastDrawn = null;
    this.collapse = []; // module paths drawn as one box each (graph.svg?collapse=)
  }

  /** Modules to draw collapsed; templates of another set are kept (switching back is instant). */
  setCollapse(paths) {
    this.collapse = [...paths].sort();
  }

  keyOf(step, phase, theme) {
    return `${phase}|${theme}|${this.collapse.join(",")}|${signature(step, phase)}`;
  }

  setRun(runId) {
    if (this.runId === runId) return;
    this.runId = runId;
    this.templates.clear();
    this.pending.clear();
    this.clear();
  }

  clear() {
    if (this.current) this.current.svg.remove();
    this.current = null;
    this.lastDrawn = null;
  }

  /** Fetch (once) the template for this step's structure; resolves when it is ready. */
  ensure(step, phase, theme) {
    const key = this.keyOf(step, phase, theme);
    if (this.templates.has(key)) return Promise.resolve(this.templates.get(key));
    if (this.pending.has(key)) return this.pending.get(key);
    const runId = this.runId;
    const url = urls.image(runId, step.step, "svg", phase, theme, this.collapse);
    const p = (async () => {
      stats.requests += 1;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`graph.svg: HTTP ${res.status}`);
      const text = await res.text();
      if (runId !== this.runId) return null;
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      const root = doc.documentElement;
      if (root.nodeName !== "svg") throw new Error("graph.svg: not an SVG");
      const svg = document.importNode(root, true);
      const tpl = new Template(svg, phase, theme);
      this.templates.set(key, tpl);
      return tpl;
    })();
    this.pending.set(key, p);
    p.then(
      (tpl) => {
        this.pending.delete(key);
        if (tpl) this.onTemplate();
      },
      (err) => {
        this.pending.delete(key);
        this.onError(err);
      },
    );
    return p;
  }

  /** The best template we have now: the exact one, or another of the same phase and theme meanwhile. */
  pick(step, phase, theme) {
    const key = this.keyOf(step, phase, theme);
    const exact = this.templates.get(key);
    if (exact) return exact;
    this.ensure(step, phase, theme).catch(() => {});
    const prefix = `${phase}|${theme}|${this.collapse.join(",")}|`;
    for (const [k, tpl] of this.templates) {
      if (k.startsWith(prefix)) return tpl;
    }
    return null;
  }

  /**
   * Draw `step` in `phase`. `reveal`: in the backward phase, how many nodes autograd has visited
   * (null = all). `selected`: a node id. Returns false while no template is ready yet.
   */
  draw(step, phase, { theme, reveal = null, selected = null, quick = false }) {
    const tpl = this.pick(step, phase, theme);
    if (!tpl) return false;
    if (this.current !== tpl) {
      if (this.current) this.current.svg.replaceWith(tpl.svg);
      else this.el.appendChild(tpl.svg);
      this.current = tpl;
      this.viewport.attach(tpl.svg, { w: tpl.width, h: tpl.height });
    }
    tpl.translate(getLang());
    tpl.mapChains(step);
    this.patch(tpl, step, phase, reveal, selected, quick);
    this.lastDrawn = { step: step.step, phase, reveal, selected };
    return true;
  }

  /** quick: during playback, leave the tooltips (<title>) for later (drawn again on pause). */
  patch(tpl, step, phase, reveal, selected, quick = false) {
    const lang = getLang();
    const words = SVG_WORDS[lang] || {};
    // header
    let title = `Step ${step.step} · epoch ${step.epoch}`;
    if (step.sample !== null && step.sample !== undefined) title += ` · sample ${step.sample}`;
    let sub = PHASE_TEXT[phase];
    const lossText = Array.isArray(step.loss) && step.loss.length > 1 ? fmtPreview(step.loss) : fmtNum(Array.isArray(step.loss) ? step.loss[0] : step.loss);
    if (step.loss !== null && step.loss !== undefined) sub += `  ·  loss ${lossText}`;
    if (lang === "zh") {
      title = `第 ${step.step} 步 · 第 ${step.epoch} 轮` + (step.sample !== null && step.sample !== undefined ? ` · 样本 ${step.sample}` : "");
      sub = (words[PHASE_TEXT[phase]] || PHASE_TEXT[phase]) + (step.loss !== null ? `  ·  损失 ${lossText}` : "");
    }
    setText(tpl.headTitle, title);
    setText(tpl.headSub, sub);
    let svgTitle = `backprop-lens: autograd graph, step ${step.step} (epoch ${step.epoch}`;
    svgTitle += step.sample !== null && step.sample !== undefined ? `, sample ${step.sample})` : ")";
    if (step.loss !== null) svgTitle += `, loss ${fmtFull(step.loss)}`;
    if (!quick) setText(tpl.svgTitle, `${svgTitle}, ${phase} phase`);

    const byId = new Map();
    const walking = phase === "backward" && reveal !== null;
    for (const node of step.graph.nodes) {
      byId.set(node.id, node);
      const entry = tpl.nodes.get(node.id);
      if (!entry) continue;
      const param = node.kind === "param" && node.name ? step.params[node.name] : null;
      const lines = nodeLines(node, phase, param);
      const chars = Math.max(valueChars(node.shape), NUM_WIDTH);
      const tip = quick ? null : [entry.head];
      for (const ln of lines) {
        const slot = entry.lines.get(ln.key);
        if (tip) tip.push(`${ln.key}: ${fmtFull(ln.value)}`);
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
      let cls = "";
      if (walking && node.order !== null && node.order !== undefined) {
        if (node.order >= reveal) cls = "lens-pending";
        else if (node.order === reveal - 1) cls = "lens-current";
      }
      if (node.id === selected) cls = cls ? `${cls} lens-selected` : "lens-selected";
      setClass(entry, entry.g, cls);
    }
    this.patchModules(tpl, step, phase, byId);
    step.graph.edges.forEach((edge, i) => {
      const entry = tpl.edgeAt(edge, i);
      if (!entry) return;
      const src = byId.get(edge.source);
      const tgt = byId.get(edge.target);
      let cls = "";
      if (walking && tgt && tgt.order !== null && tgt.order !== undefined) {
        if (tgt.order >= reveal) cls = "lens-pending";
        else if (tgt.order === reveal - 1) cls = "lens-current";
      }
      setClass(entry, entry.g, cls);
      if (!edgeLabelled(edge, phase) || !src || !tgt) return;
      if (!quick) {
        const st = `${titleOf(src)} → ${titleOf(tgt)} (input ${edge.slot})`;
        const tip =
          `${st}\nupstream dL/d(${titleOf(tgt)}): ${fmtFull(edge.upstream)}\n` +
          `local d(${titleOf(tgt)})/d(${titleOf(src)}): ${fmtFull(edge.local)}\n` +
          `downstream gradient: ${fmtFull(edge.grad)}`;
        if (entry.title && entry.lastTip !== tip) {
          entry.title.textContent = tip;
          entry.lastTip = tip;
        }
      }
      const chain = entry.chain;
      if (!chain) return;
      const chars = Math.max(
        valueChars(src.shape) === NUM_WIDTH && valueChars(tgt.shape) === NUM_WIDTH ? NUM_WIDTH : PREVIEW_WIDTH,
        NUM_WIDTH,
      );
      [edge.upstream, edge.local, edge.grad].forEach((v, j) => {
        const s = fmtPreview(v, chars);
        if (chain.last[j] !== s && chain.vals[j]) {
          chain.vals[j].textContent = s;
          chain.last[j] = s;
        }
      });
      setClass(chain, chain.g, cls === "lens-pending" ? "lens-pending" : "");
    });
  }

  /**
   * A collapsed module's box: per parameter a row "name: value", then "grad" and "after" rows (as
   * app/render/labels.py module_label writes them). Rows are matched by their key, so the order is the SVG's.
   */
  patchModules(tpl, step, phase, byId) {
    if (!tpl.modules.length) return;
    for (const mod of tpl.modules) {
      let param = null;
      for (const row of mod.rows) {
        if (!row.keyT || !row.valT) continue;
        const key = row.key; // as the server wrote it (the language toggle may have translated the text)
        let v;
        if (key === KEY_GRAD || key === KEY_AFTER) {
          if (!param) continue;
          const st = step.params[param.name];
          v = key === KEY_GRAD ? (phase === "update" && st ? st.grad : param.grad) : st ? st.after : null;
        } else {
          param =
            byId.get(`param:${mod.path}.${key}`) ||
            [...byId.values()].find((n) => n.kind === "param" && (n.name === `${mod.path}.${key}` || n.name === key)) ||
            null;
          if (!param) continue;
          const st = step.params[param.name];
          v = phase === "update" && st ? st.before : param.value;
        }
        const chars = param ? Math.max(valueChars(param.shape), NUM_WIDTH) : NUM_WIDTH;
        const text = fmtPreview(v, chars);
        if (row.last !== text) {
          row.valT.textContent = text;
          row.last = text;
        }
        const fill = v === null || v === undefined ? tpl.mutedFill : row.fill;
        if (fill && row.valT.getAttribute("fill") !== fill) row.valT.setAttribute("fill", fill);
      }
    }
  }

  /** Text of every <text> in the drawn SVG (tests compare it with the server's own SVG of the step). */
  texts() {
    if (!this.current) return [];
    return [...this.current.svg.querySelectorAll("text")].map((t) => t.textContent);
  }

  fit() {
    this.viewport.fit();
  }

  zoomBy(f) {
    this.viewport.zoomBy(f);
  }
}
