// Parses a run's summary off the main thread (a run of 30,000 steps is megabytes of JSON) and hands back compact
// typed arrays for the charts and the timeline. The page downloads the bytes (api.js: its retry rule for 202 and
// 503, its progress) and transfers them here; a classic worker, as module workers fail in the offline file.

const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const DIVERGED = { NaN: "nan", Infinity: "inf", "-Infinity": "-inf" }; // message keys diverged.*

function num(v) {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v in NONFINITE) return NONFINITE[v];
  if (Array.isArray(v)) {
    let x = v;
    while (Array.isArray(x) && x.length === 1) x = x[0];
    return Array.isArray(x) ? NaN : num(x);
  }
  return NaN;
}

self.onmessage = async (ev) => {
  try {
    const summary = JSON.parse(new TextDecoder().decode(ev.data.bytes));
    const h = summary.history || [];
    const n = h.length;
    const loss = new Float64Array(n);
    const pred = new Float64Array(n);
    const epoch = new Int32Array(n);
    const sample = new Int32Array(n);
    const inputX = new Float64Array(n);
    const inputY = new Float64Array(n);
    const names = n ? Object.keys(h[0].params) : Object.keys(summary.params || {});
    const params = {};
    for (const name of names) {
      params[name] = {
        before: new Float64Array(n),
        after: new Float64Array(n),
        grad: new Float64Array(n),
        grad_step: new Float64Array(n),
        scalar: true,
      };
    }
    // chart series of the parameters: each element of a small tensor, the norm of a big one
    const MAX_SERIES = 8;
    const series = [];
    const sizes = names.map((name) => {
      const first = n ? h[0].params[name].before : null;
      return Array.isArray(first) ? first.flat(Infinity).length : 1;
    });
    const everyElement = sizes.reduce((a, b) => a + b, 0) <= MAX_SERIES;
    for (const name of names) {
      const first = n ? h[0].params[name].before : null;
      const flat = Array.isArray(first) ? first.flat(Infinity) : [first];
      if (flat.length <= 1) series.push({ label: name, name, index: -1, data: new Float64Array(n) });
      else if (everyElement) {
        const shape = [];
        for (let v = first; Array.isArray(v); v = v[0]) shape.push(v.length);
        flat.forEach((_, j) => {
          let rest = j;
          const idx = shape.map((_, d) => {
            const size = shape.slice(d + 1).reduce((a, b) => a * b, 1);
            const q = Math.floor(rest / size);
            rest -= q * size;
            return q;
          });
          series.push({ label: `${name}[${idx.join(",")}]`, name, index: j, data: new Float64Array(n) });
        });
      } else series.push({ label: `‖${name}‖`, name, index: "norm", data: new Float64Array(n) });
    }
    for (let i = 0; i < n; i++) {
      const s = h[i];
      for (const se of series) {
        const v = s.params[se.name] ? s.params[se.name].before : null;
        if (se.index === -1) se.data[i] = num(v);
        else {
          const flat = Array.isArray(v) ? v.flat(Infinity).map(num) : [num(v)];
          se.data[i] = se.index === "norm" ? Math.hypot(...flat) : flat[se.index];
        }
      }
      loss[i] = num(s.loss);
      pred[i] = num(s.prediction);
      epoch[i] = s.epoch;
      sample[i] = s.sample === null || s.sample === undefined ? -1 : s.sample;
      inputX[i] = s.inputs ? num(s.inputs.x) : NaN;
      inputY[i] = s.inputs ? num(s.inputs.y) : NaN;
      for (const name of names) {
        const p = s.params[name];
        const a = params[name];
        if (!p) continue;
        if (i === 0 && Array.isArray(p.before) && p.before.flat(Infinity).length > 1) a.scalar = false;
        a.before[i] = num(p.before);
        a.after[i] = num(p.after);
        a.grad[i] = num(p.grad);
        a.grad_step[i] = p.grad_step === null || p.grad_step === undefined ? NaN : num(p.grad_step);
      }
    }
    const meta = {
      scenario: summary.scenario,
      params: summary.params,
      steps: summary.steps ?? n,
      epochs: summary.epochs ?? (summary.progress || []).length,
      diverged_at: summary.diverged_at ?? null,
      progress: (summary.progress || []).map((p) => ({ epoch: p.epoch, loss: num(p.loss), raw: p.loss })),
      predictions: summary.predictions || {},
      paramNames: names,
      // drawn as they come: L(w) per sample from PyTorch, the prediction's target (the server's, or null)
      curve: summary.curve || null,
      predictTarget: summary.predict_target || null,
      titles: summary.titles || {}, // by language: the server's title line (scenario · model · loss · lr)
      // what the loss became, as a message key (the page's words are the server's)
      divergedAs: DIVERGED[summary.diverged_at !== null && summary.diverged_at !== undefined && h[summary.diverged_at] ? h[summary.diverged_at].loss : null] || "other",
    };
    const transfer = [loss.buffer, pred.buffer, epoch.buffer, sample.buffer, inputX.buffer, inputY.buffer];
    for (const a of Object.values(params)) transfer.push(a.before.buffer, a.after.buffer, a.grad.buffer, a.grad_step.buffer);
    for (const se of series) transfer.push(se.data.buffer);
    self.postMessage({ type: "done", meta, arrays: { loss, pred, epoch, sample, inputX, inputY, params, series } }, transfer);
  } catch (e) {
    self.postMessage({ type: "error", status: 0, body: { message: String(e && e.message ? e.message : e) } });
  }
};
