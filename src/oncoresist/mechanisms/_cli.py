"""CLI: ``oncoresist annotate PROFILE --drug NAME -o OUT``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .._text import fmt_number

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``annotate`` command to the main app."""

    @app.command("annotate")
    def annotate_cmd(
        profile: Path = typer.Argument(..., help="Profile: YAML/JSON, MAF-like TSV or VCF"),
        drug: list[str] = typer.Option(..., "--drug", "-d", help="Drug name (repeatable)"),
        out: Path | None = typer.Option(
            None,
            "--out",
            "-o",
            help="Write the evidence table (.tsv/.csv/.parquet/.xlsx) and its report beside it as "
            "<name>_report.html; or a folder (no suffix): evidence.tsv, report.html and the "
            "run's manifest in it. Without -o nothing is written",
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
        """Annotate a profile with mechanisms of resistance to one or more drugs.

        With -o the evidence table and a self-contained report (what was run, the call per
        drug with its reason, mechanism scores, evidence tables, notes) are written: -o ev.tsv
        gives ev.tsv and ev_report.html; -o ann/ gives ann/evidence.tsv, ann/report.html and
        ann/oncoresist-run.json. oncoresist --figures png also writes the report's figures.
        """
        import contextlib

        from rich.console import Console

        from .._io import check_input
        from ..curves._qc_cli import table_or_folder
        from ..errors import InputError

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
        inputs = [profile, *([ref_path] if ref_path else [])]
        params = {"drug": drug, "civic": civic, "lineage": lineage, "reference": reference}
        where = None
        # with -o, the table and report targets are checked before any work (table_or_folder)
        with contextlib.ExitStack() as stack:
            if out is not None:
                where = stack.enter_context(
                    table_or_folder(out, table_name="evidence.tsv", command="annotate",
                                    inputs=inputs, params=params)
                )  # fmt: skip
            _annotate_all(
                console, profile, drug, civic=civic, lineage=lineage, reference=reference,
                ref_path=ref_path, where=where, inputs=inputs, params=params,
            )  # fmt: skip
        if out is not None and where is not None:
            table_final = out / "evidence.tsv" if where.run is not None else out
            console.print(f"wrote {table_final}; report: {where.report_final}", markup=False)


def _annotate_all(
    console: Any,
    profile: Path,
    drug: list[str],
    *,
    civic: bool,
    lineage: str | None,
    reference: str,
    ref_path: Path | None,
    where: Any,
    inputs: list[Path],
    params: dict[str, Any],
) -> None:
    """Annotate ``profile`` for every drug, print the calls, and (``where`` given: the outputs
    of -o) write the evidence table and the report."""
    from dataclasses import replace

    import pandas as pd
    from rich.markup import escape
    from rich.table import Table

    from .._io import write_table
    from ..curves._qc_plot import run_section
    from ..errors import DataUnavailableError
    from ..report import render_report
    from . import annotate, read_civic_evidence, read_profile
    from ._profile import _read_table
    from ._report import report_section
    from ._scores import fetch_gdsc_reference

    prof = read_profile(profile)
    if lineage:
        prof = replace(prof, tissue=lineage)
    civ = read_civic_evidence() if civic else None
    warnings: list[str] = []
    ref: Any = None
    if prof.expression is not None and reference == "gdsc":
        try:
            ref = fetch_gdsc_reference()
        except DataUnavailableError as exc:  # the default reference is optional
            msg = (
                f"{exc}; the GDSC reference panel is unavailable, so expression is not compared "
                "with reference lines (give --reference PATH, or set ONCORESIST_DATA_MIRROR)"
            )
            warnings.append(msg)
            console.print(f"[yellow]note:[/yellow] {escape(msg)}")
    elif ref_path is not None:
        table = _read_table(ref_path, "reference expression table")
        ref = table.set_index(table.columns[0])
    frames = []
    annotations = []
    for d in drug:
        a = annotate(prof, d, civic=civ, reference=ref)
        annotations.append(a)
        t = Table(title=escape(f"{a.sample} / {a.drug_name}: {a.call}"))
        for c in ("rank", "mechanism", "resistance_weight", "sensitivity_weight", "explanation"):
            t.add_column(c)
        for r in a.mechanisms.head(5).itertuples():
            t.add_row(
                str(r.rank),
                str(r.mechanism),
                fmt_number(r.resistance_weight, ".2f"),
                fmt_number(r.sensitivity_weight, ".2f"),
                escape(str(r.explanation)[:90]),
            )
        console.print(t)
        console.print(escape(a.reason))
        for n in a.notes:
            console.print(f"[yellow]note:[/yellow] {escape(n)}")
        warnings += [f"{a.drug_name}: {n}" for n in a.notes]
        frames.append(a.evidence.assign(sample=a.sample, drug=a.drug_name, call=a.call))
    if where is None:
        return
    write_table(pd.concat(frames, ignore_index=True), where.table, inputs=inputs)
    sections = [
        run_section(
            "annotate", inputs=inputs, params=params, warnings=warnings,
            outputs=[where.table.name, where.report_final.name],
        ),
        report_section(annotations),
    ]  # fmt: skip
    render_report(sections, where.report, title=f"Resistance mechanisms: {profile.name}")
