"""Persisted models with a model card, applied to new tumour profiles given as gene tables.

A saved model is a folder with ``model.joblib`` (the fitted estimator and the drug feature
table) and ``card.json`` (:class:`ModelCard`: data set and version, layers with their gene
identifiers, feature list, per-feature training means and standard deviations, split, metrics,
seed, package version). Both are written atomically; loading checks the card's format version,
the checksum of the model file and that the model's features are the card's.

Applying a model (:meth:`TrainedModel.predict_profile`) never fills a missing value with zero:

- unknown gene identifiers are listed; if none match, the error says which identifiers the
  model expects;
- missing genes are imputed with the training mean *and listed*; above ``max_missing``
  (fraction per layer) it is an error;
- a missing layer is an error unless ``allow_missing_layers=True`` (then mean-imputed, listed);
- a layer on another scale (e.g. TPM where the model saw z-scores) is detected from the training
  statistics and is an error naming the layer and the expected scale;
- a drug the model never saw needs its SMILES (and a model with drug features).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_path, write_text
from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._design import DRUG, SAMPLE, drug_features, sample_feature_columns

__all__ = [
    "Application",
    "ModelCard",
    "TrainedModel",
    "TrainingOverlapWarning",
    "fit_model",
    "load_model",
]


class TrainingOverlapWarning(UserWarning):
    """Profiled samples were in the model's training set: their predictions are in-sample.

    A model has seen those lines' responses, so its predictions for them are optimistic (on
    CCLE the per-drug Spearman of such predictions was 0.36 against 0.29 for held-out lines);
    test a model on samples it was not trained on (``predict train --holdout-...``).
    """


CARD_FORMAT = 1


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("oncoresist")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


# JSON shape of each card field: what from_json checks before anything uses it
_CARD_TYPES = {
    "model_name": "text", "model_class": "text", "dataset": "text", "dataset_version": "text",
    "metric": "text", "split": "text", "created": "text", "oncoresist_version": "text",
    "model_sha256": "text", "params": "object", "layers": "object of text lists",
    "layer_kinds": "object of text", "gene_aliases": "object of text", "features": "text list",
    "drugs": "text list", "feature_mean": "number list", "feature_sd": "number list",
    "metrics": "list of objects", "lower_is_sensitive": "true/false", "drug_features": "true/false",
    "n_pairs": "whole number", "n_bits": "whole number", "seed": "whole number or null",
    "training_samples": "text list", "holdout_samples": "text list",
}  # fmt: skip


def _card_value_ok(value: Any, kind: str) -> bool:
    def texts(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    checks = {
        "text": lambda v: isinstance(v, str),
        "object": lambda v: isinstance(v, dict),
        "object of text lists": lambda v: isinstance(v, dict) and all(map(texts, v.values())),
        "object of text": lambda v: (
            isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
        ),
        "text list": texts,
        "number list": lambda v: (
            isinstance(v, list)
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        ),
        "list of objects": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
        "true/false": lambda v: isinstance(v, bool),
        "whole number": whole,
        "whole number or null": lambda v: v is None or whole(v),
    }
    return bool(checks[kind](value))


@dataclass(frozen=True)
class ModelCard(ResultMixin):
    """What a persisted model was trained on and how well it did.

    Attributes
    ----------
    model_name, model_class, params
        Registry name, class and hyper-parameters of the estimator.
    dataset, dataset_version, metric, lower_is_sensitive
        Training data and response metric.
    layers
        Layer name -> genes (identifiers as used in the features, e.g. HGNC symbols).
    layer_kinds
        Layer name -> ``binary`` / ``continuous``.
    gene_aliases
        Other identifier -> gene (e.g. ``"entrez_1956" -> "EGFR"``), accepted in profiles.
    features
        Ordered sample feature names ``"<layer>:<gene>"``.
    feature_mean, feature_sd
        Training mean and standard deviation of each feature (imputation, scale checks).
    drugs
        Drugs seen in training.
    drug_features
        Whether the model uses drug structure features (so it can score new drugs).
    split, metrics
        Evaluation protocol and its summary metrics (records), if evaluated.
    training_samples
        Sample ids the model was fitted on (``apply`` warns when a profile reuses one; empty
        in cards written before it was recorded).
    holdout_samples
        Sample ids held out of training (``predict train --holdout-...``), to test on.
    seed, n_pairs, created, oncoresist_version, format_version
    """

    model_name: str
    model_class: str
    params: dict[str, Any]
    dataset: str
    dataset_version: str
    metric: str
    lower_is_sensitive: bool
    layers: dict[str, list[str]]
    layer_kinds: dict[str, str]
    features: list[str]
    feature_mean: list[float]
    feature_sd: list[float]
    drugs: list[str]
    drug_features: bool
    n_pairs: int
    seed: int | None = None
    split: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)
    gene_aliases: dict[str, str] = field(default_factory=dict)
    n_bits: int = 256
    created: str = ""
    oncoresist_version: str = ""
    format_version: int = CARD_FORMAT
    model_sha256: str = ""
    training_samples: list[str] = field(default_factory=list)
    holdout_samples: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The card as JSON text."""
        return json.dumps(asdict(self), indent=1, default=_json_default)

    @classmethod
    def from_json(cls, text: str, *, where: str = "card.json") -> ModelCard:
        """Read a card, checking its format version and fields."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise SchemaError(f"{where} is not valid JSON: {exc}") from exc
        if not isinstance(d, dict):
            raise SchemaError(f"{where}: a model card is a JSON object, got {type(d).__name__}")
        if d.get("format_version") != CARD_FORMAT:
            raise SchemaError(
                f"{where} has card format {d.get('format_version')!r}; this oncoresist reads "
                f"format {CARD_FORMAT}. Retrain or use the oncoresist version that wrote it "
                f"({d.get('oncoresist_version', 'unknown')})"
            )
        names = set(cls.__dataclass_fields__)
        missing = (
            names
            - set(d)
            - {
                "seed",
                "split",
                "metrics",
                "gene_aliases",
                "n_bits",
                "created",
                "oncoresist_version",
                "format_version",
                "model_sha256",
                "training_samples",
                "holdout_samples",
            }
        )
        if missing:
            raise SchemaError(f"{where} lacks field(s) {sorted(missing)}")
        for key, value in d.items():
            kind = _CARD_TYPES.get(key)
            if kind is not None and not _card_value_ok(value, kind):
                raise SchemaError(
                    f"{where}: field {key!r} is {value!r:.60}, expected {kind}; the card is "
                    "damaged: save the model again with 'oncoresist predict train'"
                )
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self) -> str:
        """One line: model, training data, features, drugs and the evaluation split."""
        ev = f", evaluated on split {self.split}" if self.split else ""
        return (
            f"ModelCard: {self.model_name} ({self.model_class}) trained on "
            f"{' '.join(filter(None, (self.dataset, self.dataset_version)))} ({self.metric}); "
            f"{len(self.features)} features, "
            f"{len(self.drugs)} drugs, {self.n_pairs} pairs{ev}"
        )

    def to_frame(self) -> pd.DataFrame:
        """Features with their layer, gene and training statistics."""
        lay, gene = zip(*(f.split(":", 1) for f in self.features), strict=True)
        return pd.DataFrame(
            {
                "feature": self.features,
                "layer": lay,
                "gene": gene,
                "mean": self.feature_mean,
                "sd": self.feature_sd,
            }
        )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


@dataclass(frozen=True)
class Application(ResultMixin):
    """Predictions for new profiles and what was done to get them.

    Attributes
    ----------
    predictions
        ``sample, drug, prediction`` (+ ``drug_mean``: the training mean of the drug, and
        ``relative``: prediction minus drug mean, > 0 = more resistant than the average line
        when lower responses mean sensitivity).
    missing_genes
        Layer -> model genes absent from the profile (imputed with the training mean).
    unknown_genes
        Layer -> profile genes the model does not use (ignored).
    imputed_layers
        Layers absent from the profile and imputed entirely (only with
        ``allow_missing_layers=True``).
    training_overlap
        Profiled samples that were in the model's training set (by id, or by normalised name:
        upper case, punctuation removed); their predictions are in-sample. The predictions
        table says so per row (``in_training``).
    training_samples_known
        False for a model whose card does not list its training samples (no overlap check).
    """

    predictions: pd.DataFrame
    missing_genes: dict[str, list[str]]
    unknown_genes: dict[str, list[str]]
    imputed_layers: list[str]
    training_overlap: list[str] = field(default_factory=list)
    training_samples_known: bool = True

    def overlap_note(self) -> str:
        """One line on profiled samples that were training samples ('' when there are none)."""
        if not self.training_samples_known:
            return (
                "note: the model card does not list its training samples, so it is not known "
                "whether profiled samples were in training; retrain to record them"
            )
        if not self.training_overlap:
            return ""
        n = self.predictions["sample"].nunique()
        shown = ", ".join(self.training_overlap[:10])
        more = " ..." if len(self.training_overlap) > 10 else ""
        return (
            f"warning: {len(self.training_overlap)} of {n} profiled sample(s) were in the "
            f"model's training set ({shown}{more}); their predictions are in-sample and "
            "optimistic: the model saw their responses (column in_training). Test on held-out "
            "samples (predict train --holdout-samples / --holdout-fraction)"
        )

    def summary(self) -> str:
        """One line: predictions, samples, training overlap and imputed genes or layers."""
        n_s = self.predictions["sample"].nunique() if len(self.predictions) else 0
        n_miss = sum(len(g) for g in self.missing_genes.values())
        n_unk = sum(len(g) for g in self.unknown_genes.values())
        overlap = (
            f"{len(self.training_overlap)} in training"
            if self.training_samples_known
            else "training samples unknown"
        )
        return (
            f"Application: {len(self.predictions)} predictions for {n_s} sample(s); "
            f"{overlap}; {n_miss} model gene(s) imputed, {n_unk} profile gene(s) ignored, "
            f"{len(self.imputed_layers)} layer(s) imputed entirely"
        )

    def describe(self) -> str:
        """Human-readable account of training overlap and of missing and unknown genes."""
        lines = [f"{len(self.predictions)} predictions"]
        if self.overlap_note():
            lines.append(self.overlap_note())
        for lay, g in self.missing_genes.items():
            if g:
                lines.append(
                    f"layer {lay}: {len(g)} model gene(s) missing from the profile, imputed "
                    f"with the training mean: {', '.join(g[:10])}" + (" ..." if len(g) > 10 else "")
                )
        for lay, g in self.unknown_genes.items():
            if g:
                lines.append(f"layer {lay}: {len(g)} profile gene(s) unknown to the model, ignored")
        for lay in self.imputed_layers:
            lines.append(f"layer {lay}: absent from the profile, imputed entirely (training mean)")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The predictions table."""
        return self.predictions.copy()


