"""Knowledge-base schema, drug/gene resolution, variant notation and profile readers."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from oncoresist.errors import InputError
from oncoresist.mechanisms import (
    MECHANISM_CLASSES,
    alteration_matches,
    annotate,
    example_profile_path,
    load_knowledge_base,
    make_profile,
    parse_alteration,
    read_profile,
    resolve_drug,
    suggest_genes,
    validate_knowledge_base,
)


def test_shipped_kb_is_valid():
    kb = load_knowledge_base()
    problems = validate_knowledge_base(kb)
    assert problems.empty, problems.to_string()
    # every class of the controlled vocabulary is present and every alteration has a citation
    assert set(kb.mechanisms.mechanism) == set(MECHANISM_CLASSES)
    assert kb.alterations.citations.str.match(r"^(PMID:\d+|DOI:10\.)").all()
    assert len(kb.drugs) > 900  # GDSC1+GDSC2+CTRP+O'Neil+ALMANAC drugs (1,022 built)


def test_validator_flags_broken_entries():
    kb = load_knowledge_base()
    bad_alt = pd.DataFrame(
        [
            {
                **kb.alterations.iloc[0].to_dict(),
                "gene": "EGRF",
                "citations": "",
                "mechanism": "magic",
                "alteration": "T790",
            }
        ]
    )
    broken = kb.with_alterations(bad_alt)
    probs = validate_knowledge_base(broken)
    text = " ".join(probs.problem)
    assert "unknown gene symbol" in text and "EGFR" in text  # suggestion offered
    assert "no citation" in text and "unknown mechanism" in text
    broken2 = dataclasses.replace(kb, gene_sets=kb.gene_sets.assign(citations="PMID:abc"))
    assert (validate_knowledge_base(broken2).problem.str.contains("malformed citation")).any()


def test_drug_and_gene_suggestions():
    assert resolve_drug("Tarceva") == "erlotinib"
    assert resolve_drug("AZD9291") == "osimertinib"
    with pytest.raises(InputError, match="gefitinib"):
        resolve_drug("gefitnib")
    assert suggest_genes("EGRF")[0] == "EGFR"


@pytest.mark.parametrize(
    ("text", "kind", "start", "alt"),
    [
        ("p.T790M", "protein_change", 790, "M"),
        ("T790M", "protein_change", 790, "M"),
        ("p.Thr790Met", "protein_change", 790, "M"),
        ("p.(L858R)", "protein_change", 858, "R"),
        ("p.E746_A750del", "deletion", 746, ""),
        ("L747_P753delinsS", "delins", 747, "S"),
        ("D770_N771insSVD", "insertion", 770, "SVD"),
        ("p.E23fs", "frameshift", 23, ""),
        ("Q61*", "protein_change", 61, "*"),
        ("BCR-ABL T315I", "protein_change", 315, "I"),
    ],
)
def test_protein_notation(text, kind, start, alt):
    a = parse_alteration(text, gene="ABL1" if text.startswith("BCR") else "EGFR")
    assert (a.kind, a.start, a.alt) == (kind, start, alt)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("T790", "new amino acid"),
        ("790M", "reference amino acid"),
        ("c.2369C>T", "nucleotide"),
        ("T790M/C797S", "one protein change per row"),
        ("", "empty"),
    ],
)
def test_ambiguous_notation_raises(text, message):
    with pytest.raises(InputError, match=message):
        parse_alteration(text, gene="EGFR")


def test_exon_and_codon_matching():
    ex19 = parse_alteration("exon 19 deletion", gene="EGFR", kb_entry=True)
    assert alteration_matches(ex19, parse_alteration("p.E746_A750del", gene="EGFR"))
    assert alteration_matches(ex19, parse_alteration("del19", gene="EGFR"))
    assert not alteration_matches(ex19, parse_alteration("p.D770_N771insSVD", gene="EGFR"))
    g12 = parse_alteration("G12/G13", gene="KRAS", kb_entry=True)
    assert alteration_matches(g12, parse_alteration("G13D", gene="KRAS"))
    assert not alteration_matches(g12, parse_alteration("Q61H", gene="KRAS"))


def test_profile_calls_from_curated_kb():
    # NCI-H1975 genotype: L858R + T790M (Pao 2005) -> resistant to 1st-gen, sensitive to osimertinib
    p = read_profile(example_profile_path())
    assert annotate(p, "gefitinib").call == "resistant"
    assert annotate(p, "erlotinib").call == "resistant"
    assert annotate(p, "osimertinib").call == "sensitive"
    assert (
        annotate(make_profile(["EGFR L858R", "EGFR T790M", "EGFR C797S"]), "osimertinib").call
        == "resistant"
    )
    assert annotate(make_profile(["EGFR E746_A750del"]), "erlotinib").call == "sensitive"
    assert annotate(make_profile(["KRAS G12D"]), "cetuximab").call == "resistant"
    assert annotate(make_profile(cnv={"MET": "amplification"}), "gefitinib").call == "resistant"
    assert annotate(make_profile(["TP53 R273H"]), "gefitinib").call == "no_known_marker"


def test_profile_readers_and_bad_input(tmp_path):
    maf = tmp_path / "m.maf"
    maf.write_text("Hugo_Symbol\tHGVSp_Short\tTumor_Sample_Barcode\nABL1\tp.T315I\tCML1\n")
    assert annotate(read_profile(maf), "imatinib").call == "resistant"
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "7\t55249071\t.\tC\tT\t.\tPASS\tGENE=EGFR;HGVSP=p.T790M\n"
    )
    assert read_profile(vcf).mutations.alteration.tolist() == ["p.T790M"]
    yml = tmp_path / "p.yaml"
    yml.write_text("sample: x\nmutations: ['EGRF T790M']\n")
    prof = read_profile(yml)
    assert prof.issues.problem.str.contains("unknown gene").any()
    assert "EGFR" in prof.issues.suggestion.iloc[0]
    with pytest.raises(InputError, match="EGFR"):
        read_profile(yml, strict=True)
    yml.write_text("sample: x\nmutations: ['EGFR T790']\n")
    with pytest.raises(InputError, match=r"row 1.*new amino acid"):
        read_profile(yml)
    yml.write_text("sample: x\nmutation: []\n")
    with pytest.raises(InputError, match="unknown keys"):
        read_profile(yml)
    with pytest.raises(InputError, match="GISTIC"):
        make_profile(cnv={"MET": 3.7})


@pytest.mark.parametrize(
    "drug",
    ["lorlatinib", "ponatinib", "asciminib", "avapritinib", "ripretinib", "pirtobrutinib",
     "elacestrant", "sotorasib", "adagrasib", "gilteritinib", "capmatinib", "selpercatinib",
     "ivosidenib", "enasidenib", "osimertinib", "brigatinib", "ceritinib", "Lorbrena",
     "AP24534", "ABL001"],
)  # fmt: skip
def test_resistance_setting_drugs_known_without_civic(drug):
    """REGRESSION GUARD: the approved drugs of resistance settings resolve from the shipped
    knowledge base alone (names, brand names and code names), with their curated targets."""
    kb = load_knowledge_base()
    key = resolve_drug(drug, kb)
    row = kb.drugs[kb.drugs.key == key].iloc[0]
    assert "curated" in row.sources and row.targets and row.citations


def test_no_synonym_names_a_different_compound():
    """OUTSIDE REFERENCE: AZD1480 is a JAK1/2 inhibitor (Hedvat 2009 Cancer Cell 16:487), not
    selumetinib (a MEK inhibitor), although GDSC 8.4 lists it among selumetinib's synonyms: no
    KB synonym may name another KB compound with disjoint targets."""
    import re

    from oncoresist.mechanisms import load_knowledge_base, resolve_drug

    kb = load_knowledge_base()
    assert resolve_drug("AZD1480", kb) == "azd1480"
    d = kb.drugs

    def norm(x: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(x).lower())

    targets = {norm(n): set(t) if isinstance(t, (list, tuple)) else set()
               for n, t in zip(d.drug, d.targets, strict=True)}  # fmt: skip
    for name, syns in zip(d.drug, d.synonyms, strict=True):
        for s in syns if isinstance(syns, (list, tuple)) else ():
            other = targets.get(norm(s))
            if other is not None and norm(s) != norm(name) and other and targets[norm(name)]:
                assert other & targets[norm(name)], f"{name}: synonym {s} is another compound"
