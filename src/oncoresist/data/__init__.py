"""Data objects, readers and the dataset registry (``load_*``, ``fetch_*``, ``make_*``)."""

from __future__ import annotations

from ._datasets import available_datasets, dataset_files, fetch_file, mirror_available
from ._screen import CONC_UNITS, ROLES, Screen, to_micromolar

__all__ = [
    "CONC_UNITS",
    "ROLES",
    "Screen",
    "available_datasets",
    "dataset_files",
    "fetch_file",
    "mirror_available",
    "to_micromolar",
]
