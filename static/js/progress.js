// Progress over the graph while a run loads, a toast, and errors shown in the graph's place.

import { t } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
let timer = null;

export function showProgress(label, fraction = null) {
  const box = $("#progress");
  box.hidden = false;
  $("#progress-label").textContent = label;
  box.classList.toggle("indeterminate", fraction === null);
  $("#progress-fill").style.width = fraction === null ? "30%" : `${Math.round(fraction * 100)}%`;
  if (timer) return;
  const t0 = performance.now();
  timer = setInterval(() => {
    $("#progress-elapsed").textContent = t("status.elapsed", { s: ((performance.now() - t0) / 1000).toFixed(1) });
  }, 100);
}

export function hideProgress() {
  $("#progress").hidden = true;
  clearInterval(timer);
  timer = null;
  $("#progress-elapsed").textContent = "";
}

export function toast(msg) {
  const el = $("#toast");
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 1800);
}

export function showError(err) {
  hideProgress();
  const msg = err && err.offline ? t("status.offline") : t("status.error", { msg: err && err.message ? err.message : String(err) });
  const empty = $("#graph-empty");
  empty.textContent = msg;
  empty.hidden = false;
  console.error(err);
}
