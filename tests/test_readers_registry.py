"""The reader registry: format detection, Excel sheets, European CSV, one unit policy, CLI fixes.

Every error must name the file, the row / line / column or sheet, and the fix in both forms
(``conc_unit='nM' (CLI: --conc-unit nM)``).
"""

from __future__ import annotations

import gzip
import sys
import types

import numpy as np
import pandas as pd
import pytest

from oncoresist._registry import Registry
from oncoresist.data import Screen, mirror_available
from oncoresist.data._combination import (
    CombinationScreen,
    read_combination_matrix,
    read_combination_table,
)
from oncoresist.data._gdsc_raw import excluded_wells, gdsc_raw_to_screen, read_gdsc_raw
from oncoresist.data._readers import (
    PLATE_EXPORT,
    READERS,
    FileHead,
    ReadOptions,
    is_plate_grid,
    read_screen,
    select_reader,
    split_unit,
)
from oncoresist.errors import InputError, SchemaError


def _tidy(n_rep: int = 2) -> pd.DataFrame:
    rows = [
        {"Cell line": c, "Compound": "drugA", "Dose": d, "Lum": 1000.0 - 5 * d + r, "Rep": r + 1}
        for c in ("L1", "L2")
        for d in (0.0, 1.0, 10.0, 100.0)
        for r in range(n_rep)
    ]
    return pd.DataFrame(rows)


OURS_THEIRS = {
    "sample": "Cell line",
    "drug": "Compound",
    "concentration": "Dose",
    "signal": "Lum",
    "replicate": "Rep",
}


def _reader_for(path, **opts) -> str:
    reader, _ = select_reader(path, fmt=None, product="screen", options=ReadOptions(**opts))
    return reader.name


# ---------------------------------------------------------------------- the registry
def test_generic_registry():
    reg = Registry[int]("thing")
    reg.register("One", 1, aliases=("uno",))
    assert reg.get("one") == 1 and reg.get("UNO") == 1 and "uno" in reg
    assert reg.names() == ["one"] and list(reg) == [1] and len(reg) == 1
    with pytest.raises(ValueError, match="already registered"):
        reg.register("one", 2)
    reg.register("one", 2, replace=True)
    with pytest.raises(InputError, match="unknown thing 'two'; choose from one"):
        reg.get("two")


def test_every_format_is_registered_with_a_product():
    names = ["csv", "tsv", "parquet", "excel", "gdsc_raw", "curvecurator"]
    assert READERS.names()[:6] == names and set(READERS.names()) <= {*names, "plate_export"}
    for r in READERS:
        assert set(r.produces) <= {"screen", "combination"} and r.description
    assert READERS.get("xlsx").name == "excel" and READERS.get("GDSC").name == "gdsc_raw"
    assert PLATE_EXPORT.name == "plate_export" and PLATE_EXPORT.produces == ("screen",)


def test_detection_by_suffix_and_content(tmp_path):
    df = _tidy()
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    df.to_csv(tmp_path / "a.txt", sep="\t", index=False)
    df.to_csv(tmp_path / "a.dat", index=False)  # unknown suffix: the content says CSV
    df.to_parquet(tmp_path / "a.parquet")
    df.to_parquet(tmp_path / "noext")  # no suffix: the magic bytes say Parquet
    df.to_excel(tmp_path / "a.xlsx", index=False)
    with gzip.open(tmp_path / "a.csv.gz", "wt") as fh:
        df.to_csv(fh, index=False)
    expect = {
        "a.csv": "csv",
        "a.tsv": "tsv",
        "a.txt": "csv",
        "a.dat": "csv",
        "a.parquet": "parquet",
        "noext": "parquet",
        "a.xlsx": "excel",
        "a.csv.gz": "csv",
    }
    for name, fmt in expect.items():
        assert _reader_for(tmp_path / name) == fmt, name
        s = read_screen(tmp_path / name, columns=OURS_THEIRS, conc_unit="nM")
        assert len(s) == len(df) and s.samples == ["L1", "L2"], name
        np.testing.assert_allclose(sorted(set(s.data["concentration"])), [0, 0.001, 0.01, 0.1])


