"""Command line: ``oncoresist fit`` and ``oncoresist shift`` (registered on the main app)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``fit`` and ``shift`` commands to ``app``."""

    @app.command("fit")
    def fit_cmd(
        screen: Path = typer.Argument(..., help="screen table (any format read_screen accepts)"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
        loss: str = typer.Option("linear", help="linear, soft_l1, huber"),
        ci: str = typer.Option("delta", help="delta, bootstrap or none"),
    ) -> None:
        """Fit every dose-response curve; writes fits.parquet and fits.csv."""
        from rich import print as rprint

        from .._io import write_table
        from ..data import read_screen  # type: ignore[attr-defined]
        from ._screen_fit import fit_screen

        fits = fit_screen(
            read_screen(screen), model=model, loss=loss, ci=None if ci == "none" else ci
        )
        write_table(fits, out / "fits.parquet")
        write_table(fits, out / "fits.csv")
        counts = fits["status"].value_counts().to_dict()
        rprint(f"[bold]{len(fits)}[/bold] curves fitted: {counts}; written to {out}")

    @app.command("shift")
    def shift_cmd(
        screen: Path = typer.Argument(..., help="screen table"),
        parental: str = typer.Option(..., help="parental sample name"),
        resistant: list[str] = typer.Option(..., help="resistant sample name(s)"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
    ) -> None:
        """IC50 fold shift (resistance index) with CI and shared-EC50 F-test per drug."""
        from rich import print as rprint

        from .._io import write_table
        from ..data import read_screen  # type: ignore[attr-defined]
        from ._screen_fit import resistance_shift

        res = resistance_shift(
            read_screen(screen), parental=parental, resistant=resistant, model=model
        )
        write_table(res, out / "shift.parquet")
        write_table(res, out / "shift.csv")
        sig = int((res["fdr"] < 0.05).sum())
        rprint(f"[bold]{len(res)}[/bold] drug comparisons, {sig} with FDR < 0.05; written to {out}")
