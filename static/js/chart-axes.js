// The charts' axes: titles, tick places (log and asinh axes too) and tick labels, which the chart library asks
// for wherever it puts a tick (the one number the page writes itself; tests/test_architecture.py knows).

import { t } from "./i18n.js";

export function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
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
export function axes(kind = "linear", x = "charts.axis.step", y = "charts.axis.loss", ySpace = 30) {
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