def test_gdsc_and_curvecurator_detected_by_content(tmp_path):
    gdsc = _gdsc_frame()
    gdsc.to_csv(tmp_path / "plates.csv", index=False)
    assert _reader_for(tmp_path / "plates.csv") == "gdsc_raw"
    assert read_screen(tmp_path / "plates.csv").counts()["treated_wells"] == 3
    # a column mapping means: read it as a tidy table
    assert _reader_for(tmp_path / "plates.csv", columns={"sample": "CELL_LINE_NAME"}) == "csv"

    folder = tmp_path / "cc"
    folder.mkdir()
    (folder / "params.toml").write_text(
        "['Experiment']\nexperiments = [0, 1, 2]\ndoses = [0.0, 1.0, 10.0]\n"
        "dose_scale = '1e-6'\ndose_unit = 'M'\ncontrol_experiment = [0]\n"
        "['Paths']\ninput_file = './data.tsv'\n"
    )
    (folder / "data.tsv").write_text("Name\tRaw 0\tRaw 1\tRaw 2\nA375_drugX\t1.0\t0.8\t0.2\n")
    for path in (folder / "params.toml", folder):
        assert _reader_for(path) == "curvecurator"
        s = read_screen(path)
        np.testing.assert_allclose(s.treated()["concentration"], [1.0, 10.0])
        np.testing.assert_allclose(s.treated()["viability"], [0.8, 0.2])


def test_fmt_picks_a_reader_and_errors_list_them(tmp_path):
    _tidy().to_csv(tmp_path / "data.bin", sep=";", index=False)
    s = read_screen(tmp_path / "data.bin", fmt="csv", columns=OURS_THEIRS, conc_unit="uM")
    assert len(s) == 16
    with pytest.raises(InputError) as err:
        read_screen(tmp_path / "data.bin", fmt="sas")
    msg = str(err.value)
    assert "data.bin" in msg and "fmt='sas'" in msg and "gdsc_raw" in msg
    assert "fmt='csv' (CLI: --format csv)" in msg
    (tmp_path / "blob").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError) as err:
        read_screen(tmp_path / "blob")
    msg = str(err.value)
    assert "blob: cannot tell the file format" in msg and "binary content" in msg
    for name in ("csv", "tsv", "parquet", "excel", "gdsc_raw", "curvecurator"):
        assert name in msg
    assert "(CLI: --format csv)" in msg
    with pytest.raises(InputError, match="holds screen data, not combination data"):
        read_combination_table(tmp_path / "data.bin", fmt="gdsc_raw")


def test_columns_either_way_round(tmp_path):
    _tidy().to_csv(tmp_path / "t.csv", index=False)
    a = read_screen(tmp_path / "t.csv", columns=OURS_THEIRS, conc_unit="nM")
    b = read_screen(
        tmp_path / "t.csv", columns={v: k for k, v in OURS_THEIRS.items()}, conc_unit="nM"
    )
    pd.testing.assert_frame_equal(a.data, b.data)
    with pytest.raises(SchemaError) as err:
        read_screen(tmp_path / "t.csv", conc_unit="nM")
    assert "(CLI: --columns" in str(err.value) and "t.csv" in str(err.value)


# ---------------------------------------------------------------------- plate-reader hook
def _grid_text() -> str:
    head = "\t" + "\t".join(str(i) for i in range(1, 13))
    rows = [f"{r}\t" + "\t".join(str(100 + i) for i in range(12)) for r in "ABCDEFGH"]
    return "Software Version\t3.11\n\nResults\n" + "\n".join([head, *rows]) + "\n"


