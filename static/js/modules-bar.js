// Module clusters: one chip per module path, pressed when the picture on screen draws it as one box. What is
// drawn collapsed is the server's to say (a big or wide graph opens collapsed without being asked; the SVG's
// data-collapse lists the boxes), so the chips follow the picture, never a size rule of their own. A click on a
// box opens exactly that module (?expand=, which wins over ?collapse= on the server); a click on an open module
// draws it as one box. Everything lives in the URL (store.js).

import { t } from "./i18n.js";
import { S, set } from "./store.js";

const $ = (sel) => document.querySelector(sel);
const ALL = "*"; // expand=* : every module open
let moduleList = [];
let drawn = null; // module paths the picture on screen draws as one box each; null before any picture

const inside = (path, m) => path === m || path.startsWith(m + ".");

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

/** How module m is drawn: "box" (one box), "inside" (hidden in a box around it) or "open". */
function stateOf(m) {
  const boxes = drawn || [];
  if (boxes.includes(m)) return "box";
  return boxes.some((b) => inside(m, b)) ? "inside" : "open";
}

/** Open module m: the server opens it (and what holds it); its own sub-modules may stay boxes. */
export function openModule(m) {
  if (S.expand.includes(ALL)) return;
  set({ expand: [...new Set([...S.expand, m])].sort() });
}

/** Draw module m as one box, every other module as it is drawn now. */
export function closeModule(m) {
  if (!S.collapse.length && S.expand.includes(m)) {
    // opened from the server's first view: closing it goes back to that view around it
    set({ expand: S.expand.filter((e) => !inside(e, m)) });
    return;
  }
  // the boxes on screen, named (a named set is drawn exactly), with m among them; nothing left to expand
  const boxes = (drawn || S.collapse).filter((b) => !inside(b, m));
  set({ collapse: [...boxes, m].sort(), expand: [] });
}

/** A click on a module: open a box (or a module hidden in one), close an open module. */
export function toggleModule(m) {
  if (stateOf(m) === "open") closeModule(m);
  else openModule(m);
}

export function buildModules(step) {
  moduleList = modulePaths(step);
  drawn = null;
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
  // a link made for another model: drop the names this one does not have (the server refuses unknown ones)
  const known = (paths) => paths.filter((m) => m === ALL || moduleList.includes(m));
  const collapse = known(S.collapse);
  const expand = known(S.expand);
  if (collapse.length !== S.collapse.length || expand.length !== S.expand.length) set({ collapse, expand });
  updateModules();
}

/** The chips as the picture draws the modules: `boxes` are the server's (GraphView.drawnCollapse()). */
export function updateModules(boxes = drawn) {
  drawn = boxes;
  for (const b of document.querySelectorAll("#modules-list .chip")) {
    const m = b.dataset.module;
    const state = stateOf(m);
    b.setAttribute("aria-pressed", String(state === "box"));
    b.dataset.state = state;
    b.title = t(state === "box" ? "modules.open" : state === "inside" ? "modules.inside" : "modules.close", { m });
  }
  const any = (drawn || []).length > 0;
  const btn = $("#modules-all");
  btn.textContent = t(any ? "modules.expandAll" : "modules.collapseAll");
  btn.dataset.all = any ? "1" : "0";
}

export function wireModules() {
  $("#modules-all").addEventListener("click", (e) => {
    const top = moduleList.filter((m) => !m.includes("."));
    if (e.currentTarget.dataset.all === "1") set({ collapse: [], expand: [ALL] });
    else set({ collapse: top, expand: [] });
  });
}
