"""Associations on synthetic panels: exactness against statsmodels, ground truth, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from oncoresist.biomarkers import (
    anova_associations,
    association_boxplot,
    association_heatmap,
    differential_features,
    elastic_net_signatures,
    fit_f_prior,
    linear_associations,
    moderated_ttest,
    volcano_plot,
)
from oncoresist.data._panel import Panel, make_panel


@pytest.fixture(scope="module")
def synthetic():
    return make_panel(rng=0)


def _statsmodels_p(panel, drug, feature, layer="mutation", covs=("tissue", "msi")):
    d = pd.DataFrame({"y": panel.responses[drug], "f": panel.layers[layer][feature]})
    for c in covs:
        d[c] = panel.sample_annotations[c].astype(str)
    d = d.dropna()
    form = "y ~ " + " + ".join([f"C({c})" for c in covs] + ["f"])
    fit = smf.ols(form, d).fit()
    return fit.f_test("f = 0").pvalue, fit.params["f"]


def test_anova_matches_statsmodels(synthetic):
    panel, _ = synthetic
    res = anova_associations(panel)
    t = res.table.set_index(["drug", "feature"])
    for drug, feat in [
        ("D000", "G000_mut"),
        ("D003", "G003_mut"),
        ("D015", "G040_mut"),
        ("D019", "G099_mut"),
    ]:
        p_ref, b_ref = _statsmodels_p(panel, drug, feat)
        assert t.loc[(drug, feat), "pvalue"] == pytest.approx(float(p_ref), rel=1e-8)
        assert t.loc[(drug, feat), "beta"] == pytest.approx(float(b_ref), rel=1e-8)


def test_planted_recovered_confounded_vanish_and_fdr_calibrated(synthetic):
    panel, truth = synthetic
    res = anova_associations(panel)
    naive = anova_associations(panel, covariates=[])
    key = truth.set_index(["drug", "feature"])
    t = res.table.set_index(["drug", "feature"]).reindex(key.index)
    n = naive.table.set_index(["drug", "feature"]).reindex(key.index)
    planted = (key["kind"] == "planted").to_numpy()
    # Planted effects (+-1.5 ln units, noise sd 1) are all found at FDR 5% with the right sign.
    assert (t["fdr"][planted] < 0.05).all()
    assert (np.sign(t["mean_diff"][planted]) == np.sign(key["effect"][planted])).all()
    # Mean difference estimates the planted effect (standard error ~ 0.15 with ~50 mutants).
    assert np.abs(t["mean_diff"][planted] - key["effect"][planted]).max() < 0.6
    # Confounded null features: significant without tissue covariate, gone with it.
    assert (n["fdr"][~planted] < 0.05).all()
    assert (t["fdr"][~planted] > 0.05).all()
    # Calibration: the p-values of all true-null tests are uniform and the false discovery
    # proportion at FDR 10% is small.
    null = res.table.set_index(["drug", "feature"]).drop(index=key.index)
    assert stats.kstest(null["pvalue"], "uniform").pvalue > 1e-3


def test_fdr_controlled_over_replicates():
    # Benjamini-Hochberg controls the *expected* false discovery proportion: average it over
    # 12 independent panels (one panel alone can exceed q by chance).
    fdps = []
    for seed in range(12):
        panel, truth = make_panel(n_samples=300, n_drugs=16, n_features=60, rng=100 + seed)
        res = anova_associations(panel)
        true = truth.loc[truth["kind"] == "planted"].set_index(["drug", "feature"]).index
        disc = res.table[res.table["fdr"] <= 0.1].set_index(["drug", "feature"]).index
        fdps.append(float((~disc.isin(true)).mean()) if len(disc) else 0.0)
    assert np.mean(fdps) <= 0.15


def test_per_tissue_mode_matches_statsmodels(synthetic):
    panel, _ = synthetic
    res = anova_associations(panel, mode="per_tissue", drugs=["D000"])
    assert set(res.table["tissue"]) <= {f"tissue{i}" for i in range(5)}
    row = res.table[(res.table["tissue"] == "tissue1") & (res.table["feature"] == "G000_mut")].iloc[
        0
    ]
    sub = panel.subset(samples=panel.sample_annotations["tissue"] == "tissue1")
    p_ref, _ = _statsmodels_p(sub, "D000", "G000_mut", covs=("msi",))
    assert row["pvalue"] == pytest.approx(float(p_ref), rel=1e-8)


def test_linear_associations_match_statsmodels_with_missing_features():
    rng = np.random.default_rng(3)
    n = 120
    X = pd.DataFrame(
        rng.normal(size=(n, 5)), index=[f"s{i}" for i in range(n)], columns=list("abcde")
    )
    X.iloc[:7, 2] = np.nan  # feature c has missing values: its own complete-case fit
    tissue = rng.choice(["t1", "t2", "t3"], n)
    Y = pd.DataFrame(
        {"d": 0.8 * X["a"].to_numpy() + (tissue == "t2") + rng.normal(size=n)}, index=X.index
    )
    Y.iloc[::10, 0] = np.nan
    p = Panel(Y, {"expr": X}, sample_annotations=pd.DataFrame({"tissue": tissue}, index=X.index))
    res = linear_associations(p).table.set_index("feature")
    for f in "ac":
        d = pd.DataFrame({"y": Y["d"], "x": X[f], "t": tissue}).dropna()
        fit = smf.ols("y ~ C(t) + x", d).fit()
        assert res.loc[f, "pvalue"] == pytest.approx(fit.pvalues["x"], rel=1e-8)
        assert res.loc[f, "statistic"] == pytest.approx(fit.tvalues["x"], rel=1e-8)
        assert res.loc[f, "n_samples"] == len(d)
    assert res.loc["a", "fdr"] < 1e-6


def test_bad_input_is_counted_and_listed():
    rng = np.random.default_rng(5)
    n = 60
    idx = [f"s{i}" for i in range(n)]
    y = pd.DataFrame(
        {"ok": rng.normal(size=n), "sparse": np.r_[rng.normal(size=4), [np.nan] * (n - 4)]},
        index=idx,
    )
    feats = pd.DataFrame(
        {
            "const_mut": np.zeros(n),
            "rare_mut": np.r_[[1, 1], np.zeros(n - 2)],
            "good_mut": rng.random(n) < 0.3,
        },
        index=idx,
    ).astype(float)
    tissue = pd.Series(rng.choice(["a", "b"], n), index=idx)
    tissue.iloc[0] = np.nan  # one sample without tissue: excluded and listed
    extra = pd.DataFrame({"good_mut": [1.0]}, index=["not_in_responses"])
    p = Panel(
        y,
        {"mutation": pd.concat([feats, extra])},
        sample_annotations=pd.DataFrame({"tissue": tissue}),
    )
    assert p.alignment.set_index("table").loc["mutation", "extra"] == ["not_in_responses"]
    res = anova_associations(p)
    sk = res.skipped
    assert ((sk["drug"] == "sparse") & sk["reason"].str.startswith("too_few_responses")).any()
    assert set(sk.loc[sk["drug"] == "ok", "feature"]) == {"const_mut", "rare_mut"}
    assert (sk.loc[sk["feature"] == "const_mut", "reason"] == "feature_constant").all()
    assert res.n_tests == 1 and res.n_skipped == 3 + 2
    assert list(res.excluded_samples["sample"]) == ["s0"]
    assert "skipped" in res.summary()


def test_feature_collinear_with_covariate_skipped():
    rng = np.random.default_rng(2)
    n = 80
    idx = [f"s{i}" for i in range(n)]
    tissue = np.repeat(["a", "b"], n // 2)
    f = (tissue == "a").astype(float)  # the feature is the tissue
    p = Panel(
        pd.DataFrame({"d": rng.normal(size=n)}, index=idx),
        {
            "m": pd.DataFrame(
                {"tissue_like_mut": f, "other_mut": rng.random(n) < 0.5}, index=idx
            ).astype(float)
        },
        sample_annotations=pd.DataFrame({"tissue": tissue}, index=idx),
    )
    res = anova_associations(p)
    assert res.skipped["reason"].tolist() == ["feature_collinear_with_covariates"]


def test_moderated_t_prior_recovery_and_calibration():
    rng = np.random.default_rng(11)
    G, na, nb = 3000, 4, 4
    d0, s0 = 6.0, 0.4
    sigma2 = s0 * d0 / rng.chisquare(d0, G)  # scaled inverse chi-square prior of Smyth 2004
    X = rng.normal(size=(na + nb, G)) * np.sqrt(sigma2)
    X[:na, :100] += 3 * np.sqrt(s0)  # 100 true differences
    df = pd.DataFrame(X, columns=[f"g{i}" for i in range(G)])
    res = moderated_ttest(df, ["r"] * na + ["s"] * nb, group_a="r", group_b="s")
    d0_hat, s0_hat = float(res["df_prior"].iloc[0]), float(res["s2_prior"].iloc[0])
    assert d0_hat == pytest.approx(d0, rel=0.35)
    assert s0_hat == pytest.approx(s0, rel=0.15)
    null = res[~res["feature"].isin([f"g{i}" for i in range(100)])]
    assert stats.kstest(null["pvalue"], "uniform").pvalue > 1e-3
    # Shrinking the variances ranks true differences better than the ordinary t-test does
    # (the point of Smyth 2004 with 3 residual df per feature).
    top = res.head(100)["feature"].str[1:].astype(int)
    t_ord = stats.ttest_ind(X[:na], X[na:], axis=0).statistic
    top_ord = np.argsort(-np.abs(t_ord))[:100]
    assert (top < 100).mean() > (top_ord < 100).mean() + 0.05
    # With no extra dispersion the prior df is infinite and t uses the pooled variance.
    d_inf, _ = fit_f_prior(np.full(50, 2.0), np.full(50, 5.0))
    assert np.isinf(d_inf)


def test_differential_features_and_elastic_net():
    rng = np.random.default_rng(4)
    n, m = 150, 30
    idx = [f"s{i}" for i in range(n)]
    X = pd.DataFrame(rng.normal(size=(n, m)), index=idx, columns=[f"e{i}" for i in range(m)])
    y = 1.0 * X["e0"] - 1.0 * X["e1"] + 0.5 * rng.normal(size=n)
    p = Panel(pd.DataFrame({"d": y}), {"expr": X}, metric="ln_ic50")
    diff = differential_features(p, "d", layer="expr")
    assert set(diff.head(2)["feature"]) == {"e0", "e1"}
    assert diff.set_index("feature").loc["e0", "mean_diff"] > 0  # high e0: resistant
    sig = elastic_net_signatures(p, layers="expr", n_resamples=20, rng=0)
    chosen = set(sig.loc[sig["selected"], "feature"])
    assert {"e0", "e1"} <= chosen
    assert sig.set_index("feature").loc["e0", "coefficient"] > 0


def test_plots_report_cli(tmp_path, synthetic):
    panel, _ = synthetic
    res = anova_associations(panel)
    for fig in (
        volcano_plot(res),
        association_heatmap(res),
        association_boxplot(panel, "D000", "G000_mut"),
    ):
        assert isinstance(fig, go.Figure) and len(fig.data) >= 1
    from oncoresist.biomarkers import report_section

    sec = report_section(res, panel)
    # top resistance, top sensitivity, every association at FDR <= 25% (all rows), skipped tests
    assert len(sec.figures) == 3 and len(sec.tables) == 4
    assert len(sec.tables[2][1]) == len(res.significant(0.25))
    # CLI on a directory panel.
    import typer
    from typer.testing import CliRunner

    from oncoresist.biomarkers._cli import register

    d = tmp_path / "panel"
    d.mkdir()
    panel.responses.to_csv(d / "responses.csv")
    panel.layers["mutation"].to_csv(d / "mutation.csv")
    panel.sample_annotations.to_csv(d / "samples.csv")
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["associate", str(d), "-o", str(out), "--metric", "ln_ic50"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "associations.csv")
    assert table["pvalue"].iloc[0] == pytest.approx(res.table["pvalue"].iloc[0], rel=1e-12)
