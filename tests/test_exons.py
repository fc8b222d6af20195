"""Exon boundaries in codon coordinates (``oncoresist.mechanisms._exons``, ``kb/exons.tsv``).

Each test says whether it is EVIDENCE (agreement with a source outside the project) or a
REGRESSION GUARD (the table or API keeps a property it has now), and names the source.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import numpy as np
import pytest

from oncoresist.data import fetch_file, mirror_available
from oncoresist.errors import InputError
from oncoresist.mechanisms._exons import (
    exon_codon_range,
    exon_genes,
    exon_table,
    exons_of,
    transcript_of,
)

needs_civic = pytest.mark.skipif(
    not mirror_available("civic"), reason="needs ONCORESIST_DATA_MIRROR with civic"
)


@functools.cache
def _civic() -> list[dict[str, str]]:
    """CIViC variant summaries; unquoted TSV whose extra trailing fields are assertion URLs."""
    with Path(fetch_file("civic", "nightly-VariantSummaries.tsv")).open(newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        return [dict(zip(header, r[: len(header)], strict=False)) for r in reader]


def _tx(s: str) -> str:
    s = s.split(".")[0]
    return f"ENST{int(s[4:]):011d}" if s.startswith("ENST") else s


def _genomic_to_c(gene: str, pos: int) -> int | None:
    """c. position of a GRCh37 base from the shipped table (None: not in a coding exon)."""
    t = exon_table()
    row = t[(t.gene == gene) & (t.g_start <= pos) & (t.g_end >= pos) & t.cds_end.notna()]
    if row.empty:
        return None
    r = row.iloc[0]
    back = r.g_end - pos if r.strand == "+" else pos - r.g_start
    return int(r.cds_end - back)


_C_SNV = re.compile(r"^(ENST\d+)(?:\.\d+)?:?c\.(\d+)([ACGT])>[ACGT]$")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_NAME = re.compile(r"^[A-Z](\d+)[A-Z*]$")


@pytest.mark.realdata
@needs_civic
def test_every_civic_snv_maps_to_its_codon():
    """EVIDENCE (CIViC nightly VariantSummaries, Feb 2021): for every CIViC single-nucleotide
    variant of a gene in the table whose c. notation is on the table's transcript, the table
    maps the GRCh37 position to CIViC's c. position, and ceil(c / 3) to the codon in CIViC's
    variant name. Measured: 493 of 494 c. positions (the other is a CIViC error, below) and
    327 of 327 codons named, in 73 genes. CIViC's variants also anchored the frame, so this
    checks that the shipped file reproduces them; the exon-level and literature tests below
    are independent of the build.
    """
    genes = exon_genes()
    n_c = ok_c = n_codon = ok_codon = 0
    bad: list[str] = []
    civic_inconsistent: list[str] = []
    wrong_base: list[str] = []
    seen: set[str] = set()
    for r in _civic():
        g = r["gene"]
        if g not in genes or not r["start"] or r["start"] != r["stop"]:
            continue
        if len(r["reference_bases"]) != 1 or len(r["variant_bases"]) != 1:
            continue
        cs = [m for h in r["hgvs_expressions"].split(",") if (m := _C_SNV.match(h.strip()))]
        cs = [m for m in cs if _tx(m[1]) == transcript_of(g)]
        if not cs:
            continue
        c_civic = int(cs[0][2])
        m = _NAME.match(r["variant"].split()[-1].upper())
        strand = exon_table().query("gene == @g").strand.iloc[0]
        ref = r["reference_bases"] if strand == "+" else r["reference_bases"].translate(_COMPLEMENT)
        if m and -(-c_civic // 3) != int(m[1]):
            civic_inconsistent.append(f"{g} {r['variant']}")
            continue
        if cs[0][3] != ref:
            wrong_base.append(f"{g} {r['variant']}")
        seen.add(g)
        c_ours = _genomic_to_c(g, int(r["start"]))
        n_c += 1
        ok_c += c_ours == c_civic
        if c_ours != c_civic:
            bad.append(f"{g} {r['variant']}")
        if m:
            n_codon += 1
            ok_codon += c_ours is not None and -(-c_ours // 3) == int(m[1])
    # The one c. disagreement is a CIViC error: BRAF P731T is g.140434507G>T on the minus
    # strand, c.2191C>A (CCN -> ACN, Pro -> Thr) as the table says; CIViC's c.2193G>T has
    # the wrong reference base and could not change Pro to Thr.
    assert bad == ["BRAF P731T"], bad
    assert set(bad) <= set(wrong_base)
    # Rows whose c. contradicts their own name: RUNX1 A107P (c.400 is the other isoform's).
    assert civic_inconsistent == ["RUNX1 A107P"], civic_inconsistent
    assert ok_codon == n_codon
    assert ok_c == n_c - 1 and n_c >= 490 and n_codon >= 320 and len(seen) >= 70, (n_c, n_codon)


# CIViC exon-level variants whose coordinates cannot be compared exon by exon, and why.
_EXON_LEVEL_APART = {
    "EGFR EXON 18 OVEREXPRESSION": "on ENST00000344576, a short EGFR isoform",
    "MET EXON 14 MUTATION and AMPLIFICATION": "range is the whole gene (amplification)",
}
# Known numbering differences: CIViC's exon N is the table's exon N + shift.
_EXON_LEVEL_SHIFT = {"CTNNB1 Exon 3 Mutation": 1}


def _named_exons(name: str) -> set[int]:
    out: set[int] = set()
    for lo, hi in re.findall(r"exons?\s+(\d+)(?:\s*-\s*(\d+))?", name, re.IGNORECASE):
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


@pytest.mark.realdata
@needs_civic
def test_civic_exon_level_variants_fall_in_the_same_exon():
    """EVIDENCE (CIViC exon-level variants with GRCh37 coordinates, e.g. KIT "EXON 11
    MUTATION" 4:55593582-55593708): the exons of the table that the range overlaps are
    exactly the exons named. Not used in the build. Measured: 18 of 18 comparable variants
    in 11 genes (CTNNB1 "Exon 3" counted with its known shift: exon 4 here, one more 5' UTR
    exon in the source transcript); 2 set apart, see ``_EXON_LEVEL_APART``.
    """
    t = exon_table()
    n = 0
    bad: list[str] = []
    for r in _civic():
        if "exon" not in r["variant"].lower() or r["gene"] not in exon_genes() or not r["start"]:
            continue
        key = f"{r['gene']} {r['variant']}"
        if key in _EXON_LEVEL_APART:
            continue
        lo, hi = int(r["start"]), int(r["stop"])
        d = t[t.gene == r["gene"]]
        hit = set(d.exon[(d.g_start <= hi) & (d.g_end >= lo)].tolist())
        want = {e + _EXON_LEVEL_SHIFT.get(key, 0) for e in _named_exons(r["variant"])}
        n += 1
        if hit != want:
            bad.append(f"{key} {lo}-{hi}: named {sorted(want)}, table {sorted(hit)}")
    assert not bad, bad
    assert n >= 18


def test_kit_exon_11_coordinates_match_civic():
    """EVIDENCE (CIViC variant 'KIT EXON 11 MUTATION', 4:55593582-55593708 on
    ENST00000288135): the table's KIT exon 11 has exactly these GRCh37 bounds."""
    t = exon_table().query("gene == 'KIT' and exon == 11")
    assert t[["chrom", "g_start", "g_end"]].to_numpy().tolist() == [["4", 55593582, 55593708]]


# (gene, codon, exon, source). Exon numbers are those of the table's transcript; where the
# literature counts differently the expected value is the table's and the comment says so.
LITERATURE = [
    ("EGFR", 746, 19, "Lynch 2004, Paez 2004: E746_A750del in exon 19"),
    ("EGFR", 750, 19, "Lynch 2004, Paez 2004"),
    ("EGFR", 790, 20, "Pao 2005: T790M in exon 20"),
    ("EGFR", 858, 21, "Lynch 2004, Paez 2004: L858R in exon 21"),
    ("EGFR", 719, 18, "Paez 2004: G719 in exon 18"),
    ("KIT", 502, 9, "Heinrich 2003: A502_Y503dup in exon 9"),
    ("KIT", 503, 9, "Heinrich 2003"),
    ("KIT", 557, 11, "Hirota 1998: exon 11 juxtamembrane W557-V560"),
    ("KIT", 559, 11, "Hirota 1998"),
    ("KIT", 560, 11, "Hirota 1998"),
    ("KIT", 642, 13, "Heinrich 2003: K642E in exon 13"),
    ("KIT", 816, 17, "Heinrich 2003: D816 in exon 17"),
    ("KIT", 822, 17, "Heinrich 2003: N822 in exon 17"),
    ("PDGFRA", 561, 12, "Heinrich 2003: V561D in exon 12"),
    ("PDGFRA", 842, 18, "Heinrich 2003: D842V in exon 18"),
    ("BRAF", 600, 15, "Davies 2002: V600 in exon 15"),
    ("BRAF", 469, 11, "Davies 2002: G469 in exon 11"),
    ("KRAS", 12, 2, "KRAS codons 12/13 in exon 2"),
    ("KRAS", 13, 2, "KRAS codons 12/13 in exon 2"),
    ("KRAS", 61, 3, "KRAS Q61 in exon 3"),
    ("KRAS", 146, 4, "KRAS A146 in exon 4"),
    # Samuels 2004 counts the first coding exon as exon 1: H1047R 'exon 20', E545K 'exon 9';
    # on ENST00000263967 (one 5' UTR exon first) they are exons 21 and 10.
    ("PIK3CA", 1047, 21, "Samuels 2004 (their exon 20)"),
    ("PIK3CA", 545, 10, "Samuels 2004 (their exon 9)"),
    ("PIK3CA", 542, 10, "Samuels 2004 (their exon 9)"),
    ("MET", 1010, 14, "Paik 2015, Frampton 2015: D1010 at the exon 14 donor"),
    ("MET", 1003, 14, "Paik 2015, Frampton 2015: Y1003 in exon 14"),
    ("FLT3", 835, 20, "Yamamoto 2001: D835 in the activation loop, exon 20"),
    ("JAK2", 617, 14, "V617F in exon 14 (Baxter/James/Kralovics/Levine 2005)"),
    ("IDH1", 132, 4, "R132 in exon 4 (Parsons 2008)"),
    ("ERBB2", 776, 20, "Stephens 2004: exon 20 insertions at A775-G776"),
    # ESR1 Y537/D538 are 'exon 8' in the literature, counting from the first coding exon;
    # the source transcript has two 5' UTR exons first, so they are in exon 10 here.
    ("ESR1", 537, 10, "Toy 2013, Robinson 2013 (their exon 8)"),
    ("ESR1", 538, 10, "Toy 2013, Robinson 2013 (their exon 8)"),
    # NPM1 W288fs: 'exon 12' (Falini 2005) on CIViC's ENST00000517671, as here.
    ("NPM1", 288, 12, "Falini 2005: exon 12 frameshifts at W288"),
    # CTNNB1 S33/S37/T41/S45: 'exon 3' in the literature and in CIViC; exon 4 here.
    ("CTNNB1", 41, 4, "Morin 1997 (their exon 3)"),
]


@pytest.mark.parametrize(("gene", "codon", "exon", "source"), LITERATURE)
def test_literature_exon_membership(gene, codon, exon, source):
    """EVIDENCE (the publication named in ``source``): the codon lies in that exon."""
    assert exon in exons_of(gene, codon), (gene, codon, exons_of(gene, codon), source)


def test_genes_without_an_anchor_are_absent():
    """REGRESSION GUARD (build report, CIViC Feb 2021): CALR, ASXL1, MPL, WT1, POLE and FGFR3
    had no usable CIViC anchor (FGFR3: its two anchors need two frames, isoform IIIb/IIIc),
    so they are left out rather than guessed; CALR exon 9 (Klampfl/Nangalia 2013) therefore
    cannot be checked here."""
    genes = exon_genes()
    assert not {"CALR", "ASXL1", "MPL", "WT1", "POLE", "FGFR3"} & genes
    assert {"EGFR", "KIT", "PDGFRA", "KRAS", "NRAS", "HRAS", "BRAF", "PIK3CA", "NPM1"} <= genes


def test_table_is_contiguous_and_consistent():
    """REGRESSION GUARD (the table's own invariants): per gene the CDS runs without gaps over
    consecutive exons, interior coding exons are as long in c. as in the genome, codon ranges
    follow from c. ranges, and only the last exon has ``end_exact == 0``."""
    t = exon_table()
    for gene, d in t.groupby("gene"):
        d = d.sort_values("exon")
        assert d.exon.tolist() == list(range(1, len(d) + 1)), gene
        assert (d.n_exons == len(d)).all() and d.transcript.nunique() == 1, gene
        c = d[d.cds_start.notna()]
        assert c.exon.tolist() == list(range(c.exon.iloc[0], len(d) + 1)), gene
        assert c.cds_start.iloc[0] == 1
        assert (c.cds_start.to_numpy()[1:] == c.cds_end.to_numpy()[:-1] + 1).all(), gene
        inner = c.iloc[1:]
        assert (inner.cds_end - inner.cds_start == inner.g_end - inner.g_start).all(), gene
        assert (c.codon_start == (c.cds_start + 2) // 3).all()
        assert (c.codon_end == (c.cds_end + 2) // 3).all()
        assert d.end_exact.tolist() == [1] * (len(d) - 1) + [0], gene


def test_unknown_gene_and_outside_cds():
    """REGRESSION GUARD (API contract): unknown genes give None or empty; codons outside the
    coding exons give an empty tuple; a 5' UTR-only exon has no codon range."""
    assert exons_of("NOT_A_GENE", 12) == ()
    assert exon_codon_range("NOT_A_GENE", 1) is None
    assert transcript_of("NOT_A_GENE") is None
    assert exons_of("KRAS", 0) == ()
    assert exons_of("KRAS", 10**6) == ()
    assert exon_codon_range("KRAS", 1) is None  # exon 1 is 5' UTR
    assert exon_codon_range("KRAS", 99) is None
    with pytest.raises(InputError, match="end is before start"):
        exons_of("KRAS", 20, 10)


def test_split_codon_and_ranges():
    """REGRESSION GUARD (API contract, values from the table): a codon split by a junction is
    in both exons (KRAS codon 97, exons 3/4; KIT 592, exons 11/12); a range touches every exon it crosses; the EGFR
    exon 18-21 codon ranges equal those hand-typed before (688-728, 729-761, 762-823,
    824-875)."""
    assert exons_of("KRAS", 97) == (3, 4)
    assert exons_of("EGFR", 700, 800) == (18, 19, 20)
    assert exons_of("egfr", 746, 750) == (19,)
    assert [exon_codon_range("EGFR", e) for e in (18, 19, 20, 21)] == [
        (688, 728),
        (729, 761),
        (762, 823),
        (824, 875),
    ]
    assert exon_codon_range("KIT", 11) == (550, 592)
    assert exons_of("KIT", 550, 592) == (11, 12)  # codon 592 is split between 11 and 12


def test_table_is_a_copy():
    """REGRESSION GUARD: changing the returned table does not change later look-ups (no timing
    threshold: speed is shown by benchmarks, never asserted)."""
    t = exon_table()
    t["codon_start"] = np.nan
    assert exon_codon_range("EGFR", 19) == (729, 761)


def test_conventional_exon_numbers_of_shifted_genes():
    """EVIDENCE (literature numbering): CTNNB1 S33/S37/T41/S45 are the 'exon 3' hotspots
    (de La Coste 1998 PNAS; CIViC "CTNNB1 Exon 3 Mutation") and ESR1 Y537/D538 lie in 'exon 8' (Toy 2013
    PMID:24185512), although the table's transcripts count more 5' UTR exons; KB items written
    in the conventional numbering must match them."""
    from oncoresist.mechanisms import alteration_matches, parse_alteration

    for gene, exon, change in (("CTNNB1", 3, "S33Y"), ("CTNNB1", 3, "T41A"), ("ESR1", 8, "Y537S")):
        kb = parse_alteration(f"exon {exon} mutation", gene=gene, kb_entry=True)
        assert alteration_matches(kb, parse_alteration(change, gene=gene))
