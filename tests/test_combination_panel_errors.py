"""Bad input to the combination, panel and data-set readers ends in our own error (issue 19).

Each test starts from a crash found by fuzzing (``tests/test_fuzz_combination_panel.py``) or
a bad-input case of issue 11, and checks that the reader raises an
:class:`~oncoresist.errors.InputError` (or ``SchemaError`` / ``DataUnavailableError``) whose
message names the file, the row and the column where there is one, and the fix; or, where the
reader's design has the notion, that the bad part is excluded and reported.
"""

from __future__ import annotations

import codecs
import copy
import gzip
import hashlib
import io
import itertools
import re

import numpy as np
import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.data import (
    _datasets,
    fetch_crosswalk,
    fetch_gdsc_annotations,
    fetch_gdsc_v17,
    fetch_synergyfinder_example,
    load_gdsc_compounds,
    read_combination_matrix,
    read_combination_plate,
    read_combination_table,
    read_dose_matrix,
    read_multi_combination_table,
    read_panel,
)
from oncoresist.data._crosswalk import Crosswalk
from oncoresist.errors import DataUnavailableError, InputError, SchemaError

_DOSES = (0.0, 1.0, 10.0)


def _tidy(blocks=(1, 2), reps=1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"block_id": b, "sample": "OCUBM", "drug1": "a", "drug2": "b", "conc1": c1,
             "conc2": c2, "response": 5.0 + 3 * i + 2 * j + b + r, "replicate": r,
             "conc_unit": "uM"}
            for b in blocks
            for i, c1 in enumerate(_DOSES)
            for j, c2 in enumerate(_DOSES)
            for r in range(1, reps + 1)
        ]
    )  # fmt: skip


def _multi() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"block_id": 1, "drug1": "a", "drug2": "b", "drug3": "c", "conc1": c1,
             "conc2": c2, "conc3": c3, "response": 4.0 + 10 * (c1 + c2 + c3) + k,
             "conc_unit": "uM"}
            for k, (c1, c2, c3) in enumerate(itertools.product((0.0, 1.0), repeat=3))
        ]
    )  # fmt: skip


_GRID = "A \\ B (uM),0,1,10\n0,2,20,50\n1,10,40,70\n10,30,60,90\n"


def _write(path, frame: pd.DataFrame, **kw):
    frame.to_csv(path, index=False, **kw)
    return path


def _raises(exc_type, call, *parts: str):
    """``call()`` raises ``exc_type`` whose message contains every part (regex-escaped)."""
    with pytest.raises(exc_type) as err:
        call()
    msg = str(err.value)
    for part in parts:
        assert re.search(part, msg), f"{part!r} not in {msg!r}"
    assert "Traceback" not in msg
    return msg


# ----------------------------------------------------------------------------- 1. non-UTF-8 bytes
def test_combination_table_with_cp1252_bytes_reads_and_says_so(tmp_path):
    """Regression guard: a sample name saved as Windows-1252 (Excel) reads, the decoding noted."""
    p = tmp_path / "latin.csv"
    p.write_bytes(_tidy().assign(sample="Évry").to_csv(index=False).encode("cp1252"))
    s = read_combination_table(p)
    assert set(s.data["sample"]) == {"Évry"}
    assert any("cp1252" in n for n in s.conversions)
    m = tmp_path / "latin3.csv"
    m.write_bytes(_multi().assign(drug3="Gefitinib é").to_csv(index=False).encode("cp1252"))
    assert read_multi_combination_table(m).n_drugs == 3


def test_dose_matrix_non_utf8_and_utf16_read(tmp_path):
    """Regression guard: read_dose_matrix raised UnicodeDecodeError on cp1252 and UTF-16 files."""
    p = tmp_path / "plate.csv"
    p.write_bytes(_GRID.replace("A \\ B", "Ibrutinib é \\ B").encode("cp1252"))
    s = read_dose_matrix(p)
    assert s.blocks.loc[0, "drug1"] == "Ibrutinib é"
    assert any("decoded as cp1252" in n and "line 1" in n for n in s.conversions)
    q = tmp_path / "plate16.txt"
    q.write_bytes(codecs.BOM_UTF16_LE + _GRID.replace(",", "\t").encode("utf-16-le"))
    assert read_dose_matrix(q).blocks.loc[0, "n1"] == 3
    # the same files through read_combination_matrix (a path is read as a dose matrix)
    assert read_combination_matrix(p).n_blocks == 1


