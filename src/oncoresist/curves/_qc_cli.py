"""Command line: ``oncoresist qc SCREEN -o OUT``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``qc`` command to ``app``."""

    @app.command("qc")
    def qc(
        screen: Path = typer.Argument(
            ..., help="Well-level screen (csv/tsv/parquet/xlsx, GDSC raw)."
        ),
        out: Path = typer.Option(
            ..., "-o", "--out", help="QC table to write (.csv, .tsv, .parquet)."
        ),
        conc_unit: str | None = typer.Option(
            None, help="Concentration unit when the file has none."
        ),
        zprime_min: float = typer.Option(0.5, help="Z' below this flags a plate (low_zprime)."),
        cv_max: float = typer.Option(0.2, help="CV of negative controls above this flags high_cv."),
    ) -> None:
        """Plate quality control: Z', robust Z', SSMD, CVs, edge effects and flags per plate."""
        from rich.console import Console
        from rich.table import Table

        from .._io import write_table
        from ..data._readers import read_screen
        from ._qc import plate_qc

        data = read_screen(screen, conc_unit=conc_unit)
        table = plate_qc(data, zprime_min=zprime_min, cv_max=cv_max)
        write_table(table, out)
        console = Console()
        summary = Table(title=f"Plate QC: {screen.name}")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        zp = table["z_prime"]
        summary.add_row("plates", str(len(table)))
        summary.add_row("passed", f"{int(table['pass'].sum())} ({table['pass'].mean():.0%})")
        summary.add_row(
            "Z' median [5%, 95%]",
            f"{zp.median():.3f} [{zp.quantile(0.05):.3f}, {zp.quantile(0.95):.3f}]",
        )
        summary.add_row("robust Z' median", f"{table['robust_z_prime'].median():.3f}")
        flags = table["flags"].str.split(";").explode()
        for name, n in flags[flags != ""].value_counts().items():
            summary.add_row(f"flag {name}", str(int(n)))
        console.print(summary)
        console.print(f"wrote {out}")
