// Number formatting, a faithful port of app/render/format.py, so that values patched into the SVG in place
// read exactly as the server draws them (checked by tests/test_page.py against the server's own SVG).

export const NUM_WIDTH = 10;
export const PREVIEW_WIDTH = 26;
export const TOOLTIP_ELEMENTS = 8; // as app/render/format.py elides tooltips

const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** A JSON value as a JS number: the API sends non-finite numbers as the strings "NaN", "Infinity", "-Infinity". */
export function num(v) {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v in NONFINITE) return NONFINITE[v];
  if (Array.isArray(v)) {
    const s = asScalar(v);
    return s.ok ? num(s.x) : NaN;
  }
  return null;
}

function isNumberLike(v) {
  return typeof v === "number" || (typeof v === "string" && v in NONFINITE);
}

/** [ok, x]: a number, or a (nested) one-element list, is a scalar. */
export function asScalar(value) {
  if (value === null || value === undefined || isNumberLike(value) || typeof value === "boolean") {
    return { ok: true, x: value };
  }
  if (Array.isArray(value)) {
    let first;
    let count = 0;
    for (const v of flatten(value)) {
      if (count === 0) first = v;
      count += 1;
      if (count > 1) break;
    }
    if (count === 1) return { ok: true, x: first };
  }
  return { ok: false, x: null };
}

export function* flatten(value) {
  if (Array.isArray(value)) {
    for (const v of value) yield* flatten(v);
  } else {
    yield value;
  }
}

// Digits of |x| rounded to `sig` significant digits, with Python's round-half-even on exact ties
// (toExponential rounds ties away from zero). Returns {digits: "1235", exp: 5}.
function roundSig(ax, sig) {
  let s = ax.toExponential(sig - 1);
  const longer = ax.toExponential(sig);
  const [lm] = longer.split("e");
  if (lm.endsWith("5")) {
    // possibly an exact tie: look at the exact decimal expansion
    const exact = ax.toExponential(100).split("e")[0].replace(".", "");
    const tail = exact.slice(sig);
    if (/^50*$/.test(tail)) {
      const head = exact.slice(0, sig);
      const last = Number(head[head.length - 1]);
      const exp0 = Number(ax.toExponential(100).split("e")[1]);
      if (last % 2 === 0) {
        s = `${head[0]}${head.length > 1 ? "." + head.slice(1) : ""}e${exp0 >= 0 ? "+" : ""}${exp0}`;
      }
    }
  }
  const [m, e] = s.split("e");
  return { digits: m.replace(".", ""), exp: Number(e) };
}

function expStr(e) {
  const sign = e < 0 ? "-" : "+";
  const a = Math.abs(e);
  return sign + (a < 10 ? "0" + a : String(a));
}

/** Python's f"{x:.{p}g}" for a finite non-zero float. */
export function fmtG(x, p) {
  const neg = x < 0 || Object.is(x, -0);
  const { digits, exp } = roundSig(Math.abs(x), p);
  let out;
  if (exp >= -4 && exp < p) {
    // fixed notation with p - 1 - exp decimals, trailing zeros removed
    let intPart;
    let frac;
    if (exp >= 0) {
      intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
      frac = digits.slice(exp + 1);
    } else {
      intPart = "0";
      frac = "0".repeat(-exp - 1) + digits;
    }
    frac = frac.replace(/0+$/, "");
    out = frac ? `${intPart}.${frac}` : intPart;
  } else {
    let mant = digits[0];
    const rest = digits.slice(1).replace(/0+$/, "");
    if (rest) mant += "." + rest;
    out = `${mant}e${expStr(exp)}`;
  }
  return neg ? "-" + out : out;
}

/** Python's repr(float): shortest round-trip digits; scientific below 1e-4 and from 1e16. */
export function pyRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const neg = x < 0;
  const [m, e] = Math.abs(x).toExponential().split("e");
  const digits = m.replace(".", "");
  const exp = Number(e);
  let out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
      const frac = digits.slice(exp + 1) || "0";
      out = `${intPart}.${frac}`;
    } else {
      out = `0.${"0".repeat(-exp - 1)}${digits}`;
    }
  } else {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${mant}e${expStr(exp)}`;
  }
  return neg ? "-" + out : out;
}

/** fmt_num: `digits` significant digits, at most NUM_WIDTH characters; nan/inf plainly. */
export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined) return "?";
  if (typeof x === "boolean") return x ? "true" : "false";
  const f = num(x);
  if (f === null || typeof f !== "number") return "?";
  if (Number.isNaN(f)) return "nan";
  if (!Number.isFinite(f)) return f > 0 ? "inf" : "-inf";
  if (f === 0) return "0";
  const s = fmtG(f, digits);
  if (s.length > NUM_WIDTH && digits > 1) return fmtNum(f, digits - 1);
  return s;
}

/** fmt_pair: a scalar update before -> after with the fewest significant digits (4 to float32's 9) that differ. */
export function fmtPair(before, after, digits = 4) {
  const a = asScalar(before);
  const b = asScalar(after);
  if (!a.ok || !b.ok) return null;
  for (let d = digits; d <= 9; d++) {
    const pair = [fmtNum(a.x, d), fmtNum(b.x, d)];
    if (pair[0] !== pair[1]) return pair;
  }
  return [fmtNum(a.x, digits), fmtNum(b.x, digits)];
}

/** fmt_preview: "[1, 2.5, -3, …]" within `width` characters; scalars as plain numbers. */
export function fmtPreview(value, width = PREVIEW_WIDTH) {
  const s = asScalar(value);
  if (s.ok) return fmtNum(s.x);
  if (!Array.isArray(value)) return "?";
  let out = "[";
  let items = 0;
  for (const v of flatten(value)) {
    const t = fmtNum(v, 3);
    const sep = items ? ", " : "";
    if (out.length + sep.length + t.length + ", …]".length > width) {
      return out + (items ? ", …]" : "…]");
    }
    out += sep + t;
    items += 1;
  }
  return items ? out + "]" : "[]";
}

function fullNum(x) {
  if (typeof x === "number" || (typeof x === "string" && x in NONFINITE)) return pyRepr(num(x));
  if (typeof x === "boolean") return x ? "True" : "False";
  return String(x);
}

/** fmt_full: every element at full precision (Python repr), elided after TOOLTIP_ELEMENTS. */
export function fmtFull(value, limit = TOOLTIP_ELEMENTS) {
  if (value === null || value === undefined) return "?";
  if (!Array.isArray(value)) return fullNum(value);
  const parts = [];
  let total = 0;
  for (const v of flatten(value)) {
    total += 1;
    if (parts.length < limit) parts.push(fullNum(v));
  }
  if (total > limit) return `[${parts.join(", ")}, … (${total} elements)]`;
  return `[${parts.join(", ")}]`;
}

export function numel(shape) {
  return (shape || []).reduce((a, b) => a * b, 1);
}

export function isScalarShape(shape) {
  return numel(shape) === 1;
}

export function fmtShape(shape) {
  return shape && shape.length ? shape.join("×") : "scalar";
}

/** Is a (nested) value finite everywhere? */
export function isFinite(value) {
  for (const v of flatten(value)) {
    const n = num(v);
    if (typeof n === "number" && !Number.isFinite(n)) return false;
  }
  return true;
}
