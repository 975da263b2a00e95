"""The terminal side of `synergy run`: what goes to the log file stays there, on a terminal too, and the
step lines word this run's figures."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter

from rich.console import Console

from orchestration.run_log import output_to_log
from orchestration.run_progress import RunProgress, describe


def test_everything_written_goes_to_the_log_and_only_progress_to_the_terminal(tmp_path):
    log = tmp_path / "logs" / "run.log"
    screen = io.StringIO()
    with output_to_log(log) as terminal:
        # A terminal: the live progress bar is on, and must not take over stdout and stderr.
        console = Console(file=screen, force_terminal=True, width=120)
        with RunProgress(console, "build_all", {}):
            print("a dbt line")
            print("a warning", file=sys.stderr)
            subprocess.run([sys.executable, "-c", "import os; os.write(1, b'a child process line\\n')"], check=True)
            console.print("  ✓ a step line")
        terminal.flush()
    text = log.read_text()
    for line in ("a dbt line", "a warning", "a child process line"):
        assert line in text and line not in screen.getvalue()
    assert "a step line" in screen.getvalue() and "a step line" not in text


def test_step_figures_say_what_this_run_did():
    assert describe(Counter(files_loaded=1, rows_loaded=15, rows_quarantined=0), checks_passed=2) == \
        "1 new file, 15 rows loaded, 2 checks passed"
    assert describe(Counter(files_loaded=3, rows_loaded=1200, rows_duplicate=1)) == \
        "3 new files, 1,200 rows loaded, 1 duplicate"
    # Every figure zero: the run found nothing new (not the warehouse's totals again).
    assert describe(Counter(files_loaded=0, rows_loaded=0), checks_passed=2) == "nothing new, 2 checks passed"
    # A step without figures (a dbt build) names what it built and checked.
    assert describe(Counter(), assets=25, checks_passed=46, checks_failed=1) == \
        "25 assets, 46 checks passed, 1 check FAILED"
    assert describe(Counter(), checks_failed=2) == "2 checks FAILED"
