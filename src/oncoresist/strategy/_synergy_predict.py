"""Synergy prediction for drug pairs in a cell line, evaluated against naive baselines.

Features of one (drug a, drug b, cell line) row:

* drugs -- Morgan fingerprints (radius 2, ``n_bits`` bits, RDKit) from each drug's SMILES; a pair
  is order-free as the *sum* and the *absolute difference* of its two fingerprints (so
  ``(a, b)`` and ``(b, a)`` have the same features). Without RDKit (optional extra
  ``predict``) each drug is a one-hot identity vector instead (said in ``notes``), which cannot
  generalise to an unseen drug.
* cell line -- the first principal components of its standardised expression (HypergraphSynergy's
  COSMIC cancer-gene expression; PCA fitted on the data set's lines, label-free). Lines with no
  expression profile get missing features (the gradient-boosting models route them natively).

Model: LightGBM (optional extra ``predict``; scikit-learn ``HistGradientBoostingRegressor`` as
``model="hist_gbm"`` and the fallback), modest size so a full O'Neil evaluation trains in about
a minute on two cores.

Splits (5-fold; the fold seed is derived from ``rng`` as in
:func:`oncoresist.predict.make_folds`):

``pair``      leave-pair-out: unordered drug pairs grouped (GroupKFold), as DeepSynergy did.
``drug``      leave-drug-out: drugs are dealt into folds; the test rows of fold *k* are those
              with at least one drug of fold *k*, the training rows those with neither (a row
              whose two drugs fall in different folds is tested twice).
``cell_line`` leave-cell-line-out: cell lines grouped (GroupKFold).
``published`` the data set's own ``fold`` column (DeepSynergy's published O'Neil folds).

Baselines, estimated on the training rows of each fold only: ``global_mean``; ``pair_mean``
(the pair's mean over lines; unseen pair -> global mean); ``additive_drug_means`` (least squares
``y = mu + beta_a + beta_b`` on drug indicators, the minimum-norm solution, so an unseen drug
contributes 0); ``cell_line_mean`` (unseen line -> global mean). Metrics per fold: Pearson,
Spearman and RMSE (:mod:`oncoresist.predict._metrics`), summarised as fold mean and sd.

Reference: Preuer et al., Bioinformatics 34:1538 (2018), DeepSynergy, Pearson 0.73 on the
O'Neil data (Loewe) over their five leave-pair-out folds.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from oncoresist._results import ResultMixin
from oncoresist.errors import InputError
from oncoresist.predict._metrics import pearson, spearman

__all__ = [
    "SynergyData",
    "SynergyPredictionEvaluation",
    "SynergyPredictor",
    "evaluate_synergy_prediction",
    "fit_synergy_predictor",
    "load_synergy_data",
]

SPLITS = ("pair", "drug", "cell_line", "published")
MODELS = ("lightgbm", "hist_gbm")
BASELINES = ("global_mean", "pair_mean", "additive_drug_means", "cell_line_mean")
METRICS = ("pearson", "spearman", "rmse")
DEEPSYNERGY_PEARSON = 0.73
_HG = "hypergraphsynergy_almanac_oneil"


@dataclass(frozen=True)
class SynergyData:
    """Synergy rows with aligned drug and cell-line features.

    ``table`` has ``drug_a``, ``drug_b``, ``cell_line``, ``synergy`` (and optionally ``fold``);
    ``drug_features`` is indexed by drug, ``cell_features`` by cell line (missing lines get
    NaN features).
    """

    table: pd.DataFrame
    drug_features: pd.DataFrame
    cell_features: pd.DataFrame
    source: str
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        need = {"drug_a", "drug_b", "cell_line", "synergy"}
        miss = need - set(self.table.columns)
        if miss:
            raise InputError(f"synergy table lacks column(s) {sorted(miss)}; needs {sorted(need)}")
        drugs = set(self.table["drug_a"]) | set(self.table["drug_b"])
        nofeat = sorted(drugs - set(self.drug_features.index))
        if nofeat:
            raise InputError(f"{len(nofeat)} drug(s) have no features: {nofeat[:8]}")
        if not np.isfinite(self.table["synergy"].to_numpy(dtype=float)).all():
            raise InputError("synergy has missing or infinite values; drop those rows first")


def _morgan(smiles: pd.Series, n_bits: int) -> tuple[pd.DataFrame, str]:
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import rdFingerprintGenerator
    except ImportError:
        eye = pd.DataFrame(np.eye(len(smiles)), index=smiles.index)
        eye.columns = [f"drug_{i}" for i in range(len(smiles))]
        return eye, (
            "RDKit is not installed (optional extra 'predict'): drugs are one-hot identities, "
            "so leave-drug-out cannot generalise"
        )
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=n_bits)
    rows: list[np.ndarray] = []
    bad: list[str] = []
    for name, smi in smiles.items():
        mol = Chem.MolFromSmiles(str(smi))
        if mol is None:
            bad.append(str(name))
            rows.append(np.zeros(n_bits))
        else:
            rows.append(gen.GetFingerprintAsNumPy(mol).astype(float))
    out = pd.DataFrame(np.vstack(rows), index=smiles.index)
    out.columns = [f"fp_{i}" for i in range(n_bits)]
    note = f"Morgan fingerprints (radius 2, {n_bits} bits, RDKit) from SMILES"
    if bad:
        note += f"; {len(bad)} SMILES unparsable (zero fingerprint): {bad}"
    return out, note


def _expression_pcs(expr: pd.DataFrame, n_components: int) -> pd.DataFrame:
    x = expr.to_numpy(dtype=float)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    k = min(n_components, len(s) - 1)
    out = pd.DataFrame(u[:, :k] * s[:k], index=expr.index)
    out.columns = [f"expr_pc{i + 1}" for i in range(k)]
    return out


def _norm(name: str) -> str:
    return re.sub("[^A-Z0-9]", "", str(name).upper())


def load_synergy_data(
    dataset: str = "oneil", *, n_bits: int = 256, n_components: int = 16
) -> SynergyData:
    """O'Neil (DeepSynergy's labels and folds) or NCI-ALMANAC (HypergraphSynergy) with features.

    Examples
    --------
    >>> data = load_synergy_data("oneil")  # doctest: +SKIP
    >>> len(data.table)  # doctest: +SKIP
    23052
    """
    from oncoresist.data._datasets import fetch_file

    if dataset not in ("oneil", "almanac"):
        raise InputError(f"dataset must be 'oneil' or 'almanac', got {dataset!r}")
    sub = "ONEIL-COSMIC" if dataset == "oneil" else "ALMANAC-COSMIC"
    smiles = pd.read_csv(fetch_file(_HG, f"{sub}/drug_smiles.csv"))
    expr = pd.read_csv(fetch_file(_HG, f"{sub}/cell_line_gene_expression.csv"))
    expr = expr.set_index(expr.columns[0])
    notes: list[str] = []
    if dataset == "oneil":
        lab = pd.read_csv(fetch_file("deepsynergy_oneil", "labels.csv.gz"), index_col=0)
        table = lab.rename(columns={"drug_a_name": "drug_a", "drug_b_name": "drug_b"})
        table = table[["drug_a", "drug_b", "cell_line", "synergy", "fold"]].reset_index(drop=True)
        # DeepSynergy spells lines without punctuation; match on letters and digits, plus the
        # two unambiguous short names.
        alias = {_norm(n): n for n in expr.index} | {
            "LNCAP": "LNCaP-Clone-FGC",
            "MSTO": "MSTO-211H",
        }
        lines = sorted(table["cell_line"].unique())
        mapped = {c: alias.get(_norm(c)) for c in lines}
        absent = sorted(c for c, m in mapped.items() if m is None)
        cell = _expression_pcs(expr, n_components)
        cell = cell.reindex([mapped[c] for c in lines])
        cell.index = pd.Index(lines)
        n_abs = int(table["cell_line"].isin(absent).sum())
        notes.append(
            f"O'Neil: {len(table):,} rows (DeepSynergy labels, Loewe, with their published "
            f"folds); {len(absent)} of {len(lines)} lines have no HypergraphSynergy expression "
            f"profile ({n_abs:,} rows, kept with missing cell features): {absent}"
        )
        source = "deepsynergy_oneil labels + hypergraphsynergy_almanac_oneil ONEIL-COSMIC features"
    else:
        syn = pd.read_csv(fetch_file(_HG, f"{sub}/drug_synergy.csv.gz"))
        name = dict(zip(smiles["pubchemid"], smiles["name"], strict=True))
        unknown = sorted((set(syn["drug_a"]) | set(syn["drug_b"])) - set(name))
        if unknown:
            raise InputError(f"ALMANAC drugs without SMILES: {unknown[:8]}")
        table = pd.DataFrame(
            {
                "drug_a": syn["drug_a"].map(name),
                "drug_b": syn["drug_b"].map(name),
                "cell_line": syn["cell_line"].astype(str),
                "synergy": syn["synergy"].astype(float),
            }
        )
        cell = _expression_pcs(expr, n_components).reindex(sorted(table["cell_line"].unique()))
        notes.append(
            f"NCI-ALMANAC: {len(table):,} rows (HypergraphSynergy's ALMANAC-COSMIC, ComboScore), "
            f"{len(name)} drugs, {table['cell_line'].nunique()} lines; no published folds"
        )
        source = "hypergraphsynergy_almanac_oneil ALMANAC-COSMIC"
    fp, note = _morgan(smiles.set_index("name")["isosmiles"], n_bits)
    notes.append(note)
    notes.append(
        f"cell lines: first {cell.shape[1]} principal components of standardised COSMIC "
        "cancer-gene expression (PCA over the data set's lines, label-free)"
    )
    return SynergyData(table, fp, cell, source, tuple(notes))


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.where(a <= b, a, b)
    hi = np.where(a <= b, b, a)
    return np.char.add(np.char.add(lo.astype(str), " + "), hi.astype(str))


def _features(data: SynergyData, table: pd.DataFrame) -> np.ndarray:
    fa = data.drug_features.loc[table["drug_a"]].to_numpy(dtype=float)
    fb = data.drug_features.loc[table["drug_b"]].to_numpy(dtype=float)
    cf = data.cell_features.reindex(table["cell_line"]).to_numpy(dtype=float)
    return np.hstack([fa + fb, np.abs(fa - fb), cf]).astype(np.float32)


def _make_model(model: str, rng: int) -> Any:
    if model == "lightgbm":
        try:
            import lightgbm as lgb
        except ImportError:
            model = "hist_gbm"
        else:
            return lgb.LGBMRegressor(
                n_estimators=300,
                learning_rate=0.05,
                num_leaves=31,
                min_child_samples=20,
                colsample_bytree=0.5,
                subsample=0.8,
                subsample_freq=1,
                n_jobs=2,
                random_state=rng,
                verbose=-1,
            )
    if model == "hist_gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.05, max_leaf_nodes=31, random_state=rng
        )
    raise InputError(f"model must be one of {MODELS}, got {model!r}")


def _baselines(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Naive predictions for ``test`` from ``train`` (see the module docstring)."""
    y = train["synergy"].to_numpy(dtype=float)
    mu = float(y.mean())
    pk_tr = _pair_key(train["drug_a"].to_numpy(), train["drug_b"].to_numpy())
    pk_te = _pair_key(test["drug_a"].to_numpy(), test["drug_b"].to_numpy())
    pair = pd.Series(y).groupby(pk_tr).mean()
    line = pd.Series(y).groupby(train["cell_line"].to_numpy()).mean()
    drugs = pd.Index(sorted(set(train["drug_a"]) | set(train["drug_b"])))
    ia = drugs.get_indexer(train["drug_a"])
    ib = drugs.get_indexer(train["drug_b"])
    design = np.zeros((len(train), len(drugs) + 1))
    design[:, -1] = 1.0
    rows = np.arange(len(train))
    np.add.at(design, (rows, ia), 1.0)
    np.add.at(design, (rows, ib), 1.0)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    beta = pd.Series(coef[:-1], index=drugs)
    add = (
        coef[-1]
        + test["drug_a"].map(beta).fillna(0.0).to_numpy()
        + test["drug_b"].map(beta).fillna(0.0).to_numpy()
    )
    return {
        "global_mean": np.full(len(test), mu),
        "pair_mean": pd.Series(pk_te).map(pair).fillna(mu).to_numpy(dtype=float),
        "additive_drug_means": add,
        "cell_line_mean": test["cell_line"].map(line).fillna(mu).to_numpy(dtype=float),
    }


