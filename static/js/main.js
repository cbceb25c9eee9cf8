// backprop-lens page: state (all of it in the URL), loading a run, stepping and playback.

import { ApiError, getJSON, getText, postJSON, stats, urls } from "./api.js";
import { Charts } from "./charts.js";
import { LogConsole } from "./console.js";
import { SetupForm } from "./form.js";
import { fmtFull, fmtNum, num } from "./format.js";
import { GraphView, titleOf } from "./graph.js";
import { applyI18n, defaultLang, getLang, setLang, t } from "./i18n.js";
import { renderInspector } from "./inspector.js";

const PHASES = ["forward", "backward", "update"];
const BYS = ["node", "phase", "sample", "epoch"];
const SPEEDS = [0.5, 1, 2, 5, 10, 30, 60, 120, 240];
const BATCH = 100; // steps per prefetch request (the API allows up to 500)
const CACHE_STEPS = 4000; // step JSONs kept in memory
const VIEW_KEYS = ["step", "phase", "reveal", "by", "speed", "log", "lang", "theme", "classroom", "node", "collapse"];

const $ = (sel) => document.querySelector(sel);

const S = {
  scenario: null,
  run: null, // {id, meta, arrays, total, perEpoch}
  k: 0,
  phase: "backward",
  reveal: null, // backward phase: how many nodes autograd has visited (null = all)
  by: "sample",
  speed: 5,
  playing: false,
  logY: false,
  logChosen: false,
  theme: "light",
  classroom: false,
  selected: null,
  collapse: [], // module paths drawn collapsed (graph.svg?collapse=)
  walk: null, // an animated backward walk: {t0, dt, n}
  orderCount: 0,
  loading: false,
  rendered: 0, // (step, phase) pairs drawn: the benchmark's counter
};

const cache = new Map(); // k -> step JSON
const inflight = new Map(); // batch start -> Promise

let graph;
let charts;
let logConsole;
let form;

// ---------------------------------------------------------------- URL

function readUrl() {
  const q = new URLSearchParams(location.search);
  const h = new URLSearchParams(location.hash.replace(/^#/, ""));
  const params = {};
  for (const [k, v] of q) if (k !== "scenario") params[k] = v;
  return { scenario: q.get("scenario"), params, view: Object.fromEntries(h) };
}

let urlTimer = null;
function writeUrl(now = false) {
  if (urlTimer && !now) return;
  const doWrite = () => {
    urlTimer = null;
    const q = new URLSearchParams();
    if (S.scenario) q.set("scenario", S.scenario);
    if (form && form.info) for (const [k, v] of Object.entries(form.rawChanged())) q.set(k, v);
    const h = new URLSearchParams();
    h.set("step", String(S.k));
    h.set("phase", S.phase);
    if (S.phase === "backward" && S.reveal !== null && !S.walk) h.set("reveal", String(S.reveal));
    h.set("by", S.by);
    h.set("speed", String(S.speed));
    h.set("log", S.logY ? "1" : "0");
    h.set("lang", getLang());
    h.set("theme", S.theme);
    if (S.classroom) h.set("classroom", "1");
    if (S.selected) h.set("node", S.selected);
    if (S.collapse.length) h.set("collapse", S.collapse.join(","));
    const url = `${location.pathname}?${q.toString()}#${h.toString()}`;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
  };
  if (now) {
    clearTimeout(urlTimer);
    doWrite();
  } else {
    urlTimer = setTimeout(doWrite, S.playing ? 300 : 60);
  }
}

// ---------------------------------------------------------------- progress and messages

let progressTimer = null;
function showProgress(label, fraction = null) {
  const box = $("#progress");
  box.hidden = false;
  $("#progress-label").textContent = label;
  box.classList.toggle("indeterminate", fraction === null);
  $("#progress-fill").style.width = fraction === null ? "30%" : `${Math.round(fraction * 100)}%`;
  if (!progressTimer) {
    const t0 = performance.now();
    progressTimer = setInterval(() => {
      $("#progress-elapsed").textContent = t("status.elapsed", { s: ((performance.now() - t0) / 1000).toFixed(1) });
    }, 100);
  }
}

function hideProgress() {
  $("#progress").hidden = true;
  clearInterval(progressTimer);
  progressTimer = null;
  $("#progress-elapsed").textContent = "";
}

function toast(msg) {
  const el = $("#toast");
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 1800);
}

function showError(err) {
  hideProgress();
  const msg = err && err.offline ? t("status.offline") : t("status.error", { msg: err && err.message ? err.message : String(err) });
  const empty = $("#graph-empty");
  empty.textContent = msg;
  empty.hidden = false;
  console.error(err);
}

// ---------------------------------------------------------------- loading a run

function fetchHistory(id, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker("/static/js/history-worker.js");
    stats.requests += 1;
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === "progress") onProgress(m.received, m.total);
      else if (m.type === "done") {
        worker.terminate();
        resolve(m);
      } else if (m.type === "error") {
        worker.terminate();
        reject(new ApiError(m.status, m.body));
      }
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || "worker failed"));
    };
    worker.postMessage({ url: new URL(urls.run(id), location.href).href });
  });
}

