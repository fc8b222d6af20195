"""Honest evaluation: grouped outer folds, inner-fold tuning, baselines beside every model.

Splits (what is held out of training in each outer fold):

- ``pair``: random (sample, drug) pairs -- the optimistic protocol of most papers;
- ``cell_line``: whole cell lines (no line of a test fold appears in training);
- ``drug``: whole drugs;
- ``tissue``: whole tissues of origin;
- ``cross_study`` (see :func:`evaluate_cross_study`): train on one study, test on another on
  shared lines and drugs, optionally also holding the test lines out of training.

Hyper-parameters (``param_grids``) are tuned by a grid search on inner folds of the training part
only, grouped like the outer split. The additive mean-effects baseline is fitted on every
training fold; its predictions (``y_base``) define the normalised Pearson.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, LeaveOneGroupOut

from .._results import ResultMixin
from ..curves._executors import Executor, resolve_executor
from ..errors import InputError
from ._design import DRUG, SAMPLE, check_design
from ._metrics import METRICS, fold_group_metrics, score_predictions
from ._models import MeanEffects

__all__ = [
    "SPLITS",
    "Evaluation",
    "evaluate",
    "evaluate_cross_study",
    "make_folds",
    "summarise_studies",
]

#: Outer splits of :func:`evaluate`.
SPLITS = ("pair", "cell_line", "drug", "tissue")


def _check_count(value: Any, name: str, *, minimum: int = 1, optional: bool = False) -> None:
    """Raise :class:`InputError` unless ``value`` is a whole number >= ``minimum``.

    ``--n-splits 0`` or ``n_samples=-1`` is not a plan: the error names the setting, the value
    and the smallest value allowed (``None`` passes when ``optional``).

    Examples
    --------
    >>> _check_count(3, "n_splits", minimum=2)
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < minimum:
        raise InputError(
            f"{name} = {value!r}: give a whole number of at least {minimum}"
            + (" (folds need a training and a test part)" if name.endswith("splits") else "")
        )


def _groups(X: pd.DataFrame, split: str, tissue: pd.Series | None) -> np.ndarray | None:
    if split == "pair":
        return None
    if split == "cell_line":
        return X[SAMPLE].to_numpy()
    if split == "drug":
        return X[DRUG].to_numpy()
    if split == "tissue":
        if tissue is None:
            raise InputError(
                "split 'tissue' needs tissue=<Series sample -> tissue> (e.g. "
                "panel.annotation('tissue'))"
            )
        t = X[SAMPLE].map(tissue)
        if t.isna().any():
            miss = X.loc[t.isna(), SAMPLE].unique()
            raise InputError(
                f"{len(miss)} sample(s) have no tissue: {list(miss[:8])}; complete the "
                "annotation or subset them away"
            )
        return t.astype(str).to_numpy()
    raise InputError(f"unknown split {split!r}; choose from {SPLITS}")


