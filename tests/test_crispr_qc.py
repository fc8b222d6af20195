"""CRISPR screen QC (issue 14): Gini, separation statistics, flags, and the HeLa screen.

Sources: the Gini index is checked against the textbook mean-absolute-difference definition
(Gini 1912) computed by hand on log(count + 1), the scale MAGeCK-VISPR (Li 2015) reports it on;
ROC AUC and average precision against scikit-learn's implementations; SSMD against Zhang 2007's
formula by hand. On real data: the HeLa TKOv1 screen (Zimmermann 2018 / Colic 2019); HeLa is
one of the TKOv1 lines of Hart et al. 2015 (Cell 163:1515), where reference essentials deplete
strongly. The bounds there (AUC > 0.85, SSMD < -1) are ours, not published figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from conftest import requires_mirror
from oncoresist.crispr._qc import CrisprQC, crispr_qc, gini_index
from oncoresist.data._crispr import CrisprScreen
from oncoresist.errors import InputError


def test_gini_by_hand():
    """Gini = sum_ij |x_i - x_j| / (2 n^2 mean), on x = log(count + 1)."""
    counts = np.array([[0, 10], [3, 10], [10, 10], [100, 10], [1000, 10]])
    x = np.log1p(counts[:, 0].astype(float))
    by_hand = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    g = gini_index(counts)
    assert g[0] == pytest.approx(by_hand, rel=1e-12)
    assert g[1] == 0.0  # perfectly even


def _toy(rng: np.random.Generator) -> tuple[CrisprScreen, set[str], set[str]]:
    """40 essential and 60 non-essential genes x 4 guides; essentials deplete in 'late'."""
    genes = [f"E{i}" for i in range(40)] + [f"N{i}" for i in range(60)]
    gene = np.repeat(genes, 4)
    t0 = rng.poisson(300, gene.size)
    drop = np.where(np.char.startswith(gene.astype(str), "E"), 0.3, 1.0)
    drop = drop * rng.lognormal(0, 0.5, gene.size)
    late = rng.poisson(t0 * drop)
    late2 = rng.poisson(t0 * drop)
    ids = [f"sg{i}" for i in range(gene.size)]
    counts = pd.DataFrame({"T0": t0, "late": late, "late2": late2}, index=ids)
    samples = pd.DataFrame(
        {"role": ["reference", "control", "control"], "replicate": [None, "A", "B"]},
        index=["T0", "late", "late2"],
    )
    screen = CrisprScreen(counts, pd.DataFrame({"gene": gene}, index=ids), samples)
    return screen, set(genes[:40]), set(genes[40:])


def test_separation_statistics_against_sklearn_and_formula():
    screen, ess, non = _toy(np.random.default_rng(3))
    qc = crispr_qc(screen, essential=ess, nonessential=non)
    assert isinstance(qc, CrisprQC)
    # recompute the gene LFCs directly: log2 median-ratio-normalised + 1, vs T0, gene mean
    from oncoresist.crispr._normalise import normalise_counts

    norm, _ = normalise_counts(screen.counts.to_numpy())
    lg = np.log2(norm + 1)
    lfc = pd.DataFrame(lg[:, 1:] - lg[:, [0]], columns=["late", "late2"])
    gene_lfc = lfc.groupby(screen.guides["gene"].to_numpy()).mean()
    for s in ("late", "late2"):
        y = np.isin(gene_lfc.index, list(ess))
        keep = y | np.isin(gene_lfc.index, list(non))
        v = gene_lfc.loc[keep, s].to_numpy()
        yk = y[keep]
        row = qc.separation.loc[s]
        assert row["auc"] == pytest.approx(roc_auc_score(yk, -v), rel=1e-12)
        assert row["pr_auc"] == pytest.approx(average_precision_score(yk, -v), rel=1e-12)
        e, n = v[yk], v[~yk]
        ssmd = (e.mean() - n.mean()) / np.sqrt(e.var(ddof=1) + n.var(ddof=1))
        assert row["ssmd"] == pytest.approx(ssmd, rel=1e-12)
        assert row["n_essential"] == 40 and row["n_nonessential"] == 60
    assert (qc.separation["auc"] > 0.9).all()
    # nothing is dropped: every sample and every pair is reported
    assert list(qc.samples.index) == ["T0", "late", "late2"]
    assert len(qc.replicates) == 3
    assert qc.replicates.set_index(["sample_1", "sample_2"]).loc[("late", "late2"), "kind"] == (
        "replicate"
    )
    assert qc.to_frame().shape[0] == 3 and "CrisprQC" in qc._repr_html_()
    assert qc.checks()["n_samples"] == 3


def test_average_precision_with_ties_matches_sklearn():
    from oncoresist.crispr._qc import _average_precision

    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, size=(50, 3)).astype(float)  # many ties
    ap = _average_precision(score, 20)
    y = np.arange(50) < 20
    for j in range(3):
        assert ap[j] == pytest.approx(average_precision_score(y, score[:, j]), rel=1e-12)


def test_flags_state_thresholds_and_no_reference():
    screen, ess, non = _toy(np.random.default_rng(1))
    # an uneven late sample and zero-count guides at T0
    c = screen.counts.copy()
    c.loc[c.index[:50], "T0"] = 0
    c.loc[c.index[50:], "late"] = c.loc[c.index[50:], "late"] // 50
    s2 = CrisprScreen(c, screen.guides, screen.samples)
    qc = crispr_qc(s2, essential=ess, nonessential=non)
    text = "\n".join(qc.flags)
    assert "of guides have zero reads > 1% (reference sample" in text
    assert "late: Gini index" in text and "> 0.2" in text
    # without a reference sample: no fold changes, said so
    sub = screen.subset(samples=["late", "late2"])
    qc2 = crispr_qc(sub, essential=ess, nonessential=non)
    assert qc2.separation.empty
    assert any("no reference sample" in f for f in qc2.flags)
    with pytest.raises(InputError, match="in both the essential and the non-essential set"):
        crispr_qc(screen, essential={"E1"}, nonessential={"E1"})
    with pytest.raises(InputError, match="unknown QC threshold"):
        crispr_qc(screen, thresholds={"gini": 0.3})


def test_without_gene_sets_separation_is_nan():
    screen, _, _ = _toy(np.random.default_rng(2))
    qc = crispr_qc(screen)
    assert qc.separation["auc"].isna().all() and len(qc.separation) == 2


@requires_mirror("hela_olaparib_tkov1_colic2019")
@requires_mirror("essential_gene_sets")
def test_hela_qc():
    """HeLa TKOv1 olaparib screen with Hart 2014 CEG / NEG: essentials deplete in every T15
    sample (ROC AUC > 0.85, SSMD < -1); depth equals the raw files' sums read independently."""
    from oncoresist.data._crispr_datasets import fetch_hela_olaparib, load_essential_genes
    from oncoresist.data._datasets import fetch_file

    screen = fetch_hela_olaparib()
    ess, non = load_essential_genes("hart2014")
    assert (len(ess), len(non)) == (193, 658)
    qc = crispr_qc(screen, essential=ess, nonessential=non)
    raw = pd.read_csv(
        fetch_file("hela_olaparib_tkov1_colic2019", "raw_sample_counts/HELA_T0.tsv.gz"),
        sep="\t",
    )
    assert qc.samples.loc["HELA_T0", "reads"] == raw["HELA_T0"].sum()
    assert len(qc.samples) == 7 and len(qc.replicates) == 21
    sep = qc.separation
    assert len(sep) == 6
    assert (sep["auc"] > 0.85).all(), sep["auc"]
    assert (sep["ssmd"] < -1.0).all(), sep["ssmd"]
    assert (sep["essential_mean_lfc"] < -2).all()
    assert (qc.samples["gini"] < 0.2).all()
    # paired control/olaparib samples (same population split at T0) correlate more than
    # replicates of one arm: the pairing the DrugZ paper uses
    rep = qc.replicates
    between = rep[rep["kind"] == "between_arms"]
    paired = between[between["sample_1"].str[:9] == between["sample_2"].str[:9]]
    assert (
        paired["pearson_r_lfc"].min() > rep.loc[rep["kind"] == "replicate", "pearson_r_lfc"].max()
    )


@requires_mirror("essential_gene_sets")
def test_essential_sets_load():
    """Sizes as in the mirror README (Hart 2014 CEG/NEG 193/658, DepMap-distributed Hart
    212/781, curated BAGEL 326/921, DepMap 26Q1 common essentials 1,827)."""
    from oncoresist.data._crispr_datasets import load_essential_genes

    sizes = {}
    for which in ("hart2014", "hart2017", "bagel_curated", "depmap_common"):
        e, n = load_essential_genes(which)  # type: ignore[arg-type]
        sizes[which] = (len(e), None if n is None else len(n))
        assert not any(" " in g for g in e)  # "SYMBOL (Entrez)" stripped
    assert sizes == {
        "hart2014": (193, 658),
        "hart2017": (212, 781),
        "bagel_curated": (326, 921),
        "depmap_common": (1827, None),
    }
    e, _ = load_essential_genes("hart2017")
    assert "RPS11" in e
    with pytest.raises(InputError, match="unknown essential gene set"):
        load_essential_genes("hart")  # type: ignore[arg-type]
