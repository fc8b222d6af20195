"""Measured and predicted synergy of a drug with each partner in the public combination screens.

Evidence for ranking combination partners (issue 15): how synergistic the pair was where it was
measured, in the O'Neil 2016 screen (38 drugs, 39 lines; Loewe synergy as DeepSynergy's
labels give it) and in NCI-ALMANAC (87 drugs, 55 NCI-60 lines; NCI's ComboScore as the
HypergraphSynergy files give it), preferably in lines of the patient's lineage; and, for pairs
never measured there, what the synergy model of :mod:`._synergy_predict` predicts.

Drug names
----------
Screen spellings (``"5-FU"``, ``"MK-4827"``, ``"Gemcitabine hydrochloride"``, ``"Sirolimus"``)
and the user's are matched on one key, :func:`synergy_drug_key`: for a salt (``hydrochloride``,
``sulfate``, ``mesylate``, ``tosylate``, ``(free base)`` ...) the knowledge-base key of the base
name, else the normalised base name; for any other name its knowledge-base key
(:func:`oncoresist.mechanisms.resolve_drug`), else the normalised name; then the knowledge-base
keys that split one drug (:data:`SAME_DRUG`: ``fluorouracil`` / ``5fluorouracil``,
``mitomycin`` / ``mitomycine``) are merged. All 38 O'Neil and 87 ALMANAC names resolve to a
knowledge-base key (``partner_kb_key``); for 22 ALMANAC names and 1 O'Neil name that key
differs from the matching one (``gemcitabinehydrochloride`` vs ``gemcitabine``): hence
a matching key of its own.

Lineages
--------
Every line of both screens is placed in a DepMap ``OncotreeLineage`` (DepMap 24Q2
``Model.csv``) by its normalised name, or through :data:`LINE_ALIASES` for the spellings DepMap
does not share (``"MSTO"`` -> MSTO-211H, ``"U031"`` -> UO-31, ``"786-0"`` -> 786-O, ...): 39 of
39 O'Neil lines (Ovary/Fallopian Tube 9, with UWB1.289+BRCA1 placed as its parent; Bowel 8;
Lung 7; Skin 6; Breast 6; Prostate 2; Pleura 1) and 55 of 55 ALMANAC lines (Kidney 8; Lung,
Bowel, Skin 7 each; Breast, Ovary/Fallopian Tube 6; CNS/Brain 5; Lymphoid 4; Prostate, Myeloid
2; Pleura 1: NCI-H226 is a mesothelioma in DepMap), see :func:`synergy_line_lineages`. DepMap
``sample_info.csv`` is not used: by name it gives a ``lineage`` to only 22 of the 39 O'Neil and
33 of the 55 ALMANAC lines (its ``lineage`` is often empty). A ``lineage`` argument may be a DepMap lineage (``"Lung"``,
``"Bowel"``) or a profile tissue (``"lung"``, ``"melanoma"``, ``"colorectal"``,
:data:`LINEAGE_SYNONYMS`).

Measured synergy (:func:`panel_synergy`)
----------------------------------------
Rows of the same unordered pair and line (both drug orders, repeated rows) are averaged to one
value per (pair, line). For each partner: ``mean_all`` over every line that measured the pair,
``mean_lineage`` over the lines of the lineage. The *used* lines are those of the lineage when
at least ``min_lines`` of them measured the pair, else all lines (``lineage_used`` is
``"all"`` and ``note`` says why). ``z = (mean_used - mu) / sd`` with ``mu`` and ``sd`` the
mean and standard deviation of every (pair, line) value of the screen, so that Loewe and
ComboScore become comparable (``z > 0``: more synergistic than the screen's typical pair).
``p_value``: two-sided one-sample t-test (as :func:`scipy.stats.ttest_1samp`) of the pair's
per-line values in the used lines against ``mu``; the null is that the pair is as synergistic
as the screen's average pair; NaN with fewer than two lines. ``fdr``: Benjamini-Hochberg
(:func:`scipy.stats.false_discovery_control`) over the partners of the drug within one screen.

Predicted synergy (:func:`predicted_synergy`)
---------------------------------------------
The gradient-boosting model of :func:`~._synergy_predict.fit_synergy_predictor` trained on all
rows of one screen (fitted once per screen and process) predicts the drug with each partner in
the used lines where the pair was *not* measured (measured values are :func:`panel_synergy`'s);
``measured_elsewhere`` says the pair was measured in other lines. ``predicted_mean`` and
``predicted_sd`` summarise the lines, ``z`` is standardised as above. A drug outside the
screen (the resisted drug or a partner) enters by its structure: Morgan fingerprints of its
SMILES from the other HypergraphSynergy screen or TGSA's 170 GDSC drugs
(:data:`_SMILES_SOURCES`), with ``unseen_drug`` True and its own caveat; at least one drug of
each default pair is a screen drug. On O'Neil the model barely beats additive drug means for
a drug it has not seen (:data:`PREDICTOR_CV`): treat it as weak evidence.

References: O'Neil et al., Mol Cancer Ther 15:1155 (2016); Holbeck et al., Cancer Res 77:3564
(2017); Preuer et al., Bioinformatics 34:1538 (2018, DeepSynergy, the O'Neil labels); Liu et al.,
Bioinformatics 38:4782 (2022, HypergraphSynergy, the ALMANAC files).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from oncoresist.errors import DataUnavailableError, InputError
from oncoresist.strategy._synergy_predict import (
    SynergyPredictor,
    fit_synergy_predictor,
    load_synergy_data,
)

__all__ = [
    "LINEAGE_SYNONYMS",
    "LINE_ALIASES",
    "PANEL_SYNERGY_COLUMNS",
    "PREDICTED_SYNERGY_COLUMNS",
    "PREDICTOR_CV",
    "SAME_DRUG",
    "SYNERGY_DATASETS",
    "panel_synergy",
    "predicted_synergy",
    "synergy_drug_key",
    "synergy_line_lineages",
]


@dataclass(frozen=True)
class _Screen:
    label: str
    statistic: str
    citation: str
    licence: str


_ONEIL_CIT = (
    "O'Neil J et al., Mol Cancer Ther 15:1155 (2016); Loewe labels from Preuer K et al., "
    "Bioinformatics 34:1538 (2018, DeepSynergy)"
)
_ALMANAC_CIT = (
    "Holbeck SL et al., Cancer Res 77:3564 (2017); files from Liu X et al., Bioinformatics "
    "38:4782 (2022, HypergraphSynergy)"
)

#: The screens, with the label, statistic, citation and licence their rows carry.
SYNERGY_DATASETS: dict[str, _Screen] = {
    "oneil": _Screen(
        "O'Neil 2016 combination screen (DeepSynergy labels, GitHub KristinaPreuer/DeepSynergy)",
        "Loewe (O'Neil 2016)",
        _ONEIL_CIT,
        "no licence file (GitHub KristinaPreuer/DeepSynergy); published screen data",
    ),
    "almanac": _Screen(
        "NCI-ALMANAC (HypergraphSynergy ALMANAC-COSMIC, GitHub scz760904126/HypergraphSynergy)",
        "ComboScore (NCI-ALMANAC, Holbeck 2017)",
        _ALMANAC_CIT,
        "no licence file (GitHub scz760904126/HypergraphSynergy); NCI DTP public data",
    ),
}

#: Cross-validated Pearson of the synergy model vs additive drug means on O'Neil (5 folds,
#: :func:`~._synergy_predict.evaluate_synergy_prediction`, measured in the README).
PREDICTOR_CV: dict[str, dict[str, float]] = {
    "oneil": {
        "leave_drug_out": 0.326,
        "leave_drug_out_additive": 0.280,
        "leave_pair_out": 0.588,
        "leave_pair_out_additive": 0.423,
    },
    # all 75,493 rows, 5 folds (README "What has been checked")
    "almanac": {
        "leave_drug_out": 0.266,
        "leave_drug_out_additive": 0.144,
        "leave_pair_out": 0.413,
        "leave_pair_out_additive": 0.240,
    },
}

_CAVEAT = {
    "oneil": (
        "predicted, not measured: cross-validated Pearson on O'Neil {leave_drug_out} on held-out "
        "drugs (additive drug means {leave_drug_out_additive}), {leave_pair_out} on held-out "
        "pairs (additive {leave_pair_out_additive})"
    ).format(**PREDICTOR_CV["oneil"]),
    "almanac": (
        "predicted, not measured: cross-validated Pearson on NCI-ALMANAC {leave_drug_out} on "
        "held-out drugs (additive drug means {leave_drug_out_additive}), {leave_pair_out} on "
        "held-out pairs (additive {leave_pair_out_additive})"
    ).format(**PREDICTOR_CV["almanac"]),
}

_CAVEAT_UNSEEN = {
    d: (
        f"predicted, not measured, for a drug outside the {d} screen from its structure only: "
        "cross-validated Pearson on held-out drugs {leave_drug_out} vs {leave_drug_out_additive} "
        "for additive drug means"
    ).format(**PREDICTOR_CV[d])
    for d in ("oneil", "almanac")
}

#: Knowledge-base keys that name the same drug; the value is the key used.
SAME_DRUG: dict[str, str] = {"fluorouracil": "5fluorouracil", "mitomycine": "mitomycin"}

#: Screen spellings of lines DepMap names otherwise -> DepMap ``CellLineName``.
LINE_ALIASES: dict[str, str] = {
    "COLO320DM": "COLO-320",  # COLO 320DM; DepMap's COLO-320
    "EFM192B": "EFM-192A",  # sister line of the same patient (breast carcinoma)
    "LNCAP": "LNCaP clone FGC",
    "MSTO": "MSTO-211H",
    "OVCAR3": "NIH:OVCAR-3",
    "UWB1289BRCA1": "UWB1.289",  # UWB1.289 with BRCA1 restored
    "7860": "786-O",  # NCI-60 spells it with a zero
    "SR": "SR-786",
    "U031": "UO-31",  # HypergraphSynergy's spelling (zero for the letter O)
    "U251": "U-251 MG",
}

#: Profile tissues and other spellings -> DepMap ``OncotreeLineage``.
LINEAGE_SYNONYMS: dict[str, str] = {
    "skin": "Skin", "melanoma": "Skin", "lung": "Lung", "nsclc": "Lung", "breast": "Breast",
    "colorectal": "Bowel", "large_intestine": "Bowel", "colon": "Bowel", "bowel": "Bowel",
    "ovary": "Ovary/Fallopian Tube", "ovarian": "Ovary/Fallopian Tube",
    "prostate": "Prostate", "kidney": "Kidney", "renal": "Kidney", "blood": "Myeloid",
    "lymphocyte": "Lymphoid", "central_nervous_system": "CNS/Brain", "brain": "CNS/Brain",
    "cns": "CNS/Brain", "glioma": "CNS/Brain", "pleura": "Pleura", "mesothelioma": "Pleura",
    "soft_tissue": "Soft Tissue", "pancreas": "Pancreas",
}  # fmt: skip

#: Columns of :func:`panel_synergy`.
PANEL_SYNERGY_COLUMNS = (
    "partner", "partner_key", "partner_kb_key", "partner_in_dataset", "drug_in_dataset", "dataset", "statistic",
    "n_lines", "mean_all", "n_lines_lineage", "mean_lineage", "lineage_used", "n_lines_used",
    "mean_used", "sd_used", "z", "p_value", "fdr", "note", "citation", "licence",
)  # fmt: skip

#: Columns of :func:`predicted_synergy`.
PREDICTED_SYNERGY_COLUMNS = (
    "partner", "partner_key", "partner_kb_key", "partner_in_dataset", "dataset", "statistic",
    "n_lines",
    "predicted_mean", "predicted_sd", "z", "lineage_used", "measured_elsewhere", "unseen_drug",
    "note", "caveat", "citation", "licence",
)  # fmt: skip

_SALT = re.compile(
    r"\s*(\(free base\)|free base|hydrochloride|dihydrochloride|hydrobromide|sulfate|sulphate|"
    r"mesylate|dimesylate|tosylate|ditosylate|tartrate|bitartrate|citrate|disodium|sodium|"
    r"acetate|malate|maleate|phosphate|succinate|fumarate)\s*$",
    re.IGNORECASE,
)
_MIN_PRED_LINES = 3


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _kb_key(name: str, kb: Any) -> str | None:
    from oncoresist.mechanisms import load_knowledge_base, resolve_drug

    if kb is None or kb is load_knowledge_base():
        return _kb_key_default(name)
    try:
        return resolve_drug(name, kb)
    except InputError:
        return None


@functools.cache
def _kb_key_default(name: str) -> str | None:
    from oncoresist.mechanisms import resolve_drug

    try:
        return resolve_drug(name)
    except InputError:
        return None


def synergy_drug_key(name: str, kb: Any = None) -> str:
    """The key on which screen spellings and user names of a drug are matched.

    For a name with a salt suffix (``hydrochloride``, ``sulfate``, ``(free base)`` ...) the
    knowledge-base key of the base name, else the normalised base name (so ``"quinacrine"``
    and ``"Quinacrine hydrochloride"`` meet); for any other name its knowledge-base key, else
    the normalised name. Keys of :data:`SAME_DRUG` are then merged. Unknown names do not raise.

    Examples
    --------
    >>> synergy_drug_key("Gemcitabine hydrochloride")
    'gemcitabine'
    >>> synergy_drug_key("fluorouracil") == synergy_drug_key("5-FU")
    True
    """
    from oncoresist.mechanisms import load_knowledge_base

    if not isinstance(name, str) or not name.strip():
        raise InputError(f"drug must be a non-empty name such as 'gemcitabine', got {name!r}")
    kb = kb or load_knowledge_base()
    base = name
    while (stripped := _SALT.sub("", base)) != base and stripped:
        base = stripped
    if base != name:
        # a salt whose base the KB lacks keys on the base name, so "quinacrine" and
        # "Quinacrine hydrochloride" meet
        key = _kb_key(base, kb) or _norm(base)
    else:
        key = _kb_key(name, kb) or _norm(name)
    return SAME_DRUG.get(key, key)


def _display_names(kb: Any) -> dict[str, str]:
    return dict(zip(kb.drugs["key"].astype(str), kb.drugs["drug"].astype(str), strict=True))


def _display(key: str, spelled: str, names: dict[str, str]) -> str:
    """The KB's name of the drug; the screen's spelling when the KB has none, or has it in one
    case only and the screen's spelling of the same name is mixed case ("Mitomycin")."""
    kb_name = names.get(key)
    if kb_name is None:
        kb_name = _SALT.sub("", spelled) or spelled
    if (kb_name.islower() or kb_name.isupper()) and _norm(kb_name) == _norm(spelled):
        if not (spelled.islower() or spelled.isupper()):
            return spelled
    if (kb_name.islower() or kb_name.isupper()) and kb_name.isalpha():
        return kb_name.capitalize()  # "GELDANAMYCIN", "carboplatin" -> "Geldanamycin", ...
    return kb_name


