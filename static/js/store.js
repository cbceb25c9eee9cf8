// The one state store of the page. The URL reads and writes it: the run's configuration in the query
// (?scenario=..&PARAM=..), the view in the hash (#step=..&phase=..). Modules read `S` and change it only with
// `set`, which tells every subscriber (the page draws once per animation frame) and schedules the URL.

export const PHASES = ["forward", "backward", "update"];
export const BYS = ["node", "phase", "sample", "epoch"];
export const SPEEDS = [0.5, 1, 2, 5, 10, 30, 60, 120, 240];

export const S = {
  scenario: null,
  query: {}, // the run's parameters as typed, only once the server accepted them (what the URL keeps)
  run: null, // {id, meta, arrays, total, perEpoch}
  k: 0,
  phase: "backward",
  reveal: null, // backward phase: how many nodes autograd has visited (null = all)
  by: "sample",
  speed: 5,
  playing: false,
  logY: false,
  logChosen: false,
  lang: "en",
  theme: "light",
  classroom: false,
  practice: false,
  selected: null,
  hovered: null, // a step the pointer rests on in a chart or the log (-1: none)
  collapse: [], // module paths drawn collapsed (graph.svg?collapse=)
  expand: [], // module paths opened (graph.svg?expand=; "*": everything), which wins over collapse
  answers: {}, // practice mode: {step: {node id: right?}}, the nodes answered and how (the score)
  walk: null, // an animated walk: {t0, dt, n}
  orderCount: 0,
  rendered: 0, // (step, phase) pairs drawn: the benchmark's counter
};

const listeners = new Set();

/** Change the state and tell the subscribers; `url: false` for changes the URL does not keep. */
export function set(patch, { url = true } = {}) {
  Object.assign(S, patch);
  for (const fn of listeners) fn(patch);
  if (url) writeUrl();
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function readUrl(url = location.href) {
  const u = new URL(url);
  const q = new URLSearchParams(u.search);
  const h = new URLSearchParams(u.hash.replace(/^#/, ""));
  const params = {};
  for (const [k, v] of q) if (k !== "scenario") params[k] = v;
  return { scenario: q.get("scenario"), params, view: Object.fromEntries(h) };
}

/** The view of a URL hash, checked field by field (anything else keeps the current value). */
export function viewFromHash(v) {
  const out = {};
  if (v.phase && PHASES.includes(v.phase)) out.phase = v.phase;
  if (v.step !== undefined && /^\d+$/.test(v.step)) out.k = Number(v.step);
  const phase = out.phase ?? S.phase;
  out.reveal = v.reveal && /^\d+$/.test(v.reveal) && phase !== "update" ? Number(v.reveal) : null;
  if (v.by && BYS.includes(v.by)) out.by = v.by;
  if (v.speed && SPEEDS.includes(Number(v.speed))) out.speed = Number(v.speed);
  out.logY = v.log === "1";
  if (v.log !== undefined) out.logChosen = true; // a link or a click chose the scale: no automatic log
  out.selected = v.node || null;
  out.collapse = v.collapse ? v.collapse.split(",").filter(Boolean).sort() : [];
  out.expand = v.expand ? v.expand.split(",").filter(Boolean).sort() : [];
  out.answers = answersFromHash(v.answers);
  if (v.theme === "light" || v.theme === "dark") out.theme = v.theme;
  out.classroom = v.classroom === "1";
  out.practice = v.practice === "1";
  if (v.lang === "en" || v.lang === "zh") out.lang = v.lang;
  return out;
}

// Practice answers in the hash: "K:ID=1,K:ID=0" (step K, node ID answered right / wrong); a node id may hold ":"
// and ".", never "," or "=" (the server's ids: "op:2", "param:layer1.weight").
const ANSWERS_KEPT = 50; // steps with answers a link keeps (the latest), so a long class keeps a short URL

function answersFromHash(text) {
  const out = {};
  for (const part of (text || "").split(",")) {
    const m = /^(\d+):(.+)=([01])$/.exec(part);
    if (m) (out[m[1]] ??= {})[m[2]] = m[3] === "1";
  }
  return out;
}

function answersToHash(answers) {
  const steps = Object.keys(answers).map(Number).sort((a, b) => a - b).slice(-ANSWERS_KEPT);
  return steps
    .flatMap((k) => Object.entries(answers[k]).map(([id, right]) => `${k}:${id}=${right ? 1 : 0}`))
    .join(",");
}

function hashOf() {
  const h = new URLSearchParams();
  h.set("step", String(S.k));
  h.set("phase", S.phase);
  if (S.phase !== "update" && S.reveal !== null && !S.walk) h.set("reveal", String(S.reveal));
  h.set("by", S.by);
  h.set("speed", String(S.speed));
  h.set("log", S.logY ? "1" : "0");
  h.set("lang", S.lang);
  h.set("theme", S.theme);
  if (S.classroom) h.set("classroom", "1");
  if (S.practice) h.set("practice", "1");
  if (S.selected) h.set("node", S.selected);
  if (S.collapse.length) h.set("collapse", S.collapse.join(","));
  if (S.expand.length) h.set("expand", S.expand.join(","));
  const answers = answersToHash(S.answers);
  if (answers && S.practice) h.set("answers", answers); // the score of practice mode
  return h.toString();
}

let urlTimer = null;

/** Write the state into the URL: soon (coalesced; slower while playing), or now. */
export function writeUrl(now = false) {
  if (urlTimer && !now) return;
  const write = () => {
    urlTimer = null;
    const q = new URLSearchParams();
    if (S.scenario) q.set("scenario", S.scenario);
    for (const [k, v] of Object.entries(S.query)) q.set(k, v);
    const url = `${location.pathname}?${q.toString()}#${hashOf()}`;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
  };
  if (now) {
    clearTimeout(urlTimer);
    write();
  } else {
    urlTimer = setTimeout(write, S.playing ? 300 : 60);
  }
}
