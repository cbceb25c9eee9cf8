// backprop-lens page: boot, the effects of state changes, and drawing once per animation frame.
// State lives in store.js (and the URL); each panel has its own module and render function.

import { getJSON, stats, urls } from "./api.js";
import { Charts } from "./charts.js";
import { LogConsole } from "./console.js";
import { updateControls } from "./controls.js";
import { renderExplain, resetExplain, wireExplain } from "./explain.js";
import { SetupForm } from "./form.js";
import { GraphView } from "./graph.js";
import { applyI18n, defaultLang, loadMessages, setLang, t } from "./i18n.js";
import { renderInspector } from "./inspector.js";
import { renderPractice } from "./practice.js";
import { renderSource } from "./source-panel.js";
import { startRun } from "./loader.js";
import { buildModules, openModule, updateModules } from "./modules-bar.js";
import { go, pause, play, runWalk, step } from "./player.js";
import { showError, showProgress } from "./progress.js";
import { ensureLabels, labelsAt } from "./labels.js";
import { cache, fetchBatch, batchStart, prefetch } from "./steps.js";
import { PHASES, readUrl, S, set, subscribe, viewFromHash } from "./store.js";
import { setupTimeline, syncTimeline } from "./timeline.js";
import { wire } from "./wire.js";

const $ = (sel) => document.querySelector(sel);
const ui = {};

// ---------------------------------------------------------------- effects of state changes

/** The SVGs of the current step's three phases, fetched ahead so switching phase is instant. */
function ensureTemplates() {
  const labels = S.run && labelsAt(S.k);
  if (!labels) return;
  for (const ph of PHASES) {
    if (labels.phases[ph]) ui.graph.ensure(S.k, ph, S.theme, S.lang, labels.phases[ph].template).catch(() => {});
  }
}

function applyTheme() {
  document.documentElement.dataset.theme = S.theme;
  $("#theme-toggle").setAttribute("aria-pressed", String(S.theme === "dark"));
  if (S.run) ui.charts.retheme();
  ensureTemplates();
}

function applyLang() {
  setLang(S.lang);
  applyI18n();
  ui.form.relabelAll();
  if (S.run) {
    ui.charts.buildPred();
    if (ui.charts.curveModel) ui.charts.buildCurve();
    showDivergence();
    presenterTitle();
  }
  lastInspector = "";
  resetExplain();
  updateModules();
  if (!S.run) renderInspector($("#inspector"), null, null, {});
}

function applyClassroom() {
  document.documentElement.classList.toggle("classroom", S.classroom);
  $("#classroom").setAttribute("aria-pressed", String(S.classroom));
  requestAnimationFrame(() => ui.graph.fit());
}

function onChange(patch) {
  if ("theme" in patch) applyTheme();
  if ("lang" in patch) loadMessages(S.lang).then(() => (applyLang(), render()), (err) => console.error(err));
  if ("classroom" in patch) applyClassroom();
  if ("practice" in patch) $("#practice-toggle").setAttribute("aria-pressed", String(S.practice));
  const modules = "collapse" in patch || "expand" in patch;
  if (modules) ui.graph.setCollapse(S.collapse, S.expand);
  if (modules || "lang" in patch) ensureLabels(S.k).then(() => (ensureTemplates(), render()), () => {});
  if ("logY" in patch && S.run) ui.charts.setLog(S.logY);
  if ("playing" in patch) updateControls(); // the play button answers the click at once
  if ("hovered" in patch && S.run && S.hovered >= 0) ensureLabels(S.hovered).then(() => render(), () => {});
  render();
  if ("walk" in patch) runWalk();
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
  timed("controls", () => {
    updateControls();
    syncTimeline();
  });
  if (!S.run) return;
  const k = S.k;
  const stepData = cache.get(k);
  const labels = labelsAt(k);
  timed("console", () => ui.logConsole.show(k, S.phase));
  ui.logConsole.setHovered(S.hovered);
  ui.charts.showHover(S.hovered, S.hovered >= 0 ? labelsAt(S.hovered) : null);
  timed("charts", () => ui.charts.setStep(k, stepData, S.phase, labels));
  ensureLabels(k).then(() => labels || render(), () => {});
  if (!stepData || !labels) {
    prefetch(k);
    if (!stepData) fetchBatch(batchStart(k)).then(() => render());
    return;
  }
  const view = {
    theme: S.theme,
    lang: S.lang,
    reveal: S.reveal,
    selected: S.selected,
    quick: S.playing,
    practice: S.practice, // (whether the picture has module boxes is the template's to say: graph.js)
  };
  const drawn = timed("graph", () => ui.graph.draw(stepData, labels, S.phase, view));
  if (drawn) markDrawn(k);
  showDrawnModules();
  timed("panels", () => renderPanels(stepData, labels));
}

let drawnModules = null; // the boxes of the picture on screen, as the module chips last showed them

/** The module chips follow the picture: what the server drew as boxes (also when nobody asked it to). */
function showDrawnModules() {
  const boxes = ui.graph.drawnCollapse();
  const key = boxes === null ? null : boxes.join(",");
  if (key === drawnModules) return;
  drawnModules = key;
  updateModules(boxes);
}

function markDrawn(k) {
  S.rendered += 1;
  const vp = $("#graph-viewport");
  vp.dataset.step = String(k);
  vp.dataset.phase = S.phase;
  vp.dataset.reveal = S.reveal === null ? "" : String(S.reveal);
  vp.dataset.run = S.run.id;
  vp.dataset.selected = S.selected || "";
  vp.dataset.lang = S.lang; // the labels drawn are the server's in this language
  vp.dataset.ready = "1";
  // a wide, short graph takes the full width in presenter mode, with the explanation under it
  document.documentElement.classList.toggle("graph-wide", ui.graph.aspect() > 2);
}

