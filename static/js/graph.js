// The graph: the server's SVG for a (phase, theme, language, collapse, template), parsed once, then patched in
// place for every step with the server's own strings (labels.js). The layout never changes within a run and the
// server sizes every box for the widest value of any step, so playback only rewrites slot texts and never asks
// for a picture per step; a step whose template id is new gets its SVG fetched once. Pan and zoom change the
// viewBox only (viewport.js), so all templates share one view and text stays crisp at every zoom.

import { stats, urls } from "./api.js";
import { focusNode, neighbour, Template } from "./graph-template.js";
import { pathsToLoss, patchStep } from "./patcher.js";
import { Viewport } from "./viewport.js";

export { titleOf } from "./graph-template.js";

export class GraphView {
  constructor(viewport, { onSelect, onTemplate, onError }) {
    this.el = viewport;
    this.onTemplate = onTemplate; // a template arrived: draw again
    this.onError = onError;
    this.viewport = new Viewport(viewport, (id) => onSelect(id));
    this.onSelect = onSelect;
    // the graph holds nodes one can Tab to and press: a group of them, not one image (an image's parts are hidden)
    viewport.setAttribute("role", "group");
    viewport.addEventListener("keydown", (e) => this.nodeKey(e));
    this.runId = null;
    this.templates = new Map(); // key -> Template
    this.pending = new Map(); // key -> Promise
    this.current = null;
    this.collapse = []; // module paths drawn as one box each (graph.svg?collapse=)
    this.expand = []; // module paths opened (graph.svg?expand=)
    this.shape = null; // "tall": the server lays the graph out closest to 3:4 (a phone held upright)
  }

  /** The layout's shape for the viewport: a change fetches the pictures again (the steps' strings stay). */
  setShape(shape) {
    if (this.shape === shape) return false;
    this.shape = shape;
    return true;
  }

  setCollapse(paths, expand = []) {
    this.collapse = [...paths].sort();
    this.expand = [...expand].sort();
  }

  /** The modules the picture on screen draws as one box each, as the server says (svg data-collapse); null
   * before any picture. Big graphs open collapsed without being asked, so this is not `collapse`. */
  drawnCollapse() {
    if (!this.current) return null;
    return (this.current.svg.dataset.collapse || "").split(",").filter(Boolean);
  }

  setRun(runId) {
    if (this.runId === runId) return;
    this.runId = runId;
    this.templates.clear();
    this.pending.clear();
    if (this.current) this.current.svg.remove();
    this.current = null;
  }

  /** The picture's fit: presenter mode's style (larger type, no in-picture header) while the page is in it,
   * else the viewport's shape. The same slots either way, so the same labels fill both. */
  fitOf() {
    return document.documentElement.classList.contains("classroom") ? "stage" : this.shape;
  }

  keyOf(phase, theme, lang, template) {
    const modules = `${this.collapse.join(",")}|${this.expand.join(",")}`;
    return `${phase}|${theme}|${lang}|${modules}|${this.fitOf() || ""}|${template}`;
  }

  /** Fetch (once) the SVG of step k as the template `template`; resolves when it is ready. */
  ensure(k, phase, theme, lang, template) {
    const key = this.keyOf(phase, theme, lang, template);
    if (this.templates.has(key)) return Promise.resolve(this.templates.get(key));
    if (this.pending.has(key)) return this.pending.get(key);
    const runId = this.runId;
    const url = urls.image(runId, k, "svg", phase, theme, this.collapse, lang, this.fitOf(), this.expand);
    const p = (async () => {
      stats.requests += 1;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`graph.svg: HTTP ${res.status}`);
      const text = await res.text();
      if (runId !== this.runId) return null;
      const root = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
      if (root.nodeName !== "svg") throw new Error("graph.svg: not an SVG");
      const tpl = new Template(document.importNode(root, true));
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

  /**
   * Draw `step` with its `labels` in view.phase. Returns false while its template is on its way (the picture
   * on screen stays). view: {theme, lang, reveal, selected, quick}.
   */
  draw(step, labels, phase, view) {
    const ph = labels.phases[phase];
    if (!ph) return false;
    const tpl = this.templates.get(this.keyOf(phase, view.theme, view.lang, ph.template));
    if (!tpl) {
      this.ensure(step.step, phase, view.theme, view.lang, ph.template).catch(() => {});
      return false;
    }
    let refocus = null; // a node with focus keeps it when the picture changes (another phase's template)
    if (this.current !== tpl) {
      const had = this.current && document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("g.node")
        : null;
      if (had && this.current.svg.contains(had)) refocus = had.dataset.nodeId;
      if (this.current) this.current.svg.replaceWith(tpl.svg);
      else this.el.appendChild(tpl.svg);
      this.current = tpl;
      this.viewport.attach(tpl.svg, { w: tpl.width, h: tpl.height });
    }
    const onPath = view.selected ? pathsToLoss(step, view.selected) : null;
    const collapsed = Boolean(tpl.svg.dataset.collapse); // the server drew module boxes: edges rerouted to them
    patchStep(tpl, step, ph, { ...view, phase, onPath, collapsed });
    if (refocus) focusNode(tpl, refocus);
    return true;
  }

  /** Keys on a focused node: Tab and Shift+Tab walk the nodes in autograd's order (past either end, out of the
   * graph, as the browser does), Enter or Space selects the node as a click does (and opens the inspector). */
  nodeKey(e) {
    const g = e.target && e.target.closest ? e.target.closest("g.node") : null;
    if (!g || !this.current || !this.current.svg.contains(g) || e.altKey || e.ctrlKey || e.metaKey) return;
    const id = g.dataset.nodeId;
    if (e.key === "Enter" || e.key === " " || e.key === "Spacebar") {
      e.preventDefault();
      e.stopPropagation(); // Space on a node selects it; it does not play
      this.onSelect(id);
      return;
    }
    if (e.key !== "Tab") return;
    const next = neighbour(this.current, id, e.shiftKey ? -1 : 1);
    if (next === null) return;
    e.preventDefault();
    focusNode(this.current, next);
  }

  fit() {
    this.viewport.fit();
  }

  zoomBy(f) {
    this.viewport.zoomBy(f);
  }

  /** Width over height of the drawn graph (1 before any). */
  aspect() {
    return this.current ? this.current.width / this.current.height : 1;
  }

  /** The smallest text of the drawn graph at Fit, in CSS pixels. */
  textPxAtFit() {
    return this.current && this.viewport.canvas ? this.current.minFont * this.viewport.fitScale() : Infinity;
  }
}