def _seed(rng: int | np.random.Generator | None) -> int:
    return int(np.random.default_rng(rng).integers(2**31 - 1))


def _folds(
    table: pd.DataFrame, split: str, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    a, b = table["drug_a"].to_numpy(), table["drug_b"].to_numpy()
    idx = np.arange(len(table))
    if split == "published":
        if "fold" not in table.columns:
            raise InputError("split 'published' needs a 'fold' column (O'Neil has DeepSynergy's)")
        f = table["fold"].to_numpy()
        return [(idx[f != k], idx[f == k]) for k in np.unique(f)]
    if split == "drug":
        drugs = np.array(sorted(set(a) | set(b)), dtype=object)
        if len(drugs) < n_folds:
            raise InputError(f"split 'drug' needs at least {n_folds} drugs, found {len(drugs)}")
        perm = np.random.default_rng(seed).permutation(len(drugs))
        fold_of = pd.Series(np.arange(len(drugs)) % n_folds, index=drugs[perm])
        fa, fb = fold_of.loc[a].to_numpy(), fold_of.loc[b].to_numpy()
        out = []
        for k in range(n_folds):
            hit = (fa == k) | (fb == k)
            out.append((idx[~hit], idx[hit]))
        return out
    if split == "pair":
        groups = _pair_key(a, b)
    elif split == "cell_line":
        groups = table["cell_line"].astype(str).to_numpy()
    else:
        raise InputError(f"unknown split {split!r}; choose from {SPLITS}")
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise InputError(f"split {split!r} needs at least 2 groups, found {n_groups}")
    cv = GroupKFold(n_splits=min(n_folds, n_groups), shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(table, groups=groups)]


def _score(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    const = bool(np.ptp(p) == 0 or np.ptp(y) == 0)  # correlation undefined: NaN, no warning
    return {
        "pearson": float("nan") if const else pearson(p, y),
        "spearman": float("nan") if const else spearman(p, y),
        "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
    }


@dataclass(frozen=True)
class SynergyPredictionEvaluation(ResultMixin):
    """Cross-validated synergy prediction: ``metrics`` (split x model x metric, fold mean and
    sd), ``fold_metrics`` (one row per fold), ``timings`` (training seconds per split), and
    ``notes`` (data, features, what was dropped or missing)."""

    dataset: str
    metrics: pd.DataFrame
    fold_metrics: pd.DataFrame
    timings: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The long table ``split, model, metric, mean, sd, n_folds``."""
        return self.metrics.copy()

    def summary(self) -> str:
        """One line: data set, splits, models and metrics evaluated."""
        m = self.metrics

        def names(col: str) -> str:
            return ", ".join(dict.fromkeys(map(str, m[col]))) if col in m else ""

        return (
            f"SynergyPredictionEvaluation on {self.dataset}: models {names('model')}; splits "
            f"{names('split')}; metrics {names('metric')}"
        )

    def metric_table(self) -> pd.DataFrame:
        """Fold-mean metric per split (rows) and model (columns), one block per metric."""
        return self.metrics.pivot_table(
            index=["metric", "model"], columns="split", values="mean", sort=False
        )


def _resolve(dataset: str | SynergyData, max_rows: int | None, rng: int) -> SynergyData:
    data = dataset if isinstance(dataset, SynergyData) else load_synergy_data(dataset)
    if max_rows is not None:
        if not isinstance(max_rows, int | np.integer) or max_rows < 10:
            raise InputError(f"max_rows must be an integer >= 10 or None, got {max_rows!r}")
        if max_rows < len(data.table):
            keep = np.sort(
                np.random.default_rng(rng).choice(len(data.table), max_rows, replace=False)
            )
            t = data.table.iloc[keep].reset_index(drop=True)
            note = f"subsampled to {max_rows:,} of {len(data.table):,} rows (seed {rng})"
            data = SynergyData(
                t, data.drug_features, data.cell_features, data.source, (*data.notes, note)
            )
    return data


def evaluate_synergy_prediction(
    dataset: str | SynergyData = "oneil",
    *,
    splits: Sequence[str] = ("pair", "drug", "cell_line", "published"),
    n_folds: int = 5,
    model: str = "lightgbm",
    rng: int = 0,
    max_rows: int | None = None,
) -> SynergyPredictionEvaluation:
    """Cross-validate the synergy model and the naive baselines on the same folds.

    ``dataset`` is ``"oneil"``, ``"almanac"`` or a :class:`SynergyData`. ``published`` is
    skipped (with a note) for data without a ``fold`` column.

    Examples
    --------
    >>> ev = evaluate_synergy_prediction("oneil", splits=("pair",))  # doctest: +SKIP
    >>> ev.metric_table()  # doctest: +SKIP
    """
    if isinstance(splits, str):
        splits = (splits,)
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise InputError(f"unknown split(s) {bad}; choose from {SPLITS}")
    if not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise InputError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    _make_model(model, rng)  # validates the name
    data = _resolve(dataset, max_rows, rng)
    table = data.table.reset_index(drop=True)
    notes = list(data.notes)
    x = _features(data, table)
    y = table["synergy"].to_numpy(dtype=float)
    seed = _seed(rng)
    name = data.source if isinstance(dataset, SynergyData) else dataset
    rows: list[dict[str, Any]] = []
    times: list[dict[str, Any]] = []
    for split in splits:
        if split == "published" and "fold" not in table.columns:
            notes.append(f"{name}: no published folds; split 'published' skipped")
            continue
        folds = _folds(table, split, n_folds, seed)
        fit_s = 0.0
        for k, (tr, te) in enumerate(folds):
            t0 = time.perf_counter()
            est = _make_model(model, rng).fit(x[tr], y[tr])
            fit_s += time.perf_counter() - t0
            preds = {model: est.predict(x[te])} | _baselines(table.iloc[tr], table.iloc[te])
            for m, p in preds.items():
                rows.append({"split": split, "fold": k, "model": m, "n_test": len(te)})
                rows[-1].update(_score(y[te], np.asarray(p, dtype=float)))
        times.append(
            {"split": split, "model": model, "n_folds": len(folds), "train_seconds": fit_s}
        )
    fm = pd.DataFrame(rows)
    long = fm.melt(
        id_vars=["split", "fold", "model", "n_test"], value_vars=list(METRICS), var_name="metric"
    )
    metrics = (
        long.groupby(["split", "model", "metric"], sort=False)["value"]
        .agg(mean="mean", sd="std", n_folds="count")
        .reset_index()
    )
    if model == "lightgbm" and type(_make_model(model, rng)).__name__ != "LGBMRegressor":
        notes.append("LightGBM is not installed; scikit-learn HistGradientBoosting used")
    if name == "oneil":
        notes.append(
            f"reference: DeepSynergy (Preuer et al. 2018) Pearson {DEEPSYNERGY_PEARSON} on the "
            "published folds"
        )
    return SynergyPredictionEvaluation(str(name), metrics, fm, pd.DataFrame(times), tuple(notes))


class SynergyPredictor:
    """A synergy model fitted on all rows of a data set; ``predict(drug_a, drug_b, cell_line)``.

    Created by :func:`fit_synergy_predictor`. Learned attributes: ``model_`` (the fitted
    regressor), ``drugs_`` and ``cell_lines_`` (the names it has features for), ``notes_``.
    """

    def __init__(self, data: SynergyData, model: Any, notes: tuple[str, ...]) -> None:
        self._data = data
        self.model_ = model
        self.drugs_ = tuple(sorted(data.drug_features.index))
        self.cell_lines_ = tuple(sorted(set(map(str, data.table["cell_line"]))))
        self.notes_ = notes

    def with_drugs(self, smiles: Mapping[str, str]) -> SynergyPredictor:
        """The same fitted model, also knowing the drugs of ``smiles`` (name -> SMILES) by their
        structure (Morgan fingerprints of the training data's size). Predictions for such a drug
        are leave-drug-out predictions: weak (see :func:`evaluate_synergy_prediction`)."""
        new = {str(k): str(v) for k, v in smiles.items() if str(k) not in self.drugs_}
        if not new:
            return self
        n_bits = self._data.drug_features.shape[1]
        fp, _ = _morgan(pd.Series(new), n_bits)
        if list(fp.columns) != list(self._data.drug_features.columns):
            raise InputError("drug features of the fitted model are not fingerprints (RDKit "
                             "missing at fit time?): cannot add drugs by structure")  # fmt: skip
        data = dataclasses.replace(
            self._data, drug_features=pd.concat([self._data.drug_features, fp])
        )
        return SynergyPredictor(data, self.model_, self.notes_)

    def predict(
        self,
        drug_a: str | Sequence[str],
        drug_b: str | Sequence[str],
        cell_line: str | Sequence[str],
    ) -> np.ndarray:
        """Predicted synergy (the training data's scale: Loewe for O'Neil, ComboScore for
        ALMANAC) for each row; scalars broadcast."""
        a, b, c = np.broadcast_arrays(
            np.atleast_1d(np.asarray(drug_a, dtype=object)),
            np.atleast_1d(np.asarray(drug_b, dtype=object)),
            np.atleast_1d(np.asarray(cell_line, dtype=object)),
        )
        for what, vals, known in (
            ("drug", np.concatenate([a, b]), self.drugs_),
            ("cell line", c, self.cell_lines_),
        ):
            miss = sorted(set(map(str, vals)) - set(known))
            if miss:
                raise InputError(
                    f"unknown {what}(s) {miss[:8]} for the synergy model of {self._data.source}; "
                    f"known: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}"
                )
        table = pd.DataFrame({"drug_a": a, "drug_b": b, "cell_line": c})
        return np.asarray(self.model_.predict(_features(self._data, table)), dtype=float)


def fit_synergy_predictor(
    dataset: str | SynergyData = "oneil",
    *,
    model: str = "lightgbm",
    rng: int = 0,
    max_rows: int | None = None,
) -> SynergyPredictor:
    """Fit the synergy model on all rows of ``dataset`` for ranking new pairs.

    Examples
    --------
    >>> pred = fit_synergy_predictor("oneil")  # doctest: +SKIP
    >>> pred.predict("5-FU", "MK-8776", "A2058")  # doctest: +SKIP
    """
    data = _resolve(dataset, max_rows, rng)
    est = _make_model(model, rng)
    est.fit(_features(data, data.table), data.table["synergy"].to_numpy(dtype=float))
    return SynergyPredictor(data, est, data.notes)
