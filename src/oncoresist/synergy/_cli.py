"""``oncoresist synergy INPUT -o OUT --models ...``"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``synergy`` command to the main app."""

    @app.command("synergy")
    def synergy(
        input: Path = typer.Argument(
            ...,
            help="Tidy combination table (CSV/TSV/Parquet/Excel): block_id, drug1, drug2, conc1, conc2, response[, replicate].",
        ),
        out: Path = typer.Option(..., "-o", "--out", help="Output folder."),
        models: str = typer.Option(
            "bliss,loewe,zip,hsa,ci,musyc", "--models", help="Comma-separated reference models."
        ),
        n_boot: int = typer.Option(
            100, "--n-boot", help="Bootstrap resamples of replicates (0 = none)."
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
        conc_unit: str | None = typer.Option(
            None,
            "--conc-unit",
            help="Unit of conc1/conc2 (nM, uM, M ...) unless the table has a conc_unit column "
            "or units in its column names (conc1_nM); there is no default.",
        ),
        response_scale: str = typer.Option(
            "auto", "--response-scale", help="auto, percent or fraction."
        ),
        response_kind: str = typer.Option(
            "auto", "--response-kind", help="auto, inhibition or viability."
        ),
        drop_invalid: bool = typer.Option(
            False, "--drop-invalid", help="Drop (and list) invalid blocks instead of stopping."
        ),
        parental: str = typer.Option(
            "", "--parental", help="Sample name of the parental line (with --resistant)."
        ),
        resistant: str = typer.Option(
            "", "--resistant", help="Sample name of the resistant line (with --parental)."
        ),
    ) -> None:
        """Score drug-combination blocks under the reference models and write tables + report."""
        from rich.console import Console
        from rich.table import Table

        from .._io import write_table
        from ..data._combination import read_combination_table
        from ..errors import InputError
        from ._report import report_section
        from ._score import compare_synergy, score_combinations

        console = Console()
        screen = read_combination_table(
            input,
            conc_unit=conc_unit,
            response_scale=response_scale,  # type: ignore[arg-type]
            response_kind=response_kind,  # type: ignore[arg-type]
            on_invalid="drop" if drop_invalid else "raise",
        )
        names = [m.strip() for m in models.split(",") if m.strip()]
        result = score_combinations(screen, models=names, n_boot=n_boot, rng=seed, progress=True)
        comparison = None
        if parental or resistant:
            if not (parental and resistant):
                raise InputError("give both --parental and --resistant")
            comparison = compare_synergy(result, parental, resistant)
        out.mkdir(parents=True, exist_ok=True)
        write_table(result.summary, out / "synergy_scores.csv")
        write_table(result.blocks, out / "synergy_blocks.csv")
        write_table(result.surfaces, out / "synergy_surfaces.parquet")
        write_table(result.single_agents, out / "single_agent_fits.csv")
        write_table(result.outliers, out / "outliers.csv")
        if len(result.excluded):
            write_table(result.excluded, out / "excluded_blocks.csv")
        if comparison is not None:
            write_table(comparison.summary, out / "resistance_comparison.csv")
        try:
            from ..report import render_report

            render_report(
                [report_section(result, comparison=comparison)],
                out / "synergy_report.html",
                title="Drug combinations",
            )
        except ImportError:  # pragma: no cover - report subpackage absent
            pass
        for note in screen.conversions:
            console.print(f"[yellow]note[/]: {note}")
        tab = Table(title=f"{len(result.blocks)} blocks: mean synergy score")
        tab.add_column("block")
        for m in result.models:
            tab.add_column(m)
        scores = result.score_table()
        for b, row in scores.head(20).iterrows():
            tab.add_row(str(b), *[f"{v:.2f}" for v in row.to_numpy()])
        console.print(tab)
        console.print(
            f"models disagree in sign on {int(result.blocks['models_disagree'].sum())} block(s); outputs in {out}"
        )
