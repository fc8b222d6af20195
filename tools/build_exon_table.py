"""Rebuild ``src/oncoresist/mechanisms/kb/exons.tsv``: exon boundaries in codon coordinates.

Usage::

    ONCORESIST_DATA_MIRROR=../shared/data python tools/build_exon_table.py [--wheel PATH]

Sources (coordinate facts only; no code of either is used):

- exon coordinates (GRCh37) of one canonical GENCODE transcript per gene, from the file
  ``spliceai/annotations/grch37.txt`` shipped in the ``spliceai==1.3.1`` wheel (pinned SHA-256
  below; downloaded with ``python -m pip download --no-deps`` when ``--wheel`` is not given).
  Columns ``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``; exon starts are 0-based,
  ends 1-based (half-open). That convention is not assumed: the build fits the CDS offset under
  both and keeps the one every CIViC anchor agrees with (it reports both).
- the reading frame: that file has no CDS start, so it is anchored on CIViC's single-nucleotide
  variants (``civic/nightly-VariantSummaries.tsv`` of the data mirror), each of which gives a
  GRCh37 position, a ``c.`` position on an Ensembl transcript and a ``p.`` codon. The CDS offset
  of a gene is the transcript offset minus the ``c.`` position; every anchor of the gene must
  give the same offset and ``ceil(c / 3)`` must equal CIViC's codon, or the gene is left out.

The file has no CDS end either, so the last exon's coding part is an upper bound (it runs to the
transcript end, through the 3' UTR); such rows have ``end_exact = 0``. Exons wholly before the
CDS start (5' UTR) are kept with empty CDS and codon columns so that exon numbers stay those of
the transcript.

Prints per gene the anchor count and agreement, the excluded genes with the reason, and the
cross-check of CIViC's exon-level variants (e.g. KIT "EXON 11 MUTATION") against the table.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "oncoresist" / "mechanisms" / "kb" / "exons.tsv"
ALTERATIONS = ROOT / "src" / "oncoresist" / "mechanisms" / "kb" / "alterations.yaml"
WHEEL = "spliceai-1.3.1-py2.py3-none-any.whl"
WHEEL_PIN = "spliceai==1.3.1"
WHEEL_SHA256 = "63c633b8de6803d4ffb613e6ef62f1a896fec9fc13245c0f000ff7adea279776"
MEMBER = "spliceai/annotations/grch37.txt"
CIVIC = "civic/nightly-VariantSummaries.tsv"
REQUIRED = (
    "EGFR KIT PDGFRA KRAS NRAS HRAS BRAF PIK3CA ERBB2 MET ALK ABL1 FLT3 NPM1 CALR CTNNB1 IDH1 "
    "IDH2 JAK2 ESR1 AR BTK ROS1 RET FGFR2 FGFR3 TP53 BRCA1 BRCA2 PTEN SMO MAP2K1 ASXL1 SETBP1 "
    "VHL STK11 DNMT3A MPL ERBB3 WT1 NOTCH1 POLE"
).split()
COLUMNS = (
    "gene transcript exon n_exons chrom strand g_start g_end cds_start cds_end "
    "codon_start codon_end end_exact anchors frame_from"
).split()
# c. and g. positions without intronic (+/-) or UTR (-, *) parts; CIViC sometimes drops the
# colon after the transcript ("ENST00000340107.4c.746C>G").
_C = re.compile(r"^(ENST\d+|NM_\d+)(?:\.\d+)?:?c\.(\d+)(?:_(\d+))?([A-Za-z].*)$")
_G = re.compile(r"^NC_\d+\.\d+:g\.(\d+)(?:_(\d+))?([A-Za-z].*)$")
_P_SUB = re.compile(r"^NP_\d+(?:\.\d+)?:p\.\(?[A-Z][a-z]{2}(\d+)(?:[A-Z][a-z]{2}|Ter|\*)\)?$")
# A substitution (Y537S, R248*) or a codon (R882, G12) as the last word of a CIViC name.
_NAME_SUB = re.compile(r"^[A-Z](\d+)([A-Z*])?$")


@dataclass(frozen=True)
class Transcript:
    """One canonical transcript: exons as 1-based inclusive (start, end), transcription order."""

    gene: str
    chrom: str
    strand: str
    exons: tuple[tuple[int, int], ...]

    def offset(self, pos: int) -> int | None:
        """1-based position of genomic ``pos`` in the spliced transcript, None if intronic."""
        done = 0
        for s, e in self.exons:
            if s <= pos <= e:
                return done + (pos - s + 1 if self.strand == "+" else e - pos + 1)
            done += e - s + 1
        return None

    def exon_of(self, pos: int) -> int | None:
        for i, (s, e) in enumerate(self.exons, 1):
            if s <= pos <= e:
                return i
        return None


@dataclass(frozen=True)
class Anchor:
    """A CIViC variant with a GRCh37 range and a c. start and/or a codon.

    ``first`` is the genomic base the variant starts at in transcription order (``start`` on
    the + strand, ``stop`` on the - strand). ``c`` is CIViC's c. position of that base on
    ``transcript`` (None when CIViC gives no c.); ``codon`` the protein position of a
    substitution or codon-level variant (from the variant name, else its p. expression);
    ``whole_codon``: the range is exactly that codon (e.g. DNMT3A R882). ``transcript`` is
    that of the c. expression, else CIViC's representative transcript. ``indel``: a deletion,
    duplication or insertion, whose position depends on how CIViC shifted it, so it anchors a
    gene only when the gene has no substitution.
    """

    variant_id: str
    name: str
    start: int
    stop: int
    c: int | None
    codon: int | None
    transcript: str
    indel: bool = False
    whole_codon: bool = False

    def first(self, strand: str) -> int:
        return self.start if strand == "+" else self.stop

    def is_snv(self) -> bool:
        return self.start == self.stop and self.c is not None and self.codon is not None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(path: str | None, workdir: Path) -> Path:
    if path is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_PIN, "-d", workdir]
        subprocess.run([str(c) for c in cmd], check=True)
        wheel = workdir / WHEEL
    else:
        wheel = Path(path)
    got = sha256(wheel)
    if got != WHEEL_SHA256:
        sys.exit(f"{wheel}: SHA-256 {got} is not the pinned {WHEEL_SHA256}")
    return wheel


def read_annotation(wheel: Path, *, start_base: int) -> tuple[dict[str, Transcript], list[str]]:
    """Transcripts by gene; ``start_base`` is the base of EXON_START (0: half-open)."""
    text = zipfile.ZipFile(wheel).read(MEMBER).decode("ascii")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    names = Counter(r[0] for r in rows[1:])
    dup = sorted(n for n, k in names.items() if k > 1)
    out: dict[str, Transcript] = {}
    for name, chrom, strand, _tx0, _tx1, starts, ends in rows[1:]:
        if names[name] > 1:
            continue
        ex = [
            (int(s) + 1 - start_base, int(e))
            for s, e in zip(starts.rstrip(",").split(","), ends.rstrip(",").split(","), strict=True)
        ]
        ex.sort(reverse=strand == "-")
        out[name] = Transcript(name, chrom, strand, tuple(ex))
    return out, dup


def read_civic(path: Path) -> tuple[list[dict[str, str]], int]:
    """CIViC variant rows; returns (rows, rows with extra tab-separated fields).

    The file is not quoted; a few rows carry more fields than the header, all of them extra
    assertion URLs at the end, so they are joined back into the last column (and counted).
    """
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        rows, extra = [], 0
        for row in reader:
            if len(row) > len(header):
                extra += 1
                row = [*row[: len(header) - 1], "\t".join(row[len(header) - 1 :])]
            row += [""] * (len(header) - len(row))
            rows.append(dict(zip(header, row, strict=True)))
    return rows, extra


def _tx_id(s: str) -> str:
    """Transcript id without version; CIViC has a few with an extra 0 (ENST000000267101)."""
    s = s.split(".")[0]
    return f"ENST{int(s[4:]):011d}" if s.startswith("ENST") else s


def _suffix_kind(s: str) -> str:
    return ">" if ">" in s else re.sub(r"[^a-z].*", "", s)


def anchor_of(r: dict[str, str]) -> tuple[Anchor | None, str]:
    """An anchor from one CIViC variant row, or None and the reason it is not one."""
    if r["reference_build"] != "GRCh37" or not r["start"] or not r["stop"]:
        return None, ""
    lo, hi = int(r["start"]), int(r["stop"])
    if hi - lo > 30:  # genes, exons, fusions: not a position
        return None, ""
    hg = [h.strip() for h in r["hgvs_expressions"].split(",")]
    m = _NAME_SUB.match(r["variant"].split()[-1].upper())
    codon = int(m[1]) if m else None
    whole = bool(m and not m[2] and hi - lo == 2)
    if codon is None:
        ps = {int(p[1]) for h in hg if (p := _P_SUB.match(h))}
        codon = ps.pop() if len(ps) == 1 else None
    gs = [g for h in hg if (g := _G.match(h))]
    cs = [c for h in hg if (c := _C.match(h))]
    rep = _tx_id(r["representative_transcript"])
    cs.sort(key=lambda c: (c[1] != rep, not c[1].startswith("ENST")))
    if cs and gs:
        g, c = gs[0], cs[0]
        g_lo, g_hi = int(g[1]), int(g[2] or g[1])
        c_lo, c_hi = int(c[2]), int(c[3] or c[2])
        kind = _suffix_kind(g[3])
        if kind != _suffix_kind(c[4]) or g_hi - g_lo != c_hi - c_lo:
            return None, "g. and c. expressions of different kind or length"
        indel = kind not in (">", "delins")
        if not indel and codon is not None:
            first = c_lo if g_lo == g_hi or whole else None
            if first is not None and -(-first // 3) != codon:
                # CIViC's own c. and protein position disagree (often two isoforms mixed)
                return None, "CIViC c. and protein position disagree"
        if indel or g_lo != g_hi:
            codon = None  # keep only the c. start of a multi-base or length-changing change
        tx = _tx_id(c[1])
        return Anchor(r["variant_id"], r["variant"], g_lo, g_hi, c_lo, codon, tx, indel), ""
    single = lo == hi and len(r["reference_bases"]) == 1 and len(r["variant_bases"]) == 1
    if codon is not None and (single or (whole and hi - lo == 2)):
        return Anchor(
            r["variant_id"], r["variant"], lo, hi, None, codon, rep, whole_codon=whole
        ), ""
    return None, "no c. position, and not a single-base or whole-codon change with a codon"


def anchors_of(rows: list[dict[str, str]]) -> tuple[dict[str, list[Anchor]], Counter[str]]:
    """CIViC variants usable as frame anchors, by gene; and why other short ones are not."""
    out: dict[str, list[Anchor]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    for r in rows:
        a, why = anchor_of(r)
        if a is not None:
            out[r["gene"]].append(a)
        elif why:
            skipped[why] += 1
    return out, skipped


def candidates(tx: Transcript, a: Anchor) -> set[int] | None:
    """CDS offsets (transcript offset of c.1, minus 1) this anchor allows; None if intronic."""
    t = tx.offset(a.first(tx.strand))
    if t is None or tx.offset(a.start) is None or tx.offset(a.stop) is None:
        return None
    if a.c is not None:
        return {t - a.c}
    assert a.codon is not None
    if a.whole_codon:
        return {t - (3 * a.codon - 2)}
    return {t - 3 * a.codon + k for k in range(3)}


@dataclass
class Fit:
    offset: int | None
    transcript: str
    agree: list[Anchor]
    disagree: list[Anchor]
    other_transcript: list[Anchor]
    intronic: list[Anchor]
    reason: str
    indel_only: bool


def fit_offset(tx: Transcript, anchors: list[Anchor]) -> Fit:
    """The CDS offset allowed by the most anchors; anchors with c. on another transcript apart."""
    subs = [a for a in anchors if not a.indel]
    indel_only = not subs
    anchors = subs or anchors
    by_tx = Counter(a.transcript for a in anchors if a.c is not None)
    by_tx = by_tx or Counter(a.transcript for a in anchors)
    main = by_tx.most_common(1)[0][0] if by_tx else ""
    # a codon-only anchor without a representative transcript uses the gene's usual numbering
    use = [a for a in anchors if a.transcript in (main, "")]
    other = [a for a in anchors if a.transcript not in (main, "")]
    cand = [(a, s) for a in use if (s := candidates(tx, a)) is not None]
    intronic = [a for a in use if candidates(tx, a) is None]
    if not cand:
        return Fit(None, main, [], [], other, intronic, "no CIViC anchor inside the exons", False)
    votes = Counter(o for _, s in cand for o in s)
    top = votes.most_common()
    best, n_best = top[0]
    if len(top) > 1 and top[1][1] == n_best:
        tied = sorted(o for o, k in top if k == n_best)
        why = f"no single CDS offset: anchors allow {tied} equally"
        return Fit(None, main, [], [], other, intronic, why, indel_only)
    agree = [a for a, s in cand if best in s]
    disagree = [a for a, s in cand if best not in s]
    return Fit(best, main, agree, disagree, other, intronic, "", indel_only)


def exon_names(name: str) -> tuple[int, ...]:
    """Exon numbers named in a CIViC variant name ('EXON 1-3 DELETION' -> (1, 2, 3))."""
    nums: list[int] = []
    for m in re.finditer(r"exons?\s+(\d+)(?:\s*-\s*(\d+))?((?:\s*(?:&|and|,)\s*(?:exon\s+)?\d+)*)",
                         name, re.IGNORECASE):  # fmt: skip
        lo = int(m[1])
        hi = int(m[2]) if m[2] else lo
        nums += range(lo, hi + 1)
        nums += [int(x) for x in re.findall(r"\d+", m[3] or "")]
    return tuple(sorted(set(nums)))


def rows_for(
    tx: Transcript, off: int, transcript_id: str, *, anchors: int, frame: str
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    done = 0
    n = len(tx.exons)
    for i, (s, e) in enumerate(tx.exons, 1):
        a, b = done + 1, done + e - s + 1
        done = b
        row: dict[str, object] = dict(
            gene=tx.gene, transcript=transcript_id, exon=i, n_exons=n, chrom=tx.chrom,
            strand=tx.strand, g_start=s, g_end=e, cds_start="", cds_end="", codon_start="",
            codon_end="", end_exact=1, anchors=anchors, frame_from=frame,
        )  # fmt: skip
        cs, ce = max(a - off, 1), b - off
        if ce >= 1:
            last = i == n
            row.update(
                cds_start=cs, cds_end=ce, codon_start=-(-cs // 3), codon_end=-(-ce // 3),
                end_exact=0 if last else 1,
            )  # fmt: skip
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help=f"path to {WHEEL} (default: pip download it)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    mirror = os.environ.get("ONCORESIST_DATA_MIRROR")
    if not mirror or not (Path(mirror) / CIVIC).is_file():
        sys.exit(f"set ONCORESIST_DATA_MIRROR to a data mirror holding {CIVIC}")
    civic_path = Path(mirror) / CIVIC

    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(args.wheel, Path(tmp))
        ann, dup = read_annotation(wheel, start_base=0)
        ann1, _ = read_annotation(wheel, start_base=1)
    rows, extra = read_civic(civic_path)
    anchors, skipped = anchors_of(rows)
    print(f"annotation: {len(ann)} genes ({len(dup)} names on several rows, left out)")
    print(f"CIViC: {len(rows)} variants, {extra} rows with extra fields re-joined")
    print(f"CIViC anchors: {sum(map(len, anchors.values()))} in {len(anchors)} genes;")
    for why, k in sorted(skipped.items()):
        print(f"  not used as anchor: {k} ({why})")

    exon_vars = [r for r in rows if "exon" in r["variant"].lower()]
    items = yaml.safe_load(ALTERATIONS.read_text())["alterations"]
    curated = {a["gene"] for a in items if isinstance(a, dict) and "gene" in a}
    genes = sorted(set(REQUIRED) | curated | {r["gene"] for r in exon_vars} | set(anchors))

    table: list[dict[str, object]] = []
    excluded: dict[str, str] = {}
    n_agree = n_total = n_snv = n_other = 0
    n_agree_1 = n_total_1 = 0
    print("\ngene\tanchors\tagree\tSNVs\tintronic\tother transcript\ttranscript")
    for g in genes:
        tx = ann.get(g)
        if tx is None:
            excluded[g] = "not in the annotation file" + (" (several rows)" if g in dup else "")
            continue
        fit = fit_offset(tx, anchors.get(g, []))
        if g in ann1:
            fit1 = fit_offset(ann1[g], anchors.get(g, []))
            n_agree_1 += len(fit1.agree)
            n_total_1 += len(fit1.agree) + len(fit1.disagree)
        if fit.offset is None:
            excluded[g] = fit.reason
            continue
        n = len(fit.agree) + len(fit.disagree)
        n_total += n
        n_agree += len(fit.agree)
        n_snv += sum(a.is_snv() for a in fit.agree)
        n_other += len(fit.other_transcript)
        others = ",".join(
            f"{a.name}@{a.transcript}:{'agrees' if fit.offset in (candidates(tx, a) or ()) else 'differs'}"
            for a in fit.other_transcript
        )
        print(
            f"{g}\t{n}\t{len(fit.agree)}\t{sum(a.is_snv() for a in fit.agree)}\t"
            f"{','.join(a.name for a in fit.intronic)}\t{others}\t{fit.transcript}{' (indels only)' * fit.indel_only}"
        )
        if fit.disagree:
            bad = ", ".join(a.name for a in fit.disagree)
            excluded[g] = f"{len(fit.disagree)} of {n} CIViC anchors disagree ({bad})"
            continue
        if fit.offset < 0:
            excluded[g] = (
                f"the fitted frame puts c.1 {-fit.offset} bases before the transcript start:"
                " CIViC's numbering is of another isoform"
            )
            continue
        if fit.indel_only:
            frame = "indel"
        elif any(a.c is not None for a in fit.agree):
            frame = "c"
        else:
            frame = "codon"
        table += rows_for(tx, fit.offset, fit.transcript, anchors=len(fit.agree), frame=frame)

    kept = sorted({str(r["gene"]) for r in table})
    kept_anchors = sum(int(str(r["anchors"])) for r in table if r["exon"] == 1)
    print(f"\nkept {len(kept)} genes, {len(table)} exon rows")
    print(
        f"anchor agreement: {n_agree} of {n_total} CIViC anchors ({n_snv} of them SNVs with a"
        f" codon) with 0-based exon starts; {n_other} anchors on another transcript set apart"
    )
    print(f"anchor agreement if exon starts were 1-based: {n_agree_1} of {n_total_1}")
    print(f"excluded {len(excluded)} genes:")
    for g, why in sorted(excluded.items()):
        print(f"  {g}: {why}")

    print("\nCIViC exon-level variants with coordinates:")
    by_gene = defaultdict(list)
    for r in table:
        by_gene[r["gene"]].append(r)
    for r in exon_vars:
        named = exon_names(r["variant"])
        if not r["start"] or r["gene"] not in by_gene:
            print(f"  {r['gene']} {r['variant']}: no coordinates or gene not in table")
            continue
        lo, hi = int(r["start"]), int(r["stop"])
        hit = tuple(
            int(e["exon"])  # type: ignore[call-overload]
            for e in by_gene[r["gene"]]
            if int(e["g_start"]) <= hi and lo <= int(e["g_end"])  # type: ignore[call-overload]
        )
        ours = str(by_gene[r["gene"]][0]["transcript"])
        same_tx = r["representative_transcript"].split(".")[0] == ours
        print(
            f"  {r['gene']} {r['variant']} {lo}-{hi} [{r['representative_transcript']}]:"
            f" named {named}, overlaps {hit}{'' if same_tx else f' (table: {ours})'}"
        )

    header = [
        "# Canonical-transcript exon boundaries in CDS and codon coordinates (GRCh37).",
        f"# Built by tools/build_exon_table.py on {dt.date.today().isoformat()}.",
        f"# Exons: {MEMBER} of the wheel {WHEEL}",
        f"#   (sha256 {WHEEL_SHA256}),",
        "#   GENCODE canonical transcripts (GENCODE V24lift37 per the package's README); only the",
        "#   coordinate facts are used. Exon starts are 0-based there, ends 1-based; here g_start,",
        "#   g_end are 1-based inclusive. Exons are numbered 1..n_exons in transcription order.",
        f"# Reading frame: one CDS offset per gene fitted to CIViC's short variants in {CIVIC}",
        "#   (nightly summaries, Feb 2021): GRCh37 position -> c. position of substitutions, else",
        "#   the codon of single-base or whole-codon changes, else (NPM1 and a few) indels.",
        f"#   Every anchor of each kept gene agrees ({kept_anchors} of {kept_anchors}, {len(kept)} genes);",
        f"#   {n_other} anchors whose c. is on another transcript were set apart, not counted.",
        "#   transcript: the id of those anchors' c. notation (else CIViC's representative",
        "#   transcript), whose CDS the exons reproduce; the source file names no transcript.",
        "# cds_start/cds_end: c. coordinates of the coding part; codon_start/codon_end: codons it",
        "#   touches (a codon split by a junction belongs to both exons). Exons wholly in the 5' UTR",
        "#   have empty CDS/codon columns. The source has no CDS end: the last exon's cds_end and",
        "#   codon_end (end_exact = 0) run to the transcript end, an upper bound through the 3' UTR.",
        "# Exon numbers count every exon of the source transcript, 5' UTR-only ones included;",
        "#   some differ from the literature's or CIViC's (checked in tests/test_exons.py):",
        "#   PIK3CA E542/E545 exon 10, H1047 exon 21 ('exon 9' and 'exon 20' in older papers);",
        "#   ESR1 Y537/D538 exon 10 ('exon 8': two 5' UTR exons precede the CDS here);",
        "#   CTNNB1 S33-S45 exon 4 (CIViC's 'Exon 3' of ENST00000349496: the source transcript has",
        "#   one more 5' UTR exon, same CDS); NPM1 W288fs exon 12 (as on CIViC's ENST00000517671;",
        "#   papers on ENST00000296930 say exon 11, not checked here); MET D1010's codon spans",
        "#   exons 14 and 15 (its first base ends exon 14).",
        "# frame_from: 'c' = c. positions of CIViC substitutions; 'codon' = codons only (CIViC",
        "#   representative transcript); 'indel' = an insertion/deletion alone (NPM1 and a few).",
        "# Genes left out (no anchor, no single frame, another isoform; the build prints why):",
        *textwrap.wrap(
            ", ".join(sorted(excluded)), 92, initial_indent="#   ", subsequent_indent="#   "
        ),
    ]
    with open(args.out, "w", newline="") as f:
        f.write("\n".join(header) + "\n")
        w = csv.DictWriter(f, COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
