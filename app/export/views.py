"""The module views an offline file can draw: every (collapse, expand) query the page's chips can ask for.

The served page's chips (static/js/modules-bar.js) turn a click into a `?collapse=&expand=` query, and the server
(render.make_view) decides what that query draws. Offline there is no server, so the file carries a table
query -> view, found here by following the chips' clicks from the first view. Only the chips' *moves* are
mirrored here (which query a click asks for, given the boxes on screen); what a query draws is always
make_view's, in Python. The page's browser test clicks through the file and compares with render().

Bounded: a graph with more than MAX_PATHS module paths, or whose clicks reach more than MAX_VIEWS pictures or
MAX_QUERIES queries, carries only its first view, and the file hides the chips (page.py, app.css).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backprop_lens.render import EXPAND_ALL, make_view, modules_of
from backprop_lens.snapshot import Graph

MAX_PATHS = 8  # module paths of a graph (prefixes counted): beyond it the chips' reach grows too fast to carry
MAX_VIEWS = 24  # pictures per topology, each with its templates and slots (a Sequential of 3 and a loss: 18)
MAX_QUERIES = 512  # queries per topology: a small table, but its search must stay quick

Query = tuple[tuple[str, ...], tuple[str, ...]]  # (collapse, expand), each sorted as the page's URL holds them
FIRST: Query = ((), ())


def query_key(query: Query) -> str:
    """The loader's key of a query: "collapse|expand", each sorted and comma-joined (loader.js spells it so)."""
    return ",".join(query[0]) + "|" + ",".join(query[1])


@dataclass
class Views:
    """One topology's table: each query's view index (0: the first view) and each view's boxes."""

    queries: dict[str, int] = field(default_factory=dict)
    boxes: list[tuple[str, ...]] = field(default_factory=list)  # per view: its `collapse` (what data-collapse says)
    asked: list[Query] = field(default_factory=list)  # per view: one query that draws it (to render it)
    complete: bool = True  # False: only the first view is carried (too many), the chips are hidden


def _inside(path: str, module: str) -> bool:
    return path == module or path.startswith(module + ".")


def _sorted(paths: set[str] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(paths)))


def _toggle(query: Query, drawn: tuple[str, ...], m: str) -> Query:
    """modules-bar.js toggleModule(m): a module drawn open closes, a box (or one hidden in a box) opens."""
    collapse, expand = query
    is_open = m not in drawn and not any(_inside(m, b) for b in drawn)
    if not is_open:  # openModule
        return query if EXPAND_ALL in expand else (collapse, _sorted([*expand, m]))
    if not collapse and m in expand:  # closeModule, opened from the first view: back to that view around it
        return (collapse, _sorted([e for e in expand if not _inside(e, m)]))
    return (_sorted([b for b in drawn if not _inside(b, m)] + [m]), ())


def _all_button(drawn: tuple[str, ...], modules: list[str]) -> Query:
    """modules-bar.js #modules-all: everything open when a box is drawn, else the top-level modules as boxes."""
    return ((), (EXPAND_ALL,)) if drawn else (_sorted([m for m in modules if "." not in m]), ())


def chip_views(graph: Graph, *, first_only: bool = False) -> Views:
    """Every query the chips reach from the first view, breadth first, with the view each one draws."""
    modules = modules_of(graph)
    views = Views()
    if first_only or len(modules) > MAX_PATHS:
        return _first_only(graph, complete=not modules)
    todo = [FIRST]
    by_boxes: dict[tuple[str, ...], int] = {}
    while todo:
        query = todo.pop(0)
        if query_key(query) in views.queries:
            continue
        drawn = make_view(graph, query[0], query[1]).collapse
        if drawn not in by_boxes:
            by_boxes[drawn] = len(views.boxes)
            views.boxes.append(drawn)
            views.asked.append(query)
        views.queries[query_key(query)] = by_boxes[drawn]
        if len(views.boxes) > MAX_VIEWS or len(views.queries) > MAX_QUERIES:
            return _first_only(graph, complete=False)
        todo += [_toggle(query, drawn, m) for m in modules] + [_all_button(drawn, modules)]
    return views


def _first_only(graph: Graph, *, complete: bool) -> Views:
    """Only the first view; `complete` when that is all there is (no modules, no chips)."""
    return Views({query_key(FIRST): 0}, [make_view(graph).collapse], [FIRST], complete=complete)
