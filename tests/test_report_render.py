"""The HTML report renderer: every table row behind a filter, scrolling wide tables, units in
headers, no ``nan`` in text, every fitted curve selectable, log axes that start at the data."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoresist._text import fmt_number
from oncoresist.report import Section, column_label, render_html

# lower-case "nan" is what an f-string prints for a missing number; "NaN" naming a value in a
# sentence ("norm_z NaN") is deliberate text
NAN_TEXT = re.compile(r">nan<| nan |nan\)|\(nan|>nan |= nan")


def _page_text(page: str) -> str:
    """The page without its scripts and figure data (plotly.js holds the word ``nan``)."""
    return re.sub(r"<script.*?</script>", "", page, flags=re.DOTALL)


def test_every_row_is_rendered_with_a_filter_and_a_count():
    """Regression guard: a 1,234-row table is written whole (no "first 50"), under a filter box
    and an "n of N rows" count, and the page loads nothing from the network."""
    df = pd.DataFrame({"sample": [f"S{i}" for i in range(1234)], "x": np.arange(1234.0)})
    page = render_html([Section("S", tables=[("all", df)])])
    assert page.count("<tr>") == 1234  # body rows; the header row carries a style attribute
    assert "S1233" in page
    assert 'class="tbl-filter"' in page and "1,234 of 1,234 rows" in page
    assert "function apply(input)" in page  # the inline filter script
    outside = _page_text(page)  # plotly.js's own strings hold URLs it never loads
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", outside)
    assert "<link" not in outside and "<script src" not in page
    template = Path(__file__).parents[1] / "src/oncoresist/report/templates/report.html"
    assert "http" not in template.read_text()
    assert "showing" not in outside and "first" not in outside


def test_only_huge_tables_are_cut_and_the_note_says_where_the_rest_is():
    """Regression guard: ``max_rows`` stays the cap (backward compatible); the note gives the
    counts and the file named in ``sources``."""
    df = pd.DataFrame({"x": range(25)})
    sec = Section("S", tables=[("fits", df)], max_rows=10, sources={"fits": "fits.csv"})
    page = render_html([sec])
    assert page.count("<tr>") == 10
    assert "the first 10 of 25 rows" in page and "fits.csv" in page
    assert Section("S").max_rows == 20_000


def test_wide_tables_scroll_inside_their_box():
    """Regression guard: a 60-column table sits in a scrolling container with a sticky header."""
    df = pd.DataFrame({f"column_{i}": [1.0, 2.0] for i in range(60)})
    page = render_html([Section("S", tables=[("wide", df)])])
    assert re.search(r'<div class="tbl-scroll"><table class="dataframe tbl" id="tbl-0-0">', page)
    css = re.search(r"\.tbl-scroll \{([^}]*)\}", page)
    assert css is not None and "overflow: auto" in css.group(1)
    assert "position: sticky" in page


def test_units_stand_in_headers_and_not_in_the_data():
    """Regression guard: concentrations are labelled µM (the package's canonical unit) and
    times days in report headers; the DataFrame (what commands write to CSV) keeps its names."""
    df = pd.DataFrame(
        {"ic50_abs": [1.0], "ic50_rel_ci_low": [0.5], "min_conc": [0.01], "median_ttp": [300.0],
         "hill_slope": [1.2]}
    )  # fmt: skip
    page = render_html([Section("S", tables=[("t", df)])])
    for header in ("ic50_abs (µM)", "ic50_rel_ci_low (µM)", "min_conc (µM)",
                   "median_ttp (days)", "<th>hill_slope</th>"):  # fmt: skip
        assert header in page
    assert list(df.columns) == ["ic50_abs", "ic50_rel_ci_low", "min_conc", "median_ttp",
                                "hill_slope"]  # fmt: skip
    assert column_label("ln_ic50_abs") == "ln_ic50_abs (ln µM)"
    assert column_label("ic50_abs_parental") == "ic50_abs_parental (µM)"
    assert column_label("exposure_gefitinib") == "exposure_gefitinib (µM·days)"
    assert column_label("mean_exposure_D01") == "mean_exposure_D01 (µM·days)"
    assert column_label("exposure_ratio") == "exposure_ratio"
    assert column_label("median_ttp_baseline") == "median_ttp_baseline (days)"
    assert column_label("pearson_norm_sd") == "pearson_norm_sd"
    assert column_label(3) == "3"


def test_fmt_number_words_missing_values():
    """Regression guard: NaN, None, inf and non-numbers give the word, numbers their format."""
    assert fmt_number(0.12345, ".3f") == "0.123"
    assert fmt_number(float("nan"), ".3f") == "n/a"
    assert fmt_number(None) == "n/a"
    assert fmt_number(pd.NA) == "n/a"
    assert fmt_number(-math.inf, ".2f", missing="not estimable") == "not estimable"
    assert fmt_number(np.float32(2.5), ".1f") == "2.5"
    assert fmt_number(1234, ",d") == "1,234"
    assert fmt_number("0.5") == "n/a"


def _screen_and_fits():
    from oncoresist.curves import fit_screen, normalise
    from oncoresist.data import make_screen

    syn = make_screen(n_samples=2, drugs=3, resistant_fold=[30.0, 3.0, 1.0], rng=1)
    norm = normalise(syn.screen)
    return norm, fit_screen(norm, ci="delta")


def test_every_fitted_curve_is_in_the_curve_menu():
    """Regression guard: the dose-response section's figure has one menu entry per fitted curve
    (status ok or imprecise), each carrying that curve's own measured points; the fits table
    lists every curve."""
    from oncoresist.curves._report import report_section

    screen, fits = _screen_and_fits()
    sec = report_section(fits, screen)
    ok = fits[fits["status"].isin(["ok", "imprecise"])]
    assert len(ok) >= 10
    fig = sec.figures[0]
    buttons = fig.layout.updatemenus[0].buttons
    assert len(buttons) == len(ok)
    assert fig.layout.meta == {"curves_shown": len(ok), "curves_selected": len(ok)}
    treated = screen.data[screen.data["role"] == "treated"]
    for button, (_, row) in zip(buttons, ok.iterrows(), strict=True):
        assert button.label.startswith(f"{row['sample']} / {row['drug']}")
        pts = treated[(treated["sample"] == row["sample"]) & (treated["drug"] == row["drug"])]
        xs = np.asarray(button.args[0]["x"][0], dtype=float)
        np.testing.assert_allclose(np.sort(xs), np.sort(pts["concentration"]), rtol=1e-3)
        assert len(button.args[0]["x"][1]) > 0  # the fitted line
    caption, table = sec.tables[0]
    assert caption == "Curve fits" and len(table) == len(fits)
    assert "The menu holds the first" not in sec.text  # every curve is in the menu


def test_curve_menu_says_how_many_when_capped():
    """Regression guard: above the menu's cap the text gives the counts and the API call."""
    from oncoresist.curves import plot_curves

    screen, fits = _screen_and_fits()
    fig = plot_curves(screen, fits, max_curves=3, view="menu")
    assert len(fig.layout.updatemenus[0].buttons) == 3
    assert fig.layout.meta["curves_selected"] == len(fits)
    overlay = plot_curves(screen, fits)  # the old default: an overlay of up to 12 curves
    assert not overlay.layout.updatemenus and overlay.layout.meta["curves_shown"] == 12


def test_evolution_log_axis_starts_at_the_documented_floor():
    """Regression guard: a clone that dies out (cells -> 1e-9 and below) no longer stretches the
    log axis to 1e-12; the axis starts at :func:`log_floor` (one cell, or 1e-6 x the peak for
    a model counted in ~1e4 units as this one) and the clipped points say so in their hover
    text."""
    from oncoresist.evolution import simulate, zhang2017_model, zhang2017_schedules
    from oncoresist.evolution._plot import LOG_FLOOR_DECADES, log_floor, plot_trajectories

    res = simulate(zhang2017_model(), zhang2017_schedules()["continuous"], t_end=600, dt=5)
    fig = plot_trajectories(res)
    cells = res.trajectories["cells"].to_numpy(float)
    assert cells.min() < 1e-6  # the extinct clone that used to set the axis
    peak = max(cells.max(), res.burden["total"].max())
    floor = fig.layout.meta["log_floor"]
    assert floor == pytest.approx(log_floor(np.r_[cells, res.burden["total"]]))
    assert floor >= min(1.0, peak * 10.0**-LOG_FLOOR_DECADES)  # one cell, or 6 decades
    assert fig.layout.yaxis.range[0] >= np.log10(floor) - 1e-9
    assert fig.layout.yaxis.range[1] >= np.log10(peak)
    assert all(min(tr.y) >= floor for tr in fig.data)
    assert any("drawn at the floor" in t for tr in fig.data for t in tr.text)
    assert "floor" in fig.layout.title.text
    assert plot_trajectories(res, log_y=False).layout.yaxis.type == "linear"


def _cheap_sections() -> list[Section]:
    """Sections of several capabilities on small synthetic inputs (seconds, no data)."""
    from oncoresist.crispr import crispr_qc, drugz, simulate_crispr_screen
    from oncoresist.crispr._report import report_section as crispr_section
    from oncoresist.curves._report import report_section as curves_section
    from oncoresist.evolution import simulate, zhang2017_model, zhang2017_schedules
    from oncoresist.evolution._report import report_section as evolution_section
    from oncoresist.predict._design import pair_frame
    from oncoresist.predict._evaluate import evaluate
    from oncoresist.predict._models import DrugMean, MeanEffects, PerDrugElasticNet
    from oncoresist.predict._report import report_section as predict_section
    from oncoresist.predict._synthetic import make_response_panel

    screen, fits = _screen_and_fits()
    sections = [curves_section(fits, screen)]
    panel, _ = make_response_panel(n_samples=40, n_drugs=3, rng=0)
    X, y = pair_frame(panel)
    models = {"drug_mean": DrugMean(), "mean_effects": MeanEffects(),
              "elastic_net": PerDrugElasticNet(random_state=0)}  # fmt: skip
    ev = evaluate(models, X, y, splits=["cell_line"], n_splits=3, rng=0, progress=False)
    sections.append(predict_section(ev, dataset="synthetic"))
    crispr, _ = simulate_crispr_screen(n_genes=300, sensitisers=10, suppressors=10,
                                       essential=30, rng=0)  # fmt: skip
    sections.append(crispr_section([drugz(crispr)], qc=crispr_qc(crispr), kb_join=False))
    model, schedules = zhang2017_model(), zhang2017_schedules()
    runs = [simulate(model, schedules[k], t_end=400, dt=5) for k in ("continuous", "adaptive")]
    sections.append(evolution_section(runs))
    return sections


def test_no_section_prints_nan_where_a_number_was_meant():
    """Regression guard: report text says "n/a" for a metric that is not defined (the
    mean-effects baseline's per-drug Pearson is NaN: the baseline is constant within a drug),
    and NaN table cells stay empty."""
    sections = _cheap_sections()
    predict = sections[1]
    assert "mean-effects baseline n/a" in predict.text
    page = _page_text(render_html(sections))
    found = [page[max(0, m.start() - 60) : m.end() + 20] for m in NAN_TEXT.finditer(page)]
    assert not found


def _browser():
    """A headless Chromium through playwright, or a skip when there is none."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    pw = sync_api.sync_playwright().start()
    try:
        return pw, pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    except Exception as exc:  # no browser installed for playwright
        pw.stop()
        pytest.skip(f"no headless browser: {type(exc).__name__}")


@pytest.mark.slow
def test_filter_and_sort_work_in_a_browser(tmp_path):
    """Regression guard, in a real browser: typing words hides the rows that lack any of them
    and updates the count; a header click sorts numerically with empty cells last."""
    from oncoresist.report import render_report

    df = pd.DataFrame({"sample": [f"S{i}" for i in range(30)], "drug": ["x", "y"] * 15,
                       "ic50_abs": np.r_[np.arange(29, 0, -1) / 10, np.nan]})  # fmt: skip
    page_path = render_report([Section("T", tables=[("fits", df)])], tmp_path / "r.html")
    pw, browser = _browser()
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.fill("input.tbl-filter", "y S1")
        page.wait_for_timeout(400)
        visible = (
            "rs => rs.filter(r => r.style.display !== 'none').map(r => r.cells[0].textContent)"
        )
        assert page.eval_on_selector_all("tbody tr", visible) == [
            f"S{i}" for i in (1, 11, 13, 15, 17, 19)
        ]
        assert page.inner_text(".tbl-count") == "6 of 30 rows"
        page.fill("input.tbl-filter", "")
        page.wait_for_timeout(400)
        page.click("th:nth-child(3)")
        col = page.eval_on_selector_all("tbody tr", "rs => rs.map(r => r.cells[2].textContent)")
        assert col[:3] == ["0.1", "0.2", "0.3"] and col[-1] == ""
        assert not errors
    finally:
        browser.close()
        pw.stop()
