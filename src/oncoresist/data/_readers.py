"""Readers for tidy well-level screens (CSV, TSV, Parquet, Excel), with format auto-detection."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from ._screen import CONC_UNITS, Screen, numeric_column, to_micromolar

__all__ = ["read_screen"]

_COMPRESSION = {".gz", ".bz2", ".xz", ".zip", ".zst"}
_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".toml": "curvecurator",
}
_UNIT_COLUMNS = ("conc_unit", "unit", "concentration_unit", "units")
# Common names of our columns in other tools' tables: used for suggestions, never applied
# silently (except a case-insensitive match of our own name).
_ALIASES: dict[str, tuple[str, ...]] = {
    "sample": ("cell_line", "cellline", "cell_line_name", "cell", "line", "model", "ccl_name"),
    "drug": ("compound", "drug_name", "treatment", "agent", "cpd_name", "inhibitor"),
    "concentration": ("conc", "dose", "concentration_um", "concentration_nm", "dosage"),
    "signal": ("intensity", "luminescence", "counts", "cell_count", "raw", "read", "value"),
    "viability": ("response", "percent_viability", "relative_viability", "inhibition"),
    "plate": ("barcode", "plate_id", "plate_name", "scan_id"),
    "well": ("position", "well_id", "well_name"),
}
_UNIT_IN_NAME = re.compile(r"^(?P<base>.*?)[\s_.\-]*[(\[]?(?P<unit>pM|nM|uM|µM|μM|mM)[)\]]?$")


def _detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        f = fmt.lower().lstrip(".")
        if f in ("xlsx", "xls"):
            f = "excel"
        if f not in set(_FORMATS.values()):
            raise InputError(
                f"{path}: fmt={fmt!r} unknown; use one of {sorted(set(_FORMATS.values()))}"
            )
        return f
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise InputError(
        f"{path}: cannot tell the table format from the file name; pass fmt='csv', 'tsv', "
        "'parquet' or 'excel' (compressed .gz/.bz2/.xz/.zip files are read transparently)"
    )


def _read_table(path: Path, *, fmt: str | None, sheet: str | int | None) -> pd.DataFrame:
    """Read ``path`` into a DataFrame, with errors that name the file."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    kind = _detect_format(path, fmt)
    try:
        if kind == "csv":
            return pd.read_csv(path, low_memory=False)
        if kind == "tsv":
            return pd.read_csv(path, sep="\t", low_memory=False)
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "excel":
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read it as {kind}: {exc}") from exc
    raise InputError(f"{path}: format {kind!r} is not a table")


def _suggest(missing: str, found: list[str]) -> list[str]:
    lower = {c.lower().replace(" ", "_"): c for c in found}
    hits = [lower[a] for a in _ALIASES.get(missing, ()) if a in lower]
    close = difflib.get_close_matches(missing, found, n=3, cutoff=0.6)
    return list(dict.fromkeys(hits + close))


def _map_columns(
    df: pd.DataFrame, columns: Mapping[str, str] | None, where: str
) -> tuple[pd.DataFrame, str | None]:
    """Rename theirs -> ours; returns the frame and a unit found in the concentration name."""
    found = [str(c) for c in df.columns]
    mapping = dict(columns or {})
    absent = [k for k in mapping if k not in df.columns]
    if absent:
        hints = {k: difflib.get_close_matches(k, found, n=3, cutoff=0.5) for k in absent}
        hint = "; ".join(f"{k!r}: did you mean {v}?" for k, v in hints.items() if v)
        raise SchemaError(
            f"{where}columns= maps column(s) {absent} that the file does not have; found "
            f"{found}.{' ' + hint if hint else ''}"
        )
    targets = list(mapping.values())
    dup = {t for t in targets if targets.count(t) > 1}
    if dup:
        raise SchemaError(f"{where}columns= maps several columns onto {sorted(dup)}")
    df = df.rename(columns=mapping)
    # case-insensitive match of our own names ('Sample', 'Drug', 'Concentration')
    ours = (
        "sample",
        "drug",
        "concentration",
        "role",
        "replicate",
        "plate",
        "well",
        "row",
        "col",
        "time",
        "signal",
        "viability",
    )
    rename = {}
    for c in df.columns:
        lc = str(c).strip().lower()
        if lc in ours and c != lc and lc not in df.columns:
            rename[c] = lc
    df = df.rename(columns=rename)
    unit_from_name = None
    if "concentration" not in df.columns:
        for c in df.columns:
            m = _UNIT_IN_NAME.match(str(c))
            if m and m.group("base").strip().lower() in ("concentration", "conc", "dose"):
                df = df.rename(columns={c: "concentration"})
                unit_from_name = m.group("unit")
                break
    else:
        src = next((k for k, v in mapping.items() if v == "concentration"), None)
        m = _UNIT_IN_NAME.match(str(src)) if src else None
        if m:
            unit_from_name = m.group("unit")
    required = ["sample", "drug", "concentration"]
    missing = [c for c in required if c not in df.columns]
    if "signal" not in df.columns and "viability" not in df.columns:
        missing.append("signal' or 'viability")
    if missing:
        parts, pairs = [], []
        for mcol in missing:
            sug = [x for name in mcol.split("' or '") for x in _suggest(name, found)]
            parts.append(f"'{mcol}'" + (f" (close: {sug})" if sug else ""))
            if sug:
                pairs.append(f"{sug[0]!r}: {mcol.split(chr(39))[0]!r}")
        example = ", ".join(pairs) or "'their_name': 'sample'"
        raise SchemaError(
            f"{where}missing required column(s) {', '.join(parts)}; found columns {found}. "
            f"Fix: read_screen(path, columns={{{example}}})."
        )
    return df, unit_from_name


