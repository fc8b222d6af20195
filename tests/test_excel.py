"""Excel output (issue 18: ``-o x.xlsx`` for tables, ``oncoresist --excel``).

Read-back checks go through openpyxl/pandas, the readers Excel files are made for (agreement
with an outside reader); the rest are regression guards of the project's own rules (sheet
names, formula-looking text kept as text, Excel's row limit, the option lasting one call).
"""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from oncoresist import _io
from oncoresist._io import check_output_file, write_table, write_workbook
from oncoresist.cli import main
from oncoresist.errors import OutputError


def test_write_table_xlsx_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "sample": ["A", "B", "C"],
            "ic50_abs": [0.5, np.nan, 1e-9],
            "n": [1, 2, 3],
            "ok": [True, False, True],
            "when": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]).tz_localize("UTC"),
        }
    )
    path = write_table(df, tmp_path / "fits.xlsx")
    back = pd.read_excel(path, sheet_name="fits")
    assert back["sample"].tolist() == ["A", "B", "C"]
    assert back.columns.tolist() == ["sample", "ic50_abs (µM)", "n", "ok", "when"]  # units
    np.testing.assert_array_equal(back["ic50_abs (µM)"].to_numpy(), df["ic50_abs"].to_numpy())
    assert back["n"].tolist() == [1, 2, 3] and back["ok"].tolist() == [True, False, True]
    assert back["when"].dt.day.tolist() == [1, 2, 3]


def test_formula_like_text_stays_text(tmp_path):
    path = write_workbook({"t": pd.DataFrame({"drug": ["=HYPERLINK(\"x\")", "+1", "plain"]})},
                          tmp_path / "t.xlsx")  # fmt: skip
    ws = openpyxl.load_workbook(path)["t"]
    assert ws["A2"].data_type == "s" and ws["A2"].value == '=HYPERLINK("x")'


def test_sheet_names_follow_excel_rules(tmp_path):
    long = "a" * 40
    tables = {long: pd.DataFrame({"x": [1]}), long + "b": pd.DataFrame({"x": [2]}),
              "per/drug:[1]": pd.DataFrame({"x": [3]}), "about": pd.DataFrame({"x": [4]})}  # fmt: skip
    path = write_workbook(tables, tmp_path / "w.xlsx", about={"command": "test"})
    names = openpyxl.load_workbook(path).sheetnames
    assert names[0] == "about" and len(names) == 5 and len({n.lower() for n in names}) == 5
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


def test_too_many_rows_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "EXCEL_MAX_ROWS", 3)
    with pytest.raises(OutputError, match=r"more than an Excel sheet holds.*parquet or \.csv"):
        write_table(pd.DataFrame({"x": range(5)}), tmp_path / "big.xlsx")
    assert not (tmp_path / "big.xlsx").exists()


def test_output_file_suffix_checked_before_work(tmp_path):
    with pytest.raises(OutputError, match=r"unknown format '\.xls'.*\.xlsx"):
        check_output_file(tmp_path / "p.xls", inputs=[], suffixes=_io.TABLE_SUFFIXES)


def _screen(tmp_path):
    conc = np.logspace(-3, 1, 6)
    rows = [(s, "d", c, 1 / (1 + c / ic)) for s, ic in (("a", 0.1), ("b", 1.0)) for c in conc]
    path = tmp_path / "screen.csv"
    pd.DataFrame(rows, columns=["sample", "drug", "concentration_uM", "viability"]).to_csv(
        path, index=False
    )
    return path


def test_cli_excel_writes_every_table_once(tmp_path):
    screen = _screen(tmp_path)
    assert main(["--excel", "fit", str(screen), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    book = pd.read_excel(tmp_path / "out" / "tables.xlsx", sheet_name=None)
    assert list(book) == ["about", "fits", "outliers"]  # fits once, from fits.parquet
    fits = pd.read_parquet(tmp_path / "out" / "fits.parquet")
    # headers carry units as in the report; values are the run's own
    assert book["fits"]["ic50_abs (µM)"].to_numpy() == pytest.approx(fits["ic50_abs"].to_numpy())
    assert "hill_slope" in book["fits"].columns
    manifest = json.loads((tmp_path / "out" / "oncoresist-run.json").read_text())
    assert manifest["status"] == "complete" and "tables.xlsx" in manifest["files"]
    # the option lasts one call
    assert main(["fit", str(screen), "-o", str(tmp_path / "plain"), "--quiet"]) == 0
    assert not (tmp_path / "plain" / "tables.xlsx").exists()


def test_table_commands_take_xlsx(tmp_path):
    from oncoresist.data import make_screen
    from oncoresist.mechanisms import example_profile_path

    screen = tmp_path / "s.csv"
    make_screen(n_samples=1, drugs=2, rng=3).screen.data.assign(conc_unit="uM").to_csv(
        screen, index=False
    )
    assert main(["qc", str(screen), "-o", str(tmp_path / "qc.xlsx")]) == 0
    qc = pd.read_excel(tmp_path / "qc.xlsx", sheet_name="qc")
    assert len(qc) >= 1 and "plate" in qc.columns
    assert (tmp_path / "qc_report.html").is_file()
    profile = tmp_path / "p.yaml"
    profile.write_bytes(open(example_profile_path(), "rb").read())
    assert (
        main(["annotate", str(profile), "--drug", "gefitinib", "-o", str(tmp_path / "ev.xlsx")])
        == 0
    )
    assert len(pd.read_excel(tmp_path / "ev.xlsx", sheet_name="ev")) >= 1
    # an unknown table format is refused before any work, with exit code 2
    assert main(["qc", str(screen), "-o", str(tmp_path / "qc.xls")]) == 2
    assert not (tmp_path / "qc.xls").exists()
