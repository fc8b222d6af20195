"""Parquet datasets at fsspec URLs: the same tables as local paths, the marker, clear errors.

``file://`` URLs on the serial executor and on an in-process Dask cluster, ``memory://`` on
the serial executor (its store lives in this process). Small sizes.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest

from _scale_data import wells
from _scale_data import write_by_sample as _write_by_sample
from oncoresist.errors import IncompleteRunError, InputError, OutputError, SchemaError
from oncoresist.evolution import example_path, load_model, load_schedule
from oncoresist.scale import (
    DaskExecutor,
    ParquetRun,
    fit_parquet,
    read_partitions,
    score_blocks_parquet,
    simulate_cohort_parquet,
)
from oncoresist.synergy import make_combination_screen


@pytest.fixture(scope="module")
def ex():
    """Two in-process workers of one thread each, as in tests/test_scale_dask.py."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskExecutor(client)


def _wells(n_samples: int = 3, drugs: int = 2) -> pd.DataFrame:
    return wells(n_samples, drugs)


def _write_blocks(folder: Path, n_blocks: int = 6, n_parts: int = 3) -> Path:
    folder.mkdir()
    data = make_combination_screen(n_blocks, rng=2).data
    for i, ids in enumerate(np.array_split(data["block_id"].unique(), n_parts)):
        data[data["block_id"].isin(ids)].to_parquet(folder / f"p{i}.parquet")
    return folder


def _memory(name: str) -> str:
    """A fresh memory:// folder (the store is global to the process)."""
    return f"memory://oncoresist-tests/{name}-{uuid.uuid4().hex[:8]}"


def _copy_to_memory(folder: Path, url: str) -> str:
    fs = fsspec.filesystem("memory")
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            fs.pipe(f"{url}/{f.relative_to(folder).as_posix()}", f.read_bytes())
    return url


_BLOCKS = dict(conc_unit="uM", models=["bliss", "loewe"], n_boot=10, rng=1)


# -- the same tables as local paths ---------------------------------------------------------


def test_file_urls_serial_equal_local_paths(tmp_path):
    """Evidence: file:// in and out, serial, gives exactly the local-path fits and scores."""
    src = _write_by_sample(_wells(), tmp_path / "wells")
    a = fit_parquet(src, tmp_path / "local", executor="serial")
    b = fit_parquet(src.as_uri(), (tmp_path / "url").as_uri(), executor="serial")
    assert b.path == (tmp_path / "url").as_uri()
    pd.testing.assert_frame_equal(a.read(), b.read(), check_exact=True)
    assert b.partitions["output"].tolist() == a.partitions["output"].tolist()
    marker = json.loads((tmp_path / "url" / "_SUCCESS").read_text())
    assert marker == {"parts": a.partitions["output"].tolist(), "n_rows": [2, 2, 2, 2, 2, 2]}
    # the global FDR pass reads and rewrites URL parts
    blocks = _write_blocks(tmp_path / "blocks")
    c = score_blocks_parquet(blocks, tmp_path / "s-local", executor="serial", **_BLOCKS)
    d = score_blocks_parquet(
        blocks.as_uri(), (tmp_path / "s-url").as_uri(), executor="serial", **_BLOCKS
    )
    pd.testing.assert_frame_equal(c.read(), d.read(), check_exact=True)
    assert d.read()["fdr"].notna().all()


def test_file_urls_on_dask_equal_local_paths(ex, tmp_path):
    """Evidence: file:// in and out on a Dask cluster equals the local-path serial run.

    (The local-path run is checked against the serial in-memory computations in
    tests/test_scale_dask.py.)
    """
    src = _write_by_sample(_wells(), tmp_path / "wells")
    a = fit_parquet(src, tmp_path / "local", executor="serial")
    b = fit_parquet(src.as_uri(), (tmp_path / "url").as_uri(), executor=ex)
    pd.testing.assert_frame_equal(a.read(), b.read(), check_exact=True)
    blocks = _write_blocks(tmp_path / "blocks")
    c = score_blocks_parquet(blocks, tmp_path / "s-local", executor="serial", **_BLOCKS)
    d = score_blocks_parquet(blocks.as_uri(), (tmp_path / "s-url").as_uri(), executor=ex, **_BLOCKS)
    pd.testing.assert_frame_equal(c.read(), d.read(), check_exact=True)


def test_url_listing_follows_the_local_rules(tmp_path):
    """Evidence: a hive dataset with hidden files lists and reads as the local folder does."""
    from oncoresist.scale._parquet import _read_partition

    root = tmp_path / "hive"
    for batch in ("a", "b"):
        (root / f"batch={batch}").mkdir(parents=True)
        pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(root / f"batch={batch}" / "p.parquet")
    (root / "_tmp").mkdir()
    pd.DataFrame({"y": ["no"]}).to_parquet(root / "_tmp" / "skip.parquet")
    pd.DataFrame({"y": ["no"]}).to_parquet(root / ".hidden.parquet")
    local = read_partitions(root)
    url = read_partitions(root.as_uri())
    assert [r[1] for r in url] == ["file://" + r[1] for r in local]
    for r, u in zip(local, url, strict=True):
        pd.testing.assert_frame_equal(_read_partition(r), _read_partition(u), check_exact=True)
    assert _read_partition(url[1])["batch"].tolist() == ["b", "b"]
    one = read_partitions(f"file://{root}/batch=a/p.parquet")
    assert len(one) == 1


