"""Page playback benchmark, in headless Chromium against a real server (loopback only).

For Lecture 04 (6 nodes) and a custom model of ~50 autograd nodes it measures, after the run is loaded:
  - playback: steps per second and frames drawn per second at 60 and 240 steps/s, and the network requests
    per step during playback (the page prefetches step JSON in batches and patches the SVG in place);
  - the in-place update cost: milliseconds to patch one step into the SVG (the ceiling of steps per second);
  - the naive alternative for comparison: fetch and swap the server's SVG for every step.
Prints a table; asserts nothing (tests assert behaviour, benchmarks report numbers).

    .venv/bin/python bench/bench_page.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.page_helpers import CHROMIUM, READY, launch_browser, start_server, stop_server, wait_js

TERMS = 8  # 8 sigmoid terms: 53 nodes, 73 edges
BIG_MODEL = " + ".join(f"w1*sigmoid(w2*x + {0.5 * i - 1.5})" for i in range(TERMS))
CASES = {
    "lecture04": "scenario=lecture04",
    "custom ~50 nodes": "scenario=custom&"
    + urllib.parse.urlencode({"model": BIG_MODEL, "params": "w1=0.5, w2=0.8"}, quote_via=urllib.parse.quote),
}


def measure_playback(page, speed: int, seconds: float) -> dict[str, float]:
    page.evaluate(f"__lens.pause(); __lens.go({{k: 0, phase: 'backward', reveal: null}}); __lens.S.speed = {speed}")
    page.wait_for_selector("[data-testid=graph][data-step='0']")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate(
        "for (const key in __lens.timing) __lens.timing[key] = 0;"
        "window.__raf = 0; if (!window.__rafLoop) { window.__rafLoop = 1;"
        "(function f() { window.__raf++; requestAnimationFrame(f); })(); }"
    )
    k0, r0, f0 = page.evaluate("[__lens.S.k, __lens.S.rendered, window.__raf]")
    t0 = time.perf_counter()
    page.evaluate("__lens.play()")
    page.wait_for_timeout(int(seconds * 1000))
    k1, r1, f1, timing = page.evaluate("__lens.pause(), [__lens.S.k, __lens.S.rendered, window.__raf, __lens.timing]")
    dt = time.perf_counter() - t0
    api = [u for u in requests if "/api/" in u]
    steps = max(1, k1 - k0)
    frames = max(1, timing["frames"])
    js = sum(v for key, v in timing.items() if key != "frames") / frames
    return {
        "steps_s": steps / dt,
        "draws_s": (r1 - r0) / dt,
        "raf_s": (f1 - f0) / dt,
        "js_ms": js,
        "req_per_step": len(api) / steps,
        "steps": steps,
    }


def measure_patch_cost(page, n: int = 200, quick: bool = False) -> float:
    """Median ms to patch one step into the SVG, synchronously, over the cached steps (quick: as during
    playback, without the tooltips, which are written on pause)."""
    return page.evaluate(
        """([n, quick]) => {
          const S = __lens.S;
          const ks = [...__lens.cache.keys()].filter((k) => __lens.labelsAt(k)).sort((a, b) => a - b).slice(0, n);
          const times = [];
          for (const k of ks) {
            const t = performance.now();
            const view = {theme: S.theme, lang: S.lang, reveal: null, selected: null, quick};
            __lens.graph.draw(__lens.cache.get(k), __lens.labelsAt(k), 'backward', view);
            document.querySelector('[data-testid=graph] svg').getBBox();  // force style and layout
            times.push(performance.now() - t);
          }
          times.sort((a, b) => a - b);
          return times[Math.floor(times.length / 2)];
        }""",
        [n, quick],
    )


def measure_naive(page, n: int = 40) -> float:
    """Steps per second when every step fetches and swaps the server's SVG (the approach the page avoids)."""
    return page.evaluate(
        """async (n) => {
          const id = __lens.S.run.id, vp = document.createElement('div');
          document.body.appendChild(vp);
          const t = performance.now();
          for (let k = 0; k < n; k++) {
            const url = `/api/runs/${encodeURIComponent(id)}/steps/${k}/graph.svg?phase=backward&theme=light`;
            const text = await (await fetch(url, {cache: 'no-store'})).text();
            vp.innerHTML = text;
            vp.querySelector('svg').getBBox();
            await new Promise(requestAnimationFrame);
          }
          vp.remove();
          return n / ((performance.now() - t) / 1000);
        }""",
        n,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="playback time per measurement")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: set CHROMIUM_PATH", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    server = start_server()
    rows = []
    try:
        with sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for name, query in CASES.items():
                t0 = time.perf_counter()
                page.goto(f"{server.base}/?{query}#lang=en&theme=light&by=sample&phase=backward")
                page.wait_for_selector(READY, timeout=120_000)
                load_s = time.perf_counter() - t0
                wait_js(page, "__lens.cache.size >= 100", timeout=60_000)
                nodes = page.evaluate("__lens.cache.get(0).graph.nodes.length")
                total = page.evaluate("__lens.S.run.total")
                play60 = measure_playback(page, 60, args.seconds)
                play240 = measure_playback(page, 240, args.seconds)
                patch_ms = measure_patch_cost(page, quick=True)
                full_ms = measure_patch_cost(page)
                naive = measure_naive(page)
                rows.append((name, nodes, total, load_s, play60, play240, patch_ms, full_ms, naive))
            browser.close()
    finally:
        stop_server(server)

    print(f"page playback, headless Chromium, {args.seconds:.0f} s per measurement (loopback)")
    head = (
        f"{'case':18} {'nodes':>5} {'steps':>5} {'load s':>7} | {'@60: steps/s':>12} {'draws/s':>8} {'req/step':>8} | "
        f"{'@240: steps/s':>13} {'draws/s':>8} {'req/step':>8} | {'patch ms':>8} {'ceiling/s':>9} {'+tips ms':>8} | "
        f"{'naive SVG/step':>14} {'ratio':>6} | {'frames/s':>8} {'JS ms/frame':>11}"
    )
    print(head)
    print("-" * len(head))
    for name, nodes, total, load_s, p60, p240, patch_ms, full_ms, naive in rows:
        ceiling = 1000 / patch_ms if patch_ms > 0 else float("inf")
        print(
            f"{name:18} {nodes:5d} {total:5d} {load_s:7.2f} | {p60['steps_s']:12.1f} {p60['draws_s']:8.1f} "
            f"{p60['req_per_step']:8.3f} | {p240['steps_s']:13.1f} {p240['draws_s']:8.1f} "
            f"{p240['req_per_step']:8.3f} | "
            f"{patch_ms:8.2f} {ceiling:9.0f} {full_ms:8.2f} | {naive:14.1f} {p60['steps_s'] / naive:5.1f}x | "
            f"{p60['raf_s']:8.1f} {p60['js_ms']:11.2f}"
        )
    print("steps/s: steps advanced per second; draws/s: frames that drew a new step (one per animation frame);")
    print("req/step: API requests during playback per step; patch ms: median in-place update of one step as during")
    print("playback (tooltips are written on pause); +tips ms: the same with every tooltip, as when paused;")
    print("naive: fetch + swap the server's SVG per step; ratio: playback at 60/s over naive.")
    print("frames/s: animation frames the browser ran during playback at 60/s (headless, no GPU: the compositor")
    print("limits it); JS ms/frame: the page's own work per drawn frame (graph, charts, console, controls).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
