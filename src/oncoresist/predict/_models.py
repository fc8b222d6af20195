"""Drug-response models as scikit-learn regressors over (sample features, drug features).

All models take the design table of :func:`~oncoresist.predict.pair_frame` (columns ``sample``,
``drug``, ``"<layer>:<gene>"`` omics features, ``"drug:..."`` drug features) and a response
vector. Baselines read only the identifiers:

- :class:`GlobalMean` -- one number;
- :class:`DrugMean` -- the drug's plain training mean (what most "0.9 Spearman" results reduce
  to); :class:`ShrunkDrugMean` shrinks it towards the global mean;
- :class:`SampleMean` -- the cell line's mean response over drugs;
- :class:`MeanEffects` -- additive ``mu + drug effect + sample effect`` (DrEval's naive
  mean-effects predictor); unseen drugs or samples contribute an effect of 0.

Models with features: :class:`PerDrugElasticNet`, :class:`PerDrugRandomForest` (one model per
drug on omics), :class:`GlobalLightGBM` (one model over all pairs, with drug fingerprint and
target features) and, in :mod:`oncoresist.predict._nn`, a multi-omics network.

Every model fits inside the training fold only: imputation, feature selection and scaling are
steps of the per-drug pipelines, and baselines' effects come from the training pairs.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNetCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ._design import (
    DRUG,
    SAMPLE,
    check_design,
    drug_feature_columns,
    sample_feature_columns,
)

__all__ = [
    "MODELS",
    "DrugMean",
    "GlobalLightGBM",
    "GlobalMean",
    "MeanEffects",
    "PerDrugElasticNet",
    "PerDrugRandomForest",
    "SampleMean",
    "ShrunkDrugMean",
    "get_model",
    "register_model",
]

#: Registry of model classes by short name (contract tests loop over it).
MODELS: dict[str, type[ResponseModel]] = {}


def register_model(cls: type[ResponseModel]) -> type[ResponseModel]:
    """Class decorator adding a model to :data:`MODELS` under ``cls.name``."""
    MODELS[cls.name] = cls
    return cls


def get_model(name: str) -> ResponseModel:
    """A new instance of the registered model ``name`` with default hyper-parameters.

    Examples
    --------
    >>> get_model("mean_effects")
    MeanEffects()
    """
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name]()


def _y(y: Any) -> np.ndarray:
    arr = np.asarray(y, dtype=float).ravel()
    if not np.isfinite(arr).all():
        raise InputError(
            f"the response has {int((~np.isfinite(arr)).sum())} missing or infinite value(s); "
            "build X, y with pair_frame, which keeps measured pairs only"
        )
    return arr


class ResponseModel(RegressorMixin, BaseEstimator):
    """Base class: identifiers check, capability flags used by the evaluation runner."""

    #: Short registry name.
    name: ClassVar[str] = "model"
    #: True for the naive predictors that are always reported beside the models.
    is_baseline: ClassVar[bool] = False
    #: Whether a fitted model can predict for a drug it never saw (needs drug features).
    predicts_unseen_drugs: ClassVar[bool] = False
    #: Whether omics features are used (so unseen samples get a specific prediction).
    uses_omics: ClassVar[bool] = True


# ---------------------------------------------------------------------------------- baselines
@register_model
class GlobalMean(ResponseModel):
    """Predict the training mean for every pair.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": ["a", "b"], "drug": ["d", "d"]})
    >>> GlobalMean().fit(X, [1.0, 3.0]).predict(X).tolist()
    [2.0, 2.0]
    """

    name = "global_mean"
    is_baseline = True
    predicts_unseen_drugs = True
    uses_omics = False

    def fit(self, X: pd.DataFrame, y: Any) -> GlobalMean:
        """Store the mean response."""
        check_design(X)
        self.mean_ = float(_y(y).mean())
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The training mean for each row of ``X``."""
        check_is_fitted(self, "mean_")
        return np.full(len(check_design(X)), self.mean_)


