"""Errors of the well-level screen readers on damaged input (issue 19, found by fuzzing).

Every bad input is an :class:`~oncoresist.errors.InputError` (or ``SchemaError``) naming the
file, the line or row and the column where there is one, and the fix; nothing is dropped or
coerced silently. Sections follow the readers: tidy tables (csv, tsv, parquet, excel, both
products), integer columns, GDSC raw files, CurveCurator, plate-reader exports and maps, and
the command line.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.data import (
    excluded_wells,
    gdsc_raw_to_screen,
    read_combination_table,
    read_curvecurator,
    read_curvecurator_fits,
    read_gdsc_raw,
    read_plate_map,
    read_screen,
)
from oncoresist.data._make import _row_label
from oncoresist.data._screen import integer_column
from oncoresist.errors import InputError, SchemaError

TIDY = (
    "sample,drug,concentration,conc_unit,replicate,row,col,signal\n"
    "A,x,0,uM,1,0,0,100\n"
    "A,x,1,uM,1,0,1,50\n"
    "A,x,10,uM,1,0,2,10\n"
)
COMBO = (
    "block_id,drug1,drug2,conc1,conc2,conc_unit,response\n"
    "1,a,b,0,0,uM,0\n"
    "1,a,b,1,0,uM,20\n"
    "1,a,b,0,1,uM,30\n"
    "1,a,b,1,1,uM,60\n"
)


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(TIDY))


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def _xlsx(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_excel(path, index=False)
    return path


# ----------------------------------------------------------------------------- 1. tidy tables
@pytest.mark.parametrize("name", ["s.csv", "s.tsv", "s.txt", "s.csv.gz", "s.parquet", "s.xlsx"])
def test_empty_file_is_an_input_error(tmp_path, name):
    """Regression guard: an empty file (0 bytes) of any tidy format names the file (pandas'
    EmptyDataError, pyarrow's ArrowInvalid, openpyxl's BadZipFile escaped)."""
    path = _write(tmp_path / name, b"")
    with pytest.raises(InputError, match=re.escape(str(path)) + r".*empty"):
        read_screen(path)


@pytest.mark.parametrize("name", ["s.csv", "s.tsv", "s.parquet", "s.xlsx"])
def test_header_only_says_there_are_no_rows(tmp_path, name):
    """Regression guard: a header without rows is an error naming the file and its columns."""
    frame = _frame().iloc[:0]
    path = tmp_path / name
    if name.endswith(".parquet"):
        _parquet(frame, path)
    elif name.endswith(".xlsx"):
        _xlsx(frame, path)
    else:
        _write(path, TIDY.splitlines()[0].replace(",", "\t" if "tsv" in name else ",") + "\n")
    with pytest.raises(InputError, match=r"header.* but no rows"):
        read_screen(path)


def test_unbalanced_quotes_name_the_line(tmp_path):
    """Regression guard: an unclosed quote is an error naming the line (pandas' ParserError
    'EOF inside string' escaped as a generic message or, when it swallowed lines, not at all)."""
    mid = _write(tmp_path / "mid.csv", TIDY.replace("A,x,1,", 'A,"x,1,'))
    with pytest.raises(InputError, match=r"mid\.csv: line 3: a quote"):
        read_screen(mid)
    end = _write(tmp_path / "end.csv", TIDY.replace(",10\n", ',"10\n'))
    with pytest.raises(InputError, match=r"end\.csv: .*quote"):
        read_screen(end)


def test_short_long_and_truncated_rows_are_errors(tmp_path):
    """Regression guard: a line with fewer fields (pandas fills NaN silently) or more fields
    (pandas shifts the columns into the index) than the header names the line."""
    short = _write(tmp_path / "short.csv", TIDY.replace("A,x,1,uM,1,0,1,50", "A,x,1,uM,1,0,1"))
    with pytest.raises(InputError, match=r"short\.csv: line 3: 7 field\(s\), but the header"):
        read_screen(short)
    long = _write(tmp_path / "long.csv", TIDY.replace("A,x,1,uM,1,0,1,50", "A,x,1,uM,1,0,1,50,9"))
    with pytest.raises(InputError, match=r"long\.csv: line 3: 9 field\(s\).*--sep"):
        read_screen(long)
    cut = _write(tmp_path / "cut.csv", TIDY[:-5])
    with pytest.raises(InputError, match=r"cut\.csv: line 4: .*looks truncated"):
        read_screen(cut)


def test_duplicate_column_names_are_ambiguous(tmp_path):
    """Regression guard: a second 'signal' column (pandas renames it 'signal.1' and the first
    was used silently) is a SchemaError in text, Parquet and Excel files."""
    frame = _frame()
    dup = pd.concat([frame, frame[["signal"]]], axis=1)
    dup.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(SchemaError, match=r"d\.csv: column name\(s\) \['signal'\] appear more"):
        read_screen(tmp_path / "d.csv")
    with pytest.raises(SchemaError, match=r"sheet 'Sheet1'.*\['signal'\] appear more"):
        read_screen(_xlsx(dup, tmp_path / "d.xlsx"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays(
        [pa.array(dup.iloc[:, j]) for j in range(dup.shape[1])], names=list(dup.columns)
    )
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(SchemaError, match=r"d\.parquet: column name\(s\) \['signal'\]"):
        read_screen(tmp_path / "d.parquet")


def test_two_columns_matching_one_of_ours_case_insensitively(tmp_path):
    """Regression guard (found by the long fuzz campaign): 'sample ' and 'SAMPLE' were both
    renamed to 'sample', and the duplicated column crashed with AttributeError; it is a
    SchemaError saying how to pick one, and the pick works."""
    text = "sample ,drug,concentration,conc_unit,signal,SAMPLE\nA,x,0,uM,100,B\nA,x,1,uM,50,B\n"
    path = _write(tmp_path / "c.csv", text)
    with pytest.raises(SchemaError, match=r"c\.csv: columns \['sample ', 'SAMPLE'\] all read as"):
        read_screen(path)
    assert read_screen(path, columns={"sample": "SAMPLE"}).samples == ["B"]


def test_non_utf8_bytes_after_the_sniffed_head_are_read_and_noted(tmp_path):
    """Regression guard: a cp1252 byte beyond the first 64 KiB (UnicodeDecodeError from pandas)
    is read, and the encoding is named in the source; UTF-16 with a BOM is read too."""
    rows = "".join(f"A,x,{i + 1},uM,1,{i // 24},{i % 24},50\n" for i in range(3000))
    text = TIDY.splitlines()[0] + "\n" + rows + "Ab\xe9,x,1,uM,1,0,0,50\n"
    assert len(text) > 1 << 16
    screen = read_screen(_write(tmp_path / "late.csv", text.encode("cp1252")))
    assert "Abé" in screen.samples and "cp1252" in screen.source
    utf16 = read_screen(_write(tmp_path / "u16.csv", TIDY.encode("utf-16")))
    assert utf16.samples == ["A"] and len(utf16) == 3


def test_nul_bytes_mean_binary_data(tmp_path):
    """Regression guard: a NUL byte in a text table (a damaged file, UTF-16 without its BOM)
    was decoded as cp1252 and read into a name; it is an error naming the line."""
    data = TIDY.encode().replace(b"A,x,10", b"\xff\xfe\x00A,x,10")
    with pytest.raises(InputError, match=r"n\.csv: line 4: a NUL byte"):
        read_screen(_write(tmp_path / "n.csv", data))


def test_detected_encoding_is_in_the_notes(tmp_path):
    """Regression guard (never silent): a cp1252 table's decoding is in Screen.notes (what the
    report shows), for tidy tables, GDSC raw files and CurveCurator tables."""
    tidy = read_screen(_write(tmp_path / "t.csv", TIDY.replace("A,", "\xc9,").encode("cp1252")))
    assert tidy.samples == ["É"] and any("cp1252" in n for n in tidy.notes)
    g = _gdsc_file(tmp_path, _gdsc().assign(CELL_LINE_NAME="A37\xe9"), "g.csv")
    _write(g, g.read_text(encoding="utf-8").encode("cp1252"))
    gdsc = read_gdsc_raw(g)
    assert gdsc.samples == ["A37é"] and any("cp1252" in n for n in gdsc.notes)
    cc = read_curvecurator(_cc(tmp_path, table=CC.replace("A375", "A37\xe9")))
    assert len(cc) == 8
    path = _cc(tmp_path)
    _write(tmp_path / "data.tsv", CC.replace("A375", "A37\xe9").encode("cp1252"))
    cc = read_curvecurator(path)
    assert cc.samples == ["A37é"] and any(
        "data.tsv: read as text encoding cp1252" in n for n in cc.notes
    )


def test_corrupt_parquet_is_an_input_error(tmp_path):
    """Regression guard: truncated or garbled Parquet (pyarrow's ArrowInvalid, OSError and
    friends) is an InputError naming the file."""
    good = _parquet(_frame(), tmp_path / "g.parquet").read_bytes()
    for name, data in {
        "cut.parquet": good[: len(good) // 2],
        "tail.parquet": good[:-12] + b"\x00" * 12,
        "magic.parquet": b"PAR1" + b"\x01" * 40 + b"PAR1",
    }.items():
        with pytest.raises(InputError, match=re.escape(name) + r": cannot read it as Parquet"):
            read_screen(_write(tmp_path / name, data))


def test_corrupt_excel_is_an_input_error(tmp_path):
    """Regression guard: a truncated or garbled workbook (BadZipFile, zlib.error, KeyError from
    openpyxl) is an InputError naming the file and the fix."""
    good = _xlsx(_frame(), tmp_path / "g.xlsx").read_bytes()
    for name, data in {
        "cut.xlsx": good[: len(good) // 2],
        "noise.xlsx": good[:200] + bytes(range(256)) + good[456:],
        "zip.xlsx": b"PK\x03\x04garbage",
    }.items():
        with pytest.raises(InputError, match=re.escape(name) + r": cannot read it as an Excel"):
            read_screen(_write(tmp_path / name, data))


def test_combination_tables_share_the_checks(tmp_path):
    """Regression guard: the combination product goes through the same loader: empty, header
    only, ragged and unbalanced-quote files are InputErrors there too."""
    with pytest.raises(InputError, match="empty"):
        read_combination_table(_write(tmp_path / "e.csv", b""))
    with pytest.raises(InputError, match="no rows"):
        read_combination_table(_write(tmp_path / "h.csv", COMBO.splitlines()[0] + "\n"))
    with pytest.raises(InputError, match=r"r\.csv: line 3: 6 field"):
        read_combination_table(
            _write(tmp_path / "r.csv", COMBO.replace("1,a,b,1,0,uM,20", "1,a,b,1,0,uM"))
        )
    with pytest.raises(InputError, match=r"q\.csv: line 2: a quote"):
        read_combination_table(
            _write(tmp_path / "q.csv", COMBO.replace("1,a,b,0,0", '1,"a,b,0,0', 1))
        )
    read_combination_table(_write(tmp_path / "ok.csv", COMBO))


def test_infinite_reads_and_doses_are_errors(tmp_path):
    """Regression guard: '1e309' or 'inf' as a read or a dose was read as infinity."""
    with pytest.raises(InputError, match=r"column 'signal' row 3: infinite value"):
        read_screen(_write(tmp_path / "s.csv", TIDY.replace(",50\n", ",1e309\n")))
    with pytest.raises(InputError, match=r"column 'concentration' row 3: infinite value"):
        read_screen(_write(tmp_path / "c.csv", TIDY.replace("A,x,1,", "A,x,inf,")))


# ----------------------------------------------------------------------------- 2, 3. integers
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("replicate", "inf"),
        ("replicate", "1e309"),
        ("replicate", "abc"),
        ("replicate", '"1,5"'),
        ("replicate", "0x10"),
        ("replicate", "True"),
        ("replicate", "1.7"),
        ("replicate", "nan"),
        ("replicate", ""),
        ("row", "1e30"),
        ("row", ""),
        ("row", "nan"),
        ("row", "-1"),
        ("col", "12345678901234567890"),
    ],
)
def test_integer_columns_are_never_coerced(tmp_path, column, value):
    """Regression guard: a replicate of 'abc', '1,5', '0x10' or 'True' became 1, '1.7' became
    1, a row of 1e30 a negative number and inf/NaN raised pandas' IntCastingNaNError; each is
    now an error naming the file, row and column."""
    header = TIDY.splitlines()[0].split(",")
    j = header.index(column)
    lines = TIDY.splitlines()
    cells = lines[2].split(",")
    cells[j] = value
    lines[2] = ",".join(cells)
    path = _write(tmp_path / "i.csv", "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"i\.csv: column '{column}' row 3: "):
        read_screen(path)


@pytest.mark.parametrize("kind", ["parquet", "xlsx"])
@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("replicate", [1.0, np.nan, np.inf]),
        ("replicate", [1.0, 1.5, 1.0]),
        ("replicate", [True, True, False]),
        ("row", [0.0, 1e30, 0.0]),
        ("col", [0.0, np.nan, 2.0]),
    ],
)
def test_integer_columns_in_binary_tables(tmp_path, kind, column, values):
    """Regression guard: NaN, inf, fractions, booleans and huge values in integer columns of
    Parquet and Excel files (IntCastingNaNError, silent truncation) name the row and column."""
    frame = _frame()
    frame[column] = values
    path = tmp_path / f"b.{kind}"
    _parquet(frame, path) if kind == "parquet" else _xlsx(frame, path)
    with pytest.raises(InputError, match=rf"column '{column}' row [234]: "):
        read_screen(path)


def test_whole_numbers_in_any_spelling_are_integers(tmp_path):
    """Ground truth: 1, '2', 3.0 and '3.0' are integers. A control well without a replicate
    number is replicate 1 and says so in the notes; an empty column is numbered as if absent;
    a treated well without one is an error naming the row."""
    assert integer_column(pd.DataFrame({"r": [1, "2", 3.0, "3.0"]}), "r").tolist() == [1, 2, 3, 3]
    text = TIDY.replace("A,x,1,uM,1,", "A,x,1,uM,3.0,").replace("A,x,0,uM,1,", "A,x,0,uM,,")
    screen = read_screen(_write(tmp_path / "w.csv", text))
    assert screen.data["replicate"].tolist() == [1, 3, 1]
    assert screen.data["replicate"].dtype == np.int64
    assert any("1 control well(s) without a replicate number" in n for n in screen.notes)
    empty = "\n".join(
        ",".join("" if j == 4 and i else c for j, c in enumerate(line.split(",")))
        for i, line in enumerate(TIDY.splitlines())
    )
    screen = read_screen(_write(tmp_path / "e.csv", empty + "\n"))
    assert screen.data["replicate"].tolist() == [1, 1, 1]
    assert any("column 'replicate' is empty" in n for n in screen.notes)
    gap = TIDY.replace("A,x,10,uM,1,", "A,x,10,uM,,")
    with pytest.raises(InputError, match=r"g\.csv: column 'replicate' row 4: missing replicate"):
        read_screen(_write(tmp_path / "g.csv", gap))


# ----------------------------------------------------------------------------- 4. GDSC raw
def _gdsc() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "BARCODE": [7] * 7,
            "SCAN_ID": 70,
            "DRUGSET_ID": 511,
            "MASTER_CELL_ID": 1101,
            "COSMIC_ID": 906793,
            "CELL_LINE_NAME": "A375",
            "POSITION": [1, 50, 51, 52, 53, 54, 100],
            "TAG": ["UN-USED", "NC-1", "NC-0", "B", "PC-1", "L1-D1-S", "L1-D2-S"],
            "DRUG_ID": [None, None, None, None, 1862, 1003, 1003],
            "CONC": [None, None, None, None, 4.0, 0.1, 0.0316],
            "INTENSITY": [10, 30000, 31000, 800, 3000, 5000, 20000],
        }
    )


def _gdsc_file(tmp_path: Path, frame: pd.DataFrame, name: str = "g.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_gdsc_header_only_and_truncated_last_row(tmp_path):
    """Regression guard: a GDSC raw file with only a header, or cut inside its last row (the
    fast reader fell back to pandas, which filled the row with NaN), names the file and line."""
    head = _write(tmp_path / "h.csv", ",".join(_gdsc().columns) + "\n")
    with pytest.raises(InputError, match=r"h\.csv: the table has a header but no rows"):
        read_gdsc_raw(head)
    full = _gdsc_file(tmp_path, _gdsc()).read_bytes()
    cut = _write(tmp_path / "cut.csv", full[:-8])
    with pytest.raises(InputError, match=r"cut\.csv: line 8: .*looks truncated"):
        read_gdsc_raw(cut)
    with pytest.raises(InputError, match=r"cut\.csv: line 8: .*looks truncated"):
        read_screen(cut)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("DRUG_ID", 1003.5),
        ("DRUG_ID", 1e30),
        ("DRUG_ID", np.inf),
        ("DRUGSET_ID", 511.5),
        ("DRUGSET_ID", 1e300),
        ("MASTER_CELL_ID", 1101.25),
        ("MASTER_CELL_ID", "abc"),
        ("POSITION", 1.9),
        ("POSITION", np.nan),
        ("POSITION", 1e30),
        ("POSITION", 5000),
    ],
)
@pytest.mark.parametrize("name", ["g.csv", "g.csv.gz", "g.parquet"])
def test_gdsc_identifiers_and_positions_must_be_integers(tmp_path, column, value, name):
    """Regression guard: a fractional or overflowing DRUG_ID / DRUGSET_ID / MASTER_CELL_ID was
    truncated or crashed the Int64 cast, and POSITION 1.9 became well A01; each is an error
    naming the row and column, on the fast pyarrow path and the pandas path alike."""
    frame = _gdsc().astype({column: object})
    frame.loc[5, column] = value
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame = frame.astype({column: str if isinstance(value, str) else float})
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"column '{column}' row 7: "):
        read_gdsc_raw(path)


def test_gdsc_tag_of_twenty_digits(tmp_path):
    """Regression guard: a TAG of a 20-digit number (an integer pandas cannot hold) is an
    unknown tag naming the row, not a crash."""
    frame = _gdsc()
    frame.loc[5, "TAG"] = "12345678901234567890"
    with pytest.raises(InputError, match=r"column 'TAG' row 7: unknown GDSC tag '1234567"):
        read_gdsc_raw(_gdsc_file(tmp_path, frame))
    frame["TAG"] = [str(10**19 + i) for i in range(len(frame))]
    with pytest.raises(InputError, match=r"column 'TAG' row 2: unknown GDSC tag"):
        read_gdsc_raw(_gdsc_file(tmp_path, frame, "all.csv"))
    # inside a tag pattern: the library number was kept, a dose number lost its last digits
    for tag in ("L12345678901234567890-D1-S", "L1-D12345678901234567890-S"):
        frame = _gdsc()
        frame.loc[6, "TAG"] = tag
        with pytest.raises(InputError, match=rf"column 'TAG' row 8: unknown GDSC tag '{tag}'"):
            read_gdsc_raw(_gdsc_file(tmp_path, frame, "in.csv"))


def test_gdsc_extra_columns_never_replace_the_real_ones(tmp_path):
    """Regression guard (silently wrong before): extra SIGNAL, PLATE, SAMPLE, ROLE, VIABILITY
    or a lower-case tag column replaced INTENSITY, BARCODE, CELL_LINE_NAME, the tag-derived
    role and TAG. The GDSC columns win; the others are not used, named in Screen.notes and in
    a UserWarning."""
    frame = _gdsc()
    extra = frame.assign(SIGNAL=1.0, PLATE="other", SAMPLE="other", ROLE="blank", VIABILITY=0.5)
    extra["tag"] = "x"
    path = _gdsc_file(tmp_path, extra)
    with pytest.warns(UserWarning, match=r"'SIGNAL', 'PLATE', 'SAMPLE', 'ROLE', 'VIABILITY'"):
        screen = read_gdsc_raw(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = read_gdsc_raw(_gdsc_file(tmp_path, frame, "plain.csv"))
    cols = ["sample", "drug", "concentration", "role", "plate", "well", "signal", "tag"]
    pd.testing.assert_frame_equal(screen.data[cols], plain.data[cols])
    assert "viability" not in screen.data and not screen.is_normalised
    note = next(n for n in screen.notes if "not used" in n)
    assert "'signal' comes from INTENSITY" in note and "'tag' is column TAG" in note
    # the pandas path (a DataFrame) and the fast path agree
    with pytest.warns(UserWarning, match="not used"):
        slow = gdsc_raw_to_screen(pd.read_csv(path), source=str(path))
    pd.testing.assert_frame_equal(slow.data, screen.data)
    assert slow.notes == screen.notes
    assert excluded_wells(screen)["n_wells"].sum() == 1


def test_gdsc_duplicated_and_missing_cells(tmp_path):
    """Regression guard: two INTENSITY columns are ambiguous (SchemaError); text in INTENSITY
    or CONC (coerced to NaN before) and an empty BARCODE (plate 'nan') name row and column."""
    frame = _gdsc()
    dup = _write(
        tmp_path / "dup.csv",
        frame.to_csv(index=False).replace("INTENSITY\n", "INTENSITY,INTENSITY\n"),
    )
    with pytest.raises(SchemaError, match=r"\['INTENSITY'\] appear more than once"):
        read_gdsc_raw(dup)
    for column, value in (("INTENSITY", "x"), ("CONC", "abc"), ("BARCODE", None)):
        bad = frame.astype({column: object})
        bad.loc[5, column] = value
        with pytest.raises(InputError, match=rf"column '{column}' row 7: "):
            read_gdsc_raw(_gdsc_file(tmp_path, bad, "bad.csv"))


# ----------------------------------------------------------------------------- 5. CurveCurator
TOML = """['Experiment']
experiments = [0, 1, 2, 3]
doses = [0.0, 1.0, 10.0, 100.0]
dose_scale = '1e-9'
dose_unit = 'M'
control_experiment = [0]

