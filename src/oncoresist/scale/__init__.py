"""Scale-out: the Dask executor and partitioned Parquet in and out.

Every batch computation of oncoresist takes ``executor=``; ``executor="dask"`` (or a
:class:`DaskExecutor`) runs its chunks on a Dask cluster, a local one when no scheduler address
is given. The ``*_parquet`` functions read a partitioned Parquet dataset (or a Dask DataFrame)
one partition at a time, compute each partition on the executor and write a partitioned
Parquet dataset, so memory per worker stays flat as the data grow. Inputs and outputs may be
fsspec URLs (``s3://``, ``gs://``, ``abfs://``, ...) with ``storage_options=``, for workers that
share no disk with the client; a URL output is complete when its ``_SUCCESS`` marker is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ._dask import DaskExecutor
    from ._parquet import (
        ParquetRun,
        fit_parquet,
        read_partitions,
        score_blocks_parquet,
        simulate_cohort_parquet,
    )

__all__ = [
    "DaskExecutor",
    "ParquetRun",
    "fit_parquet",
    "read_partitions",
    "score_blocks_parquet",
    "simulate_cohort_parquet",
]

_WHERE = {
    "DaskExecutor": "._dask",
    "ParquetRun": "._parquet",
    "fit_parquet": "._parquet",
    "read_partitions": "._parquet",
    "score_blocks_parquet": "._parquet",
    "simulate_cohort_parquet": "._parquet",
}

# names load on first use: the CLI's --executor options (._options) must not import the
# Parquet layer and everything it fits with
__getattr__ = lazy_getattr(__name__, _WHERE, globals())
