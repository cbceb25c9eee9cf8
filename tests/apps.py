"""Settings of the tests' in-process apps: the defaults, but what a loaded CI machine would make flaky or slow."""

from __future__ import annotations

from typing import Any

from backprop_lens.web import Settings


def settings_for_tests(**overrides: Any) -> Settings:
    """`Settings(**overrides)` with three test defaults (a test that is about one of them sets it):
    - no start-up warm-up;
    - a test waits for what it asks (`answer_s` 300 s: a loaded machine is slow, a niced worker slower);
    - histories compute in the test's process (a spawned worker per app would import torch again, ~3 s each);
      tests/test_workers.py asks for workers and checks they give the same bytes, and the served tests
      (test_server, test_nginx, the page's) run the real defaults."""
    overrides.setdefault("warm_up", False)
    overrides.setdefault("answer_s", 300.0)
    overrides.setdefault("worker_processes", 0)
    return Settings(**overrides)
