// Pan and zoom of the graph by viewBox, shared by every template of the run, so text stays crisp at every zoom.
// Written by hand (see static/vendor/README.md): pointer drag, pinch, wheel, keys, and Fit.

export class Viewport {
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

  /** Size the viewport to the picture: as tall as the graph needs at full width, within bounds (tall on a phone). */
  fitHeight(canvas) {
    const w = this.el.clientWidth || 800;
    const want = (w * canvas.h) / canvas.w + 16;
    const phone = window.innerWidth <= 760;
    const low = phone ? window.innerHeight * 0.55 : 300;
    const h = Math.round(Math.max(low, Math.min(want, window.innerHeight * (phone ? 0.62 : 0.68), 760)));
    document.documentElement.style.setProperty("--graph-h", `${h}px`);
  }

  fit() {
    if (!this.canvas) return;
    const { w, h } = this.size();
    const pad = 1; // the SVG has its own margin
    const scale = Math.min((w - 2 * pad) / this.canvas.w, (h - 2 * pad) / this.canvas.h);
    const vw = w / scale;
    const vh = h / scale;
    this.view = { x: (this.canvas.w - vw) / 2, y: (this.canvas.h - vh) / 2, w: vw, h: vh };
    this.atFit = true; // a resize fits again until the user pans or zooms
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
    // the panel's width may settle after the first picture arrived (fonts, the side column): its height follows
    if (this.canvas) this.fitHeight(this.canvas);
    if (this.atFit) {
      this.fit();
      return;
    }
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
    this.atFit = false;
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
    this.atFit = false;
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
