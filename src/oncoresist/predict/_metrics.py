"""Metrics for drug-response predictions: overall, per drug, per cell line, normalised.

All functions take the tidy prediction table of :func:`~oncoresist.predict.evaluate`
(columns ``sample, drug, y_true, y_pred, y_base`` plus grouping columns such as ``model, split,
fold``) and are vectorised with pandas group sums.

The *normalised Pearson* follows DrEval (Bernett et al. 2026): the part of the response that the
additive mean-effects baseline explains (drug mean + cell-line mean, estimated on the training
fold) is removed from both truth and prediction before correlating, so a model only scores for
what is specific to the pair. Under leave-cell-line-out the baseline is the drug mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError

__all__ = ["METRICS", "fold_group_metrics", "group_metrics", "pearson", "score_predictions"]

#: Metric columns of :func:`score_predictions`, in display order.
METRICS = (
    "rmse",
    "pearson",
    "spearman",
    "pearson_norm",
    "pearson_per_drug",
    "pearson_per_cell_line",
    "auroc_per_drug",
)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant or has < 3 values.

    Examples
    --------
    >>> pearson(np.array([1.0, 2, 3]), np.array([2.0, 4, 7]))  # doctest: +ELLIPSIS
    0.99...
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 3:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")


def _grouped_pearson(df: pd.DataFrame, keys: list[str], x: str, y: str) -> pd.Series:
    """Pearson per group from group sums (vectorised over groups)."""
    g = df.assign(_xy=df[x] * df[y], _xx=df[x] ** 2, _yy=df[y] ** 2).groupby(
        keys, sort=False, observed=True
    )
    s = g[[x, y, "_xy", "_xx", "_yy"]].sum()
    n = g.size()
    cov = s["_xy"] - s[x] * s[y] / n
    vx = s["_xx"] - s[x] ** 2 / n
    vy = s["_yy"] - s[y] ** 2 / n
    # Round-off can make a zero variance slightly negative.
    den = np.sqrt((vx * vy).clip(lower=0.0))
    # Constant groups (e.g. a drug-mean baseline within one drug) have no correlation.
    ok = (vx > 1e-10 * (s["_xx"] + 1e-300)) & (vy > 1e-10 * (s["_yy"] + 1e-300)) & (n >= 3)
    r = (cov / den).where(ok)
    return r.clip(-1.0, 1.0)


def _grouped_rmse(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """RMSE per group; NaN for a group whose predictions are in another measure than its truth."""
    err = (df["y_pred"] - df["y_true"]) ** 2
    if "measure" in df and "train_measure" in df:
        # predictions in one unit (ln IC50), truth in another (AUC): no distance between them
        err = err.where(df["measure"].astype(str) == df["train_measure"].astype(str))
    by = [df[k] for k in keys]
    return err.groupby(by, observed=True, sort=False).mean(skipna=False).pow(0.5)


def _grouped_auroc(df: pd.DataFrame, keys: list[str], quantile: float, lower: bool) -> pd.Series:
    """Per-group AUROC of the predictions for 'sensitive' = truth below the group quantile."""
    sign = 1.0 if lower else -1.0
    truth = sign * df["y_true"]
    thr = truth.groupby([df[k] for k in keys], observed=True).transform("quantile", quantile)
    pos = (truth <= thr).astype(float)
    # Sensitive pairs should get the lowest (sign-adjusted) predictions.
    score = -sign * df["y_pred"]
    ranks = score.groupby([df[k] for k in keys], observed=True).rank()
    tmp = pd.DataFrame({"pos": pos, "rpos": ranks * pos})
    for k in keys:
        tmp[k] = df[k].to_numpy()
    g = tmp.groupby(keys, sort=False, observed=True)
    n_pos = g["pos"].sum()
    n = g.size()
    n_neg = n - n_pos
    auc = (g["rpos"].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return auc.where((n_pos > 0) & (n_neg > 0))


def _check(pred: pd.DataFrame) -> None:
    need = {"sample", "drug", "y_true", "y_pred"}
    missing = need - set(pred.columns)
    if missing:
        raise InputError(
            f"prediction table lacks column(s) {sorted(missing)}; expected the output of evaluate"
        )


def score_predictions(
    pred: pd.DataFrame,
    *,
    by: Sequence[str] = ("model", "split", "fold"),
    lower_is_sensitive: bool = True,
    sensitive_quantile: float = 0.25,
    min_pairs: int = 10,
) -> pd.DataFrame:
    """Overall, normalised, per-drug and per-cell-line metrics per group of predictions.

    Parameters
    ----------
    pred
        Columns ``sample, drug, y_true, y_pred`` and ``y_base`` (the mean-effects baseline's
        prediction from the same training fold; optional ``y_true_base`` normalises the truth
        side differently, as in cross-study evaluation where the scales differ).
    by
        Grouping columns present in ``pred``.
    sensitive_quantile
        Per drug, pairs with a truth below this quantile are "sensitive" for the AUROC.
    min_pairs
        Drugs / cell lines with fewer pairs are left out of the per-group averages.

    Returns
    -------
    DataFrame
        One row per group: ``n`` and the columns of :data:`METRICS`; the per-drug and
        per-cell-line columns are means over drugs (lines) with at least ``min_pairs`` pairs.
        ``rmse`` is NaN for rows whose ``measure`` (truth) differs from their
        ``train_measure`` (what the model predicts), e.g. ln IC50 predictions of AUC.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": "m", "sample": list("abcd"), "drug": "d",
    ...                   "y_true": [1.0, 2, 3, 4], "y_pred": [1.1, 2.1, 2.9, 4.2],
    ...                   "y_base": 2.5})
    >>> score_predictions(p, by=["model"], min_pairs=3)["pearson"].round(3).tolist()
    [0.995]
    """
    _check(pred)
    keys = [k for k in by if k in pred.columns]
    df = pred.copy()
    if not keys:
        df["_all"] = "all"
        keys = ["_all"]
    g = df.groupby(keys, sort=False, observed=True)
    out = pd.DataFrame({"n": g.size()})
    out["rmse"] = _grouped_rmse(df, keys)
    out["pearson"] = _grouped_pearson(df, keys, "y_true", "y_pred")
    ranks = df.groupby(keys, observed=True, sort=False)[["y_true", "y_pred"]].rank()
    rdf = ranks.assign(**{k: df[k] for k in keys})
    out["spearman"] = _grouped_pearson(rdf, keys, "y_true", "y_pred")
    if "y_base" in df:
        tb = df["y_true_base"] if "y_true_base" in df else df["y_base"]
        nd = df.assign(_t=df["y_true"] - tb, _p=df["y_pred"] - df["y_base"])
        out["pearson_norm"] = _grouped_pearson(nd, keys, "_t", "_p")
    else:
        out["pearson_norm"] = np.nan
    for col, unit in (("pearson_per_drug", "drug"), ("pearson_per_cell_line", "sample")):
        sizes = df.groupby([*keys, unit], observed=True).size()
        r = _grouped_pearson(df, [*keys, unit], "y_true", "y_pred")
        r = r[sizes.reindex(r.index) >= min_pairs]
        out[col] = r.groupby(level=list(range(len(keys))), observed=True).mean()
    auc = _grouped_auroc(df, [*keys, "drug"], sensitive_quantile, lower_is_sensitive)
    sizes = df.groupby([*keys, "drug"], observed=True).size()
    auc = auc[sizes.reindex(auc.index) >= min_pairs]
    out["auroc_per_drug"] = auc.groupby(level=list(range(len(keys))), observed=True).mean()
    out = out.reset_index()
    if "_all" in out:
        out = out.drop(columns="_all")
    return out


def group_metrics(
    pred: pd.DataFrame,
    unit: str = "drug",
    *,
    by: Sequence[str] = ("model", "split"),
    min_pairs: int = 3,
) -> pd.DataFrame:
    """Metrics per drug (``unit="drug"``) or per cell line (``unit="sample"``).

    Returns one row per group and unit with ``n, rmse, pearson, spearman``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": "m", "split": "s", "sample": list("abcd"), "drug": "d",
    ...                   "y_true": [1.0, 2, 3, 4], "y_pred": [1.0, 2, 3, 5]})
    >>> group_metrics(p)["spearman"].tolist()
    [1.0]
    """
    _check(pred)
    if unit not in ("drug", "sample"):
        raise InputError(f"unit must be 'drug' or 'sample', got {unit!r}")
    keys = [k for k in by if k in pred.columns] + [unit]
    g = pred.groupby(keys, sort=False, observed=True)
    out = pd.DataFrame({"n": g.size()})
    out["rmse"] = _grouped_rmse(pred, keys)
    out["pearson"] = _grouped_pearson(pred, keys, "y_true", "y_pred")
    ranks = pred.groupby(keys, observed=True, sort=False)[["y_true", "y_pred"]].rank()
    out["spearman"] = _grouped_pearson(
        ranks.assign(**{k: pred[k] for k in keys}), keys, "y_true", "y_pred"
    )
    out = out[out["n"] >= min_pairs]
    return out.reset_index()


def fold_group_metrics(
    pred: pd.DataFrame,
    unit: str = "drug",
    *,
    by: Sequence[str] = ("model", "split"),
    fold: str = "fold",
    min_pairs: int = 3,
    per_fold: bool = False,
) -> pd.DataFrame:
    """Metrics per drug (or cell line) within each fold, then their mean and sd over folds.

    Per-unit metrics of cross-validated predictions must not pool the folds: a predictor that
    is constant for a drug within each fold (the drug's training mean under leave-cell-line-out)
    has no correlation within any fold, but the pooled folds correlate through the differences
    between the folds' training means. Here every fold is scored on its own
    (:func:`group_metrics` with ``fold`` among the keys) and the folds are summarised.

    Returns
    -------
    DataFrame
        One row per group and unit: ``n_folds`` (folds where the unit had at least
        ``min_pairs`` pairs), ``n`` (pairs, summed over folds), the mean over folds of ``rmse,
        pearson, spearman`` (NaN where every fold's correlation is undefined) and their
        fold-to-fold standard deviation ``<metric>_sd``. With ``per_fold=True``, the rows of
        every fold instead.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": "drug_mean", "split": "cell_line", "fold": [0] * 3 + [1] * 3,
    ...                   "sample": list("abcdef"), "drug": "d",
    ...                   "y_true": [1.0, 2, 3, 4, 5, 6], "y_pred": [4.5] * 3 + [2.0] * 3})
    >>> fold_group_metrics(p)["pearson"].isna().tolist()  # constant within each fold
    [True]
    >>> float(group_metrics(p)["pearson"].iloc[0].round(3))  # the folds pooled: spurious
    -0.878
    """
    _check(pred)
    keys = [k for k in by if k in pred.columns]
    if fold not in pred.columns:
        raise InputError(f"prediction table lacks the fold column {fold!r}")
    rows = group_metrics(pred, unit, by=[*keys, fold], min_pairs=min_pairs)
    if per_fold:
        return rows
    g = rows.groupby([*keys, unit], sort=False, observed=True)
    cols = ["rmse", "pearson", "spearman"]
    out = g[cols].mean()
    out.insert(0, "n", g["n"].sum())
    out.insert(0, "n_folds", g.size())
    out = out.join(g[cols].std(ddof=1).add_suffix("_sd"))
    return out.reset_index()


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman correlation (NaN when undefined)."""
    if len(x) < 3:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)
