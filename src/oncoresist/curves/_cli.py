"""Command line: ``oncoresist fit`` and ``oncoresist shift`` (registered on the main app).

Both read any screen ``read_screen`` accepts, or a plate-reader export with ``--plate-map``
(grid of reads per plate plus the plate map; see ``oncoresist.data.read_plate_export``). A
screen of raw reads is first checked (plate QC) and normalised with its plate controls; a
screen that already has ``viability`` is used as is. Outputs are written atomically: tables as
Parquet and CSV, and a self-contained ``report.html``.
"""

from __future__ import annotations

import contextlib
import html
import inspect
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from .._text import fmt_number
from ..scale._options import check_executor, opt_executor, opt_scheduler

__all__ = ["register"]

# Options of every command that reads a screen (fit, shift, qc); factories, so that each
# command gets its own typer.Option object.


def opt_plate_map() -> Any:
    return typer.Option(
        None, "--plate-map", help="plate map (table or grid blocks) of a plate-reader export"
    )


def opt_format() -> Any:
    return typer.Option(None, "--format", help="input format (csv, tsv, excel, plate_export ...)")


def opt_sheet() -> Any:
    return typer.Option(None, "--sheet", help="Excel sheet to read")


def opt_sep() -> Any:
    return typer.Option(None, "--sep", help=r"column separator of text files: ',', ';', '\t'")


def opt_decimal() -> Any:
    return typer.Option(None, "--decimal", help="decimal mark: '.' or ','")


def opt_read() -> Any:
    return typer.Option(None, "--read", help="read label of a multi-read export (e.g. Lum)")


def opt_plate() -> Any:
    return typer.Option(None, "--plate", help="read only this plate of an export (repeatable)")


def opt_column() -> Any:
    return typer.Option(
        None,
        "--column",
        "--columns",
        help="our=theirs column name, e.g. sample=Cell_Line (repeatable, or comma-separated)",
    )


def opt_conc_unit() -> Any:
    return typer.Option(None, "--conc-unit", help="concentration unit when the file has none")


def opt_outliers() -> Any:
    return typer.Option(
        "flag",
        "--outliers",
        help="ROUT outliers (Motulsky & Brown 2006, Q = 1%): flag (counted and named, all points "
        "fitted), exclude (refit without them) or none",
    )


def _outliers(value: str) -> str | None:
    from ..errors import InputError

    if value not in ("flag", "exclude", "none"):
        raise InputError(f"--outliers {value!r}: use flag, exclude or none")
    return None if value == "none" else value


def _notes_section(screen: Any, outliers: Any = None):
    """What was detected while reading and which wells ROUT flagged (None when nothing)."""
    from ..report import Section

    notes = [f"warning while reading: {w}" for w in screen.data.attrs.get("read_warnings") or ()]
    notes += list(getattr(screen, "notes", ()))
    excluded = screen.data.attrs.get("excluded") or {}
    notes += [f"left out while reading: {n} ({reason})" for reason, n in excluded.items()]
    tables = []
    if outliers is not None and len(outliers):
        tables.append(("ROUT outliers (Q = 1%), by well", outliers))
    if not notes and not tables:
        return None
    text = (
        "".join(f"<p>{html.escape(str(n))}</p>" for n in notes)
        or "<p>Nothing was converted on reading.</p>"
    )
    return Section("Input notes and flagged wells", text=text, tables=tables)


@dataclass(frozen=True)
class ReadArgs:
    """What the reading options of a command say (``None``: not given)."""

    plate_map: Path | None = None
    fmt: str | None = None
    sheet: str | None = None
    sep: str | None = None
    decimal: str | None = None
    read: str | None = None
    plate: list[str] | None = None
    column: list[str] | None = None
    conc_unit: str | None = None


