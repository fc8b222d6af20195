"""Strategy: ranked ways to overcome a resistance, each with the evidence behind it (issue 15).

Built so far, each tested on its own against outside references:

- :func:`rank_next_drugs`: the next drug and combination partners for a resistant profile from
  the knowledge base (and CIViC), with a documented, user-adjustable score and an evidence
  trail per row (:class:`StrategyTable`).
- :func:`selective_dependencies`: genes whose knockout is selectively lethal in lines that share
  the resistance features (DepMap CRISPR gene effect), with :func:`resistance_like_lines` to pick
  them and :func:`permutation_check` to calibrate the FDR on the real lines.
- :func:`connectivity_scores`: transcriptional connectivity (Lamb 2006 and the weighted score of
  Subramanian 2017) of a resistance signature against the LINCS L1000 consensus signatures, for
  repurposing by signature reversal.

The ranking that joins them (with the user's own screens), its CLI and report come next.
"""

from __future__ import annotations

from ._connectivity import (
    ConnectivityResult,
    QuerySignature,
    connectivity_matrix,
    connectivity_scores,
    lincs_compounds,
    load_lincs_signatures,
    signature_from_profile,
)
from ._dependencies import (
    DEPENDENCY_THRESHOLD,
    DependencyResult,
    LineSelection,
    PermutationCheck,
    permutation_check,
    resistance_like_lines,
    selective_dependencies,
)
from ._next_drug import StrategyTable, StrategyWeights, load_partner_rules, rank_next_drugs

__all__ = [
    "DEPENDENCY_THRESHOLD",
    "ConnectivityResult",
    "DependencyResult",
    "LineSelection",
    "PermutationCheck",
    "QuerySignature",
    "StrategyTable",
    "StrategyWeights",
    "connectivity_matrix",
    "connectivity_scores",
    "lincs_compounds",
    "load_lincs_signatures",
    "load_partner_rules",
    "permutation_check",
    "rank_next_drugs",
    "resistance_like_lines",
    "selective_dependencies",
    "signature_from_profile",
]
