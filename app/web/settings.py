"""The web app's settings: one explicit, immutable object passed to `create_app` (no globals, no env magic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


def package_files(name: str) -> Path:
    """The folder of the page's files shipped inside the package (`static`, `templates`).

    They are package data of `backprop_lens` (pyproject.toml maps the repository's top-level folders into it), so
    the same lookup finds them in a wheel's site-packages and in an editable install of the checkout.
    """
    return Path(str(resources.files(f"backprop_lens.{name}")))


@dataclass(frozen=True, slots=True)
class Settings:
    title: str = "backprop-lens"
    # Computed runs, bounded twice: by count and by their total steps. A step of history is ~1-2 KB, and each run
    # keeps up to 1,024 traced steps (~5-10 KB each): the defaults stay well under 1 GB in the worst case.
    run_cache_entries: int = 16
    run_cache_steps: int = 250_000
    # Response bodies that are pure functions of the URL (images, step JSON, summaries, logs), bounded by bytes.
    body_cache_entries: int = 8192
    body_cache_bytes: int = 64 * 1024 * 1024
    # Decoded, validated run ids (cheap, but they are asked for on every request).
    id_cache_entries: int = 4096
    max_body_bytes: int = 64 * 1024
    max_batch_steps: int = 500
    static_dir: Path = field(default_factory=lambda: package_files("static"))
    templates_dir: Path = field(default_factory=lambda: package_files("templates"))
    # Build the default run and trace one step at start-up: the first trace imports torch._dynamo (~3 s).
    warm_up: bool = True
