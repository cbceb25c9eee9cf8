// The scenario picker and the parameter form, generated from GET /api/scenarios (defaults and JSON schema).
// Values stay exactly as typed (nothing is lost); the server validates, and its 422 messages (in the page's
// language) appear next to the field they name, placed by the data they carry (span, related, args), never by
// reading their words.

import { addWords, t } from "./i18n.js";
import { orderedFields, parseValue, showValue } from "./form-values.js";
import { checkbox, choice, fieldMessages, labelled, textInput } from "./form-fields.js";
import { KeyValueEditor } from "./kv-editor.js";

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
    const label = document.createElement("label");
    label.htmlFor = id;
    label.dataset.param = f.name;
    const { input, editor } = this.makeInput(f, label, wrap);
    input.id = editor ? `${id}-text` : id;
    if (editor) label.htmlFor = editor.firstInputId(id);
    input.name = f.name;
    input.dataset.testid = id;
    input.setAttribute("data-testid", id);
    input.setAttribute("aria-describedby", `${id}-help ${id}-error`);
    const { help, err, where } = fieldMessages(wrap, id);
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

  /** The field's control by its kind: {input, editor} (an object's rows edit a hidden input's text). */
  makeInput(f, label, wrap) {
    if (f.kind === "bool") return { input: checkbox(label, wrap), editor: null };
    labelled(label, wrap);
    if (f.kind === "enum") return { input: choice(f.schema.enum, wrap), editor: null };
    if (f.kind !== "object") return { input: textInput(f.kind, wrap), editor: null };
    // the text stays the field's value ("w1=1, b=0", what the URL keeps); the rows edit it
    const input = document.createElement("input");
    input.type = "hidden";
    wrap.appendChild(input);
    const editor = new KeyValueEditor(input, () => {
      this.clearError(f.name);
      this.markDirty(true);
    });
    wrap.appendChild(editor.el);
    return { input, editor };
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
