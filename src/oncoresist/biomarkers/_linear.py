"""Vectorised drug x feature association tests (GDSC-style ANOVA and partial correlation).

For one drug the covariate design (intercept, tissue, MSI, medium) is shared by every feature, so
by the Frisch-Waugh-Lovell theorem the F-test of the feature term in ``response ~ covariates +
feature`` only needs the response residualised on the covariates (one QR per drug) and, per
feature, ``x' r_y`` and ``x' x - ||Q' x||^2``. All features of a drug are tested with two matrix
products; the only Python loop is over drugs (and over tissues in per-tissue mode). Group sizes,
means and standard deviations of all drug x feature pairs come from products of the response
matrix (masked for missing values) with the feature matrix.

The model reproduces the GDSC ANOVA (Garnett et al. 2012; Iorio et al. 2016; gdsctools): the
feature is entered last after tissue and MSI, so its sequential (type I) F-test equals the
type II one, and the default filters are those of gdsctools (at least 6 responses per drug, at
least 3 samples in each feature group, MSI entered when both MSI groups have at least 2 lines).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from .._results import ResultMixin
from ..curves._executors import Executor, resolve_executor
from ..data._panel import Panel
from ..errors import InputError

__all__ = ["AssociationResult", "anova_associations", "linear_associations"]

_DEFAULT_COVARIATES = ("tissue", "msi", "medium")

_TABLE_COLUMNS = [
    "drug",
    "feature",
    "layer",
    "tissue",
    "n_samples",
    "n_pos",
    "n_neg",
    "mean_pos",
    "mean_neg",
    "mean_diff",
    "cohens_d",
    "glass_delta_pos",
    "glass_delta_neg",
    "beta",
    "partial_r",
    "statistic",
    "df_resid",
    "pvalue",
    "fdr",
    "association",
    "covariates",
]
_NOT_JOINED = ("smiles", "isomeric_smiles", "canonical_smiles")
_SKIP_COLUMNS = ["drug", "feature", "layer", "tissue", "reason", "n_tests"]


@dataclass(frozen=True, repr=False)
class AssociationResult(ResultMixin):
    """Tidy association table plus every skipped test.

    Attributes
    ----------
    table
        One row per test performed: ``drug, feature, layer, tissue, n_samples, n_pos, n_neg,
        mean_pos, mean_neg, mean_diff, cohens_d, glass_delta_pos, glass_delta_neg, beta,
        partial_r, statistic, df_resid, pvalue, fdr, association, covariates`` (binary tests fill
        the group columns, continuous tests leave them NaN), sorted by p-value, with drug
        annotations (``drug_name``, ``target``...) appended when the panel has them.
    skipped
        One row per skipped test or group of tests: ``drug, feature, layer, tissue, reason,
        n_tests`` (``feature == "<all>"`` stands for all features of a drug).
    excluded_samples
        Samples left out of every test (missing covariates), with the reason.
    settings
        The options used (filters, covariates, mode).
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    excluded_samples: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The tidy result table (a copy)."""
        return self.table.copy()

    @property
    def n_tests(self) -> int:
        """Number of tests performed."""
        return len(self.table)

    @property
    def n_skipped(self) -> int:
        """Number of drug x feature tests skipped, all reasons together."""
        return int(self.skipped["n_tests"].sum()) if len(self.skipped) else 0

    def skipped_summary(self) -> pd.Series:
        """Number of skipped tests per reason."""
        if not len(self.skipped):
            return pd.Series(dtype=int, name="n_tests")
        return self.skipped.groupby("reason")["n_tests"].sum().sort_values(ascending=False)

    def significant(self, fdr: float = 0.25) -> pd.DataFrame:
        """Rows with ``fdr <= fdr`` (GDSC used 25% for its ANOVA volcano plots)."""
        return self.table[self.table["fdr"] <= fdr]

    def summary(self) -> str:
        """Short text: tests done, skipped by reason, significant at FDR 5% and 25%."""
        parts = [f"{self.n_tests} tests"]
        sk = self.skipped_summary()
        if len(sk):
            parts.append(
                f"{self.n_skipped} skipped (" + ", ".join(f"{k}: {v}" for k, v in sk.items()) + ")"
            )
        if len(self.excluded_samples):
            parts.append(f"{len(self.excluded_samples)} samples excluded")
        parts.append(
            f"{int((self.table['fdr'] <= 0.05).sum())} at FDR 5%, "
            f"{int((self.table['fdr'] <= 0.25).sum())} at FDR 25%"
        )
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"AssociationResult({self.summary()})"

    def _repr_html_(self) -> str:
        head = self.table.head(10).to_html(index=False, float_format=lambda v: f"{v:.3g}")
        return f"<p>{html.escape(self.summary())}</p>{head}"


# --------------------------------------------------------------------------- design helpers
def _covariate_frame(
    panel: Panel, covariates: Sequence[str] | None, exclude: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    ann = panel.sample_annotations
    if covariates is None:
        names = [c for c in _DEFAULT_COVARIATES if ann is not None and c in ann.columns]
    else:
        names = list(covariates)
        have = [] if ann is None else list(ann.columns)
        missing = [c for c in names if c not in have]
        if missing:
            raise InputError(
                f"covariate(s) {missing} are not sample annotations of panel {panel.name!r} "
                f"(have {have}); add them to sample_annotations or pass covariates=[...]"
            )
    names = [c for c in names if c not in exclude]
    frame = ann[names].copy() if ann is not None and names else pd.DataFrame(index=panel.samples)
    return frame, names


def _codes(cov: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Integer codes of each categorical covariate (computed once per analysis)."""
    return [(str(name), pd.factorize(cov[name].astype(str))[0]) for name in cov.columns]


