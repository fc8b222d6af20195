"""Plate normalisation against controls: viability and GR values (Hafner et al. 2016)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..data._screen import Screen
from ..errors import InputError

__all__ = ["normalisation_table", "normalise"]

Estimator = Literal["mean", "median", "trimmed"]
Background = Literal["auto", "blank", "positive", "zero"]
OnMissing = Literal["raise", "flag"]

_NO_PLATE = "(all)"


def _plate_key(df: pd.DataFrame) -> pd.Series:
    if "plate" in df.columns:
        return df["plate"].astype(str)
    return pd.Series(_NO_PLATE, index=df.index)


def _centre(values: pd.Series, groups: pd.Series, estimator: str, trim: float) -> pd.Series:
    """Per-group location of finite values (mean, median or trimmed mean)."""
    ok = np.isfinite(values.to_numpy(dtype=float))
    v, g = values[ok], groups[ok]
    if estimator == "mean":
        return v.groupby(g).mean()
    if estimator == "median":
        return v.groupby(g).median()
    if estimator == "trimmed":
        from scipy import stats

        return v.groupby(g).agg(lambda x: float(stats.trim_mean(x, trim)))
    raise InputError(f"estimator={estimator!r}: use 'mean', 'median' or 'trimmed'")


def normalisation_table(
    screen: Screen,
    *,
    reference: Literal["negative", "untreated"] = "negative",
    background: Background = "auto",
    estimator: Estimator = "mean",
    trim: float = 0.1,
) -> pd.DataFrame:
    """Per-plate control summary used by :func:`normalise` (one row per plate).

    Parameters
    ----------
    screen
        A Screen with a raw ``signal`` column.
    reference
        Role of the 100 % wells: ``"negative"`` (vehicle, default) or ``"untreated"``.
    background
        0 % wells: ``"auto"`` uses ``blank`` wells when the plate has them, else ``positive``
        wells; ``"blank"`` / ``"positive"`` force one; ``"zero"`` subtracts nothing.
    estimator
        ``"mean"``, ``"median"`` or ``"trimmed"`` (``scipy.stats.trim_mean`` cutting ``trim``
        at each end) for the control location.

    Returns
    -------
    pandas.DataFrame
        ``plate, n_reference, n_background, reference_level, background_level,
        background_used`` (``blank``/``positive``/``zero``/``none``), ``estimator``,
        ``status`` (``ok``, ``no_reference_control``, ``no_background_control``,
        ``no_dynamic_range``) and ``reason``.

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    >>> normalisation_table(screen)["background_used"].unique().tolist()
    ['blank']
    """
    if "signal" not in screen.data.columns:
        raise InputError(
            f"{screen.source or 'screen'}: no 'signal' column to normalise; the screen holds "
            "'viability' only (already normalised). Fit it directly."
        )
    if reference not in ("negative", "untreated"):
        raise InputError(f"reference={reference!r}: use 'negative' or 'untreated'")
    if background not in ("auto", "blank", "positive", "zero"):
        raise InputError(f"background={background!r}: use 'auto', 'blank', 'positive' or 'zero'")
    df = screen.data
    plate = _plate_key(df)
    sig = df["signal"]
    role = df["role"]
    plates = pd.Index(sorted(plate.unique()), name="plate")
    finite = np.isfinite(sig.to_numpy(dtype=float))

    def count(r: str) -> pd.Series:
        m = (role == r).to_numpy() & finite
        return pd.Series(plate[m]).value_counts().reindex(plates, fill_value=0)

    def level(r: str) -> pd.Series:
        m = (role == r).to_numpy()
        return _centre(sig[m], plate[m], estimator, trim).reindex(plates)

    out = pd.DataFrame(index=plates)
    out["n_reference"] = count(reference)
    out["reference_level"] = level(reference)
    n_blank, n_pos = count("blank"), count("positive")
    if background == "auto":
        used = np.where(n_blank > 0, "blank", np.where(n_pos > 0, "positive", "none"))
    elif background == "zero":
        used = np.full(len(plates), "zero")
    else:
        n_bg = n_blank if background == "blank" else n_pos
        used = np.where(n_bg > 0, background, "none")
    out["background_used"] = used
    out["n_background"] = np.select(
        [used == "blank", used == "positive"], [n_blank.to_numpy(), n_pos.to_numpy()], 0
    )
    out["background_level"] = np.select(
        [used == "blank", used == "positive", used == "zero"],
        [level("blank").to_numpy(), level("positive").to_numpy(), 0.0],
        np.nan,
    )
    out["estimator"] = estimator
    no_ref = out["n_reference"].to_numpy() == 0
    no_bg = used == "none"
    flat = ~(out["reference_level"] - out["background_level"] > 0).to_numpy()
    out["status"] = np.select(
        [no_ref, no_bg, flat],
        ["no_reference_control", "no_background_control", "no_dynamic_range"],
        "ok",
    )
    reasons = {
        "no_reference_control": f"no {reference} control well with a finite signal",
        "no_background_control": f"no {'blank or positive' if background == 'auto' else background} "
        "control well with a finite signal",
        "no_dynamic_range": f"{reference} control level is not above the background level",
        "ok": "",
    }
    out["reason"] = out["status"].map(reasons)
    return out.reset_index()


def normalise(
    screen: Screen,
    *,
    method: Literal["controls"] = "controls",
    reference: Literal["negative", "untreated"] = "negative",
    background: Background = "auto",
    estimator: Estimator = "mean",
    trim: float = 0.1,
    on_missing: OnMissing = "raise",
) -> Screen:
    """Normalise raw signals per plate to viability, and to GR values when time-zero wells exist.

    ``viability = (signal - background) / (reference - background)`` per plate, where
    ``reference`` is the location of the vehicle (``negative``) wells and ``background`` that
    of ``blank`` wells (or ``positive`` wells when a plate has no blanks; see
    :func:`normalisation_table`, which reports per plate which control was used).

    When the screen holds ``time_zero`` wells, a ``gr`` column is added (Hafner et al.,
    Nat. Methods 2016): ``GR = 2 ** (log2(x / x0) / log2(x_ctrl / x0)) - 1`` with
    background-subtracted signals ``x`` (well), ``x_ctrl`` (plate reference) and ``x0`` (the
    sample's time-zero wells on the same plate, else on any plate). Wells whose ``x <= 0`` get
    ``GR = -1`` (no cells left); samples without growth (``x_ctrl <= x0``) get NaN.

    Parameters
    ----------
    screen
        Screen with a raw ``signal`` column (it is kept unchanged).
    method
        ``"controls"`` (the only method so far).
    reference, background, estimator, trim
        See :func:`normalisation_table`.
    on_missing
        Plates that cannot be normalised (no reference control, no background control, no
        dynamic range): ``"raise"`` an :class:`~oncoresist.errors.InputError` naming them, or
        ``"flag"``: their wells get NaN viability and the reason in ``norm_status``.

    Returns
    -------
    Screen
        A new Screen with ``viability``, ``norm_status`` and (with time-zero wells) ``gr``.

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, truth = make_screen(n_samples=1, drugs=2, rng=0)
    >>> normalise(screen).is_normalised
    True
    """
    if method != "controls":
        raise InputError(f"method={method!r}: only 'controls' is available")
    if on_missing not in ("raise", "flag"):
        raise InputError(f"on_missing={on_missing!r}: use 'raise' or 'flag'")
    table = normalisation_table(
        screen, reference=reference, background=background, estimator=estimator, trim=trim
    )
    bad = table[table["status"] != "ok"]
    where = f"{screen.source}: " if screen.source else ""
    if len(bad) and on_missing == "raise":
        listing = "; ".join(
            f"{p}: {r}" for p, r in zip(bad["plate"][:10], bad["reason"][:10], strict=True)
        )
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise InputError(
            f"{where}{len(bad)} plate(s) cannot be normalised: {listing}{more}. Fix: add "
            f"{reference} and blank/positive control wells to these plates (role column), choose "
            "background='zero', drop the plates (screen.subset(plates=...)), or pass "
            "on_missing='flag' to keep them with NaN viability."
        )
    df = screen.data
    plate = _plate_key(df)
    t = table.set_index("plate")
    ref = plate.map(t["reference_level"]).to_numpy(dtype=float)
    bgl = plate.map(t["background_level"]).to_numpy(dtype=float)
    status = plate.map(t["status"]).to_numpy(dtype=object)
    sig = df["signal"].to_numpy(dtype=float)
    ok = status == "ok"
    with np.errstate(divide="ignore", invalid="ignore"):
        viab = np.where(ok, (sig - bgl) / (ref - bgl), np.nan)
    status = np.where(ok & ~np.isfinite(sig), "no_signal", status)
    cols: dict[str, np.ndarray] = {"viability": viab, "norm_status": status.astype(str)}
    if (df["role"] == "time_zero").any():
        cols["gr"] = _gr(df, plate, sig - bgl, ref - bgl, ok)
    return screen.with_columns(cols)


def _gr(
    df: pd.DataFrame, plate: pd.Series, net: np.ndarray, net_ctrl: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """GR values from background-subtracted signals; x0 per (plate, sample), else per sample."""
    is_t0 = (df["role"] == "time_zero").to_numpy() & ok & np.isfinite(net)
    sample = df["sample"].astype(str)
    key_ps = plate + "\x1f" + sample
    t0_ps = pd.Series(net[is_t0]).groupby(key_ps[is_t0].to_numpy()).mean()
    t0_s = pd.Series(net[is_t0]).groupby(sample[is_t0].to_numpy()).mean()
    x0 = key_ps.map(t0_ps).to_numpy(dtype=float)
    x0 = np.where(np.isnan(x0), sample.map(t0_s).to_numpy(dtype=float), x0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = np.log2(net_ctrl / x0)
        gr = 2.0 ** (np.log2(net / x0) / growth) - 1.0
    gr = np.where(net <= 0, -1.0, gr)
    valid = ok & (x0 > 0) & (growth > 0) & np.isfinite(net)
    return np.where(valid, gr, np.nan)
