"""annotate(profile, drug): ranked, explained mechanisms of resistance with an overall call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._results import ResultMixin
from ..errors import InputError
from ._civic import CivicImport
from ._kb import EVIDENCE_LEVELS, KnowledgeBase, load_knowledge_base, resolve_drug
from ._profile import Profile
from ._scores import (
    GeneSets,
    ReferencePanel,
    _relative_to_reference,
    harmonise_expression,
    normalise_tissue,
    singscore,
    ssgsea,
)
from ._variants import match_alterations

__all__ = ["CALLS", "Annotation", "annotate", "mechanism_gain"]

#: Overall calls. ``resistant`` / ``sensitive`` rest on alterations the profile states
#: (variants, fusions, named states such as "BCL2 overexpression", copy number); ``possibly_*``
#: on expression only (marker-gene percentiles and gene-set scores against the reference);
#: ``conflicting`` when equally strong evidence points both ways; ``not_assessable`` when the
#: profile holds an alteration that could not be matched (an unknown gene with a close known
#: one that has evidence for the drug); ``no_known_marker`` when nothing applies.
CALLS = (
    "resistant",
    "possibly_resistant",
    "conflicting",
    "not_assessable",
    "possibly_sensitive",
    "sensitive",
    "no_known_marker",
)
EXPRESSION_WEIGHT = 0.3  # below every curated level but E: expression is inferential evidence
CURATED_BONUS = 0.05  # the project's reviewed entry breaks a tie with an imported item
_EVIDENCE_COLS = [
    "mechanism",
    "evidence_type",
    "gene",
    "observed",
    "kb_alteration",
    "effect",
    "evidence_level",
    "weight",
    "secondary",
    "acquired",
    "specificity",
    "match_rule",
    "used",
    "why_not_used",
    "percentile",
    "zscore",
    "citations",
    "source",
    "detail",
]


@dataclass(frozen=True)
class Annotation(ResultMixin):
    """Result of :func:`annotate`.

    ``mechanisms`` is ranked (strongest resistance support first): ``rank``, ``mechanism``,
    ``linked_to_drug``, ``assessable``, ``resistance_weight``, ``sensitivity_weight``,
    ``n_variant_hits``, ``best_level``, ``set_percentile``, ``set_zscore``, ``explanation``.
    ``evidence`` has one row per piece of evidence (variant hit or expression signal) with its
    citation, the rule that matched (``match_rule``, ``specificity``) and whether it entered
    the call (``used``; ``why_not_used`` says why not: superseded by more specific evidence, a
    lineage that does not apply, a gene set that cannot be scored).
    """

    sample: str
    drug: str
    drug_name: str
    call: str
    reason: str
    mechanisms: pd.DataFrame
    evidence: pd.DataFrame
    scores: pd.DataFrame | None = None
    drug_info: Mapping[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Mechanism table with ``sample``, ``drug`` and ``call`` columns."""
        return self.mechanisms.assign(sample=self.sample, drug=self.drug_name, call=self.call)

    def summary(self) -> str:
        """One line: sample, drug, call and reason."""
        return " ".join(
            f"Annotation: {self.sample} / {self.drug_name}: {self.call} ({self.reason})".split()
        )


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """Row tuples typed loosely (pandas-stubs types each field as a union)."""
    return df.itertuples()


def _drug_info(kb: KnowledgeBase, key: str) -> dict[str, object]:
    row = kb.drugs[kb.drugs.key == key]
    if row.empty:
        return {"drug": key, "targets": [], "pathway": "unknown", "screens": []}
    r = row.iloc[0]
    return {
        "drug": r.drug,
        "targets": list(r.targets),
        "pathway": r.pathway,
        "screens": list(r.screens),
    }


