"""Panel evidence for the next drug: associations in GDSC/CTRP and a per-profile forecast (issue 15).

Two sources of evidence for ranking drugs after a resistance, both from cell-line panels:

:func:`panel_associations`
    Lines carrying a mutation in any of the resistance genes of a profile ("mutant") against the
    other lines ("wild-type"), for every drug of GDSC release 17 (ln IC50, uM) and CTRPv2 (area
    under the viability curve). The test is the GDSC ANOVA of Garnett et al. 2012 (Nature
    483:570) and Iorio et al. 2016 (Cell 166:740), run by
    :func:`oncoresist.biomarkers.anova_associations`: ordinary least squares of the response on
    the categorical covariates and the binary feature, entered last, and the F-test of the
    feature term (one numerator degree of freedom; with no covariate it is Student's pooled
    two-sample t-test). Within the profile's lineage when at least ``min_mutant`` mutant and 3
    wild-type lines of that lineage have a response to the drug (covariate: MSI status where
    both MSI groups hold at least 2 lines, as gdsctools does); otherwise all lines of the panel
    with tissue (and MSI) as covariates ("pan-cancer", GDSC's default analysis). The choice is
    made per drug and reported in ``lineage_used`` and ``note``.

    Effect sizes: ``effect`` is the raw mean difference, mutant minus wild-type, in the panel's
    units (negative = mutant lines more sensitive for both panels, whose metrics are lower for a
    sensitive line); ``glass_delta`` is Glass's delta, ``effect`` divided by the standard
    deviation of the wild-type lines (the control group; gdsctools also reports the delta on the
    mutant sd); ``cohens_d`` uses the pooled sd. False discovery rate: Benjamini-Hochberg over
    the tests of one panel in the call (``scipy.stats.false_discovery_control``; with
    ``drugs=`` the family is the requested drugs only, so rank among all drugs needs
    ``drugs=None``).

    With several genes a line is mutant when any of them is mutated, wild-type when all are
    called and none is mutated; a line lacking a call for some gene and mutated in none is
    left out (counted in ``attrs["notes"]``; this only happens with the CTRP calls).

:func:`forecast_response`
    The prediction module's per-drug elastic net (:class:`oncoresist.predict.PerDrugElasticNet`)
    trained on the panel's binary mutation calls plus one-hot tissue, cross-validated over
    lines (:func:`oncoresist.predict.evaluate`, ``split="cell_line"``), then applied to the
    profile. The interval is ``predicted +/- 1.96 x`` the root mean squared error of the
    out-of-fold predictions of that drug (an approximate 95 % prediction interval that assumes
    residuals of constant spread, roughly normal).

Mutation calls. GDSC v17 ships its own binary ``<GENE>_mut`` features (270 genes and three
fusions, older HGNC symbols such as ``MLL2`` for ``KMT2D``: :data:`GENE_ALIASES` maps current
symbols to them). CTRPv2 has no omics: its lines (``ccl_name``) are mapped to DepMap ids by
stripped name (DepMap ``sample_info.csv``) and take the gene-level calls of
:func:`oncoresist.data._depmap.fetch_depmap_line_mutations` (CCLE via TGSA for 706 census
genes, GDSC v17 for the others); lines without calls are left out and counted. All calls are
gene-level (any coding mutation): a BRAF V600E profile is compared with every BRAF-mutant line.

Drugs. A requested name matches a panel drug by its normalised name, by its knowledge-base
key (:func:`oncoresist.mechanisms.resolve_drug`), or by a synonym of the requested KB drug
when the two KB entries share a target (the KB keeps CTRP's ``PLX-4032`` apart from
``vemurafenib``; it also lists AZD1480, a JAK2 inhibitor, among selumetinib's names, which the
target check refuses).

Memoisation. Each panel is read once per process (the mutation calls of CTRP included), drug
names are resolved once, and each drug's forecast model is cross-validated and fitted once
per ``(panel, drug, n_folds, rng)``: the profile only enters the prediction.

Tissues. A profile's tissue (``Profile.tissue``, e.g. ``"lung"``) is mapped to each panel's
labels by :data:`TISSUE_LABELS`; a label of the panel itself is also accepted. The first label
of a mapping is the one the forecast sets in its tissue features.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataUnavailableError, InputError

__all__ = [
    "ASSOCIATION_COLUMNS",
    "FORECAST_COLUMNS",
    "GENE_ALIASES",
    "PANELS",
    "TISSUE_LABELS",
    "forecast_response",
    "panel_associations",
]

#: Columns of :func:`panel_associations`.
ASSOCIATION_COLUMNS = [
    "drug", "drug_id", "drug_key", "panel", "metric", "feature", "genes_tested", "n_mutant",
    "n_wt", "mean_mutant", "mean_wt", "effect", "glass_delta", "cohens_d", "p_value", "fdr",
    "association", "lineage_used", "covariates", "note", "citation", "licence",
]  # fmt: skip

#: Columns of :func:`forecast_response`.
FORECAST_COLUMNS = [
    "drug", "drug_id", "drug_key", "panel", "metric", "predicted", "interval_low",
    "interval_high", "percentile", "mutation_contribution", "cv_spearman", "cv_pearson",
    "cv_rmse", "n_train", "features_used", "reliable", "note", "citation",
]  # fmt: skip

_GDSC_CITATION = "Iorio 2016 Cell 166:740; Garnett 2012 Nature 483:570 (GDSC ANOVA)"
_CTRP_CITATION = "Seashore-Ludlow 2015 Cancer Discov 5:1210; Rees 2016 Nat Chem Biol 12:109"
_MODEL_CITATION = "Zou & Hastie 2005 J R Stat Soc B 67:301 (elastic net)"


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    metric: str
    citation: str
    licence: str


#: Panels by key: human label with version, response metric, citation, licence.
PANELS: dict[str, _Spec] = {
    "gdsc": _Spec(
        "gdsc",
        "GDSC v17 (gdsctools)",
        "ln IC50 (uM)",
        _GDSC_CITATION,
        "GDSC data (Sanger terms of use) via gdsctools 1.0.1 (BSD)",
    ),
    "ctrp": _Spec(
        "ctrp",
        "CTRPv2",
        "AUC",
        _CTRP_CITATION,
        "CTD2 open access; mutation calls CCLE via TGSA (MIT) and GDSC v17, "
        "DepMap identifiers (CC BY 4.0)",
    ),
}
_PANEL_ALIASES = {
    "gdsc": "gdsc", "gdsc_v17": "gdsc", "gdsc17": "gdsc", "gdscv17": "gdsc",
    "ctrp": "ctrp", "ctrp_v2": "ctrp", "ctrpv2": "ctrp", "ctrp2": "ctrp",
}  # fmt: skip

#: Current HGNC symbols (and fusion names) -> the older names of GDSC v17's mutation features.
GENE_ALIASES: dict[str, str] = {
    "KMT2D": "MLL2", "KMT2A": "MLL", "KMT2C": "MLL3", "AMER1": "FAM123B", "ADGRL2": "LPHN2",
    "NSD2": "WHSC1", "NSD3": "WHSC1L1", "AFDN": "MLLT4", "MRTFA": "MKL1", "ERBIN": "ERBB2IP",
    "CMTR2": "FTSJD1", "NUTM1": "C15orf55", "BCR-ABL1": "BCR-ABL",
}  # fmt: skip

#: Profile tissue -> labels of each panel (first label = the one the forecast uses).
#: GDSC v17 splits lung (``lung_NSCLC``, ``lung_SCLC``, ``lung``) and blood (``leukemia``,
#: ``lymphoma``, ``myeloma``); CTRPv2 uses CCLE site names (``haematopoietic_and_lymphoid_tissue``).
TISSUE_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "lung": {"gdsc": ("lung_NSCLC", "lung_SCLC", "lung"), "ctrp": ("lung",)},
    "nsclc": {"gdsc": ("lung_NSCLC",), "ctrp": ("lung",)},
    "lung_nsclc": {"gdsc": ("lung_NSCLC",), "ctrp": ("lung",)},
    "sclc": {"gdsc": ("lung_SCLC",), "ctrp": ("lung",)},
    "lung_sclc": {"gdsc": ("lung_SCLC",), "ctrp": ("lung",)},
    "skin": {"gdsc": ("skin",), "ctrp": ("skin",)},
    "melanoma": {"gdsc": ("skin",), "ctrp": ("skin",)},
    "colorectal": {"gdsc": ("large_intestine",), "ctrp": ("large_intestine",)},
    "large_intestine": {"gdsc": ("large_intestine",), "ctrp": ("large_intestine",)},
    "colon": {"gdsc": ("large_intestine",), "ctrp": ("large_intestine",)},
    "bowel": {"gdsc": ("large_intestine",), "ctrp": ("large_intestine",)},
    "breast": {"gdsc": ("breast",), "ctrp": ("breast",)},
    "blood": {
        "gdsc": ("leukemia", "lymphoma", "myeloma"),
        "ctrp": ("haematopoietic_and_lymphoid_tissue",),
    },
    "haematopoietic_and_lymphoid_tissue": {
        "gdsc": ("leukemia", "lymphoma", "myeloma"),
        "ctrp": ("haematopoietic_and_lymphoid_tissue",),
    },
    "leukemia": {"gdsc": ("leukemia",), "ctrp": ("haematopoietic_and_lymphoid_tissue",)},
    "leukaemia": {"gdsc": ("leukemia",), "ctrp": ("haematopoietic_and_lymphoid_tissue",)},
    "myeloid": {"gdsc": ("leukemia",), "ctrp": ("haematopoietic_and_lymphoid_tissue",)},
    "lymphoma": {"gdsc": ("lymphoma",), "ctrp": ("haematopoietic_and_lymphoid_tissue",)},
    "lymphocyte": {
        "gdsc": ("lymphoma", "leukemia", "myeloma"),
        "ctrp": ("haematopoietic_and_lymphoid_tissue",),
    },
    "myeloma": {"gdsc": ("myeloma",), "ctrp": ("haematopoietic_and_lymphoid_tissue",)},
    "pancreas": {"gdsc": ("pancreas",), "ctrp": ("pancreas",)},
    "ovary": {"gdsc": ("ovary",), "ctrp": ("ovary",)},
    "stomach": {"gdsc": ("stomach",), "ctrp": ("stomach",)},
    "gastric": {"gdsc": ("stomach",), "ctrp": ("stomach",)},
    "oesophagus": {"gdsc": ("aero_dig_tract",), "ctrp": ("oesophagus",)},
    "esophagus": {"gdsc": ("aero_dig_tract",), "ctrp": ("oesophagus",)},
    "head_and_neck": {"gdsc": ("aero_dig_tract",), "ctrp": ("upper_aerodigestive_tract",)},
    "brain": {"gdsc": ("nervous_system",), "ctrp": ("central_nervous_system",)},
    "glioma": {"gdsc": ("nervous_system",), "ctrp": ("central_nervous_system",)},
    "central_nervous_system": {"gdsc": ("nervous_system",), "ctrp": ("central_nervous_system",)},
    "neuroblastoma": {"gdsc": ("neuroblastoma",), "ctrp": ("autonomic_ganglia",)},
    "kidney": {"gdsc": ("kidney",), "ctrp": ("kidney",)},
    "liver": {"gdsc": ("liver",), "ctrp": ("liver",)},
    "bone": {"gdsc": ("bone",), "ctrp": ("bone",)},
    "soft_tissue": {"gdsc": ("soft_tissue",), "ctrp": ("soft_tissue",)},
    "thyroid": {"gdsc": ("thyroid",), "ctrp": ("thyroid",)},
    "prostate": {"gdsc": ("prostate",), "ctrp": ("prostate",)},
    "endometrium": {"gdsc": ("endometrium",), "ctrp": ("endometrium",)},
    "bladder": {"gdsc": ("Bladder",), "ctrp": ("urinary_tract",)},
    "urinary_tract": {"gdsc": ("Bladder",), "ctrp": ("urinary_tract",)},
    "biliary_tract": {"gdsc": ("biliary_tract",), "ctrp": ("biliary_tract",)},
    "cervix": {"gdsc": ("cervix",), "ctrp": ()},
    "pleura": {"gdsc": (), "ctrp": ("pleura",)},
    "mesothelioma": {"gdsc": (), "ctrp": ("pleura",)},
}

#: DepMap lineages that CTRPv2's loader fills in for lines without a cancer_type.
_DEPMAP_TO_CTRP = {
    "blood": "haematopoietic_and_lymphoid_tissue",
    "lymphocyte": "haematopoietic_and_lymphoid_tissue",
    "myeloid": "haematopoietic_and_lymphoid_tissue",
    "plasma_cell": "haematopoietic_and_lymphoid_tissue",
    "peripheral_nervous_system": "autonomic_ganglia",
    "esophagus": "oesophagus",
    "colorectal": "large_intestine",
    "urinary_tract": "urinary_tract",
    "bile_duct": "biliary_tract",
}
_MIN_WT = 3
_NON_ALNUM = re.compile(r"[^0-9a-z]")


def _norm(name: object) -> str:
    return _NON_ALNUM.sub("", str(name).lower())


def _tissue_key(tissue: str) -> str:
    return re.sub(r"[\s\-/]+", "_", tissue.strip().lower())


# ------------------------------------------------------------------------------- panel loading
@dataclass(frozen=True)
class _Bundle:
    """What both sources need from one panel (read once, never mutated)."""

    spec: _Spec
    responses: pd.DataFrame  # lines x drug ids
    drugs: pd.DataFrame  # drug id -> drug_name
    calls: pd.DataFrame  # lines x gene symbols, 1/0, NaN = not called
    tissue: pd.Series  # line -> panel tissue label (NaN = none)
    msi: pd.Series | None
    lower_is_sensitive: bool
    notes: tuple[str, ...]


def _panel_key(panel: str) -> str:
    key = _PANEL_ALIASES.get(_tissue_key(str(panel)).replace("-", "_"))
    if key is None:
        raise InputError(
            f"unknown panel {panel!r}; choose from 'gdsc' (GDSC v17) or 'ctrp' (CTRPv2)"
        )
    return key


@functools.lru_cache(maxsize=4)
def _load(key: str) -> _Bundle:
    from ..data import fetch_ctrp_v2, fetch_gdsc_v17

    spec = PANELS[key]
    with warnings.catch_warnings(record=True) as caught:
        # The loaders warn that replicates were averaged or annotations substituted: kept as
        # notes of every result rather than repeated as warnings on each call.
        warnings.simplefilter("always", UserWarning)
        panel = fetch_gdsc_v17() if key == "gdsc" else fetch_ctrp_v2()
    for w in caught:
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = [
        f"{spec.label} loader: {w.message}" for w in caught if issubclass(w.category, UserWarning)
    ]
    notes += list(panel.notes)
    ann = panel.sample_annotations
    if ann is None or "tissue" not in ann:
        raise DataUnavailableError(f"{spec.label}: the loader gave no tissue annotation")
    tissue = ann["tissue"].copy()
    if key == "gdsc":
        calls = panel.layer("mutation").astype(float)
        calls.columns = calls.columns.str.removesuffix("_mut")
        msi: pd.Series | None = ann["msi"].astype(float)
        dann = panel.drug_annotations
        names = (
            dann["drug_name"].fillna(pd.Series(dann.index.astype(str), index=dann.index))
            if dann is not None
            else pd.Series(panel.drugs.astype(str), index=panel.drugs)
        )
        responses = panel.responses
    else:
        calls, why = _ctrp_calls(panel.samples)
        notes.append(why)
        msi = None
        tissue = tissue.replace(_DEPMAP_TO_CTRP)
        names = pd.Series(panel.drugs.astype(str), index=panel.drugs)
        responses = panel.responses.loc[calls.index]
        tissue = tissue.reindex(calls.index)
    drugs = pd.DataFrame({"drug_name": names.astype(str)})
    return _Bundle(
        spec, responses, drugs, calls, tissue, msi, bool(panel.lower_is_sensitive), tuple(notes)
    )


def _ctrp_calls(lines: pd.Index) -> tuple[pd.DataFrame, str]:
    """DepMap gene-level calls for the CTRP lines (by stripped name), lines without calls out."""
    from ..data import fetch_sample_info
    from ..data._crosswalk import normalise_name
    from ..data._depmap import fetch_depmap_line_mutations

    info = fetch_sample_info()
    key = info["stripped_cell_line_name"].map(normalise_name)
    ok = key.notna() & ~key.duplicated(keep=False)
    to_depmap = pd.Series(info.loc[ok, "DepMap_ID"].to_numpy(), index=key[ok].to_numpy())
    ids = pd.Series(lines.map(normalise_name), index=lines).map(to_depmap)
    muts = fetch_depmap_line_mutations()
    have = ids.notna() & ids.isin(muts.calls.index)
    have &= ~ids.duplicated(keep=False) | ids.isna()
    calls = muts.calls.reindex(ids[have].to_numpy()).astype(float)
    calls.index = lines[have.to_numpy()]
    why = (
        f"CTRPv2 mutation calls: {int(have.sum())} of {len(lines)} lines matched to DepMap ids "
        f"(sample_info.csv, stripped name) with gene-level calls (CCLE via TGSA, GDSC v17); "
        f"{int((~have).sum())} lines without calls are left out"
    )
    return calls, why


@functools.lru_cache(maxsize=4096)
def _default_key(name: str) -> str | None:
    return _resolve(name, _default_kb())


@functools.lru_cache(maxsize=1)
def _default_kb() -> Any:
    from ..mechanisms import load_knowledge_base

    return load_knowledge_base()


def _resolve(name: str, kb: Any) -> str | None:
    from ..mechanisms import resolve_drug

    try:
        return resolve_drug(name, kb)
    except InputError:
        return None


#: Memoised name -> key lookups of knowledge bases passed by the caller (kept alive with them).
_KB_LOOKUPS: dict[int, tuple[Any, Callable[[str], str | None]]] = {}


def _key_lookup(kb: Any) -> Callable[[str], str | None]:
    if kb is None:
        return _default_key
    held = _KB_LOOKUPS.get(id(kb))
    if held is None or held[0] is not kb:
        if len(_KB_LOOKUPS) >= 4:
            _KB_LOOKUPS.pop(next(iter(_KB_LOOKUPS)))
        held = (kb, functools.lru_cache(maxsize=None)(lambda name: _resolve(name, kb)))
        _KB_LOOKUPS[id(kb)] = held
    return held[1]


def _synonyms(key: str, kb: Any) -> set[str]:
    """Normalised name and synonyms of a knowledge-base drug (to match a panel's own name).

    The knowledge base may hold a panel compound under its code name as a key of its own (CTRP's
    ``PLX-4032`` beside ``vemurafenib``, whose synonyms list ``PLX4032``); asking for
    vemurafenib should still find the screened compound.
    """
    table = (kb if kb is not None else _default_kb()).drugs
    rows = table[table["key"] == key]
    names = {_norm(key)}
    for drug, syns in zip(rows["drug"], rows["synonyms"], strict=True):
        names.add(_norm(drug))
        names.update(_norm(x) for x in (syns if isinstance(syns, list | tuple) else []))
    names.discard("")
    return names


def _drug_keys(bundle: _Bundle, kb: Any) -> pd.Series:
    lookup = _key_lookup(kb)
    return pd.Series(
        [lookup(n) for n in bundle.drugs["drug_name"]], index=bundle.drugs.index, dtype=object
    )


def _gene_columns(bundle: _Bundle, gene: str) -> list[str]:
    """Columns of the panel's calls for a symbol (itself and its GDSC v17 alias)."""
    g = str(gene).strip()
    cands = [g, g.upper(), GENE_ALIASES.get(g.upper(), "")]
    return list(dict.fromkeys(c for c in cands if c and c in bundle.calls.columns))


def _lineage_labels(bundle: _Bundle, lineage: str | None) -> tuple[tuple[str, ...], str]:
    """Panel labels of a profile tissue and a note ('' when mapped)."""
    if lineage is None:
        return (), "no lineage given"
    labels = set(bundle.tissue.dropna().astype(str))
    key = _tissue_key(str(lineage))
    mapped = TISSUE_LABELS.get(key, {}).get(bundle.spec.key)
    if mapped is None:
        direct = [lab for lab in labels if lab.lower() == key]
        mapped = tuple(direct)
    mapped = tuple(m for m in mapped if m in labels)
    if not mapped:
        return (), f"lineage {lineage!r} has no tissue label in {bundle.spec.label}"
    return mapped, ""


# ------------------------------------------------------------------------------- associations
def _select_drugs(
    bundle: _Bundle, drugs: Sequence[str] | None, keys: pd.Series, kb: Any
) -> tuple[list[Any], list[str]]:
    """Panel drug ids for the requested names (panel name or KB key); names not found."""
    if drugs is None:
        return list(bundle.drugs.index), []
    by_name = pd.Series(bundle.drugs.index, index=bundle.drugs["drug_name"].map(_norm))
    ids: list[Any] = []
    missing: list[str] = []
    for name in drugs:
        hit = list(by_name[by_name.index == _norm(name)])
        if not hit:
            k = _key_lookup(kb)(str(name))
            if k is not None:
                same = (keys == k).to_numpy()
                syn = by_name.index.isin(_synonyms(k, kb)) & ~same
                hit = list(keys.index[same])
                hit += [d for d, k2 in zip(keys.index[syn], keys[syn], strict=True)
                        if _same_targets(k, k2, kb)]  # fmt: skip
        if hit:
            ids += [h for h in hit if h not in ids]
        else:
            missing.append(str(name))
    return ids, missing


def _same_targets(key: str, other: Any, kb: Any) -> bool:
    """Whether two KB drugs share a target (or either has none): guards synonym matches.

    A synonym list can be wrong (the packaged KB lists the JAK2 inhibitor AZD1480 among the
    names of the MEK inhibitor selumetinib); a panel compound is taken for the requested drug
    through a synonym only when their targets agree.
    """
    if other is None:
        return True
    table = (kb if kb is not None else _default_kb()).drugs

    def targets(k: str) -> set[str]:
        out: set[str] = set()
        for t in table.loc[table["key"] == k, "targets"]:
            out.update(str(x).upper() for x in (t if isinstance(t, list | tuple) else []))
        return out

    a, b = targets(key), targets(str(other))
    return not a or not b or bool(a & b)


def _missing_note(name: str, spec: _Spec, kb: Any) -> str:
    if _key_lookup(kb)(name) is None:
        return f"{name!r} is neither a drug of {spec.label} nor of the knowledge base"
    return f"not screened in {spec.label}"


def _feature(bundle: _Bundle, genes: Sequence[str]) -> tuple[pd.Series, list[str], list[str]]:
    """Any-of mutation feature: 1 if any gene is mutated, 0 if all are called wild-type."""
    cols, absent = [], []
    for g in genes:
        c = _gene_columns(bundle, g)
        cols += [x for x in c if x not in cols]
        if not c:
            absent.append(str(g))
    if not cols:
        return pd.Series(np.nan, index=bundle.calls.index), cols, absent
    sub = bundle.calls[cols]
    mut = (sub == 1).any(axis=1)
    wt = (sub == 0).all(axis=1)
    feat = pd.Series(np.where(mut, 1.0, np.where(wt, 0.0, np.nan)), index=sub.index)
    return feat, cols, absent


def _anova(
    bundle: _Bundle,
    feat: pd.Series,
    lines: pd.Index,
    drug_ids: list[Any],
    covariates: list[str],
    min_group: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ..biomarkers import anova_associations
    from ..data import Panel

    if not drug_ids:
        return pd.DataFrame(), pd.DataFrame()
    ann = pd.DataFrame({"tissue": bundle.tissue.reindex(lines)})
    if bundle.msi is not None:
        ann["msi"] = bundle.msi.reindex(lines)
    sub = Panel(
        bundle.responses.loc[lines, drug_ids],
        {"feature": feat.reindex(lines).to_frame("feature")},
        layer_kinds={"feature": "binary"},
        sample_annotations=ann,
        metric=bundle.spec.metric,
        lower_is_sensitive=bundle.lower_is_sensitive,
        name=bundle.spec.key,
    )
    res = anova_associations(
        sub, layers="feature", covariates=covariates, min_group=min_group, min_responses=6
    )
    return res.table, res.skipped


def _panel_rows(
    bundle: _Bundle,
    genes: Sequence[str],
    lineage: str | None,
    drugs: Sequence[str] | None,
    kb: Any,
    min_mutant: int,
) -> tuple[pd.DataFrame, list[str]]:
    spec = bundle.spec
    keys = _drug_keys(bundle, kb)
    ids, missing = _select_drugs(bundle, drugs, keys, kb)
    notes = list(bundle.notes)
    feat, cols, absent = _feature(bundle, genes)
    base = {"panel": spec.label, "metric": spec.metric, "citation": spec.citation,
            "licence": spec.licence}  # fmt: skip
    feature_name = "|".join(f"{c}_mut" for c in cols) if cols else "|".join(genes)
    tested = ",".join(cols)
    absent_note = f"no mutation calls in {spec.label} for {', '.join(absent)}" if absent else ""
    if absent_note:
        notes.append(absent_note)
    rows: list[dict[str, Any]] = [
        {**base, "drug": m, "drug_id": None, "drug_key": _key_lookup(kb)(m),
         "feature": feature_name, "note": _missing_note(m, spec, kb)}
        for m in missing
    ]  # fmt: skip
    if missing:
        notes.append(f"{spec.label}: not screened: {', '.join(missing)}")
    if not cols:
        rows.append({**base, "drug": None, "drug_id": None, "drug_key": None,
                     "feature": feature_name, "note": absent_note})  # fmt: skip
        return pd.DataFrame(rows), notes
    if not ids:
        out0 = pd.DataFrame(rows).reindex(columns=ASSOCIATION_COLUMNS)
        out0["genes_tested"] = tested
        if absent_note:
            out0["note"] = out0["note"].astype(str) + f"; {absent_note}"
        return out0, notes
    has_feat = feat.notna()
    n_nocall = int((~has_feat).sum())
    if n_nocall:
        notes.append(
            f"{spec.label}: {n_nocall} lines lack a call for some of {tested} and none is "
            "mutated: left out (neither mutant nor wild-type)"
        )
    labels, lin_note = _lineage_labels(bundle, lineage)
    if lin_note and lineage is not None:
        notes.append(lin_note)
    R = bundle.responses[ids].notna()
    in_lin = bundle.tissue.isin(labels) & has_feat
    all_lines = bundle.tissue.notna() & has_feat
    f1 = (feat == 1).to_numpy()[:, None]
    f0 = (feat == 0).to_numpy()[:, None]
    Rv = R.to_numpy(dtype=bool)
    lin = in_lin.to_numpy()[:, None]
    alln = all_lines.to_numpy()[:, None]
    n_mut_l, n_wt_l = (Rv & f1 & lin).sum(0), (Rv & f0 & lin).sum(0)
    n_mut_a, n_wt_a = (Rv & f1 & alln).sum(0), (Rv & f0 & alln).sum(0)
    use_lin = (n_mut_l >= min_mutant) & (n_wt_l >= _MIN_WT) & bool(labels)
    use_all = ~use_lin & (n_mut_a >= min_mutant) & (n_wt_a >= _MIN_WT)
    ids_arr = np.asarray(ids, dtype=object)
    lab = "+".join(labels)
    group = max(1, min(min_mutant, _MIN_WT))
    msi = ["msi"] if bundle.msi is not None else []
    tables = []
    t_lin, sk_lin = _anova(
        bundle, feat, bundle.tissue.index[in_lin.to_numpy()], list(ids_arr[use_lin]), msi, group
    )
    if len(t_lin):
        tables.append(t_lin.assign(lineage_used=lab, note=f"within {lab} lines"))
    why_all = (
        lin_note
        if not labels
        else f"fewer than {min_mutant} mutant or {_MIN_WT} wild-type {lab} lines with a response"
    )
    t_all, sk_all = _anova(
        bundle,
        feat,
        bundle.tissue.index[all_lines.to_numpy()],
        list(ids_arr[use_all]),
        ["tissue", *msi],
        group,
    )
    if len(t_all):
        tables.append(
            t_all.assign(
                lineage_used="all lineages",
                note=f"{why_all}: all lines, tissue as covariate (pan-cancer ANOVA)",
            )
        )
    for j in np.flatnonzero(~use_lin & ~use_all):
        rows.append({**base, "drug_id": ids_arr[j], "feature": feature_name,
                     "n_mutant": int(n_mut_a[j]), "n_wt": int(n_wt_a[j]),
                     "lineage_used": "none",
                     "note": f"not tested: {int(n_mut_a[j])} mutant and {int(n_wt_a[j])} "
                             f"wild-type lines with a response in all lineages (need "
                             f"{min_mutant} and {_MIN_WT})"})  # fmt: skip
    for sk in (sk_lin, sk_all):
        for r in sk.itertuples(index=False) if len(sk) else ():
            rows.append({**base, "drug_id": r.drug, "feature": feature_name,
                         "lineage_used": "none", "note": f"not tested: {r.reason}"})  # fmt: skip
    out = pd.DataFrame(rows)
    if tables:
        t = pd.concat(tables, ignore_index=True)
        done = pd.DataFrame(
            {
                **{k: v for k, v in base.items()},
                "drug_id": t["drug"].to_numpy(),
                "feature": feature_name,
                "n_mutant": t["n_pos"].to_numpy(),
                "n_wt": t["n_neg"].to_numpy(),
                "mean_mutant": t["mean_pos"].to_numpy(),
                "mean_wt": t["mean_neg"].to_numpy(),
                "effect": t["mean_diff"].to_numpy(),
                "glass_delta": t["glass_delta_neg"].to_numpy(),
                "cohens_d": t["cohens_d"].to_numpy(),
                "p_value": t["pvalue"].to_numpy(),
                "association": t["association"].to_numpy(),
                "lineage_used": t["lineage_used"].to_numpy(),
                "covariates": t["covariates"].to_numpy(),
                "note": t["note"].to_numpy(),
            }
        )
        out = pd.concat([done, out], ignore_index=True) if len(out) else done
    known = out["drug_id"].notna() if "drug_id" in out else pd.Series(False, index=out.index)
    out.loc[known, "drug"] = bundle.drugs["drug_name"].reindex(out.loc[known, "drug_id"]).to_numpy()
    out.loc[known, "drug_key"] = keys.reindex(out.loc[known, "drug_id"]).to_numpy()
    out["genes_tested"] = tested
    if absent_note:
        out["note"] = out["note"].fillna("").astype(str) + f"; {absent_note}"
    out = out.reindex(columns=ASSOCIATION_COLUMNS)
    p = out["p_value"].to_numpy(dtype=float)
    ok = np.isfinite(p)
    fdr = np.full(len(out), np.nan)
    if ok.any():
        fdr[ok] = stats.false_discovery_control(p[ok], method="bh")
    out["fdr"] = fdr
    return out, notes


def panel_associations(
    genes: Sequence[str],
    *,
    lineage: str | None = None,
    panels: Sequence[str] = ("gdsc", "ctrp"),
    drugs: Sequence[str] | None = None,
    kb: Any = None,
    min_mutant: int = 3,
) -> pd.DataFrame:
    """Are lines sharing the resistance mutations more sensitive to each drug of the panels?

    For every panel and drug, the lines with a mutation in any of ``genes`` are compared with
    the other lines by the GDSC ANOVA (see the module docstring): within ``lineage`` when at
    least ``min_mutant`` mutant and 3 wild-type lines of the lineage have a response to the
    drug, otherwise across all lines with tissue as a covariate.

    Parameters
    ----------
    genes
        Gene symbols (the resistance features of the profile), e.g. ``["BRAF"]``. Current HGNC
        symbols are mapped to GDSC v17's older names (:data:`GENE_ALIASES`). A gene without
        calls in a panel is named in the ``note`` of that panel's rows and in
        ``result.attrs["notes"]``; when no gene has calls, the panel gives one row with
        ``drug=None`` and the note, not an error.
    lineage
        Profile tissue (``"lung"``, ``"skin"``, ``"melanoma"``, ``"colorectal"``, ``"blood"``...)
        mapped to the panel's labels by :data:`TISSUE_LABELS`, or a label of the panel.
        None: all lines (pan-cancer).
    panels
        Any of ``"gdsc"`` (GDSC v17, ln IC50 in uM) and ``"ctrp"`` (CTRPv2 AUC).
    drugs
        Restrict to these drugs (panel names or any name the knowledge base resolves); None =
        every drug of each panel. A drug a panel did not screen gives a row with the note
        ``"not screened in <panel>"``.
    kb
        Knowledge base for the ``drug_key`` column (default: the packaged one).
    min_mutant
        Fewest mutant lines with a response for a test (2 or more); lineage tests also need 3
        wild-type lines.

    Returns
    -------
    pandas.DataFrame
        :data:`ASSOCIATION_COLUMNS`: ``drug`` (panel name), ``drug_id`` (panel identifier),
        ``drug_key`` (knowledge-base key or None), ``panel``, ``metric``, ``feature``,
        ``genes_tested``, ``n_mutant``, ``n_wt``, ``mean_mutant``, ``mean_wt``, ``effect``
        (mutant minus wild-type mean; negative = mutant lines more sensitive), ``glass_delta``
        (effect / wild-type sd), ``cohens_d``, ``p_value``, ``fdr`` (Benjamini-Hochberg per
        panel), ``association`` (``sensitivity`` or ``resistance`` of the mutant lines),
        ``lineage_used`` (the panel labels, ``"all lineages"`` or ``"none"`` for an untested
        drug), ``covariates``, ``note``, ``citation``, ``licence``. Sorted by p-value; untested
        drugs last with NaN statistics. ``attrs["notes"]`` lists what was left out and why.

    Raises
    ------
    oncoresist.errors.DataUnavailableError
        A panel's files are not in the mirror, the cache or downloadable.

    Examples
    --------
    >>> res = panel_associations(["BRAF"], lineage="skin", drugs=["PLX-4720"])  # doctest: +SKIP
    >>> res[["panel", "drug", "n_mutant", "effect", "fdr", "lineage_used"]]  # doctest: +SKIP
    """
    if isinstance(genes, str):
        genes = [genes]
    genes = [str(g).strip() for g in genes if str(g).strip()]
    if not genes:
        raise InputError("genes is empty; give the resistance genes of the profile, e.g. ['BRAF']")
    if (
        isinstance(min_mutant, bool)
        or not isinstance(min_mutant, int | np.integer)
        or min_mutant < 2
    ):
        raise InputError(f"min_mutant = {min_mutant!r}: give a whole number of at least 2")
    if isinstance(panels, str):
        panels = [panels]
    if isinstance(drugs, str):
        drugs = [drugs]
    keys = list(dict.fromkeys(_panel_key(p) for p in panels))
    if not keys:
        raise InputError("panels is empty; choose from 'gdsc' and 'ctrp'")
    frames, notes = [], []
    for key in keys:
        t, n = _panel_rows(_load(key), genes, lineage, drugs, kb, int(min_mutant))
        frames.append(t)
        notes += n
    out = pd.concat(frames, ignore_index=True).reindex(columns=ASSOCIATION_COLUMNS)
    out["drug_id"] = out["drug_id"].astype(object)
    for c in ("n_mutant", "n_wt"):
        out[c] = out[c].astype("Int64")
    out = out.sort_values(["p_value", "panel", "drug"], kind="stable", na_position="last")
    out = out.reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


# ---------------------------------------------------------------------------------- forecast
def _profile_features(profile: Any, bundle: _Bundle) -> tuple[list[str], list[str], list[str]]:
    """Panel mutation columns set by the profile, genes absent, events not modelled."""
    ev = profile.events()
    used, absent, other = [], [], []
    for g, alt, src in zip(ev["gene"], ev["alteration"], ev["source"], strict=True):
        if src == "mutation":
            cols = _gene_columns(bundle, str(g))
            if cols:
                used += [c for c in cols if c not in used]
            elif str(g) not in absent:
                absent.append(str(g))
        elif src == "fusion":
            cols = _gene_columns(bundle, str(alt))
            if cols:
                used += [c for c in cols if c not in used]
            else:
                other.append(f"{alt} (fusion)")
        else:
            other.append(f"{g} {alt}")
    return used, absent, other


def forecast_response(
    profile: Any,
    drugs: Sequence[str],
    *,
    panel: str = "gdsc",
    kb: Any = None,
    n_folds: int = 5,
    rng: int = 0,
) -> pd.DataFrame:
    """The prediction module's forecast of the profile's response to each drug, with its error.

    One elastic net per drug (:class:`oncoresist.predict.PerDrugElasticNet`: the 30 features
    most correlated with the response inside each training fold, l1 ratio 0.5, penalty chosen
    by 3-fold inner cross-validation) on the panel's binary mutation calls plus one-hot
    tissue, cross-validated over lines (``n_folds`` folds; no line is in the training and the
    test part of a fold), refitted on all lines and applied to the profile: its mutated genes
    set the corresponding features to 1 (every other feature 0) and its tissue sets the first
    panel label of :data:`TISSUE_LABELS`.

    What it can say: where a cell line with this mutation pattern and tissue would be expected
    to fall among the screened lines, and how well such mutation-only predictions rank
    held-out lines for that drug (``cv_spearman``). What it cannot say: anything about
    mechanisms the features do not encode (amplifications, expression, fusions other than
    those of GDSC v17, the exact amino-acid change: calls are gene-level, so BRAF V600E and a
    BRAF kinase-dead mutation are the same feature), the effect of prior treatment (panel lines
    are mostly untreated), or response in a patient. A cell-line ln IC50 is not a clinical
    dose; the forecast is a ranking aid.

    Parameters
    ----------
    profile
        A :class:`oncoresist.mechanisms.Profile` (mutations, fusions; ``tissue`` if known).
    drugs
        Drug names (panel names, or names the knowledge base resolves).
    panel
        ``"gdsc"`` (GDSC v17, ln IC50 in uM) or ``"ctrp"`` (CTRPv2 AUC, DepMap mutation calls).
    kb
        Knowledge base used to resolve the names (default: the packaged one).
    n_folds
        Cross-validation folds over lines (at least 2).
    rng
        Seed of the folds and of the elastic net's coordinate order.

    Returns
    -------
    pandas.DataFrame
        :data:`FORECAST_COLUMNS`, one row per requested drug and panel identifier (GDSC v17
        screened some drugs twice, under two ids): ``predicted`` (panel units),
        ``interval_low``/``interval_high`` (``predicted +/- 1.96 x cv_rmse``), ``percentile``
        (percent of the drug's measured lines with a lower response than ``predicted``, ties
        half; low = sensitive), ``mutation_contribution`` (prediction minus that of the same
        tissue without the profile's mutations), ``cv_spearman``, ``cv_pearson``, ``cv_rmse``
        (out-of-fold, over lines), ``n_train``, ``features_used`` (the profile's genes among
        the features), ``reliable`` (False when ``cv_spearman < 0.2``, when no gene of the
        profile is a feature, or when the drug is absent), ``note``, ``citation``. A drug the
        panel lacks keeps its row, with NaN numbers, ``reliable=False`` and the note.
        ``attrs["notes"]`` lists the profile events that are not features.

    Examples
    --------
    >>> from oncoresist.mechanisms import make_profile
    >>> p = make_profile(["BRAF V600E"], tissue="skin")
    >>> fc = forecast_response(p, ["PLX-4720", "dabrafenib"])  # doctest: +SKIP
    >>> fc[["drug", "predicted", "percentile", "cv_spearman", "reliable"]]  # doctest: +SKIP
    """
    if isinstance(drugs, str):
        drugs = [drugs]
    if not len(drugs):
        raise InputError("drugs is empty; name the drugs to forecast, e.g. ['dabrafenib']")
    if not hasattr(profile, "events"):
        raise InputError(
            f"profile must be an oncoresist.mechanisms.Profile (make_profile), got "
            f"{type(profile).__name__}"
        )
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise InputError(f"n_folds = {n_folds!r}: give a whole number of at least 2")
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise InputError(f"rng = {rng!r}: give an integer seed")
    bundle = _load(_panel_key(panel))
    spec = bundle.spec
    citation = f"{spec.citation}; {_MODEL_CITATION}"
    keys = _drug_keys(bundle, kb)
    used, absent, other = _profile_features(profile, bundle)
    tissue = getattr(profile, "tissue", None)
    labels, lin_note = _lineage_labels(bundle, tissue)
    notes: list[str] = []
    if absent:
        notes.append(f"genes of the profile without calls in {spec.label}: {', '.join(absent)}")
    if other:
        notes.append(f"events that are not features of the model: {', '.join(other)}")
    if lin_note:
        notes.append(f"{lin_note}: no tissue feature set")
    base_note = "; ".join(notes)
    rows: list[dict[str, Any]] = []
    wanted: list[tuple[str, Any]] = []
    for name in drugs:
        ids, missing = _select_drugs(bundle, [name], keys, kb)
        if missing:
            k = _key_lookup(kb)(str(name))
            why = _missing_note(str(name), spec, kb)
            notes.append(why)
            rows.append({"drug": str(name), "drug_id": None, "drug_key": k, "panel": spec.label,
                         "metric": spec.metric, "reliable": False, "note": why,
                         "citation": citation})  # fmt: skip
        wanted += [(str(name), i) for i in ids if i not in [w[1] for w in wanted]]
    if wanted:
        rows = _forecast_rows(bundle, wanted, keys, used, labels, n_folds, rng,
                              citation, base_note) + rows  # fmt: skip
    out = pd.DataFrame(rows).reindex(columns=FORECAST_COLUMNS)
    out["drug_id"] = pd.Series([r.get("drug_id") for r in rows], index=out.index, dtype=object)
    out["reliable"] = out["reliable"].astype(bool)
    out["n_train"] = out["n_train"].astype("Int64")
    out.attrs["notes"] = notes + list(bundle.notes)
    return out


@dataclass(frozen=True)
class _Trained:
    """One drug's model refitted on all lines, with its out-of-fold performance."""

    model: Any
    features: tuple[str, ...]
    cv_spearman: float
    cv_pearson: float
    cv_rmse: float
    n_train: int
    status: str


@functools.lru_cache(maxsize=4)
def _features(key: str) -> pd.DataFrame:
    """Lines x ``mutation:<gene>`` and ``tissue:<label>`` features of a panel (lines with both)."""
    from ..predict import sample_features

    bundle = _load(key)
    called = bundle.calls.notna().any(axis=1) & bundle.tissue.reindex(bundle.calls.index).notna()
    calls = bundle.calls.loc[called.to_numpy()]
    calls = calls.loc[:, (calls.fillna(0) != 0).any(axis=0)]
    tis = pd.get_dummies(bundle.tissue.reindex(calls.index).astype(str)).astype(float)
    S = sample_features({"mutation": calls, "tissue": tis}, dtype=np.float64)
    # One float block: the folds take rows of it hundreds of times (a frame of many blocks
    # makes each take a loop over columns).
    return pd.DataFrame(S.to_numpy(dtype=np.float64), index=S.index, columns=S.columns)


@functools.lru_cache(maxsize=1024)
def _train(key: str, drug_id: Any, n_folds: int, seed: int) -> _Trained:
    """Cross-validate and refit one drug's elastic net (memoised: the profile is not needed)."""
    from threadpoolctl import threadpool_limits

    from ..predict import PerDrugElasticNet, evaluate

    bundle = _load(key)
    S = _features(key)
    y = bundle.responses[drug_id].reindex(S.index).dropna()
    X = pd.DataFrame(S.loc[y.index].to_numpy(), columns=S.columns)
    X.insert(0, "drug", drug_id)
    X.insert(0, "sample", y.index.to_numpy())
    yy = y.to_numpy(dtype=float)
    model = PerDrugElasticNet(30, l1_ratio=(0.5,), cv=3, n_alphas=8, random_state=seed)
    # Small per-drug problems: a multi-threaded BLAS only adds synchronisation (see biomarkers).
    with threadpool_limits(limits=1, user_api="blas"):
        ev = evaluate(
            {"elastic_net": model}, X, yy, splits=["cell_line"], n_splits=n_folds, rng=seed
        )
        fitted = PerDrugElasticNet(**model.get_params()).fit(X, yy)
    p = ev.predictions[ev.predictions["model"] == "elastic_net"]
    yt, yh = p["y_true"].to_numpy(float), p["y_pred"].to_numpy(float)
    varies = len(p) > 2 and np.ptp(yh) > 0
    return _Trained(
        fitted,
        tuple(S.columns),
        float(stats.spearmanr(yt, yh)[0]) if varies else np.nan,
        float(stats.pearsonr(yt, yh)[0]) if varies else np.nan,
        float(np.sqrt(np.mean((yt - yh) ** 2))) if len(p) else np.nan,
        len(y),
        str(fitted.fit_status_.get(drug_id, "")),
    )


def _forecast_rows(
    bundle: _Bundle,
    wanted: list[tuple[str, Any]],
    keys: pd.Series,
    used: list[str],
    labels: tuple[str, ...],
    n_folds: int,
    rng: int,
    citation: str,
    base_note: str,
) -> list[dict[str, Any]]:
    spec = bundle.spec
    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    rows = []
    for _name, did in wanted:
        tr = _train(spec.key, did, int(n_folds), seed)
        cols = list(tr.features)
        used_in = [u for u in used if f"mutation:{u}" in tr.features]
        prof = pd.DataFrame(0.0, index=[0, 1], columns=cols)
        prof.loc[0, [f"mutation:{u}" for u in used_in]] = 1.0
        if labels and f"tissue:{labels[0]}" in tr.features:
            prof[f"tissue:{labels[0]}"] = 1.0
        design = pd.concat([pd.DataFrame({"sample": "profile", "drug": [did, did]}), prof], axis=1)
        yp = tr.model.predict(design)
        obs = bundle.responses[did].dropna().to_numpy(float)
        val = float(yp[0])
        pct = 100.0 * (np.sum(obs < val) + 0.5 * np.sum(obs == val)) / obs.size
        if not bundle.lower_is_sensitive:
            pct = 100.0 - pct
        why = []
        if not used_in:
            why.append("no gene of the profile is a feature of the model")
        if not (tr.cv_spearman >= 0.2):
            why.append(f"cross-validated Spearman {tr.cv_spearman:.2f} < 0.2")
        if not tr.status.startswith("ok"):
            why.append(f"model: {tr.status}")
        rows.append(
            {
                "drug": bundle.drugs.loc[did, "drug_name"],
                "drug_id": did,
                "drug_key": keys.get(did),
                "panel": spec.label,
                "metric": spec.metric,
                "predicted": val,
                "interval_low": val - 1.96 * tr.cv_rmse,
                "interval_high": val + 1.96 * tr.cv_rmse,
                "percentile": float(pct),
                "mutation_contribution": val - float(yp[1]),
                "cv_spearman": tr.cv_spearman,
                "cv_pearson": tr.cv_pearson,
                "cv_rmse": tr.cv_rmse,
                "n_train": tr.n_train,
                "features_used": ",".join(used_in),
                "reliable": not why,
                "note": "; ".join([*why, base_note] if base_note else why),
                "citation": citation,
            }
        )
    return rows