def _columns(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    from ..errors import InputError

    out = {}
    for item in pairs:
        parts = item.split(",") if all("=" in p for p in item.split(",")) else [item]
        for part in parts:
            ours, eq, theirs = part.partition("=")
            if not eq or not ours.strip() or not theirs.strip():
                raise InputError(
                    f"--column {item!r}: write our=theirs, e.g. --column sample=Cell_Line"
                )
            out[ours.strip()] = theirs.strip()
    return out


def _sep(sep: str | None) -> str | None:
    names = {r"\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";"}
    return None if sep is None else names.get(sep.lower(), sep)


def read_input(path: Path, args: ReadArgs) -> Any:
    """Read the command's input screen; reader warnings are printed, not raised."""
    from rich.console import Console

    from .._io import check_input
    from ..data import read_screen
    from ..data._plate_reader import read_plate_export

    options: dict[str, Any] = {
        "fmt": args.fmt,
        "sheet": args.sheet,
        "sep": _sep(args.sep),
        "decimal": args.decimal,
        "columns": _columns(args.column),
        "conc_unit": args.conc_unit,
        "plate_map": args.plate_map,
        "read": args.read,
        "plate": args.plate or None,
    }
    given = {k: v for k, v in options.items() if v is not None}
    accepted = set(inspect.signature(read_screen).parameters)
    # read_screen hands a plate export and its map to read_plate_export, but has no read= or
    # plate=, and its fmt= names a table reader: with those the plate reader is called directly
    direct = {"read", "plate"} | ({"fmt"} if args.plate_map is not None else set())
    via_screen = set(given) <= accepted and not set(given) & direct
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for given_path in (path, args.plate_map):
            if given_path is not None:
                check_input(given_path)  # warns when a run's file changed since it was written
        if via_screen:
            screen = read_screen(path, **given)
        elif args.plate_map is not None:
            screen = read_plate_export(path, **given)
        else:
            from ..errors import InputError

            flags = {"read": "--read", "plate": "--plate"}
            extra = [flags.get(k, k) for k in given if k not in accepted]
            raise InputError(
                f"{path}: {', '.join(extra)} apply to plate-reader exports only; give the plate "
                "map with --plate-map map.csv"
            )
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for w in caught:
        err.print("[yellow]warning:[/] ", end="")
        err.print(str(w.message), markup=False)
    # kept with the data so the command's report lists them too (_notes_section)
    screen.data.attrs["read_warnings"] = [str(w.message) for w in caught]
    for note in getattr(screen, "notes", ()):
        err.print(f"note: {note}", markup=False)  # also in the report's input notes
    excluded = screen.data.attrs.get("excluded") or {}
    if excluded:
        err.print(
            f"{path.name}: {len(screen)} wells kept; left out: "
            + ", ".join(f"{n} ({reason})" for reason, n in excluded.items())
        )
    return screen


def _prepare(screen: Any):
    """QC and normalise raw reads. Returns (screen, qc table or None)."""
    from ._normalise import normalise
    from ._qc import plate_qc

    if screen.is_normalised:
        return screen, None
    qc = plate_qc(screen) if screen.plates else None
    return normalise(screen), qc


def _qc_section(qc):
    from ..report import Section

    failed = int((~qc["pass"]).sum())
    text = (
        f"<p>{len(qc)} plates; {failed} fail the default QC (flags are reported, no well is "
        f"excluded). Median Z' {fmt_number(qc['z_prime'].median(), '.2f')}.</p>"
    )
    return Section("Plate QC", text=text, tables=[("QC per plate", qc)])


def _inputs(screen: Path, args: ReadArgs) -> list[Path]:
    return [p for p in (screen, args.plate_map) if p is not None]


def _write_figures(figures: list[Any], run: Any, stem: str) -> list[Path]:
    """One self-contained HTML page with every figure (static files of the report's figures:
    ``oncoresist --figures png,svg ...``, one implementation for every command)."""
    from .._io import write_text

    parts = [
        f.to_html(full_html=False, include_plotlyjs=i == 0, default_width="100%")
        for i, f in enumerate(figures)
    ]
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f"{stem}</title></head><body>{''.join(parts)}</body></html>"
    )
    return [write_text(run.path(f"{stem}.html"), page)]


def register(app: typer.Typer) -> None:
    """Add the ``fit`` and ``shift`` commands to ``app``."""

    @app.command("fit")
    def fit_cmd(
        screen: Path = typer.Argument(..., help="screen table or plate-reader export"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
        loss: str = typer.Option("linear", help="linear, soft_l1, huber"),
        ci: str = typer.Option("delta", help="delta, bootstrap or none"),
        plate_map: Path | None = opt_plate_map(),
        fmt: str | None = opt_format(),
        sheet: str | None = opt_sheet(),
        sep: str | None = opt_sep(),
        decimal: str | None = opt_decimal(),
        read: str | None = opt_read(),
        plate: list[str] | None = opt_plate(),
        column: list[str] | None = opt_column(),
        conc_unit: str | None = opt_conc_unit(),
        outliers: str = opt_outliers(),
        seed: int = typer.Option(0, "--seed", help="seed of the bootstrap CIs (--ci bootstrap)"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
        executor: str | None = opt_executor(),
        scheduler: str | None = opt_scheduler(),
    ) -> None:
        """Fit every dose-response curve; writes fits.parquet, fits.csv and report.html.

        ic50_abs (the default IC50: where the fitted curve crosses 50% of control, '>' / '<'
        in ic50_abs_censored when outside the tested range) and ic50_rel (the EC50) are both
        reported; outliers.csv lists the ROUT-flagged wells.
        """
        from rich import print as rprint

        from .._io import output_run, write_table
        from ..report import render_report
        from ._executors import executor_scope
        from ._report import report_section
        from ._screen_fit import _fit_screen_full

        executor = check_executor(executor, scheduler)
        args = ReadArgs(plate_map=plate_map, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal,
                        read=read, plate=plate, column=column, conc_unit=conc_unit)  # fmt: skip
        params = {"model": model, "loss": loss, "ci": ci, "outliers": outliers, "seed": seed,
                  **{k: v for k, v in vars(args).items() if v is not None}}  # fmt: skip
        expect = ("fits.parquet", "fits.csv", "outliers.csv", "qc.csv", "report.html")
        # the cluster (or the connection to --scheduler) first: an unreachable scheduler
        # stops the command before anything is read or written
        with (
            contextlib.nullcontext(None) if executor is None
            else executor_scope(executor, scheduler=scheduler) as ex,
            output_run(
                out, command="fit", inputs=_inputs(screen, args), params=params, expect=expect
            ) as run,
        ):  # fmt: skip
            data, qc = _prepare(read_input(screen, args))
            # one ROUT run fills the fits' outlier columns and outliers.csv
            fits, *_, flagged = _fit_screen_full(
                data, model=model, loss=loss, ci=None if ci == "none" else ci,
                progress=not quiet, outliers=_outliers(outliers), rng=seed, executor=ex,
            )  # fmt: skip
            write_table(fits, run.path("fits.parquet"))
            write_table(fits, run.path("fits.csv"))
            if flagged is not None:
                write_table(flagged, run.path("outliers.csv"))
            sections = []
            if qc is not None:
                write_table(qc, run.path("qc.csv"))
                sections.append(_qc_section(qc))
            notes = _notes_section(data, flagged)
            if notes is not None:
                sections.append(notes)
            sections.append(report_section(fits, data))
            render_report(sections, run.path("report.html"), title=f"Curve fits: {screen.name}")
        counts = fits["status"].value_counts().to_dict()
        rprint(
            f"[bold]{len(fits)}[/bold] curves fitted: {counts}; report: {run.final('report.html')}"
        )

    @app.command("shift")
    def shift_cmd(
        screen: Path = typer.Argument(..., help="screen table or plate-reader export"),
        parental: str = typer.Option(..., help="parental sample name"),
        resistant: list[str] = typer.Option(..., help="resistant sample name(s)"),
        out: Path = typer.Option(..., "-o", "--out", help="output folder"),
        model: str = typer.Option("ll4", help="ll4, ll3, ll2"),
        plate_map: Path | None = opt_plate_map(),
        fmt: str | None = opt_format(),
        sheet: str | None = opt_sheet(),
        sep: str | None = opt_sep(),
        decimal: str | None = opt_decimal(),
        read: str | None = opt_read(),
        plate: list[str] | None = opt_plate(),
        column: list[str] | None = opt_column(),
        conc_unit: str | None = opt_conc_unit(),
        ic50: str = typer.Option(
            "abs", "--ic50", help="abs (where the fit crosses 50% of control) or rel (EC50)"
        ),
        unmatched: str = typer.Option(
            "error",
            "--unmatched",
            help="a drug measured on one side only: error (default) or warn (compare the rest)",
        ),
        drug: list[str] | None = typer.Option(
            None, "--drug", help="compare only this drug (repeatable)"
        ),
        outliers: str = opt_outliers(),
    ) -> None:
        """IC50 fold shift (resistance index) with 95% CI and an F-test of a shared IC50.

        Writes shift.parquet/.csv, fits.csv, qc.csv, report.html and shift_curves.html.
        """
        from rich import print as rprint

        from .._io import output_run, write_table
        from ..errors import InputError
        from ..report import Section, render_report
        from ._plot import plot_shift
        from ._screen_fit import fit_screen, resistance_shift

        same = sorted(set(resistant) & {parental})
        if same:
            raise InputError(
                f"--parental {parental!r} is also given as --resistant; a line compared with "
                "itself has a resistance index of 1 by construction. Give the resistant line(s)."
            )
        args = ReadArgs(plate_map=plate_map, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal,
                        read=read, plate=plate, column=column, conc_unit=conc_unit)  # fmt: skip
        params = {"parental": parental, "resistant": resistant, "model": model, "ic50": ic50,
                  "unmatched": unmatched, "drug": drug, "outliers": outliers,
                  **{k: v for k, v in vars(args).items() if v is not None}}  # fmt: skip
        expect = ("shift.parquet", "shift.csv", "fits.csv", "qc.csv", "report.html")
        with output_run(
            out, command="shift", inputs=_inputs(screen, args), params=params, expect=expect
        ) as run:
            data, qc = _prepare(read_input(screen, args))
            how = _outliers(outliers)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = resistance_shift(
                    data, parental=parental, resistant=resistant, model=model, ic50=ic50,
                    unmatched=unmatched, drugs=drug or None, outliers=how,
                )  # fmt: skip
            for w in caught:
                typer.echo(f"warning: {w.message}", err=True)
            write_table(res, run.path("shift.parquet"))
            write_table(res, run.path("shift.csv"))
            sub = data.subset(samples=[parental, *resistant])
            fits = fit_screen(sub, model=model, outliers=how)
            write_table(fits, run.path("fits.csv"))
            fitted = set(fits["drug"])
            drugs = [d for d in res.sort_values("pvalue")["drug"].unique() if d in fitted][:6]
            figures = [
                plot_shift(sub, fits, parental=parental, resistant=resistant, drug=d) for d in drugs
            ]
            if qc is not None:
                write_table(qc, run.path("qc.csv"))
            _write_figures(figures, run, "shift_curves")
            sig = int((res["fdr"] < 0.05).sum())
            name = "absolute IC50" if ic50 == "abs" else "relative IC50 (EC50)"
            cens = int((res["status"] == "censored").sum())
            text = (
                f"<p>{parental} vs {', '.join(resistant)}: {len(res)} comparisons, {sig} with an "
                f"F-test FDR below 0.05 (extra sum of squares: the two curves sharing one {name} "
                f"against separate fits). The resistance index is {name}(resistant) / "
                f"{name}(parental) with a 95% CI (delta method on the ln scale); {cens} are "
                "censored ('>' or '<' a bound) because an IC50 lies outside the tested range. "
                "Curves of the six most significant drugs below.</p>"
            )
            sections = [] if qc is None else [_qc_section(qc)]
            notes = _notes_section(data)
            if notes is not None:
                sections.append(notes)
            sections.append(
                Section(
                    "Resistance fold-shift",
                    text=text,
                    figures=figures,
                    tables=[("Fold-shifts", res)],
                )
            )
            render_report(sections, run.path("report.html"), title=f"Fold-shift: {screen.name}")
        report = run.final("report.html")
        rprint(f"[bold]{len(res)}[/bold] drug comparisons, {sig} with FDR < 0.05; report: {report}")
