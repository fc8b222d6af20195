"""Quality control of a pooled CRISPR screen: per sample, per replicate pair, per screen.

What is measured (nothing is excluded; every threshold is stated in the flag it raises):

* per sample: reads (depth), reads per guide, guides with zero reads and their fraction,
  guides detected, the median-ratio size factor, and the **Gini index** of the guide counts.
  The Gini index is computed, as MAGeCK's ``count`` reports it (Li et al., Genome Biol
  2015;16:281, MAGeCK-VISPR), on the log-scaled counts ``log(count + 1)``:
  ``G = sum_i (2 i - n - 1) x_(i) / (n sum_i x_i)`` over the ascending values ``x_(i)``;
* per sample pair: Pearson and Spearman correlation of ``log2(normalised count + 1)``,
  labelled as replicates of one arm, or a comparison between arms;
* per non-reference sample (when a reference T0 / plasmid sample exists): guide log2 fold
  changes vs the reference, gene LFC (mean over the gene's guides), and how well they separate
  reference essential from non-essential genes: ROC AUC (essentials expected to deplete, so
  the score is ``-LFC``), precision-recall AUC (average precision) and the SSMD of Zhang
  (Genomics 2007;89:552): ``(mean_E - mean_N) / sqrt(var_E + var_N)`` of the gene LFCs
  (negative when essentials deplete).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._results import ResultMixin
from ..data._crispr import CrisprScreen
from ..errors import InputError
from ._normalise import normalise_counts

__all__ = ["QC_THRESHOLDS", "CrisprQC", "crispr_qc", "gini_index"]

#: Thresholds of the QC flags (the flag text repeats the one that applies).
QC_THRESHOLDS: Mapping[str, float] = {
    # MAGeCK-VISPR (Li 2015) recommends Gini ~0.1 for plasmid / early samples, ~0.2 late
    "gini_reference": 0.1,
    "gini_late": 0.2,
    # MAGeCK-VISPR: zero-count sgRNAs should be few (~1%) in plasmid / early samples
    "zero_fraction_reference": 0.01,
    # rule of thumb for replicate concordance of log-normalised counts (see crispr_qc)
    "replicate_r": 0.8,
    "essential_auc": 0.8,
    "reads_per_guide": 100.0,
}


def gini_index(counts: np.ndarray) -> np.ndarray:
    """Gini index of each column of ``counts`` (guides x samples), on ``log(count + 1)``.

    0 for perfectly even counts, towards 1 when few guides hold all reads.

    Examples
    --------
    >>> import numpy as np
    >>> float(gini_index(np.array([[5], [5], [5]]))[0])
    0.0
    """
    x = np.sort(np.log1p(np.asarray(counts, dtype=float)), axis=0)
    n = x.shape[0]
    w = 2.0 * np.arange(1, n + 1) - n - 1
    tot = x.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (w @ x) / (n * tot)
    return np.where(tot > 0, g, np.nan)


@dataclass(frozen=True, eq=False)
class CrisprQC(ResultMixin):
    """Quality control of one screen (:func:`crispr_qc`).

    Attributes
    ----------
    samples
        One row per sample (index ``sample``): ``role, replicate, reads, reads_per_guide,
        zero_guides, zero_fraction, detected_guides, size_factor, gini``.
    replicates
        One row per sample pair: ``sample_1, sample_2, kind`` (``replicate`` = two samples of
        one arm, ``between_arms``, ``vs_reference``), ``pearson_r, spearman_r`` of log2
        normalised counts and ``pearson_r_lfc`` of their LFCs vs the reference (NaN without a
        reference or for the reference itself).
    separation
        One row per non-reference sample: ``median_guide_lfc``, ``n_essential``,
        ``n_nonessential`` (genes of the sets found in the library), ``essential_mean_lfc``,
        ``nonessential_mean_lfc``, ``auc``, ``pr_auc``, ``ssmd``. Empty without a reference
        sample; NaN statistics without gene sets.
    flags
        What looks wrong, each with its threshold.
    params
        Normalisation, pseudocount, thresholds and gene-set sizes used.
    """

    samples: pd.DataFrame
    replicates: pd.DataFrame
    separation: pd.DataFrame
    flags: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per sample: the sample table with its separation columns (a copy)."""
        return self.samples.join(self.separation, how="left").reset_index()

    def checks(self) -> dict[str, Any]:
        """The numbers a reader checks first."""
        rep = self.replicates[self.replicates["kind"] == "replicate"]
        sep = self.separation
        return {
            "n_samples": len(self.samples),
            "median_reads": float(self.samples["reads"].median()),
            "max_gini": float(self.samples["gini"].max()),
            "min_replicate_r": float(rep["pearson_r"].min()) if len(rep) else None,
            "min_auc": float(sep["auc"].min()) if len(sep) and sep["auc"].notna().any() else None,
            "n_flags": len(self.flags),
            "flags": list(self.flags),
        }

    def summary(self) -> str:
        """One line: samples, reads, Gini, replicate agreement, separation and flags."""
        c = self.checks()

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3g}"

        return (
            f"CrisprQC: {c['n_samples']} samples, median {c['median_reads']:,.0f} reads, "
            f"max Gini {fmt(c['max_gini'])}, min replicate r {fmt(c['min_replicate_r'])}, "
            f"min AUC {fmt(c['min_auc'])}; {c['n_flags']} flag(s)"
        )

    def __repr__(self) -> str:
        return f"CrisprQC({len(self.samples)} samples, {len(self.flags)} flag(s))"


