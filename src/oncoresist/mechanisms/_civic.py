"""CIViC import: predictive Resistance / Sensitivity evidence, normalised and merged with the KB."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._results import ResultMixin
from ..data import fetch_file
from ..errors import InputError, SchemaError
from ._build import norm_drug
from ._kb import EVIDENCE_LEVELS, KnowledgeBase, load_knowledge_base
from ._profile import _read_delimited
from ._variants import parse_alteration


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """Row tuples typed loosely (pandas-stubs types each field as a union)."""
    return df.itertuples()


__all__ = [
    "CIVIC_MIRROR",
    "CIVIC_URL",
    "CivicImport",
    "civic_summary",
    "fetch_civic_evidence",
    "read_civic_evidence",
]

#: Official nightly download and the archived mirror (griffithlab/civic-server data dumps).
CIVIC_URL = "https://civicdb.org/downloads/nightly/nightly-ClinicalEvidenceSummaries.tsv"
CIVIC_MIRROR = "https://github.com/griffithlab/civic-server/tree/master/public/downloads"
CIVIC_CITATION = "PMID:28138153"  # Griffith 2017 Nat Genet
_REQUIRED = [
    "gene",
    "variant",
    "drugs",
    "evidence_type",
    "clinical_significance",
    "evidence_level",
    "citation_id",
    "source_type",
    "evidence_id",
]
_SIGNIFICANCE = {
    "Resistance": "resistance",
    "Reduced Sensitivity": "resistance",
    "Sensitivity/Response": "sensitivity",
    "Sensitivity": "sensitivity",
}
# CIViC variant names that are states rather than protein changes.
_VARIANT_STATES = {
    "AMPLIFICATION": "amplification",
    "OVEREXPRESSION": "overexpression",
    "EXPRESSION": "overexpression",
    "UNDEREXPRESSION": "underexpression",
    "LOSS": "loss",
    "DELETION": "loss",
    "LOSS-OF-FUNCTION": "loss",
    "MUTATION": "mutation",
    "FRAMESHIFT TRUNCATION": "loss",
    "PROMOTER METHYLATION": "underexpression",
}
_MECHANISM_BY_STATE = {
    "fusion": "target_alteration",
    "amplification": "bypass_signalling",
    "overexpression": "bypass_signalling",
    "loss": "bypass_signalling",
    "underexpression": "dna_repair",
}


@dataclass(frozen=True)
class CivicImport(ResultMixin):
    """Imported CIViC evidence.

    ``evidence`` has the KB alteration columns (one row per evidence item and drug, with
    ``source`` = ``civic:EID<id>``); ``excluded`` lists every predictive item that could not
    be used, with ``reason``.
    """

    evidence: pd.DataFrame
    excluded: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The kept evidence items as a tidy table (one row per item, with provenance)."""
        return self.evidence.copy()

    def summary(self) -> str:
        """One line: evidence rows kept (resistance ones) and items excluded."""
        return (
            f"CivicImport: {len(self.evidence)} evidence rows "
            f"({(self.evidence.effect == 'resistance').sum()} resistance), "
            f"{len(self.excluded)} items excluded"
        )


def fetch_civic_evidence() -> Path:
    """Path to CIViC's clinical evidence summaries (mirror, cache, or the official nightly URL)."""
    return fetch_file("civic", "nightly-ClinicalEvidenceSummaries.tsv.gz")


def _normalise_variant(gene: str, variant: str) -> str:
    v = str(variant).strip()
    up = v.upper()
    if up in _VARIANT_STATES:
        return _VARIANT_STATES[up]
    if m := re.fullmatch(r"EXON (\d+) (DELETION|INSERTION|MUTATION)S?", up):
        return f"exon {m.group(1)} {m.group(2).lower()}"
    if re.fullmatch(rf"{re.escape(gene.upper())} (MUTATION|MUTANT)", up) or up in (
        "MUTANT",
        "MUTATIONS",
    ):
        return "mutation"
    return v


_SALTS = r"\s+(mesylate|dimesylate|hydrochloride|tosylate|ditosylate|maleate|dimaleate|sulfate|citrate|malate|s-malate|sodium|phosphate)$"


def _normalise_drug(name: str) -> str:
    """KB drug key of a CIViC drug name; salt forms map to the parent drug."""
    return norm_drug(re.sub(_SALTS, "", str(name).strip(), flags=re.IGNORECASE))


