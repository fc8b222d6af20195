"""Time connectivity scoring on the LINCS L1000 consensus signatures (1,170 DrugBank compounds).

Measured in the same run: the vectorised implementation (``connectivity_scores`` for one query
against all compounds, ``connectivity_matrix`` for every compound's own top-50 query against all
compounds) and a naive per-compound Python loop of the same maths (sort the compound's genes,
running sum over all genes with numpy, maximal deviation), whose results are checked to agree.
The naive all-vs-all is timed on a subset of queries and scaled to 1,170 (printed as such).
No thresholds: it prints figures.

Run: ``ONCORESIST_DATA_MIRROR=/work/shared/data python benchmarks/bench_connectivity.py``
(``--quick``: fewer repeats and naive queries).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from oncoresist.errors import DataUnavailableError
from oncoresist.strategy._connectivity import (
    connectivity_matrix,
    connectivity_scores,
    load_lincs_signatures,
)


def _naive_es(z: np.ndarray, in_set: np.ndarray, method: str) -> float:
    order = np.argsort(-z, kind="stable")
    hits = in_set[order]
    n, t = len(z), int(in_set.sum())
    if method == "ks":  # Lamb 2006
        v = np.flatnonzero(hits) + 1.0
        j = np.arange(1, t + 1)
        a = np.max(j / t - v / n)
        b = np.max(v / n - (j - 1) / t)
        return float(a if a > b else -b)
    w = np.where(hits, np.abs(z[order]), 0.0)
    running = np.cumsum(w / w.sum() - np.where(hits, 0.0, 1.0 / (n - t)))
    hi, lo = running.max(), min(running.min(), 0.0)
    return float(hi if hi >= -lo else lo)


def _naive_scores(sig: pd.DataFrame, up: list[str], down: list[str], method: str) -> np.ndarray:
    up_mask = sig.index.isin(up)
    down_mask = sig.index.isin(down)
    out = np.empty(sig.shape[1])
    z_all = sig.to_numpy()
    for c in range(sig.shape[1]):  # the per-compound loop
        eu = _naive_es(z_all[:, c], up_mask, method)
        ed = _naive_es(z_all[:, c], down_mask, method)
        raw = (eu - ed) / (2.0 if method == "wtcs" else 1.0)
        out[c] = 0.0 if np.sign(eu) == np.sign(ed) else raw
    return out


def _best(fn, repeats: int) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and naive queries")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    n_naive_queries = 5 if args.quick else 40

    try:
        sig = load_lincs_signatures()
    except DataUnavailableError:
        print("LINCS consensus signatures: skipped (set ONCORESIST_DATA_MIRROR to the data mirror)")
        return
    n_genes, n_comp = sig.shape
    print(f"LINCS L1000 consensus: {n_genes} genes x {n_comp} compounds; top-50 up/down queries")
    query = "DB00997"  # doxorubicin's own signature as the query
    up = sig[query].nlargest(50).index.tolist()
    down = sig[query].nsmallest(50).index.tolist()

    for method in ("wtcs", "ks"):
        t_vec, res = _best(
            lambda m=method: connectivity_scores(up, down, method=m, n_null=0), repeats
        )
        t_naive, naive = _best(lambda m=method: _naive_scores(sig, up, down, m), repeats)
        got = res.table.set_index("compound")["raw_score"].reindex(sig.columns).to_numpy()
        diff = float(np.max(np.abs(got - naive)))
        print(
            f"[{method}] one query x {n_comp}: vectorised {t_vec * 1e3:.1f} ms, naive loop "
            f"{t_naive * 1e3:.1f} ms, ratio {t_naive / t_vec:.1f}x (max |diff| {diff:.1e})"
        )
        t_null, _ = _best(
            lambda m=method: connectivity_scores(up, down, method=m, n_null=1000, rng=0), 1
        )
        print(f"[{method}] one query x {n_comp} with a 1,000-query null: {t_null:.2f} s")

        t_all, mat = _best(lambda m=method: connectivity_matrix(method=m), 1)
        ids = sig.columns[:: max(1, n_comp // n_naive_queries)][:n_naive_queries]
        t0 = time.perf_counter()
        worst = 0.0
        for q in ids:
            qu = sig[q].sort_values(ascending=False, kind="stable").index
            rows = _naive_scores(sig, list(qu[:50]), list(qu[::-1][:50]), method)
            worst = max(worst, float(np.max(np.abs(rows - mat.loc[q].to_numpy()))))
        t_naive_q = (time.perf_counter() - t0) / len(ids)
        t_naive_all = t_naive_q * n_comp
        print(
            f"[{method}] all {n_comp} x {n_comp}: vectorised {t_all:.2f} s, naive loop "
            f"{t_naive_all:.1f} s (measured on {len(ids)} queries, scaled), ratio "
            f"{t_naive_all / t_all:.1f}x (max |diff| {worst:.1e})"
        )


if __name__ == "__main__":
    main()
