"""Plate-reader exports (a grid of reads per plate) and plate maps, read into a :class:`Screen`.

Exports
    Text (CSV, TSV, semicolon-separated; the separator is found from the grids) or Excel
    ``.xlsx`` (every sheet, or ``sheet=``), as BioTek Gen5, Tecan (i-control, Magellan, Spark)
    and PerkinElmer EnVision write them: metadata lines, then per plate and read a row of column
    numbers ``1..12`` / ``1..24`` / ``1..48`` (96, 384, 1536 wells) and one line per row letter
    (``A..H``, ``A..P``, ``A..Z, AA..AF``). Lines that are not part of a grid are metadata:

    * the **plate** of the grids that follow is named by ``Barcode``, ``Plate ID``, ``Plate
      name`` or ``Plate: X`` lines (EnVision's ``Plate,Repeat,Barcode`` table included), else
      by ``Plate Number``; a ``Plate`` line that describes the plate type (Tecan: ``Greiner
      384 Flat Bottom [GRE384fb]``) is not a name. Unnamed plates are numbered in file order
      (``"1"``, ``"2"``; on Excel sheets with one plate, the sheet name).
    * the **read** of a grid is the label after its last column (Gen5 writes ``Lum``), else the
      latest ``Read 1:Luminescence`` or ``Label: Label1`` line. Several reads per plate are
      fine; choose one with ``read=`` (an error lists them). Gen5's layout of several reads
      per row letter (continuation lines, each ending in its read's label) is understood.
    * grids of text (Gen5's ``Well ID`` layout view) are not reads and are skipped.

    Cells: numbers (decimal commas are detected, or forced with ``decimal=``); empty cells;
    overflow/saturation markers (:data:`OVERFLOW_MARKERS`: ``OVRFLW``, ``OVER``, ``*``,
    ``####`` ...) and underflow markers (``UNDER``, ``<0.001``). **Decision on markers**: a
    marked well is kept with ``signal`` NaN and ``read_status`` ``"overflow"``/``"underflow"``,
    counted and named in a ``UserWarning``; ``on_overflow="raise"`` stops instead. Any other
    text in a read grid is an error naming the well and line.

Plate maps
    A **table** (CSV/TSV/xlsx) with ``well`` and ``sample, drug, concentration, conc_unit,
    role`` (and optionally ``plate``, ``replicate`` or any other column, kept), or **grid
    blocks**: one grid per attribute, titled on the line above it (or in the grid's corner
    cell) ``sample``, ``drug``, ``concentration (nM)``, ``conc_unit``, ``role`` ... A ``Plate:
    NAME`` line starts blocks for one plate; blocks before any such line apply to every plate.
    Their names match case-insensitively; map other names with ``columns={"Cell line":
    "sample"}``. Rows of a map without a ``plate`` apply to every plate of the export.

    Units: a concentration without a unit is always an error. Give it per row (``conc_unit``
    column or ``10 nM`` in the cell), per column (``concentration (nM)``, ``conc_nM``) or with
    ``conc_unit=``. Roles: :data:`ROLE_LABELS` maps the usual spellings (``DMSO``,
    ``vehicle``, ``neg`` -> ``negative``; ``kill``, ``pos`` -> ``positive``; ``empty``,
    ``medium`` -> ``blank``; ``T0`` -> ``time_zero``; ``unused``, ``-`` -> left out, counted);
    an unknown label is an error listing them. Without a role, a ``drug`` that is one of these
    labels (``DMSO``) gives the role, a drug at concentration > 0 is ``treated`` and at 0
    ``negative``.

Matching the two: every export plate must be in the map (by ``plate``) or covered by rows
without a plate. A mapped well outside the plate's grid is an error; a well with a read that
the map does not list is an error (mark unused wells ``unused``); wells without a read and
not in the map are left out and counted; a mapped well without a read is kept with NaN and
``read_status="empty"`` and named in a warning.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._text import decode, read_bytes
from ..errors import InputError, SchemaError
from ._make import PLATE_FORMATS, _row_label, well_name
from ._screen import CONC_UNITS, ROLES, Screen, to_micromolar

__all__ = [
    "OVERFLOW_MARKERS",
    "ROLE_LABELS",
    "is_plate_export",
    "read_plate_export",
    "read_plate_grids",
    "read_plate_map",
]

#: Markers plate readers write for a saturated (overflow) or too low (underflow) read.
OVERFLOW_MARKERS: dict[str, tuple[str, ...]] = {
    "overflow": ("OVRFLW", "OVFLW", "OVER", "OVERFLOW", "SAT", "SATURATED", "*", "####", ">N"),
    "underflow": ("UNDER", "UNDRFLW", "UNDERFLOW", "<N"),
}
_OVER_RE = re.compile(r"(?i)(?:ovrflw|ovflw|over|overflow|sat|saturated|#+|\*+|>\s*[\d.,eE+-]+)")
_UNDER_RE = re.compile(r"(?i)(?:under|undrflw|underflow|<\s*[\d.,eE+-]+)")
_MISSING_RE = re.compile(r"(?i)(?:nan|na|n/a|none|null|-)")

#: Spellings of roles in plate maps (lower case, spaces for ``_``/``-``) -> canonical role.
#: ``"unused"`` wells are left out of the Screen and counted.
_ROLE_SPELLINGS = {
    "treated": "treated, treatment, trt, test, drug, compound",
    "negative": "negative, neg, negative control, neg control, neg ctrl, nc, dmso, vehicle, veh, "
    "vehicle control, solvent",
    "positive": "positive, pos, positive control, pos control, pos ctrl, pc, kill, killed, dead, "
    "max kill, 100% kill",
    "blank": "blank, empty, medium, media, medium only, media only, no cells, background, bkg, bg",
    "untreated": "untreated, no treatment, no drug, cells only",
    "time_zero": "time zero, t0, t 0, t=0, day 0, day0, tz",
    "unused": "unused, un used, not used, skip, exclude, excluded, -",
}
ROLE_LABELS: dict[str, str] = {
    label: role for role, text in _ROLE_SPELLINGS.items() for label in text.split(", ")
}

_SHAPES = {cols: (rows, cols) for rows, cols in PLATE_FORMATS.values()}  # n_cols -> shape
_INT_RE = re.compile(r"0*(\d{1,2})(?:\.0+)?")
_READ_RE = re.compile(r"(?i)^read\s*\d+\s*:\s*\S")
_STRONG_KEYS = {"barcode", "plate barcode", "plate id", "plate name", "plate label", "plate"}
_WEAK_KEYS = {"plate number", "plate no", "plate no.", "plate nr", "plate #", "plate nr."}
_READ_KEYS = {"label", "read", "read name", "data set", "dataset"}
_PLATE_TYPE_RE = re.compile(
    r"(?i)(\bwells?\b|flat|bottom|round|clear|white|black|greiner|corning|costar|nunc|falcon"
    r"|\[.+\]|\.pdfx?$|\b(96|384|1536)\b)"
)
_UNIT_RE = "pM|nM|uM|µM|μM|mM|M"
_UNIT_IN_NAME = re.compile(rf"^(?P<base>.*?)[\s_.\-]*[(\[]?\s*(?P<unit>{_UNIT_RE})\s*[)\]]?$")
_CONC_BASES = ("concentration", "conc", "dose")
_CONC_TOKEN = re.compile(rf"^(?P<num>[+-]?[\d.,]*\d(?:[eE][+-]?\d+)?)\s*(?P<unit>{_UNIT_RE})?$")
_MAP_COLUMNS = ("plate", "well", "sample", "drug", "concentration", "conc_unit", "role")
_SUGGEST = {
    "sample": ("cell line", "cell_line", "cellline", "cell", "line", "cells", "model"),
    "drug": ("compound", "treatment", "agent", "drug name", "cpd"),
    "concentration": ("dose", "conc"),
    "role": ("type", "control", "content", "well type", "well role"),
    "well": ("well position", "position", "well id", "wellname", "well name"),
}


# ---------------------------------------------------------------------------- file -> rows
@dataclass
class _Sheet:
    name: str | None  # None for a text file
    rows: list[list[str]]  # rows[i] is line i + 1 (row i + 1 of a sheet)
    sep: str | None = None  # text files: the separator the rows were split on
    cut: bool = False  # text files: the last line has no line end (a truncated file?)

    def loc(self, line: int) -> str:
        return f"line {line}" if self.name is None else f"sheet {self.name!r} row {line}"


def _cli_sep(sep: str) -> str:
    return {"\t": "'\\t'", ";": "';'", ",": "','"}.get(sep, repr(sep))


def _text_lines(path: Path) -> tuple[list[str], bool]:
    # Windows instrument PCs often write cp1252 (µ, °), Excel's "Unicode text" UTF-16
    text = decode(read_bytes(path), path, what="plate-reader export", strict=False).text
    lines = text.splitlines()
    # the last line has no line end: a file cut short if that line is short too (see callers)
    return lines, bool(text.strip()) and not text.endswith(("\n", "\r"))


def _split(lines: list[str], sep: str) -> list[list[str]]:
    # one csv parse per line keeps line numbers exact (a stray quote cannot swallow lines)
    return [next(csv.reader([ln], delimiter=sep), []) for ln in lines]


def _header(cells: Sequence[str]) -> tuple[int, int] | None:
    """``(index of column 1, n_cols)`` when ``cells`` is a row of column numbers 1..N."""
    i0 = next(
        (
            i
            for i, c in enumerate(cells)
            if (m := _INT_RE.fullmatch(c.strip())) and int(m.group(1)) == 1
        ),
        None,
    )
    if not i0 or sum(1 for c in cells[:i0] if c.strip()) > 1:
        return None
    n = 0
    while i0 + n < len(cells):
        m = _INT_RE.fullmatch(cells[i0 + n].strip())
        if not m or int(m.group(1)) != n + 1:
            break
        n += 1
    return (i0, n) if n in _SHAPES else None


def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        f = fmt.lower().lstrip(".")
        kinds = {"csv": "csv", "tsv": "tsv", "txt": "text", "text": "text", "excel": "excel",
                 "xlsx": "excel", "xlsm": "excel"}  # fmt: skip
        if f in ("plate_export", "plate", "plate_reader", "grid"):  # read_screen's names
            return _format(path, None)
        if f not in kinds:
            raise InputError(
                f"{path}: format {fmt!r} unknown for a plate-reader file; use csv, tsv, text or "
                "excel (fmt='excel', CLI: --format excel)"
            )
        return kinds[f]
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    return {".csv": "csv", ".tsv": "tsv"}.get(suffix, "text")


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    return str(v)


def _load(
    path: Path, *, fmt: str | None, sheet: str | int | None, sep: str | None
) -> tuple[list[_Sheet], str | None]:
    """The file as rows of cell texts (one _Sheet per Excel sheet) and the separator used."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    kind = _format(path, fmt)
    if kind == "excel":
        on = f" (sheet {sheet!r})" if sheet is not None else ""
        try:
            book = pd.read_excel(
                path, sheet_name=None if sheet is None else sheet, header=None, dtype=object
            )
        except (ValueError, KeyError) as exc:
            raise InputError(
                f"{path}: cannot read it as Excel{on}: {exc}. Check the sheet name "
                "(sheet='Plate 1', CLI: --sheet 'Plate 1')"
            ) from exc
        except Exception as exc:
            # openpyxl / xlrd on a corrupt or truncated workbook raise whatever their zip, XML
            # and record parsers raise (BadZipFile, zlib.error, ParseError, struct.error ...)
            raise InputError(
                f"{path}: cannot read it as an Excel workbook{on} ({type(exc).__name__}: "
                f"{exc}); the file is corrupt, truncated or not a workbook: save it again from "
                "Excel, or export it as text and pass fmt='text' (CLI: --format text)"
            ) from exc
        if isinstance(book, pd.DataFrame):
            book = {str(sheet): book}
        sheets = [
            _Sheet(str(name), [[_cell_text(v) for v in row] for row in df.itertuples(index=False)])
            for name, df in book.items()
        ]
        return sheets, None
    lines, cut = _text_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError(f"{path}: the file is empty (no text in it)")
    if sep is None and fmt is not None and kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
    candidates = [sep] if sep is not None else ["\t", ",", ";"]
    best: tuple[int, str, list[list[str]]] | None = None
    for s in candidates:
        rows = _split(lines, s)
        score = sum(h[1] for r in rows if (h := _header(r)) is not None)
        if best is None or score > best[0]:
            best = (score, s, rows)
    assert best is not None  # candidates is never empty
    if best[0] == 0 and sep is None:
        # no grid: a table; its separator is the most frequent one on the first line
        first = next((ln for ln in lines if ln.strip()), "")
        s = max(candidates, key=first.count)
        return [_Sheet(None, _split(lines, s), s, cut)], s
    return [_Sheet(None, best[2], best[1], cut)], best[1]


