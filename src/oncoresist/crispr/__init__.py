"""CRISPR screens: from read counts to ranked genes.

Pooled knockout screens under drug find the genes whose loss causes resistance (suppressors) or
restores sensitivity (sensitisers, synthetic lethals). The data object is
:class:`oncoresist.data.CrisprScreen` (read with :func:`oncoresist.data.read_crispr_counts`);
the statistics are implemented from their papers: MAGeCK RRA and MLE (Li et al. 2014, 2015),
DrugZ (Colic et al. 2019) and BAGEL-style Bayes factors (Hart & Moffat 2016). Every statistic
returns a :class:`CrisprResult`.
"""

from __future__ import annotations

from ._bagel import bagel_bf
from ._drugz import drugz
from ._kb import join_knowledge_base
from ._mle import mageck_mle
from ._normalise import NORMALISATIONS, normalise_counts
from ._plot import plot_gene_guides, plot_qc, plot_rank, plot_volcano
from ._qc import QC_THRESHOLDS, CrisprQC, crispr_qc, gini_index
from ._report import report_section
from ._result import CrisprResult
from ._rra import mageck_rra
from ._simulate import simulate_crispr_screen

__all__ = [
    "NORMALISATIONS",
    "QC_THRESHOLDS",
    "CrisprQC",
    "CrisprResult",
    "bagel_bf",
    "crispr_qc",
    "drugz",
    "gini_index",
    "join_knowledge_base",
    "mageck_mle",
    "mageck_rra",
    "normalise_counts",
    "plot_gene_guides",
    "plot_qc",
    "plot_rank",
    "plot_volcano",
    "report_section",
    "simulate_crispr_screen",
]