def _profile_layers(profile: Any) -> dict[str, pd.DataFrame]:
    if isinstance(profile, Mapping):
        out = {}
        for k, v in profile.items():
            if not isinstance(v, pd.DataFrame):
                raise InputError(f"profile layer {k!r} must be a DataFrame (samples x genes)")
            out[str(k)] = v
        return out
    if isinstance(profile, pd.DataFrame):
        need = {"sample", "layer", "gene", "value"}
        if not need <= set(profile.columns):
            raise SchemaError(
                f"a profile table needs the columns {sorted(need)} (long format: one row per "
                f"sample, layer and gene); got {list(profile.columns)[:10]}"
            )
        dup = profile.duplicated(["sample", "layer", "gene"])
        if dup.any():
            r = profile[dup].iloc[0]
            raise InputError(
                f"profile has {int(dup.sum())} duplicated (sample, layer, gene) rows, e.g. "
                f"{r['sample']}/{r['layer']}/{r['gene']}; aggregate them first"
            )
        vals = pd.to_numeric(profile["value"], errors="coerce")
        bad = vals.isna() & profile["value"].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(
                f"profile column 'value' row {i} is not numeric: {profile['value'].iloc[i]!r}"
            )
        p = profile.assign(value=vals)
        return {
            str(lay): g.pivot(index="sample", columns="gene", values="value")
            for lay, g in p.groupby("layer", sort=False)
        }
    raise InputError(
        "profile must be a mapping layer -> DataFrame (samples x genes) or a long DataFrame "
        f"with columns sample, layer, gene, value; got {type(profile).__name__}"
    )


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model with its card and drug features; save, load, apply to new profiles.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, fit_model, MeanEffects
    >>> panel, _ = make_response_panel(n_samples=50, n_drugs=2, rng=0)
    >>> tm = fit_model(panel, MeanEffects(), use_drug_features=False)
    >>> tm.card.model_name
    'mean_effects'
    """

    model: Any
    card: ModelCard
    drug_table: pd.DataFrame | None = None

    def save(self, path: str | Path) -> Path:
        """Write ``model.joblib`` and ``card.json`` into the folder ``path`` (atomically)."""
        import dataclasses

        import joblib

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "model.joblib") as tmp:
            joblib.dump({"model": self.model, "drug_table": self.drug_table}, tmp)
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        card = dataclasses.replace(self.card, model_sha256=digest)
        write_text(folder / "card.json", card.to_json())
        return folder

    def predict_profile(
        self,
        profile: Any,
        *,
        drugs: Sequence[str] | None = None,
        smiles: Mapping[str, str] | None = None,
        max_missing: float = 0.2,
        allow_missing_layers: bool = False,
        check_scale: bool = True,
    ) -> Application:
        """Predict the response of new profiles to ``drugs`` (default: all training drugs).

        Parameters
        ----------
        profile
            Mapping layer -> DataFrame (samples x genes) or a long table ``sample, layer,
            gene, value``. Genes may be given by the model's identifiers or by an alias listed
            in the card (e.g. ``entrez_1956``).
        drugs
            Drugs to score; a drug absent from training needs ``smiles`` and a model with drug
            structure features.
        max_missing
            Largest fraction of a layer's model genes that may be missing (then imputed with the
            training mean, and listed); above it the call fails.
        allow_missing_layers
            Impute a whole missing layer with training means instead of failing.
        check_scale
            Fail when a continuous layer's values are far outside the training distribution.
        """
        card = self.card
        layers = _profile_layers(profile)
        unknown_layers = sorted(set(layers) - set(card.layers))
        if unknown_layers:
            raise InputError(
                f"profile layer(s) {unknown_layers} are unknown to the model; it uses "
                f"{sorted(card.layers)}"
            )
        samples = pd.Index([], dtype=object)
        for v in layers.values():
            samples = samples.union(pd.Index(v.index.astype(str)), sort=False)
        if len(samples) == 0:
            raise InputError("the profile has no samples")
        mean = pd.Series(card.feature_mean, index=card.features)
        sd = pd.Series(card.feature_sd, index=card.features)
        parts = []
        missing: dict[str, list[str]] = {}
        unknown: dict[str, list[str]] = {}
        imputed_layers = []
        for lay, genes in card.layers.items():
            feats = [f"{lay}:{g}" for g in genes]
            if lay not in layers:
                if not allow_missing_layers:
                    raise InputError(
                        f"the profile has no {lay!r} layer, which the model uses "
                        f"({len(genes)} genes). Provide it, or pass allow_missing_layers=True "
                        "to impute it with training means (predictions then ignore this layer)"
                    )
                imputed_layers.append(lay)
                parts.append(
                    pd.DataFrame(
                        np.tile(mean[feats].to_numpy(), (len(samples), 1)),
                        index=samples,
                        columns=feats,
                    )
                )
                continue
            tab = layers[lay].copy()
            tab.index = tab.index.astype(str)
            tab.columns = pd.Index([card.gene_aliases.get(str(c), str(c)) for c in tab.columns])
            if tab.columns.duplicated().any():
                dup = tab.columns[tab.columns.duplicated()].unique()
                raise InputError(
                    f"profile layer {lay!r}: gene(s) given twice (directly and by alias?): "
                    f"{list(dup[:8])}"
                )
            try:
                tab = tab.astype(float)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"profile layer {lay!r} has non-numeric values: {exc}") from exc
            known = [g for g in genes if g in tab.columns]
            unknown[lay] = [c for c in tab.columns if c not in set(genes)]
            if not known:
                raise InputError(
                    f"none of the {tab.shape[1]} genes of profile layer {lay!r} match the "
                    f"model's {len(genes)} genes (profile: {list(tab.columns[:5])}; model: "
                    f"{genes[:5]}). Use the model's identifiers (see the card's 'layers') or "
                    "an alias from 'gene_aliases'"
                )
            frac = 1 - len(known) / len(genes)
            miss = [g for g in genes if g not in tab.columns]
            if frac > max_missing:
                raise InputError(
                    f"profile layer {lay!r} lacks {len(miss)} of the model's {len(genes)} genes "
                    f"({frac:.0%} > max_missing={max_missing:.0%}), e.g. {miss[:8]}; provide "
                    "them or raise max_missing to impute them with training means"
                )
            block = tab.reindex(index=samples, columns=genes)
            block.columns = pd.Index(feats)
            kind = card.layer_kinds.get(lay, "continuous")
            vals = block.to_numpy()
            fin = vals[np.isfinite(vals)]
            if kind == "binary" and fin.size and not np.isin(fin, (0.0, 1.0)).all():
                raise InputError(
                    f"profile layer {lay!r} is binary in the model (0/1 events) but holds other "
                    f"values (e.g. {np.unique(fin[~np.isin(fin, (0.0, 1.0))])[:5].tolist()}); "
                    "binarise it"
                )
            if check_scale and kind == "continuous" and fin.size:
                kf = [f"{lay}:{g}" for g in known]
                z = (block[kf] - mean[kf]) / sd[kf].replace(0.0, np.nan)
                med = float(np.nanmedian(np.abs(z.to_numpy())))
                if med > 3.0:
                    raise InputError(
                        f"profile layer {lay!r} looks like another scale: the median |z| of its "
                        f"values against the training distribution is {med:.1f} (training "
                        f"per-gene mean ~{np.nanmedian(mean[kf]):.2g}, sd ~{np.nanmedian(sd[kf]):.2g}; "
                        f"profile median {np.nanmedian(fin):.3g}). Transform the profile to the "
                        "training scale (e.g. the same log transform and per-gene z-score) or "
                        "pass check_scale=False"
                    )
            missing[lay] = miss
            # Missing genes and samples without a value: training mean, listed above.
            block = block.fillna(mean[feats])
            parts.append(block)
        # Same precision as the training design table (pair_frame uses float32).
        S = pd.concat(parts, axis=1)[card.features].astype(np.float32)
        drug_list = list(card.drugs) if drugs is None else [str(d) for d in drugs]
        new = [d for d in drug_list if d not in set(card.drugs)]
        dt = self.drug_table
        if new:
            if not card.drug_features:
                raise InputError(
                    f"drug(s) {new[:8]} were not in training and model {card.model_name!r} has "
                    "no drug structure features; choose from the card's 'drugs'"
                )
            smi = dict(smiles or {})
            no = [d for d in new if not smi.get(d)]
            if no:
                raise InputError(
                    f"drug(s) {no[:8]} were not in training and have no SMILES; pass "
                    "smiles={drug: SMILES} to score them"
                )
            ann = pd.DataFrame({"smiles": [smi[d] for d in new]}, index=new)
            fp = drug_features(ann, targets=False, n_bits=card.n_bits)
            if dt is None:  # pragma: no cover - drug_features=True implies a stored table
                raise InputError("the saved model has no drug feature table")
            # Targets of a new drug are unknown unless it shares the training table's columns.
            extra = fp.reindex(columns=dt.columns)
            tcols = [c for c in dt.columns if c.startswith("drug:target=")]
            extra[tcols] = 0.0
            if "drug:target=unknown" in dt.columns:
                extra["drug:target=unknown"] = 1.0
            dt = pd.concat([dt, extra])
        # A profile is a new tumour: internal ids that cannot collide with a training line, so
        # no model reuses what it memorised about a training sample of the same name.
        internal = pd.Index([f"__profile_{i}" for i in range(len(samples))])
        S.index = internal
        ids = pd.MultiIndex.from_product([internal, drug_list], names=[SAMPLE, DRUG])
        X = ids.to_frame(index=False)
        X = pd.concat([X, S.reindex(X[SAMPLE]).reset_index(drop=True)], axis=1)
        if card.drug_features and dt is not None:
            X = pd.concat([X, dt.reindex(X[DRUG]).reset_index(drop=True)], axis=1)
        pred = np.asarray(self.model.predict(X), dtype=float)
        out = X[[SAMPLE, DRUG]].copy()
        out[SAMPLE] = out[SAMPLE].map(dict(zip(internal, samples, strict=True)))
        out["prediction"] = pred
        dm = _drug_means(self.model)
        if dm is not None:
            out["drug_mean"] = out[DRUG].map(dm)
            out["relative"] = out["prediction"] - out["drug_mean"]
        overlap = _training_overlap(samples, card.training_samples)
        out["in_training"] = out[SAMPLE].isin(overlap)
        app = Application(
            out,
            missing,
            unknown,
            imputed_layers,
            training_overlap=overlap,
            training_samples_known=bool(card.training_samples),
        )
        if overlap:
            warnings.warn(app.overlap_note(), TrainingOverlapWarning, stacklevel=2)
        return app


def _training_overlap(samples: pd.Index, training: Sequence[str]) -> list[str]:
    """Profiled samples whose id, or normalised name, is a training sample's."""
    from ..data._crosswalk import normalise_name

    if not training:
        return []
    ids = set(training)
    names = {normalise_name(t) for t in training}
    return [str(s) for s in samples if str(s) in ids or normalise_name(str(s)) in names]


