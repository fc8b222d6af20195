"""Per-prediction feature attributions, aggregated to genes and resistance mechanisms.

- :class:`~oncoresist.predict.GlobalLightGBM`: exact TreeSHAP values (LightGBM
  ``pred_contrib``); the mean-effects offset (drug mean) is its own term.
- :class:`~oncoresist.predict.PerDrugElasticNet`: exact linear attributions
  ``coef_j * (x_j - mean_j) / sd_j`` on the selected, standardised features of the drug's model;
  the term ``baseline`` is the prediction at the training mean profile.

For every pair the attributions plus the baseline terms sum to the model's prediction (checked
in the tests), so "what drives this predicted resistance" is an exact decomposition, not a
heuristic. Attributions are in response units (e.g. ln IC50): positive = towards resistance when
lower responses mean sensitivity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError
from ._design import DRUG, DRUG_PREFIX, SAMPLE, check_design
from ._models import GlobalLightGBM, _PerDrug

__all__ = ["Attribution", "explain", "mechanism_gene_sets"]

#: Attribution columns that are not features.
BASE_TERMS = ("offset", "bias", "baseline")


def feature_gene(feature: str) -> str:
    """``"expression:EGFR"`` -> ``"EGFR"``; drug features -> ``"drug structure/target"``."""
    if feature.startswith(DRUG_PREFIX):
        return "drug structure/target"
    if feature in BASE_TERMS:
        return "baseline"
    return feature.split(":", 1)[1] if ":" in feature else feature


@dataclass(frozen=True)
class Attribution(ResultMixin):
    """Attributions of a model's predictions for a set of pairs.

    Attributes
    ----------
    values
        Pairs x terms: one column per feature plus the baseline term(s); rows sum to the
        prediction.
    pairs
        ``sample, drug`` of each row.
    prediction
        The model's predictions for the pairs.
    """

    values: pd.DataFrame
    pairs: pd.DataFrame
    prediction: np.ndarray

    def by_gene(self) -> pd.DataFrame:
        """Pairs x genes: the layers of a gene (expression, copy number, mutation) summed."""
        genes = [feature_gene(c) for c in self.values.columns]
        out = self.values.T.groupby(genes, sort=False).sum().T
        out.index = self.values.index
        return out

    def by_mechanism(self, gene_sets: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """Pairs x mechanisms: gene attributions summed over each gene set.

        ``gene_sets`` defaults to the resistance-mechanism classes of the
        :mod:`oncoresist.mechanisms` knowledge base (:func:`mechanism_gene_sets`).

        A gene in several sets counts in each; genes in no set go to ``"other genes"``, drug
        features to ``"drug structure/target"`` and baseline terms to ``"baseline"``, so rows
        still sum to the prediction when the sets are disjoint.
        """
        if gene_sets is None:
            gene_sets = mechanism_gene_sets()
        if not gene_sets:
            raise InputError("gene_sets is empty; give a mapping mechanism -> genes")
        g = self.by_gene()
        cols: dict[str, pd.Series] = {}
        used: set[str] = set()
        for mech, genes in gene_sets.items():
            present = [x for x in genes if x in g.columns]
            used.update(present)
            cols[mech] = g[present].sum(axis=1) if present else pd.Series(0.0, index=g.index)
        special = {"baseline", "drug structure/target"}
        other = [c for c in g.columns if c not in used and c not in special]
        cols["other genes"] = g[other].sum(axis=1)
        for s in sorted(special & set(g.columns)):
            cols[s] = g[s]
        return pd.DataFrame(cols)

    def top(self, n: int = 10, *, level: str = "gene") -> pd.DataFrame:
        """Long table of the ``n`` largest absolute attributions per pair.

        Columns ``sample, drug, term, contribution`` (``level`` ``"gene"`` or ``"feature"``).
        """
        tab = self.by_gene() if level == "gene" else self.values
        tab = tab.drop(columns=[c for c in ("baseline", *BASE_TERMS) if c in tab.columns])
        stacked: Any = tab.rename_axis(index="row", columns="term").stack()
        long = stacked.rename("contribution").reset_index()
        long["abs"] = long["contribution"].abs()
        long = long.sort_values(["row", "abs"], ascending=[True, False])
        long = long.groupby("row", sort=False).head(n).drop(columns="abs")
        ids = self.pairs.reset_index(drop=True)
        long[SAMPLE] = ids[SAMPLE].to_numpy()[long["row"].to_numpy()]
        long[DRUG] = ids[DRUG].to_numpy()[long["row"].to_numpy()]
        return long[[SAMPLE, DRUG, "term", "contribution"]].reset_index(drop=True)

    def importance(self, *, level: str = "gene") -> pd.Series:
        """Mean absolute attribution per gene (or feature) over all pairs, descending."""
        tab = self.by_gene() if level == "gene" else self.values
        tab = tab.drop(columns=[c for c in ("baseline", *BASE_TERMS) if c in tab.columns])
        return tab.abs().mean().sort_values(ascending=False)

    def to_frame(self) -> pd.DataFrame:
        """Pairs with their gene-level attributions (wide)."""
        return pd.concat(
            [self.pairs.reset_index(drop=True), self.by_gene().reset_index(drop=True)], axis=1
        )

    def summary(self) -> str:
        """One line: pairs, terms and the genes with the largest mean absolute attribution."""
        top = ", ".join(map(str, self.importance().head(3).index)) if len(self.values) else ""
        return (
            f"Attribution: {len(self.pairs)} pairs x {self.values.shape[1]} terms; "
            f"top genes {top or 'none'}"
        )


def mechanism_gene_sets() -> dict[str, list[str]]:
    """Resistance mechanism class -> genes, from the :mod:`oncoresist.mechanisms` knowledge base.

    Examples
    --------
    >>> sets = mechanism_gene_sets()
    >>> "ABCB1" in sets["efflux"]
    True
    """
    from ..mechanisms import load_knowledge_base

    gs = load_knowledge_base().gene_sets
    return {str(m): sorted(set(g["gene"])) for m, g in gs.groupby("mechanism", sort=True)}


def _linear_per_drug(model: _PerDrug, X: pd.DataFrame) -> pd.DataFrame:
    feats = list(model.feature_names_in_)
    F = X[feats].to_numpy(dtype=np.float64)
    out = np.zeros((len(X), len(feats)))
    base = np.zeros(len(X))
    for drug, idx in X.groupby(DRUG, sort=False).indices.items():
        if drug not in model.drug_means_:
            raise InputError(f"the model was not trained on drug {drug!r}")
        if drug not in model.models_:
            base[idx] = model.drug_means_[drug]
            continue
        pipe = model.models_[drug]
        imp, const, sel, scale, lin = (
            pipe.named_steps[k] for k in ("impute", "constant", "select", "scale", "model")
        )
        Z = imp.transform(F[idx])
        keep = np.flatnonzero(const.get_support())
        keep = keep[sel.get_support()]
        w = lin.coef_ / scale.scale_
        contrib = (Z[:, keep] - scale.mean_) * w
        out[np.ix_(idx, keep)] = contrib
        base[idx] = lin.intercept_ + 0.0
    vals = pd.DataFrame(out, columns=feats, index=X.index)
    vals["baseline"] = base
    return vals


def explain(model: object, X: pd.DataFrame) -> Attribution:
    """Exact per-pair attributions of a fitted model's predictions.

    Parameters
    ----------
    model
        A fitted :class:`~oncoresist.predict.GlobalLightGBM` or
        :class:`~oncoresist.predict.PerDrugElasticNet`.
    X
        Design table of the pairs to explain.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame, PerDrugElasticNet
    >>> panel, truth = make_response_panel(n_samples=120, n_drugs=2, rng=0)
    >>> X, y = pair_frame(panel)
    >>> att = explain(PerDrugElasticNet().fit(X, y), X)
    >>> bool(np.allclose(att.values.sum(axis=1), att.prediction))
    True
    """
    check_design(X)
    if isinstance(model, GlobalLightGBM):
        vals = model.contributions(X)
    elif isinstance(model, _PerDrug) and type(model).__name__ == "PerDrugElasticNet":
        vals = _linear_per_drug(model, X)
    else:
        raise InputError(
            f"no exact attribution method for {type(model).__name__}; explain supports "
            "GlobalLightGBM (TreeSHAP) and PerDrugElasticNet (linear)"
        )
    pred = np.asarray(model.predict(X), dtype=float)  # type: ignore[attr-defined]
    return Attribution(vals, X[[SAMPLE, DRUG]].copy(), pred)
