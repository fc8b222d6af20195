"""MAGeCK robust rank aggregation (RRA), implemented from Li et al., Genome Biol 2014;15:554.

The steps follow the paper's Methods and MAGeCK's documented outputs (no MAGeCK code used):

1. **Normalisation** of read counts between samples (median ratio by default, or on control
   guides, or total count) with :func:`~oncoresist.crispr._normalise.normalise_counts`.
2. **Mean-variance model** over guides (paper: "Mean-variance modeling"). For each guide the mean
   and the sample variance (ddof 1) of its normalised counts over the control replicates are
   taken; guides whose mean lies more than four standard deviations (of the means) above the
   average mean are left out, and ``log2(var - mean) = a + b * log2(mean)`` is fitted by least
   squares over guides with ``var > mean``. Each guide's variance is then the model's,
   ``mean + 2 ** (a + b * log2(mean))`` (the negative-binomial mean-variance relation
   ``var = mean + k * mean ** b``). A control mean of 0 is raised to the smallest positive
   control mean, as the ``control_mean`` column of MAGeCK's ``sgrna_summary`` shows for guides
   with no control reads.
3. **Guide p-values for both tails**: the treatment mean is compared with the control mean in
   units of the modelled standard deviation, ``z = (treat_mean - control_mean) / sqrt(var)``,
   ``p_low = Phi(z)``, ``p_high = 1 - Phi(z)`` (the normal approximation of the negative
   binomial; on MAGeCK's own demo the Spearman correlation of these p-values with MAGeCK's
   ``p.low`` is > 0.999). Guide LFC = ``log2((treat_mean + 1) / (control_mean + 1))``.
4. **alpha-RRA** per tail: guides are ranked by their tail's p-value and given percentiles
   ``u = rank / n``; for a gene with ``n`` guides sorted ``u_(1) <= ... <= u_(n)``, the order
   statistic p-values are ``beta.cdf(u_(k); k, n + 1 - k)`` and the score ``rho`` is their minimum
   over the guides with ``u_(k) <= alpha`` (the best guide is always included, so genes with no
   guide under alpha still get a graded score, as MAGeCK's output shows). ``goodsgrna`` counts
   the guides under alpha. MAGeCK's default alpha is the fraction of guides whose one-tail
   p-value is below ``--gene-test-fdr-threshold`` (0.25), see :func:`mageck_alpha`.
5. **Permutation p-values**: for each gene size, ``permutations`` random genes of that size are
   drawn (percentiles drawn uniformly from the ranked list, or from the control guides'
   percentiles when control guides are given, MAGeCK's "null distribution from control
   sgRNAs") and scored the same way; ``pvalue = (1 + #{null rho <= rho}) / (1 + permutations)``;
   FDR = Benjamini-Hochberg over genes.
6. Gene LFC = median (MAGeCK's default ``--gene-lfc-method median``) or mean of its guides' LFCs.

Everything is vectorised over guides and genes: the per-gene order statistics come from one
lexicographic sort and ``np.minimum.reduceat``; the null is drawn as one matrix per gene size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from ..data._crispr import CrisprScreen
from ..errors import InputError
from ._normalise import normalise_counts
from ._result import CrisprResult

__all__ = ["fit_mean_variance", "guide_tests", "mageck_alpha", "mageck_rra", "rra_scores"]

#: Null genes drawn per gene size by default.
DEFAULT_PERMUTATIONS = 100_000
_CHUNK = 2_000_000  # matrix cells of null percentiles scored at once (memory bound)
#: Null percentiles drawn per gene size at most: a gene of n guides gets
#: min(permutations, max(_MIN_PERMUTATIONS, _MAX_NULL_CELLS // n)) null genes. Typical genes
#: (4-10 guides) get every permutation; a huge pseudo-gene (TKOv1's 1,380 "chr10" guides) gets
#: ~3,600 instead of taking minutes, and the result's notes say which genes and the resolution.
_MAX_NULL_CELLS = 5_000_000
_MIN_PERMUTATIONS = 2_000


# --------------------------------------------------------------------------- array maths
def fit_mean_variance(norm_replicates: np.ndarray) -> tuple[float, float, int]:
    """Fit MAGeCK's mean-variance model on replicate samples of one condition.

    Parameters
    ----------
    norm_replicates
        Normalised counts, guides x replicates (>= 2 replicates).

    Returns
    -------
    a, b : float
        ``log2(var - mean) = a + b * log2(mean)``.
    n_used : int
        Guides that entered the fit.
    """
    x = np.asarray(norm_replicates, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError("the mean-variance model needs at least 2 replicate samples")
    m = x.mean(axis=1)
    v = x.var(axis=1, ddof=1)
    not_extreme = m <= m.mean() + 4.0 * m.std()
    ok = not_extreme & (v > m) & (m > 0)
    if ok.sum() < 3:
        # Too few over-dispersed guides to fit a slope: fall back to Poisson-like variance.
        return 0.0, 1.0, int(ok.sum())
    b, a = np.polyfit(np.log2(m[ok]), np.log2(v[ok] - m[ok]), 1)
    return float(a), float(b), int(ok.sum())


def guide_tests(
    norm_control: np.ndarray,
    norm_treatment: np.ndarray,
    model: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Guide-level means, modelled variance, LFC and both-tail p-values (MAGeCK sgrna_summary).

    Parameters
    ----------
    norm_control, norm_treatment
        Normalised counts, guides x samples of each arm.
    model
        ``(a, b)`` of :func:`fit_mean_variance`.

    Returns
    -------
    dict of arrays ``control_mean, treat_mean, control_var, adj_var, lfc, z`` (signed),
    ``score`` (``|z|``), ``p_low, p_high, p_twosided, fdr``.
    """
    c = np.asarray(norm_control, dtype=float)
    t = np.asarray(norm_treatment, dtype=float)
    cm = c.mean(axis=1)
    tm = t.mean(axis=1)
    cv = c.var(axis=1, ddof=1) if c.shape[1] > 1 else np.zeros(c.shape[0])
    pos = cm[cm > 0]
    floor = pos.min() if pos.size else 1.0
    cm = np.where(cm > 0, cm, floor)
    a, b = model
    adj = cm + np.exp2(a + b * np.log2(cm))
    z = (tm - cm) / np.sqrt(adj)
    p_low = stats.norm.cdf(z)
    p_high = stats.norm.sf(z)
    p_two = np.minimum(1.0, 2.0 * np.minimum(p_low, p_high))
    return {
        "control_mean": cm,
        "treat_mean": tm,
        "control_var": cv,
        "adj_var": adj,
        "lfc": np.log2((tm + 1.0) / (cm + 1.0)),
        "z": z,
        "score": np.abs(z),
        "p_low": p_low,
        "p_high": p_high,
        "p_twosided": p_two,
        "fdr": stats.false_discovery_control(p_two),
    }