let runToken = 0;

async function startRun({ keepView = false } = {}) {
  const token = ++runToken;
  pause();
  form.clearErrors();
  const params = form.params();
  const info = form.info;
  const epochs = Number(params.epochs ?? info.params.epochs) || 0;
  const samples = Array.isArray(params.x ?? info.params.x) ? (params.x ?? info.params.x).length : 1;
  showProgress(t("status.running", { steps: (epochs * samples || "…").toLocaleString() }));
  writeUrl(true);
  let created;
  try {
    created = await postJSON(urls.runs(), { scenario: S.scenario, params });
  } catch (err) {
    if (token !== runToken) return;
    hideProgress();
    if (err instanceof ApiError && err.status === 422) {
      form.showErrors(err);
      S.run = null;
      graph.setRun(null);
      logConsole.clear();
      charts.clear();
      $("#graph-empty").textContent = t("setup.fix");
      $("#graph-empty").hidden = false;
      $("#banner").hidden = true;
      updateControls();
      return;
    }
    showError(err);
    return;
  }
  if (token !== runToken) return;
  form.markDirty(false);
  try {
    showProgress(t("status.history"), 0);
    const hist = await fetchHistory(created.id, (rec, total) =>
      showProgress(t("status.history"), total ? rec / total : null),
    );
    if (token !== runToken) return;
    const logText = await getText(urls.log(created.id));
    if (token !== runToken) return;
    const total = hist.meta.steps;
    S.run = {
      id: created.id,
      meta: hist.meta,
      arrays: hist.arrays,
      total,
      perEpoch: created.steps_per_epoch || (hist.meta.epochs ? Math.max(1, Math.round(total / hist.meta.epochs)) : 1),
    };
    cache.clear();
    inflight.clear();
    S.orderCount = 0;
    if (!keepView) {
      S.k = 0;
      S.reveal = null;
      S.selected = null;
    }
    S.k = Math.max(0, Math.min(S.k, total - 1));
    graph.setRun(created.id);
    logConsole.setLog(logText, S.scenario, hist.arrays.epoch, hist.arrays.sample);
    $("#console-full").href = urls.log(created.id);
    // a run whose loss grows by orders of magnitude (diverging) flattens on a linear axis: log, said plainly
    const span = charts.spanOf(hist.arrays.loss);
    const grows = charts.growth(hist.arrays.loss) >= 3 || hist.meta.diverged_at !== null;
    if (grows && !S.logChosen) S.logY = true;
    charts.setRun(S.run, S.logY);
    const hint = $("#log-hint");
    hint.hidden = !(grows && S.logY);
    hint.textContent = hist.meta.diverged_at !== null ? t("charts.log.diverged") : t("charts.log.span", { n: Math.floor(span) });
    setupTimeline();
    showDivergence();
    showProgress(t("status.steps"));
    const step = await ensureStep(S.k);
    if (token !== runToken) return;
    await graph.ensure(step, S.phase, S.theme);
    if (token !== runToken) return;
    hideProgress();
    $("#graph-empty").hidden = true;
    for (const ph of PHASES) graph.ensure(step, ph, S.theme).catch(() => {});
    buildModules(step);
    render();
  } catch (err) {
    if (token !== runToken) return;
    showError(err);
  }
}

