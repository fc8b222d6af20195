"""Progress of long work outside a terminal (issue 18: a 510 s ``predict evaluate`` printed
nothing to a log). Regression guards of the project's own contract, not evidence: lines on a
pipe, a bar on a terminal, nothing when disabled, and the CLI printing lines when its stderr
is not a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from oncoresist._progress import ProgressReporter, format_duration, track


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_on_a_pipe(monkeypatch):
    monkeypatch.setenv("ONCORESIST_PROGRESS_INTERVAL", "0.01")
    buf = io.StringIO()
    with ProgressReporter(5, "work", stream=buf) as p:
        for _ in range(5):
            time.sleep(1.02)  # lines are at most one a second
            p.advance()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "work: started (5 steps)"
    assert any(line.startswith("work: 2/5 (40%)") and "left" in line for line in lines)
    assert lines[-1].startswith("work: done 5/5 in ")
    assert len(lines) <= 6


def test_fast_work_prints_start_and_end_only():
    buf = io.StringIO()
    assert list(track(range(1000), description="quick", stream=buf)) == list(range(1000))
    lines = buf.getvalue().splitlines()
    assert lines == [lines[0], lines[-1]] and lines[0] == "quick: started (1000 steps)"
    assert lines[-1].startswith("quick: done 1000/1000 in ")


def test_failure_is_reported():
    buf = io.StringIO()
    try:
        with ProgressReporter(3, "fragile", stream=buf) as p:
            p.advance()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert buf.getvalue().splitlines()[-1].startswith("fragile: stopped at 1/3 after ")


def test_disabled_prints_nothing_and_tty_draws_a_bar():
    buf = io.StringIO()
    assert list(track([1, 2], description="x", enabled=False, stream=buf)) == [1, 2]
    assert buf.getvalue() == ""
    tty = _Tty()
    list(track(range(3), description="bar work", stream=tty))
    assert "bar work" in tty.getvalue() and "started" not in tty.getvalue()


def test_format_duration():
    assert format_duration(0.43) == "0.4 s"
    assert format_duration(41) == "41 s"
    assert format_duration(164) == "2 min 44 s"
    assert format_duration(3900) == "1 h 05 min"


def test_cli_fit_prints_progress_lines_when_not_a_terminal(tmp_path):
    rng = np.random.default_rng(1)
    conc = np.logspace(-3, 1, 8)
    rows = [
        (f"s{i}", "d", c, 1 / (1 + c / 0.1) + rng.normal(0, 0.02)) for i in range(3) for c in conc
    ]
    path = tmp_path / "screen.csv"
    pd.DataFrame(rows, columns=["sample", "drug", "concentration_uM", "viability"]).to_csv(
        path, index=False
    )
    proc = subprocess.run(
        [sys.executable, "-m", "oncoresist.cli", "fit", str(path), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fitting 3 curves: started" in proc.stderr
    assert "fitting 3 curves: done" in proc.stderr