# ---------------------------------------------------------------------------- grids
@dataclass
class _Grid:
    sheet: _Sheet
    line: int  # line of the column-number header
    tokens: np.ndarray  # (n_rows, n_cols) str
    lines: np.ndarray  # (n_rows,) line of each row
    label: str | None  # read label after the last column (Gen5)
    title: str | None  # grid maps: the attribute (corner cell or the line above)

    @property
    def n_wells(self) -> int:
        return int(self.tokens.size)


@dataclass
class _Event:
    kind: Literal["plate", "read", "grid"]
    line: int
    value: str = ""
    strength: int = 0
    grid: _Grid | None = None


def _norm_key(key: str) -> str:
    k = re.sub(r"\(.*?\)", " ", key.lower())
    k = re.sub(r"[\s_\-]+", " ", k).strip().rstrip(":").strip()
    return k


def _meta_events(rows: list[list[str]], i: int) -> list[_Event]:
    cells = [c.strip() for c in rows[i]]
    ne = [c for c in cells if c]
    if not ne:
        return []
    line = i + 1
    out: list[_Event] = []
    reads = [c for c in ne if _READ_RE.match(c)]
    if reads:
        return [_Event("read", line, reads[0])]
    if len(ne) >= 3:
        # EnVision: a 'Plate,Repeat,Barcode,...' header row with the values on the next row
        low = [_norm_key(c) for c in cells]
        if "barcode" in low and i + 1 < len(rows):
            j = low.index("barcode")
            nxt = rows[i + 1]
            if j < len(nxt) and nxt[j].strip():
                out.append(_Event("plate", line + 1, nxt[j].strip(), 2))
        return out
    first = ne[0]
    if ":" in first:
        key, val = first.split(":", 1)
        val = val.strip() or (ne[1] if len(ne) > 1 else "")
    else:
        key, val = first, (ne[1] if len(ne) > 1 else "")
    k = _norm_key(key)
    if not val:
        return out
    if k in _STRONG_KEYS and not (k == "plate" and _PLATE_TYPE_RE.search(val)):
        out.append(_Event("plate", line, val, 2))
    elif k in _WEAK_KEYS:
        out.append(_Event("plate", line, val, 1))
    elif k in _READ_KEYS:
        out.append(_Event("read", line, val))
    return out


def _last_line(rows: list[list[str]]) -> int:
    """Index of the last row with a non-empty cell."""
    return next((i for i in range(len(rows) - 1, -1, -1) if any(c.strip() for c in rows[i])), -1)


