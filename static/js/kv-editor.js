// The editor of an object-valued field ("name=value, ..."): one row per pair over the field's text input.

import { t } from "./i18n.js";

/** Rows of name = value over a text input holding "name=value, ..." (the server judges what is typed). */
export class KeyValueEditor {
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
