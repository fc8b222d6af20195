"""Combination screens: drug A x drug B dose matrices with replicates (``CombinationScreen``).

Internal response convention: **fractional inhibition** (0 = untreated, 1 = every cell killed),
the convention of SynergyFinder divided by 100. Readers convert percent and viability
explicitly and record every conversion in ``CombinationScreen.conversions``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._readers import (
    ConcSpec,
    ReadOptions,
    Table,
    cli_fix,
    concentrations_to_micromolar,
    load_table,
    resolve_column_map,
    split_unit,
)
from ._screen import numeric_column

__all__ = [
    "COMBINATION_COLUMNS",
    "CombinationScreen",
    "fetch_synergyfinder_example",
    "read_combination_matrix",
    "read_combination_plate",
    "read_combination_table",
]

#: Canonical columns of ``CombinationScreen.data``.
COMBINATION_COLUMNS = (
    "block_id",
    "sample",
    "drug1",
    "drug2",
    "conc1",
    "conc2",
    "response",
    "replicate",
)

#: Column names of other tools (SynergyFinder, DrugComb) mapped to ours.
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

ResponseScale = Literal["auto", "fraction", "percent"]
ResponseKind = Literal["auto", "inhibition", "viability"]
OnInvalid = Literal["raise", "drop"]

# Column names (without their unit) taken as conc1 / conc2 when they carry a unit: conc1_nM
_CONC_NAMES = {
    "conc1": ("conc1", "conc_r", "conc_row", "conc 1", "conc_1", "dose1", "dose_1"),
    "conc2": ("conc2", "conc_c", "conc_col", "conc 2", "conc_2", "dose2", "dose_2"),
}

#: Responses (fractional inhibition) outside this range are not noise but a wrong scale.
_PLAUSIBLE = (-1.0, 2.0)


def as_fraction(
    r: np.ndarray,
    zero: np.ndarray,
    response_scale: str,
    response_kind: str,
    notes: list[str],
    *,
    where: str,
    zero_label: str,
) -> tuple[np.ndarray, str]:
    """Responses as fractions and their kind (``"inhibition"`` or ``"viability"``).

    ``"auto"`` scale: percent when ``max |response| > 1.5``; ``"auto"`` kind: viability when
    the median response of the zero-dose wells (``zero``) is above 0.5. Every decision is
    appended to ``notes``. Shared by the two-drug and the n-drug readers.
    """
    if response_scale == "auto":
        response_scale = "percent" if np.nanmax(np.abs(r)) > 1.5 else "fraction"
        notes.append(
            f"response scale detected as {response_scale} (max |response| = "
            f"{np.nanmax(np.abs(r)):.3g}); pass response_scale= to override"
        )
    if response_scale == "percent":
        r = r / 100.0
        notes.append("response: divided by 100 (percent to fraction)")
    elif response_scale != "fraction":
        raise InputError(
            f"{where}response_scale must be 'auto', 'fraction' or 'percent', got {response_scale!r}"
        )
    if response_kind == "auto":
        if not zero.any():
            raise InputError(
                f"{where}cannot detect whether responses are inhibition or viability: no "
                f"zero-dose well ({zero_label}); pass response_kind='inhibition' or 'viability'"
            )
        med = float(np.median(r[zero]))
        response_kind = "viability" if med > 0.5 else "inhibition"
        notes.append(
            f"response kind detected as {response_kind} (median zero-dose response "
            f"{med:.3g}); pass response_kind= to override"
        )
    if response_kind not in ("inhibition", "viability"):
        raise InputError(
            f"{where}response_kind must be 'auto', 'inhibition' or 'viability', got {response_kind!r}"
        )
    return r, response_kind


@dataclass(frozen=True, eq=False)
class CombinationScreen(ResultMixin):
    """Two-drug combination blocks at well level, validated once at construction.

    Columns of ``data`` (one row per replicate measurement):

    ========== ======== ==============================================================
    block_id   str      block identifier (one drug pair on one sample)
    sample     str      cell line / sample ("" when not given)
    drug1      str      drug varied along the rows of the matrix
    drug2      str      drug varied along the columns
    conc1      float    drug 1 concentration, micromolar (0 = drug 2 alone)
    conc2      float    drug 2 concentration, micromolar (0 = drug 1 alone)
    response   float    fractional inhibition (0 = no effect, 1 = all cells killed)
    replicate  int      replicate number within the well (1, 2, ...)
    ========== ======== ==============================================================

    Every block must be a full grid (every ``conc1`` with every ``conc2``) that includes the
    single-agent row and column (``conc2 = 0`` and ``conc1 = 0``) and at least one non-zero
    dose of each drug. Use :meth:`from_frame` (or the readers) to convert units and scales;
    the direct constructor only validates.

    Examples
    --------
    >>> g = [(c1, c2) for c1 in (0, 1, 10) for c2 in (0, 1, 10)]
    >>> df = pd.DataFrame({"block_id": 1, "drug1": "a", "drug2": "b",
    ...                    "conc1": [c[0] for c in g], "conc2": [c[1] for c in g],
    ...                    "response": np.linspace(0, 0.8, 9)})
    >>> CombinationScreen.from_frame(df, conc_unit="uM").n_blocks
    1
    """

    data: pd.DataFrame
    source: str = ""
    conversions: tuple[str, ...] = ()
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["block_id", "reason"])
    )
    #: Optional per-block annotations (``block_id`` + any columns, e.g. true parameters of
    #: synthetic blocks); joined into :attr:`blocks`.
    annotations: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _validate(self.data, self.source))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        conc_unit: str | None = None,
        response_scale: ResponseScale = "auto",
        response_kind: ResponseKind = "auto",
        normalise: Literal["none", "zero_dose"] = "none",
        on_invalid: OnInvalid = "raise",
        source: str = "",
    ) -> CombinationScreen:
        """Build from a tidy table (``block_id, drug1, drug2, conc1, conc2, response[, replicate]``).

        Parameters
        ----------
        columns
            Our column names and the table's, either way round (``{"conc1": "Dose A"}`` or
            ``{"Dose A": "conc1"}``); SynergyFinder names (``drug_row``, ``conc_r``,
            ``cell_line_name``...) are recognised without it.
        conc_unit
            Unit of ``conc1``/``conc2`` (CLI: ``--conc-unit``). The unit may instead come from
            a ``conc_unit`` / ``conc_unit1`` / ``conc_unit2`` column (row by row; empty cells
            take ``conc_unit``) or the column names (``conc1_nM``). There is no default: no
            unit, or sources that disagree, is an error.
        response_scale
            ``"percent"`` (0-100), ``"fraction"`` (0-1) or ``"auto"``: percent when
            ``max(|response|) > 1.5``. The choice is recorded in ``conversions``.
        response_kind
            ``"inhibition"``, ``"viability"`` (converted as ``1 - viability``) or ``"auto"``:
            viability when the median response of the zero-dose wells is above 0.5.
        normalise
            ``"zero_dose"`` rescales each block so that its zero-dose wells average exactly 0
            inhibition (viability / its zero-dose mean); ``"none"`` keeps the values.
        on_invalid
            ``"raise"`` (default) or ``"drop"``: drop blocks that are not full grids or lack
            single-agent doses, and list them in ``excluded`` (nothing is dropped silently).
        """
        where = f"{source}: " if source else ""
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"{where}needs a pandas DataFrame, got {type(frame).__name__}")
        check_choice(normalise, "normalise", ("none", "zero_dose"), where)
        check_choice(on_invalid, "on_invalid", ("raise", "drop"), where)
        ours = (*COMBINATION_COLUMNS, "conc_unit", "conc_unit1", "conc_unit2", "drug3", "conc3")
        mapping = resolve_column_map(columns, list(map(str, frame.columns)), ours, where)
        # positions from here on: table row i is row i + 2 of the file (header = row 1)
        df = frame.rename(columns=mapping).reset_index(drop=True)
        aliases = {
            k: v for k, v in _ALIASES.items() if k in df.columns and v not in df.columns
        }  # SynergyFinder / DrugComb names
        df = df.rename(columns=aliases).copy()
        check_unique_columns(df, where)
        labels = {v: k for k, v in {**mapping, **aliases}.items()}
        name_units: dict[str, str] = {}
        for col, bases in _CONC_NAMES.items():
            src = labels.get(col)
            if col in df.columns:
                if src is not None and split_unit(src)[1]:
                    name_units[col] = str(split_unit(src)[1])
                continue
            hits = [
                (c, u)
                for c in map(str, df.columns)
                for base, u in [split_unit(c)]
                if u and base.strip().lower() in bases
            ]
            if len(hits) > 1:
                raise SchemaError(
                    f"{where}several {col} columns {[c for c, _ in hits]}; map one with "
                    f"{cli_fix(columns={col: hits[0][0]})}"
                )
            if hits:
                df = df.rename(columns={hits[0][0]: col})
                labels[col], name_units[col] = hits[0]
        notes: list[str] = []
        df = _drop_absent_drugs(df, where)
        missing = [
            c
            for c in ("block_id", "drug1", "drug2", "conc1", "conc2", "response")
            if c not in df.columns
        ]
        if missing:
            raise SchemaError(
                f"{where}missing column(s) {missing}; found {list(frame.columns)}. Expected "
                "block_id, drug1, drug2, conc1, conc2, response (SynergyFinder layout); map "
                f"them with {cli_fix(columns={missing[0]: 'their_name'})}."
            )
        if df.empty:
            raise InputError(f"{where}the table has no rows")
        df["block_id"] = block_ids(df["block_id"], where)
        if "sample" not in df.columns:
            df["sample"] = ""
        specs = [
            ConcSpec(col, (f"conc_unit{k}", "conc_unit"), name_units.get(col), labels.get(col, col))
            for k, col in ((1, "conc1"), (2, "conc2"))
        ]
        df, unit_notes, _ = concentrations_to_micromolar(
            df, specs, conc_unit=conc_unit, where=where, allow_missing=False
        )
        notes.extend(unit_notes)
        for col in ("conc1", "conc2"):
            check_finite(df[col], col, where, what="concentration")
        resp = numeric_column(df, "response", where=where)
        check_finite(resp, "response", where, what="response", allow_missing=True)
        if "replicate" in df.columns:
            df["replicate"] = whole_numbers(df, "replicate", where)
        excluded = pd.DataFrame(columns=["block_id", "reason"])
        nan_resp = resp.isna().to_numpy()
        if nan_resp.any():
            holes = missing_response_problems(df, nan_resp, ["conc1", "conc2"])
            if len(holes) and on_invalid == "raise":
                raise InputError(
                    f"{where}{_problem_text(holes)}. Fill the responses, remove the block, or "
                    "pass on_invalid='drop' to drop such blocks (they are listed in .excluded)"
                )
            notes.append(f"response: {int(nan_resp.sum())} rows with a missing response left out")
            if len(holes):
                excluded = holes
                notes.append(
                    f"{len(holes)} block(s) without a response in some well dropped; see .excluded"
                )
            keep_rows = ~nan_resp & ~df["block_id"].isin(holes["block_id"]).to_numpy()
            if not keep_rows.any():
                raise InputError(f"{where}no block has a response in every well: "
                                 f"{_problem_text(holes)}")  # fmt: skip
            df = df.loc[keep_rows].copy()
            resp = resp[keep_rows]
        zero = ((df["conc1"] == 0) & (df["conc2"] == 0)).to_numpy()
        r, kind = as_fraction(
            resp.to_numpy(dtype=float), zero, response_scale, response_kind, notes,
            where=where, zero_label="conc1 = conc2 = 0",
        )  # fmt: skip
        if normalise == "zero_dose":
            blocks = df["block_id"].to_numpy()
            ctrl = pd.Series(r[zero]).groupby(blocks[zero]).mean()
            ref = pd.Series(blocks).map(ctrl).to_numpy(dtype=float)
            if np.isnan(ref).any():
                b = blocks[np.isnan(ref)][0]
                raise InputError(
                    f"{where}normalise='zero_dose' needs a zero-dose well (conc1 = conc2 = 0) in "
                    f"every block; block {b!r} has none. Add it or pass normalise='none'"
                )
            flat = ref == (0.0 if kind == "viability" else 1.0)
            if flat.any():
                b = blocks[flat][0]
                raise InputError(
                    f"{where}normalise='zero_dose': the zero-dose wells of block {b!r} average "
                    f"{'0 viability' if kind == 'viability' else '100 % inhibition'} (column "
                    "'response'), so nothing can be scaled to them; check the response kind "
                    "(response_kind=) or pass normalise='none'"
                )
            if kind == "viability":
                r = r / ref
                notes.append(
                    "viability divided by each block's zero-dose mean (normalise='zero_dose')"
                )
            else:
                r = (r - ref) / (1.0 - ref)
                notes.append(
                    "inhibition rescaled so each block's zero-dose mean is 0 (normalise='zero_dose')"
                )
        if kind == "viability":
            r = 1.0 - r
            notes.append("response: viability converted to inhibition as 1 - viability")
        df["response"] = r
        outside = (r < 0) | (r > 1)
        if outside.any():
            notes.append(
                f"response: {int(outside.sum())} of {len(r)} values outside [0, 1] kept as "
                "measured (assay noise; models use them unclipped)"
            )
        if "replicate" not in df.columns:
            df["replicate"] = df.groupby(["block_id", "conc1", "conc2"], sort=False).cumcount() + 1
            if int(df["replicate"].max()) > 1:
                notes.append(
                    "replicate: numbered in file order within each well (no 'replicate' column)"
                )
        _check_duplicates(df, where)
        problems = _grid_problems(df)
        if len(problems):
            if on_invalid == "drop":
                df = df[~df["block_id"].isin(problems["block_id"])]
                excluded = pd.concat([excluded, problems], ignore_index=True)
                notes.append(f"{len(problems)} invalid block(s) dropped; see .excluded")
                if df.empty:
                    raise InputError(f"{where}every block is invalid: {_problem_text(excluded)}")
            else:
                raise InputError(
                    f"{where}{len(problems)} invalid block(s): {_problem_text(problems)}. Fix the "
                    "table or pass on_invalid='drop' to drop them (they are listed in .excluded)"
                )
        keep = [c for c in COMBINATION_COLUMNS]
        # the index still holds the table rows: the constructor's messages name them
        return cls(df[keep], source=source, conversions=tuple(notes), excluded=excluded)

    # ------------------------------------------------------------------ views
    @property
    def blocks(self) -> pd.DataFrame:
        """One row per block: ``block_id, sample, drug1, drug2, n1, n2, n_replicates``."""
        d = self.data
        g = d.groupby("block_id", sort=False)
        out = g[["sample", "drug1", "drug2"]].first()
        out["n1"] = g["conc1"].nunique()
        out["n2"] = g["conc2"].nunique()
        out["n_replicates"] = g["replicate"].max()
        out = out.reset_index()
        if self.annotations is not None:
            ann = self.annotations.copy()
            ann["block_id"] = ann["block_id"].astype(str)
            extra = [c for c in ann.columns if c not in out.columns or c == "block_id"]
            out = out.merge(ann[extra], on="block_id", how="left")
        return out

    @property
    def n_blocks(self) -> int:
        return int(self.data["block_id"].nunique())

    def subset(self, block_ids: list[str] | np.ndarray) -> CombinationScreen:
        """A new screen with the given blocks."""
        keep = self.data["block_id"].isin([str(b) for b in block_ids])
        ann = self.annotations
        if ann is not None:
            ann = ann[ann["block_id"].astype(str).isin([str(b) for b in block_ids])]
        return CombinationScreen(
            self.data[keep].reset_index(drop=True),
            source=self.source,
            conversions=self.conversions,
            annotations=ann,
        )

    def to_arrays(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Dense arrays grouped by grid shape: ``[(block_ids, conc1, conc2, response)]``.

        ``conc1`` is ``(n, n1)``, ``conc2`` ``(n, n2)`` (ascending, first = 0) and ``response``
        ``(n, n1, n2, r)`` with NaN where a well has fewer than ``r`` replicates.
        """
        d = self.data
        codes, uniq = pd.factorize(d["block_id"], sort=False)
        i1 = d.groupby(codes)["conc1"].rank(method="dense").to_numpy(dtype=np.int64) - 1
        i2 = d.groupby(codes)["conc2"].rank(method="dense").to_numpy(dtype=np.int64) - 1
        rep = d.groupby([codes, d["conc1"], d["conc2"]], sort=False).cumcount().to_numpy()
        nb = len(uniq)
        n1 = np.zeros(nb, dtype=np.int64)
        n2 = np.zeros(nb, dtype=np.int64)
        nr = np.zeros(nb, dtype=np.int64)
        np.maximum.at(n1, codes, i1 + 1)
        np.maximum.at(n2, codes, i2 + 1)
        np.maximum.at(nr, codes, rep + 1)
        c1v = d["conc1"].to_numpy(dtype=float)
        c2v = d["conc2"].to_numpy(dtype=float)
        rv = d["response"].to_numpy(dtype=float)
        out = []
        shapes = pd.DataFrame({"n1": n1, "n2": n2}).drop_duplicates().to_numpy()
        for s1, s2 in shapes:
            sel_blocks = np.flatnonzero((n1 == s1) & (n2 == s2))
            local = np.full(nb, -1)
            local[sel_blocks] = np.arange(sel_blocks.size)
            rows = local[codes] >= 0
            lb = local[codes[rows]]
            r = int(nr[sel_blocks].max())
            resp = np.full((sel_blocks.size, s1, s2, r), np.nan)
            resp[lb, i1[rows], i2[rows], rep[rows]] = rv[rows]
            conc1 = np.zeros((sel_blocks.size, s1))
            conc2 = np.zeros((sel_blocks.size, s2))
            conc1[lb, i1[rows]] = c1v[rows]
            conc2[lb, i2[rows]] = c2v[rows]
            out.append((np.asarray(uniq)[sel_blocks], conc1, conc2, resp))
        return out

    def counts(self) -> dict[str, int]:
        """Counts of blocks, wells, measurements, samples, drug pairs and excluded blocks."""
        b = self.blocks
        return {
            "blocks": len(b),
            "wells": int(self.data.groupby(["block_id", "conc1", "conc2"]).ngroups),
            "measurements": len(self.data),
            "samples": int(b["sample"].nunique()),
            "drug_pairs": int(b[["drug1", "drug2"]].drop_duplicates().shape[0]),
            "excluded_blocks": len(self.excluded),
        }

    def __len__(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        """One line: blocks, drug pairs, samples, measurements (see :meth:`counts`)."""
        s = self.counts()
        return (
            f"CombinationScreen: {s['blocks']} blocks, {s['drug_pairs']} drug pairs, "
            f"{s['samples']} samples, {s['wells']} wells, {s['measurements']} measurements; "
            f"{s['excluded_blocks']} blocks excluded"
        )

    def __repr__(self) -> str:
        s = self.counts()
        return (
            f"CombinationScreen({s['blocks']} blocks, {s['drug_pairs']} drug pairs, "
            f"{s['samples']} samples, {s['measurements']} measurements)"
        )

    def to_frame(self) -> pd.DataFrame:
        """The measurement-level table (a copy): one row per measurement."""
        return self.data.copy()


def _problem_text(problems: pd.DataFrame, limit: int = 5) -> str:
    items = [f"block {b!r}: {r}" for b, r in problems.head(limit).itertuples(index=False)]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(items) + more


def _rows_text(index: pd.Index | np.ndarray, limit: int = 4) -> str:
    """Table rows as the user sees them (header = row 1): ``"rows 2-26"``, ``"rows 3, 9"``."""
    rows = np.sort(np.asarray(index, dtype=np.int64)) + 2
    if rows.size == 0:
        return "no rows"
    if rows.size == 1:
        return f"row {rows[0]}"
    if rows[-1] - rows[0] + 1 == rows.size:
        return f"rows {rows[0]}-{rows[-1]}"
    shown = ", ".join(map(str, rows[:limit]))
    return f"rows {shown}" + (f" (and {rows.size - limit} more)" if rows.size > limit else "")


def _grid_problems(df: pd.DataFrame) -> pd.DataFrame:
    """Blocks that are not full grids with single-agent doses, with a reason each.

    Every reason names the column and the table rows of the block (row numbers count the
    header as row 1, as in the file) so the user can find and fix them.
    """
    g = df.groupby("block_id", sort=False)
    n1 = g["conc1"].nunique()
    n2 = g["conc2"].nunique()
    cells = (
        df.drop_duplicates(["block_id", "conc1", "conc2"]).groupby("block_id", sort=False).size()
    )
    min1 = g["conc1"].min()
    min2 = g["conc2"].min()
    rows = g.groups
    reasons: dict[str, str] = {}
    for col in ("drug1", "drug2", "sample"):
        multi = g[col].nunique()
        for b in multi.index[multi > 1]:
            reasons[b] = f"more than one {col} in the block (column {col!r}, {_rows_text(rows[b])})"
    for b in n1.index[((n1 < 2) & (n2 < 2)).to_numpy()]:
        reasons.setdefault(
            b,
            f"a {int(n1[b])} x {int(n2[b])} block ({_rows_text(rows[b])}): columns 'conc1' and "
            "'conc2' each need the dose 0 and at least one non-zero dose (a 2 x 2 grid or larger)",
        )
    for b in n1.index[(min1 > 0).to_numpy()]:
        reasons.setdefault(
            b,
            "missing single-agent row: column 'conc1' has no 0 (drug 2 alone) in "
            f"{_rows_text(rows[b])}; add the wells conc1 = 0",
        )
    for b in n2.index[(min2 > 0).to_numpy()]:
        reasons.setdefault(
            b,
            "missing single-agent column: column 'conc2' has no 0 (drug 1 alone) in "
            f"{_rows_text(rows[b])}; add the wells conc2 = 0",
        )
    for b in n1.index[((n1 < 2) | (n2 < 2)).to_numpy()]:
        col = "conc1" if n1[b] < 2 else "conc2"
        reasons.setdefault(
            b,
            f"needs at least one non-zero dose of each drug: column {col!r} has a single "
            f"value in {_rows_text(rows[b])}",
        )
    nongrid = cells != n1 * n2
    for b in cells.index[nongrid.to_numpy()]:
        reasons.setdefault(
            b,
            f"non-grid doses: {int(cells[b])} (conc1, conc2) pairs present, a full "
            f"{int(n1[b])} x {int(n2[b])} grid needs {int(n1[b] * n2[b])} ({_rows_text(rows[b])})",
        )
    return pd.DataFrame({"block_id": list(reasons), "reason": list(reasons.values())})


def _check_duplicates(df: pd.DataFrame, where: str) -> None:
    """Raise on two measurements of the same well with the same replicate number."""
    key = ["block_id", "conc1", "conc2", "replicate"]
    dup = df.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return
    first = df.loc[dup].iloc[0]
    same = df.index[
        dup
        & (df["block_id"] == first["block_id"]).to_numpy()
        & (df["conc1"] == first["conc1"]).to_numpy()
        & (df["conc2"] == first["conc2"]).to_numpy()
        & (df["replicate"] == first["replicate"]).to_numpy()
    ]
    raise InputError(
        f"{where}duplicated wells: {_rows_text(same)} all give block {first['block_id']!r}, "
        f"conc1 = {first['conc1']:g}, conc2 = {first['conc2']:g}, replicate "
        f"{first['replicate']} (columns 'block_id', 'conc1', 'conc2', 'replicate'; "
        f"{int(dup.sum())} rows in all). Give each replicate its own number, or drop the "
        "'replicate' column to have replicates numbered in file order"
    )


def missing_response_problems(
    df: pd.DataFrame, missing: np.ndarray, concs: list[str]
) -> pd.DataFrame:
    """Blocks where every response, or every replicate of one well, is missing.

    One row per block (``block_id, reason``); the reason names the column and the table rows
    (``df``'s index + 2, the file's rows). Shared by the two-drug and the n-drug readers.
    """
    blk = df["block_id"].astype(str)
    miss = pd.Series(missing, index=df.index)
    reasons: dict[str, str] = {}
    all_blk = miss.groupby(blk.to_numpy(), sort=False).all()
    for b in all_blk.index[all_blk.to_numpy()]:
        reasons[str(b)] = (
            f"every response is missing (column 'response', "
            f"{_rows_text(df.index[(blk == b).to_numpy()])}); nothing can be scored"
        )
    keys = [blk.to_numpy(), *[df[c].to_numpy() for c in concs]]
    all_well = miss.groupby(keys, sort=False).transform("all").to_numpy()
    for pos in np.flatnonzero(all_well):
        b = str(blk.iloc[pos])
        if b in reasons:
            continue
        row = df.iloc[pos]
        same = df.index[
            all_well
            & (blk == b).to_numpy()
            & np.logical_and.reduce([(df[c] == row[c]).to_numpy() for c in concs])
        ]
        doses = ", ".join(f"{c} = {row[c]:g}" for c in concs)
        reasons[b] = (
            f"the well {doses} has no response in any replicate (column 'response', "
            f"{_rows_text(same)}); the grid would have a hole"
        )
    return pd.DataFrame({"block_id": list(reasons), "reason": list(reasons.values())})


def check_choice(value: object, name: str, choices: tuple[str, ...], where: str) -> None:
    """An :class:`InputError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InputError(f"{where}{name} must be {' or '.join(map(repr, choices))}, got {value!r}")


def check_unique_columns(df: pd.DataFrame, where: str) -> None:
    """A :class:`SchemaError` when two columns have the same name (after renaming)."""
    names = pd.Index(map(str, df.columns))
    dup = sorted(set(names[names.duplicated()]))
    if dup:
        raise SchemaError(
            f"{where}column(s) {dup} appear more than once (in the file or after columns= / the "
            "SynergyFinder names were applied); rename or drop the extra copies"
        )


def block_ids(values: pd.Series, where: str) -> pd.Series:
    """Block identifiers as text; a missing one is an error naming its rows."""
    text = values.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy()
    if empty.any():
        raise InputError(
            f"{where}column 'block_id' {_rows_text(values.index[empty])}: missing block "
            f"identifier ({int(empty.sum())} rows); give every row the block it belongs to"
        )
    return values.astype(str)


def check_finite(
    values: pd.Series, col: str, where: str, *, what: str, allow_missing: bool = False
) -> None:
    """An :class:`InputError` naming the row when a value is infinite (or missing)."""
    v = values.to_numpy(dtype=float)
    bad = np.isinf(v) if allow_missing else ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where}column {col!r} row {int(values.index[i]) + 2}: {what} {v[i]} is not a "
            f"finite number ({int(bad.sum())} such rows; values beyond 1.8e308 overflow to "
            "infinity). Write the measured value, or leave the cell empty where it is missing"
        )


def whole_numbers(df: pd.DataFrame, col: str, where: str) -> pd.Series:
    """``df[col]`` as int64; a missing, infinite or fractional value is an error naming its row."""
    hint = f"give every row its {col} number (1, 2, ...) or drop the column"
    vals = numeric_column(df, col, where=where, allow_missing=False, hint=hint)
    v = vals.to_numpy(dtype=float)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (np.abs(v) > 2**53)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where}column {col!r} row {int(df.index[i]) + 2}: {_plain(df[col].iloc[i])!r} is not "
            f"a whole number ({int(bad.sum())} such rows); {hint}"
        )
    return pd.Series(v.astype(np.int64), index=df.index)


_HIGHER = re.compile(r"^(drug|conc|conc_unit)(\d+)$")


def _drop_absent_drugs(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Drop ``drugK``/``concK`` columns (K >= 3) that hold no third drug; raise when they do."""
    ks = sorted({int(m.group(2)) for c in map(str, df.columns) if (m := _HIGHER.match(c))} - {1, 2})
    for k in ks:
        dcol, ccol = f"drug{k}", f"conc{k}"
        if ccol in df.columns:
            c = numeric_column(
                df, ccol, where=where, allow_missing=False,
                hint=f"a two-drug table may hold {ccol} only as 0 (drug {k} absent)",
            )  # fmt: skip
            dosed = (c != 0).to_numpy()
            if dosed.any():
                third = "third" if k == 3 else f"{k}th"
                raise InputError(
                    f"{where}the table has a {third} drug (column {ccol!r} non-zero in "
                    f"{int(dosed.sum())} rows, first {_rows_text(df.index[dosed][:1])}); "
                    f"oncoresist scores two-drug blocks here: keep the slice {ccol} == 0 "
                    f"(df[df.{ccol} == 0]) or read the table with read_multi_combination_table "
                    f"(oncoresist synergy does so for a text table whose header has {dcol})"
                )
        elif dcol in df.columns:
            named = df[dcol].astype("string").str.strip().fillna("").ne("").to_numpy()
            if named.any():
                raise SchemaError(
                    f"{where}column {dcol!r} names a drug {k} in {int(named.sum())} rows (first "
                    f"{_rows_text(df.index[named][:1])}) but there is no {ccol!r} column with its "
                    f"doses; add {ccol} (0 where drug {k} is absent) or drop {dcol}"
                )
        df = df.drop(columns=[c for c in (dcol, ccol, f"conc_unit{k}") if c in df.columns])
    return df


def _validate(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a measurement table; messages name the table rows (index + 2, as in the file).

    :meth:`CombinationScreen.from_frame` passes its frame with the file's row positions as
    index; any other index is replaced by the positions.
    """
    where = f"{source}: " if source else ""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(
            f"{where}a CombinationScreen needs a pandas DataFrame, got {type(df).__name__}"
        )
    check_unique_columns(df, where)
    missing = [c for c in COMBINATION_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{where}missing column(s) {missing}; found {list(df.columns)}. Use "
            "CombinationScreen.from_frame(...) or read_combination_table(...)"
        )
    df = df.copy()
    if not (pd.api.types.is_integer_dtype(df.index) and df.index.is_unique):
        df = df.reset_index(drop=True)
    if df.empty:
        raise InputError(f"{where}no measurements")
    df["block_id"] = block_ids(df["block_id"], where)
    for col in ("sample", "drug1", "drug2"):
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()
    for col in ("conc1", "conc2", "response"):
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where}column {col!r} row {int(df.index[i]) + 2}: missing or non-numeric "
                f"value {_plain(df[col].iloc[i])!r}"
            )
        df[col] = vals
    for col in ("conc1", "conc2"):
        neg = df[col].to_numpy() < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise InputError(
                f"{where}column {col!r} row {int(df.index[i]) + 2}: negative concentration "
                f"{df[col].iloc[i]:g} ({int(neg.sum())} such rows)"
            )
    r = df["response"].to_numpy()
    implausible = (r < _PLAUSIBLE[0]) | (r > _PLAUSIBLE[1])
    if implausible.any():
        i = int(np.flatnonzero(implausible)[0])
        raise InputError(
            f"{where}column 'response' row {int(df.index[i]) + 2}: value {r[i]:.4g} is not a "
            f"fractional inhibition ({int(implausible.sum())} values outside "
            f"[{_PLAUSIBLE[0]}, {_PLAUSIBLE[1]}]); responses in percent or viability must be "
            "converted: use CombinationScreen.from_frame with response_scale='percent' and/or "
            "response_kind='viability'"
        )
    df["replicate"] = whole_numbers(df, "replicate", where)
    _check_duplicates(df, where)
    problems = _grid_problems(df)
    if len(problems):
        raise InputError(f"{where}{len(problems)} invalid block(s): {_problem_text(problems)}")
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------- readers
def read_combination_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    fmt: str | None = None,
    columns: Mapping[str, str] | None = None,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    response_scale: ResponseScale = "auto",
    response_kind: ResponseKind = "auto",
    normalise: Literal["none", "zero_dose"] = "none",
    on_invalid: OnInvalid = "raise",
) -> CombinationScreen:
    """Read a tidy combination table (SynergyFinder / DrugComb layout).

    Columns ``block_id, drug1, drug2, conc1, conc2, response`` (``replicate``, ``sample`` /
    ``cell_line_name`` and ``conc_unit`` optional), from any tidy format of the reader
    registry (CSV/TSV/text with the separator and decimal mark detected, Parquet, Excel; see
    ``oncoresist.data.read_screen`` for ``fmt``, ``sheet``, ``sep`` and ``decimal``) or a
    DataFrame. The concentration unit has no default: a unit column, a unit in the column
    names (``conc1_nM``) or ``conc_unit=`` (CLI: ``--conc-unit``). See
    :meth:`CombinationScreen.from_frame` for the other keywords.

    Examples
    --------
    >>> screen = read_combination_table("ONEIL_screening_data.csv")  # doctest: +SKIP
    >>> screen.conversions[0]  # doctest: +SKIP
    'response scale detected as percent (max |response| = 97.2); ...'
    """
    notes: tuple[str, ...] = ()
    if isinstance(source, pd.DataFrame):
        frame, name = source, ""
    else:
        opts = ReadOptions(columns=columns, conc_unit=conc_unit, sheet=sheet, sep=sep,
                           decimal=decimal)  # fmt: skip
        table = load_table(source, product="combination", fmt=fmt, options=opts)
        if not isinstance(table, Table):  # a reader that builds the screen itself
            return table  # type: ignore[no-any-return]
        frame, name, notes = table.frame, table.where.removesuffix(": "), table.notes
    screen = CombinationScreen.from_frame(
        frame,
        columns=columns,
        conc_unit=conc_unit,
        response_scale=response_scale,
        response_kind=response_kind,
        normalise=normalise,
        on_invalid=on_invalid,
        source=name,
    )
    if not notes:
        return screen
    return CombinationScreen(
        screen.data,
        source=screen.source,
        conversions=tuple(f"read: {n}" for n in notes) + screen.conversions,
        excluded=screen.excluded,
        annotations=screen.annotations,
    )


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (its repr in messages reads ``1.0``, not ``np.float64``)."""
    return value.item() if isinstance(value, np.generic) else value


def _floats(values: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers: {exc}") from exc


def read_combination_matrix(
    matrix: Any,
    conc1: Any = None,
    conc2: Any = None,
    *,
    drug1: str = "drug1",
    drug2: str = "drug2",
    sample: str = "",
    block_id: str = "1",
    conc_unit: str | None = None,
    response_scale: ResponseScale = "auto",
    response_kind: ResponseKind = "auto",
) -> CombinationScreen:
    """One block from a dose matrix: rows = drug 1 doses, columns = drug 2 doses.

    ``matrix`` is a DataFrame (index = ``conc1``, columns = ``conc2``), a 2-D array with
    ``conc1``/``conc2`` given, a 3-D array ``(replicates, n1, n2)``, or the path of a
    dose-matrix file (read by :func:`~oncoresist.data.read_dose_matrix`). ``conc_unit`` is the
    unit of the doses (required: there is no default). Missing responses (NaN) are left out
    and reported; a well without any response is an error naming its doses.

    >>> m = np.array([[0, 10, 30], [20, 40, 60], [50, 70, 90.0]])
    >>> read_combination_matrix(m, [0, 1, 10], [0, 1, 10], conc_unit="uM",
    ...                         response_scale="percent").n_blocks
    1
    """
    if isinstance(matrix, str | os.PathLike):
        if conc1 is not None or conc2 is not None:
            raise InputError(
                f"{matrix}: a dose-matrix file carries its doses in its first row and column; "
                "drop conc1= and conc2="
            )
        from ._dose_matrix import read_dose_matrix

        return read_dose_matrix(
            matrix, conc_unit=conc_unit, drug1=drug1, drug2=drug2, sample=sample,
            block_id=block_id, response_scale=response_scale, response_kind=response_kind,
        )  # fmt: skip
    if isinstance(matrix, pd.DataFrame):
        values = matrix.apply(pd.to_numeric, errors="coerce")
        bad = (values.isna() & matrix.notna()).to_numpy()
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise InputError(
                f"matrix row {i + 1} (conc1 = {_plain(matrix.index[i])!r}), column {j + 1} "
                f"(conc2 = {_plain(matrix.columns[j])!r}): response "
                f"{_plain(matrix.iat[i, j])!r} is not a number "
                f"({int(bad.sum())} such cells); leave missing responses empty (NaN)"
            )
        arr = values.to_numpy(dtype=float)[None]
        c1 = pd.to_numeric(pd.Series(matrix.index), errors="coerce").to_numpy(dtype=float)
        c2 = pd.to_numeric(pd.Series(matrix.columns), errors="coerce").to_numpy(dtype=float)
    else:
        arr = _floats(matrix, "matrix responses")
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise InputError(
                f"matrix must be 2-D (n1, n2) or 3-D (replicates, n1, n2); got shape {arr.shape}"
            )
        if conc1 is None or conc2 is None:
            raise InputError(
                "a matrix given as an array needs conc1= and conc2= (the doses of rows and columns)"
            )
        c1 = _floats(conc1, "conc1 (drug 1 doses)")
        c2 = _floats(conc2, "conc2 (drug 2 doses)")
        if c1.ndim != 1 or c2.ndim != 1:
            raise InputError(
                f"conc1 and conc2 must be 1-D lists of doses; got shapes {c1.shape} and {c2.shape}"
            )
    if not (np.isfinite(c1).all() and np.isfinite(c2).all()):
        raise InputError(
            "matrix dose labels must be finite numbers (index = drug 1 doses, columns = drug 2 "
            f"doses); got conc1 = {c1.tolist()[:8]}, conc2 = {c2.tolist()[:8]}"
        )
    if arr.shape[1:] != (c1.size, c2.size):
        raise InputError(
            f"matrix shape {arr.shape[1:]} does not match {c1.size} drug-1 doses x {c2.size} drug-2 doses"
        )
    inf = np.isinf(arr)
    if inf.any():
        k, i, j = (int(x[0]) for x in np.nonzero(inf))
        raise InputError(
            f"matrix replicate {k + 1}, row {i + 1} (conc1 = {c1[i]:g}), column {j + 1} (conc2 = "
            f"{c2[j]:g}): response {arr[k, i, j]} is not a finite number ({int(inf.sum())} such "
            "cells); write the measured value or leave it missing (NaN)"
        )
    r, n1, n2 = arr.shape
    rr, ii, jj = np.meshgrid(np.arange(r), np.arange(n1), np.arange(n2), indexing="ij")
    frame = pd.DataFrame(
        {
            "block_id": block_id,
            "sample": sample,
            "drug1": drug1,
            "drug2": drug2,
            "conc1": c1[ii.ravel()],
            "conc2": c2[jj.ravel()],
            "response": arr.ravel(),
            "replicate": rr.ravel() + 1,
        }
    )
    return CombinationScreen.from_frame(
        frame,
        conc_unit=conc_unit,
        response_scale=response_scale,
        response_kind=response_kind,
        source="matrix",
    )


def _frame_of(table: Any, what: str, source: str) -> pd.DataFrame:
    """A plate or layout given as a DataFrame or as the path of a tidy table."""
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, str | os.PathLike):
        loaded = load_table(table, product="combination")
        if not isinstance(loaded, Table):
            raise SchemaError(f"{table}: not a table; the {what} must be a tidy table")
        return loaded.frame
    raise SchemaError(
        f"{source}: the {what} must be a pandas DataFrame or the path of a table, got "
        f"{type(table).__name__}"
    )


def _plate_signals(plate: pd.DataFrame, source: str) -> pd.DataFrame:
    """``well, signal`` from a plate grid (index = row letters) or a long table."""
    if {"well", "signal"} <= set(plate.columns):
        long = plate[["well", "signal"]].reset_index(drop=True)
        sig = numeric_column(long, "signal", where=f"{source}: plate ")
        check_finite(sig, "signal", f"{source}: plate ", what="signal", allow_missing=True)
        long = long.assign(signal=sig)
        if long["well"].isna().any():
            rows = long.index[long["well"].isna().to_numpy()]
            raise InputError(f"{source}: plate column 'well' {_rows_text(rows)}: missing well name")
        long["well"] = long["well"].astype(str).str.strip().str.upper().map(_norm_well)
        long = long.dropna(subset=["signal"])
    else:
        grid = plate.copy()
        first = grid.iloc[:, 0].astype("string").str.strip() if grid.shape[1] > 1 else None
        if (
            isinstance(grid.index, pd.RangeIndex)
            and first is not None
            and bool(first.str.fullmatch(r"[A-Za-z]{1,2}").fillna(False).all())
        ):  # a grid read from a file: its first column holds the row letters
            grid = grid.set_index(grid.columns[0])
        if grid.empty:
            raise InputError(f"{source}: the plate holds no wells")
        cells: pd.Series = grid.stack(future_stack=True)  # type: ignore[assignment]
        vals = pd.to_numeric(cells, errors="coerce")
        bad = (vals.isna() & cells.notna()).to_numpy() | np.isinf(vals.to_numpy(dtype=float))
        if bad.any():
            (r, c), v = cells.index[bad][0], cells[bad].iloc[0]
            raise InputError(
                f"{source}: plate row {_plain(r)!r}, column {_plain(c)!r}: signal {_plain(v)!r} is not a finite number "
                f"({int(bad.sum())} such wells); leave unread wells empty (a long plate table "
                "needs the columns 'well' and 'signal')"
            )
        long = vals.dropna().rename("signal").reset_index()
        long.columns = ["_row", "_col", "signal"]
        well = long["_row"].astype(str) + long["_col"].astype(str).str.zfill(2)
        long = pd.DataFrame({"well": well.str.strip().str.upper().map(_norm_well),
                             "signal": long["signal"].to_numpy(dtype=float)})  # fmt: skip
    dup = long["well"].duplicated(keep=False).to_numpy()
    if dup.any():
        w = long["well"][dup].iloc[0]
        raise InputError(
            f"{source}: the plate gives well {w!r} more than once ({int(dup.sum())} entries for "
            "repeated wells); one signal per well, or read each plate on its own"
        )
    return long


def read_combination_plate(
    plate: pd.DataFrame | str | os.PathLike[str],
    layout: pd.DataFrame | str | os.PathLike[str],
    *,
    conc_unit: str | None = None,
    source: str = "plate",
) -> CombinationScreen:
    """Blocks from a raw plate read and its layout.

    Parameters
    ----------
    plate
        Raw signal as a grid (index = row letters ``A``, ``B``...; columns = column numbers)
        or a long table with columns ``well`` and ``signal`` (a DataFrame or the path of a
        long table).
    layout
        One row per used well: ``well, role`` (``treated``, ``negative``, ``positive``) and,
        for treated wells, ``block_id, drug1, conc1, drug2, conc2`` (``sample`` optional).
        Negative (vehicle) wells define viability 1 and positive (kill) wells viability 0;
        without positive wells viability is ``signal / mean(negative)``. Each block gets the
        plate's negative wells as its zero-dose well when it has none of its own (reported).
        Wells with another role (``blank``...) are left out and counted in ``conversions``.
        A DataFrame or the path of a table; messages name its rows (header = row 1).
    conc_unit
        Unit of the layout's ``conc1``/``conc2`` unless it has a ``conc_unit`` (or
        ``conc_unit1``/``conc_unit2``) column; there is no default.
    """
    if isinstance(plate, str | os.PathLike) and source == "plate":
        source = str(plate)
    plate = _frame_of(plate, "plate", source)
    layout = _frame_of(layout, "layout", source)
    long = _plate_signals(plate, source)
    lay = layout.reset_index(drop=True).copy()
    check_unique_columns(lay, f"{source}: layout ")
    miss = [c for c in ("well", "role") if c not in lay.columns]
    if miss:
        raise SchemaError(f"{source}: layout misses column(s) {miss}; found {list(layout.columns)}")
    if lay.empty:
        raise InputError(f"{source}: the layout has no wells")
    no_well = lay["well"].isna().to_numpy()
    if no_well.any():
        raise InputError(
            f"{source}: layout column 'well' {_rows_text(lay.index[no_well])}: missing well name"
        )
    lay["well"] = lay["well"].astype(str).str.strip().str.upper().map(_norm_well)
    dup = lay["well"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{source}: layout column 'well' {_rows_text(lay.index[dup])}: well "
            f"{lay['well'][dup].iloc[0]!r} is listed more than once; one row per well"
        )
    lay["role"] = lay["role"].astype(str).str.lower().str.strip()
    merged = lay.merge(long, on="well", how="left")  # one row per layout row, in order
    used = merged["role"].isin(["treated", "negative", "positive"]).to_numpy()
    no_sig = merged["signal"].isna().to_numpy() & used
    if no_sig.any():
        raise InputError(
            f"{source}: {int(no_sig.sum())} layout wells have no signal on the plate "
            f"(first: {merged['well'].iloc[int(np.flatnonzero(no_sig)[0])]!r}, layout "
            f"{_rows_text(merged.index[no_sig][:1])})"
        )
    neg = merged.loc[merged["role"] == "negative", "signal"].to_numpy(dtype=float)
    pos = merged.loc[merged["role"] == "positive", "signal"].to_numpy(dtype=float)
    if neg.size == 0:
        raise InputError(
            f"{source}: the layout has no 'negative' (vehicle) wells to normalise against"
        )
    notes = [f"plate: {neg.size} negative wells define viability 1"]
    other = ~used
    if other.any():
        roles = sorted(set(merged.loc[other, "role"]))
        notes.append(
            f"plate: {int(other.sum())} wells with role(s) {roles} left out (roles used: "
            "treated, negative, positive)"
        )
    hi = float(np.mean(neg))
    lo = float(np.mean(pos)) if pos.size else 0.0
    if pos.size:
        notes.append(f"plate: {pos.size} positive wells define viability 0")
    else:
        notes.append("plate: no positive wells; viability = signal / mean(negative)")
    if hi == lo:
        raise InputError(f"{source}: negative and positive controls have the same mean signal")
    treated = merged[merged["role"] == "treated"].copy()
    need = [c for c in ("block_id", "drug1", "conc1", "drug2", "conc2") if c not in treated.columns]
    if need:
        raise SchemaError(f"{source}: layout misses column(s) {need} for treated wells")
    if treated.empty:
        raise InputError(f"{source}: the layout has no 'treated' wells")
    where = f"{source}: layout "
    treated["block_id"] = block_ids(treated["block_id"], where)
    for col in ("conc1", "conc2"):
        vals = pd.to_numeric(treated[col], errors="coerce")
        bad = ~np.isfinite(vals.to_numpy(dtype=float)) | (vals < 0).to_numpy()
        if bad.any():
            raise InputError(
                f"{where}column {col!r} {_rows_text(treated.index[bad])}: dose "
                f"{_plain(treated[col][bad].iloc[0])!r} of a treated well is not a number >= 0 "
                f"({int(bad.sum())} such wells)"
            )
        treated[col] = vals.astype(float)
    treated["viability"] = (treated["signal"].astype(float) - lo) / (hi - lo)
    frames = [treated]
    zero = (treated["conc1"] == 0) & (treated["conc2"] == 0)
    have_zero = set(treated.loc[zero, "block_id"])
    add = []
    negv = (neg - lo) / (hi - lo)
    for b, first in treated.groupby("block_id", sort=False).first().iterrows():
        if str(b) in have_zero:
            continue
        add.append(
            pd.DataFrame(
                {
                    "block_id": b,
                    "drug1": first["drug1"],
                    "drug2": first["drug2"],
                    "sample": first.get("sample", ""),
                    "conc1": 0.0,
                    "conc2": 0.0,
                    "viability": negv,
                }
            )
        )
    if add:
        frames.extend(add)
        notes.append(f"plate: negative wells used as the zero-dose well of {len(add)} block(s)")
    tidy = pd.concat(frames, ignore_index=True)
    tidy["response"] = tidy["viability"]
    cols = [
        c
        for c in (*COMBINATION_COLUMNS[:-1], "conc_unit", "conc_unit1", "conc_unit2")
        if c in tidy.columns
    ]
    screen = CombinationScreen.from_frame(
        tidy[cols],
        conc_unit=conc_unit,
        response_scale="fraction",
        response_kind="viability",
        # rows of its messages count the treated wells in layout order (header = row 1)
        source=f"{source}: treated wells",
    )
    return CombinationScreen(
        screen.data, source=source, conversions=tuple(notes) + screen.conversions
    )


def _norm_well(w: str) -> str:
    letters = "".join(ch for ch in w if ch.isalpha())
    digits = "".join(ch for ch in w if ch.isdigit())
    return f"{letters}{int(digits):02d}" if digits else w


_SF_FILES = {
    "oneil": "ONEIL_screening_data.csv",
    "mathews": "mathews_screening_data.csv",
    "ncats": "NCATS_screening_data.csv",
}


def fetch_synergyfinder_example(
    name: Literal["oneil", "mathews", "ncats"] = "oneil",
    *,
    normalise: Literal["none", "zero_dose"] = "none",
) -> CombinationScreen:
    """SynergyFinder's example blocks (``synergyfinder_combo_matrices`` data set), as the files hold them.

    The percent scale and whether responses are inhibition or viability are read from the
    data (``response_scale="auto"``, ``response_kind="auto"``: viability when the zero-dose
    wells' median is above 50 %), never forced, and every detection is listed in
    ``conversions``. Nothing is rescaled unless asked: ``normalise="zero_dose"`` divides
    viability by each block's zero-dose mean (or shifts inhibition to 0 there).

    * ``"oneil"``: two O'Neil 2016 5 x 5 blocks with 4 replicates, % inhibition (MK-1775 +
      niraparib on OCUBM, synergistic; paclitaxel + L-778123 on NCIH2122, antagonistic).
    * ``"mathews"``: two 6 x 6 DLBCL ibrutinib blocks, % viability; the zero-dose wells read
      115-123 %, so without normalisation they are -15 to -23 % inhibition.
    * ``"ncats"``: the conc3 = 0 slice of the 3-drug malaria screen (two 10 x 10 blocks);
      the zero-dose wells read ~99 %, so the file is detected as % viability.

    >>> fetch_synergyfinder_example("oneil").n_blocks  # doctest: +SKIP
    2
    """
    from ._datasets import data_file_errors, fetch_file

    if name not in _SF_FILES:
        raise InputError(
            f"unknown SynergyFinder example {name!r}; choose from {', '.join(_SF_FILES)}"
        )
    path = fetch_file("synergyfinder_combo_matrices", _SF_FILES[name])
    source = str(path)
    with data_file_errors(path):
        frame = pd.read_csv(path)
        if name == "ncats":
            c3 = pd.to_numeric(frame["conc3"], errors="raise")
            frame = frame[c3 == 0].drop(columns=["drug3", "conc3", "conc_unit3"])
            source = f"{path} (conc3 = 0 slice)"
    return CombinationScreen.from_frame(
        frame,
        response_scale="auto",
        response_kind="auto",
        normalise=normalise,
        source=source,
    )