def test_dose_matrix_binary_file_names_the_file(tmp_path):
    """Regression guard: binary bytes (a Parquet file renamed .csv) are an InputError."""
    p = tmp_path / "plate.csv"
    p.write_bytes(b"PAR1\x00\x15\x04\xe9\xff\x00" * 20)
    _raises(InputError, lambda: read_dose_matrix(p), re.escape(str(p)), "binary content")


def test_combination_plate_from_files_with_cp1252_layout(tmp_path):
    """Regression guard: plate and layout given as files, the layout in Windows-1252."""
    plate = tmp_path / "plate.csv"
    lines = ["well,signal"]
    lines += [f"{r}{c:02d},{950 - 200 * i - 150 * (c - 1)}" for i, r in enumerate("ABC")
              for c in range(1, 4)]  # fmt: skip
    plate.write_text("\n".join([*lines, "D01,1000", "D02,990", "A04,50"]) + "\n")
    layout = tmp_path / "layout.csv"
    rows = ["well,role,block_id,drug1,drug2,conc1,conc2"]
    rows += [f"{r}{c:02d},treated,1,Dabrafénib,b,{_DOSES[i]},{_DOSES[c - 1]}"
             for i, r in enumerate("ABC") for c in range(1, 4)]  # fmt: skip
    rows += ["D01,negative,,,,,", "D02,negative,,,,,", "A04,positive,,,,,", "H12,blank,,,,,"]
    layout.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    s = read_combination_plate(plate, layout, conc_unit="uM")
    assert s.blocks.loc[0, "drug1"] == "Dabrafénib"
    # the unused well is counted, not dropped silently
    assert any("1 wells with role(s) ['blank'] left out" in n for n in s.conversions)


def test_combination_plate_grid_file_reads(tmp_path):
    """Behaviour: a plate grid file (row letters in the first column) reads from its path."""
    grid = tmp_path / "grid.csv"
    grid.write_text(",1,2,3,4\nA,950,800,650,50\nB,750,600,450,\nC,550,400,250,\nD,1000,990,,\n")
    layout = pd.DataFrame(
        [{"well": f"{r}{c}", "role": "treated", "block_id": 1, "drug1": "a", "drug2": "b",
          "conc1": _DOSES[i], "conc2": _DOSES[c - 1]} for i, r in enumerate("ABC")
         for c in range(1, 4)]
        + [{"well": w, "role": role} for w, role in (("D1", "negative"), ("D2", "negative"),
                                                     ("A4", "positive"))]
    )  # fmt: skip
    s = read_combination_plate(grid, layout, conc_unit="uM")
    assert s.source == str(grid) and s.counts()["wells"] == 9


def test_plate_signal_and_layout_dose_that_are_not_numbers(tmp_path):
    """Regression guard: text in a plate grid or a layout dose was a ValueError from astype."""
    grid = pd.DataFrame({1: [100.0, 90.0], 2: ["n/a", 50.0]}, index=["A", "B"])
    layout = pd.DataFrame({"well": ["A1", "B1"], "role": ["negative", "treated"]})
    _raises(InputError, lambda: read_combination_plate(grid, layout), "plate row 'A', column 2",
            "'n/a' is not a finite number")  # fmt: skip
    long = pd.DataFrame({"well": ["A01", "A02", "A03"], "signal": [100.0, 50.0, 10.0]})
    lay = pd.DataFrame(
        {"well": ["A01", "A02", "A03"], "role": ["negative", "treated", "positive"],
         "block_id": [None, 1, None], "drug1": "a", "drug2": "b", "conc1": ["", "1 uM", ""],
         "conc2": 0.0}
    )  # fmt: skip
    _raises(InputError, lambda: read_combination_plate(long, lay, conc_unit="uM"),
            r"layout column 'conc1' row 3: dose '1 uM'")  # fmt: skip


