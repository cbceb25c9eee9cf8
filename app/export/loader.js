// backprop-lens, one offline file: the page's ES modules run from blob: URLs (Chromium refuses module scripts
// from file://), and the page's API calls are answered from the data embedded in this file. No network.
// The data and the modules are embedded gzipped (base64): a run's JSON repeats itself, ~20x smaller packed.
(async function () {
  "use strict";
  var read = function (id) {
    return JSON.parse(document.getElementById(id).textContent);
  };
  async function unpack(id) {
    var bin = atob(document.getElementById(id).textContent.trim());
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  var DATA = await unpack("bl-data");
  var MODULES = await unpack("bl-modules");

  // Answers the page's fetches from DATA. (Its workers fetch nothing: the page hands them the bytes.)
  function install(scope, DATA) {
    var realFetch = scope.fetch ? scope.fetch.bind(scope) : null;
    var json = function (body, status) {
      var text = typeof body === "string" ? body : JSON.stringify(body);
      return new Response(text, {
        status: status || 200,
        headers: { "Content-Type": "application/json", "Content-Length": String(new Blob([text]).size) },
      });
    };
    var missing = function (what) {
      return json({ message: what + " is not in this offline file", detail: [{ field: "", msg: what }] }, 404);
    };
    // The module view a query draws in step k's topology: looked up in the file's table (bundle.py, views.py
    // computed it from the chips' clicks); a query the chips cannot reach from the first view draws the first view.
    function viewOf(k, q) {
      var names = function (key) {
        var list = (q.get(key) || "").split(",").filter(Boolean);
        return Array.from(new Set(list)).sort().join(",");
      };
      var v = ((DATA.views || [])[DATA.topology[k]] || {})[names("collapse") + "|" + names("expand")];
      return v === undefined ? 0 : v;
    }
    // A module view's slots (bundle.py _pooled): its own values laid over the step's pool of every view's slots.
    function viewPhases(pooled, v) {
      var own = pooled.views[v - 1];
      var phases = {};
      Object.keys(own).forEach(function (ph) {
        phases[ph] = { template: own[ph].template };
        ["texts", "tips", "aria"].forEach(function (part) {
          phases[ph][part] = Object.assign({}, pooled.pool[ph][part], own[ph][part]);
        });
      });
      return phases;
    }
    function answer(method, url, body) {
      var path = url.pathname;
      var q = url.searchParams;
      if (method === "POST" && path === "/api/runs") {
        var asked = body ? JSON.parse(body) : {};
        var same = JSON.stringify(asked.params || {}) === "{}" || JSON.stringify(asked.params) === JSON.stringify(DATA.params);
        if (asked.scenario === DATA.id && same) return json(DATA.created, 201);
        return json({ message: DATA.readonly, detail: [{ loc: ["body", "params"], field: "params", msg: DATA.readonly }] }, 422);
      }
      var hit = DATA.fixed[path + url.search];
      if (hit === undefined) hit = DATA.fixed[path];
      if (hit !== undefined) return hit.text !== undefined ? new Response(hit.text, { headers: { "Content-Type": hit.type } }) : json(hit);
      var run = "/api/runs/" + encodeURIComponent(DATA.id);
      if (path === run + "/labels") {
        var lang = q.get("lang") || "en";
        var list = DATA.labels[lang] || [];
        var from = Number(q.get("start") || 0);
        if (!(from < list.length)) return missing("step " + from);
        var out = list.slice(from, Math.min(Number(q.get("stop") || from + 100), list.length));
        return json(out.map(function (labels, i) {
          var v = viewOf(from + i, q);
          return v ? Object.assign({}, labels, { phases: viewPhases(DATA.viewSlots[lang][from + i], v) }) : labels;
        }));
      }
      var base = run + "/steps";
      if (path === base) {
        var start = Number(q.get("start") || 0);
        var stop = Math.min(Number(q.get("stop") || start + 100), DATA.steps.length);
        return start < DATA.steps.length ? json(DATA.steps.slice(start, stop)) : missing("step " + start);
      }
      if (path.indexOf(base + "/") === 0) {
        var rest = path.slice(base.length + 1).split("/");
        var k = Number(rest[0]);
        if (!(k >= 0 && k < DATA.steps.length)) return missing("step " + rest[0]);
        if (rest.length === 1) return json(DATA.steps[k]);
        if (rest[1] === "tensors") {
          var figures = (DATA.tensors[q.get("lang") || "en"] || [])[k] || {};
          return json(figures[q.get("node")] || {});
        }
        if (rest[1] === "graph.svg") {
          var look = [q.get("phase") || "backward", q.get("theme") || "light", q.get("lang") || "en"].join("|");
          var svgs = DATA.svgs[DATA.topology[k]];
          var v = viewOf(k, q);
          // a phone's tall picture where the file carries one (it is the default's where it does not)
          var svg = svgs[v + "|" + (q.get("fit") === "tall" ? "tall" : "") + "|" + look];
          if (svg === undefined) svg = svgs[v + "||" + look];
          if (svg !== undefined) return new Response(svg, { headers: { "Content-Type": "image/svg+xml" } });
        }
        return missing(path);
      }
      return null;
    }
    scope.fetch = function (input, init) {
      var href = typeof input === "string" ? input : input.url;
      var url = new URL(href, scope.location.href);
      var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
      if (url.pathname.indexOf("/api/") === 0) {
        var res = answer(method, url, init && init.body);
        return Promise.resolve(res || missing(url.pathname));
      }
      return realFetch ? realFetch(input, init) : Promise.reject(new TypeError("offline"));
    };
  }

  // In a notebook the page is an iframe's srcdoc: "about:srcdoc" is no base for the page's relative URLs.
  var OFFLINE = "http://offline.invalid/";
  if (!/^(https?|file):/.test(location.href)) {
    var RealURL = window.URL;
    window.URL = class extends RealURL {
      constructor(url, base) {
        super(url, base !== undefined && !/^(https?|file|blob):/.test(String(base)) ? OFFLINE : base);
      }
    };
  }

  install(window, DATA);

  // In a notebook (an iframe's srcdoc) the URL cannot change: the page keeps its state, the URL stays put.
  ["replaceState", "pushState"].forEach(function (name) {
    var real = history[name].bind(history);
    history[name] = function () {
      try {
        return real.apply(null, arguments);
      } catch (e) {
        return undefined;
      }
    };
  });

  // Modules: each becomes a blob: URL after its relative imports point at the blob URLs of what it imports.
  var urls = {};
  var loading = {};
  function resolve(from, spec) {
    return new URL(spec, "http://x/" + from).pathname.slice(1);
  }
  function load(path) {
    if (urls[path]) return urls[path];
    if (loading[path]) throw new Error("import cycle through " + path + ": the offline loader needs a DAG");
    if (!(path in MODULES)) throw new Error("module " + path + " is not in this file");
    loading[path] = true;
    // import.meta.url of a blob: module is no base for relative URLs: each module keeps its static/ address
    var src = MODULES[path].replace(/\bimport\.meta\.url\b/g, JSON.stringify(OFFLINE + "static/" + path)).replace(
      /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]+)\2/g,
      function (m, pre, q, spec) {
        return pre + q + load(resolve(path, spec)) + q;
      },
    );
    urls[path] = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    return urls[path];
  }

  // Workers of the page's own scripts: the same script from a blob: (a file:// page cannot start one by path).
  var RealWorker = window.Worker;
  window.Worker = function (href, options) {
    var path = new URL(href, location.href).pathname;
    var rel = path.replace(/^\/static\//, "");
    if (!(rel in MODULES)) return new RealWorker(href, options);
    var url = URL.createObjectURL(new Blob([MODULES[rel]], { type: "text/javascript" }));
    return new RealWorker(url, options);
  };

  var entries = read("bl-entries");
  entries.forEach(function (path) {
    import(load(path)).catch(function (e) {
      console.error(e);
    });
  });
})();
