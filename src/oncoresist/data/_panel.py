"""``Panel``: a samples x drugs response matrix with aligned omics layers and annotations.

A pharmacogenomic panel (GDSC, CCLE/CTRP, DepMap) is one response matrix (IC50, AUC or any
metric, missing values allowed) plus sample x feature matrices ("layers": binary mutation, copy
number, expression...), sample annotations (tissue, MSI, growth medium) and drug annotations
(name, targets, pathway, SMILES). The object is validated once, at construction; every layer and
annotation table is re-indexed onto the samples of the response matrix and what did not match is
recorded in :attr:`Panel.alignment` (never dropped silently).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError
from ._anndata import panel_from_anndata, panel_to_anndata

__all__ = ["LAYER_KINDS", "Panel", "make_panel"]

#: Kinds of omics layers: ``binary`` (0/1 events), ``continuous`` (expression, copy number...).
LAYER_KINDS = ("binary", "continuous")

_SHOW = 10


def _as_list(ids: Iterable[Any], limit: int = _SHOW) -> str:
    ids = list(ids)
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def _check_unique(index: pd.Index, what: str) -> None:
    if index.hasnans:
        raise InputError(f"{what} has missing identifiers; give every row an identifier")
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise InputError(
            f"{what} has {len(dup)} duplicated identifier(s): {_as_list(dup)}. "
            "Aggregate replicates first (e.g. df.groupby(level=0).mean()) or rename them."
        )


def _numeric(df: pd.DataFrame, what: str) -> pd.DataFrame:
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise InputError(
            f"{what}: column(s) {_as_list(bad)} are not numeric; convert them "
            "(pd.to_numeric) or move text columns to the annotations"
        )
    return df.astype(float)


@dataclass(frozen=True, repr=False)
class Panel(ResultMixin):
    """Samples x drugs responses with aligned omics layers and annotations.

    Parameters
    ----------
    responses
        DataFrame, samples (index) x drugs (columns), numeric; NaN = not measured.
    layers
        Mapping of layer name to a samples x features DataFrame. Rows are matched to the
        response samples by identifier; samples absent from a layer get NaN rows and layer rows
        without responses are dropped; both are listed in :attr:`alignment`.
    layer_kinds
        Mapping of layer name to ``"binary"`` or ``"continuous"``. Defaults: a layer whose values
        are all in {0, 1} is binary, other layers continuous. A layer declared binary with other
        values is an error naming the columns.
    sample_annotations
        Samples x columns (e.g. ``tissue``, ``msi``, ``medium``), aligned like the layers.
    drug_annotations
        Drugs x columns (e.g. ``drug_name``, ``target``, ``pathway``, ``smiles``).
    metric
        Name of the response metric, e.g. ``"ln_ic50"`` or ``"auc"``.
    lower_is_sensitive
        Direction of the metric: True for IC50 (a low IC50 is a sensitive line), False for
        activity-area style metrics where a high value means sensitive.
    name
        Short name of the panel, used in reports.
    notes
        What the loader did to the source data that a user should know (screens kept apart or
        averaged, annotations that could not be matched); shown in ``repr`` and in
        :meth:`alignment_summary`, kept by :meth:`subset`, :meth:`rename_samples` and
        :meth:`join`.

    Examples
    --------
    >>> import pandas as pd
    >>> resp = pd.DataFrame({"d1": [0.1, 1.2, 2.0]}, index=["a", "b", "c"])
    >>> mut = pd.DataFrame({"TP53_mut": [0, 1, 1]}, index=["a", "b", "c"])
    >>> p = Panel(resp, {"mutation": mut}, metric="ln_ic50")
    >>> p.shape
    (3, 1)
    """

    responses: pd.DataFrame
    layers: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    layer_kinds: Mapping[str, str] = field(default_factory=dict)
    sample_annotations: pd.DataFrame | None = None
    drug_annotations: pd.DataFrame | None = None
    metric: str = "response"
    lower_is_sensitive: bool = True
    name: str = "panel"
    notes: tuple[str, ...] = ()
    alignment: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        resp = self.responses
        if not isinstance(resp, pd.DataFrame):
            raise InputError(
                f"responses must be a pandas DataFrame (samples x drugs), got {type(resp).__name__}"
            )
        resp = resp.copy()
        _check_unique(resp.index, "responses (sample index)")
        _check_unique(resp.columns, "responses (drug columns)")
        resp = _numeric(resp, "responses")
        if resp.shape[0] == 0 or resp.shape[1] == 0:
            raise InputError(
                f"responses is empty ({resp.shape[0]} samples x {resp.shape[1]} drugs)"
            )
        samples = resp.index
        rows: list[dict[str, Any]] = []
        layers: dict[str, pd.DataFrame] = {}
        kinds: dict[str, str] = {}
        unknown = set(self.layer_kinds) - set(self.layers)
        if unknown:
            raise InputError(
                f"layer_kinds names layer(s) {_as_list(sorted(unknown))} that are not in layers "
                f"({_as_list(list(self.layers))})"
            )
        for lname, layer in self.layers.items():
            if not isinstance(layer, pd.DataFrame):
                raise InputError(f"layer {lname!r} must be a DataFrame, got {type(layer).__name__}")
            _check_unique(layer.index, f"layer {lname!r} (sample index)")
            _check_unique(layer.columns, f"layer {lname!r} (feature columns)")
            layer = _numeric(layer, f"layer {lname!r}")
            kind = self.layer_kinds.get(lname)
            values = layer.to_numpy()
            finite = values[~np.isnan(values)]
            is01 = bool(np.isin(finite, (0.0, 1.0)).all())
            if kind is None:
                kind = "binary" if is01 and finite.size else "continuous"
            if kind not in LAYER_KINDS:
                raise InputError(f"layer {lname!r}: kind {kind!r} is not one of {LAYER_KINDS}")
            if kind == "binary" and not is01:
                badcols = layer.columns[~(layer.isin([0, 1]) | layer.isna()).all(axis=0).to_numpy()]
                examples = np.unique(finite[~np.isin(finite, (0.0, 1.0))])[:5]
                raise InputError(
                    f"layer {lname!r} is binary but {len(badcols)} column(s) hold values other "
                    f"than 0/1/NaN (e.g. {examples.tolist()}): {_as_list(badcols)}. Binarise them "
                    "(e.g. (cn >= 2).astype(int)) or declare the layer 'continuous'."
                )
            rows.append(_match_row(lname, samples, layer.index))
            layers[lname] = layer.reindex(samples)
            kinds[lname] = kind
        sann = self.sample_annotations
        if sann is not None:
            _check_unique(sann.index, "sample_annotations (index)")
            rows.append(_match_row("sample_annotations", samples, sann.index))
            sann = sann.reindex(samples)
        dann = self.drug_annotations
        if dann is not None:
            _check_unique(dann.index, "drug_annotations (index)")
            rows.append(_match_row("drug_annotations", resp.columns, dann.index))
            dann = dann.reindex(resp.columns)
        object.__setattr__(self, "responses", resp)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "layer_kinds", kinds)
        object.__setattr__(self, "sample_annotations", sann)
        object.__setattr__(self, "drug_annotations", dann)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        object.__setattr__(
            self,
            "alignment",
            pd.DataFrame(
                rows,
                columns=[
                    "table",
                    "n_matched",
                    "n_missing",
                    "n_extra",
                    "missing",
                    "extra",
                ],
            ),
        )

    # ------------------------------------------------------------------ properties
    @property
    def samples(self) -> pd.Index:
        """Sample identifiers (rows of the responses)."""
        return self.responses.index

    @property
    def drugs(self) -> pd.Index:
        """Drug identifiers (columns of the responses)."""
        return self.responses.columns

    @property
    def shape(self) -> tuple[int, int]:
        """(number of samples, number of drugs)."""
        return self.responses.shape

    def layer(self, name: str) -> pd.DataFrame:
        """The layer ``name`` (samples x features), with a helpful error when unknown."""
        if name not in self.layers:
            raise InputError(
                f"panel {self.name!r} has no layer {name!r}; layers: {_as_list(list(self.layers))}"
            )
        return self.layers[name]

    def annotation(self, column: str) -> pd.Series:
        """One sample annotation column (e.g. ``"tissue"``)."""
        if self.sample_annotations is None or column not in self.sample_annotations:
            have = [] if self.sample_annotations is None else list(self.sample_annotations)
            raise InputError(
                f"panel {self.name!r} has no sample annotation {column!r}; have: {_as_list(have)}"
            )
        return self.sample_annotations[column]

    def alignment_summary(self) -> str:
        """One line per table: how many identifiers matched, which did not."""
        lines = []
        for r in self.alignment.itertuples(index=False):
            lines.append(
                f"{r.table}: {r.n_matched} matched, {r.n_missing} without a row"
                + (f" ({_as_list(r.missing)})" if r.n_missing else "")  # type: ignore[arg-type]
                + f", {r.n_extra} extra dropped"
                + (f" ({_as_list(r.extra)})" if r.n_extra else "")  # type: ignore[arg-type]
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    # ------------------------------------------------------------------ operations
    def subset(
        self,
        *,
        samples: Sequence[Any] | pd.Index | np.ndarray | None = None,
        drugs: Sequence[Any] | pd.Index | np.ndarray | None = None,
        features: Mapping[str, Sequence[Any]] | None = None,
    ) -> Panel:
        """A new panel restricted to ``samples`` / ``drugs`` (identifiers or a boolean mask).

        Unknown identifiers raise an :class:`~oncoresist.errors.InputError` listing them.
        ``features`` maps layer names to the feature columns to keep.

        Examples
        --------
        >>> p2 = p.subset(drugs=["d1"])  # doctest: +SKIP
        """
        s_idx = self._select(self.samples, samples, "sample")
        d_idx = self._select(self.drugs, drugs, "drug")
        layers = {}
        for k, v in self.layers.items():
            cols = v.columns
            if features is not None and k in features:
                cols = self._select(v.columns, features[k], f"feature of layer {k!r}")
            layers[k] = v.loc[s_idx, cols]
        return Panel(
            self.responses.loc[s_idx, d_idx],
            layers,
            layer_kinds=dict(self.layer_kinds),
            sample_annotations=None
            if self.sample_annotations is None
            else self.sample_annotations.loc[s_idx],
            drug_annotations=None
            if self.drug_annotations is None
            else self.drug_annotations.loc[d_idx],
            metric=self.metric,
            lower_is_sensitive=self.lower_is_sensitive,
            name=self.name,
            notes=self.notes,
        )

    @staticmethod
    def _select(index: pd.Index, which: Any, what: str) -> pd.Index:
        if which is None:
            return index
        arr = np.asarray(which)
        if arr.dtype == bool:
            if arr.shape != (len(index),):
                raise InputError(
                    f"boolean {what} mask has length {arr.size}, expected {len(index)}"
                )
            return index[arr]
        wanted = pd.Index(list(which))
        missing = wanted.difference(index)
        if len(missing):
            raise InputError(f"{len(missing)} unknown {what} identifier(s): {_as_list(missing)}")
        return wanted

    def rename_samples(self, mapping: Mapping[Any, Any] | pd.Series) -> Panel:
        """Relabel samples (e.g. COSMIC id -> DepMap id); unmapped samples are an error."""
        mapping = pd.Series(mapping) if not isinstance(mapping, pd.Series) else mapping
        new = pd.Index(self.samples.map(lambda s: mapping.get(s, np.nan)))
        if new.hasnans:
            missing = self.samples[new.isna()]
            raise InputError(
                f"{len(missing)} sample(s) have no mapping: {_as_list(missing)}; subset them away "
                "first (panel.subset(samples=...)) or complete the mapping"
            )

        def relabel(df: pd.DataFrame) -> pd.DataFrame:
            out = df.copy()
            out.index = new
            return out

        return Panel(
            relabel(self.responses),
            {k: relabel(v) for k, v in self.layers.items()},
            layer_kinds=dict(self.layer_kinds),
            sample_annotations=None
            if self.sample_annotations is None
            else relabel(self.sample_annotations),
            drug_annotations=self.drug_annotations,
            metric=self.metric,
            lower_is_sensitive=self.lower_is_sensitive,
            name=self.name,
            notes=self.notes,
        )

    def join(self, other: Panel, *, how: Literal["inner", "outer"] = "inner") -> Panel:
        """Join two panels on sample identifiers: drugs and layers side by side.

        Drugs or layers present in both panels are suffixed with the panel names. The metrics
        must agree (joining IC50 with AUC would mix scales).
        """
        if other.metric != self.metric or other.lower_is_sensitive != self.lower_is_sensitive:
            raise InputError(
                f"cannot join panel {self.name!r} ({self.metric}) with {other.name!r} "
                f"({other.metric}): the response metrics differ"
            )
        samples = (
            self.samples.intersection(other.samples, sort=False)
            if how == "inner"
            else self.samples.union(other.samples, sort=False)
        )
        if len(samples) == 0:
            raise InputError(
                f"panels {self.name!r} and {other.name!r} share no sample identifier; map them "
                "to a common identifier first (oncoresist.data.Crosswalk)"
            )

        def both(a: pd.Index, b: pd.Index) -> tuple[dict[Any, Any], dict[Any, Any]]:
            common = set(a) & set(b)
            ra = {x: f"{x}_{self.name}" for x in common}
            rb = {x: f"{x}_{other.name}" for x in common}
            return ra, rb

        ra, rb = both(self.drugs, other.drugs)
        resp = pd.concat(
            [
                self.responses.rename(columns=ra).reindex(samples),
                other.responses.rename(columns=rb).reindex(samples),
            ],
            axis=1,
        )
        la, lb = both(pd.Index(list(self.layers)), pd.Index(list(other.layers)))
        layers = {la.get(k, k): v.reindex(samples) for k, v in self.layers.items()}
        layers.update({lb.get(k, k): v.reindex(samples) for k, v in other.layers.items()})
        kinds = {la.get(k, k): v for k, v in self.layer_kinds.items()}
        kinds.update({lb.get(k, k): v for k, v in other.layer_kinds.items()})
        sann = None
        if self.sample_annotations is not None or other.sample_annotations is not None:
            sa = self.sample_annotations if self.sample_annotations is not None else pd.DataFrame()
            sb = (
                other.sample_annotations if other.sample_annotations is not None else pd.DataFrame()
            )
            sann = sa.reindex(samples).combine_first(sb.reindex(samples))
        dann = None
        if self.drug_annotations is not None or other.drug_annotations is not None:
            da = self.drug_annotations if self.drug_annotations is not None else pd.DataFrame()
            db = other.drug_annotations if other.drug_annotations is not None else pd.DataFrame()
            dann = pd.concat([da.rename(index=ra), db.rename(index=rb)])
        return Panel(
            resp,
            layers,
            layer_kinds=kinds,
            sample_annotations=sann,
            drug_annotations=dann,
            metric=self.metric,
            lower_is_sensitive=self.lower_is_sensitive,
            name=f"{self.name}+{other.name}",
            notes=self.notes + other.notes,
        )

    #: this panel as an ``anndata.AnnData`` (:func:`oncoresist.data._anndata.panel_to_anndata`)
    to_anndata = panel_to_anndata
    #: a panel from an ``anndata.AnnData``
    #: (:func:`oncoresist.data._anndata.panel_from_anndata`)
    from_anndata = staticmethod(panel_from_anndata)

    def to_frame(self) -> pd.DataFrame:
        """Long table of measured responses: ``sample, drug, <metric>`` plus sample annotations."""
        stacked: pd.Series = self.responses.rename_axis(index="sample", columns="drug").stack()  # type: ignore[assignment]
        long = stacked.dropna().rename(self.metric)
        out = long.reset_index()
        if self.sample_annotations is not None:
            out = out.join(self.sample_annotations, on="sample")
        return out

    # ------------------------------------------------------------------ display
    def _summary_rows(self) -> list[tuple[str, str]]:
        n_s, n_d = self.shape
        frac = float(self.responses.notna().to_numpy().mean())
        rows = [
            (
                "responses",
                f"{n_s} samples x {n_d} drugs, metric {self.metric}, {frac:.0%} measured",
            ),
            (
                "direction",
                "lower = more sensitive" if self.lower_is_sensitive else "higher = more sensitive",
            ),
        ]
        for k, v in self.layers.items():
            rows.append((f"layer {k}", f"{self.layer_kinds[k]}, {v.shape[1]} features"))
        if self.sample_annotations is not None:
            rows.append(
                ("sample annotations", ", ".join(map(str, self.sample_annotations.columns)))
            )
        if self.drug_annotations is not None:
            rows.append(("drug annotations", ", ".join(map(str, self.drug_annotations.columns))))
        for r in self.alignment.itertuples(index=False):
            if r.n_missing or r.n_extra:
                rows.append(
                    (
                        f"alignment {r.table}",
                        f"{r.n_matched} matched, {r.n_missing} missing, {r.n_extra} extra dropped",
                    )
                )
        rows += [("note", n) for n in self.notes]
        return rows

    def __repr__(self) -> str:
        body = "\n".join(f"  {k}: {v}" for k, v in self._summary_rows())
        return f"Panel {self.name!r}\n{body}"

    def summary(self) -> str:
        """One line: name, samples x drugs, metric, share measured and layers."""
        n_s, n_d = self.shape
        frac = float(self.responses.notna().to_numpy().mean()) if n_s and n_d else 0.0
        layers = ", ".join(f"{k} ({v.shape[1]})" for k, v in self.layers.items()) or "none"
        return (
            f"Panel {self.name}: {n_s} samples x {n_d} drugs, metric {self.metric}, "
            f"{frac:.0%} measured; layers {layers}"
        )

    def _repr_html_(self) -> str:
        # the default table would be the long response table; the panel's rows say more
        head = f"<p><b>{html.escape(self.summary())}</b></p>"
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
            f"{html.escape(v)}</td></tr>"
            for k, v in self._summary_rows()
        )
        return f"{head}<table>{cells}</table>"


def _match_row(table: str, samples: pd.Index, other: pd.Index) -> dict[str, Any]:
    missing = samples.difference(other, sort=False)
    extra = other.difference(samples, sort=False)
    return {
        "table": table,
        "n_matched": int(len(samples) - len(missing)),
        "n_missing": len(missing),
        "n_extra": len(extra),
        "missing": list(missing),
        "extra": list(extra),
    }


def make_panel(
    n_samples: int = 400,
    n_drugs: int = 20,
    n_features: int = 100,
    *,
    n_tissues: int = 5,
    n_associations: int = 10,
    n_confounded: int = 3,
    effect_size: float = 1.5,
    tissue_effect: float = 2.0,
    noise: float = 1.0,
    mutation_rate: float = 0.15,
    missing_rate: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> tuple[Panel, pd.DataFrame]:
    """Synthetic panel with planted drug x feature associations and tissue confounding.

    Responses are ``tissue_effect[drug, tissue] + effect * feature + N(0, noise)`` (natural-log
    IC50-like). ``n_associations`` true associations are planted with effects of size
    ``+-effect_size`` (in response units; sign alternates: + resistance, - sensitivity).
    ``n_confounded`` *null* features are confounded by tissue: they are frequent in one tissue
    (80%) and rare elsewhere (2%), and their drug's response is shifted by ``tissue_effect`` in that
    tissue, so a model without tissue covariates finds a spurious association.

    Returns
    -------
    panel, truth
        ``truth`` has one row per (drug, feature) pair of interest with ``drug, feature, effect,
        kind`` where kind is ``"planted"`` or ``"confounded"`` (true effect 0).

    Examples
    --------
    >>> panel, truth = make_panel(rng=0)
    >>> panel.shape
    (400, 20)
    """
    gen = np.random.default_rng(rng)
    if n_associations + n_confounded > min(n_drugs, n_features):
        raise InputError(
            "n_associations + n_confounded must not exceed min(n_drugs, n_features) "
            f"({n_associations} + {n_confounded} > {min(n_drugs, n_features)})"
        )
    samples = pd.Index([f"S{i:04d}" for i in range(n_samples)], name="sample")
    drugs = pd.Index([f"D{j:03d}" for j in range(n_drugs)], name="drug")
    features = pd.Index([f"G{k:03d}_mut" for k in range(n_features)], name="feature")
    tissues = np.array([f"tissue{t}" for t in range(n_tissues)])
    tissue = gen.integers(0, n_tissues, n_samples)
    msi = (gen.random(n_samples) < 0.08).astype(int)
    X = (gen.random((n_samples, n_features)) < mutation_rate).astype(float)
    # Baseline drug-specific tissue effects (modest), then planted effects.
    base = gen.normal(0.0, 0.5, (n_drugs, n_tissues))
    Y = base[:, tissue].T + gen.normal(0, noise, (n_samples, n_drugs)) + gen.normal(0, 1, n_drugs)
    rows = []
    for a in range(n_associations):
        d, f = a, a
        eff = effect_size if a % 2 == 0 else -effect_size
        Y[:, d] += eff * X[:, f]
        rows.append({"drug": drugs[d], "feature": features[f], "effect": eff, "kind": "planted"})
    for c in range(n_confounded):
        d = f = n_associations + c
        t = c % n_tissues
        in_t = tissue == t
        X[:, f] = np.where(in_t, gen.random(n_samples) < 0.8, gen.random(n_samples) < 0.02)
        Y[in_t, d] += tissue_effect
        rows.append({"drug": drugs[d], "feature": features[f], "effect": 0.0, "kind": "confounded"})
    miss = gen.random(Y.shape) < missing_rate
    Y[miss] = np.nan
    panel = Panel(
        pd.DataFrame(Y, index=samples, columns=drugs),
        {"mutation": pd.DataFrame(X, index=samples, columns=features)},
        layer_kinds={"mutation": "binary"},
        sample_annotations=pd.DataFrame({"tissue": tissues[tissue], "msi": msi}, index=samples),
        drug_annotations=pd.DataFrame({"drug_name": [f"drug {d}" for d in drugs]}, index=drugs),
        metric="ln_ic50",
        name="synthetic",
    )
    return panel, pd.DataFrame(rows)