def _as_set(genes: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if genes is None:
        return None
    if isinstance(genes, str):
        raise InputError(f"{what}: give a collection of gene symbols, not one string")
    return frozenset(str(g) for g in genes)


def _log_norm(screen: CrisprScreen) -> tuple[np.ndarray, np.ndarray]:
    norm, sf = normalise_counts(screen.counts.to_numpy(), method="median")
    return np.log2(norm + 1.0), sf


def crispr_qc(
    screen: CrisprScreen,
    *,
    essential: Iterable[str] | None = None,
    nonessential: Iterable[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> CrisprQC:
    """Quality control of ``screen``: depth, zero guides, Gini, replicates, essential separation.

    Counts are median-ratio normalised over all samples (:func:`normalise_counts`), then
    ``log2(normalised + 1)``; fold changes are against the mean of the reference samples. No
    guide or sample is dropped; what fails a threshold is a flag.

    Replicate concordance is the Pearson r of log2 normalised counts between two samples of
    the same arm (flagged below 0.8, a rule of thumb rather than a published cut-off; the
    Pearson r of the two samples' LFCs vs the reference is reported beside it and is the
    stricter measure, as library representation alone makes count correlations high).

    Parameters
    ----------
    screen
        The screen.
    essential, nonessential
        Reference essential and non-essential genes (e.g. Hart 2014 CEG / NEG from
        :func:`oncoresist.data._crispr_datasets.load_essential_genes`). Without them the
        separation statistics are NaN.
    thresholds
        Overrides of :data:`QC_THRESHOLDS`.

    Returns
    -------
    CrisprQC

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"T0": [100, 90, 110, 95], "late": [10, 80, 120, 100]},
    ...                  index=list("abcd"))
    >>> g = pd.DataFrame({"gene": ["E1", "N1", "N2", "N3"]}, index=list("abcd"))
    >>> s = pd.DataFrame({"role": ["reference", "control"]}, index=["T0", "late"])
    >>> qc = crispr_qc(CrisprScreen(c, g, s), essential={"E1"}, nonessential={"N1", "N2", "N3"})
    >>> float(qc.separation.loc["late", "auc"])
    1.0
    """
    th = dict(QC_THRESHOLDS)
    if thresholds:
        unknown = sorted(set(thresholds) - set(th))
        if unknown:
            raise InputError(f"unknown QC threshold(s) {unknown}; known: {sorted(th)}")
        th.update({k: float(v) for k, v in thresholds.items()})
    ess = _as_set(essential, "essential")
    non = _as_set(nonessential, "nonessential")
    if ess is not None and non is not None and ess & non:
        both = sorted(ess & non)
        raise InputError(
            f"{len(both)} gene(s) are in both the essential and the non-essential set "
            f"({', '.join(both[:5])}); the sets must be disjoint"
        )
    x = screen.counts.to_numpy()
    names = screen.sample_names
    roles = screen.samples["role"].to_numpy()
    logn, sf = _log_norm(screen)

    reads = x.sum(axis=0)
    zeros = (x == 0).sum(axis=0)
    n = x.shape[0]
    samples = pd.DataFrame(
        {
            "role": roles,
            "replicate": screen.samples["replicate"].to_numpy(),
            "reads": reads.astype(np.int64),
            "reads_per_guide": reads / n,
            "zero_guides": zeros.astype(np.int64),
            "zero_fraction": zeros / n,
            "detected_guides": (n - zeros).astype(np.int64),
            "size_factor": sf,
            "gini": gini_index(x),
        },
        index=pd.Index(names, name="sample"),
    )

    ref = np.flatnonzero(roles == "reference")
    lfc = None
    if ref.size:
        lfc = logn - logn[:, ref].mean(axis=1, keepdims=True)

    # every pair of samples: correlations on all guides at once (corrcoef of columns)
    m = len(names)
    iu, ju = np.triu_indices(m, k=1)
    pear = np.corrcoef(logn, rowvar=False) if m > 1 else np.ones((1, 1))
    spear = stats.spearmanr(logn).statistic if m > 2 else None
    if m == 2:
        spear = np.array([[1.0, stats.spearmanr(logn[:, 0], logn[:, 1]).statistic]] * 2)
    non_ref = roles != "reference"
    if lfc is not None and non_ref.sum() > 1:
        lfc_r = np.full((m, m), np.nan)
        sub = np.flatnonzero(non_ref)
        lfc_r[np.ix_(sub, sub)] = np.corrcoef(lfc[:, sub], rowvar=False)
    else:
        lfc_r = np.full((m, m), np.nan)
    kind = np.where(
        (roles[iu] == "reference") | (roles[ju] == "reference"),
        "vs_reference",
        np.where(roles[iu] == roles[ju], "replicate", "between_arms"),
    )
    replicates = pd.DataFrame(
        {
            "sample_1": np.asarray(names, dtype=object)[iu],
            "sample_2": np.asarray(names, dtype=object)[ju],
            "kind": kind,
            "pearson_r": pear[iu, ju] if m > 1 else [],
            "spearman_r": np.asarray(spear)[iu, ju] if m > 1 else [],
            "pearson_r_lfc": lfc_r[iu, ju],
        }
    )

    sep_cols = ["median_guide_lfc", "n_essential", "n_nonessential", "essential_mean_lfc",
                "nonessential_mean_lfc", "auc", "pr_auc", "ssmd"]  # fmt: skip
    if lfc is None:
        separation = pd.DataFrame(columns=sep_cols, index=pd.Index([], name="sample"))
    else:
        separation = _separation(screen, lfc[:, non_ref], [names[i] for i in np.flatnonzero(non_ref)],
                                 ess, non)  # fmt: skip
    flags = _flags(samples, replicates, separation, th, ess is not None and non is not None,
                   has_ref=bool(ref.size), notes=screen.notes)  # fmt: skip
    params = {
        "normalisation": "median",
        "pseudocount": 1.0,
        "log": "log2(normalised + 1)",
        "gini_on": "log(count + 1)",
        "lfc_reference": [names[i] for i in ref],
        "gene_lfc": "mean of the gene's guide LFCs",
        "n_essential_set": None if ess is None else len(ess),
        "n_nonessential_set": None if non is None else len(non),
        "thresholds": th,
    }
    return CrisprQC(samples, replicates, separation, tuple(flags), params)


def _separation(
    screen: CrisprScreen,
    lfc: np.ndarray,
    names: list[str],
    ess: frozenset[str] | None,
    non: frozenset[str] | None,
) -> pd.DataFrame:
    genes = screen.guides["gene"].to_numpy()
    codes, uniq = pd.factorize(genes)
    counts = np.bincount(codes)
    gene_lfc = np.zeros((uniq.size, lfc.shape[1]))
    np.add.at(gene_lfc, codes, lfc)
    gene_lfc /= counts[:, None]
    out = pd.DataFrame(
        {"median_guide_lfc": np.median(lfc, axis=0)}, index=pd.Index(names, name="sample")
    )
    nan = np.full(len(names), np.nan)
    if ess is None or non is None:
        for c in ("n_essential", "n_nonessential"):
            out[c] = 0
        for c in ("essential_mean_lfc", "nonessential_mean_lfc", "auc", "pr_auc", "ssmd"):
            out[c] = nan
        return out
    # hash look-ups (np.isin on object arrays sorts them)
    is_e = pd.Index(uniq).isin(list(ess))
    is_n = pd.Index(uniq).isin(list(non))
    out["n_essential"] = int(is_e.sum())
    out["n_nonessential"] = int(is_n.sum())
    if not is_e.any() or not is_n.any():
        for c in ("essential_mean_lfc", "nonessential_mean_lfc", "auc", "pr_auc", "ssmd"):
            out[c] = nan
        return out
    e, ne = gene_lfc[is_e], gene_lfc[is_n]
    out["essential_mean_lfc"] = e.mean(axis=0)
    out["nonessential_mean_lfc"] = ne.mean(axis=0)
    # ROC AUC = P(an essential depletes more than a non-essential), ties 1/2: the
    # Mann-Whitney U of the essentials' depletion scores (-LFC) over n_E * n_N
    both = np.vstack([e, ne])
    ranks = stats.rankdata(-both, axis=0)
    ne_n, e_n = ne.shape[0], e.shape[0]
    u = ranks[:e_n].sum(axis=0) - e_n * (e_n + 1) / 2
    out["auc"] = u / (e_n * ne_n)
    out["pr_auc"] = _average_precision(-both, e_n)
    var = e.var(axis=0, ddof=1) + ne.var(axis=0, ddof=1) if min(e_n, ne_n) > 1 else nan
    out["ssmd"] = (e.mean(axis=0) - ne.mean(axis=0)) / np.sqrt(var)
    return out


def _average_precision(score: np.ndarray, n_pos: int) -> np.ndarray:
    """Average precision per column; the first ``n_pos`` rows are the positives. Tied scores
    are taken as one threshold (as scikit-learn's ``average_precision_score``)."""
    out = np.empty(score.shape[1])
    label = np.zeros(score.shape[0], dtype=bool)
    label[:n_pos] = True
    for j in range(score.shape[1]):  # per sample, a handful
        order = np.argsort(-score[:, j], kind="mergesort")
        s, y = score[order, j], label[order]
        tp = np.cumsum(y)
        last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
        tp_t = tp[last]
        prec = tp_t / (last + 1)
        rec = tp_t / n_pos
        out[j] = float(np.sum(np.diff(np.r_[0.0, rec]) * prec))
    return out


def _flags(
    samples: pd.DataFrame,
    replicates: pd.DataFrame,
    separation: pd.DataFrame,
    th: Mapping[str, float],
    has_sets: bool,
    *,
    has_ref: bool,
    notes: Iterable[str],
) -> list[str]:
    flags: list[str] = list(notes)
    ref = samples["role"] == "reference"
    for s, row in samples[ref].iterrows():
        if row["gini"] > th["gini_reference"]:
            flags.append(f"{s}: Gini index {row['gini']:.4f} > {th['gini_reference']} (reference "
                         "sample: the library is uneven before selection)")  # fmt: skip
        if row["zero_fraction"] > th["zero_fraction_reference"]:
            flags.append(
                f"{s}: {row['zero_fraction']:.2%} of guides have zero reads > "
                f"{th['zero_fraction_reference']:.0%} (reference sample: guides lost from the "
                "library or too little depth)"
            )
    for s, row in samples[~ref].iterrows():
        if row["gini"] > th["gini_late"]:
            flags.append(f"{s}: Gini index {row['gini']:.4f} > {th['gini_late']} (late sample: "
                         "strong bottleneck or over-selection)")  # fmt: skip
    for s, row in samples.iterrows():
        if row["reads_per_guide"] < th["reads_per_guide"]:
            flags.append(f"{s}: {row['reads_per_guide']:.0f} reads per guide < "
                         f"{th['reads_per_guide']:.0f} (low sequencing depth)")  # fmt: skip
    rep = replicates[replicates["kind"] == "replicate"]
    for _, row in rep.iterrows():
        if row["pearson_r"] < th["replicate_r"]:
            flags.append(
                f"{row['sample_1']} vs {row['sample_2']}: replicate Pearson r of log2 normalised "
                f"counts {row['pearson_r']:.3f} < {th['replicate_r']}"
            )
    if not has_ref:
        flags.append("no reference sample: fold changes and essential separation not computed")
    elif has_sets:
        for s, row in separation.iterrows():
            if not np.isfinite(row["auc"]):
                flags.append(f"{s}: no essential / non-essential genes of the sets in the library")
            elif row["auc"] < th["essential_auc"]:
                flags.append(
                    f"{s}: essential vs non-essential ROC AUC {row['auc']:.3f} < "
                    f"{th['essential_auc']} (essential genes barely deplete: weak selection, too "
                    "few population doublings, or poor knockout efficiency)"
                )
    return flags
