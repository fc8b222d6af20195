"""Strategies 1 and 2 from the knowledge base: the next drug and the combination partner.

The evidence work is the mechanism module's: :func:`oncoresist.mechanisms.annotate` matches the
profile's alterations to the knowledge-base (and, when given, CIViC) items of each drug, keeps
the most specific item per alteration, applies lineage limits and calls the profile. This
module turns those evidence rows into a ranking of what to do after a resistance, with a score
whose every factor is a named, changeable weight (:class:`StrategyWeights`).

Score
-----
Each evidence item gets ``item_score = level x specificity x lineage x shared``:

``level``
    Evidence level points (CIViC's scale: A 1.0, B 0.8, C 0.6, D 0.4, E 0.2); expression
    items (marker percentiles, gene-set scores) get ``expression`` (0.3, annotate's cap);
    partners inferred from the mechanism alone get ``inferred_partner`` (0.2).
``specificity``
    How specifically the profile's alteration matched the item (the mechanism module's
    :data:`~oncoresist.mechanisms.SPECIFICITY`: 5 exact change 1.0, 4 codon or named fusion
    0.8, 3 exon / alteration kind 0.6, 2 truncating variant read as loss 0.4, 1 any mutation of
    the gene 0.2; gene-set scores 1.0). A state matched as itself (amplification, over- or
    under-expression, loss, ITD) gets ``exact_state`` (1.0): nothing more specific exists.
``lineage``
    1, or ``other_lineage`` (0.5) when a partner rule's evidence comes from another lineage
    (or the profile names none). KB items limited to another lineage never enter (annotate
    does not use them).
``shared``
    1, or ``shared_with_resisted`` (0.5) when the same item also predicted response to the
    resisted drug: the tumour has already escaped that evidence (EGFR L858R speaks for
    osimertinib and for gefitinib alike; EGFR T790M speaks for osimertinib only).

Next drugs also come from the shipped alternatives (``partners.yaml``: a drug that escapes
the named mechanism, such as cabazitaxel, a poor P-glycoprotein substrate, after docetaxel
fails through ABCB1), scored like a partner rule. Partner items come from the shipped partner
rules (``partners.yaml``), from CIViC's
combination items (:func:`read_civic_combinations`; their disease is placed in a lineage by
the keywords of ``partners.yaml``) and, as inferential items, from the mechanism of the
resistance (a drug that targets the bypass / anti-apoptotic / efflux protein, a KB drug link
whose high state means sensitivity, the druggable effector of an undruggable gene).

A next drug scores ``max(sensitivity item_score) - resistance_penalty x max(resistance
item_score)`` (the strongest item on each side, as annotate calls a profile, so that many
weak items do not outrank one validated item). A combination scores ``max(item_score)`` of
its partner items. Rows are sorted by score, then by the number of evidence items, then by
name; ``rank`` is the competition rank of the score (ties share a rank and ``n_tied`` says
how many rows share it). ``confident`` is ``score >= min_confident`` (0.4: at least a level
D item matched by its exact change, or a level B item matched by its kind).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .._results import ResultMixin
from ..errors import InputError
from ..mechanisms import (
    EVIDENCE_LEVELS,
    CivicImport,
    KnowledgeBase,
    Profile,
    annotate,
    load_knowledge_base,
    match_rule,
    normalise_tissue,
    parse_alteration,
    resolve_drug,
)

__all__ = [
    "EVIDENCE_COLUMNS",
    "TABLE_COLUMNS",
    "StrategyTable",
    "StrategyWeights",
    "load_alternative_rules",
    "load_partner_rules",
    "rank_next_drugs",
    "read_civic_combinations",
]

#: Mechanisms whose resistance item names a protein that a partner can co-inhibit.
PARTNER_MECHANISMS = ("bypass_signalling", "apoptosis_evasion", "efflux", "drug_metabolism")
#: Match rules of a state matched as itself: nothing more specific can be said of it.
_STATE_RULES = frozenset(
    ["amplification", "gain", "overexpression", "underexpression",
     "loss (deletion / loss of function)", "internal tandem duplication"]
)  # fmt: skip
_KB_LICENCE = "oncoresist KB (BSD-3-Clause), from the cited publications"
_CIVIC_LICENCE = "CIViC (CC0 1.0)"

TABLE_COLUMNS = [
    "rank",
    "n_tied",
    "kind",
    "drug",
    "partner",
    "strategy",
    "score",
    "confident",
    "best_level",
    "n_evidence",
    "call",
    "top_evidence",
    "addresses_resistance",
    "evidence",
    "caveats",
    "citations",
]
EVIDENCE_COLUMNS = [
    "strategy",
    "kind",
    "drug",
    "partner",
    "source",
    "gene",
    "observed",
    "kb_alteration",
    "match_rule",
    "effect",
    "evidence_level",
    "level_points",
    "specificity_factor",
    "lineage_factor",
    "shared_factor",
    "item_score",
    "shared_with_resisted",
    "addresses_resistance",
    "statistic",
    "citation",
    "licence",
    "caveat",
    "detail",
]


@dataclass(frozen=True)
class StrategyWeights:
    """Every weight of the strategy score (see the module docstring for the formula).

    Pass changed values as ``rank_next_drugs(..., weights={"other_lineage": 0.8})`` or as a
    ``StrategyWeights``.
    """

    level: Mapping[str, float] = field(default_factory=lambda: dict(EVIDENCE_LEVELS))
    expression: float = 0.3
    inferred_partner: float = 0.2
    specificity: Mapping[int, float] = field(
        default_factory=lambda: {5: 1.0, 4: 0.8, 3: 0.6, 2: 0.4, 1: 0.2, 0: 1.0}
    )
    exact_state: float = 1.0
    other_lineage: float = 0.5
    shared_with_resisted: float = 0.5
    resistance_penalty: float = 1.0
    min_confident: float = 0.4

    @classmethod
    def from_any(cls, weights: StrategyWeights | Mapping[str, Any] | None) -> StrategyWeights:
        """Weights from None (defaults), a ``StrategyWeights`` or a mapping of overrides."""
        if weights is None:
            return cls()
        if isinstance(weights, StrategyWeights):
            return weights
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(weights) - names)
        if bad:
            raise InputError(f"unknown strategy weight(s) {bad}; known: {sorted(names)}")
        base = cls()
        kw: dict[str, Any] = {}
        for k, v in weights.items():
            if k in ("level", "specificity"):
                kw[k] = {**getattr(base, k), **dict(v)}
            else:
                try:
                    kw[k] = float(v)
                except (TypeError, ValueError):
                    raise InputError(f"strategy weight {k!r} must be a number, got {v!r}") from None
        return cls(**kw)

    def level_points(self, level: object) -> float:
        """Points of an evidence level (an unknown level counts as E)."""
        return float(self.level.get(str(level), self.level.get("E", 0.2)))

    def spec(self, specificity: object, rule: object = "") -> float:
        """Specificity factor; a state matched as itself counts ``exact_state``."""
        if str(rule) in _STATE_RULES:
            return float(self.exact_state)
        try:
            s = int(specificity)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            s = 0
        return float(self.specificity.get(s, 1.0))


@dataclass(frozen=True)
class StrategyTable(ResultMixin):
    """Ranked next drugs and combination partners for one resistant profile.

    Attributes
    ----------
    sample, resisted_drug, lineage
        The profile, the drug it resists (KB key) and the lineage used.
    table
        One row per strategy (:data:`TABLE_COLUMNS`): ``kind`` is ``next_drug`` or
        ``combination`` (then ``partner`` is added to the resisted drug), ``score`` (formula in
        the module docstring), ``rank``, ``evidence`` (list of dicts: source, statistic,
        evidence level, citation), ``caveats`` (list of text; for a combination, those of the
        item that carries the score), ``addresses_resistance`` (some sensitivity item is not
        one that also predicted the response to the resisted drug), ``confident``
        (``score >= min_confident``), ``call`` (annotate's call of the drug alone, where made).
    evidence
        The evidence items behind every row, long (:data:`EVIDENCE_COLUMNS`).
    not_assessable
        What could not be judged and why (``item``, ``reason``).
    excluded
        Candidates left out and why (predicted resistant, conflicting evidence).
    mechanism
        The resisted drug's resistance items (annotate's used resistance evidence).
    weights
        The weights used.
    """

    sample: str
    resisted_drug: str
    lineage: str | None
    table: pd.DataFrame
    evidence: pd.DataFrame
    not_assessable: pd.DataFrame
    excluded: pd.DataFrame
    mechanism: pd.DataFrame
    weights: StrategyWeights = field(default_factory=StrategyWeights)

    def to_frame(self) -> pd.DataFrame:
        """The ranking without the nested evidence lists (caveats joined with '; ')."""
        t = self.table.drop(columns=["evidence"]).copy()
        t["caveats"] = ["; ".join(c) for c in t.caveats]  # flat for CSV / notebooks
        return t.assign(sample=self.sample, resisted_drug=self.resisted_drug)

    def top(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` rows of :meth:`to_frame`."""
        return self.to_frame().head(n)

    def summary(self) -> str:
        """One line: the profile, strategies ranked, confident ones and the top strategy."""
        head = f"StrategyTable: {self.sample} resistant to {self.resisted_drug}"
        if self.table.empty:
            why = "; ".join(self.not_assessable.reason.head(3)) or "no evidence"
            return " ".join(f"{head}: nothing ranked ({why})".split())
        top = self.table.iloc[0]
        n_conf = int(self.table["confident"].sum())
        return (
            f"{head}: {len(self.table)} strategies, {n_conf} confident; top "
            f"{top['strategy']} (score {float(top['score']):.2f})"
        )

    def describe(self) -> str:
        """A few lines: the top strategies with their score and strongest evidence."""
        head = f"{self.sample} resistant to {self.resisted_drug}"
        if self.table.empty:
            why = "; ".join(self.not_assessable.reason.head(3)) or "no evidence"
            return f"{head}: nothing ranked ({why})"
        lines = [f"{head}: {len(self.table)} strategies"]
        for r in self.table.head(5).itertuples():
            flag = "" if r.confident else " [not confident]"
            lines.append(
                f"  {r.rank}. {r.strategy} (score {r.score:.2f}, level {r.best_level}){flag}: "
                f"{r.top_evidence}"
            )
        return "\n".join(lines)


