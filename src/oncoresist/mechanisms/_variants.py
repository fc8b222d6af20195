"""Variant notation: parse protein changes, fusions, exon events and copy-number / expression
states; match observed alterations to knowledge-base items, most specific rule first.

Every match carries its *specificity* (5 = the exact change, 4 = the codon or the named fusion,
3 = the exon or the kind of alteration (amplification, fusion, loss, expression), 2 = loss of
function inferred from a truncating variant, 1 = "any mutation of the gene") and the rule that
matched, so a report can show why an item applies and ``annotate`` can rank specific evidence
above generic evidence. Exon events are matched through the codon ranges of the canonical
transcript's exons (:mod:`._exons` when it has the gene, else :data:`EXON_CODONS`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError

__all__ = [
    "EXON_CODONS",
    "SPECIFICITY",
    "Alteration",
    "alteration_matches",
    "match_alterations",
    "match_rule",
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
    "copy number gain": "gain",
    "gain": "gain",
    "overexpression": "overexpression",
    "over expression": "overexpression",
    "high expression": "overexpression",
    "expression": "overexpression",
    "high": "overexpression",
    "underexpression": "underexpression",
    "under expression": "underexpression",
    "low expression": "underexpression",
    "promoter methylation": "underexpression",
    "promoter hypermethylation": "underexpression",
    "loss": "loss",
    "deletion": "loss",
    "homozygous deletion": "loss",
    "deep deletion": "loss",
    "loss of function": "loss",
    "loss-of-function": "loss",
    "lof": "loss",
    "truncating": "loss",
    "truncating mutation": "loss",
    "inactivating mutation": "loss",
    "frameshift truncation": "loss",
    "deleterious mutation": "loss",
    "biallelic inactivation": "loss",
    "mutation": "mutation",
    "mutations": "mutation",
    "mutant": "mutation",
    "reversion": "reversion",
    "fusion": "fusion",
    "fusions": "fusion",
    "rearrangement": "fusion",
    "translocation": "fusion",
    "itd": "itd",
    "internal tandem duplication": "itd",
    "wild type": "wildtype",
    "wildtype": "wildtype",
    "wt": "wildtype",
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
    "exon_mutation",
    "exon_skipping",
    "itd",
    "mutation",
    "codon",
    "codons",
}
#: Specificity of each matching rule (higher = more specific); see the module docstring.
SPECIFICITY: dict[str, int] = {
    "exact change": 5,
    "named fusion": 4,
    "codon": 4,
    "exon": 3,
    "alteration kind": 3,
    "truncating variant as loss of function": 2,
    "any mutation of the gene": 1,
}


@dataclass(frozen=True)
class Alteration:
    """A parsed alteration. ``kind`` is one of protein_change, codon, codons, deletion,
    insertion, delins, duplication, frameshift, exon_deletion, exon_insertion, exon_mutation,
    exon_skipping or a state (amplification, gain, overexpression, underexpression, loss,
    mutation, reversion, fusion, itd, wildtype).

    ``partner`` is the other gene of a fusion (``EML4`` of ``EML4-ALK``); ``in_fusion`` marks
    a point change written with its fusion (``BCR-ABL1 T315I``); ``exons`` holds the exon
    numbers of an exon event (``exon 18-21 mutation``: 18..21)."""

    gene: str
    kind: str
    text: str
    ref: str = ""
    start: int = 0
    end: int = 0
    alt: str = ""
    codons: tuple[int, ...] = ()
    exon: int = 0
    partner: str = ""
    in_fusion: bool = False
    exons: tuple[int, ...] = ()

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
# "EML4-ALK", "BCR::ABL1", "EML4-ALK fusion", "ALK fusion", each optionally followed by a change
_FUSION_PAIR = re.compile(r"^([A-Za-z0-9]+)(?:-|::)([A-Za-z0-9]+)(?:\s+(?:fusions?))?(?:\s+(.+))?$")
_GENE_FUSION = re.compile(r"^([A-Za-z0-9]+)\s+fusions?\s+(.+)$", re.IGNORECASE)
_EXON_EVENT = re.compile(
    r"(?:exon|ex) ?(\d+)(?: ?(?:-|to) ?(\d+))? ?"
    r"(deletion|del|insertion|ins|mutation|mut|skipping|skip|skipping mutation)s?"
)


# a fusion's breakpoint or isoform: "EML4-ALK e6-e20", "EML4-ALK v3", "variant 1"
_BREAKPOINT = re.compile(r"(?i)(e\d+[-:]?e?\d+|v\d+[a-z]?|variant \d+[a-z]?)( fusion)?")
#: Gene names that fusion notations and reports use instead of the HGNC symbol.
GENE_ALIASES: dict[str, str] = {
    "ABL": "ABL1",
    "NPM": "NPM1",
    "HER2": "ERBB2",
    "HER3": "ERBB3",
    "ERBB1": "EGFR",
    "MLL": "KMT2A",
    "C-KIT": "KIT",
    "C-MET": "MET",
    "PD-L1": "CD274",
    "PDL1": "CD274",
    "BCL-2": "BCL2",
    "BCL-XL": "BCL2L1",
    "BCLXL": "BCL2L1",
    "MDR1": "ABCB1",
    "P-GP": "ABCB1",
    "PGP": "ABCB1",
    "BCRP": "ABCG2",
    "MGEA5": "OGA",
}


def _same_gene(a: str, b: str) -> bool:
    """``ABL`` and ``ABL1`` name the same gene in fusion names (``BCR-ABL``)."""
    a, b = a.upper(), b.upper()
    return a == b or (a.rstrip("0123456789") == b.rstrip("0123456789") and min(len(a), len(b)) > 2)


def _split_fusion(raw: str, gene: str) -> tuple[str, str] | None:
    """(partner, rest) of a fusion notation naming ``gene``, or None if ``raw`` is no fusion."""
    if m := _GENE_FUSION.match(raw):  # "ALK FUSION G1202R"
        if not gene or _same_gene(m.group(1), gene):
            return "", m.group(2)
    m = _FUSION_PAIR.match(raw)
    if not m:
        return None
    five, three, rest = m.group(1), m.group(2), m.group(3) or ""
    if five.isdigit() or three.isdigit() or not (five[0].isalpha() and three[0].isalpha()):
        return None
    from ._kb import gene_symbols  # lazy: _kb imports this module for validation

    known = gene_symbols()
    if f"{five}-{three}".upper() in known:  # a symbol with a hyphen (HLA-A), not a fusion
        return None

    def is_gene(x: str) -> bool:
        x = x.upper()
        return x in known or x in GENE_ALIASES or (bool(gene) and _same_gene(x, gene))

    if not (is_gene(five) and is_gene(three)):
        return None
    five, three = GENE_ALIASES.get(five.upper(), five), GENE_ALIASES.get(three.upper(), three)
    if gene and _same_gene(three, gene):
        return five, rest
    if gene and _same_gene(five, gene):
        return three, rest
    if not gene:
        return five, rest
    return None


def parse_alteration(text: str, *, gene: str = "", kb_entry: bool = False) -> Alteration:
    """Parse an alteration written in protein notation, as a fusion, an exon event or a state.

    Accepts ``p.T790M``, ``T790M``, ``p.Thr790Met``, ``p.(T790M)``, ``E746_A750del``,
    ``L747_P753delinsS``, ``D770_N771insSVD``, ``E23fs``, ``exon 19 deletion`` / ``del19``,
    ``exon 11 mutation``, ``exon 14 skipping``, ``G12/G13``, fusions (``fusion``, ``EML4-ALK``,
    ``BCR::ABL1``), a change within a fusion (``EML4-ALK G1202R``, ``ALK FUSION G1202R``,
    ``BCR-ABL T315I``), ``amplification``, ``overexpression``, ``loss`` / ``loss of
    function``, ``itd`` and other states. A codon without the new residue (``G12``, ``D835``)
    is accepted only in knowledge-base entries (``kb_entry=True``) where it means "any change
    at this codon".

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
    >>> a = parse_alteration("EML4-ALK G1202R", gene="ALK")
    >>> (a.kind, a.start, a.partner, a.in_fusion)
    ('protein_change', 1202, 'EML4', True)
    """
    raw = str(text).strip()
    where = f"{gene} {raw!r}" if gene else repr(raw)
    if not raw or raw.lower() in {"nan", "none", "."}:
        raise InputError(
            f"empty alteration for gene {gene!r}; give a protein change such as p.T790M"
        )
    if raw.lower().startswith(("c.", "g.", "n.", "r.", "chr")):
        fusion = None
    else:
        fusion = _split_fusion(raw, gene)
    if fusion is not None:
        partner, rest = fusion
        rest = rest.strip()
        if not rest or rest.lower() in ("fusion", "fusions") or _BREAKPOINT.fullmatch(rest):
            return Alteration(gene, "fusion", raw, partner=partner)
        inner = parse_alteration(rest, gene=gene, kb_entry=kb_entry)
        if inner.kind == "fusion":
            return Alteration(gene, "fusion", raw, partner=partner or inner.partner)
        return dataclasses.replace(inner, text=raw, partner=partner, in_fusion=True)
    if m := re.fullmatch(r"(?i)fusions?\s+(\S.*)", raw):  # "fusion G1202R" (gene ALK)
        inner = parse_alteration(m.group(1), gene=gene, kb_entry=kb_entry)
        return dataclasses.replace(inner, text=raw, in_fusion=True)
    low = re.sub(r"[\s_]+", " ", raw.lower()).strip()
    if gene and low.startswith(gene.lower() + " "):  # "KRAS mutation", "FLT3 ITD"
        low = low[len(gene) + 1 :]
    elif gene and low.startswith(gene.lower() + "-"):  # "FLT3-ITD"
        low = low[len(gene) + 1 :]
    if low in STATES:
        return Alteration(gene, STATES[low], raw)
    if gene == "EGFR" and low in ("viii", "egfrviii", "vIII".lower()):
        # EGFRvIII: in-frame deletion of exons 2-7 (Gan 2013, FEBS J)
        return Alteration(gene, "exon_deletion", raw, exon=2, exons=tuple(range(2, 8)))
    if re.fullmatch(r"(?:met)?ex ?(\d+) ?skip(?:ping)?(?: mutation)?|metex14", low):
        num = re.search(r"\d+", low)
        exon = int(num.group()) if num else 14
        return Alteration(gene, "exon_skipping", raw, exon=exon, exons=(exon,))
    m = _EXON_EVENT.fullmatch(low)
    m2 = re.fullmatch(r"(del|ins)(?:exon|ex)? ?(\d+)", low)
    if m or m2:
        if m:
            a, b, ev = m.group(1), m.group(2), m.group(3)
            first, last = int(a), int(b or a)
        else:
            assert m2 is not None
            ev, first = m2.group(1), int(m2.group(2))
            last = first
        if last < first:
            raise InputError(f"{where}: exon range {first}-{last} runs backwards")
        kind = {
            "del": "exon_deletion",
            "deletion": "exon_deletion",
            "ins": "exon_insertion",
            "insertion": "exon_insertion",
            "skipping": "exon_skipping",
            "skip": "exon_skipping",
            "skipping mutation": "exon_skipping",
        }.get(ev, "exon_mutation")
        exons = tuple(range(first, last + 1))
        if not kb_entry and gene and kind != "exon_skipping":
            unknown = [e for e in exons if _exon_codons(gene, e) is None]
            if unknown:
                raise InputError(
                    f"{where}: exon {unknown[0]} of {gene} has no codon range in the exon table "
                    "(oncoresist.mechanisms.exon_table()); give the protein change (e.g. "
                    "p.E746_A750del) instead"
                )
        return Alteration(gene, kind, raw, exon=first, exons=exons)
    if re.match(r"^(c\.|g\.|n\.|r\.|chr)", low) or re.search(r"\d[acgt]>[acgt]", low):
        raise InputError(
            f"{where} is nucleotide (cDNA/genomic) notation; give the protein change "
            "(HGVS p. notation, e.g. p.T790M) from your annotation (VEP/ANNOVAR HGVSp column)"
        )
    if re.search(
        r"[,;+ ]|(?<=[A-Za-z*])/(?=[A-Za-z])", raw.removeprefix("p.")
    ) and not _CODONS.match(raw.upper().removeprefix("P.")):
        if kb_entry and re.fullmatch(r"[A-Z]\d+(/[A-Z]\d+)+", raw.upper()):
            pass  # a KB codon list written with residues: "E380/S463/Y537"
        else:
            raise InputError(
                f"{where} holds several variants or free text in one field; give one protein "
                "change per row (e.g. two rows T790M and L858R)"
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
    if _CODONS.match(s1) or (kb_entry and re.fullmatch(r"[A-Z]\d+(/[A-Z]\d+)+", s1)):
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
        "p.E23fs), an exon event ('exon 19 deletion', 'exon 11 mutation', 'exon 14 skipping'), "
        "a fusion ('EML4-ALK', 'BCR-ABL1 T315I') or a state (amplification, overexpression, "
        "underexpression, loss, loss of function, mutation, reversion, fusion, itd)"
    )


#: Genes whose exon table transcript counts more 5' UTR exons than the exon numbers that
#: CIViC and the clinical literature use: conventional exon n is table exon n + shift
#: (CTNNB1 S33-S45: "exon 3", table exon 4; ESR1 Y537/D538: "exon 8", table exon 10).
#: PIK3CA is left as in the table, because CIViC names its hotspots exon 10 and 21 as the
#: table does (older papers: exons 9 and 20).
EXON_NUMBERING_SHIFT: dict[str, int] = {"CTNNB1": 1, "ESR1": 2}


def _exon_codons(gene: str, exon: int) -> tuple[int, int] | None:
    """Codon range of ``exon`` (conventional numbering) of ``gene``, or None when unknown."""
    from ._exons import exon_codon_range  # lazy: the table is read on first use

    rng = exon_codon_range(gene, exon + EXON_NUMBERING_SHIFT.get(gene, 0))
    return rng if rng is not None else EXON_CODONS.get((gene, exon))


def _exon_hit(obs: Alteration, gene: str, exons: tuple[int, ...]) -> int | None:
    """The exon of ``exons`` that the observed change's codon range touches, or None."""
    for e in exons:
        rng = _exon_codons(gene, e)
        if rng is not None and obs.start <= rng[1] and (obs.end or obs.start) >= rng[0]:
            return e
    return None


