"""Scale-out: the Dask executor and partitioned Parquet in and out.

Every batch computation of oncoresist takes ``executor=``; ``executor="dask"`` (or a
:class:`DaskExecutor`) runs its chunks on a Dask cluster, a local one when no scheduler address
is given. The ``*_parquet`` functions read a partitioned Parquet dataset (or a Dask DataFrame)
one partition at a time, compute each partition on the executor and write a partitioned
Parquet dataset, so memory per worker stays flat as the data grow.
"""

from __future__ import annotations

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
