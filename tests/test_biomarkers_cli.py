"""``oncoresist associate`` on a synthetic directory panel: outputs, offline HTML, clear errors.

Ground truth: the panel of :func:`oncoresist.data.make_panel` with a continuous layer whose first
feature drives drug D000 (planted, slope 1 per unit); regression guards for the CLI's outputs.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.data import make_panel

EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    panel, _ = make_panel(n_samples=120, n_drugs=6, n_features=20, n_associations=2, rng=1)
    d = tmp_path_factory.mktemp("panel")
    rng = np.random.default_rng(2)
    expr = pd.DataFrame(
        rng.normal(size=(120, 30)), index=panel.samples, columns=[f"E{i}" for i in range(30)]
    )
    resp = panel.responses.copy()
    resp["D000"] = resp["D000"] + 3.0 * expr["E0"]
    resp.to_csv(d / "responses.csv")
    panel.layers["mutation"].to_csv(d / "mutation.csv")
    expr.to_csv(d / "expression.csv")
    ann = panel.sample_annotations.copy()
    ann.iloc[:3, ann.columns.get_loc("tissue")] = np.nan  # three lines without a tissue
    ann.to_csv(d / "samples.csv")
    panel.drug_annotations.to_csv(d / "drugs.csv")
    return d


def test_continuous_run_writes_report_and_self_contained_figures(panel_dir, tmp_path):
    """Regression guard: report.html and every figure work offline (no external script); the
    covariate file counts the lines without a tissue; the planted slope is found first."""
    out = tmp_path / "out"
    args = ["associate", str(panel_dir), "-o", str(out), "--continuous", "--metric", "ln_ic50"]
    assert main([*args, "--quiet"]) == 0
    for name in ("report.html", "volcano.html", "heatmap.html", "linear_associations.csv"):
        assert (out / name).exists(), name
    for html in out.glob("*.html"):
        assert not EXTERNAL_SCRIPT.search(html.read_text(encoding="utf-8")), html
    cov = pd.read_csv(out / "sample_covariates.csv")
    assert (cov["status"] == "missing tissue").sum() == 3
    lin = pd.read_csv(out / "linear_associations.csv")
    top = lin.iloc[0]
    assert (top["drug"], top["feature"]) == ("D000", "E0")
    assert top["covariates"] == "tissue+msi"
    assert top["association"] == "resistance"  # higher expression, higher ln IC50


def test_drug_option_by_name_and_unknown_drug(panel_dir, tmp_path, capsys):
    """Regression guard: --drug takes an identifier or a name; an unknown one exits 2 naming it."""
    out = tmp_path / "out"
    base = ["associate", str(panel_dir), "-o", str(out), "--continuous", "--quiet"]
    assert main([*base, "--drug", "drug D001", "--layer", "expression"]) == 0
    lin = pd.read_csv(out / "linear_associations.csv")
    assert set(lin["drug"]) == {"D001"}
    code = main([*base[:3], str(tmp_path / "o2"), "--drug", "D0001", "--continuous"])
    err = capsys.readouterr().err
    assert code == 2 and "--drug 'D0001'" in err and "D001" in err


def test_continuous_layer_without_flag_says_pass_continuous(panel_dir, tmp_path, capsys):
    """Regression guard: the former message ('add a binary layer or pass --continuous') was
    shown even with --continuous; now each case names its fix."""
    out = tmp_path / "out"
    code = main(["associate", str(panel_dir), "-o", str(out), "--layer", "expression"])
    assert code == 2 and "pass --continuous" in capsys.readouterr().err
    code = main(["associate", str(panel_dir), "-o", str(out), "--layer", "rna", "--continuous"])
    err = capsys.readouterr().err
    assert code == 2 and "--layer rna" in err and "no such layer" in err
