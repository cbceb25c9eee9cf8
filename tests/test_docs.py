"""Docs as tests: what the code offers, README.md tells. A new route, command, option, scenario parameter or
setting fails here until the README names it."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backprop_lens.cli import build_parser
from backprop_lens.scenarios import SCENARIOS
from backprop_lens.web import Settings, create_app

from tests.apps import settings_for_tests

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


# ------------------------------------------------------------------------------------------------------- routes


def routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app answers, mounts as (`MOUNT`, path). Routers included by FastAPI are
    walked through whichever shape this FastAPI version gives them."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # an included router (FastAPI >= 0.16x)
            for ctx in contexts():
                for method in sorted(getattr(ctx, "methods", None) or {"GET"}):
                    yield method, ctx.path
        elif hasattr(route, "methods") and route.methods:
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path
        elif hasattr(route, "path"):
            yield "MOUNT", route.path


APP = create_app(settings_for_tests())
ROUTES = sorted(set(routes(APP)))


def test_the_route_walk_sees_every_documented_operation() -> None:
    """The walk above is not vacuous: it finds every OpenAPI operation, and the routes outside the schema."""
    schema = APP.openapi()
    operations = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert operations <= set(ROUTES)
    assert {("GET", "/"), ("GET", "/docs"), ("GET", "/openapi.json"), ("MOUNT", "/static")} <= set(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_is_in_the_readme(method: str, path: str) -> None:
    if method == "MOUNT":
        assert f"`{path}/" in README, f"README.md does not mention the mount {path}/"
    else:
        assert f"`{method} {path}" in README, f"README.md has no `{method} {path}` (the HTTP API table)"


# ---------------------------------------------------------------------------------------------- command line


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def options(parser: argparse.ArgumentParser, group: str | None = None) -> list[str]:
    """The option strings of a parser (or of one of its argument groups), --help left out."""
    actions = parser._actions
    if group is not None:
        actions = next(g._group_actions for g in parser._action_groups if g.title == group)
    return [s for a in actions if not isinstance(a, argparse._HelpAction) for s in a.option_strings]


PARSER = build_parser()
COMMANDS = subparsers(PARSER)


def test_the_parser_walk_sees_the_commands() -> None:
    assert set(COMMANDS) == {"run", "render", "serve", "scenarios", "trace", "export"}
    assert set(subparsers(COMMANDS["run"])) == set(SCENARIOS) == set(subparsers(COMMANDS["render"]))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"backprop-lens {command}" in README


def option_cases() -> list[tuple[str, str]]:
    cases = [("serve", o) for o in options(COMMANDS["serve"])]
    render_any = next(iter(subparsers(COMMANDS["render"]).values()))
    own = set(options(render_any)) - set(options(render_any, "scenario parameters"))
    cases += [("render", o) for o in sorted(own)]
    cases += [("trace", o) for o in options(COMMANDS["trace"])]
    export_any = next(iter(subparsers(COMMANDS["export"]).values()))
    cases += [("export", o) for o in sorted(set(options(export_any)) - set(options(export_any, "scenario parameters")))]
    return cases


@pytest.mark.parametrize(("command", "option"), option_cases())
def test_every_command_option_is_in_the_readme(command: str, option: str) -> None:
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", README), f"README.md lacks `{option}` ({command})"


def scenario_row(scenario_id: str) -> str:
    rows = [line for line in README.splitlines() if line.startswith(f"| `{scenario_id}` |")]
    assert len(rows) == 1, f"README.md's scenarios table needs exactly one row for `{scenario_id}`"
    return rows[0]


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_every_scenario_row_lists_its_options(scenario_id: str) -> None:
    """The scenarios table: a row per scenario, naming every parameter option of `run`/`render` SCENARIO."""
    row = scenario_row(scenario_id)
    for command in ("run", "render"):
        parser = subparsers(COMMANDS[command])[scenario_id]
        for option in options(parser, "scenario parameters"):
            if option.startswith("--no-"):
                continue  # the negative form of a boolean, documented once in the text
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", row), f"{scenario_id}: {option} missing"


def test_boolean_negations_are_explained() -> None:
    negations = {
        o
        for command in ("run", "render")
        for parser in subparsers(COMMANDS[command]).values()
        for o in options(parser, "scenario parameters")
        if o.startswith("--no-")
    }
    assert negations, "the walk finds the --no-... forms"
    for option in negations:
        assert option in README


def test_choices_are_in_the_readme() -> None:
    render_any = next(iter(subparsers(COMMANDS["render"]).values()))
    for action in render_any._actions:
        for choice in action.choices or ():
            assert f"`{choice}`" in README or re.search(rf"\b{choice}\b", README), choice


# -------------------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{name}`" in README, f"README.md's settings table lacks `{name}`"


# ------------------------------------------------------------------------------------------- checks of checks


def test_a_missing_name_would_fail() -> None:
    """The checks above are real: a route, an option and a setting that README.md does not name are caught."""
    assert "`GET /api/nowhere" not in README
    assert not re.search(r"(?<![\w-])--nowhere(?![\w-])", README)
    assert "`no_such_setting`" not in README
    with pytest.raises(AssertionError):
        scenario_row("no_such_scenario")
