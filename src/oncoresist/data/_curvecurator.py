"""Reader for CurveCurator's generic wide tables (Bayer et al. 2023, Nat Commun 14:7902).

A CurveCurator data set is a folder with a TOML parameter file (``['Experiment'] doses``,
``dose_scale``, ``dose_unit``, ``control_experiment``) and a tab-separated table with a ``Name``
column (``"<cell line><sep><drug>"``), optionally ``Replicate``, and ``Raw <i>`` columns, one per
experiment id. CurveCurator's fitted curves (``*curves.txt[.gz]``) can be read for comparison.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from ._screen import Screen, to_micromolar

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
    raise InputError(f"{path}: not a CurveCurator .toml file or data set folder")


def _input_table(toml_path: Path, params: dict) -> Path:
    rel = params.get("Paths", {}).get("input_file")
    if rel and (toml_path.parent / rel).is_file():
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


def _split_names(names: pd.Series, sep: str | None, where: str) -> tuple[pd.Series, pd.Series]:
    if sep is None:
        sep = " " if names.str.contains(" ").all() else "_"
    parts = names.str.split(sep, n=1, expand=True)
    if parts.shape[1] < 2 or parts[1].isna().any():
        bad = names[parts[1].isna()].iloc[0] if parts.shape[1] == 2 else names.iloc[0]
        raise InputError(
            f"{where}: column 'Name' value {bad!r} has no {sep!r} between cell line and drug; pass name_sep="
        )
    return parts[0].str.strip(), parts[1].str.strip()


def read_curvecurator(path: str | Path, *, name_sep: str | None = None) -> Screen:
    """Read a CurveCurator viability data set into a normalised :class:`Screen`.

    ``viability`` is the ratio of each ``Raw`` value to the mean of the control experiments of
    the same row (CurveCurator's ratio). Empty cells are skipped and counted (logged at INFO and
    written into ``Screen.source``).

    Examples
    --------
    >>> from oncoresist.data import fetch_file  # doctest: +SKIP
    >>> s = read_curvecurator(fetch_file("curvecurator_raw_viability",
    ...                                  "ctrp_40uM/parameters_40.0.toml"))  # doctest: +SKIP
    """
    toml_path = _find_toml(Path(path))
    with open(toml_path, "rb") as fh:
        params = tomllib.load(fh)
    exp = params.get("Experiment", {})
    where = str(toml_path)
    for key in ("experiments", "doses"):
        if key not in exp:
            raise SchemaError(f"{where}: ['Experiment'] lacks {key!r}")
    ids = [int(i) for i in exp["experiments"]]
    doses = np.asarray(exp["doses"], dtype=float) * float(exp.get("dose_scale", "1"))
    doses_um = to_micromolar(doses, str(exp.get("dose_unit", "M")), where=f"{where}: ")
    ctrl = exp.get("control_experiment", [0])
    ctrl = [int(c) for c in (ctrl if isinstance(ctrl, list) else [ctrl])]
    table = _input_table(toml_path, params)
    df = pd.read_csv(table, sep="\t")
    raw_cols = [f"Raw {i}" for i in ids]
    missing = [c for c in ["Name", *raw_cols] if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{table}: missing column(s) {missing}; CurveCurator tables need 'Name' and 'Raw <id>' columns"
        )
    raw = df[raw_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    ctrl_idx = [ids.index(c) for c in ctrl]
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.nanmean(raw[:, ctrl_idx], axis=1) if raw[:, ctrl_idx].size else np.ones(len(df))
    ratio = raw / ref[:, None]
    sample, drug = _split_names(df["Name"].astype(str), name_sep, str(table))
    rep = df["Replicate"].to_numpy() if "Replicate" in df.columns else np.ones(len(df), dtype=int)
    n, m = ratio.shape
    long = pd.DataFrame(
        {
            "sample": np.repeat(sample.to_numpy(), m),
            "drug": np.repeat(drug.to_numpy(), m),
            "concentration": np.tile(doses_um, n),
            "role": np.where(np.isin(np.tile(np.arange(m), n), ctrl_idx), "negative", "treated"),
            "replicate": np.repeat(rep, m),
            "viability": ratio.ravel(),
        }
    )
    keep = np.isfinite(long["viability"].to_numpy())
    n_skip = int((~keep).sum())
    if n_skip:
        _log.info("%s: %d empty or non-numeric cells skipped", table, n_skip)
    long = long[keep].reset_index(drop=True)
    # controls keep their drug (the CurveCurator row they normalise) but a zero concentration
    long.loc[long["role"] == "negative", "concentration"] = 0.0
    source = f"curvecurator:{table.parent.name}/{table.name} ({n_skip} empty cells skipped)"
    return Screen(long, source=source)


def read_curvecurator_fits(path: str | Path, *, name_sep: str | None = None) -> pd.DataFrame:
    """CurveCurator's fitted curves (``*curves.txt[.gz]``) as a tidy table.

    Columns: ``sample, drug, pec50`` (-log10 EC50 in M), ``ec50`` (micromolar), ``hill_slope``,
    ``front``, ``back``, ``auc``, ``r2``, ``rmse``, ``pvalue``, ``relevance_score``,
    ``regulation``, ``pec50_error``.
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*curves*.txt*"))
        if len(found) != 1:
            raise InputError(f"{p}: expected one '*curves.txt[.gz]' file, found {len(found)}")
        p = found[0]
    df = pd.read_csv(p, sep="\t")
    cols = {
        "pEC50": "pec50", "Curve Slope": "hill_slope", "Curve Front": "front", "Curve Back": "back",
        "Curve AUC": "auc", "Curve R2": "r2", "Curve RMSE": "rmse", "Curve P_Value": "pvalue",
        "Curve Relevance Score": "relevance_score", "Curve Regulation": "regulation",
        "pEC50 Error": "pec50_error",
    }  # fmt: skip
    missing = [c for c in ["Name", *cols] if c not in df.columns]
    if missing:
        raise SchemaError(f"{p}: missing CurveCurator column(s) {missing}")
    sample, drug = _split_names(df["Name"].astype(str), name_sep, str(p))
    out = pd.DataFrame({"sample": sample, "drug": drug})
    for theirs, ours in cols.items():
        out[ours] = df[theirs].to_numpy()
    out.insert(3, "ec50", 10.0 ** (-out["pec50"].to_numpy(dtype=float)) * 1e6)
    return out