def _convert_units(
    df: pd.DataFrame, conc_unit: str | None, name_unit: str | None, where: str
) -> pd.DataFrame:
    """Concentrations to micromolar: from the argument, a unit column (row-wise) or the name."""
    unit_col = next((c for c in _UNIT_COLUMNS if c in df.columns), None)
    conc = numeric_column(
        df,
        "concentration",
        where=where,
        hint="concentrations must be plain numbers (put the unit in conc_unit= or a "
        "'conc_unit' column)",
    )
    values = conc.to_numpy(dtype=float)
    if unit_col is not None:
        units = df[unit_col].astype(object).where(df[unit_col].notna(), None)
        if conc_unit is not None:
            differ = (
                units.notna().to_numpy() & (units.astype(str).str.strip() != conc_unit).to_numpy()
            )
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                raise InputError(
                    f"{where}column {unit_col!r} row {i + 2}: unit {units.iloc[i]!r} differs from "
                    f"conc_unit={conc_unit!r}; drop conc_unit= to convert row by row"
                )
        out = np.full(len(values), np.nan)
        missing_unit = units.isna().to_numpy() & ~np.isnan(values) & (values != 0)
        if missing_unit.any() and conc_unit is None:
            i = int(np.flatnonzero(missing_unit)[0])
            raise InputError(
                f"{where}column {unit_col!r} row {i + 2}: no unit for concentration "
                f"{values[i]}; fill the unit (e.g. 'nM') or pass conc_unit="
            )
        filled = units.fillna(conc_unit or "uM").astype(str).str.strip()
        for u in pd.unique(filled):
            sel = (filled == u).to_numpy()
            row = int(np.flatnonzero(sel)[0]) + 2
            out[sel] = to_micromolar(
                values[sel], u, where=f"{where}column {unit_col!r} row {row}: "
            )
        df = df.assign(concentration=out)
        df = df.drop(columns=[unit_col]).assign(conc_unit_original=filled.to_numpy())
        return df
    unit = conc_unit or name_unit
    if unit is None:
        if np.nanmax(np.append(values, 0.0)) == 0:
            unit = "uM"
        else:
            raise InputError(
                f"{where}no concentration unit: pass conc_unit='uM' (or 'nM', 'M' ...), add a "
                "'conc_unit' column, or name the column e.g. 'concentration_nM'"
            )
    if conc_unit is not None and name_unit is not None and conc_unit != name_unit:
        raise InputError(
            f"{where}conc_unit={conc_unit!r} contradicts the column name's unit {name_unit!r}"
        )
    return df.assign(concentration=to_micromolar(values, unit, where=where))


