"""Variant notation: parse protein changes and copy-number / expression states, match to the KB."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError

__all__ = [
    "EXON_CODONS",
    "Alteration",
    "alteration_matches",
    "match_alterations",
    "parse_alteration",
]

_AA3 = {
    "Ala": "A",
    "Arg": "R",
    "Asn": "N",
    "Asp": "D",
    "Cys": "C",
    "Gln": "Q",
    "Glu": "E",
    "Gly": "G",
    "His": "H",
    "Ile": "I",
    "Leu": "L",
    "Lys": "K",
    "Met": "M",
    "Phe": "F",
    "Pro": "P",
    "Ser": "S",
    "Thr": "T",
    "Trp": "W",
    "Tyr": "Y",
    "Val": "V",
    "Ter": "*",
    "Sec": "U",
}
_AA1 = "ACDEFGHIKLMNPQRSTVWYU*"
#: Codon ranges of exons named by resistance literature (protein numbering of the canonical
#: transcript): EGFR exons 18-21 of the kinase domain, KRAS/NRAS exons 2-4.
EXON_CODONS: dict[tuple[str, int], tuple[int, int]] = {
    ("EGFR", 18): (688, 728),
    ("EGFR", 19): (729, 761),
    ("EGFR", 20): (762, 823),
    ("EGFR", 21): (824, 875),
    ("KRAS", 2): (1, 37),
    ("KRAS", 3): (38, 97),
    ("KRAS", 4): (98, 150),
    ("NRAS", 2): (1, 37),
    ("NRAS", 3): (38, 97),
    ("NRAS", 4): (98, 150),
}
STATES = {
    "amplification": "amplification",
    "amp": "amplification",
    "amplified": "amplification",
    "gain": "gain",
    "overexpression": "overexpression",
    "high expression": "overexpression",
    "expression": "overexpression",
    "underexpression": "underexpression",
    "low expression": "underexpression",
    "loss": "loss",
    "deletion": "loss",
    "homozygous deletion": "loss",
    "deep deletion": "loss",
    "loss of function": "loss",
    "loss-of-function": "loss",
    "mutation": "mutation",
    "mutant": "mutation",
    "reversion": "reversion",
    "fusion": "fusion",
    "wild type": "wildtype",
    "wildtype": "wildtype",
}
_MUTATION_KINDS = {
    "protein_change",
    "deletion",
    "insertion",
    "delins",
    "duplication",
    "frameshift",
    "exon_deletion",
    "exon_insertion",
    "mutation",
    "codon",
    "codons",
}


@dataclass(frozen=True)
class Alteration:
    """A parsed alteration. ``kind`` is one of protein_change, codon, codons, deletion,
    insertion, delins, duplication, frameshift, exon_deletion, exon_insertion or a state
    (amplification, gain, overexpression, underexpression, loss, mutation, reversion, fusion)."""

    gene: str
    kind: str
    text: str
    ref: str = ""
    start: int = 0
    end: int = 0
    alt: str = ""
    codons: tuple[int, ...] = ()
    exon: int = 0

    @property
    def truncating(self) -> bool:
        return self.kind == "frameshift" or (self.kind == "protein_change" and self.alt == "*")

    @property
    def is_mutation(self) -> bool:
        return self.kind in _MUTATION_KINDS


def _to_one_letter(s: str) -> str:
    out = s
    for three, one in _AA3.items():
        out = re.sub(three, one, out)
    return out


_PC = re.compile(r"^([A-Z*])(\d+)([A-Z*])$")
_CODON = re.compile(r"^([A-Z])(\d+)X?$")
_CODONS = re.compile(r"^([A-Z]?\d+)(/[A-Z]?\d+)+$")
_RANGE = re.compile(r"^([A-Z])(\d+)(?:_([A-Z])(\d+))?(DELINS|DEL|INS|DUP)([A-Z*]*)$")
_FS = re.compile(r"^([A-Z])(\d+)[A-Z]?FS(\*?\d*|\*\?)?$")
_EXON = re.compile(r"^(?:exon|ex)\s*(\d+)\s*(deletion|del|insertion|ins|mutation|mut)$")


def parse_alteration(text: str, *, gene: str = "", kb_entry: bool = False) -> Alteration:
    """Parse an alteration written in protein notation or as a state.

    Accepts ``p.T790M``, ``T790M``, ``p.Thr790Met``, ``p.(T790M)``, ``E746_A750del``,
    ``L747_P753delinsS``, ``D770_N771insSVD``, ``E23fs``, ``exon 19 deletion`` / ``del19``,
    ``G12/G13``, ``amplification``, ``overexpression``, ``loss`` and other states. A codon
    without the new residue (``G12``, ``D835``) is accepted only in knowledge-base entries
    (``kb_entry=True``) where it means "any change at this codon".

    Raises
    ------
    InputError
        For ambiguous or non-protein notation (cDNA ``c.2369C>T``, a codon without the new
        residue, several variants in one field, a residue number without the reference
        residue), with the fix in the message.

    Examples
    --------
    >>> parse_alteration("p.Thr790Met", gene="EGFR").alt
    'M'
    >>> parse_alteration("del19", gene="EGFR").kind
    'exon_deletion'
    """
    raw = str(text).strip()
    where = f"{gene} {raw!r}" if gene else repr(raw)
    if not raw or raw.lower() in {"nan", "none", "."}:
        raise InputError(
            f"empty alteration for gene {gene!r}; give a protein change such as p.T790M"
        )
    if fusion := re.match(r"^([A-Za-z0-9]+-[A-Za-z0-9]+)\s+(\S.*)$", raw):
        raw = fusion.group(2)  # "BCR-ABL T315I": the change in the kinase partner
    low = re.sub(r"[\s_]+", " ", raw.lower()).strip()
    if low in STATES:
        return Alteration(gene, STATES[low], raw)
    m = re.fullmatch(
        r"(?:exon|ex) ?(\d+) ?(deletion|del|insertion|ins|mutation|mut)s?", low
    ) or re.fullmatch(r"(del|ins)(?:exon|ex)? ?(\d+)", low)
    if m:
        a, b = m.groups()
        exon, ev = (int(a), b) if a.isdigit() else (int(b), a)
        kind = {
            "del": "exon_deletion",
            "deletion": "exon_deletion",
            "ins": "exon_insertion",
            "insertion": "exon_insertion",
        }.get(ev, "mutation")
        if kb_entry is False and gene and (gene, exon) not in EXON_CODONS and kind != "mutation":
            raise InputError(
                f"{where}: exon {exon} of {gene} has no codon range in EXON_CODONS; give the "
                "protein change (e.g. p.E746_A750del) instead"
            )
        return Alteration(gene, kind, raw, exon=exon)
    if re.match(r"^(c\.|g\.|n\.|r\.|chr)", low) or re.search(r"\d[acgt]>[acgt]", low):
        raise InputError(
            f"{where} is nucleotide (cDNA/genomic) notation; give the protein change "
            "(HGVS p. notation, e.g. p.T790M) from your annotation (VEP/ANNOVAR HGVSp column)"
        )
    if re.search(
        r"[,;+ ]|(?<=[A-Za-z*])/(?=[A-Za-z])", raw.removeprefix("p.")
    ) and not _CODONS.match(raw.upper().removeprefix("P.")):
        raise InputError(
            f"{where} holds several variants or free text in one field; give one protein change "
            "per row (e.g. two rows T790M and L858R)"
        )
    s = raw.removeprefix("p.").removeprefix("P.").strip("()")
    s = s.replace("Ter", "*") if "Ter" in s else s
    s1 = (_to_one_letter(s) if re.search(r"[A-Z][a-z]{2}", s) else s).upper()
    s1 = s1.replace("X", "*") if re.fullmatch(r"[A-Z]\d+X", s1) and kb_entry is False else s1
    if m := _PC.match(s1):
        ref, pos, alt = m.groups()
        return Alteration(
            gene, "protein_change", raw, ref=ref, start=int(pos), end=int(pos), alt=alt
        )
    if m := _RANGE.match(s1):
        r1, p1, _r2, p2, op, ins = m.groups()
        kind = {"DEL": "deletion", "INS": "insertion", "DELINS": "delins", "DUP": "duplication"}[op]
        return Alteration(gene, kind, raw, ref=r1, start=int(p1), end=int(p2 or p1), alt=ins)
    if m := _FS.match(s1):
        return Alteration(
            gene, "frameshift", raw, ref=m.group(1), start=int(m.group(2)), end=int(m.group(2))
        )
    if _CODONS.match(s1):
        codons = tuple(int(re.sub(r"\D", "", c)) for c in s1.split("/"))
        if kb_entry:
            return Alteration(
                gene, "codons", raw, codons=codons, start=min(codons), end=max(codons)
            )
    elif m := _CODON.match(s1):
        if kb_entry:
            pos = int(m.group(2))
            return Alteration(gene, "codon", raw, ref=m.group(1), start=pos, end=pos, codons=(pos,))
        raise InputError(
            f"{where} names codon {m.group(2)} but not the new amino acid; write the full change "
            f"(e.g. {m.group(1)}{m.group(2)}M) or 'mutation' if only the gene is known"
        )
    if re.fullmatch(r"\d+[A-Z*]", s1):
        raise InputError(f"{where} lacks the reference amino acid; write e.g. T790M, not 790M")
    raise InputError(
        f"cannot read alteration {where}; use HGVS protein notation (p.T790M, p.E746_A750del, "
        "p.E23fs), an exon event ('exon 19 deletion') or a state (amplification, overexpression, "
        "underexpression, loss, mutation, reversion, fusion)"
    )


def _in_exon(a: Alteration, gene: str, exon: int) -> bool:
    rng = EXON_CODONS.get((gene, exon))
    return rng is not None and rng[0] <= a.start <= rng[1]


def alteration_matches(kb: Alteration, obs: Alteration) -> bool:
    """True when the observed alteration ``obs`` is an instance of the KB alteration ``kb``.

    Examples
    --------
    >>> kb = parse_alteration("exon 19 deletion", gene="EGFR", kb_entry=True)
    >>> alteration_matches(kb, parse_alteration("p.E746_A750del", gene="EGFR"))
    True
    """
    if kb.gene != obs.gene:
        return False
    k = kb.kind
    if k == "protein_change":
        return obs.kind == "protein_change" and obs.start == kb.start and obs.alt == kb.alt
    if k in ("codon", "codons"):
        return (
            obs.kind in ("protein_change", "deletion", "delins", "frameshift")
            and obs.start in kb.codons
            and obs.alt != obs.ref
        )
    if k in ("deletion", "insertion", "delins", "duplication", "frameshift"):
        return obs.kind == k and obs.start == kb.start and obs.end == kb.end and obs.alt == kb.alt
    if k == "exon_deletion":
        return (obs.kind == "exon_deletion" and obs.exon == kb.exon) or (
            obs.kind in ("deletion", "delins") and _in_exon(obs, kb.gene, kb.exon)
        )
    if k == "exon_insertion":
        return (obs.kind == "exon_insertion" and obs.exon == kb.exon) or (
            obs.kind in ("insertion", "duplication", "delins") and _in_exon(obs, kb.gene, kb.exon)
        )
    if k == "mutation":
        return obs.is_mutation and not (obs.kind == "protein_change" and obs.ref == obs.alt)
    if k == "loss":
        return obs.kind == "loss" or obs.truncating
    if k == "amplification":
        return obs.kind == "amplification"
    return obs.kind == k


def match_alterations(events: pd.DataFrame, kb_alterations: pd.DataFrame) -> pd.DataFrame:
    """Join observed events to KB alterations of the same gene and keep true matches.

    ``events`` needs columns ``gene`` and ``alteration`` (parsed on the fly) plus any
    provenance columns; ``kb_alterations`` is :attr:`KnowledgeBase.alterations` (optionally
    filtered to one drug). Returns the joined rows with ``observed`` and ``kb_alteration``.
    """
    if events.empty or kb_alterations.empty:
        return pd.DataFrame(columns=[*kb_alterations.columns, "observed", "kb_alteration"])
    ev = events.rename(columns={"alteration": "observed"})
    kbt = kb_alterations.rename(columns={"alteration": "kb_alteration"})
    j = ev.merge(kbt, on="gene", how="inner", suffixes=("_obs", ""))
    if j.empty:
        return j
    cache: dict[tuple[str, str, bool], Alteration] = {}

    def parsed(g: str, t: str, kb: bool) -> Alteration:
        key = (g, t, kb)
        if key not in cache:
            cache[key] = parse_alteration(t, gene=g, kb_entry=kb)
        return cache[key]

    keep = [
        alteration_matches(parsed(g, k, True), parsed(g, o, False))
        for g, k, o in zip(j.gene, j.kb_alteration, j.observed, strict=True)
    ]
    return j.loc[keep].reset_index(drop=True)