def test_plate_export_hook(tmp_path, monkeypatch):
    (tmp_path / "plate.txt").write_text(_grid_text())
    _tidy().to_csv(tmp_path / "tidy.csv", index=False)
    grid, tidy = FileHead.of(tmp_path / "plate.txt"), FileHead.of(tmp_path / "tidy.csv")
    assert is_plate_grid(grid.rows()) and not is_plate_grid(tidy.rows())
    calls = []

    def fake_read(path, plate_map, **kw):
        calls.append((path, plate_map, kw))
        return Screen.from_frame(
            pd.DataFrame({"sample": ["a"], "drug": ["x"], "concentration": [1.0], "signal": [1]})
        )

    fake = types.ModuleType("oncoresist.data._plate_reader")
    fake.read_plate_export = fake_read  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "oncoresist.data._plate_reader", fake)
    assert PLATE_EXPORT.score(grid, ReadOptions()) == 3
    assert PLATE_EXPORT.score(tidy, ReadOptions()) == 0
    s = read_screen(tmp_path / "plate.txt", plate_map="map.csv", conc_unit="nM", sheet=None)
    assert len(s) == 1
    path, plate_map, kw = calls[0]
    assert path == tmp_path / "plate.txt" and plate_map == "map.csv"
    assert kw["conc_unit"] == "nM" and "fmt" not in kw
    read_screen(tmp_path / "plate.txt", plate_map="map.csv", fmt="text")
    assert calls[1][2]["fmt"] == "text"  # with a plate map, fmt= is the export's format
    with pytest.raises(
        InputError, match=r"plate\.txt: this is a plate-reader grid export.*--plate-map"
    ):
        PLATE_EXPORT.read(grid, ReadOptions())


# ---------------------------------------------------------------------- Excel sheets
def test_workbook_with_several_sheets_needs_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    df = _tidy()
    with pd.ExcelWriter(path) as xw:
        df.to_excel(xw, sheet_name="Plate 1", index=False)
        df.assign(Lum=df["Lum"] * 2).to_excel(xw, sheet_name="Plate 2", index=False)
        pd.DataFrame().to_excel(xw, sheet_name="notes", index=False)
    with pytest.raises(InputError) as err:
        read_screen(path, columns=OURS_THEIRS, conc_unit="nM")
    msg = str(err.value)
    assert "book.xlsx" in msg and "2 sheets with data" in msg
    assert "'Plate 1': 16 rows, columns Cell line, Compound, Dose, Lum, ..." in msg
    assert "'notes': empty" in msg
    assert "sheet='Plate 1' (CLI: --sheet 'Plate 1')" in msg
    s2 = read_screen(path, sheet="Plate 2", columns=OURS_THEIRS, conc_unit="nM")
    assert s2.data["signal"].max() == pytest.approx(2 * df["Lum"].max())
    assert "[sheet 'Plate 2']" in s2.source
    s1 = read_screen(path, sheet=0, columns=OURS_THEIRS, conc_unit="nM")
    assert s1.data["signal"].max() == pytest.approx(df["Lum"].max())
    with pytest.raises(InputError, match=r"book\.xlsx: sheet 'notes' has no cells"):
        read_screen(path, sheet="notes", columns=OURS_THEIRS, conc_unit="nM")
    with pytest.raises(InputError, match=r"no sheet 'Plate 3'.*sheet='Plate \d' \(CLI: --sheet"):
        read_screen(path, sheet="Plate 3", conc_unit="nM")


def test_empty_workbook_and_single_data_sheet(tmp_path):
    path = tmp_path / "empty.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame().to_excel(xw, sheet_name="a", index=False)
        pd.DataFrame(columns=["x", "y"]).to_excel(xw, sheet_name="b", index=False)
    with pytest.raises(InputError, match=r"empty\.xlsx: the workbook holds no data"):
        read_screen(path, conc_unit="nM")
    with pytest.raises(InputError, match=r"sheet 'b' has a header but no rows"):
        read_screen(path, sheet="b", conc_unit="nM")
    one = tmp_path / "one.xlsx"
    with pd.ExcelWriter(one) as xw:
        pd.DataFrame().to_excel(xw, sheet_name="cover", index=False)
        _tidy().to_excel(xw, sheet_name="data", index=False)
    s = read_screen(one, columns=OURS_THEIRS, conc_unit="nM")
    assert len(s) == 16 and "sheet 'data'; the other sheets are empty" in s.source


# ---------------------------------------------------------------------- European CSV
EURO = (
    "Cell line;Compound;Dose (µM);Lum\n"
    "L1;drugA;0;1.000,5\n"
    "L1;drugA;1,5;900,25\n"
    "L1;drugA;15;400\n"
    "L2;drugA;0;1.200,75\n"
    "L2;drugA;1,5;1.100,5\n"
)


