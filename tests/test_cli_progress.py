"""The CLI's progress bar: on stderr, only on a terminal and for long runs; stdout keeps the lecture's log."""

from __future__ import annotations

import io
import subprocess
import sys

from backprop_lens.cli.progress import LONG_RUN_STEPS, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_loop_shows_its_progress_on_a_terminal():
    term = Terminal()
    with progress_bar(LONG_RUN_STEPS, term, io.StringIO()) as report:  # stdout to a file, stderr a terminal
        assert report is not None
        for done in range(1, LONG_RUN_STEPS + 1):
            report(done)
    assert "training" in term.getvalue() and str(LONG_RUN_STEPS) in term.getvalue()


def test_no_bar_for_short_runs_pipes_or_a_log_on_the_terminal():
    term, pipe, log = Terminal(), io.StringIO(), io.StringIO()
    with (
        progress_bar(10, term, log) as short,
        progress_bar(LONG_RUN_STEPS, pipe, log) as piped,
        progress_bar(LONG_RUN_STEPS, term, Terminal()) as streamed,  # the log itself shows progress there
    ):
        assert short is None and piped is None and streamed is None
    assert term.getvalue() == pipe.getvalue() == ""


def test_run_prints_the_same_log_with_or_without_a_bar():
    """Through a pipe (no bar) the log is the lecture's, byte for byte as the plain loop's output."""
    cmd = [sys.executable, "-m", "backprop_lens", "run", "lecture04", "--epochs", str(LONG_RUN_STEPS // 3 + 1)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert out.stderr == ""
    from backprop_lens.scenarios import build_run

    assert out.stdout == build_run("lecture04", {"epochs": LONG_RUN_STEPS // 3 + 1}).log_text
