"""Exception hierarchy of oncoresist.

::

    OncoresistError                 base of everything raised on purpose
    ├── InputError(ValueError)      bad user input: file, row, column and the fix are named
    │   └── SchemaError             a table misses columns or has wrong types
    ├── OutputError                 an output cannot be written (read-only folder, full disk,
    │   │                           it would replace an input)
    │   └── IncompleteRunError      an output folder holds an interrupted or altered run
    ├── ExecutorError               a distributed run failed (scheduler unreachable, a worker
    │                               lost past its retries); nothing was half-written
    ├── FitError                    a model could not be fitted where a status row is impossible
    └── DataUnavailableError        a data set is neither in the mirror, the cache nor downloadable

Failed curve fits are *not* exceptions: they are result rows with ``status`` and ``reason``.
"""

from __future__ import annotations

__all__ = [
    "DataUnavailableError",
    "ExecutorError",
    "FitError",
    "IncompleteRunError",
    "InputError",
    "OncoresistError",
    "OutputError",
    "SchemaError",
]


class OncoresistError(Exception):
    """Base class of all errors raised by oncoresist on purpose."""


class InputError(OncoresistError, ValueError):
    """Invalid user input. The message names where (file, row, column) and how to fix it."""


class SchemaError(InputError):
    """A table is missing required columns or has columns of the wrong type."""


class OutputError(OncoresistError):
    """An output cannot be written; nothing was half-written. The message says how to fix it."""


class IncompleteRunError(OutputError):
    """An output folder holds an interrupted run, or files changed since the run wrote them."""


class ExecutorError(OncoresistError):
    """A parallel backend failed: its scheduler cannot be reached or a task lost its workers."""


class FitError(OncoresistError):
    """A model fit failed in a way that cannot be reported as a status row."""


class DataUnavailableError(OncoresistError):
    """A data set is not in the local mirror or cache and cannot be downloaded."""
