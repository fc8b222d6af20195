"""Self-contained HTML reports."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from oncoresist.report import Section, render_report


def test_report_is_self_contained_and_atomic(tmp_path):
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    table = pd.DataFrame({"ic50": [1.234567, 2.0], "sample": ["a", "<b>"]})
    out = render_report(
        [Section("Curves", text="<p>two</p>", figures=[fig], tables=[("fits", table)])],
        tmp_path / "sub" / "report.html",
        title="T",
    )
    text = out.read_text()
    assert "<script src=" not in text  # no network needed to view it
    assert "plotly" in text.lower()
    assert "1.235" in text
    assert "&lt;b&gt;" in text  # table cells are escaped
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temp file left


def test_tables_over_max_rows_are_cut_with_a_note(tmp_path):
    table = pd.DataFrame({"x": range(120)})
    out = render_report([Section("S", tables=[("t", table)], max_rows=10)], tmp_path / "r.html")
    assert "the first 10 of 120 rows" in out.read_text()
