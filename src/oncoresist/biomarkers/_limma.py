"""Two-group differential analysis with a moderated t-test (limma-style empirical Bayes).

Smyth (2004), "Linear models and empirical Bayes methods for assessing differential expression
in microarray experiments", Stat Appl Genet Mol Biol 3:3. Each feature's residual variance
``s2_g`` (``d_g`` degrees of freedom) is shrunk towards a common prior ``s0^2`` with ``d0``
degrees of freedom estimated from all features by matching the moments of ``log s2_g``
(the scaled-F / log-chi-square method of section 6 of the paper). The moderated t statistic
``t = (mean_a - mean_b) / sqrt(s2_post * (1/n_a + 1/n_b))`` has ``d_g + d0`` degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ..data._panel import Panel
from ..errors import InputError

__all__ = ["differential_features", "fit_f_prior", "moderated_ttest"]


def _trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve trigamma(y) = x by Newton's method (Smyth 2004, appendix)."""
    x = np.asarray(x, dtype=float)
    y = np.where(x > 1e7, 1.0 / np.sqrt(np.maximum(x, 1e-300)), 0.5 + 1.0 / x)
    y = np.where(x < 1e-6, 1.0 / np.maximum(x, 1e-300), y)
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1 - tri / x) / special.polygamma(2, y)
        y = y + dif
        if np.all(-dif / y < 1e-8):
            break
    return y