function showDivergence() {
  const m = S.run.meta;
  const banner = $("#banner");
  if (m.diverged_at === null || m.diverged_at === undefined) {
    banner.hidden = true;
    return;
  }
  const raw = m.divergedLoss;
  const lossNum = num(raw);
  let what = "inf/NaN";
  if (typeof lossNum === "number" && Number.isNaN(lossNum)) what = "NaN";
  else if (lossNum === Infinity || lossNum === -Infinity) what = fmtNum(lossNum);
  banner.hidden = false;
  $("#banner-text").textContent = t("diverged", { k: m.diverged_at, what });
  const btn = $("#banner-goto");
  btn.textContent = t("diverged.goto", { k: m.diverged_at });
  btn.onclick = () => go({ k: m.diverged_at, reveal: null });
}

// ---------------------------------------------------------------- step data

function batchStart(k) {
  return Math.floor(k / BATCH) * BATCH;
}

function fetchBatch(start) {
  if (!S.run || start < 0 || start >= S.run.total) return Promise.resolve();
  if (inflight.has(start)) return inflight.get(start);
  const runId = S.run.id;
  const stop = Math.min(S.run.total, start + BATCH);
  const p = getJSON(urls.steps(runId, start, stop))
    .then((list) => {
      if (!S.run || S.run.id !== runId) return;
      for (const s of list) cache.set(s.step, s);
      while (cache.size > CACHE_STEPS) {
        // drop the entries farthest from where we are
        let far = null;
        let fd = -1;
        for (const key of cache.keys()) {
          const d = Math.abs(key - S.k);
          if (d > fd) {
            fd = d;
            far = key;
          }
          if (fd > CACHE_STEPS) break;
        }
        cache.delete(far);
      }
      if (!S.orderCount && list.length) S.orderCount = list[0].graph.nodes.filter((n) => n.order !== null && n.order !== undefined).length;
    })
    .finally(() => inflight.delete(start));
  inflight.set(start, p);
  return p;
}

async function ensureStep(k) {
  if (!cache.has(k)) await fetchBatch(batchStart(k));
  const s = cache.get(k);
  if (!s) throw new Error(`step ${k} did not load`);
  return s;
}

const AHEAD = 6; // batches kept loaded ahead of the current step (one request at a time, in the background)

/** Keep the batch of k in memory, and the next AHEAD batches, fetched one after another while idle. */
function prefetch(k) {
  if (!S.run) return;
  const b = batchStart(k);
  if (!cache.has(k)) fetchBatch(b);
  if (inflight.size) return; // one background request at a time: the server serves the visible step first
  for (let i = 1; i <= AHEAD; i++) {
    const start = b + i * BATCH;
    if (start >= S.run.total) break;
    if (!cache.has(start) || !cache.has(Math.min(S.run.total, start + BATCH) - 1)) {
      const runId = S.run.id;
      fetchBatch(start).then(
        () => {
          if (S.run && S.run.id === runId) prefetch(S.k);
        },
        () => {}, // shown when that step is wanted
      );
      break;
    }
  }
}

// ---------------------------------------------------------------- stepping

function orderCount() {
  if (S.orderCount) return S.orderCount;
  const s = cache.get(S.k);
  if (s) S.orderCount = s.graph.nodes.filter((n) => n.order !== null && n.order !== undefined).length;
  return S.orderCount;
}

