"""Drug sensitivity of combination blocks (CSS, RI, S) and a consensus across synergy models.

Definitions (responses in percent inhibition, doses on a log scale; the ratio of areas does
not depend on the base of the logarithm):

* **RI** (relative inhibition, SynergyFinder Plus, Zheng et al. 2022): the area under the
  4-parameter log-logistic curve fitted to a drug alone, over its tested range (lowest to
  highest non-zero dose), divided by the area of 100 % inhibition over the same range, in
  percent. It is the mean fitted inhibition over the log-dose range, so it may be negative
  when the fitted curve sits below 0.
* **CSS** (combination sensitivity score, Malyutina et al. 2019, PLoS Comput Biol
  15:e1006752): one drug (the background) is held at its IC50, or the tested dose closest to
  it on the log scale, and the other (the foreground) is titrated; the same normalised area
  is computed under the log-logistic curve fitted to that row or column of the matrix (its
  zero-dose point is the background drug alone). ``css1`` is drug 1 titrated with drug 2
  at its IC50, ``css2`` the reverse, and ``css = (css1 + css2) / 2``. The area is the plain
  normalised area of RI, not DSS (:func:`oncoresist.curves.dss` starts integrating where the
  curve crosses a 10 % activity threshold and clips at 0, which would make CSS and RI
  incomparable).
* **S** (Malyutina 2019: the deviation of CSS from a reference model that predicts the
  combination's inhibition from the monotherapy responses): ``s_score = css - css_expected``,
  where ``css_expected`` is the CSS of the same two cross-design curves computed on the
  reference model's expected responses (Bliss by default, or HSA), built from the fitted
  single-drug curves. A block without interaction under the reference model therefore has
  ``s_score = 0`` up to fitting error.

IC50: the relative IC50 of each drug (the EC50 of its fitted curve, midpoint between bottom
and top, as SynergyFinder reports it). When the fitted curve never reaches 50 % inhibition, or
its IC50 lies outside the tested doses, the block is still scored and ``status``/``reason``
say what was done (the relative IC50 used; the extreme tested dose used as background).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..data._combination import CombinationScreen
from ..errors import InputError
from ._hill import fit_hill, hill_predict
from ._registry import get_model
from ._score import SynergyResult

__all__ = ["normalised_curve_area", "sensitivity_scores", "synergy_barometer", "synergy_consensus"]

Reference = Literal["bliss", "hsa"]


def normalised_curve_area(x_low: np.ndarray, x_high: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Mean of Hill curves over ``[x_low, x_high]`` (natural-log doses), in percent.

    ``params`` is ``(n, 4)`` as (bottom, top, ln EC50, slope) in fractional inhibition, the
    convention of the synergy package's Hill fits. Closed form: with
    ``s(x) = 1 / (1 + exp(-h (x - m)))``, ``int s dx = log(1 + exp(h (x - m))) / h``.

    Examples
    --------
    >>> p = np.array([[0.0, 1.0, 0.0, 1.0]])
    >>> round(float(normalised_curve_area(np.array([-5.0]), np.array([5.0]), p)[0]), 6)
    50.0
    """
    lo = np.asarray(x_low, dtype=float)
    hi = np.asarray(x_high, dtype=float)
    b, t, m, h = (np.asarray(params, dtype=float)[:, i] for i in range(4))
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        area_s = (np.logaddexp(0.0, h * (hi - m)) - np.logaddexp(0.0, h * (lo - m))) / h
        mean_s = np.where(width > 0, area_s / width, 1.0 / (1.0 + np.exp(-h * (lo - m))))
    return 100.0 * (b + (t - b) * mean_s)


def _arrays_from(obj: CombinationScreen | SynergyResult):
    if isinstance(obj, CombinationScreen):
        meta = obj.blocks.set_index("block_id")[["sample", "drug1", "drug2"]]
        return obj.to_arrays(), meta
    if isinstance(obj, SynergyResult):
        s = obj.surfaces
        if s is None or s.empty:
            raise InputError(
                "this SynergyResult kept no surfaces; score with keep_surfaces=True or pass "
                "the CombinationScreen itself to sensitivity_scores"
            )
        first = s[s["model"] == s["model"].iloc[0]]
        frame = first[["block_id", "conc1", "conc2", "response"]].merge(
            obj.blocks[["block_id", "sample", "drug1", "drug2"]], on="block_id", how="left"
        )
        screen = CombinationScreen(frame.assign(replicate=1), source="SynergyResult surfaces")
        meta = screen.blocks.set_index("block_id")[["sample", "drug1", "drug2"]]
        return screen.to_arrays(), meta
    raise InputError(
        f"sensitivity_scores needs a CombinationScreen or a SynergyResult, got {type(obj).__name__}"
    )


