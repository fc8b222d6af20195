"""Reader for CurveCurator's generic wide tables (Bayer et al. 2023, Nat Commun 14:7902).

A CurveCurator data set is a folder with a TOML parameter file (``['Experiment'] doses``,
``dose_scale``, ``dose_unit``, ``control_experiment``) and a tab-separated table with a ``Name``
column (``"<cell line><sep><drug>"``), optionally ``Replicate``, and ``Raw <i>`` columns, one per
experiment id. CurveCurator's fitted curves (``*curves.txt[.gz]``) can be read for comparison.

Cells of the ``Raw`` columns are numbers or missing: empty or one of pandas' missing-value
markers (``NA``, ``NaN``, ``N/A``, ``NULL`` ...). A missing measurement has no well in the
:class:`Screen` (a Screen's treated wells all carry a viability); missing cells, and the cells
of rows without a usable control, are counted in :attr:`Screen.notes`. Any other text is an error naming the line and the column.
"""

from __future__ import annotations

import logging
import math
import tomllib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._text import decode, read_bytes
from ..errors import InputError, SchemaError
from ._screen import Screen, integer_column, numeric_column, to_micromolar

__all__ = ["read_curvecurator", "read_curvecurator_fits"]

_log = logging.getLogger(__name__)


def _find_toml(path: Path) -> Path:
    if path.is_file() and path.suffix == ".toml":
        return path
    if path.is_dir():
        found = sorted(path.glob("*.toml"))
        if len(found) == 1:
            return found[0]
        raise InputError(
            f"{path}: expected exactly one CurveCurator .toml file, found {len(found)}"
        )
    if not path.exists():
        raise InputError(f"{path}: file not found")
    raise InputError(f"{path}: not a CurveCurator .toml file or data set folder")


def _load_toml(path: Path) -> dict[str, Any]:
    # TOML is UTF-8 (a BOM from Notepad is harmless)
    raw = read_bytes(path, what="TOML file")
    text = decode(raw, path, what="TOML file", strict=True, column=False).text
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"{path}: not valid TOML: {exc}. Fix the syntax there (strings in quotes, "
            "lists in [ ], one key = value per line)"
        ) from exc


def _ints(value: Any, key: str, where: str) -> list[int]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        ok = isinstance(v, int) and not isinstance(v, bool)
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            ok, v = True, int(v)
        if not ok:
            raise InputError(
                f"{where}['Experiment'] {key} = {value!r}: {v!r} is not an integer experiment "
                "id; write e.g. [0, 1, 2]"
            )
        out.append(int(v))
    return out


def _number(value: Any, key: str, where: str) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not math.isfinite(f) or f <= 0:
        raise InputError(
            f"{where}['Experiment'] {key} = {value!r}: give a positive number, e.g. {key} = "
            "'1e-9' for doses in nanomolar with dose_unit = 'M'"
        )
    return f


def _experiment(params: dict[str, Any], where: str) -> tuple[list[int], np.ndarray, list[int]]:
    """Experiment ids, doses in micromolar and control ids of ``['Experiment']``, checked."""
    exp = params.get("Experiment")
    if not isinstance(exp, dict):
        raise SchemaError(
            f"{where}no ['Experiment'] table; CurveCurator parameter files have one with "
            "experiments, doses, dose_scale, dose_unit and control_experiment"
        )
    for key in ("experiments", "doses"):
        if key not in exp:
            raise SchemaError(f"{where}['Experiment'] lacks {key!r}")
    ids = _ints(exp["experiments"], "experiments", where)
    if not ids:
        raise InputError(f"{where}['Experiment'] experiments is empty; list the experiment ids")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"{where}['Experiment'] experiments lists id(s) {dup} twice")
    doses_in = exp["doses"] if isinstance(exp["doses"], list) else [exp["doses"]]
    for d in doses_in:
        ok = isinstance(d, int | float) and not isinstance(d, bool) and math.isfinite(d)
        if not ok or d < 0:
            raise InputError(
                f"{where}['Experiment'] doses: {d!r} is not a dose (doses are numbers >= 0, "
                "e.g. doses = [0.0, 1.0, 10.0])"
            )
    if len(doses_in) != len(ids):
        raise InputError(
            f"{where}['Experiment'] has {len(ids)} experiments but {len(doses_in)} doses; give "
            "one dose per experiment id, in the same order"
        )
    scale = _number(exp.get("dose_scale", "1"), "dose_scale", where)
    unit = exp.get("dose_unit", "M")
    if not isinstance(unit, str):
        raise InputError(f"{where}['Experiment'] dose_unit = {unit!r}: write e.g. dose_unit = 'M'")
    doses = np.asarray(doses_in, dtype=float) * scale
    doses_um = to_micromolar(doses, unit, where=f"{where}['Experiment'] dose_unit: ")
    ctrl = _ints(exp.get("control_experiment", [0]), "control_experiment", where)
    absent = [c for c in ctrl if c not in ids]
    if absent:
        raise InputError(
            f"{where}['Experiment'] control_experiment {absent} is not among the experiments "
            f"{ids}; name the control's experiment id"
        )
    return ids, doses_um, ctrl