def test_read_panel_cp1252_identifiers_read_with_a_warning(tmp_path):
    """Regression guard: read_panel raised UnicodeDecodeError on a Windows-1252 table."""
    (tmp_path / "responses.csv").write_bytes("sample,d1\nSK-MEL-é,0.5\nA549,1.0\n".encode("cp1252"))
    with pytest.warns(UserWarning, match="not UTF-8 text; read as cp1252"):
        p = read_panel(tmp_path)
    assert "SK-MEL-é" in p.samples


# ----------------------------------------------------------------------------- 2. empty, quotes
@pytest.mark.parametrize(
    "reader", [read_combination_table, read_multi_combination_table, read_dose_matrix]
)
@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_empty_files_name_the_file(tmp_path, reader, content):
    """Regression guard: empty files ended in pandas' EmptyDataError or csv.Error."""
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    _raises(InputError, lambda: reader(p), re.escape(str(p)))
    assert p.read_bytes() == content


def test_unbalanced_quote_in_a_dose_matrix_names_the_line(tmp_path):
    """Regression guard: a stray quote swallowed the rest of the grid into one cell."""
    p = tmp_path / "plate.csv"
    p.write_text(_GRID.replace("1,10,40", '1,"10,40'))
    _raises(InputError, lambda: read_dose_matrix(p), re.escape(str(p)), "line 3: a quoted cell is "
            "not closed", "remove the stray quote")  # fmt: skip


def test_unbalanced_quote_in_combination_tables_is_our_error(tmp_path):
    """Regression guard: an unbalanced quote in a tidy table is an InputError naming the file."""
    p = tmp_path / "quote.csv"
    text = _tidy().to_csv(index=False)
    lines = text.splitlines()
    lines[4] = lines[4].replace("OCUBM", '"OCUBM')
    p.write_text("\n".join(lines) + "\n")
    for reader in (read_combination_table, read_multi_combination_table):
        _raises(InputError, lambda r=reader: r(p), re.escape(str(p)))


@pytest.mark.parametrize(
    "text, parts",
    [
        ("", ["responses.csv", "cannot be parsed", "EmptyDataError"]),
        ("sample,d1\n", ["responses.csv", "the table is empty"]),
        ('sample,d1\nS1,"0.5\nS2,1\n', ["responses.csv"]),
        ("sample,d1,d1\nS1,0.5,1\n", ["responses.csv: line 1: column", "'d1'", "more than once"]),
        ("sample,d1\nS1,0.5\nS1,0.7\n", [r"rows 2, 3 \(first column 'sample'\)", "'S1'"]),
        ("sample,d1\nS1,0.5\n,0.7\n", [r"row 3 \(first column 'sample'\): missing identifier"]),
        ("sample,d1,d2\nS1,0.5,1\nS2,abc,2\n", [r"row 3, column 2 \('d1'\): 'abc'"]),
        ("sample,d1\nS1,inf\n", [r"row 2, column 2 \('d1'\)", "not a finite number"]),
    ],
)
def test_read_panel_bad_tables_name_file_row_and_column(tmp_path, text, parts):
    """Regression guard: read_panel's tables ended in pandas errors or messages without a file."""
    (tmp_path / "responses.csv").write_text(text)
    _raises(InputError, lambda: read_panel(tmp_path), *parts)


