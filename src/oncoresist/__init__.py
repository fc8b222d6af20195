"""oncoresist: cancer drug-resistance research in one package.

Subpackages follow the workflow: :mod:`oncoresist.data` (objects, readers, data sets),
:mod:`oncoresist.curves` (dose-response), :mod:`oncoresist.synergy`,
:mod:`oncoresist.biomarkers`, :mod:`oncoresist.predict`, :mod:`oncoresist.mechanisms`,
:mod:`oncoresist.evolution`, :mod:`oncoresist.report` and the command line in
:mod:`oncoresist.cli`.
"""

from __future__ import annotations

from ._io import RunManifest, read_run
from .data import Screen
from .errors import (
    DataUnavailableError,
    FitError,
    IncompleteRunError,
    InputError,
    OncoresistError,
    OutputError,
    SchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "DataUnavailableError",
    "FitError",
    "IncompleteRunError",
    "InputError",
    "OncoresistError",
    "OutputError",
    "RunManifest",
    "SchemaError",
    "Screen",
    "__version__",
    "read_run",
]
