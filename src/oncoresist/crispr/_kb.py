"""Join CRISPR hits to the mechanism knowledge base: is a hit a drug target, which drugs, which
resistance mechanism does the gene belong to, and which curated alterations of it are known."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ._result import CrisprResult

__all__ = ["join_knowledge_base"]


def _join(values: Iterable[Any]) -> str:
    return "; ".join(dict.fromkeys(str(v) for v in values if str(v)))


def join_knowledge_base(
    hits: CrisprResult | pd.DataFrame | Iterable[str], *, kb: Any = None
) -> pd.DataFrame:
    """Knowledge-base facts of every gene in ``hits`` (a result, a gene table or gene names).

    Returns one row per gene (the input's order, gene table columns kept) with ``drugs``
    (drugs whose curated or screen-annotated targets include the gene), ``n_drugs``,
    ``mechanisms`` and ``gene_sets`` (resistance-mechanism gene sets holding it, with their
    direction), and ``alterations`` (curated alteration -> effect -> drug items of the gene).
    Genes the base does not know get empty strings and ``n_drugs`` 0; none is dropped.

    >>> t = join_knowledge_base(["PARP1", "NOTAGENE"])
    >>> "Olaparib" in t.loc["PARP1", "drugs"], int(t.loc["NOTAGENE", "n_drugs"])
    (True, 0)
    """
    from ..mechanisms._kb import load_knowledge_base

    base = kb if kb is not None else load_knowledge_base()
    if isinstance(hits, CrisprResult):
        table = hits.genes.copy()
    elif isinstance(hits, pd.DataFrame):
        table = hits.copy()
    else:
        table = pd.DataFrame(index=pd.Index([str(g) for g in hits], name="gene"))
    genes = table.index.astype(str)
    targets = base.drugs[["drug", "targets"]].explode("targets").dropna(subset=["targets"])
    by_gene = targets.groupby("targets")["drug"].agg(lambda d: sorted(set(map(str, d))))
    sets: dict[str, tuple[str, str]] = {
        str(gene): (
            _join(d["mechanism"]),
            _join(f"{a} ({b})" for a, b in zip(d["gene_set"], d["direction"], strict=True)),
        )
        for gene, d in base.gene_sets.groupby("gene", sort=False)
    }
    alts: dict[str, str] = {
        str(gene): _join(
            f"{a} -> {e} to {dr}"
            for a, e, dr in zip(d["alteration"], d["effect"], d["drug"], strict=True)
        )
        for gene, d in base.alterations.groupby("gene", sort=False)
    }
    drugs = [by_gene.get(g, []) for g in genes]
    table["drugs"] = ["; ".join(d) for d in drugs]
    table["n_drugs"] = [len(d) for d in drugs]
    table["mechanisms"] = [sets.get(g, ("", ""))[0] for g in genes]
    table["gene_sets"] = [sets.get(g, ("", ""))[1] for g in genes]
    table["alterations"] = [alts.get(g, "") for g in genes]
    return table
