"""Exon boundaries of canonical transcripts in codon (protein) coordinates.

Knowledge-base items name exons ("KIT exon 11 mutation", "EGFR exon 19 deletion") while
observed variants name codons (KIT D816V, EGFR E746_A750del). This module answers which exon a
codon lies in, from the shipped table ``kb/exons.tsv``: GENCODE canonical transcripts (GRCh37)
whose reading frame is anchored on CIViC's variants. ``tools/build_exon_table.py`` rebuilds it
and states the provenance and the agreement figures in the table's header.

Exon numbers are those of the table's transcript, counted in transcription order including
exons that hold only 5' UTR; older papers sometimes count differently (PIK3CA E545 is in exon
10 here, "exon 9" in papers; ESR1 Y537 in exon 10, "exon 8"; CTNNB1 S33/S37/T41/S45 in exon
4, CIViC's and the literature's "exon 3"). A codon split by an exon junction belongs to both
exons. The source has no CDS end: the last exon's codon range runs to the transcript end.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["exon_codon_range", "exon_genes", "exon_table", "exons_of", "transcript_of"]

_DTYPES = {
    "gene": "string",
    "transcript": "string",
    "exon": "int64",
    "n_exons": "int64",
    "chrom": "string",
    "strand": "string",
    "g_start": "int64",
    "g_end": "int64",
    "cds_start": "Int64",
    "cds_end": "Int64",
    "codon_start": "Int64",
    "codon_end": "Int64",
    "end_exact": "int64",
    "anchors": "int64",
    "frame_from": "string",
}


@dataclass(frozen=True)
class _Gene:
    """Coding exons of one gene as arrays, for fast look-ups."""

    transcript: str
    exon: np.ndarray  # exon numbers of coding exons, ascending
    first: np.ndarray  # first codon of each
    last: np.ndarray  # last codon of each
    ranges: dict[int, tuple[int, int]]


@functools.cache
def _table() -> pd.DataFrame:
    text = resources.files("oncoresist.mechanisms").joinpath("kb/exons.tsv").read_text("utf-8")
    return pd.read_csv(io.StringIO(text), sep="\t", comment="#", dtype=_DTYPES)  # type: ignore[arg-type]


@functools.cache
def _genes() -> dict[str, _Gene]:
    out: dict[str, _Gene] = {}
    df = _table()
    for gene, d in df.groupby("gene", sort=False):
        coding = d[d.codon_start.notna()].sort_values("exon")
        exon = coding.exon.to_numpy(dtype=np.int64)
        first = coding.codon_start.to_numpy(dtype=np.int64)
        last = coding.codon_end.to_numpy(dtype=np.int64)
        ranges = {int(e): (int(a), int(b)) for e, a, b in zip(exon, first, last, strict=True)}
        out[str(gene)] = _Gene(str(d.transcript.iloc[0]), exon, first, last, ranges)
    return out


def _gene(gene: str) -> _Gene | None:
    genes = _genes()
    return genes.get(gene) or genes.get(str(gene).upper())


def exon_table() -> pd.DataFrame:
    """The shipped exon table: one row per gene and exon of its canonical transcript.

    Columns: ``gene, transcript, exon, n_exons, chrom, strand, g_start, g_end`` (GRCh37,
    1-based inclusive), ``cds_start, cds_end`` (c. coordinates of the coding part),
    ``codon_start, codon_end`` (codons it touches; empty for exons wholly in the 5' UTR),
    ``end_exact`` (0 for the last exon, whose coding end is only an upper bound), ``anchors``
    (CIViC variants the reading frame was fitted to) and ``frame_from`` (``c``: c. positions
    of substitutions, ``codon``: codons only, ``indel``: an insertion or deletion alone).

    Returns
    -------
    pandas.DataFrame
        A copy; the file is read once.

    Examples
    --------
    >>> t = exon_table()
    >>> t.query("gene == 'KIT' and exon == 11")[["codon_start", "codon_end"]].to_numpy().tolist()
    [[550, 592]]
    """
    return _table().copy()


def exon_genes() -> frozenset[str]:
    """Genes the exon table covers.

    Examples
    --------
    >>> {"EGFR", "KIT", "PIK3CA"} <= exon_genes()
    True
    """
    return frozenset(_genes())


def transcript_of(gene: str) -> str | None:
    """Ensembl transcript whose CDS the table's exons reproduce, or None for an unknown gene.

    It is the transcript of the CIViC c. notation the reading frame was fitted to; its
    untranslated exons may differ from the table's (see the module notes).

    Examples
    --------
    >>> transcript_of("EGFR")
    'ENST00000275493'
    >>> transcript_of("NOT_A_GENE") is None
    True
    """
    g = _gene(gene)
    return None if g is None else g.transcript


def exon_codon_range(gene: str, exon: int) -> tuple[int, int] | None:
    """First and last codon of a coding exon, or None (unknown gene, exon or UTR-only exon).

    Parameters
    ----------
    gene
        HGNC symbol, e.g. ``"EGFR"``.
    exon
        Exon number on the table's transcript.

    Examples
    --------
    >>> exon_codon_range("EGFR", 19)
    (729, 761)
    >>> exon_codon_range("EGFR", 99) is None
    True
    """
    g = _gene(gene)
    return None if g is None else g.ranges.get(int(exon))


def exons_of(gene: str, start: int, end: int | None = None) -> tuple[int, ...]:
    """Exons that a codon, or the codon range ``start..end``, touches.

    Parameters
    ----------
    gene
        HGNC symbol.
    start, end
        First and last codon (inclusive); ``end`` defaults to ``start``.

    Returns
    -------
    tuple of int
        Exon numbers in ascending order: two for a codon split by a junction, empty for an
        unknown gene or a range wholly outside the coding exons.

    Raises
    ------
    InputError
        If ``end`` is before ``start``.

    Examples
    --------
    >>> exons_of("KIT", 816)
    (17,)
    >>> exons_of("EGFR", 746, 750)
    (19,)
    >>> exons_of("EGFR", 761, 762)
    (19, 20)
    >>> exons_of("UNKNOWN", 12)
    ()
    """
    last = start if end is None else end
    if last < start:
        raise InputError(f"codon range {start}..{last} of {gene}: end is before start")
    g = _gene(gene)
    if g is None:
        return ()
    hit = (g.first <= last) & (g.last >= start)
    return tuple(int(e) for e in g.exon[hit])