def _is_change(obs: Alteration) -> bool:
    """A protein-changing variant (a synonymous ``T790T`` or a wild-type call is none)."""
    if obs.kind == "protein_change":
        return obs.ref != obs.alt
    return obs.is_mutation


def match_rule(kb: Alteration, obs: Alteration) -> tuple[int, str] | None:
    """Specificity and description of the rule by which ``obs`` is an instance of ``kb``.

    Returns None when it is not. Specificity follows :data:`SPECIFICITY` (5 exact change ..
    1 any mutation of the gene).

    Examples
    --------
    >>> kb = parse_alteration("exon 11 mutation", gene="KIT", kb_entry=True)
    >>> match_rule(kb, parse_alteration("V560D", gene="KIT"))[0]
    3
    >>> match_rule(kb, parse_alteration("D816V", gene="KIT")) is None
    True
    """
    if kb.gene != obs.gene:
        return None
    k = kb.kind
    if kb.partner and obs.partner and not _same_gene(kb.partner, obs.partner):
        return None  # both name a fusion partner, and they differ
    if k == "protein_change":
        if obs.kind == "protein_change" and obs.start == kb.start and obs.alt == kb.alt:
            return SPECIFICITY["exact change"], f"exact change {kb.ref}{kb.start}{kb.alt}"
        return None
    if k in ("codon", "codons"):
        if (
            obs.kind in ("protein_change", "deletion", "delins", "frameshift")
            and obs.start in kb.codons
            and _is_change(obs)
        ):
            which = "/".join(map(str, kb.codons))
            return SPECIFICITY["codon"], f"any change at codon {which}"
        return None
    if k in ("deletion", "insertion", "delins", "duplication", "frameshift"):
        if obs.kind == k and obs.start == kb.start and obs.end == kb.end and obs.alt == kb.alt:
            return SPECIFICITY["exact change"], f"exact {k} at codons {kb.start}-{kb.end}"
        return None
    if k in ("exon_deletion", "exon_insertion", "exon_mutation"):
        if obs.kind == k and set(obs.exons) & set(kb.exons):
            return SPECIFICITY["exon"], f"{k.replace('_', ' ')} named as exon {obs.exon}"
        allowed = {
            "exon_deletion": ("deletion", "delins"),
            "exon_insertion": ("insertion", "duplication", "delins"),
            "exon_mutation": (
                "protein_change",
                "deletion",
                "insertion",
                "delins",
                "duplication",
                "frameshift",
            ),
        }[k]
        if obs.kind in allowed and _is_change(obs):
            hit = _exon_hit(obs, kb.gene, kb.exons)
            if hit is not None:
                lo, hi = _exon_codons(kb.gene, hit) or (0, 0)
                return (
                    SPECIFICITY["exon"],
                    f"codon {obs.start} lies in exon {hit} (codons {lo}-{hi} of the canonical "
                    "transcript)",
                )
        if k == "exon_mutation" and obs.kind == "exon_skipping" and set(obs.exons) & set(kb.exons):
            return SPECIFICITY["exon"], f"exon {obs.exon} skipping is an exon {obs.exon} event"
        return None
    if k == "exon_skipping":
        if obs.kind == "exon_skipping" and obs.exon == kb.exon:
            return SPECIFICITY["exon"], f"exon {kb.exon} skipping"
        return None
    if k == "fusion":
        if obs.kind == "fusion" or obs.in_fusion:
            if kb.partner and obs.partner:
                return SPECIFICITY["named fusion"], f"{kb.partner}-{kb.gene} fusion"
            return SPECIFICITY["alteration kind"], f"{kb.gene} fusion (any partner)"
        return None
    if k == "itd":
        if obs.kind == "itd":
            return SPECIFICITY["alteration kind"], "internal tandem duplication"
        return None
    if k == "mutation":
        if obs.is_mutation and _is_change(obs):
            return SPECIFICITY[
                "any mutation of the gene"
            ], f"any protein-changing {kb.gene} variant"
        return None
    if k == "loss":
        if obs.kind == "loss":
            return SPECIFICITY["alteration kind"], "loss (deletion / loss of function)"
        if obs.truncating:
            return (
                SPECIFICITY["truncating variant as loss of function"],
                f"truncating variant {obs.text} read as loss of function",
            )
        return None
    if obs.kind == k:
        return SPECIFICITY["alteration kind"], k
    return None


