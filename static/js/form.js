// The scenario picker and the parameter form, generated from GET /api/scenarios (defaults and JSON schema).
// Values stay exactly as typed (nothing is lost); the server validates, and its 422 messages (in the page's
// language) appear next to the field they name, placed by the data they carry (span, related, args), never by
// reading their words.

import { addWords, t } from "./i18n.js";

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

/** Rows of name = value over a text input holding "name=value, ..." (the server judges what is typed). */
class KeyValueEditor {
  constructor(input, onChange) {
    this.input = input;
    this.onChange = onChange;
    this.el = document.createElement("div");
    this.el.className = "kv-editor";
    this.rows = document.createElement("div");
    this.rows.className = "kv-rows";
    this.add = document.createElement("button");
    this.add.type = "button";
    this.add.className = "btn small kv-add";
    this.add.setAttribute("data-testid", "kv-add");
    this.add.addEventListener("click", () => {
      const row = this.addRow("", "");
      row.name.focus();
      this.save();
    });
    this.el.append(this.rows, this.add);
    this.relabel();
  }

  firstInputId(id) {
    this.idBase = id;
    return `${id}-name-0`;
  }

  relabel() {
    this.add.textContent = t("setup.kv.add");
    for (const r of this.rows.children) {
      r.name.placeholder = t("setup.kv.name");
      r.value.placeholder = t("setup.kv.value");
      r.remove.setAttribute("aria-label", t("setup.kv.remove"));
      r.remove.title = t("setup.kv.remove");
    }
  }

  /** Rows from the text (a JSON object or "a=1, b=2"); text that is neither stays one row as typed. */
  load() {
    this.rows.replaceChildren();
    const s = this.input.value.trim();
    let pairs = [];
    if (s.startsWith("{")) {
      try {
        pairs = Object.entries(JSON.parse(s)).map(([k, v]) => [k, String(v)]);
      } catch {
        pairs = [[s, ""]];
      }
    } else if (s) {
      pairs = s.split(/[,;]/).map((p) => p.trim()).filter(Boolean).map((p) => {
        const m = /^([^=:]*?)\s*[=:]\s*(.*)$/.exec(p);
        return m ? [m[1], m[2]] : [p, ""];
      });
    }
    for (const [k, v] of pairs) this.addRow(k, v);
    if (!pairs.length) this.addRow("", "");
  }

  addRow(name, value) {
    const row = document.createElement("div");
    row.className = "kv-row";
    const i = this.rows.children.length;
    const mk = (cls, v, testid) => {
      const el = document.createElement("input");
      el.type = "text";
      el.className = cls;
      el.value = v;
      el.autocomplete = "off";
      el.spellcheck = false;
      el.setAttribute("data-testid", testid);
      el.addEventListener("input", () => {
        this.save();
        this.onChange();
      });
      return el;
    };
    row.name = mk("kv-name", name, `kv-name-${i}`);
    row.name.id = `${this.idBase || "kv"}-name-${i}`;
    const eq = document.createElement("span");
    eq.className = "kv-eq";
    eq.textContent = "=";
    row.value = mk("kv-value", value, `kv-value-${i}`);
    row.value.inputMode = "decimal";
    row.remove = document.createElement("button");
    row.remove.type = "button";
    row.remove.className = "btn icon-only small kv-remove";
    row.remove.textContent = "×";
    row.remove.addEventListener("click", () => {
      row.remove();
      this.save();
      this.onChange();
    });
    row.append(row.name, eq, row.value, row.remove);
    this.rows.appendChild(row);
    this.relabel();
    return row;
  }

  save() {
    const parts = [];
    for (const r of this.rows.children) {
      const k = r.name.value.trim();
      const v = r.value.value.trim();
      if (k || v) parts.push(`${k}=${v}`);
    }
    this.input.value = parts.join(", ");
  }

  /** Mark the row a 422 names (a parameter's name; "" or a name no row has = all rows, null = none). */
  setInvalid(name) {
    const names = [...this.rows.children].map((r) => r.name.value.trim());
    if (name && !names.includes(name)) name = "";
    for (const r of this.rows.children) {
      const bad = name === "" || (name !== null && r.name.value.trim() === name);
      if (bad) r.classList.add("invalid");
      else r.classList.remove("invalid");
    }
  }

