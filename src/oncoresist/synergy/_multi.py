"""Higher-order combinations: HSA, Bliss, Loewe and ZIP for blocks of ``N >= 2`` drugs.

The models are the higher-order extensions of SynergyFinder Plus (Zheng et al. 2022, Genomics
Proteomics Bioinformatics 20:587), in fractional inhibition, scores in percentage points:

* **HSA**: ``y_HSA = max_i y_i(x_i)``, the best measured single agent at its dose.
* **Bliss** (Bliss 1939): ``y_Bliss = 1 - prod_i (1 - y_i(x_i))`` on the measured single agents.
* **Loewe** (Loewe 1953): ``y_Loewe`` solves ``sum_i x_i / X_i(y) = 1``, ``X_i`` the inverse of
  drug ``i``'s single-agent Hill fit; solved for every well at once by bisection. Beyond a
  drug's maximal effect ``X_i(y) = inf`` and its term is 0 (it contributes no dose
  equivalent), as the package's two-drug :func:`~oncoresist.synergy.loewe_expected`; such wells
  are counted (``n_above_emax``).
* **ZIP** (Yadav et al. 2015; higher-order form of SynergyFinder Plus):
  ``delta = (1/n) sum_i f_i'(x_i) - (1 - prod_i (1 - f_i(x_i)))``: ``f_i`` is drug ``i``'s
  single-agent Hill fit and ``f_i'`` a Hill curve of drug ``i`` fitted along the wells where
  the other drugs are held at fixed doses, its effect at ``x_i = 0`` fixed at the *fitted*
  response of the same well without drug ``i``. The fits therefore run by order: pairs first
  (bottoms from the single-agent fits, the two-drug ZIP), then triples (bottoms from the
  fitted pair surfaces), and so on.

Only the drugs present in a well (dose > 0) enter its reference: a well of a 3-drug block
where drug 3 is 0 is scored exactly as the 2-drug combination of drugs 1 and 2, so every face
of the cube is the two-drug analysis. (SynergyFinder Plus instead takes an absent drug's
"monotherapy response at dose 0", the zero-dose well, into HSA and Bliss: ``absent_drugs=
"zero_dose"``; on normalised data the zero-dose well is ~0 and the two nearly agree.) A block's ``score`` is the mean over every well
with at least two drugs (the non-single-agent wells, as SynergyFinder summarises);
``score_all_present`` the mean over the wells where all ``N`` drugs are present.

Everything is batched over blocks with numpy; the Python loops run over drugs and drug
subsets (at most a few dozen), never over wells.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..data._multicombination import MultiCombinationScreen
from ..errors import InputError
from ._batch import nanmean_last
from ._hill import HillFit, fit_hill, fit_problems, hill_inverse_log, hill_predict
from ._zip import _line_fits

__all__ = [
    "MULTI_MODELS",
    "MultiSynergyResult",
    "plot_multi_slices",
    "score_multi_blocks",
    "score_multi_combinations",
]

#: Models of the higher-order path, in SynergyFinder Plus's order.
MULTI_MODELS = ("hsa", "bliss", "loewe", "zip")
_UNITS = "percentage points of inhibition"
_FITTED = {"loewe", "zip"}


def _along(a: np.ndarray, k: int, n_drugs: int) -> np.ndarray:
    """``(n, n_k)`` -> ``(n, 1, .., n_k, .., 1)``, broadcastable over the block grid."""
    shape = [a.shape[0]] + [1] * n_drugs
    shape[1 + k] = a.shape[1]
    return a.reshape(shape)


def _single(y: np.ndarray, k: int) -> np.ndarray:
    """Drug ``k`` alone: ``y[:, 0, .., :, .., 0]`` -> ``(n, n_k, ...)``."""
    n_drugs = len(_conc_axes(y))
    idx = (slice(None), *(slice(None) if j == k else 0 for j in range(n_drugs)))
    return y[idx]


def _conc_axes(y: np.ndarray) -> range:
    return range(y.ndim - 1)


def _single_fits(concs: Sequence[np.ndarray], response: np.ndarray) -> list[HillFit]:
    """Hill fits of each drug alone (the other drugs at 0, zero-dose well included), one call."""
    n, r = response.shape[0], response.shape[-1]
    dosed = [k for k, c in enumerate(concs) if c.shape[1] > 1]
    xs, ys = [], []
    for k in dosed:
        with np.errstate(divide="ignore"):
            lc = np.log(concs[k])
        xs.append(np.repeat(lc, r, axis=1))
        ys.append(_single(response, k).reshape(n, -1))
    p = max(x.shape[1] for x in xs)
    xx = np.full((len(dosed) * n, p), -np.inf)
    yy = np.full((len(dosed) * n, p), np.nan)
    for j in range(len(dosed)):
        xx[j * n : (j + 1) * n, : xs[j].shape[1]] = xs[j]
        yy[j * n : (j + 1) * n, : ys[j].shape[1]] = ys[j]
    fit = fit_hill(xx, yy)
    out = []
    for k in range(len(concs)):
        if k not in dosed:  # never dosed: no curve (never used: every well has it at 0)
            nan = np.full(n, np.nan)
            out.append(HillFit(np.full((n, 4), np.nan), nan, np.zeros(n, bool), np.zeros(n, int)))
            continue
        s = slice(dosed.index(k) * n, (dosed.index(k) + 1) * n)
        out.append(fit.take(s))
    return out


def _loewe(
    concs: Sequence[np.ndarray],
    fits: Sequence[HillFit],
    present: Sequence[np.ndarray],
    shape: tuple[int, ...],
    n_iter: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    n_drugs = len(concs)
    with np.errstate(divide="ignore"):
        logs = [_along(np.log(c), k, n_drugs) for k, c in enumerate(concs)]
    used = [k for k in range(n_drugs) if concs[k].shape[1] > 1]
    bottoms = np.stack([fits[k].params[:, 0] for k in used])
    tops = np.stack([np.maximum(fits[k].params[:, 1], fits[k].params[:, 0]) for k in used])
    lo = np.broadcast_to(bottoms.min(axis=0).reshape((-1,) + (1,) * n_drugs), shape).copy()
    hi = np.broadcast_to(tops.max(axis=0).reshape((-1,) + (1,) * n_drugs), shape).copy()

    def g(yv: np.ndarray) -> np.ndarray:
        tot = np.zeros(shape)
        for k in used:
            params = fits[k].params
            log_x = hill_inverse_log(yv, params)
            active = (params[:, 1] > params[:, 0]).reshape((-1,) + (1,) * n_drugs)
            with np.errstate(invalid="ignore", over="ignore"):
                t = np.where(np.isposinf(log_x), 0.0, np.exp(np.clip(logs[k] - log_x, -700, 700)))
            t = np.where(np.isneginf(log_x), np.inf, t)  # effect reached at dose 0
            tot += np.where(present[k] & active, t, 0.0)
        return tot - 1.0

    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    y = 0.5 * (lo + hi)
    above = np.zeros(shape, dtype=bool)
    for k in used:
        above |= present[k] & (y > fits[k].params[:, 1].reshape((-1,) + (1,) * n_drugs))
    return y, above


def _zip_fitted(
    concs: Sequence[np.ndarray],
    y: np.ndarray,
    singles: Sequence[np.ndarray],
    engine: str = "auto",
) -> np.ndarray:
    """SynergyFinder Plus's fitted surface ``(1/n) sum_i f_i'(x_i)`` on every multi-drug well.

    ``singles[k]`` (n, n_k): drug ``k``'s single-agent fit at its doses. Wells with one drug
    get its single-agent fit; the zero-dose well stays NaN.
    """
    n_drugs = len(concs)
    n = y.shape[0]
    fitted = np.full(y.shape, np.nan)
    for k in range(n_drugs):
        idx = (slice(None), *(slice(1, None) if j == k else 0 for j in range(n_drugs)))
        fitted[idx] = singles[k][:, 1:]
    dosed = [k for k in range(n_drugs) if concs[k].shape[1] > 1]
    for order in range(2, len(dosed) + 1):
        for subset in itertools.combinations(dosed, order):
            sub = (slice(None), *(slice(1, None) if j in subset else 0 for j in range(n_drugs)))
            obs = y[sub]  # (n, m_s1, .., m_sk): the wells where exactly ``subset`` is present
            acc = np.zeros(obs.shape)
            for pos, i in enumerate(subset):
                base_idx = (
                    slice(None),
                    *(slice(1, None) if (j in subset and j != i) else 0 for j in range(n_drugs)),
                )
                base = fitted[base_idx]  # same wells without drug i: the fixed bottoms
                lines = np.moveaxis(obs, 1 + pos, -1)
                m = lines.shape[-1]
                with np.errstate(divide="ignore"):
                    lc = np.log(concs[i][:, 1:])
                # the two-drug ZIP's line fits (same engine, bounds and starts), so every
                # face of the cube is exactly the two-drug ZIP
                pred = _line_fits([(base.reshape(n, -1), lc, lines.reshape(n, -1, m))], engine)
                pred = pred[0].reshape(lines.shape)
                acc += np.moveaxis(pred, -1, 1 + pos)
            fitted[sub] = acc / order
    return fitted


def _mean_over(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    flat = np.where(mask, values, np.nan).reshape(values.shape[0], -1)
    return nanmean_last(flat)


def score_multi_blocks(
    concs: Sequence[np.ndarray],
    response: np.ndarray,
    *,
    models: Sequence[str] = MULTI_MODELS,
    absent_drugs: Literal["exclude", "zero_dose"] = "exclude",
) -> dict[str, dict[str, np.ndarray]]:
    """Array API: score same-shape blocks of ``N`` drugs under ``models``.

    Parameters
    ----------
    concs
        ``N`` arrays ``(n, n_k)`` of doses (micromolar), ascending, first column 0.
    response
        ``(n, n_1, .., n_N)`` or ``(n, n_1, .., n_N, r)`` fractional inhibition (NaN = absent
        replicate).
    models
        Among ``hsa``, ``bliss``, ``loewe``, ``zip``.
    absent_drugs
        ``"exclude"`` (default): a drug at dose 0 takes no part in a well's HSA, Bliss and ZIP
        reference, so a face of the cube is the two-drug analysis. ``"zero_dose"``:
        SynergyFinder Plus's convention, every drug enters with its single-agent response at
        its dose, the zero-dose well (HSA, Bliss) or the fitted bottom (ZIP) for an absent one.

    Returns
    -------
    dict
        Per model: ``excess`` and ``expected`` (n, n_1, .., n_N; excess 0 on single-agent
        wells), ``score`` (mean over wells with >= 2 drugs), ``score_all_present``,
        ``status``, ``reason`` (and ``n_above_emax`` for Loewe); under ``"_fits"`` the
        single-agent Hill parameters ``(N, n, 4)`` and their ``problems``.

    Examples
    --------
    >>> c = [np.array([[0.0, 1.0]])] * 3
    >>> e = np.array([0.0, 0.5])
    >>> a, b, d = np.meshgrid(e, e, e, indexing="ij")
    >>> y = (1 - (1 - a) * (1 - b) * (1 - d))[None]
    >>> float(np.round(score_multi_blocks(c, y, models=["bliss"])["bliss"]["score"][0], 9))
    0.0
    """
    names = [m.strip().lower() for m in models]
    unknown = [m for m in names if m not in MULTI_MODELS]
    if unknown or not names:
        raise InputError(
            f"unknown higher-order model(s) {unknown}; choose from {', '.join(MULTI_MODELS)}"
        )
    cs = [np.asarray(c, dtype=float) for c in concs]
    n_drugs = len(cs)
    resp = np.asarray(response, dtype=float)
    if resp.ndim == n_drugs + 1:
        resp = resp[..., None]
    grid = tuple(c.shape[1] for c in cs)
    if n_drugs < 2 or resp.ndim != n_drugs + 2 or resp.shape[1:-1] != grid:
        raise InputError(
            f"response shape {resp.shape} does not match {n_drugs} dose arrays of sizes {grid}"
        )
    if any(c.shape[0] != resp.shape[0] or (c[:, 0] != 0).any() for c in cs):
        raise InputError("every dose array needs one row per block and dose 0 first")
    y = nanmean_last(resp)
    n = y.shape[0]
    shape = y.shape
    present = [np.broadcast_to(_along(c > 0, k, n_drugs), shape) for k, c in enumerate(cs)]
    count = np.sum(present, axis=0)
    comb = count >= 2
    full = count == n_drugs
    observed = [_single(y, k) for k in range(n_drugs)]  # (n, n_k) measured single agents
    if absent_drugs not in ("exclude", "zero_dose"):
        raise InputError(f"absent_drugs must be 'exclude' or 'zero_dose', got {absent_drugs!r}")
    zero_dose = absent_drugs == "zero_dose"
    # what an absent drug (dose 0) brings to HSA and Bliss: nothing, or its "monotherapy
    # response at dose 0" (the zero-dose well), SynergyFinder Plus's convention
    y0 = [_along(o[:, :1], k, n_drugs) for k, o in enumerate(observed)]
    absent = [np.broadcast_to(v if zero_dose else -np.inf, shape) for v in y0]
    absent_bliss = [np.broadcast_to(v if zero_dose else 0.0, shape) for v in y0]
    out: dict[str, dict[str, np.ndarray]] = {}
    fits: list[HillFit] | None = None
    problems = np.full(n, "", dtype=object)
    if _FITTED & set(names):
        fits = _single_fits(cs, resp)
        per_drug = []
        for k, f in enumerate(fits):
            if cs[k].shape[1] < 2:
                per_drug.append(np.full(n, "", dtype=object))
                continue
            with np.errstate(divide="ignore"):
                per_drug.append(fit_problems(f, np.log(cs[k])))
        problems = np.array(
            [
                "; ".join(f"drug {k + 1} alone: {p[i]}" for k, p in enumerate(per_drug) if p[i])
                for i in range(n)
            ],
            dtype=object,
        )
    for name in names:
        extra: dict[str, np.ndarray] = {}
        if name == "hsa":
            best = np.full(shape, -np.inf)
            for k in range(n_drugs):
                best = np.maximum(
                    best, np.where(present[k], _along(observed[k], k, n_drugs), absent[k])
                )
            expected = np.where(count >= 1, best, y)
        elif name == "bliss":
            surv = np.ones(shape)
            for k in range(n_drugs):
                single = _along(observed[k], k, n_drugs)
                surv = surv * np.where(present[k], 1.0 - single, 1.0 - absent_bliss[k])
            expected = np.where(count >= 1, 1.0 - surv, y)
        elif name == "loewe":
            assert fits is not None
            expected, above = _loewe(cs, fits, present, shape)
            extra["n_above_emax"] = (above & comb).reshape(n, -1).sum(axis=1).astype(float)
        else:
            assert fits is not None
            with np.errstate(divide="ignore"):
                singles = [hill_predict(np.log(c), f.params) for c, f in zip(cs, fits, strict=True)]
            surv = np.ones(shape)
            for k in range(n_drugs):
                at_zero = singles[k][:, :1] if zero_dose else np.zeros((n, 1))
                at_zero = _along(np.nan_to_num(at_zero), k, n_drugs)
                surv = surv * np.where(
                    present[k], 1.0 - _along(singles[k], k, n_drugs), 1.0 - at_zero
                )
            expected = 1.0 - surv
            fitted = _zip_fitted(cs, y, singles)
            extra["_fitted"] = fitted
        observed_or_fit = extra.pop("_fitted") if name == "zip" else y
        excess = np.where(comb, (observed_or_fit - expected) * 100.0, 0.0)
        status = np.full(n, "ok", dtype=object)
        reason = np.full(n, "", dtype=object)
        bad = ~np.isfinite(np.where(comb, excess, 0.0)).all(axis=tuple(range(1, n_drugs + 1)))
        status[bad] = "failed"
        reason[bad] = f"non-finite {name} values on the combination wells"
        if name in _FITTED:
            hit = (problems != "") & (status == "ok")
            status[hit] = "unreliable"
            reason[hit] = problems[hit]
        out[name] = {
            "excess": excess,
            "expected": expected,
            "score": _mean_over(excess, comb),
            "score_all_present": _mean_over(excess, full),
            "status": status,
            "reason": reason,
            **extra,
        }
    if fits is not None:
        out["_fits"] = {"params": np.stack([f.params for f in fits]), "problems": problems}
        out["_fits"]["converged"] = np.stack([f.converged for f in fits])
    return out


@dataclass(frozen=True)
class MultiSynergyResult(ResultMixin):
    """Scores of higher-order combination blocks (:func:`score_multi_combinations`).

    Attributes
    ----------
    scores
        One row per (block, model): ``score`` (mean synergy over the wells with >= 2 drugs),
        ``score_all_present`` (mean over the wells with all drugs), ``n_wells``,
        ``status``, ``reason``, ``units``, ``n_above_emax`` (Loewe).
    wells
        One row per (block, model, well): doses, ``n_present`` (drugs with dose > 0),
        ``response`` (replicate mean), ``expected``, ``excess``.
    single_agents
        Hill fit of each drug alone per block (``bottom, top, ec50, hill_slope``).
    """

    scores: pd.DataFrame
    wells: pd.DataFrame
    single_agents: pd.DataFrame
    models: tuple[str, ...]
    n_drugs: int
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The per (block, model) score table (a copy), the main tidy result."""
        return self.scores.copy()

    def score_table(self, value: str = "score") -> pd.DataFrame:
        """Blocks x models table of ``value`` (``"score"`` or ``"score_all_present"``)."""
        return self.scores.pivot(index="block_id", columns="model", values=value)[list(self.models)]

    def summary(self) -> str:
        """One line: blocks, drugs per block, models and scores not ok."""
        bad = int((self.scores["status"] != "ok").sum()) if "status" in self.scores else 0
        return (
            f"MultiSynergyResult: {self.scores['block_id'].nunique()} blocks of "
            f"{self.n_drugs} drugs scored with {', '.join(self.models)} ({_UNITS}); "
            f"{bad} scores not ok"
        )

    def __repr__(self) -> str:
        return (
            f"MultiSynergyResult({self.scores['block_id'].nunique()} blocks, "
            f"{self.n_drugs} drugs, models={list(self.models)})"
        )


