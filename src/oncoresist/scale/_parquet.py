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

``src`` and ``dest`` may also be fsspec URLs (``s3://bucket/screen/``, ``gs://...``,
``abfs://...``, ``file:///abs/path``, ``memory://x``), with ``storage_options=`` (a dict given
to fsspec: credentials, endpoint, ...) used for whichever of them is a URL; this is how workers
that share no disk with the client (Kubernetes) read and write. The listing rules are those of
a local folder. Each task opens its own file from the URL and ``storage_options`` (never an
open handle). Object stores cannot rename a folder, so a URL output is not put in place at once;
it follows the Spark/Hadoop convention instead:

- each part is one object, written by one PUT (atomic per object: a reader sees the whole
  part or none; a retried task replaces its part);
- the parts are written under ``dest`` directly, and a ``_SUCCESS`` marker (JSON: the parts
  and their row counts) is written last, only when every part is written (and, for scores,
  rewritten with the dataset-wide FDR). No marker means the run is incomplete:
  :meth:`ParquetRun.read` refuses it with an :class:`~oncoresist.errors.IncompleteRunError`;
- an existing non-empty ``dest`` is refused unless ``overwrite=True``, which deletes its
  objects (the marker first) *before* the new run: the old output is gone even if the new run
  fails;
- on failure the parts written so far are deleted, best effort only: a task still running on
  a worker may write its part afterwards, and a killed client deletes nothing. The absent
  marker is the guarantee, not the cleanup.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._results import ResultMixin
from ..curves._executors import Executor, executor_scope
from ..errors import IncompleteRunError, InputError, OncoresistError, OutputError, SchemaError

__all__ = [
    "ParquetRun",
    "fit_parquet",
    "read_partitions",
    "score_blocks_parquet",
    "simulate_cohort_parquet",
]


_MARKER = "_SUCCESS"


@dataclass(frozen=True)
class ParquetRun(ResultMixin):
    """What a ``*_parquet`` run wrote: the dataset folder (or URL) and one row per partition.

    ``storage_options`` are those of a URL output (kept out of the repr: they may hold
    credentials).
    """

    path: Path | str
    partitions: pd.DataFrame  # source, output, n_rows_in, n_rows_out
    storage_options: Mapping[str, Any] | None = field(default=None, repr=False)

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
        """The whole output as one DataFrame (for small results; the partitions in order).

        A URL output without its ``_SUCCESS`` marker (a run that failed, was interrupted or
        is still running) raises an :class:`~oncoresist.errors.IncompleteRunError`.
        """
        if not _is_url(self.path):
            return pd.concat(
                [pd.read_parquet(Path(self.path) / f) for f in self.partitions["output"]],
                ignore_index=True,
            )
        url = str(self.path)
        fs, root = _url_fs(url, self.storage_options, error=OutputError)
        if not fs.exists(f"{root}/{_MARKER}"):
            raise IncompleteRunError(
                f"{url}: no {_MARKER} marker, so the run that wrote it did not finish (it "
                "failed, was interrupted or is still running) and its parts may be missing; "
                "run it again with overwrite=True"
            )
        frames = []
        for name in self.partitions["output"]:
            with fs.open(f"{root}/{name}", "rb") as fh:
                frames.append(pd.read_parquet(fh))
        return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------
# URLs (fsspec)


def _is_url(obj: Any) -> bool:
    return isinstance(obj, str) and "://" in obj


def _url_fs(
    url: str, storage_options: Mapping[str, Any] | None, *, error: type[OncoresistError]
) -> tuple[Any, str]:
    """The fsspec file system and path of ``url``; ``error`` names the URL and the fix."""
    import fsspec.core
    from fsspec.registry import known_implementations

    protocol = url.split("://", 1)[0]
    try:
        return fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    except ImportError as exc:
        known = known_implementations.get(protocol, {})
        package = str(known.get("class", "")).split(".")[0] or f"the {protocol} fsspec library"
        raise error(
            f"{url}: the {protocol}:// file system needs a library that is not installed "
            f"({known.get('err', exc)}): `pip install {package}` on the client and on every "
            "worker"
        ) from exc
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise error(
                f"{url}: fsspec has no file system for {protocol}://; use a protocol it knows "
                "(s3://, gs://, abfs://, file://, memory://, ...: fsspec.available_protocols())"
            ) from exc
        raise error(f"{url}: {exc}") from exc
    except TypeError as exc:
        raise error(
            f"{url}: the {protocol}:// file system does not take these storage_options "
            f"({exc}); see its documentation for the accepted keys"
        ) from exc