def fit_f_prior(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior degrees of freedom ``d0`` and scale ``s0^2`` from residual variances.

    ``d0`` is ``inf`` when the variances are no more dispersed than sampling alone explains
    (then the moderated t is a t with the common variance).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s2 = 0.5 * rng.chisquare(4, 2000) / 4 / (rng.chisquare(10, 2000) / 10)
    >>> d0, s0 = fit_f_prior(s2, np.full(2000, 4.0))
    """
    s2 = np.asarray(s2, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), s2.shape)
    ok = np.isfinite(s2) & (s2 > 0) & (df > 0)
    if ok.sum() < 3:
        raise InputError(
            f"need at least 3 features with a positive residual variance to estimate the prior, "
            f"got {int(ok.sum())}"
        )
    s2, df = s2[ok], df[ok]
    z = np.log(s2)
    e = z - special.digamma(df / 2) + np.log(df / 2)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (e.size - 1) - special.polygamma(1, df / 2).mean())
    if evar > 0:
        d0 = float(2 * _trigamma_inverse(np.array([evar]))[0])
        s0 = float(np.exp(emean + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        d0, s0 = float("inf"), float(np.exp(emean))
    return d0, s0


def moderated_ttest(
    data: pd.DataFrame,
    groups: pd.Series | Sequence[Any],
    *,
    group_a: Any = None,
    group_b: Any = None,
) -> pd.DataFrame:
    """Moderated t-test of every feature between two groups of samples.

    Parameters
    ----------
    data
        Samples x features (e.g. an expression layer); NaN allowed (per-feature counts).
    groups
        Group label of each sample (aligned on ``data.index`` when a Series); samples with a
        missing label are left out.
    group_a, group_b
        The two labels compared (``mean_a - mean_b``); default the two labels, sorted.

    Returns
    -------
    DataFrame
        One row per feature: ``feature, n_a, n_b, mean_a, mean_b, mean_diff, s2, s2_post,
        statistic, df_total, pvalue, fdr, df_prior, s2_prior, status``; features with fewer than
        2 values in a group or zero variance have ``status`` saying why and NaN statistics.

    Examples
    --------
    >>> res = moderated_ttest(expr, labels, group_a="resistant", group_b="sensitive")  # doctest: +SKIP
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a samples x features DataFrame")
    g = (
        groups.reindex(data.index)
        if isinstance(groups, pd.Series)
        else pd.Series(list(groups), index=data.index)
    )
    if len(g) != len(data):
        raise InputError(f"groups has {len(g)} labels for {len(data)} samples")
    labels = sorted(g.dropna().unique(), key=str)
    if group_a is None and group_b is None:
        if len(labels) != 2:
            raise InputError(f"need exactly two groups, got {labels}; pass group_a and group_b")
        group_a, group_b = labels
    for lab in (group_a, group_b):
        if lab not in labels:
            raise InputError(f"group {lab!r} has no sample; labels present: {labels}")
    X = data.to_numpy(dtype=float)
    ia = (g == group_a).to_numpy()
    ib = (g == group_b).to_numpy()
    A, B = X[ia], X[ib]
    na = (~np.isnan(A)).sum(axis=0).astype(float)
    nb = (~np.isnan(B)).sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.nansum(A, axis=0) / na
        mb = np.nansum(B, axis=0) / nb
        ssa = np.nansum((A - ma) ** 2, axis=0)
        ssb = np.nansum((B - mb) ** 2, axis=0)
        dfr = na + nb - 2
        s2 = (ssa + ssb) / dfr
    status = np.full(X.shape[1], "ok", dtype=object)
    status[(na < 2) | (nb < 2)] = "too_few_samples (< 2 per group)"
    status[(status == "ok") & ~(s2 > 1e-14 * np.maximum(np.abs(ma) + np.abs(mb), 1.0) ** 2)] = (
        "zero_variance"
    )
    ok = status == "ok"
    d0, s0 = fit_f_prior(s2[ok], dfr[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        s2_post = s2 if np.isinf(d0) else (d0 * s0 + dfr * s2) / (d0 + dfr)
        t = (ma - mb) / np.sqrt(s2_post * (1 / na + 1 / nb))
        df_total = dfr + d0 if np.isfinite(d0) else np.full_like(dfr, np.inf)
        p = np.where(
            np.isinf(df_total), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), df_total)
        )
    t[~ok], p[~ok] = np.nan, np.nan
    fdr = np.full_like(p, np.nan)
    fdr[ok] = stats.false_discovery_control(p[ok], method="bh")
    out = pd.DataFrame(
        {
            "feature": data.columns,
            "n_a": na.astype(int),
            "n_b": nb.astype(int),
            "mean_a": ma,
            "mean_b": mb,
            "mean_diff": ma - mb,
            "s2": s2,
            "s2_post": s2_post,
            "statistic": t,
            "df_total": df_total,
            "pvalue": p,
            "fdr": fdr,
            "df_prior": d0,
            "s2_prior": s0,
            "status": status,
        }
    )
    out.attrs.update(group_a=group_a, group_b=group_b)
    return out.sort_values("pvalue", kind="stable", ignore_index=True)


def differential_features(
    panel: Panel,
    drug: Any,
    *,
    layer: str,
    quantile: float = 0.25,
) -> pd.DataFrame:
    """Resistant vs sensitive samples of one drug: moderated t-test of every feature of a layer.

    Samples in the most resistant ``quantile`` of the drug's responses form group
    ``"resistant"``, the most sensitive ``quantile`` group ``"sensitive"`` (respecting the
    panel's metric direction); the middle is left out. ``mean_diff`` is resistant - sensitive.

    Examples
    --------
    >>> differential_features(panel, "D000", layer="expression")  # doctest: +SKIP
    """
    if not 0 < quantile <= 0.5:
        raise InputError(f"quantile must be in (0, 0.5], got {quantile}")
    if drug not in panel.drugs:
        raise InputError(f"drug {drug!r} is not in panel {panel.name!r}")
    y = panel.responses[drug].dropna()
    lo, hi = y.quantile(quantile), y.quantile(1 - quantile)
    low_label, high_label = (
        ("sensitive", "resistant") if panel.lower_is_sensitive else ("resistant", "sensitive")
    )
    labels = pd.Series(pd.NA, index=panel.samples, dtype=object)
    labels[y.index[y <= lo]] = low_label
    labels[y.index[y >= hi]] = high_label
    res = moderated_ttest(panel.layer(layer), labels, group_a="resistant", group_b="sensitive")
    res.insert(0, "drug", drug)
    return res
