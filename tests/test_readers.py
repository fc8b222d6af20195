"""read_screen: formats, column mapping, units and errors that name file, row, column and fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist.data import fetch_file, mirror_available
from oncoresist.data._gdsc_raw import excluded_wells
from oncoresist.data._make import make_screen
from oncoresist.data._readers import read_screen
from oncoresist.errors import InputError, SchemaError


def _theirs(n_rep: int = 2) -> pd.DataFrame:
    conc = [0.0, 1.0, 10.0, 100.0]
    rows = [
        {"Cell line": c, "Compound": "drugA", "Dose": d, "Lum": 1000.0 - 5 * d + r, "Rep": r + 1}
        for c in ("L1", "L2")
        for d in conc
        for r in range(n_rep)
    ]
    return pd.DataFrame(rows)


MAP = {
    "Cell line": "sample",
    "Compound": "drug",
    "Dose": "concentration",
    "Lum": "signal",
    "Rep": "replicate",
}


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".xlsx"])
def test_formats_roundtrip(tmp_path, suffix):
    df = _theirs()
    path = tmp_path / f"screen{suffix}"
    if ".csv" in suffix:
        df.to_csv(path, index=False)
    elif ".tsv" in suffix:
        df.to_csv(path, sep="\t", index=False)
    elif suffix == ".parquet":
        df.to_parquet(path)
    else:
        df.to_excel(path, index=False, sheet_name="plate1")
    s = read_screen(
        path, columns=MAP, conc_unit="nM", sheet="plate1" if suffix == ".xlsx" else None
    )
    assert len(s) == len(df) and s.samples == ["L1", "L2"]
    np.testing.assert_allclose(sorted(s.data["concentration"].unique()), [0.0, 0.001, 0.01, 0.1])
    assert (s.data.loc[s.data["concentration"] == 0, "role"] == "negative").all()
    assert str(path) in s.source


def test_mixed_unit_column_converted_row_wise(tmp_path):
    df = pd.DataFrame(
        {
            "sample": ["a"] * 4,
            "drug": ["x"] * 4,
            "concentration": [1.0, 1.0, 1.0, 0.0],
            "conc_unit": ["nM", "uM", "mM", None],
            "signal": [1.0, 2.0, 3.0, 4.0],
        }
    )
    df.to_csv(tmp_path / "u.csv", index=False)
    s = read_screen(tmp_path / "u.csv")
    np.testing.assert_allclose(s.data["concentration"], [0.001, 1.0, 1000.0, 0.0])
    assert s.data["conc_unit_original"].tolist()[:3] == ["nM", "uM", "mM"]


def test_unit_from_column_name(tmp_path):
    pd.DataFrame(
        {"sample": ["a"], "drug": ["x"], "Concentration (nM)": [50.0], "signal": [1.0]}
    ).to_csv(tmp_path / "n.csv", index=False)
    s = read_screen(tmp_path / "n.csv")
    assert s.data["concentration"].iloc[0] == pytest.approx(0.05)


def test_unknown_unit_names_row_and_column(tmp_path):
    df = pd.DataFrame(
        {
            "sample": ["a", "a"],
            "drug": ["x", "x"],
            "concentration": [1.0, 2.0],
            "unit": ["uM", "ng/mL"],
            "signal": [1.0, 2.0],
        }
    )
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(
        InputError,
        match=r"bad\.csv.*column 'unit' row 3.*unknown concentration unit 'ng/mL'.*molecular weight",
    ):
        read_screen(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="unknown concentration unit 'furlong'"):
        read_screen(tmp_path / "bad.csv", conc_unit="furlong")


def test_no_unit_is_an_error(tmp_path):
    _theirs().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(
        InputError,
        match=r"t\.csv: column 'Dose' \(concentration\) row 4: concentration 1 has no unit"
        r".*conc_unit='uM' \(CLI: --conc-unit uM\)",
    ):
        read_screen(tmp_path / "t.csv", columns=MAP)


def test_missing_columns_suggest_close_matches(tmp_path):
    _theirs().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SchemaError) as err:
        read_screen(tmp_path / "t.csv", conc_unit="nM")
    msg = str(err.value)
    assert "t.csv" in msg and "'sample'" in msg and "'Cell line'" in msg  # found columns listed
    assert "Compound" in msg and "Dose" in msg  # aliases suggested
    assert "columns={" in msg
    with pytest.raises(SchemaError, match=r"does not have.*did you mean \['Cell line'\]"):
        read_screen(tmp_path / "t.csv", columns={"Cell lines": "sample"}, conc_unit="nM")


def test_non_numeric_and_negative_concentrations(tmp_path):
    df = _theirs()
    df["Dose"] = df["Dose"].astype(object)
    df.loc[3, "Dose"] = "10 uM"
    df.to_csv(tmp_path / "nn.csv", index=False)
    with pytest.raises(
        InputError, match=r"nn\.csv: column 'concentration' row 5: non-numeric value '10 uM'"
    ):
        read_screen(tmp_path / "nn.csv", columns=MAP, conc_unit="nM")
    df = _theirs()
    df.loc[2, "Dose"] = -1.0
    df.to_csv(tmp_path / "neg.csv", index=False)
    with pytest.raises(InputError, match=r"neg\.csv: column 'concentration' row 4: negative"):
        read_screen(tmp_path / "neg.csv", columns=MAP, conc_unit="nM")


def test_duplicate_wells(tmp_path):
    screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    df = screen.data.copy()
    df.loc[5, "well"] = df.loc[4, "well"]
    df.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(InputError, match=r"dup\.csv: duplicate well .*rows 6, 7"):
        read_screen(tmp_path / "dup.csv", conc_unit="uM")
    # without plate/well: same sample, drug, dose and replicate twice
    d = _theirs()
    d.loc[1, "Rep"] = 1
    d.to_csv(tmp_path / "dup2.csv", index=False)
    with pytest.raises(InputError, match=r"dup2\.csv: duplicate measurements: rows 2, 3"):
        read_screen(tmp_path / "dup2.csv", columns=MAP, conc_unit="nM")


def test_single_concentration_drug_is_kept(tmp_path):
    d = _theirs()
    extra = pd.DataFrame(
        {"Cell line": ["L1"], "Compound": ["drugB"], "Dose": [5.0], "Lum": [700.0], "Rep": [1]}
    )
    pd.concat([d, extra]).to_csv(tmp_path / "one.csv", index=False)
    s = read_screen(tmp_path / "one.csv", columns=MAP, conc_unit="uM")
    assert "drugB" in s.drugs and s.n_curves == 3


def test_all_nan_signal_column(tmp_path):
    d = _theirs()
    d["Lum"] = np.nan
    d.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(
        InputError, match=r"nan\.csv: column\(s\) \['signal'\] hold no numeric value"
    ):
        read_screen(tmp_path / "nan.csv", columns=MAP, conc_unit="nM")


def test_non_numeric_signal(tmp_path):
    d = _theirs()
    d["Lum"] = d["Lum"].astype(object)
    d.loc[6, "Lum"] = "1,5"
    d.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(InputError, match=r"s\.csv: column 'signal' row 8: non-numeric value '1,5'"):
        read_screen(tmp_path / "s.csv", columns=MAP, conc_unit="nM")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_screen(tmp_path / "nope.csv")
    (tmp_path / "x.dat").write_bytes(b"\x00\x01binary\x02")
    with pytest.raises(InputError, match=r"fmt='csv' \(CLI: --format csv\)"):
        read_screen(tmp_path / "x.dat")


def test_gdsc_raw_format_detected(tmp_path):
    raw = pd.DataFrame(
        {
            "BARCODE": 7,
            "SCAN_ID": 70,
            "COSMIC_ID": 906793,
            "CELL_LINE_NAME": "A375",
            "POSITION": [1, 50, 51, 52, 53, 54, 100],
            "TAG": ["UN-USED", "NC-1", "NC-0", "B", "PC-1", "L1-D1-S", "L1-D2-S"],
            "DRUG_ID": [None, 4000, None, None, 1862, 1003, 1003],
            "CONC": [None, None, None, None, 4.0, 0.1, 0.0316],
            "INTENSITY": [10, 30000, 31000, 800, 3000, 5000, 20000],
            "DURATION": 4,
        }
    )
    raw.to_csv(tmp_path / "g.csv.gz", index=False)
    s = read_screen(tmp_path / "g.csv.gz")
    assert s.data["role"].tolist() == [
        "negative",
        "untreated",
        "blank",
        "positive",
        "treated",
        "treated",
    ]
    # the plate format is the smallest holding the largest POSITION (100 -> 384 wells, 24 columns)
    assert s.data["well"].tolist()[0] == "C02"  # position 50 -> row 2 (C), col 1 (02)
    assert excluded_wells(s)["n_wells"].sum() == 1
    assert s.data["time"].iloc[0] == 96.0 and s.data["cosmic_id"].iloc[0] == 906793
    raw.loc[6, "CONC"] = 0.5  # D2 above D1
    raw.to_csv(tmp_path / "g2.csv", index=False)
    with pytest.raises(InputError, match=r"g2\.csv: row 8: tag L1-D2 .*D1 must be the maximum"):
        read_screen(tmp_path / "g2.csv")
    raw.loc[6, "TAG"] = "ZZ-9"
    raw.to_csv(tmp_path / "g3.csv", index=False)
    with pytest.raises(
        InputError, match=r"g3\.csv: column 'TAG' row 8: unknown GDSC tag 'ZZ-9'.*tag_roles"
    ):
        read_screen(tmp_path / "g3.csv")


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("curvecurator_raw_viability"),
    reason="needs ONCORESIST_DATA_MIRROR with curvecurator_raw_viability",
)
def test_curvecurator_toml_dispatched():
    from oncoresist.data._curvecurator import read_curvecurator

    toml = fetch_file("curvecurator_raw_viability", "ctrp_40uM/parameters_40.0.toml")
    fetch_file("curvecurator_raw_viability", "ctrp_40uM/dose_responses_40.0.tsv")
    via_reader = read_screen(toml)
    direct = read_curvecurator(toml)
    assert via_reader.data.equals(direct.data)
