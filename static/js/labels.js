// The server's strings for each step (GET /api/runs/{id}/labels): per phase every slot's text and tooltip and the
// SVG template they fit, the step's explanation and the inspector's lines. Fetched in batches beside the steps,
// per language and set of collapsed modules; the page computes none of it.

import { ApiError, getJSON, urls } from "./api.js";
import { S } from "./store.js";

let batch = 100; // steps per request; halved when the server says a run's labels are too big for it
const KEEP = 4000;
let key = "";
const cache = new Map(); // k -> labels of the step
const inflight = new Map(); // batch start -> Promise

function currentKey() {
  return `${S.run ? S.run.id : ""}|${S.lang}|${S.collapse.join(",")}|${S.expand.join(",")}`;
}

/** Labels of step k in the current language and collapse, or null while they load. */
export function labelsAt(k) {
  if (key !== currentKey()) return null;
  return cache.get(k) || null;
}

/** Fetch the batch holding k (and the next one) unless loaded; resolves when k's labels are in. */
export function ensureLabels(k) {
  const want = currentKey();
  if (key !== want) {
    key = want;
    cache.clear();
    inflight.clear();
  }
  if (!S.run) return Promise.resolve();
  const start = Math.floor(k / batch) * batch;
  // two batches ahead, so playback never waits for words
  for (const next of [start + batch, start + 2 * batch]) {
    if (next < S.run.total && !cache.has(next) && !inflight.has(next)) fetchBatch(next, want).catch(() => {});
  }
  return cache.has(k) ? Promise.resolve() : fetchBatch(start, want);
}

function fetchBatch(start, want) {
  if (inflight.has(start)) return inflight.get(start);
  const stop = Math.min(S.run.total, start + batch);
  const url = urls.labels(S.run.id, start, stop, S.lang, S.collapse, S.expand);
  const p = getJSON(url)
    .then((list) => {
      if (key !== want) return;
      for (const entry of list) cache.set(entry.step, entry);
      if (cache.size > KEEP) for (const k of [...cache.keys()].slice(0, cache.size - KEEP)) cache.delete(k);
    })
    .catch((err) => {
      // a batch over the server's byte bound: ask for fewer steps at a time
      if (!(err instanceof ApiError) || err.status !== 422 || batch === 1) throw err;
      batch = Math.max(1, Math.floor(batch / 2));
      inflight.delete(start);
      return fetchBatch(start, want);
    })
    .finally(() => inflight.get(start) === p && inflight.delete(start));
  inflight.set(start, p);
  return p;
}
