"""The ``--executor`` and ``--scheduler`` options shared by the batch commands of the CLI."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import InputError

__all__ = ["check_executor", "opt_executor", "opt_scheduler"]

_CHOICES = ("serial", "threads", "processes", "dask")


def opt_executor() -> Any:
    """``--executor``: where the chunks run (default: the command's own, in this process)."""
    return typer.Option(
        None,
        "--executor",
        help="where the batches run: serial, threads, processes or dask (a Dask cluster: "
        "--scheduler ADDRESS, or a local one without it); results are the same",
    )


def opt_scheduler() -> Any:
    """``--scheduler``: the address of a running Dask scheduler."""
    return typer.Option(
        None,
        "--scheduler",
        help="address of a running Dask scheduler (tcp://host:8786) for --executor dask; "
        "see docs/deploy-dask.md",
    )


def check_executor(executor: str | None, scheduler: str | None) -> str | None:
    """Validate the two options before any work; ``--scheduler`` alone implies dask."""
    if executor is None and scheduler is not None:
        executor = "dask"
    if executor is not None and executor not in _CHOICES:
        raise InputError(f"--executor {executor!r}: use one of {', '.join(_CHOICES)}")
    if scheduler is not None and executor != "dask":
        raise InputError(
            f"--scheduler {scheduler} needs --executor dask (got --executor {executor}); "
            "add --executor dask or leave --scheduler out"
        )
    return executor
