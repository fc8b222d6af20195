"""Gene targets from CRISPR gene effect: dependencies selective for resistant-like lines.

Lines that share the resistance features (a mutation, a list of alterations) are compared with
the other lines of the lineage gene by gene: mean gene effect in and out, their difference,
Cohen's d, a one-sided Welch t test (or Mann-Whitney U) that the in-group effect is lower,
Benjamini-Hochberg FDR, and the fraction of in-group lines with an effect below -0.5.
Common-essential genes are excluded first (DepMap's official common essentials by default),
because a pan-lethal knockout is no selective target; they are counted, never dropped silently.

Gene effect is DepMap's Chronos scale (Dempster et al. 2021, Genome Biol 22:343): 0 is no
effect, -1 the median effect of common-essential genes. An effect below -0.5 is the cutoff
most DepMap-based studies use for "dependent" (DepMap's own binary call is the probability of
dependency > 0.5, which needs the ``gene_dependency`` file this subset does not carry).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import stats

from .._results import ResultMixin
from ..errors import InputError

__all__ = [
    "DEPENDENCY_THRESHOLD",
    "DependencyResult",
    "LineSelection",
    "PermutationCheck",
    "permutation_check",
    "resistance_like_lines",
    "selective_dependencies",
]

#: Chronos gene effect below which a line counts as dependent on a gene (see module docstring).
DEPENDENCY_THRESHOLD = -0.5

_CITATION = (
    "DepMap (Tsherniak et al. 2017, Cell 170:564; Chronos: Dempster et al. 2021, "
    "Genome Biol 22:343)"
)
_COLUMNS = [
    "rank", "mean_in", "mean_out", "difference", "cohens_d", "statistic", "pvalue", "fdr",
    "fraction_dependent_in", "fraction_dependent_out", "n_in", "n_out",
]  # fmt: skip


@dataclass(frozen=True)
class DependencyResult(ResultMixin):
    """Per-gene comparison of gene effect between an in-group and an out-group of lines.

    Attributes
    ----------
    table
        One row per tested gene (index ``gene``), best first: ``rank`` (1 = most selective
        for the in-group; missing where the gene could not be tested), ``mean_in``,
        ``mean_out``, ``difference`` (in minus out; negative = more dependent in the
        in-group), ``cohens_d`` (difference over the pooled standard deviation),
        ``statistic`` (Welch t or Mann-Whitney U), ``pvalue`` (one-sided: in-group lower),
        ``fdr`` (Benjamini-Hochberg over the tested genes), ``fraction_dependent_in`` /
        ``fraction_dependent_out`` (lines with effect < ``threshold``), ``n_in``, ``n_out``
        (lines with a value).
    in_group, out_group
        The line ids compared.
    excluded
        Genes of the data removed before testing (common essentials or ``exclude``).
    untested
        Genes kept but not testable (fewer than 2 values in a group, or no variance).
    test, rank_by, threshold, exclude_set, source
        The test, the ranking key, the dependency cutoff, what was excluded and the data set
        named.
    notes
        What was done, counted.
    """

    table: pd.DataFrame
    in_group: tuple[str, ...]
    out_group: tuple[str, ...]
    excluded: tuple[str, ...]
    untested: tuple[str, ...]
    test: str
    rank_by: str
    threshold: float
    exclude_set: str
    source: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """The table with ``gene`` as a column and the evidence columns of a strategy row."""
        return self.table.reset_index().assign(
            test=self.test, rank_by=self.rank_by, source=self.source, citation=_CITATION
        )

    def rank_of(self, genes: Iterable[str]) -> pd.Series:
        """Rank of each of ``genes`` (missing where absent, excluded or untested)."""
        genes = list(genes)
        return self.table["rank"].reindex(genes).rename("rank")

    def summary(self) -> str:
        """One line: genes tested, groups, discoveries at FDR < 0.05 and the top gene."""
        t = self.table
        n_sig = int((t["fdr"] < 0.05).sum()) if "fdr" in t else 0
        top = f"; top {t.index[0]} (d={float(t['difference'].iloc[0]):+.2f})" if len(t) else ""
        return (
            f"DependencyResult ({self.test}): {len(t)} genes, {len(self.in_group)} in-group vs "
            f"{len(self.out_group)} out-group lines; {n_sig} at FDR < 0.05{top}"
        )

    def describe(self) -> str:
        """Counts and the ten top genes, one line each."""
        top = self.table.head(10)
        lines = list(self.notes)
        lines.append(
            "top: "
            + ", ".join(f"{g} (d={r.difference:+.2f}, fdr={r.fdr:.2g})" for g, r in top.iterrows())
        )
        return "\n".join(lines)


def _ids(values: Iterable[str] | str, what: str) -> list[str]:
    if isinstance(values, str):
        raise InputError(f"{what}: give a list of line ids, not the single string {values!r}")
    out = list(dict.fromkeys(str(v) for v in values))
    return out


def _unknown(ids: Sequence[str], known: pd.Index, what: str) -> None:
    missing = [i for i in ids if i not in known]
    if missing:
        close = difflib.get_close_matches(missing[0], known.astype(str), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(
            f"{what}: {len(missing)} line id(s) not in the gene-effect columns: "
            f"{', '.join(missing[:10])}{hint}. Use the data's column ids (DepMap ACH- ids)"
        )


def _exclusion(exclude: Iterable[str] | str | None) -> tuple[frozenset[str], str]:
    if exclude is None:
        return frozenset(), "none"
    if isinstance(exclude, str):
        from ..data._crispr_datasets import ESSENTIAL_SETS, load_essential_genes

        if exclude not in ESSENTIAL_SETS:
            raise InputError(
                f"exclude={exclude!r}: not a known essential gene set; choose from "
                f"{', '.join(ESSENTIAL_SETS)}, give a list of genes, or None"
            )
        return load_essential_genes(cast(Any, exclude))[0], ESSENTIAL_SETS[exclude][2]
    genes = frozenset(str(g) for g in exclude)
    return genes, f"{len(genes)} genes given"


def _welch_less(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    res = stats.ttest_ind(a, b, axis=1, equal_var=False, alternative="less", nan_policy="omit")
    return np.asarray(res.statistic, float), np.asarray(res.pvalue, float)


def _mannwhitney_less(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    res = stats.mannwhitneyu(a, b, axis=1, alternative="less", nan_policy="omit")
    return np.asarray(res.statistic, float), np.asarray(res.pvalue, float)


def _run_test(a: np.ndarray, b: np.ndarray, test: str) -> tuple[np.ndarray, np.ndarray]:
    """One-sided test per row; rows without NaN in one vectorised call (scipy handles rows
    with NaN one slice at a time under ``nan_policy="omit"``)."""
    run = _welch_less if test == "welch" else _mannwhitney_less
    statistic = np.full(len(a), np.nan)
    pvalue = np.full(len(a), np.nan)
    full = ~(np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1))
    with warnings.catch_warnings():
        # a group with identical values (the other group varies) is a valid Welch input
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        for rows in (full, ~full):
            if rows.any():
                statistic[rows], pvalue[rows] = run(a[rows], b[rows])
    return statistic, pvalue


def selective_dependencies(
    gene_effect: pd.DataFrame,
    in_group: Sequence[str],
    out_group: Sequence[str] | None = None,
    *,
    exclude: Iterable[str] | str | None = "depmap_common",
    min_lines: int = 3,
    test: Literal["welch", "mannwhitney"] = "welch",
    threshold: float = DEPENDENCY_THRESHOLD,
    rank_by: Literal["difference", "pvalue", "cohens_d"] = "difference",
    source: str = "gene effect given",
) -> DependencyResult:
    """Genes whose knockout is selectively lethal in ``in_group`` compared with ``out_group``.

    Parameters
    ----------
    gene_effect
        Genes (rows) x lines (columns), Chronos scale (negative = dependency); NaN allowed.
    in_group
        Line ids (columns of ``gene_effect``) that share the resistance features.
    out_group
        Line ids to compare with; default: all other columns of ``gene_effect``.
    exclude
        Genes removed before testing: a key of
        :data:`oncoresist.data._crispr_datasets.ESSENTIAL_SETS` (default ``"depmap_common"``:
        DepMap 26Q1 official common essentials), a list of genes, or None.
    min_lines
        Fewest lines each group must have (:class:`InputError` otherwise).
    test
        ``"welch"`` (Welch's t test) or ``"mannwhitney"`` (Mann-Whitney U); one-sided, the
        alternative being a lower gene effect in the in-group.
    threshold
        Gene effect below which a line counts as dependent (default -0.5).
    rank_by
        Order of ``rank``: ``"difference"`` (default; the mean difference in gene effect, in
        Chronos units, most negative first), ``"pvalue"`` (one-sided p, ties by difference)
        or ``"cohens_d"``. With few lines in a group (4 NRAS-mutant melanoma lines, say) the
        p-value and Cohen's d are dominated by the variance estimate of that group and favour
        genes with small, uniform shifts; the difference keeps the size of the dependency.
        Only testable genes are ranked; the p-value and FDR are in the table whatever the
        order.
    source
        Data set and version named in the evidence (e.g.
        :data:`oncoresist.data._depmap.CHRONOS_SOURCE`).

    Returns
    -------
    DependencyResult
        ``table`` in the order of ``rank``, untested genes last.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ge = pd.DataFrame(rng.normal(0, 0.2, (50, 12)), index=[f"G{i}" for i in range(50)],
    ...                   columns=[f"L{j}" for j in range(12)])
    >>> ge.loc["G7", ["L0", "L1", "L2", "L3"]] -= 1.5
    >>> res = selective_dependencies(ge, ["L0", "L1", "L2", "L3"], exclude=None)
    >>> res.table.index[0]
    'G7'
    """
    if not isinstance(gene_effect, pd.DataFrame):
        raise InputError(
            f"gene_effect must be a pandas DataFrame (genes x lines), got {type(gene_effect)}"
        )
    if test not in ("welch", "mannwhitney"):
        raise InputError(f"test={test!r}: choose 'welch' or 'mannwhitney'")
    if rank_by not in ("difference", "pvalue", "cohens_d"):
        raise InputError(f"rank_by={rank_by!r}: choose 'difference', 'pvalue' or 'cohens_d'")
    if min_lines < 2:
        raise InputError(f"min_lines={min_lines}: at least 2 lines per group are needed")
    try:
        numeric = all(pd.api.types.is_numeric_dtype(t) for t in gene_effect.dtypes)
        values = (gene_effect if numeric else gene_effect.apply(pd.to_numeric)).astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"gene_effect: non-numeric values ({exc}); give Chronos scores") from exc
    values.columns = values.columns.astype(str)
    values.index = values.index.astype(str)
    if values.columns.duplicated().any():
        dup = values.columns[values.columns.duplicated()].unique()
        raise InputError(f"gene_effect: duplicated line ids {', '.join(dup[:10])}")
    inn = _ids(in_group, "in_group")
    _unknown(inn, values.columns, "in_group")
    if out_group is None:
        out = [c for c in values.columns if c not in set(inn)]
    else:
        out = _ids(out_group, "out_group")
        _unknown(out, values.columns, "out_group")
        both = sorted(set(inn) & set(out))
        if both:
            raise InputError(
                f"{len(both)} line(s) are in both groups: {', '.join(both[:10])}; a line "
                "belongs to one group"
            )
    for name, group in (("in_group", inn), ("out_group", out)):
        if len(group) < min_lines:
            raise InputError(
                f"{name} has {len(group)} line(s) ({', '.join(group[:10]) or 'none'}), fewer "
                f"than min_lines={min_lines}; add lines or lower min_lines"
            )

    genes_excl, exclude_set = _exclusion(exclude)
    excluded_mask = np.fromiter((g in genes_excl for g in values.index), bool, len(values))
    excluded = tuple(values.index[excluded_mask])
    kept = values[~excluded_mask]
    a = kept[inn].to_numpy()
    b = kept[out].to_numpy()
    n_a = np.sum(~np.isnan(a), axis=1)
    n_b = np.sum(~np.isnan(b), axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # all-NaN rows and single values give NaN means and variances: they are untested
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_a = np.nanmean(a, axis=1) if a.size else np.full(len(kept), np.nan)
        mean_b = np.nanmean(b, axis=1)
        var_a = np.nanvar(a, axis=1, ddof=1)
        var_b = np.nanvar(b, axis=1, ddof=1)
        pooled = np.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
        diff = mean_a - mean_b
        cohen = diff / pooled
        stacked = np.concatenate([a, b], axis=1)
        spread = np.nanmax(stacked, axis=1) - np.nanmin(stacked, axis=1)
        testable = (n_a >= 2) & (n_b >= 2) & (spread > 0)
        frac_a = np.sum(a < threshold, axis=1) / n_a
        frac_b = np.sum(b < threshold, axis=1) / n_b
    statistic = np.full(len(kept), np.nan)
    pvalue = np.full(len(kept), np.nan)
    if testable.any():
        statistic[testable], pvalue[testable] = _run_test(a[testable], b[testable], test)
    ok = testable & ~np.isnan(pvalue)
    fdr = np.full(len(kept), np.nan)
    if ok.any():
        fdr[ok] = stats.false_discovery_control(pvalue[ok], method="bh")
    table = pd.DataFrame(
        {
            "mean_in": mean_a,
            "mean_out": mean_b,
            "difference": diff,
            "cohens_d": np.where(testable, cohen, np.nan),
            "statistic": statistic,
            "pvalue": pvalue,
            "fdr": fdr,
            "fraction_dependent_in": frac_a,
            "fraction_dependent_out": frac_b,
            "n_in": n_a,
            "n_out": n_b,
        },
        index=pd.Index(kept.index, name="gene"),
    )
    keys = ["pvalue", "difference"] if rank_by == "pvalue" else [rank_by, "pvalue"]
    table["_untested"] = ~ok
    table = table.sort_values(["_untested", *keys], na_position="last", kind="stable")
    rank = pd.Series(pd.NA, index=table.index, dtype="Int64")
    rank[~table["_untested"].to_numpy()] = np.arange(1, int(ok.sum()) + 1)
    table.insert(0, "rank", rank)
    table = table[_COLUMNS]
    untested = tuple(kept.index[~ok])
    label = "Welch t test" if test == "welch" else "Mann-Whitney U test"
    notes = (
        f"{source}: {len(inn)} in-group vs {len(out)} out-group lines; {label}, one-sided "
        f"(in-group lower), BH FDR; ranked by {rank_by}",
        f"{len(values)} genes in the data; {len(excluded)} excluded ({exclude_set}); "
        f"{int(ok.sum())} tested; {len(untested)} not testable (fewer than 2 values in a group "
        "or no variance)",
        f"{int((table['fdr'] < 0.1).sum())} genes at FDR < 0.1; dependency cutoff gene effect "
        f"< {threshold}",
    )
    return DependencyResult(
        table=table,
        in_group=tuple(inn),
        out_group=tuple(out),
        excluded=excluded,
        untested=untested,
        test=test,
        rank_by=rank_by,
        threshold=float(threshold),
        exclude_set=exclude_set,
        source=source,
        notes=notes,
    )


@dataclass(frozen=True)
class PermutationCheck(ResultMixin):
    """How many genes reach the FDR cutoff when the group labels are shuffled.

    BH controls the FDR when the p-values are valid; with few lines in a group and real,
    heavy-tailed and correlated gene effects they may not be. Shuffling the labels of the
    same lines keeps the genes' correlation and distributions and removes any real
    difference, so the discoveries it yields are false ones.

    Attributes
    ----------
    observed
        Genes at ``fdr < fdr_cutoff`` with the true labels.
    null
        The same count for each label permutation.
    fdr_cutoff, test, n_in, n_out
        The cutoff, the test and the group sizes.
    empirical_pvalue
        ``(1 + #{null >= observed}) / (1 + n_permutations)``.
    notes
        The result in words.
    """

    observed: int
    null: np.ndarray
    fdr_cutoff: float
    test: str
    n_in: int
    n_out: int
    empirical_pvalue: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fraction_with_false_discoveries(self) -> float:
        """Share of permutations with at least one gene below the cutoff."""
        return float(np.mean(self.null > 0))

    def to_frame(self) -> pd.DataFrame:
        """One row per permutation: ``permutation, n_discoveries``."""
        return pd.DataFrame({"permutation": np.arange(len(self.null)), "n_discoveries": self.null})

    def summary(self) -> str:
        """One line: observed discoveries against the label-permutation null."""
        return (
            f"PermutationCheck ({self.test}): {self.observed} genes at FDR < {self.fdr_cutoff:g} "
            f"with the true labels; {len(self.null)} permutations, "
            f"{self.fraction_with_false_discoveries:.0%} with a false discovery, "
            f"empirical p {self.empirical_pvalue:.3g}"
        )

    def describe(self) -> str:
        """The notes, one line each."""
        return "\n".join(self.notes)


def permutation_check(
    gene_effect: pd.DataFrame,
    in_group: Sequence[str],
    out_group: Sequence[str] | None = None,
    *,
    n_permutations: int = 100,
    fdr_cutoff: float = 0.1,
    exclude: Iterable[str] | str | None = "depmap_common",
    test: Literal["welch", "mannwhitney"] = "welch",
    rng: int | np.random.Generator | None = None,
) -> PermutationCheck:
    """Count discoveries of :func:`selective_dependencies` under shuffled group labels.

    The lines of both groups are pooled and re-split at the same sizes ``n_permutations``
    times. Use it to judge the FDR of a comparison with few lines.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ge = pd.DataFrame(rng.normal(0, 0.2, (50, 12)), index=[f"G{i}" for i in range(50)],
    ...                   columns=[f"L{j}" for j in range(12)])
    >>> chk = permutation_check(ge, ["L0", "L1", "L2", "L3"], exclude=None, n_permutations=20,
    ...                         rng=1)
    >>> len(chk.null)
    20
    """
    if n_permutations < 1:
        raise InputError(f"n_permutations={n_permutations}: give at least 1")
    genes, _ = _exclusion(exclude)
    first = selective_dependencies(gene_effect, in_group, out_group, exclude=genes, test=test)
    pool = np.array(first.in_group + first.out_group)
    k = len(first.in_group)
    gen = np.random.default_rng(rng)
    null = np.empty(n_permutations, dtype=int)
    for i in range(n_permutations):
        perm = gen.permutation(pool)
        res = selective_dependencies(
            gene_effect, list(perm[:k]), list(perm[k:]), exclude=genes, test=test
        )
        null[i] = int((res.table["fdr"] < fdr_cutoff).sum())
    observed = int((first.table["fdr"] < fdr_cutoff).sum())
    emp = float((1 + np.sum(null >= observed)) / (1 + n_permutations))
    frac = float(np.mean(null > 0))
    notes = (
        f"{test}, {k} vs {len(pool) - k} lines: {observed} genes at FDR < {fdr_cutoff} with "
        f"the true labels; under {n_permutations} label permutations mean "
        f"{null.mean():.2f}, 95th percentile {np.percentile(null, 95):.1f}, at least one in "
        f"{frac:.1%} of them (BH promises at most about {fdr_cutoff:.0%} when no gene "
        f"differs); empirical p of the observed count {emp:.3g}",
    )
    return PermutationCheck(
        observed=observed,
        null=null,
        fdr_cutoff=float(fdr_cutoff),
        test=test,
        n_in=k,
        n_out=len(pool) - k,
        empirical_pvalue=emp,
        notes=notes,
    )


# --------------------------------------------------------------------------- line selection
@dataclass(frozen=True)
class LineSelection(ResultMixin):
    """Lines of a lineage that share resistance features (in-group) and a comparison group.

    Attributes
    ----------
    in_group, out_group
        Line ids, in the order of the dependency data.
    lineage
        The lineage used, or None when all lines were used.
    fell_back
        True when the lineage has no line in the dependency data and all lines were used.
    table
        Per candidate line: ``group`` (``in``, ``out``, ``excluded``), ``lineage`` and the
        feature calls.
    notes
        What was selected and why lines were left out, counted.
    """

    in_group: tuple[str, ...]
    out_group: tuple[str, ...]
    lineage: str | None
    fell_back: bool
    table: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """The per-line table with ``line`` as a column."""
        return self.table.reset_index()

    def summary(self) -> str:
        """One line: in-group and out-group sizes and the lineage."""
        lin = "all lines" if self.lineage is None else f"lineage {self.lineage}"
        fb = " (fell back to all lines)" if self.fell_back else ""
        return (
            f"LineSelection: {len(self.in_group)} in-group, {len(self.out_group)} out-group "
            f"lines from {lin}{fb}"
        )

    def describe(self) -> str:
        """The notes, one line each."""
        return "\n".join(self.notes)


def _features(value: str | Sequence[str] | None, what: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(str(v) for v in items))


def _lineage_of(annotations: pd.DataFrame | pd.Series, columns: Sequence[str]) -> pd.DataFrame:
    if isinstance(annotations, pd.Series):
        return annotations.astype("string").to_frame("lineage")
    cols = [c for c in columns if c in annotations.columns]
    if not cols:
        raise InputError(
            f"annotations: none of the lineage columns {list(columns)} is present; columns are "
            f"{', '.join(map(str, annotations.columns[:15]))}"
        )
    return annotations[cols].astype("string")


def resistance_like_lines(
    mutations: pd.DataFrame,
    features: str | Sequence[str],
    lines: Iterable[str],
    *,
    lineage: str | None = None,
    annotations: pd.DataFrame | pd.Series | None = None,
    out_features: str | Sequence[str] | None = None,
    lineage_columns: Sequence[str] = (
        "OncotreeLineage",
        "OncotreePrimaryDisease",
        "OncotreeSubtype",
    ),
) -> LineSelection:
    """Select the lines that share the resistance features, within a lineage.

    Parameters
    ----------
    mutations
        Lines x alterations, 1 altered / 0 not / NaN not assessed (e.g.
        :func:`oncoresist.data._depmap.fetch_depmap_line_mutations` ``.calls``, or a user's
        table with columns such as ``BRAF`` or ``ERBB2_amp``).
    features
        The alteration column(s) a line must carry, all of them, to be in the in-group.
    lines
        The lines available in the dependency data (``gene_effect.columns``).
    lineage
        Restrict both groups to this lineage (matched, case-insensitively, against any of
        ``lineage_columns`` of ``annotations``). A lineage no annotation knows is an
        :class:`InputError`; a known lineage with no line in the dependency data falls back
        to all lines, and the notes say so.
    annotations
        Lineage per line: a DataFrame with ``lineage_columns`` (default: DepMap 24Q2
        ``Model.csv``, :func:`oncoresist.data._depmap.fetch_depmap_models`) or a Series.
    out_features
        When given, the out-group is the lines carrying any of these (and none of
        ``features``), e.g. NRAS-mutant lines against BRAF-mutant ones; by default it is the
        lines with calls that carry none of ``features``.
    lineage_columns
        Annotation columns searched for ``lineage``.

    Returns
    -------
    LineSelection

    Examples
    --------
    >>> muts = pd.DataFrame({"BRAF": [1, 1, 0, 0], "NRAS": [0, 0, 1, 1]},
    ...                     index=["L1", "L2", "L3", "L4"])
    >>> sel = resistance_like_lines(muts, "BRAF", muts.index, out_features="NRAS",
    ...                             annotations=pd.Series("Melanoma", index=muts.index),
    ...                             lineage="melanoma")
    >>> sel.in_group, sel.out_group
    (('L1', 'L2'), ('L3', 'L4'))
    """
    if not isinstance(mutations, pd.DataFrame):
        raise InputError(
            f"mutations must be a DataFrame (lines x alterations), got {type(mutations)}"
        )
    feats = _features(features, "features")
    outs = _features(out_features, "out_features")
    if not feats:
        raise InputError("features: name at least one alteration (a column of the mutation table)")
    cols = mutations.columns.astype(str)
    for what, group in (("features", feats), ("out_features", outs)):
        missing = [f for f in group if f not in cols]
        if missing:
            close = difflib.get_close_matches(missing[0], cols, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InputError(
                f"{what}: {', '.join(missing)} not a column of the mutation table{hint}; it "
                f"has {len(cols)} columns ({', '.join(cols[:8])}, ...)"
            )
    overlap = sorted(set(feats) & set(outs))
    if overlap:
        raise InputError(f"{', '.join(overlap)} named in both features and out_features")
    available = pd.Index(list(dict.fromkeys(str(x) for x in lines)), name="line")
    calls = mutations.copy()
    calls.index = calls.index.astype(str)
    calls.columns = cols
    calls = calls[~calls.index.duplicated()][feats + outs].apply(pd.to_numeric, errors="coerce")
    notes: list[str] = []
    used: str | None = None
    fell_back = False
    universe = available
    lineage_table = pd.DataFrame(index=available)
    if lineage is not None:
        if annotations is None:
            from ..data._depmap import fetch_depmap_models

            annotations = fetch_depmap_models()
        lin = _lineage_of(annotations, lineage_columns)
        lin.index = lin.index.astype(str)
        lin = lin[~lin.index.duplicated()]
        key = lineage.strip().casefold()
        match = lin.apply(lambda col: col.str.strip().str.casefold() == key).fillna(False)
        known = match.any(axis=None)
        if not known:
            names = sorted({str(v) for v in lin.to_numpy().ravel() if not pd.isna(v)})
            close = difflib.get_close_matches(lineage, names, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise InputError(
                f"lineage {lineage!r} is not in the annotations ({', '.join(lin.columns)}).{hint}"
            )
        of_lineage = lin.index[match.any(axis=1)]
        lineage_table = lin.reindex(available)
        in_data = available[available.isin(of_lineage)]
        if len(in_data) == 0:
            fell_back = True
            notes.append(
                f"lineage {lineage!r} has no line in the dependency data ({len(of_lineage)} "
                f"annotated lines, none screened here): fell back to all {len(available)} "
                "lines of the data; evidence from other lineages"
            )
        else:
            used = lineage
            universe = in_data
            notes.append(
                f"lineage {lineage!r}: {len(in_data)} of {len(available)} lines of the data"
            )
    sub = calls.reindex(universe)
    assessed = sub.notna().all(axis=1).to_numpy()
    carries = (sub[feats] == 1).all(axis=1).to_numpy() & assessed
    lacks = (sub[feats] == 0).all(axis=1).to_numpy() & assessed
    if outs:
        has_out = (sub[outs] == 1).any(axis=1).to_numpy()
        in_mask = carries & ~has_out
        out_mask = lacks & has_out
    else:
        in_mask = carries
        out_mask = lacks
    membership = pd.Series("excluded", index=universe, name="group")
    membership[in_mask] = "in"
    membership[out_mask] = "out"
    n_unassessed = int(np.sum(~assessed))
    n_other = int(np.sum(membership.to_numpy() == "excluded")) - n_unassessed
    feat_text = " + ".join(feats)
    out_text = (" / ".join(outs) + "-altered") if outs else f"without {feat_text}"
    notes.append(
        f"in-group ({feat_text}): {int(in_mask.sum())} lines; out-group ({out_text}): "
        f"{int(out_mask.sum())} lines; left out: {n_unassessed} without a call for "
        f"{', '.join(feats + outs)}, {n_other} in neither group"
    )
    table = pd.concat([membership, sub], axis=1)
    if len(lineage_table.columns):
        table = table.join(lineage_table, how="left")
    table.index.name = "line"
    return LineSelection(
        in_group=tuple(universe[in_mask]),
        out_group=tuple(universe[out_mask]),
        lineage=used,
        fell_back=fell_back,
        table=table,
        notes=tuple(notes),
    )
