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
            None,
            "--lineage",
            "--tissue",
            help="Tissue of the profile (overrides the profile's 'tissue:'); selects the "
            "tissue-matched reference lines and lineage-specific evidence",
        ),
        reference: str = typer.Option(
            "gdsc",
            help="Reference panel for expression: 'gdsc' (GDSC lines, tissue-matched to the "
            "profile when it names a tissue with >= 10 lines, else all lines, said in a note), "
            "'none', or a genes x samples CSV/TSV (first column: genes)",
        ),
    ) -> None:
        """Annotate a profile with mechanisms of resistance to one or more drugs."""
        from dataclasses import replace

        import pandas as pd
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from .._io import check_input, check_output_file, write_table
        from ..errors import DataUnavailableError, InputError
        from . import annotate, read_civic_evidence, read_profile
        from ._profile import _read_table
        from ._scores import fetch_gdsc_reference

        console = Console()
        check_input(profile)
        ref_path = None
        if reference not in ("gdsc", "none"):
            ref_path = Path(reference)
            if not ref_path.is_file():
                raise InputError(
                    f"--reference {reference}: no such file; give 'gdsc', 'none' or the path of "
                    "a genes x samples table"
                )
            check_input(ref_path)
        if out is not None:
            check_output_file(out, inputs=[profile, *([ref_path] if ref_path else [])])
        prof = read_profile(profile)
        if lineage:
            prof = replace(prof, tissue=lineage)
        civ = read_civic_evidence() if civic else None
        ref: Any = None
        if prof.expression is not None and reference == "gdsc":
            try:
                ref = fetch_gdsc_reference()
            except DataUnavailableError as exc:  # the default reference is optional
                console.print(
                    f"[yellow]note:[/yellow] {escape(str(exc))}; the GDSC reference panel is "
                    "unavailable, so expression is not compared with reference lines (give "
                    "--reference PATH, or set ONCORESIST_DATA_MIRROR)"
                )
        elif ref_path is not None:
            table = _read_table(ref_path, "reference expression table")
            ref = table.set_index(table.columns[0])
        frames = []

        def _rows(df: pd.DataFrame) -> Any:
            return df.itertuples()

        for d in drug:
            a = annotate(prof, d, civic=civ, reference=ref)
            t = Table(title=escape(f"{a.sample} / {a.drug_name}: {a.call}"))
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
                    escape(r.explanation[:90]),
                )
            console.print(t)
            console.print(escape(a.reason))
            for n in a.notes:
                console.print(f"[yellow]note:[/yellow] {escape(n)}")
            frames.append(a.evidence.assign(sample=a.sample, drug=a.drug_name, call=a.call))
        if out is not None:
            write_table(pd.concat(frames, ignore_index=True), out, inputs=[profile])
            console.print(f"wrote {out}")
