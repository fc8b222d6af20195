"""One result type for every gene-level CRISPR statistic (RRA, MLE, DrugZ, Bayes factors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._results import ResultMixin

__all__ = ["CrisprResult"]


@dataclass(frozen=True, eq=False)
class CrisprResult(ResultMixin):
    """Gene-level (and guide-level) results of one CRISPR screen statistic.

    Attributes
    ----------
    method
        ``"rra"``, ``"mle"``, ``"drugz"`` or ``"bagel"``.
    genes
        One row per gene, index ``gene``; columns are the method's own, in snake_case with the
        tail as prefix where a method has two tails (``neg_score``, ``neg_pvalue``, ``neg_fdr``,
        ``pos_score`` ..., DrugZ ``norm_z``, ``pval_synth``, ``fdr_synth``, ``pval_supp``,
        ``fdr_supp``). Sorted as the method's own output is (most significant first).
    guides
        One row per guide, index ``guide``: ``gene``, the guide's fold change and statistic.
    comparison
        What was compared with what: ``{"control": [...], "treatment": [...], ...}``.
    params
        Every setting that changes the numbers (normalisation, pseudocount, alpha cut-off,
        permutation rounds, seed), so a run can be repeated.
    notes
        What was flagged, excluded or adjusted, in words (never silent).
    """

    method: str
    genes: pd.DataFrame
    guides: pd.DataFrame
    comparison: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The gene table (a copy) with ``gene`` as a column: the main tidy result."""
        return self.genes.reset_index()

    def counts(self) -> dict[str, Any]:
        """Counts a reader checks first: genes, guides, and hits at FDR < 0.1 per FDR column."""
        out: dict[str, Any] = {
            "method": self.method,
            "n_genes": len(self.genes),
            "n_guides": len(self.guides),
        }
        for col in self.genes.columns:
            if col.endswith("fdr") or col.startswith("fdr"):
                out[f"n_{col}_below_0.1"] = int((self.genes[col] < 0.1).sum())
        return out

    def top(self, n: int = 20, *, by: str | None = None, ascending: bool = True) -> pd.DataFrame:
        """The first ``n`` genes, by ``by`` if given, else in the method's own order."""
        g = self.genes if by is None else self.genes.sort_values(by, ascending=ascending)
        return g.head(n)

    def summary(self) -> str:
        """One line: method, genes, guides and hits at FDR < 0.1 (see :meth:`counts`)."""
        s = self.counts()
        hits = ", ".join(f"{k[2:-10]} {v}" for k, v in s.items() if k.endswith("_below_0.1"))
        return (
            f"CrisprResult ({self.method}): {s['n_genes']} genes, {s['n_guides']} guides; "
            f"hits at FDR < 0.1: {hits or 'n/a'}"
        )

    def __repr__(self) -> str:
        return f"CrisprResult({self.method}, {len(self.genes)} genes, {len(self.guides)} guides)"