def test_read_panel_folder_problems_are_reported(tmp_path):
    """Regression guard: a second responses table silently replaced the first; others ignored."""
    (tmp_path / "responses.csv").write_text("sample,d1\nS1,0.5\n")
    (tmp_path / "responses.tsv").write_text("sample\td1\nS1\t0.5\n")
    _raises(InputError, lambda: read_panel(tmp_path), "two files for the table 'responses'")
    (tmp_path / "responses.tsv").unlink()
    (tmp_path / "mutation.xlsx").write_bytes(b"PK")
    with pytest.warns(UserWarning, match=r"1 entries are not tables .* mutation.xlsx"):
        assert read_panel(tmp_path).shape == (1, 1)
    (tmp_path / "mutation.csv").write_text("sample,TP53_mut\nS1,0\n")
    (tmp_path / "samples.csv").write_text("sample,tissue\nS1,lung\nS1,skin\n")
    with pytest.warns(UserWarning):
        _raises(InputError, lambda: read_panel(tmp_path), "samples.csv: rows 2, 3")


# ----------------------------------------------------------------------------- 3. corrupt Parquet
def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_corrupt_parquet_names_the_file(tmp_path, cut):
    """Regression guard: a truncated Parquet file let pyarrow's ArrowInvalid escape."""
    for reader, frame in ((read_combination_table, _tidy()), (read_multi_combination_table,
                                                               _multi())):  # fmt: skip
        blob = _parquet(frame)
        p = tmp_path / "cut.parquet"
        p.write_bytes(blob[: int(len(blob) * cut)])
        _raises(InputError, lambda r=reader, p=p: r(p), re.escape(str(p)), "Parquet")
    (tmp_path / "responses.parquet").write_bytes(
        _parquet(pd.DataFrame({"sample": ["S1"], "d1": [0.5]}))[:40]
    )
    _raises(InputError, lambda: read_panel(tmp_path), "responses.parquet", "cannot be parsed")


# ----------------------------------------------------------------------------- 4. NaN, inf
def test_all_nan_block_in_a_file_names_the_block_and_rows(tmp_path):
    """Regression guard: every response of block 2 missing is an error naming block, column, rows."""
    d = _tidy()
    d.loc[d["block_id"] == 2, "response"] = np.nan
    p = _write(tmp_path / "nan.csv", d)
    _raises(InputError, lambda: read_combination_table(p), re.escape(str(p)),
            r"block '2': every response is missing \(column 'response', rows 11-19\)",
            "on_invalid='drop'")  # fmt: skip


def test_all_nan_block_dropped_is_listed_in_excluded(tmp_path):
    """Behaviour: with on_invalid='drop' the block without responses is excluded and reported."""
    d = _tidy()
    d.loc[d["block_id"] == 2, "response"] = np.nan
    d.loc[(d["block_id"] == 1) & (d["conc1"] == 10) & (d["conc2"] == 1), "response"] = np.nan
    d = pd.concat([d, _tidy(blocks=(3,))], ignore_index=True)
    s = read_combination_table(_write(tmp_path / "nan.csv", d), on_invalid="drop")
    assert s.data["block_id"].unique().tolist() == ["3"]
    reasons = dict(s.excluded.itertuples(index=False))
    assert set(reasons) == {"1", "2"}
    assert "every response is missing (column 'response', rows 11-19)" in reasons["2"]
    assert "the well conc1 = 10, conc2 = 1 has no response in any replicate" in reasons["1"]
    assert any("2 block(s) without a response in some well dropped" in n for n in s.conversions)


def test_all_nan_responses_in_multi_and_matrix_readers(tmp_path):
    """Regression guard: the n-drug reader dropped an all-missing block silently (or crashed)."""
    d = pd.concat([_multi(), _multi().assign(block_id=2, response=np.nan)], ignore_index=True)
    p = _write(tmp_path / "m.csv", d)
    _raises(InputError, lambda: read_multi_combination_table(p), re.escape(str(p)),
            r"block '2': every response is missing \(column 'response', rows 10-17\)")  # fmt: skip
    m = np.full((3, 3), np.nan)
    _raises(InputError, lambda: read_combination_matrix(m, _DOSES, _DOSES, conc_unit="uM"),
            "every response is missing")  # fmt: skip