/** The position after one unit of `by` forward (+1) or back (-1); null at either end. */
function neighbour(pos, dir, by) {
  const total = S.run ? S.run.total : 0;
  let { k, phase, reveal } = pos;
  const pi = PHASES.indexOf(phase);
  const n = orderCount();
  if (by === "sample" || by === "epoch") {
    const d = by === "epoch" ? S.run.perEpoch : 1;
    const nk = Math.max(0, Math.min(total - 1, k + dir * d));
    if (nk === k) return null;
    return { k: nk, phase, reveal: null };
  }
  if (dir > 0) {
    if (by === "node" && phase === "backward" && n && (reveal ?? n) < n) return { k, phase, reveal: (reveal ?? n) + 1 };
    if (by === "node" && phase === "forward" && n) return { k, phase: "backward", reveal: 1 };
    if (pi < 2) return { k, phase: PHASES[pi + 1], reveal: null };
    if (k + 1 >= total) return null;
    return { k: k + 1, phase: "forward", reveal: null };
  }
  if (by === "node" && phase === "backward" && n && (reveal ?? n) > 1) return { k, phase, reveal: (reveal ?? n) - 1 };
  if (by === "node" && phase === "update" && n) return { k, phase: "backward", reveal: n };
  if (pi > 0) return { k, phase: PHASES[pi - 1], reveal: null };
  if (k <= 0) return null;
  return { k: k - 1, phase: "update", reveal: null };
}

function go(pos, { walk = false } = {}) {
  if (!S.run) return false;
  S.k = pos.k ?? S.k;
  S.phase = pos.phase ?? S.phase;
  S.reveal = pos.reveal === undefined ? S.reveal : pos.reveal;
  if (S.phase !== "backward") S.reveal = null;
  S.walk = null;
  if (walk && S.phase === "backward" && orderCount() > 1) {
    const unit = S.playing ? 1000 / S.speed : 1400;
    const dt = unit / (orderCount() + 1);
    if (dt >= 25) {
      S.walk = { t0: performance.now(), dt, n: orderCount() };
      S.reveal = 1;
    }
  }
  prefetch(S.k);
  render();
  return true;
}

function step(dir, by = S.by) {
  if (!S.run) return false;
  const pos = neighbour({ k: S.k, phase: S.phase, reveal: S.reveal }, dir, by);
  if (!pos) return false;
  if (!cache.has(pos.k)) {
    prefetch(pos.k);
    if (S.playing) return false; // wait for the data rather than skip ahead
  }
  return go(pos, { walk: dir > 0 && by === "phase" && pos.phase === "backward" && S.phase !== "backward" });
}

// ---------------------------------------------------------------- playback

let lastFrame = 0;
let credit = 0;

function play() {
  if (!S.run || S.playing) return;
  if (!neighbour({ k: S.k, phase: S.phase, reveal: S.reveal }, 1, S.by)) go({ k: 0, phase: S.by === "phase" || S.by === "node" ? "forward" : S.phase, reveal: null });
  S.playing = true;
  credit = 0;
  lastFrame = performance.now();
  updateControls();
  requestAnimationFrame(frame);
}

function pause() {
  if (!S.playing) return;
  S.playing = false;
  updateControls();
  writeUrl(true);
  render(); // the tooltips skipped while playing
}

function frame(now) {
  if (S.walk) {
    const i = Math.floor((now - S.walk.t0) / S.walk.dt) + 1;
    const r = i > S.walk.n ? null : i;
    if (r !== S.reveal) {
      S.reveal = r;
      if (r === null) S.walk = null;
      render();
    }
  }
  if (S.playing) {
    credit += ((now - lastFrame) / 1000) * S.speed;
    // when frames are slow (a big graph, a busy machine) several steps pass per frame and only the last is
    // drawn: playback keeps its speed instead of slowing down with the frame rate
    credit = Math.min(credit, 30);
    let moved = 0;
    while (credit >= 1 && moved < 30) {
      if (S.walk && S.by === "phase") break; // let the backward walk finish its unit
      if (!step(1)) {
        if (!neighbour({ k: S.k, phase: S.phase, reveal: S.reveal }, 1, S.by)) pause();
        credit = Math.min(credit, 1);
        break;
      }
      credit -= 1;
      moved += 1;
    }
  }
  lastFrame = now;
  if (S.playing || S.walk) requestAnimationFrame(frame);
}

function ensureFrames() {
  if (S.walk && !S.playing) requestAnimationFrame(frame);
}