def _url_parquet_files(
    url: str, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str, list[str]]:
    fs, root = _url_fs(url, storage_options, error=InputError)
    try:
        exists = fs.exists(root)
        is_file = exists and fs.isfile(root)
        found = [] if not exists or is_file else fs.find(root)
    except (OSError, PermissionError) as exc:
        raise InputError(
            f"{url}: cannot be listed ({exc}); check the URL and the credentials in storage_options"
        ) from exc
    if not exists:
        raise InputError(
            f"{url}: no such Parquet file or dataset folder; check the bucket and the path"
        )
    if is_file:
        return fs, posixpath.dirname(root), [root]
    files = sorted(
        p
        for p in found
        if p.endswith(".parquet")
        and not any(
            s.startswith((".", "_"))
            for s in PurePosixPath(p).relative_to(PurePosixPath(root)).parts
        )
    )
    if not files:
        raise InputError(f"{url}: no *.parquet files under this URL (a partitioned dataset)")
    return fs, root, files


# ------------------------------------------------------------------------------------------
# sources


def _hive_columns(path: PurePath, root: PurePath) -> dict[str, str]:
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


def _check_schemas(root: PurePath, files: Sequence[PurePath], fs: Any = None) -> None:
    """Every partition has the first one's columns and types, or a SchemaError names them.

    With ``fs`` (fsspec), ``root`` and ``files`` are its paths and messages name their URLs.
    """
    first = None
    for path in files:
        f: Any = path if fs is None else fs.unstrip_protocol(str(path))
        try:
            if fs is None:
                schema = pq.read_schema(path)
            else:
                with fs.open(str(path), "rb") as fh:
                    schema = pq.read_schema(fh)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"{f}: not a readable Parquet file ({exc})") from exc
        # pandas' saved index is restored as the index on reading, not a column
        fields = {
            n: schema.field(n).type for n in schema.names if not n.startswith("__index_level_")
        }
        fields.update(dict.fromkeys(_hive_columns(path, root), pa.string()))
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


def read_partitions(src: Any, *, storage_options: Mapping[str, Any] | None = None) -> list[Any]:
    """The partitions of ``src``, as references a task can read (``_read_partition``).

    ``src`` is a Parquet dataset folder, a Parquet file, an fsspec URL of either (with
    ``storage_options`` for its file system) or a Dask DataFrame. The schemas of the files
    are checked against each other first (footers only, nothing is loaded). A URL's
    reference holds the file's URL and ``storage_options``, so that the task opens it itself.

    Examples
    --------
    >>> import pandas as pd
    >>> pd.DataFrame({"a": [1, 2]}).to_parquet("memory://doc-parts/p0.parquet")
    >>> [ref[1] for ref in read_partitions("memory://doc-parts/")]
    ['memory:///doc-parts/p0.parquet']
    """
    if hasattr(src, "npartitions") and hasattr(src, "partitions"):
        return [("dask", f"partition {i}", src.partitions[i]) for i in range(src.npartitions)]
    if _is_url(src):
        fs, uroot, ufiles = _url_parquet_files(src, storage_options)
        _check_schemas(PurePosixPath(uroot), [PurePosixPath(f) for f in ufiles], fs)
        so = dict(storage_options or {})
        root_url = fs.unstrip_protocol(uroot)
        return [
            (
                "url",
                fs.unstrip_protocol(f),
                (root_url, so, _hive_columns(PurePosixPath(f), PurePosixPath(uroot))),
            )
            for f in ufiles
        ]
    root, files = _parquet_files(Path(src))
    _check_schemas(root, files)
    return [("file", str(f), str(root)) for f in files]


def _read_partition(ref: tuple) -> pd.DataFrame:
    kind, name, obj = ref
    if kind == "dask":
        # the partition's own graph, computed in this task (no nested scheduling)
        return obj.compute(scheduler="sync")
    if kind == "url":
        _, storage_options, hive = obj
        fs, path = _url_fs(name, storage_options, error=InputError)
        with fs.open(path, "rb") as fh:
            df = pq.read_table(fh).to_pandas()
        for key, value in hive.items():
            df[key] = value
        return df
    df = pq.read_table(name).to_pandas()
    for key, value in _hive_columns(Path(name), Path(obj)).items():
        df[key] = value
    return df