def _rho_sorted(u_sorted: np.ndarray, alpha: float) -> np.ndarray:
    """rho for rows of sorted percentiles (null genes): matrix P x n -> P."""
    n = u_sorted.shape[1]
    keep = u_sorted <= alpha
    keep[:, 0] = True
    # the regularised incomplete beta is the cost: evaluate it only where it can count
    rows, cols = np.nonzero(keep)
    k = cols + 1.0
    b = np.full(u_sorted.shape, np.inf)
    b[rows, cols] = special.betainc(k, n + 1.0 - k, u_sorted[rows, cols])
    return b.min(axis=1)


def rra_scores(
    values: np.ndarray,
    gene_codes: np.ndarray,
    n_genes: int,
    *,
    alpha: float,
    null_rows: np.ndarray | None = None,
    permutations: int = DEFAULT_PERMUTATIONS,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """alpha-RRA for one tail: score, permutation p-value, FDR and good-guide count per gene.

    Parameters
    ----------
    values
        One statistic per guide, small = selected (the tail's p-value).
    gene_codes
        Gene index ``0 .. n_genes - 1`` per guide (every code used at least once).
    n_genes
        Number of genes.
    alpha
        Percentile cut-off in (0, 1].
    null_rows
        Positions of control guides: if given, null genes draw their percentiles from these
        guides' percentiles (with replacement) instead of uniformly from the whole list.
    permutations
        Null genes per gene size.
    rng
        Random generator (SPEC 7).

    Returns
    -------
    dict with ``score, pvalue, fdr, goodsgrna, num`` (arrays over genes).
    """
    rng = np.random.default_rng(rng)
    v = np.asarray(values, dtype=float)
    codes = np.asarray(gene_codes, dtype=np.int64)
    if np.bincount(codes, minlength=n_genes).min() == 0:
        raise InputError("rra_scores: every gene code must have at least one guide")
    u = stats.rankdata(v, method="ordinal") / v.size
    pool = None if null_rows is None else u[np.asarray(null_rows)]
    return _rra_on_percentiles(u, codes, n_genes, alpha, v.size, pool, permutations, rng)


def mageck_alpha(pvalues: np.ndarray, threshold: float = 0.25) -> float:
    """MAGeCK's default alpha: the fraction of guides whose one-tail p-value is below threshold.

    MAGeCK's help calls the threshold ``--gene-test-fdr-threshold``; its logs show the cut-off
    is the fraction of guides with a one-tail *p-value* below it (demo1 of
    ``mageck_demo_wang2014_leukemia``: 521/999 and 215/999 guides, exactly its logged "lower/higher
    test FDR cutoff"; demo4: 356/999 and 369/999).
    """
    return float((np.asarray(pvalues, dtype=float) < threshold).mean())


# --------------------------------------------------------------------------- screen level
def _resolve_controls(screen: CrisprScreen, control_guides: Sequence[str] | None) -> np.ndarray:
    """Boolean mask of control guides: given guide ids or gene names, else the screen's flags."""
    if control_guides is None:
        if "control" in screen.guides.columns:
            return screen.guides["control"].to_numpy(dtype=bool)
        return np.zeros(screen.n_guides, dtype=bool)
    wanted = {str(x) for x in control_guides}
    ids = screen.counts.index.astype(str)
    mask = ids.isin(wanted) | screen.genes.astype(str).isin(wanted).to_numpy()
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise InputError(
            f"control_guides: none of {sorted(wanted)[:5]} is a guide id or gene of the screen; "
            "give control guide ids or control gene names present in the count table"
        )
    return mask


def _arms(
    screen: CrisprScreen,
    control: Sequence[str] | None,
    treatment: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    ctrl = (
        list(control) if control is not None else (screen.arm("control") or screen.arm("reference"))
    )
    trt = list(treatment) if treatment is not None else screen.arm("treatment")
    names = set(screen.sample_names)
    for what, arm in (("control", ctrl), ("treatment", trt)):
        if not arm:
            raise InputError(
                f"mageck_rra: no {what} samples; pass {what}=[sample names] or set the samples' "
                "role ('control'/'reference' and 'treatment')"
            )
        missing = [s for s in arm if s not in names]
        if missing:
            raise InputError(
                f"mageck_rra: {what} sample(s) {missing} are not columns of the count table "
                f"(samples: {sorted(names)})"
            )
    overlap = set(ctrl) & set(trt)
    if overlap:
        raise InputError(f"mageck_rra: sample(s) {sorted(overlap)} are in both arms")
    return ctrl, trt


def mageck_rra(
    screen: CrisprScreen,
    *,
    control: Sequence[str] | None = None,
    treatment: Sequence[str] | None = None,
    norm_method: Literal["median", "total", "control", "none"] = "median",
    control_guides: Sequence[str] | None = None,
    alpha: float | None = None,
    fdr_threshold: float = 0.25,
    permutations: int = DEFAULT_PERMUTATIONS,
    gene_lfc: Literal["median", "mean"] = "median",
    cnv: pd.Series | Mapping[str, float] | None = None,
    null: Literal["uniform", "controls"] | None = None,
    rng: np.random.Generator | int | None = None,
) -> CrisprResult:
    """MAGeCK RRA (``mageck test``): negative and positive selection of genes.

    Parameters
    ----------
    screen
        The screen.
    control, treatment
        Sample names of each arm. Defaults: the ``control`` samples (or, if none, the
        ``reference`` samples) and the ``treatment`` samples.
    norm_method
        ``"median"`` (MAGeCK's default), ``"control"`` (median ratio on the control guides),
        ``"total"`` or ``"none"``.
    control_guides
        Control guide ids or control gene names (MAGeCK ``--control-sgrna`` /
        ``--control-gene``); default the guides flagged ``control`` in the screen. They set the
        ``"control"`` normalisation and (see ``null``) the RRA null distribution, and are left
        out of the gene table (as MAGeCK suppresses control genes).
    null
        Null genes of the permutation test: ``"uniform"`` (random guides of the whole list,
        MAGeCK's default) or ``"controls"`` (drawn from the control guides' percentiles, as
        MAGeCK does when it is given control sgRNAs/genes). ``None``: ``"controls"`` when
        ``control_guides`` is passed, else ``"uniform"``, also when the screen flags control
        guides (a library's non-cutting EGFP/LacZ guides are no null for cutting guides under a
        DNA-damaging drug: on the HeLa olaparib screen they give 89 "enriched" genes, most of
        them essential genes that drop out less under drug, where the uniform null and DrugZ
        give none).
    alpha
        RRA percentile cut-off per tail; ``None``: MAGeCK's default, the fraction of guides with
        one-tail p-value < ``fdr_threshold`` (:func:`mageck_alpha`).
    fdr_threshold
        MAGeCK's ``--gene-test-fdr-threshold`` (0.25), used when ``alpha`` is None.
    permutations
        Null genes per gene size for the permutation p-values.
    gene_lfc
        ``"median"`` (MAGeCK's default) or ``"mean"`` of the guides' LFCs.
    rng
        Seed or generator for the permutations.
    cnv
        Copy-number score per gene of the screened cells (a column of MAGeCK's
        ``cnv_data.txt``, as ``--cnv-norm ... --cell-line``). The guides' signed z (from their
        p-values) are regressed linearly on their gene's score and the trend is removed before
        ranking; guides of genes without a score are left as they are. The guide table keeps
        the uncorrected p-values (as MAGeCK's ``sgrna_summary``) and adds ``cnv`` and
        ``z_cnv``. A simple stand-in for MAGeCK's undocumented procedure: on MAGeCK's demo4 it
        raises the agreement of gene scores from 0.995 / 0.987 to 0.999 / 0.996 (Spearman).

    Returns
    -------
    CrisprResult
        ``genes`` (index gene, sorted by ``neg_rank``): ``num, neg_score, neg_pvalue, neg_fdr,
        neg_rank, neg_goodsgrna, neg_lfc, pos_score, pos_pvalue, pos_fdr, pos_rank,
        pos_goodsgrna, pos_lfc``; ``guides``: MAGeCK's sgrna_summary columns in snake_case.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> genes = np.repeat([f"G{i}" for i in range(50)], 4)
    >>> base = rng.integers(200, 800, size=(200, 1))
    >>> counts = rng.poisson(np.hstack([base, base, base, base]).astype(float))
    >>> counts[:4, 2:] //= 8                      # G0's guides depleted in the treatment
    >>> ids = [f"g{i}" for i in range(200)]
    >>> sc = CrisprScreen(pd.DataFrame(counts, index=ids, columns=["c1", "c2", "t1", "t2"]),
    ...                   pd.DataFrame({"gene": genes}, index=ids),
    ...                   pd.DataFrame({"role": ["control"] * 2 + ["treatment"] * 2},
    ...                                index=["c1", "c2", "t1", "t2"]))
    >>> mageck_rra(sc, permutations=2000, rng=1).genes.index[0]
    'G0'
    """
    rng = np.random.default_rng(rng)
    ctrl, trt = _arms(screen, control, treatment)
    notes: list[str] = list(getattr(screen, "notes", ()))
    ctl_mask = _resolve_controls(screen, control_guides)
    used = ctrl + trt
    counts = screen.counts[used].to_numpy(dtype=float)
    if norm_method == "control" and not ctl_mask.any():
        raise InputError(
            "norm_method='control' needs control guides: pass control_guides=[ids or genes] or "
            "flag them control=True in the screen's guide table"
        )
    norm, sf = normalise_counts(
        counts, method=norm_method, control_rows=ctl_mask if norm_method == "control" else None
    )
    nc, nt = norm[:, : len(ctrl)], norm[:, len(ctrl) :]

    if len(ctrl) >= 2:
        a, b, n_fit = fit_mean_variance(nc)
        var_from = "control"
    elif len(trt) >= 2:
        a, b, n_fit = fit_mean_variance(nt)
        var_from = "treatment"
        notes.append(
            "one control sample: the mean-variance model was fitted on the treatment replicates"
        )
    else:
        raise InputError(
            f"mageck_rra: one control ({ctrl[0]!r}) and one treatment ({trt[0]!r}) sample: the "
            "variance model needs at least 2 replicates in one arm; add replicates"
        )

    keep = counts.sum(axis=1) > 0
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} guides with zero counts in all samples left out")
    g = guide_tests(nc[keep], nt[keep], (a, b))
    guide_ids = screen.counts.index[keep]
    gene_of = screen.genes.to_numpy()[keep].astype(str)
    ctl_kept = ctl_mask[keep]

    # Control genes take part in the ranking (their guides are in the list) but are not scored.
    score_mask = ~ctl_kept if ctl_kept.any() and not ctl_kept.all() else np.ones_like(ctl_kept)
    if null is None:
        null = "controls" if control_guides is not None else "uniform"
    if null not in ("uniform", "controls"):
        raise InputError(f"null={null!r}: use 'uniform' or 'controls'")
    if null == "controls" and not ctl_kept.any():
        raise InputError(
            "null='controls' needs control guides: flag them in the screen (guide table column "
            "'control') or pass control_guides="
        )
    null_rows = np.flatnonzero(ctl_kept) if null == "controls" else None
    # Rank all kept guides; score only non-control genes: percentiles come from the full list.
    gene_names, codes_all = np.unique(gene_of, return_inverse=True)
    scored_genes = np.unique(codes_all[score_mask])
    remap = np.full(gene_names.size, -1)
    remap[scored_genes] = np.arange(scored_genes.size)

    params: dict[str, Any] = {
        "norm_method": norm_method,
        "size_factors": dict(zip(used, sf.tolist(), strict=True)),
        "mean_variance_model": {"a_log2": a, "b": b, "guides_fitted": n_fit, "from": var_from},
        "permutations": int(permutations),
        "fdr_threshold": fdr_threshold,
        "gene_lfc": gene_lfc,
        "null": "control guides" if null_rows is not None else "uniform over guides",
        "pseudocount_lfc": 1.0,
    }
    p_rank = {"neg": g["p_low"], "pos": g["p_high"]}
    cn_guide = None
    z_cnv = None
    if cnv is not None:
        cn_series = pd.Series(cnv, dtype=float)
        cn_guide = cn_series.reindex(gene_of).to_numpy()
        has = np.isfinite(cn_guide)
        z_cnv = g["z"].copy()  # signed: > 0 enriched in the treatment
        if has.sum() >= 3 and np.ptp(cn_guide[has]) > 0:
            slope, _ = np.polyfit(cn_guide[has], z_cnv[has], 1)
            z_cnv[has] -= slope * (cn_guide[has] - cn_guide[has].mean())
            p_rank = {"neg": stats.norm.cdf(z_cnv), "pos": stats.norm.sf(z_cnv)}
            params["cnv"] = {"slope_z_per_cn": float(slope), "guides": int(has.sum())}
            notes.append(
                f"CNV: linear trend of guide z on copy number removed before ranking (slope "
                f"{slope:.3g}; {int(has.sum())} of {has.size} guides have a score)"
            )
        else:
            notes.append("CNV: fewer than 3 guides with distinct copy-number scores; no correction")
    out: dict[str, Any] = {}
    for tail in ("neg", "pos"):
        p = p_rank[tail]
        a_t = mageck_alpha(p, fdr_threshold) if alpha is None else float(alpha)
        if not 0.0 < a_t <= 1.0:
            if alpha is not None:
                raise InputError(f"alpha={alpha!r}: give a fraction in (0, 1]")
            notes.append(
                f"{tail}: no guide has a one-tail p-value < {fdr_threshold}; alpha set to the "
                "single best guide's percentile"
            )
            a_t = 1.0 / p.size
        params[f"{tail}_alpha"] = a_t
        # Percentiles over the full list: rank once, then score the non-control genes.
        u_rank = stats.rankdata(p, method="ordinal")
        res = _score_subset(
            u_rank, remap[codes_all], scored_genes.size, a_t, null_rows, permutations, rng
        )
        out[tail] = res
        fewer = res["permutations"] < permutations
        if fewer.any() and tail == "neg":
            few = scored_genes[fewer]
            notes.append(
                f"{int(fewer.sum())} gene(s) with many guides ("
                + ", ".join(
                    f"{gene_names[g]}: {int(n)} guides"
                    for g, n in zip(few[:5], res["num"][fewer][:5], strict=False)
                )
                + f") got p-values from {int(res['permutations'][fewer].min()):,} null genes "
                f"instead of {permutations:,} (p-value resolution 1/(permutations + 1))"
            )

    lfc = pd.Series(g["lfc"]).groupby(gene_of).agg(gene_lfc)
    names = gene_names[scored_genes]
    genes = pd.DataFrame({"num": out["neg"]["num"]}, index=pd.Index(names, name="gene"))
    for tail in ("neg", "pos"):
        r = out[tail]
        genes[f"{tail}_score"] = r["score"]
        genes[f"{tail}_pvalue"] = r["pvalue"]
        genes[f"{tail}_fdr"] = r["fdr"]
        genes[f"{tail}_rank"] = stats.rankdata(np.c_[r["score"]], method="ordinal", axis=0)[
            :, 0
        ].astype(np.int64)
        genes[f"{tail}_goodsgrna"] = r["goodsgrna"]
        genes[f"{tail}_lfc"] = lfc.reindex(names).to_numpy()
    genes = genes.sort_values("neg_rank")

    guides = pd.DataFrame(
        {
            "gene": gene_of,
            "control_mean": g["control_mean"],
            "treat_mean": g["treat_mean"],
            "lfc": g["lfc"],
            "control_var": g["control_var"],
            "adj_var": g["adj_var"],
            "score": g["score"],
            "p_low": g["p_low"],
            "p_high": g["p_high"],
            "p_twosided": g["p_twosided"],
            "fdr": g["fdr"],
            "high_in_treatment": g["treat_mean"] > g["control_mean"],
        },
        index=pd.Index(guide_ids.astype(str), name="guide"),
    )
    if cn_guide is not None and z_cnv is not None:
        guides["cnv"] = cn_guide
        guides["z_cnv"] = z_cnv
    guides = guides.sort_values("p_twosided", kind="stable")
    if null_rows is not None:
        notes.append(
            f"{int(ctl_kept.sum())} control guides: RRA null drawn from their percentiles; "
            "control genes are not in the gene table"
        )
    elif ctl_kept.any():
        notes.append(
            f"{int(ctl_kept.sum())} control guides are ranked with the others but not scored as "
            "genes; the RRA null is uniform over guides (null='controls' draws it from them)"
        )
    params["seed_state"] = "rng argument"
    return CrisprResult(
        method="rra",
        genes=genes,
        guides=guides,
        comparison={"control": ctrl, "treatment": trt},
        params=params,
        notes=tuple(notes),
    )


def _score_subset(
    ranks: np.ndarray,
    codes: np.ndarray,
    n_genes: int,
    alpha: float,
    null_rows: np.ndarray | None,
    permutations: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """RRA on the guides with code >= 0, percentiles taken over all ``ranks``."""
    sel = codes >= 0
    # rra_scores re-ranks its input, so give it the full-list ranks of the scored guides only
    # through a value that preserves them: percentiles over the full list are ranks / n_all.
    n_all = ranks.size
    u = ranks / n_all
    res = _rra_on_percentiles(
        u[sel],
        codes[sel],
        n_genes,
        alpha,
        n_all,
        None if null_rows is None else u[null_rows],
        permutations,
        rng,
    )
    return res


def _rra_on_percentiles(
    u: np.ndarray,
    codes: np.ndarray,
    n_genes: int,
    alpha: float,
    n_all: int,
    null_pool: np.ndarray | None,
    permutations: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    order = np.lexsort((u, codes))
    cs = codes[order]
    us = u[order]
    num = np.bincount(cs, minlength=n_genes)
    starts = np.concatenate(([0], np.cumsum(num)[:-1]))
    k = np.arange(us.size) - starts[cs] + 1.0
    n_of = num[cs].astype(float)
    b = special.betainc(k, n_of + 1.0 - k, us)
    keep = (us <= alpha) | (k == 1.0)
    rho = np.minimum.reduceat(np.where(keep, b, np.inf), starts)
    good = np.add.reduceat((us <= alpha).astype(np.int64), starts)
    pvalue = np.empty(n_genes)
    used = np.empty(n_genes, dtype=np.int64)
    for n in np.unique(num):
        sel = np.flatnonzero(num == n)
        chunk = max(1, _CHUNK // int(n))
        below = np.zeros(sel.size, dtype=np.int64)
        done = 0
        n_perm = min(permutations, max(_MIN_PERMUTATIONS, _MAX_NULL_CELLS // int(n)))
        used[sel] = n_perm
        while done < n_perm:
            m = min(chunk, n_perm - done)
            if null_pool is None:
                draw = (rng.integers(0, n_all, size=(m, int(n))) + 1.0) / n_all
            else:
                draw = null_pool[rng.integers(0, null_pool.size, size=(m, int(n)))]
            null = np.sort(_rho_sorted(np.sort(draw, axis=1), alpha))
            below += np.searchsorted(null, rho[sel], side="right")
            done += m
        pvalue[sel] = (1.0 + below) / (1.0 + n_perm)
    return {
        "permutations": used,
        "score": rho,
        "pvalue": pvalue,
        "fdr": stats.false_discovery_control(pvalue),
        "goodsgrna": good,
        "num": num,
    }
