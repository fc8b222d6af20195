"""Transcriptional connectivity scoring: which compounds' signatures mimic or reverse a query.

Two published scores of a query (an *up* and a *down* gene set) against each compound's
signature (genes x compounds z-scores, e.g. the LINCS L1000 consensus signatures of 1,170
DrugBank compounds over the 978 landmark genes):

``method="ks"`` -- Lamb et al., Science 313:1929 (2006), the Connectivity Map.
    Each compound's genes are ranked by decreasing z (position ``V(j)`` of the ``j``-th tag, in
    increasing order, ``n`` genes, ``t`` tags). ``a = max_j [j/t - V(j)/n]``,
    ``b = max_j [V(j)/n - (j-1)/t]``; ``ks = a`` if ``a > b`` else ``-b``. The raw connectivity
    ``s = ks_up - ks_down``, set to 0 when ``ks_up`` and ``ks_down`` have the same sign; the
    score is ``s / max(s)`` for positive and ``s / |min(s)|`` for negative ``s``, the extremes
    taken over the compounds scored (so the score is in [-1, 1] and relative to the collection).

``method="wtcs"`` -- Subramanian et al., Cell 171:1437 (2017), the weighted connectivity score.
    The enrichment score of each set is the weighted running sum of GSEA (Subramanian et al.,
    PNAS 2005, weight exponent 1): walking down the compound's genes by decreasing z, a set gene
    adds ``|z| / sum_set |z|``, any other gene subtracts ``1 / (n - t)``; ES is the sum's largest
    deviation from zero. ``WTCS = (ES_up - ES_down) / 2`` if the two have different signs, else 0
    (in [-1, 1]).

The null (the same for both methods, documented in every result): ``n_null`` random queries,
each an up and a down set of the query's sizes drawn without replacement and disjoint from the
genes of the signatures, scored against every compound. A random gene set occupies uniformly
random positions in every compound's ranking, so the sets are drawn as positions, shared by
all compounds (the same null distribution per compound, and no per-compound sort). Per compound, the permutation p-value is
``(1 + #{null : |null| >= |observed|}) / (1 + n_null)`` (two-sided; an observed score of exactly
0, i.e. same-sign enrichments, gets p = 1), the FDR is Benjamini-Hochberg across compounds
(:func:`scipy.stats.false_discovery_control`), and the normalised score ``ncs`` divides a positive
(negative) raw score by the mean of that compound's positive (the absolute mean of its negative)
null scores. This per-compound random-query null differs from CLUE's normalisation, which
divides by the mean over all signatures of a cell type; CLUE's ``tau`` (a percentile against
the Touchstone reference queries) needs that reference set and is not built here.
``null="compounds"`` instead compares each compound with the query's scores on all the other
compounds (p = share at least as extreme) and gives ``ncs`` as CLUE does, by the signed mean
of the same-sign scores over all compounds.

Ties in z are broken by the signatures' gene order (a stable sort), as any ranking must.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from oncoresist._results import ResultMixin
from oncoresist.errors import DataUnavailableError, InputError

__all__ = [
    "LINCS_DATASET",
    "ConnectivityResult",
    "QuerySignature",
    "connectivity_matrix",
    "connectivity_scores",
    "lincs_compounds",
    "load_lincs_signatures",
    "signature_from_profile",
]

#: Mirror folder of the LINCS L1000 consensus signatures (dhimmel/lincs, DrugBank compounds).
LINCS_DATASET = "lincs_l1000_consensus_drugbank"
_SOURCE = (
    "LINCS L1000 consensus signatures of DrugBank compounds (2015 lincscloud level 5, "
    "dhimmel/lincs @ ff88e02, CC BY 4.0; names dhimmel/drugbank @ 6b9ae38, DrugBank 4.x, "
    "CC BY-NC 4.0)"
)
_CITATION = {
    "ks": "Lamb J et al. Science 2006;313:1929-35 (Connectivity Map)",
    "wtcs": "Subramanian A et al. Cell 2017;171:1437-52 (L1000, weighted connectivity score)",
}
_STATISTIC = {"ks": "lamb_connectivity_score", "wtcs": "weighted_connectivity_score"}
_METHODS = ("ks", "wtcs")
# elements of the (compounds x queries x set size) position block computed at once
_BLOCK = 4_000_000
# a null score equal to the observed one (up to rounding) counts as "as extreme"
_TOL = 1e-12
_NULLS = ("gene_sets", "compounds")


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def _lincs_path(name: str) -> Path:
    """A file of the LINCS consensus data set: mirror, cache or its upstream URL, checksummed."""
    from ..data._datasets import fetch_file

    return fetch_file(LINCS_DATASET, name)


@lru_cache(maxsize=1)
def _lincs_signatures_cached() -> pd.DataFrame:
    z = pd.read_csv(_lincs_path("consensi-drugbank.tsv.gz"), sep="\t", index_col=0)
    info = pd.read_csv(_lincs_path("geneinfo.tsv.gz"), sep="\t", dtype=str)
    landmarks = info[info["is_lm"] == "True"]
    symbol = dict(zip(landmarks["pr_gene_id"], landmarks["pr_gene_symbol"], strict=True))
    missing = [g for g in z.columns if g not in symbol]
    if missing:
        raise DataUnavailableError(
            f"{LINCS_DATASET}: {len(missing)} signature genes are not landmarks in "
            f"geneinfo.tsv.gz (e.g. {missing[:3]}); the mirror copy looks altered"
        )
    out = z.T.astype(float)
    out.index = pd.Index([symbol[g] for g in z.columns], name="gene")
    out.columns.name = "compound"
    return out


@lru_cache(maxsize=1)
def _lincs_prepared() -> tuple[np.ndarray, np.ndarray]:
    rank, sorted_abs = _prepare(_lincs_signatures_cached().to_numpy(dtype=float))
    rank.flags.writeable = False
    sorted_abs.flags.writeable = False
    return rank, sorted_abs


def load_lincs_signatures() -> pd.DataFrame:
    """LINCS L1000 consensus z-score signatures: 978 landmark genes x 1,170 DrugBank compounds.

    Rows are landmark gene symbols (from the L1000 ``geneinfo`` table), columns DrugBank ids.
    Raises :class:`~oncoresist.errors.DataUnavailableError` when the mirror lacks the data.

    Examples
    --------
    >>> sig = load_lincs_signatures()  # doctest: +SKIP
    >>> sig.shape  # doctest: +SKIP
    (978, 1170)
    """
    return _lincs_signatures_cached().copy()


@lru_cache(maxsize=1)
def _lincs_compounds_cached() -> pd.DataFrame:
    db = pd.read_csv(_lincs_path("drugbank.tsv.gz"), sep="\t", index_col=0, dtype=str)
    ids = _lincs_signatures_cached().columns
    out = db.reindex(ids)[["name", "groups", "atc_codes", "categories"]]
    out.index.name = "compound"
    return out


def lincs_compounds() -> pd.DataFrame:
    """Names and DrugBank groups of the 1,170 LINCS consensus compounds (DrugBank 4.x).

    Index: DrugBank id; columns ``name``, ``groups`` (approved, experimental, ...),
    ``atc_codes``, ``categories``. DrugBank content is licensed CC BY-NC 4.0 (non-commercial).
    """
    return _lincs_compounds_cached().copy()


# --------------------------------------------------------------------------------------------
# query signatures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuerySignature(ResultMixin):
    """Up and down landmark gene sets made from an expression difference.

    Attributes
    ----------
    up, down
        Genes with the largest positive / negative values among the landmark genes.
    n_input
        Genes in the profile.
    n_missing_value
        Genes without a finite value (not used).
    n_not_landmark
        Genes with a value that are not among the signature genes (not used).
    not_landmark
        Their names.
    """

    up: tuple[str, ...]
    down: tuple[str, ...]
    n_input: int
    n_missing_value: int
    n_not_landmark: int
    not_landmark: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per query gene: ``gene`` and ``direction`` (``up`` or ``down``)."""
        genes = [*self.up, *self.down]
        return pd.DataFrame(
            {"gene": genes, "direction": ["up"] * len(self.up) + ["down"] * len(self.down)}
        )

    def summary(self) -> str:
        """One line: set sizes and what was not used."""
        return (
            f"query signature: {len(self.up)} up, {len(self.down)} down of {self.n_input} "
            f"profile genes ({self.n_not_landmark} not among the signature genes, "
            f"{self.n_missing_value} without a value)"
        )

    def __repr__(self) -> str:
        return f"QuerySignature(up={len(self.up)}, down={len(self.down)}, n_input={self.n_input})"