def make_folds(
    X: pd.DataFrame,
    split: str = "cell_line",
    *,
    n_splits: int = 5,
    tissue: pd.Series | None = None,
    rng: int | np.random.Generator | None = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outer folds (train rows, test rows) for ``split``; grouped so no group leaks.

    For ``tissue`` every tissue with at least ``min(n_splits, ...)`` groups is held out in turn
    when there are at most ``n_splits`` tissues, else tissues are grouped into ``n_splits`` folds.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sample": list("aabbcc"), "drug": list("xyxyxy")})
    >>> folds = make_folds(X, "cell_line", n_splits=3)
    >>> all(set(X["sample"][tr]).isdisjoint(X["sample"][te]) for tr, te in folds)
    True
    """
    check_design(X)
    _check_count(n_splits, "n_splits", minimum=2)
    if not isinstance(split, str):
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    groups = _groups(X, split, tissue)
    if groups is None:
        cv: Any = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(X)]
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise InputError(f"split {split!r} needs at least 2 groups, found {n_groups}")
    if split == "tissue" and n_groups <= n_splits:
        cv = LeaveOneGroupOut()
    else:
        cv = GroupKFold(n_splits=min(n_splits, n_groups), shuffle=True, random_state=seed)
    folds = [(tr, te) for tr, te in cv.split(X, groups=groups)]
    for tr, te in folds:
        if not set(groups[tr]).isdisjoint(groups[te]):  # pragma: no cover - invariant
            raise RuntimeError(f"{split} fold leaks groups between train and test")
    return folds


@dataclass(frozen=True)
class Evaluation(ResultMixin):
    """Predictions and fit statuses of an evaluation; metrics are computed from them.

    Attributes
    ----------
    predictions
        One row per test pair and model: ``model, split, fold, sample, drug, y_true, y_pred,
        y_base, measure`` (the response measure of ``y_true``; cross-study adds
        ``train_measure``, that of ``y_pred``, and ``y_true_base``).
    fits
        One row per model, split and fold: ``status`` (``ok``, ``not_applicable``, ``failed``),
        ``reason``, ``best_params``, ``fit_seconds``, ``predict_seconds``, ``n_train``,
        ``n_test``.
    lower_is_sensitive
        Direction of the response (for the AUROC).
    """

    predictions: pd.DataFrame
    fits: pd.DataFrame
    lower_is_sensitive: bool = True

    def fold_metrics(self) -> pd.DataFrame:
        """Metrics per model, split and fold (see :func:`score_predictions`)."""
        if self.predictions.empty:
            return pd.DataFrame(columns=["model", "split", "fold", "n", *METRICS])
        return score_predictions(
            self.predictions,
            by=("model", "split", *self._measure_keys(), "fold"),
            lower_is_sensitive=self.lower_is_sensitive,
        )

    def _measure_keys(self) -> tuple[str, ...]:
        return ("measure",) if "measure" in self.predictions.columns else ()

    def metrics(self) -> pd.DataFrame:
        """Mean and fold-to-fold standard deviation (``<metric>_sd``) per model and split.

        Models not applicable to a split (a per-drug model under leave-drug-out) appear with
        their status and reason instead of metrics. ``measure`` is the response measure of the
        test truth (``ln_ic50``, ``auc``...); ``rmse`` is NaN where the model predicts another
        measure than the truth's (cross-study GDSC ln IC50 -> CTRP AUC).
        """
        fm = self.fold_metrics()
        keys = ["model", "split", *[k for k in self._measure_keys() if k in fm.columns]]
        g = fm.groupby(keys, sort=False)
        mean = g[["n", *METRICS]].agg({"n": "sum", **dict.fromkeys(METRICS, "mean")})
        sd = g[list(METRICS)].std(ddof=1).add_suffix("_sd")
        out = pd.concat([mean, sd], axis=1).reset_index()
        out.insert(len(keys), "n_folds", g.size().to_numpy())
        st = (
            self.fits.groupby(["model", "split"], sort=False)
            .agg(
                status=("status", lambda s: "ok" if (s == "ok").all() else s[s != "ok"].iloc[0]),
                reason=("reason", lambda s: "; ".join(sorted({r for r in s if r}))),
            )
            .reset_index()
        )
        out = st.merge(out, on=["model", "split"], how="left")
        out["is_baseline"] = out["model"].isin(self.fits.loc[self.fits["baseline"], "model"])
        return out

    def per_drug(self, *, per_fold: bool = False) -> pd.DataFrame:
        """Metrics per model, split and drug, computed within each outer fold.

        Each fold's metrics come from that fold's predictions only; the table gives their mean
        over folds and the fold-to-fold sd (``<metric>_sd``, ``n_folds``). Correlating folds
        pooled together would credit a baseline that is constant within each fold (the drug
        mean under leave-cell-line-out) with the differences between folds' training means.
        ``per_fold=True`` returns the rows of every fold instead.
        """
        return fold_group_metrics(
            self.predictions,
            "drug",
            by=("model", "split", *self._measure_keys()),
            per_fold=per_fold,
        )

    def per_cell_line(self, *, per_fold: bool = False) -> pd.DataFrame:
        """Metrics per model, split and cell line, within folds (see :meth:`per_drug`)."""
        return fold_group_metrics(
            self.predictions,
            "sample",
            by=("model", "split", *self._measure_keys()),
            per_fold=per_fold,
        )

    def to_frame(self) -> pd.DataFrame:
        """The per model and split metrics table (:meth:`metrics`)."""
        return self.metrics()

    def summary(self) -> str:
        """One line: models, splits, predictions and fits not ok."""
        models = ", ".join(dict.fromkeys(map(str, self.fits["model"])))
        splits = ", ".join(dict.fromkeys(map(str, self.fits["split"])))
        bad = int((self.fits["status"] != "ok").sum())
        return (
            f"Evaluation: models {models} on splits {splits}; {len(self.predictions)} "
            f"predictions, {len(self.fits)} fits, {bad} not ok"
        )


def _fit_one(
    name: str,
    model: Any,
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    X_te: pd.DataFrame,
    *,
    grid: Mapping[str, Sequence[Any]] | None,
    inner_groups: np.ndarray | None,
    n_inner: int,
    seed: int,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    info: dict[str, Any] = {"model": name, "status": "ok", "reason": "", "best_params": ""}
    est = clone(model)
    t0 = time.perf_counter()
    try:
        if grid:
            if inner_groups is None:
                inner: Any = KFold(n_splits=n_inner, shuffle=True, random_state=seed)
            else:
                inner = GroupKFold(n_splits=n_inner, shuffle=True, random_state=seed)
            search = GridSearchCV(
                est, dict(grid), cv=inner, scoring="neg_root_mean_squared_error", refit=True
            )
            search.fit(X_tr, y_tr, groups=inner_groups)
            est = search.best_estimator_
            info["best_params"] = repr(search.best_params_)
        else:
            est.fit(X_tr, y_tr)
        info["fit_seconds"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        yp = np.asarray(est.predict(X_te), dtype=float)
        info["predict_seconds"] = time.perf_counter() - t1
    except (ValueError, RuntimeError, ArithmeticError, MemoryError) as exc:
        # A failed fit is a result row, not an abort of the whole evaluation.
        info.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
        info["fit_seconds"] = time.perf_counter() - t0
        return None, info
    if not np.isfinite(yp).all():
        info.update(status="failed", reason="non-finite predictions")
        return None, info
    return yp, info


@dataclass(frozen=True)
class _FoldTask:
    """One outer fold, as sent to a worker (pickled for process and Dask executors).

    The unfitted models, the fold's training and test design rows and responses, the parameter
    grids and the inner-fold settings; the worker clones, tunes, fits and predicts, and sends
    back the prediction tables and fit rows. ``seed`` is that of the fold (``seed + k``), so a
    fold gives the same result on whichever worker runs it.
    """

    k: int
    X_tr: pd.DataFrame
    y_tr: np.ndarray
    X_te: pd.DataFrame
    y_te: np.ndarray
    y_true_base: np.ndarray | None
    models: Mapping[str, Any]
    split: str
    unseen_drugs: bool
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None
    inner_key: str | None
    tissue: pd.Series | None
    n_inner: int
    seed: int

    def __sizeof__(self) -> int:
        # what dask.sizeof reads (via sys.getsizeof) to scatter a large task, not inline it
        frames = (self.X_tr, self.X_te)
        return sum(int(f.memory_usage(index=True).sum()) for f in frames) + int(
            self.y_tr.nbytes + self.y_te.nbytes
        )


def _run_fold(task: _FoldTask) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Baseline, inner tuning, fit and prediction of every model on one outer fold."""
    k, X_tr, y_tr, X_te, y_te = task.k, task.X_tr, task.y_tr, task.X_te, task.y_te
    preds: list[pd.DataFrame] = []
    fits: list[dict[str, Any]] = []
    base = MeanEffects().fit(X_tr, y_tr).predict(X_te)
    inner_groups = None
    if task.inner_key is not None:
        inner_groups = _groups(X_tr, task.inner_key, task.tissue)
        n_g = 0 if inner_groups is None else len(np.unique(inner_groups))
        if n_g < task.n_inner:
            inner_groups = None  # too few groups for inner folds: pairs are used
    for name, model in task.models.items():
        row = {"split": task.split, "fold": k, "n_train": len(X_tr), "n_test": len(X_te)}
        row["baseline"] = bool(getattr(model, "is_baseline", False))
        if task.unseen_drugs and not getattr(model, "predicts_unseen_drugs", False):
            fits.append(
                {
                    **row,
                    "model": name,
                    "status": "not_applicable",
                    "reason": "per-drug model: cannot predict drugs absent from training",
                    "best_params": "",
                }
            )
            continue
        grid = (task.param_grids or {}).get(name)
        yp, info = _fit_one(
            name,
            model,
            X_tr,
            y_tr,
            X_te,
            grid=grid,
            inner_groups=inner_groups,
            n_inner=task.n_inner,
            seed=task.seed + k,
        )
        fits.append({**row, **info})
        if yp is not None:
            p = pd.DataFrame(
                {
                    "model": name,
                    "split": task.split,
                    "fold": k,
                    SAMPLE: X_te[SAMPLE].to_numpy(),
                    DRUG: X_te[DRUG].to_numpy(),
                    "y_true": y_te,
                    "y_pred": yp,
                    "y_base": base,
                }
            )
            if task.y_true_base is not None:
                p["y_true_base"] = task.y_true_base
            preds.append(p)
    return preds, fits


def _run(
    models: Mapping[str, Any],
    folds: Sequence[tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]],
    *,
    split: str,
    unseen_drugs: bool,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None,
    inner_key: str | None,
    tissue: pd.Series | None,
    n_inner: int,
    seed: int,
    y_true_base: Sequence[np.ndarray] | None,
    progress: bool,
    executor: str | Executor | None,
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    tasks = (
        _FoldTask(
            k,
            X_tr,
            y_tr,
            X_te,
            y_te,
            None if y_true_base is None else y_true_base[k],
            models,
            split,
            unseen_drugs,
            param_grids,
            inner_key,
            tissue,
            n_inner,
            seed,
        )
        for k, (X_tr, y_tr, X_te, y_te) in enumerate(folds)
    )
    results: Iterable[tuple[list[pd.DataFrame], list[dict[str, Any]]]]
    results = resolve_executor(executor).map(_run_fold, tasks)
    if progress:
        from .._progress import track

        results = track(results, total=len(folds), description=f"{split} folds", transient=True)
    preds: list[pd.DataFrame] = []
    fits: list[dict[str, Any]] = []
    # Folds come back in fold order whatever the executor: the tables are those of a serial run.
    for p, f in results:
        preds += p
        fits += f
    return preds, fits


def _measure(y: Any, given: str | None) -> str:
    """The response measure: given, else the name ``pair_frame`` gives ``y`` (panel metric)."""
    if given is not None:
        if not isinstance(given, str) or not given.strip():
            raise InputError(f"measure must be a name such as 'ln_ic50' or 'auc', got {given!r}")
        return given
    name = getattr(y, "name", None)
    return str(name) if isinstance(name, str) and name else "response"


def _finish(
    preds: list[pd.DataFrame],
    fits: list[dict[str, Any]],
    lower: bool,
    *,
    measure: str,
    train_measure: str | None = None,
) -> Evaluation:
    cols = ["model", "split", "fold", SAMPLE, DRUG, "y_true", "y_pred", "y_base"]
    pred = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(columns=cols)
    # the measure travels with every prediction row, so no summary can mix two on one RMSE
    pred["measure"] = measure
    if train_measure is not None:
        pred["train_measure"] = train_measure
    fit_cols = [
        "model",
        "split",
        "fold",
        "status",
        "reason",
        "best_params",
        "fit_seconds",
        "predict_seconds",
        "n_train",
        "n_test",
        "baseline",
    ]
    return Evaluation(pred, pd.DataFrame(fits).reindex(columns=fit_cols), lower_is_sensitive=lower)


def _check_models(models: Mapping[str, Any]) -> None:
    if not models:
        raise InputError("no models given; pass a mapping name -> estimator")
    for name, m in models.items():
        if not (hasattr(m, "fit") and hasattr(m, "predict")):
            raise InputError(f"model {name!r} is not an estimator (needs fit and predict)")


def evaluate(
    models: Mapping[str, Any],
    X: pd.DataFrame,
    y: Any,
    *,
    splits: Sequence[str] = ("pair", "cell_line"),
    n_splits: int = 5,
    tissue: pd.Series | None = None,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    n_inner: int = 3,
    lower_is_sensitive: bool = True,
    rng: int | np.random.Generator | None = 0,
    progress: bool = False,
    executor: str | Executor | None = None,
    measure: str | None = None,
) -> Evaluation:
    """Cross-validate models under each split, with the mean-effects baseline on every fold.

    Parameters
    ----------
    models
        Name -> unfitted estimator (see :data:`~oncoresist.predict.MODELS`). Include the
        baselines: they are the yardstick.
    X, y
        Design table and responses from :func:`~oncoresist.predict.pair_frame`.
    splits
        Any of :data:`SPLITS`.
    tissue
        Sample -> tissue, needed for the ``tissue`` split.
    param_grids
        Model name -> parameter grid, tuned on inner folds of each outer training set (grouped
        like the outer split), never on the test fold.
    lower_is_sensitive
        Direction of the response (IC50: True).
    measure
        The response measure (``ln_ic50``, ``auc``...), recorded in every prediction row and
        summary; default the name of ``y`` (``pair_frame`` names it after the panel's metric),
        else ``"response"``.
    executor
        Where the outer folds run: ``None``/``"serial"``, ``"threads"``, ``"processes"``, or
        any object with ``map(func, chunks)`` (see :func:`oncoresist.curves.resolve_executor`;
        a Dask executor fits there). One task per fold: a worker receives the unfitted models,
        the fold's training and test rows of ``X`` and ``y``, the parameter grids and the
        fold's seed, and returns the fold's predictions and fit rows. For processes and Dask
        these are pickled, so the models must be picklable (every registered model is).
        Folds are seeded by their index, not by the worker: the predictions and metrics are
        the serial ones, bit for bit (only ``fit_seconds`` / ``predict_seconds`` vary).

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame, MeanEffects, DrugMean
    >>> panel, _ = make_response_panel(n_samples=60, n_drugs=4, rng=0)
    >>> X, y = pair_frame(panel)
    >>> ev = evaluate({"drug_mean": DrugMean(), "mean_effects": MeanEffects()}, X, y,
    ...               splits=["cell_line"], n_splits=3)
    >>> ev.metrics()["status"].tolist()
    ['ok', 'ok']
    >>> ev_t = evaluate({"drug_mean": DrugMean(), "mean_effects": MeanEffects()}, X, y,
    ...                 splits=["cell_line"], n_splits=3, executor="threads")
    >>> ev_t.predictions.equals(ev.predictions)
    True
    """
    check_design(X)
    _check_models(models)
    _check_count(n_splits, "n_splits", minimum=2)
    _check_count(n_inner, "n_inner", minimum=2)
    if isinstance(splits, str) or not len(splits):
        raise InputError(f"splits must be a non-empty list of {SPLITS}, got {splits!r}")
    meas = _measure(y, measure)
    yy = np.asarray(y, dtype=float)
    if yy.shape != (len(X),):
        raise InputError(f"y has shape {yy.shape}, expected ({len(X)},) like X")
    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    X = X.reset_index(drop=True)
    preds: list[pd.DataFrame] = []
    fits: list[dict[str, Any]] = []
    for split in splits:
        folds = make_folds(X, split, n_splits=n_splits, tissue=tissue, rng=seed)
        data = [(X.iloc[tr], yy[tr], X.iloc[te], yy[te]) for tr, te in folds]
        p, f = _run(
            models,
            data,
            split=split,
            unseen_drugs=split == "drug",
            param_grids=param_grids,
            inner_key=None if split == "pair" else split,
            tissue=tissue,
            n_inner=n_inner,
            seed=seed,
            y_true_base=None,
            progress=progress,
            executor=executor,
        )
        preds += p
        fits += f
    return _finish(preds, fits, lower_is_sensitive, measure=meas)


def evaluate_cross_study(
    models: Mapping[str, Any],
    train: tuple[pd.DataFrame, Any],
    test: tuple[pd.DataFrame, Any],
    *,
    hold_out_cell_lines: bool = True,
    n_splits: int = 5,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    n_inner: int = 3,
    lower_is_sensitive: bool = True,
    rng: int | np.random.Generator | None = 0,
    progress: bool = False,
    executor: str | Executor | None = None,
    measures: tuple[str | None, str | None] = (None, None),
) -> Evaluation:
    """Train on one study, test on another on the drugs and cell lines they share.

    With ``hold_out_cell_lines`` the shared lines are split into ``n_splits`` groups and each
    test fold's lines are removed from the training study too (cross-study *and* new cell line);
    otherwise one model is trained on the whole training study (same lines, new assay).

    The two studies' responses may be on different scales (GDSC ln IC50 vs CTRP AUC):
    ``measures`` (train, test; default the names of the two ``y``, as ``pair_frame`` gives
    them) are recorded in the predictions (``train_measure``, ``measure``), and where they
    differ RMSE is NaN rather than a distance between two units. The normalised Pearson centres each side on its own study's drug means
    (``y_true_base`` = test drug means on the test fold's lines, ``y_base`` = the mean-effects
    baseline trained on the training study).

    ``executor`` runs the folds as in :func:`evaluate` (the same payload goes to each worker:
    picklable models, the fold's rows of both studies, its seed).

    Examples
    --------
    >>> ev = evaluate_cross_study(models, (X_gdsc, y_gdsc), (X_ctrp, y_ctrp))  # doctest: +SKIP
    """
    X_a, y_a = train
    X_b, y_b = test
    m_train, m_test = _measure(y_a, measures[0]), _measure(y_b, measures[1])
    _check_count(n_splits, "n_splits", minimum=2 if hold_out_cell_lines else 1)
    _check_count(n_inner, "n_inner", minimum=2)
    check_design(X_a, "train X")
    check_design(X_b, "test X")
    _check_models(models)
    ya, yb = np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)
    X_a, X_b = X_a.reset_index(drop=True), X_b.reset_index(drop=True)
    drugs = pd.Index(X_a[DRUG].unique()).intersection(pd.Index(X_b[DRUG].unique()))
    lines = pd.Index(X_a[SAMPLE].unique()).intersection(pd.Index(X_b[SAMPLE].unique()))
    if len(drugs) == 0 or len(lines) == 0:
        raise InputError(
            f"the studies share {len(drugs)} drug(s) and {len(lines)} cell line(s); map both to "
            "common identifiers first (oncoresist.data.Crosswalk for lines, drug names)"
        )
    keep_b = (X_b[DRUG].isin(drugs) & X_b[SAMPLE].isin(lines)).to_numpy()
    X_b, yb = X_b[keep_b].reset_index(drop=True), yb[keep_b]
    fa = [c for c in X_a.columns if c not in (SAMPLE, DRUG)]
    fb = [c for c in X_b.columns if c not in (SAMPLE, DRUG)]
    if fa != fb:
        raise InputError(
            "train and test design tables have different feature columns; build both with the "
            "same layers, genes and drug features"
        )
    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    if hold_out_cell_lines:
        gen = np.random.default_rng(seed)
        perm = gen.permutation(np.asarray(lines, dtype=object))
        chunks = np.array_split(perm, min(n_splits, len(lines)))
        data, tb = [], []
        for chunk in chunks:
            te_lines = set(chunk)
            tr = ~X_a[SAMPLE].isin(te_lines).to_numpy()
            te = X_b[SAMPLE].isin(te_lines).to_numpy()
            data.append((X_a[tr], ya[tr], X_b[te], yb[te]))
            tb.append(_drug_means(X_b[te], yb[te]))
        split = "cross_study_lco"
    else:
        data = [(X_a, ya, X_b, yb)]
        tb = [_drug_means(X_b, yb)]
        split = "cross_study"
    p, f = _run(
        models,
        data,
        split=split,
        unseen_drugs=False,
        param_grids=param_grids,
        inner_key="cell_line",
        tissue=None,
        n_inner=n_inner,
        seed=seed,
        y_true_base=tb,
        progress=progress,
        executor=executor,
    )
    return _finish(p, f, lower_is_sensitive, measure=m_test, train_measure=m_train)