# --- partner rules ---------------------------------------------------------------------------


@functools.cache
def _partner_text() -> str:
    return resources.files("oncoresist.strategy").joinpath("partners.yaml").read_text("utf-8")


def _rule_rows(kb: KnowledgeBase, section: str, drugs_key: str, out: str,
               extra: Sequence[str]) -> list[dict[str, Any]]:  # fmt: skip
    """One row per (rule of ``section``, drug of its ``drugs_key`` list, expanded from classes)."""
    data = yaml.safe_load(_partner_text())
    rows = []
    for r in data.get(section, []):
        base: dict[str, Any] = {"gene": str(r["gene"])}
        if "alteration" in extra:
            base["alteration"] = str(r["alteration"])
        if "resisted" in extra:
            base["resisted"] = tuple(kb.expand_drugs([str(x) for x in r.get("resisted", [])]))
        for cls_name in r.get(drugs_key, []):
            for d in kb.expand_drugs([str(cls_name)]):
                row = {**base, out: d, f"{out}_class": str(cls_name)}
                if "lineages" in extra:
                    row["lineages"] = tuple(normalise_tissue(x) for x in r.get("lineages") or [])
                row["level"] = str(r.get("level", "E"))
                if "evidence" in extra:
                    row["evidence"] = str(r.get("evidence", ""))
                row["citations"] = ";".join(r.get("citations", []))
                row["note"] = " ".join(str(r.get("note", "")).split())
                rows.append(row)
    return rows


