"""Report section of a CRISPR screen analysis: QC, then per statistic the hits with their
knowledge-base facts, a rank plot, a volcano and the guides of the top genes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import InputError
from ._plot import plot_gene_guides, plot_qc, plot_rank, plot_volcano, score_columns
from ._result import CrisprResult

__all__ = ["report_section"]

_METHOD_TEXT = {
    "drugz": "DrugZ (Colic et al. 2019): negative normZ = sensitiser (the knockout is depleted "
    "under drug relative to the control arm), positive = suppressor (resistance when lost)",
    "rra": "MAGeCK RRA (Li et al. 2014): robust rank aggregation of guide p-values per tail",
    "mle": "MAGeCK MLE (Li et al. 2015): negative-binomial GLM, one beta per condition",
    "bagel": "BAGEL-style Bayes factors (Hart & Moffat 2016): positive = essential",
}


def _hits(result: CrisprResult, fdr: float) -> pd.DataFrame:
    """Genes below ``fdr`` in any FDR column, most significant first."""
    g = result.genes
    cols = [c for c in g.columns if c.endswith("fdr") or c.startswith("fdr")]
    if not cols:
        return g.iloc[:0]
    q = g[cols].min(axis=1)
    return g[q < fdr].assign(min_fdr=q[q < fdr]).sort_values("min_fdr")


def report_section(
    results: Sequence[CrisprResult],
    *,
    qc: Any = None,
    title: str = "CRISPR screen",
    fdr: float = 0.1,
    top: int = 20,
    kb_join: bool = True,
    intro: str = "",
) -> Any:
    """A :class:`oncoresist.report.Section` with the QC and each statistic's hits and plots.

    ``results`` are :class:`CrisprResult` objects (DrugZ, RRA, MLE, BAGEL); ``qc`` the result
    of :func:`oncoresist.crispr.crispr_qc`. Hits (``FDR < fdr`` in any tail) are listed in
    full behind the table filter, joined to the knowledge base when ``kb_join``.
    """
    from ..report import Section

    figs: list[Any] = []
    tables: list[tuple[str, pd.DataFrame]] = []
    parts = [intro]
    if qc is not None:
        figs.append(plot_qc(qc))
        flags = list(getattr(qc, "flags", ()) or ())
        parts.append(
            "<p>QC flags: " + "; ".join(map(str, flags)) + ".</p>"
            if flags
            else "<p>No QC flag was raised.</p>"
        )
        for name in ("samples", "replicates", "separation"):
            t = getattr(qc, name, None)
            if isinstance(t, pd.DataFrame) and not t.empty:
                tables.append((f"QC: {name}", t.reset_index().round(4)))
    for r in results:
        hits = _hits(r, fdr)
        comp = ", ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                         for k, v in r.comparison.items())  # fmt: skip
        parts.append(
            f"<p><b>{r.method.upper()}</b>: {_METHOD_TEXT.get(r.method, r.method)}. "
            f"{len(r.genes)} genes, {len(r.guides)} guides ({comp}); {len(hits)} gene(s) at "
            f"FDR &lt; {fdr:g}.</p>" + "".join(f"<p>Note: {n}</p>" for n in r.notes)
        )
        shown = hits if len(hits) else r.genes.head(top)
        if kb_join:
            from ._kb import join_knowledge_base

            shown = join_knowledge_base(shown)
        caption = (
            f"{r.method.upper()} hits at FDR < {fdr:g} with knowledge-base facts"
            if len(hits)
            else f"{r.method.upper()}: no gene at FDR < {fdr:g}; the first {top} genes"
        )
        tables.append((caption, shown.reset_index().round(4)))
        try:
            score_columns(r)
        except InputError:  # a result without effect/FDR columns gets its table only
            continue
        figs.append(plot_rank(r, fdr=fdr))
        figs.append(plot_volcano(r, fdr=fdr))
        if not r.guides.empty and "gene" in r.guides:
            for gene in list(hits.index[:3]):
                figs.append(plot_gene_guides(r, str(gene)))
    return Section(title, text="".join(parts), figures=figs, tables=tables)