def _expression_inputs(
    profile: Profile, reference: pd.DataFrame | ReferencePanel | None, notes: list[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    if profile.expression is None:
        notes.append("no expression given: expression mechanisms not scored")
        return None, None
    if reference is None:
        if profile.expression.shape[1] >= 10:
            notes.append(
                "no reference panel: the profile's own samples serve as reference (not "
                "tissue-matched)"
            )
            return profile.expression[[profile.sample]], profile.expression
        notes.append(
            "expression given without a reference panel: expression mechanisms not "
            "scored (pass reference=, e.g. fetch_gdsc_reference())"
        )
        return None, None
    if isinstance(reference, ReferencePanel):
        ref, note = reference.select(profile.tissue)
        notes.append(note)
        return profile.expression[[profile.sample]], ref
    notes.append(
        "reference panel given as a plain matrix: not tissue-matched (pass a ReferencePanel, "
        "e.g. fetch_gdsc_reference(), to compare with lines of the same tissue)"
    )
    return profile.expression[[profile.sample]], reference


def _gene_percentiles(p: pd.DataFrame, r: pd.DataFrame, genes: Sequence[str]) -> pd.DataFrame:
    genes = [g for g in dict.fromkeys(genes) if g in p.index and g in r.index]
    if not genes:
        return pd.DataFrame(columns=["gene", "value", "percentile", "zscore"])
    pv = p.loc[genes].iloc[:, 0].to_numpy()
    rv = r.loc[genes].to_numpy()
    pct = 100.0 * ((rv < pv[:, None]).sum(1) + 0.5 * (rv == pv[:, None]).sum(1)) / rv.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (pv - rv.mean(1)) / rv.std(1, ddof=1)
    return pd.DataFrame({"gene": genes, "value": pv, "percentile": pct, "zscore": z})


def _set_scores(
    p: pd.DataFrame,
    r: pd.DataFrame,
    gene_sets: GeneSets,
    method: str,
    panel: ReferencePanel | None,
    sample: str,
) -> pd.DataFrame:
    """Profile scores as percentiles / z-scores of the reference lines (reference cached)."""
    fn = singscore if method == "singscore" else ssgsea
    sr = panel.scores(r, gene_sets, method) if panel is not None else fn(r, gene_sets)
    sp = fn(p, gene_sets)
    keep = np.asarray([str(c) != sample for c in sr.index])
    return _relative_to_reference(sample, sp.columns, sp.iloc[0].to_numpy(), sr.to_numpy()[keep])


def _lineage_applies(lineages: str, tissue: str | None) -> tuple[bool, str]:
    if not lineages:
        return True, ""
    allowed = {normalise_tissue(x) for x in str(lineages).split(";") if x}
    if tissue is None:
        return False, (
            f"holds only in {', '.join(sorted(allowed))}; the profile gives no tissue "
            "(add 'tissue:' to use it)"
        )
    if normalise_tissue(tissue) in allowed:
        return True, ""
    return False, f"holds only in {', '.join(sorted(allowed))}, not {normalise_tissue(tissue)}"


def annotate(
    profile: Profile,
    drug: str,
    *,
    kb: KnowledgeBase | None = None,
    civic: CivicImport | None = None,
    reference: pd.DataFrame | ReferencePanel | None = None,
    hallmarks: Mapping[str, Sequence[str]] | None = None,
    method: str = "singscore",
    high_percentile: float = 90.0,
    low_percentile: float = 10.0,
) -> Annotation:
    """Rank the mechanisms of resistance of ``profile`` to ``drug`` and call the profile.

    Evidence comes from (1) KB and CIViC alterations matched to the profile's mutations,
    fusions, named states and copy-number calls (weight = evidence level: A 1.0 .. E 0.2),
    (2) marker-gene expression percentiles against a reference panel (over-/under-expression
    events, matched like alterations, weight at most 0.3) and (3) gene-set scores
    (singscore/ssGSEA) of the mechanisms linked to the drug, as percentiles of the reference
    panel (weight 0.3), read in the direction that the drug link states (``when_high``: high
    BCL2 means sensitivity to venetoclax, high MCL1 resistance).

    For each observed alteration only the most specific matching items count (an exact change
    over its codon, over its exon, over "any mutation of the gene"); the others are listed with
    ``used = False``. Items limited to a lineage count only for a profile of that tissue.

    The call: ``resistant`` when an on-target secondary or acquired resistance alteration is
    present, or resistance items outweigh sensitising ones; ``sensitive`` when sensitising items
    outweigh resistance ones; ``conflicting`` when they weigh the same; ``possibly_resistant`` /
    ``possibly_sensitive`` when only expression (marker percentiles, gene-set scores) points one
    way; ``not_assessable`` when the
    profile has an unknown gene whose close match has evidence for the drug; otherwise
    ``no_known_marker``.

    Parameters
    ----------
    profile
        A :class:`Profile`.
    drug
        Drug name or synonym (checked; close matches suggested).
    kb, civic
        Knowledge base (shipped one by default) and optional imported CIViC evidence.
    reference
        A :class:`ReferencePanel` (lines with tissues, e.g. :func:`fetch_gdsc_reference`;
        tissue-matched to the profile) or a plain genes x samples matrix.
    hallmarks
        Extra gene sets (e.g. MSigDB hallmarks) scored for context.
    method
        ``"singscore"`` or ``"ssgsea"``.

    Examples
    --------
    >>> from oncoresist.mechanisms import make_profile
    >>> a = annotate(make_profile(["EGFR L858R", "EGFR T790M"]), "gefitinib")
    >>> a.call
    'resistant'
    """
    if method not in ("singscore", "ssgsea"):
        raise InputError(f"method {method!r} unknown; use 'singscore' or 'ssgsea'")
    kb = kb or load_knowledge_base()
    if civic is not None:
        kb = kb.with_alterations(civic.evidence)
    key = resolve_drug(drug, kb)
    info = _drug_info(kb, key)
    notes = list(
        f"{r.where}: {r.item} {r.problem} ({r.suggestion})" for r in profile.issues.itertuples()
    )
    alts = kb.alterations[kb.alterations.drug == key]
    links = kb.drug_links[kb.drug_links.drug == key]
    events = profile.events()
    ev_rows: list[dict[str, object]] = []
    scores = None

    p_expr, r_expr = _expression_inputs(profile, reference, notes)
    if p_expr is not None and r_expr is not None:
        p_h, r_h, hn = harmonise_expression(
            p_expr,
            r_expr,
            reference_scale=reference.scale(r_expr)
            if isinstance(reference, ReferencePanel)
            else None,
        )
        notes.extend(hn)
        state_genes = alts.loc[alts.alteration.isin(["overexpression", "underexpression"]), "gene"]
        markers = [g for s in links.marker_genes for g in str(s).split(";") if g]
        wanted = list(dict.fromkeys([*state_genes, *markers]))
        gp = _gene_percentiles(p_h, r_h, wanted)
        absent = [g for g in wanted if g not in set(gp.gene)]
        if absent:
            notes.append(
                f"marker genes not in the expression data (not assessed): {', '.join(absent)}"
            )
        hi = gp[gp.percentile >= high_percentile]
        lo = gp[gp.percentile <= low_percentile]
        expr_events = pd.DataFrame(
            {
                "gene": [*hi.gene, *lo.gene],
                "alteration": ["overexpression"] * len(hi) + ["underexpression"] * len(lo),
                "source": "expression",
                "note": [
                    f"{pc:.0f}th percentile of {r_h.shape[1]} reference lines"
                    for pc in [*hi.percentile, *lo.percentile]
                ],
            }
        )
        events = pd.concat([events, expr_events], ignore_index=True)
        gsets: dict[str, object] = dict(kb.gene_set_dict())
        if hallmarks:
            gsets.update({k: list(v) for k, v in hallmarks.items()})
        panel = reference if isinstance(reference, ReferencePanel) else None
        scores = _set_scores(p_h, r_h, gsets, method, panel, profile.sample)  # type: ignore[arg-type]
        gpct = gp.set_index("gene")
        for link in links.itertuples():
            srow = scores[scores.gene_set == link.gene_set]
            if srow.empty:
                continue
            pct, z = float(srow.percentile.iloc[0]), float(srow.zscore.iloc[0])
            when_high = str(link.when_high)
            other = "sensitivity" if when_high == "resistance" else "resistance"
            assessable = bool(np.isfinite(pct))
            effect = (
                "not_assessable"
                if not assessable
                else when_high
                if pct >= high_percentile
                else other
                if pct <= low_percentile
                else "neutral"
            )
            marker_txt = ", ".join(
                f"{g} {float(gpct.loc[g, 'percentile']):.0f}th pct"  # type: ignore[arg-type]
                for g in str(link.marker_genes).split(";")
                if g and g in gpct.index
            )
            set_genes = kb.gene_sets.loc[kb.gene_sets.gene_set == link.gene_set, "gene"]
            detail = (
                f"{link.relation}; set at {pct:.0f}th percentile of "
                f"{int(srow.n_reference.iloc[0])} reference lines (high means {when_high})"
                if assessable
                else f"{link.relation}; none of {', '.join(set_genes)} is in the expression "
                "data, so the set cannot be scored"
            ) + (f"; {marker_txt}" if marker_txt else "")
            ev_rows.append(
                {
                    "mechanism": link.mechanism,
                    "evidence_type": "gene_set_score",
                    "gene": link.gene_set,
                    "observed": f"score {srow.score.iloc[0]:.3f}" if assessable else "not scored",
                    "kb_alteration": f"high score means {when_high}",
                    "effect": effect,
                    "evidence_level": "",
                    "weight": EXPRESSION_WEIGHT if effect in ("resistance", "sensitivity") else 0.0,
                    "secondary": False,
                    "acquired": False,
                    "specificity": 0,
                    "match_rule": "gene-set score",
                    "used": effect in ("resistance", "sensitivity"),
                    "why_not_used": ""
                    if assessable
                    else "not assessable: no gene of the set in the expression data",
                    "percentile": pct,
                    "zscore": z,
                    "citations": link.citations,
                    "source": "expression",
                    "detail": detail,
                }
            )

    hits = match_alterations(events, alts)
    if not hits.empty:
        lineage = [
            _lineage_applies(str(x) if isinstance(x, str) else "", profile.tissue)
            for x in hits.lineages
        ]
        hits = hits.assign(applies_=[a for a, _ in lineage], lineage_note_=[n for _, n in lineage])
        # rank: specificity, and within it evidence limited to the profile's lineage over
        # evidence for all lineages (BRAF V600E in colorectal cancer)
        hits = hits.assign(
            rank_=hits.specificity.to_numpy(dtype=float) * 2
            + np.asarray([bool(x) for x in hits.lineages.fillna("")], dtype=float)
        )
        applying = hits[hits.applies_.to_numpy(dtype=bool)]
        # most specific item per observed alteration and effect: a generic item is overruled
        # only where a more specific one points the other way
        best = applying.groupby(["gene", "observed", "effect"]).rank_.max()
    for h in _rows(hits):
        weight = EVIDENCE_LEVELS.get(str(h.evidence_level), 0.2)
        if h.source_obs == "expression":
            weight = min(weight, EXPRESSION_WEIGHT)
        applies, lineage_note = bool(h.applies_), str(h.lineage_note_)
        opposite = "sensitivity" if h.effect == "resistance" else "resistance"
        top_other = best.get((h.gene, h.observed, opposite), -1)
        used = applies and h.rank_ >= top_other
        why = (
            f"lineage: {lineage_note}"
            if not applies
            else ""
            if used
            else f"overruled by more specific {opposite} evidence for {h.gene} {h.observed}"
            + (" in this lineage" if top_other % 2 else "")
        )
        kind = {"expression": "marker_expression", "cnv": "variant (cnv)"}.get(
            str(h.source_obs), f"variant ({h.source_obs})"
        )
        obs_note = str(h.note_obs) if isinstance(getattr(h, "note_obs", ""), str) else ""
        kb_note = str(h.note) if isinstance(h.note, str) else ""
        ev_rows.append(
            {
                "mechanism": h.mechanism,
                "evidence_type": kind,
                "gene": h.gene,
                "observed": h.observed,
                "kb_alteration": h.kb_alteration,
                "effect": h.effect,
                "evidence_level": h.evidence_level,
                "weight": weight if used else 0.0,
                "secondary": bool(h.secondary),
                "acquired": bool(h.acquired),
                "specificity": int(h.specificity),
                "match_rule": h.match_rule,
                "used": bool(used),
                "why_not_used": why,
                "percentile": np.nan,
                "zscore": np.nan,
                "citations": h.citations,
                "source": h.source,
                "detail": "; ".join(x for x in (obs_note, kb_note) if x),
            }
        )
    evidence = pd.DataFrame(ev_rows, columns=_EVIDENCE_COLS)
    if not evidence.empty:
        evidence = evidence.sort_values(
            ["used", "weight", "specificity", "mechanism"],
            ascending=[False, False, False, True],
            ignore_index=True,
        )
    unmatched = _unmatched_events(profile, alts)
    for u in unmatched:
        notes.append(u)
    mechanisms = _mechanism_table(kb, evidence, links, scores)
    call, reason = _call(evidence, unmatched)
    return Annotation(
        profile.sample,
        key,
        str(info["drug"]),
        call,
        reason,
        mechanisms,
        evidence,
        scores,
        info,
        tuple(notes),
    )


def _unmatched_events(profile: Profile, alts: pd.DataFrame) -> list[str]:
    """Messages for profile rows whose gene is unknown but close to a gene with evidence."""
    out = []
    genes_with_evidence = set(alts.gene)
    unknown = profile.issues[profile.issues.problem == "unknown gene symbol"]
    for r in unknown.itertuples():
        close = [g.strip() for g in str(r.suggestion).split(",") if g.strip()]
        hit = [g for g in close if g in genes_with_evidence]
        if not hit:
            continue
        rows = profile.mutations[profile.mutations.gene == r.item]
        what = ", ".join(f"{r.item} {a}" for a in rows.alteration) or str(r.item)
        out.append(
            f"{what}: {r.item} is not a known gene symbol, so this alteration was not matched "
            f"(did you mean {hit[0]}? {hit[0]} has evidence for this drug; fix the symbol and "
            "run again)"
        )
    return out


def _mechanism_table(
    kb: KnowledgeBase, evidence: pd.DataFrame, links: pd.DataFrame, scores: pd.DataFrame | None
) -> pd.DataFrame:
    rows = []
    sets_of = kb.gene_sets.drop_duplicates("gene_set").groupby("mechanism").gene_set.apply(list)
    linked = set(links.mechanism)
    by_mech = dict(tuple(evidence.groupby("mechanism"))) if not evidence.empty else {}
    empty = evidence.iloc[0:0]
    for mech in kb.mechanisms.mechanism:
        e_all = by_mech.get(mech, empty)
        e = e_all[e_all.used.astype(bool)]
        res = e[e.effect == "resistance"]
        sen = e[e.effect == "sensitivity"]
        var = e[
            e.evidence_type.str.startswith("variant") | (e.evidence_type == "marker_expression")
        ]
        levels = sorted(x for x in var.evidence_level if x)
        set_pct, set_z = np.nan, np.nan
        if scores is not None:
            mine = list(sets_of.get(mech, []))
            sub = scores[scores.gene_set.isin(mine)]
            link_sets = set(links.gene_set) & set(mine)
            if link_sets:
                sub = sub[sub.gene_set.isin(link_sets)]
            sub = sub[np.isfinite(sub.percentile.to_numpy(dtype=float))]
            if not sub.empty:
                i = (sub.percentile - 50).abs().to_numpy().argmax()
                set_pct, set_z = float(sub.percentile.iloc[i]), float(sub.zscore.iloc[i])
        not_scorable = e_all[e_all.effect == "not_assessable"]
        assessable = not (mech in linked and not_scorable.shape[0] and e.empty)
        parts = [
            f"{r.gene} {r.observed} ({r.effect}, level {r.evidence_level or 'expr'}, "
            f"{r.match_rule}, {r.citations})"
            for r in _rows(var)
        ]
        parts += [
            f"{r.gene}: {r.detail} ({r.effect})"
            for r in e[e.evidence_type == "gene_set_score"].itertuples()
        ]
        if not_scorable.shape[0]:
            parts += [f"{r.gene}: not assessable ({r.detail})" for r in not_scorable.itertuples()]
        rows.append(
            {
                "mechanism": mech,
                "linked_to_drug": mech in linked or not e.empty,
                "assessable": assessable,
                "resistance_weight": float(res.weight.sum()),
                "sensitivity_weight": float(sen.weight.sum()),
                "n_variant_hits": len(var),
                "best_level": levels[0] if levels else "",
                "set_percentile": set_pct,
                "set_zscore": set_z,
                "explanation": "; ".join(parts)
                if parts
                else (
                    "linked to the drug; no signal"
                    if mech in linked
                    else "no evidence for this drug"
                ),
            }
        )
    t = pd.DataFrame(rows)
    t["net"] = t.resistance_weight - t.sensitivity_weight
    t = t.sort_values(
        ["net", "resistance_weight", "linked_to_drug"],
        ascending=[False, False, False],
        ignore_index=True,
    ).drop(columns="net")
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t


def _strength(d: pd.DataFrame) -> float:
    """Strongest item of a side; the project's curated entries break ties with imported ones."""
    if d.empty:
        return 0.0
    bonus = np.where(d.source.astype(str) == "curated", CURATED_BONUS, 0.0)
    return float((d.weight.to_numpy(dtype=float) + bonus).max())


def _call(evidence: pd.DataFrame, unmatched: Sequence[str] = ()) -> tuple[str, str]:
    """The overall call; an unmatched alteration that may bear on the drug withholds it."""
    call, reason = _call_from_evidence(evidence)
    if unmatched:
        return "not_assessable", (
            f"{'; '.join(unmatched)}. Without it the call would be {call!r} ({reason})"
        )
    return call, reason


def _call_from_evidence(evidence: pd.DataFrame) -> tuple[str, str]:
    used = evidence[evidence.used.astype(bool)] if not evidence.empty else evidence
    # decisive: alterations the profile states (variants, fusions, named states, copy number);
    # expression percentiles of marker genes and gene-set scores are inferential -> possibly_*
    var = used[used.evidence_type.str.startswith("variant")]
    res = var[var.effect == "resistance"]
    sen = var[var.effect == "sensitivity"]
    sets = used[~used.evidence_type.str.startswith("variant")]
    set_res = sets[sets.effect == "resistance"]
    set_sen = sets[sets.effect == "sensitivity"]

    def names(d: pd.DataFrame) -> str:
        return ", ".join(dict.fromkeys(f"{g} {o}" for g, o in zip(d.gene, d.observed, strict=True)))

    def levels(d: pd.DataFrame) -> str:
        lv = sorted(x for x in d.evidence_level if x)
        return f" (best level {lv[0]})" if lv else " (from expression)"

    override = res[res.secondary.astype(bool) | res.acquired.astype(bool)]
    if not override.empty:
        kind = (
            "on-target secondary" if override.secondary.astype(bool).any() else "acquired"
        ) + " resistance alteration"
        txt = f"{kind} {names(override)}"
        if not sen.empty:
            txt += f" overrides sensitising {names(sen)}"
        return "resistant", txt
    r, s = _strength(res), _strength(sen)
    if not res.empty or not sen.empty:
        if abs(r - s) < 1e-9:
            return (
                "conflicting",
                f"equally strong evidence both ways: resistance {names(res)}{levels(res)}; "
                f"sensitivity {names(sen)}{levels(sen)}",
            )
        if r > s:
            txt = f"resistance alteration(s) {names(res)}{levels(res)}"
            if not sen.empty:
                txt += f" outweigh sensitising {names(sen)}{levels(sen)}"
            return "resistant", txt
        txt = f"sensitising alteration(s) {names(sen)}{levels(sen)}"
        if not res.empty:
            txt += f" outweigh resistance alteration(s) {names(res)}{levels(res)}"
        if not set_res.empty:
            txt += f"; expression signals of resistance: {names(set_res)}"
        return "sensitive", txt
    if not set_res.empty and set_sen.empty:
        return (
            "possibly_resistant",
            f"expression signals only: {', '.join(dict.fromkeys(set_res.mechanism))}",
        )
    if not set_sen.empty and set_res.empty:
        return (
            "possibly_sensitive",
            f"expression signals only: {', '.join(dict.fromkeys(set_sen.mechanism))}",
        )
    if not set_sen.empty and not set_res.empty:
        return (
            "conflicting",
            f"expression signals both ways: resistance {names(set_res)}; sensitivity "
            f"{names(set_sen)}",
        )
    return (
        "no_known_marker",
        "no curated or imported alteration and no expression signal for this drug",
    )


def mechanism_gain(
    differential: pd.DataFrame,
    *,
    kb: KnowledgeBase | None = None,
    gene_col: str = "gene",
    stat_col: str = "log2fc",
    extra_sets: Mapping[str, Sequence[str]] | None = None,
    fdr_threshold: float = 0.05,
) -> pd.DataFrame:
    """Which mechanisms a resistant derivative gained, from resistant-vs-parental statistics.

    Each gene set is tested for a shift of its genes' statistic (e.g. log2 fold change of
    resistant over parental) against all other genes with a rank-sum (Mann-Whitney) test,
    computed for all sets at once from the ranks; down genes of a set enter with reversed
    ranks. ``auc`` is the probability that a set gene ranks above a random other gene.
    ``resistance_change`` is ``gained`` when the shift points towards resistance (up for
    "up" mechanisms, down for "down" ones) and significant at ``fdr_threshold``.

    Examples
    --------
    >>> import pandas as pd
    >>> from oncoresist.mechanisms import load_knowledge_base
    >>> kb = load_knowledge_base()
    >>> genes = sorted(set(kb.gene_sets.gene)) + [f"G{i}" for i in range(500)]
    >>> de = pd.DataFrame({"gene": genes, "log2fc": [2.0 if g.startswith("ABC") else 0.0 for g in genes]})
    >>> mechanism_gain(de).set_index("gene_set").loc["efflux_abc", "resistance_change"]
    'gained'
    """
    kb = kb or load_knowledge_base()
    for c in (gene_col, stat_col):
        if c not in differential.columns:
            raise InputError(
                f"differential table lacks column {c!r}; columns: {list(differential.columns)}"
            )
    d = differential[[gene_col, stat_col]].dropna()
    n_dropped = len(differential) - len(d)
    d = d.groupby(gene_col, as_index=True)[stat_col].mean()  # type: ignore[assignment]
    n_total = len(d)
    ranks = stats.rankdata(d.to_numpy())
    pos = {g: i for i, g in enumerate(d.index)}
    sets: dict[str, tuple[list[str], list[str]]] = {
        k: (v["up"], v["down"]) for k, v in kb.gene_set_dict().items()
    }
    for k, v in (extra_sets or {}).items():
        sets[k] = (list(v), [])
    names = list(sets)
    up = np.zeros((len(names), n_total))
    dn = np.zeros((len(names), n_total))
    for i, k in enumerate(names):
        up[i, [pos[g] for g in set(sets[k][0]) if g in pos]] = 1
        dn[i, [pos[g] for g in set(sets[k][1]) if g in pos]] = 1
    n = up.sum(1) + dn.sum(1)
    rank_sum = up @ ranks + dn @ (n_total + 1 - ranks)
    u = rank_sum - n * (n + 1) / 2
    m = n_total - n
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = n * m / 2
        sd = np.sqrt(n * m * (n_total + 1) / 12)
        z = (u - mu) / sd
        auc = u / (n * m)
        signed = up @ d.to_numpy() - dn @ d.to_numpy()
        mean_stat = signed / n
    pval = 2 * stats.norm.sf(np.abs(z))
    ok = n > 0
    fdr = np.full(len(names), np.nan)
    if ok.any():
        fdr[ok] = stats.false_discovery_control(pval[ok])
    mech = kb.gene_sets.drop_duplicates("gene_set").set_index("gene_set")
    direction = np.array([mech.loc[k, "direction"] if k in mech.index else "up" for k in names])
    mechanism = [mech.loc[k, "mechanism"] if k in mech.index else "extra" for k in names]
    towards = np.where(direction == "up", z > 0, z < 0)
    change = np.where(
        ~ok,
        "not_measured",
        np.where(fdr < fdr_threshold, np.where(towards, "gained", "lost"), "unchanged"),
    )
    out = pd.DataFrame(
        {
            "gene_set": names,
            "mechanism": mechanism,
            "direction": direction,
            "n_genes": n.astype(int),
            "mean_stat": mean_stat,
            "auc": auc,
            "statistic": z,
            "pvalue": pval,
            "fdr": fdr,
            "resistance_change": change,
        }
    )
    out.attrs["n_dropped_missing"] = int(n_dropped)
    return out.sort_values(["pvalue"], ignore_index=True, na_position="last")
