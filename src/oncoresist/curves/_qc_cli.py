"""Command line: ``oncoresist qc SCREEN -o OUT`` (a screen, or a plate-reader export with ``--plate-map``).

``-o`` is either a table file (``qc.csv``, ``.tsv``, ``.parquet``: the table, with its report
``qc_report.html`` beside it) or a folder (``qc/``: ``qc.csv`` and ``report.html`` written as one
run, with the manifest ``oncoresist-run.json``). :func:`table_or_folder` decides, for ``qc``
and ``annotate``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

__all__ = ["TableOutputs", "register", "table_or_folder"]


@dataclass(frozen=True)
class TableOutputs:
    """Where a table command writes: ``table`` and ``report`` (during the run), and where the
    report will be (``report_final``); ``run`` is the output run in folder mode, else None."""

    table: Path
    report: Path
    report_final: Path
    run: Any = None


@contextlib.contextmanager
def table_or_folder(
    out: Path,
    *,
    table_name: str,
    command: str,
    inputs: Sequence[Path],
    params: dict[str, Any],
) -> Iterator[TableOutputs]:
    """``-o`` of a command whose output used to be one table: a file name with a table suffix
    (``.csv``, ``.tsv``, ``.parquet``, ``.xlsx``; another suffix is refused before any work)
    writes the table there and the report as ``<stem>_report.html`` beside it; a name without a suffix, or
    an existing folder, is an output folder (the table as ``table_name``, ``report.html`` and
    the run's manifest). Neither replaces an input: checked before any work."""
    from .._io import TABLE_SUFFIXES, check_output_file, output_run

    if out.is_dir() or not out.suffix:
        expect = (table_name, "report.html")
        with output_run(out, command=command, inputs=inputs, params=params, expect=expect) as run:
            yield TableOutputs(
                run.path(table_name), run.path("report.html"), run.final("report.html"), run
            )
        return
    report = out.with_name(f"{out.stem}_report.html")
    # before the work: a clash or an unknown format fails at once
    check_output_file(out, inputs=inputs, suffixes=TABLE_SUFFIXES)
    check_output_file(report, inputs=[*inputs, out])
    yield TableOutputs(out, report, report)


def register(app: typer.Typer) -> None:
    """Add the ``qc`` command to ``app``."""

    @app.command("qc")
    def qc(
        screen: Path = typer.Argument(
            ..., help="Well-level screen (csv/tsv/parquet/xlsx, GDSC raw) or plate-reader export."
        ),
        out: Path = typer.Option(
            ...,
            "-o",
            "--out",
            help="QC table to write (.csv, .tsv, .parquet, .xlsx), its report beside it as "
            "<name>_report.html; or a folder (no suffix): qc.csv, report.html and the run's "
            "manifest in it.",
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
        """Plate quality control: Z', robust Z', SSMD, CVs, edge effects and flags per plate.

        Writes the QC table and a self-contained report (Z' per plate, plate heatmaps, the
        flags and the table): -o qc.csv gives qc.csv and qc_report.html; -o qc/ gives
        qc/qc.csv, qc/report.html and qc/oncoresist-run.json. With oncoresist --figures png
        the report's figures are also written as files into figures/ beside the report.
        """
        from rich.console import Console
        from rich.table import Table

        from .._io import write_table
        from .._text import fmt_number
        from ..report import render_report
        from ._cli import ReadArgs, _notes_section, read_input
        from ._qc import plate_qc
        from ._qc_plot import qc_section, run_section

        args = ReadArgs(plate_map=plate_map, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal,
                        read=read, plate=plate, column=column, conc_unit=conc_unit)  # fmt: skip
        inputs = [p for p in (screen, plate_map) if p is not None]
        params = {"zprime_min": zprime_min, "cv_max": cv_max,
                  **{k: v for k, v in vars(args).items() if v is not None}}  # fmt: skip
        with table_or_folder(
            out, table_name="qc.csv", command="qc", inputs=inputs, params=params
        ) as where:
            data = read_input(screen, args)
            table = plate_qc(data, zprime_min=zprime_min, cv_max=cv_max)
            write_table(table, where.table, inputs=inputs)
            bad = table[~table["pass"].astype(bool)]
            warn = [
                f"plate {p} fails QC: {f or 'no metric'}"
                for p, f in zip(bad["plate"], bad["flags"], strict=True)
            ]
            sections = [
                run_section(
                    "qc", inputs=inputs, params=params, warnings=warn,
                    outputs=[where.table.name, where.report_final.name],
                ),
                qc_section(data, table, zprime_min=zprime_min, cv_max=cv_max),
            ]  # fmt: skip
            notes = _notes_section(data)
            if notes is not None:
                sections.append(notes)
            render_report(sections, where.report, title=f"Plate QC: {screen.name}")
        console = Console()
        summary = Table(title=f"Plate QC: {screen.name}")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        zp = table["z_prime"]
        summary.add_row("plates", str(len(table)))
        summary.add_row(
            "passed", f"{int(table['pass'].sum())} ({fmt_number(table['pass'].mean(), '.0%')})"
        )
        summary.add_row(
            "Z' median [5%, 95%]",
            f"{fmt_number(zp.median(), '.3f')} [{fmt_number(zp.quantile(0.05), '.3f')}, "
            f"{fmt_number(zp.quantile(0.95), '.3f')}]",
        )
        summary.add_row("robust Z' median", fmt_number(table["robust_z_prime"].median(), ".3f"))
        flags = table["flags"].str.split(";").explode()
        for name, n in flags[flags != ""].value_counts().items():
            summary.add_row(f"flag {name}", str(int(n)))
        console.print(summary)
        table_final = out / "qc.csv" if where.run is not None else out
        console.print(f"wrote {table_final}; report: {where.report_final}", markup=False)
