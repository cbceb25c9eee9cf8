"""A progress bar on stderr for long work (rich): when stderr is a terminal and stdout is not (`run ... > log.txt`).
When stdout is the terminal, the log itself streams as the loop goes; either way stdout keeps exactly the log."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import IO

LONG_RUN_STEPS = 20_000  # about a second of the real loop: shorter runs print before a bar would show
EVERY = 100  # steps between updates: the bar costs nothing measurable


@contextlib.contextmanager
def progress_bar(
    steps: int, stream: IO[str] | None = None, out: IO[str] | None = None
) -> Iterator[Callable[[int], None] | None]:
    """A bar for a loop of `steps` on `stream` (stderr): yields `report(steps_done)`, or None when no bar."""
    stream, out = stream or sys.stderr, out or sys.stdout
    if steps < LONG_RUN_STEPS or not stream.isatty() or out.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    progress = Progress(*columns, console=Console(file=stream), transient=True, redirect_stdout=False)
    with progress as bar:
        task = bar.add_task("training", total=steps)

        def report(done: int) -> None:
            if done % EVERY == 0 or done == steps:
                bar.update(task, completed=done)

        yield report
