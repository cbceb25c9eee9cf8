// Export: the step's graph as the server draws it (SVG, PNG), and a link to the current view.

import { stats, urls } from "./api.js";
import { t } from "./i18n.js";
import { toast } from "./progress.js";
import { S, writeUrl } from "./store.js";

async function download(fmt) {
  if (!S.run) return;
  const url = urls.image(S.run.id, S.k, fmt, S.phase, S.theme, S.collapse);
  stats.requests += 1;
  const res = await fetch(url);
  if (!res.ok) {
    toast(t("status.error", { msg: `HTTP ${res.status}` }));
    return;
  }
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `backprop-lens-${S.scenario}-step${S.k}-${S.phase}.${fmt}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
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
  document.querySelector("#export-png").addEventListener("click", () => download("png"));
  document.querySelector("#copy-link").addEventListener("click", copyLink);
}
