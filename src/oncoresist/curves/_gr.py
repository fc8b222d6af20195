"""Growth-rate inhibition (GR) metrics (Hafner et al. 2016, Nat Methods 13:521).

GR values come from the cell counts of treated wells ``x``, untreated controls ``x_ctrl`` and
time zero ``x0`` (Hafner et al. 2016, Online Methods, eq. 1)::

    GR(c) = 2 ** (log2(x(c) / x0) / log2(x_ctrl / x0)) - 1

or, without time-zero counts, from the relative viability and the doubling time. The GR curve
is the three-parameter sigmoid with its top fixed at 1::

    GR(c) = GRinf + (1 - GRinf) / (1 + (c / GEC50) ** h_GR)

fitted by least squares under the bounds of the GR-metrics authors' tools (R GRmetrics, the
MATLAB scripts and the Python ``gr50`` package of github.com/datarail/gr_metrics, documented
in the GRmetrics vignette and ``?GRfit``): GRinf in [-1, 1], h_GR in [0.1, 5], GEC50 in
[min(c) / 100, max(c) * 100]. Every metric follows those tools' definitions; where the paper's
wording and the tools differ the docstring of :func:`fit_gr` says which one is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, SchemaError
from ._fit import fit_curves
from ._metrics import inverse_loglogistic

__all__ = ["fit_gr", "gr_from_doubling_time", "gr_metrics_table", "gr_table", "gr_values"]

#: Columns of a "case A" GR table (GRmetrics' naming): one row per treated well.
GR_COUNT_COLUMNS = ("concentration", "cell_count", "cell_count__ctrl", "cell_count__time0")

_GEC50_DECADES = 2.0  # GEC50 within 2 orders of magnitude of the tested range (GRmetrics)


def gr_values(x: Any, x_ctrl: Any, x0: Any) -> np.ndarray:
    """GR values from treated counts ``x``, control counts ``x_ctrl`` and time-zero ``x0``.

    ``GR = 2 ** (log2(x / x0) / log2(x_ctrl / x0)) - 1`` (Hafner et al. 2016, eq. 1); values
    are not capped (GRmetrics' default ``cap = FALSE``).

    Examples
    --------
    >>> gr_values([400.0, 100.0, 50.0], 400.0, 100.0).round(3).tolist()
    [1.0, 0.0, -0.293]
    """
    x, xc, x0 = (np.asarray(a, dtype=float) for a in (x, x_ctrl, x0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2.0 ** (np.log2(x / x0) / np.log2(xc / x0)) - 1.0
    return out


def gr_from_doubling_time(
    relative_viability: Any, *, treatment_time: float, doubling_time: float
) -> np.ndarray:
    """GR values from viability relative to control when no time-zero counts exist.

    ``x_ctrl / x0 = 2 ** (T / Td)``, hence ``GR = 2 ** (1 + log2(rel) Td / T) - 1``.

    Examples
    --------
    >>> gr_from_doubling_time([1.0, 0.5], treatment_time=72, doubling_time=24).round(3).tolist()
    [1.0, 0.587]
    """
    if not (treatment_time > 0 and doubling_time > 0):
        raise InputError("treatment_time and doubling_time must be > 0 (hours)")
    rel = np.asarray(relative_viability, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 ** (1.0 + np.log2(rel) * doubling_time / treatment_time) - 1.0


def fit_gr(
    log_conc: Any,
    gr: Any,
    *,
    flat_alpha: float = 0.05,
    force: bool = False,
    n_starts: int = 4,
) -> pd.DataFrame:
    """Fit GR curves (one per row) and compute the GR metrics of Hafner et al. 2016.

    Parameters
    ----------
    log_conc
        Natural log of the micromolar concentration, ``(n, m)`` or ``(m,)``.
    gr
        GR values ``(n, m)``, NaN for missing points. Replicate wells of one concentration are
        separate points (the GR-metrics tools fit every well, they do not average first).
    flat_alpha
        F-test level: a curve with ``p >= flat_alpha`` gets the flat fit (GRmetrics: 0.05).
    force
        Keep the sigmoid whatever the F-test says (GRmetrics' ``force = TRUE``).
    n_starts
        Starting points of the least-squares fit (see :func:`fit_curves`). The reference tools
        run one local fit from (h 2, GRinf 0.1, GEC50 median(c)); 4 starts reproduce their
        optimum on all 112 toy curves of the GR-metrics authors, while 16 starts find, for one
        of them, a lower-SSE optimum on the h = 5 bound that none of the three tools reaches.

    Returns
    -------
    pandas.DataFrame
        One row per curve. Definitions (Hafner et al. 2016 and the GRmetrics vignette; "tools"
        = the R, MATLAB and Python implementations of the GR-metrics authors, which agree):

        ``gr50``
            Concentration where the fitted curve crosses **GR = 0.5**:
            ``GEC50 * (0.5 / (0.5 - GRinf)) ** (1 / h)``, extrapolated beyond the tested range
            when the curve gets there. ``+inf`` when GRinf >= 0.5 (the curve never reaches 0.5);
            for a flat fit ``+inf`` if the mean GR is > 0.5, else ``-inf``.
        ``grmax``
            Observed, not fitted: the smallest GR value among the wells of the two highest
            tested concentrations (the tools' "robust minimum"; the paper's wording is "the
            effect at the highest tested concentration").
        ``grinf``, ``gec50``, ``h_gr``
            Fitted lower asymptote, midpoint (inflection on the log scale) and Hill slope. Flat
            fit: ``grinf`` = mean GR, ``gec50 = 0``, ``h_gr = 0.01``.
        ``gr_aoc``
            Observed, not fitted: area over the curve of the per-concentration *mean* GR values,
            ``1 - GR`` integrated by the trapezoid rule over log10 concentration and divided by
            the log10 tested range (the tools' definition; the paper's text leaves open whether
            the fitted or observed curve is meant).
        ``r2``
            ``1 - SSE_sigmoid / SSE_flat``, of the sigmoid fit also when the flat fit is kept
            (as R GRmetrics; the MATLAB and Python tools report the flat line's r2 = 0 there).
        ``pvalue_flat``
            F-test of the sigmoid against the flat line (mean GR) with the tools' degrees of
            freedom ``(2, n - 2)`` (their ``n - p + 1``; the textbook value is ``n - 3``).
        ``status``, ``reason``
            ``ok`` (sigmoid), ``flat`` (``p >= flat_alpha``), ``constant`` (every GR value
            equal: no F-test), ``failed`` (the optimiser failed) or ``insufficient_data``.
            ``constant`` and ``failed`` curves get the flat line's metrics, as the tools do.
        ``gr_mean``, ``n_points``
            Mean of the GR values (the flat fit's level) and the number of points fitted.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.log(np.logspace(-3, 1, 9))
    >>> g = -0.4 + 1.4 / (1 + np.exp(1.5 * (x - np.log(0.05))))
    >>> out = fit_gr(x, g)
    >>> round(float(out.loc[0, "gec50"]), 4), round(float(out.loc[0, "grinf"]), 3)
    (0.05, -0.4)
    >>> round(float(out.loc[0, "gr50"]), 5)  # 0.05 * (0.5 / 0.9) ** (1 / 1.5)
    0.03379
    """
    y = np.atleast_2d(np.asarray(gr, dtype=float))
    x = np.broadcast_to(np.asarray(log_conc, dtype=float), y.shape)
    if not 0.0 < flat_alpha <= 1.0:
        raise InputError(f"flat_alpha={flat_alpha!r} must be in (0, 1]")
    valid = ~np.isnan(x) & np.isfinite(y)
    fin = valid & np.isfinite(x)
    with np.errstate(invalid="ignore"):
        lo = np.where(fin, x, np.inf).min(axis=1)
        hi = np.where(fin, x, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    margin = _GEC50_DECADES * np.log(10.0)
    # flat_alpha=1: no curve is called flat here; the call uses the tools' F-test below
    fit = fit_curves(
        x, y, model="ll3", flat_alpha=1.0,
        n_starts=n_starts,
        bounds={"hill_slope": (0.1, 5.0), "bottom": (-1.0, 1.0), "ln_ec50": (lo - margin, hi + margin)},
    )  # fmt: skip
    b, c, e = fit.params[:, 0], fit.params[:, 1], fit.params[:, 2]
    n = fit.n_points.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - fit.sse / fit.sse_flat
        fstat = ((fit.sse_flat - fit.sse) / 2.0) / (fit.sse / (n - 2.0))
    fstat = np.where(fit.sse <= 1e-300 * np.maximum(fit.sse_flat, 1e-300), np.inf, fstat)
    pvalue = np.where(
        np.isnan(fstat) | (n < 3),
        np.nan,
        stats.f.sf(np.maximum(fstat, 0.0), 2, np.maximum(n - 2, 1)),
    )
    with np.errstate(invalid="ignore"):
        gr_mean = np.where(valid, y, 0.0).sum(axis=1) / valid.sum(axis=1)
    status = fit.status.astype(object).copy()
    reason = fit.reason.astype(object).copy()
    insufficient = status == "insufficient_data"
    failed = status == "failed"
    flat = (status == "ok") & (pvalue >= flat_alpha) & (not force)
    status[flat] = "flat"
    if flat.any():
        reason[flat] = [
            f"not better than a flat line (F-test p = {p:.3g} >= {flat_alpha:g}); "
            f"flat fit at the mean GR {m:.3g}"
            for p, m in zip(pvalue[flat], gr_mean[flat], strict=True)
        ]
    if failed.any():
        reason[failed] = [
            f"{r}; GR metrics are those of the flat line (the GR-metrics tools' convention)"
            for r in reason[failed]
        ]
    constant = status == "constant"
    as_flat = flat | failed | constant
    no_test = insufficient | failed | constant
    x50 = inverse_loglogistic(0.5, b, c, 1.0, e)
    with np.errstate(over="ignore"):
        gr50 = np.where(c >= 0.5, np.inf, np.exp(x50))  # GRinf >= 0.5: GR never reaches 0.5
    gr50 = np.where(as_flat, np.where(gr_mean > 0.5, np.inf, -np.inf), gr50)
    nan = np.nan
    grmax, aoc = _observed_metrics(x, y, fin)
    return pd.DataFrame(
        {
            "status": status,
            "reason": reason,
            "gr50": np.where(insufficient, nan, gr50),
            "grmax": grmax,
            "grinf": np.where(insufficient, nan, np.where(as_flat, gr_mean, c)),
            "gec50": np.where(insufficient, nan, np.where(as_flat, 0.0, np.exp(e))),
            "h_gr": np.where(insufficient, nan, np.where(as_flat, 0.01, b)),
            "gr_aoc": aoc,
            "r2": np.where(no_test, nan, r2),
            "pvalue_flat": np.where(no_test, nan, pvalue),
            "gr_mean": gr_mean,
            "n_points": fit.n_points,
        }
    )


def _observed_metrics(x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, ...]:
    """GRmax (min over the wells of the two top doses) and GR_AOC (trapezoid of dose means)."""
    n_rows, m = y.shape
    row = np.repeat(np.arange(n_rows), m)[ok.ravel()]
    pts = pd.DataFrame({"row": row, "x": x[ok], "y": y[ok]})
    means = pts.groupby(["row", "x"], sort=True)["y"].mean().reset_index()
    rank_top = means.groupby("row").cumcount(ascending=False)  # 0 = highest dose
    second = means[rank_top <= 1].groupby("row")["x"].min()  # second-highest dose (or the only)
    thr = np.full(n_rows, np.inf)
    thr[second.index.to_numpy()] = second.to_numpy()
    top = pts[pts["x"].to_numpy() >= thr[pts["row"].to_numpy()]]
    grmax = np.full(n_rows, np.nan)
    mins = top.groupby("row")["y"].min()
    grmax[mins.index.to_numpy()] = mins.to_numpy()
    same = means["row"].to_numpy()[1:] == means["row"].to_numpy()[:-1]
    xs, ys = means["x"].to_numpy(), means["y"].to_numpy()
    piece = (1.0 - 0.5 * (ys[1:] + ys[:-1])) * (xs[1:] - xs[:-1])
    area = np.bincount(means["row"].to_numpy()[1:][same], piece[same], minlength=n_rows)
    rng = means.groupby("row")["x"].agg(["min", "max"])
    span = rng["max"] - rng["min"]
    width = np.zeros(n_rows)
    width[span.index.to_numpy()] = span.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        aoc = np.where(width > 0, area / width, np.nan)
    return grmax, aoc


def _trimmed_mean_50(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """50 % trimmed mean per group, the GR-metrics tools' average of control wells.

    ``k = n / 4`` values are dropped at each end, rounded to the nearest integer with halves
    rounded down (n = 3 keeps the median, n = 8 the middle four).
    """
    df = pd.DataFrame({f"k{i}": g.to_numpy() for i, g in enumerate(groups)})
    df["v"] = values.to_numpy(dtype=float)
    df = df[np.isfinite(df["v"])].sort_values("v", kind="stable")
    keys = [c for c in df.columns if c != "v"]
    grp = df.groupby(keys, dropna=False, sort=False)
    rank = grp.cumcount().to_numpy()
    size = grp["v"].transform("size").to_numpy()
    cut = np.ceil(size / 4.0 - 0.5)
    kept = df[(rank >= cut) & (rank < size - cut)]
    return kept.groupby(keys, dropna=False)["v"].mean()


def _matching_keys(ref: pd.DataFrame, treated: pd.DataFrame, candidates: Sequence[str]) -> list:
    """Key columns whose values in ``ref`` occur among the treated rows (GRmetrics' rule)."""
    return [k for k in candidates if len(set(ref[k].dropna()) & set(treated[k].dropna())) > 0]


def _attach(
    treated: pd.DataFrame, ref: pd.DataFrame, keys: list, column: str, what: str
) -> pd.DataFrame:
    if not keys:
        raise InputError(
            f"no key column matches the {what} rows to the treated rows; name them with "
            f"{'ctrl_keys' if column.endswith('ctrl') else 'time0_keys'}=[...]"
        )
    agg = _trimmed_mean_50(ref["cell_count"], [ref[k] for k in keys])
    agg.index.names = keys
    out = treated.merge(agg.rename(column).reset_index(), on=keys, how="left")
    missing = out[column].isna()
    if missing.any():
        first = out.loc[missing, keys].iloc[0].to_dict()
        raise InputError(
            f"{int(missing.sum())} treated row(s) have no {what} well with the same {keys} "
            f"(first: {first}); add those wells or give the matching columns explicitly"
        )
    return out


def gr_table(
    data: pd.DataFrame,
    *,
    cap: bool = False,
    ctrl_keys: Sequence[str] | None = None,
    time0_keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """GR value of every treated well, from either input layout of the GR-metrics tools.

    Parameters
    ----------
    data
        Case A (GRmetrics): one row per treated well with ``concentration``, ``cell_count``,
        ``cell_count__ctrl`` and ``cell_count__time0`` plus key columns (cell line, agent,
        time, replicate, ...). Case C: ``concentration``, ``cell_count`` and ``time`` only;
        rows with ``time == 0`` are time-zero wells, rows with ``concentration == 0`` and
        ``time > 0`` untreated controls. Their counts are averaged with a 50 % trimmed mean
        and matched to the treated wells on ``ctrl_keys`` / ``time0_keys``; by default on the
        key columns whose values in the control (time-zero) rows occur among the treated rows,
        as GRmetrics does (so ``agent = "-"`` or an empty replicate of a control is ignored).
    cap
        Set GR values above 1 to 1 (GRmetrics' ``cap = TRUE``; GR cannot go below -1).

    Returns
    -------
    pandas.DataFrame
        The case-A table (treated wells only) with a ``gr`` column.

    Examples
    --------
    >>> df = pd.DataFrame({"cell_line": "A", "concentration": [0.1, 1.0],
    ...                    "cell_count": [300.0, 100.0], "cell_count__ctrl": 400.0,
    ...                    "cell_count__time0": 100.0})
    >>> gr_table(df)["gr"].round(3).tolist()
    [0.732, 0.0]
    """
    from ..data._screen import numeric_column

    if not isinstance(data, pd.DataFrame):
        raise InputError("gr_table needs a pandas DataFrame (one row per well)")
    need = ["concentration", "cell_count"]
    case_a = {"cell_count__ctrl", "cell_count__time0"} <= set(data.columns)
    if not case_a:
        need.append("time")
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise SchemaError(
            f"GR input lacks column(s) {missing}; give either cell_count__ctrl and "
            "cell_count__time0 per row (case A) or control (concentration 0) and time-zero "
            "(time 0) wells with a time column (case C)"
        )
    df = data.copy()
    for col in [*need, *(GR_COUNT_COLUMNS[2:] if case_a else ())]:
        df[col] = numeric_column(df, col, allow_missing=False)
    if not case_a:
        keys = [c for c in df.columns if c not in ("concentration", "cell_count")]
        is_t0 = df["time"].to_numpy() == 0
        is_ctrl = (df["concentration"].to_numpy() == 0) & ~is_t0
        treated = df[~is_t0 & ~is_ctrl].reset_index(drop=True)
        ctrl, t0 = df[is_ctrl], df[is_t0]
        ck = list(ctrl_keys) if ctrl_keys is not None else _matching_keys(ctrl, treated, keys)
        tk = list(time0_keys) if time0_keys is not None else _matching_keys(t0, treated, keys)
        unknown = sorted((set(ck) | set(tk)) - set(df.columns))
        if unknown:
            raise InputError(f"ctrl_keys / time0_keys name unknown column(s) {unknown}")
        df = _attach(treated, ctrl, ck, "cell_count__ctrl", "control (concentration 0)")
        df = _attach(df, t0, tk, "cell_count__time0", "time-zero (time 0)")
    gr = gr_values(df["cell_count"], df["cell_count__ctrl"], df["cell_count__time0"])
    if cap:
        gr = np.minimum(gr, 1.0)
    return df.assign(gr=gr)


def gr_metrics_table(
    data: pd.DataFrame,
    *,
    keys: Sequence[str] | None = None,
    cap: bool = False,
    flat_alpha: float = 0.05,
    force: bool = False,
    n_starts: int = 4,
    ctrl_keys: Sequence[str] | None = None,
    time0_keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """GR metrics per experiment of a cell-count table, as GRmetrics' ``GRfit`` computes them.

    ``data`` is a case-A or case-C table (see :func:`gr_table`). One curve is fitted per
    combination of ``keys`` (default: every column but the concentration and count columns,
    GRmetrics' default grouping, e.g. cell line x agent x perturbation x replicate x time);
    replicate wells left inside a group are fitted as separate points. The columns are the
    keys followed by those of :func:`fit_gr` (definitions there).

    Examples
    --------
    >>> c = np.logspace(-3, 1, 9)
    >>> g = 0.1 + 0.9 / (1 + (c / 0.05) ** 1.2)
    >>> df = pd.DataFrame({"agent": "a", "concentration": c, "cell_count__ctrl": 800.0,
    ...                    "cell_count__time0": 100.0, "cell_count": 100.0 * 8 ** (np.log2(1 + g))})
    >>> out = gr_metrics_table(df)
    >>> out[["agent", "status"]].values.tolist(), round(float(out.loc[0, "grinf"]), 4)
    ([['a', 'ok']], 0.1)
    """
    df = gr_table(data, cap=cap, ctrl_keys=ctrl_keys, time0_keys=time0_keys)
    if keys is None:
        keys = [c for c in df.columns if c not in (*GR_COUNT_COLUMNS, "gr")]
    keys = list(keys)
    unknown = [k for k in keys if k not in df.columns]
    if unknown:
        raise InputError(f"keys name unknown column(s) {unknown}; columns: {list(df.columns)}")
    with np.errstate(divide="ignore"):
        df = df.assign(_x=np.log(df["concentration"].to_numpy(dtype=float)))
    df = df.sort_values([*keys, "_x"], kind="stable") if keys else df.sort_values("_x")
    if keys:
        grp = df.groupby(keys, sort=True, dropna=False)
        gid, pos = grp.ngroup().to_numpy(), grp.cumcount().to_numpy()
        meta = grp.size().reset_index()[keys]
    else:
        gid, pos = np.zeros(len(df), dtype=int), np.arange(len(df))
        meta = pd.DataFrame(index=range(1))
    x = np.full((len(meta), int(pos.max()) + 1 if len(df) else 1), np.nan)
    y = x.copy()
    x[gid, pos] = df["_x"].to_numpy()
    y[gid, pos] = df["gr"].to_numpy()
    out = fit_gr(x, y, flat_alpha=flat_alpha, force=force, n_starts=n_starts)
    return pd.concat([meta.reset_index(drop=True), out], axis=1)
