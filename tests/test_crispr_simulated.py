"""Ground truth first: a simulated chemogenetic screen with known sensitisers, suppressors and
essential genes (``simulate_crispr_screen``: negative-binomial counts at ~400 reads/guide,
lognormal library skew, 15 % ineffective guides, paired replicates), recovered by DrugZ, MAGeCK RRA
and BAGEL-style Bayes factors at their stated FDR.

Recall = true hits called / true hits; FDP = false calls / all calls (the realised false discovery
proportion, which must sit near or below the nominal FDR). Numbers observed with this
implementation are written next to each tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist.crispr._bagel import bagel_bf
from oncoresist.crispr._drugz import drugz
from oncoresist.crispr._simulate import simulate_crispr_screen

SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def screens() -> list:
    return [simulate_crispr_screen(n_genes=2000, rng=s) for s in SEEDS]


def _recall_fdp(called: pd.Series, truth: pd.Series) -> tuple[int, int, int, int]:
    return (
        int((called & truth).sum()),
        int(truth.sum()),
        int((called & ~truth).sum()),
        int(called.sum()),
    )


def test_simulation_has_the_stated_shape_and_depth() -> None:
    screen, truth = simulate_crispr_screen(n_genes=500, rng=0)
    assert screen.counts.shape == (2000, 7)
    assert screen.pairs() == [("CTRL_A", "DRUG_A"), ("CTRL_B", "DRUG_B"), ("CTRL_C", "DRUG_C")]
    mean_t0 = screen.counts["T0"].mean()
    assert 300 < mean_t0 < 500  # realistic depth (reads per guide)
    assert truth["kind"].value_counts().to_dict() == {
        "neutral": 220,
        "essential": 200,
        "sensitiser": 40,
        "suppressor": 40,
    }
    # essential genes drop in the control arm relative to T0
    ess = screen.guides["gene"].isin(truth.index[truth["kind"] == "essential"]).to_numpy()
    lfc = np.log2((screen.counts["CTRL_A"] + 1) / (screen.counts["T0"] + 1))
    assert lfc[ess].median() < lfc[~ess].median() - 1.0


# Observed over seeds 0-4 (2,000 genes each, 40 sensitisers, 40 suppressors), FDR < 0.1:
#   paired   sensitisers recall 0.98, FDP 0.062; suppressors recall 0.96, FDP 0.015
#   unpaired sensitisers recall 0.96, FDP 0.000; suppressors recall 0.915, FDP 0.000
# Tolerance: recall >= 0.85 per tail, pooled FDP <= 0.12 (nominal 0.1 plus sampling error of
# ~400 calls), every seed's FDP <= 0.25.
@pytest.mark.parametrize("paired", [True, False])
def test_drugz_recovers_sensitisers_and_suppressors_at_fdr_01(screens: list, paired: bool) -> None:
    for tail, kind in (("synth", "sensitiser"), ("supp", "suppressor")):
        tot = np.zeros(4, dtype=int)
        for screen, truth in screens:
            g = drugz(screen, paired=paired).genes.join(truth)
            r = np.array(_recall_fdp(g[f"fdr_{tail}"] < 0.1, g["kind"] == kind))
            assert r[2] <= 0.25 * max(r[3], 1)
            tot += r
        recall, fdp = tot[0] / tot[1], tot[2] / max(tot[3], 1)
        assert recall >= 0.85, (tail, recall)
        assert fdp <= 0.12, (tail, fdp)


# Observed, seed 0, FDR < 0.1: RRA negative tail (sensitisers) recall 0.925, FDP 0.026; positive
# tail (suppressors) recall 0.875, FDP 0.054. Tolerance: recall >= 0.8, FDP <= 0.15.
def test_mageck_rra_recovers_them_too(screens: list) -> None:
    rra = pytest.importorskip("oncoresist.crispr._rra")
    screen, truth = screens[0]
    g = rra.mageck_rra(
        screen, control=screen.arm("control"), treatment=screen.arm("treatment"), rng=0
    ).genes.join(truth)
    for tail, kind in (("neg", "sensitiser"), ("pos", "suppressor")):
        tp, n_true, fp, n_called = _recall_fdp(g[f"{tail}_fdr"] < 0.1, g["kind"] == kind)
        assert tp / n_true >= 0.8, (tail, tp / n_true)
        assert fp <= 0.15 * max(n_called, 1), (tail, fp, n_called)


# Observed, seed 0, training on every other essential (100) and neutral (860) gene, 100 rounds:
# held-out essentials vs held-out neutral/drug genes: AUC 0.990; at BAGEL's FDR < 0.05 threshold
# (BF > 0.27) recall 0.90 with FDP 0.043. Tolerance: AUC >= 0.97, recall >= 0.8, FDP <= 0.1.
def test_bagel_recovers_held_out_essential_genes(screens: list) -> None:
    from sklearn.metrics import roc_auc_score

    screen, truth = screens[0]
    ess = truth.index[truth["kind"] == "essential"]
    non = truth.index[truth["kind"] == "neutral"]
    res = bagel_bf(screen, essential=ess[::2], nonessential=non[::2], n_boot=100, rng=0)
    g = res.genes.join(truth)
    held = g[g["training"] == ""]
    y = (held["kind"] == "essential").to_numpy()
    assert roc_auc_score(y, held["bf"]) >= 0.97
    tp, n_true, fp, n_called = _recall_fdp(held["essential"], held["kind"] == "essential")
    assert tp / n_true >= 0.8
    assert fp <= 0.1 * n_called
    # training genes are scored out-of-bag only (never on a round that trained on them)
    tr = g[g["training"] != ""]
    assert (tr["n_rounds"] < 100).all() and (g.loc[g["training"] == "", "n_rounds"] == 100).all()


def test_bagel_is_reproducible_from_its_seed(screens: list) -> None:
    screen, truth = screens[1]
    ess = truth.index[truth["kind"] == "essential"][:60]
    non = truth.index[truth["kind"] == "neutral"][:200]
    a = bagel_bf(screen, essential=ess, nonessential=non, n_boot=20, rng=7).genes
    b = bagel_bf(screen, essential=ess, nonessential=non, n_boot=20, rng=7).genes
    pd.testing.assert_frame_equal(a, b)


def test_bagel_too_few_training_genes_is_an_input_error(screens: list) -> None:
    from oncoresist.errors import InputError

    screen, _ = screens[0]
    with pytest.raises(InputError, match="essential training genes"):
        bagel_bf(screen, essential=["NOPE1", "NOPE2"], nonessential=["G00001"] * 3)


# Observed, seeds 0-9, no planted hits: paired DrugZ calls 2 genes in one run of ten (unpaired: 1
# gene in one run), null norm_z mean -0.005 to -0.048 and sd 0.998-1.032 (paired), 0.99-1.018
# (unpaired). BH at 0.1 in each of two tails allows a run with any call with probability <= 0.2.
# Tolerance: at most 3 of 10 runs with a call, sd of norm_z in [0.95, 1.08], |mean| < 0.1.
@pytest.mark.parametrize("paired", [True, False])
def test_drugz_under_the_global_null_is_calibrated(paired: bool) -> None:
    runs_with_calls = 0
    for seed in range(10):
        screen, _ = simulate_crispr_screen(n_genes=2000, sensitisers=0, suppressors=0, rng=seed)
        g = drugz(screen, paired=paired).genes
        runs_with_calls += bool(((g["fdr_synth"] < 0.1) | (g["fdr_supp"] < 0.1)).any())
        assert 0.95 <= g["norm_z"].std() <= 1.08
        assert abs(g["norm_z"].mean()) < 0.1
    assert runs_with_calls <= 3
