"""oncoresist: cancer drug-resistance research in one package.

Subpackages follow the workflow: :mod:`oncoresist.data` (objects, readers, data sets),
:mod:`oncoresist.curves` (dose-response), :mod:`oncoresist.synergy`,
:mod:`oncoresist.biomarkers`, :mod:`oncoresist.predict`, :mod:`oncoresist.mechanisms`,
:mod:`oncoresist.evolution`, :mod:`oncoresist.report` and the command line in
:mod:`oncoresist.cli`.
"""

from __future__ import annotations

from .data import Screen
from .errors import DataUnavailableError, FitError, InputError, OncoresistError, SchemaError

__version__ = "0.1.0"

__all__ = [
    "DataUnavailableError",
    "FitError",
    "InputError",
    "OncoresistError",
    "SchemaError",
    "Screen",
    "__version__",
]
