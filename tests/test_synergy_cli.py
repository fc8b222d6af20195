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
    assert (comp.summary["change"] == "gained").all()
    assert (comp.summary["delta"] > 0).all()
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
