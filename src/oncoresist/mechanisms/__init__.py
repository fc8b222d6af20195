"""Mechanisms of drug resistance: knowledge base, CIViC import, profiles, scores, annotate().

Example
-------
>>> from oncoresist.mechanisms import annotate, make_profile
>>> annotate(make_profile(["EGFR L858R", "EGFR T790M"]), "erlotinib").call
'resistant'
"""

from __future__ import annotations

from ._annotate import CALLS, Annotation, annotate, mechanism_gain
from ._civic import (
    CIVIC_MIRROR,
    CIVIC_URL,
    CivicImport,
    civic_summary,
    fetch_civic_evidence,
    read_civic_evidence,
)
from ._demo import example_profile_path
from ._exons import exon_codon_range, exon_table, exons_of
from ._kb import (
    EVIDENCE_LEVELS,
    MECHANISM_CLASSES,
    KnowledgeBase,
    gene_symbols,
    load_knowledge_base,
    resolve_drug,
    suggest_genes,
    validate_knowledge_base,
)
from ._plots import plot_evidence_table, plot_mechanism_scores
from ._profile import Profile, make_profile, read_profile
from ._report import report_section
from ._scores import (
    ReferencePanel,
    detect_scale,
    fetch_gdsc_expression,
    fetch_gdsc_reference,
    fetch_hallmark_gene_sets,
    harmonise_expression,
    make_expression_panel,
    normalise_tissue,
    score_against_reference,
    singscore,
    ssgsea,
)
from ._variants import (
    EXON_CODONS,
    SPECIFICITY,
    Alteration,
    alteration_matches,
    match_rule,
    parse_alteration,
)

__all__ = [
    "CALLS",
    "CIVIC_MIRROR",
    "CIVIC_URL",
    "EVIDENCE_LEVELS",
    "EXON_CODONS",
    "MECHANISM_CLASSES",
    "SPECIFICITY",
    "Alteration",
    "Annotation",
    "CivicImport",
    "KnowledgeBase",
    "Profile",
    "ReferencePanel",
    "alteration_matches",
    "annotate",
    "civic_summary",
    "detect_scale",
    "example_profile_path",
    "exon_codon_range",
    "exon_table",
    "exons_of",
    "fetch_civic_evidence",
    "fetch_gdsc_expression",
    "fetch_gdsc_reference",
    "fetch_hallmark_gene_sets",
    "gene_symbols",
    "harmonise_expression",
    "load_knowledge_base",
    "make_expression_panel",
    "make_profile",
    "match_rule",
    "mechanism_gain",
    "normalise_tissue",
    "parse_alteration",
    "plot_evidence_table",
    "plot_mechanism_scores",
    "read_civic_evidence",
    "read_profile",
    "report_section",
    "resolve_drug",
    "score_against_reference",
    "singscore",
    "ssgsea",
    "suggest_genes",
    "validate_knowledge_base",
]