@pytest.mark.parametrize("value", ["inf", "-inf", "1e309", "nan", ""])
@pytest.mark.parametrize("column", ["conc1", "conc2"])
def test_infinite_concentration_names_row_and_column(tmp_path, value, column):
    """Regression guard: conc = inf / 1e309 was taken as a dose and reported as a non-grid block.

    A missing dose (NaN, empty) is an error naming the same row and column.
    """
    text = _tidy().to_csv(index=False).splitlines()
    cells = text[5].split(",")
    cells[list(_tidy().columns).index(column)] = value
    text[5] = ",".join(cells)
    p = tmp_path / "inf.csv"
    p.write_text("\n".join(text) + "\n")
    for reader in (read_combination_table,):
        _raises(InputError, lambda r=reader: r(p), re.escape(str(p)), f"column '{column}' row 6")


def test_infinite_dose_in_multi_and_dose_matrix(tmp_path):
    """Regression guard: inf doses in the n-drug table and a dose-matrix header."""
    d = _multi().astype({"conc3": object})
    d.loc[3, "conc3"] = "1e309"
    p = _write(tmp_path / "m.csv", d)
    _raises(InputError, lambda: read_multi_combination_table(p), "column 'conc3' row 5")
    g = tmp_path / "g.csv"
    g.write_text(_GRID.replace(",1,10\n", ",1,1e309\n", 1))
    _raises(InputError, lambda: read_dose_matrix(g), re.escape(str(g)),
            "line 1, column 4: drug B dose '1e309' is not a finite number")  # fmt: skip
    g.write_text(_GRID.replace(",1,10\n", ",1,1\n", 1))
    _raises(InputError, lambda: read_dose_matrix(g), "drug B dose '1' appears more than once",
            "line 1, column 3; line 1, column 4")  # fmt: skip


@pytest.mark.parametrize(
    "value, what",
    [("nan", "missing value"), ("", "missing value"), ("inf", "not a whole number"),
     ("1e309", "not a whole number"), ("1.5", "not a whole number"), ("two", "non-numeric")],
)  # fmt: skip
def test_bad_replicate_numbers_name_row_and_column(tmp_path, value, what):
    """Regression guard: an inf replicate was an IntCastingNaNError, 1.5 was truncated to 1."""
    for frame, reader in ((_tidy(), read_combination_table),
                          (_multi().assign(replicate=1), read_multi_combination_table)):  # fmt: skip
        frame = frame.astype({"replicate": object})
        frame.loc[2, "replicate"] = value
        p = _write(tmp_path / "rep.csv", frame)
        _raises(InputError, lambda r=reader, p=p: r(p), re.escape(str(p)),
                "column 'replicate' row 4", what)  # fmt: skip


def test_infinite_and_non_numeric_responses_in_frames_and_matrices():
    """Regression guard: inf responses and text in a matrix DataFrame (ValueError from numpy)."""
    d = _tidy()
    d.loc[4, "response"] = np.inf
    _raises(InputError, lambda: read_combination_table(d), "column 'response' row 6",
            "not a finite number")  # fmt: skip
    frame = pd.DataFrame([[0, 10, 30], [20, "x", 60], [50, 70, 90]], index=_DOSES,
                         columns=_DOSES)  # fmt: skip
    _raises(InputError, lambda: read_combination_matrix(frame, conc_unit="uM"),
            r"matrix row 2 \(conc1 = 1.0\), column 2 \(conc2 = 1.0\): response 'x'")  # fmt: skip
    _raises(InputError, lambda: read_combination_matrix(np.eye(3), "abc", _DOSES),
            "conc1 .* must be numbers")  # fmt: skip
    _raises(InputError, lambda: read_combination_matrix(np.full((3, 3), np.inf), _DOSES, _DOSES,
            conc_unit="uM"), r"replicate 1, row 1 \(conc1 = 0\), column 1")  # fmt: skip


