// The parameter form's fields and values: which fields a scenario's JSON schema has, in what order, and how
// a field's text becomes the JSON the API takes (text that is not a number is sent as typed: the server judges).

const ORDER = ["lr", "epochs"]; // then initial values, then the data, then switches

function fieldKind(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  if (schema.type === "boolean") return "bool";
  if (schema.type === "object") return "object";
  if (schema.type === "string") return "string";
  if (schema.type === "array") return "list";
  if (schema.type === "integer") return "int";
  return "number";
}

export function orderedFields(info) {
  const props = info.schema && info.schema.properties ? info.schema.properties : {};
  const names = Object.keys(props).length ? Object.keys(props) : Object.keys(info.params);
  const kindOf = (n) => fieldKind(props[n] || { type: typeof info.params[n] === "boolean" ? "boolean" : Array.isArray(info.params[n]) ? "array" : "number" });
  const rank = (n) => {
    const i = ORDER.indexOf(n);
    if (i >= 0) return i;
    const k = kindOf(n);
    return { list: 20, string: 15, object: 16, enum: 5, bool: 30 }[k] ?? 10;
  };
  return names
    .map((n, i) => ({ name: n, kind: kindOf(n), schema: props[n] || {}, i }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i);
}

/** A default value as the text a field shows. */
export function showValue(v) {
  if (Array.isArray(v)) return v.map((x) => showValue(x)).join(", ");
  if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}=${showValue(x)}`).join(", ");
  return String(v);
}

/** Parse a field's text into the JSON the API expects; text that is not a number is sent as-is. */
export function parseValue(kind, text) {
  const s = String(text).trim();
  if (kind === "bool") return text === true || text === "true" || text === "1" || text === "on";
  if (kind === "string" || kind === "enum") return String(text);
  if (kind === "object") return parseObject(s);
  if (kind === "list") {
    if (!s) return [];
    return s.split(/[\s,;]+/).filter(Boolean).map((p) => parseScalar(p));
  }
  return parseScalar(s);
}

/** "w1=1, b=0" (or JSON) as an object of numbers when well-formed; otherwise the text, for the server to judge. */
function parseObject(s) {
  if (s.startsWith("{")) {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  }
  const out = {};
  for (const part of s.split(/[,;]/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(\S+)$/.exec(part);
    if (!m) return s;
    const v = parseScalar(m[2]);
    if (typeof v !== "number") return s;
    out[m[1]] = v;
  }
  return out;
}

function parseScalar(s) {
  if (s === "") return s;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  return s; // let the server say what is wrong with it
}
