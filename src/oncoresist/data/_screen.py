"""The well-level ``Screen``: one row per well (or per replicate measurement)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError, SchemaError

__all__ = ["CONC_UNITS", "ROLES", "Screen", "integer_column", "numeric_column", "to_micromolar"]

#: Control roles. ``treated`` wells carry a drug at a concentration > 0.
ROLES: tuple[str, ...] = ("treated", "negative", "positive", "blank", "untreated", "time_zero")

#: Concentration units accepted, as factors to micromolar (the canonical unit).
CONC_UNITS: dict[str, float] = {
    "pM": 1e-6,
    "nM": 1e-3,
    "uM": 1.0,
    "µM": 1.0,
    "μM": 1.0,
    "mM": 1e3,
    "M": 1e6,
}


def to_micromolar(values: Any, unit: str, *, where: str = "") -> np.ndarray:
    """Convert concentrations from ``unit`` to micromolar.

    >>> to_micromolar([1.0, 10.0], "nM").tolist()
    [0.001, 0.01]
    """
    key = unit.strip() if isinstance(unit, str) else unit
    if key not in CONC_UNITS:
        lowered = {k.lower(): k for k in CONC_UNITS}
        if isinstance(key, str) and key.lower() in lowered and key.lower() not in ("m", "mm"):
            key = lowered[key.lower()]
        else:
            raise InputError(
                f"{where}unknown concentration unit {unit!r}; use one of "
                f"{', '.join(k for k in CONC_UNITS if k not in ('µM', 'μM'))} "
                "(mass units such as ng/mL need a molecular weight: convert them to molar first)"
            )
    return np.asarray(values, dtype=float) * CONC_UNITS[key]


def numeric_column(
    df: pd.DataFrame,
    col: str,
    *,
    where: str = "",
    hint: str = "",
    allow_missing: bool = True,
    allow_inf: bool = True,
) -> pd.Series:
    """``df[col]`` as floats; a value that is not a number is an error naming its row.

    Rows are counted as in the file (1-based, after a header line). Empty cells are allowed
    (NaN) unless ``allow_missing=False``; ``hint`` says how to fix the input. Booleans are not
    numbers; infinite values (``inf``, ``1e309``) are errors with ``allow_inf=False`` (what
    readers pass: no file holds an infinite read or dose on purpose).

    >>> numeric_column(pd.DataFrame({"x": ["1", "2.5"]}), "x").tolist()
    [1.0, 2.5]
    """
    src = df[col]
    if pd.api.types.is_bool_dtype(src.dtype):
        raise InputError(
            f"{where}column {col!r} row 2: {_show(src.iloc[0])} is a boolean, not a number "
            f"({len(src)} such rows)" + (f"; {hint}" if hint else "")
        )
    vals = pd.to_numeric(src, errors="coerce")
    if src.dtype == object:
        # to_numeric turns True into 1: a boolean cell is not a number
        flags = src.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        vals = vals.where(~flags, np.nan)
    vals = vals.astype(float)
    arr = vals.to_numpy()
    bad = np.isnan(arr)
    if allow_missing:
        bad = bad & src.notna().to_numpy()
    if not allow_inf:
        bad = bad | np.isinf(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "non-numeric value" if allow_missing else "non-numeric or missing value"
        if np.isinf(arr[i]):
            what = "infinite value"
        raise InputError(
            f"{where}column {col!r} row {i + 2}: {what} {_show(src.iloc[i])} "
            f"({int(bad.sum())} such rows)" + (f"; {hint}" if hint else "")
        )
    return vals


#: Integers above this are not exact as floats (2**53): a file holding one is mis-written.
_INT_LIMIT = 2**53
_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_MISSING = object()
_BAD = object()


def _show(v: Any) -> str:
    """A cell for a message: ``1.7``, ``'abc'`` (numpy scalars without their type)."""
    return repr(v.item() if isinstance(v, np.generic) else v)


def _as_int(v: Any) -> Any:
    """``v`` as a Python int, ``_MISSING`` for an empty cell, ``_BAD`` when not an integer."""
    if v is None or v is pd.NA or v is pd.NaT:
        return _MISSING
    if isinstance(v, bool | np.bool_):
        return _BAD
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return _MISSING
        if not math.isfinite(f) or not f.is_integer() or abs(f) > _INT_LIMIT:
            return _BAD
        return int(f)
    if isinstance(v, str):
        t = v.strip()
        if t == "":
            return _MISSING
        if _INT_TEXT.fullmatch(t):
            return int(t.split(".")[0])
    return _BAD


def integer_column(
    df: pd.DataFrame,
    col: str,
    *,
    where: str = "",
    hint: str = "",
    allow_missing: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    row_offset: int = 2,
) -> pd.Series:
    """``df[col]`` as integers (``Int64``, missing cells ``<NA>``); anything else is an error.

    Integers are ``1``, ``"3"``, ``3.0`` or ``"3.0"``. Text (``"abc"``, ``"1,5"``,
    ``"0x10"``), booleans, fractions (``1.7``), infinite or huge values (``1e30``, beyond
    2**53 where floats stop being exact) and, unless ``allow_missing``, empty cells raise an
    :class:`InputError` naming the row (``index + row_offset``: 2 is the file line after a
    header) and the column. Values outside ``minimum..maximum`` are errors too.

    >>> integer_column(pd.DataFrame({"r": ["1", 2.0, 3]}), "r").tolist()
    [1, 2, 3]
    """
    src = df[col]
    n = len(src)
    out: pd.Series | None = None
    if pd.api.types.is_integer_dtype(src.dtype) and not pd.api.types.is_bool_dtype(src.dtype):
        try:  # exact already (uint64 beyond int64 takes the general path and fails there)
            out = src.astype("Int64")
        except (TypeError, ValueError, OverflowError):
            out = None
    if out is not None:
        missing = out.isna().to_numpy()
        bad = np.zeros(n, dtype=bool)
    elif pd.api.types.is_float_dtype(src.dtype):  # vectorised: float id columns are long
        arr = src.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(arr)
        with np.errstate(invalid="ignore"):
            bad = ~missing & ~(
                np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) <= _INT_LIMIT)
            )
        ints = np.where(missing | bad, 0, arr).astype(np.int64)
        out = pd.Series(pd.arrays.IntegerArray(ints, missing | bad), index=src.index, name=col)
    else:
        obj = src.astype(object)
        flags = np.zeros(n, dtype=bool)
        if src.dtype == object:
            # factorize holds True and 1 as one value: booleans are found row by row
            flags = obj.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
            if flags.any():
                obj = obj.where(~flags, None)
        # the distinct values only: a replicate or well-row column has a handful
        codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        conv = [_as_int(u) for u in uniques]
        conv = [_BAD if isinstance(c, int) and abs(c) > _INT_LIMIT else c for c in conv]
        miss_u = np.array([c is _MISSING for c in conv] + [True], dtype=bool)
        bad_u = np.array([c is _BAD for c in conv] + [False], dtype=bool)
        idx = np.where(codes < 0, len(conv), codes)
        missing, bad = miss_u[idx] & ~flags, bad_u[idx] | flags
        ok = [c if isinstance(c, int) else None for c in conv]
        vals = pd.array([*ok, None], dtype="Int64")
        out = pd.Series(vals.take(idx), index=src.index, name=col)
    if not allow_missing:
        bad = bad | missing
    fix = f"; {hint}" if hint else ""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "missing value" if missing[i] else f"{_show(src.iloc[i])} is not an integer"
        raise InputError(
            f"{where}column {col!r} row {i + row_offset}: {what} ({int(bad.sum())} such rows); "
            f"write whole numbers such as 1, 2, 3{fix}"
        )
    if (minimum is None and maximum is None) or not n:
        return out
    ints = out.to_numpy(dtype=np.int64, na_value=0)
    for bound, cmp, word in ((minimum, np.less, "below"), (maximum, np.greater, "above")):
        if bound is None:
            continue
        off = cmp(ints, bound) & ~missing
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise InputError(
                f"{where}column {col!r} row {i + row_offset}: {_show(src.iloc[i])} is {word} "
                f"{bound} ({int(off.sum())} such rows){fix}"
            )
    return out


_REQUIRED = ("sample", "drug", "concentration", "role")
_OPTIONAL_STR = ("plate", "well")
_OPTIONAL_FLOAT = ("signal", "viability", "time")
#: A viability (fraction of the untreated control) whose 99th percentile exceeds this is not a
#: fraction: stimulation rarely exceeds 1.5x and never 3x in a viability assay.
_PERCENT_LIMIT = 3.0


def _viability_q99(v: np.ndarray) -> float:
    fin = v[np.isfinite(v)]
    return float(np.percentile(fin, 99)) if fin.size else float("nan")


_OPTIONAL_INT = ("replicate", "row", "col")


@dataclass(frozen=True, eq=False)
class Screen(ResultMixin):
    """A single-agent dose-response screen at well level, validated once at construction.

    Columns (canonical names; extra columns are kept as they are):

    ========== ======== ==================================================================
    sample     str      cell line / sample identifier (required)
    drug       str      drug identifier; empty for control wells (required)
    concentration float concentration in micromolar (required; 0 for controls)
    role       str      one of ``ROLES`` (required)
    replicate  int      technical replicate number (optional; empty on controls: 1, noted)
    plate      str      plate identifier (optional, needed for plate QC)
    well       str      well name, e.g. ``"B07"`` (optional)
    row, col   int      well position, 0-based (optional; for plate heatmaps / edge checks)
    time       float    hours after treatment (optional; time-zero wells have 0)
    signal     float    raw read, e.g. luminescence (``signal`` and/or ``viability``)
    viability  float    normalised response, 1 = untreated (``signal`` and/or ``viability``)
    ========== ======== ==================================================================

    Use :meth:`from_frame` to build one from any table with a column mapping and a unit.
    Integer columns are never coerced (see :func:`integer_column`): ``"abc"``, ``"1,5"``,
    ``True``, ``1.7``, ``inf`` or ``1e30`` there is an :class:`InputError` naming row and column.

    Examples
    --------
    >>> df = pd.DataFrame({"sample": ["A"] * 3, "drug": ["x"] * 3,
    ...                    "concentration": [0.1, 1.0, 10.0], "viability": [0.9, 0.5, 0.1]})
    >>> Screen.from_frame(df).n_curves
    1
    """

    data: pd.DataFrame
    source: str = ""
    #: What was detected or converted while reading (e.g. "viability read as percent"), in order.
    notes: tuple[str, ...] = ()

    roles: ClassVar[tuple[str, ...]] = ROLES

    def __post_init__(self) -> None:
        data, filled = _validate(self.data, self.source)
        object.__setattr__(self, "data", data)
        notes = [str(n) for n in self.notes]
        object.__setattr__(self, "notes", (*notes, *(n for n in filled if n not in notes)))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        columns: dict[str, str] | None = None,
        conc_unit: str = "uM",
        source: str = "",
        default_role: str = "treated",
        viability_scale: str = "auto",
        notes: Sequence[str] = (),
    ) -> Screen:
        """Build a Screen from a table, renaming ``columns`` (theirs -> ours) and converting units.

        A missing ``role`` column means every row is ``default_role``, except rows whose
        concentration is 0, which become ``negative`` controls. ``viability_scale`` says whether
        a ``viability`` column is a ``"fraction"`` (1 = untreated) or ``"percent"`` (100 =
        untreated); ``"auto"`` reads it as percent when its 99th percentile is above 3 (no
        fraction of the control is that high) and says so in :attr:`notes`.

        Examples
        --------
        >>> df = pd.DataFrame({"sample": "A", "drug": "x", "concentration": [0.1, 1, 10],
        ...                    "viability": [95.0, 52.0, 8.0]})
        >>> s = Screen.from_frame(df)
        >>> s.data["viability"].tolist(), s.notes[0][:40]
        ([0.95, 0.52, 0.08], 'viability read as percent (99th percenti')
        """
        df = frame.rename(columns=columns or {}).copy()
        where = f"{source}: " if source else ""
        missing = [c for c in ("sample", "drug", "concentration") if c not in df.columns]
        if missing:
            raise SchemaError(
                f"{where}missing required column(s) {missing}; found {list(frame.columns)}. "
                "Pass columns={'their_name': 'sample', ...} to map them."
            )
        conc = numeric_column(
            df,
            "concentration",
            where=where,
            hint="concentrations must be numbers in one unit given by conc_unit=",
            allow_inf=False,
        )
        df["concentration"] = to_micromolar(conc.to_numpy(), conc_unit, where=where)
        if "role" not in df.columns:
            df["role"] = np.where(df["concentration"].to_numpy() == 0, "negative", default_role)
        out_notes = list(notes)
        if viability_scale not in ("auto", "fraction", "percent"):
            raise InputError(
                f"{where}viability_scale={viability_scale!r}; use 'auto', 'fraction' or 'percent' "
                "(CLI: --viability-scale)"
            )
        if "viability" in df.columns:
            v = numeric_column(df, "viability", where=where, allow_inf=False)
            q99 = _viability_q99(v.to_numpy())
            percent = viability_scale == "percent" or (
                viability_scale == "auto" and _PERCENT_LIMIT < q99 <= 100.0 * _PERCENT_LIMIT
            )
            if percent:
                df["viability"] = v / 100.0
                how = "given" if viability_scale == "percent" else "detected"
                out_notes.append(
                    f"viability read as percent (99th percentile {q99:.4g}; scale {how}) and "
                    "divided by 100; pass viability_scale='fraction' (CLI: --viability-scale "
                    "fraction) if that is wrong"
                )
        return cls(df, source=source, notes=tuple(out_notes))

    # ------------------------------------------------------------------ views
    @property
    def samples(self) -> list[str]:
        """Sorted sample identifiers."""
        return sorted(self.data["sample"].unique().tolist())

    @property
    def drugs(self) -> list[str]:
        """Sorted drugs of the treated wells."""
        treated = self.data[self.data["role"] == "treated"]
        return sorted(treated["drug"].unique().tolist())

    @property
    def plates(self) -> list[str]:
        """Sorted plate identifiers (empty without a ``plate`` column)."""
        if "plate" not in self.data:
            return []
        return sorted(self.data["plate"].unique().tolist())

    @property
    def n_curves(self) -> int:
        """Number of (sample, drug) dose-response curves."""
        treated = self.data[self.data["role"] == "treated"]
        return int(treated.groupby(["sample", "drug"], sort=False).ngroups)

    @property
    def is_normalised(self) -> bool:
        """True when every treated well has a viability value."""
        if "viability" not in self.data:
            return False
        return bool(self.data.loc[self.data["role"] == "treated", "viability"].notna().all())

    def treated(self) -> pd.DataFrame:
        """A copy of the treated wells."""
        return self.data[self.data["role"] == "treated"].copy()

    def controls(self) -> pd.DataFrame:
        """A copy of the control wells (every role but ``treated``)."""
        return self.data[self.data["role"] != "treated"].copy()

    def subset(
        self,
        *,
        samples: Iterable[str] | None = None,
        drugs: Iterable[str] | None = None,
        plates: Iterable[str] | None = None,
    ) -> Screen:
        """A new Screen with the given samples / drugs / plates (controls of kept plates stay)."""
        df = self.data
        mask = np.ones(len(df), dtype=bool)
        if samples is not None:
            mask &= df["sample"].isin(list(samples)).to_numpy()
        if plates is not None:
            mask &= df["plate"].isin(list(plates)).to_numpy()
        if drugs is not None:
            keep = df["drug"].isin(list(drugs)).to_numpy() | (df["role"] != "treated").to_numpy()
            mask &= keep
        return Screen(df[mask].reset_index(drop=True), source=self.source, notes=self.notes)

    def with_columns(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> Screen:
        """A new Screen with ``columns`` (name -> values) added or replaced, validated again."""
        return Screen(self.data.assign(**dict(columns)), source=self.source, notes=self.notes)

    def counts(self) -> dict[str, int]:
        """Counts of wells, samples, drugs, curves, plates and wells per role."""
        counts = self.data["role"].value_counts()
        out = {
            "wells": len(self.data),
            "samples": len(self.samples),
            "drugs": len(self.drugs),
            "curves": self.n_curves,
            "plates": len(self.plates),
        }
        out.update({f"{r}_wells": int(counts.get(r, 0)) for r in ROLES})
        return out

    def __len__(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        """One line: wells, samples, drugs, curves and plates (see :meth:`counts`)."""
        s = self.counts()
        src = f" from {' '.join(str(self.source).split())}" if self.source else ""
        return (
            f"Screen: {s['wells']} wells, {s['samples']} samples, {s['drugs']} drugs, "
            f"{s['curves']} curves on {s['plates']} plates"
            f"{', normalised' if self.is_normalised else ''}{src}"
        )

    def __repr__(self) -> str:
        s = self.counts()
        return (
            f"Screen({s['wells']} wells, {s['samples']} samples, {s['drugs']} drugs, "
            f"{s['curves']} curves, {s['plates']} plates{', normalised' if self.is_normalised else ''})"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the well-level table."""
        return self.data.copy()


