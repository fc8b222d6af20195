"""Benchmark: a genome-wide CRISPR screen through QC, DrugZ and MAGeCK RRA, against naive pandas.

A simulated genome-wide chemogenetic screen (``simulate_crispr_screen``: 25,000 genes x 4 guides =
100,000 guides; 7 samples: T0 + 3 control + 3 drug, paired; ~400 reads/guide) goes through
``crispr_qc`` (with 600 essential / 900 non-essential reference genes), paired ``drugz`` and
``mageck_rra`` (100,000 permutations per gene size, MAGeCK's scale). The same DrugZ and RRA maths is
then run as a straightforward per-gene pandas implementation (``groupby(gene).apply``, a Python
loop over permutations) in the same run, and checked to give the same numbers: printed are the
seconds of each step, the speed ratios, and the largest differences between the two.

The aim (not a test) is the whole analysis in under 5 s on 2 cores. BLAS threads are set to 2
before numpy loads unless the environment says otherwise.

Run ``python benchmarks/bench_crispr.py`` (full, ~1 min) or ``--quick`` (5,000 genes, 20,000
guides, 20,000 permutations; a few seconds).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import special, stats  # noqa: E402

from oncoresist.crispr._drugz import drugz  # noqa: E402
from oncoresist.crispr._qc import crispr_qc  # noqa: E402
from oncoresist.crispr._rra import mageck_rra  # noqa: E402
from oncoresist.crispr._simulate import simulate_crispr_screen  # noqa: E402


# ------------------------------------------------------------------ naive DrugZ (per gene)
def naive_drugz(screen, *, pseudocount=5.0, min_obs=1, half_window=500) -> pd.DataFrame:
    """Colic 2019 step by step in pandas: per pair fold change, rolling sd, per-gene apply."""
    pairs = screen.pairs()
    cols = [c for c, _ in pairs] + [t for _, t in pairs]
    raw = screen.counts[cols].astype(float)
    norm = raw / (raw.sum() / raw.sum().mean())
    w = 2 * half_window + 1
    long = []
    for c, t in pairs:
        df = pd.DataFrame(
            {
                "gene": screen.guides["gene"],
                "ctrl": norm[c],
                "fc": np.log2((norm[t] + pseudocount) / (norm[c] + pseudocount)),
            }
        )[raw[c] >= min_obs]
        df = df.sort_values("ctrl", kind="stable")
        roll = df["fc"].rolling(w).std().to_numpy()  # window ending at each position
        n = len(df)
        end = np.clip(np.arange(n) + half_window, w - 1, n - 1)  # clamped centred window
        df["z"] = df["fc"] / roll[end]
        long.append(df)
    z = pd.concat(long)

    def per_gene(d: pd.DataFrame) -> pd.Series:
        s = d["z"].sum()
        k = d["z"].count()
        nz = s / np.sqrt(k)
        return pd.Series({"sum_z": s, "num_obs": k, "norm_z": nz, "pval_synth": stats.norm.cdf(nz)})

    g = z.groupby("gene").apply(per_gene)
    g["pval_supp"] = stats.norm.sf(g["norm_z"])
    g["fdr_synth"] = stats.false_discovery_control(g["pval_synth"], method="bh")
    g["fdr_supp"] = stats.false_discovery_control(g["pval_supp"], method="bh")
    return g


# ------------------------------------------------------------------ naive RRA (per gene)
def naive_rra(screen, *, permutations: int, seed: int, fdr_threshold=0.25) -> pd.DataFrame:
    """Li 2014 step by step: median-ratio, mean-variance fit, guide p, per-gene alpha-RRA."""
    ctrl, trt = screen.arm("control"), screen.arm("treatment")
    raw = screen.counts[ctrl + trt].astype(float)
    keep = raw.sum(axis=1) > 0
    ref = np.exp(np.log1p(raw).mean(axis=1))
    ratio = raw.div(ref, axis=0)
    sf = ratio[raw.sum(axis=1) > 0].apply(lambda col: np.sort(col.to_numpy())[len(col) // 2])
    norm = raw / sf
    m_all, v_all = norm[ctrl].mean(axis=1), norm[ctrl].var(axis=1, ddof=1)
    ok = (m_all <= m_all.mean() + 4 * m_all.std(ddof=0)) & (v_all > m_all) & (m_all > 0)
    b, a = np.polyfit(np.log2(m_all[ok]), np.log2(v_all[ok] - m_all[ok]), 1)
    c, t = norm.loc[keep, ctrl], norm.loc[keep, trt]
    m = c.mean(axis=1)
    cm = m.where(m > 0, m[m > 0].min())
    z = (t.mean(axis=1) - cm) / np.sqrt(cm + 2.0 ** (a + b * np.log2(cm)))
    guides = pd.DataFrame({"gene": screen.guides["gene"][keep], "p_low": stats.norm.cdf(z)})
    guides["p_high"] = stats.norm.sf(z)
    n_all = len(guides)
    rng = np.random.default_rng(seed)
    out = {}
    for tail, col in (("neg", "p_low"), ("pos", "p_high")):
        alpha = float((guides[col] < fdr_threshold).mean())
        guides["u"] = stats.rankdata(guides[col], method="ordinal") / n_all

        def rho(u: np.ndarray, alpha: float = alpha) -> float:
            u = np.sort(u)
            k = np.arange(1, u.size + 1)
            bb = special.betainc(k, u.size + 1 - k, u)
            sel = u <= alpha
            sel[0] = True
            return float(bb[sel].min())

        score = guides.groupby("gene")["u"].apply(lambda s: rho(s.to_numpy()))
        size = guides.groupby("gene").size()
        pval = pd.Series(np.nan, index=score.index)
        for n in np.unique(size):
            draw = (rng.integers(0, n_all, size=(permutations, int(n))) + 1.0) / n_all
            null = np.sort([rho(row) for row in draw])  # one null gene at a time
            genes_n = size.index[size == n]
            pval[genes_n] = [
                (1 + np.searchsorted(null, s, side="right")) / (1 + permutations)
                for s in score[genes_n]
            ]
        out[f"{tail}_score"] = score
        out[f"{tail}_pvalue"] = pval
        out[f"{tail}_fdr"] = pd.Series(stats.false_discovery_control(pval), index=pval.index)
    return pd.DataFrame(out)


def _timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5,000 genes, 20,000 permutations")
    ap.add_argument("--genes", type=int, default=None, help="genes (x 4 guides)")
    ap.add_argument("--permutations", type=int, default=None, help="RRA null genes per size")
    args = ap.parse_args()
    n_genes = args.genes or (5_000 if args.quick else 25_000)
    perms = args.permutations or (20_000 if args.quick else 100_000)
    screen, truth = simulate_crispr_screen(
        n_genes=n_genes,
        essential=n_genes // 12,
        sensitisers=max(10, n_genes // 250),
        suppressors=max(10, n_genes // 250),
        rng=0,
    )
    ess = truth.index[truth["kind"] == "essential"][:600]
    non = truth.index[truth["kind"] == "neutral"][:900]
    print(
        f"simulated screen: {screen.counts.shape[0]:,} guides x {screen.counts.shape[1]} samples, "
        f"{n_genes:,} genes; RRA permutations {perms:,}; BLAS threads "
        f"{os.environ['OMP_NUM_THREADS']}, cpu_count {os.cpu_count()}"
    )
    drugz(screen.subset(guides=list(screen.counts.index[:2000])))  # import / first-call warm-up

    qc, t_qc = _timed(crispr_qc, screen, essential=ess, nonessential=non)
    dz, t_dz = _timed(drugz, screen, paired=True)
    rra, t_rra = _timed(mageck_rra, screen, permutations=perms, rng=0)
    total = t_qc + t_dz + t_rra
    ndz, t_ndz = _timed(naive_drugz, screen)
    nrra, t_nrra = _timed(naive_rra, screen, permutations=perms, seed=0)

    print(f"\n{'step':14s} {'oncoresist s':>13s} {'naive pandas s':>15s} {'ratio':>8s}")
    print(f"{'QC':14s} {t_qc:13.2f} {'-':>15s} {'-':>8s}")
    print(f"{'DrugZ paired':14s} {t_dz:13.2f} {t_ndz:15.2f} {t_ndz / t_dz:7.1f}x")
    print(f"{'MAGeCK RRA':14s} {t_rra:13.2f} {t_nrra:15.2f} {t_nrra / t_rra:7.1f}x")
    print(f"{'whole analysis':14s} {total:13.2f}   (aim: < 5 s on 2 cores)")

    g = dz.genes.loc[ndz.index]
    print("\nconsistency (largest |fast - naive| over genes):")
    for col in ("sum_z", "norm_z", "pval_synth", "fdr_synth", "pval_supp", "fdr_supp"):
        print(f"  DrugZ {col:11s} {np.nanmax(np.abs(g[col].to_numpy() - ndz[col].to_numpy())):.2e}")
    r = rra.genes.loc[nrra.index]
    for col in ("neg_score", "pos_score"):
        rel = np.abs(r[col].to_numpy() - nrra[col].to_numpy()) / np.maximum(
            r[col].to_numpy(), 1e-300
        )
        print(f"  RRA   {col:11s} {rel.max():.2e} (relative)")
    for col in ("neg_pvalue", "neg_fdr", "pos_pvalue", "pos_fdr"):
        d = np.abs(r[col].to_numpy() - nrra[col].to_numpy())
        print(f"  RRA   {col:11s} {d.max():.2e}")
    print(
        "  (RRA p-values agree exactly when both draw the same null from the same seed; "
        "otherwise the differences are Monte Carlo error, ~1/sqrt(permutations))"
    )
    hits = {
        "DrugZ synth": (dz.genes["fdr_synth"] < 0.1, "sensitiser"),
        "DrugZ supp": (dz.genes["fdr_supp"] < 0.1, "suppressor"),
        "RRA neg": (rra.genes["neg_fdr"] < 0.1, "sensitiser"),
        "RRA pos": (rra.genes["pos_fdr"] < 0.1, "suppressor"),
    }
    print("\nrecovery of the planted genes at FDR < 0.1 (recall, false discovery proportion):")
    for name, (called, kind) in hits.items():
        k = truth.loc[called.index, "kind"] == kind
        print(
            f"  {name:12s} recall {(called & k).sum() / k.sum():.3f}  "
            f"FDP {(called & ~k).sum() / max(called.sum(), 1):.3f}"
        )
    print(f"QC flags: {len(getattr(qc, 'flags', []))}")


if __name__ == "__main__":
    main()
