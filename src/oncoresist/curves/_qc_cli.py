"""Command line: ``oncoresist qc SCREEN -o OUT`` (a screen, or a plate-reader export with ``--plate-map``)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._cli import (
    opt_column,
    opt_conc_unit,
    opt_decimal,
    opt_format,
    opt_plate,
    opt_plate_map,
    opt_read,
    opt_sep,
    opt_sheet,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``qc`` command to ``app``."""

    @app.command("qc")
    def qc(
        screen: Path = typer.Argument(
            ..., help="Well-level screen (csv/tsv/parquet/xlsx, GDSC raw) or plate-reader export."
        ),
        out: Path = typer.Option(
            ..., "-o", "--out", help="QC table to write (.csv, .tsv, .parquet)."
        ),
        plate_map: Path | None = opt_plate_map(),
        fmt: str | None = opt_format(),
        sheet: str | None = opt_sheet(),
        sep: str | None = opt_sep(),
        decimal: str | None = opt_decimal(),
        read: str | None = opt_read(),
        plate: list[str] | None = opt_plate(),
        column: list[str] | None = opt_column(),
        conc_unit: str | None = opt_conc_unit(),
        zprime_min: float = typer.Option(0.5, help="Z' below this flags a plate (low_zprime)."),
        cv_max: float = typer.Option(0.2, help="CV of negative controls above this flags high_cv."),
    ) -> None:
        """Plate quality control: Z', robust Z', SSMD, CVs, edge effects and flags per plate."""
        from rich.console import Console
        from rich.table import Table

        from .._io import check_output_file, write_table
        from ._cli import ReadArgs, read_input
        from ._qc import plate_qc

        args = ReadArgs(plate_map=plate_map, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal,
                        read=read, plate=plate, column=column, conc_unit=conc_unit)  # fmt: skip
        inputs = [p for p in (screen, plate_map) if p is not None]
        check_output_file(out, inputs=inputs)  # before the work: a clash fails at once
        data = read_input(screen, args)
        table = plate_qc(data, zprime_min=zprime_min, cv_max=cv_max)
        write_table(table, out, inputs=inputs)
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
