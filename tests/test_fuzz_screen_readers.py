"""Fuzz suite of the well-level screen readers: every input reads or raises our own error.

Each registered reader (:data:`oncoresist.data.READERS`), :func:`read_plate_map` and
:func:`read_curvecurator_fits` starts from a small valid file written here; the shared
mutations of ``tests/_fuzz.py`` (encodings, BOM, delimiters, NaN/inf/huge numbers, duplicated
and extra columns, truncation, byte noise ...) are applied and the reader must either return
or raise an :class:`~oncoresist.errors.OncoresistError`: any other exception is a crash.
Binary formats (Parquet, Excel) get byte-level mutations plus structured variants.

The budget is fixed and derandomised (``FUZZ_SETTINGS``); for a long random campaign run
``ONCORESIST_FUZZ_EXAMPLES=1000 ONCORESIST_FUZZ_RANDOM=1 pytest tests/test_fuzz_screen_readers.py``.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import FUZZ_SETTINGS, mutated, reads_or_raises_own_error
from oncoresist.data import (
    READERS,
    read_curvecurator_fits,
    read_plate_map,
    read_screen,
)
from oncoresist.data._make import _row_label

# ----------------------------------------------------------------------------- valid inputs
_TIDY = pd.DataFrame(
    {
        "sample": ["A", "A", "A", "A", "B", "B", "B", "B"],
        "drug": ["x", "x", "x", "x", "x", "x", "x", "x"],
        "concentration": [0.0, 0.1, 1.0, 10.0, 0.0, 0.1, 1.0, 10.0],
        "conc_unit": "uM",
        "replicate": [1, 1, 1, 2, 1, 1, 2, 1],
        "plate": "P1",
        "well": ["A01", "A02", "A03", "A04", "B01", "B02", "B03", "B04"],
        "row": [0, 0, 0, 0, 1, 1, 1, 1],
        "col": [0, 1, 2, 3, 0, 1, 2, 3],
        "signal": [1000.0, 950.0, 510.0, 90.0, 1100.0, 1000.0, 600.0, 120.0],
    }
)

_GDSC = pd.DataFrame(
    {
        "RESEARCH_PROJECT": "GDSC_SA",
        "BARCODE": [7, 7, 7, 7, 7, 7, 7, 7, 8, 8],
        "SCAN_ID": 70,
        "DATE_CREATED": "2015-02-12",
        "DRUGSET_ID": 511,
        "CELL_ID": 1101,
        "MASTER_CELL_ID": 1101,
        "COSMIC_ID": [906793] * 8 + [1] * 2,
        "CELL_LINE_NAME": ["A375"] * 8 + ["HT-29", "HT-29"],
        "SEEDING_DENSITY": 1000,
        "POSITION": [1, 50, 51, 52, 53, 54, 54, 100, 1, 2],
        "TAG": "UN-USED NC-1 NC-0 B PC-1 L1-D1-S DMSO L1-D2-S NC-1 L1-D1-S".split(),
        "DRUG_ID": [None, None, None, None, 1862, 1003, None, 1003, None, 1003],
        "CONC": [None, None, None, None, 4.0, 0.1, None, 0.0316, None, 0.1],
        "INTENSITY": [10, 30000, 31000, 800, 3000, 5000, 5000, 20000, 100, 50],
        "DURATION": 4,
    }
)

_TOML = """['Meta']
id = 'fuzz'

['Experiment']
experiments = [0, 1, 2, 3]
doses = [0.0, 1.0, 10.0, 100.0]
dose_scale = '1e-9'
dose_unit = 'M'
control_experiment = [0]