def _drug_means(model: Any) -> pd.Series | None:
    if hasattr(model, "drug_means_"):
        return pd.Series(model.drug_means_)
    off = getattr(model, "offset_model_", None)
    if off is not None:
        return off.mean_ + off.drug_effects_
    if hasattr(model, "drug_effects_"):
        return model.mean_ + model.drug_effects_
    return None


def fit_model(
    panel: Any,
    model: Any,
    *,
    layers: Sequence[str] | None = None,
    use_drug_features: bool = True,
    n_bits: int = 256,
    gene_aliases: Mapping[str, str] | None = None,
    dataset_version: str = "",
    evaluation: Any = None,
    split: str = "",
    seed: int | None = None,
    holdout_samples: Sequence[str] = (),
) -> TrainedModel:
    """Fit ``model`` on all pairs of ``panel`` and attach a :class:`ModelCard`.

    Parameters
    ----------
    panel
        Training :class:`~oncoresist.data.Panel`.
    model
        Unfitted estimator.
    use_drug_features
        Build drug fingerprints / target one-hot from the panel's drug annotations.
    gene_aliases
        Other gene identifiers accepted in profiles (e.g. Entrez ids).
    evaluation
        An :class:`~oncoresist.predict.Evaluation` whose summary goes into the card.
    holdout_samples
        Samples kept out of ``panel`` to test the model on, recorded in the card. The card
        always records the training samples (those with responses and omics), so applying
        the model to one of them warns (:class:`TrainingOverlapWarning`).

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, MeanEffects
    >>> panel, _ = make_response_panel(n_samples=50, n_drugs=2, rng=0)
    >>> fit_model(panel, MeanEffects(), use_drug_features=False).card.n_pairs > 0
    True
    """
    from sklearn.base import clone

    from ._design import pair_frame

    dt = None
    if use_drug_features:
        if panel.drug_annotations is None:
            raise InputError(
                f"panel {panel.name!r} has no drug annotations; drug features need 'smiles' "
                "(or pass use_drug_features=False)"
            )
        ann = panel.drug_annotations
        # without SMILES (CTRP) the drug features are the target one-hot alone
        dt = drug_features(ann, n_bits=n_bits, fingerprints="smiles" in ann or "target" not in ann)
    X, y = pair_frame(panel, layers=layers, drug_table=dt)
    est = clone(model).fit(X, y)
    feats = sample_feature_columns(X)
    S = X.drop_duplicates(SAMPLE)[feats]
    lay_names = list(panel.layers) if layers is None else list(layers)
    metrics = []
    if evaluation is not None:
        metrics = json.loads(evaluation.metrics().to_json(orient="records"))
    card = ModelCard(
        model_name=getattr(est, "name", type(est).__name__),
        model_class=f"{type(est).__module__}.{type(est).__name__}",
        params={
            k: _json_default(v) if not isinstance(v, int | float | str | bool | None) else v
            for k, v in est.get_params(deep=False).items()
        },
        dataset=panel.name,
        dataset_version=dataset_version,
        metric=panel.metric,
        lower_is_sensitive=bool(panel.lower_is_sensitive),
        layers={n: [str(g) for g in panel.layer(n).columns] for n in lay_names},
        layer_kinds={n: panel.layer_kinds[n] for n in lay_names},
        features=feats,
        feature_mean=[float(v) for v in S.mean().to_numpy()],
        feature_sd=[float(v) for v in S.std(ddof=0).to_numpy()],
        drugs=[str(d) for d in pd.unique(X[DRUG])],
        drug_features=dt is not None,
        n_pairs=len(X),
        seed=seed,
        split=split,
        metrics=metrics,
        gene_aliases=dict(gene_aliases or {}),
        n_bits=n_bits,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        oncoresist_version=_version(),
        training_samples=[str(v) for v in pd.unique(X[SAMPLE])],
        holdout_samples=[str(v) for v in holdout_samples],
    )
    return TrainedModel(est, card, dt)


