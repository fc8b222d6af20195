"""Gene-set scores: ground truth, closed-form ssGSEA, scale handling, mechanism gain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from oncoresist.errors import InputError
from oncoresist.mechanisms import (
    annotate,
    detect_scale,
    harmonise_expression,
    load_knowledge_base,
    make_expression_panel,
    make_profile,
    mechanism_gain,
    singscore,
    ssgsea,
)

SETS = {
    "efflux": ["ABCB1", "ABCG2", "ABCC1", "ABCC2"],
    "emt": {"up": ["VIM", "ZEB1", "SNAI2"], "down": ["CDH1", "EPCAM"]},
}


def test_singscore_recovers_known_shifts():
    shift = np.linspace(-2, 2, 40)
    x = make_expression_panel(
        SETS, n_samples=40, n_background=1500, rng=1, shifts={"efflux": shift, "emt": -shift}
    )
    s = singscore(x, SETS)
    # ground truth: scores order samples as the injected shift (Spearman ~1)
    assert stats.spearmanr(s["efflux"], shift)[0] > 0.95
    assert stats.spearmanr(s["emt"], -shift)[0] > 0.95
    assert s.abs().max().max() <= 1.0


def _ssgsea_running_sum(v: np.ndarray, members: set[int], alpha: float) -> float:
    order = np.argsort(-v, kind="stable")
    r = stats.rankdata(v)
    hit = np.array([i in members for i in order], float)
    w = r[order] ** alpha * hit
    p_hit = np.cumsum(w) / w.sum()
    p_miss = np.cumsum(1 - hit) / (len(v) - hit.sum())
    return float(np.sum(p_hit - p_miss))


def test_ssgsea_closed_form_equals_running_sum():
    gen = np.random.default_rng(3)
    x = pd.DataFrame(gen.normal(size=(60, 5)), index=[f"G{i}" for i in range(60)])
    sets = {"a": [f"G{i}" for i in range(0, 60, 7)]}
    got = ssgsea(x, sets, alpha=0.25)["a"].to_numpy()
    members = set(range(0, 60, 7))
    want = [_ssgsea_running_sum(x[c].to_numpy(), members, 0.25) for c in x.columns]
    np.testing.assert_allclose(got, want, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_singscore_invariant_to_monotone_transform(seed):
    gen = np.random.default_rng(seed)
    x = pd.DataFrame(gen.gamma(2.0, 50.0, size=(80, 4)), index=[f"G{i}" for i in range(80)])
    sets = {"a": ["G1", "G5", "G9"], "b": {"up": ["G2"], "down": ["G3", "G4"]}}
    pd.testing.assert_frame_equal(singscore(x, sets), singscore(np.log2(x + 1), sets))


def test_detect_and_harmonise_scales():
    gen = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(300)]
    counts = pd.DataFrame(gen.poisson(200, (300, 4)).astype(float), index=genes)
    logx = np.log2(counts + 1)
    z = (logx - logx.mean()) / logx.std(ddof=0)
    assert detect_scale(counts) == "counts"
    assert detect_scale(logx) == "log"
    assert detect_scale(z) == "sample_zscore"
    centred = logx.sub(logx.mean(axis=1), axis=0)
    assert detect_scale(centred) == "gene_centred"
    p, _r, notes = harmonise_expression(counts[[0]], z)
    assert any("log2" in n for n in notes) and any("z-scored" in n for n in notes)
    np.testing.assert_allclose(p.mean().to_numpy(), 0, atol=1e-9)
    with pytest.raises(InputError, match="centred per gene"):
        harmonise_expression(centred[[0]], centred)
    with pytest.raises(InputError, match="share 0 genes"):
        harmonise_expression(counts.set_axis([f"ENSG{i}" for i in range(300)])[[0]], z)


def test_annotate_expression_ground_truth():
    kb = load_knowledge_base()
    sets = kb.gene_set_dict()
    n = 41
    x = make_expression_panel(
        sets, n_samples=n, rng=5, shifts={"efflux_abc": np.r_[3.0, np.zeros(n - 1)]}
    )
    prof = make_profile(expression=x[["S000"]], sample="S000")
    a = annotate(prof, "docetaxel", reference=x.drop(columns="S000"))
    top = a.mechanisms.iloc[0]
    assert top.mechanism == "efflux" and top.set_percentile == 100.0
    assert a.call == "possibly_resistant"
    assert (a.evidence.gene == "ABCB1").any()  # marker overexpression matched the KB alteration
    # the same profile is unremarkable for a drug without efflux links
    assert annotate(prof, "olaparib", reference=x.drop(columns="S000")).call != "resistant"


@pytest.mark.parametrize(
    ("shifted", "drug", "expected", "effect"),
    [
        # BCL2 is venetoclax's target: high BCL2 marks sensitivity (Souers 2013 PMID:23291630)
        ("bcl2_dependence", "venetoclax", "possibly_sensitive", "sensitivity"),
        # MCL1 is bound by no BH3 mimetic: high MCL1 marks resistance (Konopleva 2006)
        ("mcl1_dependence", "venetoclax", "possibly_resistant", "resistance"),
        # BCL-XL: resistance to venetoclax, but the target of navitoclax (van Delft 2006)
        ("bclxl_dependence", "venetoclax", "possibly_resistant", "resistance"),
        ("bclxl_dependence", "navitoclax", "possibly_sensitive", "sensitivity"),
        # low SLFN11 marks resistance to topoisomerase I poisons (Zoppoli 2012 PMID:22927417)
        ("slfn11", "topotecan", "possibly_resistant", "resistance"),
    ],
)
def test_direction_is_per_mechanism_and_drug_class(shifted, drug, expected, effect):
    """Ground truth by construction (the planted shift) for the direction of each link: the
    same genes mean resistance to one drug class and sensitivity to another."""
    kb = load_knowledge_base()
    n = 41
    sign = -1.0 if shifted == "slfn11" else 3.0
    x = make_expression_panel(
        kb.gene_set_dict(), n_samples=n, rng=7, shifts={shifted: np.r_[sign, np.zeros(n - 1)]}
    )
    prof = make_profile(expression=x[["S000"]], sample="S000")
    a = annotate(prof, drug, reference=x.drop(columns="S000"))
    assert a.call == expected, a.reason
    row = a.evidence[(a.evidence.gene == shifted) & a.evidence.used]
    assert list(row.effect) == [effect]


def test_mechanism_gain_ground_truth():
    kb = load_knowledge_base()
    gen = np.random.default_rng(2)
    genes = sorted(set(kb.gene_sets.gene)) + [f"BG{i}" for i in range(3000)]
    fc = pd.Series(gen.normal(0, 0.3, len(genes)), index=genes)
    fc[kb.gene_set_dict()["efflux_abc"]["up"]] += 2.0  # resistant line gained efflux
    fc["SLFN11"] -= 3.0  # and lost SLFN11 ("down" mechanism -> gained resistance)
    out = mechanism_gain(pd.DataFrame({"gene": fc.index, "log2fc": fc.to_numpy()})).set_index(
        "gene_set"
    )
    assert out.loc["efflux_abc", "resistance_change"] == "gained"
    assert out.loc["efflux_abc", "auc"] > 0.95
    assert out.loc["slfn11", "statistic"] < 0
    changed = out[out.resistance_change == "gained"].index
    assert set(changed) <= {"efflux_abc", "slfn11"}
