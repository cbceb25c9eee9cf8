// The timeline: a range input over the run's steps with epoch ticks, in a row of its own, so the same pixel is
// the same step at every step (nothing beside it changes width).

import { S } from "./store.js";
import { t } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
const LABEL_EVERY = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000];

function tick(frag, k, total, cls = "") {
  const span = document.createElement("span");
  span.style.left = `${(k / (total - 1)) * 100}%`;
  if (cls) span.className = cls;
  frag.appendChild(span);
  return span;
}

/** Ticks for a new run: one per epoch (at most ~50), labelled every few; the divergence marked. */
export function setupTimeline() {
  const tl = $("#timeline");
  const total = S.run.total;
  tl.max = String(Math.max(0, total - 1));
  tl.value = String(Math.min(S.k, total - 1));
  const ticks = $("#ticks");
  ticks.replaceChildren();
  const { epochs, diverged_at: d } = S.run.meta;
  const frag = document.createDocumentFragment();
  if (total > 1 && epochs > 1) {
    const every = Math.max(1, Math.ceil(epochs / 50));
    const labelEvery = LABEL_EVERY.find((m) => epochs / m <= 6) || epochs;
    for (let e = 0; e <= epochs; e += every) {
      const k = e * S.run.perEpoch;
      if (k > total - 1) break;
      const span = tick(frag, k, total, e % labelEvery === 0 ? "major" : "");
      if (e % labelEvery === 0) {
        const label = document.createElement("i");
        label.textContent = String(e);
        label.style.left = span.style.left;
        frag.appendChild(label);
      }
    }
  }
  if (d !== null && d !== undefined && total > 1) tick(frag, d, total, "diverged");
  ticks.appendChild(frag);
}

export function syncTimeline() {
  const tl = $("#timeline");
  if (!S.run) return;
  if (tl.value !== String(S.k)) tl.value = String(S.k);
  const text = t("timeline.aria", { step: S.k, total: S.run.total });
  if (tl.getAttribute("aria-valuetext") !== text) tl.setAttribute("aria-valuetext", text);
  const hover = $("#timeline-hover");
  const show = S.hovered !== null && S.hovered >= 0 && S.run.total > 1;
  hover.hidden = !show;
  if (show) hover.style.left = `${(S.hovered / (S.run.total - 1)) * 100}%`;
}
