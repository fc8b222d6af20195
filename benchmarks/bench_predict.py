"""Training and prediction throughput (pairs/s) and peak memory of each prediction model.

Data: the TGSA GDSC panel (ln IC50, CCLE expression + copy number + mutation of 706 genes,
128-bit Morgan fingerprints + target one-hot for the global models), read from the mirror.
Each model runs in its own spawned process so the peak resident memory (``ru_maxrss``) is its
own; the increase over the process after loading the data is reported too. Threads are capped
at 2 (``--threads``). Ratios: each model's training throughput against the naive mean-effects
baseline measured in the same run, and LightGBM against scikit-learn's
HistGradientBoostingRegressor (the peer histogram GBM) on the same design matrix.

    ONCORESIST_DATA_MIRROR=../shared/data python benchmarks/bench_predict.py [--quick]

``--quick``: 10 drugs x 200 lines (< 1 min); default: 40 drugs x all 580 lines.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time


def _run(name: str, n_drugs: int, n_samples: int | None, threads: int, q: mp.Queue) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np

    from oncoresist.predict import (
        GlobalLightGBM,
        MeanEffects,
        PerDrugElasticNet,
        PerDrugRandomForest,
        drug_features,
        load_tgsa_panel,
        make_folds,
        pair_frame,
    )

    panel = load_tgsa_panel(n_drugs=n_drugs, n_samples=n_samples, rng=0)
    dt = drug_features(panel.drug_annotations, n_bits=128)
    X, y = pair_frame(panel, drug_table=dt)
    tr, te = make_folds(X, "cell_line", n_splits=5, rng=0)[0]
    Xtr, ytr, Xte = X.iloc[tr], y.to_numpy()[tr], X.iloc[te]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if name == "hist_gbm_peer":
        from sklearn.ensemble import HistGradientBoostingRegressor

        cols = [c for c in X.columns if c not in ("sample", "drug")]
        A, B = Xtr[cols].to_numpy(np.float32), Xte[cols].to_numpy(np.float32)
        model = HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.08, max_bins=63, early_stopping=False, random_state=0
        )
        t0 = time.perf_counter()
        model.fit(A, ytr)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict(B)
        t_pred = time.perf_counter() - t0
    else:
        models = {
            "mean_effects": MeanEffects(),
            "elastic_net": PerDrugElasticNet(),
            "random_forest": PerDrugRandomForest(n_estimators=50, n_jobs=threads),
            "lightgbm": GlobalLightGBM(n_jobs=threads),
        }
        if name == "multiomics_nn":
            from oncoresist.predict import MultiOmicsNet

            models[name] = MultiOmicsNet(hidden=32, epochs=8, batch_size=512, n_threads=threads)
        model = models[name]
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict(Xte)
        t_pred = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(
        {
            "model": name,
            "n_train": len(tr),
            "n_test": len(te),
            "n_features": X.shape[1] - 2,
            "fit_s": t_fit,
            "train_pairs_per_s": len(tr) / t_fit,
            "predict_pairs_per_s": len(te) / max(t_pred, 1e-9),
            "peak_rss_mb": rss1,
            "model_rss_mb": rss1 - rss0,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 drugs x 200 lines, < 1 min")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-nn", action="store_true", help="skip the torch model")
    args = ap.parse_args()
    n_drugs, n_samples = (10, 200) if args.quick else (40, None)
    names = ["mean_effects", "elastic_net", "random_forest", "lightgbm", "hist_gbm_peer"]
    if not args.no_nn:
        try:
            import torch  # noqa: F401

            names.append("multiomics_nn")
        except ImportError:
            print("torch not installed: multiomics_nn skipped")
    ctx = mp.get_context("spawn")
    rows = []
    for name in names:
        q: mp.Queue = ctx.Queue()
        p = ctx.Process(target=_run, args=(name, n_drugs, n_samples, args.threads, q))
        p.start()
        rows.append(q.get())
        p.join()
    import pandas as pd

    df = pd.DataFrame(rows).set_index("model")
    base = df.loc["mean_effects", "train_pairs_per_s"]
    # How many times slower than the naive baseline each model trains (naive peer ratio).
    df["train_slowdown_vs_mean_effects"] = base / df["train_pairs_per_s"]
    pd.set_option("display.width", 200)
    lines = "200" if args.quick else "all 580"
    print(
        f"TGSA GDSC, {n_drugs} drugs, {lines} lines, leave-cell-line-out fold 1 of 5, "
        f"{args.threads} threads"
    )
    print(df.round(2).to_string())
    lg, hg = df.loc["lightgbm"], df.loc["hist_gbm_peer"]
    print(
        f"lightgbm vs sklearn HistGradientBoosting (same matrix, 200 trees): training "
        f"{lg['train_pairs_per_s'] / hg['train_pairs_per_s']:.2f}x, prediction "
        f"{lg['predict_pairs_per_s'] / hg['predict_pairs_per_s']:.2f}x the throughput"
    )


if __name__ == "__main__":
    main()