def test_missing_block_id_and_bad_keywords_are_errors():
    """Regression guard: a missing block_id became a block named 'nan'; bad keywords were ignored."""
    d = _tidy().astype({"block_id": object})
    d.loc[[3, 7], "block_id"] = None
    _raises(InputError, lambda: read_combination_table(d), "column 'block_id' rows 5, 9: missing")
    _raises(InputError, lambda: read_combination_table(_tidy(), normalise="zero"),
            "normalise must be 'none' or 'zero_dose', got 'zero'")  # fmt: skip
    _raises(InputError, lambda: read_combination_table(_tidy(), on_invalid="skip"), "on_invalid")
    dup = pd.concat([_tidy(), _tidy()[["response"]]], axis=1)
    _raises(SchemaError, lambda: read_combination_table(dup), r"\['response'\] appear more")


def test_zero_dose_normalisation_on_a_flat_reference_is_an_error():
    """Regression guard: zero-dose wells at 0 viability divided by zero (inf responses)."""
    d = _tidy(blocks=(1,))
    d["response"] = np.where((d["conc1"] == 0) & (d["conc2"] == 0), 0.0, 0.4)
    _raises(InputError, lambda: read_combination_table(d, response_kind="viability",
            response_scale="fraction", normalise="zero_dose"),
            "zero-dose wells of block '1' average 0 viability")  # fmt: skip


# ----------------------------------------------------------------------------- 5. issue 11 cases
def test_issue11_bad_blocks_in_files_name_file_row_and_column(tmp_path):
    """Regression guard (issue 11): missing single-agent row, 1x1 block, duplicated wells."""
    d = _tidy(blocks=(1,))
    p = _write(tmp_path / "nosingle.csv", d[d["conc1"] != 0])
    _raises(InputError, lambda: read_combination_table(p, response_kind="inhibition"),
            re.escape(str(p)),
            r"block '1': missing single-agent row: column 'conc1' has no 0 \(drug 2 alone\) "
            "in rows 2-7")  # fmt: skip
    p = _write(tmp_path / "one.csv", d.iloc[:1])
    _raises(InputError, lambda: read_combination_table(p), re.escape(str(p)),
            r"block '1': a 1 x 1 block \(row 2\): columns 'conc1' and 'conc2'")  # fmt: skip
    p = _write(tmp_path / "dup.csv", pd.concat([d, d.iloc[[4]]], ignore_index=True))
    _raises(InputError, lambda: read_combination_table(p), re.escape(str(p)),
            "duplicated wells: rows 6, 11 all give block '1', conc1 = 1, conc2 = 1, replicate 1",
            "columns 'block_id', 'conc1', 'conc2', 'replicate'")  # fmt: skip
    m = _multi().assign(replicate=1)
    p = _write(tmp_path / "mdup.csv", pd.concat([m, m.iloc[[2]]], ignore_index=True))
    _raises(InputError, lambda: read_multi_combination_table(p), re.escape(str(p)),
            "duplicated well: rows 4, 10 are block '1', conc1=0, conc2=1, conc3=0, replicate 1")  # fmt: skip
    # the n-drug reader has no excluded table: a block without a zero-dose well is an error
    p = _write(tmp_path / "mzero.csv", _multi().iloc[1:])
    _raises(InputError, lambda: read_multi_combination_table(p, response_kind="inhibition"),
            re.escape(str(p)), r"block '1': no zero-dose well \(every conc = 0\) in rows 2-8")  # fmt: skip


def test_issue11_third_drug_without_its_doses(tmp_path):
    """Regression guard (issue 11): a 3-drug table whose conc3 is empty or absent."""
    m = _multi().astype({"conc3": object})
    m.loc[4, "conc3"] = None
    p = _write(tmp_path / "m.csv", m)
    _raises(InputError, lambda: read_multi_combination_table(p), re.escape(str(p)),
            "column 'conc3' row 6: missing dose of drug 3")  # fmt: skip
    # the two-drug reader took an empty conc3 as 0 and ignored a drug3 without conc3
    _raises(InputError, lambda: read_combination_table(p), re.escape(str(p)),
            "column 'conc3' row 6")  # fmt: skip
    p = _write(tmp_path / "noconc3.csv", _tidy().assign(drug3="c"))
    _raises(SchemaError, lambda: read_combination_table(p), "column 'drug3' names a drug 3",
            "no 'conc3' column")  # fmt: skip
    p = _write(tmp_path / "multi_no_conc3.csv", _multi().drop(columns="conc3"))
    _raises(SchemaError, lambda: read_multi_combination_table(p),
            "'drug3' is present but 'conc3' is missing")  # fmt: skip
    # a drug3 column that names nothing and no conc3: read as two drugs
    assert read_combination_table(_tidy().assign(drug3="")).n_blocks == 2


