// Module clusters: one toggle per module path (pressed = drawn as one box), and collapse/expand all.

import { t } from "./i18n.js";
import { S, set } from "./store.js";

const $ = (sel) => document.querySelector(sel);
let moduleList = [];

/** Module paths of a step's nodes, with every prefix ("cnn.conv" -> "cnn", "cnn.conv"), outer first. */
function modulePaths(step) {
  const seen = new Set();
  for (const n of step.graph.nodes) {
    if (!n.module) continue;
    const parts = n.module.split(".");
    for (let i = 1; i <= parts.length; i++) seen.add(parts.slice(0, i).join("."));
  }
  return [...seen].sort((a, b) => a.split(".").length - b.split(".").length || a.localeCompare(b));
}

export function setCollapse(paths) {
  set({ collapse: [...new Set(paths)].sort() });
}

export function toggleModule(m) {
  const on = S.collapse.includes(m);
  // collapsing a module hides its sub-modules inside the box: keep only the outermost collapsed paths
  setCollapse(on ? S.collapse.filter((c) => c !== m) : [...S.collapse.filter((c) => !c.startsWith(m + ".")), m]);
}

export function buildModules(step) {
  moduleList = modulePaths(step);
  $("#modules").hidden = moduleList.length === 0;
  const list = $("#modules-list");
  list.replaceChildren();
  for (const m of moduleList) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn small chip";
    b.dataset.module = m;
    b.setAttribute("data-testid", `module-${m}`);
    b.textContent = m;
    b.addEventListener("click", () => toggleModule(m));
    list.appendChild(b);
  }
  const valid = S.collapse.filter((m) => moduleList.includes(m));
  if (valid.length !== S.collapse.length) setCollapse(valid);
  updateModules();
}

export function updateModules() {
  for (const b of document.querySelectorAll("#modules-list .chip")) {
    b.setAttribute("aria-pressed", String(S.collapse.includes(b.dataset.module)));
    b.title = t("modules.toggle", { m: b.dataset.module });
  }
  const all =
    moduleList.length > 0 &&
    moduleList.every((m) => S.collapse.includes(m) || S.collapse.some((c) => m.startsWith(c + ".")));
  const btn = $("#modules-all");
  btn.textContent = t(all ? "modules.expandAll" : "modules.collapseAll");
  btn.dataset.all = all ? "1" : "0";
}

export function wireModules() {
  $("#modules-all").addEventListener("click", (e) => {
    const top = moduleList.filter((m) => !m.includes("."));
    setCollapse(e.currentTarget.dataset.all === "1" ? [] : top);
  });
}
