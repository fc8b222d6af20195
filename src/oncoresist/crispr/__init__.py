"""CRISPR screens: from read counts to ranked genes (issue 14).

Pooled knockout screens under drug find the genes whose loss causes resistance (suppressors) or
restores sensitivity (sensitisers, synthetic lethals). The statistics are implemented from their
papers: MAGeCK RRA and MLE (Li et al. 2014, 2015), DrugZ (Colic et al. 2019) and BAGEL-style
Bayes factors (Hart & Moffat 2016).
"""

from __future__ import annotations

from ._kb import join_knowledge_base
from ._plot import plot_gene_guides, plot_qc, plot_rank, plot_volcano
from ._result import CrisprResult

__all__ = [
    "CrisprResult",
    "join_knowledge_base",
    "plot_gene_guides",
    "plot_qc",
    "plot_rank",
    "plot_volcano",
]