def load_partner_rules(kb: KnowledgeBase | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipped combination-partner rules as tables ``(partners, downstream)``.

    ``partners``: one row per (rule, partner drug key): ``gene``, ``alteration``, ``resisted``
    (tuple of drug keys), ``partner``, ``partner_class``, ``lineages`` (tuple), ``level``,
    ``evidence``, ``citations``, ``note``. ``downstream``: ``gene``, ``partner``, ``level``,
    ``citations``, ``note``.

    Examples
    --------
    >>> partners, downstream = load_partner_rules()
    >>> "cetuximab" in set(partners.partner)
    True
    """
    kb = kb or load_knowledge_base()
    full = ("alteration", "resisted", "lineages", "evidence")
    rows = _rule_rows(kb, "partners", "partners", "partner", full)
    down = _rule_rows(kb, "downstream", "partners", "partner", ())
    return pd.DataFrame(rows), pd.DataFrame(down)


def load_alternative_rules(kb: KnowledgeBase | None = None) -> pd.DataFrame:
    """The shipped next-drug alternatives (``alternatives`` of ``partners.yaml``), one row per
    (rule, next drug key): ``gene``, ``alteration``, ``resisted`` (tuple of drug keys),
    ``next``, ``next_class``, ``lineages``, ``level``, ``evidence``, ``citations``, ``note``.

    Examples
    --------
    >>> alt = load_alternative_rules()
    >>> "cabazitaxel" in set(alt.next)
    True
    """
    kb = kb or load_knowledge_base()
    full = ("alteration", "resisted", "lineages", "evidence")
    return pd.DataFrame(_rule_rows(kb, "alternatives", "next", "next", full))


# --- CIViC combination items -------------------------------------------------------------------

#: CIViC variant names that are states (as the mechanism module's CIViC import reads them).
_CIVIC_STATES = {
    "AMPLIFICATION": "amplification",
    "OVEREXPRESSION": "overexpression",
    "EXPRESSION": "overexpression",
    "UNDEREXPRESSION": "underexpression",
    "LOSS": "loss",
    "DELETION": "loss",
    "LOSS-OF-FUNCTION": "loss",
    "MUTATION": "mutation",
}
COMBINATION_COLUMNS = [
    "gene", "alteration", "drugs", "effect", "evidence_level", "disease", "citation", "source",
    "statement",
]  # fmt: skip


def _norm_drug(name: str) -> str:
    """KB drug key (lower case, letters and digits), as the mechanism module keys drugs."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def read_civic_combinations(path: str | Path | None = None) -> pd.DataFrame:
    """CIViC's accepted predictive items of drugs given in combination that support a response.

    These are the items that the mechanism module's CIViC import leaves out ("drug
    combination"); here they are partner evidence: an item naming the resisted drug (or a
    member of its KB class) and a partner, for an alteration the profile carries. One row per
    item: ``gene``, ``alteration`` (normalised as the CIViC import does for states),
    ``drugs`` (tuple of KB drug keys), ``effect`` (``sensitivity``), ``evidence_level``,
    ``disease``, ``citation``, ``source`` (``civic:EID<id>``), ``statement``.

    Examples
    --------
    >>> combos = read_civic_combinations()  # doctest: +SKIP
    >>> int((combos.gene == "BRAF").sum()) > 10  # doctest: +SKIP
    True
    """
    from ..mechanisms import fetch_civic_evidence

    p = Path(path) if path is not None else fetch_civic_evidence()
    if not p.is_file():
        raise InputError(f"CIViC evidence file {p} does not exist")
    df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    need = ["gene", "variant", "drugs", "drug_interaction_type", "evidence_type",
            "evidence_direction", "clinical_significance", "evidence_level", "citation_id",
            "evidence_id"]  # fmt: skip
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(
            f"{p}: not a CIViC ClinicalEvidenceSummaries file; missing columns {missing}"
        )
    keep = (
        (df.evidence_type == "Predictive")
        & (df.drug_interaction_type == "Combination")
        & (df.evidence_direction == "Supports")
        & (df.clinical_significance == "Sensitivity/Response")
        & (df.get("evidence_status", pd.Series("accepted", index=df.index)) == "accepted")
    )
    d = df[keep]
    rows = []
    for r in _rows(d):
        gene = str(r.gene).strip().upper()
        v = str(r.variant).strip()
        rows.append(
            {
                "gene": gene,
                "alteration": _CIVIC_STATES.get(v.upper(), v),
                "drugs": tuple(_norm_drug(x) for x in str(r.drugs).split(",") if x.strip()),
                "effect": "sensitivity",
                "evidence_level": r.evidence_level if r.evidence_level in EVIDENCE_LEVELS else "E",
                "disease": str(getattr(r, "disease", "")),
                "citation": f"PMID:{r.citation_id}"
                if str(r.citation_id).isdigit()
                else f"ASCO:{r.citation_id}",
                "source": f"civic:EID{r.evidence_id}",
                "statement": str(getattr(r, "evidence_statement", ""))[:300],
            }
        )
    return pd.DataFrame(rows, columns=COMBINATION_COLUMNS)


# --- helpers ---------------------------------------------------------------------------------


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """Row tuples typed loosely (pandas-stubs types each field as a union)."""
    return df.itertuples()


def _drug_names(kb: KnowledgeBase) -> dict[str, str]:
    return dict(zip(kb.drugs.key, kb.drugs.drug.astype(str), strict=True))


def _targets(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    return {str(k): frozenset(t) for k, t in zip(kb.drugs.key, kb.drugs.targets, strict=True)}


def _matching_events(
    profile: Profile, gene: str, alteration: str, events: pd.DataFrame | None = None
) -> list[tuple[int, str, str]]:
    """(specificity, rule, observed) of every profile event matching a rule, most specific first."""
    try:
        rule = parse_alteration(alteration, gene=gene, kb_entry=True)
    except InputError:
        return []
    out: list[tuple[int, str, str]] = []
    ev = profile.events() if events is None else events
    for g, a in zip(ev.gene, ev.alteration, strict=True):
        if str(g) != gene:
            continue
        try:
            obs = parse_alteration(str(a), gene=str(g))
        except InputError:
            continue
        m = match_rule(rule, obs)
        if m is not None:
            out.append((m[0], m[1], str(a)))
    return sorted(out, key=lambda x: -x[0])


def _match_event(
    profile: Profile, gene: str, alteration: str, events: pd.DataFrame | None = None
) -> tuple[int, str, str] | None:
    """(specificity, rule, observed) of the profile's most specific event matching a rule."""
    hits = _matching_events(profile, gene, alteration, events)
    return hits[0] if hits else None


def _lineage_factor(
    lineages: Sequence[str], tissue: str | None, w: StrategyWeights
) -> tuple[float, str]:
    if not lineages:
        return 1.0, ""
    if tissue is not None and normalise_tissue(tissue) in set(lineages):
        return 1.0, ""
    where = ", ".join(lineages)
    return w.other_lineage, (
        f"evidence from {where}, "
        + (f"profile is {normalise_tissue(tissue)}" if tissue else "profile names no lineage")
    )


def _disease_factor(disease: str, tissue: str | None, w: StrategyWeights) -> tuple[float, str]:
    """Lineage factor of a CIViC item from its disease name (keywords in partners.yaml)."""
    if tissue is None:
        return w.other_lineage, f"CIViC item in {disease}; profile names no lineage"
    lineage = normalise_tissue(tissue)
    words = _lineage_keywords().get(lineage, (lineage.replace("_", " "),))
    if any(k in disease.lower() for k in words):
        return 1.0, ""
    return w.other_lineage, f"CIViC item in {disease}, profile is {lineage}"


@functools.cache
def _lineage_keywords() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(_partner_text())
    return {
        normalise_tissue(k): tuple(str(x).lower() for x in v)
        for k, v in (data.get("lineage_keywords") or {}).items()
    }


def _source_of(src: str, kb_version: str) -> tuple[str, str]:
    if src.startswith("civic:"):
        return f"CIViC {src.split(':', 1)[1]} (Feb 2021 dump)", _CIVIC_LICENCE
    return f"oncoresist KB v{kb_version} ({src})", _KB_LICENCE


def _candidate_drugs(kb: KnowledgeBase, profile: Profile, pool: Iterable[str]) -> list[str]:
    """Drugs for which annotate can find evidence in this profile (others cannot be ranked)."""
    genes = set(profile.events().gene.astype(str))
    for s in profile.issues.get("suggestion", pd.Series(dtype=str)):
        genes |= {g.strip() for g in str(s).split(",") if g.strip()}
    alts = kb.alterations
    with_evidence = set(alts.loc[alts.gene.isin(genes), "drug"])
    if profile.expression is not None:
        with_evidence |= set(kb.drug_links.drug)
        with_evidence |= set(
            alts.loc[alts.alteration.isin(["overexpression", "underexpression"]), "drug"]
        )
    return [d for d in dict.fromkeys(pool) if d in with_evidence]


def _items_from_annotation(
    ev: pd.DataFrame,
    *,
    shared: set[tuple[str, str]],
    resisted_hits: set[tuple[str, str]],
    w: StrategyWeights,
    kb_version: str,
) -> list[dict[str, Any]]:
    out = []
    used = ev[ev.used.astype(bool) & ev.effect.isin(["sensitivity", "resistance"])]
    for r in _rows(used):
        is_expr = not str(r.evidence_type).startswith("variant")
        pts = w.expression if is_expr else w.level_points(r.evidence_level)
        spec = w.spec(r.specificity, r.match_rule)
        key = (str(r.gene), str(r.observed))
        is_shared = r.effect == "sensitivity" and key in shared
        sh = w.shared_with_resisted if is_shared else 1.0
        src, lic = _source_of(str(r.source), kb_version)
        stat = (
            f"{r.effect}, level {r.evidence_level}, {r.match_rule}"
            if not is_expr
            else f"{r.effect} from expression: {r.detail}"
        )
        out.append(
            {
                "source": src,
                "gene": str(r.gene),
                "observed": str(r.observed),
                "kb_alteration": str(r.kb_alteration),
                "match_rule": str(r.match_rule),
                "effect": str(r.effect),
                "evidence_level": str(r.evidence_level) or "expression",
                "level_points": pts,
                "specificity_factor": spec,
                "lineage_factor": 1.0,
                "shared_factor": sh,
                "item_score": pts * spec * sh,
                "shared_with_resisted": bool(is_shared),
                "addresses_resistance": key in resisted_hits,
                "statistic": stat,
                "citation": str(r.citations),
                "licence": lic,
                "caveat": "",
                "detail": str(r.detail),
            }
        )
    return out


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=TABLE_COLUMNS)


# --- main ------------------------------------------------------------------------------------


def rank_next_drugs(
    profile: Profile,
    resisted_drug: str,
    *,
    lineage: str | None = None,
    kb: KnowledgeBase | None = None,
    civic: CivicImport | None = None,
    civic_combinations: pd.DataFrame | None = None,
    candidates: Sequence[str] | None = None,
    weights: StrategyWeights | Mapping[str, Any] | None = None,
) -> StrategyTable:
    """Rank the next drugs and the combination partners for a profile resistant to a drug.

    **Next drug**: every candidate (default: every drug of the knowledge base) is annotated
    against the profile (:func:`oncoresist.mechanisms.annotate`, KB and CIViC items); drugs with
    used sensitivity evidence that are not called resistant are ranked. The resisted drug is
    never a candidate, and drugs of its class that the profile's alterations make resistant
    fall out as predicted resistant (listed in ``excluded``).

    **Combination partners** (added to the resisted drug) come from (1) the shipped partner
    rules (``partners.yaml``: an alteration, the resisted drug or class, the partner, level and
    citations, e.g. BRAF V600E colorectal cancer on a BRAF inhibitor -> EGFR antibody; a rule
    is not applied where its alteration predicts response to the resisted drug in this profile,
    because it is then the driver the drug works on, not the resistance) and
    (2) the mechanism of each resistance item that annotate used for the resisted drug: for
    bypass signalling, anti-apoptotic, efflux and drug-metabolism items, drugs whose targets
    include the named protein (MET amplification -> MET inhibitors; MCL1 -> MCL1 inhibitors;
    ABCG2 -> ABCG2 inhibitors), drugs whose KB drug link says a high state of that gene means
    sensitivity (BCL2L1 high -> navitoclax), and the druggable effector of an undruggable gene
    (NRAS -> MEK). Partners that share a target with the resisted drug are not partners.

    The score is documented in the module docstring; every weight is a field of
    :class:`StrategyWeights`.

    Parameters
    ----------
    profile
        A :class:`~oncoresist.mechanisms.Profile` of the resistant tumour or line.
    resisted_drug
        The drug it resists (name, synonym or class member; unknown names raise with close
        matches).
    lineage
        Lineage / tissue (``lung``); overrides the profile's ``tissue``.
    kb, civic
        Knowledge base (shipped by default) and imported CIViC evidence (optional).
    civic_combinations
        CIViC's combination items (:func:`read_civic_combinations`): an item supporting the
        resisted drug (or a member of its KB class) given with a partner, for an alteration
        the profile carries, is partner evidence at its own level.
    candidates
        Drug names to consider as next drugs (default: every KB drug).
    weights
        :class:`StrategyWeights` or a mapping of weight overrides.

    Examples
    --------
    >>> from oncoresist.mechanisms import make_profile
    >>> p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    >>> t = rank_next_drugs(p, "gefitinib")
    >>> t.table.drug.iloc[0], int(t.table["rank"].iloc[0])
    ('Osimertinib', 1)
    """
    w = StrategyWeights.from_any(weights)
    kb = kb or load_knowledge_base()
    if civic is not None:
        kb = kb.with_alterations(civic.evidence)
    key = resolve_drug(resisted_drug, kb)
    if lineage is not None:
        profile = dataclasses.replace(profile, tissue=str(lineage))
    tissue = profile.tissue
    names = _drug_names(kb)
    targets = _targets(kb)
    not_assessable: list[dict[str, str]] = []
    excluded: list[dict[str, str]] = []

    res_ann = annotate(profile, key, kb=kb)
    rev = res_ann.evidence
    used_res = rev[rev.used.astype(bool) & (rev.effect == "resistance")] if not rev.empty else rev
    used_sen = rev[rev.used.astype(bool) & (rev.effect == "sensitivity")] if not rev.empty else rev
    shared = {(str(g), str(o)) for g, o in zip(used_sen.gene, used_sen.observed, strict=True)}
    resisted_hits = {
        (str(g), str(o)) for g, o in zip(used_res.gene, used_res.observed, strict=True)
    }
    if used_res.empty:
        not_assessable.append(
            {
                "item": f"mechanism of resistance to {res_ann.drug_name}",
                "reason": (
                    f"no knowledge-base item explains the resistance to {res_ann.drug_name} "
                    f"(annotate: {res_ann.call}, {res_ann.reason}); next drugs rest on "
                    "sensitivity evidence only and no partner can be chosen by mechanism"
                ),
            }
        )
    for n in res_ann.notes:
        if "not a known gene symbol" in n or "unknown gene" in n:
            not_assessable.append({"item": "profile", "reason": n})

    rows: list[dict[str, Any]] = []
    ev_rows: list[dict[str, Any]] = []

    # ---- next drugs
    if candidates is None:
        pool = list(dict.fromkeys([*kb.drugs.key, *kb.alterations.drug, *kb.drug_links.drug]))
    else:
        pool = [resolve_drug(c, kb) for c in candidates]
    pool = [d for d in pool if d != key]
    assessable = _candidate_drugs(kb, profile, pool)
    n_silent = len(pool) - len(assessable)
    if n_silent:
        not_assessable.append(
            {
                "item": f"{n_silent} candidate drugs",
                "reason": "no knowledge-base or CIViC item for any gene of the profile "
                "(and no expression link to score): not ranked",
            }
        )
    # a drug none of whose sensitivity items matches the profile cannot be a next drug;
    # matching the items here (cheap) spares annotate() for it
    events = profile.events()
    alts = kb.alterations
    match_cache: dict[tuple[str, str], tuple[int, str, str] | None] = {}

    def matches(gene: str, alteration: str) -> tuple[int, str, str] | None:
        if (gene, alteration) not in match_cache:
            match_cache[(gene, alteration)] = _match_event(profile, gene, alteration, events)
        return match_cache[(gene, alteration)]

    by_drug = dict(tuple(alts[alts.gene.isin(set(events.gene))].groupby("drug")))
    for d in list(assessable):
        if profile.expression is not None or profile.issues.shape[0]:
            break
        rows_d = by_drug.get(d)
        if rows_d is None:
            continue
        hit = [
            (g, a, e)
            for g, a, e in zip(rows_d.gene, rows_d.alteration, rows_d.effect, strict=True)
            if matches(str(g), str(a)) is not None
        ]
        if not any(e == "sensitivity" for _, _, e in hit):
            assessable.remove(d)
            if hit:
                excluded.append(
                    {
                        "drug": names.get(d, d),
                        "reason": "predicted resistant: only resistance items match ("
                        + ", ".join(dict.fromkeys(f"{g} {a}" for g, a, _ in hit))
                        + ")",
                    }
                )
    for d in assessable:
        a = annotate(profile, d, kb=kb)
        if a.call in ("resistant", "possibly_resistant"):
            excluded.append({"drug": a.drug_name, "reason": f"predicted {a.call}: {a.reason}"})
            continue
        if a.call == "not_assessable":
            not_assessable.append({"item": a.drug_name, "reason": a.reason})
            continue
        if a.call == "conflicting":
            excluded.append({"drug": a.drug_name, "reason": f"conflicting: {a.reason}"})
            continue
        if a.call == "no_known_marker" or a.evidence.empty:
            continue
        items = _items_from_annotation(
            a.evidence, shared=shared, resisted_hits=resisted_hits, w=w, kb_version=kb.version
        )
        sen = [i for i in items if i["effect"] == "sensitivity"]
        res = [i for i in items if i["effect"] == "resistance"]
        if not sen:
            continue
        s = max(i["item_score"] for i in sen)
        r = max((i["item_score"] for i in res), default=0.0)
        caveats = []
        if all(i["shared_with_resisted"] for i in sen):
            caveats.append(
                f"the same evidence predicted response to {res_ann.drug_name}: it does not "
                "address the resistance"
            )
        if res:
            caveats.append(
                "resistance items too: "
                + ", ".join(dict.fromkeys(f"{i['gene']} {i['observed']}" for i in res))
            )
        caveats += _level_caveats(sen)
        caveats += _approval_caveat(kb, d)
        strategy = a.drug_name
        for i in items:
            ev_rows.append({"strategy": strategy, "kind": "next_drug", "drug": a.drug_name,
                            "partner": "", **i})  # fmt: skip
        rows.append(
            _row(
                "next_drug",
                a.drug_name,
                "",
                strategy,
                s - w.resistance_penalty * r,
                sen + res,
                caveats,
                a.call,
            )
        )

    # ---- next drugs that escape the mechanism (partners.yaml alternatives)
    alternatives = load_alternative_rules(kb)
    for ar in _rows(alternatives) if not alternatives.empty else ():
        if key not in ar.resisted or ar.next == key:
            continue
        m = _match_event(profile, str(ar.gene), str(ar.alteration))
        if m is None:
            continue
        spec, rule, observed = m
        lf, lnote = _lineage_factor(ar.lineages, tissue, w)
        item = _rule_item(
            "oncoresist strategy alternatives (partners.yaml)",
            ar,
            observed,
            rule,
            spec,
            lf,
            w,
            f"{ar.evidence} evidence, level {ar.level}, {rule}: escapes the {ar.gene} mechanism",
        )
        dname = names.get(ar.next, ar.next)
        caveats = [lnote, *_approval_caveat(kb, ar.next)]
        if ar.evidence in ("in_vitro", "preclinical"):
            caveats.append(f"{ar.evidence.replace('_', ' ')} evidence only")
        ev_rows.append({"strategy": dname, "kind": "next_drug", "drug": dname, "partner": "",
                        **item})  # fmt: skip
        same = [r for r in rows if r["kind"] == "next_drug" and r["drug"] == dname]
        if same:
            r0 = same[0]
            r0["score"] = max(r0["score"], item["item_score"])
            r0["n_evidence"] += 1
            r0["evidence"].append({k: item[k] for k in ("source", "statistic", "evidence_level",
                                                        "item_score", "citation")})  # fmt: skip
            r0["caveats"] = list(dict.fromkeys([*r0["caveats"], *(c for c in caveats if c)]))
        elif any(e["drug"] == dname for e in excluded):
            for e in excluded:
                if e["drug"] == dname:
                    e["reason"] += (f"; the {ar.gene} {ar.alteration} alternative rule does not "
                                    "override this")  # fmt: skip
        else:
            rows.append(_row("next_drug", dname, "", dname, item["item_score"], [item],
                             caveats, "alternative"))  # fmt: skip

    # ---- combination partners
    partners, downstream = load_partner_rules(kb)
    resisted_targets = targets.get(key, frozenset())
    combo: dict[str, list[dict[str, Any]]] = {}

    def add(p: str, item: dict[str, Any], caveats: Sequence[str] = ()) -> None:
        if p == key or (targets.get(p, frozenset()) & resisted_targets and resisted_targets):
            return
        combo.setdefault(p, []).append(item)
        item["caveat"] = "; ".join(dict.fromkeys(c for c in caveats if c))

    for pr in _rows(partners) if not partners.empty else ():
        if key not in pr.resisted:
            continue
        m = _match_event(profile, str(pr.gene), str(pr.alteration))
        if m is None:
            continue
        spec, rule, observed = m
        hits = _matching_events(profile, str(pr.gene), str(pr.alteration), events)
        if any((str(pr.gene), h[2]) in shared for h in hits):
            excluded.append(
                {
                    "drug": f"{res_ann.drug_name} + {names.get(pr.partner, pr.partner)}",
                    "reason": f"partner rule for {pr.gene} {pr.alteration} not applied: "
                    f"{pr.gene} {observed} predicts response to {res_ann.drug_name} in this "
                    "profile (it is the driver the drug works on, not the resistance)",
                }
            )
            continue
        lf, lnote = _lineage_factor(pr.lineages, tissue, w)
        caveats = [lnote]
        if pr.evidence in ("in_vitro", "preclinical"):
            caveats.append(f"{pr.evidence.replace('_', ' ')} evidence only")
        add(
            pr.partner,
            _rule_item(
                "oncoresist strategy partner rules (partners.yaml)",
                pr,
                observed,
                rule,
                spec,
                lf,
                w,
                f"{pr.evidence} evidence, level {pr.level}, {rule}",
            ),
            caveats,
        )

    if civic_combinations is not None and not civic_combinations.empty:
        classes = [set(m) for m in kb.drug_classes.values() if key in m]
        same_class = set().union({key}, *classes)
        for cr in _rows(civic_combinations):
            drugs = set(cr.drugs)
            if not drugs & same_class:
                continue
            hits = _matching_events(profile, str(cr.gene), str(cr.alteration), events)
            # an item whose alteration is the driver the resisted drug works on is not about
            # the resistance
            if not hits or any((str(cr.gene), h[2]) in shared for h in hits):
                continue
            spec, rule, observed = hits[0]
            pts = w.level_points(cr.evidence_level)
            lf, lnote = _disease_factor(str(cr.disease), tissue, w)
            with_drug = ", ".join(sorted(drugs & same_class))
            for p in sorted(drugs - same_class):
                add(
                    p,
                    {
                        "source": f"CIViC {cr.source.split(':', 1)[1]} (combination item)",
                        "gene": str(cr.gene),
                        "observed": observed,
                        "kb_alteration": str(cr.alteration),
                        "match_rule": rule,
                        "effect": "sensitivity",
                        "evidence_level": str(cr.evidence_level),
                        "level_points": pts,
                        "specificity_factor": w.spec(spec, rule),
                        "lineage_factor": lf,
                        "shared_factor": 1.0,
                        "item_score": pts * w.spec(spec, rule) * lf,
                        "shared_with_resisted": False,
                        "addresses_resistance": (str(cr.gene), observed) in resisted_hits,
                        "statistic": f"response to {with_drug} + {p} ({cr.disease}), level "
                        f"{cr.evidence_level}, {rule}",
                        "citation": str(cr.citation),
                        "licence": _CIVIC_LICENCE,
                        "detail": str(cr.statement),
                    },
                    [lnote, f"CIViC item with {with_drug}" if with_drug != key else ""],
                )

    links = kb.drug_links[kb.drug_links.when_high == "sensitivity"]
    for r in _rows(used_res):
        if r.mechanism not in PARTNER_MECHANISMS or not str(r.evidence_type).startswith("variant"):
            continue
        gene = str(r.gene)
        rspec = w.spec(r.specificity, r.match_rule)
        base = {
            "gene": gene,
            "observed": str(r.observed),
            "kb_alteration": str(r.kb_alteration),
            "match_rule": str(r.match_rule),
            "effect": "sensitivity",
            "shared_factor": 1.0,
            "lineage_factor": 1.0,
            "shared_with_resisted": False,
            "addresses_resistance": True,
            "licence": _KB_LICENCE,
        }
        why = f"{gene} {r.observed} causes {r.mechanism.replace('_', ' ')} resistance"
        for p, t in targets.items():
            if gene in t and ":" not in names.get(p, ""):
                add(
                    p,
                    {
                        **base,
                        "source": f"inferred: {names.get(p, p)} targets {gene} "
                        f"(oncoresist KB v{kb.version} drug targets)",
                        "evidence_level": "inferred",
                        "level_points": w.inferred_partner,
                        "specificity_factor": rspec,
                        "item_score": w.inferred_partner * rspec,
                        "statistic": f"{why}; the partner inhibits {gene}",
                        "citation": str(r.citations),
                        "detail": f"targets of {names.get(p, p)}: {', '.join(sorted(t))}",
                    },
                    ["inferred from the mechanism only: no combination study in the KB"],
                )
        mine = links[links.marker_genes.str.split(";").map(lambda g, gene=gene: gene in g)]
        for link in _rows(mine):
            add(
                str(link.drug),
                {
                    **base,
                    "source": f"inferred: KB drug link {link.gene_set} (high means sensitivity)",
                    "evidence_level": "inferred",
                    "level_points": w.inferred_partner,
                    "specificity_factor": rspec,
                    "item_score": w.inferred_partner * rspec,
                    "statistic": f"{why}; {link.relation}",
                    "citation": str(link.citations),
                    "detail": str(link.relation),
                },
                ["inferred from the mechanism only: no combination study in the KB"],
            )
        for dn in _rows(downstream[downstream.gene == gene]) if not downstream.empty else ():
            pts = w.level_points(dn.level)
            add(
                str(dn.partner),
                {
                    **base,
                    "source": "oncoresist strategy partner rules (downstream effector)",
                    "evidence_level": dn.level,
                    "level_points": pts,
                    "specificity_factor": rspec,
                    "item_score": pts * rspec,
                    "statistic": f"{why}; {dn.note}",
                    "citation": dn.citations,
                    "detail": dn.note,
                },
                [f"level {dn.level}: effector inhibition inferred, not tested with this drug"],
            )

    for p, items in combo.items():
        pname = names.get(p, p)
        strategy = f"{res_ann.drug_name} + {pname}"
        # the caveats of the item that carries the score (the others are in .evidence)
        top = max(items, key=lambda i: i["item_score"])
        caveats = [c for c in str(top.get("caveat", "")).split("; ") if c]
        alone = None
        if any(i["source"].startswith("oncoresist strategy") for i in items):
            alone = annotate(profile, p, kb=kb) if p in set(kb.alterations.drug) else None
            if alone is not None and alone.call == "resistant":
                caveats.append(
                    f"{pname} alone is predicted resistant ({alone.reason}): only in combination"
                )
        caveats += _approval_caveat(kb, p)
        for i in items:
            ev_rows.append({"strategy": strategy, "kind": "combination", "drug": res_ann.drug_name,
                            "partner": pname, **i})  # fmt: skip
        rows.append(
            _row(
                "combination",
                res_ann.drug_name,
                pname,
                strategy,
                max(i["item_score"] for i in items),
                items,
                caveats,
                alone.call if alone is not None else "",
            )
        )

    for r in [r for r in rows if r["score"] <= 0]:
        excluded.append(
            {"drug": r["strategy"], "reason": "resistance evidence as strong as the sensitivity"}
        )
    rows = [r for r in rows if r["score"] > 0]
    table = _rank(pd.DataFrame(rows, columns=TABLE_COLUMNS) if rows else _empty_table(), w)
    if table.empty:
        not_assessable.append(
            {
                "item": "ranking",
                "reason": f"no strategy: no knowledge-base item of the profile's alterations "
                f"predicts sensitivity to any drug or names a partner for {res_ann.drug_name}; "
                "nothing is ranked",
            }
        )
    elif not table.confident.any():
        not_assessable.append(
            {
                "item": "ranking",
                "reason": f"no strategy reaches the confidence threshold "
                f"(score >= {w.min_confident}); all rows rest on weak or inferential evidence",
            }
        )
    evidence = pd.DataFrame(ev_rows, columns=EVIDENCE_COLUMNS)
    if not evidence.empty:
        order = {s: i for i, s in enumerate(table.strategy)}
        evidence = evidence.assign(_o=evidence.strategy.map(order)).sort_values(
            ["_o", "item_score"], ascending=[True, False], ignore_index=True
        )
        evidence = evidence.drop(columns="_o")
    mech_cols = ["mechanism", "gene", "observed", "kb_alteration", "evidence_level",
                 "match_rule", "citations", "source"]  # fmt: skip
    return StrategyTable(
        sample=profile.sample,
        resisted_drug=res_ann.drug_name,
        lineage=normalise_tissue(tissue) if tissue else None,
        table=table,
        evidence=evidence,
        not_assessable=pd.DataFrame(not_assessable, columns=["item", "reason"]),
        excluded=pd.DataFrame(excluded, columns=["drug", "reason"]),
        mechanism=used_res[mech_cols].reset_index(drop=True)
        if not used_res.empty
        else pd.DataFrame(columns=mech_cols),
        weights=w,
    )


def _rule_item(source: str, r: Any, observed: str, rule: str, spec: int, lf: float,
               w: StrategyWeights, statistic: str) -> dict[str, Any]:  # fmt: skip
    """The sensitivity item of a matched ``partners.yaml`` rule (partner or alternative)."""
    pts = w.level_points(r.level)
    return {
        "source": source,
        "gene": r.gene,
        "observed": observed,
        "kb_alteration": r.alteration,
        "match_rule": rule,
        "effect": "sensitivity",
        "evidence_level": r.level,
        "level_points": pts,
        "specificity_factor": w.spec(spec, rule),
        "lineage_factor": lf,
        "shared_factor": 1.0,
        "item_score": pts * w.spec(spec, rule) * lf,
        "shared_with_resisted": False,
        "addresses_resistance": True,
        "statistic": statistic,
        "citation": r.citations,
        "licence": _KB_LICENCE,
        "detail": r.note,
    }


def _level_caveats(items: Sequence[Mapping[str, Any]]) -> list[str]:
    levels = sorted(str(i["evidence_level"]) for i in items)
    best = levels[0] if levels else ""
    if best == "D":
        return ["preclinical evidence only (level D)"]
    if best == "E":
        return ["inferential evidence only (level E)"]
    if best == "expression":
        return ["expression evidence only (marker or gene-set score)"]
    return []


def _approval_caveat(kb: KnowledgeBase, key: str) -> list[str]:
    row = kb.drugs[kb.drugs.key == key]
    if row.empty:
        return ["not in the KB drug table (no targets or approval recorded)"]
    approved = row.approved.iloc[0]
    if pd.isna(approved):
        return ["approval not recorded in the KB (screened compound or not curated)"]
    return []


def _row(
    kind: str,
    drug: str,
    partner: str,
    strategy: str,
    score: float,
    items: Sequence[Mapping[str, Any]],
    caveats: Sequence[str],
    call: str,
) -> dict[str, Any]:
    top = max(items, key=lambda i: i["item_score"])
    lv = sorted(str(i["evidence_level"]) for i in items if i["effect"] == "sensitivity") or [""]
    return {
        "rank": 0,
        "n_tied": 0,
        "kind": kind,
        "drug": drug,
        "partner": partner,
        "strategy": strategy,
        "score": float(score),
        "confident": False,
        "best_level": lv[0],
        "n_evidence": len(items),
        "call": call,
        "top_evidence": (
            f"{top['gene']} {top['observed']} -> {top['statistic']} ({top['citation']}; "
            f"{top['source']})"
        ),
        "addresses_resistance": any(
            i["addresses_resistance"] or not i["shared_with_resisted"]
            for i in items
            if i["effect"] == "sensitivity"
        ),
        "evidence": [
            {
                "source": i["source"],
                "statistic": i["statistic"],
                "evidence_level": i["evidence_level"],
                "item_score": i["item_score"],
                "citation": i["citation"],
            }
            for i in items
        ],
        "caveats": list(dict.fromkeys(c for c in caveats if c)),
        "citations": ";".join(
            dict.fromkeys(c for i in items for c in i["citation"].split(";") if c)
        ),
    }


def _rank(table: pd.DataFrame, w: StrategyWeights) -> pd.DataFrame:
    if table.empty:
        return table
    t = table.copy()
    t["score"] = t.score.astype(float).round(12)
    t = t.sort_values(
        ["score", "n_evidence", "strategy"], ascending=[False, False, True], ignore_index=True
    )
    t["rank"] = t.score.rank(method="min", ascending=False).astype(int)
    t["n_tied"] = t.groupby("score").score.transform("size").astype(int)
    t["confident"] = t.score.to_numpy(dtype=float) >= w.min_confident - 1e-12
    return t.astype({"rank": int, "n_tied": int, "confident": bool})
