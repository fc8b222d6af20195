"""The shipped knowledge base: mechanism classes, gene sets, drug links, alterations, drugs."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._build import norm_drug


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """Row tuples typed loosely (pandas-stubs types each field as a union)."""
    return df.itertuples()


__all__ = [
    "EVIDENCE_LEVELS",
    "MECHANISM_CLASSES",
    "KnowledgeBase",
    "gene_symbols",
    "load_knowledge_base",
    "resolve_drug",
    "suggest_genes",
    "validate_knowledge_base",
]

MECHANISM_CLASSES: tuple[str, ...] = (
    "efflux",
    "target_alteration",
    "bypass_signalling",
    "dna_repair",
    "apoptosis_evasion",
    "drug_metabolism",
    "stemness",
    "emt",
    "hypoxia",
    "immune_evasion",
    "stromal",
)
#: CIViC's evidence levels, A (validated) to E (inferential), with the weight annotate() uses.
EVIDENCE_LEVELS: dict[str, float] = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.2}
_CITATION = re.compile(r"^(PMID:\d{6,9}|DOI:10\.\d{4,9}/\S+)$")


def _kb_text(name: str) -> str:
    return resources.files("oncoresist.mechanisms").joinpath(f"kb/{name}").read_text("utf-8")


@functools.cache
def gene_symbols() -> frozenset[str]:
    """Known gene symbols (derived from public lists, see ``_build``), for symbol checks."""
    return frozenset(_kb_text("gene_symbols.txt").split())


def suggest_genes(symbol: str, n: int = 3) -> list[str]:
    """Close matches of an unknown gene symbol among the known symbols.

    Examples
    --------
    >>> suggest_genes("EGRF")[0]
    'EGFR'
    """
    s = str(symbol).upper()
    known = gene_symbols()
    # Same letters in another order (typos like EGRF) come first, then difflib's ratio.
    anagrams = sorted(g for g in known if len(g) == len(s) and sorted(g) == sorted(s) and g != s)
    close = difflib.get_close_matches(s, known, n=n, cutoff=0.6)
    return list(dict.fromkeys(anagrams + close))[:n]


@dataclass(frozen=True)
class KnowledgeBase(ResultMixin):
    """Mechanism knowledge base as tidy tables.

    Attributes
    ----------
    version
        Version string of the shipped YAML.
    mechanisms
        One row per mechanism class (``mechanism``, ``description``).
    gene_sets
        One row per gene of a gene set (``gene_set``, ``mechanism``, ``direction``, ``gene``,
        ``sign`` (+1 up, -1 down), ``citations``).
    drug_links
        One row per (gene set, drug): ``gene_set``, ``mechanism``, ``drug`` (normalised),
        ``marker_genes``, ``when_high`` (what a high set score means for this drug:
        ``resistance`` or ``sensitivity``), ``relation``, ``citations``.
    alterations
        One row per (alteration, drug): ``gene``, ``alteration``, ``effect``, ``drug``,
        ``mechanism``, ``evidence_level``, ``secondary`` (on-target secondary mutation),
        ``acquired`` (off-target acquired resistance), ``lineages`` (``;``-separated tissues
        the evidence is limited to, empty for all), ``citations``, ``source``, ``note``.
    drugs
        Drug -> targets -> pathway (``drug``, ``key``, ``targets``, ``pathway``, ``screens``,
        ``sources``, ``citations``; curated targeted drugs also ``approved`` and ``setting``).
    drug_classes
        Mapping class name -> member drug keys.
    """

    version: str
    mechanisms: pd.DataFrame
    gene_sets: pd.DataFrame
    drug_links: pd.DataFrame
    alterations: pd.DataFrame
    drugs: pd.DataFrame
    drug_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hallmark_links: pd.DataFrame = field(default_factory=pd.DataFrame)

    def gene_set_dict(self) -> dict[str, dict[str, list[str]]]:
        """``{gene_set: {"up": [...], "down": [...]}}`` for scoring."""
        out: dict[str, dict[str, list[str]]] = {}
        for (gs, sign), genes in self.gene_sets.groupby(["gene_set", "sign"], sort=False).gene:
            key = "up" if int(sign) > 0 else "down"  # type: ignore[call-overload]
            out.setdefault(str(gs), {"up": [], "down": []})[key] = list(genes)
        return out

    def with_alterations(self, extra: pd.DataFrame) -> KnowledgeBase:
        """A new base whose alterations also hold ``extra`` (e.g. imported CIViC evidence).

        ``acquired`` and ``lineages`` default to False / empty when ``extra`` lacks them.
        """
        cols = list(self.alterations.columns)
        extra = extra.copy()
        for c, default in _ALTERATION_DEFAULTS.items():
            if c not in extra.columns:
                extra[c] = pd.Series([default] * len(extra), index=extra.index, dtype=object)
        missing = [c for c in cols if c not in extra.columns]
        if missing:
            raise SchemaError(f"extra alterations miss columns {missing}; expected {cols}")
        merged = pd.concat([self.alterations, extra[cols]], ignore_index=True)
        return KnowledgeBase(
            self.version,
            self.mechanisms,
            self.gene_sets,
            self.drug_links,
            merged,
            self.drugs,
            self.drug_classes,
            self.hallmark_links,
        )

    def to_frame(self) -> pd.DataFrame:
        """Alterations table (the part most users query)."""
        return self.alterations.copy()

    def summary(self) -> str:
        """One line: version, mechanism classes, gene sets, alteration rows and drugs."""
        return (
            f"KnowledgeBase v{self.version}: {len(self.mechanisms)} mechanism classes, "
            f"{self.gene_sets.gene_set.nunique()} gene sets, {len(self.alterations)} "
            f"alteration-drug rows, {len(self.drugs)} drugs"
        )

    def expand_drugs(self, names: list[str]) -> list[str]:
        """Drug keys of a list of drug names and class names."""
        out: list[str] = []
        for n in names:
            key = str(n).strip().lower()
            out.extend(self.drug_classes.get(key, (norm_drug(key),)))
        return list(dict.fromkeys(out))


_ALTERATION_DEFAULTS: dict[str, Any] = {"acquired": False, "lineages": ""}
#: What a drug link's ``when_high`` may say.
WHEN_HIGH = ("resistance", "sensitivity")


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return list(x) if isinstance(x, list | tuple) else [x]


def _merge_curated_drugs(derived: pd.DataFrame, curated: dict[str, Any]) -> pd.DataFrame:
    """Drug table: the derived screen annotations with the curated targeted drugs merged in.

    A curated entry replaces the derived targets and pathway of the same drug (the screen
    annotations sometimes list a secondary target only) and adds its synonyms and citations;
    drugs that no screen holds are added with ``sources == ["curated"]``.
    """
    df = derived.copy()
    df.insert(1, "key", df.drug.map(norm_drug))
    df["approved"] = pd.array([pd.NA] * len(df), dtype="Int64")
    df["setting"] = ""
    pos = {k: i for i, k in enumerate(df.key)}
    rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]
    for d in curated.get("drugs", []):
        key = norm_drug(d["drug"])
        entry = {
            "targets": list(_as_list(d.get("targets"))),
            "pathway": str(d.get("pathway", "unclassified")),
            "approved": d.get("approved"),
            "setting": str(d.get("setting", "")),
        }
        if key in pos:
            r = rows[pos[key]]
            r.update(entry)
            r["synonyms"] = list(dict.fromkeys([*r["synonyms"], *_as_list(d.get("synonyms"))]))
            r["sources"] = list(dict.fromkeys([*r["sources"], "curated"]))
            r["citations"] = list(dict.fromkeys([*r["citations"], *_as_list(d.get("citations"))]))
        else:
            pos[key] = len(rows)
            rows.append(
                {
                    "drug": d["drug"],
                    "key": key,
                    "synonyms": list(_as_list(d.get("synonyms"))),
                    "pathway_inferred": False,
                    "screens": [],
                    "sources": ["curated"],
                    "citations": list(_as_list(d.get("citations"))),
                    **entry,
                }
            )
    out = pd.DataFrame(rows, columns=df.columns)
    out["approved"] = out["approved"].astype("Int64")
    return out


@functools.cache
def load_knowledge_base() -> KnowledgeBase:
    """Load the knowledge base shipped in the package.

    Examples
    --------
    >>> kb = load_knowledge_base()
    >>> "efflux" in set(kb.mechanisms.mechanism)
    True
    """
    mech = yaml.safe_load(_kb_text("mechanisms.yaml"))
    alts = yaml.safe_load(_kb_text("alterations.yaml"))
    drugs = json.loads(_kb_text("drugs.json"))
    classes = {str(k): tuple(norm_drug(d) for d in v) for k, v in mech["drug_classes"].items()}
    mechanisms = pd.DataFrame(
        [{"mechanism": k, "description": v} for k, v in mech["mechanism_classes"].items()]
    )
    gs_rows = []
    for gs in mech["gene_sets"]:
        for sign, key in ((1, "genes_up"), (-1, "genes_down")):
            for g in _as_list(gs.get(key)):
                gs_rows.append(
                    {
                        "gene_set": gs["id"],
                        "mechanism": gs["mechanism"],
                        "direction": gs["direction"],
                        "gene": g,
                        "sign": sign,
                        "citations": ";".join(_as_list(gs.get("citations"))),
                    }
                )
    gene_sets = pd.DataFrame(gs_rows)
    set_mech = dict(zip(gene_sets.gene_set, gene_sets.mechanism, strict=False))
    link_rows = []
    for link in mech["drug_links"]:
        names = _as_list(link.get("drugs"))
        for d in names:
            for key in classes.get(str(d).lower(), (norm_drug(d),)):
                link_rows.append(
                    {
                        "gene_set": link["gene_set"],
                        "mechanism": set_mech.get(link["gene_set"], ""),
                        "drug": key,
                        "drug_class": str(d),
                        "marker_genes": ";".join(_as_list(link.get("marker_genes"))),
                        "when_high": str(link.get("when_high", "")),
                        "relation": link.get("relation", ""),
                        "citations": ";".join(_as_list(link.get("citations"))),
                    }
                )
    alt_rows = []
    for a in alts["alterations"]:
        for d in _as_list(a.get("drugs")):
            for key in classes.get(str(d).lower(), (norm_drug(d),)):
                alt_rows.append(
                    {
                        "gene": a.get("gene"),
                        "alteration": str(a.get("alteration")),
                        "effect": a.get("effect"),
                        "drug": key,
                        "drug_class": str(d),
                        "mechanism": a.get("mechanism"),
                        "evidence_level": a.get("level"),
                        "secondary": bool(a.get("secondary", False)),
                        "acquired": bool(a.get("acquired", False)),
                        "lineages": ";".join(str(x).lower() for x in _as_list(a.get("lineages"))),
                        "citations": ";".join(_as_list(a.get("citations"))),
                        "source": "curated",
                        "note": a.get("note", ""),
                    }
                )
    drug_df = _merge_curated_drugs(
        pd.DataFrame(drugs["drugs"]), yaml.safe_load(_kb_text("targeted_drugs.yaml"))
    )
    hallmarks = pd.DataFrame(
        [
            {
                "hallmark": h["hallmark"],
                "mechanism": h["mechanism"],
                "citations": ";".join(_as_list(h.get("citations"))),
            }
            for h in mech.get("hallmark_links", [])
        ]
    )
    return KnowledgeBase(
        str(mech["version"]),
        mechanisms,
        gene_sets,
        pd.DataFrame(link_rows),
        pd.DataFrame(alt_rows),
        drug_df,
        classes,
        hallmarks,
    )


def validate_knowledge_base(
    kb: KnowledgeBase | None = None, *, genes: set[str] | frozenset[str] | None = None
) -> pd.DataFrame:
    """Schema check of the knowledge base; returns one row per problem (empty when valid).

    Checks: every gene set, drug link, alteration and hallmark link has a well-formed citation
    (``PMID:<digits>`` or ``DOI:10.x/...``); every gene is a known symbol; every mechanism is in
    :data:`MECHANISM_CLASSES`; evidence levels and effects come from their vocabularies; every
    alteration parses.

    Examples
    --------
    >>> validate_knowledge_base().empty
    True
    """
    from ._variants import parse_alteration

    kb = kb or load_knowledge_base()
    known = genes if genes is not None else gene_symbols()
    problems: list[dict[str, str]] = []

    def bad(table: str, item: str, problem: str) -> None:
        problems.append({"table": table, "item": item, "problem": problem})

    def check_cites(table: str, item: str, cites: str) -> None:
        parts = [c for c in str(cites).split(";") if c]
        if not parts:
            bad(table, item, "no citation")
        for c in parts:
            if not _CITATION.match(c):
                bad(table, item, f"malformed citation {c!r}")

    for m in kb.mechanisms.mechanism:
        if m not in MECHANISM_CLASSES:
            bad("mechanisms", m, "mechanism class not in the controlled vocabulary")
    for row in _rows(kb.gene_sets):
        item = f"{row.gene_set}/{row.gene}"
        if row.gene not in known:
            bad("gene_sets", item, f"unknown gene symbol; close: {suggest_genes(row.gene)}")
        if row.mechanism not in MECHANISM_CLASSES:
            bad("gene_sets", item, f"unknown mechanism {row.mechanism!r}")
        if row.direction not in ("up", "down"):
            bad("gene_sets", item, f"direction {row.direction!r} not up/down")
        check_cites("gene_sets", item, row.citations)
    for row in _rows(kb.drug_links):
        item = f"{row.gene_set}->{row.drug}"
        if row.gene_set not in set(kb.gene_sets.gene_set):
            bad("drug_links", item, "unknown gene set")
        for g in filter(None, str(row.marker_genes).split(";")):
            if g not in known:
                bad("drug_links", item, f"unknown marker gene {g}")
        if row.when_high not in WHEN_HIGH:
            bad("drug_links", item, f"when_high {row.when_high!r} not resistance/sensitivity")
        check_cites("drug_links", item, row.citations)
    for row in _rows(kb.alterations):
        item = f"{row.gene} {row.alteration} -> {row.drug}"
        if row.gene not in known:
            bad("alterations", item, f"unknown gene symbol; close: {suggest_genes(str(row.gene))}")
        if row.mechanism not in MECHANISM_CLASSES:
            bad("alterations", item, f"unknown mechanism {row.mechanism!r}")
        if row.effect not in ("resistance", "sensitivity"):
            bad("alterations", item, f"effect {row.effect!r} not resistance/sensitivity")
        if row.evidence_level not in EVIDENCE_LEVELS:
            bad("alterations", item, f"evidence level {row.evidence_level!r} not in A-E")
        try:
            parse_alteration(str(row.alteration), gene=str(row.gene), kb_entry=True)
        except InputError as exc:
            bad("alterations", item, f"alteration does not parse: {exc}")
        check_cites("alterations", item, row.citations)
    for row in _rows(kb.hallmark_links):
        if row.mechanism not in MECHANISM_CLASSES:
            bad("hallmark_links", row.hallmark, f"unknown mechanism {row.mechanism!r}")
        check_cites("hallmark_links", row.hallmark, row.citations)
    for row in _rows(kb.drugs):
        check_cites("drugs", str(row.drug), ";".join(row.citations))
        for g in row.targets:
            if g not in known:
                bad("drugs", str(row.drug), f"unknown target symbol {g}")
    return pd.DataFrame(problems, columns=["table", "item", "problem"])


def resolve_drug(name: str, kb: KnowledgeBase | None = None) -> str:
    """Normalised key of a drug name, class name or synonym; unknown names raise with suggestions.

    Examples
    --------
    >>> resolve_drug("Tarceva")
    'erlotinib'
    """
    kb = kb or load_knowledge_base()
    key = norm_drug(name)
    if not key:
        raise InputError("empty drug name; give a drug name such as 'erlotinib'")
    known = set(kb.drugs.key) | set(kb.alterations.drug) | set(kb.drug_links.drug)
    if key in known:
        return key
    for row in _rows(kb.drugs):
        if key in {norm_drug(s) for s in row.synonyms}:
            return str(row.key)
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.7)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InputError(
        f"unknown drug {name!r}.{hint} Known drugs are those of GDSC, CTRP, O'Neil and ALMANAC "
        "and of the curated alterations (see load_knowledge_base().drugs)."
    )