def score_multi_combinations(
    screen: MultiCombinationScreen,
    *,
    models: Sequence[str] = MULTI_MODELS,
    absent_drugs: Literal["exclude", "zero_dose"] = "exclude",
) -> MultiSynergyResult:
    """Score every block of a higher-order screen under HSA, Bliss, Loewe and ZIP.

    Parameters
    ----------
    screen
        Blocks of ``N >= 2`` drugs (:func:`~oncoresist.data.read_multi_combination_table`).
    models
        Among ``hsa``, ``bliss``, ``loewe``, ``zip`` (see the module documentation).
    absent_drugs
        ``"exclude"`` or ``"zero_dose"`` (SynergyFinder Plus's convention); see
        :func:`score_multi_blocks`.

    Examples
    --------
    >>> import itertools
    >>> from oncoresist.data import MultiCombinationScreen
    >>> g = np.array(list(itertools.product((0, 1, 2), repeat=3)), dtype=float)
    >>> e = g / (1 + g)
    >>> y = 1 - np.prod(1 - e, axis=1)
    >>> df = pd.DataFrame({"block_id": 1, "drug1": "a", "drug2": "b", "drug3": "c",
    ...                    "conc1": g[:, 0], "conc2": g[:, 1], "conc3": g[:, 2], "response": y})
    >>> screen = MultiCombinationScreen.from_frame(df, conc_unit="uM")
    >>> res = score_multi_combinations(screen, models=["bliss"])
    >>> round(float(res.score_table().loc["1", "bliss"]), 9)
    0.0
    """
    if not isinstance(screen, MultiCombinationScreen):
        raise InputError(
            f"needs a MultiCombinationScreen, got {type(screen).__name__}; read the table with "
            "oncoresist.data.read_multi_combination_table"
        )
    names = tuple(m.strip().lower() for m in models)
    nd = screen.n_drugs
    meta = screen.blocks.set_index("block_id")
    score_parts, well_parts, fit_parts = [], [], []
    for ids, concs, resp in screen.to_arrays():
        out = score_multi_blocks(concs, resp, models=names, absent_drugs=absent_drugs)
        n = len(ids)
        grid = tuple(c.shape[1] for c in concs)
        mesh = np.meshgrid(*[np.arange(s) for s in grid], indexing="ij")
        n_present = np.sum([concs[k][:, mesh[k].ravel()] > 0 for k in range(nd)], axis=0)
        mean = nanmean_last(resp).reshape(n, -1)
        for m in names:
            d = out[m]
            comb = (n_present >= 2).sum(axis=1)
            row = {
                "block_id": ids,
                "model": m,
                "score": d["score"],
                "score_all_present": d["score_all_present"],
                "n_wells": comb,
                "status": d["status"],
                "reason": d["reason"],
                "units": _UNITS,
                "n_above_emax": d.get("n_above_emax", np.full(n, np.nan)),
            }
            score_parts.append(pd.DataFrame(row))
            wells = {"block_id": np.repeat(ids, mesh[0].size), "model": m}
            for k in range(nd):
                wells[f"conc{k + 1}"] = concs[k][:, mesh[k].ravel()].ravel()
            wells["n_present"] = n_present.ravel()
            wells["response"] = mean.ravel()
            wells["expected"] = d["expected"].reshape(-1)
            wells["excess"] = d["excess"].reshape(-1)
            well_parts.append(pd.DataFrame(wells))
        if "_fits" in out:
            params = out["_fits"]["params"]
            for k in range(nd):
                fit_parts.append(
                    pd.DataFrame(
                        {
                            "block_id": ids,
                            "drug": k + 1,
                            "bottom": params[k, :, 0],
                            "top": params[k, :, 1],
                            "ec50": np.exp(params[k, :, 2]),
                            "hill_slope": params[k, :, 3],
                            "converged": out["_fits"]["converged"][k],
                        }
                    )
                )
    scores = pd.concat(score_parts, ignore_index=True)
    scores = (
        meta[["sample", *screen.drug_columns]]
        .join(scores.set_index("block_id"), how="right")
        .reset_index()
    )
    reasons = []
    for _, r in scores.iterrows():  # per (block, model) row: name the drugs in the reasons
        text = str(r["reason"])
        for k in range(1, nd + 1):
            if r[f"drug{k}"]:
                text = text.replace(f"drug {k} alone", f"drug {k} ({r[f'drug{k}']}) alone")
        reasons.append(text)
    scores["reason"] = reasons
    singles = pd.concat(fit_parts, ignore_index=True) if fit_parts else pd.DataFrame()
    if not singles.empty:
        names_of = meta[screen.drug_columns]
        singles["name"] = [
            names_of.loc[b, f"drug{k}"]
            for b, k in zip(singles["block_id"], singles["drug"], strict=True)
        ]
    return MultiSynergyResult(
        scores=scores,
        wells=pd.concat(well_parts, ignore_index=True),
        single_agents=singles,
        models=names,
        n_drugs=nd,
        notes=screen.conversions,
    )


