// The graph: the server's SVG for a (phase, theme), parsed once, then patched in place for every step.
//
// Why in place: the layout never changes within a run (app/render reuses one layout per topology), so only
// the numbers do. Playback rewrites the text of the value tspans from prefetched step JSON, formatted exactly
// as the server formats them (format.js ports app/render/format.py), and never asks the server for a picture
// per step. A node whose set of lines differs from the template (gradient accumulation adds "this step")
// gets its exact template fetched once and cached. Pan and zoom change the viewBox only, so all templates
// share one view and text stays crisp at every zoom.

import { stats, urls } from "./api.js";
import { signature, Template } from "./graph-template.js";
import { getLang } from "./i18n.js";
import { pathsToLoss, patchStep } from "./patcher.js";
import { Viewport } from "./viewport.js";

export { titleOf } from "./graph-template.js";

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
    const lang = getLang();
    tpl.translate(lang);
    tpl.mapChains(step);
    const onPath = selected ? pathsToLoss(step, selected) : null;
    patchStep(tpl, step, { phase, reveal, selected, quick, lang, onPath });
    this.lastDrawn = { step: step.step, phase, reveal, selected };
    return true;
  }

  /** Text of every <text> in the drawn SVG. */
  texts() {
    if (!this.current) return [];
    return [...this.current.svg.querySelectorAll("text")].map((t) => t.textContent);
  }

  fit() {
    this.viewport.fit();
  }

  /** Width over height of the drawn graph (1 before any). */
  aspect() {
    return this.current ? this.current.width / this.current.height : 1;
  }

  /** The smallest text of the drawn graph at Fit, in CSS pixels. */
  textPxAtFit() {
    return this.current && this.viewport.canvas ? this.current.minFont * this.viewport.fitScale() : Infinity;
  }

  zoomBy(f) {
    this.viewport.zoomBy(f);
  }
}