['Paths']
input_file = './data.tsv'
"""
CC = (
    "Name\tReplicate\tRaw 0\tRaw 1\tRaw 2\tRaw 3\n"
    "A375_x\t1\t1000\t900\t400\t50\n"
    "A375_x\t2\t1010\t880\t300\t60\n"
)


def _cc(tmp_path: Path, toml: str = TOML, table: str = CC) -> Path:
    _write(tmp_path / "data.tsv", table)
    return _write(tmp_path / "p.toml", toml)


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        (TOML.replace("doses = [", "doses = ["), None),
        (TOML.replace("dose_unit = 'M'", "dose_unit = M"), r"p\.toml: not valid TOML: .*line 5"),
        (TOML.replace("1.0, 10.0", "'a', 10.0"), r"doses: 'a' is not a dose"),
        (TOML.replace("1.0, 10.0", "true, 10.0"), r"doses: True is not a dose"),
        (TOML.replace("100.0]", "-1.0]"), r"doses: -1.0 is not a dose"),
        (
            TOML.replace("control_experiment = [0]", "control_experiment = [7]"),
            r"control_experiment \[7\] is not among the experiments \[0, 1, 2, 3\]",
        ),
        (TOML.replace(", 100.0]", "]"), r"4 experiments but 3 doses"),
        (TOML.replace("[0, 1, 2, 3]", "[0, 1.5, 2, 3]"), r"1.5 is not an integer experiment"),
        (TOML.replace("'1e-9'", "'abc'"), r"dose_scale = 'abc': give a positive number"),
        (TOML.replace("['Experiment']", "['Other']"), r"no \['Experiment'\] table"),
    ],
)
def test_curvecurator_parameter_file_errors(tmp_path, toml, match):
    """Regression guard: a TOML that does not parse (TOMLDecodeError), doses that are not
    numbers (ValueError), a control not in the list (ValueError from list.index) and lists of
    different lengths (a broadcasting error) name the file and the key."""
    path = _cc(tmp_path, toml)
    if match is None:
        assert len(read_curvecurator(path)) == 8
        return
    with pytest.raises(InputError, match=match):
        read_curvecurator(path)


def test_curvecurator_toml_encodings(tmp_path):
    """Regression guard: a BOM is fine; a non-UTF-8 byte (UnicodeDecodeError) names the line."""
    path = _cc(tmp_path)
    _write(path, b"\xef\xbb\xbf" + TOML.encode())
    assert len(read_curvecurator(path)) == 8
    _write(path, TOML.replace("'M'", "'\xb5M'").encode("cp1252"))
    with pytest.raises(InputError, match=r"p\.toml: line 5: byte .* is not UTF-8"):
        read_curvecurator(path)


def test_curvecurator_table_without_rows_or_columns(tmp_path):
    """Regression guard: a data table with a header only (IndexError) or empty (EmptyDataError)
    is an InputError naming the table."""
    path = _cc(tmp_path, table=CC.splitlines()[0] + "\n")
    with pytest.raises(InputError, match=r"data\.tsv: the table has a header .* but no rows"):
        read_curvecurator(path)
    path = _cc(tmp_path, table="")
    with pytest.raises(InputError, match=r"data\.tsv: the file is empty"):
        read_curvecurator(path)


def test_curvecurator_non_numeric_cells_are_errors(tmp_path):
    """Regression guard (silently wrong before): a non-numeric Raw cell was dropped with only a
    count in the source text; it is an error naming the line and the column."""
    path = _cc(tmp_path, table=CC.replace("\t400\t", "\t4oo\t"))
    with pytest.raises(InputError, match=r"data\.tsv: column 'Raw 2' row 2: non-numeric value"):
        read_curvecurator(path)
    path = _cc(tmp_path, table=CC.replace("\t2\t", "\t2.5\t"))
    with pytest.raises(InputError, match=r"column 'Replicate' row 3: 2.5 is not an integer"):
        read_curvecurator(path)
    path = _cc(tmp_path, table=CC.replace("A375_x\t2", "A375x\t2"))
    with pytest.raises(InputError, match=r"column 'Name' row 3: 'A375x' has no '_'"):
        read_curvecurator(path)


def test_curvecurator_missing_cells_are_counted(tmp_path):
    """Regression guard: empty, NA and NaN cells are missing measurements: left out of the
    Screen (which holds measured wells) and counted in Screen.notes; a row whose control is
    missing is counted too."""
    table = CC.replace("\t400\t", "\t\t").replace("\t880\t", "\tNA\t")
    table += "HT29_x\t1\tNaN\t700\t500\t90\n"
    path = _cc(tmp_path, table=table)
    screen = read_curvecurator(path)
    assert len(screen) == 8 - 2  # two rows of four cells, less two missing; no HT29 wells
    assert screen.samples == ["A375"]
    assert any("3 missing Raw cell(s)" in n for n in screen.notes)
    assert any("missing or zero control" in n and "line 4" in n for n in screen.notes)


def test_curvecurator_fits_errors(tmp_path):
    """Regression guard: a fits file that is empty, non-UTF-8 or holds text in a numeric
    column is an InputError naming the file, row and column."""
    head = (
        "Name\tpEC50\tCurve Slope\tCurve Front\tCurve Back\tCurve AUC\tCurve R2\tCurve RMSE\t"
        "Curve P_Value\tCurve Relevance Score\tCurve Regulation\tpEC50 Error\n"
    )
    row = "A375_x\t7.1\t1.2\t1.0\t0.05\t0.6\t0.98\t0.03\t0.001\t2.5\tdown\t0.1\n"
    fits = read_curvecurator_fits(_write(tmp_path / "curves.txt", head + row))
    assert fits["ec50"].iloc[0] == pytest.approx(10**-7.1 * 1e6)
    with pytest.raises(InputError, match="empty"):
        read_curvecurator_fits(_write(tmp_path / "curves.txt", b""))
    with pytest.raises(InputError, match=r"column 'pEC50' row 2: non-numeric value 'x'"):
        read_curvecurator_fits(_write(tmp_path / "curves.txt", head + row.replace("7.1", "x")))
    latin = read_curvecurator_fits(
        _write(tmp_path / "curves.txt", (head + row.replace("A375", "A3\xe9")).encode("cp1252"))
    )
    assert latin["sample"].iloc[0] == "A3é"


# ----------------------------------------------------------------------------- 6. plate reader
def _export(vals: np.ndarray | None = None) -> str:
    vals = np.arange(1000, 1096).reshape(8, 12) if vals is None else vals
    lines = ["Barcode:\tP1", "", "\t".join(["", *(str(c) for c in range(1, 13))])]
    for r, label in enumerate(_row_label(np.arange(8))):
        lines.append("\t".join([str(label), *(str(v) for v in vals[r])]))
    return "\n".join(lines) + "\n"


def _map() -> str:
    rows = ["well,sample,drug,concentration,conc_unit,role"]
    for r, label in enumerate(_row_label(np.arange(8))):
        for c in range(12):
            conc = "" if c == 0 else f"{10.0 / 3**c:.4g}"
            rows.append(f"{label}{c + 1:02d},A375,{'' if c == 0 else 'd' + str(r)},{conc},uM,"
                        + ("negative" if c == 0 else ""))  # fmt: skip
    return "\n".join(rows) + "\n"


def test_plate_export_encodings_and_empty_files(tmp_path):
    """Regression guard: empty exports and maps name the file; cp1252 and UTF-16 exports read."""
    m = _write(tmp_path / "map.csv", _map())
    with pytest.raises(InputError, match=r"e\.txt: the file is empty"):
        read_screen(_write(tmp_path / "e.txt", b""), plate_map=m)
    with pytest.raises(InputError, match=r"em\.csv: the file is empty"):
        read_plate_map(_write(tmp_path / "em.csv", b"\n\n"))
    with pytest.raises(InputError, match=r"h\.csv: the plate map has a header but no wells"):
        read_plate_map(_write(tmp_path / "h.csv", _map().splitlines()[0] + "\n"))
    latin = _write(tmp_path / "l.txt", _export().replace("P1", "Pl\xe9").encode("cp1252"))
    lmap = _write(tmp_path / "lm.csv", _map().replace("A375", "A37\xe9").encode("cp1252"))
    screen = read_screen(latin, plate_map=lmap)
    assert screen.plates == ["Plé"] and screen.samples == ["A37é"]
    u16 = _write(tmp_path / "u.txt", _export().encode("utf-16"))
    assert len(read_screen(u16, plate_map=m)) == 96


def test_plate_export_truncated_and_bad_numbers(tmp_path):
    """Regression guard: an export cut inside its last grid row (read as empty wells before),
    a cell that is not a number and an infinite read name the line or well."""
    m = _write(tmp_path / "map.csv", _map())
    text = _export()
    with pytest.raises(InputError, match=r"c\.txt: line 11: the file ends inside this grid row"):
        read_screen(_write(tmp_path / "c.txt", text[:-12]), plate_map=m)
    bad = text.replace("\t1014\t", "\t1o14\t")
    with pytest.raises(InputError, match=r"b\.txt: plate 'P1' .* B03 \(line 5\) '1o14'"):
        read_screen(_write(tmp_path / "b.txt", bad), plate_map=m)
    inf = text.replace("\t1014\t", "\t1e309\t")
    with pytest.raises(InputError, match=r"i\.txt: plate 'P1' .* B03 \(line 5\) '1e309'"):
        read_screen(_write(tmp_path / "i.txt", inf), plate_map=m)
    with pytest.raises(InputError, match=r"x\.xlsx: cannot read it as an Excel workbook"):
        read_screen(_write(tmp_path / "x.xlsx", b"PK\x03\x04garbage"), plate_map=m)


def test_plate_map_damaged_lines(tmp_path):
    """Regression guard: a map line with a stray quote (it swallowed the rest of the line), a
    cell beyond the header (dropped silently before), a truncated last line and a bad
    concentration name the line."""
    export = _write(tmp_path / "e.txt", _export())
    text = _map()
    lines = text.splitlines()
    cut = "\n".join([*lines[:-1], ",".join(lines[-1].split(",")[:3])])  # no line end
    cases = {
        "q.csv": (text.replace("A375", '"A375', 1), r"q\.csv: line 2: a quote"),
        "x.csv": (text.replace("negative\n", "negative,9\n", 1), r"x\.csv: line 2: 7 cells"),
        "t.csv": (cut, r"t\.csv: line 97: the file ends inside this line"),
        "c.csv": (text.replace("3.333", "3.3.3"), r"c\.csv: line 3 \(well A02\): concentration"),
        "i.csv": (text.replace("3.333", "1e309"), r"i\.csv: line 3 \(well A02\): concentration"),
    }  # fmt: skip
    for name, (data, match) in cases.items():
        path = _write(tmp_path / name, data)
        with pytest.raises(InputError, match=match):
            read_plate_map(path)
        with pytest.raises(InputError, match=match):
            read_screen(export, plate_map=path)


# ----------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("quote.csv", TIDY.replace("A,x,1,", 'A,"x,1,').encode()),
        ("rep.csv", TIDY.replace("A,x,1,uM,1,", "A,x,1,uM,abc,").encode()),
        ("bad.parquet", b"PAR1" + b"\x01" * 40 + b"PAR1"),
        ("bad.xlsx", b"PK\x03\x04garbage"),
        ("g.csv", None),
        ("p.toml", TOML.replace("dose_unit = 'M'", "dose_unit = M").encode()),
    ],
)
def test_cli_fit_reports_bad_input_without_traceback(tmp_path, capsys, name, data):
    """Regression guard: `oncoresist fit` on damaged input exits 2 with a message naming the
    file, no traceback, and leaves the input byte-identical."""
    if data is None:  # GDSC raw with POSITION 1.9
        frame = _gdsc().astype({"POSITION": float})
        frame.loc[5, "POSITION"] = 1.9
        data = frame.to_csv(index=False).encode()
    if name.endswith(".toml"):
        _write(tmp_path / "data.tsv", CC)
    path = _write(tmp_path / name, data)
    before = path.read_bytes()
    rc = main(["fit", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert name in err and "Traceback" not in err
    assert path.read_bytes() == before
