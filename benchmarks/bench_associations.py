"""Benchmark: full GDSC release 17 ANOVA (all drugs x all features) vs a per-test statsmodels loop.

The loop is what gdsctools does per test (an OLS fit of ``ic50 ~ C(tissue) + C(msi) + feature``
and a sequential ANOVA table); it is timed on a random subsample of the tests done by the
vectorised engine, in the same run, and extrapolated to the full release. The p-values of the
subsample are compared (maximum relative difference).

Usage::

    ONCORESIST_DATA_MIRROR=../shared/data python benchmarks/bench_associations.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and loop tests (< 1 min)")
    ap.add_argument("--loop-tests", type=int, default=None, help="tests in the statsmodels loop")
    args = ap.parse_args()
    n_loop = args.loop_tests or (100 if args.quick else 400)
    repeats = 2 if args.quick else 5

    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from oncoresist.biomarkers import anova_associations
    from oncoresist.data._panels import fetch_gdsc_v17

    panel = fetch_gdsc_v17()
    anova_associations(panel.subset(drugs=panel.drugs[:3]))  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = anova_associations(panel)
        times.append(time.perf_counter() - t0)
    best = min(times)
    n_tests = res.n_tests

    feats = pd.concat([panel.layers["mutation"], panel.layers["cna"]], axis=1)
    rng = np.random.default_rng(0)
    sample = res.table.iloc[rng.choice(n_tests, n_loop, replace=False)]
    from threadpoolctl import threadpool_limits

    # The loop gets the same single-threaded BLAS as the engine (multi-threaded BLAS on small
    # OLS fits is several times slower on a busy machine; that would flatter the ratio).
    limiter = threadpool_limits(limits=1, user_api="blas")
    t0 = time.perf_counter()
    p_loop = []
    for r in sample.itertuples():
        d = pd.DataFrame(
            {
                "y": panel.responses[r.drug],
                "f": feats[r.feature],
                "t": panel.sample_annotations["tissue"],
                "m": panel.sample_annotations["msi"],
            }
        ).dropna()
        fit = smf.ols("y ~ C(t) + C(m) + f", d).fit()
        p_loop.append(sm.stats.anova_lm(fit).loc["f", "PR(>F)"])
    loop_per_test = (time.perf_counter() - t0) / n_loop
    limiter.restore_original_limits()
    rel = np.abs(sample["pvalue"].to_numpy() / np.asarray(p_loop) - 1)

    print(f"cores available: {os.cpu_count()}")
    print(
        f"GDSC v17: {panel.shape[1]} drugs x {feats.shape[1]} features; {n_tests} tests done, "
        f"{res.n_skipped} skipped ({ {k: int(v) for k, v in res.skipped_summary().items()} })"
    )
    print(
        f"vectorised ANOVA, full release: {best:.2f} s (best of {repeats}; all {np.round(times, 2).tolist()})"
        f" = {n_tests / best:,.0f} tests/s"
    )
    print(
        f"statsmodels per-test loop ({n_loop} tests sampled): {loop_per_test * 1e3:.1f} ms/test = "
        f"{1 / loop_per_test:,.0f} tests/s; full release extrapolated {loop_per_test * n_tests / 60:.1f} min"
    )
    print(f"speed-up: {loop_per_test * n_tests / best:,.0f}x")
    print(f"p-value agreement on the sample: max relative difference {rel.max():.2e}")


if __name__ == "__main__":
    main()
