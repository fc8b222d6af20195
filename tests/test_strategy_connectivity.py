"""Connectivity scoring (Lamb 2006 KS score, Subramanian 2017 WTCS) against its definitions.

Kinds: "outside reference" = the defining paper's formula or property, an independent
implementation (scipy, a direct loop) or a known pharmacological answer; "regression guard" =
behaviour fixed by this implementation's choices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import requires_mirror
from oncoresist.errors import DataUnavailableError, InputError
from oncoresist.strategy._connectivity import (
    LINCS_DATASET,
    ConnectivityResult,
    _combine,
    _enrichment,
    _prepare,
    connectivity_matrix,
    connectivity_scores,
    lincs_compounds,
    load_lincs_signatures,
    signature_from_profile,
)


def _random_signatures(
    n_genes: int, n_compounds: int, seed: int, *, decimals: int | None = 1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_genes, n_compounds))
    if decimals is not None:
        z = z.round(decimals)  # rounding makes ties
    return pd.DataFrame(
        z,
        index=[f"G{i}" for i in range(n_genes)],
        columns=[f"C{i}" for i in range(n_compounds)],
    )


# ----- direct, loop-based implementations of the published formulas ---------------------------


def _ranked_genes(z: pd.Series) -> list[str]:
    # decreasing z, ties by gene order (the stable convention of the implementation)
    return [z.index[i] for i in np.argsort(-z.to_numpy(), kind="stable")]


def _lamb_ks_loop(z: pd.Series, tags: list[str]) -> float:
    """Lamb 2006: a = max_j j/t - V(j)/n, b = max_j V(j)/n - (j-1)/t; ks = a if a > b else -b."""
    ranked = _ranked_genes(z)
    n, t = len(ranked), len(tags)
    v = sorted(ranked.index(g) + 1 for g in tags)
    a = max((j + 1) / t - v[j] / n for j in range(t))
    b = max(v[j] / n - j / t for j in range(t))
    return a if a > b else -b


def _gsea_es_loop(z: pd.Series, tags: list[str]) -> float:
    """Subramanian 2005/2017: weighted running sum (weight |z|), ES = largest deviation."""
    ranked = _ranked_genes(z)
    n, t = len(ranked), len(tags)
    total = sum(abs(z[g]) for g in tags)
    running, best = 0.0, 0.0
    for g in ranked:
        running += abs(z[g]) / total if g in tags else -1.0 / (n - t)
        if abs(running) > abs(best) or (abs(running) == abs(best) and running > 0):
            best = running
    return best


def _cs_loop(es_up: float, es_down: float, *, halve: bool) -> float:
    if np.sign(es_up) == np.sign(es_down):
        return 0.0
    return (es_up - es_down) / (2.0 if halve else 1.0)


# ----- formulas ---------------------------------------------------------------------------------


def test_lamb_ks_hand_example() -> None:
    """Outside reference (Lamb 2006 formula by hand): n = 10, tags at ranks 1, 2, 5.

    a = max(1/3 - .1, 2/3 - .2, 1 - .5) = .5; b = max(.1, .2 - 1/3, .5 - 2/3) = .1 -> ks = .5.
    """
    z = pd.DataFrame({"c": np.arange(10, 0, -1, dtype=float)}, index=[f"G{i}" for i in range(10)])
    rank, sorted_abs = _prepare(z.to_numpy())
    es = _enrichment(rank, sorted_abs, np.array([[0, 1, 4]]), "ks")
    assert es[0, 0] == pytest.approx(0.5, abs=1e-15)


def test_lamb_ks_equals_scipy_one_sample_ks() -> None:
    """Outside reference: Lamb's a and b are scipy's one-sided one-sample KS statistics D+ / D-
    of the tag positions V(j)/n against the uniform distribution."""
    sig = _random_signatures(60, 6, seed=1)
    rank, sorted_abs = _prepare(sig.to_numpy())
    rng = np.random.default_rng(2)
    sets = np.stack([rng.choice(60, size=7, replace=False) for _ in range(20)])
    es = _enrichment(rank, sorted_abs, sets, "ks")
    for q, tags in enumerate(sets):
        for c in range(6):
            v = (rank[c, tags] + 1) / 60
            d_plus = stats.ks_1samp(v, stats.uniform.cdf, alternative="greater").statistic
            d_minus = stats.ks_1samp(v, stats.uniform.cdf, alternative="less").statistic
            want = d_plus if d_plus > d_minus else -d_minus
            assert es[q, c] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("method", ["ks", "wtcs"])
def test_scores_match_direct_loop(method: str) -> None:
    """Outside reference: the vectorised scores equal a direct per-compound loop of the papers'
    formulas (Lamb 2006 KS score; Subramanian 2017 WTCS with GSEA's weighted running sum)."""
    sig = _random_signatures(30, 8, seed=3)
    up, down = ["G1", "G5", "G7", "G20"], ["G2", "G9", "G11", "G13", "G28"]
    res = connectivity_scores(up, down, sig, method=method, n_null=0)
    got = res.table.set_index("compound")
    es_fn = _lamb_ks_loop if method == "ks" else _gsea_es_loop
    raw = {}
    for c in sig.columns:
        eu, ed = es_fn(sig[c], up), es_fn(sig[c], down)
        assert got.loc[c, "es_up"] == pytest.approx(eu, abs=1e-12)
        assert got.loc[c, "es_down"] == pytest.approx(ed, abs=1e-12)
        raw[c] = _cs_loop(eu, ed, halve=method == "wtcs")
        assert got.loc[c, "raw_score"] == pytest.approx(raw[c], abs=1e-12)
    if method == "ks":  # Lamb: s / max(s) for s > 0, s / |min(s)| for s < 0
        p, q = max(raw.values()), min(raw.values())
        for c, s in raw.items():
            want = s / p if s > 0 else (s / -q if s < 0 else 0.0)
            assert got.loc[c, "score"] == pytest.approx(want, abs=1e-12)
    else:
        assert np.allclose(got["score"], got["raw_score"])


def test_score_is_zero_when_up_and_down_agree_in_sign() -> None:
    """Outside reference (Lamb 2006, Subramanian 2017): the score is 0 when the up and the down
    enrichment have the same sign."""
    z = pd.DataFrame({"c": np.arange(20, 0, -1, dtype=float)}, index=[f"G{i}" for i in range(20)])
    z["d"] = -z["c"]
    # both sets at the top of c (both positive there) and at the bottom of d (both negative)
    res = connectivity_scores(["G0", "G1"], ["G2", "G3"], z, method="ks", n_null=0)
    t = res.table.set_index("compound")
    assert (t["es_up"] > 0).loc["c"] and (t["es_down"] > 0).loc["c"]
    assert (t["es_up"] < 0).loc["d"] and (t["es_down"] < 0).loc["d"]
    assert (t["score"] == 0).all()
    got = _combine(np.array([0.3, -0.2, 0.4]), np.array([0.1, -0.5, -0.2]), "wtcs")
    assert np.allclose(got, [0.0, 0.0, 0.3], atol=1e-15)


@pytest.mark.parametrize("method", ["ks", "wtcs"])
def test_own_signature_ranks_first_and_reversed_last(method: str) -> None:
    """Outside reference (defining property): a compound's own top / bottom genes as the query
    give the maximal score (WTCS = 1) and rank it first; swapped, it ranks last, negative."""
    sig = _random_signatures(200, 40, seed=4, decimals=None)  # ties would blur "own top 15"
    for c in sig.columns[:10]:
        up = sig[c].nlargest(15).index.tolist()
        down = sig[c].nsmallest(15).index.tolist()
        fwd = connectivity_scores(up, down, sig, method=method, n_null=0).table
        assert fwd["compound"].iloc[0] == c
        assert fwd["score"].iloc[0] == pytest.approx(1.0)
        rev = connectivity_scores(down, up, sig, method=method, n_null=0).table
        assert rev["compound"].iloc[-1] == c
        assert rev["score"].iloc[-1] == pytest.approx(-1.0)


@pytest.mark.parametrize("method", ["ks", "wtcs"])
def test_null_gives_uniform_pvalues_for_random_queries(method: str) -> None:
    """Outside reference (validity of a permutation test): random queries (no signal) get
    p-values that are uniform below 0.5 (above, the same-sign zeros get p = 1); share at or
    below 0.05 near 5 % (binomial 99.9 % band)."""
    sig = _random_signatures(150, 150, seed=5)
    rng = np.random.default_rng(6)
    pvals = []
    for _ in range(10):
        genes = rng.choice(sig.index.to_numpy(), size=20, replace=False)
        res = connectivity_scores(genes[:10], genes[10:], sig, method=method, n_null=199, rng=rng)
        pvals.append(res.table["pvalue"].to_numpy())
    p = np.concatenate(pvals)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], len(p), 0.05) / len(p)
    # p takes the values k / 200: P(p <= 0.05) = 10 / 200 exactly under the null
    assert lo <= (p <= 0.05).mean() <= hi
    assert lo * 4 <= (p <= 0.2).mean() <= hi * 4
    assert ((p > 0) & (p <= 1)).all()


