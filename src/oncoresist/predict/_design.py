"""Design tables for drug-response models: one row per (sample, drug) pair.

Every model in :mod:`oncoresist.predict` takes the same input ``X``: a DataFrame with the
identifier columns ``sample`` and ``drug`` followed by numeric feature columns. Sample (omics)
features are named ``"<layer>:<gene>"`` (e.g. ``"expression:EGFR"``), drug features
``"drug:<feature>"`` (e.g. ``"drug:fp_0017"``, ``"drug:target=EGFR"``). Baselines only read the
identifiers; per-drug models read the sample features; global models read both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "DRUG",
    "DRUG_PREFIX",
    "SAMPLE",
    "drug_feature_columns",
    "drug_features",
    "morgan_fingerprints",
    "pair_frame",
    "sample_feature_columns",
    "sample_features",
    "target_onehot",
]

SAMPLE = "sample"
DRUG = "drug"
DRUG_PREFIX = "drug:"


def _show(items: Any, limit: int = 8) -> str:
    items = list(items)
    s = ", ".join(map(str, items[:limit]))
    return s + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def sample_feature_columns(X: pd.DataFrame) -> list[str]:
    """Names of the omics feature columns (``"<layer>:<gene>"``) of a design table."""
    return [
        c for c in X.columns if isinstance(c, str) and ":" in c and not c.startswith(DRUG_PREFIX)
    ]


def drug_feature_columns(X: pd.DataFrame) -> list[str]:
    """Names of the drug feature columns (``"drug:..."``) of a design table."""
    return [c for c in X.columns if isinstance(c, str) and c.startswith(DRUG_PREFIX)]


def check_design(X: Any, where: str = "X") -> pd.DataFrame:
    """Validate a design table: a DataFrame with ``sample`` and ``drug`` columns."""
    if not isinstance(X, pd.DataFrame):
        raise InputError(
            f"{where} must be a pandas DataFrame with columns 'sample', 'drug' and features "
            f"(build it with oncoresist.predict.pair_frame), got {type(X).__name__}"
        )
    missing = [c for c in (SAMPLE, DRUG) if c not in X.columns]
    if missing:
        raise InputError(
            f"{where} lacks the identifier column(s) {missing}; build it with "
            "oncoresist.predict.pair_frame(panel)"
        )
    return X


def sample_features(
    layers: Mapping[str, pd.DataFrame],
    *,
    dtype: Any = np.float32,
) -> pd.DataFrame:
    """Concatenate omics layers into one samples x ``"<layer>:<gene>"`` feature table.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"TP53": [0, 1]}, index=["a", "b"])
    >>> list(sample_features({"mutation": m}).columns)
    ['mutation:TP53']
    """
    if not layers:
        raise InputError("no omics layers given; a model needs at least one layer of features")
    parts = []
    for name, lay in layers.items():
        if ":" in name:
            raise InputError(f"layer name {name!r} must not contain ':'")
        part = lay.astype(dtype)
        part.columns = pd.Index([f"{name}:{g}" for g in lay.columns])
        parts.append(part)
    out = pd.concat(parts, axis=1)
    out.index.name = SAMPLE
    return out


def morgan_fingerprints(
    smiles: pd.Series,
    *,
    n_bits: int = 256,
    radius: int = 2,
) -> pd.DataFrame:
    """Morgan (ECFP-like) bit fingerprints from SMILES, one row per drug (needs RDKit).

    Drugs without SMILES or with SMILES that RDKit cannot parse are an error naming them: a
    missing fingerprint is never filled with zeros (an all-zero fingerprint is a real molecule
    description, "no substructure", and would silently mislead the model).

    Examples
    --------
    >>> import pandas as pd
    >>> fp = morgan_fingerprints(pd.Series({"ethanol": "CCO"}), n_bits=64)  # doctest: +SKIP
    >>> fp.shape  # doctest: +SKIP
    (1, 64)
    """
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import rdFingerprintGenerator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            "drug fingerprints need RDKit: pip install 'oncoresist[predict]' (or rdkit)"
        ) from exc
    missing = smiles.index[smiles.isna() | (smiles.astype(str).str.strip() == "")]
    if len(missing):
        raise InputError(
            f"{len(missing)} drug(s) have no SMILES: {_show(missing)}. Give their SMILES in the "
            "drug annotations ('smiles' column), drop them (panel.subset(drugs=...)), or use a "
            "model without drug structure features"
        )
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    rows = np.zeros((len(smiles), n_bits), dtype=np.float32)
    bad: list[Any] = []
    for i, (drug, smi) in enumerate(smiles.items()):
        mol = Chem.MolFromSmiles(str(smi))
        if mol is None:
            bad.append(drug)
            continue
        rows[i] = gen.GetFingerprintAsNumPy(mol)
    if bad:
        raise InputError(f"RDKit cannot parse the SMILES of {len(bad)} drug(s): {_show(bad)}")
    cols = [f"{DRUG_PREFIX}fp_{k:04d}" for k in range(n_bits)]
    return pd.DataFrame(rows, index=smiles.index, columns=cols)


def target_onehot(targets: pd.Series, *, sep: str = ",") -> pd.DataFrame:
    """One-hot drug targets (a drug may list several, separated by ``sep``).

    Drugs without a target get an explicit ``drug:target=unknown`` indicator, not zeros only.

    Examples
    --------
    >>> import pandas as pd
    >>> target_onehot(pd.Series({"a": "EGFR, ERBB2", "b": None})).columns.tolist()
    ['drug:target=EGFR', 'drug:target=ERBB2', 'drug:target=unknown']
    """
    split = targets.fillna("").astype(str).str.split(sep)
    lists = [sorted({t.strip() for t in lst if t.strip()}) or ["unknown"] for lst in split]
    names = sorted({t for lst in lists for t in lst})
    out = np.zeros((len(lists), len(names)), dtype=np.float32)
    pos = {n: i for i, n in enumerate(names)}
    for r, lst in enumerate(lists):
        out[r, [pos[t] for t in lst]] = 1.0
    return pd.DataFrame(
        out, index=targets.index, columns=[f"{DRUG_PREFIX}target={n}" for n in names]
    )


def drug_features(
    annotations: pd.DataFrame,
    *,
    fingerprints: bool = True,
    targets: bool = True,
    n_bits: int = 256,
) -> pd.DataFrame:
    """Drug feature table (fingerprints from the ``smiles`` column, one-hot ``target``).

    Examples
    --------
    >>> import pandas as pd
    >>> ann = pd.DataFrame({"target": ["EGFR"]}, index=["erlotinib"])
    >>> drug_features(ann, fingerprints=False).columns.tolist()
    ['drug:target=EGFR']
    """
    parts = []
    if fingerprints:
        if "smiles" not in annotations:
            raise InputError(
                "drug annotations have no 'smiles' column; fingerprints need SMILES "
                "(or pass fingerprints=False)"
            )
        parts.append(morgan_fingerprints(annotations["smiles"], n_bits=n_bits))
    if targets and "target" in annotations:
        parts.append(target_onehot(annotations["target"]))
    if not parts:
        raise InputError(
            "no drug features requested or available (need a 'smiles' or 'target' column)"
        )
    out = pd.concat(parts, axis=1)
    out.index.name = DRUG
    return out


def pair_frame(
    panel: Any,
    *,
    layers: Sequence[str] | None = None,
    drug_table: pd.DataFrame | None = None,
    dtype: Any = np.float32,
) -> tuple[pd.DataFrame, pd.Series]:
    """Design table ``X`` and response ``y`` for every measured (sample, drug) pair of a Panel.

    Parameters
    ----------
    panel
        An :class:`oncoresist.data.Panel` (responses + omics layers).
    layers
        Layers to use (default: all).
    drug_table
        Optional drug features (drugs x ``"drug:..."``, e.g. from :func:`drug_features`). Drugs
        of the panel missing from it are an error naming them.

    Returns
    -------
    X, y
        ``X`` has columns ``sample, drug`` then features; ``y`` is the response (named after the
        panel's metric). Pairs whose sample has no omics at all are dropped and counted in
        ``X.attrs["n_dropped_no_omics"]`` (with the sample ids in ``X.attrs["dropped_samples"]``).

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel
    >>> panel, truth = make_response_panel(n_samples=50, n_drugs=3, rng=0)
    >>> X, y = pair_frame(panel)
    >>> X.shape[0] == y.size
    True
    """
    names = list(panel.layers) if layers is None else list(layers)
    S = sample_features({n: panel.layer(n) for n in names}, dtype=dtype)
    no_omics = S.index[S.isna().all(axis=1)]
    long = panel.responses.rename_axis(index=SAMPLE, columns=DRUG).stack().dropna()
    long = long.rename(panel.metric)
    ids = long.index.to_frame(index=False)
    keep = ~ids[SAMPLE].isin(no_omics).to_numpy()
    ids, y = ids[keep].reset_index(drop=True), long[keep].reset_index(drop=True)
    X = pd.concat([ids, S.reindex(ids[SAMPLE]).reset_index(drop=True)], axis=1)
    if drug_table is not None:
        miss = pd.Index(ids[DRUG].unique()).difference(drug_table.index)
        if len(miss):
            raise InputError(
                f"drug_table lacks {len(miss)} drug(s) of the panel: {_show(miss)}; "
                "subset the panel to drugs with features first"
            )
        D = drug_table.reindex(ids[DRUG]).reset_index(drop=True).astype(dtype)
        X = pd.concat([X, D], axis=1)
    X.attrs["n_dropped_no_omics"] = int((~keep).sum())
    X.attrs["dropped_samples"] = [str(s) for s in no_omics]
    return X, y
