"""Higher-order combination screens: three or more drugs in one block (``MultiCombinationScreen``).

A separate object from the two-drug :class:`~oncoresist.data.CombinationScreen` (whose API and
columns stay unchanged): the number of drugs is a property of the screen (``n_drugs``), the
columns are ``drug1..drugN`` and ``conc1..concN``, and every block is a full dose grid of the
``N`` drugs that includes each drug alone (the others at dose 0). Responses are fractional
inhibition, as in every combination object; the unit policy is the package's (no default unit).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._combination import (
    _rows_text,
    as_fraction,
    block_ids,
    check_finite,
    check_unique_columns,
    missing_response_problems,
    whole_numbers,
)
from ._readers import (
    ConcSpec,
    ReadOptions,
    Table,
    cli_fix,
    concentrations_to_micromolar,
    load_table,
    resolve_column_map,
)
from ._screen import numeric_column

__all__ = ["MultiCombinationScreen", "read_multi_combination_table"]

_DRUG = re.compile(r"^drug(\d+)$")
_CONC = re.compile(r"^conc(\d+)$")
#: SynergyFinder's two-drug names, accepted for drugs 1 and 2.
_ALIASES = {
    "drug_row": "drug1",
    "drug_col": "drug2",
    "conc_r": "conc1",
    "conc_c": "conc2",
    "cell_line_name": "sample",
    "cell_line": "sample",
    "inhibition": "response",
    "conc_r_unit": "conc_unit1",
    "conc_c_unit": "conc_unit2",
}
_PLAUSIBLE = (-1.0, 2.0)


def _rows(index: object, limit: int = 4) -> str:
    """File rows (header = row 1) of table rows ``index``: ``"rows 2-9"``, ``"rows 3, 7"``."""
    return _rows_text(np.asarray(index, dtype=np.int64).ravel(), limit)


def _n_drugs_of(columns: list[str], where: str) -> int:
    drugs = {int(m.group(1)) for c in columns if (m := _DRUG.match(c))}
    concs = {int(m.group(1)) for c in columns if (m := _CONC.match(c))}
    for k in sorted(drugs - concs):
        raise SchemaError(
            f"{where}column 'drug{k}' is present but 'conc{k}' is missing: every drug needs its "
            f"dose column. Add conc{k} (the dose of drug {k} in each row, 0 where it is absent) "
            f"or map it with {cli_fix(columns={f'conc{k}': 'their_name'})}"
        )
    for k in sorted(concs - drugs):
        raise SchemaError(
            f"{where}column 'conc{k}' is present but 'drug{k}' is missing: name the drug of "
            f"conc{k} in a drug{k} column or map it with "
            f"{cli_fix(columns={f'drug{k}': 'their_name'})}"
        )
    n = max(drugs, default=0)
    gaps = [k for k in range(1, n + 1) if k not in drugs]
    if gaps:
        raise SchemaError(
            f"{where}drug columns must be numbered 1..N without gaps; missing drug{gaps[0]} and "
            f"conc{gaps[0]}"
        )
    if n < 2:
        raise SchemaError(
            f"{where}a combination table needs drug1, drug2 (, drug3, ...) and conc1, conc2 "
            f"(, conc3, ...); found {columns}"
        )
    return n


def _validate(df: pd.DataFrame, n_drugs: int, where: str) -> pd.DataFrame:
    """Check types, doses, duplicates and the grid of every block; returns a clean copy.

    Row numbers in messages are the frame's index + 2 (the file's rows, header = row 1) when
    it is a unique integer index (as :meth:`MultiCombinationScreen.from_frame` passes it),
    else the positions + 2.
    """
    drugs = [f"drug{k}" for k in range(1, n_drugs + 1)]
    concs = [f"conc{k}" for k in range(1, n_drugs + 1)]
    need = ["block_id", "sample", *drugs, *concs, "response", "replicate"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{where}missing column(s) {missing}; found {list(df.columns)}. Use "
            "MultiCombinationScreen.from_frame(...) or read_multi_combination_table(...)"
        )
    check_unique_columns(df, where)
    if df.empty:
        raise InputError(f"{where}no measurements")
    df = df[need].copy()
    if not (pd.api.types.is_integer_dtype(df.index) and df.index.is_unique):
        df = df.reset_index(drop=True)
    lab = df.index.to_numpy()
    df["block_id"] = block_ids(df["block_id"], where)
    for col in ("sample", *drugs):
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()
    for col in (*concs, "response"):
        df[col] = numeric_column(df, col, where=where, allow_missing=False)
        if not np.isfinite(df[col].to_numpy()).all():
            i = int(np.flatnonzero(~np.isfinite(df[col].to_numpy()))[0])
            raise InputError(f"{where}column {col!r} {_rows(lab[[i]])}: value is not finite")
    for col in concs:
        neg = np.flatnonzero(df[col].to_numpy() < 0)
        if neg.size:
            raise InputError(f"{where}column {col!r} {_rows(lab[neg])}: negative concentration")
    r = df["response"].to_numpy()
    bad = np.flatnonzero((r < _PLAUSIBLE[0]) | (r > _PLAUSIBLE[1]))
    if bad.size:
        raise InputError(
            f"{where}column 'response' {_rows(lab[bad[:1]])}: value {r[bad[0]]:.4g} is not a "
            f"fractional inhibition ({bad.size} values outside {list(_PLAUSIBLE)}); convert with "
            "MultiCombinationScreen.from_frame(..., response_scale='percent') and/or "
            "response_kind='viability'"
        )
    df["replicate"] = whole_numbers(df, "replicate", where)
    key = ["block_id", *concs, "replicate"]
    dup = df.duplicated(key, keep=False).to_numpy()
    if dup.any():
        first = df.loc[dup].iloc[0]
        same = np.flatnonzero((df[key] == first[key]).all(axis=1).to_numpy())
        doses = ", ".join(f"{c}={first[c]:g}" for c in concs)
        raise InputError(
            f"{where}duplicated well: {_rows(lab[same])} are block {first['block_id']!r}, {doses}, "
            f"replicate {first['replicate']} ({int(dup.sum())} rows in duplicated wells). Number "
            "the replicates in the 'replicate' column, or drop that column to have repeated wells "
            "numbered as replicates in file order"
        )
    problems = _grid_problems(df, n_drugs)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError(f"{where}" + "; ".join(problems[:3]) + more)
    return df


def _grid_problems(df: pd.DataFrame, n_drugs: int) -> list[str]:
    """Per block: a drug without single-agent rows, a drug never dosed, or a non-full grid."""
    concs = [f"conc{k}" for k in range(1, n_drugs + 1)]
    c = df[concs].to_numpy() > 0
    lab = df.index.to_numpy()
    out: list[str] = []
    for b, idx in df.groupby("block_id", sort=False).indices.items():
        cb = c[idx]
        for k in range(n_drugs):
            others_zero = ~np.delete(cb, k, axis=1).any(axis=1)
            name = df[f"drug{k + 1}"].iloc[idx[0]]
            label = f"drug {k + 1}" + (f" ({name})" if name else "")
            if not cb[:, k].any():
                out.append(
                    f"block {b!r}: {label} is never dosed (column conc{k + 1} is 0 in "
                    f"{_rows(lab[idx])}); drop the drug{k + 1}/conc{k + 1} columns for this block "
                    "or add its doses"
                )
            elif not (cb[:, k] & others_zero).any():
                out.append(
                    f"block {b!r}: missing single-agent rows for {label}: no row with "
                    f"conc{k + 1} > 0 and every other drug at 0 (block {_rows(lab[idx])}); add "
                    f"drug {k + 1} alone at its doses (the models need each drug's own "
                    "dose-response)"
                )
        if not (~cb.any(axis=1)).any():
            out.append(f"block {b!r}: no zero-dose well (every conc = 0) in {_rows(lab[idx])}")
        sub = df.iloc[idx]
        sizes = [sub[col].nunique() for col in concs]
        wells = sub.groupby(concs).ngroups
        if wells != int(np.prod(sizes)):
            out.append(
                f"block {b!r}: not a full dose grid: {wells} wells present, the "
                f"{' x '.join(map(str, sizes))} grid of its doses needs {int(np.prod(sizes))} "
                f"({_rows(lab[idx])}); every combination of the block's doses must be measured"
            )
    return out


@dataclass(frozen=True, eq=False)
class MultiCombinationScreen(ResultMixin):
    """Combination blocks of ``n_drugs`` drugs (2, 3, 4...) at well level, validated once.

    Columns of ``data`` (one row per replicate measurement): ``block_id``, ``sample``,
    ``drug1..drugN`` (names), ``conc1..concN`` (micromolar; 0 = drug absent), ``response``
    (fractional inhibition) and ``replicate``. Every block is a full grid of its doses with a
    zero-dose well and each drug alone (every other drug at 0). Use :meth:`from_frame` or
    :func:`read_multi_combination_table` to convert units and response scales; the
    constructor only validates.

    Examples
    --------
    >>> import itertools
    >>> g = list(itertools.product((0, 1), (0, 1), (0, 1)))
    >>> df = pd.DataFrame({"block_id": 1, "drug1": "a", "drug2": "b", "drug3": "c",
    ...                    "conc1": [x[0] for x in g], "conc2": [x[1] for x in g],
    ...                    "conc3": [x[2] for x in g], "response": np.linspace(0, 0.7, 8)})
    >>> MultiCombinationScreen.from_frame(df, conc_unit="uM").n_drugs
    3
    """

    data: pd.DataFrame
    n_drugs: int
    source: str = ""
    conversions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source else ""
        if not isinstance(self.data, pd.DataFrame):
            raise SchemaError(f"{where}needs a pandas DataFrame, got {type(self.data).__name__}")
        if int(self.n_drugs) < 2:
            raise InputError(f"{where}n_drugs must be at least 2, got {self.n_drugs}")
        data = _validate(self.data, int(self.n_drugs), where).reset_index(drop=True)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "n_drugs", int(self.n_drugs))

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        conc_unit: str | None = None,
        response_scale: Literal["auto", "fraction", "percent"] = "auto",
        response_kind: Literal["auto", "inhibition", "viability"] = "auto",
        source: str = "",
    ) -> MultiCombinationScreen:
        """Build from a tidy table ``block_id, drug1..drugN, conc1..concN, response``.

        Parameters
        ----------
        columns
            Our column names and the table's, either way round (``{"conc3": "Dose C"}``).
        conc_unit
            Unit of every ``conc`` column (CLI: ``--conc-unit``), unless given by
            ``conc_unit1..conc_unitN`` or ``conc_unit`` columns (row by row). No default.
        response_scale, response_kind
            As :meth:`CombinationScreen.from_frame`: percent when ``max |response| > 1.5``,
            viability when the median zero-dose response is above 0.5; both recorded.
        """
        where = f"{source}: " if source else ""
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"{where}needs a pandas DataFrame, got {type(frame).__name__}")
        names = list(map(str, frame.columns))
        ours = [
            "block_id",
            "sample",
            "response",
            "replicate",
            "conc_unit",
            *[f"{p}{k}" for k in range(1, 10) for p in ("drug", "conc", "conc_unit")],
        ]
        mapping = resolve_column_map(columns, names, tuple(ours), where)
        # positions from here on: table row i is row i + 2 of the file (header = row 1)
        df = frame.rename(columns=mapping).reset_index(drop=True)
        aliases = {k: v for k, v in _ALIASES.items() if k in df.columns and v not in df.columns}
        df = df.rename(columns=aliases).copy()
        df.columns = [str(c) for c in df.columns]
        check_unique_columns(df, where)
        n = _n_drugs_of(list(df.columns), where)
        for col in ("block_id", "response"):
            if col not in df.columns:
                raise SchemaError(
                    f"{where}missing column {col!r}; found {names}. Map it with "
                    f"{cli_fix(columns={col: 'their_name'})}"
                )
        if df.empty:
            raise InputError(f"{where}the table has no rows")
        df["block_id"] = block_ids(df["block_id"], where)
        if "sample" not in df.columns:
            df["sample"] = ""
        for k in range(1, n + 1):
            empty = np.flatnonzero(df[f"conc{k}"].isna().to_numpy())
            if empty.size:
                raise InputError(
                    f"{where}column 'conc{k}' {_rows(empty)}: missing dose of drug {k} "
                    f"({empty.size} rows); give the dose in every row (0 where drug {k} is "
                    "absent from the well)"
                )
        specs = [ConcSpec(f"conc{k}", (f"conc_unit{k}", "conc_unit")) for k in range(1, n + 1)]
        df, notes, _ = concentrations_to_micromolar(
            df, specs, conc_unit=conc_unit, where=where, allow_missing=False
        )
        concs = [f"conc{k}" for k in range(1, n + 1)]
        for col in concs:
            check_finite(df[col], col, where, what="concentration")
        resp = numeric_column(df, "response", where=where)
        check_finite(resp, "response", where, what="response", allow_missing=True)
        if "replicate" in df.columns:
            df["replicate"] = whole_numbers(df, "replicate", where)
        nan = resp.isna().to_numpy()
        if nan.any():
            holes = missing_response_problems(df, nan, concs)
            if len(holes):
                items = [f"block {b!r}: {r}" for b, r in holes.head(3).itertuples(index=False)]
                more = f" (and {len(holes) - 3} more blocks)" if len(holes) > 3 else ""
                raise InputError(
                    f"{where}" + "; ".join(items) + more + ". Fill the responses or remove the "
                    "block"
                )
            notes.append(f"response: {int(nan.sum())} rows with a missing response left out")
            df, resp = df.loc[~nan].copy(), resp[~nan]
        zero = np.asarray(~(df[concs].to_numpy() > 0).any(axis=1), dtype=bool)
        r, kind = as_fraction(
            resp.to_numpy(dtype=float), zero, response_scale, response_kind, notes,
            where=where, zero_label="every conc = 0",
        )  # fmt: skip
        if kind == "viability":
            r = 1.0 - r
            notes.append("response: viability converted to inhibition as 1 - viability")
        df["response"] = r
        if "replicate" not in df.columns:
            df["replicate"] = df.groupby(["block_id", *concs], sort=False).cumcount() + 1
            if int(df["replicate"].max()) > 1:
                notes.append(
                    "replicate: repeated wells numbered in file order (no 'replicate' column)"
                )
        return cls(df, n, source=source, conversions=tuple(notes))

    # ------------------------------------------------------------------ views
    @property
    def drug_columns(self) -> list[str]:
        return [f"drug{k}" for k in range(1, self.n_drugs + 1)]

    @property
    def conc_columns(self) -> list[str]:
        return [f"conc{k}" for k in range(1, self.n_drugs + 1)]

    @property
    def n_blocks(self) -> int:
        return int(self.data["block_id"].nunique())

    @property
    def blocks(self) -> pd.DataFrame:
        """One row per block: ``block_id, sample, drug1..drugN, n1..nN, n_replicates``."""
        g = self.data.groupby("block_id", sort=False)
        out = g[["sample", *self.drug_columns]].first()
        for k, c in enumerate(self.conc_columns, start=1):
            out[f"n{k}"] = g[c].nunique()
        out["n_replicates"] = g["replicate"].max()
        return out.reset_index()

    def to_arrays(self) -> list[tuple[np.ndarray, list[np.ndarray], np.ndarray]]:
        """Dense arrays grouped by grid shape: ``[(block_ids, concs, response)]``.

        ``concs[k]`` is ``(n, n_k)`` (ascending, the first = 0) and ``response``
        ``(n, n_1, ..., n_N, r)``, NaN where a well has fewer than ``r`` replicates.
        """
        d = self.data
        codes, uniq = pd.factorize(d["block_id"], sort=False)
        nb = len(uniq)
        idx = [
            d.groupby(codes)[c].rank(method="dense").to_numpy(dtype=np.int64) - 1
            for c in self.conc_columns
        ]
        rep = d.groupby([codes, *[d[c] for c in self.conc_columns]], sort=False).cumcount()
        rep_v = rep.to_numpy()
        sizes = np.zeros((nb, self.n_drugs), dtype=np.int64)
        for k in range(self.n_drugs):
            np.maximum.at(sizes[:, k], codes, idx[k] + 1)
        nr = np.zeros(nb, dtype=np.int64)
        np.maximum.at(nr, codes, rep_v + 1)
        out = []
        for shape in np.unique(sizes, axis=0):
            sel = np.flatnonzero((sizes == shape).all(axis=1))
            local = np.full(nb, -1)
            local[sel] = np.arange(sel.size)
            rows = local[codes] >= 0
            lb = local[codes[rows]]
            r = int(nr[sel].max())
            resp = np.full((sel.size, *map(int, shape), r), np.nan)
            resp[(lb, *[i[rows] for i in idx], rep_v[rows])] = d["response"].to_numpy()[rows]
            concs = []
            for k, c in enumerate(self.conc_columns):
                ck = np.zeros((sel.size, int(shape[k])))
                ck[lb, idx[k][rows]] = d[c].to_numpy(dtype=float)[rows]
                concs.append(ck)
            out.append((np.asarray(uniq)[sel], concs, resp))
        return out

    def counts(self) -> dict[str, int]:
        """Counts of blocks, drugs per block, wells, measurements and samples."""
        return {
            "blocks": self.n_blocks,
            "n_drugs": self.n_drugs,
            "wells": int(self.data.groupby(["block_id", *self.conc_columns]).ngroups),
            "measurements": len(self.data),
            "samples": int(self.data["sample"].nunique()),
        }

    def to_frame(self) -> pd.DataFrame:
        """The measurement-level table (a copy)."""
        return self.data.copy()

    def __len__(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        """One line: blocks, drugs per block, wells, measurements (see :meth:`counts`)."""
        s = self.counts()
        return (
            f"MultiCombinationScreen: {s['blocks']} blocks of {s['n_drugs']} drugs, "
            f"{s['samples']} samples, {s['wells']} wells, {s['measurements']} measurements"
        )

    def __repr__(self) -> str:
        s = self.counts()
        return (
            f"MultiCombinationScreen({s['blocks']} blocks of {s['n_drugs']} drugs, "
            f"{s['wells']} wells, {s['measurements']} measurements)"
        )


def read_multi_combination_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    fmt: str | None = None,
    columns: Mapping[str, str] | None = None,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    response_scale: Literal["auto", "fraction", "percent"] = "auto",
    response_kind: Literal["auto", "inhibition", "viability"] = "auto",
) -> MultiCombinationScreen:
    """Read a tidy n-drug combination table (SynergyFinder Plus layout, e.g. its 3-drug data).

    Columns ``block_id, drug1..drugN, conc1..concN, response`` (``sample``/``cell_line_name``,
    ``replicate``, ``conc_unit`` or ``conc_unit1..conc_unitN`` optional), from any tidy
    format of the reader registry or a DataFrame. The unit has no default: unit columns or
    ``conc_unit=`` (CLI: ``--conc-unit``). Errors name the file, row and column.

    Examples
    --------
    >>> screen = read_multi_combination_table("NCATS_screening_data.csv")  # doctest: +SKIP
    >>> screen.n_drugs, screen.n_blocks  # doctest: +SKIP
    (3, 2)
    """
    notes: tuple[str, ...] = ()
    if isinstance(source, pd.DataFrame):
        frame, name = source, ""
    else:
        opts = ReadOptions(
            columns=columns, conc_unit=conc_unit, sheet=sheet, sep=sep, decimal=decimal
        )
        table = load_table(source, product="combination", fmt=fmt, options=opts)
        if not isinstance(table, Table):
            raise SchemaError(
                f"{source}: not a tidy table; an n-drug combination needs the columns "
                "block_id, drug1..drugN, conc1..concN, response"
            )
        frame, name, notes = table.frame, table.where.removesuffix(": "), table.notes
    screen = MultiCombinationScreen.from_frame(
        frame,
        columns=columns,
        conc_unit=conc_unit,
        response_scale=response_scale,
        response_kind=response_kind,
        source=name,
    )
    if not notes:
        return screen
    return MultiCombinationScreen(
        screen.data,
        screen.n_drugs,
        source=screen.source,
        conversions=tuple(f"read: {n}" for n in notes) + screen.conversions,
    )