def _dataset_keys(names: Sequence[str], kb: Any) -> dict[str, str]:
    return {n: synergy_drug_key(n, kb) for n in names}


@functools.cache
def _default_keys(dataset: str) -> dict[str, str]:
    tab, _, _ = _pair_table(dataset)
    names = sorted(set(tab["drug_a"]) | set(tab["drug_b"]))
    return _dataset_keys(names, None)


def _keys_for(dataset: str, kb: Any) -> dict[str, str]:
    if kb is None:
        return _default_keys(dataset)
    tab, _, _ = _pair_table(dataset)
    return _dataset_keys(sorted(set(tab["drug_a"]) | set(tab["drug_b"])), kb)


@functools.cache
def _pair_table(dataset: str) -> tuple[pd.DataFrame, float, float]:
    """One row per unordered pair and line (mean of repeated rows), with the screen's mean and
    sd over those rows."""
    t = load_synergy_data(dataset).table
    a = t["drug_a"].astype(str).to_numpy()
    b = t["drug_b"].astype(str).to_numpy()
    lo, hi = np.where(a <= b, a, b), np.where(a <= b, b, a)
    per = (
        pd.DataFrame({"drug_a": lo, "drug_b": hi, "cell_line": t["cell_line"].astype(str)})
        .assign(synergy=t["synergy"].to_numpy(dtype=float))
        .groupby(["drug_a", "drug_b", "cell_line"], as_index=False)
        .agg(synergy=("synergy", "mean"))
    )
    y = per["synergy"].to_numpy()
    return per, float(y.mean()), float(y.std(ddof=1))