def signature_from_profile(
    expression: pd.Series,
    genes: Sequence[str] | None = None,
    *,
    n: int = 50,
) -> QuerySignature:
    """Turn a resistant-vs-parental expression difference into up / down landmark gene sets.

    Parameters
    ----------
    expression
        Gene symbol -> log fold change (or z-score) of resistant vs parental.
    genes
        The genes the signatures measure; default the 978 LINCS L1000 landmark genes.
    n
        Genes per set: the ``n`` largest positive values form ``up``, the ``n`` most negative
        ``down`` (fewer when fewer genes move in that direction).

    Examples
    --------
    >>> import pandas as pd
    >>> q = signature_from_profile(pd.Series({"A": 2.0, "B": -1.0, "X": 3.0}), ["A", "B"], n=1)
    >>> q.up, q.down, q.n_not_landmark
    (('A',), ('B',), 1)
    """
    if not isinstance(expression, pd.Series):
        raise InputError(
            f"expression must be a pandas Series (gene -> log fold change), got "
            f"{type(expression).__name__}"
        )
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputError(f"n must be a positive integer (genes per set), got {n!r}")
    universe = set(map(str, _lincs_signatures_cached().index if genes is None else genes))
    values = pd.to_numeric(expression, errors="coerce").astype(float)
    values.index = values.index.map(str)
    if values.index.has_duplicates:
        dup = values.index[values.index.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"expression has duplicated genes (e.g. {dup}); aggregate them to one value per gene"
        )
    finite = values[np.isfinite(values.to_numpy())]
    in_universe = finite.index.isin(list(universe))
    used = finite[in_universe]
    not_lm = tuple(finite.index[~in_universe])
    # stable order: by value, ties by gene name
    frame = pd.DataFrame({"gene": used.index, "value": used.to_numpy()})
    up = frame[frame["value"] > 0].sort_values(["value", "gene"], ascending=[False, True])
    down = frame[frame["value"] < 0].sort_values(["value", "gene"], ascending=[True, True])
    return QuerySignature(
        up=tuple(up["gene"].head(n)),
        down=tuple(down["gene"].head(n)),
        n_input=len(values),
        n_missing_value=int(len(values) - len(finite)),
        n_not_landmark=len(not_lm),
        not_landmark=not_lm,
    )


