"""Every command writes a self-contained ``report.html`` (issue 18): ``qc``, ``annotate``,
``simulate`` and ``associate``.

Evidence kind: regression guards of the CLI's outputs (the files, the run manifest, the
report's parts), on synthetic inputs with known content; none of these is agreement with an
outside answer. The outside answer of ``simulate`` (Zhang et al. 2017) is in
``tests/test_simulate_defaults.py``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoresist._io import read_run
from oncoresist.cli import main

EXAMPLES = Path(__file__).parents[1] / "src" / "oncoresist" / "evolution" / "examples"
# anything the page would fetch: a script, stylesheet, image or font from another host
NETWORK = re.compile(
    r"<(?:script|link|img|iframe)[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//|url\([\"']?(?:https?:)?//",
    re.IGNORECASE,
)
HAVE_BROWSER = (
    importlib.util.find_spec("kaleido") is not None
    and (shutil.which("chromium") or shutil.which("chromium-browser")) is not None
)


def _screen_csv(path: Path) -> Path:
    from oncoresist.data import make_screen

    syn = make_screen(n_samples=1, drugs=2, rng=3)
    syn.screen.data.assign(conc_unit="uM").to_csv(path, index=False)
    return path


def _profile(tmp_path: Path) -> Path:
    from oncoresist.mechanisms import example_profile_path

    p = tmp_path / "h1975.yaml"
    p.write_bytes(Path(example_profile_path()).read_bytes())
    return p


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    from oncoresist.data import make_panel

    panel, _ = make_panel(
        n_samples=60, n_drugs=4, n_features=8, n_associations=1, n_confounded=1, rng=1
    )
    d = tmp_path_factory.mktemp("panel")
    panel.responses.to_csv(d / "responses.csv")
    panel.layers["mutation"].to_csv(d / "mutation.csv")
    rng = np.random.default_rng(2)
    pd.DataFrame(
        rng.normal(size=(60, 5)), index=panel.samples, columns=[f"E{i}" for i in range(5)]
    ).to_csv(d / "expression.csv")
    panel.sample_annotations.to_csv(d / "samples.csv")
    return d


def _command(name: str, tmp_path: Path, panel_dir: Path) -> tuple[list[str], Path]:
    """The command line of ``name`` writing into ``tmp_path / 'out'``, and that folder."""
    out = tmp_path / "out"
    if name == "qc":
        return ["qc", str(_screen_csv(tmp_path / "s.csv")), "-o", str(out)], out
    if name == "annotate":
        prof = _profile(tmp_path)
        return ["annotate", str(prof), "--drug", "gefitinib", "--drug", "osimertinib",
                "--reference", "none", "-o", str(out)], out  # fmt: skip
    if name == "simulate":
        scheds = f"{EXAMPLES / 'continuous.yaml'},{EXAMPLES / 'adaptive.yaml'}"
        return ["simulate", str(EXAMPLES / "zhang2017_model.yaml"), "--schedules", scheds,
                "--t-end", "300", "-o", str(out)], out  # fmt: skip
    return ["associate", str(panel_dir), "-o", str(out), "--continuous", "--quiet"], out


def _check_report(page: str, *, n_figures: int) -> None:
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "What was run" in page
    assert not NETWORK.search(page), NETWORK.search(page)
    assert page.count("Plotly.newPlot(") >= n_figures
    assert ">nan<" not in page.lower()


@pytest.mark.parametrize(
    ("name", "n_figures", "marker"),
    [
        ("qc", 3, "Plate QC"),  # Z' per plate + 2 plate heatmaps
        ("annotate", 2, "Resistance mechanisms"),  # one mechanism chart per drug
        ("simulate", 3, "schedule comparison"),  # comparison + one trajectory per schedule
        ("associate", 2, "Continuous features"),
    ],
)
def test_command_writes_a_complete_self_contained_report(
    name, n_figures, marker, tmp_path, panel_dir, capsys
):
    """Regression guard: report.html in the output folder, listed in a complete manifest with
    the command's name, offline (no network URL), with its figures, the 'what was run' part,
    and the path printed at the end."""
    args, out = _command(name, tmp_path, panel_dir)
    assert main(args) == 0
    printed = capsys.readouterr().out
    run = read_run(out)  # verifies every file's checksum
    assert run.complete and run.command == name
    assert "report.html" in run.files
    page = (out / "report.html").read_text(encoding="utf-8")
    _check_report(page, n_figures=n_figures)
    assert marker in page
    tail = " ".join(printed.split())  # rich wraps long paths
    assert "report:" in tail and "report.html" in tail.replace(" ", "")


def test_qc_report_shows_zprime_heatmaps_and_flags(tmp_path):
    """Regression guard: the QC report has Z' per plate, a heatmap per plate, the flags table,
    and every option in 'what was run'; a failing plate is a warning there."""
    screen = _screen_csv(tmp_path / "s.csv")
    out = tmp_path / "qc"
    assert main(["qc", str(screen), "-o", str(out), "--zprime-min", "0.99"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Z&#39; per plate" in page or "Z' per plate" in page
    assert page.count("Plate PL") >= 2  # heatmap titles 'Plate <id>: signal'
    assert "Flags (plates per flag)" in page and "low_zprime" in page
    assert "zprime_min" in page and "fails QC" in page
    qc = pd.read_csv(out / "qc.csv")
    assert not qc["pass"].any()


@pytest.mark.parametrize("name", ["qc", "annotate"])
def test_table_output_keeps_working_and_gets_its_report_beside(name, tmp_path):
    """Regression guard (backward compatibility): -o TABLE.tsv still writes that table, and the
    report lands beside it as TABLE_report.html (no manifest: a single-file output)."""
    if name == "qc":
        table = tmp_path / "qc.tsv"
        args = ["qc", str(_screen_csv(tmp_path / "s.csv")), "-o", str(table)]
    else:
        table = tmp_path / "evidence.tsv"
        args = ["annotate", str(_profile(tmp_path)), "--drug", "gefitinib", "--reference",
                "none", "-o", str(table)]  # fmt: skip
    assert main(args) == 0
    assert len(pd.read_csv(table, sep="\t"))
    report = tmp_path / f"{table.stem}_report.html"
    _check_report(report.read_text(encoding="utf-8"), n_figures=1)
    assert not (tmp_path / "oncoresist-run.json").exists()


def test_annotate_report_never_replaces_an_input(tmp_path, capsys):
    """Regression guard: a profile named like the report beside the table is refused before any
    work; nothing is written."""
    prof = tmp_path / "ev_report.html"
    prof.write_bytes(Path(_profile(tmp_path)).read_bytes())
    before = prof.read_bytes()
    code = main(["annotate", str(prof), "--drug", "gefitinib", "-o", str(tmp_path / "ev.tsv")])
    assert code == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert prof.read_bytes() == before and not (tmp_path / "ev.tsv").exists()


def test_annotate_without_out_writes_nothing(tmp_path, monkeypatch):
    """Regression guard: without -o annotate prints only (as before), no report appears."""
    prof = _profile(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["annotate", str(prof), "--drug", "gefitinib", "--reference", "none"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [prof.name]


@pytest.mark.skipif(not HAVE_BROWSER, reason="static figures need kaleido and the system chromium")
def test_figures_option_exports_the_new_reports_figures(tmp_path):
    """Regression guard: oncoresist --figures png qc / simulate writes every report figure as a
    PNG into figures/ beside report.html, listed in the manifest."""
    from oncoresist.errors import OutputError
    from oncoresist.report import figure_bytes

    try:
        import plotly.graph_objects as go

        figure_bytes(go.Figure(), "png")
    except OutputError as exc:  # a chromium that does not start here
        pytest.skip(f"kaleido cannot render here: {exc}")
    out = tmp_path / "qc"
    assert (
        main(["--figures", "png", "qc", str(_screen_csv(tmp_path / "s.csv")), "-o", str(out)]) == 0
    )
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) == 3  # Z' per plate + two plate heatmaps
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert {f"figures/{p.name}" for p in pngs} <= set(read_run(out).files)
    sim = tmp_path / "sim"
    scheds = f"{EXAMPLES / 'continuous.yaml'},{EXAMPLES / 'adaptive.yaml'}"
    assert main(["--figures", "png", "simulate", str(EXAMPLES / "zhang2017_model.yaml"),
                 "--schedules", scheds, "--t-end", "200", "-o", str(sim)]) == 0  # fmt: skip
    assert len(list((sim / "figures").glob("*.png"))) == 3
    # the curve menu of a fit report is written once per fitted curve, not its first view only
    fit = tmp_path / "fit"
    assert main(["--figures", "svg", "fit", str(_screen_csv(tmp_path / "s2.csv")), "-o", str(fit),
                 "--quiet"]) == 0  # fmt: skip
    fits = pd.read_parquet(fit / "fits.parquet")
    shown = fits["status"].isin(["ok", "imprecise"]).sum()
    curves = [p.name for p in (fit / "figures").glob("*Dose-response_curves*.svg")]
    assert len(curves) == shown >= 2, curves


def test_reader_warnings_reach_the_report(tmp_path):
    """Regression guard (issue 18: library warnings belong in the report, not only on
    stderr): a screen changed since the run that wrote it is read with a warning, which the
    qc and fit reports list under "Input notes"."""
    from oncoresist._io import output_run

    with output_run(tmp_path / "run", command="test", inputs=[], params={}) as run:
        _screen_csv(run.path("s.csv"))
    screen = tmp_path / "run" / "s.csv"
    screen.write_text(screen.read_text() + "\n")  # changed after the run wrote it
    assert main(["qc", str(screen), "-o", str(tmp_path / "qc")]) == 0
    assert main(["fit", str(screen), "-o", str(tmp_path / "fit"), "--quiet"]) == 0
    for out in ("qc", "fit"):
        page = (tmp_path / out / "report.html").read_text()
        assert "warning while reading:" in page and "changed since" in page