def test_compounds_null_is_the_share_of_compounds_as_extreme() -> None:
    """Regression guard (definition as documented): null="compounds": p = (1 + #others with
    |score| >= |observed|) / compounds; ncs = score / same-sign mean over compounds."""
    sig = _random_signatures(100, 40, seed=11)
    up = sig["C3"].nlargest(10).index.tolist()
    down = sig["C3"].nsmallest(10).index.tolist()
    t = connectivity_scores(up, down, sig, null="compounds").table
    s = t["raw_score"].to_numpy()
    for i in range(len(t)):
        if s[i] == 0:
            assert t["pvalue"].iloc[i] == 1
        else:
            assert t["pvalue"].iloc[i] == pytest.approx((np.abs(s) >= abs(s[i])).sum() / 40)
    pos = s[s > 0].mean()
    assert t["ncs"].iloc[0] == pytest.approx(s[0] / pos)
    assert t["compound"].iloc[0] == "C3" and t["pvalue"].iloc[0] == pytest.approx(1 / 40)
    with pytest.raises(InputError, match="null must be"):
        connectivity_scores(up, down, sig, null="columns")


def test_null_sets_are_uniform_and_disjoint() -> None:
    """Regression guard (a bug once found): the random up / down split does not depend on the
    index, which in position space is the rank (argpartition's order made the null biased)."""
    from oncoresist.strategy._connectivity import _random_sets

    up, down = _random_sets(978, 50, 50, 4000, np.random.default_rng(0))
    assert abs(up.mean() - 488.5) < 3 and abs(down.mean() - 488.5) < 3
    both = np.concatenate([up, down], axis=1)
    assert all(len(set(row)) == 100 for row in both[:200])


