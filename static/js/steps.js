// Step data: the step JSONs of the run, fetched in batches, kept near the current step, prefetched ahead.

import { getJSON, urls } from "./api.js";
import { S } from "./store.js";

const BATCH = 100; // steps per prefetch request (the API allows up to 500)
const CACHE_STEPS = 4000; // step JSONs kept in memory
const AHEAD = 6; // batches kept loaded ahead of the current step (one request at a time, in the background)

export const cache = new Map(); // k -> step JSON
const inflight = new Map(); // batch start -> Promise

export function batchStart(k) {
  return Math.floor(k / BATCH) * BATCH;
}

export function resetSteps() {
  cache.clear();
  inflight.clear();
}

/** How many nodes autograd visits in a backward pass (the walk's length). */
export function orderCount() {
  if (S.orderCount) return S.orderCount;
  const s = cache.get(S.k);
  if (s) S.orderCount = countOrdered(s);
  return S.orderCount;
}

function countOrdered(step) {
  return step.graph.nodes.filter((n) => n.order !== null && n.order !== undefined).length;
}

function evictFar() {
  while (cache.size > CACHE_STEPS) {
    let far = null;
    let fd = -1;
    for (const key of cache.keys()) {
      const d = Math.abs(key - S.k);
      if (d > fd) {
        fd = d;
        far = key;
      }
      if (fd > CACHE_STEPS) break;
    }
    cache.delete(far);
  }
}

export function fetchBatch(start) {
  if (!S.run || start < 0 || start >= S.run.total) return Promise.resolve();
  if (inflight.has(start)) return inflight.get(start);
  const runId = S.run.id;
  const stop = Math.min(S.run.total, start + BATCH);
  const p = getJSON(urls.steps(runId, start, stop))
    .then((list) => {
      if (!S.run || S.run.id !== runId) return;
      for (const s of list) cache.set(s.step, s);
      evictFar();
      if (!S.orderCount && list.length) S.orderCount = countOrdered(list[0]);
    })
    .finally(() => inflight.delete(start));
  inflight.set(start, p);
  return p;
}

export async function ensureStep(k) {
  if (!cache.has(k)) await fetchBatch(batchStart(k));
  const s = cache.get(k);
  if (!s) throw new Error(`step ${k} did not load`);
  return s;
}

/** Keep the batch of k in memory, and the next AHEAD batches, fetched one after another while idle. */
export function prefetch(k) {
  if (!S.run) return;
  const b = batchStart(k);
  if (!cache.has(k)) fetchBatch(b);
  if (inflight.size) return; // one background request at a time: the server serves the visible step first
  for (let i = 1; i <= AHEAD; i++) {
    const start = b + i * BATCH;
    if (start >= S.run.total) break;
    if (!cache.has(start) || !cache.has(Math.min(S.run.total, start + BATCH) - 1)) {
      const runId = S.run.id;
      fetchBatch(start).then(
        () => {
          if (S.run && S.run.id === runId) prefetch(S.k);
        },
        () => {}, // shown when that step is wanted
      );
      break;
    }
  }
}
