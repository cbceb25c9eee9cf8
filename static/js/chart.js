// One uPlot chart in its figure: sized to its box, a line at the current step and one at the hovered step;
// clicking picks a step.

import uPlot from "../vendor/uPlot-1.6.32.esm.js";
import { axes } from "./chart-axes.js";

function place(u, line, x) {
  const px = x === null || !Number.isFinite(x) ? NaN : u.valToPos(x, "x");
  line.style.display = Number.isFinite(px) ? "" : "none";
  if (Number.isFinite(px)) line.style.transform = `translateX(${px}px)`;
}

export class Chart {
  constructor(fig, { height = 130, onPick = null, onHover = null } = {}) {
    this.fig = fig;
    this.plotEl = fig.querySelector(".plot");
    this.height = height;
    this.onPick = onPick;
    this.onHover = onHover; // the step under the pointer (-1 when it leaves)
    this.u = null;
    this.cursorX = null;
    this.hoverX = null;
    this.line = null;
    this.hoverLine = null;
    new ResizeObserver(() => {
      if (this.u && this.plotEl.clientWidth) this.u.setSize({ width: this.plotEl.clientWidth, height: this.height });
      this.placeCursor();
    }).observe(this.plotEl);
  }

  create(opts, data) {
    this.destroy();
    const width = this.plotEl.clientWidth || 340;
    this.u = new uPlot({ width, height: this.height, legend: { show: false }, axes: axes(), ...opts }, data, this.plotEl);
    this.line = document.createElement("div");
    this.line.className = "cursor-line";
    this.hoverLine = document.createElement("div");
    this.hoverLine.className = "cursor-line hover-line";
    this.u.over.append(this.line, this.hoverLine);
    if (this.onPick) {
      this.u.over.addEventListener("click", (e) => {
        const v = this.u.posToVal(e.offsetX, "x");
        if (Number.isFinite(v)) this.onPick(Math.round(v));
      });
    }
    if (this.onHover) {
      this.u.over.addEventListener("mousemove", (e) => {
        const v = this.u.posToVal(e.offsetX, "x");
        if (Number.isFinite(v)) this.onHover(Math.round(v));
      });
      this.u.over.addEventListener("mouseleave", () => this.onHover(-1));
    }
    this.placeCursor();
  }

  destroy() {
    if (this.u) this.u.destroy();
    this.u = null;
  }

  setCursor(x) {
    this.cursorX = x;
    this.placeCursor();
  }

  /** The step the pointer rests on (here, in another chart or in the log); null: none. */
  setHover(x) {
    if (this.hoverX === x) return;
    this.hoverX = x;
    this.placeCursor();
  }

  placeCursor() {
    if (!this.u || !this.line) return;
    place(this.u, this.line, this.cursorX);
    place(this.u, this.hoverLine, this.hoverX);
  }
}