def _design(
    codes: list[tuple[str, np.ndarray, int]], idx: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Intercept + treatment-coded dummies of the covariates that vary enough (rows ``idx``)."""
    n = int(idx.sum())
    cols = [np.ones((n, 1))]
    used = []
    for name, code, min_level in codes:
        c = code[idx]
        counts = np.bincount(c)
        present = np.flatnonzero(counts)
        if (counts >= min_level).sum() < 2:
            continue
        used.append(name)
        cols.append((c[:, None] == present[None, 1:]).astype(float))
    return np.hstack(cols), used


def _orth(C: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of C (rank-revealing QR)."""
    q, r, _ = linalg.qr(C, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > d[0] * max(C.shape) * np.finfo(float).eps).sum()) if d.size else 0
    return q[:, :rank]


def _fwl(
    y: np.ndarray, X: np.ndarray, xx: np.ndarray, Q: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Feature F-tests after covariates Q for all columns of X at once.

    ``n`` samples count (rows of ``y``, ``X`` and ``Q`` outside the sample set are zero;
    ``xx`` holds the column sums of squares of X over the sample set). Returns beta, F,
    partial r, residual sum of squares of x (``rxx``) and the residual df.
    """
    ry = y - Q @ (Q.T @ y)
    ryy = float(ry @ ry)
    xy = X.T @ ry
    qx = Q.T @ X
    rxx = xx - np.einsum("ij,ij->j", qx, qx)
    df = n - Q.shape[1] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = xy / rxx
        ss = xy * beta
        rss = np.maximum(ryy - ss, 0.0)
        F = ss / (rss / df) if df > 0 else np.full_like(ss, np.nan)
        r = xy / np.sqrt(rxx * ryy)
    return beta, F, r, rxx, df


def _pvalue_f1(F: np.ndarray, df: np.ndarray) -> np.ndarray:
    # P(F(1, df) > F) = I_{df/(df+F)}(df/2, 1/2): the incomplete beta keeps tiny p-values exact.
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.betainc(df / 2.0, 0.5, df / (df + F))


# --------------------------------------------------------------------------- main engine
def _run(panel: Panel, **options: Any) -> AssociationResult:
    # One BLAS thread for the whole call (see _drug_chunk): thread-executor workers then all
    # enter and leave their own limit with the same setting, and none resets another's.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run_impl(panel, **options)


def _run_impl(
    panel: Panel,
    *,
    layers: str | Sequence[str] | None,
    kind: Literal["binary", "continuous"],
    covariates: Sequence[str] | None,
    mode: Literal["pancan", "per_tissue"],
    tissue_column: str,
    drugs: Sequence[Any] | None,
    features: Sequence[Any] | None,
    min_responses: int,
    min_group: int,
    min_covariate_group: int,
    progress: bool,
    executor: str | Executor | None,
    chunk_size: int,
) -> AssociationResult:
    if mode not in ("pancan", "per_tissue"):
        raise InputError(f"mode must be 'pancan' or 'per_tissue', got {mode!r}")
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int | np.integer)
        or chunk_size < 1
    ):
        raise InputError(f"chunk_size must be a whole number of drugs >= 1, got {chunk_size!r}")
    if min_responses < 3:
        raise InputError(f"min_responses must be at least 3, got {min_responses}")
    # ---- features
    if layers is None:
        names = [k for k, v in panel.layer_kinds.items() if v == kind]
        if not names:
            raise InputError(
                f"panel {panel.name!r} has no {kind} layer (layers: {dict(panel.layer_kinds)}); "
                f"pass layers=... naming one"
            )
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
    blocks, layer_of = [], []
    for nm in names:
        lay = panel.layer(nm)
        if kind == "binary" and panel.layer_kinds[nm] != "binary":
            raise InputError(
                f"layer {nm!r} is {panel.layer_kinds[nm]}; the ANOVA needs a binary layer "
                "(use linear_associations for continuous features)"
            )
        blocks.append(lay)
        layer_of += [nm] * lay.shape[1]
    Xdf = pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    layer_ser = pd.Series(layer_of, index=Xdf.columns)
    if Xdf.columns.duplicated().any():
        dup = Xdf.columns[Xdf.columns.duplicated()].unique().tolist()[:10]
        raise InputError(f"feature names repeat across layers {names}: {dup}; rename them")
    if features is not None:
        missing = pd.Index(features).difference(Xdf.columns)
        if len(missing):
            raise InputError(f"{len(missing)} unknown feature(s): {list(missing[:10])}")
        Xdf = Xdf[list(features)]
    Ydf = panel.responses if drugs is None else panel.subset(drugs=drugs).responses
    # ---- covariates and excluded samples
    exclude = [tissue_column] if mode == "per_tissue" else []
    cov, cov_names = _covariate_frame(panel, covariates, exclude)
    excluded = []
    bad = cov.isna().any(axis=1)
    for s in cov.index[bad]:
        miss = [c for c in cov_names if pd.isna(cov.loc[s, c])]  # type: ignore[arg-type]
        excluded.append({"sample": s, "reason": f"missing covariate(s) {', '.join(miss)}"})
    no_features = Xdf.isna().all(axis=1) & ~bad
    for s in Xdf.index[no_features]:
        excluded.append({"sample": s, "reason": "no feature values (absent from the omics layers)"})
    keep = ~(bad | no_features)
    if mode == "per_tissue":
        tis = panel.annotation(tissue_column)
        no_t = tis.isna() & keep
        for s in tis.index[no_t]:
            excluded.append({"sample": s, "reason": f"missing {tissue_column}"})
        keep &= ~no_t
        groups = [
            (str(t), (tis == t).to_numpy() & keep.to_numpy()) for t in sorted(tis[keep].unique())
        ]
    else:
        groups = [("PANCAN", keep.to_numpy())]

    feat_names = Xdf.columns
    layer_arr = layer_ser.to_numpy()
    drug_names = Ydf.columns
    Xall = Xdf.to_numpy(dtype=float)
    Yall = Ydf.to_numpy(dtype=float)
    step = int(chunk_size)
    opts = _ChunkOptions(kind, min_responses, min_group)

    def tasks() -> Iterator[_DrugChunk]:
        for tissue, smask in groups:
            X = Xall[smask]
            codes = [(nm, c, min_covariate_group) for nm, c in _codes(cov[smask])]
            for s in range(0, len(drug_names), step):
                cols = slice(s, s + step)
                yield _DrugChunk(tissue, X, codes, Yall[smask, cols], drug_names[cols], opts)

    n_tasks = len(groups) * -(-len(drug_names) // step)
    results: Iterable[_ChunkResult] = resolve_executor(executor).map(_drug_chunk, tasks())
    if progress:
        from .._progress import track

        results = track(results, total=n_tasks, description="associations")
    rows: list[dict[str, np.ndarray]] = []
    skipped: list[dict[str, Any]] = []
    skip_blocks: list[tuple[Any, str, np.ndarray, np.ndarray]] = []
    # Chunks come back in task order, so the gathered table is the one a single pass gives.
    for part in results:
        rows += part.rows
        skipped += part.skipped
        skip_blocks += part.skip_blocks
    skipped_df = pd.DataFrame(skipped, columns=_SKIP_COLUMNS)
    if skip_blocks:
        ks = np.concatenate([b[2] for b in skip_blocks])
        per_test = pd.DataFrame(
            {
                "drug": np.concatenate(
                    [np.full(len(b[2]), b[0], dtype=object) for b in skip_blocks]
                ),
                "feature": feat_names[ks],
                "layer": layer_arr[ks],
                "tissue": np.concatenate(
                    [np.full(len(b[2]), b[1], dtype=object) for b in skip_blocks]
                ),
                "reason": np.concatenate([b[3] for b in skip_blocks]),
                "n_tests": 1,
            }
        )
        skipped_df = pd.concat([skipped_df, per_test], ignore_index=True) if skipped else per_test
    if rows:
        merged = {k: np.concatenate([c[k] for c in rows]) for k in rows[0]}
        fidx = merged.pop("feature")
        table = pd.DataFrame(merged)
        table["feature"] = feat_names[fidx]
        table["layer"] = layer_arr[fidx]
        for c in ("n_samples", "df_resid", "n_pos", "n_neg"):
            if c in table:
                table[c] = table[c].astype(int)
        table["pvalue"] = _pvalue_f1(
            table["statistic"].to_numpy() ** (1 if kind == "binary" else 2),
            table["df_resid"].to_numpy(dtype=float),
        )
        sign = table["mean_diff"] if kind == "binary" else table["beta"]
        resist = (sign > 0) if panel.lower_is_sensitive else (sign < 0)
        table["association"] = np.where(resist, "resistance", "sensitivity")
    else:
        table = pd.DataFrame(columns=_TABLE_COLUMNS)
    table = table.reindex(columns=_TABLE_COLUMNS)
    if len(table):
        table["fdr"] = stats.false_discovery_control(table["pvalue"].to_numpy(), method="bh")
    table = table.sort_values(["pvalue", "drug", "feature"], kind="stable", ignore_index=True)
    if panel.drug_annotations is not None and len(table):
        # Long per-drug text (SMILES) would be repeated on every row of a million-row table.
        ann = panel.drug_annotations.drop(
            columns=[
                c for c in panel.drug_annotations.columns if c in table.columns or c in _NOT_JOINED
            ],
            errors="ignore",
        )
        table = table.join(ann, on="drug")
    settings = {
        "kind": kind,
        "mode": mode,
        "covariates": cov_names,
        "min_responses": min_responses,
        "min_group": min_group,
        "min_covariate_group": min_covariate_group,
        "layers": names,
        "metric": panel.metric,
        "lower_is_sensitive": panel.lower_is_sensitive,
        "fdr_method": "benjamini-hochberg, global over all tests",
    }
    return AssociationResult(
        table,
        skipped_df,
        pd.DataFrame(excluded, columns=["sample", "reason"]),
        settings,
    )


@dataclass(frozen=True)
class _ChunkOptions:
    kind: Literal["binary", "continuous"]
    min_responses: int
    min_group: int


@dataclass(frozen=True)
class _DrugChunk:
    """One task: the drugs ``drug_names`` (columns of ``Y``) in one tissue group.

    What a worker receives (pickled for process and Dask executors): the group's feature
    matrix ``X`` (samples x features), the covariate codes, the chunk's responses ``Y``
    (samples x drugs of the chunk) and the filters; memory per task is that of ``X`` plus a
    few drugs x features products.
    """

    tissue: str
    X: np.ndarray
    codes: list[tuple[str, np.ndarray, int]]
    Y: np.ndarray
    drug_names: pd.Index
    opts: _ChunkOptions

    def __sizeof__(self) -> int:
        # what dask.sizeof reads (via sys.getsizeof) to scatter a large task, not inline it
        return int(self.X.nbytes + self.Y.nbytes) + sum(c.nbytes for _, c, _ in self.codes)


@dataclass(frozen=True)
class _ChunkResult:
    rows: list[dict[str, np.ndarray]]
    skipped: list[dict[str, Any]]
    skip_blocks: list[tuple[Any, str, np.ndarray, np.ndarray]]


def _drug_chunk(task: _DrugChunk) -> _ChunkResult:
    """Every test of the chunk's drugs, p-values and FDR left to the caller (global BH)."""
    # The per-drug products are small (samples x ~30 covariates): a multi-threaded BLAS spends
    # more time synchronising than computing, and on a busy 2-core machine it is ~10x slower.
    # Set here too, as process and Dask workers do not inherit the caller's limit.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _drug_chunk_impl(task)


def _drug_chunk_impl(task: _DrugChunk) -> _ChunkResult:
    tissue, X, codes, Y, drug_names = task.tissue, task.X, task.codes, task.Y, task.drug_names
    kind, min_responses, min_group = task.opts.kind, task.opts.min_responses, task.opts.min_group
    n_feat = X.shape[1]
    rows: list[dict[str, np.ndarray]] = []
    skipped: list[dict[str, Any]] = []
    skip_blocks: list[tuple[Any, str, np.ndarray, np.ndarray]] = []
    M = ~np.isnan(Y)
    Mf = M.astype(float)
    n_resp = Mf.sum(axis=0)
    # Centre each drug so that sums of squares below do not lose precision.
    mu = np.where(n_resp > 0, np.where(M, Y, 0.0).sum(axis=0) / np.maximum(n_resp, 1), 0.0)
    Y0 = np.where(M, Y - mu, 0.0)
    xnan = np.isnan(X)
    X0 = np.where(xnan, 0.0, X)
    notnan = (~xnan).astype(float)
    # Per drug x feature: samples with a response and a feature value.
    valid = Mf.T @ notnan
    has_nan = (n_resp[:, None] - valid) > 0
    xsum = Mf.T @ X0
    xsq = Mf.T @ (X0 * X0) if kind != "binary" else xsum
    with np.errstate(divide="ignore", invalid="ignore"):
        xscale_all = xsq - xsum**2 / valid
    if kind == "binary":
        # Group sizes and moments of every drug x feature pair in a few matrix products
        # (samples with a missing feature value count in neither group).
        n_pos = xsum
        n_neg = valid - n_pos
        s_pos = Y0.T @ X0
        ss_pos = (Y0**2).T @ X0
        s_all = Y0.T @ notnan
        ss_all = (Y0**2).T @ notnan
        with np.errstate(divide="ignore", invalid="ignore"):
            m_pos = s_pos / n_pos
            m_neg = (s_all - s_pos) / n_neg
            v_pos = (ss_pos - n_pos * m_pos**2) / (n_pos - 1)
            v_neg = (ss_all - ss_pos - n_neg * m_neg**2) / (n_neg - 1)
    for j in range(Y.shape[1]):
        drug = drug_names[j]
        idx = M[:, j]
        n_j = int(n_resp[j])
        if n_j < min_responses:
            skipped.append(
                {
                    "drug": drug,
                    "feature": "<all>",
                    "layer": "",
                    "tissue": tissue,
                    "reason": f"too_few_responses ({n_j} < {min_responses})",
                    "n_tests": n_feat,
                }
            )
            continue
        C, used = _design(codes, idx)
        # Zero rows outside the drug's samples: products over all samples then equal
        # products over the drug's samples, and no per-drug copy of X is needed.
        Qd = _orth(C)
        Q = np.zeros((len(idx), Qd.shape[1]))
        Q[idx] = Qd
        beta, F, r, rxx, df, n_used = _tests_for_drug(
            Y0[:, j], X0, X, xsq[j], valid[j], has_nan[j], idx, Q, Qd
        )
        xscale = xscale_all[j]
        status = np.full(n_feat, "ok", dtype=object)
        if kind == "binary":
            np_j, nn_j = n_pos[j], n_neg[j]
            status[(np_j == 0) | (nn_j == 0)] = "feature_constant"
            small = (status == "ok") & ((np_j < min_group) | (nn_j < min_group))
            status[small] = f"group_too_small (< {min_group})"
        else:
            status[~(xscale > 1e-12 * np.maximum(xsq[j], 1e-300))] = "feature_constant"
            status[(status == "ok") & (n_used < min_responses)] = (
                f"too_few_samples (< {min_responses})"
            )
        collinear = (status == "ok") & ~(rxx > 1e-9 * xscale)
        status[collinear] = "feature_collinear_with_covariates"
        status[(status == "ok") & ~(df > 0)] = "no_residual_df"
        ok = status == "ok"
        if not ok.all():
            bad_k = np.flatnonzero(~ok)
            skip_blocks.append((drug, tissue, bad_k, status[bad_k]))
        if not ok.any():
            continue
        n_ok = int(ok.sum())
        cols: dict[str, np.ndarray] = {
            "drug": np.full(n_ok, drug, dtype=object),
            "feature": np.flatnonzero(ok),
            "tissue": np.full(n_ok, tissue, dtype=object),
            "n_samples": n_used[ok],
            "beta": beta[ok],
            "partial_r": r[ok],
            "statistic": F[ok] if kind == "binary" else np.sign(r[ok]) * np.sqrt(F[ok]),
            "df_resid": df[ok],
            "covariates": np.full(n_ok, "+".join(used) if used else "none", dtype=object),
        }
        if kind == "binary":
            npj, nnj = n_pos[j, ok], n_neg[j, ok]
            vp, vn = v_pos[j, ok], v_neg[j, ok]
            md = m_pos[j, ok] - m_neg[j, ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                pooled = np.sqrt(((npj - 1) * vp + (nnj - 1) * vn) / (npj + nnj - 2))
                cols.update(
                    n_pos=npj,
                    n_neg=nnj,
                    mean_pos=m_pos[j, ok] + mu[j],
                    mean_neg=m_neg[j, ok] + mu[j],
                    mean_diff=md,
                    cohens_d=md / pooled,
                    glass_delta_pos=md / np.sqrt(vp),
                    glass_delta_neg=md / np.sqrt(vn),
                )
        rows.append(cols)
    return _ChunkResult(rows, skipped, skip_blocks)


def _tests_for_drug(
    y0: np.ndarray,
    X0: np.ndarray,
    X: np.ndarray,
    xx: np.ndarray,
    valid: np.ndarray,
    has_nan: np.ndarray,
    idx: np.ndarray,
    Q: np.ndarray,
    Qd: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """All feature tests of one drug; features with missing values get their own sample set.

    ``y0`` is the centred response, zero outside the drug's samples ``idx``; ``Q`` the orthonormal
    covariate basis, zero outside ``idx`` (``Qd`` the same restricted to ``idx``).
    """
    m = X0.shape[1]
    n_used = valid.copy()
    beta, F, r, rxx = (np.full(m, np.nan) for _ in range(4))
    df = np.full(m, np.nan)
    complete = ~has_nan
    b, f, rr, rx, d = _fwl(
        y0, X0 if complete.all() else X0[:, complete], xx[complete], Q, int(idx.sum())
    )
    beta[complete], F[complete], r[complete], rxx[complete] = b, f, rr, rx
    df[complete] = d
    # Features with missing values: their own complete-case sample set (rare; loop).
    y = y0[idx]
    Xd = X[idx]
    for k in np.flatnonzero(has_nan):
        ok = ~np.isnan(Xd[:, k])
        nk = int(ok.sum())
        if nk < 3:
            continue
        x = Xd[ok, k][:, None]
        Qk = _orth(Qd[ok])
        b, f, rr, rx, d = _fwl(y[ok], x, (x * x).sum(axis=0), Qk, nk)
        beta[k], F[k], r[k], rxx[k], df[k] = b[0], f[0], rr[0], rx[0], d
    return beta, F, r, rxx, df, n_used


def anova_associations(
    panel: Panel,
    *,
    layers: str | Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    mode: Literal["pancan", "per_tissue"] = "pancan",
    tissue_column: str = "tissue",
    drugs: Sequence[Any] | None = None,
    features: Sequence[Any] | None = None,
    min_responses: int = 6,
    min_group: int = 3,
    min_covariate_group: int = 2,
    progress: bool = False,
    executor: str | Executor | None = None,
    chunk_size: int = 64,
) -> AssociationResult:
    """GDSC-style ANOVA of every drug x binary feature, vectorised across features.

    Model per test: ``response ~ covariates + feature`` (ordinary least squares); the statistic is
    the F-test of the feature term (entered last, so type I = type II). Covariates are
    categorical sample annotations (default: those of ``tissue``, ``msi``, ``medium`` the panel
    has); a covariate enters a drug's model only when at least two of its levels have
    ``min_covariate_group`` samples with a response. In ``mode="per_tissue"`` each tissue is
    analysed on its own (without the tissue covariate). The false discovery rate is
    Benjamini-Hochberg over all tests of the call.

    Parameters
    ----------
    panel
        The :class:`~oncoresist.data.Panel`.
    layers
        Binary layer(s) to test; default all binary layers.
    covariates
        Sample annotation columns used as categorical covariates.
    mode
        ``"pancan"`` (all samples, tissue as covariate) or ``"per_tissue"``.
    tissue_column
        Annotation column holding the tissue.
    drugs, features
        Restrict the analysis (identifiers).
    min_responses
        Drugs with fewer measured responses (in the analysed samples) are skipped (GDSC: 6).
    min_group
        Minimum number of samples with and without the feature (GDSC: 3).
    min_covariate_group
        See above (GDSC: 2 for MSI).
    progress
        Show a progress bar over drug chunks.
    executor
        Where the drug chunks run: ``None``/``"serial"``, ``"threads"``, ``"processes"``, or
        any object with ``map(func, chunks)`` (see :func:`oncoresist.curves.resolve_executor`;
        a Dask executor fits there). Each task is one tissue group x ``chunk_size`` drugs; a
        worker receives that group's feature matrix, covariate codes and the chunk's responses
        (pickled for processes and Dask) and returns its test rows. P-values and the FDR are
        computed once over all gathered rows, so every executor gives the same table, bit for
        bit.
    chunk_size
        Drugs per task. Memory per task is the feature matrix plus a few
        ``chunk_size x n_features`` products. Results do not depend on the executor; a
        different ``chunk_size`` changes BLAS blocking, hence values in the last few bits
        (relative ~1e-12).

    Returns
    -------
    AssociationResult
        ``table`` with one row per test (p-value, FDR, Cohen's d, Glass's deltas, mean
        difference, group sizes) and ``skipped`` listing every test not performed and why.

    Examples
    --------
    >>> from oncoresist.data import make_panel
    >>> panel, truth = make_panel(rng=0)
    >>> res = anova_associations(panel)
    >>> res.table[["drug", "feature", "pvalue", "fdr"]].head(3)  # doctest: +SKIP
    >>> anova_associations(panel, executor="threads").table.equals(res.table)
    True
    """
    return _run(
        panel,
        layers=layers,
        kind="binary",
        covariates=covariates,
        mode=mode,
        tissue_column=tissue_column,
        drugs=drugs,
        features=features,
        min_responses=min_responses,
        min_group=min_group,
        min_covariate_group=min_covariate_group,
        progress=progress,
        executor=executor,
        chunk_size=chunk_size,
    )


def linear_associations(
    panel: Panel,
    *,
    layers: str | Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    mode: Literal["pancan", "per_tissue"] = "pancan",
    tissue_column: str = "tissue",
    drugs: Sequence[Any] | None = None,
    features: Sequence[Any] | None = None,
    min_responses: int = 10,
    min_covariate_group: int = 2,
    progress: bool = False,
    executor: str | Executor | None = None,
    chunk_size: int = 64,
) -> AssociationResult:
    """Partial correlation / linear model of every drug x continuous feature.

    Model per test: ``response ~ covariates + feature``; ``beta`` is the adjusted slope,
    ``partial_r`` the partial correlation of response and feature given the covariates,
    ``statistic`` the t statistic (``sign(r) * sqrt(F)``) with ``df_resid`` degrees of freedom.
    Samples with a missing feature value are left out of that feature's test only. Parameters
    are those of :func:`anova_associations` (``executor`` and ``chunk_size`` included; the FDR
    is Benjamini-Hochberg over all tests of the call, after the chunks are gathered).

    Examples
    --------
    >>> res = linear_associations(panel, layers="expression")  # doctest: +SKIP
    """
    return _run(
        panel,
        layers=layers,
        kind="continuous",
        covariates=covariates,
        mode=mode,
        tissue_column=tissue_column,
        drugs=drugs,
        features=features,
        min_responses=min_responses,
        min_group=0,
        min_covariate_group=min_covariate_group,
        progress=progress,
        executor=executor,
        chunk_size=chunk_size,
    )
