"""Options of one command-line call that every output folder follows (light to import: the
command line sets them before it knows which command runs).

``excel_tables(True)`` (``oncoresist --excel``) makes every run folder written through
:func:`oncoresist._io.output_run` also hold ``tables.xlsx``, one sheet per table.
"""

from __future__ import annotations

import contextvars

__all__ = ["excel_tables", "excel_wanted"]

_EXCEL: contextvars.ContextVar[bool] = contextvars.ContextVar("oncoresist_excel", default=False)


def excel_tables(enabled: bool) -> contextvars.Token[bool]:
    """Whether run folders also get ``tables.xlsx`` (the CLI's ``--excel``); returns the token
    that :func:`reset` takes."""
    return _EXCEL.set(bool(enabled))


def excel_wanted() -> bool:
    """True when ``tables.xlsx`` is to be written beside a run's tables."""
    return _EXCEL.get()


def reset(token: contextvars.Token[bool]) -> None:
    """Undo :func:`excel_tables` (the command line does it after each call)."""
    _EXCEL.reset(token)