def test_semicolon_and_decimal_comma_detected(tmp_path):
    p = tmp_path / "euro.csv"
    p.write_text(EURO, encoding="cp1252")
    s = read_screen(p, columns={"sample": "Cell line", "drug": "Compound", "signal": "Lum"})
    np.testing.assert_allclose(s.data["concentration"], [0, 1.5, 15, 0, 1.5])
    np.testing.assert_allclose(s.data["signal"], [1000.5, 900.25, 400, 1200.75, 1100.5])
    assert "semicolon-separated (detected)" in s.source and "encoding cp1252" in s.source
    assert "decimal commas (detected, '.' thousands separators)" in s.source
    # the same file given explicitly
    mapping = {"Cell line": "sample", "Compound": "drug", "Lum": "signal"}
    t = read_screen(p, sep=";", decimal=",", columns=mapping)
    np.testing.assert_allclose(t.data["signal"], s.data["signal"])
    # a combination table exported the same way
    d = _combo_frame()
    text = d.to_csv(sep=";", decimal=",", index=False)
    (tmp_path / "combo.csv").write_text(text)
    c = read_combination_table(tmp_path / "combo.csv", conc_unit="uM")
    np.testing.assert_allclose(c.data["conc1"], d["conc1"])
    assert any("semicolon-separated" in n for n in c.conversions)


def test_ambiguous_text_says_what_to_pass(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text("sample;drug;conc_nM;signal\nL1;x;1,5;100.5\nL1;x;0;200\n")
    with pytest.raises(InputError) as err:
        read_screen(p)
    msg = str(err.value)
    assert "mixed.csv: cannot tell the decimal mark" in msg
    assert "'1,5' (line 2, column 'conc_nM')" in msg and "'100.5' (line 2, column 'signal')" in msg
    assert "sep=';', decimal=',' (CLI: --sep ';' --decimal ',')" in msg
    q = tmp_path / "twoseps.csv"
    q.write_text("a,b;c,d\n1,2;3,4\n5,6;7,8\n")
    with pytest.raises(InputError) as err:
        read_screen(q)
    msg = str(err.value)
    assert "twoseps.csv: cannot tell the column separator: line 1" in msg
    assert "sep=',' (CLI: --sep ',')" in msg and "sep=';' (CLI: --sep ';')" in msg
    r = tmp_path / "tabs.txt"
    r.write_text("sample\tdrug\tconc_nM\tsignal\nL1\tx\t1,000\t5\nL1\tx\t0\t6\n")
    with pytest.raises(InputError, match=r"decimal comma or a thousands.*--decimal"):
        read_screen(r)
    s = read_screen(r, decimal=",")
    assert s.data["concentration"].max() == pytest.approx(0.001)


def test_decimal_comma_in_a_comma_file_gets_a_hint(tmp_path):
    d = _tidy()
    d["Lum"] = d["Lum"].astype(object)
    d.loc[6, "Lum"] = "1,5"
    d.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(InputError) as err:
        read_screen(tmp_path / "s.csv", columns=OURS_THEIRS, conc_unit="nM")
    msg = str(err.value)
    assert "s.csv: column 'signal' row 8: non-numeric value '1,5'" in msg
    assert "(CLI: --sep ';' --decimal ',')" in msg


# ---------------------------------------------------------------------- one unit policy
def test_unit_in_column_names():
    assert split_unit("Concentration (uM)") == ("Concentration", "uM")
    assert split_unit("conc_nM") == ("conc", "nM")
    assert split_unit("dose [µM]") == ("dose", "µM")
    assert split_unit("concentration_um") == ("concentration", "um")
    assert split_unit("CONC") == ("CONC", None) and split_unit("nM") == ("nM", None)


def _units_frame(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": ["a"] * 4,
            "drug": ["x"] * 4,
            "concentration": [0.0, 1.0, 10.0, 100.0],
            "signal": [10.0, 9.0, 5.0, 1.0],
            **extra,
        }
    )


