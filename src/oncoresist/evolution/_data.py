"""Loaders of longitudinal burden data: Bruchovsky PSA under IAD and Novartis PDXE volumes.

The parsing of each file (:func:`_read_bruchovsky_file`, :func:`_read_pdxe_volumes`) is
separate from the lookup in the mirror, so a damaged or edited copy is an
:class:`~oncoresist.errors.InputError` naming the file, the line or row and the column, never
a traceback or a table that silently holds garbage.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import dataset_files, fetch_file
from ..errors import InputError, SchemaError
from ._model import _as_bool, _read_text

__all__ = ["fetch_bruchovsky_psa", "fetch_pdxe_brca"]

_BRU_COLS = [
    "patient",
    "date",
    "cpa",
    "leu",
    "psa",
    "testosterone",
    "cycle",
    "on_treatment",
    "day_abs",
    "day",
]
# columns that must hold a number on every visit; psa and testosterone may be missing
_BRU_REQUIRED = ("patient", "cycle", "on_treatment", "day_abs", "day")
_PDXE_COLS = ("model.id", "drug", "time", "volume", "body.weight")


def _csv(path: Path, what: str, **kw: object) -> pd.DataFrame:
    """``pd.read_csv`` of UTF-8 text; parse errors name the file and the line."""
    text = _read_text(path, what)
    try:
        # index_col=False: a first row with an extra field must not become the index
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), index_col=False, **kw)  # type: ignore[call-overload, no-any-return]
    except pd.errors.ParserWarning:
        raise InputError(
            f"{path}: a line has more fields than the header; every line of the {what} needs "
            "the same number of comma-separated fields"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no data; expected a {what}") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        msg = str(exc).strip().replace("Error tokenizing data. C error: ", "")
        raise InputError(
            f"{path}: cannot read the {what} ({msg}); check separators, quotes and that every "
            "line has the same number of fields"
        ) from None


def _numeric(df: pd.DataFrame, col: str, path: Path, *, line0: int, required: bool) -> np.ndarray:
    """Column ``col`` as floats; text that is not a number (or a missing required value) is an
    InputError naming the file, the line (``line0`` = line of the first row) and the column."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(num) & ~raw.isna().to_numpy()
    bad |= np.isinf(num)
    if required:
        bad |= np.isnan(num)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: line {i + line0}, column {col!r}: {raw.iloc[i]!r:.40} is not "
            f"{'a finite number' if not required else 'a number (required on every line)'}"
            f" ({int(bad.sum())} such line(s))"
        )
    return num


def _read_bruchovsky_file(path: Path, patient: int) -> pd.DataFrame:
    """One patient file of the Bruchovsky data set (10 comma-separated columns, no header).

    Columns as in the data set's readme.txt; ``patient`` must match the file name, the cycle
    and day columns be whole numbers, ``on_treatment`` 0/1.
    """
    df = _csv(path, "Bruchovsky patient file", header=None)
    if df.shape[1] != len(_BRU_COLS):
        raise SchemaError(
            f"{path}: {df.shape[1]} columns; a Bruchovsky patient file has {len(_BRU_COLS)} "
            f"({', '.join(_BRU_COLS)}; see readme.txt)"
        )
    df.columns = _BRU_COLS
    for col in ("patient", "psa", "testosterone", "cycle", "day_abs", "day"):
        df[col] = _numeric(df, col, path, line0=1, required=col in _BRU_REQUIRED)
    flags = []
    for i, v in enumerate(df["on_treatment"]):
        try:
            flags.append(_as_bool(v if not isinstance(v, str) else v.strip(), "on_treatment"))
        except InputError:
            raise InputError(
                f"{path}: line {i + 1}, column 'on_treatment' (8th): {v!r:.40} is not 0 or 1 "
                "(off or on treatment)"
            ) from None
    df["on_treatment"] = np.array(flags, dtype=bool)
    for col in ("patient", "cycle", "day_abs", "day"):
        frac = df[col].to_numpy() % 1 != 0
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise InputError(
                f"{path}: line {i + 1}, column {col!r}: {df[col].iloc[i]!r} is not a whole number"
                + (" of days" if col.startswith("day") else "")
            )
        if np.abs(df[col].to_numpy()).max(initial=0.0) > 1e15:
            raise InputError(f"{path}: column {col!r}: values above 1e15 are not {col} numbers")
        df[col] = df[col].astype(np.int64)
    wrong = df["patient"].to_numpy() != patient
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise InputError(
            f"{path}: line {i + 1}: patient {df['patient'].iloc[i]} in a file of patient "
            f"{patient}; the file is damaged or renamed"
        )
    for col in ("psa", "testosterone"):
        if (df[col].to_numpy() < 0).any():
            i = int(np.flatnonzero(df[col].to_numpy() < 0)[0])
            raise InputError(
                f"{path}: line {i + 1}, column {col!r}: negative level {df[col].iloc[i]}"
            )
    return df