def _flat(log_conc: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k)`` log doses and ``(n, k, r)`` replicates -> ``(n, k * r)`` curve points."""
    r = resp.shape[-1]
    return np.repeat(log_conc, r, axis=1), resp.reshape(resp.shape[0], -1)


def _closest(log_conc: np.ndarray, log_target: np.ndarray) -> np.ndarray:
    """Index (>= 1) of the non-zero tested dose closest to ``log_target`` on the log scale."""
    d = np.abs(log_conc[:, 1:] - log_target[:, None])
    return 1 + np.argmin(d, axis=1)


def _block_scores(c1: np.ndarray, c2: np.ndarray, resp: np.ndarray, reference: Reference):
    n = resp.shape[0]
    rows = np.arange(n)
    with np.errstate(divide="ignore"):
        x1, x2 = np.log(c1), np.log(c2)  # dose 0 -> -inf, the fits' convention
    lo1, hi1 = x1[:, 1], x1[:, -1]
    lo2, hi2 = x2[:, 1], x2[:, -1]
    # single agents: drug 1 is the conc2 = 0 column, drug 2 the conc1 = 0 row
    f1 = fit_hill(*_flat(x1, resp[:, :, 0, :]))
    f2 = fit_hill(*_flat(x2, resp[:, 0, :, :]))
    ri1 = normalised_curve_area(lo1, hi1, f1.params)
    ri2 = normalised_curve_area(lo2, hi2, f2.params)
    m1, m2 = f1.params[:, 2], f2.params[:, 2]
    j2 = _closest(x2, m2)  # background dose of drug 2 for css1
    i1 = _closest(x1, m1)  # background dose of drug 1 for css2
    row_css1 = resp[rows, :, j2, :]  # (n, n1, r): drug 1 titrated, drug 2 fixed
    row_css2 = resp[rows, i1, :, :]  # (n, n2, r)
    g1 = fit_hill(*_flat(x1, row_css1))
    g2 = fit_hill(*_flat(x2, row_css2))
    css1 = normalised_curve_area(lo1, hi1, g1.params)
    css2 = normalised_curve_area(lo2, hi2, g2.params)
    # expected cross-design curves from the fitted single agents
    e1 = hill_predict(x1, f1.params)  # (n, n1) drug 1 alone at its doses
    e2 = hill_predict(x2, f2.params)
    bg2 = e2[rows, j2][:, None]
    bg1 = e1[rows, i1][:, None]
    if reference == "bliss":
        exp1, exp2 = e1 + bg2 - e1 * bg2, e2 + bg1 - e2 * bg1
    else:
        exp1, exp2 = np.maximum(e1, bg2), np.maximum(e2, bg1)
    h1 = fit_hill(x1, exp1)
    h2 = fit_hill(x2, exp2)
    css1_exp = normalised_curve_area(lo1, hi1, h1.params)
    css2_exp = normalised_curve_area(lo2, hi2, h2.params)
    css = 0.5 * (css1 + css2)
    css_exp = 0.5 * (css1_exp + css2_exp)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for name, f, lo, hi in (("drug1", f1, lo1, hi1), ("drug2", f2, lo2, hi2)):
        never = np.maximum(f.bottom, f.top) < 0.5
        below, above = f.params[:, 2] < lo, f.params[:, 2] > hi
        for k in np.flatnonzero(never):
            reasons[k].append(
                f"{name} alone never reaches 50 % inhibition (fitted top "
                f"{100 * f.top[k]:.1f} %); its relative IC50 (midpoint of its own curve) was used"
            )
        for k in np.flatnonzero(below | above):
            side = "below the lowest" if below[k] else "above the highest"
            reasons[k].append(
                f"{name}'s IC50 ({np.exp(f.params[k, 2]):.3g} uM) is {side} tested dose; the "
                "closest tested dose was used as its background dose"
            )
    fits_ok = f1.converged & f2.converged & g1.converged & g2.converged
    for k in np.flatnonzero(~fits_ok):
        reasons[k].append("a log-logistic fit did not converge; values are from its last iterate")
    status = np.array(
        [
            "ok" if not rs else ("warning" if fits_ok[k] else "unconverged")
            for k, rs in enumerate(reasons)
        ],
        dtype=object,
    )
    return {
        "css": css,
        "css1": css1,
        "css2": css2,
        "ri1": ri1,
        "ri2": ri2,
        "css_expected": css_exp,
        "s_score": css - css_exp,
        "ic50_1": np.exp(m1),
        "ic50_2": np.exp(m2),
        "background_conc1": c1[rows, i1],
        "background_conc2": c2[rows, j2],
        "status": status,
        "reason": np.array(["; ".join(rs) for rs in reasons], dtype=object),
    }


def sensitivity_scores(
    screen_or_result: CombinationScreen | SynergyResult,
    *,
    reference: Reference = "bliss",
) -> pd.DataFrame:
    """CSS, RI and the S synergy score of every block (see the module docstring).

    Parameters
    ----------
    screen_or_result
        A :class:`~oncoresist.data.CombinationScreen` (replicates are all used in the fits),
        or a :class:`SynergyResult` scored with ``keep_surfaces=True`` (well means only).
    reference
        Model predicting the expected cross-design curves for ``s_score``: ``"bliss"``
        (``E = a + b - ab``) or ``"hsa"`` (``E = max(a, b)``).

    Returns
    -------
    pandas.DataFrame
        One row per block: ``block_id, sample, drug1, drug2, css, css1, css2, ri1, ri2,
        css_expected, s_score, ic50_1, ic50_2`` (relative IC50, micromolar),
        ``background_conc1, background_conc2`` (the tested doses used as background),
        ``reference, status, reason``. Scores are in percent.

    Examples
    --------
    >>> from oncoresist.synergy import make_combination_screen
    >>> tab = sensitivity_scores(make_combination_screen(2, rng=0))
    >>> list(tab.columns[4:8])
    ['css', 'css1', 'css2', 'ri1']
    """
    ref = str(reference).lower()
    if ref not in ("bliss", "hsa"):
        raise InputError(f"reference={reference!r} is not supported; use 'bliss' or 'hsa'")
    groups, meta = _arrays_from(screen_or_result)
    parts = []
    for ids, c1, c2, resp in groups:
        out = _block_scores(c1, c2, resp, ref)  # type: ignore[arg-type]
        parts.append(pd.DataFrame({"block_id": ids, **out}))
    tab = pd.concat(parts, ignore_index=True)
    tab["reference"] = ref
    tab = meta.join(tab.set_index("block_id"), how="right").reset_index()
    lead = ["block_id", "sample", "drug1", "drug2"]
    rest = [c for c in tab.columns if c not in lead and c not in ("status", "reason")]
    return tab[lead + rest + ["status", "reason"]]


def synergy_consensus(result: SynergyResult) -> pd.DataFrame:
    """Every model's score of each block side by side, with a consensus call.

    A model's sign is decided as for ``models_disagree`` in :class:`SynergyResult`: by its
    p-value (< 0.05) when it has one, else by its score leaving the model's
    ``null_tolerance``; undecided scores count as additive.

    Returns
    -------
    pandas.DataFrame
        One row per block: ``score_<model>`` for every model, ``n_models`` (finite scores),
        ``n_synergy``, ``n_antagonism``, ``n_additive``, ``n_agree`` (models whose decided
        sign is the consensus sign; for ``additive`` the undecided ones, for ``disagree``
        the larger camp), ``models_disagree``
        (the existing flag) and ``consensus``: ``disagree`` when the flag is set, else
        ``synergy`` / ``antagonism`` when more than half of the models call it, else
        ``additive``.

    Examples
    --------
    >>> from oncoresist.synergy import make_combination_screen, score_combinations
    >>> res = score_combinations(make_combination_screen(2, rng=0), models=["hsa", "bliss"],
    ...                          n_boot=0)
    >>> synergy_consensus(res)["consensus"].isin(["synergy", "antagonism", "additive",
    ...                                           "disagree"]).all()
    np.True_
    """
    s = result.scores
    names = list(result.models)
    tol = s["model"].map({m: get_model(m).null_tolerance for m in names}).to_numpy(dtype=float)
    score = s["score"].to_numpy(dtype=float)
    p = s["pvalue"].to_numpy(dtype=float)
    fin = np.isfinite(score)
    decided = np.where(np.isfinite(p), p < 0.05, np.abs(score) > tol) & fin
    sign = np.where(decided, np.sign(score), 0)
    t = pd.DataFrame(
        {
            "block_id": s["block_id"].to_numpy(),
            "pos": sign > 0,
            "neg": sign < 0,
            "zero": (sign == 0) & fin,
            "fin": fin,
        }
    )
    g = t.groupby("block_id", sort=False)
    counts = pd.DataFrame(
        {
            "n_models": g["fin"].sum(),
            "n_synergy": g["pos"].sum(),
            "n_antagonism": g["neg"].sum(),
            "n_additive": g["zero"].sum(),
        }
    ).astype(int)
    wide = result.score_table().add_prefix("score_")
    out = wide.join(counts)
    flag = result.blocks.set_index("block_id")["models_disagree"].astype(bool)
    out["models_disagree"] = flag.reindex(out.index).fillna(False).astype(bool)
    half = out["n_models"] / 2.0
    call = np.where(
        out["models_disagree"],
        "disagree",
        np.where(
            out["n_synergy"] > half,
            "synergy",
            np.where(out["n_antagonism"] > half, "antagonism", "additive"),
        ),
    )
    out["consensus"] = call
    out["n_agree"] = np.select(
        [call == "synergy", call == "antagonism", call == "additive"],
        [out["n_synergy"], out["n_antagonism"], out["n_additive"]],
        default=np.maximum(out["n_synergy"], out["n_antagonism"]),
    )
    meta = result.blocks.set_index("block_id")[["sample", "drug1", "drug2"]]
    out = meta.join(out, how="right")
    out.index.name = "block_id"
    return out.reset_index()


def synergy_barometer(
    result: SynergyResult,
    block_id: str,
    *,
    conc1: float | None = None,
    conc2: float | None = None,
) -> pd.DataFrame:
    """SynergyFinder Plus's synergy barometer for one well: observed vs each model's expected.

    Every model predicts an expected inhibition for the well; the barometer places the
    observed inhibition against them. Without ``conc1``/``conc2`` the combination well with
    the largest mean excess over the models is used.

    Returns
    -------
    pandas.DataFrame
        One row per model with an expected surface: ``block_id, conc1, conc2, model,
        expected, observed, excess`` (percent inhibition), and ``call``: ``synergy`` when
        the observed inhibition is above the expected, ``antagonism`` below, ``additive``
        within 1 percentage point. Sorted by ``expected``.
    """
    s = result.surfaces
    if s is None or s.empty:
        raise InputError("this SynergyResult kept no surfaces; score with keep_surfaces=True")
    blk = s[(s["block_id"].astype(str) == str(block_id)) & s["expected"].notna()]
    if blk.empty:
        raise InputError(
            f"block {block_id!r} has no expected surface in this result; blocks: "
            f"{', '.join(map(str, result.blocks['block_id'].head(5)))}..."
        )
    comb = blk[(blk["conc1"] > 0) & (blk["conc2"] > 0)]
    if conc1 is None or conc2 is None:
        mean_ex = comb.groupby(["conc1", "conc2"], as_index=False)["excess"].mean()
        top = mean_ex.iloc[int(np.argmax(mean_ex["excess"].to_numpy()))]
        c1, c2 = float(top["conc1"]), float(top["conc2"])
    else:
        u1, u2 = np.unique(blk["conc1"]), np.unique(blk["conc2"])
        c1 = float(u1[np.argmin(np.abs(u1 - conc1))])
        c2 = float(u2[np.argmin(np.abs(u2 - conc2))])
    w = blk[(blk["conc1"] == c1) & (blk["conc2"] == c2)]
    out = pd.DataFrame(
        {
            "block_id": str(block_id),
            "conc1": c1,
            "conc2": c2,
            "model": w["model"].to_numpy(),
            "expected": 100.0 * w["expected"].to_numpy(dtype=float),
            "observed": 100.0 * w["response"].to_numpy(dtype=float),
        }
    )
    out["excess"] = out["observed"] - out["expected"]
    out["call"] = np.where(
        out["excess"] > 1.0, "synergy", np.where(out["excess"] < -1.0, "antagonism", "additive")
    )
    return out.sort_values("expected", ignore_index=True)