@functools.cache
def _line_lineage_table(dataset: str) -> pd.DataFrame:
    from oncoresist.data import normalise_name
    from oncoresist.data._depmap import fetch_depmap_models

    tab, _, _ = _pair_table(dataset)
    models = fetch_depmap_models()
    lookup: dict[str, tuple[str, str]] = {}
    for col in ("StrippedCellLineName", "CellLineName"):
        for name, lin in zip(models[col], models["OncotreeLineage"], strict=True):
            if isinstance(name, str) and isinstance(lin, str):
                lookup.setdefault(normalise_name(name), (str(name), lin))
    rows = []
    for line in sorted(tab["cell_line"].unique()):
        k = normalise_name(line)
        how = "name"
        if k in LINE_ALIASES:
            k, how = normalise_name(LINE_ALIASES[k]), f"alias {LINE_ALIASES[k]}"
        hit = lookup.get(k)
        rows.append(
            {
                "cell_line": line,
                "depmap_name": hit[0] if hit else pd.NA,
                "lineage": hit[1] if hit else pd.NA,
                "matched_by": how if hit else "unmatched",
            }
        )
    return pd.DataFrame(rows)


def synergy_line_lineages(dataset: str = "oneil") -> pd.DataFrame:
    """The DepMap 24Q2 ``OncotreeLineage`` of every line of a screen.

    Columns ``cell_line`` (the screen's spelling), ``depmap_name``, ``lineage`` and
    ``matched_by`` (``"name"``, ``"alias <DepMap name>"`` from :data:`LINE_ALIASES`, or
    ``"unmatched"``).

    Examples
    --------
    >>> synergy_line_lineages("oneil").lineage.value_counts()  # doctest: +SKIP
    """
    _check_dataset(dataset)
    return _line_lineage_table(dataset).copy()