// ---------------------------------------------------------------- drawing

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderNow();
  });
  ensureFrames();
}

let lastInspector = "";

const timing = { frames: 0, controls: 0, console: 0, charts: 0, graph: 0, panels: 0 }; // ms, summed (bench)
function timed(key, fn) {
  const t0 = performance.now();
  const r = fn();
  timing[key] += performance.now() - t0;
  return r;
}

function renderNow() {
  timing.frames += 1;
  timed("controls", updateControls);
  if (!S.run) return;
  const k = S.k;
  const stepData = cache.get(k);
  timed("console", () => logConsole.show(k, S.phase));
  timed("charts", () => charts.setStep(k, stepData, S.phase));
  const vp = $("#graph-viewport");
  if (stepData) {
    const quick = S.playing; // tooltips wait for the pause
    const ok = timed("graph", () =>
      graph.draw(stepData, S.phase, { theme: S.theme, reveal: S.reveal, selected: S.selected, quick }),
    );
    if (ok) {
      S.rendered += 1;
      vp.dataset.step = String(k);
      vp.dataset.phase = S.phase;
      vp.dataset.reveal = S.reveal === null ? "" : String(S.reveal);
      vp.dataset.ready = "1";
    }
    const key = `${k}|${S.phase}|${S.reveal}|${S.selected}|${getLang()}`;
    timed("panels", () => {
      if (key !== lastInspector) {
        lastInspector = key;
        renderInspector($("#inspector"), stepData, S.selected, { phase: S.phase, reveal: S.reveal });
        $("#inspector-close").hidden = !S.selected;
        renderAccum(stepData);
      }
      renderWalkCaption(stepData);
    });
  } else {
    prefetch(k);
    fetchBatch(batchStart(k)).then(() => render());
  }
  writeUrl();
}

