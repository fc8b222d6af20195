"""Reader of a plain dose-matrix grid: the layout a combination plate gives.

::

    ispinesib \\ ibrutinib (nM),  0,    1,   10,  100     <- drug B (drug2) doses
    0,                            100,  96,   80,   41
    1,                             93,  85,   60,   22     <- one row per drug A (drug1) dose
    10,                            70,  51,   33,   10

The corner cell may name the drugs (``A \\ B``, ``A / B`` or ``A vs B``) and give the unit in
brackets; each dose may instead carry its own unit (``"10 nM"``). Several grids stacked in one
file, separated by an empty row, are replicates of the same block (their doses must agree).
A dose without a unit is an error: the unit has no default anywhere in oncoresist.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._text import COMPRESSION, decode, read_bytes
from ..errors import InputError, OncoresistError
from ._combination import CombinationScreen
from ._readers import cli_fix
from ._screen import CONC_UNITS, to_micromolar

__all__ = ["read_dose_matrix"]

_UNIT = "|".join(sorted((re.escape(u) for u in CONC_UNITS), key=len, reverse=True))
_DOSE = re.compile(rf"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*({_UNIT})?\s*$")
_CORNER_UNIT = re.compile(rf"[\(\[]\s*({_UNIT})\s*[\)\]]|^\s*({_UNIT})\s*$")
_NAMES = re.compile(r"\s*(?:\\|/|\bvs\.?\b)\s*")


_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_TEXT_SEPARATORS = ("\t", ";", ",")


def _suffix(path: Path) -> tuple[str, str | None]:
    suffixes = [x.lower() for x in path.suffixes]
    comp = COMPRESSION.get(suffixes[-1]) if suffixes else None
    if comp:
        suffixes.pop()
    return (suffixes[-1] if suffixes else ""), comp


def _sniff_sep(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {sep: first.count(sep) for sep in _TEXT_SEPARATORS}
    best = max(_TEXT_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ("," if " " not in first.strip() else " ")


def _load(
    path: Path, sheet: str | int | None, sep: str | None
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The file as a table of stripped cell texts, the file line of each row, and read notes."""
    suffix, comp = _suffix(path)
    if suffix in _EXCEL_SUFFIXES and comp is None:
        try:
            raw = pd.read_excel(
                path, header=None, sheet_name=0 if sheet is None else sheet, dtype=object
            )
        except OncoresistError:
            raise
        except Exception as exc:  # zip, XML and engine errors of a corrupt workbook vary
            raise InputError(
                f"{path}: cannot read it as an Excel workbook ({type(exc).__name__}: {exc}); "
                "open and save it again in Excel, or export the sheet as CSV"
            ) from exc
        cells = raw.astype(object).where(raw.notna(), "").map(lambda v: str(v).strip())
        return cells, np.arange(1, len(cells) + 1), []
    dec = decode(
        read_bytes(path, what="dose matrix"), path, what="dose matrix", strict=False, nul=True
    )
    text, notes = dec.text, [f"decoded as {dec.note}"] if dec.note else []
    if sep is None:
        sep = "\t" if suffix in (".tsv", ".tab") else _sniff_sep(text)
    if len(sep) != 1:
        raise InputError(f"{path}: sep must be one character, got {sep!r}")
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start = 1
    try:
        for row in reader:
            if reader.line_num != start:
                raise InputError(
                    f"{path}: line {start}: a quoted cell is not closed before line "
                    f"{reader.line_num} (an unbalanced '\"'); remove the stray quote"
                )
            rows.append([c.strip() for c in row])
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            f"{path}: line {start}: cannot split the line into cells ({exc}); check the quotes "
            "and the separator (sep=)"
        ) from exc
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    return cells, np.asarray(lines, dtype=np.int64), notes


