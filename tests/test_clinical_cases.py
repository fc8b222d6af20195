"""Clinical cases: ``annotate`` must reach the call that the clinic and the literature reached.

EVIDENCE. Each case is an alteration (or genotype) and a drug whose clinical or experimental
outcome is published; the expected call is the published one and the case names its source.
The project's knowledge base is curated from such publications, so these cases check that the
matching and the call logic turn the evidence into the right answer (a KB entry in the wrong
direction, a generic item that outweighs a specific one, a fusion that is not parsed, an exon
rule that matches the wrong exon: each of these made one of the cases below fail before).
Every case runs on the shipped knowledge base alone and again with CIViC's evidence merged
(Feb 2021 dump in the data mirror), which adds several thousand items of mixed quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oncoresist.mechanisms import annotate, make_profile, read_civic_evidence

# (case id, mutations, cnv, tissue, drug, expected call, source)
CASES: list[tuple[str, list[str], dict[str, str], str | None, str, str, str]] = [
    # --- required by the issue ---
    ("egfr_l858r_t790m_gefitinib", ["EGFR L858R", "EGFR T790M"], {}, "lung", "gefitinib",
     "resistant", "Kobayashi 2005 NEJM PMID:15728811; Pao 2005 PLoS Med PMID:15737014"),
    ("egfr_l858r_t790m_osimertinib", ["EGFR L858R", "EGFR T790M"], {}, "lung", "osimertinib",
     "sensitive", "Mok 2017 NEJM (AURA3) PMID:27959700"),
    ("egfr_c797s_osimertinib", ["EGFR L858R", "EGFR T790M", "EGFR C797S"], {}, "lung",
     "osimertinib", "resistant", "Thress 2015 Nat Med PMID:25939061"),
    ("kras_g12d_cetuximab", ["KRAS G12D"], {}, "colorectal", "cetuximab", "resistant",
     "Karapetis 2008 NEJM PMID:18946061; Amado 2008 JCO PMID:18316791"),
    ("braf_v600e_vemurafenib", ["BRAF V600E"], {}, "skin", "vemurafenib", "sensitive",
     "Chapman 2011 NEJM PMID:21639808"),
    ("braf_v600e_vemurafenib_no_tissue", ["BRAF V600E"], {}, None, "vemurafenib", "sensitive",
     "Chapman 2011 NEJM PMID:21639808"),
    ("abl1_t315i_imatinib", ["ABL1 T315I"], {}, "blood", "imatinib", "resistant",
     "Gorre 2001 Science PMID:11423618"),
    ("bcr_abl1_t315i_imatinib", ["BCR-ABL1 T315I"], {}, "blood", "imatinib", "resistant",
     "Gorre 2001 Science PMID:11423618"),
    ("bcr_abl1_t315i_ponatinib", ["BCR-ABL1 T315I"], {}, "blood", "ponatinib", "sensitive",
     "Cortes 2012 NEJM PMID:23190221"),
    ("abl1_t315i_ponatinib", ["ABL1 T315I"], {}, "blood", "ponatinib", "sensitive",
     "Cortes 2012 NEJM PMID:23190221"),
    ("alk_g1202r_crizotinib", ["EML4-ALK G1202R"], {}, "lung", "crizotinib", "resistant",
     "Katayama 2012 Sci Transl Med PMID:22277784"),
    ("alk_g1202r_alectinib", ["ALK G1202R"], {}, "lung", "alectinib", "resistant",
     "Gainor 2016 Cancer Discov PMID:27432227"),
    ("alk_g1202r_lorlatinib", ["ALK fusion G1202R"], {}, "lung", "lorlatinib", "sensitive",
     "Gainor 2016 Cancer Discov PMID:27432227; Shaw 2019 JCO PMID:30892989"),
    ("kit_d816v_imatinib", ["KIT D816V"], {}, None, "imatinib", "resistant",
     "Heinrich 2003 JCO PMID:14645423"),
    ("esr1_y537s_letrozole", ["ESR1 Y537S"], {}, "breast", "letrozole", "resistant",
     "Toy 2013 Nat Genet PMID:24185512; Robinson 2013 Nat Genet PMID:24185510"),
    ("brca1_loss_olaparib", ["BRCA1 loss of function"], {}, "ovary", "olaparib", "sensitive",
     "Fong 2009 NEJM PMID:19553641"),
    ("brca1_deletion_olaparib", [], {"BRCA1": "deletion"}, "breast", "olaparib", "sensitive",
     "Fong 2009 NEJM PMID:19553641"),
    ("bcl2_high_venetoclax", ["BCL2 overexpression"], {}, "lymphocyte", "venetoclax",
     "sensitive", "Souers 2013 Nat Med PMID:23291630"),
    # --- added by the project, with their sources ---
    ("brca1_truncating_olaparib", ["BRCA1 Q1756fs"], {}, "ovary", "olaparib", "sensitive",
     "Fong 2009 NEJM PMID:19553641 (truncating BRCA1 = loss of function)"),
    ("kit_exon11_imatinib", ["KIT V560D"], {}, "soft_tissue", "imatinib", "sensitive",
     "Heinrich 2003 JCO PMID:14645423 (exon 11)"),
    ("kit_exon11_del_imatinib", ["KIT W557_K558del"], {}, "soft_tissue", "imatinib",
     "sensitive", "Heinrich 2003 JCO PMID:14645423 (exon 11)"),
    ("kit_exon11_plus_d816v_imatinib", ["KIT V560D", "KIT D816V"], {}, "soft_tissue",
     "imatinib", "resistant", "Heinrich 2006 JCO PMID:16954519 (secondary exon 17)"),
    ("kit_v654a_sunitinib", ["KIT W557_K558del", "KIT V654A"], {}, "soft_tissue", "sunitinib",
     "sensitive", "Prenen 2006 Clin Cancer Res PMID:16638875"),
    ("pdgfra_d842v_imatinib", ["PDGFRA D842V"], {}, "soft_tissue", "imatinib", "resistant",
     "Corless 2005 JCO PMID:15928335"),
    ("pdgfra_d842v_avapritinib", ["PDGFRA D842V"], {}, "soft_tissue", "avapritinib",
     "sensitive", "Heinrich 2020 Lancet Oncol PMID:32615108"),
    ("eml4_alk_crizotinib", ["EML4-ALK"], {}, "lung", "crizotinib", "sensitive",
     "Kwak 2010 NEJM PMID:20979469"),
    ("bcr_abl1_imatinib", ["BCR-ABL1 fusion"], {}, "blood", "imatinib", "sensitive",
     "An 2010 Leuk Res PMID:20537386"),
    ("btk_c481s_ibrutinib", ["BTK C481S"], {}, "lymphocyte", "ibrutinib", "resistant",
     "Woyach 2014 NEJM PMID:24869598"),
    ("btk_c481s_pirtobrutinib", ["BTK C481S"], {}, "lymphocyte", "pirtobrutinib",
     "sensitive", "Mato 2021 Lancet PMID:33676628"),
    ("kras_g12c_sotorasib", ["KRAS G12C"], {}, "lung", "sotorasib", "sensitive",
     "Skoulidis 2021 NEJM PMID:34096690"),
    ("egfr_met_amp_gefitinib", ["EGFR L858R"], {"MET": "amplification"}, "lung", "gefitinib",
     "resistant", "Engelman 2007 Science PMID:17463250 (acquired MET amplification)"),
    ("braf_v600e_colorectal_vemurafenib", ["BRAF V600E"], {}, "colorectal", "vemurafenib",
     "resistant", "Prahallad 2012 Nature PMID:22281684 (EGFR feedback in colon cancer)"),
    ("egfr_ex20ins_gefitinib", ["EGFR D770_N771insSVD"], {}, "lung", "gefitinib", "resistant",
     "Lund-Iversen 2012 J Thorac Oncol PMID:22895145"),
    ("flt3_itd_midostaurin", ["FLT3 ITD"], {}, "blood", "midostaurin", "sensitive",
     "Levis 2017 Blood PMID:28546144; Stone 2017 NEJM"),
    ("bcl2_g101v_venetoclax", ["BCL2 G101V"], {}, "lymphocyte", "venetoclax", "resistant",
     "Birkinshaw 2019 Nat Commun PMID:31160589"),
    ("mcl1_amp_venetoclax", [], {"MCL1": "amplification"}, "blood", "venetoclax", "resistant",
     "Konopleva 2006 Cancer Cell PMID:17097561"),
    ("met_ex14_capmatinib", ["MET exon 14 skipping"], {}, "lung", "capmatinib", "sensitive",
     "Frampton 2015 Cancer Discov PMID:25971938"),
    ("erbb2_amp_trastuzumab", [], {"ERBB2": "amplification"}, "breast", "trastuzumab",
     "sensitive", "Slamon 2001 NEJM PMID:11248153"),
    ("tp53_gefitinib_negative_control", ["TP53 R273H"], {}, "lung", "gefitinib",
     "no_known_marker", "TP53 has no established predictive role for EGFR TKIs"),
]  # fmt: skip

_MIRROR = os.environ.get("ONCORESIST_DATA_MIRROR")
_HAS_CIVIC = bool(_MIRROR) and (Path(str(_MIRROR)) / "civic").is_dir()


@pytest.fixture(scope="module")
def civic():
    return read_civic_evidence()


def _profile(muts, cnv, tissue):
    return make_profile(muts, cnv=cnv or None, tissue=tissue)


@pytest.mark.parametrize(
    ("muts", "cnv", "tissue", "drug", "expected", "source"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_clinical_case_knowledge_base(muts, cnv, tissue, drug, expected, source):
    a = annotate(_profile(muts, cnv, tissue), drug)
    assert a.call == expected, f"{source}: got {a.call} ({a.reason})"


@pytest.mark.realdata
@pytest.mark.skipif(not _HAS_CIVIC, reason="CIViC evidence needs ONCORESIST_DATA_MIRROR")
@pytest.mark.parametrize(
    ("muts", "cnv", "tissue", "drug", "expected", "source"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_clinical_case_with_civic(civic, muts, cnv, tissue, drug, expected, source):
    a = annotate(_profile(muts, cnv, tissue), drug, civic=civic)
    assert a.call == expected, f"{source}: got {a.call} ({a.reason})"


def test_the_rule_that_matched_is_shown():
    """REGRESSION GUARD for the evidence table: every used item names its rule."""
    a = annotate(make_profile(["KIT V560D"]), "imatinib")
    used = a.evidence[a.evidence.used]
    assert (used.match_rule.str.len() > 0).all()
    assert used.match_rule.str.contains("exon 11").any()


def test_exon_rule_does_not_match_another_exon():
    """EVIDENCE: KIT D816 lies in exon 17 (Hirota 1998; Heinrich 2003 PMID:14645423), so the
    'exon 11 mutation' and 'exon 9 mutation' items (imatinib-sensitive) must not apply."""
    a = annotate(make_profile(["KIT D816V"]), "imatinib")
    assert not a.evidence.kb_alteration.str.contains("exon").any()


@pytest.mark.realdata
@pytest.mark.skipif(not _HAS_CIVIC, reason="CIViC evidence needs ONCORESIST_DATA_MIRROR")
def test_generic_items_do_not_outweigh_specific_ones(civic):
    """EVIDENCE (CIViC's own items): EGFR T790M has exact resistance items for gefitinib, so
    CIViC's generic 'EGFR mutation' sensitivity items must be overruled for T790M, and T790M
    must not be listed as sensitising in the reason."""
    a = annotate(make_profile(["EGFR L858R", "EGFR T790M"]), "gefitinib", civic=civic)
    t790 = a.evidence[(a.evidence.observed == "T790M") & (a.evidence.effect == "sensitivity")]
    assert len(t790) > 0 and not t790.used.any()
    assert t790.why_not_used.str.contains("more specific resistance").all()
    assert (
        "sensitising EGFR L858R" in a.reason
        and "EGFR T790M, " not in a.reason.split("overrides")[-1]
    )
