// The L(w) chart: PyTorch's loss of the step's sample over a grid of w (the run summary's `curve`), with the
// step's point and the tangent of this step's gradient; the note under it is the server's text.

import { axes, css } from "./chart-axes.js";
import { Chart } from "./chart.js";
import { t } from "./i18n.js";

export class CurveChart {
  constructor(fig) {
    this.fig = fig;
    this.chart = new Chart(fig);
    this.model = null; // the summary's curve, while the run has one
  }

  build(c) {
    this.fig.hidden = !c;
    this.model = c;
    if (!c) {
      this.chart.destroy();
      return;
    }
    this.ws = Float64Array.from(c.w);
    this.wRange = [c.view[0], c.view[1]]; // a diverging run opens on its first epochs (see update)
    document.getElementById("curve-title").textContent = t("charts.curve", { w: c.param });
    const lossRange = (u, mn, mx) => [Math.min(0, mn), Math.max(mx, 1e-9) * 1.05];
    this.chart.create(
      {
        axes: axes("linear", c.param, "charts.axis.loss"),
        scales: { x: { time: false, range: () => this.wRange }, y: { range: lossRange } },
        series: [
          {},
          { label: "L", stroke: css("--op"), width: 2, points: { show: false } },
          { label: "tangent", stroke: css("--grad"), width: 1.5, dash: [5, 4], points: { show: false } },
          {
            label: "now",
            stroke: css("--loss"),
            width: 0,
            paths: () => null,
            points: { show: true, size: 9, stroke: css("--loss"), fill: css("--loss") },
          },
        ],
        cursor: { show: false },
      },
      [this.ws, ...[0, 1, 2].map(() => new Array(this.ws.length).fill(null))],
    );
    this.chart.line.remove();
  }

  /** The sample's curve with the step's point and tangent: the loss and the slope are this step's, from PyTorch. */
  update(step, phase, labels) {
    const c = this.model;
    const p = step.params[c.param];
    const ys = c.loss[step.sample];
    if (!p || !ys || !this.chart.u) return;
    const unwrap = (v) => {
      let x = v;
      while (Array.isArray(x)) x = x[0];
      return typeof x === "number" ? x : Number(x);
    };
    const w0 = unwrap(p.before);
    const L0 = unwrap(step.loss);
    this.widenTo(w0);
    // the slope is PyTorch's: this step's own gradient (equal to w.grad when zero_grad is on)
    const g = unwrap(p.grad_step !== null && p.grad_step !== undefined ? p.grad_step : p.grad);
    const showTangent = phase !== "forward" && Number.isFinite(g) && Number.isFinite(L0);
    const span = (this.wRange[1] - this.wRange[0]) * 0.22;
    // the step's w joins the grid, where the point sits at the step's loss (the curve's own value there)
    const ws = this.ws;
    const on = Number.isFinite(w0) && Number.isFinite(L0);
    const after = ws.findIndex((w) => w > w0);
    const cut = on && after >= 0 ? after : ws.length;
    const xs = on ? [...ws.slice(0, cut), w0, ...ws.slice(cut)] : [...ws];
    const curve = on ? [...ys.slice(0, cut), L0, ...ys.slice(cut)] : [...ys];
    const tan = xs.map((w) => (showTangent && Math.abs(w - w0) <= span ? L0 + g * (w - w0) : null));
    const pt = xs.map((_, i) => (on && i === cut ? L0 : null));
    this.chart.u.setData([xs, curve, tan, pt]); // scales again: the x range may have widened
    const said = labels && labels.numbers.params[c.param];
    const gText = said ? said.slope : "…"; // the server's text of PyTorch's number
    const note = document.getElementById("curve-note");
    const s = t("charts.curve.note", { w: c.param, g: gText });
    if (note.textContent !== s) note.textContent = s;
  }

  /** w left the picture (a diverging run): widen it around the new w, up to the whole curve the server sent
   * (a w beyond that has run away: the picture shows all of the curve, without the point). */
  widenTo(w0) {
    const [lo, hi] = this.wRange;
    const first = this.ws[0];
    const last = this.ws[this.ws.length - 1];
    if (Number.isNaN(w0) || (w0 >= lo && w0 <= hi)) return;
    if (!Number.isFinite(w0)) {
      this.wRange = [first, last];
      return;
    }
    const pad = (Math.max(hi, w0) - Math.min(lo, w0)) * 0.15;
    this.wRange = [Math.max(first, Math.min(lo, w0 - pad)), Math.min(last, Math.max(hi, w0 + pad))];
  }

  clear() {
    this.chart.destroy();
    this.fig.hidden = true;
    this.model = null;
  }
}