class _EffectsModel(ResponseModel):
    """Additive ``mu + drug effect + sample effect`` with switchable terms."""

    _drug: ClassVar[bool] = True
    _sample: ClassVar[bool] = True
    uses_omics = False

    def __init__(self, *, n_iter: int = 20, shrinkage: float = 0.0) -> None:
        self.n_iter = n_iter
        self.shrinkage = shrinkage

    def fit(self, X: pd.DataFrame, y: Any) -> _EffectsModel:
        """Estimate the effects by alternating (backfitting) means on the training pairs."""
        check_design(X)
        yy = _y(y)
        d_codes, d_uni = pd.factorize(X[DRUG], sort=True)
        s_codes, s_uni = pd.factorize(X[SAMPLE], sort=True)
        mu = float(yy.mean())
        a = np.zeros(len(d_uni))
        b = np.zeros(len(s_uni))
        nd = np.bincount(d_codes, minlength=len(d_uni)) + self.shrinkage
        ns = np.bincount(s_codes, minlength=len(s_uni)) + self.shrinkage
        n_iter = self.n_iter if (self._drug and self._sample) else 1
        for _ in range(n_iter):
            if self._drug:
                a = np.bincount(d_codes, yy - mu - b[s_codes], minlength=len(d_uni)) / nd
            if self._sample:
                b = np.bincount(s_codes, yy - mu - a[d_codes], minlength=len(s_uni)) / ns
        self.mean_ = mu
        self.drug_effects_ = pd.Series(a, index=pd.Index(d_uni, name=DRUG))
        self.sample_effects_ = pd.Series(b, index=pd.Index(s_uni, name=SAMPLE))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``mu + drug effect + sample effect``; unseen drugs/samples contribute 0."""
        check_is_fitted(self, "mean_")
        check_design(X)
        pred = np.full(len(X), self.mean_)
        if self._drug:
            pred += X[DRUG].map(self.drug_effects_).fillna(0.0).to_numpy(dtype=float)
        if self._sample:
            pred += X[SAMPLE].map(self.sample_effects_).fillna(0.0).to_numpy(dtype=float)
        return pred


@register_model
class DrugMean(ResponseModel):
    """Predict the drug's plain training mean response (global mean for an unseen drug).

    No hyper-parameters: the mean of each drug's training pairs, nothing shrunk or fitted
    (:class:`ShrunkDrugMean` is the version pulled towards the global mean).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": ["a", "b", "a"], "drug": ["d", "d", "e"]})
    >>> DrugMean().fit(X, [1.0, 3.0, 5.0]).predict(X).tolist()
    [2.0, 2.0, 5.0]
    """

    name = "drug_mean"
    is_baseline = True
    predicts_unseen_drugs = True
    uses_omics = False

    def fit(self, X: pd.DataFrame, y: Any) -> DrugMean:
        """Store the mean response of each drug (and the global mean for unseen drugs)."""
        check_design(X)
        yy = pd.Series(_y(y), index=X.index)
        self.mean_ = float(yy.mean())
        means = yy.groupby(X[DRUG].to_numpy(), sort=True).mean()
        self.drug_means_ = means.rename_axis(DRUG)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The drug's training mean for each row (the global mean for an unseen drug)."""
        check_is_fitted(self, "drug_means_")
        check_design(X)
        return X[DRUG].map(self.drug_means_).fillna(self.mean_).to_numpy(dtype=float)


@register_model
class ShrunkDrugMean(_EffectsModel):
    """The drug's training mean shrunk towards the global mean by ``shrinkage`` pseudo-pairs.

    ``mu + sum(y_d - mu) / (n_d + shrinkage)``: drugs with few training pairs move towards the
    global mean. With ``shrinkage=0`` it is :class:`DrugMean`.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": ["a", "b", "a"], "drug": ["d", "d", "e"]})
    >>> ShrunkDrugMean(shrinkage=1.0).fit(X, [1.0, 3.0, 5.0]).predict(X).round(3).tolist()
    [2.333, 2.333, 4.0]
    """

    name = "drug_mean_shrunk"
    is_baseline = True
    predicts_unseen_drugs = True
    _sample = False

    def __init__(self, *, n_iter: int = 20, shrinkage: float = 5.0) -> None:
        super().__init__(n_iter=n_iter, shrinkage=shrinkage)


