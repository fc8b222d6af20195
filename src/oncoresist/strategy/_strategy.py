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
    (approved drugs; inhibitory action types only) with their indications (a non-oncology
    drug gets a caveat saying so), else KB drugs with an approval year. Score ``repurposing x``
    that gene's score. (The Broad Repurposing Hub is not used yet: it is not registered.)
``signature_reversal``
    Compounds whose LINCS L1000 consensus signature reverses the resistance signature
    (:func:`connectivity_scores`, WTCS, gene-set null): FDR < 0.1 and score < 0, top
    ``n_reversers`` (10); score ``signature_reversal x |WTCS|``.

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
import html
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from ..errors import DataUnavailableError, InputError
from ..mechanisms import KnowledgeBase, Profile, load_knowledge_base, resolve_drug
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
class Strategies:
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

    def _repr_html_(self) -> str:
        body = self.to_frame().head(20).to_html(index=False) if not self.table.empty else ""
        na = self.not_assessable.to_html(index=False) if not self.not_assessable.empty else ""
        warn = "" if self.confident else "<p><b>No confident strategy.</b></p>"
        return (
            f"<p><b>{html.escape(self.sample)}</b> resistant to "
            f"<b>{html.escape(self.resisted_drug)}</b>: {len(self.table)} strategies</p>"
            f"{warn}{body}<p>Not assessable</p>{na}"
        )


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

    A ``SynergyResult`` gives its ``summary`` (``drug1``, ``drug2``, ``model``, ``score``); a
    table gives ``partner`` or ``drug_a`` / ``drug_b`` (or ``drug1`` / ``drug2``) and a score
    column (``score``, ``synergy``, ``zip``, ``bliss``, ``hsa`` or ``loewe``). Rows of pairs
    without the resisted drug are dropped; per partner the score is the mean over its blocks
    of the first model (the result's first model, or the score column).
    """
    frame = getattr(synergy, "summary", synergy)
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
    schedules: bool = True,
    schedule_params: Mapping[str, float] | None = None,
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
    schedules, schedule_params
        Compare schedules for the top two next-drug / combination rows
        (:func:`compare_strategy_schedules`; ``schedule_params`` overrides its parameters).
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
        sched = compare_strategy_schedules(table, drug_name, params=schedule_params)
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
        for d, dc_ind in _repurposing_drugs(str(g), hit, dc):
            rsc = sc * w["repurposing"]
            onc = dc_ind is None or bool(_ONCOLOGY.search(dc_ind))
            src_txt = "KB approval year" if dc_ind is None else "DrugCentral 2016"
            rows.append(
                _row("repurposing", f"{d} (targets {g})", rsc, "depmap",
                     [dict(item, item_score=rsc),
                      _item("launched drug", src_txt, "approved drug, inhibitor of the target",
                            float("nan"), "approved", rsc,
                            _DC_CIT if dc_ind is not None else "oncoresist KB",
                            _DC_LIC if dc_ind is not None else "oncoresist KB",
                            f"indications: {dc_ind}" if dc_ind else "")],
                     [*cav, *([] if onc else ["non-oncology drug (repurposing)"])],
                     drug=d, gene=str(g),
                     top=f"launched drug ({src_txt}) inhibiting DepMap dependency {g}")
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


def _repurposing_drugs(
    gene: str, kb_hits: Sequence[tuple[str, bool]], dc: pd.DataFrame | None
) -> list[tuple[str, str | None]]:
    """Launched drugs inhibiting ``gene``: DrugCentral (with indications) or KB-approved."""
    out: dict[str, str | None] = {}
    if dc is not None:
        for d, ind in zip(*(dc.loc[dc.gene == gene, c] for c in ("DRUG_NAME", "indications")),
                          strict=True):  # fmt: skip
            out[str(d).capitalize()] = str(ind)
    for d, approved in kb_hits:
        if approved and d.capitalize() not in out:
            out[d] = None
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


# --- schedules ---------------------------------------------------------------------------------

#: Parameters of the schedule comparison (per day; change with ``params=``).
SCHEDULE_PARAMS: dict[str, float] = {
    "birth_rate": 0.04, "death_rate": 0.01, "carrying_capacity": 1e10,
    "initial_resistant": 1e9, "initial_sensitive": 1e7, "initial_escape": 1e3,
    "escape_rate": 1e-7, "emax": 0.06, "ic50": 0.5, "residual_effect": 0.3, "t_end": 1095.0,
}  # fmt: skip


def compare_strategy_schedules(
    table: pd.DataFrame, resisted: str, *, params: Mapping[str, float] | None = None, n: int = 2
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
    (:data:`SCHEDULE_PARAMS` keys).
    """
    from ..evolution import compare_schedules, model_from_dict, schedule_from_dict, simulate

    p = {**SCHEDULE_PARAMS, **dict(params or {})}
    bad = sorted(set(p) - set(SCHEDULE_PARAMS))
    if bad:
        raise InputError(f"unknown schedule parameter(s) {bad}; known: {sorted(SCHEDULE_PARAMS)}")
    if table.empty:
        return pd.DataFrame()
    cand = table[table.kind.isin(["next_drug", "combination"])].head(n)
    eff = {"emax": p["emax"], "ic50": p["ic50"], "hill_slope": 1.0}
    weak = {**eff, "emax": p["emax"] * p["residual_effect"]}
    out = []
    for r in _tuples(cand):
        name = str(r.partner if r.kind == "combination" else r.drug)
        clone = {"birth_rate": p["birth_rate"], "death_rate": p["death_rate"],
                 "carrying_capacity": p["carrying_capacity"]}  # fmt: skip
        model = model_from_dict({
            "name": "strategy", "growth": "logistic", "combination": "bliss",
            "drugs": [{"name": "resisted"}, {"name": "candidate"}],
            "clones": [
                {"name": "S", **clone, "initial": p["initial_sensitive"],
                 "effects": {"resisted": eff, "candidate": eff}},
                {"name": "R", **clone, "initial": p["initial_resistant"],
                 "effects": {"resisted": weak, "candidate": eff}},
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
                        "parameters": "; ".join(f"{k}={v:g}" for k, v in p.items())})  # fmt: skip
    return pd.DataFrame(out)


def _tuples(df: pd.DataFrame) -> Iterator[Any]:
    return df.itertuples()


def _rows(df: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    return df.iterrows()
