"""CLI: ``oncoresist annotate PROFILE --drug NAME -o OUT``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``annotate`` command to the main app."""

    @app.command("annotate")
    def annotate_cmd(
        profile: Path = typer.Argument(..., help="Profile: YAML/JSON, MAF-like TSV or VCF"),
        drug: list[str] = typer.Option(..., "--drug", "-d", help="Drug name (repeatable)"),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Write evidence table (.tsv/.csv/.parquet)"
        ),
        civic: bool = typer.Option(False, "--civic/--no-civic", help="Merge CIViC evidence"),
        lineage: str | None = typer.Option(
            None, help="Reference panel: GDSC lines of this lineage"
        ),
    ) -> None:
        """Annotate a profile with mechanisms of resistance to one or more drugs."""
        import pandas as pd
        from rich.console import Console
        from rich.table import Table

        from .._io import check_input, check_output_file, write_table
        from . import annotate, fetch_gdsc_expression, read_civic_evidence, read_profile

        console = Console()
        check_input(profile)
        if out is not None:
            check_output_file(out, inputs=[profile])
        prof = read_profile(profile)
        civ = read_civic_evidence() if civic else None
        ref = (
            fetch_gdsc_expression(lineage=lineage)
            if (lineage and prof.expression is not None)
            else None
        )
        frames = []

        def _rows(df: pd.DataFrame) -> Any:
            return df.itertuples()

        for d in drug:
            a = annotate(prof, d, civic=civ, reference=ref)
            t = Table(title=f"{a.sample} / {a.drug_name}: {a.call}")
            for c in (
                "rank",
                "mechanism",
                "resistance_weight",
                "sensitivity_weight",
                "explanation",
            ):
                t.add_column(c)
            for r in _rows(a.mechanisms.head(5)):
                t.add_row(
                    str(r.rank),
                    r.mechanism,
                    f"{r.resistance_weight:.2f}",
                    f"{r.sensitivity_weight:.2f}",
                    r.explanation[:90],
                )
            console.print(t)
            console.print(a.reason)
            for n in a.notes:
                console.print(f"[yellow]note:[/yellow] {n}")
            frames.append(a.evidence.assign(sample=a.sample, drug=a.drug_name, call=a.call))
        if out is not None:
            write_table(pd.concat(frames, ignore_index=True), out, inputs=[profile])
            console.print(f"wrote {out}")
