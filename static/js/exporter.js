// Export: the step's graph as the server draws it (SVG, PNG), and a link to the current view.
// In the offline file (<html data-offline>) there is no server: the SVG is the step's template, as the file
// carries it, with the step's own strings written in by the page's patcher, which is what the server's graph.svg
// of that step is. A PNG needs the server's rasteriser, so that button says so instead.

import { stats, urls } from "./api.js";
import { t } from "./i18n.js";
import { ensureLabels, labelsAt } from "./labels.js";
import { patchStep } from "./patcher.js";
import { toast } from "./progress.js";
import { ensureStep } from "./steps.js";
import { S, writeUrl } from "./store.js";

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'; // the server's SVG starts with it
const offline = () => document.documentElement.hasAttribute("data-offline");

async function download(fmt) {
  if (!S.run) return;
  if (fmt === "png" && offline()) {
    toast(t("export.png.offline"));
    return;
  }
  let blob;
  try {
    blob = fmt === "svg" && offline() ? await offlineSvg() : await fromServer(fmt);
  } catch (err) {
    toast(t("status.error", { msg: err.message }));
    return;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `backprop-lens-${S.scenario}-step${S.k}-${S.phase}.${fmt}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function fromServer(fmt) {
  stats.requests += 1;
  const res = await fetch(urls.image(S.run.id, S.k, fmt, S.phase, S.theme, S.collapse, S.lang, null, S.expand));
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.blob();
}

/** The step's SVG from the file alone: its template (untouched by the view: no zoom, selection or walk) with
 * the step's texts and tooltips written into their slots. */
async function offlineSvg() {
  const { k, phase } = S;
  const [step, res] = await Promise.all([ensureStep(k), fetch(urls.image(S.run.id, k, "svg", phase, S.theme, S.collapse, S.lang))]);
  await ensureLabels(k);
  const labels = labelsAt(k);
  if (!res.ok || !labels || !labels.phases[phase]) throw new Error(`graph.svg: HTTP ${res.status}`);
  const svg = new DOMParser().parseFromString(await res.text(), "image/svg+xml").documentElement;
  const slots = (attr) => [...svg.querySelectorAll(`[data-${attr}]`)].map((el) => ({ id: el.dataset[attr], el, last: null }));
  const tpl = { slots: slots("label"), tips: slots("tip"), nodes: new Map(), edges: new Map(), chains: new Map() };
  patchStep(tpl, step, labels.phases[phase], { phase, reveal: null });
  svg.setAttribute("data-step", String(k)); // the template's is the step it was drawn for
  return new Blob([XML_DECL + new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" });
}

async function copyLink() {
  writeUrl(true);
  const text = location.href;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement("textarea");
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  toast(t("export.copied"));
}

export function wireExport() {
  document.querySelector("#export-svg").addEventListener("click", () => download("svg"));
  const png = document.querySelector("#export-png");
  png.addEventListener("click", () => download("png"));
  if (offline()) {
    // not `disabled`: the transport enables the export buttons with a run, and a disabled button tells no one why
    png.setAttribute("aria-disabled", "true");
    png.dataset.i18nAttr = "aria-label:export.png.offline,title:export.png.offline";
  }
}
