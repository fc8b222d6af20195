"""The Broad Drug Repurposing Hub drug annotations, through the dataset layer.

``repurposing_hub`` (release 2020-03-24; Corsello et al. 2017, Nat Med 23:405): 6,798 drugs
with clinical phase, mechanism of action, targets (HGNC symbols), disease area and indication;
2,427 are launched, 2,283 of them outside oncology. The file header restricts the data to
non-commercial research use, so every evidence row built on it carries that licence.
"""

from __future__ import annotations

import functools

import pandas as pd

from ..errors import DataUnavailableError
from ._datasets import MIRROR_FIX, data_file_errors, fetch_file

__all__ = ["REPURPOSING_CITATION", "REPURPOSING_LICENCE", "fetch_repurposing_hub"]

_HUB = "repurposing_hub"
_DRUGS = "repurposing_drugs_20200324.txt"
REPURPOSING_CITATION = "Corsello 2017 Nat Med 23:405 (Drug Repurposing Hub, release 2020-03-24)"
REPURPOSING_LICENCE = "Broad Drug Repurposing Hub: non-commercial research use only"
_COLUMNS = ["pert_iname", "clinical_phase", "moa", "target", "disease_area", "indication"]


def fetch_repurposing_hub(*, download: bool = True) -> pd.DataFrame:
    """Drug Repurposing Hub drugs: one row per drug, targets and disease areas as tuples.

    Columns: ``drug`` (the Hub's ``pert_iname``, lower case), ``clinical_phase``
    (``Launched``, ``Phase 3`` ... ``Preclinical``, ``Withdrawn``), ``launched`` (bool),
    ``moa`` (tuple), ``targets`` (tuple of gene symbols), ``disease_area`` (tuple),
    ``indication`` (tuple), ``oncology`` (``oncology`` is one of the disease areas).
    The Hub separates multiple values with ``|``; empty fields become empty tuples.

    Parameters
    ----------
    download
        Try the official source when the file is in neither the mirror nor the cache.

    Examples
    --------
    >>> hub = fetch_repurposing_hub()  # doctest: +SKIP
    >>> hub.set_index("drug").loc["metformin", "disease_area"]  # doctest: +SKIP
    ('endocrinology',)
    """
    return _load(download).copy()


@functools.cache
def _load(download: bool) -> pd.DataFrame:
    path = fetch_file(_HUB, _DRUGS, download=download)
    with data_file_errors(path):
        raw = pd.read_csv(path, sep="\t", comment="!", dtype=str, keep_default_na=False)
        raw = raw[_COLUMNS]
    if raw.empty or raw.pert_iname.duplicated().any():
        raise DataUnavailableError(f"{path}: empty or duplicated pert_iname values. {MIRROR_FIX}")

    def split(col: str) -> list[tuple[str, ...]]:
        return [tuple(x for x in str(v).split("|") if x.strip()) for v in raw[col]]

    out = pd.DataFrame(
        {
            "drug": raw.pert_iname.str.strip().str.lower(),
            "clinical_phase": raw.clinical_phase.str.strip(),
            "moa": split("moa"),
            "targets": split("target"),
            "disease_area": split("disease_area"),
            "indication": split("indication"),
        }
    )
    out["launched"] = out.clinical_phase.eq("Launched")
    out["oncology"] = [any("oncology" in a for a in areas) for areas in out.disease_area]
    return out.reset_index(drop=True)
