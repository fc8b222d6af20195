"""Panel <-> AnnData (issue 18, "Ecosystem": omics kept in AnnData flow in and out).

anndata (<= 0.12) needs pandas < 3, so these tests run in an environment of their own
(``make test-anndata``, which ``make test`` calls); in the main environment they skip.
Round trips through anndata's own ``.h5ad`` writer and reader are agreement with the
scverse tool that defines the format; the layout checks are regression guards.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ad = pytest.importorskip(
    "anndata", reason="anndata is not installed here (it needs pandas < 3): make test-anndata"
)

from oncoresist.data import Panel  # noqa: E402
from oncoresist.data._anndata import panel_from_anndata  # noqa: E402
from oncoresist.errors import InputError  # noqa: E402


def _panel() -> Panel:
    rng = np.random.default_rng(0)
    samples = [f"S{i}" for i in range(12)]
    resp = pd.DataFrame(rng.normal(size=(12, 3)), index=samples, columns=["dA", "dB", "dC"])
    resp.iloc[2, 1] = np.nan
    mut = pd.DataFrame(rng.integers(0, 2, (10, 4)), index=samples[:10],
                       columns=["TP53", "KRAS", "BRAF", "PIK3CA"]).astype(float)  # fmt: skip
    expr = pd.DataFrame(rng.normal(size=(12, 5)), index=samples,
                        columns=[f"G{i}" for i in range(5)])  # fmt: skip
    tissue = pd.DataFrame({"tissue": rng.choice(["lung", "skin"], 12)}, index=samples)
    drugs = pd.DataFrame({"target": ["EGFR", "BRAF", "MEK"]}, index=["dA", "dB", "dC"])
    return Panel(resp, {"mutation": mut, "expression": expr}, sample_annotations=tissue,
                 drug_annotations=drugs, metric="ln_ic50", name="toy",
                 notes=("made for a test",))  # fmt: skip


def _same(a: Panel, b: Panel) -> None:
    pd.testing.assert_frame_equal(a.responses, b.responses, check_names=False)
    assert list(a.layers) == list(b.layers) and a.layer_kinds == b.layer_kinds
    for k in a.layers:
        pd.testing.assert_frame_equal(a.layers[k], b.layers[k], check_names=False)
    pd.testing.assert_frame_equal(
        a.sample_annotations.astype(str), b.sample_annotations.astype(str), check_names=False
    )
    pd.testing.assert_frame_equal(
        a.drug_annotations.astype(str), b.drug_annotations.astype(str), check_names=False
    )
    assert (a.metric, a.lower_is_sensitive, a.name, a.notes) == (
        b.metric, b.lower_is_sensitive, b.name, b.notes)  # fmt: skip


def test_layout():
    adata = _panel().to_anndata()
    assert adata.shape == (12, 3) and list(adata.var_names) == ["dA", "dB", "dC"]
    assert set(adata.obsm) == {"mutation", "expression"}
    assert np.isnan(adata.obsm["mutation"].loc["S11"]).all()  # not profiled: NaN row
    assert adata.uns["oncoresist_panel"]["metric"] == "ln_ic50"


def test_round_trip_in_memory_and_through_h5ad(tmp_path):
    p = _panel()
    _same(p, Panel.from_anndata(p.to_anndata()))
    path = tmp_path / "panel.h5ad"
    p.to_anndata().write_h5ad(path)
    _same(p, Panel.from_anndata(ad.read_h5ad(path)))


def test_omics_anndata_with_responses_beside_it():
    rng = np.random.default_rng(1)
    obs = pd.DataFrame({"tissue": ["a", "b", "a", "b"]}, index=["c1", "c2", "c3", "c4"])
    from scipy import sparse

    x = sparse.csr_matrix(rng.poisson(2.0, (4, 6)).astype(float))
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(6)]))
    adata.layers["log1p"] = np.log1p(x.toarray())
    resp = pd.DataFrame({"drug": [0.1, 0.5, 2.0]}, index=["c1", "c2", "c4"])
    p = panel_from_anndata(adata, responses=resp, layer="log1p", metric="auc",
                           lower_is_sensitive=False)  # fmt: skip
    assert list(p.layers) == ["log1p"] and p.layer_kinds["log1p"] == "continuous"
    np.testing.assert_allclose(p.layers["log1p"].loc["c4"], np.log1p(x.toarray()[3]))
    assert p.sample_annotations["tissue"].tolist() == ["a", "b", "b"]
    assert p.metric == "auc" and p.lower_is_sensitive is False


def test_errors_name_the_fix():
    adata = ad.AnnData(X=np.zeros((2, 2)))
    with pytest.raises(InputError, match="pass the drug responses as responses="):
        panel_from_anndata(adata)
    with pytest.raises(InputError, match="no layer 'counts'"):
        panel_from_anndata(adata, responses=pd.DataFrame({"d": [1.0]}, index=["0"]),
                           layer="counts")  # fmt: skip
