"""The command line: version, help, and clean errors (exit code 2, no traceback)."""

from __future__ import annotations

import pandas as pd

from oncoresist import __version__
from oncoresist.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "fit", "shift", "qc"):
        assert command in out


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "screen.csv"
    pd.DataFrame({"cell": ["A"], "drug": ["x"], "concentration": [1.0], "viability": [0.5]}).to_csv(
        bad, index=False
    )
    code = main(["fit", str(bad), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "screen.csv" in err and "sample" in err
    assert "Traceback" not in err
