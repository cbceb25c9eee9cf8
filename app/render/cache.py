"""The layout cache: one Graphviz run per topology, shared by every step (and run) of one app."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future

from backprop_lens.render import layout as _layout
from backprop_lens.render.labels import PAGE, Style
from backprop_lens.render.layout import LAYOUT_VERSION, Layout
from backprop_lens.render.view import View, make_view
from backprop_lens.snapshot import Graph

Collapse = Iterable[str] | str | None


class LayoutCache:
    """A bounded, thread-safe LRU of layouts keyed by topology (steps of any run with that topology share).

    A topology seen for the first time is laid out in a worker thread (`dot` is a subprocess, so it runs on
    another core while Python formats the labels); concurrent requests for it wait for that one run.
    """

    def __init__(self, maxsize: int = 128) -> None:
        self.maxsize = maxsize
        # (view key, rankdir, style, version)
        self._items: OrderedDict[tuple[str, str | None, str, int], Layout] = OrderedDict()
        self._pending: dict[tuple[str, str | None, str, int], Future[Layout]] = {}
        self._lock = threading.Lock()
        self.misses = 0  # how many layouts were computed (Graphviz runs), for tests and benchmarks

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
            with self._lock:
                self.misses += 1
                self._pending.pop(key, None)
                self._items[key] = layout
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
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
