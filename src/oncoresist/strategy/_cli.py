"""CLI: ``oncoresist strategy PROFILE --drug DRUG [--lineage L] [--expression F] ... -o OUT``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["register", "run_strategy"]


def _read_expression(path: Path) -> Any:
    """Gene -> value from a two-column table (gene, log fold change) or a genes x 1 table."""
    import pandas as pd

    from ..errors import InputError
    from ..mechanisms._profile import _read_table

    t = _read_table(path, "expression table")
    if t.shape[1] < 2:
        raise InputError(f"{path}: give two columns, gene and log fold change")
    values = pd.to_numeric(t.iloc[:, 1], errors="coerce")
    values.index = t.iloc[:, 0].astype(str)
    return values


def _read_crispr(path: Path) -> Any:
    """A CRISPR gene table: a file, or a ``crispr`` output folder (its DrugZ or RRA genes)."""
    from ..errors import InputError
    from ..mechanisms._profile import _read_table

    if path.is_dir():
        for name in ("drugz_genes.csv", "rra_genes.csv", "mle_genes.csv"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise InputError(
                f"--crispr {path}: the folder has no drugz_genes.csv / rra_genes.csv (an "
                "'oncoresist crispr' output folder) "
            )
    return _read_table(path, "CRISPR gene table")


def run_strategy(
    profile_path: Path, drug: str, out: Path, *, lineage: str | None = None,
    expression: Path | None = None, crispr: Path | None = None, synergy: Path | None = None,
    shift: Path | None = None, dependencies: bool = True, connectivity: bool = True,
    panels: bool = True, synergy_prediction: bool = True,
) -> Any:  # fmt: skip
    """Read the inputs, rank, and write strategies.csv, evidence.csv, not_assessable.csv,
    schedules.csv and report.html through :func:`oncoresist._io.output_run`."""
    from .._io import check_input, output_run, write_table
    from ..errors import InputError
    from ..mechanisms import read_profile
    from ..mechanisms._profile import _read_table
    from ..report import render_report
    from ._report import report_section
    from ._strategy import suggest_strategies

    inputs = [p for p in (profile_path, expression, crispr, synergy, shift) if p is not None]
    for p in inputs:
        if not p.exists():
            raise InputError(f"{p}: no such file")
        if p.is_file():
            check_input(p)
    prof = read_profile(profile_path)
    expr = _read_expression(expression) if expression is not None else None
    cr = _read_crispr(crispr) if crispr is not None else None
    syn = _read_table(synergy, "synergy table") if synergy is not None else None
    sh = _read_table(shift, "fold-shift table") if shift is not None else None
    params = {"drug": drug, "lineage": lineage, "dependencies": dependencies,
              "connectivity": connectivity, "panels": panels,
              "synergy_prediction": synergy_prediction}  # fmt: skip
    expect = ("strategies.csv", "evidence.csv", "not_assessable.csv", "schedules.csv",
              "report.html")  # fmt: skip
    res = suggest_strategies(
        prof, drug, lineage=lineage, expression=expr, crispr=cr, synergy=syn, shift=sh,
        dependencies=dependencies, connectivity=connectivity, panels=panels,
        synergy_prediction=synergy_prediction,
    )  # fmt: skip
    with output_run(out, command="strategy", inputs=[p for p in inputs if p.is_file()],
                    params=params, expect=expect) as run:  # fmt: skip
        write_table(res.to_frame(), run.path("strategies.csv"))
        write_table(res.evidence, run.path("evidence.csv"))
        write_table(res.not_assessable, run.path("not_assessable.csv"))
        write_table(res.schedules, run.path("schedules.csv"))
        render_report([report_section(res)], run.path("report.html"), title="Strategies")
    return res


def register(app: typer.Typer) -> None:
    """Add the ``strategy`` command to the main app."""

    @app.command("strategy")
    def strategy_cmd(
        profile: Path = typer.Argument(..., help="Profile: YAML/JSON, MAF-like TSV or VCF"),
        drug: str = typer.Option(..., "--drug", "-d", help="The drug the model resists"),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder"),
        lineage: str | None = typer.Option(None, "--lineage", "--tissue", help="Lineage"),
        expression: Path | None = typer.Option(
            None, "--expression", help="Resistant-vs-parental table: gene, log fold change"
        ),
        crispr: Path | None = typer.Option(
            None, "--crispr", help="CRISPR gene table or an 'oncoresist crispr' output folder"
        ),
        synergy: Path | None = typer.Option(
            None, "--synergy", help="Measured synergy: partner (or drug_a, drug_b), score"
        ),
        shift: Path | None = typer.Option(
            None, "--shift", help="Fold-shift table (oncoresist shift): sets the schedules' RI"
        ),
        dependencies: bool = typer.Option(True, "--dependencies/--no-dependencies"),
        connectivity: bool = typer.Option(True, "--connectivity/--no-connectivity"),
        panels: bool = typer.Option(
            True, "--panels/--no-panels", help="GDSC/CTRP and O'Neil/NCI-ALMANAC evidence"
        ),
        synergy_prediction: bool = typer.Option(
            True,
            "--synergy-prediction/--no-synergy-prediction",
            help="Synergy model for unmeasured pairs (fits it, about 15 s)",
        ),
    ) -> None:
        """Rank the ways to overcome a resistance, each with its evidence."""
        from rich.console import Console
        from rich.markup import escape

        res = run_strategy(
            profile, drug, out, lineage=lineage, expression=expression, crispr=crispr,
            synergy=synergy, shift=shift, dependencies=dependencies, connectivity=connectivity,
            panels=panels, synergy_prediction=synergy_prediction,
        )  # fmt: skip
        console = Console()
        console.print(escape(res.describe()))
        console.print(escape(f"outputs in {out}"))