function renderWalkCaption(stepData) {
  const el = $("#walk-caption");
  if (S.phase !== "backward" || S.reveal === null) {
    el.hidden = true;
    return;
  }
  const n = orderCount();
  const node = stepData.graph.nodes.find((x) => x.order === S.reveal - 1);
  if (!node) {
    el.hidden = true;
    return;
  }
  const name = `${titleOf(node)}${node.grad_fn ? ` (${node.grad_fn})` : ""}`;
  const ins = stepData.graph.edges.filter((e) => e.target === node.id && e.grad !== null);
  const nodes = new Map(stepData.graph.nodes.map((x) => [x.id, x]));
  const parts = ins.map(
    (e) => `→ ${titleOf(nodes.get(e.source))}: <code>${fmtNum(e.upstream)} × ${fmtNum(e.local)} = ${fmtNum(e.grad)}</code>`,
  );
  if (node.kind === "param") parts.push(`<code>${titleOf(node)}.grad = ${fmtNum(node.grad)}</code>`);
  el.innerHTML = `${escapeHtml(t("walk.caption", { i: S.reveal, n, node: name }))}${parts.length ? " · " + parts.join(" · ") : ""}`;
  el.hidden = false;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function renderAccum(stepData) {
  const el = $("#accum");
  const zg = S.run.meta.params.zero_grad;
  if (zg !== false) {
    el.hidden = true;
    return;
  }
  const rows = Object.entries(stepData.params)
    .map(([name, p]) => `<tr><td>${escapeHtml(name)}.grad</td><td>${escapeHtml(fmtFull(p.grad_step))}</td><td class="grad">${escapeHtml(fmtFull(p.grad))}</td></tr>`)
    .join("");
  el.innerHTML = `<h3>${escapeHtml(t("accum.title"))}</h3><table><thead><tr><th></th><th>${escapeHtml(t("accum.step"))}</th><th>${escapeHtml(t("accum.total"))}</th></tr></thead><tbody>${rows}</tbody></table>`;
  el.hidden = false;
}

function updateControls() {
  const has = Boolean(S.run);
  const total = has ? S.run.total : 0;
  const pos = { k: S.k, phase: S.phase, reveal: S.reveal };
  $("#step-prev").disabled = !has || !neighbour(pos, -1, S.by);
  $("#step-next").disabled = !has || !neighbour(pos, 1, S.by);
  $("#step-first").disabled = !has || S.k === 0;
  $("#step-last").disabled = !has || S.k === total - 1;
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
  const tl = $("#timeline");
  if (has) {
    if (tl.value !== String(S.k)) tl.value = String(S.k);
    tl.setAttribute("aria-valuetext", t("timeline.aria", { step: S.k, total }));
    const a = S.run.arrays;
    const sample = a.sample[S.k];
    const loss = a.loss[S.k];
    const html =
      `${escapeHtml(t("readout.step"))} <b>${S.k}</b> ${escapeHtml(t("readout.of"))} ${total - 1} · ` +
      `${escapeHtml(t("readout.epoch"))} <b>${a.epoch[S.k]}</b>` +
      (sample >= 0 ? ` · ${escapeHtml(t("readout.sample"))} <b>${sample}</b>` : "") +
      ` · ${escapeHtml(t("readout.loss"))} <b>${escapeHtml(fmtNum(loss))}</b>`;
    const ro = $("#readout");
    if (ro.innerHTML !== html) ro.innerHTML = html;
    const cr = $("#classroom-readout");
    const crText = `${t("readout.step")} ${S.k} · ${t(`phase.${S.phase}`)} · ${t("readout.loss")} ${fmtNum(loss)}`;
    if (cr.textContent !== crText) cr.textContent = crText;
  }
}

function setupTimeline() {
  const tl = $("#timeline");
  const total = S.run.total;
  tl.max = String(Math.max(0, total - 1));
  tl.value = String(Math.min(S.k, total - 1));
  const ticks = $("#ticks");
  ticks.innerHTML = "";
  const epochs = S.run.meta.epochs;
  const per = S.run.perEpoch;
  if (total > 1 && epochs > 1) {
    const every = Math.max(1, Math.ceil(epochs / 50));
    const labelEvery = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000].find((m) => epochs / m <= 6) || epochs;
    const frag = document.createDocumentFragment();
    for (let e = 0; e <= epochs; e += every) {
      const k = e * per;
      if (k > total - 1) break;
      const span = document.createElement("span");
      span.style.left = `${(k / (total - 1)) * 100}%`;
      if (e % labelEvery === 0) {
        span.className = "major";
        const label = document.createElement("i");
        label.textContent = String(e);
        label.style.left = span.style.left;
        frag.appendChild(label);
      }
      frag.appendChild(span);
    }
    ticks.appendChild(frag);
  }
  const d = S.run.meta.diverged_at;
  if (d !== null && d !== undefined && total > 1) {
    const span = document.createElement("span");
    span.className = "diverged";
    span.style.left = `${(d / (total - 1)) * 100}%`;
    ticks.appendChild(span);
  }
}

// ---------------------------------------------------------------- export

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

// ---------------------------------------------------------------- module clusters

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

