"""Plate-reader exports + plate maps -> Screen (``oncoresist.data._plate_reader``) and the
Prism workflow on the command line (``oncoresist shift EXPORT --plate-map MAP``).

Vendor-style fixtures are written here, in ``tmp_path``: BioTek Gen5 (tab, read label after the
last column, several reads per row letter), Tecan i-control (``<>`` corner, plate-type line,
``Label:`` lines, ``OVER``), PerkinElmer EnVision (``Plate,Repeat,Barcode`` table, ``01``
column headers), 96/384/1536 wells, CSV/TSV/semicolon with decimal commas, Excel.
Ground truth: the shipped example is generated from known curves (``prism_truth.csv``).
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.data import (
    Screen,
    available_examples,
    example_path,
    excluded_wells,
    read_plate_export,
    read_plate_grids,
    read_plate_map,
    read_screen,
)
from oncoresist.data._make import _row_label
from oncoresist.data._plate_reader import ROLE_LABELS, is_plate_export
from oncoresist.errors import InputError, SchemaError

EXPORT = "prism_parental_resistant_384.txt"
SHAPES = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}


# ----------------------------------------------------------------------------- fixture writers
def values(n_wells: int, seed: int = 0) -> np.ndarray:
    rows, cols = SHAPES[n_wells]
    return np.random.default_rng(seed).integers(1000, 90000, size=(rows, cols))


def grid(vals, sep="\t", corner="", trailing="", header=str, fmt=str) -> list[str]:
    rows, cols = np.shape(vals)
    out = [sep.join([corner] + [header(c + 1) for c in range(cols)])]
    for r, label in enumerate(_row_label(np.arange(rows))):
        cells = [str(label)] + [fmt(v) for v in vals[r]]
        out.append(sep.join(cells + ([trailing] if trailing else [])))
    return out


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gen5(vals_by_plate: dict[str, np.ndarray], read="Lum") -> list[str]:
    lines = ["Software Version\t3.11.19", ""]
    for k, (barcode, vals) in enumerate(vals_by_plate.items(), start=1):
        lines += [f"Plate Number\tPlate {k}", f"Barcode\t{barcode}", "Plate Type\t96 WELL PLATE",
                  "Read\tLuminescence Endpoint", "", "Results", ""]  # fmt: skip
        lines += [*grid(vals, trailing=read), ""]
    return lines


def table_map(path: Path, n_wells: int, *, sample="S1", unit="nM", plate=None, sep=",") -> Path:
    """Every well mapped: first column DMSO, last column kill, the others drug X (1..10^k nM)."""
    rows, cols = SHAPES[n_wells]
    head = ["well", "sample", "drug", "concentration", "conc_unit", "role"]
    out = [sep.join((["plate"] if plate else []) + head)]
    for _r, label in enumerate(_row_label(np.arange(rows))):
        for c in range(cols):
            if c == 0:
                rec = [sample, "DMSO", "", "", "vehicle"]
            elif c == cols - 1:
                rec = [sample, "", "", "", "kill"]
            else:
                rec = [sample, "X", f"{3.0 ** (c - 1):g}", unit, "treated"]
            out.append(sep.join(([plate] if plate else []) + [f"{label}{c + 1:02d}", *rec]))
    return write(path, out)


# ----------------------------------------------------------------------------- the shipped example
def test_examples_are_listed_and_found():
    names = available_examples()
    assert {EXPORT, "prism_plate_map.csv", "prism_plate_map_grid.csv", "prism_truth.csv"} <= set(
        names
    )
    with pytest.raises(InputError, match=r"prism_plate_map\.csv"):
        example_path("nope.txt")


def test_generator_reproduces_the_shipped_files(tmp_path):
    tool = Path(__file__).resolve().parents[1] / "tools" / "make_plate_examples.py"
    spec = importlib.util.spec_from_file_location("make_plate_examples", tool)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_plate_examples"] = mod
    try:
        spec.loader.exec_module(mod)
        mod.main(["--out", str(tmp_path)])
    finally:
        del sys.modules["make_plate_examples"]
    for name in ("prism_parental_resistant_384.txt", "prism_plate_map.csv",
                 "prism_plate_map_grid.csv", "prism_truth.csv"):  # fmt: skip
        assert (tmp_path / name).read_bytes() == example_path(name).read_bytes(), name
        assert example_path(name).stat().st_size < 40_000  # small package data


def test_gen5_example_grids():
    g = read_plate_grids(example_path(EXPORT))
    assert sorted(g["plate"].unique()) == ["PAR384A", "RES384A"]  # from the Barcode lines
    assert set(g["read"]) == {"Lum"} and len(g) == 2 * 384
    assert (g["read_status"] == "ok").all() and (g["plate_format"] == 384).all()
    first = g.iloc[0]
    assert (first["well"], first["line"]) == ("A01", 30)
    assert is_plate_export(example_path(EXPORT))
    assert not is_plate_export(example_path("prism_plate_map.csv"))


def test_table_and_grid_maps_give_the_same_screen():
    table = read_plate_export(example_path(EXPORT), example_path("prism_plate_map.csv"))
    grid_ = read_plate_export(example_path(EXPORT), example_path("prism_plate_map_grid.csv"))
    keys = ["plate", "well"]
    a = table.data.sort_values(keys).reset_index(drop=True)
    b = grid_.data.sort_values(keys).reset_index(drop=True)
    cols = ["plate", "well", "sample", "drug", "concentration", "role", "signal", "row", "col"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    s = table.counts()
    assert (s["treated_wells"], s["negative_wells"], s["positive_wells"]) == (180, 28, 28)
    assert table.samples == ["Parental", "Resistant"]  # blank wells take their plate's line
    assert table.drugs == ["DrugA", "DrugB", "DrugC"]
    assert excluded_wells(table).set_index("reason")["n_wells"].to_dict() == {
        "role 'unused' in the plate map": 380
    }
    conc = table.treated()["concentration"]
    assert math.isclose(conc.max(), 10.0) and math.isclose(conc.min(), 0.00050805)  # nM -> uM
    # the map as a DataFrame works as well as the file
    m = read_plate_map(example_path("prism_plate_map.csv"))
    again = read_plate_export(example_path(EXPORT), m)
    pd.testing.assert_frame_equal(again.data[cols], table.data[cols])


def test_read_screen_hands_plate_exports_to_the_plate_reader():
    if "plate_map" not in inspect.signature(read_screen).parameters:
        pytest.skip("read_screen has no plate_map= yet")
    via = read_screen(example_path(EXPORT), plate_map=example_path("prism_plate_map.csv"))
    direct = read_plate_export(example_path(EXPORT), example_path("prism_plate_map.csv"))
    assert len(via) == len(direct) and via.samples == direct.samples


def _truth_ic50(shift: pd.DataFrame, truth: pd.DataFrame) -> tuple[str, str]:
    """Which fitted and true IC50 columns to compare (absolute or relative definition)."""
    par = next(c for c in shift.columns if c.startswith("ic50") and c.endswith("_parental"))
    definition = str(shift["ic50"].iloc[0]) if "ic50" in shift.columns else ""
    absolute = "_abs" in par or "absolute" in definition
    return par, "ic50_abs_uM" if absolute else "ic50_rel_uM"


def test_prism_workflow_recovers_the_truth(tmp_path, capsys):
    """The README's Prism workflow: export + map -> QC, normalisation, IC50s, fold-shift CIs."""
    out = tmp_path / "shift"
    code = main(["shift", str(example_path(EXPORT)),
                 "--plate-map", str(example_path("prism_plate_map.csv")),
                 "--parental", "Parental", "--resistant", "Resistant", "-o", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    for name in ("shift.csv", "shift.parquet", "fits.csv", "qc.csv", "report.html",
                 "shift_curves.html"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert "380 (role 'unused' in the plate map)" in capsys.readouterr().err
    qc = pd.read_csv(out / "qc.csv")
    assert qc["pass"].all() and (qc["z_prime"] > 0.5).all()
    fits = pd.read_csv(out / "fits.csv")
    assert len(fits) == 6 and (fits["status"] == "ok").all()
    shift = pd.read_csv(out / "shift.csv").set_index("drug")
    truth = pd.read_csv(example_path("prism_truth.csv"))
    par_col, true_col = _truth_ic50(shift.reset_index(), truth)
    res_col = par_col.replace("_parental", "_resistant")
    true = truth.pivot(index="drug", columns="sample", values=true_col)
    fold = truth[truth["sample"] == "Resistant"].set_index("drug")["fold_shift"]
    for drug in ("DrugA", "DrugB", "DrugC"):
        row = shift.loc[drug]
        # IC50s within 20% of the generating curves (measured: absolute IC50s within 5%,
        # relative IC50s within 15%: the resistant DrugC curve's bottom is barely reached)
        assert abs(math.log(row[par_col] / true.loc[drug, "Parental"])) < 0.2, drug
        assert abs(math.log(row[res_col] / true.loc[drug, "Resistant"])) < 0.2, drug
        # the 95% CI of the resistance index covers the true fold shift
        assert row["ri_ci_low"] < fold[drug] < row["ri_ci_high"], drug
    a = shift.loc["DrugA"]
    assert 15 < a["resistance_index"] < 27 and a["pvalue"] < 1e-10  # the ~20x shift
    assert shift.loc["DrugB", "fdr"] > 0.01  # 1.2x: not called


# ----------------------------------------------------------------------------- vendor variants
def test_gen5_several_reads_per_row_letter(tmp_path):
    """Gen5 writes further reads of a row letter on continuation lines ending in their label."""
    lum, fl = values(96, 1), values(96, 2)
    lines = ["Software Version\t3.11.19", "Plate Number\tPlate 1", "Read 1:Luminescence",
             "Read 2:Fluorescence", "", "\t" + "\t".join(str(c) for c in range(1, 13))]  # fmt: skip
    for r, label in enumerate("ABCDEFGH"):
        lines.append(label + "\t" + "\t".join(map(str, lum[r])) + "\tLum")
        lines.append("\t" + "\t".join(map(str, fl[r])) + "\t485/528")
    path = write(tmp_path / "gen5_two_reads.txt", lines)
    g = read_plate_grids(path)
    assert set(g["plate"]) == {"Plate 1"} and set(g["read"]) == {"Lum", "485/528"}
    b3 = g[(g["well"] == "B03")].set_index("read")["signal"]
    assert (b3["Lum"], b3["485/528"]) == (lum[1, 2], fl[1, 2])
    table_map(tmp_path / "map.csv", 96)
    with pytest.raises(InputError) as err:
        read_plate_export(path, tmp_path / "map.csv")
    msg = str(err.value)
    assert "gen5_two_reads.txt" in msg and "'Lum' (line 6)" in msg and "'485/528'" in msg
    assert "read='Lum'" in msg and "--read 'Lum'" in msg
    for chosen in ("Lum", "lum", 1):
        screen = read_plate_export(path, tmp_path / "map.csv", read=chosen)
        assert set(screen.data["read"]) == {"Lum"}
    fluor = read_plate_export(path, tmp_path / "map.csv", read="485")
    assert fluor.data.set_index("well").loc["B03", "signal"] == fl[1, 2]


def test_tecan_icontrol_with_overflow(tmp_path):
    vals = values(96, 3).astype(object)
    vals[2, 4] = "OVER"  # C05
    lines = ["Application: Tecan i-control", "Tecan i-control , 2.0.10.0", "",
             "Device: infinite 200Pro", "Plate\tGreiner 96 Flat Bottom White Polystyrol [GRE96fw]",
             "Plate-ID (Stacker)\tTEC-001", "Label: Label1", "Mode\tLuminescence",
             "Start Time:\t11/10/2015 10:11:07 AM", "", *grid(vals, corner="<>"), "",
             "End Time:\t11/10/2015 10:14:30 AM"]  # fmt: skip
    path = write(tmp_path / "tecan.txt", lines)
    g = read_plate_grids(path)
    assert set(g["plate"]) == {"TEC-001"} and set(g["read"]) == {"Label1"}  # not the plate type
    c05 = g.set_index("well").loc["C05"]
    assert c05["read_status"] == "overflow" and np.isnan(c05["signal"]) and c05["token"] == "OVER"
    table_map(tmp_path / "map.csv", 96)
    with pytest.warns(UserWarning, match=r"1 mapped well.*1 overflow.*C05"):
        screen = read_plate_export(path, tmp_path / "map.csv")
    row = screen.data.set_index("well").loc["C05"]
    assert row["read_status"] == "overflow" and np.isnan(row["signal"])
    with pytest.raises(InputError, match=r"tecan.txt.*C05.*on_overflow='flag'"):
        read_plate_export(path, tmp_path / "map.csv", on_overflow="raise")


def test_envision_two_plates_csv(tmp_path):
    lines = []
    for k, barcode in enumerate(["ENV-01", "ENV-02"], start=1):
        lines += ["Plate information",
                  "Plate,Repeat,Barcode,Measured height,Chamber temperature at start,Formula",
                  f"{k},1,{barcode},11.00,22.99,", "", "Background information",
                  "Plate,Label,Result,Signal,Flashes/Time,Meastime,MeasInfo",
                  f"{k},US LUM 384,0,0,0.1,00:00:00.000,", "", "Results"]  # fmt: skip
        lines += [*grid(values(384, k), sep=",", header=lambda c: f"{c:02d}"), ""]
    path = write(tmp_path / "envision.csv", lines)
    g = read_plate_grids(path)
    assert sorted(g["plate"].unique()) == ["ENV-01", "ENV-02"] and len(g) == 2 * 384
    assert g.set_index(["plate", "well"]).loc[("ENV-02", "P24"), "signal"] == values(384, 2)[15, 23]
    # one shared map for both plates
    table_map(tmp_path / "map.csv", 384)
    screen = read_plate_export(path, tmp_path / "map.csv")
    assert screen.plates == ["ENV-01", "ENV-02"] and len(screen) == 2 * 384
    only = read_plate_export(path, tmp_path / "map.csv", plate="ENV-02")
    assert only.plates == ["ENV-02"]


def test_1536_tsv_rows_to_af(tmp_path):
    vals = values(1536, 4)
    path = write(tmp_path / "plate1536.tsv", ["Plate: HTS-1", "", *grid(vals)])
    g = read_plate_grids(path)
    assert len(g) == 1536 and set(g["plate"]) == {"HTS-1"}
    af48 = g.set_index("well").loc["AF48"]
    assert (af48["row"], af48["col"], af48["signal"]) == (31, 47, vals[31, 47])


def test_semicolon_decimal_commas_and_unlabelled_plates(tmp_path):
    a = np.round(np.random.default_rng(5).uniform(0.05, 3.5, (8, 12)), 3)
    b = a[::-1] + 0.5
    fmt = lambda v: f"{v:.3f}".replace(".", ",")  # noqa: E731
    lines = ["Absorbance 450 nm", *grid(a, sep=";", fmt=fmt), "", *grid(b, sep=";", fmt=fmt)]
    path = write(tmp_path / "od.csv", lines)
    g = read_plate_grids(path)
    assert sorted(g["plate"].unique()) == ["1", "2"]  # unnamed plates, numbered in file order
    got = g[g["plate"] == "1"].set_index("well").loc["H12", "signal"]
    assert got == pytest.approx(a[7, 11])
    with pytest.raises(InputError, match=r"od.csv.*A01 \(line 3\).*decimal=','.*--decimal ,"):
        read_plate_grids(path, decimal=".")
    table_map(tmp_path / "map.csv", 96)
    screen = read_plate_export(path, tmp_path / "map.csv", plate="2")
    assert screen.data.set_index("well").loc["A01", "signal"] == pytest.approx(b[0, 0])


def test_excel_sheets_name_unlabelled_plates(tmp_path):
    path = tmp_path / "reads.xlsx"
    with pd.ExcelWriter(path) as xl:
        for k, name in enumerate(["Parental", "Resistant"]):
            vals = values(96, 10 + k)
            rows = [["Spark Control", "V2.1"], [], ["<>", *range(1, 13)]]
            rows += [[label, *map(int, vals[r])] for r, label in enumerate("ABCDEFGH")]
            rows = [r + [None] * (13 - len(r)) for r in rows]
            pd.DataFrame(rows).to_excel(xl, sheet_name=name, header=False, index=False)
    g = read_plate_grids(path)
    assert sorted(g["plate"].unique()) == ["Parental", "Resistant"]
    assert (
        g.set_index(["plate", "well"]).loc[("Resistant", "H12"), "signal"] == values(96, 11)[7, 11]
    )
    one = read_plate_grids(path, sheet="Resistant")
    assert set(one["plate"]) == {"Resistant"}


def test_markers_hashes_and_stars_and_empty_cells(tmp_path):
    vals = values(96, 6).astype(object)
    vals[0, 1], vals[0, 2], vals[0, 3], vals[0, 4] = "OVRFLW", "*", "####", ""
    path = write(tmp_path / "marks.txt", ["Plate: M1", *grid(vals)])
    g = read_plate_grids(path).set_index("well")
    assert g.loc[["A02", "A03", "A04"], "read_status"].tolist() == ["overflow"] * 3
    assert g.loc["A05", "read_status"] == "empty"
    table_map(tmp_path / "map.csv", 96)
    with pytest.warns(UserWarning) as rec:
        screen = read_plate_export(path, tmp_path / "map.csv")
    text = " ".join(str(w.message) for w in rec)
    assert "3 overflow" in text and "A02, A03, A04" in text and "no read: plate 'M1': A05" in text
    assert int(screen.data["signal"].isna().sum()) == 4  # counted, named, never silent


def test_bad_cell_and_truncated_grid(tmp_path):
    vals = values(96, 7).astype(object)
    vals[2, 4] = "n.d.x"
    path = write(tmp_path / "bad.txt", ["Plate: B1", *grid(vals)])
    with pytest.raises(InputError, match=r"bad.txt.*C05 \(line 5\) 'n.d.x'.*OVRFLW"):
        read_plate_grids(path)
    lines = ["Plate: B1", *grid(values(96))][:-1]  # row H missing
    cut = write(tmp_path / "cut.txt", lines)
    with pytest.raises(InputError, match=r"cut.txt: line 2: the 96-well grid has rows A..G"):
        read_plate_grids(cut)


# ----------------------------------------------------------------------------- plate maps
def test_grid_map_titles_units_and_roles(tmp_path):
    drug = np.full((8, 12), "Y", dtype=object)
    drug[:, 0], drug[:, 11] = "DMSO", ""
    conc = np.array([[f"{10.0 ** (c - 6):g} µM" for c in range(12)]] * 8, dtype=object)
    conc[:, 0] = conc[:, 11] = ""
    role = np.full((8, 12), "", dtype=object)
    role[:, 11] = ["blank", "empty", "Medium", "T0", "time_zero", "neg", "pos", "-"]
    sample = np.full((8, 12), "L1", dtype=object)
    lines = ["drug", *grid(drug, sep=","), "", "concentration", *grid(conc, sep=","), "",
             "role", *grid(role, sep=","), "", "Cell line", *grid(sample, sep=",")]  # fmt: skip
    path = write(tmp_path / "grid_map.csv", lines)
    with pytest.raises(
        SchemaError, match=r"grid_map.csv.*'Cell line'.*--column sample='Cell line'"
    ):
        read_plate_map(path)
    m = read_plate_map(path, columns={"sample": "Cell line"}).set_index("well")
    assert m.loc["A01", "role"] == "negative"  # drug DMSO without a role
    assert m.loc["A02", "role"] == "treated" and m.loc["A02", "concentration"] == pytest.approx(
        1e-5
    )
    assert m.loc[[f"{r}12" for r in "ABCDEFGH"], "role"].tolist() == [
        "blank", "blank", "blank", "time_zero", "time_zero", "negative", "positive", "unused"
    ]  # fmt: skip
    assert m.loc["A02", "conc_unit_original"] == "µM"


def test_table_map_header_unit_semicolons_and_xlsx(tmp_path):
    rows = ["Well;Cell_Line;Drug;Concentration (nM);Role", "A01;L1;DMSO;;DMSO",
            "A02;L1;Z;1,5;", "A03;L1;Z;0;", "A04;L1;;;Kill"]  # fmt: skip
    path = write(tmp_path / "map.csv", rows)
    m = read_plate_map(path, columns={"Cell_Line": "sample"}).set_index("well")
    assert m.loc["A02", "concentration"] == pytest.approx(0.0015)  # 1,5 nM, decimal comma
    assert m.loc["A03", "role"] == "negative"  # a drug at concentration 0 is vehicle
    assert m.loc["A04", "role"] == "positive"
    xlsx = tmp_path / "map.xlsx"
    pd.DataFrame({"well": ["B2", "b03"], "sample": ["L1", "L1"], "drug": ["Z", "Z"],
                  "concentration": [1.0, 2.0], "conc_unit": ["uM", "nM"]}).to_excel(
        xlsx, index=False
    )  # fmt: skip
    mx = read_plate_map(xlsx).set_index("well")
    assert mx["concentration"].to_dict() == {"B02": 1.0, "B03": 0.002}


def test_excel_grid_map_one_block_per_sheet(tmp_path):
    path = tmp_path / "map.xlsx"
    blocks = {"sample": "L1", "drug": "Y", "concentration (uM)": "2", "role": "treated"}
    with pd.ExcelWriter(path) as xl:
        for title, value in blocks.items():
            rows = [["", *range(1, 13)]] + [[r] + [value] * 12 for r in "ABCDEFGH"]
            pd.DataFrame(rows).to_excel(xl, sheet_name=title, header=False, index=False)
    m = read_plate_map(path)  # untitled grids take their sheet's name
    assert len(m) == 96 and set(m["role"]) == {"treated"}
    assert m["concentration"].unique().tolist() == [2.0]


def test_every_role_label_is_a_role():
    from oncoresist.data import ROLES

    assert set(ROLE_LABELS.values()) <= {*ROLES, "unused"}
    for role in ROLES:
        assert ROLE_LABELS.get(role.replace("_", " ")) == role


def test_map_without_plate_column_or_with_plates(tmp_path):
    vals = {"P1": values(96, 1), "P2": values(96, 2)}
    path = write(tmp_path / "two.txt", gen5(vals))
    per_plate = tmp_path / "per_plate.csv"
    p1 = table_map(tmp_path / "p1.csv", 96, sample="A", plate="P1").read_text().splitlines()
    p2 = table_map(tmp_path / "p2.csv", 96, sample="B", plate="P2").read_text().splitlines()
    write(per_plate, p1 + p2[1:])
    screen = read_plate_export(path, per_plate)
    assert screen.data.groupby("plate")["sample"].first().to_dict() == {"P1": "A", "P2": "B"}
    with pytest.raises(InputError, match=r"two.txt.*\['P2'\] are not in the plate map.*--plate"):
        read_plate_export(path, tmp_path / "p1.csv")
    assert read_plate_export(path, tmp_path / "p1.csv", plate="P1").plates == ["P1"]


def test_map_and_export_wells_must_agree(tmp_path):
    path = write(tmp_path / "e96.txt", gen5({"P1": values(96)}))
    big = table_map(tmp_path / "map384.csv", 384)
    with pytest.raises(InputError, match=r"map384.csv: 288 mapped well.*96-well.*A13"):
        read_plate_export(path, big)
    lines = table_map(tmp_path / "part.csv", 96).read_text().splitlines()
    part = write(tmp_path / "part.csv", [ln for ln in lines if not ln.startswith("H")])
    with pytest.raises(InputError, match=r"e96.txt: 12 well.*not in the plate map.*H01.*'unused'"):
        read_plate_export(path, part)
    vals = values(96).astype(object)
    vals[7, :] = ""  # row H not read: fine without map rows, counted
    path2 = write(tmp_path / "e96_partial.txt", gen5({"P1": vals}))
    screen = read_plate_export(path2, part)
    assert len(screen) == 84
    assert excluded_wells(screen)["n_wells"].tolist() == [12]


# ----------------------------------------------------------------------------- errors name the fix
@pytest.fixture
def files(tmp_path):
    export = write(tmp_path / "exp.txt", gen5({"P1": values(96)}))
    return tmp_path, export


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_map", ["exp.txt", "plate_map='map.csv'", "--plate-map map.csv"]),
        ("no_unit", ["nounit.csv", "line 3", "well A02", "conc_unit='nM'", "--conc-unit nM"]),
        ("bad_role", ["role.csv", "line 2", "well A01", "'ctl'", "negative: negative, neg"]),
        ("unit_clash", ["map.csv", "line 3", "well A02", "conc_unit='uM'", "--conc-unit"]),
        ("bad_read", ["exp.txt", "read='Fluo'", "'Lum' (line 10)", "--read 'Lum'"]),
        ("bad_plate", ["exp.txt", "plate='Q9'", "['P1']", "--plate 'P1'"]),
        (
            "no_well",
            [
                "nowell.csv",
                "'Position'",
                "columns={'Position': 'well'}",
                "--column well='Position'",
            ],
        ),
        ("bad_well", ["badwell.csv", "line 2", "'Z99'", "1536 wells"]),
        ("dup_read", ["dup.txt", "line 11", "'Lum'", "line 2", "'Plate: NAME'"]),
    ],
)
def test_errors_name_file_place_and_fix(files, case, expected):
    tmp, export = files
    good = table_map(tmp / "map.csv", 96)
    if case == "no_map":
        call = lambda: read_plate_export(export, None)  # noqa: E731
    elif case == "no_unit":
        m = table_map(tmp / "nounit.csv", 96, unit="")
        call = lambda: read_plate_export(export, m)  # noqa: E731
    elif case == "bad_role":
        lines = good.read_text().splitlines()
        lines[1] = lines[1].replace("vehicle", "ctl")
        m = write(tmp / "role.csv", lines)
        call = lambda: read_plate_export(export, m)  # noqa: E731
    elif case == "unit_clash":
        call = lambda: read_plate_export(export, good, conc_unit="uM")  # noqa: E731
    elif case == "bad_read":
        call = lambda: read_plate_export(export, good, read="Fluo")  # noqa: E731
    elif case == "bad_plate":
        call = lambda: read_plate_export(export, good, plate="Q9")  # noqa: E731
    elif case == "no_well":
        m = write(tmp / "nowell.csv", ["Position,sample,role", "A01,S,negative"])
        call = lambda: read_plate_export(export, m)  # noqa: E731
    elif case == "bad_well":
        m = write(tmp / "badwell.csv", ["well,sample,role", "Z99,S,negative"])
        call = lambda: read_plate_export(export, m)  # noqa: E731
    else:
        vals = values(96)
        dup = write(tmp / "dup.txt", ["Plate: D1", *grid(vals, trailing="Lum"),
                                      *grid(vals, trailing="Lum")])  # fmt: skip
        call = lambda: read_plate_grids(dup)  # noqa: E731
    with pytest.raises(InputError) as err:
        call()
    for text in expected:
        assert text in str(err.value), (text, str(err.value))


# ----------------------------------------------------------------------------- CLI
def test_cli_unit_policy_and_reading_options(tmp_path, capsys):
    export = write(tmp_path / "exp.txt", gen5({"P1": values(96)}))
    nounit = table_map(tmp_path / "nounit.csv", 96, unit="")
    out = tmp_path / "qc.csv"
    code = main(["qc", str(export), "--plate-map", str(nounit), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "no unit" in err and "--conc-unit nM" in err and "Traceback" not in err
    args = ["qc", str(export), "--plate-map", str(nounit), "--conc-unit", "nM", "-o", str(out)]
    assert main(args) == 0
    assert pd.read_csv(out)["plate"].tolist() == ["P1"]
    # --column maps the plate map's names; --read picks a read
    lines = table_map(tmp_path / "m.csv", 96).read_text().splitlines()
    renamed = write(tmp_path / "renamed.csv", [lines[0].replace("sample", "Cell_Line"), *lines[1:]])
    base = ["qc", str(export), "--plate-map", str(renamed), "-o", str(out)]
    assert main(base) == 2 and "--column sample=" in capsys.readouterr().err
    assert main([*base, "--column", "sample=Cell_Line", "--read", "Lum"]) == 0
    # --read without a plate map is an error naming the fix
    tidy = tmp_path / "tidy.csv"
    pd.DataFrame({"sample": ["a"], "drug": ["x"], "concentration": [1.0], "conc_unit": ["uM"],
                  "viability": [0.5]}).to_csv(tidy, index=False)  # fmt: skip
    assert main(["qc", str(tidy), "--read", "Lum", "-o", str(out)]) == 2
    assert "--plate-map" in capsys.readouterr().err


def test_cli_prints_reader_warnings(tmp_path, capsys):
    vals = values(96).astype(object)
    vals[0, 1] = "OVRFLW"
    export = write(tmp_path / "exp.txt", gen5({"P1": vals}))
    m = table_map(tmp_path / "map.csv", 96)
    assert main(["qc", str(export), "--plate-map", str(m), "-o", str(tmp_path / "qc.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "A02" in err


def test_screen_roles_are_validated_once(tmp_path):
    screen = read_plate_export(example_path(EXPORT), example_path("prism_plate_map.csv"))
    assert isinstance(screen, Screen)
    assert set(screen.data["role"]) <= {"treated", "negative", "positive", "blank"}