@register_model
class SampleMean(_EffectsModel):
    """Predict the cell line's training mean response over drugs.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": ["a", "a", "b"], "drug": ["d", "e", "d"]})
    >>> SampleMean().fit(X, [1.0, 3.0, 5.0]).predict(X).tolist()
    [2.0, 2.0, 5.0]
    """

    name = "sample_mean"
    is_baseline = True
    predicts_unseen_drugs = True
    _drug = False


@register_model
class MeanEffects(_EffectsModel):
    """Additive mean-effects predictor ``mu + drug effect + cell-line effect`` (DrEval).

    Under leave-cell-line-out it predicts the drug mean, under leave-drug-out the cell-line mean;
    a model that does not beat it has learned nothing specific to the pair.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": ["a", "a", "b", "b"], "drug": ["d", "e", "d", "e"]})
    >>> m = MeanEffects().fit(X, [1.0, 2.0, 3.0, 4.0])
    >>> m.predict(X).round(6).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """

    name = "mean_effects"
    is_baseline = True
    predicts_unseen_drugs = True


# ---------------------------------------------------------------------------- per-drug models
class _PerDrug(ResponseModel):
    """One pipeline per drug on the omics features; subclasses define ``_pipeline``."""

    def _pipeline(self, n_features: int) -> Pipeline:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: Any) -> _PerDrug:
        """Fit one pipeline per drug (imputation, selection and scaling inside it)."""
        check_design(X)
        yy = _y(y)
        cols = sample_feature_columns(X)
        if not cols:
            raise InputError("X has no omics feature columns ('<layer>:<gene>'); see pair_frame")
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        F = X[cols].to_numpy(dtype=np.float64)
        codes, drugs = pd.factorize(X[DRUG], sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(drugs) + 1))
        self.models_: dict[Any, Any] = {}
        self.drug_means_: dict[Any, float] = {}
        self.fit_status_: dict[Any, str] = {}
        for k, drug in enumerate(drugs):
            idx = order[bounds[k] : bounds[k + 1]]
            self.drug_means_[drug] = float(yy[idx].mean())
            if idx.size < self.min_samples or np.ptp(yy[idx]) == 0:
                # Too few lines for a per-drug model: the drug mean is used and reported.
                self.fit_status_[drug] = f"drug mean (only {idx.size} pairs)"
                continue
            pipe = self._pipeline(len(cols))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                self.models_[drug] = pipe.fit(F[idx], yy[idx])
            conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
            for w in caught:
                if not issubclass(w.category, ConvergenceWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            # Non-convergence on some penalties of the path is recorded, not raised per drug.
            self.fit_status_[drug] = f"ok ({len(conv)} convergence warnings)" if conv else "ok"
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predict each pair with its drug's model; an unseen drug is an error."""
        check_is_fitted(self, "models_")
        check_design(X)
        unseen = pd.Index(X[DRUG].unique()).difference(pd.Index(list(self.drug_means_)))
        if len(unseen):
            raise InputError(
                f"{type(self).__name__} has no model for {len(unseen)} drug(s) it was not "
                f"trained on: {list(unseen)[:8]}; per-drug models cannot predict new drugs "
                "(use GlobalLightGBM with drug features)"
            )
        F = X[list(self.feature_names_in_)].to_numpy(dtype=np.float64)
        out = np.empty(len(X))
        for drug, idx in X.groupby(DRUG, sort=False).indices.items():
            if drug in self.models_:
                out[idx] = self.models_[drug].predict(F[idx])
            else:
                out[idx] = self.drug_means_[drug]
        return out


@register_model
class PerDrugElasticNet(_PerDrug):
    """Per-drug elastic net, penalty tuned by inner cross-validation on the training lines.

    Pipeline per drug: mean imputation, removal of constant features, the ``n_features`` features
    most correlated with the response (``f_regression``), standardisation, ``ElasticNetCV``.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame
    >>> panel, _ = make_response_panel(n_samples=80, n_drugs=2, rng=0)
    >>> X, y = pair_frame(panel)
    >>> PerDrugElasticNet(cv=3).fit(X, y).predict(X).shape == y.shape
    True
    """

    name = "elastic_net"

    def __init__(
        self,
        n_features: int | None = 100,
        *,
        l1_ratio: tuple[float, ...] = (0.5, 0.9),
        cv: int = 3,
        n_alphas: int = 12,
        min_samples: int = 20,
        random_state: int | None = 0,
    ) -> None:
        self.n_features = n_features
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.n_alphas = n_alphas
        self.min_samples = min_samples
        self.random_state = random_state

    def _pipeline(self, n_features: int) -> Pipeline:
        k: Any = "all" if self.n_features is None else min(self.n_features, n_features)
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
                ("constant", VarianceThreshold(0.0)),
                ("select", _SafeSelectKBest(k=k)),
                ("scale", StandardScaler()),
                (
                    "model",
                    ElasticNetCV(
                        l1_ratio=list(self.l1_ratio),
                        alphas=self.n_alphas,
                        cv=self.cv,
                        max_iter=2000,
                        tol=1e-3,
                        random_state=self.random_state,
                        selection="random",
                    ),
                ),
            ]
        )