def _drug_means(X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    s = pd.Series(y, index=X.index)
    return s.groupby(X[DRUG]).transform("mean").to_numpy()


def summarise_studies(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """Summary over several studies' evaluations that never puts two measures on one RMSE.

    Each study's :meth:`Evaluation.metrics` (means over its folds) is averaged over the studies
    that share a response measure: one row per ``model, split, measure`` with ``n_studies`` and
    ``studies``. When the studies have different measures (GDSC ln IC50, CTRP AUC), one more row
    per model and split, ``measure = "all (auc+ln_ic50)"``, averages the scale-free metrics
    (correlations, AUROC) over every study and leaves ``rmse`` NaN: an RMSE in ln IC50 units
    and one in AUC units have no common mean.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame, DrugMean
    >>> panel, _ = make_response_panel(n_samples=40, n_drugs=3, rng=0)
    >>> X, y = pair_frame(panel)
    >>> a = evaluate({"drug_mean": DrugMean()}, X, y, splits=["pair"], n_splits=2)
    >>> b = evaluate({"drug_mean": DrugMean()}, X, y / 10, splits=["pair"], n_splits=2,
    ...              measure="auc")
    >>> summarise_studies({"gdsc": a, "ctrp": b})["measure"].tolist()
    ['auc', 'ln_ic50', 'all (auc+ln_ic50)']
    """
    if not isinstance(evaluations, Mapping) or not evaluations:
        raise InputError("evaluations must be a non-empty mapping study name -> Evaluation")
    parts = []
    for study, ev in evaluations.items():
        if not isinstance(ev, Evaluation):
            raise InputError(f"study {study!r}: expected an Evaluation, got {type(ev).__name__}")
        s = ev.metrics()
        if "measure" not in s.columns:
            s["measure"] = "response"
        parts.append(s.assign(study=str(study)))
    table = pd.concat(parts, ignore_index=True)
    cols = [c for c in METRICS if c in table.columns]
    keys = ["model", "split", "measure"]
    g = table.groupby(keys, sort=True)
    out = g[cols].mean()
    out.insert(0, "studies", g["study"].agg(", ".join))
    out.insert(0, "n_studies", g.size())
    frames = [out.reset_index()]
    measures = sorted(table["measure"].astype(str).unique())
    if len(measures) > 1:
        g2 = table.groupby(["model", "split"], sort=True)
        mixed = g2[[c for c in cols if c != "rmse"]].mean()
        mixed.insert(0, "studies", g2["study"].agg(", ".join))
        mixed.insert(0, "n_studies", g2.size())
        mixed = mixed.reset_index().assign(measure=f"all ({'+'.join(measures)})", rmse=np.nan)
        frames.append(mixed)
    return pd.concat(frames, ignore_index=True)[[*keys, "n_studies", "studies", *cols]]
