"""Strategy: ranked ways to overcome a resistance, each with the evidence behind it (issue 15).

Sources, each tested on its own against outside references:

- :func:`rank_next_drugs`: the next drug and combination partners for a resistant profile from
  the knowledge base (and CIViC), with a documented, user-adjustable score and an evidence
  trail per row (:class:`StrategyTable`).
- :func:`selective_dependencies`: genes whose knockout is selectively lethal in lines that share
  the resistance features (DepMap CRISPR gene effect), with :func:`resistance_like_lines` to pick
  them and :func:`permutation_check` to calibrate the FDR on the real lines.
- :func:`connectivity_scores`: transcriptional connectivity (Lamb 2006 and the weighted score of
  Subramanian 2017) of a resistance signature against the LINCS L1000 consensus signatures, for
  repurposing by signature reversal.
- :func:`evaluate_synergy_prediction` / :func:`fit_synergy_predictor`: synergy of untested
  pairs from drug structure and cell-line expression (O'Neil, NCI-ALMANAC), evaluated
  leave-pair / drug / cell-line out against naive baselines.
- :func:`panel_associations` / :func:`forecast_response`: GDSC / CTRP associations of the
  resistance genes with drug response, and the prediction module's forecast for the profile.
- :func:`panel_synergy` / :func:`predicted_synergy`: measured synergy of the drug with each
  partner in O'Neil and NCI-ALMANAC (in lines of the lineage), and the synergy model's
  prediction for pairs never measured there.

:func:`suggest_strategies` joins them with the user's own synergy and CRISPR results into one
ranking (:class:`Strategies`: rows of every kind with their evidence, what could not be
assessed, and a schedule comparison of the top candidates); ``oncoresist strategy`` runs it.
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
from ._next_drug import (
    StrategyTable,
    StrategyWeights,
    load_alternative_rules,
    load_partner_rules,
    rank_next_drugs,
)
from ._panel_response import forecast_response, panel_associations
from ._panel_synergy import (
    panel_synergy,
    predicted_synergy,
    synergy_drug_key,
    synergy_line_lineages,
)
from ._report import plot_strategy_scores, report_section
from ._strategy import (
    SCHEDULE_PARAMS,
    SOURCE_WEIGHTS,
    Strategies,
    compare_strategy_schedules,
    suggest_strategies,
)
from ._synergy_predict import (
    SynergyData,
    SynergyPredictionEvaluation,
    SynergyPredictor,
    evaluate_synergy_prediction,
    fit_synergy_predictor,
    load_synergy_data,
)

__all__ = [
    "DEPENDENCY_THRESHOLD",
    "SCHEDULE_PARAMS",
    "SOURCE_WEIGHTS",
    "ConnectivityResult",
    "DependencyResult",
    "LineSelection",
    "PermutationCheck",
    "QuerySignature",
    "Strategies",
    "StrategyTable",
    "StrategyWeights",
    "SynergyData",
    "SynergyPredictionEvaluation",
    "SynergyPredictor",
    "compare_strategy_schedules",
    "connectivity_matrix",
    "connectivity_scores",
    "evaluate_synergy_prediction",
    "fit_synergy_predictor",
    "forecast_response",
    "lincs_compounds",
    "load_alternative_rules",
    "load_lincs_signatures",
    "load_partner_rules",
    "load_synergy_data",
    "panel_associations",
    "panel_synergy",
    "permutation_check",
    "plot_strategy_scores",
    "predicted_synergy",
    "rank_next_drugs",
    "report_section",
    "resistance_like_lines",
    "selective_dependencies",
    "signature_from_profile",
    "suggest_strategies",
    "synergy_drug_key",
    "synergy_line_lineages",
]
