// The player: where one press of next/prev goes (by node, phase, sample or epoch), and playback at a speed.

import { forwardCount } from "./walk.js";
import { ensureLabels } from "./labels.js";
import { cache, orderCount, prefetch } from "./steps.js";
import { PHASES, S, set } from "./store.js";

/** The step after one unit of `by` forward (+1) or back (-1); null at either end. */
export function neighbour(pos, dir, by) {
  if (!S.run) return null;
  if (by === "sample" || by === "epoch") {
    const d = by === "epoch" ? S.run.perEpoch : 1;
    const nk = Math.max(0, Math.min(S.run.total - 1, pos.k + dir * d));
    return nk === pos.k ? null : { k: nk, phase: pos.phase, reveal: null };
  }
  const inner = by === "node" ? nodeNeighbour(pos, dir) : null;
  return inner || phaseNeighbour(pos, dir, by === "node");
}

/** Within a phase, one node further or back in the walk; null when the walk leaves the phase. */
function nodeNeighbour({ k, phase, reveal }, dir) {
  const n = phase === "backward" ? orderCount() : phase === "forward" ? forwardCount(cache.get(k)) : 0;
  if (!n) return null;
  const r = reveal ?? n;
  if (dir > 0 && r < n) return { k, phase, reveal: r + 1 };
  if (dir < 0 && r > 1) return { k, phase, reveal: r - 1 };
  return null;
}

function phaseNeighbour({ k, phase }, dir, walking) {
  const pi = PHASES.indexOf(phase);
  const ni = pi + dir;
  if (ni >= 0 && ni < PHASES.length) {
    const to = PHASES[ni];
    // entering a walked phase from before starts its walk; from after, it is complete
    const reveal = walking && dir > 0 && to !== "update" ? 1 : null;
    return { k, phase: to, reveal };
  }
  if (dir > 0) return k + 1 >= S.run.total ? null : { k: k + 1, phase: "forward", reveal: walking ? 1 : null };
  return k <= 0 ? null : { k: k - 1, phase: "update", reveal: null };
}

/** Go to a position; `animate`: the backward pass plays its walk by itself (stepping by phase). */
export function go(pos, { animate = false } = {}) {
  if (!S.run) return false;
  const phase = pos.phase ?? S.phase;
  let reveal = pos.reveal === undefined ? S.reveal : pos.reveal;
  if (phase === "update") reveal = null;
  let walk = null;
  if (animate && phase === "backward" && orderCount() > 1) {
    const unit = S.playing ? 1000 / S.speed : 1400;
    const dt = unit / (orderCount() + 1);
    if (dt >= 25) {
      walk = { t0: performance.now(), dt, n: orderCount() };
      reveal = 1;
    }
  }
  set({ k: pos.k ?? S.k, phase, reveal, walk });
  prefetch(S.k);
  return true;
}

export function step(dir, by = S.by) {
  if (!S.run) return false;
  const pos = neighbour({ k: S.k, phase: S.phase, reveal: S.reveal }, dir, by);
  if (!pos) return false;
  ensureLabels(pos.k).catch(() => {}); // the words follow; playback keeps its pace (a step without them is not drawn)
  if (!cache.has(pos.k)) {
    prefetch(pos.k);
    if (S.playing) return false; // wait for the data rather than skip ahead
  }
  const animate = dir > 0 && by === "phase" && pos.phase === "backward" && S.phase !== "backward";
  return go(pos, { animate });
}

let lastFrame = 0;
let credit = 0;
let looping = false; // one animation-frame loop at a time

function loop() {
  if (looping) return;
  looping = true;
  requestAnimationFrame(frame);
}

export function play() {
  if (!S.run || S.playing) return;
  if (!neighbour({ k: S.k, phase: S.phase, reveal: S.reveal }, 1, S.by)) {
    go({ k: 0, phase: S.by === "phase" || S.by === "node" ? "forward" : S.phase, reveal: null });
  }
  set({ playing: true }, { url: false });
  credit = 0;
  lastFrame = performance.now();
  loop();
}

export function pause() {
  if (!S.playing) return;
  set({ playing: false }); // the tooltips skipped while playing are drawn now
}

/** Advance an animated walk to where its clock is. */
function walkTick(now) {
  const w = S.walk;
  const i = Math.floor((now - w.t0) / w.dt) + 1;
  const r = i > w.n ? null : i;
  if (r !== S.reveal) set({ reveal: r, walk: r === null ? null : w }, { url: false });
}

function frame(now) {
  if (S.walk) walkTick(now);
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
  else looping = false;
}

/** A walk started while paused runs on its own frames. */
export function runWalk() {
  if (S.walk) loop();
}