def _parse_block(
    sheet: _Sheet, h: int, i0: int, n_cols: int, where: str
) -> tuple[list[_Grid], int]:
    rows = sheet.rows
    n_rows = _SHAPES[n_cols][0]
    letters = [str(x) for x in _row_label(np.arange(n_rows))]
    groups: dict[str, dict[int, tuple[list[str], int]]] = {}
    k, j = 0, h + 1
    while j < len(rows):
        cells = rows[j]
        pre = [c.strip() for c in cells[:i0] if c.strip()]
        vals = [c.strip() for c in cells[i0 : i0 + n_cols]]
        if len(vals) < n_cols and sheet.cut and j == _last_line(rows):
            raise InputError(
                f"{where}{sheet.loc(j + 1)}: the file ends inside this grid row ({len(vals)} of "
                f"{n_cols} cells, no line end): it looks truncated; export the plate again"
            )
        vals += [""] * (n_cols - len(vals))
        trail = next((c.strip() for c in cells[i0 + n_cols :] if c.strip()), "")
        if len(pre) == 1 and k < n_rows and pre[0].upper() == letters[k]:
            r = k
            k += 1
        elif not pre and k > 0 and trail and any(vals):
            r = k - 1  # Gen5: a further read of the same row letter
        else:
            break
        group = groups.setdefault(trail, {})
        if r in group:
            raise InputError(
                f"{where}{sheet.loc(j + 1)}: row {letters[r]} of the grid at {sheet.loc(h + 1)} "
                f"appears twice with read label {trail!r}"
            )
        group[r] = (vals, j + 1)
        j += 1
    if k == 0:
        return [], h + 1
    shape = f"{n_rows * n_cols}-well"
    if k < n_rows:
        raise InputError(
            f"{where}{sheet.loc(h + 1)}: the {shape} grid has rows {letters[0]}..{letters[k - 1]} "
            f"({k} rows) and ends at {sheet.loc(j + 1)}; a {shape} plate has {n_rows} rows "
            f"({letters[0]}..{letters[-1]}). Is the export truncated or a row label mistyped?"
        )
    corner = next((c.strip() for c in rows[h][:i0] if c.strip()), "")
    grids = []
    for trail, group in groups.items():
        missing = [letters[r] for r in range(n_rows) if r not in group]
        if missing:
            raise InputError(
                f"{where}{sheet.loc(h + 1)}: read {trail!r} of the grid lacks row(s) {missing}"
            )
        grids.append(
            _Grid(
                sheet=sheet,
                line=h + 1,
                tokens=np.array([group[r][0] for r in range(n_rows)], dtype=object),
                lines=np.array([group[r][1] for r in range(n_rows)]),
                label=trail or None,
                title=None if corner in ("", "<>") else corner,
            )
        )
    return grids, j


def _scan(sheet: _Sheet, where: str) -> list[_Event]:
    """Grids and metadata events of one sheet, in order; grids get the title above them."""
    rows = sheet.rows
    events: list[_Event] = []
    last_text: tuple[int, list[str]] | None = None  # last non-empty row since the last grid
    i = 0
    while i < len(rows):
        hd = _header(rows[i])
        if hd is not None:
            grids, j = _parse_block(sheet, i, hd[0], hd[1], where)
            if grids:
                for g in grids:
                    if g.title is None and last_text is not None:
                        g.title = _title_from(last_text[1])
                    events.append(_Event("grid", g.line, grid=g))
                last_text = None
                i = j
                continue
        ev = _meta_events(rows, i)
        events.extend(ev)
        if any(c.strip() for c in rows[i]):
            last_text = None if any(e.kind == "plate" for e in ev) else (i, rows[i])
        i += 1
    return events


def _title_from(cells: list[str]) -> str | None:
    ne = [c.strip() for c in cells if c.strip()]
    if len(ne) == 1:
        return ne[0]
    if len(ne) == 2 and ne[1] in CONC_UNITS:
        return f"{ne[0]} ({ne[1]})"
    return None


