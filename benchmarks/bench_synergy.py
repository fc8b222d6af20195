"""Benchmark: blocks/s of every synergy model, against the Python package ``synergy``.

10,000 synthetic 5 x 5 blocks with 3 replicates (MuSyC surfaces with random potency and
efficacy synergy) are scored by oncoresist (batched, no bootstrap); ``synergy`` (GPL, the peer
users pick today; optional: ``pip install synergy``) scores a random subsample of the same
blocks in the same run. Printed: blocks/s, the speed ratio, and the agreement of the block
scores (mean over the combination wells) where both succeed: Spearman correlation and sign
agreement. Also the time to score ~740,000 DrugComb blocks with Bliss + HSA + ZIP, extrapolated from
50,000 blocks scored in one call per chunk of 5,000.

Run ``python benchmarks/bench_synergy.py`` (full) or ``--quick`` (< 1 min).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import stats

from oncoresist.synergy import make_combination_screen, score_blocks

DRUGCOMB_BLOCKS = 740_000
MODELS = ("hsa", "bliss", "loewe", "zip", "ci", "musyc")
FAST_N = 50_000
CHUNK = 5_000


def _blocks(n: int, seed: int):
    rng = np.random.default_rng(seed)
    a = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))
    b = rng.uniform(-0.3, 0.3, n)
    s = make_combination_screen(
        n, n_replicates=3, noise=0.03, alpha12=a, alpha21=1 / np.sqrt(a), beta=b, rng=seed
    )
    _, c1, c2, r = s.to_arrays()[0]
    return c1, c2, r


def _peer(name: str, c1, c2, r, idx, budget_s: float):
    try:
        from synergy.combination import HSA, ZIP, Bliss, CombinationIndex, Loewe, MuSyC
    except ImportError:
        return None
    make = {
        "hsa": lambda: HSA(),
        "bliss": lambda: Bliss(),
        "loewe": lambda: Loewe(mode="delta_HSA"),
        "zip": lambda: ZIP(),
        "ci": lambda: CombinationIndex(),
        "musyc": lambda: MuSyC(fit_gamma=False),
    }[name]
    scores, used = [], []
    t0 = time.perf_counter()
    for k in idx:
        n1, n2, nr = r.shape[1:]
        d1 = np.repeat(c1[k][:, None, None], n2, 1).repeat(nr, 2).ravel()
        d2 = np.repeat(c2[k][None, :, None], n1, 0).repeat(nr, 2).ravel()
        e = 1.0 - r[k].ravel()  # synergy works on viability-like effects (E0 = 1)
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = model.fit(d1, d2, e)
            except Exception:  # the peer fails on some blocks; counted as failures
                out = None
        if (name == "musyc" and out is not None) or name == "musyc":
            # MuSyC reports parameters; compare log10(alpha12)
            with np.errstate(divide="ignore"):  # the peer may return alpha12 = 0 (-inf)
                val = (
                    float(np.log10(model.alpha12))
                    if getattr(model, "alpha12", None) is not None
                    else np.nan
                )
        elif out is None:
            val = np.nan
        else:
            arr = np.asarray(out, dtype=float)
            comb = (d1 > 0) & (d2 > 0) & np.isfinite(arr)
            val = float(np.mean(arr[comb])) if comb.any() else np.nan
        scores.append(val)
        used.append(k)
        if time.perf_counter() - t0 > budget_s:
            break
    el = time.perf_counter() - t0
    return np.asarray(used), np.asarray(scores), el


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2,000 blocks and a short peer budget")
    ap.add_argument("--n", type=int, default=None, help="number of blocks")
    ap.add_argument(
        "--peer-seconds", type=float, default=None, help="time budget of the peer per model"
    )
    args = ap.parse_args()
    n = args.n or (2_000 if args.quick else 10_000)
    budget = args.peer_seconds or (4.0 if args.quick else 30.0)
    c1, c2, r = _blocks(n, seed=0)
    rng = np.random.default_rng(1)
    sub = rng.permutation(n)
    print(f"{n} synthetic 5 x 5 blocks, 3 replicates (oncoresist, batched, no bootstrap)")
    print(
        f"{'model':7s} {'ours blk/s':>11s} {'peer blk/s':>11s} {'ratio':>9s} {'peer n':>7s} {'spearman':>9s} {'sign agr':>9s}"
    )
    ours_t = {}
    # warm-up: load the compiled (numba) kernels once, as any long-running session would
    score_blocks(c1[:20], c2[:20], r[:20], models=list(MODELS))
    for m in MODELS:
        t0 = time.perf_counter()
        out = score_blocks(c1, c2, r, models=[m])[m]
        el = time.perf_counter() - t0
        ours_t[m] = el / n
        ours = out["log10_alpha12"] if m == "musyc" else out["score"]
        peer = _peer(m, c1, c2, r, sub, budget)
        if peer is None:
            print(f"{m:7s} {n / el:11.0f} {'(synergy not installed)':>30s}")
            continue
        idx, ps, pel = peer
        ok = np.isfinite(ps) & np.isfinite(ours[idx])
        rho = stats.spearmanr(ours[idx][ok], ps[ok]).statistic if ok.sum() > 2 else np.nan
        sign = np.mean(np.sign(ours[idx][ok]) == np.sign(ps[ok])) if ok.any() else np.nan
        peer_rate = len(idx) / pel
        print(
            f"{m:7s} {n / el:11.0f} {peer_rate:11.1f} {(n / el) / peer_rate:8.0f}x {len(idx):7d} {rho:9.3f} {sign:9.2f}"
        )
    print(f"Loewe: {ours_t['loewe'] * 1e3:.3f} ms per block")
    # DrugComb scale: the three models in one call (shared replicate means and single-agent
    # fits), no bootstrap, on FAST_N blocks (the synthetic blocks repeated), chunked as
    # score_combinations does
    reps = -(-FAST_N // n)
    fc1, fc2, fr = (np.concatenate([a] * reps)[:FAST_N] for a in (c1, c2, r))
    t0 = time.perf_counter()
    for s in range(0, FAST_N, CHUNK):
        score_blocks(
            fc1[s : s + CHUNK],
            fc2[s : s + CHUNK],
            fr[s : s + CHUNK],
            models=["hsa", "bliss", "zip"],
        )
    el = time.perf_counter() - t0
    print(
        f"Bliss + HSA + ZIP on {FAST_N:,} blocks: {el:.1f} s ({FAST_N / el:,.0f} blocks/s); "
        f"{DRUGCOMB_BLOCKS:,} DrugComb-sized blocks: {el / FAST_N * DRUGCOMB_BLOCKS:.0f} s "
        "(extrapolated)"
    )
    print(
        "notes: peer MuSyC is fitted with fit_gamma=False (oncoresist fixes gamma = 1) and compared on"
    )
    print(
        "log10(alpha12); peer Loewe uses mode='delta_HSA'; CI sign conventions differ (ours -log10 CI)."
    )


if __name__ == "__main__":
    main()
