"""The layout cache: one Graphviz run per topology, shared by every step (and run) of one app."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from backprop_lens.render import layout as _layout
from backprop_lens.render.labels import PAGE, Style
from backprop_lens.render.layout import LAYOUT_VERSION, Layout
from backprop_lens.render.view import View, make_view
from backprop_lens.snapshot import Graph

Collapse = Iterable[str] | str | None
LayoutKey = tuple[str, str | None, str, int]  # (view key, rankdir, style, version)


class LayoutCache:
    """A bounded, thread-safe LRU of layouts keyed by topology (steps of any run with that topology share).

    A topology seen for the first time is laid out in a worker thread (`dot` is a subprocess, so it runs on
    another core while Python formats the labels); concurrent requests for it wait for that one run.

    `max_bytes`: a bound on the bytes held as well, each layout weighed by `weigh` when laid out (render knows no
    deep sizer: the web layer hands in its own) plus its SVG fragments as they grow. A layout larger than the
    whole bound is handed to its waiters and not kept.
    """

    def __init__(
        self, maxsize: int = 128, max_bytes: int | None = None, weigh: Callable[[Layout], int] | None = None
    ) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._weigh = weigh or (lambda _layout: 0)
        self._items: OrderedDict[LayoutKey, Layout] = OrderedDict()
        self._base: dict[LayoutKey, int] = {}  # bytes of each layout as laid out (its fragments count their own)
        self._pending: dict[LayoutKey, Future[Layout]] = {}
        self._lock = threading.Lock()
        self.misses = 0  # how many layouts were computed (Graphviz runs), for tests and benchmarks

    @property
    def nbytes(self) -> int:
        """Bytes held now: the layouts as weighed, and their fragments as drawn since."""
        with self._lock:
            return self._nbytes()

    def _nbytes(self) -> int:
        return sum(base + self._items[key].fragments.nbytes for key, base in self._base.items())

    def stats(self) -> dict[str, int | None]:
        return {"entries": len(self._items), "bytes": self.nbytes, "max_bytes": self.max_bytes}

    def _keep(self, key: LayoutKey, layout: Layout, base: int) -> None:
        """Under the lock: keep the layout (unless larger than the bound), then evict to the bounds."""
        if self.max_bytes is None or base <= self.max_bytes:
            self._items[key], self._base[key] = layout, base
        self._evict()

    def _evict(self) -> None:
        # Fragments grow after a layout is kept: the bound is checked again on every hit (a few dozen additions).
        held = self._nbytes()
        while self._items and (
            len(self._items) > self.maxsize or (self.max_bytes is not None and held > self.max_bytes)
        ):
            key, layout = self._items.popitem(last=False)
            held -= self._base.pop(key) + layout.fragments.nbytes

    def get_future(
        self, graph: Graph | View, rankdir: str | None = None, collapse: Collapse = None, style: Style = PAGE
    ) -> Future[Layout]:
        """The layout of a graph (or of a view: the graph with some modules collapsed), as a future."""
        view = graph if isinstance(graph, View) else make_view(graph, collapse)  # bad `collapse`: raises here
        key = (view.key, rankdir, style.name, LAYOUT_VERSION)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self._evict()
                done: Future[Layout] = Future()
                done.set_result(hit)
                return done
            fut = self._pending.get(key)
            if fut is not None:
                return fut
            fut = self._pending[key] = Future()

        def work() -> None:
            try:
                layout = _layout.compute_layout(view, rankdir, style)  # looked up here: tests replace it
            except BaseException as exc:  # handed to every waiter, raised by .result()
                with self._lock:
                    self._pending.pop(key, None)
                fut.set_exception(exc)
                return
            base = self._weigh(layout)  # outside the lock: a big layout takes a moment to weigh
            with self._lock:
                self.misses += 1
                self._pending.pop(key, None)
                self._keep(key, layout, base)
            fut.set_result(layout)

        threading.Thread(target=work, name="backprop-lens-layout", daemon=True).start()
        return fut

    def get(
        self, graph: Graph | View, rankdir: str | None = None, collapse: Collapse = None, style: Style = PAGE
    ) -> Layout:
        return self.get_future(graph, rankdir, collapse, style).result()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._base.clear()

    def __len__(self) -> int:
        return len(self._items)


DEFAULT_CACHE = LayoutCache()


def cache_or_default(cache: LayoutCache | None) -> LayoutCache:
    return cache if cache is not None else DEFAULT_CACHE


def layout_for(
    graph: Graph | View, *, rankdir: str | None = None, cache: LayoutCache | None = None, collapse: Collapse = None
) -> Layout:
    """The (cached) layout of a graph's topology (and collapsed modules); Graphviz runs only the first time."""
    return cache_or_default(cache).get(graph, rankdir, collapse)
