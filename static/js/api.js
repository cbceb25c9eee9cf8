// The JSON API, as app/web serves it. Every call counts itself (window.__lens.requests) for the benchmark.

export class ApiError extends Error {
  constructor(status, body) {
    // One refusal: its own words (they name what they are about), not "field: ..." made for API clients.
    const only = body && Array.isArray(body.detail) && body.detail.length === 1 ? body.detail[0].msg : null;
    const message = only || (body && (body.message || (typeof body.detail === "string" ? body.detail : null))) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
    // [{field, msg, key, args, span, related}] from a 422; "field" may be dotted ("x.2"); msg is the server's
    // words in the page's language, the rest says the same as data (span: [start, end) in the field's text)
    this.fields = [];
    if (body && Array.isArray(body.detail)) {
      for (const d of body.detail) {
        let field = d.field;
        if (!field && Array.isArray(d.loc)) {
          const loc = d.loc.filter((p) => p !== "body" && p !== "params");
          field = loc.join(".");
        }
        this.fields.push({
          field: field || "",
          msg: d.msg || String(d),
          key: d.key || "",
          args: d.args && typeof d.args === "object" ? d.args : {},
          span: Array.isArray(d.span) && d.span.length === 2 ? d.span : null,
          related: Array.isArray(d.related) ? d.related : [],
        });
      }
    }
  }
}

export const stats = { requests: 0 };

// A full server answers 503 + Retry-After at once, and a part of a run still computing answers 202 + Retry-After:
// both mean "ask again shortly", so the page waits as told (bounded) instead of failing the view.
const RETRY_STATUSES = new Set([202, 503]);
const MAX_RETRIES = 60;
const MAX_WAIT_MS = 5000;

function retryDelay(res) {
  const seconds = Number(res.headers.get("Retry-After"));
  return Math.min(MAX_WAIT_MS, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000);
}

async function fetchOnce(url, options) {
  stats.requests += 1;
  try {
    return await fetch(url, options);
  } catch (e) {
    const err = new ApiError(0, { message: String(e && e.message ? e.message : e) });
    err.offline = true;
    throw err;
  }
}

async function request(url, options = {}) {
  // Every call names the page's language: a refusal (404, 422, 503) comes back worded in it. Only error bodies
  // depend on it (they say Vary: Accept-Language); cached 200 bodies never do, so their caching is unchanged.
  options = { ...options, headers: { "Accept-Language": pageLang(), ...(options.headers || {}) } };
  let res = await fetchOnce(url, options);
  const isGet = !options.method || options.method === "GET";
  for (let tries = 0; tries < MAX_RETRIES && RETRY_STATUSES.has(res.status); tries += 1) {
    if (res.status === 202 && !isGet) break; // a POST's 202 is its answer: the run was accepted
    await new Promise((resolve) => setTimeout(resolve, retryDelay(res)));
    res = await fetchOnce(url, options);
  }
  if (!res.ok || (res.status === 202 && isGet)) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = { message: `HTTP ${res.status}` };
    }
    throw new ApiError(res.status, body);
  }
  return res;
}

export async function getJSON(url, options) {
  return (await request(url, options)).json();
}

export async function getText(url, options) {
  return (await request(url, options)).text();
}

/** The page's language (i18n.js sets <html lang>): the server words a refusal in it. */
function pageLang() {
  const lang = globalThis.document ? document.documentElement.lang : "";
  return String(lang || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export async function postJSON(url, body) {
  return (await request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  })).json();
}

/** A response's bytes, with download progress: onProgress(received, total|null). Retried as every GET is. */
export async function getBytes(url, onProgress) {
  const res = await request(url);
  const total = Number(res.headers.get("Content-Length")) || null;
  if (!res.body || !res.body.getReader) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    const now = Date.now();
    if (now - lastReport > 80) {
      lastReport = now;
      onProgress(received, total);
    }
  }
  const all = new Uint8Array(received);
  let pos = 0;
  for (const c of chunks) {
    all.set(c, pos);
    pos += c.length;
  }
  return all;
}

/** `&collapse=..&expand=..` of a view (`expand` wins on the server; "*" opens everything). */
function modulesQuery(collapse, expand) {
  const list = (paths) => paths.map(encodeURIComponent).join(",");
  return (collapse.length ? `&collapse=${list(collapse)}` : "") + (expand.length ? `&expand=${list(expand)}` : "");
}

export const urls = {
  scenarios: () => "/api/scenarios",
  runs: () => "/api/runs",
  run: (id) => `/api/runs/${encodeURIComponent(id)}`,
  log: (id) => `/api/runs/${encodeURIComponent(id)}/log`,
  step: (id, k) => `/api/runs/${encodeURIComponent(id)}/steps/${k}`,
  steps: (id, start, stop) => `/api/runs/${encodeURIComponent(id)}/steps?start=${start}&stop=${stop}`,
  image: (id, k, fmt, phase, theme, collapse = [], lang = "en", fit = null, expand = []) =>
    `/api/runs/${encodeURIComponent(id)}/steps/${k}/graph.${fmt}?phase=${phase}&theme=${theme}&lang=${lang}` +
    modulesQuery(collapse, expand) +
    (fit ? `&fit=${fit}` : ""),
  labels: (id, start, stop, lang, collapse = [], expand = []) =>
    `/api/runs/${encodeURIComponent(id)}/labels?start=${start}&stop=${stop}&lang=${lang}` +
    modulesQuery(collapse, expand),
  messages: (lang) => `/api/messages?lang=${lang}`,
  tensors: (id, k, node, lang) =>
    `/api/runs/${encodeURIComponent(id)}/steps/${k}/tensors?node=${encodeURIComponent(node)}&lang=${lang}`,
  logJson: (id) => `/api/runs/${encodeURIComponent(id)}/log.json`,
};