['Paths']
input_file = './data.tsv'
"""

_CC_TABLE = (
    "Name\tReplicate\tRaw 0\tRaw 1\tRaw 2\tRaw 3\n"
    "A375_drugx\t1\t1000\t900\t400\t50\n"
    "A375_drugx\t2\t1010\t880\t\t60\n"
    "HT29_drugx\t1\t990\t950\t700\t300\n"
)

_CC_FITS = (
    "Name\tpEC50\tCurve Slope\tCurve Front\tCurve Back\tCurve AUC\tCurve R2\tCurve RMSE\t"
    "Curve P_Value\tCurve Relevance Score\tCurve Regulation\tpEC50 Error\n"
    "A375_drugx\t7.1\t1.2\t1.0\t0.05\t0.6\t0.98\t0.03\t0.001\t2.5\tdown\t0.1\n"
    "HT29_drugx\t6.0\t0.9\t1.0\t0.3\t0.8\t0.91\t0.05\t0.02\t1.1\tnot\t0.3\n"
)


def _export_96() -> bytes:
    """A BioTek-Gen5-like text export of one 96-well plate."""
    vals = np.random.default_rng(0).integers(1000, 90000, size=(8, 12))
    lines = ["Software Version\t3.11", "Barcode:\tPLATE1", "", "Read 1:Luminescence", ""]
    lines.append("\t".join(["", *(str(c) for c in range(1, 13))]))
    for r, label in enumerate(_row_label(np.arange(8))):
        lines.append("\t".join([str(label), *(str(v) for v in vals[r]), "Lum"]))
    return ("\n".join(lines) + "\n").encode()


def _map_96() -> bytes:
    rows = ["well,sample,drug,concentration,conc_unit,role"]
    for r, label in enumerate(_row_label(np.arange(8))):
        for c in range(12):
            well = f"{label}{c + 1:02d}"
            if c == 0:
                rows.append(f"{well},A375,,,,negative")
            elif c == 11:
                rows.append(f"{well},,,,,blank")
            else:
                rows.append(f"{well},A375,drug{r},{10.0 / 3**c:.6g},uM,")
    return ("\n".join(rows) + "\n").encode()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _excel_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    return buf.getvalue()


# name -> (file name, valid bytes, reader given the mutated file's path and its folder)
Reader = Callable[[Path], object]


# valid bytes built once: an xlsx holds a time stamp, and hypothesis needs the same bytes each run
_XLSX = _excel_bytes(_TIDY)
_PARQUET = _parquet_bytes(_TIDY)


def _examples(folder: Path) -> dict[str, tuple[str, bytes, Reader]]:
    (folder / "map.csv").write_bytes(_map_96())
    (folder / "data.tsv").write_bytes(_CC_TABLE.encode())
    return {
        "csv": ("s.csv", _TIDY.to_csv(index=False).encode(), lambda p: read_screen(p)),
        "tsv": (
            "s.tsv",
            _TIDY.to_csv(index=False, sep="\t").encode(),
            lambda p: read_screen(p, fmt="tsv"),
        ),
        "parquet": ("s.parquet", _PARQUET, lambda p: read_screen(p)),
        "excel": ("s.xlsx", _XLSX, lambda p: read_screen(p)),
        "gdsc_raw": (
            "g.csv",
            _GDSC.to_csv(index=False).encode(),
            lambda p: read_screen(p, fmt="gdsc_raw"),
        ),
        "curvecurator": ("p.toml", _TOML.encode(), lambda p: read_screen(p, fmt="curvecurator")),
        "plate_export": (
            "export.txt",
            _export_96(),
            lambda p: read_screen(p, plate_map=folder / "map.csv"),
        ),
    }


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def test_every_registered_reader_has_a_valid_example(folder):
    """Contract test: each reader in READERS has a valid example here, and it reads."""
    examples = _examples(folder)
    for name, _reader in READERS.items():
        assert name in examples, (
            f"reader {name!r} is registered but tests/test_fuzz_screen_readers.py has no valid "
            "example of it: add one to _examples()"
        )
        file, data, read = examples[name]
        path = folder / file
        path.write_bytes(data)
        with warnings.catch_warnings():
            # the CurveCurator example has a missing cell on purpose (a counted UserWarning)
            warnings.simplefilter("ignore", UserWarning)
            read(path)


@pytest.mark.parametrize("name", [name for name, _ in READERS.items()])
@FUZZ_SETTINGS
@given(data=st.data())
def test_reader_reads_or_raises_own_error(folder, name, data):
    """Fuzz: a mutated valid file of each registered reader reads or raises our own error."""
    examples = _examples(folder)
    if name not in examples:
        pytest.fail(f"reader {name!r} needs a valid example in _examples()")
    file, valid, read = examples[name]
    blob = data.draw(mutated(valid), label="file")
    reads_or_raises_own_error(read, folder / file, blob)


@FUZZ_SETTINGS
@given(blob=mutated(_CC_TABLE.encode()))
def test_curvecurator_table_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated CurveCurator data table (beside a valid .toml) reads or raises."""
    (folder / "cc").mkdir(exist_ok=True)
    (folder / "cc" / "p.toml").write_text(_TOML)
    reads_or_raises_own_error(
        lambda _p: read_screen(folder / "cc" / "p.toml"), folder / "cc" / "data.tsv", blob
    )


