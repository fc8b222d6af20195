"""Biomarkers of drug response in pharmacogenomic panels.

GDSC-style ANOVA of drug x binary features (:func:`anova_associations`), partial correlation of
continuous features (:func:`linear_associations`), elastic-net signatures with stability
selection (:func:`elastic_net_signatures`), moderated t-tests of resistant vs sensitive samples
(:func:`moderated_ttest`, :func:`differential_features`), plots and a report section.
"""

from __future__ import annotations

from ._limma import differential_features, fit_f_prior, moderated_ttest
from ._linear import AssociationResult, anova_associations, linear_associations
from ._plots import association_boxplot, association_heatmap, volcano_plot
from ._report import report_section, top_biomarkers
from ._signature import elastic_net_signatures

__all__ = [
    "AssociationResult",
    "anova_associations",
    "association_boxplot",
    "association_heatmap",
    "differential_features",
    "elastic_net_signatures",
    "fit_f_prior",
    "linear_associations",
    "moderated_ttest",
    "report_section",
    "top_biomarkers",
    "volcano_plot",
]