def _chunks(
    raw: pd.DataFrame, lines: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, pd.DataFrame]]:
    """Grids separated by empty rows: (file line of each row, column number of each column, cells)."""
    empty = (raw == "").all(axis=1).to_numpy() if raw.shape[1] else np.ones(len(raw), bool)
    out, start = [], None
    for i, e in enumerate([*empty, True]):
        if not e and start is None:
            start = i
        elif e and start is not None:
            grid = raw.iloc[start:i]
            keep = np.flatnonzero(~(grid == "").all(axis=0).to_numpy())
            out.append((lines[start:i], keep + 1, grid.iloc[:, keep]))
            start = None
    return out


def _doses(
    cells: list[str], unit: str | None, where: str, what: str, lines: list[str]
) -> np.ndarray:
    vals = np.empty(len(cells))
    for k, (cell, at) in enumerate(zip(cells, lines, strict=True)):
        m = _DOSE.match(cell)
        if m is None:
            raise InputError(
                f"{where}{at}: {what} dose {cell!r} is not a number (with an optional unit such "
                f"as '10 nM'); the first row must hold drug B's doses and the first column "
                "drug A's"
            )
        u = m.group(2) or unit
        if u is None:
            raise InputError(
                f"{where}{at}: {what} dose {cell!r} has no unit, and neither the corner cell "
                "(e.g. 'drugA \\ drugB (nM)') nor the call gives one; oncoresist never guesses "
                f"a concentration unit. Pass {cli_fix(conc_unit='uM')} (or the unit the plate "
                "used), or write the unit in the corner cell or after each dose"
            )
        vals[k] = to_micromolar([float(m.group(1))], u, where=where)[0]
        if not np.isfinite(vals[k]):
            raise InputError(
                f"{where}{at}: {what} dose {cell!r} is not a finite number (values beyond "
                "1.8e308 overflow); write the dose as a plain number"
            )
        if vals[k] < 0:
            raise InputError(f"{where}{at}: {what} dose {cell!r} is negative")
    _, first, counts = np.unique(vals, return_index=True, return_counts=True)
    if (counts > 1).any():
        k = int(first[counts > 1][0])
        again = [lines[i] for i in np.flatnonzero(vals == vals[k])]
        raise InputError(
            f"{where}{what} dose {cells[k]!r} appears more than once ({'; '.join(again)}); each "
            "dose once per grid (put replicates in stacked grids below an empty row)"
        )
    return vals


