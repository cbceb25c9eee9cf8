// The training log up to the current step, exactly as the script prints it, the current step's line highlighted.
// Which step and phase printed each line comes from the run (GET /api/runs/{id}/log.json): no parsing here.
// Virtualised: a run of 30,000 steps keeps ~30 line elements in the DOM.

const LINE_H = 20;
const PHASE_RANK = { forward: 0, backward: 1, update: 2, zero_grad: 2 };

/** A line's place in the run: step × 3 + phase (before training -1, after it past the last step). */
function placeOf(entries, total) {
  const out = new Float64Array(entries.length);
  let seen = false;
  entries.forEach((e, i) => {
    if (e.step === null || e.step === undefined) out[i] = seen ? total * 3 : -1;
    else {
      seen = true;
      out[i] = e.step * 3 + (PHASE_RANK[e.phase] ?? 1);
    }
  });
  return out;
}

export class LogConsole {
  constructor(el, { onHover = null } = {}) {
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
    this.hovered = null; // a step the pointer rests on (here or in a chart): its lines are marked
    if (onHover) {
      this.inner.addEventListener("mouseover", (e) => {
        const line = e.target.closest(".line");
        const step = line ? this.steps[Number(line.dataset.ln) - 1] : null;
        onHover(step === null || step === undefined ? -1 : step);
      });
      this.inner.addEventListener("mouseleave", () => onHover(-1));
    }
  }

  setHovered(k) {
    const h = k !== null && k >= 0 ? k : null;
    if (h === this.hovered) return;
    this.hovered = h;
    this.paint();
  }

  /** entries: the run's log.json ([{text, step, phase}]); total: the run's steps. */
  setLog(entries, total) {
    this.lines = entries.map((e) => e.text);
    this.steps = entries.map((e) => e.step);
    this.place = placeOf(entries, total);
    this.total = total;
    this.el.dataset.aligned = "1";
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

  /** Show the log as printed up to step k in `phase`, the step's latest line highlighted. */
  show(k, phase) {
    if (!this.lines.length) return;
    const last = k === this.total - 1 && phase === "update";
    const now = last ? this.total * 3 : k * 3 + (PHASE_RANK[phase] ?? 1);
    let visible = 0;
    while (visible < this.place.length && this.place[visible] <= now) visible += 1;
    let current = visible - 1;
    for (let i = visible - 1; i >= 0 && this.place[i] >= k * 3; i--) {
      if (this.steps[i] === k) {
        current = i;
        break;
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
        (this.steps[i] === null ? " outside" : "") +
        (this.hovered !== null && this.steps[i] === this.hovered ? " hovered" : "");
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