function renderPanels(stepData, labels) {
  const key = `${S.k}|${S.phase}|${S.reveal}|${S.selected}|${S.lang}`;
  if (key !== lastInspector) {
    const picked = S.selected && !lastInspector.endsWith(`|${S.selected}|${S.lang}`);
    lastInspector = key;
    renderInspector($("#inspector"), stepData, S.selected, {
      phase: S.phase,
      reveal: S.reveal,
      labels,
      runId: S.run.id,
      lang: S.lang,
    });
    $("#inspector-close").hidden = !S.selected;
    document.documentElement.classList.toggle("has-selection", Boolean(S.selected));
    // a node just picked: its chain rule into view (in the side panel, or the phone's sheet)
    if (picked) ($("#inspector .chain-row") || $("#inspector")).scrollIntoView({ block: "nearest" });
  }
  renderExplain(stepData, labels);
  renderPractice(stepData, labels);
  renderSource(stepData, labels);
}

// ---------------------------------------------------------------- a run arrived

function showDivergence() {
  const m = S.run.meta;
  const banner = $("#banner");
  if (m.diverged_at === null || m.diverged_at === undefined) {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  $("#banner-text").textContent = t("diverged", { k: m.diverged_at, what: t(`diverged.${m.divergedAs}`) });
  const btn = $("#banner-goto");
  btn.textContent = t("diverged.goto", { k: m.diverged_at });
  btn.onclick = () => go({ k: m.diverged_at, reveal: null });
}

/** Presenter mode's title: the server's line (scenario · model · loss · lr) in the page's language. */
function presenterTitle() {
  const titles = S.run.meta.titles || {};
  $("#presenter-title").textContent = titles[S.lang] || titles.en || t(`scenario.${S.scenario}.title`);
}

function onLoaded(firstStep) {
  const arrays = S.run.arrays;
  const diverged = S.run.meta.diverged_at ?? null;
  // a run whose loss grows by orders of magnitude (diverging) flattens on a linear axis: log, said plainly
  const grows = ui.charts.growth(arrays.loss) >= 3 || diverged !== null;
  if (grows && !S.logChosen) S.logY = true;
  ui.charts.setRun(S.run, S.logY);
  const hint = $("#log-hint");
  hint.hidden = !(grows && S.logY);
  hint.textContent =
    diverged !== null ? t("charts.log.diverged") : t("charts.log.span", { n: Math.floor(ui.charts.spanOf(arrays.loss)) });
  setupTimeline();
  showDivergence();
  presenterTitle();
  buildModules(firstStep);
  lastInspector = "";
  resetExplain();
  drawnModules = null; // new chips: show them as the picture draws the modules
  render();
}

// ---------------------------------------------------------------- boot

function makePanels() {
  ui.graph = new GraphView($("#graph-viewport"), {
    onSelect: (id) => {
      if (id && id.startsWith("module:")) return openModule(id.slice(7)); // a module's box opens it
      set({ selected: id === S.selected ? null : id });
    },
    onTemplate: () => render(),
    onError: (err) => console.error(err),
  });
  wireExplain((id) => set({ selected: id === S.selected ? null : id })); // a line selects its node, as a click on it
  // a phone held upright gets the graph laid out tall (top-down when that fits better), not a thin strip
  const upright = matchMedia("(max-width: 760px) and (orientation: portrait)");
  const applyShape = () => ui.graph.setShape(upright.matches ? "tall" : null) && (ensureTemplates(), render());
  upright.addEventListener("change", applyShape);
  applyShape();
  // hover in a chart or the log marks the step in the charts, the log and the timeline
  const onHover = (k) => S.hovered !== k && set({ hovered: k }, { url: false });
  ui.charts = new Charts(document, { onPick: (k) => (pause(), go({ k, reveal: null })), onHover });
  ui.logConsole = new LogConsole($("#console"), { onHover });
  ui.onLoaded = onLoaded;
  ui.form = new SetupForm($("#setup"), {
    onRun: () => startRun(ui, { keepView: true }),
    onScenario: (id) => {
      set({ scenario: id, query: {} });
      ui.form.build(id, {});
      startRun(ui);
    },
  });
}

async function boot() {
  const { scenario, params, view } = readUrl();
  const initial = viewFromHash(view);
  S.lang = initial.lang || defaultLang();
  S.theme = initial.theme || (document.documentElement.dataset.theme === "dark" ? "dark" : "light");
  try {
    await loadMessages(S.lang);
  } catch (err) {
    showError(err);
    return;
  }
  makePanels();
  wire(ui);
  // the phone's sheet sits on the transport bar, whatever its height
  new ResizeObserver(([e]) => {
    document.documentElement.style.setProperty("--bar-h", `${Math.ceil(e.borderBoxSize[0].blockSize)}px`);
  }).observe($("#transport"));
  subscribe(onChange);
  set({ ...initial, lang: S.lang, theme: S.theme }, { url: false });
  ui.graph.setCollapse(S.collapse, S.expand);
  // for bench/bench_page.py only (tests drive the page through its controls)
  window.__lens = { S, cache, labelsAt, timing, graph: ui.graph, stats, step, go, play, pause };
  let list;
  try {
    showProgress(t("status.loading"));
    list = await getJSON(urls.scenarios());
  } catch (err) {
    showError(err);
    return;
  }
  ui.form.setScenarios(list);
  const id = list.some((s) => s.id === scenario) ? scenario : list.some((s) => s.id === "lecture04") ? "lecture04" : list[0].id;
  set({ scenario: id }, { url: false });
  ui.form.build(id, params);
  await startRun(ui, { keepView: true });
}

boot();
