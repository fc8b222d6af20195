"""The strategy ranking: every way to overcome a resistance, each row with its evidence trail.

:func:`suggest_strategies` joins the built components into one ranked table:

``next_drug`` / ``combination``
    :func:`~oncoresist.strategy._next_drug.rank_next_drugs` (knowledge base and CIViC), score as
    documented there, times the source weight ``knowledge_base``. A partner whose synergy with
    the resisted drug the user measured (``synergy=``) gets the item score
    ``user_synergy`` (1.0: measured in the model itself, above any KB item) when synergistic
    (score > 0), so measured partners come first; a measured antagonism is a caveat and scores 0.
``gene_target``
    (a) DepMap: genes whose knockout is selectively lethal in the lines that carry the
    resistance features (:func:`resistance_like_lines`, :func:`selective_dependencies`, Welch,
    common essentials excluded). Score ``depmap x min(1, -difference) x fdr_factor x
    drug_factor``: ``difference`` is the in-minus-out mean Chronos effect, ``fdr_factor`` 1 when
    FDR < 0.1 else ``not_significant`` (0.5), ``drug_factor`` 1 when a KB drug hits the gene
    else ``no_drug`` (0.5). The top ``n_dependencies`` (20) genes with a difference below
    -0.2 are kept. (b) The user's CRISPR screen: sensitisers at FDR < 0.1 (DrugZ ``fdr_synth``,
    MAGeCK ``neg_fdr``), score ``user_crispr x min(1, |z| / 3) x drug_factor`` (DrugZ
    ``norm_z``; for other statistics ``z`` is the normal quantile of the FDR); ``user_crispr``
    is 0.8 so that one in-vitro screen hit stays below a level A clinical item (1.0).
``repurposing``
    Launched drugs that inhibit a DepMap selective dependency (a): DrugCentral 2016 drugs
    (approved drugs; inhibitory action types only) and Drug Repurposing Hub drugs (release
    2020-03-24: launched, with an inhibitor / antagonist / blocker / degrader MOA on the gene;
    non-commercial licence, said as a caveat), each with its indications (a drug with no
    oncology indication in any source gets a caveat saying so), else KB drugs with an
    approval year. Score ``repurposing x`` that gene's score.
``signature_reversal``
    Compounds whose LINCS L1000 consensus signature reverses the resistance signature
    (:func:`connectivity_scores`, WTCS, gene-set null): FDR < 0.1 and score < 0, top
    ``n_reversers`` (10); score ``signature_reversal x |WTCS|``.

``next_drug`` support from the panels
    (a) GDSC v17 / CTRPv2 associations (:func:`~._panel_response.panel_associations`, the
    GDSC ANOVA): lines mutated in the resistance genes (else the profile's genes) vs the other
    lines, within the lineage when it has enough lines. A drug whose mutant lines are more
    sensitive at FDR < 0.1 gets the item ``panel_association x min(1, |Glass delta| / 2) x
    lineage x shared`` (``lineage`` 1 within the lineage, else ``all_lineages``, 0.5;
    ``shared`` the KB's ``shared_with_resisted``, 0.5, when the gene's alterations predicted
    the response to the resisted drug: a gene-level association then mostly reflects the
    drivers the tumour has escaped); one whose mutant lines are more resistant at FDR < 0.1
    gets a caveat. (b) The prediction module's forecast
    for the profile (:func:`~._panel_response.forecast_response`, a per-drug elastic net on
    GDSC mutation calls and tissue) for the top next drugs: ``forecast x max(0, 1 -
    percentile / 50)`` when the drug's cross-validated Spearman is at least 0.2 (percentile of
    the prediction among the panel's lines; low is sensitive), else a caveat. Either adds an
    item to a KB row or makes a row of its own (drugs the KB predicts resistant and the
    resisted drug excepted; drug mixtures of CTRP are not next drugs).
``combination`` support from the combination screens
    (a) Measured synergy of the resisted drug with the partner in O'Neil and NCI-ALMANAC
    (:func:`~._panel_synergy.panel_synergy`), in lines of the lineage when at least 3
    measured it: z > 0 and FDR < 0.1 give ``panel_synergy x min(1, z / 3) x lineage``; a
    significant antagonism (z < 0) is a caveat. (b) The synergy model's prediction for pairs
    not measured in those lines (:func:`~._panel_synergy.predicted_synergy`, trained on
    O'Neil; a drug outside the screen enters by its structure): z >= 1
    gives ``predicted_synergy x min(1, z / 3) x lineage``. The panel weights (0.2-0.3) are below the
    confidence threshold: a cell-line association or a synergy in other patients' lines alone
    is never a confident strategy; it orders and supports the curated ones.

A row's score is the largest of its items' scores (as the KB's own score takes the strongest
item, so that many weak items do not outrank one validated item); ties are broken by the
number of evidence items.

Every source weight is a key of :data:`SOURCE_WEIGHTS` and can be changed with
``weights={"depmap": 0.5}``; other keys go to the KB score's
:class:`~oncoresist.strategy._next_drug.StrategyWeights`. A row is ``confident`` when its score
is at least ``min_confident`` (0.4). Ranks are competition ranks of the score over all kinds.
A source that cannot run (data absent, no expression given, lineage not in the data) is a row
of ``not_assessable``, never skipped silently.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from .._results import ResultMixin
from ..errors import DataUnavailableError, InputError
from ..mechanisms import KnowledgeBase, Profile, annotate, load_knowledge_base, resolve_drug
from ._next_drug import StrategyWeights, rank_next_drugs

__all__ = [
    "EVIDENCE_COLUMNS",
    "SOURCE_WEIGHTS",
    "STRATEGY_COLUMNS",
    "Strategies",
    "compare_strategy_schedules",
    "suggest_strategies",
]

#: Default weight of each source (a multiplier of its rows' scores; see the module docstring).
SOURCE_WEIGHTS: dict[str, float] = {
    "knowledge_base": 1.0,
    "user_synergy": 1.0,
    "depmap": 1.0,
    "user_crispr": 0.8,
    "repurposing": 0.8,
    "signature_reversal": 0.6,
    "panel_association": 0.3,
    "panel_synergy": 0.3,
    "predicted_synergy": 0.2,
    "forecast": 0.2,
    "all_lineages": 0.5,
    "not_significant": 0.5,
    "no_drug": 0.5,
    "min_confident": 0.4,
}
STRATEGY_COLUMNS = [
    "rank", "n_tied", "kind", "strategy", "drug", "partner", "gene", "score", "confident",
    "source", "n_evidence", "top_evidence", "caveats", "evidence",
]  # fmt: skip
EVIDENCE_COLUMNS = [
    "strategy", "kind", "source", "dataset", "statistic", "effect_size", "evidence_level",
    "item_score", "citation", "licence", "caveat",
]  # fmt: skip
_DEPMAP_CIT = "Tsherniak 2017 Cell 170:564; Dempster 2021 Genome Biol 22:343 (Chronos)"
_DEPMAP_LIC = "DepMap (CC BY 4.0)"
_LINCS_CIT = "Subramanian 2017 Cell 171:1437 (WTCS); Lamb 2006 Science 313:1929"
_LINCS_LIC = "LINCS CC BY 4.0; DrugBank names CC BY-NC 4.0 (non-commercial)"
# profile tissue -> DepMap OncotreeLineage
_DEPMAP_LINEAGE = {
    "skin": "Skin", "melanoma": "Skin", "lung": "Lung", "breast": "Breast",
    "colorectal": "Bowel", "large_intestine": "Bowel", "blood": "Myeloid",
    "lymphocyte": "Lymphoid", "soft_tissue": "Soft Tissue", "ovary": "Ovary/Fallopian Tube",
    "pancreas": "Pancreas", "prostate": "Prostate", "kidney": "Kidney",
}  # fmt: skip


def _weights(weights: Mapping[str, Any] | StrategyWeights | None) -> tuple[dict[str, float], Any]:
    src = dict(SOURCE_WEIGHTS)
    if weights is None or isinstance(weights, StrategyWeights):
        return src, weights
    kb_w: dict[str, Any] = {}
    for k, v in dict(weights).items():
        if k in src:
            try:
                src[k] = float(v)
            except (TypeError, ValueError):
                raise InputError(f"weight {k!r} must be a number, got {v!r}") from None
        else:
            kb_w[k] = v
    known = sorted(src) + [f.name for f in dataclasses.fields(StrategyWeights)]
    bad = [k for k in kb_w if k not in known]
    if bad:
        raise InputError(f"unknown strategy weight(s) {bad}; known: {known}")
    return src, (kb_w or None)


@dataclass(frozen=True)
class Strategies(ResultMixin):
    """Ranked strategies of every kind for one resistant profile, with evidence and gaps.

    Attributes
    ----------
    sample, resisted_drug, lineage
        The profile, the resisted drug (KB key) and the lineage used.
    table
        One row per strategy (:data:`STRATEGY_COLUMNS`), best first; ``kind`` is
        ``next_drug``, ``combination``, ``repurposing``, ``gene_target`` or
        ``signature_reversal``; ``evidence`` and ``caveats`` are lists.
    evidence
        Every evidence item, long (:data:`EVIDENCE_COLUMNS`).
    not_assessable
        ``source``, ``item``, ``reason``: every source that could not be assessed, and why.
    schedules
        Time to progression of continuous, adaptive and combination schedules for the top
        candidates (:func:`compare_strategy_schedules`), empty when not run.
    timings
        Seconds per source.
    weights
        The source weights used.
    """

    sample: str
    resisted_drug: str
    lineage: str | None
    table: pd.DataFrame
    evidence: pd.DataFrame
    not_assessable: pd.DataFrame
    schedules: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: Mapping[str, float] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=lambda: dict(SOURCE_WEIGHTS))

    @property
    def confident(self) -> bool:
        """True when some row reaches ``min_confident``."""
        return bool(not self.table.empty and self.table.confident.any())

    def to_frame(self) -> pd.DataFrame:
        """The ranking, flat (caveats joined with '; ', no nested evidence)."""
        t = self.table.drop(columns=["evidence"]).copy()
        t["caveats"] = ["; ".join(c) for c in t.caveats]
        return t.assign(sample=self.sample, resisted_drug=self.resisted_drug)

    def summary(self) -> str:
        """One line: the profile, strategies ranked, confident ones and the top strategy."""
        head = f"Strategies: {self.sample} resistant to {self.resisted_drug}"
        if self.table.empty:
            return f"{head}: nothing ranked; {len(self.not_assessable)} item(s) not assessable"
        top = self.table.iloc[0]
        n_conf = int(self.table["confident"].sum())
        return (
            f"{head}: {len(self.table)} strategies, {n_conf} confident; top [{top['kind']}] "
            f"{top['strategy']} ({float(top['score']):.2f}); "
            f"{len(self.not_assessable)} item(s) not assessable"
        )

    def describe(self) -> str:
        """The top rows per kind and what could not be assessed."""
        head = f"{self.sample} resistant to {self.resisted_drug}"
        lines = [f"{head}: {len(self.table)} strategies"]
        if not self.confident:
            lines.append(
                "  no confident strategy: no source gave evidence reaching the confidence "
                f"threshold ({self.weights.get('min_confident', 0.4)}); nothing is ranked "
                "confidently"
            )
        for r in _tuples(self.table.head(8)):
            flag = "" if r.confident else " [not confident]"
            lines.append(
                f"  {r.rank}. [{r.kind}] {r.strategy} ({r.score:.2f}){flag}: {r.top_evidence}"
            )
        for r in _tuples(self.not_assessable):
            lines.append(f"  not assessable ({r.source}): {r.item}: {r.reason}")
        return "\n".join(lines)


# --- helpers ---------------------------------------------------------------------------------


def _item(source: str, dataset: str, statistic: str, effect: float, level: str, score: float,
          citation: str, licence: str, caveat: str = "") -> dict[str, Any]:  # fmt: skip
    return {"source": source, "dataset": dataset, "statistic": statistic,
            "effect_size": float(effect), "evidence_level": level, "item_score": float(score),
            "citation": citation, "licence": licence, "caveat": caveat}  # fmt: skip


def _row(kind: str, strategy: str, score: float, source: str, items: list[dict[str, Any]],
         caveats: Sequence[str], drug: str = "", partner: str = "", gene: str = "",
         top: str = "") -> dict[str, Any]:  # fmt: skip
    return {"rank": 0, "n_tied": 0, "kind": kind, "strategy": strategy, "drug": drug,
            "partner": partner, "gene": gene, "score": float(score), "confident": False,
            "source": source, "n_evidence": len(items), "top_evidence": top,
            "caveats": list(dict.fromkeys(c for c in caveats if c)), "evidence": items}  # fmt: skip


def _have(dataset: str, files: Sequence[str]) -> str | None:
    """None when every file is in the mirror or cache (no download tried), else why not."""
    from ..data._datasets import fetch_file

    for f in files:
        try:
            fetch_file(dataset, f, download=False)
        except (DataUnavailableError, InputError) as exc:
            return f"data unavailable: {exc}"
    return None


def _drugs_by_gene(kb: KnowledgeBase) -> dict[str, list[tuple[str, bool]]]:
    out: dict[str, list[tuple[str, bool]]] = {}
    d = kb.drugs
    for name, targets, approved in zip(d.drug, d.targets, d.approved, strict=True):
        for t in targets if isinstance(targets, (list, tuple)) else []:
            out.setdefault(str(t), []).append((str(name), not pd.isna(approved)))
    return out


def _kb_rows(res: Any, src_w: Mapping[str, float]) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    for r in _tuples(res.table):
        items = [
            _item(
                f"knowledge base: {e['source']}",
                str(e["source"]),
                str(e["statistic"]),
                float(e["item_score"]),
                str(e["evidence_level"]),
                float(e["item_score"]) * src_w["knowledge_base"],
                str(e["citation"]),
                "oncoresist KB / CIViC (CC0)",
            )
            for e in r.evidence
        ]
        rows.append(_row(str(r.kind), str(r.strategy), float(r.score) * src_w["knowledge_base"],
                         "knowledge_base", items, list(r.caveats), drug=str(r.drug),
                         partner=str(r.partner), top=str(r.top_evidence)))  # fmt: skip
    return rows


def _synergy_table(synergy: Any, drug_key: str, kb: KnowledgeBase) -> pd.DataFrame:
    """(partner, score, statistic, n) of the user's synergy results with the resisted drug.

    A ``SynergyResult`` gives its ``scores`` (``drug1``, ``drug2``, ``model``, ``score``); a
    table gives ``partner`` or ``drug_a`` / ``drug_b`` (or ``drug1`` / ``drug2``) and a score
    column (``score``, ``synergy``, ``zip``, ``bliss``, ``hsa`` or ``loewe``). Rows of pairs
    without the resisted drug are dropped; per partner the score is the mean over its blocks
    of the first model (the result's first model, or the score column).
    """
    frame = getattr(synergy, "scores", synergy)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"synergy must be a SynergyResult or a table, got {type(synergy).__name__}"
        )
    cols = {str(c).lower(): c for c in frame.columns}
    for old, new in (("drug1", "drug_a"), ("drug2", "drug_b")):
        if old in cols and new not in cols:
            cols[new] = cols.pop(old)
    score_col = next(
        (cols[c] for c in ("score", "synergy", "zip", "bliss", "hsa", "loewe") if c in cols), None
    )
    if score_col is None:
        raise InputError(
            "synergy table: no score column (score, synergy, zip, bliss, hsa or loewe); "
            f"columns are {list(frame.columns)}"
        )
    stat = frame[cols["model"]].astype(str) if "model" in cols else pd.Series(str(score_col),
                                                                              index=frame.index)  # fmt: skip

    def key(name: str) -> str:
        try:
            return resolve_drug(name, kb)
        except InputError:
            return name.strip().lower()

    if "partner" in cols:
        partner = frame[cols["partner"]].astype(str)
    elif "drug_a" in cols and "drug_b" in cols:
        a = frame[cols["drug_a"]].astype(str)
        b = frame[cols["drug_b"]].astype(str)
        ka, kb_ = a.map(key), b.map(key)
        keep = (ka == drug_key) | (kb_ == drug_key)
        partner = b.where(ka == drug_key, a)[keep]
        frame, stat = frame[keep], stat[keep]
    else:
        raise InputError(
            "synergy table: give a 'partner' column or 'drug_a' and 'drug_b' (drug1, drug2) columns"
        )
    t = pd.DataFrame({"partner": partner, "statistic": stat,
                      "score": pd.to_numeric(frame[score_col], errors="coerce")}).dropna()  # fmt: skip
    if t.empty:
        return pd.DataFrame(columns=["partner", "score", "statistic", "n"])
    first = t.statistic.iloc[0]
    t = t[t.statistic == first]
    g = t.groupby("partner", sort=False).score.agg(["mean", "size"]).reset_index()
    return pd.DataFrame({"partner": g.partner, "score": g["mean"], "statistic": first,
                         "n": g["size"]})  # fmt: skip


def _crispr_table(crispr: Any) -> tuple[pd.DataFrame, str]:
    """(gene, fdr, z) of the sensitisers of a CrisprResult or a gene table."""
    from ..crispr import CrisprResult

    if isinstance(crispr, CrisprResult):
        g, method = crispr.genes, crispr.method
    elif isinstance(crispr, pd.DataFrame):
        g, method = crispr, "table"
        if "gene" in g.columns:
            g = g.set_index("gene")
    else:
        raise InputError(
            f"crispr must be a CrisprResult or a gene table, got {type(crispr).__name__}"
        )
    fdr_col = next((c for c in ("fdr_synth", "neg_fdr", "fdr") if c in g.columns), None)
    if fdr_col is None:
        raise InputError(
            "crispr gene table: no sensitiser FDR column (fdr_synth of DrugZ, neg_fdr of "
            f"MAGeCK, or fdr); columns are {list(g.columns)[:12]}"
        )
    fdr = pd.to_numeric(g[fdr_col], errors="coerce")
    if "norm_z" in g.columns:
        z = pd.to_numeric(g["norm_z"], errors="coerce").abs()
    else:
        z = pd.Series(stats.norm.isf(fdr.clip(1e-300, 1).to_numpy() / 2), index=g.index)
    t = pd.DataFrame({"fdr": fdr, "z": z}, index=g.index.astype(str))
    return t, f"{method} {fdr_col}"


# --- the ranking ------------------------------------------------------------------------------


def suggest_strategies(
    profile: Profile,
    drug: str,
    *,
    lineage: str | None = None,
    expression: pd.Series | None = None,
    crispr: Any = None,
    synergy: Any = None,
    dependencies: bool = True,
    connectivity: bool = True,
    panels: bool = True,
    synergy_prediction: bool = True,
    schedules: bool = True,
    schedule_params: Mapping[str, float] | None = None,
    shift: Any = None,
    weights: Mapping[str, Any] | StrategyWeights | None = None,
    kb: KnowledgeBase | None = None,
    civic: Any = None,
    n_dependencies: int = 20,
    n_reversers: int = 10,
    n_null: int = 200,
    rng: int = 0,
) -> Strategies:
    """Rank every strategy against a resistance: next drugs, partners, targets, repurposing.

    Parameters
    ----------
    profile
        The resistant tumour or line (:func:`oncoresist.mechanisms.read_profile`).
    drug
        The drug it resists (unknown names raise :class:`InputError` with close matches).
    lineage
        Overrides the profile's tissue (``lung``, ``skin``...).
    expression
        Resistant-vs-parental expression difference (gene -> log fold change) for signature
        reversal; by default the profile's own expression, centred (weaker: caveat).
    crispr
        The user's CRISPR result (:class:`~oncoresist.crispr.CrisprResult`, e.g. DrugZ, or its
        gene table): its sensitisers become gene targets.
    synergy
        The user's measured synergy of the drug with partners (a ``SynergyResult`` or a table
        with ``partner`` (or ``drug_a``, ``drug_b``) and ``score``): first among partners.
    dependencies, connectivity
        Run the DepMap and LINCS sources (need the data mirror; listed as not assessable
        otherwise).
    panels, synergy_prediction
        Run the GDSC / CTRP associations, the response forecast and the O'Neil / NCI-ALMANAC
        measured synergy (``panels``) and the synergy model for unmeasured pairs
        (``synergy_prediction``; fits the model once per process, about 7-17 s). They use
        mirrored or cached data only, never a download; what is missing is not assessable.
    schedules, schedule_params, shift
        Compare schedules for the top two next-drug / combination rows
        (:func:`compare_strategy_schedules`; ``schedule_params`` overrides its parameters;
        ``shift`` is the user's fold-shift table, e.g. :func:`oncoresist.curves.resistance_shift`,
        whose resistance index of the resisted drug (and of a candidate, when measured) sets
        the resistant clone's IC50).
    weights
        Source weights (:data:`SOURCE_WEIGHTS`) and KB score weights (``StrategyWeights``).
    kb, civic
        Knowledge base and imported CIViC evidence.

    Examples
    --------
    >>> from oncoresist.mechanisms import make_profile
    >>> s = suggest_strategies(make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung"),
    ...                        "gefitinib", dependencies=False, connectivity=False,
    ...                        schedules=False)
    >>> s.table.drug.iloc[0]
    'Osimertinib'
    """
    src_w, kb_w = _weights(weights)
    bad_p = sorted(set(schedule_params or {}) - set(SCHEDULE_PARAMS))
    if bad_p:
        raise InputError(f"unknown schedule parameter(s) {bad_p}; known: {sorted(SCHEDULE_PARAMS)}")
    kb = kb or load_knowledge_base()
    key = resolve_drug(drug, kb)
    if lineage is not None:
        profile = dataclasses.replace(profile, tissue=str(lineage))
    timings: dict[str, float] = {}
    na: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    names = dict(zip(kb.drugs.key, kb.drugs.drug, strict=True))
    drug_name = names.get(key, key)

    t0 = time.perf_counter()
    kb_res = rank_next_drugs(profile, key, kb=kb, civic=civic, weights=kb_w)
    rows += _kb_rows(kb_res, src_w)
    for r in _tuples(kb_res.not_assessable):
        na.append({"source": "knowledge_base", "item": str(r.item), "reason": str(r.reason)})
    timings["knowledge_base"] = time.perf_counter() - t0
    res_genes = [str(g) for g in kb_res.mechanism.gene] if not kb_res.mechanism.empty else []

    # user synergy
    t0 = time.perf_counter()
    if synergy is None:
        na.append({"source": "user_synergy", "item": "measured synergy",
                   "reason": "no synergy results given (synergy=, --synergy)"})  # fmt: skip
    else:
        syn = _synergy_table(synergy, key, kb)
        if syn.empty:
            na.append({"source": "user_synergy", "item": "measured synergy",
                       "reason": f"no measured pair includes {drug_name}"})  # fmt: skip
        for r in _tuples(syn):
            try:
                pkey = resolve_drug(r.partner, kb)
                pname = names.get(pkey, r.partner)
            except InputError:
                pname = r.partner
            good = r.score > 0
            sc = src_w["user_synergy"] if good else 0.0
            item = _item("user synergy", f"user's own combination screen ({r.n} blocks)",
                         f"mean {r.statistic} synergy",
                         r.score, "measured", sc, "user data", "user data",
                         "" if good else "measured antagonism or additivity")  # fmt: skip
            strat = f"{drug_name} + {pname}"
            match = [x for x in rows if x["kind"] == "combination" and x["partner"] == pname]
            if match:
                x = match[0]
                x["evidence"].insert(0, item)
                x["n_evidence"] += 1
                x["score"] = max(x["score"], sc) if good else 0.0
                x["source"] = "user_synergy+" + x["source"]
                if not good:
                    x["caveats"].append("the user's measured synergy is not positive")
            else:
                rows.append(_row("combination", strat, sc, "user_synergy", [item],
                                 ["in vitro only (the user's screen)"] +
                                 ([] if good else ["measured antagonism or additivity"]),
                                 drug=drug_name, partner=str(pname),
                                 top=f"measured {r.statistic} {r.score:+.2f}"))  # fmt: skip
    timings["user_synergy"] = time.perf_counter() - t0

    by_gene = _drugs_by_gene(kb)

    # DepMap selective dependencies -> gene targets and repurposing
    t0 = time.perf_counter()
    if dependencies:
        rows += _depmap_rows(profile, res_genes, src_w, by_gene, na, n_dependencies)
    else:
        na.append({"source": "depmap", "item": "selective dependencies",
                   "reason": "not run (dependencies=False)"})  # fmt: skip
    timings["depmap"] = time.perf_counter() - t0

    # user CRISPR screen
    t0 = time.perf_counter()
    if crispr is None:
        na.append({"source": "user_crispr", "item": "CRISPR sensitisers",
                   "reason": "no CRISPR screen result given (crispr=, --crispr)"})  # fmt: skip
    else:
        ct, stat = _crispr_table(crispr)
        hits = ct[ct.fdr < 0.1].sort_values(["fdr", "z"], ascending=[True, False]).head(25)
        if hits.empty:
            na.append({"source": "user_crispr", "item": "CRISPR sensitisers",
                       "reason": f"no sensitiser at FDR < 0.1 ({stat})"})  # fmt: skip
        for g, h in _rows(hits):
            hit_drugs = by_gene.get(str(g), [])
            dfac = 1.0 if hit_drugs else src_w["no_drug"]
            sc = src_w["user_crispr"] * min(1.0, float(h.z) / 3.0) * dfac
            dn = ", ".join(sorted({d for d, _ in hit_drugs})[:6])
            item = _item("user CRISPR screen", "user's own screen", stat, float(h.z), "measured",
                         sc, "Colic 2019 Genome Med 11:52 (DrugZ)" if "fdr_synth" in stat
                         else "Li 2014 Genome Biol 15:554 (MAGeCK)", "user data",
                         f"FDR {h.fdr:.3g}")  # fmt: skip
            rows.append(_row("gene_target", f"target {g}" + (f" ({dn})" if dn else " (no KB drug)"),
                             sc, "user_crispr", [item],
                             ["in vitro only (the user's screen)"] +
                             ([] if hit_drugs else ["no drug in the KB hits this gene"]),
                             drug=dn, gene=str(g),
                             top=f"{stat} FDR {h.fdr:.3g}, |z| {h.z:.2f}"))  # fmt: skip
    timings["user_crispr"] = time.perf_counter() - t0

    # signature reversal
    t0 = time.perf_counter()
    if connectivity:
        rows += _reversal_rows(profile, expression, src_w, na, n_reversers, n_null, rng)
    else:
        na.append({"source": "lincs", "item": "signature reversal",
                   "reason": "not run (connectivity=False)"})  # fmt: skip
    timings["lincs"] = time.perf_counter() - t0

    # panels: associations and forecast (next drugs), measured and predicted synergy (partners),
    # from mirrored or cached data only (nothing is downloaded mid-ranking; missing data are
    # listed as not assessable)
    if panels:
        from ..data._datasets import local_data_only

        with local_data_only():
            rows = _panel_rows(rows, kb_res, key, drug_name, res_genes, profile, src_w, na, kb,
                               kb_w, synergy_prediction, timings)  # fmt: skip
    else:
        na.append({"source": "panels", "item": "GDSC/CTRP associations, forecast, O'Neil / "
                   "NCI-ALMANAC synergy", "reason": "not run (panels=False)"})  # fmt: skip

    table = _rank(pd.DataFrame(rows, columns=STRATEGY_COLUMNS), src_w["min_confident"])
    if table.empty or not table.confident.any():
        na.append({"source": "ranking", "item": "all sources",
                   "reason": "no source gave evidence reaching the confidence threshold "
                   f"({src_w['min_confident']}): nothing is ranked confidently"})  # fmt: skip
    ev = [{"strategy": r.strategy, "kind": r.kind, **i} for r in _tuples(table) for i in r.evidence]
    evidence = pd.DataFrame(ev, columns=EVIDENCE_COLUMNS)

    sched = pd.DataFrame()
    t0 = time.perf_counter()
    if schedules:
        sched = compare_strategy_schedules(
            table, drug_name, params=schedule_params, shift=shift, kb=kb
        )
        if sched.empty:
            na.append({"source": "evolution", "item": "schedules",
                       "reason": "no next-drug or combination candidate to simulate"})  # fmt: skip
    timings["schedules"] = time.perf_counter() - t0
    return Strategies(
        sample=profile.sample, resisted_drug=key, lineage=profile.tissue, table=table,
        evidence=evidence, not_assessable=pd.DataFrame(na, columns=["source", "item", "reason"]),
        schedules=sched, timings=timings, weights=src_w,
    )  # fmt: skip


def _rank(t: pd.DataFrame, min_conf: float) -> pd.DataFrame:
    if t.empty:
        return t.astype({"rank": int, "n_tied": int, "confident": bool})
    t = t.assign(score=t.score.astype(float).round(12))
    t = t.sort_values(["score", "n_evidence", "strategy"], ascending=[False, False, True],
                      ignore_index=True)  # fmt: skip
    t["rank"] = t.score.rank(method="min", ascending=False).astype(int)
    t["n_tied"] = t.groupby("score").score.transform("size").astype(int)
    t["confident"] = t.score.to_numpy(dtype=float) >= min_conf - 1e-12
    return t


def _depmap_rows(profile: Profile, res_genes: list[str], w: Mapping[str, float],
                 by_gene: Mapping[str, list[tuple[str, bool]]], na: list[dict[str, str]],
                 n_top: int) -> list[dict[str, Any]]:  # fmt: skip
    from ..data._depmap import (
        _CHRONOS,
        _MODELS,
        CHRONOS_LINEAGES,
        CHRONOS_SOURCE,
        fetch_depmap_chronos,
        fetch_depmap_line_mutations,
    )  # fmt: skip
    from ._dependencies import resistance_like_lines, selective_dependencies

    why = _have(_CHRONOS, list(CHRONOS_LINEAGES.values())) or _have(_MODELS, ["Model_24Q2.csv"])
    if why is None:
        try:
            effect = fetch_depmap_chronos()
            genes = list(dict.fromkeys([*res_genes, *(str(g) for g in profile.events().gene)]))
            muts = fetch_depmap_line_mutations()
        except DataUnavailableError as exc:
            why = f"data unavailable: {exc}"
    if why is not None:
        na.append({"source": "depmap", "item": "selective dependencies (gene targets, "
                   "repurposing)", "reason": why})  # fmt: skip
        return []
    calls = muts.calls
    feats = [g for g in dict.fromkeys(res_genes) if g in calls.columns]
    if not feats:
        feats = [g for g in genes if g in calls.columns]
    if not feats:
        na.append(
            {
                "source": "depmap",
                "item": "selective dependencies",
                "reason": "no gene of the profile has mutation calls in the DepMap lines",
            }
        )
        return []
    feats = feats[:2]
    lin = _DEPMAP_LINEAGE.get(str(profile.tissue or "").lower(), profile.tissue)
    caveats = ["in vitro only (DepMap CRISPR screens of cell lines)",
               "gene-level mutation calls (any coding mutation of the gene)"]  # fmt: skip
    try:
        sel = resistance_like_lines(calls, feats, effect.columns, lineage=lin)
    except InputError as exc:
        sel = resistance_like_lines(calls, feats, effect.columns)
        na.append({"source": "depmap", "item": f"lineage {lin!r}",
                   "reason": f"{exc}; fell back to all lines of the data"})  # fmt: skip
        caveats.append("evidence from other lineages")
    if lin is None:
        caveats.append("no lineage given: lines of every lineage of the data")
    if sel.fell_back:
        na.append({"source": "depmap", "item": f"lineage {lin!r}", "reason": sel.notes[0]})
        caveats.append("evidence from other lineages (lineage absent from the DepMap subset)")
    if len(sel.in_group) < 3 or len(sel.out_group) < 3:
        na.append({"source": "depmap", "item": "selective dependencies",
                   "reason": f"too few lines: {sel.notes[-1]}"})  # fmt: skip
        return []
    if len(sel.in_group) < 5:
        caveats.append(f"only {len(sel.in_group)} resistant-like lines: FDR not calibrated "
                       "(see permutation_check)")  # fmt: skip
    res = selective_dependencies(effect, sel.in_group, sel.out_group, source=CHRONOS_SOURCE)
    dc = _drugcentral()
    if dc is None:
        na.append({"source": "drugcentral", "item": "launched drugs (repurposing)",
                   "reason": "DrugCentral drug_target.tsv not available (mirror or cache); "
                   "launched status from the KB approval year only"})  # fmt: skip
    hub = _hub()
    if hub is None:
        na.append({"source": "repurposing_hub", "item": "launched drugs (repurposing)",
                   "reason": "Drug Repurposing Hub table not available (mirror or cache)"})  # fmt: skip
    tab = res.table[res.table["rank"].notna()]
    top = tab[tab.difference < -0.2].head(n_top)
    rows = []
    feat_text = " + ".join(feats)
    for g, r in _rows(top):
        hit = by_gene.get(str(g), [])
        fdr_f = 1.0 if r.fdr < 0.1 else w["not_significant"]
        dfac = 1.0 if hit else w["no_drug"]
        sc = w["depmap"] * min(1.0, -float(r.difference)) * fdr_f * dfac
        item = _item("DepMap CRISPR", CHRONOS_SOURCE,
                     f"Welch t, {feat_text}-mutant ({r.n_in}) vs other ({r.n_out}) lines; "
                     f"rank {int(r['rank'])}, FDR {r.fdr:.3g}", float(r.difference), "D", sc,
                     _DEPMAP_CIT, _DEPMAP_LIC,
                     f"{r.fraction_dependent_in:.0%} of in-group lines below -0.5")  # fmt: skip
        dn = ", ".join(sorted({d for d, _ in hit})[:6])
        cav = list(caveats) + ([] if r.fdr < 0.1 else ["FDR >= 0.1"]) + (
            [] if hit else ["no drug in the KB hits this gene"])  # fmt: skip
        rows.append(_row("gene_target", f"target {g}" + (f" ({dn})" if dn else " (no KB drug)"),
                         sc, "depmap", [item], cav, drug=dn, gene=str(g),
                         top=f"DepMap {feat_text}-mutant lines: difference "
                         f"{r.difference:+.2f}, FDR {r.fdr:.3g}"))  # fmt: skip
        for d, launched in _repurposing_drugs(str(g), hit, dc, hub):
            rsc = sc * w["repurposing"]
            onc = all(o for _, _, o, _, _ in launched)
            items = [dict(item, item_score=rsc)] + [
                _item("launched drug", src_txt, f"launched drug, {moa} of the target",
                      float("nan"), "approved", rsc, cit, lic,
                      f"indications: {ind}" if ind else "")
                for src_txt, ind, _, (moa, cit), lic in launched
            ]  # fmt: skip
            lic_cav = ["non-commercial licence (Drug Repurposing Hub)"] if any(
                "non-commercial" in lic for *_, lic in launched) else []  # fmt: skip
            srcs = " + ".join(x[0] for x in launched)
            rows.append(
                _row("repurposing", f"{d} (targets {g})", rsc, "depmap", items,
                     [*cav, *([] if onc else ["non-oncology drug (repurposing)"]), *lic_cav],
                     drug=d, gene=str(g),
                     top=f"launched drug ({srcs}) inhibiting DepMap dependency {g}")
            )  # fmt: skip
    return rows


_DC = "drugcentral_drugtarget_2016"
_DC_CIT = "Ursu 2017 Nucleic Acids Res 45:D932 (DrugCentral)"
_DC_LIC = "DrugCentral (CC BY 4.0)"
_INHIBITORY = frozenset(["INHIBITOR", "ANTAGONIST", "BLOCKER", "NEGATIVE MODULATOR",
                         "ANTIBODY BINDING", "INVERSE AGONIST", "NEGATIVE ALLOSTERIC MODULATOR"])  # fmt: skip
_ONCOLOGY = re.compile(
    r"neoplasm|cancer|carcinoma|leuk|lymphoma|melanoma|tumou?r|myeloma|sarcoma|glioma|"
    r"blastoma|malignan|mastocytosis|myelodysplastic|myelofibrosis|polycythemia",
    re.IGNORECASE,
)


@functools.cache
def _drugcentral() -> pd.DataFrame | None:
    """DrugCentral 2016: gene, drug, indications (inhibitory actions only); None without data."""
    from ..data._datasets import fetch_file

    try:
        tp = fetch_file(_DC, "drug_target.tsv", download=False)
        ip = fetch_file(_DC, "drug_indication.tsv.gz", download=False)
    except (DataUnavailableError, InputError):
        return None
    t = pd.read_csv(tp, sep="\t", usecols=["DRUG_ID", "DRUG_NAME", "GENE", "ACTION_TYPE"])
    t = t[t.ACTION_TYPE.isin(list(_INHIBITORY))].dropna(subset=["GENE"])
    t = t.assign(gene=t.GENE.str.split("|")).explode("gene")
    raw = pd.read_csv(ip, sep="\t", usecols=["DRUG_ID", "INDICATION_FDB"])
    ind = raw.dropna().groupby("DRUG_ID").INDICATION_FDB.agg(lambda x: "; ".join(sorted(set(x))))
    t = t.assign(indications=t.DRUG_ID.map(ind).fillna("none recorded"))
    return t[["gene", "DRUG_NAME", "indications"]].drop_duplicates(["gene", "DRUG_NAME"])


@functools.cache
def _hub() -> pd.DataFrame | None:
    """Drug Repurposing Hub launched drugs with an inhibitory MOA, one row per target gene."""
    from ..data import fetch_repurposing_hub

    try:
        h = fetch_repurposing_hub(download=False)
    except (DataUnavailableError, InputError):
        return None
    h = h[h.launched].copy()
    h["moa_text"] = ["; ".join(m) for m in h.moa]
    h = h[h.moa_text.str.contains(_HUB_INHIBITORY)]
    return h.explode("targets").dropna(subset=["targets"])


_HUB_INHIBITORY = re.compile(r"inhibitor|antagonist|blocker|degrader", re.IGNORECASE)


def _repurposing_drugs(
    gene: str,
    kb_hits: Sequence[tuple[str, bool]],
    dc: pd.DataFrame | None,
    hub: pd.DataFrame | None = None,
) -> list[tuple[str, list[tuple[str, str, bool, tuple[str, str], str]]]]:
    """Launched drugs inhibiting ``gene``, each with its sources: (source, indications,
    oncology, (action, citation), licence) from DrugCentral 2016 (inhibitory action types),
    the Drug Repurposing Hub (launched, inhibitory MOA) and the KB (approval year)."""
    from ..data._repurposing import REPURPOSING_CITATION, REPURPOSING_LICENCE

    out: dict[str, list[tuple[str, str, bool, tuple[str, str], str]]] = {}
    if dc is not None:
        for d, ind in zip(*(dc.loc[dc.gene == gene, c] for c in ("DRUG_NAME", "indications")),
                          strict=True):  # fmt: skip
            out.setdefault(str(d).capitalize(), []).append(
                ("DrugCentral 2016", str(ind), bool(_ONCOLOGY.search(str(ind))),
                 ("inhibitor", _DC_CIT), _DC_LIC))  # fmt: skip
    if hub is not None:
        for r in _tuples(hub[hub.targets == gene]):
            ind = "; ".join(r.indication) or "none recorded"
            out.setdefault(str(r.drug).capitalize(), []).append(
                ("Drug Repurposing Hub 2020-03-24", f"{ind} ({', '.join(r.disease_area)})",
                 bool(r.oncology), (str(r.moa_text), REPURPOSING_CITATION),
                 REPURPOSING_LICENCE))  # fmt: skip
    for d, approved in kb_hits:
        if approved and d.capitalize() not in out:
            out[d] = [("KB approval year", "", True, ("inhibitor", "oncoresist KB"),
                       "oncoresist KB")]  # fmt: skip
    return list(out.items())


def _reversal_rows(profile: Profile, expression: pd.Series | None, w: Mapping[str, float],
                   na: list[dict[str, str]], n_top: int, n_null: int,
                   rng: int) -> list[dict[str, Any]]:  # fmt: skip
    from ._connectivity import LINCS_DATASET, connectivity_scores, signature_from_profile

    caveats = ["signatures of other cell lines (LINCS L1000)", "non-commercial licence (DrugBank names, CC BY-NC 4.0)"]  # fmt: skip
    if expression is None:
        pe = profile.expression
        if pe is None or len(pe) == 0:
            na.append({"source": "lincs", "item": "signature reversal",
                       "reason": "no expression given (expression=, --expression) and the "
                       "profile has none"})  # fmt: skip
            return []
        vals = pe.iloc[:, 0] if isinstance(pe, pd.DataFrame) else pe
        vals = pd.to_numeric(vals, errors="coerce")
        expression = (vals - vals.median()) / (vals.std() or 1.0)
        caveats.append("signature from the profile's own expression (centred), not a "
                       "resistant-vs-parental difference")  # fmt: skip
    why = _have(LINCS_DATASET, ["consensi-drugbank.tsv.gz"])
    if why is not None:
        na.append({"source": "lincs", "item": "signature reversal", "reason": why})
        return []
    q = signature_from_profile(pd.Series(expression))
    if not q.up and not q.down:
        na.append(
            {
                "source": "lincs",
                "item": "signature reversal",
                "reason": f"no landmark gene in the expression ({q.summary()})",
            }
        )
        return []
    res = connectivity_scores(q.up, q.down, n_null=n_null, rng=rng)
    rev = res.reversers(max(n_top * 5, 50))
    rev = rev[rev.fdr < 0.1].head(n_top)
    if rev.empty:
        na.append(
            {
                "source": "lincs",
                "item": "signature reversal",
                "reason": "no compound reverses the signature at FDR < 0.1",
            }
        )
    rows = []
    for r in _tuples(rev):
        sc = w["signature_reversal"] * abs(float(r.score))
        item = _item("LINCS connectivity", str(r.source), str(r.statistic), float(r.score),
                     "D", sc, _LINCS_CIT, _LINCS_LIC, f"FDR {r.fdr:.3g}")  # fmt: skip
        rows.append(_row("signature_reversal", f"{r.name} (reverses the signature)", sc,
                         "lincs", [item], caveats, drug=str(r.name),
                         top=f"WTCS {r.score:+.3f}, FDR {r.fdr:.3g}"))  # fmt: skip
    return rows


# --- panels: associations, forecast, measured and predicted synergy --------------------------


def _key(name: str, kb: KnowledgeBase) -> str:
    from ._panel_synergy import synergy_drug_key

    return synergy_drug_key(str(name), kb)


def _attach(rows: list[dict[str, Any]], match: Any, item: dict[str, Any], source: str,
            caveats: Sequence[str] = ()) -> bool:  # fmt: skip
    """Add ``item`` to every row ``match(row)`` selects (score = max of the items); True if any."""
    hit = False
    for x in rows:
        if not match(x):
            continue
        hit = True
        x["evidence"].append(item)
        x["n_evidence"] += 1
        x["score"] = max(float(x["score"]), float(item["item_score"]))
        if source not in x["source"].split("+"):
            x["source"] = f"{x['source']}+{source}"
        x["caveats"] = list(dict.fromkeys([*x["caveats"], *(c for c in caveats if c)]))
    return hit


def _panel_rows(rows: list[dict[str, Any]], kb_res: Any, key: str, drug_name: str,
                res_genes: Sequence[str], profile: Profile, src_w: Mapping[str, float],
                na: list[dict[str, str]], kb: KnowledgeBase, kb_w: Any, predict: bool,
                timings: dict[str, float]) -> list[dict[str, Any]]:  # fmt: skip
    """The panel sources in order: associations, forecast, measured and predicted synergy."""
    t0 = time.perf_counter()
    excluded_keys = {_key(str(d), kb) for d in kb_res.excluded.drug} | {key}
    genes = list(dict.fromkeys(res_genes)) or list(
        dict.fromkeys(str(g) for g in profile.events().gene)
    )
    rows = _association_rows(rows, genes[:2], profile, src_w, na, excluded_keys, kb, key,
                             StrategyWeights.from_any(kb_w))  # fmt: skip
    timings["panel_associations"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = _forecast_rows(rows, profile, src_w, na, excluded_keys, kb)
    timings["forecast"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = _panel_synergy_rows(rows, key, drug_name, profile, src_w, na, kb, predict)
    timings["panel_synergy"] = time.perf_counter() - t0
    return rows


def _try(na: list[dict[str, str]], source: str, item: str, fn: Any, *args: Any,
         **kwargs: Any) -> Any:  # fmt: skip
    """``fn(*args, **kwargs)``, or None with a not-assessable row when its data are missing."""
    try:
        return fn(*args, **kwargs)
    except DataUnavailableError as exc:
        na.append({"source": source, "item": item, "reason": f"data unavailable: {exc}"})
        return None


def _association_rows(rows: list[dict[str, Any]], genes: Sequence[str], profile: Profile,
                      w: Mapping[str, float], na: list[dict[str, str]], excluded: set[str],
                      kb: KnowledgeBase, resisted: str,
                      kb_w: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    from ._panel_response import panel_associations

    if not genes:
        na.append({"source": "panel_associations", "item": "GDSC / CTRP associations",
                   "reason": "the profile names no gene"})  # fmt: skip
        return rows
    a = _try(na, "panel_associations", "GDSC / CTRP associations", panel_associations, genes,
             lineage=profile.tissue, kb=kb)  # fmt: skip
    if a is None:
        return rows
    a = a[a.fdr.notna() & (a.fdr < 0.1) & ~a.drug.astype(str).str.contains(":")]
    if a.empty:
        na.append({"source": "panel_associations", "item": "GDSC / CTRP associations",
                   "reason": f"no drug associated with {' / '.join(genes)} mutation at FDR < 0.1 "
                   "in GDSC v17 or CTRPv2"})  # fmt: skip
        return rows
    names = dict(zip(kb.drugs.key, kb.drugs.drug, strict=True))
    # genes whose alterations predicted the response to the resisted drug: an association of
    # the gene (any mutation) mostly reflects those drivers, so it counts at the shared weight
    ev = annotate(profile, resisted, kb=kb).evidence
    drivers = set() if ev.empty else set(
        ev.gene[ev.used.astype(bool) & (ev.effect == "sensitivity")].astype(str))  # fmt: skip
    shared_w = float(getattr(kb_w, "shared_with_resisted", StrategyWeights().shared_with_resisted))
    a = a.assign(_k=[_key(str(k) if isinstance(k, str) else str(d), kb)
                     for k, d in zip(a.drug_key, a.drug, strict=True)])  # fmt: skip
    for k, g in a.sort_values("fdr").groupby("_k", sort=False):
        best = g.iloc[0]
        lin = str(best.lineage_used)
        lf = w["all_lineages"] if lin.startswith("all") else 1.0
        sens = float(best.effect) < 0
        if pd.isna(best.glass_delta) or pd.isna(best.effect):
            continue  # no spread among the wild-type lines: no effect size to score
        shf = shared_w if set(genes) & drivers else 1.0
        sc = (w["panel_association"] * min(1.0, abs(float(best.glass_delta)) / 2.0) * lf * shf
              if sens else 0.0)  # fmt: skip
        feat = f"{' / '.join(genes)}-mutant"
        item = _item(f"panel association ({best.panel})", str(best.panel),
                     f"GDSC ANOVA, {feat} ({best.n_mutant}) vs other ({best.n_wt}) lines, "
                     f"{best.metric}, FDR {best.fdr:.3g}, lineage {lin}",
                     float(best.effect), "D", sc, str(best.citation), str(best.licence),
                     "" if sens else f"{feat} lines are more resistant")  # fmt: skip
        cav = ["in vitro only (cell-line panel association)",
               *([] if lf == 1.0 else ["evidence from other lineages"]),
               *([] if shf == 1.0 else [
                   f"gene-level association: the panel's {feat} lines mostly carry the driver "
                   "mutations that predicted the response to the resisted drug"])]  # fmt: skip
        if not sens:
            cav = [f"{feat} lines are more resistant to it in {best.panel} (effect "
                   f"{best.effect:+.2f}, FDR {best.fdr:.3g})"]  # fmt: skip
        hit = _attach(rows, lambda x, k=k: x["kind"] == "next_drug" and _key(x["drug"], kb) == k,
                      item, "panel", cav)  # fmt: skip
        if hit or not sens or k in excluded or k == resisted or sc <= 0:
            continue
        dn = names.get(str(best.drug_key), str(best.drug))
        rows.append(_row("next_drug", dn, sc, "panel", [item], cav, drug=dn,
                         top=f"{feat} lines more sensitive in {best.panel}: effect "
                         f"{best.effect:+.2f} {best.metric}, FDR {best.fdr:.3g}"))  # fmt: skip
    return rows


def _forecast_rows(rows: list[dict[str, Any]], profile: Profile, w: Mapping[str, float],
                   na: list[dict[str, str]], excluded: set[str],
                   kb: KnowledgeBase) -> list[dict[str, Any]]:  # fmt: skip
    from ._panel_response import forecast_response

    nd = sorted((x for x in rows if x["kind"] == "next_drug"), key=lambda x: -x["score"])[:8]
    if not nd:
        na.append({"source": "forecast", "item": "response forecast",
                   "reason": "no next-drug candidate to forecast"})  # fmt: skip
        return rows
    f = _try(na, "forecast", "response forecast", forecast_response, profile,
             [x["drug"] for x in nd], kb=kb)  # fmt: skip
    if f is None:
        return rows
    f = f[f.predicted.notna()]
    if f.empty:
        na.append({"source": "forecast", "item": "response forecast",
                   "reason": "none of the next drugs is a GDSC v17 drug"})  # fmt: skip
        return rows
    f = f.assign(_k=[_key(str(k) if isinstance(k, str) else str(d), kb)
                     for k, d in zip(f.drug_key, f.drug, strict=True)])  # fmt: skip
    for k, g in f.sort_values("cv_spearman", ascending=False).groupby("_k", sort=False):
        b = g.iloc[0]
        ok = bool(b.reliable)
        sc = w["forecast"] * max(0.0, 1.0 - float(b.percentile) / 50.0) if ok else 0.0
        stat = (f"forecast {b.predicted:.2f} {b.metric} [{b.interval_low:.2f}, "
                f"{b.interval_high:.2f}], percentile {b.percentile:.0f} of the panel's lines, "
                f"CV Spearman {b.cv_spearman:.2f}")  # fmt: skip
        cav = [] if ok else [f"response forecast unreliable (CV Spearman {b.cv_spearman:.2f})"]
        item = _item(f"response forecast ({b.panel})", str(b.panel), stat, float(b.percentile),
                     "prediction", sc, str(b.citation), "GDSC (Sanger terms)",
                     "" if ok else "unreliable")  # fmt: skip
        _attach(rows, lambda x, k=k: x["kind"] == "next_drug" and _key(x["drug"], kb) == k,
                item, "forecast", cav)  # fmt: skip
    return rows


def _panel_synergy_rows(rows: list[dict[str, Any]], resisted: str, drug_name: str,
                        profile: Profile, w: Mapping[str, float], na: list[dict[str, str]],
                        kb: KnowledgeBase, predict: bool) -> list[dict[str, Any]]:  # fmt: skip
    from ._panel_synergy import panel_synergy, predicted_synergy

    tgt = {k: set(t) if isinstance(t, (list, tuple)) else set()
           for k, t in zip(kb.drugs.key, kb.drugs.targets, strict=True)}  # fmt: skip
    res_targets = tgt.get(resisted, set())

    def shares_target(k: str) -> bool:
        return bool(res_targets & tgt.get(k, set()))

    def combo(k: str) -> Any:
        return lambda x: x["kind"] == "combination" and _key(x["partner"], kb) == k

    ps = _try(na, "panel_synergy", "O'Neil / NCI-ALMANAC synergy", panel_synergy, drug_name,
              lineage=profile.tissue, kb=kb)  # fmt: skip
    measured: set[str] = set()
    if ps is not None and ps.empty:
        na.append({"source": "panel_synergy", "item": "O'Neil / NCI-ALMANAC synergy",
                   "reason": f"{drug_name} was not screened in O'Neil or NCI-ALMANAC"})  # fmt: skip
    for r in _tuples(ps if ps is not None else pd.DataFrame()):
        k = str(r.partner_key)
        measured.add(k)
        if pd.isna(r.fdr) or r.fdr >= 0.1 or k == resisted or shares_target(k):
            continue
        lf = w["all_lineages"] if str(r.lineage_used) == "all" else 1.0
        good = float(r.z) > 0
        sc = w["panel_synergy"] * min(1.0, float(r.z) / 3.0) * lf if good else 0.0
        item = _item(f"measured synergy ({r.dataset})", str(r.dataset),
                     f"mean {r.statistic} {r.mean_used:+.1f} over {r.n_lines_used} lines "
                     f"({r.lineage_used}), z {r.z:+.2f}, FDR {r.fdr:.3g}", float(r.z),
                     "measured (other lines)", sc, str(r.citation), str(r.licence),
                     "" if good else "antagonistic in the screen")  # fmt: skip
        cav = ["in vitro only (combination screen of other lines)",
               *([] if lf == 1.0 else ["evidence from other lineages"])]  # fmt: skip
        if not good:
            cav = [f"antagonistic with {drug_name} in {r.dataset} (z {r.z:+.2f}, FDR {r.fdr:.3g})"]
        if _attach(rows, combo(k), item, "panel_synergy", cav) or not good:
            continue
        pn = str(r.partner)
        rows.append(_row("combination", f"{drug_name} + {pn}", sc, "panel_synergy", [item], cav,
                         drug=drug_name, partner=pn,
                         top=f"measured synergy in {r.lineage_used} lines: z {r.z:+.2f}, "
                         f"FDR {r.fdr:.3g}"))  # fmt: skip
    if not predict:
        na.append({"source": "predicted_synergy", "item": "synergy model",
                   "reason": "not run (synergy_prediction=False)"})  # fmt: skip
        return rows
    pr = _try(na, "predicted_synergy", "synergy model", predicted_synergy, drug_name,
              lineage=profile.tissue, kb=kb)  # fmt: skip
    if pr is None:
        return rows
    if pr.empty:
        na.append({"source": "predicted_synergy", "item": "synergy model",
                   "reason": f"{drug_name} is not a drug of the O'Neil synergy model, or every "
                   "pair was measured"})  # fmt: skip
        return rows
    for r in _tuples(pr):
        k = str(r.partner_key)
        if k in measured and any(combo(k)(x) for x in rows):
            continue
        if float(r.z) < 1.0 or k == resisted or shares_target(k):
            continue
        lf = w["all_lineages"] if str(r.lineage_used) == "all" else 1.0
        sc = w["predicted_synergy"] * min(1.0, float(r.z) / 3.0) * lf
        item = _item("predicted synergy (O'Neil model)", str(r.dataset),
                     f"predicted {r.statistic} {r.predicted_mean:+.1f} over {r.n_lines} lines "
                     f"({r.lineage_used}), z {r.z:+.2f}", float(r.z), "prediction", sc,
                     str(r.citation), str(r.licence), str(r.caveat))  # fmt: skip
        cav = ["predicted, not measured (synergy model; weak for drugs it has not seen)",
               *([] if lf == 1.0 else ["evidence from other lineages"])]  # fmt: skip
        if _attach(rows, combo(k), item, "predicted_synergy", cav):
            continue
        pn = str(r.partner)
        rows.append(_row("combination", f"{drug_name} + {pn}", sc, "predicted_synergy", [item],
                         cav, drug=drug_name, partner=pn,
                         top=f"predicted synergy z {r.z:+.2f} ({r.lineage_used} lines)"))  # fmt: skip
    return rows


# --- schedules ---------------------------------------------------------------------------------

#: Parameters of the schedule comparison (per day; change with ``params=``).
SCHEDULE_PARAMS: dict[str, float] = {
    "birth_rate": 0.04, "death_rate": 0.01, "carrying_capacity": 1e10,
    "initial_resistant": 1e9, "initial_sensitive": 1e7, "initial_escape": 1e3,
    "escape_rate": 1e-7, "emax": 0.06, "ic50": 0.5, "residual_effect": 0.3, "t_end": 1095.0,
}  # fmt: skip


def _shift_table(shift: Any, kb: KnowledgeBase) -> dict[str, tuple[float, bool]]:
    """drug key -> (resistance index, censored) from the user's fold-shift table."""
    if shift is None:
        return {}
    frame = getattr(shift, "table", shift)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"shift must be a fold-shift table, got {type(shift).__name__}")
    cols = {str(c).lower(): c for c in frame.columns}
    ri = next((cols[c] for c in ("resistance_index", "fold_shift", "ri") if c in cols), None)
    if "drug" not in cols or ri is None:
        raise InputError(
            "shift table: give a 'drug' column and 'resistance_index' (or 'fold_shift'), as "
            f"'oncoresist shift' writes; columns are {list(frame.columns)}"
        )
    vals = pd.to_numeric(frame[ri], errors="coerce")
    bad = frame.index[vals.notna() & ~(vals > 0)].tolist()
    if bad:
        raise InputError(f"shift table: {ri!r} must be a positive number; rows {bad[:8]} are not")
    cens = frame[cols["ri_censored"]] if "ri_censored" in cols else pd.Series("", frame.index)
    out: dict[str, tuple[float, bool]] = {}
    for d, v, c in zip(frame[cols["drug"]].astype(str), vals, cens, strict=True):
        k = _key(d, kb)
        # the first estimable row per drug; not-estimable rows (NaN) say nothing
        if k not in out and not pd.isna(v):
            out[k] = (float(v), str(c).strip() in (">", "<", "True", "true"))
    return out