def _parse_numbers(tokens: np.ndarray, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Values (NaN when not a number) and statuses ok/empty/overflow/underflow/bad."""
    t = pd.Series(np.asarray(tokens, dtype=object).ravel()).astype(str).str.strip()
    num = t.str.replace(",", ".", regex=False) if decimal == "," else t
    if decimal == ",":
        num = num.where(~t.str.contains(r"\.", regex=True), "x")  # '1.5' is not a number here
    val = np.array(pd.to_numeric(num, errors="coerce"), dtype=float)
    status = np.full(len(t), "ok", dtype=object)
    status[~np.isfinite(val)] = "bad"
    status[(t == "").to_numpy() | t.str.fullmatch(_MISSING_RE).to_numpy()] = "empty"
    status[t.str.fullmatch(_OVER_RE).to_numpy()] = "overflow"
    status[t.str.fullmatch(_UNDER_RE).to_numpy()] = "underflow"
    val[status != "ok"] = np.nan
    shape = np.shape(tokens)
    return val.reshape(shape), status.reshape(shape)


def _detect_decimal(tokens: Iterable[np.ndarray]) -> str:
    arrays = [np.asarray(x, dtype=object).ravel() for x in tokens]
    flat = np.concatenate(arrays) if arrays else np.array([], dtype=object)
    t: Any = pd.Series(flat, dtype=object).astype(str).str.strip()
    comma = int(t.str.fullmatch(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?").sum())
    dot = int(t.str.fullmatch(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?").sum())
    return "," if comma > 0 and dot == 0 else "."


def _is_numeric(grid: _Grid) -> bool:
    _, status = _parse_numbers(grid.tokens, ".")
    _, status_c = _parse_numbers(grid.tokens, ",")
    filled = status != "empty"
    if not filled.any():
        return True  # an empty read is still a read
    bad = np.minimum((status == "bad").sum(), (status_c == "bad").sum())
    return bool(bad <= 0.5 * filled.sum())


@dataclass
class _Plate:
    label: str
    reads: dict[str, _Grid]
    labelled: bool


def _group_plates(sheets: list[_Sheet], where: str) -> tuple[list[_Plate], list[int]]:
    """Plates (label -> reads) in file order; also the lines of skipped text grids."""
    plates: list[_Plate] = []
    skipped: list[int] = []
    for sheet in sheets:
        sheet_plates: list[_Plate] = []
        cur: _Plate | None = None
        pending: _Event | None = None
        last_read: str | None = None
        for ev in _scan(sheet, where):
            if ev.kind == "plate":
                if cur is not None and cur.reads:
                    cur = None
                if pending is None or ev.strength > pending.strength:
                    pending = ev
            elif ev.kind == "read":
                last_read = ev.value
            else:
                g = ev.grid
                assert g is not None
                if not _is_numeric(g):
                    skipped.append(g.line)
                    continue
                if cur is None:
                    cur = _Plate(pending.value if pending else "", {}, pending is not None)
                    pending = None
                    sheet_plates.append(cur)
                label = g.label or last_read
                if label is None:
                    label = f"read {sum(1 for r in cur.reads if r.startswith('read ')) + 1}"
                    if not cur.labelled and cur.reads:
                        cur = _Plate("", {}, False)
                        sheet_plates.append(cur)
                        label = "read 1"
                elif label in cur.reads:
                    if cur.labelled:
                        first = cur.reads[label]
                        raise InputError(
                            f"{where}{sheet.loc(g.line)}: plate {cur.label!r} has a second grid of "
                            f"read {label!r} (the first is at {sheet.loc(first.line)}). Kinetic "
                            "reads are not supported; if these are different plates, put a "
                            "'Plate: NAME' or 'Barcode: NAME' line before each."
                        )
                    cur = _Plate("", {}, False)
                    sheet_plates.append(cur)
                cur.reads[label] = g
        unnamed = [p for p in sheet_plates if not p.labelled]
        for p in unnamed:
            if sheet.name is not None:
                p.label = (
                    sheet.name if len(unnamed) == 1 else f"{sheet.name} {unnamed.index(p) + 1}"
                )
            else:
                p.label = str(len(plates) + sheet_plates.index(p) + 1)
        plates.extend(sheet_plates)
    merged: dict[str, _Plate] = {}
    for p in plates:  # one plate exported in several sections (one per read)
        if p.label in merged:
            into = merged[p.label]
            for r, g in p.reads.items():
                if r in into.reads:
                    raise InputError(
                        f"{where}plate {p.label!r} appears twice with read {r!r} "
                        f"({into.reads[r].sheet.loc(into.reads[r].line)} and "
                        f"{g.sheet.loc(g.line)}); give each plate its own name"
                    )
                into.reads[r] = g
        else:
            merged[p.label] = p
    return list(merged.values()), skipped


def _export_plates(
    path: Path,
    *,
    fmt: str | None,
    sheet: str | int | None,
    sep: str | None,
    decimal: str | None,
) -> tuple[list[_Plate], str]:
    where = f"{path}: "
    sheets, used_sep = _load(path, fmt=fmt, sheet=sheet, sep=sep)
    plates, skipped = _group_plates(sheets, where)
    if not plates:
        extra = f" (text grids at lines {skipped[:5]} are layouts, not reads)" if skipped else ""
        hint = (
            f"; the separator was taken as {_cli_sep(used_sep)}: pass sep=';' (CLI: --sep ';') "
            "if it is another"
            if used_sep
            else ""
        )
        raise InputError(
            f"{where}no plate grid found{extra}: a plate-reader export needs a row of column "
            "numbers 1..12, 1..24 or 1..48 followed by one row per row letter (A, B, ...)"
            f"{hint}"
        )
    if decimal is None:
        decimal = _detect_decimal(g.tokens for p in plates for g in p.reads.values())
    elif decimal not in (".", ","):
        raise InputError(f"decimal={decimal!r}: use '.' or ',' (CLI: --decimal ,)")
    return plates, decimal


def _grid_frame(plate: str, read: str, grid: _Grid, decimal: str, where: str) -> pd.DataFrame:
    n_rows, n_cols = grid.tokens.shape
    val, status = _parse_numbers(grid.tokens, decimal)
    rr, cc = np.divmod(np.arange(n_rows * n_cols), n_cols)
    bad = (status == "bad").ravel()
    if bad.any():
        names = well_name(rr[bad], cc[bad])
        toks = grid.tokens.ravel()[bad]
        lines = grid.lines[rr[bad]]
        listing = ", ".join(
            f"{w} ({grid.sheet.loc(int(ln))}) {t!r}"
            for w, ln, t in zip(names[:5], lines[:5], toks[:5], strict=True)
        )
        comma = decimal == "." and any("," in str(t) for t in toks)
        fix = (
            "the file uses decimal commas: pass decimal=',' (CLI: --decimal ,)"
            if comma
            else f"known markers are {', '.join(sum(OVERFLOW_MARKERS.values(), ()))}; "
            "replace other text by a number or leave the cell empty"
        )
        raise InputError(
            f"{where}plate {plate!r} read {read!r}: {int(bad.sum())} cell(s) are not numbers: "
            f"{listing}. Fix: {fix}"
        )
    return pd.DataFrame(
        {
            "plate": plate,
            "read": read,
            "well": well_name(rr, cc),
            "row": rr,
            "col": cc,
            "signal": val.ravel(),
            "read_status": status.ravel().astype(str),
            "token": grid.tokens.ravel().astype(str),
            "line": grid.lines[rr],
            "sheet": grid.sheet.name or "",
            "plate_format": n_rows * n_cols,
        }
    )


def read_plate_grids(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    fmt: str | None = None,
) -> pd.DataFrame:
    """Every plate and read of a plate-reader export as one tidy table (no plate map needed).

    See the module notes (:mod:`oncoresist.data._plate_reader`) for the formats understood:
    BioTek Gen5, Tecan and EnVision style headers, 96/384/1536 wells, several plates and
    reads per file, decimal commas and overflow markers.

    Parameters
    ----------
    path
        Text export (``.txt``, ``.csv``, ``.tsv``...) or Excel workbook (``.xlsx``).
    sheet
        Excel sheet name or index (default: every sheet).
    sep
        Column separator of a text file (default: found from the grids: tab, comma or ``;``).
    decimal
        ``"."`` or ``","`` (default: decimal commas are detected).
    fmt
        Force ``"csv"``, ``"tsv"``, ``"text"`` or ``"excel"`` (default: from the suffix).

    Returns
    -------
    pandas.DataFrame
        ``plate, read, well, row, col`` (0-based), ``signal`` (NaN unless ``read_status`` is
        ``"ok"``), ``read_status`` (``ok``, ``empty``, ``overflow``, ``underflow``), ``token``
        (the cell as written), ``line`` (line, or sheet row, of the grid row), ``sheet`` and
        ``plate_format`` (96, 384, 1536).

    Examples
    --------
    >>> from oncoresist.data import example_path
    >>> grids = read_plate_grids(example_path("prism_parental_resistant_384.txt"))
    >>> sorted(grids["plate"].unique()), grids["plate_format"].iloc[0]
    (['PAR384A', 'RES384A'], np.int64(384))
    """
    p = Path(path)
    plates, dec = _export_plates(p, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal)
    frames = [
        _grid_frame(pl.label, r, g, dec, f"{p}: ") for pl in plates for r, g in pl.reads.items()
    ]
    return pd.concat(frames, ignore_index=True)


def is_plate_export(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> bool:
    """True when ``path`` holds at least one plate grid of numbers (a plate-reader export).

    >>> from oncoresist.data import example_path
    >>> is_plate_export(example_path("prism_parental_resistant_384.txt"))
    True
    >>> is_plate_export(example_path("prism_plate_map.csv"))
    False
    """
    p = Path(path)
    try:
        sheets, _ = _load(p, fmt=None, sheet=sheet, sep=None)
        return any(
            e.grid is not None and _is_numeric(e.grid)
            for s in sheets
            for e in _scan(s, f"{p}: ")
            if e.kind == "grid"
        )
    except InputError:
        return False


# ---------------------------------------------------------------------------- plate maps
def _role_key(label: str) -> str:
    s = label.strip().lower()
    return s if s == "-" else re.sub(r"[\s_\-]+", " ", s).strip()


def _accepted_roles() -> str:
    by_role: dict[str, list[str]] = {}
    for k, v in ROLE_LABELS.items():
        by_role.setdefault(v, []).append(k)
    return "; ".join(f"{r}: {', '.join(ks)}" for r, ks in by_role.items())


_OURS = (*_MAP_COLUMNS, "replicate", "time")


def _theirs_to_ours(columns: Mapping[str, str] | None) -> dict[str, str]:
    """``columns`` given either way round (``{"sample": "Cell line"}`` or ``{"Cell line":
    "sample"}``) as ``{their name: our name}``: the side that is one of our names is ours."""
    out = {}
    for k, v in (columns or {}).items():
        k, v = str(k).strip(), str(v).strip()
        if k.lower() in _OURS and v.lower() not in _OURS:
            out[v] = k.lower()
        else:
            out[k] = v
    return out


def _canonical_column(name: str, mapping: Mapping[str, str]) -> tuple[str, str | None]:
    """Our name for a map column / block title, and a unit found in it."""
    raw = str(name).strip()
    if raw in mapping:
        raw = mapping[raw]
    low = raw.lower()
    if low in _MAP_COLUMNS or low in ("replicate", "time"):
        return low, None
    m = _UNIT_IN_NAME.match(raw)
    if m and m.group("base").strip().lower() in _CONC_BASES:
        return "concentration", m.group("unit")
    if low in ("conc_unit", "concentration_unit", "unit", "units"):
        return "conc_unit", None
    return raw, None


def _norm_wells(wells: pd.Series, locs: list[str], where: str) -> tuple[np.ndarray, np.ndarray]:
    m = wells.astype(str).str.strip().str.upper().str.extract(r"^([A-Z]{1,2})\s*0*(\d{1,2})$")
    bad = m[0].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where}{locs[i]}: well {wells.iloc[i]!r} is not a well name such as 'B07' or "
            f"'AF48' ({int(bad.sum())} such rows)"
        )
    letters = m[0].to_numpy(dtype=str)
    first = np.array([ord(s[0]) - 65 for s in letters])
    second = np.array([ord(s[-1]) - 65 for s in letters])
    row = np.where(np.char.str_len(letters) == 2, 26 * (first + 1) + second, first)
    col = m[1].astype(int).to_numpy() - 1
    outside = (row > 31) | (col > 47) | (col < 0)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"{where}{locs[i]}: well {wells.iloc[i]!r} is not on a plate of 1536 wells or fewer "
            "(rows A..AF, columns 1..48)"
        )
    return row.astype(np.int64), col.astype(np.int64)


def _finish_map(
    df: pd.DataFrame,
    locs: list[str],
    *,
    where: str,
    conc_unit: str | None,
    decimal: str | None,
    name_unit: str | None = None,
) -> pd.DataFrame:
    """Canonical plate map from string columns: wells, roles, micromolar concentrations."""
    cli_unit = "pass conc_unit='nM' (CLI: --conc-unit nM)"
    if "well" not in df.columns:
        raise SchemaError(f"{where}the plate map has no 'well' column; found {list(df.columns)}")
    if "sample" not in df.columns:
        found = [c for c in df.columns if c != "map_line"]
        sug = _close(found, "sample")
        ex = sug[0] if sug else "Cell line"
        raise SchemaError(
            f"{where}the plate map has no 'sample' column or block; found {found}"
            + (f" (close: {sug})" if sug else "")
            + f". Fix: columns={{{ex!r}: 'sample'}} (CLI: --column sample={ex!r}) or add one"
        )
    n = len(df)
    text = {c: df[c].astype(object).where(df[c].notna(), "").astype(str).str.strip() for c in df}
    row, col = _norm_wells(text["well"], locs, where)
    out = pd.DataFrame(index=df.index)
    out["plate"] = text["plate"] if "plate" in text else ""
    out["well"] = well_name(row, col)
    out["row"], out["col"] = row, col
    dup = out.duplicated(["plate", "well"], keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        w, pl = out["well"].iloc[idx[0]], out["plate"].iloc[idx[0]]
        raise InputError(
            f"{where}well {w!r}{f' of plate {pl!r}' if pl else ''} is mapped twice "
            f"({', '.join(locs[i] for i in idx[:4])}); each well needs one entry per plate"
        )
    out["sample"] = text["sample"]
    drug = text.get("drug", pd.Series("", index=df.index))
    # concentrations: value and an explicit unit per row (cell > unit column > name/title)
    tok = text.get("concentration", pd.Series("", index=df.index))
    parts = tok.str.extract(_CONC_TOKEN)
    nonnum = (tok != "").to_numpy() & parts["num"].isna().to_numpy()
    if nonnum.any():
        i = int(np.flatnonzero(nonnum)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): concentration {tok.iloc[i]!r} is "
            f"not a number with an optional unit such as '10' or '10 nM' ({int(nonnum.sum())} "
            "such wells); leave it empty for control wells"
        )
    nums = parts["num"].fillna("")
    dec = decimal or _detect_decimal([nums.to_numpy()])
    nums = nums.str.replace(",", ".", regex=False) if dec == "," else nums
    value = pd.to_numeric(nums.where(nums != "", "nan"), errors="coerce").to_numpy(dtype=float)
    badnum = (nums != "").to_numpy() & ~np.isfinite(value)
    if badnum.any():
        i = int(np.flatnonzero(badnum)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): concentration {tok.iloc[i]!r} is not "
            "a number; with decimal commas pass decimal=',' (CLI: --decimal ,)"
        )
    unit = parts["unit"].astype(object).where(parts["unit"].notna(), "")
    col_unit = text.get("conc_unit", pd.Series("", index=df.index))
    clash = (unit != "").to_numpy() & (col_unit != "").to_numpy() & (unit != col_unit).to_numpy()
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): concentration {tok.iloc[i]!r} "
            f"contradicts its conc_unit {col_unit.iloc[i]!r}"
        )
    unit = unit.where(unit != "", col_unit)
    if name_unit:
        unit = unit.where(unit != "", name_unit)
    if conc_unit is not None:
        to_micromolar([], conc_unit, where=f"conc_unit={conc_unit!r}: ")
        differ = (unit != "").to_numpy() & (unit != conc_unit).to_numpy()
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            raise InputError(
                f"{where}{locs[i]} (well {out['well'].iloc[i]}): the map gives unit "
                f"{unit.iloc[i]!r}, which differs from conc_unit={conc_unit!r}; drop conc_unit= "
                "(CLI: --conc-unit) to use the map's units"
            )
        unit = unit.where(unit != "", conc_unit)
    no_unit = (unit == "").to_numpy() & np.isfinite(value) & (value != 0)
    if no_unit.any():
        i = int(np.flatnonzero(no_unit)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): concentration {tok.iloc[i]!r} has no "
            f"unit ({int(no_unit.sum())} wells). A concentration without a unit is always an "
            "error: add a 'conc_unit' column, write it in the header ('concentration (nM)') or "
            f"the cell ('10 nM'), or {cli_unit}"
        )
    um = np.full(n, np.nan)
    for u in pd.unique(unit[np.isfinite(value)]):
        sel = (unit == u).to_numpy() & np.isfinite(value)
        i = int(np.flatnonzero(sel)[0])
        um[sel] = to_micromolar(value[sel], u or "uM", where=f"{where}{locs[i]}: ")
    # roles
    role_raw = text.get("role", pd.Series("", index=df.index))
    role = np.empty(n, dtype=object)
    for i in range(n):
        r = role_raw.iloc[i]
        if r:
            key = _role_key(r)
            if key not in ROLE_LABELS and key not in ROLES:
                raise InputError(
                    f"{where}{locs[i]} (well {out['well'].iloc[i]}): unknown role {r!r}. Accepted "
                    f"labels: {_accepted_roles()}"
                )
            role[i] = ROLE_LABELS.get(key, key.replace(" ", "_"))
            continue
        d = drug.iloc[i]
        from_drug = ROLE_LABELS.get(_role_key(d)) if d else None
        if from_drug is not None and from_drug != "treated":
            role[i] = from_drug
        elif d and np.isfinite(um[i]):
            role[i] = "treated" if um[i] > 0 else "negative"
        elif d:
            raise InputError(
                f"{where}{locs[i]} (well {out['well'].iloc[i]}): drug {d!r} without a "
                "concentration; give it one, or a role (e.g. 'negative' for vehicle wells)"
            )
        else:
            raise InputError(
                f"{where}{locs[i]} (well {out['well'].iloc[i]}): no role, drug or concentration; "
                "give a role (negative, positive, blank, untreated, time_zero, unused)"
            )
    treated = role == "treated"
    no_drug = treated & (drug == "").to_numpy()
    if no_drug.any():
        i = int(np.flatnonzero(no_drug)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): treated well without a drug "
            f"({int(no_drug.sum())} wells); give the drug or a control role"
        )
    no_conc = treated & ~(um > 0)
    if no_conc.any():
        i = int(np.flatnonzero(no_conc)[0])
        raise InputError(
            f"{where}{locs[i]} (well {out['well'].iloc[i]}): treated well with concentration "
            f"{tok.iloc[i]!r}; treated wells need a concentration > 0 (mark vehicle wells "
            "'negative')"
        )
    out["drug"] = drug
    out["concentration"] = np.where(treated, um, 0.0)
    out["role"] = role.astype(str)
    if (~treated & np.isfinite(um) & (um > 0)).any():
        out["control_concentration"] = np.where(~treated & np.isfinite(um), um, np.nan)
    out["conc_unit"] = "uM"
    if (unit != "").any():
        out["conc_unit_original"] = unit.to_numpy()
    for c in df.columns:
        if c not in out.columns and c not in ("concentration", "conc_unit", "map_line"):
            out[c] = df[c].to_numpy()
    out["map_line"] = df["map_line"].to_numpy() if "map_line" in df else np.arange(n) + 2
    return out.reset_index(drop=True)


def _close(found: Sequence[str], ours: str) -> list[str]:
    low = {str(c).lower().replace("_", " "): str(c) for c in found}
    hits = [low[a] for a in _SUGGEST.get(ours, ()) if a in low]
    return list(dict.fromkeys(hits + difflib.get_close_matches(ours, list(found), 3, 0.6)))


def _table_map(
    sheet: _Sheet, where: str, columns: Mapping[str, str]
) -> tuple[pd.DataFrame, list[str], str | None]:
    rows = sheet.rows
    header_i = None
    for i, r in enumerate(rows[:50]):
        names = [_canonical_column(c, columns)[0] for c in r if c.strip()]
        if "well" in names:
            header_i = i
            break
    if header_i is None:
        first = next(([c for c in r if c.strip()] for r in rows if any(c.strip() for c in r)), [])
        sug = _close(first, "well")
        ex = sug[0] if sug else "Well Position"
        raise SchemaError(
            f"{where}the plate map is neither a grid map (no row of column numbers 1..12/24/48) "
            f"nor a table with a 'well' column; its first row is {first}. Fix: "
            f"columns={{{ex!r}: 'well'}} (CLI: --column well={ex!r})"
        )
    header = [c.strip() for c in rows[header_i]]
    names, name_unit = [], None
    for c in header:
        name, u = _canonical_column(c, columns) if c else (f"_blank{len(names)}", None)
        names.append(name)
        name_unit = name_unit or u
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise SchemaError(f"{where}{sheet.loc(header_i + 1)}: column(s) {dup} appear twice")
    keep = [j for j, c in enumerate(names) if not c.startswith("_blank")]
    body, locs, lines = [], [], []
    last = _last_line(rows)
    for i in range(header_i + 1, len(rows)):
        _check_map_row(sheet, rows[i], i, len(names), header_i, last, where)
        r = ([c.strip() for c in rows[i]] + [""] * len(names))[: len(names)]
        r = [r[j] for j in keep]
        if any(r):
            body.append(r)
            locs.append(sheet.loc(i + 1))
            lines.append(i + 1)
    df = pd.DataFrame(body, columns=[names[j] for j in keep], dtype=object)
    df["map_line"] = lines
    return df, locs, name_unit


def _check_map_row(
    sheet: _Sheet, cells: list[str], i: int, n: int, header_i: int, last: int, where: str
) -> None:
    """A map row longer than the header would lose cells, a short one would shift meaning:
    both are errors when they come from a damaged text line (stray quote, cut-off file)."""
    extra = [c.strip() for c in cells[n:] if c.strip()]
    if extra:
        raise InputError(
            f"{where}{sheet.loc(i + 1)}: {len(cells)} cells, but the header "
            f"({sheet.loc(header_i + 1)}) names {n} columns; the cell(s) {extra[:3]} have no "
            "column. Fix the line (a separator too many?) or name the column in the header"
        )
    if sheet.name is not None or len(cells) >= n or not any(c.strip() for c in cells):
        return
    if sheet.sep is not None and any(sheet.sep in c for c in cells):
        raise InputError(
            f'{where}{sheet.loc(i + 1)}: a quote (") opens a field that does not close on this '
            f"line, so it has {len(cells)} of the header's {n} cells. Fix: close or remove the quote"
        )
    if sheet.cut and i == last:
        raise InputError(
            f"{where}{sheet.loc(i + 1)}: the file ends inside this line ({len(cells)} of the "
            f"header's {n} cells, no line end): it looks truncated; save the map again"
        )


def _grid_map(
    sheets: list[_Sheet], where: str, columns: Mapping[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    # section plate ('' = every plate) -> attribute -> (grid, unit from the title)
    sections: dict[str, dict[str, tuple[_Grid, str | None]]] = {"": {}}
    shape = None
    for sheet in sheets:
        current = ""
        events = _scan(sheet, where)
        grids_in_sheet = [e for e in events if e.kind == "grid"]
        for ev in events:
            if ev.kind == "plate":
                current = ev.value
                sections.setdefault(current, {})
                continue
            if ev.kind != "grid" or ev.grid is None:
                continue
            g = ev.grid
            title = g.title
            if title is None and sheet.name is not None and len(grids_in_sheet) == 1:
                title = sheet.name
            if title is None:
                raise InputError(
                    f"{where}{sheet.loc(g.line)}: grid block without a title; write the "
                    "attribute (sample, drug, concentration (nM), role) on the line above it"
                )
            name, unit = _canonical_column(title, columns)
            if shape is None:
                shape = g.tokens.shape
            elif g.tokens.shape != shape:
                raise InputError(
                    f"{where}{sheet.loc(g.line)}: block {title!r} has {g.n_wells} wells; the "
                    f"map's first block has {shape[0] * shape[1]}"
                )
            sec = sections[current]
            if name in sec:
                raise InputError(
                    f"{where}{sheet.loc(g.line)}: a second {name!r} block"
                    f"{f' for plate {current!r}' if current else ''} (the first is at "
                    f"{sec[name][0].sheet.loc(sec[name][0].line)})"
                )
            sec[name] = (g, unit)
    assert shape is not None
    n_rows, n_cols = shape
    rr, cc = np.divmod(np.arange(n_rows * n_cols), n_cols)
    frames, all_locs = [], []
    has_sections = len(sections) > 1
    for plate, sec in sections.items():
        if not plate and has_sections and "sample" not in sec:
            continue  # shared blocks only complete the plate sections
        attrs = dict(sections[""]) if plate else {}
        attrs.update(sec)
        if not attrs:
            continue
        cells = {name: g.tokens.ravel().astype(str) for name, (g, _) in attrs.items()}
        keys = [k for k in ("role", "drug", "concentration") if k in cells]
        if not keys:
            continue
        used = np.zeros(rr.size, dtype=bool)
        for k in keys:
            used |= np.char.str_len(np.char.strip(cells[k].astype(str))) > 0
        frame = pd.DataFrame({k: v[used] for k, v in cells.items()})
        frame["well"] = well_name(rr[used], cc[used])
        if plate:
            frame["plate"] = plate
        if "concentration" in attrs and attrs["concentration"][1]:
            u = attrs["concentration"][1]
            has_conc = frame["concentration"].str.strip() != ""
            if "conc_unit" not in frame:
                frame["conc_unit"] = ""
            frame.loc[has_conc & (frame["conc_unit"].str.strip() == ""), "conc_unit"] = u
        g0 = attrs[keys[0]][0]
        frame["map_line"] = g0.lines[rr[used]]
        frames.append(frame)
        all_locs += [f"{g0.sheet.loc(int(ln))}" for ln in frame["map_line"]]
    if not frames:
        raise InputError(f"{where}the grid map has no role, drug or concentration block")
    df = pd.concat(frames, ignore_index=True).fillna("")
    if "plate" in df:
        df["plate"] = df["plate"].astype(str)
    return df, all_locs


def read_plate_map(
    path: str | os.PathLike[str],
    *,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    decimal: str | None = None,
) -> pd.DataFrame:
    """Read a plate map: a table (one row per well) or grid blocks (one grid per attribute).

    Parameters
    ----------
    path
        CSV / TSV / text or Excel file. Tables need ``well`` and ``sample`` and, for treated
        wells, ``drug`` and ``concentration``; ``role``, ``conc_unit``, ``plate`` and any other
        column are optional. Grid maps hold blocks titled ``sample``, ``drug``,
        ``concentration (nM)``, ``conc_unit``, ``role`` ...; ``Plate: NAME`` lines start
        blocks for one plate (earlier blocks apply to every plate).
    conc_unit
        Unit of concentrations that carry none in the map (``"nM"``, ``"uM"`` ...). A map
        concentration without any unit is an error.
    sheet
        Excel sheet (default: the first for tables, every sheet for grid maps).
    columns
        The map's names for our columns, either way round (``{"sample": "Cell line"}`` or
        ``{"Cell line": "sample"}``); applies to block titles too.
    decimal
        ``"."`` or ``","`` in concentrations (default: detected).

    Returns
    -------
    pandas.DataFrame
        ``plate`` (``""``: every plate), ``well`` (``"B07"``), ``row, col`` (0-based),
        ``sample, drug``, ``concentration`` (micromolar; 0 for controls, whose stated dose, if
        any, is in ``control_concentration``), ``role`` (one of ``ROLES`` or ``"unused"``),
        ``conc_unit`` (``"uM"``), ``conc_unit_original``, extra columns, and ``map_line`` (the
        line or sheet row that defines the well). Passing this table back as ``plate_map`` to
        :func:`read_plate_export` gives the same result as the file.

    Examples
    --------
    >>> from oncoresist.data import example_path
    >>> m = read_plate_map(example_path("prism_plate_map.csv"))
    >>> m["role"].value_counts().to_dict()["treated"]
    180
    """
    p = Path(path)
    where = f"{p}: "
    mapping = _theirs_to_ours(columns)
    sheets, _ = _load(p, fmt=None, sheet=sheet, sep=None)
    if any(e.kind == "grid" for s in sheets for e in _scan(s, where)):
        df, locs = _grid_map(sheets, where, mapping)
        return _finish_map(df, locs, where=where, conc_unit=conc_unit, decimal=decimal)
    table_sheet = sheets[0]
    if not any(c.strip() for r in table_sheet.rows for c in r):
        raise InputError(
            f"{where}the plate map is empty{f' (sheet {table_sheet.name!r})' if table_sheet.name else ''}"
            "; give one row per well (well, sample, drug, concentration, conc_unit, role) or grid "
            "blocks"
        )
    df, locs, name_unit = _table_map(table_sheet, where, mapping)
    if df.empty:
        raise InputError(f"{where}the plate map has a header but no wells")
    return _finish_map(
        df, locs, where=where, conc_unit=conc_unit, decimal=decimal, name_unit=name_unit
    )


def _map_from_frame(frame: pd.DataFrame, conc_unit: str | None) -> pd.DataFrame:
    where = "plate map (DataFrame): "
    df = frame.copy()
    df.columns = [_canonical_column(str(c), {})[0] for c in df.columns]
    if "map_line" not in df:
        df["map_line"] = np.arange(len(df)) + 2
    locs = [f"row {int(x)}" for x in df["map_line"]]
    for c in df.columns:
        if c not in ("map_line", "row", "col"):
            df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    df = df.drop(columns=[c for c in ("row", "col") if c in df.columns])
    out = _finish_map(df, locs, where=where, conc_unit=conc_unit, decimal=".")
    if "conc_unit_original" in frame:
        out["conc_unit_original"] = frame["conc_unit_original"].to_numpy()
    return out


# ---------------------------------------------------------------------------- export + map
def _pick(options: Sequence[str], wanted: str) -> str | None:
    if wanted in options:
        return wanted
    low = [o for o in options if o.lower() == wanted.lower()]
    if len(low) == 1:
        return low[0]
    sub = [o for o in options if wanted.lower() in o.lower()]
    return sub[0] if len(sub) == 1 else None


def _choose_read(plates: list[_Plate], read: str | int | None, where: str) -> str:
    labels = list(dict.fromkeys(r for p in plates for r in p.reads))
    places = {
        r: [g.sheet.loc(g.line) for p in plates for k, g in p.reads.items() if k == r]
        for r in labels
    }
    listing = ", ".join(
        f"{r!r} ({', '.join(places[r][:3])}{', ...' if len(places[r]) > 3 else ''})" for r in labels
    )
    if read is None:
        if len(labels) == 1:
            return labels[0]
        ex = labels[0]
        raise InputError(
            f"{where}the export holds several reads: {listing}. Choose one: pass read={ex!r} "
            f"(CLI: --read {ex!r})"
        )
    if isinstance(read, int) and not isinstance(read, bool):
        if not 1 <= read <= len(labels):
            raise InputError(f"{where}read={read}: the export has {len(labels)} read(s): {listing}")
        chosen: str | None = labels[read - 1]
    else:
        chosen = _pick(labels, str(read))
        if chosen is None and str(read).strip().isdigit() and 1 <= int(read) <= len(labels):
            chosen = labels[int(read) - 1]
    if chosen is None:
        raise InputError(
            f"{where}read={read!r} matches none (or several) of the reads {listing}; pass one "
            f"of them, e.g. read={labels[0]!r} (CLI: --read {labels[0]!r})"
        )
    lacking = [p.label for p in plates if chosen not in p.reads]
    if lacking:
        raise InputError(
            f"{where}plate(s) {lacking} have no read {chosen!r} (their reads: "
            f"{next(list(p.reads) for p in plates if p.label in lacking)}); read them separately "
            "with plate='NAME' (CLI: --plate NAME)"
        )
    return chosen


def _wells_listing(df: pd.DataFrame, limit: int = 12, *, lines: bool = False) -> str:
    parts = []
    for plate, sub in df.groupby("plate", sort=False):
        wells = sub["well"].tolist()
        if lines:
            wells = [f"{w} (line {int(n)})" for w, n in zip(wells, sub["map_line"], strict=True)]
        more = f" and {len(wells) - limit} more" if len(wells) > limit else ""
        parts.append(f"plate {plate!r}: {', '.join(wells[:limit])}{more}")
    return "; ".join(parts)


def read_plate_export(
    path: str | os.PathLike[str],
    plate_map: str | os.PathLike[str] | pd.DataFrame | None,
    *,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    plate: str | Sequence[str] | None = None,
    read: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    columns: Mapping[str, str] | None = None,
    fmt: str | None = None,
    on_overflow: Literal["flag", "raise"] = "flag",
) -> Screen:
    """A plate-reader export (grids of reads) and its plate map as a well-level :class:`Screen`.

    Parameters
    ----------
    path
        The export (text or ``.xlsx``; see :func:`read_plate_grids`).
    plate_map
        Plate map file (table or grid blocks; see :func:`read_plate_map`) or the DataFrame
        :func:`read_plate_map` returns. Required: the export alone does not say what is in
        the wells.
    conc_unit
        Unit of map concentrations that carry none (a concentration without unit is an error).
    sheet
        Excel sheet of the export (default: every sheet; unnamed plates take the sheet name).
    plate
        Read only this plate / these plates (labels as in :func:`read_plate_grids`).
    read
        The read to use when plates have several (label, a unique part of it, or 1-based
        number).
    sep, decimal, fmt
        Separator, decimal mark and format of the export (default: detected).
    columns
        The plate map's names for our columns, either way round, e.g. ``{"sample":
        "Cell_Line"}`` (CLI: ``--column sample=Cell_Line``).
    on_overflow
        Mapped wells marked as overflow/underflow (``OVRFLW``, ``OVER``, ``*`` ...):
        ``"flag"`` keeps them with ``signal`` NaN and ``read_status`` saying why and warns
        with their names; ``"raise"`` stops with an error naming them.

    Returns
    -------
    Screen
        Raw ``signal`` per well with ``plate, well, row, col, sample, drug, concentration``
        (micromolar), ``role``, ``read``, ``read_status`` and the map's extra columns;
        ``screen.data.attrs["excluded"]`` counts the wells left out by reason (see
        :func:`oncoresist.data.excluded_wells`).

    Raises
    ------
    InputError
        With the file, line or well and the fix (API and CLI): several reads and none chosen,
        unknown read or plate, map wells outside the plate, reads that the map does not
        cover, unknown roles, concentrations without a unit, cells that are not numbers.

    Examples
    --------
    >>> from oncoresist.data import example_path
    >>> screen = read_plate_export(example_path("prism_parental_resistant_384.txt"),
    ...                            example_path("prism_plate_map.csv"))
    >>> screen.samples, screen.drugs
    (['Parental', 'Resistant'], ['DrugA', 'DrugB', 'DrugC'])
    """
    p = Path(path)
    where = f"{p}: "
    if plate_map is None:
        raise InputError(
            f"{where}is a plate-reader export (a grid of reads per plate): it needs a plate map "
            "saying what is in each well. Pass plate_map='map.csv' (CLI: --plate-map map.csv); "
            "a map is a table (well, sample, drug, concentration, conc_unit, role) or grid blocks"
        )
    if on_overflow not in ("flag", "raise"):
        raise InputError(f"on_overflow={on_overflow!r}: use 'flag' or 'raise'")
    plates, dec = _export_plates(p, fmt=fmt, sheet=sheet, sep=sep, decimal=decimal)
    if plate is not None:
        wanted = [plate] if isinstance(plate, str) else list(plate)
        labels = [pl.label for pl in plates]
        picked = []
        for w in wanted:
            hit = _pick(labels, str(w))
            if hit is None:
                raise InputError(
                    f"{where}plate={w!r} is not in the export; its plates are {labels} "
                    f"(CLI: --plate {labels[0]!r})"
                )
            picked.append(hit)
        plates = [pl for pl in plates if pl.label in picked]
    chosen = _choose_read(plates, read, where)
    export = pd.concat(
        [_grid_frame(pl.label, chosen, pl.reads[chosen], dec, where) for pl in plates],
        ignore_index=True,
    )
    if isinstance(plate_map, pd.DataFrame):
        pmap, map_src = _map_from_frame(plate_map, conc_unit), "plate map (DataFrame)"
    else:
        pmap = read_plate_map(plate_map, conc_unit=conc_unit, columns=columns)
        map_src = str(plate_map)
    mapped_plates = set(pmap["plate"]) - {""}
    shared = (pmap["plate"] == "").any()
    parts = []
    missing_plates = []
    for label in export["plate"].unique():
        if label in mapped_plates:
            rows = pmap[pmap["plate"] == label]
        elif shared:
            rows = pmap[pmap["plate"] == ""]
        else:
            missing_plates.append(label)
            continue
        parts.append(rows.drop(columns=["row", "col"]).assign(plate=label))
    if missing_plates:
        raise InputError(
            f"{where}plate(s) {missing_plates} are not in the plate map {map_src} (its plates: "
            f"{sorted(mapped_plates)}). Fix: add map rows with these plate names (a 'plate' "
            "column or 'Plate: NAME' section), a shared section without plate, or read only the "
            f"mapped plates with plate={sorted(mapped_plates)[:1]} (CLI: --plate NAME)"
        )
    m = pd.concat(parts, ignore_index=True)
    merged = export.merge(m, on=["plate", "well"], how="outer", indicator=True)
    off_grid = merged[merged["_merge"] == "right_only"]
    if len(off_grid):
        fmt_n = int(export["plate_format"].iloc[0])
        raise InputError(
            f"{map_src}: {len(off_grid)} mapped well(s) are not on the {fmt_n}-well plates of "
            f"{p}: {_wells_listing(off_grid, lines=True)}. The map is for another plate format, or names "
            "wells wrongly"
        )
    unmapped = merged[merged["_merge"] == "left_only"]
    with_read = unmapped[unmapped["read_status"] != "empty"]
    if len(with_read):
        raise InputError(
            f"{where}{len(with_read)} well(s) have a read but are not in the plate map "
            f"{map_src}: {_wells_listing(with_read)}. Fix: add them to the map (role 'unused' "
            "leaves a well out), or check that the map belongs to this export"
        )
    both = merged[merged["_merge"] == "both"].drop(columns="_merge")
    excluded: dict[str, int] = {}
    if len(unmapped):
        excluded["no read and not in the plate map"] = len(unmapped)
    unused = (both["role"] == "unused").to_numpy()
    if unused.any():
        excluded["role 'unused' in the plate map"] = int(unused.sum())
    kept = both[~unused].reset_index(drop=True)
    marked = kept[kept["read_status"].isin(["overflow", "underflow"])]
    if len(marked):
        kinds = ", ".join(f"{int(v)} {k}" for k, v in marked["read_status"].value_counts().items())
        tokens = sorted(set(marked["token"]))[:5]
        listing = _wells_listing(marked)
        if on_overflow == "raise":
            raise InputError(
                f"{where}{len(marked)} mapped well(s) are out of the reader's range ({kinds}; "
                f"markers {tokens}): {listing}. Fix: re-read with a lower gain, or pass "
                "on_overflow='flag' to keep them with signal NaN"
            )
        warnings.warn(
            f"{p}: {len(marked)} mapped well(s) are out of the reader's range ({kinds}; markers "
            f"{tokens}): {listing}. They are kept with signal NaN and read_status "
            "'overflow'/'underflow' (pass on_overflow='raise' to stop instead)",
            UserWarning,
            stacklevel=2,
        )
    empty = kept[kept["read_status"] == "empty"]
    if len(empty):
        warnings.warn(
            f"{p}: {len(empty)} mapped well(s) have no read: {_wells_listing(empty)}. They are "
            "kept with signal NaN and read_status 'empty'",
            UserWarning,
            stacklevel=2,
        )
    # control wells without cells (blank, kill) belong to their plate's line when it has one
    per_plate = (
        kept[kept["sample"] != ""]
        .groupby("plate")["sample"]
        .agg(lambda x: x.iloc[0] if x.nunique() == 1 else "")
    )
    no_sample = (kept["sample"] == "").to_numpy()
    kept.loc[no_sample, "sample"] = kept.loc[no_sample, "plate"].map(per_plate).fillna("")
    lead = ["plate", "well", "row", "col", "sample", "drug", "concentration", "role", "signal",
            "read", "read_status"]  # fmt: skip
    drop = {"token", "line", "sheet", "map_line", "conc_unit", "_merge"}
    rest = [c for c in kept.columns if c not in lead and c not in drop]
    data = kept[lead + rest].copy()
    data["row"] = data["row"].astype(np.int64)
    data["col"] = data["col"].astype(np.int64)
    screen = Screen(data, source=str(p))
    screen.data.attrs["excluded"] = excluded
    return screen