def load_model(path: str | Path) -> TrainedModel:
    """Load a model folder written by :meth:`TrainedModel.save`, validating the card.

    Examples
    --------
    >>> tm = load_model("models/tgsa_lightgbm")  # doctest: +SKIP
    """
    import joblib

    folder = Path(path)
    card_path, model_path = folder / "card.json", folder / "model.joblib"
    for p in (card_path, model_path):
        if not p.is_file():
            raise InputError(f"{p} does not exist; {folder} is not a saved oncoresist model")
    try:
        card_text = card_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{card_path}: byte {exc.start} is not UTF-8 text; the model card is damaged: save "
            "the model again with 'oncoresist predict train'"
        ) from None
    card = ModelCard.from_json(card_text, where=str(card_path))
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    if card.model_sha256 and digest != card.model_sha256:
        raise SchemaError(
            f"{model_path} does not match its card (sha256 {digest[:12]} != "
            f"{card.model_sha256[:12]}); the folder mixes files of different models"
        )
    blob = joblib.load(model_path)
    model = blob["model"]
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        used = [f for f in names if not str(f).startswith("drug:")]
        if not set(used) <= set(card.features):
            raise SchemaError(
                f"{model_path}: the model uses features absent from the card, e.g. "
                f"{sorted(set(used) - set(card.features))[:5]}"
            )
    return TrainedModel(model, card, blob.get("drug_table"))