# --------------------------------------------------------------------------------------------
# vectorised enrichment
# --------------------------------------------------------------------------------------------


def _prepare(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per compound: each gene's 0-based position by decreasing z, and |z| in that order.

    ``z`` is genes x compounds; both outputs are compounds x genes.
    """
    order = np.argsort(-z.T, axis=1, kind="stable")
    n_c, n_g = order.shape
    # int32 halves the memory traffic of the gathers (position * compound fits for any L1000 use)
    rank = np.empty(order.shape, dtype=np.int64 if n_c * n_g >= 2**31 else np.int32)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n_g), (n_c, n_g)), axis=1)
    sorted_abs = np.abs(np.take_along_axis(z.T, order, axis=1))
    return rank, sorted_abs


def _es_sorted(pos: np.ndarray, w: np.ndarray | None, n_g: int, method: str) -> np.ndarray:
    """Enrichment from the tags' sorted 0-based positions (``... x t``): one score per row.

    Only the positions are needed: the running sum's maximum is reached at a tag, its minimum
    just before one (or at the ends, where it is 0). ``w``: the tags' |z| (WTCS only).
    """
    t = pos.shape[-1]
    j = np.arange(1, t + 1, dtype=float)
    if method == "ks":
        v = (pos + 1) / n_g
        a = (j / t - v).max(axis=-1)
        b = (v - (j - 1) / t).max(axis=-1)
        return np.where(a > b, a, -b)
    if w is None:
        raise TypeError("the weighted score needs the tags' weights")
    total = w.sum(axis=-1, keepdims=True)
    # a set whose genes all have z = 0 in a compound: weigh its genes equally
    if not total.all():
        w = np.where(total > 0, w, 1.0)
        total = np.where(total > 0, total, t)
    cum = np.cumsum(w, axis=-1)
    cum /= total
    dev = cum - (pos - j + 1) / (n_g - t)  # the running sum at each tag
    hi = dev.max(axis=-1)
    dev -= w / total  # ... and just before it
    low = np.minimum(dev.min(axis=-1), 0.0)
    return np.where(hi >= -low, hi, low)


def _enrichment(
    rank: np.ndarray, sorted_abs: np.ndarray, sets: np.ndarray, method: str
) -> np.ndarray:
    """Enrichment score of each gene set (rows of ``sets``) in each compound: queries x compounds."""
    n_c, n_g = rank.shape
    n_q, t = sets.shape
    out = np.empty((n_q, n_c))
    step = max(1, _BLOCK // max(1, n_c * t))
    flat_abs = sorted_abs.ravel()
    offset = (np.arange(n_c, dtype=np.int64) * n_g)[:, None, None]
    for lo in range(0, n_q, step):
        pos = rank[:, sets[lo : lo + step]]  # compounds x queries x t
        pos.sort(axis=-1)
        w = flat_abs[pos + offset] if method == "wtcs" else None
        out[lo : lo + step] = _es_sorted(pos, w, n_g, method).T
    return out


def _null_enrichment(sorted_abs: np.ndarray, positions: np.ndarray, method: str) -> np.ndarray:
    """Enrichment of random sets given as sorted positions (``n_null x t``): n_null x compounds.

    A gene set drawn uniformly at random occupies a uniformly random set of positions in every
    compound's ranking, so the null is drawn in position space: no gather and no sort per
    compound, and for Lamb's (unweighted) score the null is the same for every compound.
    """
    n_c, n_g = sorted_abs.shape
    n_q, t = positions.shape
    if method == "ks":
        return np.broadcast_to(_es_sorted(positions, None, n_g, method)[:, None], (n_q, n_c))
    out = np.empty((n_q, n_c))
    step = max(1, _BLOCK // max(1, n_c * t))
    for lo in range(0, n_q, step):
        pos = positions[lo : lo + step]
        w = sorted_abs[:, pos]  # compounds x queries x t
        out[lo : lo + step] = _es_sorted(pos[None], w, n_g, method).T
    return out


def _combine(es_up: np.ndarray, es_down: np.ndarray, method: str) -> np.ndarray:
    raw = es_up - es_down
    if method == "wtcs":
        raw = raw / 2.0
    return np.where(np.sign(es_up) == np.sign(es_down), 0.0, raw)


def _lamb_scale(raw: np.ndarray) -> np.ndarray:
    """Lamb's scaling by the largest positive and negative raw score over the compounds."""
    p = raw.max(initial=0.0)
    q = raw.min(initial=0.0)
    out = np.zeros_like(raw)
    if p > 0:
        out = np.where(raw > 0, raw / p, out)
    if q < 0:
        out = np.where(raw < 0, raw / -q, out)
    return out


def _ncs(raw: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Raw score / mean of the same-sign null scores (columns: compounds; rows: draws)."""
    pos_mean = np.where(nulls > 0, nulls, 0).sum(0) / np.maximum((nulls > 0).sum(0), 1)
    neg_mean = np.where(nulls < 0, nulls, 0).sum(0) / np.maximum((nulls < 0).sum(0), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            raw > 0,
            np.where(pos_mean > 0, raw / pos_mean, np.nan),
            np.where(raw < 0, np.where(neg_mean < 0, raw / -neg_mean, np.nan), 0.0),
        )


def _random_sets(
    n_genes: int, n_up: int, n_down: int, n_null: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_null`` disjoint (up, down) sets of the given sizes of 0..n_genes-1, at random."""
    # the order of random keys is a uniform permutation (argpartition's is not: the split into
    # up and down would then depend on the index, i.e. on the position in the ranking)
    picks = np.argsort(rng.random((n_null, n_genes)), axis=1)[:, : n_up + n_down]
    return picks[:, :n_up], picks[:, n_up:]


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectivityResult(ResultMixin):
    """Connectivity of one query with each compound's signature.

    Attributes
    ----------
    table
        One row per compound, by decreasing ``score`` (mimics first, reversers last):
        ``rank``, ``compound``, ``name``, ``score`` (Lamb's scaled score or WTCS, in [-1, 1]),
        ``raw_score`` (Lamb's unscaled ``s``; equal to ``score`` for WTCS), ``es_up``,
        ``es_down``, ``ncs`` (raw score / mean of the same-sign null), ``pvalue``
        (permutation, two-sided), ``fdr`` (Benjamini-Hochberg over compounds), ``n_up``,
        ``n_down`` (query genes found), ``statistic``, ``source``, ``citation``.
    method
        ``"ks"`` or ``"wtcs"``.
    n_null
        Random queries in the gene-set null (0: none, or the compounds null; see ``null``).
    query_up, query_down
        Query genes found among the signature genes, as used.
    missing_up, missing_down
        Query genes not among the signature genes (not used).
    null
        What the null is, in words.
    """

    table: pd.DataFrame
    method: str
    n_null: int
    query_up: tuple[str, ...]
    query_down: tuple[str, ...]
    missing_up: tuple[str, ...] = ()
    missing_down: tuple[str, ...] = ()
    null: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """The per-compound table (a copy)."""
        return self.table.copy()

    def reversers(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` compounds with the most negative scores (signature reversal first)."""
        neg = self.table[self.table["score"] < 0]
        return neg.sort_values("score", kind="stable").head(n).reset_index(drop=True)

    def summary(self) -> str:
        """One line: query sizes, compounds, discoveries and the strongest reverser."""
        t = self.table
        rev = self.reversers(1)
        top = (
            f"; top reverser {rev['name'].iloc[0]} ({float(rev['score'].iloc[0]):+.2f})"
            if len(rev)
            else ""
        )
        return (
            f"ConnectivityResult ({self.method}): {len(self.query_up)} up / "
            f"{len(self.query_down)} down query genes against {len(t)} compounds; "
            f"{int((t['fdr'] < 0.05).sum())} at FDR < 0.05{top}"
        )

    def describe(self) -> str:
        """Text: query, method, null, and the strongest mimics and reversers."""
        t = self.table
        sig = int((t["fdr"] < 0.05).sum())

        def _names(rows: pd.DataFrame) -> str:
            return ", ".join(f"{r.name} ({r.score:+.2f})" for r in rows.itertuples()) or "none"

        lines = [
            f"connectivity ({self.method}, {_CITATION[self.method]}) of a query of "
            f"{len(self.query_up)} up / {len(self.query_down)} down genes against "
            f"{len(t)} compounds",
            f"query genes not among the signature genes: {len(self.missing_up)} up, "
            f"{len(self.missing_down)} down",
            f"null: {self.null}",
            f"FDR < 0.05: {sig} compounds",
            f"top mimics: {_names(t[t['score'] > 0].head(5))}",
            f"top reversers: {_names(self.reversers(5))}",
            *self.notes,
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ConnectivityResult(method={self.method!r}, compounds={len(self.table)}, "
            f"up={len(self.query_up)}, down={len(self.query_down)}, n_null={self.n_null})"
        )


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------


def _validated_signatures(signatures: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(signatures, pd.DataFrame):
        raise InputError(
            f"signatures must be a DataFrame (genes x compounds z-scores), got "
            f"{type(signatures).__name__}"
        )
    if signatures.shape[0] < 3 or signatures.shape[1] < 1:
        raise InputError(
            f"signatures must have at least 3 genes (rows) and one compound (column), got "
            f"shape {signatures.shape}"
        )
    genes = signatures.index.map(str)
    if genes.has_duplicates:
        dup = genes[genes.duplicated()].unique()[:5].tolist()
        raise InputError(f"signatures has duplicated genes (rows), e.g. {dup}")
    if signatures.columns.has_duplicates:
        dup = signatures.columns[signatures.columns.duplicated()].unique()[:5].tolist()
        raise InputError(f"signatures has duplicated compounds (columns), e.g. {dup}")
    try:
        values = signatures.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"signatures must be numeric z-scores: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        cols = signatures.columns[bad.any(axis=0)][:5].tolist()
        raise InputError(
            f"signatures has {int(bad.sum())} missing or infinite values (compounds {cols}); "
            "fill or drop them first"
        )
    out = pd.DataFrame(values, index=genes, columns=signatures.columns)
    return out


def _match(query: Sequence[str], genes: pd.Index, label: str) -> tuple[list[str], list[str]]:
    if isinstance(query, str):
        raise InputError(f"{label} must be a sequence of gene symbols, not one string {query!r}")
    lookup = {g: g for g in genes}
    upper = {g.upper(): g for g in genes}
    found: list[str] = []
    missing: list[str] = []
    for raw in query:
        g = str(raw).strip()
        hit = lookup.get(g) or upper.get(g.upper())
        if hit is None:
            missing.append(g)
        elif hit not in found:
            found.append(hit)
    return found, missing


def connectivity_scores(
    query_up: Sequence[str],
    query_down: Sequence[str],
    signatures: pd.DataFrame | None = None,
    *,
    method: str = "wtcs",
    n_null: int = 1000,
    null: str = "gene_sets",
    names: Mapping[str, str] | pd.Series | None = None,
    rng: np.random.Generator | int | None = None,
) -> ConnectivityResult:
    """Score a query (up and down gene sets) against each compound's transcriptional signature.

    A positive score means the compound's signature resembles the query; a negative score means
    it reverses it (the repurposing candidates for a resistance signature). See the module
    docstring for the formulas and the null.

    Parameters
    ----------
    query_up, query_down
        Gene symbols up / down in the query (e.g. resistant vs parental); genes not among the
        signature genes are counted in the result and not used. Either may be empty (the score
        is then that of the other set alone, as in Lamb 2006) but not both.
    signatures
        Genes x compounds z-scores; default the LINCS L1000 consensus signatures of 1,170
        DrugBank compounds (:func:`load_lincs_signatures`, needs the data mirror).
    method
        ``"wtcs"`` (Subramanian 2017, weighted) or ``"ks"`` (Lamb 2006).
    n_null
        Random queries of the same set sizes for p-values and ``ncs``; 0 skips them.
    null
        ``"gene_sets"``: random queries of the same sizes (asks "does this compound connect
        more than a random gene set would"; gene-gene correlation is ignored, so strong real
        signatures connect "significantly" with many compounds). ``"compounds"``: the query's
        scores on all compounds (asks "is this compound unusual among the compounds"; ``ncs``
        is then CLUE's normalisation by the signed mean over signatures; ``n_null`` unused).
        Its p-value is a percentile among the compounds (the k-th strongest gets about k / C),
        so its BH FDR is near 1 by construction: rank by it, do not test with it.
    names
        Compound id -> display name; default the DrugBank names for the LINCS data, else ids.
    rng
        Seed or generator for the null.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 3)),
    ...                  index=[f"G{i}" for i in range(100)], columns=["a", "b", "c"])
    >>> up = z["a"].nlargest(10).index.tolist(); down = z["a"].nsmallest(10).index.tolist()
    >>> res = connectivity_scores(up, down, z, n_null=200, rng=1)
    >>> res.table["compound"].iloc[0]
    'a'
    """
    if method not in _METHODS:
        raise InputError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if null not in _NULLS:
        raise InputError(f"null must be one of {', '.join(_NULLS)}, got {null!r}")
    if not isinstance(n_null, (int, np.integer)) or isinstance(n_null, bool) or n_null < 0:
        raise InputError(f"n_null must be a non-negative integer, got {n_null!r}")
    default_data = signatures is None
    sig = _lincs_signatures_cached() if signatures is None else _validated_signatures(signatures)
    up, missing_up = _match(query_up, sig.index, "query_up")
    down, missing_down = _match(query_down, sig.index, "query_down")
    both = sorted(set(up) & set(down))
    if both:
        raise InputError(
            f"{len(both)} genes are in both query_up and query_down (e.g. {both[:5]}); "
            "a gene can only move one way"
        )
    if not up and not down:
        raise InputError(
            f"none of the {len(missing_up) + len(missing_down)} query genes is among the "
            f"{len(sig.index)} signature genes (e.g. {(missing_up + missing_down)[:5]}); "
            "use gene symbols of the signature rows (for LINCS: the 978 landmark genes)"
        )
    n_genes = len(sig.index)
    if len(up) + len(down) >= n_genes:
        raise InputError(
            f"the query ({len(up)} up + {len(down)} down) must be smaller than the "
            f"{n_genes} signature genes"
        )
    gen = np.random.default_rng(rng)
    rank, sorted_abs = (
        _lincs_prepared() if signatures is None else _prepare(sig.to_numpy(dtype=float))
    )
    gene_pos = {g: i for i, g in enumerate(sig.index)}
    n_c = rank.shape[0]

    def _es(idx: list[int]) -> np.ndarray:
        if not idx:
            return np.zeros(n_c)
        return _enrichment(rank, sorted_abs, np.asarray([idx]), method)[0]

    es_up = _es([gene_pos[g] for g in up])
    es_down = _es([gene_pos[g] for g in down])
    raw = _combine(es_up, es_down, method) if up and down else (es_up if up else -es_down)
    score = _lamb_scale(raw) if method == "ks" else raw

    ncs = np.full(n_c, np.nan)
    pvalue = np.full(n_c, np.nan)
    fdr = np.full(n_c, np.nan)
    if null == "compounds":
        # each compound against the query's scores on all the others (CLUE's normalisation)
        others = np.abs(raw)[None, :] >= np.abs(raw)[:, None] - _TOL
        exceed = others.sum(axis=1) - 1  # not the compound itself
        pvalue = np.where(raw == 0, 1.0, (1.0 + exceed) / n_c)
        fdr = stats.false_discovery_control(pvalue, method="bh")
        ncs = _ncs(raw, raw[:, None])
        null_text = (
            f"the query's scores on the {n_c} compounds: p = (1 + #other compounds with "
            "|score| >= |observed|) / compounds, 1 for a score of 0; FDR Benjamini-Hochberg; "
            "ncs = raw score / mean of the same-sign raw scores over all compounds "
            "(Subramanian 2017's NCS)"
        )
    elif n_null:
        null_up, null_down = _random_sets(n_genes, len(up), len(down), n_null, gen)
        null_up.sort(axis=1)
        null_down.sort(axis=1)
        zeros = np.zeros((n_null, n_c))
        nu = _null_enrichment(sorted_abs, null_up, method) if up else zeros
        nd = _null_enrichment(sorted_abs, null_down, method) if down else zeros
        nulls = _combine(nu, nd, method) if up and down else (nu if up else -nd)
        exceed = (np.abs(nulls) >= np.abs(raw)[None, :] - _TOL).sum(axis=0)
        pvalue = np.where(raw == 0, 1.0, (1.0 + exceed) / (1.0 + n_null))
        fdr = stats.false_discovery_control(pvalue, method="bh")
        ncs = _ncs(raw, nulls)
        null_text = (
            f"{n_null} random queries of {len(up)} up and {len(down)} down genes drawn "
            f"without replacement (disjoint) from the {n_genes} signature genes (drawn as "
            "random positions in the compounds' rankings, the same distribution), scored "
            "against every compound; p = (1 + #|null| >= |observed|) / (1 + n_null), "
            "two-sided, 1 for a score of 0; FDR Benjamini-Hochberg over compounds; "
            "ncs = raw score / mean of the compound's same-sign null scores"
        )
    else:
        null_text = "none (n_null=0): no p-values, FDR or ncs"

    compounds = sig.columns
    if names is not None:
        label = pd.Series(names).reindex(compounds)
    elif default_data:
        label = _lincs_compounds_cached()["name"].reindex(compounds)
    else:
        label = pd.Series(index=compounds, dtype=object)
    label = label.fillna(pd.Series(compounds.astype(str), index=compounds))
    source = _SOURCE if default_data else "user-supplied signatures"
    table = pd.DataFrame(
        {
            "compound": compounds.astype(str),
            "name": label.to_numpy(dtype=object),
            "score": score,
            "raw_score": raw,
            "es_up": es_up if up else np.nan,
            "es_down": es_down if down else np.nan,
            "ncs": ncs,
            "pvalue": pvalue,
            "fdr": fdr,
            "n_up": len(up),
            "n_down": len(down),
            "statistic": _STATISTIC[method],
            "source": source,
            "citation": _CITATION[method],
        }
    )
    table = table.sort_values(["score", "compound"], ascending=[False, True], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    notes: list[str] = []
    if missing_up or missing_down:
        notes.append(
            f"{len(missing_up)} up and {len(missing_down)} down query genes are not among the "
            f"{n_genes} signature genes and were not used"
        )
    if not up or not down:
        notes.append("one query set is empty: the score is that of the other set alone")
    return ConnectivityResult(
        table=table.reset_index(drop=True),
        method=method,
        n_null=int(n_null) if null == "gene_sets" else 0,
        query_up=tuple(up),
        query_down=tuple(down),
        missing_up=tuple(missing_up),
        missing_down=tuple(missing_down),
        null=null_text,
        notes=tuple(notes),
    )


def connectivity_matrix(
    signatures: pd.DataFrame | None = None,
    *,
    n: int = 50,
    method: str = "wtcs",
    queries: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every compound's own top-``n`` up / down genes as a query against every compound.

    ``queries`` restricts the query rows to these compounds (default all).

    Returns a queries x compounds DataFrame of raw scores (WTCS, or Lamb's unscaled ``s`` for
    ``method="ks"``), no null. The diagonal is each query's self-connectivity; a compound's
    neighbours by mechanism are the large values of its row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 4)),
    ...                  index=[f"G{i}" for i in range(60)], columns=list("abcd"))
    >>> m = connectivity_matrix(z, n=5)
    >>> bool((np.diag(m) == m.max(axis=1)).all())
    True
    """
    if method not in _METHODS:
        raise InputError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    sig = _lincs_signatures_cached() if signatures is None else _validated_signatures(signatures)
    n_genes = len(sig.index)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n < n_genes / 2:
        raise InputError(f"n must be an integer from 1 to below half of {n_genes} genes, got {n!r}")
    if queries is None:
        rows = np.arange(len(sig.columns))
    else:
        if isinstance(queries, str):
            raise InputError(f"queries must be a sequence of compound ids, not {queries!r}")
        where = sig.columns.get_indexer(pd.Index(list(queries)))
        if (where < 0).any():
            bad = [q for q, w in zip(queries, where, strict=True) if w < 0][:5]
            raise InputError(f"queries not among the signature compounds: {bad}")
        rows = where
    z = sig.to_numpy(dtype=float)
    rank, sorted_abs = _prepare(z)
    order = np.argsort(-z.T[rows], axis=1, kind="stable")  # the same ranking, per compound
    es_up = _enrichment(rank, sorted_abs, order[:, :n], method)
    es_down = _enrichment(rank, sorted_abs, order[:, ::-1][:, :n], method)
    return pd.DataFrame(
        _combine(es_up, es_down, method),
        index=pd.Index(sig.columns[rows], name="query"),
        columns=pd.Index(sig.columns, name="compound"),
    )
