"""annotate(profile, drug): ranked, explained mechanisms of resistance with an overall call."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ._civic import CivicImport
from ._kb import EVIDENCE_LEVELS, KnowledgeBase, load_knowledge_base, resolve_drug
from ._profile import Profile
from ._scores import harmonise_expression, score_against_reference
from ._variants import match_alterations

__all__ = ["CALLS", "Annotation", "annotate", "mechanism_gain"]

#: Overall calls, strongest first.
CALLS = ("resistant", "possibly_resistant", "sensitive", "no_known_marker")
EXPRESSION_WEIGHT = 0.3  # below every curated level: expression is inferential evidence
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
    "percentile",
    "zscore",
    "citations",
    "source",
    "detail",
]


@dataclass(frozen=True)
class Annotation:
    """Result of :func:`annotate`.

    ``mechanisms`` is ranked (strongest resistance support first): ``rank``, ``mechanism``,
    ``linked_to_drug``, ``resistance_weight``, ``sensitivity_weight``, ``n_variant_hits``,
    ``best_level``, ``set_percentile``, ``set_zscore``, ``explanation``. ``evidence`` has one row
    per piece of evidence (variant hit or expression signal) with its citation.
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

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>{html.escape(self.sample)}</b> / <b>{html.escape(self.drug_name)}</b>: "
            f"<b>{self.call}</b> &mdash; {html.escape(self.reason)}</p>"
        )
        return head + self.mechanisms.head(10).to_html(index=False)


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
    profile: Profile, reference: pd.DataFrame | None, notes: list[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    if profile.expression is None:
        notes.append("no expression given: expression mechanisms not scored")
        return None, None
    if reference is None:
        if profile.expression.shape[1] >= 10:
            notes.append("no reference panel: the profile's own samples serve as reference")
            return profile.expression[[profile.sample]], profile.expression
        notes.append(
            "expression given without a reference panel: expression mechanisms not "
            "scored (pass reference=, e.g. fetch_gdsc_expression(lineage=...))"
        )
        return None, None
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


def annotate(
    profile: Profile,
    drug: str,
    *,
    kb: KnowledgeBase | None = None,
    civic: CivicImport | None = None,
    reference: pd.DataFrame | None = None,
    hallmarks: Mapping[str, Sequence[str]] | None = None,
    method: str = "singscore",
    high_percentile: float = 90.0,
    low_percentile: float = 10.0,
) -> Annotation:
    """Rank the mechanisms of resistance of ``profile`` to ``drug`` and call the profile.

    Evidence comes from (1) KB and CIViC alterations matched to the profile's mutations and
    copy-number calls (weight = evidence level: A 1.0 .. E 0.2), (2) marker-gene expression
    percentiles against a reference panel (over-/under-expression events, matched like
    alterations) and (3) gene-set scores (singscore/ssGSEA) of the mechanisms linked to the
    drug, as percentiles of the reference panel (weight 0.3). The call: ``resistant`` when an
    on-target secondary resistance mutation is present or resistance variants outweigh
    sensitising ones; ``sensitive`` when sensitising variants dominate; ``possibly_resistant``
    when only expression supports resistance; otherwise ``no_known_marker``.

    Parameters
    ----------
    profile
        A :class:`Profile`.
    drug
        Drug name or synonym (checked; close matches suggested).
    kb, civic
        Knowledge base (shipped one by default) and optional imported CIViC evidence.
    reference
        Genes x samples reference panel (e.g. GDSC lines of the same tissue).
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
        p_h, r_h, hn = harmonise_expression(p_expr, r_expr)
        notes.extend(hn)
        state_genes = alts.loc[alts.alteration.isin(["overexpression", "underexpression"]), "gene"]
        markers = [g for s in links.marker_genes for g in str(s).split(";") if g]
        gp = _gene_percentiles(p_h, r_h, [*state_genes, *markers])
        hi = gp[gp.percentile >= high_percentile]
        lo = gp[gp.percentile <= low_percentile]
        expr_events = pd.concat(
            [
                pd.DataFrame(
                    {"gene": hi.gene, "alteration": "overexpression", "source": "expression"}
                ),
                pd.DataFrame(
                    {"gene": lo.gene, "alteration": "underexpression", "source": "expression"}
                ),
            ],
            ignore_index=True,
        )
        events = pd.concat([events, expr_events], ignore_index=True)
        gsets: dict[str, object] = dict(kb.gene_set_dict())
        if hallmarks:
            gsets.update({k: list(v) for k, v in hallmarks.items()})
        scores = score_against_reference(p_h, r_h, gsets, method=method)  # type: ignore[arg-type]
        gpct = gp.set_index("gene")
        for link in links.itertuples():
            srow = scores[scores.gene_set == link.gene_set]
            if srow.empty:
                continue
            pct, z = float(srow.percentile.iloc[0]), float(srow.zscore.iloc[0])
            direction = kb.gene_sets.loc[kb.gene_sets.gene_set == link.gene_set, "direction"].iloc[
                0
            ]
            res_pct = pct if direction == "up" else 100.0 - pct
            effect = (
                "resistance"
                if res_pct >= high_percentile
                else "sensitivity"
                if res_pct <= low_percentile
                else "neutral"
            )
            marker_txt = ", ".join(
                f"{g} {float(gpct.loc[g, 'percentile']):.0f}th pct"  # type: ignore[arg-type]
                for g in str(link.marker_genes).split(";")
                if g and g in gpct.index
            )
            ev_rows.append(
                {
                    "mechanism": link.mechanism,
                    "evidence_type": "gene_set_score",
                    "gene": link.gene_set,
                    "observed": f"score {srow.score.iloc[0]:.3f}",
                    "kb_alteration": f"{direction}-regulated set",
                    "effect": effect,
                    "evidence_level": "",
                    "weight": EXPRESSION_WEIGHT if effect != "neutral" else 0.0,
                    "secondary": False,
                    "percentile": pct,
                    "zscore": z,
                    "citations": link.citations,
                    "source": "expression",
                    "detail": f"{link.relation}; set at {pct:.0f}th percentile of "
                    f"{int(srow.n_reference.iloc[0])} reference samples"
                    + (f"; {marker_txt}" if marker_txt else ""),
                }
            )

    hits = match_alterations(events, alts)
    for h in hits.itertuples():
        weight = EVIDENCE_LEVELS.get(str(h.evidence_level), 0.2)
        if h.source_obs == "expression":
            weight = min(weight, EXPRESSION_WEIGHT)
        ev_rows.append(
            {
                "mechanism": h.mechanism,
                "evidence_type": f"variant ({h.source_obs})"
                if h.source_obs != "expression"
                else "marker_expression",
                "gene": h.gene,
                "observed": h.observed,
                "kb_alteration": h.kb_alteration,
                "effect": h.effect,
                "evidence_level": h.evidence_level,
                "weight": weight,
                "secondary": bool(h.secondary),
                "percentile": np.nan,
                "zscore": np.nan,
                "citations": h.citations,
                "source": h.source,
                "detail": str(h.note) if isinstance(h.note, str) else "",
            }
        )
    evidence = pd.DataFrame(ev_rows, columns=_EVIDENCE_COLS)
    if not evidence.empty:
        evidence = evidence.sort_values(
            ["weight", "mechanism"], ascending=[False, True], ignore_index=True
        )

    mechanisms = _mechanism_table(kb, evidence, links, scores)
    call, reason = _call(evidence)
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


def _mechanism_table(
    kb: KnowledgeBase, evidence: pd.DataFrame, links: pd.DataFrame, scores: pd.DataFrame | None
) -> pd.DataFrame:
    rows = []
    set_mech = kb.gene_sets.drop_duplicates("gene_set").set_index("gene_set")
    linked = set(links.mechanism)
    for mech in kb.mechanisms.mechanism:
        e = evidence[evidence.mechanism == mech]
        res = e[e.effect == "resistance"]
        sen = e[e.effect == "sensitivity"]
        var = e[
            e.evidence_type.str.startswith("variant") | (e.evidence_type == "marker_expression")
        ]
        levels = sorted(x for x in var.evidence_level if x)
        set_pct, set_z = np.nan, np.nan
        if scores is not None:
            mine = [gs for gs in set_mech.index if set_mech.loc[gs, "mechanism"] == mech]
            sub = scores[scores.gene_set.isin(mine)]
            link_sets = set(links.gene_set) & set(mine)
            if link_sets:
                sub = sub[sub.gene_set.isin(link_sets)]
            if not sub.empty:
                i = (sub.percentile - 50).abs().to_numpy().argmax()
                set_pct, set_z = float(sub.percentile.iloc[i]), float(sub.zscore.iloc[i])
        parts = [
            f"{r.gene} {r.observed} ({r.effect}, level {r.evidence_level or 'expr'}, {r.citations})"
            for r in var.itertuples()
        ]
        parts += [
            f"{r.gene}: {r.detail} ({r.effect})"
            for r in e[e.evidence_type == "gene_set_score"].itertuples()
        ]
        rows.append(
            {
                "mechanism": mech,
                "linked_to_drug": mech in linked or not e.empty,
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


def _call(evidence: pd.DataFrame) -> tuple[str, str]:
    var = evidence[evidence.evidence_type.str.startswith("variant")]
    res = var[var.effect == "resistance"]
    sen = var[var.effect == "sensitivity"]
    expr_res = evidence[
        (~evidence.evidence_type.str.startswith("variant")) & (evidence.effect == "resistance")
    ]

    def names(d: pd.DataFrame) -> str:
        return ", ".join(dict.fromkeys(f"{g} {o}" for g, o in zip(d.gene, d.observed, strict=True)))

    if not res.empty and res.secondary.any():
        sec = res[res.secondary]
        txt = f"on-target secondary resistance alteration {names(sec)}"
        if not sen.empty:
            txt += f" overrides sensitising {names(sen)}"
        return "resistant", txt
    if not res.empty and (sen.empty or res.weight.max() > sen.weight.max()):
        return (
            "resistant",
            f"resistance alteration(s) {names(res)} (best level {min(res.evidence_level)})",
        )
    if not sen.empty:
        txt = f"sensitising alteration(s) {names(sen)}"
        if not res.empty:
            txt += f" outweigh resistance alteration(s) {names(res)}"
        if not expr_res.empty:
            txt += f"; expression signals of resistance: {names(expr_res)}"
        return "sensitive", txt
    if not expr_res.empty:
        return (
            "possibly_resistant",
            f"expression signals only: {', '.join(dict.fromkeys(expr_res.mechanism))}",
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