@register_model
class PerDrugRandomForest(_PerDrug):
    """Per-drug random forest on omics features (feature pre-selection inside the fold).

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame
    >>> panel, _ = make_response_panel(n_samples=80, n_drugs=2, rng=0)
    >>> X, y = pair_frame(panel)
    >>> PerDrugRandomForest(n_estimators=20).fit(X, y).predict(X).shape == y.shape
    True
    """

    name = "random_forest"

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        max_features: float = 0.3,
        min_samples_leaf: int = 3,
        n_features: int | None = 100,
        min_samples: int = 20,
        n_jobs: int | None = 1,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.n_features = n_features
        self.min_samples = min_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _pipeline(self, n_features: int) -> Pipeline:
        k: Any = "all" if self.n_features is None else min(self.n_features, n_features)
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
                ("constant", VarianceThreshold(0.0)),
                ("select", _SafeSelectKBest(k=k)),
                (
                    "model",
                    RandomForestRegressor(
                        n_estimators=self.n_estimators,
                        max_features=self.max_features,
                        min_samples_leaf=self.min_samples_leaf,
                        n_jobs=self.n_jobs,
                        random_state=self.random_state,
                    ),
                ),
            ]
        )


class _SafeSelectKBest(SelectKBest):
    """SelectKBest whose ``k`` is capped by the features left after the constant filter."""

    def __init__(self, k: Any = 10) -> None:
        super().__init__(score_func=f_regression, k=k)

    def _check_params(self, X: Any, y: Any) -> None:
        # k above the number of features left after the constant filter selects them all
        # (the support mask takes the k best of fewer scores); the parameter is not modified.
        k: Any = self.k
        if k != "all" and k > X.shape[1]:
            return
        super()._check_params(X, y)

    def fit(self, X: Any, y: Any = None, **params: Any) -> _SafeSelectKBest:
        """Score features with ``f_regression`` (constant features score 0, not NaN)."""
        import warnings

        with warnings.catch_warnings():
            # Constant features inside a small fold give 0/0 F statistics; they are never chosen.
            warnings.simplefilter("ignore", RuntimeWarning)
            super().fit(X, y)
        scores: Any = getattr(self, "scores_")  # noqa: B009 - set by the parent's fit
        self.scores_ = np.nan_to_num(scores, nan=0.0)
        return self


