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


def _synthetic_csv(tmp_path):
    from oncoresist.data import make_screen

    syn = make_screen(n_samples=1, drugs=3, resistant_fold=[20.0, 5.0, 1.0], rng=3)
    path = tmp_path / "screen.csv"
    syn.screen.data.assign(conc_unit="uM").to_csv(path, index=False)
    return path, syn.truth


def test_fit_normalises_raw_reads_and_writes_report(tmp_path):
    path, truth = _synthetic_csv(tmp_path)
    out = tmp_path / "fits"
    assert main(["fit", str(path), "-o", str(out), "--quiet"]) == 0
    fits = pd.read_parquet(out / "fits.parquet")
    assert len(fits) == len(truth)  # one row per curve
    assert (out / "qc.csv").exists() and (out / "report.html").stat().st_size > 100_000
    # make_screen's ic50 is the generating curve's EC50: compare the relative IC50
    both = fits.merge(truth.rename(columns={"ic50": "ic50_true"}), on=["sample", "drug"])
    err = abs(
        pd.Series(both["ic50_rel"] / both["ic50_true"]).map(float).apply(__import__("math").log)
    )
    assert err.median() < 0.3  # ground truth from make_screen (5% noise)


def test_shift_finds_the_planted_resistance(tmp_path):
    path, truth = _synthetic_csv(tmp_path)
    out = tmp_path / "shift"
    code = main(["shift", str(path), "--parental", "P01", "--resistant", "P01-R", "-o", str(out)])
    assert code == 0
    res = pd.read_csv(out / "shift.csv").set_index("drug")
    true = truth[truth["is_resistant"]].set_index("drug")["fold_shift"]
    strong = true[true >= 5].index
    assert (res.loc[strong, "fdr"] < 0.05).all()
    # one draw: the estimate is close to the truth (CI coverage over many drugs is tested in
    # test_curves_engine.py: 0.950 over 300 drugs)
    ratio = res.loc[strong, "resistance_index"] / true[strong]
    assert ((ratio > 0.5) & (ratio < 2.0)).all()
    ri = res["resistance_index"]
    assert ((res["ri_ci_low"] < ri) & (ri < res["ri_ci_high"])).all()
