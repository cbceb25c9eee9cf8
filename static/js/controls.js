// The transport's state: buttons enabled where a move exists, the phase and step-by controls, the readout.

import { labelsAt } from "./labels.js";
import { t } from "./i18n.js";
import { neighbour } from "./player.js";
import { S } from "./store.js";
import { esc } from "./html.js";

const $ = (sel) => document.querySelector(sel);

export function updateControls() {
  const has = Boolean(S.run);
  const pos = { k: S.k, phase: S.phase, reveal: S.reveal };
  $("#step-prev").disabled = !has || !neighbour(pos, -1, S.by);
  $("#step-next").disabled = !has || !neighbour(pos, 1, S.by);
  $("#step-first").disabled = !has || S.k === 0;
  $("#step-last").disabled = !has || S.k === S.run.total - 1;
  $("#play").disabled = !has;
  for (const id of ["export-svg", "export-png", "copy-link"]) $(`#${id}`).disabled = !has;
  const playBtn = $("#play");
  playBtn.setAttribute("aria-pressed", String(S.playing));
  const pl = t(S.playing ? "pause" : "play");
  if (playBtn.getAttribute("aria-label") !== pl) {
    playBtn.setAttribute("aria-label", pl);
    playBtn.title = pl;
  }
  const radio = document.querySelector(`#phase input[value="${S.phase}"]`);
  if (radio && !radio.checked) radio.checked = true;
  $("#phase").dataset.value = S.phase;
  if ($("#by").value !== S.by) $("#by").value = S.by;
  if ($("#speed").value !== String(S.speed)) $("#speed").value = String(S.speed);
  $("#log-scale").checked = S.logY;
  if (has) updateReadout();
}

function updateReadout() {
  const a = S.run.arrays;
  const sample = a.sample[S.k];
  const labels = labelsAt(S.k);
  const loss = labels ? labels.numbers.loss : "…"; // the server's text; drawn again when the labels arrive
  const html =
    `${esc(t("readout.step"))} <b>${S.k}</b> ${esc(t("readout.of"))} ${S.run.total - 1} · ` +
    `${esc(t("readout.epoch"))} <b>${a.epoch[S.k]}</b>` +
    (sample >= 0 ? ` · ${esc(t("readout.sample"))} <b>${sample}</b>` : "") +
    ` · ${esc(t("readout.loss"))} <b>${esc(loss)}</b>`;
  const ro = $("#readout");
  if (ro.innerHTML !== html) ro.innerHTML = html;
  const cr = $("#classroom-readout");
  const crText = `${t("readout.step")} ${S.k} · ${t(`phase.${S.phase}`)} · ${t("readout.loss")} ${loss}`;
  if (cr.textContent !== crText) cr.textContent = crText;
}