def _check_table(df: pd.DataFrame, where: str) -> None:
    for col in ("signal", "viability"):
        if col in df.columns:
            vals = pd.to_numeric(df[col], errors="coerce")
            nonnum = (vals.isna() & df[col].notna()).to_numpy()
            if nonnum.any():
                i = int(np.flatnonzero(nonnum)[0])
                raise InputError(
                    f"{where}column {col!r} row {i + 2}: non-numeric value {df[col].iloc[i]!r} "
                    f"({int(nonnum.sum())} rows); use numbers and leave missing reads empty"
                )
    value_cols = [c for c in ("signal", "viability") if c in df.columns]
    if value_cols and all(pd.to_numeric(df[c], errors="coerce").isna().all() for c in value_cols):
        raise InputError(
            f"{where}column(s) {value_cols} hold no numeric value in any of {len(df)} rows; "
            "check the column mapping (columns=) and the decimal separator"
        )
    keys = [c for c in ("sample", "drug", "concentration", "replicate") if c in df.columns]
    if "replicate" in df.columns and not ("plate" in df.columns and "well" in df.columns):
        trt = df["role"] == "treated" if "role" in df.columns else pd.Series(True, index=df.index)
        dup = (df.duplicated(keys, keep=False) & trt).to_numpy()
        if dup.any():
            rows = ", ".join(str(r + 2) for r in np.flatnonzero(dup)[:5])
            raise InputError(
                f"{where}duplicate measurements: rows {rows} share sample, drug, concentration "
                f"and replicate ({int(dup.sum())} rows); give distinct replicate numbers or "
                "plate/well columns"
            )


def read_screen(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    fmt: str | None = None,
) -> Screen:
    """Read a well-level screen from CSV, TSV, Parquet or Excel (optionally compressed).

    The format follows the suffix (``.csv``, ``.tsv``/``.txt``, ``.parquet``, ``.xlsx``,
    each optionally ``.gz``) or ``fmt``. GDSC raw plate files (columns ``BARCODE, POSITION,
    TAG, INTENSITY`` ...) are recognised and read by :func:`read_gdsc_raw`; a CurveCurator
    ``.toml`` parameter file is read by ``read_curvecurator``.

    Parameters
    ----------
    path
        The file.
    columns
        Mapping of the file's column names onto ours (``{"Cell line": "sample", "Dose":
        "concentration", "Lum": "signal"}``). Our own names match case-insensitively.
    conc_unit
        Unit of the concentration column (``"nM"``, ``"uM"``, ``"M"`` ...). Without it the unit
        comes from a ``conc_unit``/``unit`` column (converted row by row, so mixed units are
        fine) or from the column name (``concentration_nM``, ``Dose (µM)``).
    sheet
        Excel sheet name or index (default: the first).
    fmt
        Force the format: ``"csv"``, ``"tsv"``, ``"parquet"``, ``"excel"`` or
        ``"curvecurator"``.

    Returns
    -------
    Screen
        Concentrations in micromolar; the original unit, when read from a column, is kept as
        ``conc_unit_original``. Without a ``role`` column, rows at concentration 0 are
        ``negative`` controls and the others ``treated``.

    Raises
    ------
    InputError
        With the file, row and column and the fix: missing columns (with the close names
        found), non-numeric or negative concentrations, unknown units, duplicate wells, a value
        column without any number.

    Examples
    --------
    >>> screen = read_screen("plates.csv", columns={"Cell": "sample"}, conc_unit="nM")  # doctest: +SKIP
    """
    p = Path(path)
    kind = _detect_format(p, fmt)
    if kind == "curvecurator":
        try:
            from ._curvecurator import read_curvecurator  # type: ignore[import-not-found]
        except ImportError as exc:  # pragma: no cover - depends on the other module
            raise InputError(
                f"{p}: CurveCurator files need oncoresist.data.read_curvecurator"
            ) from exc
        return read_curvecurator(p)
    where = f"{p}: "
    raw = _read_table(p, fmt=kind, sheet=sheet)
    if raw.empty:
        raise InputError(f"{where}the table has no rows")
    from ._gdsc_raw import _DETECT, gdsc_raw_to_screen

    if columns is None and _DETECT <= set(map(str, raw.columns)):
        return gdsc_raw_to_screen(raw, source=str(p))
    df, name_unit = _map_columns(raw, columns, where)
    if conc_unit is not None and conc_unit not in CONC_UNITS:
        to_micromolar([], conc_unit, where=f"{where}conc_unit=: ")
    df = _convert_units(df, conc_unit, name_unit, where)
    _check_table(df, where)
    return Screen.from_frame(df, conc_unit="uM", source=str(p))