def compare_strategy_schedules(
    table: pd.DataFrame,
    resisted: str,
    *,
    params: Mapping[str, float] | None = None,
    n: int = 2,
    shift: Any = None,
    kb: KnowledgeBase | None = None,
) -> pd.DataFrame:
    """Continuous vs adaptive vs combination schedules for the top ``n`` drug candidates.

    The model (logistic growth, ODE, :func:`oncoresist.evolution.simulate`): a resistant clone
    R (``initial_resistant`` cells) that the candidate kills (Hill effect ``emax`` per day at
    ``ic50`` = half the dose level) and the resisted drug kills at ``residual_effect`` x
    ``emax``; a sensitive remnant S (``initial_sensitive``) that both kill; an escape clone that
    neither kills (``initial_escape`` cells, arising from R at ``escape_rate`` per division).
    Schedules: the candidate continuously; adaptively (Zhang 2017: stop below 50 % of the
    baseline burden, resume at the baseline); and the candidate with the resisted drug (Bliss
    combination). For a combination row the candidate is the partner. Time to progression is
    ``ttp_nadir`` (burden 25 % above its nadir), censored at ``t_end``. The parameters are
    illustrative, not fitted; give the user's fits as ``params``
    (:data:`SCHEDULE_PARAMS` keys) and their fold-shift table as ``shift`` (``drug``,
    ``resistance_index``, optionally ``ri_censored``: what ``oncoresist shift`` writes): the
    resisted drug's resistance index RI then replaces ``residual_effect``, the resistant clone
    responding to it with the full ``emax`` at ``ic50 x RI`` (the measured shift of the curve),
    and a candidate measured in the same table gets its own RI on that clone. A censored RI
    (the resistant curve never reached its IC50) is a lower bound, said in ``parameters``.
    """
    from ..evolution import compare_schedules, model_from_dict, schedule_from_dict, simulate

    p = {**SCHEDULE_PARAMS, **dict(params or {})}
    bad = sorted(set(p) - set(SCHEDULE_PARAMS))
    if bad:
        raise InputError(f"unknown schedule parameter(s) {bad}; known: {sorted(SCHEDULE_PARAMS)}")
    if table.empty:
        return pd.DataFrame()
    kb = kb or load_knowledge_base()
    ri = _shift_table(shift, kb)
    cand = table[table.kind.isin(["next_drug", "combination"])].head(n)
    eff = {"emax": p["emax"], "ic50": p["ic50"], "hill_slope": 1.0}
    weak = {**eff, "emax": p["emax"] * p["residual_effect"]}
    source = "illustrative parameters (SCHEDULE_PARAMS)"
    rk = _key(resisted, kb)
    if rk in ri:
        v, c = ri[rk]
        weak = {**eff, "ic50": p["ic50"] * v}
        source = (f"resisted drug on the resistant clone from the user's fold-shift table: RI "
                  f"{'>= ' if c else ''}{v:.3g}")  # fmt: skip
    elif ri:
        source = f"the fold-shift table has no row for {resisted}: residual_effect used"
    out = []
    for r in _tuples(cand):
        name = str(r.partner if r.kind == "combination" else r.drug)
        ck = _key(name, kb)
        cand_r = {**eff, "ic50": p["ic50"] * ri[ck][0]} if ck in ri else eff
        src = source + (f"; candidate RI {ri[ck][0]:.3g} from the user's table" if ck in ri else "")
        clone = {"birth_rate": p["birth_rate"], "death_rate": p["death_rate"],
                 "carrying_capacity": p["carrying_capacity"]}  # fmt: skip
        model = model_from_dict({
            "name": "strategy", "growth": "logistic", "combination": "bliss",
            "drugs": [{"name": "resisted"}, {"name": "candidate"}],
            "clones": [
                {"name": "S", **clone, "initial": p["initial_sensitive"],
                 "effects": {"resisted": eff, "candidate": eff}},
                {"name": "R", **clone, "initial": p["initial_resistant"],
                 "effects": {"resisted": weak, "candidate": cand_r}},
                {"name": "E", **clone, "initial": p["initial_escape"], "resistant": True},
            ],
            "transitions": [{"source": "R", "target": "E", "rate": p["escape_rate"]}],
        })  # fmt: skip
        one = [{"drug": "candidate", "type": "continuous", "level": 1.0}]
        specs: list[tuple[str, dict[str, Any]]] = [
            ("continuous", {"regimens": one}),
            ("adaptive", {"regimens": one, "adaptive": {"stop_below": 0.5, "resume_above": 1.0,
                                                        "measure": "burden"}}),
            ("combination", {"regimens": [{"type": "simultaneous",
                                           "drugs": ["resisted", "candidate"], "level": 1.0}]}),
        ]  # fmt: skip
        results = [
            simulate(model, schedule_from_dict({"name": s, **d}), t_end=p["t_end"], dt=1.0)
            for s, d in specs
        ]
        cmp = compare_schedules(results)
        for c in _tuples(cmp):
            label = {"continuous": f"{name} continuous", "adaptive": f"{name} adaptive",
                     "combination": f"{name} + {resisted} continuous"}[str(c.schedule)]  # fmt: skip
            out.append({"candidate": str(r.strategy), "kind": str(r.kind), "schedule": str(c.schedule),
                        "regimen": label, "median_ttp_days": float(c.median_ttp),
                        "ttp_censored": bool(c.ttp_censored), "ttp_ratio": float(c.ttp_ratio),
                        "time_off_drug_days": float(c.mean_time_off_drug),
                        "parameters": "; ".join(f"{k}={v:g}" for k, v in p.items()),
                        "parameter_source": src})  # fmt: skip
    return pd.DataFrame(out)


def _tuples(df: pd.DataFrame) -> Iterator[Any]:
    return df.itertuples()


def _rows(df: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    return df.iterrows()
