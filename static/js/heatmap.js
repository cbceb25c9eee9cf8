// Tensor values in full: a heatmap grid (CSS grid, styles set through the CSSOM so a strict CSP needs no
// 'unsafe-inline') with every element's number, and every element at full precision (Python repr) on hover
// and in a list below. Matrices are rows × columns; vectors one row; higher ranks fold the leading dimensions
// into rows. Big tensors draw on a canvas instead (one cell per element), still with the full list.

import { flatten, fmtNum, num, pyRepr } from "./format.js";
import { t } from "./i18n.js";

const MAX_CELLS = 256; // a grid of numbers up to this many elements; a canvas beyond
const MAX_COLS = 16;
const MAX_LIST = 4096; // elements listed at full precision

// diverging colours from the SVG's palette: negative blue (#0072b2), positive vermillion (#d55e00)
const NEG = [0, 114, 178];
const POS = [213, 94, 0];

/** rows × cols of a shape: a vector is one row, a column vector (n, 1) n rows of one. */
export function gridShape(shape) {
  if (!shape || !shape.length) return { rows: 1, cols: 1 };
  if (shape.length === 1) return { rows: 1, cols: shape[0] };
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return { rows, cols };
}

function values(value) {
  return Array.isArray(value) ? [...flatten(value)] : [value];
}

function colour(t) {
  const c = t < 0 ? NEG : POS;
  const a = Math.min(1, Math.abs(t)) * 0.85;
  return `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${a.toFixed(3)})`;
}

function index(i, shape) {
  if (!shape || !shape.length) return "";
  const idx = [];
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}

function fullText(v) {
  const n = num(v);
  return typeof n === "number" ? pyRepr(n) : String(v);
}

/**
 * A figure for one tensor: caption, heatmap, scale, and the full-precision list.
 * `label`: what it is ("value", "grad"); `kind`: "value" | "grad" (grad cells get the gradient class).
 */
export function tensorFigure(label, value, shape, { kind = "value", name = "" } = {}) {
  const flat = values(value);
  const nums = flat.map((v) => num(v));
  const { rows, cols } = gridShape(shape && shape.length ? shape : [flat.length]);
  let maxAbs = 0;
  for (const x of nums) if (typeof x === "number" && Number.isFinite(x)) maxAbs = Math.max(maxAbs, Math.abs(x));
  const scale = maxAbs || 1;

  const fig = document.createElement("figure");
  fig.className = `tensor ${kind}`;
  fig.dataset.kind = kind;
  const cap = document.createElement("figcaption");
  const title = document.createElement("span");
  title.className = "tensor-label";
  title.textContent = label;
  const dims = document.createElement("span");
  dims.className = "muted";
  dims.textContent = shape && shape.length ? shape.join("×") : "";
  cap.append(title, " ", dims);
  fig.appendChild(cap);

  const tip = (i) => `${name}${index(i, shape)} = ${fullText(flat[i])}`;
  if (flat.length <= MAX_CELLS && cols <= MAX_COLS) {
    const grid = document.createElement("div");
    grid.className = "heatmap";
    grid.setAttribute("role", "table");
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(3.6em, 7em))`;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const x = nums[i];
        const cell = document.createElement("span");
        cell.className = "cell";
        cell.setAttribute("role", "cell");
        cell.title = tip(i);
        cell.textContent = fmtNum(flat[i]);
        if (typeof x !== "number" || Number.isNaN(x)) cell.classList.add("nan");
        else {
          const t = Number.isFinite(x) ? x / scale : Math.sign(x);
          cell.style.backgroundColor = colour(t);
          if (Math.abs(t) > 0.55) cell.classList.add("strong");
        }
        grid.appendChild(cell);
      }
    }
    fig.appendChild(grid);
  } else {
    const canvas = document.createElement("canvas");
    canvas.className = "heatmap-canvas";
    const px = Math.max(2, Math.min(16, Math.floor(280 / Math.max(cols, 1)), Math.floor(280 / Math.max(rows, 1))));
    canvas.width = cols * px;
    canvas.height = rows * px;
    canvas.style.width = `${cols * px}px`;
    canvas.style.height = `${rows * px}px`;
    const ctx = canvas.getContext("2d");
    for (let i = 0; i < nums.length; i++) {
      const x = nums[i];
      ctx.fillStyle = typeof x !== "number" || Number.isNaN(x) ? "#9a9a9a" : colour(Number.isFinite(x) ? x / scale : Math.sign(x));
      ctx.fillRect((i % cols) * px, Math.floor(i / cols) * px, px, px);
    }
    canvas.addEventListener("mousemove", (e) => {
      const c = Math.floor(e.offsetX / px);
      const r = Math.floor(e.offsetY / px);
      const i = r * cols + c;
      if (c < cols && i < flat.length) canvas.title = tip(i);
    });
    fig.appendChild(canvas);
  }

  const legend = document.createElement("div");
  legend.className = "heatmap-scale";
  const lo = document.createElement("span");
  lo.textContent = maxAbs ? `−${fmtNum(maxAbs)}` : "0";
  const bar = document.createElement("i");
  bar.className = "bar";
  const hi = document.createElement("span");
  hi.textContent = maxAbs ? `+${fmtNum(maxAbs)}` : "0";
  legend.append(lo, bar, hi);
  fig.appendChild(legend);

  const details = document.createElement("details");
  details.className = "tensor-full";
  const summary = document.createElement("summary");
  summary.textContent = t("inspector.full", { n: flat.length });
  details.appendChild(summary);
  const pre = document.createElement("pre");
  const n = Math.min(flat.length, MAX_LIST);
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(`${index(i, shape)} ${fullText(flat[i])}`);
  if (flat.length > n) lines.push(`… (${flat.length - n} more)`);
  pre.textContent = lines.join("\n");
  details.appendChild(pre);
  fig.appendChild(details);
  return fig;
}

/** Does a value deserve a heatmap (more than one element)? */
export function isTensor(value) {
  return Array.isArray(value) && values(value).length > 1;
}
