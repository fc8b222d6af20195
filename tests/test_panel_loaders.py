"""Panel loaders on the public data mirror: shapes against the data's own documentation.

Reference counts come from ``../shared/data/README.md`` (the data sets' descriptions).
"""

from __future__ import annotations

import pytest

from oncoresist.data import (
    fetch_ctrp_v2,
    fetch_depmap_crispr,
    fetch_gdsc_annotations,
    fetch_tgsa,
    mirror_available,
)

pytestmark = pytest.mark.realdata


@pytest.mark.skipif(not mirror_available("tgsa_gdsc_ccle706"), reason="needs the data mirror")
def test_tgsa_panel():
    # README: 82,833 pairs, 580 DepMap ACH- lines x 170 drugs, 706 census genes per layer
    p = fetch_tgsa()
    assert p.responses.shape == (580, 170)
    assert int(p.responses.notna().sum().sum()) == 82833
    assert all(v.shape == (580, 706) for v in p.layers.values())
    assert p.responses.index.str.startswith("ACH-").all()


@pytest.mark.skipif(not mirror_available("ctrp_v2_auc"), reason="needs the data mirror")
def test_ctrp_v2_panel():
    # README: 395,263 post-QC curves, 887 lines x 545 compounds (repeated pairs averaged, said)
    with pytest.warns(UserWarning, match="averaged"):
        p = fetch_ctrp_v2()
    assert p.responses.shape == (887, 545)
    assert p.metric == "auc"


@pytest.mark.skipif(not mirror_available("pythonflex_depmap_crispr"), reason="needs the mirror")
def test_depmap_crispr():
    # README: 500 genes in liver (24), melanoma (63) and neuroblastoma (37) lines
    effect, lineage = fetch_depmap_crispr()
    assert effect.shape == (24 + 63 + 37, 500)
    assert lineage.value_counts().to_dict() == {"melanoma": 63, "neuroblastoma": 37, "liver": 24}


@pytest.mark.skipif(not mirror_available("gdsc_annotations"), reason="needs the data mirror")
def test_gdsc_annotations():
    # README: 621 compound rows; Cell_Lines_Details.xlsx lists 1,002 rows including its
    # closing "TOTAL" line, i.e. 1,001 cell lines
    compounds, lines = fetch_gdsc_annotations()
    assert len(compounds) == 621
    assert compounds.loc[1047, "drug_name"] == "Nutlin-3a (-)"
    assert len(lines) == 1001
    assert {"tissue", "msi", "medium"} <= set(lines.columns)
