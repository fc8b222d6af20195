"""Executors: how chunks of curves are mapped over workers, kept apart from the maths.

An executor is anything with ``map(func, chunks) -> iterable of results`` in the order of
``chunks`` (the :class:`Executor` protocol). The Dask backend
(:class:`oncoresist.scale.DaskExecutor`, ``executor="dask"``) provides just that method; the
fitting code does not change.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from ..errors import InputError

__all__ = [
    "EXECUTORS",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "ThreadExecutor",
    "resolve_executor",
]


@runtime_checkable
class Executor(Protocol):
    """Maps ``func`` over ``chunks``; results come back in the order of ``chunks``."""

    def __init__(self) -> None:
        """Executors hold their own settings (e.g. ``max_workers``); the protocol has none."""

    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterable[Any]:
        """Apply ``func`` to every chunk; results in the order of ``chunks``."""
        ...


class SerialExecutor:
    """Runs the chunks one after the other in this process (the default)."""

    def __init__(self) -> None:
        """No settings: chunks run in order in the calling thread."""

    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[Any]:
        """Apply ``func`` to every chunk lazily, in order."""
        return map(func, chunks)


class ThreadExecutor:
    """A ``concurrent.futures`` thread pool (numpy and the compiled engine release the GIL)."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers

    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[Any]:
        """Apply ``func`` to the chunks on a thread pool; results in the order of ``chunks``."""
        with cf.ThreadPoolExecutor(self.max_workers) as pool:
            yield from pool.map(func, chunks)


class ProcessExecutor:
    """A ``concurrent.futures`` process pool (chunks and results are pickled)."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers

    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[Any]:
        """Apply ``func`` (picklable) to the chunks in worker processes, results in order."""
        with cf.ProcessPoolExecutor(self.max_workers) as pool:
            yield from pool.map(func, chunks)


EXECUTORS = ("serial", "threads", "processes", "dask")


def resolve_executor(executor: str | Executor | None, *, scheduler: str | None = None) -> Executor:
    """``None``/``"serial"``, ``"threads"``, ``"processes"``, ``"dask"`` or an object with ``map``.

    ``"dask"`` is an :class:`oncoresist.scale.DaskExecutor` (the ``dask`` extra) connected to
    ``scheduler`` (an address such as ``tcp://host:8786``), or on a local cluster when None.
    """
    if scheduler is not None and executor != "dask":
        raise InputError(
            f"a scheduler address ({scheduler!r}) is only used by executor='dask' "
            f"(got executor={executor!r}); add --executor dask or leave --scheduler out"
        )
    if executor is None or executor == "serial":
        return SerialExecutor()
    if executor == "threads":
        return ThreadExecutor()
    if executor == "processes":
        return ProcessExecutor()
    if executor == "dask":
        # lazy: dask is an optional extra, imported only when asked for
        from ..scale._dask import DaskExecutor

        return DaskExecutor(scheduler=scheduler)
    if isinstance(executor, Executor):
        return executor
    raise InputError(
        f"executor={executor!r} is not supported; use 'serial', 'threads', 'processes', 'dask' "
        "or an object with a map(func, chunks) method"
    )


@contextlib.contextmanager
def executor_scope(
    executor: str | Executor | None, *, scheduler: str | None = None
) -> Iterator[Executor]:
    """:func:`resolve_executor`, held open for a block of several ``map`` calls.

    An executor that is a context manager (a :class:`oncoresist.scale.DaskExecutor` starts its
    local cluster or connection there) is entered once for the block, so the calls share it.
    """
    ex = resolve_executor(executor, scheduler=scheduler)
    if isinstance(ex, contextlib.AbstractContextManager):
        with ex:
            yield ex
    else:
        yield ex