def test_screen_unit_conflicts_and_gaps(tmp_path):
    p = tmp_path / "named.csv"
    _units_frame().rename(columns={"concentration": "Dose (nM)"}).to_csv(p, index=False)
    assert read_screen(p).data["concentration"].max() == pytest.approx(0.1)
    assert read_screen(p, conc_unit="nM").data["concentration"].max() == pytest.approx(0.1)
    with pytest.raises(InputError) as err:
        read_screen(p, conc_unit="uM")
    msg = str(err.value)
    assert "named.csv: column 'Dose (nM)' (concentration): its name says 'nM'" in msg
    assert "conc_unit='uM' (CLI: --conc-unit uM)" in msg

    q = tmp_path / "unitcol.csv"
    _units_frame(conc_unit=["uM", "uM", "nM", "uM"]).to_csv(q, index=False)
    s = read_screen(q)
    np.testing.assert_allclose(s.data["concentration"], [0, 1, 0.01, 100])
    with pytest.raises(InputError) as err:
        read_screen(q, conc_unit="uM")
    msg = str(err.value)
    assert "unitcol.csv: column 'conc_unit' row 4: unit 'nM' contradicts" in msg
    assert "conc_unit='uM' (CLI: --conc-unit uM)" in msg
    # the same unit spelled differently is no conflict
    _units_frame(conc_unit=["µM"] * 4).to_csv(q, index=False)
    assert read_screen(q, conc_unit="uM").data["concentration"].max() == 100

    g = tmp_path / "gap.csv"
    _units_frame(conc_unit=["", "nM", None, "nM"]).to_csv(g, index=False)
    with pytest.raises(InputError) as err:
        read_screen(g)
    msg = str(err.value)
    assert "gap.csv: column 'conc_unit' row 4: no unit for concentration 10" in msg
    assert "(CLI: --conc-unit uM)" in msg
    s = read_screen(g, conc_unit="nM")
    np.testing.assert_allclose(s.data["concentration"], [0, 0.001, 0.01, 0.1])

    with pytest.raises(InputError, match=r"conc_unit='furlong' \(CLI: --conc-unit furlong\)"):
        read_screen(p, conc_unit="furlong")


def _combo_frame() -> pd.DataFrame:
    """One 4 x 4 block (micromolar doses, fractional inhibition) with two replicates."""
    c = np.array([0.0, 0.03, 0.3, 3.0])
    c1, c2, rep = (a.ravel() for a in np.meshgrid(c, c, [1, 2], indexing="ij"))
    inhib = 1 - 1 / (1 + c1 / 0.3) / (1 + c2 / 1.0) + 0.01 * (rep - 1.5)
    return pd.DataFrame(
        {"block_id": "1", "drug1": "a", "drug2": "b", "conc1": c1, "conc2": c2,
         "response": inhib, "replicate": rep}
    )  # fmt: skip


def test_nanomolar_combination_file_is_never_read_as_micromolar(tmp_path):
    ref = _combo_frame()
    nm = ref.assign(conc1=ref["conc1"] * 1000, conc2=ref["conc2"] * 1000)
    p = tmp_path / "nanomolar.csv"
    nm.to_csv(p, index=False)
    # before the unit policy this file was read as micromolar: 1000-fold off
    with pytest.raises(InputError) as err:
        read_combination_table(p)
    msg = str(err.value)
    assert "nanomolar.csv: column 'conc1' row" in msg and "has no unit" in msg
    assert "conc_unit='uM' (CLI: --conc-unit uM)" in msg
    s = read_combination_table(p, conc_unit="nM")
    np.testing.assert_allclose(s.data["conc1"], ref["conc1"])
    np.testing.assert_allclose(s.data["conc2"], ref["conc2"])
    # units in the column names, as lab files write them
    named = nm.rename(columns={"conc1": "conc1_nM", "conc2": "conc2 (nM)"})
    s2 = read_combination_table(named)
    np.testing.assert_allclose(s2.data["conc2"], ref["conc2"])
    with pytest.raises(InputError, match=r"column 'conc1_nM' \(conc1\): its name says 'nM'"):
        read_combination_table(named, conc_unit="uM")
    with pytest.raises(InputError, match=r"has no unit"):
        CombinationScreen.from_frame(nm)


