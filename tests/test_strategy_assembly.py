"""The strategy assembly: suggest_strategies, its report, demo section and CLI.

Each test names its kind: OUTSIDE REFERENCE (a published clinical / biological answer) or
REGRESSION GUARD. Sources needing the data mirror are skipped (DepMap) or checked to be listed
as not assessable when ``ONCORESIST_DATA_MIRROR`` is unset.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from oncoresist.errors import InputError
from oncoresist.mechanisms import make_profile
from oncoresist.strategy._strategy import SOURCE_WEIGHTS, Strategies, suggest_strategies
from test_strategy_cases import REQUIRED, known_answer_row

MIRROR = os.environ.get("ONCORESIST_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(
    not MIRROR, reason="ONCORESIST_DATA_MIRROR is unset: the DepMap data are not available"
)
FAST = {"dependencies": False, "connectivity": False, "schedules": False, "panels": False}


@pytest.mark.parametrize("case", REQUIRED, ids=[c[0] for c in REQUIRED])
def test_retrospective_cases_through_the_assembly(case):
    # OUTSIDE REFERENCE: the six cases the issue names (sources in test_strategy_cases.py);
    # the known answer stays at rank 1 among the next-drug / combination rows
    _, muts, cnv, tissue, drug, answer, kind, rank, citation, source = case
    # the panel sources stay on: cell-line evidence must not displace the known answer
    s = suggest_strategies(make_profile(muts, cnv=cnv or None, tissue=tissue), drug,
                           **(FAST | {"panels": True}))  # fmt: skip
    kd = s.table[s.table.kind.isin(["next_drug", "combination"])].reset_index(drop=True)
    kd = kd.assign(rank=kd.score.rank(method="min", ascending=False).astype(int))
    row = known_answer_row(_AsTable(kd), answer, kind)
    assert int(row["rank"]) == rank == 1, f"{source}: rank {row['rank']}"
    assert citation in row.top_evidence
    assert {"user_synergy", "user_crispr"} <= set(s.not_assessable.source)


class _AsTable:
    def __init__(self, t: pd.DataFrame) -> None:
        self.table = t


def test_sources_not_run_or_without_data_are_listed():
    # REGRESSION GUARD: nothing is skipped silently
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "gefitinib", schedules=False)
    srcs = set(s.not_assessable.source)
    assert {"user_synergy", "user_crispr", "lincs"} <= srcs
    assert "no expression given" in " ".join(s.not_assessable.reason)
    if not MIRROR:
        assert "depmap" in srcs  # data unavailable, said


def test_user_crispr_sensitiser_becomes_a_gene_target_with_its_drugz_fdr():
    # OUTSIDE REFERENCE (the simulator's planted truth): a planted sensitiser that DrugZ
    # finds becomes a gene_target row whose evidence carries its DrugZ FDR, mapped to drugs
    from oncoresist.strategy._demo import demo_model

    profile, screen = demo_model(rng=0)
    s = suggest_strategies(profile, "gefitinib", crispr=screen, **FAST)
    gt = s.table[(s.table.kind == "gene_target") & (s.table.gene == "MET")]
    assert len(gt) == 1
    ev = gt.iloc[0].evidence[0]
    fdr = float(screen.genes.loc["MET", "fdr_synth"])
    assert fdr < 0.1 and f"FDR {fdr:.3g}" in ev["caveat"] and "fdr_synth" in ev["statistic"]
    assert "Capmatinib" in gt.iloc[0].drug
    # level A clinical evidence (osimertinib) stays above an in-vitro screen hit
    assert s.table.iloc[0].drug == "Osimertinib"
    assert gt.iloc[0].score == pytest.approx(SOURCE_WEIGHTS["user_crispr"])


def test_user_synergy_comes_first_among_partners():
    # REGRESSION GUARD of the documented rule: measured synergy > any KB partner item
    p = make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin")
    syn = pd.DataFrame({"partner": ["palbociclib", "trametinib"], "score": [8.0, -3.0]})
    s = suggest_strategies(p, "vemurafenib", synergy=syn, **FAST)
    combos = s.table[s.table.kind == "combination"]
    assert combos.iloc[0].partner.lower() == "palbociclib"
    tram = combos[combos.partner.str.lower() == "trametinib"].iloc[0]
    assert tram.score == 0 and any("not positive" in c for c in tram.caveats)


def test_unknown_drug_is_an_input_error_with_suggestions():
    # bad input (issue 15)
    with pytest.raises(InputError, match="gefitinib"):
        suggest_strategies(make_profile(["EGFR T790M"]), "gefitinb", **FAST)


def test_profile_with_no_assessable_evidence_ranks_nothing_confidently():
    # bad input (issue 15): a gene no source knows
    s = suggest_strategies(make_profile(["ZZZ3 A12T"], tissue="lung"), "gefitinib", **FAST)
    assert not s.confident
    assert "nothing is ranked confidently" in s.describe()
    assert "ranking" in set(s.not_assessable.source)


def test_weights_scale_a_source():
    # REGRESSION GUARD: a source weight multiplies its rows' scores
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    a = suggest_strategies(p, "gefitinib", **FAST)
    b = suggest_strategies(p, "gefitinib", weights={"knowledge_base": 0.5}, **FAST)
    assert b.table.score.iloc[0] == pytest.approx(0.5 * a.table.score.iloc[0])
    with pytest.raises(InputError, match="unknown strategy weight"):
        suggest_strategies(p, "gefitinib", weights={"nope": 1}, **FAST)


def test_schedules_compare_continuous_adaptive_combination():
    # OUTSIDE REFERENCE (Zhang 2017 / Gatenby 2009 property): with a resistant clone that
    # competes for space, adaptive therapy delays progression against continuous dosing
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "gefitinib", dependencies=False, connectivity=False)
    first = s.schedules[s.schedules.candidate == s.table.strategy.iloc[0]]
    sc = first.set_index("schedule")
    assert list(sc.index) == ["continuous", "adaptive", "combination"]
    assert sc.loc["adaptive", "median_ttp_days"] > sc.loc["continuous", "median_ttp_days"]
    with pytest.raises(InputError, match="unknown schedule parameter"):
        suggest_strategies(p, "gefitinib", schedule_params={"bad": 1}, **FAST)


def test_views_and_report_section(tmp_path):
    # REGRESSION GUARD
    from oncoresist.report import render_report
    from oncoresist.strategy._report import report_section

    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "gefitinib", dependencies=False, connectivity=False, panels=False)
    assert isinstance(s, Strategies) and "Osimertinib" in s.describe()
    assert "Osimertinib" in s._repr_html_()
    assert "evidence" not in s.to_frame().columns
    sec = report_section(s)
    assert [t[0] for t in sec.tables][:3] == ["Ranking", "Evidence", "Not assessable"]
    assert len(sec.figures) == 1
    out = render_report([sec], tmp_path / "r.html")
    assert "Not assessable" in out.read_text()


def _cli():
    from oncoresist import cli

    return cli.main  # `strategy` loads when it is run


def test_cli_end_to_end_writes_all_outputs(tmp_path):
    # REGRESSION GUARD: every output, through output_run
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: R1\ntissue: lung\nmutations: [EGFR L858R, EGFR T790M]\n")
    crispr = tmp_path / "drugz_genes.csv"
    pd.DataFrame({"gene": ["MET", "G1"], "norm_z": [-4.0, 0.1], "fdr_synth": [0.001, 0.9]}).to_csv(
        crispr, index=False
    )
    expr = tmp_path / "lfc.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"gene": ["EGFR", "MET", "AXL"], "lfc": rng.normal(size=3)}).to_csv(
        expr, index=False
    )
    syn = tmp_path / "syn.csv"
    pd.DataFrame({"drug_a": ["gefitinib"], "drug_b": ["capmatinib"], "bliss": [7.5]}).to_csv(
        syn, index=False
    )
    out = tmp_path / "out"
    rc = _cli()(["strategy", str(prof), "--drug", "gefitinib", "--crispr", str(crispr),
                 "--expression", str(expr), "--synergy", str(syn), "--no-dependencies",
                 "-o", str(out)])  # fmt: skip
    assert rc == 0
    for f in ("strategies.csv", "evidence.csv", "not_assessable.csv", "schedules.csv",
              "report.html"):  # fmt: skip
        assert (out / f).is_file(), f
    t = pd.read_csv(out / "strategies.csv")
    assert "MET" in set(t.gene.dropna())
    combo = t[t.kind == "combination"]
    assert combo.partner.iloc[0] == "Capmatinib" and combo.score.iloc[0] == 1.0  # measured
    ev = pd.read_csv(out / "evidence.csv")
    assert {"user synergy", "user CRISPR screen", "knowledge base: KB"} & set(ev.source)


def test_cli_unknown_drug_exits_2(tmp_path, capsys):
    # bad input: exit code 2 with the close matches
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: R1\ntissue: lung\nmutations: [EGFR T790M]\n")
    rc = _cli()(["strategy", str(prof), "--drug", "gefitinb", "-o", str(tmp_path / "o")])
    assert rc == 2
    assert "gefitinib" in capsys.readouterr().err
    assert not (tmp_path / "o" / "strategies.csv").exists()


def test_demo_section_runs_without_the_mirror(tmp_path):
    # REGRESSION GUARD: the demo section; data sources listed as not assessable without data
    from oncoresist.strategy._demo import demo_sections

    secs = demo_sections(tmp_path)
    assert len(secs) == 1 and (tmp_path / "strategies.csv").is_file()
    na = pd.read_csv(tmp_path / "not_assessable.csv")
    if not MIRROR:
        assert "depmap" in set(na.source)


@needs_mirror
def test_nras_melanoma_gets_raf1_gene_target_with_depmap_evidence():
    # OUTSIDE REFERENCE: NRAS-mutant melanoma lines depend on CRAF (RAF1) (Dumaz 2006 Cancer
    # Res 66:9483); MEK inhibition is the KB's answer (Nazarian 2010, NEMO)
    p = make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin")
    s = suggest_strategies(p, "vemurafenib", connectivity=False, schedules=False, panels=False)
    gt = s.table[s.table.kind == "gene_target"]
    raf1 = gt[gt.gene == "RAF1"]
    assert len(raf1) == 1 and int(gt.index.get_loc(raf1.index[0])) == 0  # first gene target
    ev = raf1.iloc[0].evidence[0]
    assert ev["source"] == "DepMap CRISPR" and "25Q2" in ev["dataset"] and ev["effect_size"] < -0.5
    # repurposing: sorafenib, a launched RAF inhibitor (DrugCentral: RAF1 inhibitor)
    rep = s.table[s.table.kind == "repurposing"]
    assert "Sorafenib (targets RAF1)" in set(rep.strategy)
    kd = s.table[s.table.kind.isin(["next_drug", "combination"])]
    assert kd.iloc[0].partner.lower() in {"trametinib", "selumetinib", "cobimetinib",
                                           "binimetinib", "pd0325901", "refametinib"}  # fmt: skip


@needs_mirror
def test_lineage_absent_from_the_dependency_data_falls_back_and_says_so():
    # bad input (issue 15): lung is not in the DepMap skin / soft-tissue subset
    p = make_profile(["NRAS Q61K"], tissue="lung")
    s = suggest_strategies(p, "vemurafenib", connectivity=False, schedules=False, panels=False)
    reasons = " ".join(s.not_assessable.reason[s.not_assessable.source == "depmap"])
    assert "fell back to all" in reasons
    gt = s.table[s.table.kind == "gene_target"]
    assert not gt.empty and all(any("other lineages" in c for c in cav) for cav in gt.caveats)


def test_a_synergy_result_is_read_per_partner():
    # REGRESSION GUARD: a SynergyResult (drug1 / drug2 / model / score) is averaged per partner
    # over the blocks of its first model and becomes user-synergy evidence of that combination
    from oncoresist.synergy import score_combinations
    from oncoresist.synergy._synthetic import make_combination_screen

    scr = make_combination_screen(2, kind="bliss", drugs=("vemurafenib", "palbociclib"), rng=0)
    res = score_combinations(scr, models=["bliss"])
    p = make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin")
    s = suggest_strategies(p, "vemurafenib", synergy=res, **FAST)
    row = s.table[s.table.partner.str.lower() == "palbociclib"].iloc[0]
    ev = row.evidence[0]
    assert ev["source"] == "user synergy" and "(2 blocks)" in ev["dataset"]
    assert ev["effect_size"] == pytest.approx(res.scores.score.mean())