def test_ncs_normalises_by_same_sign_null_mean_and_fdr_is_bh() -> None:
    """Regression guard (definition as documented): ncs = raw / mean of the same-sign null;
    the FDR is Benjamini-Hochberg of the p-values (scipy)."""
    sig = _random_signatures(100, 30, seed=7)
    up = sig["C0"].nlargest(10).index.tolist()
    down = sig["C0"].nsmallest(10).index.tolist()
    t = connectivity_scores(up, down, sig, n_null=300, rng=8).table
    assert np.allclose(t["fdr"], stats.false_discovery_control(t["pvalue"], method="bh"))
    top = t.iloc[0]
    assert top["compound"] == "C0" and top["ncs"] > 1 and top["pvalue"] == pytest.approx(1 / 301)
    assert (np.sign(t["ncs"]) == np.sign(t["score"])).all()
    again = connectivity_scores(up, down, sig, n_null=300, rng=8).table
    pd.testing.assert_frame_equal(t, again)


# ----- query building and bad input ------------------------------------------------------------


def test_signature_from_profile_counts_what_it_cannot_use() -> None:
    """Regression guard: top-n by sign among the signature genes; the rest is counted."""
    expr = pd.Series({"A": 3.0, "B": 2.0, "C": -1.0, "D": -4.0, "E": np.nan, "X": 9.0, "Y": -9.0})
    q = signature_from_profile(expr, ["A", "B", "C", "D", "E"], n=1)
    assert q.up == ("A",) and q.down == ("D",)
    assert (q.n_input, q.n_missing_value, q.n_not_landmark) == (7, 1, 2)
    assert set(q.not_landmark) == {"X", "Y"}
    assert "2 not among the signature genes" in q.summary()
    with pytest.raises(InputError, match="positive integer"):
        signature_from_profile(expr, ["A"], n=0)
    with pytest.raises(InputError, match="Series"):
        signature_from_profile({"A": 1.0}, ["A"])  # type: ignore[arg-type]


