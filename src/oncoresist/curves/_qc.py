"""Plate quality control: Z'-factor, robust Z', SSMD, CVs, edge effects; flags, never silent drops."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from .._special import norm_sf
from ..data._screen import Screen
from ..errors import InputError

__all__ = ["QC_FLAGS", "apply_qc", "flag_outliers", "plate_qc", "z_prime"]

#: Flags that :func:`plate_qc` can raise on a plate.
QC_FLAGS: tuple[str, ...] = (
    "low_zprime",
    "high_cv",
    "edge_effect",
    "no_negative_control",
    "no_positive_control",
    "no_signal",
)

_MAD_SCALE = 1.4826  # MAD -> SD for normal data


def z_prime(*, mean_pos: object, sd_pos: object, mean_neg: object, sd_neg: object) -> np.ndarray:
    """Z'-factor of Zhang, Chung & Oldenburg (J. Biomol. Screen. 1999).

    ``1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg|``; broadcasts.

    >>> round(float(z_prime(mean_pos=0.0, sd_pos=1.0, mean_neg=100.0, sd_neg=5.0)), 6)
    0.82
    """
    mp, sp, mn, sn = (np.asarray(x, dtype=float) for x in (mean_pos, sd_pos, mean_neg, sd_neg))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - 3.0 * (sp + sn) / np.abs(mp - mn)


def plate_qc(
    screen: Screen,
    *,
    zprime_min: float = 0.5,
    cv_max: float = 0.2,
    edge_alpha: float = 0.01,
    edge_min_effect: float = 0.05,
    fail_on: Iterable[str] = ("low_zprime", "no_negative_control", "no_signal"),
) -> pd.DataFrame:
    """Quality metrics per plate, with flags (nothing is excluded here).

    Computed on ``signal`` when present, else on ``viability``. The positive control is the
    ``positive`` wells, or the ``blank`` wells on plates without positives (column
    ``positive_control`` says which).

    Columns: ``plate``, ``n_<role>`` for every role, ``n_missing`` (wells without a finite
    value), ``mean_negative, sd_negative, mean_positive, sd_positive``, ``z_prime`` (Zhang et
    al. 1999), ``robust_z_prime`` (medians and MAD * 1.4826), ``ssmd`` ((mean_neg - mean_pos) /
    sqrt(sd_neg² + sd_pos²), Zhang 2007), ``signal_to_background`` (mean negative / mean
    blank, else positive), ``cv_negative, cv_positive``, the edge-effect test (``edge_test``:
    which wells were compared, ``negative`` when both the outer ring (the border of the block
    of wells holding cells, i.e. the plate edge unless the edge is left empty) and the inner
    wells have >= 4 vehicle wells, else ``treated_residual`` (log value minus the median of its (sample, drug,
    concentration) group, screen-wide), ``edge_ratio`` (median outer / median inner on the
    linear scale), ``edge_pvalue`` (two-sided Mann-Whitney U)), ``flags`` (``;``-separated, from
    :data:`QC_FLAGS`) and ``pass`` (no flag in ``fail_on``).

    Parameters
    ----------
    screen
        A Screen with ``plate`` (and ``row``/``col`` for the edge test).
    zprime_min
        ``low_zprime`` when Z' is below it (or not computable).
    cv_max
        ``high_cv`` when the CV of the negative controls exceeds it.
    edge_alpha, edge_min_effect
        ``edge_effect`` when the edge p-value is below ``edge_alpha`` and the outer/inner
        ratio differs from 1 by more than ``edge_min_effect``.
    fail_on
        Flags that make ``pass`` False.

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    >>> bool(plate_qc(screen)["pass"].all())
    True
    """
    fail = set(fail_on)
    unknown = fail - set(QC_FLAGS)
    if unknown:
        raise InputError(f"fail_on: unknown flag(s) {sorted(unknown)}; use {', '.join(QC_FLAGS)}")
    df = screen.data
    if "plate" not in df.columns:
        raise InputError(
            f"{screen.source or 'screen'}: plate QC needs a 'plate' column; found "
            f"{list(df.columns)}. Map it with read_screen(..., columns={{'Barcode': 'plate'}})."
        )
    value_col = "signal" if "signal" in df.columns else "viability"
    val = df[value_col].to_numpy(dtype=float)
    finite = np.isfinite(val)
    plate = df["plate"].astype(str)
    plates = pd.Index(sorted(plate.unique()), name="plate")
    role = df["role"]
    out = pd.DataFrame(index=plates)
    counts = pd.crosstab(plate, role).reindex(
        index=plates, columns=list(screen.roles), fill_value=0
    )
    for r in screen.roles:
        out[f"n_{r}"] = counts[r].to_numpy()
    out["n_missing"] = pd.Series(~finite).groupby(plate.to_numpy()).sum().reindex(plates).to_numpy()
    out["value"] = value_col

    def agg(mask: np.ndarray) -> pd.DataFrame:
        v = pd.Series(val[mask & finite])
        g = plate[mask & finite].to_numpy()
        res = v.groupby(g).agg(["mean", "std", "median", "count"])
        dev = (v - v.groupby(g).transform("median")).abs()
        res["mad"] = _MAD_SCALE * dev.groupby(g).median()
        return res.reindex(plates)

    neg = agg((role == "negative").to_numpy())
    n_pos_wells = agg((role == "positive").to_numpy())["count"].fillna(0)
    pos_role = np.where(n_pos_wells.to_numpy() > 0, "positive", "blank")
    pos_all = agg((role == "positive").to_numpy())
    blank = agg((role == "blank").to_numpy())
    pos = pos_all.where(pd.Series(pos_role == "positive", index=plates), blank, axis=0)
    has_pos = pos["count"].fillna(0).to_numpy() > 0
    out["positive_control"] = np.where(has_pos, pos_role, "none")
    out["mean_negative"], out["sd_negative"] = neg["mean"], neg["std"]
    out["mean_positive"], out["sd_positive"] = pos["mean"], pos["std"]
    out["z_prime"] = z_prime(
        mean_pos=pos["mean"], sd_pos=pos["std"], mean_neg=neg["mean"], sd_neg=neg["std"]
    )
    out["robust_z_prime"] = z_prime(
        mean_pos=pos["median"], sd_pos=pos["mad"], mean_neg=neg["median"], sd_neg=neg["mad"]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ssmd"] = (neg["mean"] - pos["mean"]) / np.sqrt(neg["std"] ** 2 + pos["std"] ** 2)
        bg_mean = blank["mean"].where(blank["count"].fillna(0) > 0, pos_all["mean"])
        out["signal_to_background"] = neg["mean"] / bg_mean
        out["cv_negative"] = neg["std"] / neg["mean"]
        out["cv_positive"] = pos["std"] / pos["mean"]
    out = out.replace([np.inf, -np.inf], np.nan)
    edge = _edge_tests(df, val, finite, plate, plates)
    out = out.join(edge)

    has_neg = neg["count"].fillna(0).to_numpy() > 0
    any_val = pd.Series(finite).groupby(plate.to_numpy()).any().reindex(plates).to_numpy()
    zp = out["z_prime"].to_numpy(dtype=float)
    cv = out["cv_negative"].to_numpy(dtype=float)
    ratio = out["edge_ratio"].to_numpy(dtype=float)
    pval = out["edge_pvalue"].to_numpy(dtype=float)
    conds = {
        "low_zprime": has_neg & has_pos & ~(zp >= zprime_min),
        "high_cv": cv > cv_max,
        "edge_effect": (pval < edge_alpha) & (np.abs(ratio - 1.0) > edge_min_effect),
        "no_negative_control": ~has_neg,
        "no_positive_control": ~has_pos,
        "no_signal": ~any_val,
    }
    names = np.array(list(conds))
    mat = np.column_stack([conds[k] for k in names])
    out["flags"] = [";".join(names[row]) for row in mat]
    fail_cols = np.isin(names, list(fail))
    out["pass"] = np.asarray(~mat[:, fail_cols].any(axis=1), dtype=bool)
    return out.reset_index()


def _edge_tests(
    df: pd.DataFrame,
    val: np.ndarray,
    finite: np.ndarray,
    plate: pd.Series,
    plates: pd.Index,
    min_wells: int = 4,
) -> pd.DataFrame:
    res = pd.DataFrame(
        {"edge_test": "none", "edge_ratio": np.nan, "edge_pvalue": np.nan}, index=plates
    )
    if "row" not in df.columns or "col" not in df.columns:
        return res
    # Outer ring = border of the block of wells that hold cells on the plate: the plate's own
    # border on a fully used plate, the first used ring where the edge is left empty (GDSC).
    r, c = df["row"].to_numpy(), df["col"].to_numpy()
    cells = ~np.isin(df["role"].to_numpy(), ["blank"])
    rr = pd.Series(np.where(cells, r, np.nan)).groupby(plate.to_numpy())
    cc = pd.Series(np.where(cells, c, np.nan)).groupby(plate.to_numpy())
    r0, r1 = rr.transform("min").to_numpy(), rr.transform("max").to_numpy()
    c0, c1 = cc.transform("min").to_numpy(), cc.transform("max").to_numpy()
    outer = (r == r0) | (r == r1) | (c == c0) | (c == c1)
    role = df["role"].to_numpy()
    positive = val > 0
    is_neg = (role == "negative") & finite & positive
    is_trt = (role == "treated") & finite & positive
    logv = np.log(np.where(positive, val, np.nan))
    # residual of a treated well from the screen-wide median of its (sample, drug, conc) group
    keys = [df["sample"], df["drug"], df["concentration"]]
    med = pd.Series(np.where(is_trt, logv, np.nan)).groupby(keys).transform("median").to_numpy()
    resid = logv - med
    pv = plate.to_numpy()
    n_on = pd.Series(is_neg & outer).groupby(pv).sum().reindex(plates).to_numpy()
    n_in = pd.Series(is_neg & ~outer).groupby(pv).sum().reindex(plates).to_numpy()
    t_on = pd.Series(is_trt & outer).groupby(pv).sum().reindex(plates).to_numpy()
    t_in = pd.Series(is_trt & ~outer).groupby(pv).sum().reindex(plates).to_numpy()
    use_neg = (n_on >= min_wells) & (n_in >= min_wells)
    use_trt = ~use_neg & (t_on >= min_wells) & (t_in >= min_wells)
    kind = pd.Series(
        np.select([use_neg, use_trt], ["negative", "treated_residual"], "none"), index=plates
    )
    well_kind = kind.reindex(pv).to_numpy()
    sel = ((well_kind == "negative") & is_neg) | ((well_kind == "treated_residual") & is_trt)
    x = np.where(well_kind == "negative", logv, resid)[sel]
    test = _mann_whitney(pv[sel], outer[sel], x)
    res["edge_test"] = kind
    res["edge_ratio"] = np.exp(test["median_diff"]).reindex(plates)
    res["edge_pvalue"] = test["pvalue"].reindex(plates)
    return res


def _mann_whitney(group: np.ndarray, first: np.ndarray, x: np.ndarray) -> pd.DataFrame:
    """Two-sided Mann-Whitney U test of ``x[first]`` vs ``x[~first]`` within every group at once.

    Normal approximation with tie correction and continuity correction (scipy's
    ``mannwhitneyu(..., method="asymptotic")``), vectorised over groups; also the difference of
    the two medians.
    """
    if len(x) == 0:
        return pd.DataFrame(columns=["pvalue", "median_diff"], dtype=float)
    frame = pd.DataFrame({"g": group, "first": first, "x": x})
    frame["rank"] = frame.groupby("g")["x"].rank(method="average")
    by = frame.groupby("g")
    n = by.size()
    n1 = by["first"].sum()
    n2 = n - n1
    r1 = frame["rank"].where(frame["first"], 0.0).groupby(frame["g"]).sum()
    u1 = r1 - n1 * (n1 + 1) / 2.0
    t = frame.groupby(["g", "x"]).size()
    ties = (t**3 - t).groupby(level=0).sum()
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.abs(u1 - n1 * n2 / 2.0) - 0.5) / np.sqrt(var)
    pvalue = np.clip(2.0 * norm_sf(z.clip(lower=0.0)), 0.0, 1.0)
    med1 = frame[frame["first"]].groupby("g")["x"].median()
    med2 = frame[~frame["first"]].groupby("g")["x"].median()
    return pd.DataFrame({"pvalue": pvalue, "median_diff": med1 - med2})


def apply_qc(
    screen: Screen,
    qc: pd.DataFrame,
    *,
    exclude: Iterable[str] = ("low_zprime",),
) -> tuple[Screen, pd.DataFrame]:
    """Exclude the plates carrying any flag in ``exclude`` (and outlier wells), reporting each.

    ``exclude`` holds plate flags from :func:`plate_qc` and, optionally, ``"outlier"`` to
    drop wells marked by :func:`flag_outliers` (an ``outlier`` column).

    Returns
    -------
    (Screen, pandas.DataFrame)
        The kept wells, and one row per exclusion: ``level`` (``plate`` or ``well``),
        ``plate``, ``well`` (empty for plates), ``reason``, ``n_wells``.

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    >>> kept, excluded = apply_qc(screen, plate_qc(screen))
    >>> len(excluded)
    0
    """
    excl = list(exclude)
    unknown = set(excl) - set(QC_FLAGS) - {"outlier"}
    if unknown:
        raise InputError(
            f"exclude: unknown flag(s) {sorted(unknown)}; use {', '.join(QC_FLAGS)} or 'outlier'"
        )
    if "plate" not in qc.columns or "flags" not in qc.columns:
        raise InputError("qc must be the table returned by plate_qc (columns 'plate', 'flags')")
    df = screen.data
    plate = df["plate"].astype(str) if "plate" in df.columns else pd.Series("", index=df.index)
    plate_flags = qc.set_index(qc["plate"].astype(str))["flags"].fillna("").str.split(";")
    hit = plate_flags.map(lambda fl: [f for f in fl if f in excl])
    hit = hit[hit.map(len) > 0]
    drop = plate.isin(hit.index).to_numpy()
    n_by_plate = plate[drop].value_counts()
    rows = [
        {
            "level": "plate",
            "plate": p,
            "well": "",
            "reason": ";".join(r),
            "n_wells": int(n_by_plate.get(p, 0)),
        }
        for p, r in hit.items()
    ]
    if "outlier" in excl:
        if "outlier" not in df.columns:
            raise InputError(
                "exclude contains 'outlier' but the screen has no 'outlier' column; run flag_outliers first"
            )
        wout = df["outlier"].fillna(False).to_numpy(dtype=bool) & ~drop
        well = df["well"].astype(str) if "well" in df.columns else pd.Series(df.index.astype(str))
        rows += [
            {"level": "well", "plate": p, "well": w, "reason": "outlier", "n_wells": 1}
            for p, w in zip(plate[wout], well[wout], strict=True)
        ]
        drop = drop | wout
    table = pd.DataFrame(rows, columns=["level", "plate", "well", "reason", "n_wells"])
    kept = Screen(df[~drop].reset_index(drop=True), source=screen.source)
    return kept, table


def flag_outliers(
    screen: Screen,
    *,
    threshold: float = 5.0,
    min_group: int = 3,
    value: Literal["auto", "signal", "viability"] = "auto",
) -> Screen:
    """Mark outlier wells within replicate groups by a robust z-score (flags, never drops).

    Replicate groups are (plate, sample, drug, concentration, role). A well's residual is its
    distance from the group median, on log signal (or linear viability). With 2-4 replicates a
    group's own MAD is too unstable, so the scale is pooled over all groups of the same (plate,
    role): ``1.4826 * median(|non-zero residuals|)``. The score is residual / scale and a well
    is an outlier when ``|score| > threshold``. Groups smaller than ``min_group`` are not scored
    (a pair cannot tell which well is wrong).

    Returns
    -------
    Screen
        A new Screen with ``outlier_score`` (NaN when not scored) and ``outlier`` (bool).

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, _ = make_screen(n_samples=1, drugs=2, replicates=3, rng=0)
    >>> int(flag_outliers(screen).data["outlier"].sum())
    0
    """
    df = screen.data
    col = value
    if col == "auto":
        col = "signal" if "signal" in df.columns else "viability"
    if col not in df.columns:
        raise InputError(f"value={value!r}: the screen has no {col!r} column")
    if min_group < 3:
        raise InputError(f"min_group={min_group}: need >= 3 replicates to tell which well is wrong")
    x = df[col].to_numpy(dtype=float)
    if col == "signal":
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(np.where(x > 0, x, np.nan))
    plate = df["plate"] if "plate" in df.columns else pd.Series("", index=df.index)
    keys = [plate] + [df[k] for k in ("sample", "drug", "concentration", "role")]
    grp = pd.Series(x).groupby(keys, sort=False)
    resid = x - grp.transform("median").to_numpy()
    n = grp.transform("count").to_numpy()
    scored = (n >= min_group) & np.isfinite(resid)
    absr = pd.Series(np.where(scored & (np.abs(resid) > 0), np.abs(resid), np.nan))
    scale = (
        _MAD_SCALE * absr.groupby([plate, df["role"]], sort=False).transform("median").to_numpy()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(scored & (scale > 0), resid / scale, np.nan)
    return screen.with_columns(
        {"outlier_score": score, "outlier": np.abs(np.nan_to_num(score)) > threshold}
    )
