"""The Dask executor: chunks go to a ``distributed`` cluster, results come back in order.

It implements the :class:`oncoresist.curves.Executor` protocol with ``client.submit`` and
``Future.result``, so every batch computation that takes ``executor=`` runs on a Dask cluster
unchanged. With no address a :class:`distributed.LocalCluster` is started (and closed when the
run, or the ``with`` block, ends); with an address the executor connects to that scheduler, which
may sit anywhere (a SLURM allocation through dask-jobqueue, a Kubernetes deployment: see
``docs/deploy-dask.md``).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from ..errors import ExecutorError, InputError

__all__ = ["DaskExecutor", "require_distributed"]

_INSTALL = "pip install 'oncoresist[dask]'"
# chunks above this size travel to a worker with ``client.scatter`` rather than inside the
# task (a large task makes the scheduler warn and holds the data in its own memory)
_SCATTER_BYTES = 1_000_000


def require_distributed() -> Any:
    """Import ``distributed`` or say how to install it (an :class:`InputError`)."""
    try:
        import distributed
    except ImportError as exc:
        raise InputError(
            f"executor='dask' needs dask.distributed: {_INSTALL} (or pip install 'dask[distributed]')"
        ) from exc
    return distributed


class DaskExecutor:
    """Map chunks over a Dask cluster; results in the order of the chunks.

    Parameters
    ----------
    client
        An existing ``distributed.Client`` to use (it is left open). None: connect to
        ``scheduler`` or start a local cluster.
    scheduler
        Address of a running scheduler (``tcp://host:8786``). None: a ``LocalCluster`` of
        ``n_workers`` workers, started when needed and closed afterwards.
    n_workers, threads_per_worker, processes
        Shape of the local cluster (None: distributed's defaults for this machine). Worker
        processes (the default) pickle every chunk, as a remote cluster does.
    retries
        How many times a task lost with its worker (killed, out of memory) is run again on
        another worker before the run fails (the local cluster's ``allowed-failures``, 3 as in
        distributed; a remote scheduler uses its own setting). A worker's death counts
        against every task it held, running or queued.
    timeout
        Seconds to wait for the scheduler to answer before failing with the fix in the message.
    max_in_flight
        Chunks submitted ahead of the one being collected (None: twice the cluster's threads).
        Only that many inputs and results are held at once, so memory stays flat when the
        chunks are a lazy iterable.

    Examples
    --------
    >>> import numpy as np
    >>> from oncoresist.curves import fit_curves, predict
    >>> x = np.log(np.logspace(-2, 2, 9)); y = predict("ll4", x, [[1.0, 0.1, 1.0, 0.0]] * 4)
    >>> with DaskExecutor(n_workers=1, processes=False) as ex:  # doctest: +SKIP
    ...     fit = fit_curves(x, y, chunk_size=2, executor=ex)
    >>> fit.status.tolist()  # doctest: +SKIP
    ['ok', 'ok', 'ok', 'ok']
    """

    def __init__(
        self,
        client: Any = None,
        *,
        scheduler: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        processes: bool = True,
        retries: int = 3,
        timeout: float = 5.0,
        max_in_flight: int | None = None,
    ) -> None:
        require_distributed()
        if client is not None and scheduler is not None:
            raise InputError("give a Dask client or a scheduler address, not both")
        if int(retries) < 0:
            raise InputError(f"retries must be >= 0; got {retries}")
        if not timeout > 0:
            raise InputError(f"timeout must be > 0 seconds; got {timeout}")
        if max_in_flight is not None and int(max_in_flight) < 1:
            raise InputError(
                f"max_in_flight must be a positive integer or None; got {max_in_flight}"
            )
        self.client = client
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.retries = retries
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._owned: contextlib.ExitStack | None = None
        self._client: Any = client
        self._depth = 0  # nested with blocks share the cluster; the outermost closes it

    # -- lifetime ---------------------------------------------------------------------------
    def _start(self) -> contextlib.ExitStack:
        """Connect (or start a local cluster); the stack closes what was opened here."""
        distributed = require_distributed()
        import dask

        stack = contextlib.ExitStack()
        try:
            if self.scheduler is not None:
                try:
                    self._client = stack.enter_context(
                        distributed.Client(self.scheduler, timeout=self.timeout)
                    )
                except (OSError, TimeoutError) as exc:
                    raise ExecutorError(
                        f"cannot reach the Dask scheduler at {self.scheduler!r} within "
                        f"{self.timeout:g} s ({type(exc).__name__}: {exc}). Start one "
                        "(`dask scheduler`, or a cluster as in docs/deploy-dask.md) and pass "
                        "its address (e.g. --scheduler tcp://host:8786), or leave the address "
                        "out to run on a local cluster"
                    ) from exc
            else:
                # the scheduler reads allowed-failures when it is built
                with dask.config.set({"distributed.scheduler.allowed-failures": int(self.retries)}):
                    cluster = stack.enter_context(
                        distributed.LocalCluster(
                            n_workers=self.n_workers,
                            threads_per_worker=self.threads_per_worker,
                            processes=self.processes,
                            dashboard_address=":0",
                        )
                    )
                self._client = stack.enter_context(distributed.Client(cluster))
        except BaseException:
            stack.close()
            self._client = None
            raise
        return stack

    def close(self) -> None:
        """Close the client and local cluster this executor opened (a given client stays)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None
            self._client = self.client

    def __enter__(self) -> DaskExecutor:
        if self._client is None:
            self._owned = self._start()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.close()

    # -- the Executor protocol ----------------------------------------------------------------
    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[Any]:
        """Apply ``func`` to every chunk on the cluster; results in the order of ``chunks``.

        Outside a ``with`` block the cluster (or connection) lives for this one call.
        """
        if self._client is not None:
            yield from self._map(self._client, func, chunks)
            return
        with self._start():
            try:
                yield from self._map(self._client, func, chunks)
            finally:
                self._client = self.client

    def _map(self, client: Any, func: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[Any]:
        from dask.sizeof import sizeof
        from distributed import KilledWorker

        window = self.max_in_flight or max(2, 2 * sum(client.nthreads().values()))
        pending: collections.deque[Any] = collections.deque()
        it = iter(chunks)
        try:
            while True:
                while len(pending) < window:
                    try:
                        chunk = next(it)
                    except StopIteration:
                        break
                    if sizeof(chunk) > _SCATTER_BYTES:
                        # a list of one: scatter would otherwise split a tuple into its items
                        chunk = client.scatter([chunk], hash=False)[0]
                    pending.append(client.submit(func, chunk, pure=False))
                if not pending:
                    return
                fut = pending.popleft()
                try:
                    yield fut.result()
                except KilledWorker as exc:
                    raise ExecutorError(
                        f"a task was lost with its Dask worker more often than allowed "
                        f"(retries={self.retries}): the worker died (out of memory, killed, "
                        f"or the task ended its process) [{exc}]. Nothing of this run was "
                        "kept; give the workers more memory or a smaller chunk size and rerun"
                    ) from exc
                finally:
                    fut.release()
        finally:
            if pending:
                client.cancel(list(pending))
