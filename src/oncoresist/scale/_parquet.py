"""Partitioned Parquet in and out: one partition per task, results written as they come.

A source is a partitioned Parquet dataset (a folder of ``*.parquet`` files, Hive-style
``key=value`` folders allowed: their values become columns), one Parquet file, or a Dask
DataFrame. Each partition is read by the task that computes it (on a Dask worker, from the
worker's view of the file system or the DataFrame's own graph), computed there and written
there as ``part-NNNNN.parquet``, so no process ever holds more than a few partitions and memory
per worker stays flat as the data grow. Curves or blocks must not be split across partitions
(partition by sample, for instance); a key found in two partitions is an error.

Outputs go to a staging folder next to ``dest`` that is renamed to ``dest`` only when every
partition is written: a failed or interrupted run leaves no partial output.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._results import ResultMixin
from ..curves._executors import Executor, executor_scope
from ..errors import InputError, OutputError, SchemaError

__all__ = [
    "ParquetRun",
    "fit_parquet",
    "read_partitions",
    "score_blocks_parquet",
    "simulate_cohort_parquet",
]


@dataclass(frozen=True)
class ParquetRun(ResultMixin):
    """What a ``*_parquet`` run wrote: the dataset folder and one row per partition."""

    path: Path
    partitions: pd.DataFrame  # source, output, n_rows_in, n_rows_out

    @property
    def n_rows(self) -> int:
        """Rows written over all partitions."""
        return int(self.partitions["n_rows_out"].sum())

    def to_frame(self) -> pd.DataFrame:
        """The per-partition table."""
        return self.partitions.copy()

    def summary(self) -> str:
        """One line: partitions and rows written, and where."""
        return (
            f"ParquetRun: {len(self.partitions)} partitions, {self.n_rows} rows written to "
            f"{self.path}"
        )

    def read(self) -> pd.DataFrame:
        """The whole output as one DataFrame (for small results; the partitions in order)."""
        return pd.concat(
            [pd.read_parquet(self.path / f) for f in self.partitions["output"]], ignore_index=True
        )


# ------------------------------------------------------------------------------------------
# sources


def _hive_columns(path: Path, root: Path) -> dict[str, str]:
    cols = {}
    for part in path.relative_to(root).parent.parts:
        key, sep, value = part.partition("=")
        if sep and key:
            cols[key] = value
    return cols


def _parquet_files(src: Path) -> tuple[Path, list[Path]]:
    if not src.exists():
        raise InputError(f"{src}: no such Parquet file or dataset folder")
    if src.is_file():
        return src.parent, [src]
    files = sorted(
        p
        for p in src.rglob("*.parquet")
        if p.is_file() and not any(s.startswith((".", "_")) for s in p.relative_to(src).parts)
    )
    if not files:
        raise InputError(f"{src}: no *.parquet files in this folder (a partitioned dataset)")
    return src, files


def _check_schemas(root: Path, files: Sequence[Path]) -> None:
    """Every partition has the first one's columns and types, or a SchemaError names them."""
    first = None
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"{f}: not a readable Parquet file ({exc})") from exc
        # pandas' saved index is restored as the index on reading, not a column
        fields = {
            n: schema.field(n).type for n in schema.names if not n.startswith("__index_level_")
        }
        fields.update(dict.fromkeys(_hive_columns(f, root), pa.string()))
        if first is None:
            first, first_file = fields, f
            continue
        for name in sorted(set(first) | set(fields)):
            if name not in fields:
                raise SchemaError(
                    f"{f}: column {name!r} is missing (it is in {first_file}); every partition "
                    "of a dataset needs the same columns: rewrite the partition with it"
                )
            if name not in first:
                raise SchemaError(
                    f"{f}: column {name!r} is not in the first partition {first_file}; every "
                    "partition of a dataset needs the same columns: drop it or add it everywhere"
                )
            if fields[name] != first[name]:
                raise SchemaError(
                    f"{f}: column {name!r} is {fields[name]} but {first[name]} in {first_file}; "
                    "write every partition with the same type (e.g. cast it before writing)"
                )


def read_partitions(src: Any) -> list[Any]:
    """The partitions of ``src``, as references a task can read (``_read_partition``).

    ``src`` is a Parquet dataset folder, a Parquet file or a Dask DataFrame. The schemas of
    the files are checked against each other first (footers only, nothing is loaded).
    """
    if hasattr(src, "npartitions") and hasattr(src, "partitions"):
        return [("dask", f"partition {i}", src.partitions[i]) for i in range(src.npartitions)]
    root, files = _parquet_files(Path(src))
    _check_schemas(root, files)
    return [("file", str(f), str(root)) for f in files]


