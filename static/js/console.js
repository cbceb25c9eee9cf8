// The training log up to the current step, exactly as the script prints it (the text of /api/runs/{id}/log),
// the current line highlighted. Virtualised: a run of 30,000 steps keeps ~30 line elements in the DOM.

const LINE_H = 20;

export class LogConsole {
  constructor(el) {
    this.el = el;
    this.inner = el.querySelector(".console-inner");
    this.lines = [];
    this.gradLine = []; // step k -> line index of its "\tgrad:" line
    this.progressLine = []; // epoch e -> line index
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

  setLog(text, steps) {
    this.lines = text.replace(/\n$/, "").split("\n");
    this.gradLine = [];
    this.progressLine = [];
    // which line each step printed: Lecture 04's "\tgrad:" lines (one per sample), or a full-batch script's
    // "Epoch ..." lines (one per epoch = step); when neither matches the step count the log shows whole
    const epochLines = [];
    this.lines.forEach((ln, i) => {
      if (ln.startsWith("\tgrad:")) this.gradLine.push(i);
      else if (ln.startsWith("progress:")) this.progressLine.push(i);
      if (/\bepoch\b/i.test(ln)) epochLines.push(i);
    });
    if (this.gradLine.length !== steps && epochLines.length === steps) {
      this.gradLine = epochLines;
      this.progressLine = [];
    }
    this.aligned = this.gradLine.length === steps;
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

  /**
   * Show the log as printed up to step k in `phase`: the grad line of step k is printed after its backward,
   * the progress line after the update of the epoch's last step. `last` = this step ends its epoch.
   */
  show(k, phase, epoch, last) {
    if (!this.lines.length) return;
    let visible;
    let current;
    if (!this.aligned) {
      visible = this.lines.length;
      current = -1;
    } else {
      const printed = phase === "forward" ? k - 1 : k; // the last step whose grad line is printed
      if (printed < 0) {
        visible = this.gradLine.length ? this.gradLine[0] : this.lines.length;
        current = visible - 1;
      } else {
        visible = this.gradLine[printed] + 1;
        current = this.gradLine[printed];
        if (phase === "update" && last && this.progressLine[epoch] !== undefined) {
          visible = this.progressLine[epoch] + 1;
        }
        if (printed === this.gradLine.length - 1 && phase === "update" && last) visible = this.lines.length;
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
        (text.startsWith("progress:") ? " progress-line" : "") +
        (text.startsWith("predict") ? " predict-line" : "");
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
