"""Command line: ``oncoresist fit`` and ``oncoresist shift`` (registered on the main app).

Both read any screen ``read_screen`` accepts. A screen of raw reads is first checked (plate QC)
and normalised with its plate controls; a screen that already has ``viability`` is used as is.
Outputs are written atomically: tables as Parquet and CSV, and a self-contained ``report.html``.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def _prepare(path: Path, conc_unit: str | None):
    """Read a screen; QC and normalise raw reads. Returns (screen, qc table or None)."""
    from ..data import read_screen
    from ._normalise import normalise
    from ._qc import plate_qc

    screen = read_screen(path, conc_unit=conc_unit)
    if screen.is_normalised:
        return screen, None
    qc = plate_qc(screen) if screen.plates else None
    return normalise(screen), qc


def _qc_section(qc):
    from ..report import Section

    failed = int((~qc["pass"]).sum())
    text = (
        f"<p>{len(qc)} plates; {failed} fail the default QC (flags are reported, no well is "
        f"excluded). Median Z' {qc['z_prime'].median():.2f}.</p>"
    )
    return Section("Plate QC", text=text, tables=[("QC per plate", qc)])


def register(app: typer.Typer) -> None:
    """Add the ``fit`` and ``shift`` commands to ``app``."""

    @app.command("fit")
    def fit_cmd(
        screen: Path = typer.Argument(..., help="screen table (any format read_screen accepts)"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
        loss: str = typer.Option("linear", help="linear, soft_l1, huber"),
        ci: str = typer.Option("delta", help="delta, bootstrap or none"),
        conc_unit: str | None = typer.Option(
            None, help="concentration unit when the file has none"
        ),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    ) -> None:
        """Fit every dose-response curve; writes fits.parquet, fits.csv and report.html."""
        from rich import print as rprint

        from .._io import write_table
        from ..report import render_report
        from ._report import report_section
        from ._screen_fit import fit_screen

        data, qc = _prepare(screen, conc_unit)
        fits = fit_screen(
            data, model=model, loss=loss, ci=None if ci == "none" else ci, progress=not quiet
        )
        write_table(fits, out / "fits.parquet")
        write_table(fits, out / "fits.csv")
        sections = []
        if qc is not None:
            write_table(qc, out / "qc.csv")
            sections.append(_qc_section(qc))
        sections.append(report_section(fits, data))
        report = render_report(sections, out / "report.html", title=f"Curve fits: {screen.name}")
        counts = fits["status"].value_counts().to_dict()
        rprint(f"[bold]{len(fits)}[/bold] curves fitted: {counts}; report: {report}")

    @app.command("shift")
    def shift_cmd(
        screen: Path = typer.Argument(..., help="screen table"),
        parental: str = typer.Option(..., help="parental sample name"),
        resistant: list[str] = typer.Option(..., help="resistant sample name(s)"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
        conc_unit: str | None = typer.Option(
            None, help="concentration unit when the file has none"
        ),
    ) -> None:
        """IC50 fold shift (resistance index) with CI and shared-EC50 F-test per drug."""
        from rich import print as rprint

        from .._io import write_table
        from ..report import Section, render_report
        from ._plot import plot_shift
        from ._screen_fit import fit_screen, resistance_shift

        data, qc = _prepare(screen, conc_unit)
        res = resistance_shift(data, parental=parental, resistant=resistant, model=model)
        write_table(res, out / "shift.parquet")
        write_table(res, out / "shift.csv")
        sub = data.subset(samples=[parental, *resistant])
        fits = fit_screen(sub, model=model)
        figures = [
            plot_shift(sub, fits, parental=parental, resistant=resistant, drug=d)
            for d in res.sort_values("pvalue")["drug"].unique()[:6]
        ]
        sig = int((res["fdr"] < 0.05).sum())
        text = (
            f"<p>{parental} vs {', '.join(resistant)}: {len(res)} comparisons, {sig} with a "
            "shared-EC50 F-test FDR below 0.05. The resistance index is IC50(resistant) / "
            "IC50(parental) with a 95% CI; curves of the six most significant drugs below.</p>"
        )
        sections = [] if qc is None else [_qc_section(qc)]
        sections.append(
            Section(
                "Resistance fold-shift", text=text, figures=figures, tables=[("Fold-shifts", res)]
            )
        )
        report = render_report(sections, out / "report.html", title=f"Fold-shift: {screen.name}")
        rprint(f"[bold]{len(res)}[/bold] drug comparisons, {sig} with FDR < 0.05; report: {report}")