let moduleList = [];
function buildModules(step) {
  moduleList = modulePaths(step);
  const bar = $("#modules");
  bar.hidden = moduleList.length === 0;
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

function updateModules() {
  for (const b of document.querySelectorAll("#modules-list .chip")) {
    const on = S.collapse.includes(b.dataset.module);
    b.setAttribute("aria-pressed", String(on));
    b.title = t("modules.toggle", { m: b.dataset.module });
  }
  const all = moduleList.length > 0 && moduleList.every((m) => S.collapse.includes(m) || S.collapse.some((c) => m.startsWith(c + ".")));
  const btn = $("#modules-all");
  btn.textContent = t(all ? "modules.expandAll" : "modules.collapseAll");
  btn.dataset.all = all ? "1" : "0";
}

function setCollapse(paths) {
  S.collapse = [...new Set(paths)].sort();
  if (graph) graph.setCollapse(S.collapse);
  updateModules();
  if (S.run && cache.has(S.k)) {
    const s = cache.get(S.k);
    for (const ph of PHASES) graph.ensure(s, ph, S.theme).catch(() => {});
  }
  render();
  writeUrl();
}

function toggleModule(m) {
  const on = S.collapse.includes(m);
  // collapsing a module hides its sub-modules inside the box: keep only the outermost collapsed paths
  const next = on ? S.collapse.filter((c) => c !== m) : [...S.collapse.filter((c) => !c.startsWith(m + ".")), m];
  setCollapse(next);
}

// ---------------------------------------------------------------- view options

function setTheme(theme) {
  S.theme = theme === "dark" ? "dark" : "light";
  document.documentElement.dataset.theme = S.theme;
  $("#theme-toggle").setAttribute("aria-pressed", String(S.theme === "dark"));
  if (charts && S.run) charts.retheme();
  if (S.run && cache.has(S.k)) {
    const s = cache.get(S.k);
    for (const ph of PHASES) graph.ensure(s, ph, S.theme).catch(() => {});
  }
  render();
  writeUrl();
}

function setLanguage(lang) {
  setLang(lang);
  applyI18n();
  if (form) form.relabelAll();
  if (S.run) {
    charts.buildPred();
    if (charts.curveModel) charts.buildCurve();
    showDivergence();
  }
  lastInspector = "";
  updateModules();
  if (!S.run) renderInspector($("#inspector"), null, null, {});
  render();
  writeUrl();
}

function setClassroom(on) {
  S.classroom = on;
  document.documentElement.classList.toggle("classroom", on);
  $("#classroom").setAttribute("aria-pressed", String(on));
  requestAnimationFrame(() => graph.fit());
  writeUrl();
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("#step-prev").addEventListener("click", () => {
    pause();
    step(-1);
  });
  $("#step-next").addEventListener("click", () => {
    pause();
    step(1);
  });
  $("#step-first").addEventListener("click", () => {
    pause();
    go({ k: 0, reveal: null });
  });
  $("#step-last").addEventListener("click", () => {
    pause();
    go({ k: S.run.total - 1, reveal: null });
  });
  $("#play").addEventListener("click", () => (S.playing ? pause() : play()));
  for (const r of document.querySelectorAll("#phase input")) {
    r.addEventListener("change", () => {
      if (r.checked) go({ phase: r.value, reveal: null }, { walk: r.value === "backward" && S.by !== "sample" && S.by !== "epoch" });
    });
  }
  $("#by").addEventListener("change", (e) => {
    S.by = e.target.value;
    render();
  });
  const sp = $("#speed");
  for (const v of SPEEDS) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = `${v}/s`;
    sp.appendChild(o);
  }
  sp.addEventListener("change", (e) => {
    S.speed = Number(e.target.value);
    render();
  });
  const tl = $("#timeline");
  tl.addEventListener("input", () => {
    pause();
    go({ k: Number(tl.value), reveal: null });
  });
  $("#log-scale").addEventListener("change", (e) => {
    S.logY = e.target.checked;
    S.logChosen = true;
    $("#log-hint").hidden = true;
    charts.setLog(S.logY);
    render();
  });
  $("#zoom-in").addEventListener("click", () => graph.zoomBy(1.25));
  $("#zoom-out").addEventListener("click", () => graph.zoomBy(0.8));
  $("#zoom-fit").addEventListener("click", () => graph.fit());
  $("#export-svg").addEventListener("click", () => download("svg"));
  $("#export-png").addEventListener("click", () => download("png"));
  $("#copy-link").addEventListener("click", copyLink);
  $("#classroom").addEventListener("click", () => setClassroom(!S.classroom));
  $("#classroom-exit").addEventListener("click", () => setClassroom(false));
  $("#theme-toggle").addEventListener("click", () => setTheme(S.theme === "dark" ? "light" : "dark"));
  $("#lang-toggle").addEventListener("click", () => setLanguage(getLang() === "zh" ? "en" : "zh"));
  $("#inspector-close").addEventListener("click", () => select(null));
  $("#modules-all").addEventListener("click", (e) => {
    const top = moduleList.filter((m) => !m.includes("."));
    setCollapse(e.currentTarget.dataset.all === "1" ? [] : top);
  });

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = e.target && e.target.tagName;
    const typing = (tag === "INPUT" && e.target.type !== "range" && e.target.type !== "radio" && e.target.type !== "checkbox") || tag === "TEXTAREA" || tag === "SELECT";
    if (typing) return;
    if (e.key === "Escape" && S.classroom) setClassroom(false);
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      pause();
      step(e.key === "ArrowRight" ? 1 : -1, e.shiftKey ? "epoch" : S.by);
    } else if (e.key === " " || e.key === "Spacebar") {
      S.playing ? pause() : play();
    } else if (e.key === "Home") {
      pause();
      go({ k: 0, reveal: null });
    } else if (e.key === "End") {
      pause();
      if (S.run) go({ k: S.run.total - 1, reveal: null });
    } else return;
    e.preventDefault();
  });
  document.addEventListener("keyup", (e) => {
    if ((e.key === " " || e.key === "Spacebar") && e.target && e.target.tagName === "BUTTON") e.preventDefault();
  });
  window.addEventListener("hashchange", () => {
    // a pasted link with another view: apply it (the run config lives in the query, which reloads the page)
    applyView(readUrl().view);
    render();
  });
}

