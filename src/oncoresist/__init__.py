"""oncoresist: cancer drug-resistance research in one package.

Subpackages follow the workflow: :mod:`oncoresist.data` (objects, readers, data sets),
:mod:`oncoresist.curves` (dose-response), :mod:`oncoresist.synergy`,
:mod:`oncoresist.biomarkers`, :mod:`oncoresist.predict`, :mod:`oncoresist.mechanisms`,
:mod:`oncoresist.evolution`, :mod:`oncoresist.report` and the command line in
:mod:`oncoresist.cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr
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

if TYPE_CHECKING:
    from ._io import RunManifest, read_run
    from .data import Screen

# imported on first use (PEP 562): `import oncoresist` (and the CLI's start-up) stays light
_LAZY = {"RunManifest": "._io", "read_run": "._io", "Screen": ".data"}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
