// The page's controls and keys, each turned into a state change or a player move.

import { startRun } from "./loader.js";
import { wireExport } from "./exporter.js";
import { wireModules } from "./modules-bar.js";
import { go, pause, play, step } from "./player.js";
import { togglePractice } from "./practice.js";
import { S, set, SPEEDS, readUrl, viewFromHash } from "./store.js";

const $ = (sel) => document.querySelector(sel);

function wireTransport() {
  const moveBy = (dir) => () => (pause(), step(dir));
  $("#step-prev").addEventListener("click", moveBy(-1));
  $("#step-next").addEventListener("click", moveBy(1));
  $("#step-first").addEventListener("click", () => (pause(), go({ k: 0, reveal: null })));
  $("#step-last").addEventListener("click", () => (pause(), go({ k: S.run.total - 1, reveal: null })));
  $("#play").addEventListener("click", () => (S.playing ? pause() : play()));
  for (const r of document.querySelectorAll("#phase input")) {
    r.addEventListener("change", () => {
      if (!r.checked) return;
      // stepping by phase, the backward pass plays its walk by itself; stepping by node, the walk waits for
      // the user's next step at its first node
      const byNode = S.by === "node" && r.value !== "update";
      go({ phase: r.value, reveal: byNode ? 1 : null }, { animate: r.value === "backward" && S.by === "phase" });
    });
  }
  $("#by").addEventListener("change", (e) => set({ by: e.target.value }));
  const sp = $("#speed");
  for (const v of SPEEDS) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = `${v}/s`;
    sp.appendChild(o);
  }
  sp.addEventListener("change", (e) => set({ speed: Number(e.target.value) }));
  const tl = $("#timeline");
  tl.addEventListener("input", () => (pause(), go({ k: Number(tl.value), reveal: null })));
}

function wireView(ui) {
  $("#log-scale").addEventListener("change", (e) => {
    $("#log-hint").hidden = true;
    set({ logY: e.target.checked, logChosen: true });
  });
  $("#zoom-in").addEventListener("click", () => ui.graph.zoomBy(1.25));
  $("#zoom-out").addEventListener("click", () => ui.graph.zoomBy(0.8));
  $("#zoom-fit").addEventListener("click", () => ui.graph.fit());
  $("#classroom").addEventListener("click", () => set({ classroom: !S.classroom }));
  $("#practice-toggle").addEventListener("click", togglePractice);
  $("#classroom-exit").addEventListener("click", () => set({ classroom: false }));
  $("#theme-toggle").addEventListener("click", () => set({ theme: S.theme === "dark" ? "light" : "dark" }));
  $("#lang-toggle").addEventListener("click", () => set({ lang: S.lang === "zh" ? "en" : "zh" }));
  $("#inspector-close").addEventListener("click", () => set({ selected: null }));
  $("#setup").addEventListener("change", (e) => e.target.id !== "scenario" && live(ui));
}

let liveTimer = null;

/** Live tweaking: an edited field re-runs (keeping step, phase and view) once the typing pauses. */
function live(ui) {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => startRun(ui, { keepView: true }), 250);
}

function typing(target) {
  const tag = target && target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  return tag === "INPUT" && !["range", "radio", "checkbox"].includes(target.type);
}

const KEYS = {
  ArrowRight: (e) => step(1, e.shiftKey ? "epoch" : S.by),
  ArrowLeft: (e) => step(-1, e.shiftKey ? "epoch" : S.by),
  PageDown: () => step(1),
  PageUp: () => step(-1),
  Home: () => go({ k: 0, reveal: null }),
  End: () => S.run && go({ k: S.run.total - 1, reveal: null }),
};

function onKey(e) {
  if (e.altKey || e.ctrlKey || e.metaKey || typing(e.target)) return;
  if (e.key === "Escape" && S.classroom) set({ classroom: false });
  else if (e.key === " " || e.key === "Spacebar") S.playing ? pause() : play();
  else if ((e.key === "f" || e.key === "F") && S.classroom) fullScreen();
  else if (KEYS[e.key]) {
    pause();
    KEYS[e.key](e);
  } else return;
  e.preventDefault();
}

function fullScreen() {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else document.documentElement.requestFullscreen?.().catch(() => {});
}

export function wire(ui) {
  wireTransport();
  wireView(ui);
  wireExport();
  wireModules();
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (e) => {
    if ((e.key === " " || e.key === "Spacebar") && e.target && e.target.tagName === "BUTTON") e.preventDefault();
  });
  // a pasted link with another view: apply it (the run config lives in the query, which reloads the page)
  // (the new URL of the event: a state write queued before the event must not win over the link)
  window.addEventListener("hashchange", (e) => set(viewFromHash(readUrl(e.newURL).view)));
}