function select(id) {
  S.selected = id;
  render();
}

function applyView(v) {
  if (v.phase && PHASES.includes(v.phase)) S.phase = v.phase;
  if (v.step !== undefined && /^\d+$/.test(v.step)) S.k = Number(v.step);
  S.reveal = v.reveal && /^\d+$/.test(v.reveal) && S.phase === "backward" ? Number(v.reveal) : null;
  if (v.by && BYS.includes(v.by)) S.by = v.by;
  if (v.speed && SPEEDS.includes(Number(v.speed))) S.speed = Number(v.speed);
  S.logY = v.log === "1";
  if (v.log !== undefined) S.logChosen = true; // a link or a click chose the scale: no automatic log
  S.selected = v.node || null;
  const collapse = v.collapse ? v.collapse.split(",").filter(Boolean) : [];
  if (collapse.join(",") !== S.collapse.join(",")) setCollapse(collapse);
  if (v.theme && v.theme !== S.theme) setTheme(v.theme);
  if ((v.classroom === "1") !== S.classroom) setClassroom(v.classroom === "1");
  if (v.lang && v.lang !== getLang()) setLanguage(v.lang);
}

async function boot() {
  const { scenario, params, view } = readUrl();
  setLang(view.lang === "zh" || view.lang === "en" ? view.lang : defaultLang());
  applyI18n();
  S.theme = document.documentElement.dataset.theme === "dark" ? "dark" : "light";
  $("#theme-toggle").setAttribute("aria-pressed", String(S.theme === "dark"));
  S.classroom = document.documentElement.classList.contains("classroom");
  $("#classroom").setAttribute("aria-pressed", String(S.classroom));

  graph = new GraphView($("#graph-viewport"), {
    onSelect: (id) => {
      if (id && id.startsWith("module:") && S.collapse.includes(id.slice(7))) return toggleModule(id.slice(7));
      select(id === S.selected ? null : id);
    },
    onTemplate: () => render(),
    onError: (err) => console.error(err),
  });
  charts = new Charts(document, { onPick: (k) => (pause(), go({ k, reveal: null })) });
  logConsole = new LogConsole($("#console"));
  form = new SetupForm($("#setup"), {
    onRun: () => startRun(),
    onScenario: (id) => {
      S.scenario = id;
      form.build(id, {});
      startRun();
    },
  });
  wire();
  applyView(view);
  updateControls();
  window.__lens = { S, cache, timing, graph, stats, texts: () => graph.texts(), console: () => logConsole.text(), step, go, play, pause };

  let list;
  try {
    showProgress(t("status.loading"));
    list = await getJSON(urls.scenarios());
  } catch (err) {
    showError(err);
    return;
  }
  form.setScenarios(list);
  S.scenario = list.some((s) => s.id === scenario) ? scenario : list.some((s) => s.id === "lecture04") ? "lecture04" : list[0].id;
  form.build(S.scenario, params);
  await startRun({ keepView: true });
}

boot();