# ------------------------------------------------------------------------------ global models
@register_model
class GlobalLightGBM(ResponseModel):
    """One gradient-boosting model over all pairs, omics + drug features (LightGBM).

    With ``offset="mean_effects"`` (default) the trees fit the residual of the additive
    mean-effects baseline estimated on the training fold, so the model spends its capacity on
    what the baseline does not explain (for an unseen cell line the offset is the drug mean).
    Attributions: :func:`~oncoresist.predict.explain` returns exact TreeSHAP values
    (``pred_contrib``) for each pair.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame
    >>> panel, _ = make_response_panel(n_samples=60, n_drugs=3, rng=0)
    >>> X, y = pair_frame(panel)
    >>> GlobalLightGBM(n_estimators=20).fit(X, y).predict(X).shape == y.shape  # doctest: +SKIP
    True
    """

    name = "lightgbm"
    predicts_unseen_drugs = True

    def __init__(
        self,
        n_estimators: int = 200,
        *,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        colsample_bytree: float = 0.2,
        max_bin: int = 63,
        subsample: float = 0.8,
        reg_lambda: float = 1.0,
        offset: str = "mean_effects",
        drug_identity: bool = False,
        n_jobs: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.max_bin = max_bin
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.offset = offset
        self.drug_identity = drug_identity
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        F = X[list(self.feature_names_in_)].to_numpy(dtype=np.float32)
        if self.drug_identity:
            codes = X[DRUG].map(self.drug_codes_).fillna(-1).to_numpy(dtype=np.float32)
            F = np.column_stack([F, codes])
        return F

    def fit(self, X: pd.DataFrame, y: Any) -> GlobalLightGBM:
        """Fit the offset baseline, then boosted trees on the residual."""
        try:
            import lightgbm as lgb
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError(
                "GlobalLightGBM needs lightgbm: pip install 'oncoresist[predict]'"
            ) from exc
        check_design(X)
        yy = _y(y)
        if self.offset not in ("mean_effects", "none"):
            raise InputError(f"offset must be 'mean_effects' or 'none', got {self.offset!r}")
        cols = sample_feature_columns(X) + drug_feature_columns(X)
        if not cols:
            raise InputError("X has no feature columns; see pair_frame")
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.drug_codes_ = {d: i for i, d in enumerate(sorted(X[DRUG].unique(), key=str))}
        base: np.ndarray = np.zeros(len(yy))
        if self.offset == "mean_effects":
            self.offset_model_: MeanEffects | None = MeanEffects().fit(X, yy)
            # Out-of-sample sample effects are 0, so the trees must learn the cell-line effect
            # from omics: remove only mu + drug effect from the target.
            base = self.offset_model_.mean_ + X[DRUG].map(
                self.offset_model_.drug_effects_
            ).to_numpy(dtype=float)
        else:
            self.offset_model_ = None
        params: dict[str, Any] = {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "colsample_bytree": self.colsample_bytree,
            "max_bin": self.max_bin,
            "subsample": self.subsample,
            "subsample_freq": 1 if self.subsample < 1 else 0,
            "reg_lambda": self.reg_lambda,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "verbose": -1,
        }
        self.booster_ = lgb.LGBMRegressor(**params).fit(self._matrix(X), yy - base)
        return self

    def _offset(self, X: pd.DataFrame) -> np.ndarray:
        if self.offset_model_ is None:
            return np.zeros(len(X))
        eff = X[DRUG].map(self.offset_model_.drug_effects_).fillna(0.0)
        return self.offset_model_.mean_ + eff.to_numpy(dtype=float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Offset plus the trees' prediction."""
        check_is_fitted(self, "booster_")
        check_design(X)
        return self._offset(X) + self.booster_.predict(self._matrix(X))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP values per pair and feature; ``offset`` and ``bias`` columns sum to the rest.

        The row sums equal :meth:`predict` exactly.
        """
        check_is_fitted(self, "booster_")
        check_design(X)
        contrib = np.asarray(self.booster_.predict(self._matrix(X), pred_contrib=True))
        names = list(self.feature_names_in_) + (["drug:identity"] if self.drug_identity else [])
        out = pd.DataFrame(contrib[:, :-1], columns=names, index=X.index)
        out["bias"] = contrib[:, -1]
        out["offset"] = self._offset(X)
        return out


def clone_model(model: Any) -> Any:
    """``sklearn.base.clone`` (re-exported for the runner)."""
    return clone(model)