def test_combination_unit_columns(tmp_path):
    ref = _combo_frame()
    d = ref.assign(conc_unit="uM")
    with pytest.raises(InputError) as err:
        read_combination_table(d, conc_unit="nM")
    assert "column 'conc_unit' row 2: unit 'uM' contradicts conc_unit='nM'" in str(err.value)
    # SynergyFinder's per-drug unit columns, one of them in nanomolar
    sf = ref.rename(columns={"drug1": "drug_row", "drug2": "drug_col", "conc1": "conc_r"})
    sf = sf.rename(columns={"conc2": "conc_c"}).assign(conc_r_unit="uM", conc_c_unit="nM")
    sf["conc_c"] *= 1000
    s = read_combination_table(sf)
    np.testing.assert_allclose(s.data["conc2"], ref["conc2"])
    assert any("conc2" in n and "from nM" in n for n in s.conversions)
    with pytest.raises(InputError, match=r"has no unit.*--conc-unit"):
        read_combination_matrix(np.zeros((2, 2)) + 0.5, [0, 1], [0, 1])
    m = read_combination_matrix(np.zeros((2, 2)) + 0.5, [0, 1000], [0, 10], conc_unit="nM")
    assert m.data["conc1"].max() == pytest.approx(1.0)


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("synergyfinder_combo_matrices"),
    reason="needs ONCORESIST_DATA_MIRROR with synergyfinder_combo_matrices",
)
def test_synergyfinder_examples_carry_their_units():
    from oncoresist.data._combination import fetch_synergyfinder_example

    for name in ("oneil", "mathews", "ncats"):
        s = fetch_synergyfinder_example(name)
        assert s.n_blocks == 2 and s.data["conc1"].max() > 0
    # mathews is in nM in the file: 2500 nM ispinesib is 2.5 uM
    assert fetch_synergyfinder_example("mathews").data["conc1"].max() == pytest.approx(2.5)


def test_synergy_cli_needs_a_unit(tmp_path):
    import typer
    from typer.testing import CliRunner

    from oncoresist.synergy._cli import register

    _combo_frame().to_csv(tmp_path / "in.csv", index=False)
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    r = CliRunner().invoke(app, ["synergy", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o")])
    assert r.exit_code != 0 and isinstance(r.exception, InputError)
    assert "in.csv: column 'conc1' row" in str(r.exception)
    assert "(CLI: --conc-unit uM)" in str(r.exception)


# ---------------------------------------------------------------------- GDSC raw
def _gdsc_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "RESEARCH_PROJECT": "GDSC_SA",
            "BARCODE": [7, 7, 7, 7, 7, 7, 7, 7, 8, 8],
            "SCAN_ID": 70.0,
            "DATE_CREATED": "2015-02-12 23:00:00",
            "COSMIC_ID": [906793.0] * 8 + [1.0] * 2,
            "CELL_LINE_NAME": [" A375"] * 8 + ["HT-29", "HT-29"],
            "POSITION": [1, 50, 51, 52, 53, 54, 54, 100, 1, 2],
            "TAG": "UN-USED NC-1 NC-0 B PC-1 L1-D1-S DMSO L1-D2-S NC-1 L1-D1-S".split(),
            "DRUG_ID": [None, 4000, None, None, 1862, 1003, None, 1003, None, 1003],
            "CONC": [None, None, None, None, 4.0, 0.1, None, 0.0316, None, 0.1],
            "INTENSITY": [10, 30000, 31000, 800, 3000, 5000, 5000, 20000, 100, 50],
            "DURATION": 4,
            "EXTRA_DATE": "2020-01-01",
            "EMPTY": np.nan,
        }
    )