def _check_dataset(name: Any) -> str:
    if not isinstance(name, str) or name not in SYNERGY_DATASETS:
        raise InputError(
            f"unknown synergy data set {name!r}; choose from {', '.join(SYNERGY_DATASETS)}"
        )
    return name


def _lineage_lines(dataset: str, lineage: str | None) -> tuple[str | None, set[str], str]:
    """(DepMap lineage or None, its lines in the screen, a note when it cannot be used)."""
    if lineage is None:
        return None, set(), "no lineage given: all lines"
    if not isinstance(lineage, str) or not lineage.strip():
        raise InputError(f"lineage must be a name such as 'Lung' or 'melanoma', got {lineage!r}")
    label = SYNERGY_DATASETS[dataset].label.split(" (")[0]
    try:
        lines = _line_lineage_table(dataset)
    except DataUnavailableError as exc:
        return None, set(), f"lineage {lineage!r} not used (DepMap model annotations: {exc})"
    known = sorted(set(lines["lineage"].dropna()))
    q = lineage.strip()
    lin = LINEAGE_SYNONYMS.get(q.lower().replace(" ", "_").replace("-", "_"))
    lin = lin or next((k for k in known if k.lower() == q.lower()), None)
    if lin is None or lin not in known:
        return (
            None,
            set(),
            f"lineage {lineage!r} has no lines in {label} (lineages there: {', '.join(known)}); "
            "all lines used",
        )
    return lin, set(lines.loc[lines["lineage"] == lin, "cell_line"]), ""


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _t_pvalue(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, mu: float) -> np.ndarray:
    """Two-sided one-sample t-test p of ``mean`` against ``mu`` (as scipy.stats.ttest_1samp)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean - mu) / (sd / np.sqrt(n))
        p = 2.0 * stats.t.sf(np.abs(t), np.maximum(n - 1, 1))
    return np.where((n >= 2) & (sd > 0), p, np.nan)


def _fdr(p: np.ndarray) -> np.ndarray:
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _datasets(datasets: Any) -> tuple[str, ...]:
    ds = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    if not ds:
        raise InputError(f"datasets is empty; choose from {', '.join(SYNERGY_DATASETS)}")
    for d in ds:
        _check_dataset(d)
    return tuple(dict.fromkeys(ds))


def _panel_one(
    dataset: str, key: str, lineage: str | None, kb: Any, min_lines: int, names: dict[str, str]
) -> pd.DataFrame:
    tab, mu, sd_all = _pair_table(dataset)
    keys = _keys_for(dataset, kb)
    ka, kb_ = tab["drug_a"].map(keys), tab["drug_b"].map(keys)
    hit = (ka == key) ^ (kb_ == key)  # a pair of two spellings of the drug is no partner
    if not hit.any():
        return _empty(PANEL_SYNERGY_COLUMNS)
    sub = tab[hit]
    first = (ka[hit] == key).to_numpy()
    own = np.where(first, sub["drug_a"], sub["drug_b"])
    other = np.where(first, sub["drug_b"], sub["drug_a"])
    per = (
        pd.DataFrame(
            {
                "partner_key": pd.Series(other).map(keys).to_numpy(),
                "partner_in_dataset": other,
                "cell_line": sub["cell_line"].to_numpy(),
                "synergy": sub["synergy"].to_numpy(),
            }
        )
        .groupby(["partner_key", "cell_line"], as_index=False)
        .agg(synergy=("synergy", "mean"), partner_in_dataset=("partner_in_dataset", "first"))
    )
    lin, lin_lines, lin_note = _lineage_lines(dataset, lineage)
    per["in_lineage"] = per["cell_line"].isin(lin_lines)
    g_all = per.groupby("partner_key")["synergy"].agg(["count", "mean", "std"])
    g_lin = per[per["in_lineage"]].groupby("partner_key")["synergy"].agg(["count", "mean", "std"])
    g_lin = g_lin.reindex(g_all.index)
    n_lin = g_lin["count"].fillna(0).astype(int).to_numpy()
    use = (n_lin >= min_lines) & (lin is not None)
    n_used = np.where(use, n_lin, g_all["count"].to_numpy()).astype(int)
    mean_used = np.where(use, g_lin["mean"], g_all["mean"])
    sd_used = np.where(use, g_lin["std"], g_all["std"])
    label = SYNERGY_DATASETS[dataset].label.split(" (")[0]
    notes = []
    for u, n in zip(use, n_lin, strict=True):
        if u:
            notes.append(f"{n} {lin} lines of {label}")
        elif lin is None:
            notes.append(lin_note)
        else:
            notes.append(
                f"only {n} {lin} line(s) measured the pair in {label} (fewer than "
                f"{min_lines}): all lines used"
            )
    pk = g_all.index.to_numpy()
    spelled = per.groupby("partner_key")["partner_in_dataset"].first().reindex(pk)
    meta = SYNERGY_DATASETS[dataset]
    p = _t_pvalue(mean_used, sd_used, n_used, mu)
    out = pd.DataFrame(
        {
            "partner": [_display(k, s, names) for k, s in zip(pk, spelled, strict=True)],
            "partner_key": pk,
            "partner_kb_key": [_kb_key(s, kb) or pd.NA for s in spelled],
            "partner_in_dataset": spelled.to_numpy(),
            "drug_in_dataset": str(pd.Series(own).mode().iloc[0]),
            "dataset": meta.label,
            "statistic": meta.statistic,
            "n_lines": g_all["count"].astype(int).to_numpy(),
            "mean_all": g_all["mean"].to_numpy(),
            "n_lines_lineage": n_lin,
            "mean_lineage": g_lin["mean"].to_numpy(),
            "lineage_used": np.where(use, lin or "all", "all"),
            "n_lines_used": n_used,
            "mean_used": mean_used,
            "sd_used": sd_used,
            "z": (mean_used - mu) / sd_all,
            "p_value": p,
            "fdr": _fdr(p),
            "note": notes,
            "citation": meta.citation,
            "licence": meta.licence,
        }
    )
    return out


def panel_synergy(
    drug: str,
    *,
    lineage: str | None = None,
    datasets: str | Sequence[str] = ("oneil", "almanac"),
    kb: Any = None,
    min_lines: int = 3,
) -> pd.DataFrame:
    """Measured synergy of ``drug`` with every partner it was screened with.

    Parameters
    ----------
    drug
        Any name the knowledge base knows (``"5-FU"``, ``"veliparib"``, ``"ABT-888"``,
        ``"Gemcitabine hydrochloride"``), matched through :func:`synergy_drug_key`.
    lineage
        A DepMap ``OncotreeLineage`` or a profile tissue (:data:`LINEAGE_SYNONYMS`); None uses
        all lines.
    datasets
        ``"oneil"`` and / or ``"almanac"``.
    kb
        A :class:`~oncoresist.mechanisms.KnowledgeBase`; default the shipped one.
    min_lines
        Fewest lines of the lineage that must have measured a pair for the lineage mean to be
        used; otherwise all lines are (said in ``note``).

    Returns
    -------
    pandas.DataFrame
        One row per (data set, partner), columns :data:`PANEL_SYNERGY_COLUMNS`, sorted by
        ``z`` (most synergistic first); see the module docstring for the statistics.
        ``partner_key`` is :func:`synergy_drug_key`, ``partner_kb_key`` the knowledge-base key
        of the screen's own spelling. Without a lineage ``n_lines_lineage`` is 0 and
        ``mean_lineage`` NaN. Empty (with the columns) when no screen measured the drug.

    Raises
    ------
    InputError
        An unknown data set name, an empty drug name or a bad ``min_lines``.
    DataUnavailableError
        The screen's files are neither mirrored, cached nor downloadable.

    Examples
    --------
    >>> tab = panel_synergy("gemcitabine", lineage="Lung", datasets="oneil")  # doctest: +SKIP
    >>> tab[["partner", "mean_used", "z", "fdr"]].head(3)  # doctest: +SKIP
    """
    ds = _datasets(datasets)
    if isinstance(min_lines, bool) or not isinstance(min_lines, int | np.integer) or min_lines < 1:
        raise InputError(f"min_lines must be an integer >= 1, got {min_lines!r}")
    from oncoresist.mechanisms import load_knowledge_base

    kb_obj = kb or load_knowledge_base()
    key = synergy_drug_key(drug, kb_obj)
    names = _display_names(kb_obj)
    frames = [_panel_one(d, key, lineage, kb, int(min_lines), names) for d in ds]
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(PANEL_SYNERGY_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["z", "partner"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


_FIT_SECONDS: dict[str, float] = {}


#: Structures of drugs outside a screen: the other HypergraphSynergy screen's SMILES and TGSA's
#: (PubChem isomeric SMILES of 170 GDSC drugs).
_SMILES_SOURCES = (
    ("hypergraphsynergy_almanac_oneil", "ALMANAC-COSMIC/drug_smiles.csv", "name", "isosmiles"),
    ("hypergraphsynergy_almanac_oneil", "ONEIL-COSMIC/drug_smiles.csv", "name", "isosmiles"),
    ("tgsa_gdsc_ccle706", "drug_smiles.csv", "drug_name", "IsomericSMILES"),
)


def _external_smiles(
    dataset: str, kb: Any, screen_keys: frozenset[str]
) -> dict[str, tuple[str, str, str]]:
    """key -> (name, SMILES, source) of drugs with a structure that ``dataset`` lacks."""
    from oncoresist.data._datasets import fetch_file

    out: dict[str, tuple[str, str, str]] = {}
    for ds, path, name_col, smi_col in _SMILES_SOURCES:
        try:
            t = pd.read_csv(fetch_file(ds, path, download=False))
        except (DataUnavailableError, InputError, OSError, ValueError):
            continue
        for n, smi in zip(t[name_col].astype(str), t[smi_col].astype(str), strict=True):
            k = synergy_drug_key(n, kb)
            if k not in screen_keys and k not in out and smi and smi != "nan":
                out[k] = (n, smi, f"{ds}/{path}")
    return out


@functools.cache
def _predictor(dataset: str) -> SynergyPredictor:
    t0 = time.perf_counter()
    pred = fit_synergy_predictor(dataset)
    _FIT_SECONDS[dataset] = time.perf_counter() - t0
    return pred


def predicted_synergy(
    drug: str,
    partners: Sequence[str] | None = None,
    *,
    lineage: str | None = None,
    dataset: str = "oneil",
    kb: Any = None,
) -> pd.DataFrame:
    """Predicted synergy of ``drug`` with partners in the lines where the pair was not measured.

    Parameters
    ----------
    drug
        A name matched through :func:`synergy_drug_key` to a drug of the screen's model.
    partners
        Partner names; default every other drug the model knows. A partner the model does not
        know gets a row with ``n_lines`` 0 and a note.
    lineage
        As in :func:`panel_synergy`; fewer than 3 lines of the lineage -> all lines.
    dataset
        ``"oneil"`` (default) or ``"almanac"``: the screen the model is trained on, once per
        process (O'Neil: 78-199 s measured on a shared two-core machine at load 4-5, where the
        model's two LightGBM threads contend; one thread took 16 s there; ALMANAC, 3.3 times
        the rows, longer).
    kb
        A :class:`~oncoresist.mechanisms.KnowledgeBase`; default the shipped one.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PREDICTED_SYNERGY_COLUMNS`, sorted by ``z``. Partners measured with the
        drug in every used line are left out (they are :func:`panel_synergy`'s); how many is
        in ``.attrs["notes"]``, with the fit time. Empty (with the columns) when the model does
        not know ``drug``.

    Examples
    --------
    >>> predicted_synergy("MK-8776", ["erlotinib"], lineage="Lung")  # doctest: +SKIP
    """
    _check_dataset(dataset)
    if partners is not None and isinstance(partners, str):
        partners = [partners]
    from oncoresist.mechanisms import load_knowledge_base

    kb_obj = kb or load_knowledge_base()
    key = synergy_drug_key(drug, kb_obj)
    tab, mu, sd_all = _pair_table(dataset)
    screen_keys = set(_keys_for(dataset, kb).values())
    ext = _external_smiles(dataset, kb_obj, frozenset(screen_keys))
    if key not in screen_keys and key not in ext:
        return _empty(PREDICTED_SYNERGY_COLUMNS)  # no structure for the drug: no model fit
    pred = _predictor(dataset).with_drugs({name: smi for name, smi, _ in ext.values()})
    keys = {n: synergy_drug_key(n, kb_obj) for n in pred.drugs_}
    by_key: dict[str, str] = {}
    for n, k in keys.items():
        if k in screen_keys and n not in set(tab["drug_a"]) | set(tab["drug_b"]):
            continue  # an outside spelling of a screen drug: the screen's own name is used
        by_key.setdefault(k, n)
    if key not in by_key:
        return _empty(PREDICTED_SYNERGY_COLUMNS)
    unseen = {k for k in by_key if k not in screen_keys}
    own = by_key[key]
    if partners is None:  # at least one drug of each pair is a screen drug
        wanted = [(by_key[k], k) for k in sorted(by_key)
                  if k != key and (key not in unseen or k not in unseen)]  # fmt: skip
    else:
        wanted = []
        for p in partners:
            pk = synergy_drug_key(p, kb_obj)
            wanted.append((by_key.get(pk, ""), pk))
    meta = SYNERGY_DATASETS[dataset]
    label = meta.label.split(" (")[0]
    lines = np.array(pred.cell_lines_, dtype=object)
    lin, lin_lines, lin_note = _lineage_lines(dataset, lineage)
    in_lin = np.isin(lines, sorted(lin_lines))
    if lin is not None and in_lin.sum() >= _MIN_PRED_LINES:
        used, lin_used, base_note = lines[in_lin], lin, f"{lin} lines of {label}"
    else:
        used, lin_used = lines, "all"
        base_note = lin_note or (
            f"only {int(in_lin.sum())} {lin} line(s) in {label} (fewer than {_MIN_PRED_LINES}): "
            "all lines"
        )
    mine = tab[(tab["drug_a"] == own) | (tab["drug_b"] == own)]
    other = np.where(mine["drug_a"] == own, mine["drug_b"], mine["drug_a"])
    measured = pd.Series(mine["cell_line"].to_numpy()).groupby(other).agg(set).to_dict()
    no_expr = set(pred._data.cell_features.index[pred._data.cell_features.isna().all(axis=1)])
    rows: list[dict[str, Any]] = []
    batch_a: list[str] = []
    batch_l: list[str] = []
    spans: list[tuple[int, int]] = []
    skipped = 0
    names = _display_names(kb_obj)
    for name, pk in wanted:
        base = {
            "partner": _display(pk, name or pk, names),
            "partner_key": pk,
            "partner_kb_key": (_kb_key(name, kb_obj) if name else None) or pd.NA,
            "partner_in_dataset": name or pd.NA,
            "measured_elsewhere": False,
        }
        if not name or pk == key:
            why = "the drug itself" if pk == key else f"partner not among the {label} drugs"
            rows.append(base | {"n_lines": 0, "note": why})
            spans.append((0, 0))
            continue
        seen = measured.get(name, set())
        todo = [c for c in used if c not in seen]
        if not todo:
            skipped += 1
            continue
        n_noexpr = sum(c in no_expr for c in todo)
        note = base_note
        if n_noexpr:
            note += f"; {n_noexpr} of {len(todo)} lines have no expression profile"
        if seen:
            note += f"; measured in {len(seen)} other line(s) (panel_synergy)"
        new_drug = pk in unseen or key in unseen
        if new_drug:
            note += (f"; {'the drug' if key in unseen else 'the partner'} is not a {label} drug: "
                     f"predicted from its structure ({ext[key if key in unseen else pk][2]})")  # fmt: skip
        rows.append(base | {"n_lines": len(todo), "note": note, "measured_elsewhere": bool(seen),
                            "unseen_drug": new_drug})  # fmt: skip
        spans.append((len(batch_l), len(batch_l) + len(todo)))
        batch_a.extend([name] * len(todo))
        batch_l.extend(todo)
    y = pred.predict(own, batch_a, batch_l) if batch_l else np.array([])
    for row, (i, j) in zip(rows, spans, strict=True):
        v = y[i:j]
        row["predicted_mean"] = float(v.mean()) if len(v) else np.nan
        row["predicted_sd"] = float(v.std(ddof=1)) if len(v) > 1 else np.nan
    out = pd.DataFrame(rows, columns=[c for c in PREDICTED_SYNERGY_COLUMNS if c != "z"])
    out["predicted_mean"] = out["predicted_mean"].astype(float)
    out["predicted_sd"] = out["predicted_sd"].astype(float)
    out["z"] = (out["predicted_mean"] - mu) / sd_all
    out = out.assign(
        dataset=f"synergy model (LightGBM) trained on {meta.label}",
        statistic=f"predicted {meta.statistic}",
        lineage_used=lin_used,
        unseen_drug=out["unseen_drug"].astype("boolean").fillna(False).astype(bool),
    )
    out = out.assign(
        caveat=np.where(out["unseen_drug"], _CAVEAT_UNSEEN[dataset], _CAVEAT[dataset]),
        citation=meta.citation,
        licence=meta.licence,
    )[list(PREDICTED_SYNERGY_COLUMNS)]
    out = out.sort_values(["z", "partner"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs["notes"] = (
        f"{skipped} partner(s) measured with {own} in every used line left out (see panel_synergy)",
        f"model fitted on {label} in {_FIT_SECONDS.get(dataset, float('nan')):.1f} s "
        "(once per process)",
    )
    return out