def test_no_default_concentration_unit(tmp_path):
    """Regression guard (issue 11): a combination file without a unit is an error naming the fix."""
    p = _write(tmp_path / "nounit.csv", _tidy().drop(columns="conc_unit"))
    for reader in (read_combination_table,):
        _raises(InputError, lambda r=reader: r(p), re.escape(str(p)), "column 'conc1' row 5",
                "has no unit", re.escape("conc_unit='uM'"))  # fmt: skip
    q = _write(tmp_path / "m.csv", _multi().drop(columns="conc_unit"))
    _raises(InputError, lambda: read_multi_combination_table(q), "has no unit")
    g = tmp_path / "g.csv"
    g.write_text(_GRID.replace(" (uM)", ""))
    _raises(InputError, lambda: read_dose_matrix(g), "has no unit")


# ----------------------------------------------------------------------------- 6. mirror files
_COMPOUNDS = (
    "DRUG_ID,SCREENING_SITE,DRUG_NAME,SYNONYMS,TARGET,TARGET_PATHWAY\n"
    '1,MGH,Erlotinib,"Tarceva, OSI-774",EGFR,EGFR signaling\n'
    "3,MGH,Rapamycin,Sirolimus,MTORC1,PI3K/MTOR signaling\n"
)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """An empty mirror folder in ``ONCORESIST_DATA_MIRROR`` (and a private cache)."""
    root = tmp_path / "mirror"
    root.mkdir()
    monkeypatch.setenv("ONCORESIST_DATA_MIRROR", str(root))
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path / "cache"))
    return root


def _put(mirror, monkeypatch, dataset: str, name: str, blob: bytes, *, pin: bool):
    """Write a mirror file; with ``pin`` the registry's checksum is set to the file's own."""
    path = mirror / dataset / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    if pin:
        reg = copy.deepcopy(_datasets._registry())
        reg[dataset]["files"][name]["sha256"] = hashlib.sha256(blob).hexdigest()
        monkeypatch.setattr(_datasets, "_registry", lambda: reg)
    return path


def test_truncated_mirror_file_is_data_unavailable(mirror, monkeypatch):
    """Regression guard: a truncated copy in the mirror ends in DataUnavailableError naming it."""
    path = _put(mirror, monkeypatch, "gdsc_annotations", "screened_compounds_rel_8.4.csv",
                _COMPOUNDS.encode()[:70], pin=False)  # fmt: skip
    _raises(DataUnavailableError, load_gdsc_compounds, re.escape(str(path)), "checksum mismatch")


