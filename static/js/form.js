// The scenario picker and the parameter form, generated from GET /api/scenarios (defaults and JSON schema).
// Values stay exactly as typed (nothing is lost); the server validates, and its 422 messages appear next to
// the field they name.

import { t } from "./i18n.js";

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

function labelFor(field) {
  const key = `param.${field.name}`;
  const s = t(key);
  if (s !== key) return s;
  return field.kind === "number" ? t("param.initial", { name: field.name }) : field.name;
}

export class SetupForm {
  constructor(root, { onRun, onScenario, onDirty }) {
    this.root = root;
    this.select = root.querySelector("#scenario");
    this.paramsEl = root.querySelector("#params");
    this.desc = root.querySelector("#scenario-desc");
    this.formError = root.querySelector("#form-error");
    this.dirtyEl = root.querySelector("#dirty");
    this.scenarios = [];
    this.info = null;
    this.fields = [];
    this.onRun = onRun;
    this.onDirty = onDirty;
    root.addEventListener("submit", (e) => {
      e.preventDefault();
      this.onRun();
    });
    this.select.addEventListener("change", () => onScenario(this.select.value));
    root.querySelector("#reset").addEventListener("click", () => {
      this.setValues({});
      this.clearErrors();
      this.markDirty(true);
    });
  }

  setScenarios(list) {
    this.scenarios = list;
    this.select.innerHTML = "";
    for (const s of list) {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.title;
      this.select.appendChild(o);
    }
  }

  infoFor(id) {
    return this.scenarios.find((s) => s.id === id) || null;
  }

  /** Build the fields of a scenario, filled with `values` (text or JSON values) over the defaults. */
  build(id, values = {}) {
    this.info = this.infoFor(id);
    if (!this.info) return;
    this.select.value = id;
    this.desc.textContent = this.info.description || "";
    this.paramsEl.innerHTML = "";
    this.fields = orderedFields(this.info).map((f) => this.makeField(f));
    this.setValues(values);
    this.clearErrors();
  }

  makeField(f) {
    const wrap = document.createElement("div");
    wrap.className = "field" + (["list", "bool", "string", "object"].includes(f.kind) ? " wide" : "");
    const id = `param-${f.name}`;
    const errId = `${id}-error`;
    const helpId = `${id}-help`;
    let input;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.dataset.param = f.name;
    if (f.kind === "bool") {
      label.className = "check";
      input = document.createElement("input");
      input.type = "checkbox";
      label.appendChild(input);
      const span = document.createElement("span");
      span.className = "label-text";
      label.appendChild(span);
      wrap.appendChild(label);
    } else if (f.kind === "enum") {
      const span = document.createElement("span");
      span.className = "label-text";
      label.appendChild(span);
      wrap.appendChild(label);
      input = document.createElement("select");
      for (const v of f.schema.enum) {
        const o = document.createElement("option");
        o.value = String(v);
        o.textContent = String(v);
        input.appendChild(o);
      }
      wrap.appendChild(input);
    } else {
      const span = document.createElement("span");
      span.className = "label-text";
      label.appendChild(span);
      wrap.appendChild(label);
      input = document.createElement("input");
      input.type = "text";
      input.autocomplete = "off";
      input.spellcheck = false;
      if (f.kind === "int") input.inputMode = "numeric";
      else if (f.kind === "number" || f.kind === "list") input.inputMode = "decimal";
      wrap.appendChild(input);
    }
    input.id = id;
    input.name = f.name;
    input.dataset.testid = id;
    input.setAttribute("data-testid", id);
    input.setAttribute("aria-describedby", `${helpId} ${errId}`);
    const help = document.createElement("p");
    help.className = "help";
    help.id = helpId;
    wrap.appendChild(help);
    const err = document.createElement("p");
    err.className = "field-error";
    err.id = errId;
    err.setAttribute("data-testid", `${id}-error`);
    err.hidden = true;
    wrap.appendChild(err);
    input.addEventListener(f.kind === "enum" ? "change" : "input", () => {
      this.clearError(f.name);
      this.markDirty(true);
    });
    this.paramsEl.appendChild(wrap);
    const field = { ...f, input, label, help, err, wrap };
    this.relabel(field);
    return field;
  }

  relabel(field) {
    field.label.querySelector(".label-text").textContent = labelFor(field);
    const hints = [];
    const helpKey = `paramhelp.${field.name}`;
    if (t(helpKey) !== helpKey) hints.push(t(helpKey));
    if (field.kind === "list") hints.push(t("setup.list.hint"));
    if (field.schema.description) field.input.title = field.schema.description;
    field.help.textContent = hints.join(" · ");
    field.help.hidden = !hints.length;
  }

  relabelAll() {
    for (const f of this.fields) this.relabel(f);
    this.dirtyEl.textContent = t("setup.dirty");
  }

  /** values: {name: text-or-json}; missing names get the defaults. */
  setValues(values) {
    for (const f of this.fields) {
      const v = f.name in values ? values[f.name] : this.info.params[f.name];
      if (f.kind === "bool") f.input.checked = v === true || v === "true" || v === "1" || v === 1;
      else f.input.value = typeof v === "string" ? v : showValue(v);
    }
  }

  /** The params that differ from the defaults, as JSON values for POST /api/runs. */
  params() {
    const out = {};
    for (const f of this.fields) {
      const v = f.kind === "bool" ? f.input.checked : parseValue(f.kind, f.input.value);
      const d = this.info.params[f.name];
      if (JSON.stringify(v) !== JSON.stringify(d)) out[f.name] = v;
    }
    return out;
  }

  /** The non-default fields as the text typed (for the URL). */
  rawChanged() {
    const out = {};
    for (const f of this.fields) {
      if (f.kind === "bool") {
        if (f.input.checked !== Boolean(this.info.params[f.name])) out[f.name] = f.input.checked ? "1" : "0";
      } else {
        const v = parseValue(f.kind, f.input.value);
        if (JSON.stringify(v) !== JSON.stringify(this.info.params[f.name])) out[f.name] = f.input.value.trim();
      }
    }
    return out;
  }

  markDirty(d) {
    this.dirtyEl.hidden = !d;
    if (this.onDirty) this.onDirty(d);
  }

  clearError(name) {
    const f = this.fields.find((x) => x.name === name);
    if (!f) return;
    f.err.hidden = true;
    f.err.textContent = "";
    f.input.removeAttribute("aria-invalid");
  }

  clearErrors() {
    for (const f of this.fields) this.clearError(f.name);
    this.formError.hidden = true;
  }

  /** Show a 422: each message next to its field ("x.2" goes to x); the rest above the buttons. */
  showErrors(apiError) {
    this.clearErrors();
    const rest = [];
    for (const { field, msg } of apiError.fields) {
      const [name, ...sub] = String(field).split(".");
      const f = this.fields.find((x) => x.name === name);
      if (!f) {
        rest.push(field ? `${field}: ${msg}` : msg);
        continue;
      }
      const text = sub.length ? `[${sub.join(".")}] ${msg}` : msg;
      f.err.textContent = f.err.textContent ? `${f.err.textContent}; ${text}` : text;
      f.err.hidden = false;
      f.input.setAttribute("aria-invalid", "true");
    }
    if (!apiError.fields.length) rest.push(apiError.message);
    this.formError.textContent = rest.length ? rest.join("; ") : t("setup.fix");
    this.formError.hidden = false;
    const first = this.fields.find((f) => !f.err.hidden);
    if (first) first.input.focus();
  }
}
