"""The analyses behind the pages and the API: thin calls into the public API.

Reading is :func:`oncoresist.data.read_screen` / :func:`oncoresist.data.read_plate_export`,
QC and fitting :func:`oncoresist.curves.plate_qc`, :func:`~oncoresist.curves.normalise`,
:func:`~oncoresist.curves.fit_screen`, figures :func:`~oncoresist.curves.plot_curves` and the
report :func:`oncoresist.report.render_report`. This module only moves tables between them,
the database and the data folder.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, OncoresistError

__all__ = [
    "Cancelled",
    "active_exclusions",
    "error_record",
    "file_columns",
    "parse_dataset",
    "read_reporting",
    "run_fit",
]

#: reading options a user may set in the mapping form (all passed to the public readers)
READ_OPTIONS = ("columns", "conc_unit", "sheet", "sep", "decimal", "read")
#: results of a fit, by download format
RESULT_FILES = {
    "csv": "fits.csv",
    "xlsx": "fits.xlsx",
    "parquet": "fits.parquet",
    "report": "report.html",
}


class Cancelled(Exception):  # a state, not an error
    """The job was cancelled by a user."""


def _clean(message: str, paths: dict[str, str]) -> str:
    for stored, label in paths.items():
        message = message.replace(stored, label)
    return message


def read_reporting(
    fn: Callable[[], Any], label: str, paths: dict[str, str]
) -> tuple[Any, list[str]]:
    """Run a reader: its warnings become notes and its errors an :class:`InputError`, both
    naming the user's files (``paths``: stored path -> label), never the stored paths."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn()
    except OncoresistError as exc:
        raise InputError(_clean(str(exc), paths)) from exc
    except (ValueError, KeyError, TypeError, OSError) as exc:  # a reader's unexpected failure
        raise InputError(f"{label}: could not be read ({type(exc).__name__}: {exc})") from exc
    return value, [_clean(str(w.message), paths) for w in caught]


def error_record(message: str) -> dict[str, Any]:
    """An error message with the row, column and file it names (None where it names none)."""
    row = re.search(r"\b(?:row|line)s? (\d+)", message)
    col = re.search(r"column '([^']+)'", message) or re.search(r"no '([^']+)' column", message)
    missing = re.search(r"missing required column\(s\) '([^']+)'", message)
    column = col.group(1) if col else (missing.group(1) if missing else None)
    file = message.split(": ", 1)[0] if ": " in message else None
    return {
        "message": message,
        "row": int(row.group(1)) if row else None,
        "column": column,
        "file": file if file and len(file) < 200 and " " not in file else None,
    }


def _read_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    out = {k: options[k] for k in READ_OPTIONS if options.get(k) not in (None, "", {})}
    if "sep" in out:
        out["sep"] = {"tab": "\t", r"\t": "\t"}.get(out["sep"], out["sep"])
    return out


def parse_dataset(
    path: Path,
    *,
    label: str,
    kind: str,
    options: dict[str, Any],
    map_path: Path | None = None,
    map_label: str | None = None,
) -> tuple[Any, list[str]]:
    """Read an upload with the project's readers; returns (Screen, notes).

    Raises :class:`InputError` with the readers' message (file names are the user's labels,
    never the stored paths).
    """
    from ..data import read_plate_export, read_screen

    paths = {str(path): label}
    if map_path is not None:
        paths[str(map_path)] = map_label or "plate map"
    kwargs = _read_kwargs(options)
    if kind != "plate_export" and "read" in kwargs:
        raise InputError(f"{label}: read={kwargs['read']!r} applies to plate-reader exports only")

    def read() -> Any:
        if kind == "plate_export":
            if map_path is None:
                raise InputError(f"{label}: a plate-reader export needs its plate map")
            return read_plate_export(path, map_path, **kwargs)
        return read_screen(path, **kwargs)

    screen, notes = read_reporting(read, label, paths)
    notes += [_clean(n, paths) for n in getattr(screen, "notes", ())]
    excluded = screen.data.attrs.get("excluded") or {}
    notes += [f"left out while reading: {n} ({reason})" for reason, n in excluded.items()]
    return screen, notes


def file_columns(path: Path) -> list[str]:
    """Column names of a tidy table (for the mapping form); empty when it is not one."""
    try:
        name = path.name.lower()
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        if name.endswith(".xlsx"):
            frame = pd.read_excel(path, nrows=3)
        else:
            frame = pd.read_csv(path, sep=None, engine="python", nrows=3)
        return [str(c) for c in frame.columns]
    except Exception:  # a preview aid only: the reader reports real errors
        return []