def read_dose_matrix(
    path: str | os.PathLike[str],
    *,
    conc_unit: str | None = None,
    drug1: str | None = None,
    drug2: str | None = None,
    sample: str = "",
    block_id: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    response_scale: Literal["auto", "percent", "fraction"] = "auto",
    response_kind: Literal["auto", "inhibition", "viability"] = "auto",
    normalise: Literal["none", "zero_dose"] = "none",
) -> CombinationScreen:
    """Read one dose-matrix grid (CSV, TSV or Excel) as a one-block :class:`CombinationScreen`.

    Parameters
    ----------
    path
        The file: first row = drug B (``drug2``) doses, first column = drug A (``drug1``)
        doses, the responses in between; grids stacked below an empty row are replicates.
    conc_unit
        Unit of doses written without one (CLI: ``--conc-unit``). No default: a dose with
        no unit from its cell, the corner cell or this argument is an :class:`InputError`.
    drug1, drug2
        Drug names (default: from the corner cell ``A \\ B``, else ``"drug1"``/``"drug2"``).
    sample, block_id
        Sample name and block identifier (default: the file name without suffix).
    sheet, sep
        Excel sheet; column separator of text files (detected when not given).
    response_scale, response_kind, normalise
        As in :meth:`CombinationScreen.from_frame` (percent / viability detected and noted).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plate.csv"
    >>> _ = p.write_text("A \\\\ B (uM),0,1,10\\n0,0,20,50\\n1,10,40,70\\n10,30,60,90\\n")
    >>> read_dose_matrix(p).blocks[["drug1", "drug2", "n1", "n2"]].values.tolist()
    [['A', 'B', 3, 3]]
    """
    p = Path(path)
    where = f"{p}: "
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give the dose-matrix file")
    raw, row_lines, read_notes = _load(p, sheet, sep)
    grids = _chunks(raw, row_lines)
    if not grids:
        raise InputError(f"{where}the file holds no grid (it is empty or has only empty lines)")
    corner = str(grids[0][2].iat[0, 0])
    m = _CORNER_UNIT.search(corner)
    corner_unit = (m.group(1) or m.group(2)) if m else None
    if corner_unit and conc_unit and corner_unit.lower() != conc_unit.strip().lower():
        raise InputError(
            f"{where}line {grids[0][0][0]}: the corner cell {corner!r} says {corner_unit} but "
            f"conc_unit={conc_unit!r}; remove one of them"
        )
    unit = conc_unit.strip() if conc_unit else corner_unit
    names = [s for s in _NAMES.split(_CORNER_UNIT.sub("", corner).strip()) if s]
    d1 = drug1 or (names[0] if len(names) == 2 else "drug1")
    d2 = drug2 or (names[1] if len(names) == 2 else "drug2")
    frames = []
    ref: tuple[np.ndarray, np.ndarray] | None = None
    for rep, (at, cols, g) in enumerate(grids, start=1):
        line = int(at[0])
        if g.shape[0] < 2 or g.shape[1] < 2:
            raise InputError(
                f"{where}line {line}: a grid needs a row of drug B doses and a column of drug A "
                f"doses around the responses; found {g.shape[0]} x {g.shape[1]} cells"
            )
        head = g.iloc[0, 1:].tolist()
        c2 = _doses(head, unit, where, "drug B", [f"line {line}, column {c}" for c in cols[1:]])
        left = g.iloc[1:, 0].tolist()
        c1 = _doses(left, unit, where, "drug A", [f"line {k}, column {cols[0]}" for k in at[1:]])
        if ref is not None and (
            ref[0].shape != c1.shape or ref[1].shape != c2.shape
            or not (np.allclose(ref[0], c1) and np.allclose(ref[1], c2))
        ):  # fmt: skip
            raise InputError(
                f"{where}line {line}: replicate grid {rep} has other doses than the first grid; "
                "stacked grids must repeat the same doses (put other blocks in other files)"
            )
        ref = (c1, c2)
        body = g.iloc[1:, 1:].to_numpy(dtype=object)
        vals = pd.to_numeric(pd.Series(body.ravel()), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            i, j = divmod(k, body.shape[1])
            raise InputError(
                f"{where}line {at[i + 1]}, column {cols[j + 1]}: response {body.ravel()[k]!r} is "
                f"missing or not a finite number ({int(bad.sum())} such cells); every well of "
                "the grid needs a response"
            )
        for name, dose in (("drug A", c1), ("drug B", c2)):
            if not (dose == 0).any() or dose.size < 2:
                raise InputError(
                    f"{where}line {line}: the {name} doses {dose.tolist()} need a 0 (the other "
                    "drug alone) and at least one dose above 0"
                )
        ii, jj = np.meshgrid(np.arange(c1.size), np.arange(c2.size), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "block_id": block_id or p.stem,
                    "sample": sample,
                    "drug1": d1,
                    "drug2": d2,
                    "conc1": c1[ii.ravel()],
                    "conc2": c2[jj.ravel()],
                    "response": vals,
                    "replicate": rep,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    screen = CombinationScreen.from_frame(
        frame,
        conc_unit="uM",
        response_scale=response_scale,
        response_kind=response_kind,
        normalise=normalise,
        source=str(p),
    )
    if not read_notes:
        return screen
    return CombinationScreen(
        screen.data,
        source=screen.source,
        conversions=tuple(f"read: {n}" for n in read_notes) + screen.conversions,
        excluded=screen.excluded,
    )
