"""Drug effects from fitted dose-response curves (the curve engine's fits table)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._model import Clone, DrugEffect

__all__ = ["clone_from_fit", "drug_effects_from_fits"]


def _get(row: Mapping[str, Any] | pd.Series, key: str, default: Any = None) -> Any:
    v = row.get(key, default) if hasattr(row, "get") else default
    return default if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _effect_from_row(
    row: Mapping[str, Any] | pd.Series, *, assay_days: float, where: str
) -> DrugEffect:
    status = _get(row, "status", "ok")
    if status not in ("ok", "success", "converged"):
        raise InputError(
            f"{where}: the fit has status {status!r} ({_get(row, 'reason', '')}); use a converged fit"
        )
    # the Hill curve's half-maximal concentration is the relative IC50 (EC50) of a fit_screen
    # table; a plain ``ic50`` column (a user's own table) is read as that
    ic50 = _get(row, "ic50_rel", _get(row, "ic50"))
    slope = _get(row, "hill_slope", 1.0)
    if ic50 is None or not float(ic50) > 0 or not np.isfinite(float(ic50)):
        raise InputError(
            f"{where}: ic50 must be a positive finite number (micromolar), got {ic50!r}"
        )
    top = float(_get(row, "top", 1.0))
    einf = _get(row, "einf", _get(row, "bottom", 0.0))
    frac = min(max(float(einf) / top if top > 0 else float(einf), 1e-3), 1.0)
    if not assay_days > 0:
        raise InputError("assay_days must be > 0")
    # Viability v after an assay of T days under a constant extra death rate k is exp(-k T), so
    # the residual viability at infinite dose gives the maximal kill rate k_max = -ln(einf)/T.
    return DrugEffect(
        emax=-math.log(frac) / assay_days, ic50=float(ic50), hill_slope=abs(float(slope))
    )


def clone_from_fit(
    row: Mapping[str, Any] | pd.Series,
    *,
    name: str,
    drug: str,
    birth_rate: float,
    death_rate: float = 0.0,
    initial: float = 0.0,
    assay_days: float = 3.0,
    resistant: bool = False,
    carrying_capacity: float = math.inf,
) -> Clone:
    """A :class:`Clone` whose response to ``drug`` is a fitted dose-response curve.

    The fit row has columns ``ic50_rel`` (micromolar; the relative IC50 / EC50 of
    ``fit_screen``, or ``ic50`` in a table of your own), ``hill_slope``, ``top`` and ``einf``
    (or ``bottom``). The Hill curve keeps that IC50 and the slope;
    its maximum (extra deaths per day) is ``-ln(einf / top) / assay_days``.

    Examples
    --------
    >>> row = {"ic50": 0.1, "hill_slope": 1.2, "top": 1.0, "einf": 0.05}
    >>> c = clone_from_fit(row, name="parental", drug="erl", birth_rate=0.3, initial=1e6)
    >>> round(c.effect_of("erl").emax, 3)
    0.999
    """
    eff = _effect_from_row(row, assay_days=assay_days, where=f"fit for clone {name!r}")
    return Clone(
        name,
        birth_rate,
        death_rate,
        initial=initial,
        effects=((drug, eff),),
        resistant=resistant,
        carrying_capacity=carrying_capacity,
    )


def drug_effects_from_fits(
    fits: pd.DataFrame, *, drug: str | None = None, assay_days: float = 3.0
) -> dict[str, DrugEffect]:
    """One :class:`DrugEffect` per ``sample`` of a fits table (rows of ``drug`` when given).

    Examples
    --------
    >>> fits = pd.DataFrame({"sample": ["par", "res"], "drug": "d", "ic50": [0.1, 5.0],
    ...                      "hill_slope": [1.0, 1.0], "einf": [0.1, 0.3]})
    >>> sorted(drug_effects_from_fits(fits))
    ['par', 'res']
    """
    missing = [c for c in ("sample",) if c not in fits.columns]
    if "ic50_rel" not in fits.columns and "ic50" not in fits.columns:
        missing.append("ic50_rel (or ic50)")
    if missing:
        raise InputError(
            f"fits table lacks column(s) {missing}; need sample, drug, ic50_rel (or ic50), hill_slope, einf"
        )
    sub = fits if drug is None else fits[fits["drug"] == drug]
    if sub.empty:
        raise InputError(f"fits table has no rows for drug {drug!r}")
    out: dict[str, DrugEffect] = {}
    for i, (_, row) in enumerate(sub.iterrows()):
        out[str(row["sample"])] = _effect_from_row(
            row, assay_days=assay_days, where=f"fits row {i} ({row['sample']})"
        )
    return out
