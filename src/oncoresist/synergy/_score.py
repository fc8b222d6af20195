"""Score combination blocks under every reference model: surfaces, summaries, uncertainty.

Per block and model:

* ``score``: mean of the synergy surface over the combination wells (both doses > 0), as
  SynergyFinder summarises; ``score_max_area``: the mean of the most synergistic 3 x 3 window
  of combination wells (the whole combination part when it is smaller).
* ``ci_low``, ``ci_high``: 95 % percentile bootstrap interval. Each bootstrap replicate draws,
  in every well, as many measurements as the well has, with replacement, and re-runs the model
  (fits included) on the resampled block; the bootstrap blocks simply join the batch.
* ``pvalue``: two-sided test that the mean excess is 0, ``z = score / sd_boot`` against the
  normal distribution; ``fdr``: Benjamini–Hochberg over the blocks of the model.
* blocks with a single replicate in every well get no interval and no p-value, with the reason
  in ``uncertainty`` (never a silent NaN).

Per block: replicate outliers (robust z of a measurement against its well's median, scale
``1.4826 * MAD`` pooled over the block, flagged at ``|z| > 4`` and a deviation > 0.15) and
``models_disagree``, True when one model calls synergy and another antagonism (a score counts
when its p-value is < 0.05, or, without a p-value, when it is beyond the model's
``null_tolerance``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from .._results import ResultMixin
from ..curves._executors import Executor, executor_scope
from ..data._combination import CombinationScreen
from ..errors import InputError
from ._batch import BlockBatch
from ._hill import fit_problems
from ._registry import SynergyModel, available_models, get_model

__all__ = [
    "SynergyComparison",
    "SynergyResult",
    "compare_synergy",
    "score_blocks",
    "score_combinations",
    "single_agent_problems",
]

DEFAULT_MODELS = ("hsa", "bliss", "loewe", "zip", "ci", "musyc")
_OUTLIER_Z = 4.0
_OUTLIER_MIN = 0.15


def _window_max(surface: np.ndarray) -> np.ndarray:
    comb = surface[:, 1:, 1:]
    k1, k2 = min(3, comb.shape[1]), min(3, comb.shape[2])
    win = sliding_window_view(comb, (k1, k2), axis=(1, 2))
    ok = np.isfinite(win)
    cnt = ok.sum(axis=(-1, -2))
    tot = np.where(ok, win, 0.0).sum(axis=(-1, -2))
    means = np.full(cnt.shape, -np.inf)
    np.divide(tot, cnt, out=means, where=cnt > 0)
    best = means.reshape(means.shape[0], -1).max(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def _mean_score(surface: np.ndarray) -> np.ndarray:
    comb = surface[:, 1:, 1:].reshape(surface.shape[0], -1)
    ok = np.isfinite(comb)
    cnt = ok.sum(axis=1)
    out = np.full(comb.shape[0], np.nan)
    np.divide(np.where(ok, comb, 0.0).sum(axis=1), cnt, out=out, where=cnt > 0)
    return out


def _bootstrap_batch(batch: BlockBatch, n_boot: int, rng: np.random.Generator) -> BlockBatch:
    n, n1, n2, r = batch.response.shape
    k = batch.n_replicates  # (n, n1, n2)
    u = rng.random((n, n_boot, n1, n2, r))
    idx = np.minimum(
        (u * k[:, None, :, :, None]).astype(np.int64), np.maximum(k - 1, 0)[:, None, :, :, None]
    )
    src = np.broadcast_to(batch.response[:, None], (n, n_boot, n1, n2, r))
    res = np.take_along_axis(src, idx, axis=-1)
    pos = np.arange(r)
    res = np.where(pos < k[:, None, :, :, None], res, np.nan)
    return BlockBatch(
        np.repeat(batch.conc1, n_boot, axis=0),
        np.repeat(batch.conc2, n_boot, axis=0),
        res.reshape(n * n_boot, n1, n2, r),
    )


def single_agent_problems(batch: BlockBatch) -> np.ndarray:
    """Per block, what is wrong with the single-agent Hill fits (``""`` = nothing).

    Each problem names the drug (``drug 1`` = the rows' drug, alone in the column
    ``conc2 = 0``; ``drug 2`` alone in the row ``conc1 = 0``), e.g. ``"drug 1 alone: Hill
    slope at its upper bound 10; fit did not converge"``.
    """
    f1, f2 = batch.single_fits
    p1 = fit_problems(f1, batch.log_conc1)
    p2 = fit_problems(f2, batch.log_conc2)
    return np.array(
        [
            "; ".join(f"drug {k} alone: {p}" for k, p in ((1, a), (2, b)) if p)
            for a, b in zip(p1, p2, strict=True)
        ],
        dtype=object,
    )


def _mark_unreliable(
    status: np.ndarray, reason: np.ndarray, note: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``unreliable`` where a model that stands on the single-agent fits has a bad fit.

    A ``failed`` block stays failed (no score to qualify); other statuses become
    ``unreliable`` with the fit problem first in the reason.
    """
    hit = note != ""
    status = status.copy()
    reason = reason.copy()
    status[hit & (status != "failed")] = "unreliable"
    for i in np.flatnonzero(hit):
        reason[i] = f"{note[i]}; {reason[i]}" if reason[i] else note[i]
    return status, reason