def _read_partition(ref: tuple) -> pd.DataFrame:
    kind, name, obj = ref
    if kind == "dask":
        # the partition's own graph, computed in this task (no nested scheduling)
        return obj.compute(scheduler="sync")
    df = pq.read_table(name).to_pandas()
    for key, value in _hive_columns(Path(name), Path(obj)).items():
        df[key] = value
    return df


# ------------------------------------------------------------------------------------------
# the run: staging folder, one task per partition, rename when complete


def _write_part(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
    os.replace(tmp, path)  # a retried task on another worker replaces, never appends


def _partition_task(task: tuple) -> dict[str, Any]:
    """Read one partition, compute it, write it to the staging folder (runs on a worker)."""
    ref, out, compute, params, key_cols = task
    if ref is None:
        df_in, n_in = None, 0
    else:
        df_in = _read_partition(ref)
        n_in = len(df_in)
    df_out = compute(df_in, params)
    _write_part(df_out, Path(out))
    keys: np.ndarray = np.zeros(0, np.uint64)
    if key_cols and len(df_out):
        keys = pd.util.hash_pandas_object(
            df_out[list(key_cols)].drop_duplicates(), index=False
        ).to_numpy()
    return {"n_rows_in": n_in, "n_rows_out": len(df_out), "keys": keys}


def _run(
    refs: Sequence[Any],
    dest: Any,
    compute: Callable[[pd.DataFrame | None, Any], pd.DataFrame],
    params: Sequence[Any],
    *,
    key_cols: Sequence[str],
    executor: str | Executor | None,
    scheduler: str | None,
    overwrite: bool,
    finish: Callable[[Sequence[Path]], None] | None = None,
) -> ParquetRun:
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise OutputError(f"{dest} exists; choose another output folder or pass overwrite=True")
    for ref in refs:
        if ref is not None and ref[0] == "file":
            root = Path(ref[2]).resolve()
            if dest.resolve() == root or root in dest.resolve().parents:
                raise OutputError(f"{dest} lies inside the input dataset {root}; write elsewhere")
            break
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".{dest.name}.staging-{uuid.uuid4().hex[:12]}")
    staging.mkdir()
    outs = [staging / f"part-{i:05d}.parquet" for i in range(len(refs))]

    def tasks() -> Iterator[tuple]:
        for ref, out, p in zip(refs, outs, params, strict=True):
            yield (ref, str(out), compute, p, tuple(key_cols))

    try:
        with executor_scope(executor, scheduler=scheduler) as ex:
            results = list(ex.map(_partition_task, tasks()))
        _check_unique(refs, results, key_cols)
        if finish is not None:  # a pass over every written part, still in the staging folder
            finish(outs)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:12]}")
            os.replace(dest, old)
            os.replace(staging, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    table = pd.DataFrame(
        {
            "source": ["" if r is None else r[1] for r in refs],
            "output": [o.name for o in outs],
            "n_rows_in": [r["n_rows_in"] for r in results],
            "n_rows_out": [r["n_rows_out"] for r in results],
        }
    )
    return ParquetRun(path=dest, partitions=table)


def _check_unique(refs: Sequence[Any], results: Sequence[dict], key_cols: Sequence[str]) -> None:
    if not key_cols or len(results) < 2:
        return
    keys = np.concatenate([r["keys"] for r in results])
    part = np.repeat(np.arange(len(results)), [len(r["keys"]) for r in results])
    order = np.argsort(keys, kind="stable")
    dup = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if dup.size:
        a, b = part[order][dup[0]], part[order][dup[0] + 1]
        raise InputError(
            f"a ({', '.join(key_cols)}) key is in two partitions, {refs[a][1]} and {refs[b][1]} "
            f"({dup.size} key(s) in all): its rows would be computed apart. Partition the "
            f"dataset so that each key lies in one partition (e.g. by {key_cols[0]})"
        )


# ------------------------------------------------------------------------------------------
# the computations


def _fit_partition(df: pd.DataFrame | None, params: Mapping[str, Any]) -> pd.DataFrame:
    from ..curves import fit_screen
    from ..data import Screen

    if df is None:
        raise InputError("fitting needs a partition of wells")
    screen = Screen.from_frame(df, viability_scale="fraction")
    return fit_screen(
        screen, model=params["model"], loss=params["loss"], ci=params["ci"],
        outliers=params["outliers"], chunk_size=params["chunk_size"],
    )  # fmt: skip


def fit_parquet(
    src: Any,
    dest: str | os.PathLike[str],
    *,
    model: str = "ll4",
    loss: str = "linear",
    ci: str | None = "delta",
    outliers: str | None = "flag",
    chunk_size: int = 20_000,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> ParquetRun:
    """Fit every curve of a partitioned well-level dataset; write the fits as Parquet.

    Parameters
    ----------
    src
        A Parquet dataset folder, a Parquet file or a Dask DataFrame of normalised wells
        (``sample, drug, concentration, viability`` as a fraction of control; the columns
        of :meth:`oncoresist.data.Screen.from_frame`). Every curve lies in one partition.
    dest
        Output folder: one ``part-NNNNN.parquet`` of :func:`oncoresist.curves.fit_screen`
        rows per input partition, in the order of the partitions.
    model, loss, ci, outliers, chunk_size
        As :func:`oncoresist.curves.fit_screen`. ``model="gdsc"`` fits GDSC's multilevel
        model to each partition as one screen (its curves share variance components, so a
        partition is then one screen, e.g. one GDSC release).
    executor, scheduler
        Where the partitions run (``"dask"``: the Dask scheduler at ``scheduler``, a local
        cluster when None). Results are bitwise those of ``executor="serial"``.
    overwrite
        Replace ``dest`` when it exists (only once the new run is complete).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from oncoresist.data import make_screen
    >>> from oncoresist.curves import normalise
    >>> wells = normalise(make_screen(n_samples=2, drugs=2, rng=0).screen).data
    >>> wells = wells[wells["role"] == "treated"][["sample", "drug", "concentration", "viability"]]
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for i, (_, part) in enumerate(wells.groupby("sample")):
    ...     part.to_parquet(d / f"in{i}.parquet")
    >>> run = fit_parquet(d, d.parent / (d.name + "-fits"), executor="serial")
    >>> len(run.partitions), len(run.read())  # 2 samples x (parental, resistant) x 2 drugs
    (4, 8)
    """
    refs = read_partitions(src)
    params = {"model": model, "loss": loss, "ci": ci, "outliers": outliers,
              "chunk_size": int(chunk_size)}  # fmt: skip
    return _run(
        refs, dest, _fit_partition, [params] * len(refs), key_cols=("sample", "drug"),
        executor=executor, scheduler=scheduler, overwrite=overwrite,
    )  # fmt: skip


def _score_partition(df: pd.DataFrame | None, params: Mapping[str, Any]) -> pd.DataFrame:
    from ..data import CombinationScreen
    from ..synergy import score_combinations

    if df is None:
        raise InputError("scoring needs a partition of blocks")
    screen = CombinationScreen.from_frame(df, conc_unit=params["conc_unit"])
    res = score_combinations(
        screen, models=params["models"], n_boot=params["n_boot"], rng=params["rng"],
        chunk_size=params["chunk_size"], keep_surfaces=False,
    )  # fmt: skip
    return res.scores


def score_blocks_parquet(
    src: Any,
    dest: str | os.PathLike[str],
    *,
    conc_unit: str | None = None,
    models: Sequence[str] = ("bliss", "hsa", "loewe", "zip"),
    n_boot: int = 0,
    rng: int | np.random.Generator | None = None,
    chunk_size: int = 5000,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> ParquetRun:
    """Score every combination block of a partitioned dataset; write the scores as Parquet.

    ``src`` holds the tidy table of :meth:`oncoresist.data.CombinationScreen.from_frame`
    (``block_id, drug1, drug2, conc1, conc2, response[, replicate, sample]``; ``conc_unit``
    as there), each block in one partition. ``dest`` gets the
    :func:`oncoresist.synergy.score_combinations` summary rows (one per block and model) of
    every partition. Partition ``i`` draws its bootstrap from stream ``i`` spawned from
    ``rng``: the same scores on any executor. The ``fdr`` column is Benjamini–Hochberg over
    every block of the dataset (per model), as :func:`~oncoresist.synergy.score_combinations`
    gives for the whole screen: a pass after all partitions are scored reads their p-values
    (one float per row in memory) and rewrites each part's ``fdr``, before the output folder
    is put in place.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from oncoresist.synergy import make_combination_screen
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> make_combination_screen(4, rng=0).data.to_parquet(d / "blocks.parquet")
    >>> run = score_blocks_parquet(d, d.parent / (d.name + "-scores"), conc_unit="uM",
    ...                            models=["bliss"])
    >>> run.n_rows
    4
    """
    refs = read_partitions(src)
    streams = np.random.default_rng(rng).spawn(len(refs))
    params = [
        {"conc_unit": conc_unit, "models": tuple(models), "n_boot": int(n_boot), "rng": s,
         "chunk_size": int(chunk_size)}
        for s in streams
    ]  # fmt: skip
    return _run(
        refs, dest, _score_partition, params, key_cols=("block_id", "model"),
        executor=executor, scheduler=scheduler, overwrite=overwrite, finish=_global_fdr,
    )  # fmt: skip


def _global_fdr(parts: Sequence[Path]) -> None:
    """Benjamini–Hochberg per model over the p-values of every part; rewrite each ``fdr``."""
    from scipy import stats

    cols = [pq.read_table(p, columns=["model", "pvalue"]).to_pandas() for p in parts]
    sizes = [len(c) for c in cols]
    if not sum(sizes):
        return
    allp = pd.concat(cols, ignore_index=True)
    fdr = np.full(len(allp), np.nan)
    for _, idx in allp.groupby("model", sort=False).indices.items():
        pv = allp["pvalue"].to_numpy(dtype=float)[idx]
        ok = np.isfinite(pv)
        if ok.any():
            fdr[idx[ok]] = stats.false_discovery_control(pv[ok])
    del cols, allp
    start = 0
    for path, n in zip(parts, sizes, strict=True):
        df = pq.read_table(path).to_pandas()
        df["fdr"] = fdr[start : start + n]
        start += n
        _write_part(df, Path(path))


def _simulate_partition(df: pd.DataFrame | None, params: Mapping[str, Any]) -> pd.DataFrame:
    from ..evolution import simulate

    res = simulate(
        params["model"], params["schedule"], method=params["method"], t_end=params["t_end"],
        dt=params["dt"], n_runs=params["n"], rng=params["rng"], variation=params["variation"],
        record_runs=0,
    )  # fmt: skip
    out = res.runs.copy()
    out.insert(0, "patient", np.arange(params["start"], params["start"] + params["n"]))
    if "run" in out.columns:
        out = out.drop(columns="run")
    return out


def simulate_cohort_parquet(
    model: Any,
    schedule: Any,
    dest: str | os.PathLike[str],
    *,
    n_patients: int,
    chunk_size: int = 10_000,
    method: str = "branching",
    t_end: float = 365.0,
    dt: float = 1.0,
    variation: Mapping[str, float] | None = None,
    rng: int | np.random.Generator | None = None,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> ParquetRun:
    """Simulate a virtual-patient cohort in chunks; write the per-patient summary as Parquet.

    Chunk ``i`` (patients ``i * chunk_size ...``) is :func:`oncoresist.evolution.simulate`
    with ``n_runs=chunk_size`` and its own stream ``i`` spawned from ``rng`` (parameter
    draws and runs): the cohort is reproducible from (seed, ``chunk_size``) on any executor
    and any number of workers. One ``part-NNNNN.parquet`` per chunk, with a ``patient``
    column (0 ... ``n_patients - 1``) and the columns of ``SimulationResult.runs``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from oncoresist.evolution import example_path, load_model, load_schedule
    >>> m = load_model(example_path("zhang2017_model.yaml"))
    >>> s = load_schedule(example_path("continuous.yaml"))
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "cohort"
    >>> run = simulate_cohort_parquet(m, s, d, n_patients=6, chunk_size=4, t_end=60, rng=0)
    >>> run.read()["patient"].tolist()
    [0, 1, 2, 3, 4, 5]
    """
    if int(n_patients) < 1 or int(chunk_size) < 1:
        raise InputError("n_patients and chunk_size must be positive integers")
    n, size = int(n_patients), int(chunk_size)
    starts = list(range(0, n, size))
    streams = np.random.default_rng(rng).spawn(len(starts))
    params = [
        {"model": model, "schedule": schedule, "method": method, "t_end": float(t_end),
         "dt": float(dt), "n": min(size, n - s), "start": s, "rng": g,
         "variation": None if variation is None else dict(variation)}
        for s, g in zip(starts, streams, strict=True)
    ]  # fmt: skip
    return _run(
        [None] * len(starts), dest, _simulate_partition, params, key_cols=(),
        executor=executor, scheduler=scheduler, overwrite=overwrite,
    )  # fmt: skip
