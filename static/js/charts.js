// Charts with uPlot (vendored): loss, parameters, prediction over steps, and L(w) for one-parameter models.
// A cursor line follows the current step on every chart; clicking a chart jumps to that step.

import { axes, css } from "./chart-axes.js";
import { Chart } from "./chart.js";
import { CurveChart } from "./curve-chart.js";
import { t } from "./i18n.js";

const SERIES_COLOURS = ["#e69f00", "#0072b2", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#7a7a7a"];

function finiteOrNull(v) {
  return Number.isFinite(v) ? v : null;
}

export class Charts {
  constructor(root, { onPick, onHover }) {
    this.root = root;
    this.loss = new Chart(root.querySelector("#chart-loss"), { onPick, onHover });
    this.params = new Chart(root.querySelector("#chart-params"), { onPick, onHover });
    this.pred = new Chart(root.querySelector("#chart-pred"), { onPick, onHover });
    this.curve = new CurveChart(root.querySelector("#chart-curve"));
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
    this.curve.build(this.run.meta.curve);
    this.layoutGrid();
  }

  /** The L(w) curve of the run, if it has one (main.js rebuilds it on a language change). */
  get curveModel() {
    return this.curve.model;
  }

  /** Move every cursor to step k; `step` (the step JSON, if loaded) feeds the L(w) chart. */
  setStep(k, step, phase, labels = null) {
    this.loss.setCursor(k);
    this.params.setCursor(k);
    this.pred.setCursor(k);
    if (this.curve.model && step) this.curve.update(step, phase, labels);
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
    for (const c of [this.loss, this.params, this.pred]) c.destroy();
    this.curve.clear();
    this.pred.fig.hidden = true;
    this.params.fig.querySelector(".series-keys").replaceChildren();
    this.layoutGrid();
  }
}