def read_civic_evidence(
    path: str | Path | None = None, *, kb: KnowledgeBase | None = None
) -> CivicImport:
    """Read CIViC clinical evidence summaries and keep predictive Resistance/Sensitivity items.

    Gene symbols are upper-cased, variants normalised to protein notation, fusions (``EML4-ALK``,
    ``ALK FUSION G1202R``, ``BCR-ABL T315I`` keep their fusion context), exon events or states
    (``AMPLIFICATION`` -> ``amplification``), drug names normalised to
    the KB drug keys. Items that are not accepted, have several drugs given in combination, or
    whose variant cannot be parsed go to ``excluded`` with the reason (nothing is dropped
    silently).

    Examples
    --------
    >>> civ = read_civic_evidence()  # doctest: +SKIP
    >>> civic_summary(civ).head()  # doctest: +SKIP
    """
    kb = kb or load_knowledge_base()
    p = Path(path) if path is not None else fetch_civic_evidence()
    if not p.is_file():
        raise InputError(f"CIViC evidence file {p} does not exist")
    # CIViC's TSV has no quoting: a stray double quote is text, never the start of a field
    # that swallows the next lines
    df = _read_delimited(
        p,
        sep="\t",
        what="CIViC evidence table",
        dtype=str,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
    )
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{p}: not a CIViC ClinicalEvidenceSummaries file; missing columns {missing} "
            f"(found {list(df.columns)[:12]}); download nightly-ClinicalEvidenceSummaries.tsv"
        )
    dup = sorted(
        {str(c) for c in df.columns if str(c).rsplit(".", 1)[0] in _REQUIRED} - set(_REQUIRED)
    )
    if dup:
        raise SchemaError(f"{p}: duplicated column(s) {dup}; keep one column of each name")
    # a row with fewer fields than the header reads as empty cells, not NaN floats
    df = df.fillna("")
    pred = df[(df.evidence_type == "Predictive")].copy()
    targets = {str(k): frozenset(t) for k, t in zip(kb.drugs.key, kb.drugs.targets, strict=True)}
    excluded: list[dict[str, str]] = []
    rows: list[dict[str, object]] = []
    for r in _rows(pred):
        eid = f"civic:EID{r.evidence_id}"
        effect = _SIGNIFICANCE.get(r.clinical_significance)
        status = getattr(r, "evidence_status", "accepted")

        def exclude(reason: str, r=r, eid=eid) -> None:
            excluded.append(
                {
                    "source": eid,
                    "gene": r.gene,
                    "variant": r.variant,
                    "drugs": r.drugs,
                    "reason": reason,
                }
            )

        if effect is None:
            exclude(f"clinical significance {r.clinical_significance!r}")
            continue
        if status and status != "accepted":
            exclude(f"evidence status {status}")
            continue
        if not r.drugs:
            exclude("no drug")
            continue
        if not str(r.gene).strip() or not str(r.evidence_id).strip():
            exclude("no gene or no evidence id")
            continue
        if getattr(r, "drug_interaction_type", "") == "Combination":
            exclude("drug combination")
            continue
        gene = str(r.gene).strip().upper()
        variant = _normalise_variant(gene, r.variant)
        try:
            alt = parse_alteration(variant, gene=gene, kb_entry=True)
        except InputError:
            exclude(
                "several alterations in one item (all must be present); not matched"
                if re.search(r"\s(and|\+)\s|^ex\d+ del \w", variant, re.IGNORECASE)
                else "variant not in protein notation, a fusion, an exon event or a known state"
            )
            continue
        level = r.evidence_level if r.evidence_level in EVIDENCE_LEVELS else "E"
        cite = (
            f"PMID:{r.citation_id}"
            if r.source_type == "PubMed" and r.citation_id.isdigit()
            else f"ASCO:{r.citation_id}"
        )
        for d in str(r.drugs).split(","):
            if not d.strip():
                continue
            key = _normalise_drug(d)
            # the drug's own target altered -> target alteration, whatever the kind
            mech = (
                "target_alteration"
                if alt.kind not in _MECHANISM_BY_STATE or gene in targets.get(key, ())
                else _MECHANISM_BY_STATE[alt.kind]
            )
            rows.append(
                {
                    "gene": gene,
                    "alteration": variant,
                    "effect": effect,
                    "drug": key,
                    "drug_class": d.strip(),
                    "mechanism": mech,
                    "evidence_level": level,
                    "secondary": False,
                    "acquired": False,
                    "lineages": "",
                    "citations": cite,
                    "source": eid,
                    "note": f"CIViC rating {getattr(r, 'rating', '')}; {getattr(r, 'disease', '')}",
                }
            )
    ev = pd.DataFrame(rows, columns=list(kb.alterations.columns))
    return CivicImport(
        ev, pd.DataFrame(excluded, columns=["source", "gene", "variant", "drugs", "reason"])
    )


def civic_summary(civic: CivicImport, *, effect: str = "resistance") -> pd.DataFrame:
    """Counts of imported evidence items by gene and drug (``n_items``, ``n_variants``, best level).

    Examples
    --------
    >>> civic_summary(read_civic_evidence()).iloc[0].gene  # doctest: +SKIP
    'EGFR'
    """
    ev = civic.evidence[civic.evidence.effect == effect]
    if ev.empty:
        return pd.DataFrame(columns=["gene", "drug", "n_items", "n_variants", "best_level"])
    g = ev.groupby(["gene", "drug"], as_index=False).agg(
        n_items=("source", "nunique"),
        n_variants=("alteration", "nunique"),
        best_level=("evidence_level", "min"),
    )
    return g.sort_values(["n_items", "gene"], ascending=[False, True], ignore_index=True)
