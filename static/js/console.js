// The training log up to the current step, exactly as the script prints it (the text of /api/runs/{id}/log),
// the current line highlighted. Virtualised: a run of 30,000 steps keeps ~30 line elements in the DOM.

const LINE_H = 20;
const PHASE_RANK = { forward: 0, backward: 1, update: 2 };

// How each scenario's script prints (app/scenarios/*: the lecture's own format). `step`: the line a per-sample
// step prints after its backward ("\tgrad: x y g..."), in sample order within its epoch. `epoch`: the line an
// epoch prints, with its epoch number (`base` 1 when the script counts from 1); `epochAt`: "end" = after the
// epoch's last update, "forward" = while the step's forward runs (full-batch scripts print the loss before
// backward). Lines are matched by content and epoch number, then checked against the run's history.
const STYLE_SGD = { step: /^\tgrad: /, epoch: /^progress: (\d+) /, base: 0, epochAt: "end" };
const STYLE_GD_VS_SGD = { step: /^\tgrad: /, epoch: /^Epoch: (\d+) \| GD: /, base: 0, epochAt: "end" };
const STYLE_MODULE = { step: null, epoch: /^Epoch: (\d+) \| Loss: /, base: 0, epochAt: "forward" };
const STYLE_LOGISTIC = { step: null, epoch: /^Epoch (\d+)\/\d+ \| Loss: /, base: 1, epochAt: "forward" };
const STYLE_SOFTMAX = { step: null, epoch: /^Train Epoch: (\d+) \| Loss: /, base: 0, epochAt: "forward" };
export const LOG_STYLES = {
  lecture04: STYLE_SGD,
  quadratic: STYLE_SGD,
  affine: STYLE_SGD,
  custom: STYLE_SGD,
  gd_vs_sgd: STYLE_GD_VS_SGD,
  linear_module: STYLE_MODULE,
  two_layer: STYLE_MODULE,
  logistic: STYLE_LOGISTIC,
  softmax: STYLE_SOFTMAX,
};
const ALL_STYLES = [STYLE_SGD, STYLE_GD_VS_SGD, STYLE_MODULE, STYLE_LOGISTIC, STYLE_SOFTMAX];

/**
 * Map each step to the line it prints and when. `epochOf`/`sampleOf`: the run's history (sample -1 = full batch).
 * Returns {events: [{line, k, rank}] in print order, first, last} or null when the log does not fit the style.
 */
export function mapLog(lines, style, epochOf, sampleOf) {
  const steps = epochOf.length;
  const stepLine = new Int32Array(steps).fill(-1);
  const epochLine = new Map();
  let epoch = 0; // the epoch whose step lines come next
  let sample = 0;
  for (let i = 0; i < lines.length; i++) {
    const ln = lines[i];
    const m = style.epoch.exec(ln);
    if (m) {
      const e = Number(m[1]) - style.base;
      if (epochLine.has(e)) return null;
      epochLine.set(e, i);
      if (style.epochAt === "end") {
        epoch = e + 1;
        sample = 0;
      }
    } else if (style.step && style.step.test(ln)) {
      sample += 1;
      const idx = stepIndex(epochOf, sampleOf, epoch, sample - 1);
      if (idx < 0 || stepLine[idx] >= 0) return null;
      stepLine[idx] = i;
    }
  }
  const events = [];
  for (let k = 0; k < steps; k++) {
    const e = epochOf[k];
    const last = k === steps - 1 || epochOf[k + 1] !== e;
    const el = epochLine.has(e) ? epochLine.get(e) : -1;
    if (stepLine[k] >= 0) events.push({ line: stepLine[k], k, rank: PHASE_RANK.backward });
    else if (sampleOf[k] >= 0 || el < 0 || !last) return null; // a per-sample step without its line
    if (el >= 0 && last) {
      if (style.epochAt === "end") events.push({ line: el, k, rank: PHASE_RANK.update, epoch: true });
      else events.push({ line: el, k, rank: PHASE_RANK.forward });
    }
  }
  for (let j = 1; j < events.length; j++) if (events[j].line <= events[j - 1].line) return null;
  if (!events.length || epochLine.size !== new Set(epochOf).size) return null;
  return { events, first: events[0].line, last: events[events.length - 1].line, epochLines: new Set(epochLine.values()) };
}

function stepIndex(epochOf, sampleOf, epoch, sample) {
  // steps are in epoch order; find the step of (epoch, sample) by bisection on the epoch, then the sample
  let lo = 0;
  let hi = epochOf.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (epochOf[mid] < epoch) lo = mid + 1;
    else hi = mid;
  }
  const k = lo + sample;
  return k < epochOf.length && epochOf[k] === epoch && sampleOf[k] === sample ? k : -1;
}