def test_bad_input_is_named() -> None:
    """Regression guard: what is wrong and how to fix it."""
    sig = _random_signatures(30, 3, seed=9)
    with pytest.raises(InputError, match="both query_up and query_down"):
        connectivity_scores(["G1", "G2"], ["G2"], sig)
    with pytest.raises(InputError, match="none of the 2 query genes"):
        connectivity_scores(["NOPE"], ["ALSO"], sig)
    with pytest.raises(InputError, match="method must be"):
        connectivity_scores(["G1"], ["G2"], sig, method="tau")
    with pytest.raises(InputError, match="one string"):
        connectivity_scores("G1", ["G2"], sig)
    bad = sig.copy()
    bad.iloc[0, 1] = np.nan
    with pytest.raises(InputError, match="missing or infinite"):
        connectivity_scores(["G1"], ["G2"], bad)
    res = connectivity_scores(["G1", "nope"], ["g2"], sig, n_null=0)  # case-insensitive match
    assert res.query_up == ("G1",) and res.query_down == ("G2",) and res.missing_up == ("nope",)
    assert "not among the" in res.describe()
    assert isinstance(res, ConnectivityResult) and "ConnectivityResult" in res._repr_html_()
    assert res.to_frame().columns[:4].tolist() == ["rank", "compound", "name", "score"]