def test_memory_urls_in_and_out_equal_local_paths(tmp_path):
    """Evidence: memory:// in and out (serial) gives the local-path fits, scores and cohort."""
    src = _write_by_sample(_wells(), tmp_path / "wells")
    a = fit_parquet(src, tmp_path / "local", executor="serial")
    b = fit_parquet(
        _copy_to_memory(src, _memory("wells")), _memory("fits"), executor="serial",
        storage_options={},
    )  # fmt: skip
    assert b.path.startswith("memory://")
    pd.testing.assert_frame_equal(a.read(), b.read(), check_exact=True)
    blocks = _write_blocks(tmp_path / "blocks")
    c = score_blocks_parquet(blocks, tmp_path / "s-local", executor="serial", **_BLOCKS)
    d = score_blocks_parquet(
        _copy_to_memory(blocks, _memory("blocks")), _memory("scores"), executor="serial",
        **_BLOCKS,
    )  # fmt: skip
    pd.testing.assert_frame_equal(c.read(), d.read(), check_exact=True)
    m = load_model(example_path("zhang2017_model.yaml"))
    s = load_schedule(example_path("continuous.yaml"))
    pk = dict(n_patients=9, chunk_size=4, t_end=60.0, rng=7)
    e = simulate_cohort_parquet(m, s, tmp_path / "cohort", executor="serial", **pk)
    f = simulate_cohort_parquet(m, s, _memory("cohort"), executor="serial", **pk)
    pd.testing.assert_frame_equal(e.read(), f.read(), check_exact=True)


# -- the _SUCCESS marker ----------------------------------------------------------------------


def test_failed_run_leaves_no_marker_and_no_parts(tmp_path, monkeypatch):
    """Regression guard: a partition that fails mid-run leaves no marker; read() refuses."""
    fs = fsspec.filesystem("memory")
    deleted = []
    rm_file = type(fs).rm_file

    def record(self, path):
        if self.exists(path):
            deleted.append(path.rsplit("/", 1)[-1])
        return rm_file(self, path)

    monkeypatch.setattr(type(fs), "rm_file", record)
    wells = _wells()
    src = _write_by_sample(wells, tmp_path / "wells")
    bad = pd.read_parquet(src / "part2.parquet")
    bad.loc[0, "concentration"] = -1.0  # same schema, fails in the task that fits it
    bad.to_parquet(src / "part2.parquet")
    dest = _memory("failed")
    with pytest.raises(InputError, match="negative concentration"):
        fit_parquet(_copy_to_memory(src, _memory("wells")), dest, executor="serial")
    assert deleted == ["part-00000.parquet", "part-00001.parquet"]  # written, then deleted
    assert fs.find(dest) == []
    stale = ParquetRun(path=dest, partitions=pd.DataFrame({"output": ["part-00000.parquet"]}))
    with pytest.raises(IncompleteRunError, match="no _SUCCESS marker"):
        stale.read()


def test_read_refuses_an_output_without_its_marker(tmp_path):
    """Regression guard: an output whose marker is gone (an interrupted run) is refused."""
    run = fit_parquet(_write_by_sample(_wells(), tmp_path / "w"), _memory("fits"),
                      executor="serial")  # fmt: skip
    assert len(run.read()) == 12
    fsspec.filesystem("memory").rm_file(f"{run.path}/_SUCCESS")
    with pytest.raises(IncompleteRunError, match=r"overwrite=True"):
        run.read()


def test_existing_url_output_needs_overwrite(tmp_path):
    """Regression guard: a non-empty URL output is refused; overwrite replaces it whole."""
    src = _write_by_sample(_wells(), tmp_path / "w")
    dest = _memory("out")
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{dest}/part-00099.parquet", b"old")
    with pytest.raises(OutputError, match=r"holds 1 object.*overwrite=True"):
        fit_parquet(src, dest, executor="serial")
    run = fit_parquet(src, dest, executor="serial", overwrite=True)
    assert not fs.exists(f"{dest}/part-00099.parquet")
    assert len(run.read()) == 12
    with pytest.raises(OutputError, match="inside the input dataset"):
        fit_parquet(src.as_uri(), (src / "out").as_uri(), executor="serial")


# -- clear errors ------------------------------------------------------------------------------


def test_url_errors_name_the_url_and_the_fix(tmp_path):
    """Regression guard: unknown protocol, missing library, missing URL, empty dataset."""
    with pytest.raises(InputError, match=r"nosuch://b/x.*no file system for nosuch://"):
        read_partitions("nosuch://b/x")
    with pytest.raises(OutputError, match=r"nosuch://b/out"):
        simulate_cohort_parquet(None, None, "nosuch://b/out", n_patients=1)
    for protocol, package in (("s3", "s3fs"), ("gs", "gcsfs"), ("abfs", "adlfs")):
        if importlib.util.find_spec(package) is None:
            with pytest.raises(InputError, match=rf"{protocol}://bucket/.*pip install {package}"):
                read_partitions(f"{protocol}://bucket/screen/")
    missing = (tmp_path / "nope").as_uri()
    with pytest.raises(InputError, match=rf"{missing}: no such Parquet file"):
        read_partitions(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no \*\.parquet files"):
        read_partitions((tmp_path / "empty").as_uri())
    with pytest.raises(InputError, match=r"memory://oncoresist-tests/none-.*no such"):
        fit_parquet(_memory("none"), _memory("fits"), executor="serial")


def test_url_schema_mismatch_names_the_url_and_column(tmp_path):
    """Regression guard: the schema check over URLs names the file's URL and the column."""
    url = _memory("mixed")
    pd.DataFrame({"a": [1], "b": [1.0]}).to_parquet(f"{url}/p0.parquet")
    pd.DataFrame({"a": [1]}).to_parquet(f"{url}/p1.parquet")
    with pytest.raises(SchemaError, match=r"memory:///.*p1\.parquet: column 'b' is missing"):
        read_partitions(url)