  focus() {
    const bad = this.rows.querySelector(".kv-row.invalid input") || this.rows.querySelector("input");
    if (bad) bad.focus();
  }
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
      // the scenario's own words, where the language's messages have none
      addWords({ [`scenario.${s.id}.title`]: s.title, [`scenario.${s.id}.description`]: s.description || "" });
      const o = document.createElement("option");
      o.value = s.id;
      o.dataset.i18n = `scenario.${s.id}.title`;
      o.textContent = t(o.dataset.i18n);
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
    this.desc.dataset.i18n = `scenario.${id}.description`;
    this.desc.textContent = t(this.desc.dataset.i18n);
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
    let editor = null;
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
    } else if (f.kind === "object") {
      const span = document.createElement("span");
      span.className = "label-text";
      label.appendChild(span);
      wrap.appendChild(label);
      // the text stays the field's value ("w1=1, b=0", what the URL keeps); the rows edit it
      input = document.createElement("input");
      input.type = "hidden";
      wrap.appendChild(input);
      editor = new KeyValueEditor(input, () => {
        this.clearError(f.name);
        this.markDirty(true);
      });
      wrap.appendChild(editor.el);
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
    input.id = editor ? `${id}-text` : id;
    if (editor) label.htmlFor = editor.firstInputId(id);
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
    err.setAttribute("aria-live", "polite");
    wrap.appendChild(err);
    // an expression's refusal points at the offending part of the text
    const where = document.createElement("pre");
    where.className = "expr-where";
    where.setAttribute("data-testid", `${id}-where`);
    where.hidden = true;
    wrap.appendChild(where);
    input.addEventListener(f.kind === "enum" ? "change" : "input", () => {
      this.lastEdited = f.name;
      this.clearError(f.name);
      this.markDirty(true);
    });
    this.paramsEl.appendChild(wrap);
    const field = { ...f, input, label, help, err, where, wrap, editor };
    this.relabel(field);
    return field;
  }

  relabel(field) {
    field.label.querySelector(".label-text").textContent = labelFor(field);
    const hints = [];
    const helpKey = `paramhelp.${field.name}`;
    if (t(helpKey) !== helpKey) hints.push(t(helpKey));
    if (field.kind === "list") hints.push(t("setup.list.hint"));
    field.help.textContent = hints.join(" · ");
    field.help.hidden = !hints.length;
  }

  relabelAll() {
    for (const f of this.fields) {
      this.relabel(f);
      if (f.editor) f.editor.relabel();
    }
    this.dirtyEl.textContent = t("setup.dirty");
  }

  /** values: {name: text-or-json}; missing names get the defaults. */
  setValues(values) {
    for (const f of this.fields) {
      const v = f.name in values ? values[f.name] : this.info.params[f.name];
      if (f.kind === "bool") f.input.checked = v === true || v === "true" || v === "1" || v === 1;
      else f.input.value = typeof v === "string" ? v : showValue(v);
      if (f.editor) f.editor.load();
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
    f.where.hidden = true;
    f.where.textContent = "";
    f.input.removeAttribute("aria-invalid");
    if (f.editor) f.editor.setInvalid(null);
  }

  clearErrors() {
    for (const f of this.fields) this.clearError(f.name);
    this.formError.hidden = true;
  }

  /** Show a 422: each message next to its field ("x.2" goes to x); the rest above the buttons. */
  showErrors(apiError) {
    this.clearErrors();
    const rest = [];
    for (const item of apiError.fields) {
      const { field, msg, args, span } = item;
      const [named, ...sub] = String(field).split(".");
      const name = this.editedPartner(named, item.related || []);
      const f = this.fields.find((x) => x.name === name);
      if (!f) {
        rest.push(field ? `${field}: ${msg}` : msg);
        continue;
      }
      // the server's words say which element ("element 3 of x"): placed as they are
      f.err.textContent = f.err.textContent ? `${f.err.textContent}; ${msg}` : msg;
      f.err.hidden = false;
      f.input.setAttribute("aria-invalid", "true");
      if (f.editor) f.editor.setInvalid(sub.length ? sub.join(".") : typeof args.name === "string" ? args.name : "");
      if (f.kind === "string" && span) this.pointAt(f, span);
    }
    if (!apiError.fields.length) rest.push(apiError.message);
    this.formError.textContent = rest.length ? rest.join("; ") : t("setup.fix");
    this.formError.hidden = false;
    const first = this.fields.find((f) => !f.err.hidden);
    if (first) {
      if (first.editor) first.editor.focus();
      else first.input.focus();
      if (first.span) first.input.setSelectionRange(first.span[0], first.span[1]);
    }
  }

  /** A problem that involves other fields (x and y of different lengths) belongs to the one the user just
   * edited, when that is one of them (the server lists them in `related`). */
  editedPartner(name, related) {
    return related.includes(this.lastEdited) ? this.lastEdited : name;
  }

  /** Under an expression field: the text with the server's span of it marked ([start, end), 0-based). */
  pointAt(f, span) {
    f.span = null;
    const text = f.input.value;
    const start = Math.max(0, Math.min(Number(span[0]) || 0, text.length));
    const end = Math.max(start, Math.min(Number(span[1]) || 0, text.length));
    f.span = [start, end];
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end) || " "; // past the end (a missing operand): a marked blank there
    f.where.replaceChildren(text.slice(0, start), mark, text.slice(end));
    f.where.hidden = false;
  }
}
