// Practice mode (#practice=1): before autograd's next gradient is shown, the student types it. The question,
// the accepted interval, the answer and the working are the server's (labels.practice); this panel compares
// the typed number with the interval, keeps the step's score, and reveals the node.

import { t } from "./i18n.js";
import { orderCount } from "./steps.js";
import { S, set } from "./store.js";
import { esc } from "./html.js";

const $ = (sel) => document.querySelector(sel);
const scores = new Map(); // `${run}|${k}` -> {asked: Map node -> right?}
let feedback = null; // {key, node, html}: what the last answer got, shown under the next question
let lastKey = "";

function scoreOf(k) {
  const key = `${S.run.id}|${k}`;
  if (!scores.has(key)) scores.set(key, new Map());
  return scores.get(key);
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

function reveal() {
  const next = S.reveal + 1;
  set({ reveal: next > orderCount() ? null : next });
}

function answer(step, node, q, typed) {
  const score = scoreOf(step.step);
  const key = `${S.run.id}|${step.step}`;
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
    score.set(node.id, right);
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
  reveal();
}

function scoreLine(k) {
  const score = scoreOf(k);
  const right = [...score.values()].filter(Boolean).length;
  return score.size ? t("practice.score", { right, asked: score.size }) : "";
}

/** Draw the panel (cheap when nothing changed). */
export function renderPractice(step, labels) {
  const el = $("#practice");
  el.hidden = !S.practice;
  if (!S.practice || !step || !labels) return;
  const node = nextNode(step);
  const q = node ? labels.practice[node.id] : null;
  const key = `${step.step}|${S.phase}|${S.reveal}|${S.lang}|${S.run.id}`;
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
