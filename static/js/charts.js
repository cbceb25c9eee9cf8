// Charts with uPlot (vendored): loss, parameters, prediction over steps, and L(w) for one-parameter models.
// A cursor line follows the current step on every chart; clicking a chart jumps to that step.

import uPlot from "../vendor/uPlot-1.6.32.esm.js";
import { t } from "./i18n.js";

const SERIES_COLOURS = ["#e69f00", "#0072b2", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#7a7a7a"];

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function finiteOrNull(v) {
  return Number.isFinite(v) ? v : null;
}

function fmtTick(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

// tick steps from 1e-30 to 1e300: uPlot's defaults stop at 1e16, and a diverging run's axis had no labels at all
const INCRS = [];
for (let e = -30; e <= 300; e++) for (const m of [1, 2, 5]) INCRS.push(Number(`${m}e${e}`));

/** Ticks at powers of ten, at most ~5 of them (log axes of a run spanning 30 decades stay readable). */
function logSplits(u, i, min, max) {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const step = Math.max(1, Math.ceil((hi - lo) / 4));
  const out = [];
  for (let e = lo; e <= hi; e += step) out.push(10 ** e);
  return out.filter((v) => v >= min * 0.999 && v <= max * 1.001);
}

/** asinh axes: 0 and ± powers of ten. */
function asinhSplits(u, i, min, max) {
  const a = Math.max(Math.abs(min), Math.abs(max), 1);
  const top = Math.ceil(Math.log10(a));
  const step = Math.max(1, Math.ceil(top / 2));
  const out = [0];
  for (let e = top; e >= (top > 2 ? 1 : 0); e -= step) out.push(10 ** e, -(10 ** e));
  return out.filter((v) => v >= min && v <= max).sort((x, y) => x - y);
}

/** The axes of a chart; `x`, `y`: the axis titles (message keys, or a name as it is). */
function axes(kind = "linear", x = "charts.axis.step", y = "charts.axis.loss", ySpace = 30) {
  const stroke = css("--muted");
  const grid = { stroke: css("--border"), width: 1 };
  const all = (u, splits) => splits; // uPlot's log filter would hide all but a few of our ticks
  const ySplits =
    kind === "log" ? { splits: logSplits, filter: all } : kind === "asinh" ? { splits: asinhSplits, filter: all } : {};
  return [
    {
      stroke,
      grid,
      ticks: { stroke: grid.stroke, width: 1 },
      size: 28,
      font: "11px " + css("--font"),
      values: (u, vals) => vals.map(fmtTick),
      label: t(x),
      labelSize: 16,
      labelFont: "11px " + css("--font"),
    },
    {
      stroke,
      label: t(y),
      labelSize: 16,
      labelFont: "11px " + css("--font"),
      grid,
      ticks: { stroke: grid.stroke, width: 1 },
      size: kind === "asinh" ? 60 : 52,
      font: "11px " + css("--font"),
      incrs: INCRS,
      space: ySpace, // px between y ticks at the least
      values: (u, vals) => vals.map(fmtTick),
      ...ySplits,
    },
  ];
}

function place(u, line, x) {
  const px = x === null || !Number.isFinite(x) ? NaN : u.valToPos(x, "x");
  line.style.display = Number.isFinite(px) ? "" : "none";
  if (Number.isFinite(px)) line.style.transform = `translateX(${px}px)`;
}

class Chart {
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

export class Charts {
  constructor(root, { onPick, onHover }) {
    this.root = root;
    this.loss = new Chart(root.querySelector("#chart-loss"), { onPick, onHover });
    this.params = new Chart(root.querySelector("#chart-params"), { onPick, onHover });
    this.pred = new Chart(root.querySelector("#chart-pred"), { onPick, onHover });
    this.curveFig = root.querySelector("#chart-curve");
    this.curve = new Chart(this.curveFig);
    this.run = null;
    this.logScale = false;
  }

  /** The hovered step in every chart, and its numbers (the server's text) under them; k < 0: none. */
  showHover(k, labels) {
    const on = this.run !== null && k !== null && k >= 0;
    for (const c of [this.loss, this.params, this.pred]) c.setHover(on ? k : null);
    let text = "";
    if (on) {
      const loss = labels ? labels.numbers.loss : "…";
      const params = labels ? Object.entries(labels.numbers.params).map(([n, p]) => `${n} ${p.value}`) : [];
      text = [t("charts.hover", { k, loss }), ...params].join(" · ");
    }
    const el = document.getElementById("chart-hover");
    if (el.textContent !== text) el.textContent = text;
  }

  /** run: {meta, arrays} from the history worker. */
  setRun(run, logScale) {
    this.run = run;
    this.logScale = logScale;
    this.build();
  }

  setLog(logScale) {
    if (this.logScale === logScale) return;
    this.logScale = logScale;
    if (this.run) {
      this.buildLoss();
      this.buildParams();
      this.buildPred();
    }
  }

  /** Orders of magnitude the values grow from the first finite one to the largest (0 when they only fall). */
  growth(values) {
    let first = null;
    let hi = 0;
    for (const v of values) {
      const a = Math.abs(v);
      if (!Number.isFinite(a)) continue;
      if (first === null && a > 0) first = a;
      hi = Math.max(hi, a);
    }
    return first ? Math.max(0, Math.log10(hi / first)) : 0;
  }

  /** Orders of magnitude between the smallest positive and the largest finite value (0 when flat). */
  spanOf(values) {
    let lo = Infinity;
    let hi = 0;
    for (const v of values) {
      const a = Math.abs(v);
      if (Number.isFinite(a) && a > 0) {
        lo = Math.min(lo, a);
        hi = Math.max(hi, a);
      }
    }
    return hi > 0 && lo < Infinity ? Math.log10(hi / lo) : 0;
  }

  build() {
    if (!this.run) return;
    this.buildLoss();
    this.buildParams();
    this.buildPred();
    this.buildCurve();
    this.layoutGrid();
  }

  xs() {
    const n = this.run.arrays.loss.length;
    if (!this._xs || this._xs.length !== n) this._xs = Float64Array.from({ length: n }, (_, i) => i);
    return this._xs;
  }

  buildLoss() {
    const { arrays, meta } = this.run;
    const n = arrays.loss.length;
    const log = this.logScale;
    const clean = (v) => (Number.isFinite(v) && (!log || v > 0) ? v : null);
    const loss = Array.from(arrays.loss, clean);
    const progress = new Array(n).fill(null);
    const perEpoch = n && meta.epochs ? Math.round(n / meta.epochs) : 1;
    for (const p of meta.progress) {
      const k = Math.min(n - 1, (p.epoch + 1) * perEpoch - 1);
      if (k >= 0) progress[k] = clean(p.loss);
    }
    const lossColour = css("--loss");
    // progress: one dot per epoch while they can be told apart, else a line through them; with one step
    // per epoch the progress loss is the step loss and needs no second mark
    const asDots = meta.epochs <= 150;
    const progressSeries =
      perEpoch === 1
        ? { label: "progress", show: false }
        : asDots
          ? {
              label: "progress",
              stroke: lossColour,
              width: 0,
              paths: () => null,
              points: { show: true, size: meta.epochs > 60 ? 4 : 6, stroke: lossColour, fill: lossColour },
            }
          : { label: "progress", stroke: lossColour, width: 1.5, spanGaps: true, points: { show: false } };
    this.loss.fig.querySelector(".key").hidden = progressSeries.show === false;
    this.loss.create(
      {
        scales: { x: { time: false }, y: log ? { distr: 3 } : { auto: true } },
        axes: axes(log ? "log" : "linear", "charts.axis.step", "charts.axis.loss"),
        series: [
          {},
          { label: "loss", stroke: css("--op"), width: 1.25, points: { show: false } },
          progressSeries,
        ],
        cursor: { show: false },
      },
      [this.xs(), loss, progress],
    );
  }

  buildParams() {
    const { arrays, meta } = this.run;
    const series = arrays.series;
    const names = series.map((s) => s.label);
    const keys = this.params.fig.querySelector(".series-keys");
    keys.innerHTML = "";
    names.forEach((nm, i) => {
      const span = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = SERIES_COLOURS[i % SERIES_COLOURS.length];
      span.append(sw, nm);
      keys.appendChild(span);
    });
    this.params.create(
      {
        // log scale: asinh (values may be negative or zero), linear within ±1
        scales: { x: { time: false }, y: this.logScale ? { distr: 4, asinh: 1 } : { auto: true } },
        axes: axes(this.logScale ? "asinh" : "linear", "charts.axis.step", "charts.axis.value"),
        series: [
          {},
          ...names.map((nm, i) => ({ label: nm, stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], width: 2, points: { show: false } })),
        ],
        cursor: { show: false },
      },
      [this.xs(), ...series.map((se) => Array.from(se.data, finiteOrNull))],
    );
  }

  buildPred() {
    const { arrays, meta } = this.run;
    const fig = this.pred.fig;
    fig.hidden = !arrays.pred.some((v) => Number.isFinite(v));
    this.layoutGrid();
    if (fig.hidden) {
      this.pred.destroy();
      return;
    }
    const x = meta.predictions.before ? meta.predictions.before.x : 4;
    document.getElementById("pred-title").textContent = t("charts.pred", { x });
    const b = meta.predictions.before;
    const a = meta.predictions.after;
    document.getElementById("pred-summary").textContent =
      b && a ? `${b.text} → ${a.text}` : "";
    const target = this.showTarget(meta.predictTarget);
    const n = arrays.pred.length;
    this.pred.create(
      {
        scales: { x: { time: false }, y: this.logScale ? { distr: 4, asinh: 1 } : { auto: true } },
        // a prediction moves over a few units in a short chart: ticks closer than elsewhere, so more than one
        axes: axes(this.logScale ? "asinh" : "linear", "charts.axis.step", "charts.axis.prediction", 18),
        series: [
          {},
          { label: "prediction", stroke: css("--data"), width: 2, points: { show: false } },
          { label: "target", stroke: css("--muted"), width: 1.5, dash: [6, 4], points: { show: false }, show: target !== null },
        ],
        cursor: { show: false },
      },
      [this.xs(), Array.from(arrays.pred, finiteOrNull), new Array(n).fill(target)],
    );
    // what the chart draws, for people and tests: the series' names, the target as the server wrote it
    fig.querySelector(".plot").dataset.series = target === null ? "prediction" : "prediction target";
  }

  /** The prediction's target (the server's: where the data's line goes), as a legend key; its value or null. */
  showTarget(target) {
    const key = document.getElementById("pred-target");
    key.hidden = !target;
    if (!target) {
      delete key.dataset.value;
      return null;
    }
    key.dataset.value = target.text;
    document.getElementById("pred-target-text").textContent = t("charts.pred.target", { value: target.text });
    return target.value;
  }

  /** L(w) of the step's sample: the server's points (PyTorch's loss at each w of a grid), drawn as they come. */
  buildCurve() {
    const c = this.run.meta.curve;
    this.curveFig.hidden = !c;
    this.curveModel = c; // main.js rebuilds the curve on a language change when there is one
    this.layoutGrid();
    if (!c) {
      this.curve.destroy();
      return;
    }
    this.curveWs = Float64Array.from(c.w);
    this.wRange = [c.view[0], c.view[1]]; // a diverging run opens on its first epochs (see updateCurve)
    document.getElementById("curve-title").textContent = t("charts.curve", { w: c.param });
    const lossRange = (u, mn, mx) => [Math.min(0, mn), Math.max(mx, 1e-9) * 1.05];
    this.curve.create(
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
      [this.curveWs, ...[0, 1, 2].map(() => new Array(this.curveWs.length).fill(null))],
    );
    this.curve.line.remove();
  }

  /** Move every cursor to step k; `step` (the step JSON, if loaded) feeds the L(w) chart. */
  setStep(k, step, phase, labels = null) {
    this.loss.setCursor(k);
    this.params.setCursor(k);
    this.pred.setCursor(k);
    if (this.curveModel && step) this.updateCurve(step, phase, labels);
  }

  /** The sample's curve with the step's point and tangent: the loss and the slope are this step's, from PyTorch. */
  updateCurve(step, phase, labels) {
    const c = this.curveModel;
    const p = step.params[c.param];
    const ys = c.loss[step.sample];
    if (!p || !ys || !this.curve.u) return;
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
    const ws = this.curveWs;
    const on = Number.isFinite(w0) && Number.isFinite(L0);
    const after = ws.findIndex((w) => w > w0);
    const cut = on && after >= 0 ? after : ws.length;
    const xs = on ? [...ws.slice(0, cut), w0, ...ws.slice(cut)] : [...ws];
    const curve = on ? [...ys.slice(0, cut), L0, ...ys.slice(cut)] : [...ys];
    const tan = xs.map((w) => (showTangent && Math.abs(w - w0) <= span ? L0 + g * (w - w0) : null));
    const pt = xs.map((_, i) => (on && i === cut ? L0 : null));
    this.curve.u.setData([xs, curve, tan, pt]); // scales again: the x range may have widened
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
    const first = this.curveWs[0];
    const last = this.curveWs[this.curveWs.length - 1];
    if (Number.isNaN(w0) || (w0 >= lo && w0 <= hi)) return;
    if (!Number.isFinite(w0)) {
      this.wRange = [first, last];
      return;
    }
    const pad = (Math.max(hi, w0) - Math.min(lo, w0)) * 0.15;
    this.wRange = [Math.max(first, Math.min(lo, w0 - pad)), Math.min(last, Math.max(hi, w0 + pad))];
  }

  /** The grid's columns follow how many charts it holds (app.css): rows stay full on a laptop or a projector. */
  layoutGrid() {
    const grid = this.root.querySelector(".chart-grid");
    const n = [...grid.children].filter((f) => !f.hidden).length;
    if (grid.dataset.charts !== String(n)) grid.dataset.charts = String(n);
  }

  retheme() {
    this.build();
  }

  /** No run (the form has errors): no stale pictures. */
  clear() {
    this.run = null;
    for (const c of [this.loss, this.params, this.pred, this.curve]) c.destroy();
    this.pred.fig.hidden = true;
    this.curveFig.hidden = true;
    this.curveModel = null;
    this.params.fig.querySelector(".series-keys").replaceChildren();
    this.layoutGrid();
  }
}
