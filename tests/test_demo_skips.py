"""``oncoresist demo`` without the data: every real part it skips is named in the report, with
the data layer's fix, and library warnings are listed in the report, not printed raw."""

from __future__ import annotations

import sys
import types
import warnings

import pandas as pd
import pytest

from oncoresist import _demo
from oncoresist.report import Section


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """No mirror and an empty cache: what a fresh install without network sees."""
    monkeypatch.setenv("ONCORESIST_DATA_MIRROR", "")
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path / "cache"))


def test_every_real_part_missing_is_named_with_the_data_layers_fix(no_data):
    """Regression guard: with only synthetic sections (what the stages give without data), each
    real part of :data:`REAL_PARTS` is listed with its data set and the data layer's message,
    which says how to point the package at the data."""
    sections = [
        Section("Dose-response curves", text="<p>synthetic</p>"),
        Section("Dose-response: real GDSC raw plates", text="<p>Skipped: no plates here</p>"),
        Section("Resistance mechanisms (synthetic expression panel)", text="<p>stand-in</p>"),
    ]
    rows = _demo.skipped_parts(sections)
    assert [(r["stage"], r["part"]) for r in rows] == [(p.stage, p.part) for p in _demo.REAL_PARTS]
    by_part = {r["part"]: r for r in rows}
    assert by_part[_demo.REAL_PARTS[0].part]["why"] == "no plates here"  # the part's own words
    for r in rows[1:]:
        assert "ONCORESIST_DATA_MIRROR" in r["why"], r
        assert r["needs"] in r["why"]


def test_parts_that_ran_are_not_listed(no_data):
    """Regression guard: a real part whose section (and table) is present is not "skipped"."""
    present = [
        Section(p.title + " (x)", tables=[(p.caption + " table", pd.DataFrame())] if p.caption
                else [])
        for p in _demo.REAL_PARTS
    ]  # fmt: skip
    assert _demo.skipped_parts(present) == []
    not_assessable = pd.DataFrame(
        {"source": ["depmap", "kb"], "item": ["selective dependencies", "drugs"],
         "reason": ["data unavailable: depmap_x/a.parquet not available; tried: ...", "none"]}
    )  # fmt: skip
    rows = _demo.skipped_parts(
        [*present, Section("Strategy: model", tables=[("Not assessable", not_assessable)])]
    )
    assert rows == [{"stage": "Strategy", "part": "selective dependencies", "needs": "depmap_x",
                     "why": "depmap_x/a.parquet not available; tried: ..."}]  # fmt: skip


def test_demo_report_lists_skips_and_warnings_not_raw_stderr(no_data, monkeypatch, tmp_path, capfd):
    """Regression guard: run_demo (stages replaced by quick stand-ins, one raising a library
    warning) writes a "Skipped parts" section naming every real part and a "Warnings" section
    with the message and category; the console stays short (no warning text, no source paths)."""
    from oncoresist.curves import _demo as curves_demo
    from oncoresist.evolution import _demo as evolution_demo

    def stage(out_dir, *, rng=0, progress=False, fits=None):
        warnings.warn("a <odd> library warning", UserWarning, stacklevel=1)
        warnings.warn("a <odd> library warning", UserWarning, stacklevel=1)
        return [Section("Stand-in", text="<p>synthetic</p>")]

    module = types.ModuleType("stand_in_stage")
    module.demo_sections = stage  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stand_in_stage", module)
    monkeypatch.setattr(_demo, "STAGES", (("Stand-in", "stand_in_stage"),))
    monkeypatch.setattr(
        curves_demo, "demo_sections", lambda out, rng=0, progress=False: ([], pd.DataFrame())
    )
    monkeypatch.setattr(evolution_demo, "demo_sections", stage)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping the demo's capture fails the test
        report = _demo.run_demo(tmp_path / "demo", progress=True)
    page = report.read_text()
    assert "<h2>Skipped parts</h2>" in page and "<h2>Warnings</h2>" in page
    for p in _demo.REAL_PARTS:
        assert f"Skipped: {p.stage}: {p.part}".replace("'", "&#x27;") in page
    assert "a &lt;odd&gt; library warning" in page and "UserWarning" in page
    out, err = capfd.readouterr()
    console = out + err
    assert "odd" not in console and ".py:" not in console
    assert "real-data part(s) skipped" in console and "2 warning(s)" in console