# ------------------------------------------------------------------------------------------
# the run: staging folder, one task per partition, rename when complete


def _write_part(
    df: pd.DataFrame, path: Path | str, storage_options: Mapping[str, Any] | None = None
) -> None:
    """Write one part: a local path (``storage_options`` None) or a URL, one object PUT."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if storage_options is not None:
        fs, p = _url_fs(str(path), storage_options, error=OutputError)
        with fs.open(p, "wb") as fh:  # one object, replaced whole by a retried task
            pq.write_table(table, fh)
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # a retried task on another worker replaces, never appends


def _read_part(
    path: Path | str, storage_options: Mapping[str, Any] | None, columns: list[str] | None = None
) -> pd.DataFrame:
    if storage_options is None:
        return pq.read_table(path, columns=columns).to_pandas()
    fs, p = _url_fs(str(path), storage_options, error=OutputError)
    with fs.open(p, "rb") as fh:
        return pq.read_table(fh, columns=columns).to_pandas()


def _partition_task(task: tuple) -> dict[str, Any]:
    """Read one partition, compute it, write it to the staging folder (runs on a worker)."""
    ref, out, compute, params, key_cols, storage_options = task
    if ref is None:
        df_in, n_in = None, 0
    else:
        df_in = _read_partition(ref)
        n_in = len(df_in)
    df_out = compute(df_in, params)
    _write_part(df_out, out, storage_options)
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
    storage_options: Mapping[str, Any] | None = None,
    finish: Callable[[Sequence[Any], Mapping[str, Any] | None], None] | None = None,
) -> ParquetRun:
    if _is_url(dest):
        return _run_url(
            refs, dest, compute, params, key_cols=key_cols, executor=executor,
            scheduler=scheduler, overwrite=overwrite, storage_options=storage_options,
            finish=finish,
        )  # fmt: skip
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
            yield (ref, str(out), compute, p, tuple(key_cols), None)

    try:
        with executor_scope(executor, scheduler=scheduler) as ex:
            results = list(ex.map(_partition_task, tasks()))
        _check_unique(refs, results, key_cols)
        if finish is not None:  # a pass over every written part, still in the staging folder
            finish(outs, None)
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


def _run_url(
    refs: Sequence[Any],
    dest: str,
    compute: Callable[[pd.DataFrame | None, Any], pd.DataFrame],
    params: Sequence[Any],
    *,
    key_cols: Sequence[str],
    executor: str | Executor | None,
    scheduler: str | None,
    overwrite: bool,
    storage_options: Mapping[str, Any] | None,
    finish: Callable[[Sequence[Any], Mapping[str, Any] | None], None] | None,
) -> ParquetRun:
    """``_run`` for a URL output: parts written in place, the ``_SUCCESS`` marker last."""
    so = dict(storage_options or {})
    fs, root = _url_fs(dest, so, error=OutputError)
    root = root.rstrip("/")
    root_url = fs.unstrip_protocol(root)
    for ref in refs:
        if ref is not None and ref[0] == "url":
            src_root = ref[2][0].rstrip("/")
            if root_url == src_root or root_url.startswith(src_root + "/"):
                raise OutputError(
                    f"{dest} lies inside the input dataset {src_root}; write elsewhere"
                )
            break
    try:
        if fs.exists(root) and fs.isfile(root):
            raise OutputError(f"{dest} is an object, not a folder; choose another output URL")
        existing = fs.find(root) if fs.exists(root) else []
        if existing and not overwrite:
            raise OutputError(
                f"{dest} exists and holds {len(existing)} object(s); choose another output URL "
                "or pass overwrite=True (which deletes them before the new run)"
            )
        marker = f"{root}/{_MARKER}"
        if marker in existing:  # an old run is marked incomplete before any of it goes
            fs.rm_file(marker)
        for path in existing:
            if path != marker:
                fs.rm_file(path)
        if "file" in fs.protocol:  # object stores have no folders (and must not create buckets)
            fs.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{dest}: cannot be listed or written ({exc}); check the URL and the credentials "
            "in storage_options"
        ) from exc
    names = [f"part-{i:05d}.parquet" for i in range(len(refs))]
    outs = [f"{root_url}/{n}" for n in names]

    def tasks() -> Iterator[tuple]:
        for ref, out, p in zip(refs, outs, params, strict=True):
            yield (ref, out, compute, p, tuple(key_cols), so)

    try:
        with executor_scope(executor, scheduler=scheduler) as ex:
            results = list(ex.map(_partition_task, tasks()))
        _check_unique(refs, results, key_cols)
        if finish is not None:
            finish(outs, so)
        done = {"parts": names, "n_rows": [int(r["n_rows_out"]) for r in results]}
        with fs.open(marker, "wb") as fh:  # last: its presence says the run is complete
            fh.write(json.dumps(done).encode())
    except BaseException:
        for name in names:  # best effort: a task still running elsewhere may write later
            try:
                fs.rm_file(f"{root}/{name}")
            except (OSError, ValueError):
                pass
        raise
    table = pd.DataFrame(
        {
            "source": ["" if r is None else r[1] for r in refs],
            "output": names,
            "n_rows_in": [r["n_rows_in"] for r in results],
            "n_rows_out": [r["n_rows_out"] for r in results],
        }
    )
    return ParquetRun(path=root_url, partitions=table, storage_options=so)


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
    storage_options: Mapping[str, Any] | None = None,
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
        Replace ``dest`` when it exists (only once the new run is complete; a URL output's
        objects are deleted before the run instead).
    storage_options
        Options of the fsspec file system (credentials, endpoint, ...) for whichever of
        ``src`` and ``dest`` is a URL (``s3://``, ``gs://``, ``abfs://``, ``file://``, ...);
        see the module's notes for what a URL output guarantees (the ``_SUCCESS`` marker).

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
    refs = read_partitions(src, storage_options=storage_options)
    params = {"model": model, "loss": loss, "ci": ci, "outliers": outliers,
              "chunk_size": int(chunk_size)}  # fmt: skip
    return _run(
        refs, dest, _fit_partition, [params] * len(refs), key_cols=("sample", "drug"),
        executor=executor, scheduler=scheduler, overwrite=overwrite,
        storage_options=storage_options,
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
    storage_options: Mapping[str, Any] | None = None,
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
    is put in place (for a URL output: before its ``_SUCCESS`` marker is written).
    ``src`` and ``dest`` may be fsspec URLs, with ``storage_options``, as in
    :func:`fit_parquet`.

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
    refs = read_partitions(src, storage_options=storage_options)
    streams = np.random.default_rng(rng).spawn(len(refs))
    params = [
        {"conc_unit": conc_unit, "models": tuple(models), "n_boot": int(n_boot), "rng": s,
         "chunk_size": int(chunk_size)}
        for s in streams
    ]  # fmt: skip
    return _run(
        refs, dest, _score_partition, params, key_cols=("block_id", "model"),
        executor=executor, scheduler=scheduler, overwrite=overwrite,
        storage_options=storage_options, finish=_global_fdr,
    )  # fmt: skip


def _global_fdr(parts: Sequence[Any], storage_options: Mapping[str, Any] | None = None) -> None:
    """Benjamini–Hochberg per model over the p-values of every part; rewrite each ``fdr``.

    ``parts`` are local paths, or URLs when ``storage_options`` is not None.
    """
    from scipy import stats

    cols = [_read_part(p, storage_options, ["model", "pvalue"]) for p in parts]
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
        df = _read_part(path, storage_options)
        df["fdr"] = fdr[start : start + n]
        start += n
        _write_part(df, path, storage_options)


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
    storage_options: Mapping[str, Any] | None = None,
) -> ParquetRun:
    """Simulate a virtual-patient cohort in chunks; write the per-patient summary as Parquet.

    Chunk ``i`` (patients ``i * chunk_size ...``) is :func:`oncoresist.evolution.simulate`
    with ``n_runs=chunk_size`` and its own stream ``i`` spawned from ``rng`` (parameter
    draws and runs): the cohort is reproducible from (seed, ``chunk_size``) on any executor
    and any number of workers. One ``part-NNNNN.parquet`` per chunk, with a ``patient``
    column (0 ... ``n_patients - 1``) and the columns of ``SimulationResult.runs``. ``dest``
    may be an fsspec URL, with ``storage_options``, as in :func:`fit_parquet`.

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
        storage_options=storage_options,
    )  # fmt: skip