def alteration_matches(kb: Alteration, obs: Alteration) -> bool:
    """True when the observed alteration ``obs`` is an instance of the KB alteration ``kb``.

    Examples
    --------
    >>> kb = parse_alteration("exon 19 deletion", gene="EGFR", kb_entry=True)
    >>> alteration_matches(kb, parse_alteration("p.E746_A750del", gene="EGFR"))
    True
    """
    return match_rule(kb, obs) is not None


def match_alterations(events: pd.DataFrame, kb_alterations: pd.DataFrame) -> pd.DataFrame:
    """Join observed events to KB alterations of the same gene and keep true matches.

    ``events`` needs columns ``gene`` and ``alteration`` (parsed on the fly) plus any
    provenance columns; ``kb_alterations`` is :attr:`KnowledgeBase.alterations` (optionally
    filtered to one drug). Returns the joined rows with ``observed``, ``kb_alteration``,
    ``specificity`` and ``match_rule``.
    """
    extra = ["observed", "kb_alteration", "specificity", "match_rule"]
    if events.empty or kb_alterations.empty:
        return pd.DataFrame(columns=[*kb_alterations.columns, *extra])
    ev = events.rename(columns={"alteration": "observed"})
    kbt = kb_alterations.rename(columns={"alteration": "kb_alteration"})
    j = ev.merge(kbt, on="gene", how="inner", suffixes=("_obs", ""))
    if j.empty:
        return j.assign(specificity=pd.Series(dtype=int), match_rule=pd.Series(dtype=str))
    cache: dict[tuple[str, str, bool], Alteration] = {}

    def parsed(g: str, t: str, kb: bool) -> Alteration:
        key = (g, t, kb)
        if key not in cache:
            cache[key] = parse_alteration(t, gene=g, kb_entry=kb)
        return cache[key]

    rules = [
        match_rule(parsed(g, k, True), parsed(g, o, False))
        for g, k, o in zip(j.gene, j.kb_alteration, j.observed, strict=True)
    ]
    keep = [r is not None for r in rules]
    out = j.loc[keep].reset_index(drop=True)
    out["specificity"] = [r[0] for r in rules if r is not None]
    out["match_rule"] = [r[1] for r in rules if r is not None]
    return out
