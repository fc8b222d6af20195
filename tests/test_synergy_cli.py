"""Plots, report section, resistance comparison, demo and the ``synergy`` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import typer
from typer.testing import CliRunner

from oncoresist.synergy import (
    compare_synergy,
    make_combination_screen,
    plot_excess_heatmap,
    plot_single_agents,
    plot_surface_3d,
    score_combinations,
)
from oncoresist.synergy._cli import register
from oncoresist.synergy._demo import demo_sections


@pytest.fixture(scope="module")
def result():
    s = make_combination_screen(2, alpha12=5.0, rng=0)
    return score_combinations(s, models=["bliss", "loewe", "zip"], n_boot=20, rng=0)


def test_plots_return_figures(result):
    fig = plot_excess_heatmap(result, "0", model="loewe")
    assert isinstance(fig, go.Figure) and fig.data[0].type == "heatmap"
    assert fig.data[0].x[0] == "0" and len(fig.data[0].y) == 5
    assert plot_surface_3d(result, "1", model="zip").data[0].type == "surface"
    sa = plot_single_agents(result, "0")
    assert len(sa.data) == 4  # observed + fitted, two drugs


def test_report_section(result):
    sec = pytest.importorskip("oncoresist.report")
    section = __import__("oncoresist.synergy", fromlist=["report_section"]).report_section(result)
    assert isinstance(section, sec.Section)
    assert section.figures and section.tables[0][1].shape[0] == 6


def test_resistance_gain_detected():
    # same pair on two lines; only the resistant line has synergistic potency (alpha = 20)
    s = make_combination_screen(
        1,
        samples=("par", "res"),
        alpha12=np.array([1.0, 20.0]),
        alpha21=np.array([1.0, 20.0]),
        noise=0.02,
        rng=3,
    )
    res = score_combinations(s, models=["bliss", "musyc"], n_boot=30, rng=0)
    comp = compare_synergy(res, "par", "res")
    assert (comp.pairs["change"] == "gained").all()
    assert (comp.pairs["delta"] > 0).all()
    assert len(comp.surfaces) == 2 * 25


def test_demo_sections(tmp_path):
    pytest.importorskip("oncoresist.report")
    sections = demo_sections(tmp_path, rng=0)
    assert sections
    comp = pd.read_csv(tmp_path / "synergy_demo_resistance.csv")
    assert (comp["change"] == "gained").all()


def test_cli(tmp_path):
    s = make_combination_screen(2, rng=1)
    d = s.data.copy()
    d["response"] *= 100
    inp = tmp_path / "in.csv"
    d.to_csv(inp, index=False)
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        [
            "synergy",
            str(inp),
            "-o",
            str(out),
            "--models",
            "bliss,hsa",
            "--n-boot",
            "10",
            "--conc-unit",
            "uM",
        ],
    )
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(out / "synergy_scores.csv")
    assert set(scores["model"]) == {"bliss", "hsa"}
    assert "percent" in r.output


def _run_cli(args: list[str]) -> int:
    from oncoresist.cli import main

    return main(args)


@pytest.mark.skipif(
    not __import__("oncoresist.data", fromlist=["mirror_available"]).mirror_available(
        "synergyfinder_combo_matrices"
    ),
    reason="needs ONCORESIST_DATA_MIRROR with synergyfinder_combo_matrices",
)
def test_cli_scores_three_drug_blocks_and_sensitivity(tmp_path):
    """The CLI takes the 3-drug NCATS table (higher-order models) and writes CSS/RI/S and the
    consensus for 2-drug blocks (regression guard of the wiring; the numbers are tested in
    test_synergy_multi.py and test_synergy_sensitivity.py)."""
    import os

    folder = os.path.join(os.environ["ONCORESIST_DATA_MIRROR"], "synergyfinder_combo_matrices")
    out3 = tmp_path / "three"
    assert (
        _run_cli(["synergy", os.path.join(folder, "NCATS_screening_data.csv"), "-o", str(out3)])
        == 0
    )
    scores = pd.read_csv(out3 / "synergy_scores.csv")
    assert set(scores["model"]) == {"hsa", "bliss", "loewe", "zip"}
    assert scores["block_id"].nunique() == 2 and (out3 / "synergy_report.html").exists()
    out2 = tmp_path / "two"
    code = _run_cli(["synergy", os.path.join(folder, "ONEIL_screening_data.csv"), "-o", str(out2),
                     "--n-boot", "0"])  # fmt: skip
    assert code == 0
    sens = pd.read_csv(out2 / "sensitivity_scores.csv")
    assert {"css", "ri1", "ri2", "s_score"} <= set(sens.columns) and len(sens) == 2
    assert (out2 / "consensus.csv").exists()


def test_cli_reads_a_dose_matrix_and_a_missing_conc3_is_exit_2(tmp_path):
    doses_a, doses_b = [0, 0.1, 1, 10], [0, 0.3, 3, 30]
    rows = [["A \\ B (uM)", *doses_b]]
    for a in doses_a:
        ya = a / (a + 1)
        rows.append([a, *[round(100 * (ya + b / (b + 3) - ya * b / (b + 3)), 3) for b in doses_b]])
    grid = tmp_path / "grid.csv"
    grid.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    out = tmp_path / "m"
    assert _run_cli(["synergy", str(grid), "-o", str(out), "--layout", "matrix", "--n-boot", "0",
                     "--models", "bliss,hsa"]) == 0  # fmt: skip
    bliss = pd.read_csv(out / "synergy_scores.csv")
    # exact Bliss surface (responses rounded to 1e-3 points)
    assert abs(bliss.loc[bliss["model"] == "bliss", "score"].iloc[0]) < 1e-3
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "block_id,drug1,drug2,drug3,conc1,conc2,response,conc_unit\n"
        "1,a,b,c,0,0,0,uM\n1,a,b,c,1,0,10,uM\n1,a,b,c,0,1,10,uM\n1,a,b,c,1,1,30,uM\n"
    )
    assert _run_cli(["synergy", str(bad), "-o", str(tmp_path / "b")]) == 2