def score_blocks(
    conc1: np.ndarray,
    conc2: np.ndarray,
    response: np.ndarray,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    n_boot: int = 0,
    rng: int | np.random.Generator | None = None,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
    chunk_size: int = 5000,
) -> dict[str, dict[str, np.ndarray]]:
    """Array API: score same-shape blocks under ``models``.

    Parameters
    ----------
    conc1, conc2
        ``(n, n1)``, ``(n, n2)`` doses in micromolar, ascending, first column 0.
    response
        ``(n, n1, n2)`` or ``(n, n1, n2, r)`` fractional inhibition (NaN = absent replicate).
    models
        Registered model names (see :func:`available_models`).
    n_boot
        Bootstrap resamples of the replicates (0 = none).
    rng
        Seed or generator of the bootstrap.
    executor, scheduler, chunk_size
        None (default): all blocks in one batch here. Otherwise the blocks are scored
        ``chunk_size`` at a time on the executor (``"serial"``, ``"threads"``, ``"processes"``,
        ``"dask"`` on the scheduler at ``scheduler`` or a local cluster, or an object with
        ``map``), chunk ``i`` bootstrapping from stream ``i`` spawned from ``rng``: the same
        numbers on every executor (for one ``chunk_size``; without a bootstrap, the same as
        one batch).

    Returns
    -------
    dict
        Per model: ``excess`` (n, n1, n2), ``expected`` (or absent), ``score``,
        ``score_max_area``, ``status``, ``reason``, model parameters, and with ``n_boot``:
        ``ci_low``, ``ci_high``, ``se``, ``pvalue``.

    Examples
    --------
    >>> c = np.array([[0.0, 1.0, 10.0]])
    >>> y = np.array([[[0, .2, .5], [.3, .6, .8], [.6, .8, .95]]])
    >>> out = score_blocks(c, c, y, models=["bliss"])
    >>> round(float(out["bliss"]["score"][0]), 2)
    14.5
    """
    resp = np.asarray(response, dtype=float)
    if resp.ndim == 3:
        resp = resp[..., None]
    c1 = np.asarray(conc1, dtype=float)
    c2 = np.asarray(conc2, dtype=float)
    if (
        resp.ndim != 4
        or resp.shape[1:3] != (c1.shape[1], c2.shape[1])
        or c1.shape[0] != resp.shape[0]
    ):
        raise InputError(
            f"response shape {resp.shape} does not match conc1 {c1.shape} and conc2 {c2.shape}"
        )
    gen = np.random.default_rng(rng)
    if executor is not None and resp.shape[0]:
        if int(chunk_size) < 1:
            raise InputError(f"chunk_size must be a positive integer; got {chunk_size}")
        starts = range(0, resp.shape[0], int(chunk_size))
        streams = gen.spawn(len(starts))
        tasks = (
            (c1[i : i + chunk_size], c2[i : i + chunk_size], resp[i : i + chunk_size],
             tuple(models), n_boot, st)
            for i, st in zip(starts, streams, strict=True)
        )  # fmt: skip
        with executor_scope(executor, scheduler=scheduler) as ex:
            parts = list(ex.map(_score_chunk, tasks))
        return {
            m: {k: np.concatenate([p[m][k] for p in parts]) for k in parts[0][m]} for m in parts[0]
        }
    batch = BlockBatch(c1, c2, resp)
    boot = None
    has_reps = (batch.n_replicates >= 2).any(axis=(1, 2))
    if n_boot > 0 and has_reps.any():
        boot = _bootstrap_batch(batch, n_boot, gen)
    out: dict[str, dict[str, np.ndarray]] = {}
    fit_note = None
    if any(get_model(m).uses_single_fits for m in models):
        fit_note = single_agent_problems(batch)
    for name in models:
        model = get_model(name)
        res = model.surface(batch)
        status = (
            np.full(batch.n_blocks, "ok", dtype=object)
            if res.status is None
            else np.asarray(res.status, dtype=object).copy()
        )
        reason = (
            np.full(batch.n_blocks, "", dtype=object)
            if res.reason is None
            else np.asarray(res.reason, dtype=object).copy()
        )
        if model.uses_single_fits and fit_note is not None:
            status, reason = _mark_unreliable(status, reason, fit_note)
        d: dict[str, np.ndarray] = {
            "excess": res.excess,
            "score": _mean_score(res.excess),
            "score_max_area": _window_max(res.excess),
            "status": status,
            "reason": reason,
        }
        if res.expected is not None:
            d["expected"] = res.expected
        d.update(res.extra)
        if boot is not None:
            bres = model.surface(boot)
            bs = _mean_score(bres.excess).reshape(batch.n_blocks, n_boot)
            ok = np.isfinite(bs)
            nok = ok.sum(axis=1)
            with np.errstate(invalid="ignore"):
                lo = np.nanpercentile(np.where(nok[:, None] > 1, bs, 0.0), 2.5, axis=1)
                hi = np.nanpercentile(np.where(nok[:, None] > 1, bs, 0.0), 97.5, axis=1)
            mean_b = np.where(ok, bs, 0.0).sum(axis=1) / np.maximum(nok, 1)
            var_b = np.where(ok, (bs - mean_b[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(
                nok - 1, 1
            )
            se = np.sqrt(var_b)
            valid = has_reps & (nok > 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = d["score"] / se
            p = 2.0 * stats.norm.sf(np.abs(z))
            p = np.where(se > 0, p, np.where(d["score"] == 0, 1.0, 0.0))
            d["ci_low"] = np.where(valid, lo, np.nan)
            d["ci_high"] = np.where(valid, hi, np.nan)
            d["se"] = np.where(valid, se, np.nan)
            d["pvalue"] = np.where(valid & np.isfinite(d["score"]), p, np.nan)
        out[name] = d
    return out


def _quiet_nanmedian(a: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, on purpose
        return np.nanmedian(a, axis=axis)


def _score_chunk(task: tuple) -> dict[str, dict[str, np.ndarray]]:
    """:func:`score_blocks` of one chunk (module level: executors pickle it)."""
    c1, c2, resp, names, n_boot, stream = task
    return score_blocks(c1, c2, resp, models=names, n_boot=n_boot, rng=stream)


def _outliers(batch: BlockBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust z (n, n1, n2, r) of each measurement against its well median, flags, medians.

    Only wells with at least 3 replicates are tested (with 2 the median cannot tell which
    measurement is off).
    """
    resp = batch.response
    k = batch.n_replicates
    n = resp.shape[0]
    sel = np.where(k[..., None] >= 3, resp, np.nan)
    med = _quiet_nanmedian(sel, axis=-1)
    dev = sel - med[..., None]
    mad = _quiet_nanmedian(np.abs(dev).reshape(n, -1), axis=1)
    scale = np.maximum(1.4826 * np.where(np.isfinite(mad), mad, 0.0), 0.02)
    z = dev / scale[:, None, None, None]
    flag = np.isfinite(z) & (np.abs(z) > _OUTLIER_Z) & (np.abs(dev) > _OUTLIER_MIN)
    return z, flag, med


@dataclass(frozen=True)
class SynergyResult(ResultMixin):
    """Scores of combination blocks.

    Attributes
    ----------
    scores
        One row per (block, model): ``score``, ``score_max_area``, ``ci_low``, ``ci_high``,
        ``se``, ``pvalue``, ``fdr``, ``uncertainty``, ``status``, ``reason``, ``units`` and the
        model's parameters (``beta``, ``log10_alpha12``, ``ci_ed50``...; NaN for other models).
    blocks
        One row per block: replicate counts, ``n_outliers``, ``models_disagree``, ``signs``.
        ``status`` is ``ok``, ``unreliable`` (a score is given, but a single-agent fit that
        Loewe, ZIP, CI or MuSyC stands on is flat, on a parameter bound or not converged, or
        MuSyC's own fit is pinned; ``reason`` names the drug and the problem), or
        ``failed``/``not_converged``. HSA and Bliss use the measured single-agent wells and
        are never made unreliable by a fit.
    surfaces
        One row per (block, model, well): ``response`` (mean), ``expected``, ``excess`` and
        the block's ``status`` and ``reason`` for that model.
    single_agents
        Hill fits of each drug alone per block, by the curve engine (``bottom`` = effect at
        dose 0, ``top`` = maximal effect, ``ec50`` = ``ic50`` (the relative IC50),
        ``ic50_abs``, ``hill_slope``, ``converged``, the engine's ``fit_status``) with
        ``status`` and ``problem``; the IC50s equal those of
        :func:`oncoresist.curves.fit_curves` on the same points.
    outliers
        Flagged measurements: block, doses, replicate, response, ``robust_z``.
    notes
        Conversions made while reading and anything excluded.
    """

    scores: pd.DataFrame
    blocks: pd.DataFrame
    surfaces: pd.DataFrame
    single_agents: pd.DataFrame
    outliers: pd.DataFrame
    models: tuple[str, ...]
    notes: tuple[str, ...] = ()
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["block_id", "reason"])
    )

    def to_frame(self) -> pd.DataFrame:
        """The per (block, model) score table (a copy), the main tidy result."""
        return self.scores.copy()

    def score_table(self, value: str = "score") -> pd.DataFrame:
        """Blocks x models table of ``value`` (e.g. ``"score"``, ``"pvalue"``)."""
        return self.scores.pivot(index="block_id", columns="model", values=value)[list(self.models)]

    def summary(self) -> str:
        """One line: blocks, models and how many scores are not ok (see ``scores.status``)."""
        bad = self.scores.loc[self.scores["status"] != "ok", "status"].value_counts()
        detail = ", ".join(f"{v} {k}" for k, v in bad.items())
        flag = f"{int(bad.sum())} not ok ({detail})" if len(bad) else "all ok"
        return (
            f"SynergyResult: {len(self.blocks)} blocks scored with {', '.join(self.models)}; "
            f"{len(self.scores)} scores, {flag}"
        )

    def __repr__(self) -> str:
        return f"SynergyResult({len(self.blocks)} blocks, models={list(self.models)})"


def score_combinations(
    screen: CombinationScreen,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    n_boot: int = 100,
    rng: int | np.random.Generator | None = None,
    chunk_size: int = 5000,
    keep_surfaces: bool = True,
    progress: bool = False,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
) -> SynergyResult:
    """Score every block of ``screen`` under ``models``.

    Parameters
    ----------
    screen
        The combination blocks.
    models
        Names among :func:`available_models` (``hsa, bliss, loewe, zip, ci, musyc``).
    n_boot
        Bootstrap resamples of the replicates for intervals and p-values (0 = none; costs
        ``n_boot`` times the fits of the fitted models).
    rng
        Seed or generator of the bootstrap. Every chunk draws from its own stream spawned
        from it, so a seed gives the same scores on any executor (for one ``chunk_size``).
    chunk_size
        Blocks per batched call (bounded memory for large collections).
    executor, scheduler
        Where the chunks are scored: ``"serial"`` (None, the default), ``"threads"``,
        ``"processes"``, ``"dask"`` (on the Dask scheduler at ``scheduler``, a local cluster
        when None) or an object with ``map(func, chunks)``; bitwise the same results.
    keep_surfaces
        Keep the per-well surfaces (large for hundreds of thousands of blocks).
    progress
        Show a progress bar.

    Examples
    --------
    >>> from oncoresist.synergy import make_combination_screen
    >>> screen = make_combination_screen(2, rng=0)
    >>> res = score_combinations(screen, models=["bliss", "hsa"], n_boot=20, rng=0)
    >>> sorted(res.scores["model"].unique())
    ['bliss', 'hsa']
    """
    names = [m.strip().lower() for m in models]
    for m in names:
        get_model(m)  # raises InputError on unknown names
    if not names:
        raise InputError(f"no model requested; choose from {', '.join(available_models())}")
    gen = np.random.default_rng(rng)
    meta = screen.blocks.set_index("block_id")
    groups = screen.to_arrays()
    summary_parts: list[pd.DataFrame] = []
    surface_parts: list[pd.DataFrame] = []
    single_parts: list[pd.DataFrame] = []
    outlier_parts: list[pd.DataFrame] = []
    block_parts: list[pd.DataFrame] = []
    total = sum(len(g[0]) for g in groups)
    bar = None
    if progress:
        from .._progress import ProgressReporter

        bar = ProgressReporter(total, "scoring blocks", transient=True).__enter__()
    chunks = [
        (ids_all, c1_all, c2_all, r_all, slice(start, start + chunk_size))
        for ids_all, c1_all, c2_all, r_all in groups
        for start in range(0, len(ids_all), chunk_size)
    ]
    # one bootstrap stream per chunk, spawned from the seed: the draws do not depend on the
    # executor, the number of workers or the order in which chunks finish
    streams = gen.spawn(len(chunks))

    def tasks() -> Iterator[tuple]:
        for (_, c1_all, c2_all, r_all, sl), stream in zip(chunks, streams, strict=True):
            yield (c1_all[sl], c2_all[sl], r_all[sl], tuple(names), n_boot, stream)

    try:
        with executor_scope(executor, scheduler=scheduler) as ex:
            for (ids_all, c1_all, c2_all, r_all, sl), out in zip(
                chunks, ex.map(_score_chunk, tasks()), strict=True
            ):
                ids = ids_all[sl]
                batch = BlockBatch(c1_all[sl], c2_all[sl], r_all[sl])
                _collect(
                    ids,
                    batch,
                    out,
                    names,
                    keep_surfaces,
                    summary_parts,
                    surface_parts,
                    single_parts,
                    outlier_parts,
                    block_parts,
                )
                if bar is not None:
                    bar.advance(len(ids))
    except BaseException as exc:
        if bar is not None:
            bar.__exit__(type(exc), exc, None)
            bar = None
        raise
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    summary = pd.concat(summary_parts, ignore_index=True)
    summary = (
        meta[["sample", "drug1", "drug2"]]
        .join(summary.set_index("block_id"), how="right")
        .reset_index()
    )
    summary["fdr"] = np.nan
    for m in names:
        sel = (summary["model"] == m) & summary["pvalue"].notna()
        if sel.any():
            summary.loc[sel, "fdr"] = stats.false_discovery_control(
                summary.loc[sel, "pvalue"].to_numpy()
            )
    summary["reason"] = _name_drugs(summary)
    surfaces = pd.concat(surface_parts, ignore_index=True) if surface_parts else pd.DataFrame()
    if not surfaces.empty:
        names_of = summary.drop_duplicates(["block_id", "model"]).set_index(["block_id", "model"])[
            "reason"
        ]
        key = pd.MultiIndex.from_arrays([surfaces["block_id"], surfaces["model"]])
        surfaces["reason"] = names_of.reindex(key).to_numpy()
    blocks = pd.concat(block_parts, ignore_index=True)
    blocks = meta.join(blocks.set_index("block_id"), how="right").reset_index()
    signs = _signs(summary, names)
    blocks = blocks.merge(signs, on="block_id", how="left")
    lead = [
        "block_id",
        "sample",
        "drug1",
        "drug2",
        "model",
        "score",
        "score_max_area",
        "ci_low",
        "ci_high",
        "se",
        "pvalue",
        "fdr",
        "uncertainty",
        "status",
        "reason",
        "units",
    ]
    summary = summary[lead + [c for c in summary.columns if c not in lead]]
    return SynergyResult(
        scores=summary,
        blocks=blocks,
        surfaces=surfaces,
        single_agents=pd.concat(single_parts, ignore_index=True)
        if single_parts
        else pd.DataFrame(),
        outliers=pd.concat(outlier_parts, ignore_index=True),
        models=tuple(names),
        notes=tuple(screen.conversions),
        excluded=screen.excluded,
    )


def _collect(
    ids,
    batch,
    out,
    names,
    keep_surfaces,
    summary_parts,
    surface_parts,
    single_parts,
    outlier_parts,
    block_parts,
):
    n, n1, n2 = batch.mean.shape
    reps = batch.n_replicates
    single_rep = (reps <= 1).all(axis=(1, 2))
    some_single = (reps <= 1).any(axis=(1, 2))
    for m in names:
        d = out[m]
        model: SynergyModel = get_model(m)
        row = {
            "block_id": ids,
            "model": m,
            "score": d["score"],
            "score_max_area": d["score_max_area"],
            "ci_low": d.get("ci_low", np.full(n, np.nan)),
            "ci_high": d.get("ci_high", np.full(n, np.nan)),
            "se": d.get("se", np.full(n, np.nan)),
            "pvalue": d.get("pvalue", np.full(n, np.nan)),
            "status": d["status"],
            "reason": d["reason"],
            "units": model.units,
        }
        if "pvalue" in d:
            unc = np.where(
                single_rep,
                "single replicate: no bootstrap CI or p-value",
                np.where(
                    some_single, "bootstrap (some wells have a single replicate)", "bootstrap"
                ),
            )
        else:
            unc = np.where(
                single_rep,
                "single replicate: no bootstrap CI or p-value",
                "not computed (n_boot = 0)",
            )
        row["uncertainty"] = unc
        nan_score = ~np.isfinite(d["score"])
        status = np.asarray(row["status"], dtype=object).copy()
        reason = np.asarray(row["reason"], dtype=object).copy()
        fix = nan_score & (status == "ok")
        status[fix] = "failed"
        reason[fix] = "no finite value on the combination wells"
        row["status"], row["reason"] = status, reason
        for key, val in d.items():
            if key in (
                "excess",
                "expected",
                "score",
                "score_max_area",
                "ci_low",
                "ci_high",
                "se",
                "pvalue",
                "status",
                "reason",
            ):
                continue
            row[key] = val
        summary_parts.append(pd.DataFrame(row))
        if keep_surfaces:
            ii, jj = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
            surface_parts.append(
                pd.DataFrame(
                    {
                        "block_id": np.repeat(ids, n1 * n2),
                        "model": m,
                        "conc1": batch.conc1[:, ii.ravel()].ravel(),
                        "conc2": batch.conc2[:, jj.ravel()].ravel(),
                        "response": batch.mean.reshape(-1),
                        "expected": d["expected"].reshape(-1) if "expected" in d else np.nan,
                        "excess": d["excess"].reshape(-1),
                        "status": np.repeat(status, n1 * n2),
                        "reason": np.repeat(reason, n1 * n2),
                    }
                )
            )
    if any(get_model(m).needs_fit for m in names):
        f1, f2 = batch.single_fits
        for which, f, lc in (("drug1", f1, batch.log_conc1), ("drug2", f2, batch.log_conc2)):
            problem = fit_problems(f, lc)
            single_parts.append(
                pd.DataFrame(
                    {
                        "block_id": ids,
                        "which": which,
                        "bottom": f.bottom,
                        "top": f.top,
                        "ec50": f.ec50,
                        # relative IC50 (SynergyFinder's "ic50"): the dose of the curve's
                        # midpoint between bottom and top, i.e. the EC50 of the 4PL fit; the
                        # absolute IC50: where the curve crosses 50 % inhibition (NaN: never).
                        # Both are those of oncoresist.curves.fit_curves on the same points
                        "ic50": f.ec50,
                        "ic50_abs": f.ic50_abs,
                        "hill_slope": f.hill_slope,
                        "sse": f.sse,
                        "n_points": f.n_points,
                        "converged": f.converged,
                        "fit_status": f.status,
                        "status": np.where(problem == "", "ok", "unreliable"),
                        "problem": problem,
                    }
                )
            )
    z, flag, med = _outliers(batch)
    b, i, j, r = np.nonzero(flag)
    outlier_parts.append(
        pd.DataFrame(
            {
                "block_id": ids[b],
                "conc1": batch.conc1[b, i],
                "conc2": batch.conc2[b, j],
                "replicate": r + 1,
                "response": batch.response[b, i, j, r],
                "well_median": med[b, i, j],
                "robust_z": z[b, i, j, r],
            }
        )
    )
    block_parts.append(
        pd.DataFrame(
            {
                "block_id": ids,
                "n_wells": n1 * n2,
                "min_replicates": reps.min(axis=(1, 2)),
                "max_replicates": reps.max(axis=(1, 2)),
                "n_outliers": flag.sum(axis=(1, 2, 3)),
            }
        )
    )


def _name_drugs(summary: pd.DataFrame) -> list[str]:
    """Reasons with ``drug 1``/``drug 2`` followed by the drug's name, e.g. ``drug 1 (MK-1775)``."""
    out = []
    for r, a, b in zip(summary["reason"], summary["drug1"], summary["drug2"], strict=True):
        text = str(r)
        if a:
            text = text.replace("drug 1 alone", f"drug 1 ({a}) alone")
        if b:
            text = text.replace("drug 2 alone", f"drug 2 ({b}) alone")
        out.append(text)
    return out


def _signs(summary: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    s = summary.copy()
    tol = s["model"].map({m: get_model(m).null_tolerance for m in names}).to_numpy(dtype=float)
    score = s["score"].to_numpy(dtype=float)
    p = s["pvalue"].to_numpy(dtype=float)
    decided = np.where(np.isfinite(p), p < 0.05, np.abs(score) > tol) & np.isfinite(score)
    s["sign"] = np.where(decided, np.sign(score), 0).astype(int)
    s["tag"] = s["model"] + ":" + s["sign"].map({1: "+", -1: "-", 0: "0"})
    g = s.groupby("block_id", sort=False)
    out = pd.DataFrame(
        {
            "models_disagree": g["sign"].max().gt(0) & g["sign"].min().lt(0),
            "signs": g["tag"].agg(" ".join),
        }
    ).reset_index()
    return out


# ---------------------------------------------------------------------- resistance angle
@dataclass(frozen=True)
class SynergyComparison(ResultMixin):
    """Synergy of the same drug pairs on a parental and a resistant line.

    ``pairs``: per (drug pair, model) ``score_parental``, ``score_resistant``, ``delta``
    (resistant - parental), ``pvalue`` (from the two bootstrap standard errors) and ``change``
    (``gained``, ``lost`` or ``unchanged``). ``surfaces``: per well the two excess values and
    their difference, to see *where* in the dose space synergy moves.
    """

    pairs: pd.DataFrame
    surfaces: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per (drug pair, model) comparison table (a copy)."""
        return self.pairs.copy()

    def summary(self) -> str:
        """One line: pairs compared and how many gained or lost synergy."""
        ch = self.pairs["change"].value_counts() if "change" in self.pairs else pd.Series()
        n = self.pairs["pair"].nunique() if "pair" in self.pairs else 0
        return (
            f"SynergyComparison: {n} drug pairs, {len(self.pairs)} (pair, model) rows; "
            f"{int(ch.get('gained', 0))} gained, {int(ch.get('lost', 0))} lost, "
            f"{int(ch.get('unchanged', 0))} unchanged"
        )


def compare_synergy(result: SynergyResult, parental: str, resistant: str) -> SynergyComparison:
    """Compare synergy between a ``parental`` and a ``resistant`` sample, drug pair by pair.

    Pairs are matched on ``(drug1, drug2)`` in either order. ``change`` is ``gained``/``lost``
    when the difference is significant (p < 0.05 with bootstrap errors) or, without errors,
    larger than 5 x the model's null tolerance; else ``unchanged``.

    >>> from oncoresist.synergy import make_combination_screen, score_combinations
    >>> s = make_combination_screen(2, samples=("par", "res"), rng=1)   # doctest: +SKIP
    >>> compare_synergy(score_combinations(s, models=["bliss"]), "par", "res")  # doctest: +SKIP
    """
    summ = result.scores
    for name in (parental, resistant):
        if not (summ["sample"] == name).any():
            raise InputError(
                f"sample {name!r} not in the result; samples: {sorted(summ['sample'].unique())}"
            )
    s = summ.copy()
    s["pair"] = [" + ".join(sorted((a, b))) for a, b in zip(s["drug1"], s["drug2"], strict=True)]
    cols = ["pair", "model", "block_id", "score", "se"]
    par = s[s["sample"] == parental][cols]
    res = s[s["sample"] == resistant][cols]
    m = par.merge(res, on=["pair", "model"], suffixes=("_parental", "_resistant"))
    if m.empty:
        raise InputError(f"no drug pair is scored on both {parental!r} and {resistant!r}")
    m["delta"] = m["score_resistant"] - m["score_parental"]
    se = np.sqrt(m["se_parental"] ** 2 + m["se_resistant"] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.asarray(m["delta"], dtype=float) / np.asarray(se, dtype=float)
    m["pvalue"] = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), np.nan)
    tol = m["model"].map(lambda k: get_model(k).null_tolerance).to_numpy(dtype=float)
    sig = np.where(np.isfinite(m["pvalue"]), m["pvalue"] < 0.05, np.abs(m["delta"]) > 5 * tol)
    m["change"] = np.where(
        sig & (m["delta"] > 0), "gained", np.where(sig & (m["delta"] < 0), "lost", "unchanged")
    )
    surf = result.surfaces
    parts = []
    if not surf.empty:
        for row in m.itertuples(index=False):
            a = surf[(surf["block_id"] == row.block_id_parental) & (surf["model"] == row.model)]
            b = surf[(surf["block_id"] == row.block_id_resistant) & (surf["model"] == row.model)]
            if len(a) != len(b) or not np.allclose(a["conc1"].to_numpy(), b["conc1"].to_numpy()):
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "pair": row.pair,
                        "model": row.model,
                        "conc1": a["conc1"].to_numpy(),
                        "conc2": a["conc2"].to_numpy(),
                        "excess_parental": a["excess"].to_numpy(),
                        "excess_resistant": b["excess"].to_numpy(),
                        "delta": b["excess"].to_numpy() - a["excess"].to_numpy(),
                    }
                )
            )
    surfaces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return SynergyComparison(pairs=m, surfaces=surfaces)