def test_missing_mirror_raises_data_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression guard: no mirror -> DataUnavailableError that says how to fix it."""
    from oncoresist.strategy import _connectivity as mod

    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    mod._lincs_signatures_cached.cache_clear()
    try:
        with pytest.raises(DataUnavailableError, match="ONCORESIST_DATA_MIRROR"):
            load_lincs_signatures()
    finally:
        mod._lincs_signatures_cached.cache_clear()


# ----- real data: LINCS L1000 consensus signatures of 1,170 DrugBank compounds ----------------

lincs = pytest.mark.realdata


@lincs
@requires_mirror(LINCS_DATASET)
def test_lincs_loader_shape_and_names() -> None:
    """Outside reference (data set README): 978 landmark genes x 1,170 DrugBank compounds."""
    sig = load_lincs_signatures()
    assert sig.shape == (978, 1170)
    names = lincs_compounds()
    assert names["name"].notna().all()
    assert names.loc["DB00997", "name"] == "Doxorubicin"


@lincs
@requires_mirror(LINCS_DATASET)
@pytest.mark.parametrize("method", ["ks", "wtcs"])
def test_lincs_compounds_are_their_own_best_match(method: str) -> None:
    """Outside reference (defining property), 150 of the 1,170 compounds as queries: the own
    top-50 up / down query scores maximal in its row (ties only with duplicate signatures,
    e.g. epirubicin = doxorubicin in these data); WTCS reaches its maximum 1."""
    ids = load_lincs_signatures().columns[::8][:150]
    m = connectivity_matrix(n=50, method=method, queries=ids)
    self_score = np.array([m.loc[q, q] for q in ids])
    assert (self_score >= m.to_numpy().max(axis=1) - 1e-12).all()
    if method == "wtcs":
        assert np.allclose(self_score, 1.0)
    else:  # Lamb's s, tags at the very top / bottom: (1 - 50/978) + 929/978 = 1.8988
        assert np.allclose(self_score, (1 - 50 / 978) + 929 / 978)


# query compound -> same-mechanism compounds and their measured WTCS ranks (of 1,170)
_SAME_MECHANISM = {
    "DB00997": ({"DB00694": 5, "DB01177": 3}, 10),  # doxorubicin: daunorubicin, idarubicin
    "DB00317": ({"DB00530": 2, "DB08916": 3}, 5),  # gefitinib: erlotinib, afatinib (EGFR)
    "DB02546": ({"DB04297": 2, "DB07350": 3}, 5),  # vorinostat: trichostatin A, APHA (HDAC)
    "DB02424": ({"DB03080": 3, "DB07594": 2}, 5),  # geldanamycin: 17-DMAG, CCT018159 (HSP90)
    "DB00188": ({"DB07475": 2, "DB07558": 6}, 10),  # bortezomib: its PDB entry, ALLN
    "DB00570": ({"DB00541": 4, "DB00361": 6}, 10),  # vinblastine: vincristine, vinorelbine
    "DB00762": ({"DB05482": 2, "DB04690": 14, "DB01030": 22}, 30),  # irinotecan: SN-38, CPT, TPT
    "DB00877": ({"DB06287": 2}, 5),  # sirolimus: temsirolimus (everolimus: 151, not asserted)
}


@lincs
@requires_mirror(LINCS_DATASET)
def test_lincs_same_mechanism_compounds_score_each_other_highly() -> None:
    """Outside reference (known pharmacology): a query of one compound's top-50 up / down genes
    ranks compounds of the same mechanism near the top of 1,170 (topoisomerase II, EGFR, HDAC,
    HSP90, proteasome, tubulin, topoisomerase I, mTOR); swapped, they score negative."""
    sig = load_lincs_signatures()
    for query, (same, bound) in _SAME_MECHANISM.items():
        up = sig[query].nlargest(50).index.tolist()
        down = sig[query].nsmallest(50).index.tolist()
        t = connectivity_scores(up, down, n_null=0).table.set_index("compound")
        ranks = t.loc[list(same), "rank"].astype(int).to_dict()
        assert ranks == same, (query, ranks)  # regression guard on the measured ranks
        assert max(ranks.values()) <= bound
        r = connectivity_scores(down, up, n_null=0).table.set_index("compound")
        assert (r.loc[list(same), "score"] < 0).all()


@lincs
@requires_mirror(LINCS_DATASET)
def test_lincs_random_queries_give_uniform_pvalues() -> None:
    """Outside reference (validity of the null on the real signatures): 50 random landmark
    queries of 50 + 50 genes against 30 compounds (WTCS, 199 null queries): share with
    p <= 0.05 near 5 % (p takes the values k / 200, so exactly 5 % is expected). Compounds are
    correlated within a query, so the band (2.5 % to 7.5 %) is wider than a binomial one;
    measured 5.0 % and 21.4 % at 0.2 (200 queries: 4.0 %, standard error 0.3 %)."""
    sig = load_lincs_signatures().iloc[:, ::39]
    rng = np.random.default_rng(10)
    p = []
    for _ in range(50):
        genes = rng.choice(sig.index.to_numpy(), size=100, replace=False)
        t = connectivity_scores(genes[:50], genes[50:], sig, n_null=199, rng=rng)
        p.append(t.table["pvalue"].to_numpy())
    pv = np.concatenate(p)
    assert 0.025 <= (pv <= 0.05).mean() <= 0.075
    assert 0.15 <= (pv <= 0.2).mean() <= 0.25


@lincs
@requires_mirror(LINCS_DATASET)
def test_lincs_profile_to_reversers_end_to_end() -> None:
    """Outside reference (defining property), end to end: a 'resistance' profile that is the
    negative of gefitinib's signature plus 500 genes outside the landmarks: the non-landmark
    genes are counted, and gefitinib is the strongest reverser, with erlotinib next."""
    sig = load_lincs_signatures()
    profile = pd.concat(
        [
            -sig["DB00317"],
            pd.Series(np.linspace(-5, 5, 500), index=[f"NOTLM{i}" for i in range(500)]),
        ]
    )
    q = signature_from_profile(profile)
    assert q.n_not_landmark == 500 and len(q.up) == len(q.down) == 50
    res = connectivity_scores(q.up, q.down, n_null=200, rng=12)
    rev = res.reversers(3)
    assert rev["compound"].tolist()[:2] == ["DB00317", "DB00530"]
    assert rev["score"].iloc[0] == pytest.approx(-1.0)
    assert rev["pvalue"].iloc[0] == pytest.approx(1 / 201)