@pytest.mark.parametrize("name", ["g.csv", "g.csv.gz", "g.tsv"])
def test_gdsc_fast_reader_matches_the_pandas_path(tmp_path, name):
    raw = _gdsc_frame()
    path = tmp_path / name
    raw.to_csv(path, index=False, sep="\t" if name.endswith(".tsv") else ",")
    fast = read_gdsc_raw(path)
    sep = "\t" if name.endswith(".tsv") else ","
    slow = gdsc_raw_to_screen(pd.read_csv(path, sep=sep), source=str(path))
    pd.testing.assert_frame_equal(fast.data, slow.data)
    assert (
        fast.data.attrs["excluded"]
        == slow.data.attrs["excluded"]
        == {
            "UN-USED: no cells, excluded from analysis by GDSC": 1,
            "DMSO back-fill row of a drug-treated well": 1,
        }
    )
    assert fast.samples == ["A375", "HT-29"] and fast.data["extra_date"].iloc[0] == "2020-01-01"
    assert fast.data["plate"].tolist()[:2] == ["7", "7"] and fast.data["well"].iloc[0] == "C02"


# measured on the reader before the pyarrow rewrite (pandas read_csv + per-row tagging): the
# hash of its output's core columns, and the sorted concentrations of every drug (uM)
_GDSC_HASH = 11435398047077326505
_GDSC_CONC = {
    "1003": (7, 0.000100053, 0.1),
    "1032": (7, 0.00200105, 2.0),
    "1036": (7, 0.0100053, 10.0),
    "1060": (7, 0.000250132, 0.25),
    "1268": (7, 0.0100053, 10.0),
    "1510": (14, 0.00250132, 10.0),
    "1862": (4, 0.015625, 1.0),
}


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("gdsc_raw_plates"),
    reason="needs ONCORESIST_DATA_MIRROR with gdsc_raw_plates",
)
def test_gdsc_real_file_identical_to_the_old_reader(tmp_path):
    from oncoresist.data import fetch_file

    path = fetch_file("gdsc_raw_plates", "gdsc_raw_wells_part.csv.gz")
    s = read_gdsc_raw(path)
    d = s.data
    cols = ["sample", "drug", "concentration", "role", "plate", "well", "row", "col", "signal"]
    cols += ["tag", "cosmic_id", "drug_id"]
    assert int(pd.util.hash_pandas_object(d[cols], index=False).sum()) == _GDSC_HASH
    conc = d[d["role"] == "treated"].groupby("drug")["concentration"]
    for drug, (n, lo, hi) in _GDSC_CONC.items():
        u = np.unique(conc.get_group(drug))
        assert len(u) == n and u[0] == pytest.approx(lo, rel=1e-5) and u[-1] == pytest.approx(hi)
    assert excluded_wells(s)["n_wells"].sum() + len(d) == 280566
    # a slice of the file (about 40 plates), fast path vs plain pandas frame
    raw = pd.read_csv(path, nrows=20000)
    raw.to_csv(tmp_path / "slice.csv.gz", index=False)
    fast = read_gdsc_raw(tmp_path / "slice.csv.gz")
    slow = gdsc_raw_to_screen(raw, source=str(tmp_path / "slice.csv.gz"))
    pd.testing.assert_frame_equal(fast.data, slow.data)


# ---------------------------------------------------------------------- error quality
@pytest.mark.parametrize(
    ("content", "kwargs", "where", "fix"),
    [
        (
            "sample,drug,concentration,signal\na,x,1,5\n",
            {},
            "column 'concentration' row 2",
            "--conc-unit uM",
        ),
        (
            "sample,drug,conc_nM,signal\na,x,1,5\n",
            {"conc_unit": "uM"},
            "column 'conc_nM",
            "--conc-unit",
        ),
        ("a;b;c\n1,5;2.5;3\n", {}, "line 2, column 'a'", "--sep ';' --decimal ','"),
        ("Cell,Compound,Dose,Lum\na,x,1,5\n", {"conc_unit": "nM"}, "found columns", "--columns"),
        (
            "sample,drug,concentration,unit,signal\na,x,1,uM,5\na,x,2,nM,5\n",
            {"conc_unit": "uM"},
            "column 'unit' row 3",
            "--conc-unit uM",
        ),
    ],
)
def test_errors_name_file_place_and_both_fixes(tmp_path, content, kwargs, where, fix):
    p = tmp_path / "lab_file.csv"
    p.write_text(content)
    with pytest.raises(InputError) as err:
        read_screen(p, **kwargs)
    msg = str(err.value)
    assert "lab_file.csv" in msg and where in msg and fix in msg and "(CLI: " in msg