def plot_multi_slices(
    result: MultiSynergyResult,
    block_id: str,
    *,
    model: str = "zip",
    value: str = "excess",
    slice_drug: int = 3,
    max_cols: int = 4,
):
    """Heatmaps of one block, one panel per dose of ``slice_drug`` (3-drug blocks).

    Each panel shows ``value`` (``"excess"``, ``"response"`` or ``"expected"``) over the doses
    of the two other drugs, with ``slice_drug`` fixed at the panel's dose; the colour scale is
    shared and centred on 0 for the excess. Returns a plotly figure (nothing is shown).

    >>> fig = plot_multi_slices(res, "1", model="bliss")  # doctest: +SKIP
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if result.n_drugs != 3:
        raise InputError(
            f"plot_multi_slices draws 3-drug blocks; this result has {result.n_drugs} drugs"
        )
    if value not in ("excess", "response", "expected"):
        raise InputError(f"value must be 'excess', 'response' or 'expected', got {value!r}")
    w = result.wells
    sel = w[(w["block_id"] == str(block_id)) & (w["model"] == model)]
    if sel.empty:
        raise InputError(
            f"no wells for block {block_id!r} and model {model!r}; models: {list(result.models)}"
        )
    if slice_drug not in (1, 2, 3):
        raise InputError(f"slice_drug must be 1, 2 or 3, got {slice_drug}")
    xd, yd = [k for k in (1, 2, 3) if k != slice_drug]
    doses = np.sort(sel[f"conc{slice_drug}"].unique())
    ncols = min(max_cols, doses.size)
    nrows = int(np.ceil(doses.size / ncols))
    meta = result.scores[result.scores["block_id"] == str(block_id)].iloc[0]
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[f"{meta[f'drug{slice_drug}']} = {d:.3g} uM" for d in doses],
    )
    vals = sel[value].to_numpy(dtype=float) * (1.0 if value == "excess" else 100.0)
    lim = float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0
    for i, d in enumerate(doses):
        part = sel[sel[f"conc{slice_drug}"] == d]
        grid = part.pivot_table(index=f"conc{yd}", columns=f"conc{xd}", values=value)
        z = grid.to_numpy() * (1.0 if value == "excess" else 100.0)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=[f"{c:.3g}" for c in grid.columns],
                y=[f"{c:.3g}" for c in grid.index],
                zmin=-lim if value == "excess" else None,
                zmax=lim if value == "excess" else None,
                colorscale="RdBu_r" if value == "excess" else "Viridis",
                showscale=i == 0,
                colorbar={"title": "pp" if value == "excess" else "% inh."},
            ),
            row=i // ncols + 1,
            col=i % ncols + 1,
        )
    fig.update_layout(
        title=f"Block {block_id}: {model} {value} by dose of drug {slice_drug} "
        f"(x: {meta[f'drug{xd}']}, y: {meta[f'drug{yd}']})",
        height=260 * nrows + 80,
    )
    return fig