def _input_table(toml_path: Path, params: dict[str, Any]) -> Path:
    paths = params.get("Paths")
    rel = paths.get("input_file") if isinstance(paths, dict) else None
    if isinstance(rel, str) and rel and (toml_path.parent / rel).is_file():
        return toml_path.parent / rel
    cands = [
        p for p in sorted(toml_path.parent.iterdir())
        if p.suffix in (".txt", ".tsv") and "curves" not in p.name and p.name.lower() != "readme.md"
    ]  # fmt: skip
    if len(cands) != 1:
        raise InputError(
            f"{toml_path}: input_file {rel!r} not found and {len(cands)} candidate tables beside it; "
            "fix ['Paths'] input_file in the .toml"
        )
    return cands[0]


def _read_tsv(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """A CurveCurator tab-separated table (any encoding, .gz fine), checked like every table,
    and what was detected while reading it (a text encoding other than UTF-8)."""
    from ._readers import ReadOptions, load_table

    table = load_table(
        path, product="screen", fmt="tsv", options=ReadOptions(sep="\t", decimal=".")
    )
    return table.frame, tuple(f"{path.name}: read as {n}" for n in table.notes)


def _split_names(names: pd.Series, sep: str | None, where: str) -> tuple[pd.Series, pd.Series]:
    text = names.astype(object).where(names.notna(), "").astype(str).str.strip()
    empty = (text == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"{where}: column 'Name' row {i + 2}: empty name ({int(empty.sum())} rows); each row "
            "needs '<cell line>_<drug>'"
        )
    if sep is None:
        sep = " " if text.str.contains(" ", regex=False).all() else "_"
    parts = text.str.split(sep, n=1, expand=True)
    lacking = (
        np.ones(len(text), dtype=bool)
        if parts.shape[1] < 2
        else (
            parts[1].isna() | (parts[1].str.strip() == "") | (parts[0].str.strip() == "")
        ).to_numpy()
    )
    if lacking.any():
        i = int(np.flatnonzero(lacking)[0])
        raise InputError(
            f"{where}: column 'Name' row {i + 2}: {text.iloc[i]!r} has no {sep!r} between cell "
            "line and drug; pass name_sep="
        )
    return parts[0].str.strip(), parts[1].str.strip()


def read_curvecurator(path: str | Path, *, name_sep: str | None = None) -> Screen:
    """Read a CurveCurator viability data set into a normalised :class:`Screen`.

    ``viability`` is the ratio of each ``Raw`` value to the mean of the control experiments of
    the same row (CurveCurator's ratio). Missing cells (empty, ``NA``, ``NaN`` ...) are
    measurements not made: they get no well, and are counted in ``Screen.notes`` (and logged),
    as are the cells of rows whose control is missing or zero. Cells that are
    neither numbers nor missing are an :class:`InputError` naming the line and column.

    Examples
    --------
    >>> from oncoresist.data import fetch_file  # doctest: +SKIP
    >>> s = read_curvecurator(fetch_file("curvecurator_raw_viability",
    ...                                  "ctrp_40uM/parameters_40.0.toml"))  # doctest: +SKIP
    """
    toml_path = _find_toml(Path(path))
    params = _load_toml(toml_path)
    ids, doses_um, ctrl = _experiment(params, f"{toml_path}: ")
    table = _input_table(toml_path, params)
    df, read_notes = _read_tsv(table)
    where = f"{table}: "
    raw_cols = [f"Raw {i}" for i in ids]
    missing = [c for c in ["Name", *raw_cols] if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{table}: missing column(s) {missing}; CurveCurator tables need 'Name' and a "
            f"'Raw <id>' column for each experiment of {toml_path.name} ({ids})"
        )
    hint = "Raw cells are numbers, or empty / NA / NaN when not measured"
    raw = np.column_stack(
        [
            numeric_column(df, c, where=where, hint=hint, allow_inf=False).to_numpy()
            for c in raw_cols
        ]
    )
    ctrl_idx = [ids.index(c) for c in ctrl]
    if ctrl_idx:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows without a control: below
            ref = np.nanmean(raw[:, ctrl_idx], axis=1)
    else:  # control_experiment = []: the Raw values are ratios already
        ref = np.ones(len(df))
    no_ref = ~np.isfinite(ref) | (ref == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = raw / np.where(no_ref, np.nan, ref)[:, None]
    sample, drug = _split_names(df["Name"], name_sep, str(table))
    if "Replicate" in df.columns:
        rep = integer_column(df, "Replicate", where=where, hint="replicates are 1, 2, ...")
        reps = rep.to_numpy(dtype=np.int64)
    else:
        reps = np.ones(len(df), dtype=np.int64)
    n, m = ratio.shape
    long = pd.DataFrame(
        {
            "sample": np.repeat(sample.to_numpy(), m),
            "drug": np.repeat(drug.to_numpy(), m),
            "concentration": np.tile(doses_um, n),
            "role": np.where(np.isin(np.tile(np.arange(m), n), ctrl_idx), "negative", "treated"),
            "replicate": np.repeat(reps, m),
            "viability": ratio.ravel(),
        }
    )
    n_missing = int(np.isnan(raw).sum())
    n_no_ref = int((no_ref[:, None] & ~np.isnan(raw)).sum())
    notes = list(read_notes)
    if n_missing:
        notes.append(
            f"{n_missing} missing Raw cell(s) (empty, NA or NaN) in {table.name}: not measured, "
            "left out"
        )
    if n_no_ref:
        first = int(np.flatnonzero(no_ref)[0]) + 2
        notes.append(
            f"{int(no_ref.sum())} row(s) of {table.name} (first: line {first}) have a missing or "
            f"zero control ({', '.join(f'Raw {c}' for c in ctrl)}): their {n_no_ref} other "
            "cell(s) have no viability and are left out"
        )
    keep = np.isfinite(long["viability"].to_numpy())
    if notes:
        _log.info("%s: %s", table, "; ".join(notes))
    if not keep.any():
        raise InputError(
            f"{where}no Raw cell gives a viability ({'; '.join(notes) or 'no rows'}); check the "
            "control_experiment in the .toml and the Raw columns"
        )
    long = long[keep].reset_index(drop=True)
    # controls keep their drug (the CurveCurator row they normalise) but a zero concentration
    long.loc[long["role"] == "negative", "concentration"] = 0.0
    n_skip = int((~keep).sum())
    source = f"curvecurator:{table.parent.name}/{table.name} ({n_skip} empty cells skipped)"
    return Screen(long, source=source, notes=tuple(notes))


_FIT_COLUMNS = {
    "pEC50": "pec50", "Curve Slope": "hill_slope", "Curve Front": "front", "Curve Back": "back",
    "Curve AUC": "auc", "Curve R2": "r2", "Curve RMSE": "rmse", "Curve P_Value": "pvalue",
    "Curve Relevance Score": "relevance_score", "Curve Regulation": "regulation",
    "pEC50 Error": "pec50_error",
}  # fmt: skip


def read_curvecurator_fits(path: str | Path, *, name_sep: str | None = None) -> pd.DataFrame:
    """CurveCurator's fitted curves (``*curves.txt[.gz]``) as a tidy table.

    Columns: ``sample, drug, pec50`` (-log10 EC50 in M), ``ec50`` (micromolar), ``hill_slope``,
    ``front``, ``back``, ``auc``, ``r2``, ``rmse``, ``pvalue``, ``relevance_score``,
    ``regulation``, ``pec50_error``. Missing cells stay missing (NaN); text in a numeric
    column is an :class:`InputError` naming the line and column.
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*curves*.txt*"))
        if len(found) != 1:
            raise InputError(f"{p}: expected one '*curves.txt[.gz]' file, found {len(found)}")
        p = found[0]
    df, _ = _read_tsv(p)
    where = f"{p}: "
    missing = [c for c in ["Name", *_FIT_COLUMNS] if c not in df.columns]
    if missing:
        raise SchemaError(f"{p}: missing CurveCurator column(s) {missing}")
    sample, drug = _split_names(df["Name"], name_sep, str(p))
    out = pd.DataFrame({"sample": sample, "drug": drug})
    for theirs, ours in _FIT_COLUMNS.items():
        if ours == "regulation":
            out[ours] = df[theirs].to_numpy()
        else:
            out[ours] = numeric_column(df, theirs, where=where).to_numpy()
    with np.errstate(over="ignore"):
        out.insert(3, "ec50", 10.0 ** (-out["pec50"].to_numpy(dtype=float)) * 1e6)
    return out
