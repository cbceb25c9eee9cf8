// Loading a run: POST the configuration, fetch the history (with progress; parsed in a worker) and the log, then the
// first step and its templates. A refused configuration (422) leaves the current run on screen.

import { ApiError, getBytes, getJSON, postJSON, urls } from "./api.js";
import { t } from "./i18n.js";
import { hideProgress, showError, showProgress } from "./progress.js";
import { ensureLabels, labelsAt } from "./labels.js";
import { ensureStep, resetSteps } from "./steps.js";
import { PHASES, S, set, writeUrl } from "./store.js";

const $ = (sel) => document.querySelector(sel);

async function fetchHistory(id, onProgress) {
  const bytes = await getBytes(urls.run(id), onProgress);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./history-worker.js", import.meta.url));
    worker.onmessage = (ev) => {
      const m = ev.data;
      worker.terminate();
      if (m.type === "done") resolve(m);
      else reject(new ApiError(m.status, m.body));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || "worker failed"));
    };
    worker.postMessage({ bytes: bytes.buffer }, [bytes.buffer]);
  });
}

let runToken = 0;

/** Run the form's configuration. ui: {form, graph, charts, logConsole, onLoaded(step)}. */
export async function startRun(ui, { keepView = false } = {}) {
  const token = ++runToken;
  const { form } = ui;
  const params = form.params();
  const epochs = Number(params.epochs ?? form.info.params.epochs) || 0;
  const xs = params.x ?? form.info.params.x;
  const samples = Array.isArray(xs) ? xs.length : 1;
  if (!S.run) showProgress(t("status.running", { steps: (epochs * samples || "…").toLocaleString() }));
  let created;
  try {
    created = await postJSON(urls.runs(), { scenario: S.scenario, params });
  } catch (err) {
    // a refusal of what the form no longer says (the user edited since) is old news
    if (token !== runToken || JSON.stringify(form.params()) !== JSON.stringify(params)) return;
    refused(ui, err);
    return;
  }
  if (token !== runToken) return;
  form.clearErrors();
  form.markDirty(false);
  // only an accepted configuration reaches the URL
  set({ query: form.rawChanged() }, { url: false });
  writeUrl(true);
  try {
    await load(ui, created, token, keepView);
  } catch (err) {
    if (token === runToken) showError(err);
  }
}

function refused(ui, err) {
  if (!(err instanceof ApiError) || err.status !== 422) {
    showError(err);
    return;
  }
  hideProgress();
  ui.form.showErrors(err);
  if (!S.run) {
    $("#graph-empty").textContent = t("setup.fix");
    $("#graph-empty").hidden = false;
  }
}

async function load(ui, created, token, keepView) {
  const first = !S.run;
  if (first) showProgress(t("status.history"), 0);
  const hist = await fetchHistory(created.id, (rec, total) => {
    if (first) showProgress(t("status.history"), total ? rec / total : null);
  });
  if (token !== runToken) return;
  const log = await getJSON(urls.logJson(created.id));
  if (token !== runToken) return;
  const total = hist.meta.steps;
  const run = {
    id: created.id,
    meta: hist.meta,
    arrays: hist.arrays,
    total,
    perEpoch: created.steps_per_epoch || (hist.meta.epochs ? Math.max(1, Math.round(total / hist.meta.epochs)) : 1),
  };
  resetSteps();
  const view = keepView ? {} : { k: 0, reveal: null, selected: null };
  set({ run, orderCount: 0, ...view, k: Math.max(0, Math.min(keepView ? S.k : 0, total - 1)) }, { url: false });
  const [step] = await Promise.all([ensureStep(S.k), ensureLabels(S.k)]);
  const labels = labelsAt(S.k);
  if (token !== runToken || !labels) return;
  ui.graph.setRun(created.id);
  ui.logConsole.setLog(log, total);
  $("#console-full").href = urls.log(created.id);
  const ensure = (ph) => ui.graph.ensure(S.k, ph, S.theme, S.lang, labels.phases[ph].template);
  await ensure(S.phase);
  if (token !== runToken) return;
  hideProgress();
  $("#graph-empty").hidden = true;
  for (const ph of PHASES) if (labels.phases[ph]) ensure(ph).catch(() => {});
  ui.onLoaded(step);
}