def raw_preview(path: Path, *, lines: int = 15) -> list[str]:
    """The first lines of a text upload, for people to see what the reader saw."""
    if path.suffix not in (".csv", ".tsv", ".txt", ".yaml", ".yml", ".json", ".vcf", ".maf"):
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [line.rstrip("\n")[:300] for _, line in zip(range(lines), fh, strict=False)]


def well_label(row: pd.Series, index: int) -> str:
    if "plate" in row and "well" in row and pd.notna(row["plate"]) and pd.notna(row["well"]):
        return f"{row['plate']}:{row['well']}"
    if "well" in row and pd.notna(row["well"]):
        return str(row["well"])
    return f"row {index + 1}"


def active_exclusions(events: Sequence[Any]) -> dict[int, Any]:
    """Row -> latest 'exclude' event, from audit events in time order."""
    out: dict[int, Any] = {}
    for ev in events:
        if ev.action == "exclude":
            out[ev.row] = ev
        else:
            out.pop(ev.row, None)
    return out


def _audit_frame(events: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "when": [ev.created_at.isoformat() for ev in events],
            "well": [ev.well for ev in events],
            "row": [ev.row + 1 for ev in events],
            "action": [ev.action for ev in events],
            "who": [ev.user for ev in events],
            "why": [ev.reason for ev in events],
        }
    )


def run_fit(
    screen_table: pd.DataFrame,
    *,
    source: str,
    notes: Sequence[str],
    events: Sequence[Any],
    params: dict[str, Any],
    out: Path,
    progress: Callable[[float, str], None],
    cancelled: Callable[[], bool],
    executor: Any = None,
) -> dict[str, Any]:
    """QC, normalise and fit a parsed screen without its excluded wells; writes the results.

    ``executor`` spreads each sample's curves out (:func:`oncoresist.curves.fit_screen`'s).

    Files in ``out``: fits.parquet/.csv/.xlsx, screen.parquet (the wells fitted, normalised),
    qc.csv, exclusions.csv (the audit) and report.html. Returns a summary.
    """
    from .._io import write_table
    from ..curves import fit_screen, normalise, plate_qc, report_section
    from ..data import Screen
    from ..report import Section, render_report

    excluded = active_exclusions(events)
    keep = ~screen_table.index.isin(list(excluded))
    table = screen_table[keep].reset_index(drop=True)
    all_notes = list(notes)
    if excluded:
        all_notes.append(
            f"{len(excluded)} well(s) excluded by users before QC and fitting: "
            + ", ".join(ev.well for ev in excluded.values())
            + " (who, when and why: the exclusion audit below)"
        )
    progress(0.05, "checking plates")
    screen = Screen(table, source=source, notes=tuple(all_notes))
    qc = None
    if not screen.is_normalised:
        qc = plate_qc(screen) if screen.plates else None
        screen = normalise(screen)
    samples = screen.samples
    model = str(params.get("model", "ll4"))
    ci = params.get("ci", "delta")
    parts = []
    for i, sample in enumerate(samples):
        if cancelled():
            raise Cancelled
        progress(
            0.1 + 0.75 * i / max(len(samples), 1), f"fitting {sample} ({i + 1}/{len(samples)})"
        )
        parts.append(
            fit_screen(
                screen.subset(samples=[sample]),
                model=model,
                ci=None if ci == "none" else ci,
                executor=executor,
            )
        )
    if cancelled():
        raise Cancelled
    fits = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    progress(0.88, "writing results")
    write_table(fits, out / "fits.parquet")
    write_table(fits, out / "fits.csv")
    fits.to_excel(out / "fits.xlsx", index=False, sheet_name="fits")
    write_table(screen.data, out / "screen.parquet")
    audit = _audit_frame(events)
    write_table(audit, out / "exclusions.csv")
    sections = []
    if qc is not None:
        write_table(qc, out / "qc.csv")
        failed = int((~qc["pass"]).sum())
        sections.append(
            Section(
                "Plate QC",
                text=f"<p>{len(qc)} plates; {failed} fail the default QC. Median Z' "
                f"{qc['z_prime'].median():.2f}.</p>",
                tables=[("QC per plate", qc)],
            )
        )
    text = "".join(f"<p>{html.escape(n)}</p>" for n in all_notes) or "<p>No notes.</p>"
    tables = []
    if len(audit):
        active = _audit_frame(list(excluded.values()))
        tables = [
            ("Wells excluded from this fit", active),
            ("Exclusion audit (every event)", audit),
        ]
    sections.append(Section("Input notes and excluded wells", text=text, tables=tables))
    sections.append(report_section(fits, screen))
    render_report(sections, out / "report.html", title=f"Curve fits: {source}")
    progress(1.0, "done")
    counts = {str(k): int(v) for k, v in fits["status"].value_counts().items()} if len(fits) else {}
    return {"curves": len(fits), "status_counts": counts, "excluded_wells": len(excluded)}
