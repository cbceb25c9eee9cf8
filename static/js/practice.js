// Practice mode (#practice=1): before autograd's next gradient is shown, the student types it. The question,
// the accepted interval, the answer and the working are the server's (labels.practice); this panel compares
// the typed number with the interval, keeps the step's score, and reveals the node. The score (which nodes were
// answered, right or wrong) lives in the store and the URL (#answers=), so a reload or a shared link keeps it.

import { t } from "./i18n.js";
import { orderCount } from "./steps.js";
import { S, set } from "./store.js";
import { esc } from "./html.js";

const $ = (sel) => document.querySelector(sel);
let feedback = null; // {key, node, html}: what the last answer got, shown under the next question
let lastKey = "";
let answersRun = null; // the run S.answers belong to: another run (new parameters) starts a new score

/** Step k's answers: {node id: right?}. */
function scoreOf(k) {
  return S.answers[k] || {};
}

/** The answers with node `id` of step k answered (right or not). */
function withAnswer(k, id, right) {
  return { ...S.answers, [k]: { ...scoreOf(k), [id]: right } };
}

/** A new run is a new class: its score starts empty (the first run of the page keeps the link's). */
function adoptRun() {
  if (answersRun === S.run.id) return;
  if (answersRun !== null && Object.keys(S.answers).length) set({ answers: {} });
  answersRun = S.run.id;
}

/** The node autograd visits next in the walk, or null (not walking the backward pass, or the walk is done). */
function nextNode(step) {
  if (S.phase !== "backward" || S.reveal === null) return null;
  return step.graph.nodes.find((n) => n.order === S.reveal) || null;
}

/** A typed number: minus signs and decimal commas as people type them. */
function typedNumber(text) {
  const s = text.trim().replace(/[−–]/g, "-").replace(",", ".");
  return s === "" ? NaN : Number(s);
}

/** The next node revealed (with the answers, when one was judged: one change of the store and the URL). */
function reveal(patch = {}) {
  const next = S.reveal + 1;
  set({ ...patch, reveal: next > orderCount() ? null : next });
}

function answer(step, node, q, typed) {
  const key = `${S.run.id}|${step.step}`;
  let patch = {};
  if (!q.asked) feedback = null;
  else if (typed === null) {
    feedback = { key, html: `<p class="practice-shown">${esc(t("practice.shown", { answer: q.answer }))}</p>` };
  } else {
    const x = typedNumber(typed);
    if (Number.isNaN(x)) {
      $("#practice-feedback").textContent = t("practice.invalid");
      return;
    }
    const right = x >= q.low && x <= q.high;
    patch = { answers: withAnswer(step.step, node.id, right) };
    feedback = right
      ? { key, html: `<p class="practice-right">${esc(t("practice.right", { answer: q.full }))}</p>` }
      : {
          key,
          html:
            `<p class="practice-wrong">${esc(t("practice.wrong", { typed, answer: q.full }))}</p>` +
            `<p class="formula">${esc(q.working)}</p>`,
        };
  }
  lastKey = "";
  reveal(patch);
}

function scoreLine(k) {
  const judged = Object.values(scoreOf(k));
  const right = judged.filter(Boolean).length;
  return judged.length ? t("practice.score", { right, asked: judged.length }) : "";
}

/** Draw the panel (cheap when nothing changed). */
export function renderPractice(step, labels) {
  const el = $("#practice");
  el.hidden = !S.practice;
  if (!S.practice || !step || !labels) return;
  adoptRun();
  const node = nextNode(step);
  const q = node ? labels.practice[node.id] : null;
  const key = `${step.step}|${S.phase}|${S.reveal}|${S.lang}|${S.run.id}|${scoreLine(step.step)}`;
  if (key === lastKey) return;
  lastKey = key;
  const here = feedback && feedback.key === `${S.run.id}|${step.step}` ? feedback.html : "";
  let body;
  if (q && q.asked) {
    body = `<p class="practice-q">${esc(q.question)}</p>
      <form class="practice-form" data-testid="practice-form">
        <input type="text" inputmode="decimal" autocomplete="off" spellcheck="false" id="practice-input"
          data-testid="practice-input" aria-label="${esc(t("practice.input"))}" placeholder="${esc(t("practice.input"))}">
        <button type="submit" class="btn primary" data-testid="practice-check">${esc(t("practice.check"))}</button>
        <button type="button" class="btn" data-testid="practice-skip">${esc(t("practice.skip"))}</button>
      </form>
      <p class="hint">${esc(q.tolerance)}</p>`;
  } else if (q) {
    body = `<p class="practice-q">${esc(q.question)}</p>
      <button type="button" class="btn" data-testid="practice-skip">${esc(t("practice.skip"))}</button>`;
  } else {
    const walked = S.phase === "backward" && (S.reveal === null || S.reveal >= orderCount());
    const done = S.phase === "update" || walked;
    body = `<p class="hint">${esc(t(done ? "practice.done" : "practice.start"))}</p>`;
  }
  el.innerHTML = `<h3>${esc(t("practice.title"))}</h3>${body}
    <div id="practice-feedback" class="practice-feedback" aria-live="polite">${here}</div>
    <p class="practice-score" data-testid="practice-score">${esc(scoreLine(step.step))}</p>`;
  const form = el.querySelector("form");
  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      answer(step, node, q, el.querySelector("#practice-input").value);
    });
    if (document.activeElement === document.body || el.contains(document.activeElement) || feedback) {
      el.querySelector("#practice-input").focus({ preventScroll: true });
    }
  }
  const skip = el.querySelector("[data-testid=practice-skip]");
  if (skip) skip.addEventListener("click", () => answer(step, node, q, null));
}

/** Practice on: step by node, and start asking at the current step's backward pass. */
export function togglePractice() {
  const on = !S.practice;
  const patch = { practice: on };
  if (on) {
    patch.by = "node";
    if (S.phase === "backward" && S.reveal === null && orderCount() > 1) patch.reveal = 1;
  }
  lastKey = "";
  set(patch);
}