@pytest.mark.parametrize(
    "dataset, name, blob, load",
    [
        ("gdsc_annotations", "screened_compounds_rel_8.4.csv", b"", load_gdsc_compounds),
        ("gdsc_annotations", "screened_compounds_rel_8.4.csv", _COMPOUNDS.encode()[:85],
         load_gdsc_compounds),
        ("gdsc_annotations", "screened_compounds_rel_8.4.csv", "DRUG_ID,NAME\n1,é\n".encode(
            "cp1252"), load_gdsc_compounds),
        ("gdsc_annotations", "Cell_Lines_Details.xlsx", b"PK\x03\x04garbage",
         fetch_gdsc_annotations),
        ("gdsc_v17_gdsctools", "IC50_v17.csv.gz", gzip.compress(b"COSMIC_ID,Drug_1_IC50\n1,0.5", mtime=0)[:30],
         fetch_gdsc_v17),
        ("gdsc_v17_gdsctools", "IC50_v17.csv.gz", gzip.compress(b"ID,Drug_1_IC50\n1,0.5\n", mtime=0),
         fetch_gdsc_v17),
        ("depmap_sample_info", "sample_info.csv", b'DepMap_ID,"COSMIC_ID\nACH-1,5\n',
         fetch_crosswalk),
        ("depmap_sample_info", "sample_info.csv",
         b"DepMap_ID,stripped_cell_line_name,CCLE_Name,COSMIC_ID\nACH-1,A,A_LUNG,1.5\n",
         fetch_crosswalk),
        ("synergyfinder_combo_matrices", "NCATS_screening_data.csv", b"block_id,drug1\n1,a\n",
         lambda: fetch_synergyfinder_example("ncats")),
    ],
)  # fmt: skip
def test_corrupt_mirror_file_with_matching_checksum_names_the_file(
    mirror, monkeypatch, dataset, name, blob, load
):
    """Regression guard: a mirror file in another layout (checksum pinned to it) is our error.

    The checksum normally stops a corrupt file before parsing; a registry of another release
    (pinned here) lets it through, and the parsing must still end in our error naming the file.
    """
    path = _put(mirror, monkeypatch, dataset, name, blob, pin=True)
    with pytest.raises((DataUnavailableError, InputError)) as err:
        load()
    assert str(path) in str(err.value)


def test_crosswalk_cosmic_ids_that_are_not_whole_numbers():
    """Regression guard: a COSMIC id of 1.5 was a TypeError from astype('Int64')."""
    info = pd.DataFrame({"DepMap_ID": ["ACH-1", "ACH-2"], "COSMIC_ID": [906800, 1.5],
                         "CCLE_Name": ["A_LUNG", "B_SKIN"],
                         "stripped_cell_line_name": ["A", "B"]})  # fmt: skip
    _raises(InputError, lambda: Crosswalk.from_sample_info(info), "column 'COSMIC_ID' row 3: 1.5")
    cw = Crosswalk.from_sample_info(info.assign(COSMIC_ID=[906800, None]))
    res = cw.map([906800, 1.5, np.inf], source="cosmic_id", target="depmap_id")
    assert res.n_matched == 1 and res.unmatched == [1.5, np.inf]


# ----------------------------------------------------------------------------- CLI
@pytest.mark.parametrize(
    "name, content, extra, part",
    [
        ("empty.csv", b"", [], "empty"),
        ("cut.parquet", _parquet(_tidy())[:300], [], "Parquet"),
        ("nan.csv", _tidy().assign(response=np.nan).to_csv(index=False).encode(), [],
         "every response is missing"),
        ("nounit.csv", _tidy().drop(columns="conc_unit").to_csv(index=False).encode(), [],
         "has no unit"),
        ("rep.csv", _tidy().assign(replicate=1.5).to_csv(index=False).encode(), [],
         "not a whole number"),
        ("latin.csv", b"A \\ B (uM),0,1\n0,1,\xe9\xff\n1,2,3\n", ["--layout", "matrix"],
         "line 2, column 3"),
        ("binary.csv", b"\x00\x01\x02PAR1\xff" * 10, ["--layout", "matrix"], "binary content"),
        ("m.csv", _multi().assign(conc3=np.inf).to_csv(index=False).encode(), [],
         "column 'conc3' row 2"),
    ],
)  # fmt: skip
def test_synergy_cli_bad_input_exits_2_naming_the_file(
    tmp_path, capsys, name, content, extra, part
):
    """Regression guard: `oncoresist synergy` on bad input exits 2 with our message, input untouched."""
    path = tmp_path / name
    path.write_bytes(content)
    rc = main(["synergy", str(path), "-o", str(tmp_path / "out"), "--n-boot", "0", *extra])
    err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert rc == 2, err
    assert "Traceback" not in err
    assert str(path) in flat or name in flat, err
    assert part in flat, err
    assert path.read_bytes() == content