def _validate(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """The validated table and notes of what was filled in (empty replicate cells)."""
    where = f"{source}: " if source else ""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{where}a Screen needs a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{where}missing required column(s) {missing}; found {list(df.columns)}. "
            "Use Screen.from_frame(df, columns={'their_name': 'sample', ...})."
        )
    if "signal" not in df.columns and "viability" not in df.columns:
        raise SchemaError(
            f"{where}needs a 'signal' (raw read) or 'viability' (normalised) column; "
            f"found {list(df.columns)}"
        )
    df = df.reset_index(drop=True).copy()

    def _row(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0]) + 2  # 1-based, after a header line

    role = df["role"].astype(str).str.strip().str.lower()
    bad = ~role.isin(ROLES).to_numpy()
    if bad.any():
        raise InputError(
            f"{where}column 'role' row {_row(bad)}: unknown role {df['role'].iloc[_row(bad) - 2]!r} "
            f"({int(bad.sum())} rows); use one of {', '.join(ROLES)}"
        )
    df["role"] = role
    for col in ("sample", "drug"):
        df[col] = df[col].astype(object).where(df[col].notna(), "")
        df[col] = df[col].astype(str).str.strip()
    treated = (df["role"] == "treated").to_numpy()
    empty_sample = (df["sample"] == "").to_numpy() & np.isin(
        df["role"].to_numpy(), ["treated", "negative", "untreated", "time_zero"]
    )
    if empty_sample.any():
        raise InputError(
            f"{where}column 'sample' row {_row(empty_sample)}: empty sample identifier"
        )
    no_drug = treated & (df["drug"] == "").to_numpy()
    if no_drug.any():
        raise InputError(
            f"{where}column 'drug' row {_row(no_drug)}: treated well without a drug "
            f"({int(no_drug.sum())} rows); give the drug or mark the well as a control role"
        )
    conc = numeric_column(df, "concentration", where=where, allow_inf=False).to_numpy()
    neg = conc < 0
    if neg.any():
        raise InputError(
            f"{where}column 'concentration' row {_row(neg)}: negative concentration {conc[neg][0]}; "
            "concentrations must be >= 0 (log-transformed doses must be converted back)"
        )
    bad_treated = treated & ~(conc > 0)
    if bad_treated.any():
        raise InputError(
            f"{where}column 'concentration' row {_row(bad_treated)}: treated well with "
            f"concentration {conc[bad_treated][0]}; treated wells need a concentration > 0 "
            "(mark vehicle wells with role 'negative')"
        )
    df["concentration"] = np.where(np.isnan(conc), 0.0, conc)
    for col in _OPTIONAL_FLOAT:
        if col in df.columns:
            df[col] = numeric_column(df, col, where=where)
    if "viability" in df.columns:
        q99 = _viability_q99(df["viability"].to_numpy(dtype=float))
        if q99 > _PERCENT_LIMIT:
            kind = (
                "look like percent (0-100), not a fraction of the untreated control"
                if q99 <= 100.0 * _PERCENT_LIMIT
                else "look like raw reads, not a normalised viability"
            )
            raise InputError(
                f"{where}column 'viability': values up to {q99:.4g} (99th percentile) {kind}. "
                "Fix: read percent values with Screen.from_frame(..., viability_scale='percent') "
                "or read_screen(..., viability_scale='percent') (CLI: --viability-scale percent), "
                "or divide by 100; name raw plate reads 'signal' so they are normalised to the "
                "plate controls"
            )
    notes: list[str] = []
    for col in _OPTIONAL_INT:
        if col in df.columns:
            what = "replicate numbers" if col == "replicate" else "0-based well positions"
            vals = integer_column(
                df,
                col,
                where=where,
                allow_missing=col == "replicate",
                minimum=None if col == "replicate" else 0,
                hint=f"{col!r} holds {what}",
            )
            gap = vals.isna().to_numpy()
            if gap.all() and len(df):
                # an empty column (a template's header): numbered as if it were absent
                df = df.drop(columns=col)
                notes.append("column 'replicate' is empty: replicates numbered in file order")
                continue
            if (gap & treated).any():
                raise InputError(
                    f"{where}column 'replicate' row {_row(gap & treated)}: missing replicate "
                    f"number of a treated well ({int((gap & treated).sum())} such rows); number "
                    "every treated well's replicate (1, 2, ...) or leave the whole column out"
                )
            if gap.any():
                notes.append(
                    f"column 'replicate': {int(gap.sum())} control well(s) without a replicate "
                    "number read as replicate 1"
                )
            df[col] = vals.fillna(1).astype(np.int64)
    for col in _OPTIONAL_STR:
        if col in df.columns:
            df[col] = df[col].astype(str)
    if "plate" in df.columns and "well" in df.columns:
        dup = df.duplicated(["plate", "well"], keep=False).to_numpy()
        if dup.any():
            i = _row(dup) - 2
            raise InputError(
                f"{where}duplicate well {df['well'].iloc[i]!r} on plate {df['plate'].iloc[i]!r} "
                f"(rows {', '.join(str(r + 2) for r in np.flatnonzero(dup)[:5])}; "
                f"{int(dup.sum())} rows in all); each (plate, well) must appear once"
            )
    if "replicate" not in df.columns:
        df["replicate"] = df.groupby(["sample", "drug", "concentration"], sort=False).cumcount() + 1
    return df, notes