def _combine_bruchovsky(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    out["day"] = out["day"] - out.groupby("patient")["day"].transform("min")
    out = out.drop(columns=["day_abs"])
    out.attrs["n_missing_psa"] = int(out["psa"].isna().sum())
    return out


def fetch_bruchovsky_psa(patients: list[int] | None = None) -> pd.DataFrame:
    """PSA time series under intermittent androgen deprivation (Bruchovsky et al. 2006/07).

    Columns (readme.txt of the data set): ``patient, date, cpa, leu, psa, testosterone, cycle,
    on_treatment, day``. Visits without a PSA value are kept with ``psa`` NaN (the count is in
    ``df.attrs["n_missing_psa"]``); ``day`` starts at the first visit; ``on_treatment`` is
    boolean (the file's 0/1; any other value is an error naming the file and line).

    Examples
    --------
    >>> df = fetch_bruchovsky_psa([1])  # doctest: +SKIP
    """
    if patients is not None and (
        isinstance(patients, str | bytes)
        or not all(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in patients)
    ):
        raise InputError(f"patients must be a list of patient numbers, got {patients!r:.60}")
    files = [
        f
        for f in dataset_files("bruchovsky_psa_iad")
        if re.match(r"Bruchovsky_et_al/patient\d+\.txt$", f)
    ]
    frames = []
    for f in files:
        pid = int(re.findall(r"\d+", f)[-1])
        if patients is not None and pid not in patients:
            continue
        frames.append(_read_bruchovsky_file(fetch_file("bruchovsky_psa_iad", f), pid))
    if not frames:
        raise InputError(
            f"no Bruchovsky patients match {patients}; the data set has patients "
            f"{sorted(int(re.findall(r'[0-9]+', f)[-1]) for f in files)[:5]}..."
        )
    return _combine_bruchovsky(frames)


def _read_pdxe_volumes(path: Path) -> pd.DataFrame:
    """The PDXE long volume table (``model.id, drug, time, volume, body.weight``)."""
    df = _csv(path, "PDXE tumour volume table")
    missing = [c for c in _PDXE_COLS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{path}: missing column(s) {missing}; the PDXE volume table has {list(_PDXE_COLS)}"
        )
    for col in ("model.id", "drug"):
        empty = df[col].isna().to_numpy() | (df[col].astype(str).str.strip() == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise InputError(f"{path}: line {i + 2}, column {col!r}: empty")
        df[col] = df[col].astype(str)
    df["time"] = _numeric(df, "time", path, line0=2, required=True)
    df["volume"] = _numeric(df, "volume", path, line0=2, required=False)
    df["body.weight"] = _numeric(df, "body.weight", path, line0=2, required=False)
    neg = df["volume"].to_numpy() < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise InputError(f"{path}: line {i + 2}, column 'volume': negative volume")
    df = df.rename(columns={"model.id": "model_id", "body.weight": "body_weight"})
    df.attrs["n_missing_volume"] = int(np.sum(df["volume"].isna()))
    return df


def fetch_pdxe_brca() -> pd.DataFrame:
    """Tumour volumes of the Novartis PDX encyclopedia breast arm (Gao et al. 2015).

    Columns ``model_id, drug, time`` (days), ``volume`` (mm^3), ``body_weight``; visits without
    a volume are kept as NaN (count in ``df.attrs["n_missing_volume"]``).
    """
    return _read_pdxe_volumes(fetch_file("xeva_pdxe_brca", "pdxe_brca_tumor_volume_long.csv"))