export class LogConsole {
  constructor(el) {
    this.el = el;
    this.inner = el.querySelector(".console-inner");
    this.lines = [];
    this.map = null; // mapLog's result, or null: the log is shown whole
    this.byStep = null; // k -> index of its first event
    this.visible = 0;
    this.current = -1;
    this.pool = [];
    this.follow = true;
    el.addEventListener("scroll", () => {
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_H * 1.5;
      this.follow = atEnd;
      this.paint();
    });
    new ResizeObserver(() => this.paint()).observe(el);
  }

  /** text: the run's log; scenario: its id; epochOf, sampleOf: per step, from the history. */
  setLog(text, scenario, epochOf, sampleOf) {
    this.lines = text.replace(/\n$/, "").split("\n");
    const known = LOG_STYLES[scenario];
    this.map = null;
    for (const style of known ? [known, ...ALL_STYLES.filter((s) => s !== known)] : ALL_STYLES) {
      this.map = mapLog(this.lines, style, epochOf, sampleOf);
      if (this.map) break;
    }
    this.byStep = null;
    if (this.map) {
      this.byStep = new Int32Array(epochOf.length + 1).fill(-1);
      this.map.events.forEach((ev, j) => {
        if (this.byStep[ev.k] < 0) this.byStep[ev.k] = j;
      });
      this.byStep[epochOf.length] = this.map.events.length;
    }
    this.epochLines = this.map ? this.map.epochLines : null;
    this.el.dataset.aligned = this.map ? "1" : "0";
    this.visible = 0;
    this.current = -1;
    this.follow = true;
  }

  clear() {
    this.lines = [];
    this.visible = 0;
    this.inner.style.height = "0px";
    for (const el of this.pool) el.remove();
    this.pool = [];
  }

  /** Show the log as printed up to step k in `phase`, the line of the latest print highlighted. */
  show(k, phase) {
    if (!this.lines.length) return;
    let visible;
    let current;
    if (!this.map) {
      visible = this.lines.length;
      current = -1;
    } else {
      // the events printed by now: every event of earlier steps, and step k's own up to this phase
      const ev = this.map.events;
      const rank = PHASE_RANK[phase] ?? 1;
      let j = this.byStep[k];
      if (j < 0) j = this.byStep[k + 1] ?? ev.length;
      while (j < ev.length && ev[j].k === k && ev[j].rank <= rank) j += 1;
      if (j === 0) {
        visible = this.map.first; // the lines printed before training
        current = visible - 1;
      } else {
        const lastEv = ev[j - 1];
        current = lastEv.line;
        visible = current + 1;
        // an epoch line highlights with its step's line: point at the step's own line when both printed
        if (lastEv.epoch && j >= 2 && ev[j - 2].k === lastEv.k) current = ev[j - 2].line;
        if (j === ev.length && k === this.byStep.length - 2 && phase === "update") visible = this.lines.length;
      }
    }
    if (visible === this.visible && current === this.current) return;
    this.visible = visible;
    this.current = current;
    this.inner.style.height = `${visible * LINE_H}px`;
    if (this.follow) this.el.scrollTop = Math.max(0, visible * LINE_H - this.el.clientHeight + 12);
    this.paint();
  }

  paint() {
    const top = this.el.scrollTop;
    const h = this.el.clientHeight || 200;
    const first = Math.max(0, Math.floor(top / LINE_H) - 2);
    const last = Math.min(this.visible, Math.ceil((top + h) / LINE_H) + 2);
    const count = Math.max(0, last - first);
    while (this.pool.length < count) {
      const div = document.createElement("div");
      div.className = "line";
      div.appendChild(document.createTextNode(""));
      this.inner.appendChild(div);
      this.pool.push(div);
    }
    this.pool.forEach((div, j) => {
      const i = first + j;
      if (j >= count) {
        div.hidden = true;
        return;
      }
      div.hidden = false;
      div.style.top = `${i * LINE_H}px`;
      const text = this.lines[i];
      if (div.lastChild.data !== text) div.lastChild.data = text;
      if (div.dataset.ln !== String(i + 1)) div.dataset.ln = String(i + 1);
      const cls =
        "line" +
        (i === this.current ? " current" : "") +
        (this.epochLines && this.epochLines.has(i) ? " progress-line" : "") +
        (/^predict/i.test(text) ? " predict-line" : "");
      if (div.className !== cls) div.className = cls;
      if (i === this.current) div.setAttribute("aria-current", "step");
      else div.removeAttribute("aria-current");
    });
  }

  /** The visible text (as printed so far), for tests. */
  text() {
    return this.lines.slice(0, this.visible).join("\n");
  }
}