@FUZZ_SETTINGS
@given(blob=mutated(_map_96()))
def test_plate_map_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated plate map reads (alone and with its export) or raises our own error."""
    export = folder / "export96.txt"
    export.write_bytes(_export_96())

    def read(p: Path) -> None:
        read_plate_map(p)
        read_screen(export, plate_map=p)

    reads_or_raises_own_error(read, folder / "map_fuzz.csv", blob)


@FUZZ_SETTINGS
@given(blob=mutated(_CC_FITS.encode()))
def test_curvecurator_fits_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated CurveCurator curves file reads or raises our own error."""
    reads_or_raises_own_error(read_curvecurator_fits, folder / "curves.txt", blob)


# ----------------------------------------------------------------------------- binary variants
def _variants() -> list[tuple[str, pd.DataFrame]]:
    base = _TIDY
    dup = pd.concat([base, base[["signal"]]], axis=1)
    out = [
        ("duplicated column", dup),
        ("extra column", base.assign(extra=[1.5] * len(base), SIGNAL=7.0)),
        ("nan replicate", base.assign(replicate=[1.0, np.nan, 1, 2, 1, 1, 2, 1])),
        ("inf replicate", base.assign(replicate=[1.0, np.inf, 1, 2, 1, 1, 2, 1])),
        ("fractional row", base.assign(row=[0.0, 0.5, 0, 0, 1, 1, 1, 1])),
        ("huge column", base.assign(col=[0.0, 1e30, 2, 3, 0, 1, 2, 3])),
        ("text replicate", base.assign(replicate=["1", "abc", "1", "2", "1", "1", "2", "1"])),
        ("boolean replicate", base.assign(replicate=[True, True, True, False] * 2)),
        ("no rows", base.iloc[:0]),
        ("no columns", pd.DataFrame(index=range(3))),
        ("nan signal", base.assign(signal=np.nan)),
        ("inf concentration", base.assign(concentration=np.inf)),
    ]
    return out


@pytest.mark.parametrize("kind", ["parquet", "excel"])
@pytest.mark.parametrize("variant", [name for name, _ in _variants()])
def test_binary_structured_variants(folder, kind, variant):
    """Fuzz (structured): odd but well-formed Parquet/Excel tables read or raise our error."""
    frame = dict(_variants())[variant]
    if kind == "parquet":
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            # pandas refuses to write duplicate names to Parquet; pyarrow writes them
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_arrays(
                [pa.array(frame.iloc[:, j].to_numpy()) for j in range(frame.shape[1])],
                names=list(frame.columns),
            )
            buf = io.BytesIO()
            pq.write_table(table, buf)
            blob = buf.getvalue()
        else:
            blob = _parquet_bytes(frame)
        name = "v.parquet"
    else:
        blob = _excel_bytes(frame)
        name = "v.xlsx"
    reads_or_raises_own_error(read_screen, folder / name, blob)
