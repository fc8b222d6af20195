"""The Dask backend on a LocalCluster: same results as the serial executor, and bad input.

Small sizes; an in-process cluster (threads) for the equality tests, a real-process cluster
only for the worker that dies mid-run.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _scale_data import wells
from _scale_data import write_by_sample as _write_by_sample

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")

from oncoresist.curves import fit_curves, fit_screen, normalise, predict  # noqa: E402
from oncoresist.curves._executors import resolve_executor  # noqa: E402
from oncoresist.data import make_screen  # noqa: E402
from oncoresist.errors import ExecutorError, InputError, OutputError, SchemaError  # noqa: E402
from oncoresist.evolution import example_path, load_model, load_schedule, simulate  # noqa: E402
from oncoresist.evolution._kernels import cohort  # noqa: E402
from oncoresist.scale import (  # noqa: E402
    DaskExecutor,
    fit_parquet,
    score_blocks_parquet,
    simulate_cohort_parquet,
)
from oncoresist.synergy import (  # noqa: E402
    make_combination_screen,
    score_blocks,
    score_combinations,
)


@pytest.fixture(scope="module")
def ex():
    """Two in-process workers of one thread each (chunks still go through the scheduler)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskExecutor(client)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wells(n_samples: int = 4, drugs: int = 3) -> pd.DataFrame:
    return wells(n_samples, drugs)


def _left_over(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".staging-" in p.name)


# -- results identical to the serial executor ----------------------------------------------


def test_fit_curves_dask_equals_serial(ex):
    x = np.log(np.logspace(-2, 2, 9))
    rng = np.random.default_rng(0)
    truth = np.column_stack(
        [rng.uniform(0.5, 3, 60), rng.uniform(-3, 3, 60), np.ones(60), rng.uniform(0, 0.4, 60)]
    )
    y = predict("ll4", x, truth) + rng.normal(0, 0.04, (60, 9))
    a = fit_curves(x, y, chunk_size=7, executor="serial")
    b = fit_curves(x, y, chunk_size=7, executor=ex)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.sse, b.sse)
    np.testing.assert_array_equal(a.status, b.status)


def test_fit_screen_bootstrap_dask_equals_serial(ex):
    screen = normalise(make_screen(n_samples=3, drugs=2, rng=1).screen)
    kw = dict(ci="bootstrap", n_boot=20, rng=0, chunk_size=5)
    a = fit_screen(screen, executor="serial", **kw)
    b = fit_screen(screen, executor=ex, **kw)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_fit_parquet_curves_and_gdsc_dask_equal_serial(ex, tmp_path):
    src = _write_by_sample(_wells(), tmp_path / "wells")
    for model in ("ll4", "gdsc"):
        a = fit_parquet(src, tmp_path / f"serial-{model}", model=model, executor="serial")
        b = fit_parquet(src, tmp_path / f"dask-{model}", model=model, executor=ex)
        n_files = len(list(src.iterdir()))
        assert a.partitions["n_rows_out"].tolist() == [3] * n_files  # 3 drugs per sample
        pd.testing.assert_frame_equal(a.read(), b.read(), check_exact=True)
    # a Dask DataFrame source gives the same fits as the folder it was read from
    c = fit_parquet(dd.read_parquet(src), tmp_path / "from-ddf", executor=ex)
    d = fit_parquet(src, tmp_path / "serial-again", executor="serial")
    key = ["sample", "drug"]
    pd.testing.assert_frame_equal(
        c.read().sort_values(key, ignore_index=True),
        d.read().sort_values(key, ignore_index=True),
        check_exact=True,
    )


def test_score_combinations_dask_equals_serial(ex, tmp_path):
    screen = make_combination_screen(7, rng=2)
    kw = dict(models=["bliss", "hsa", "zip"], n_boot=20, rng=5, chunk_size=3)
    a = score_combinations(screen, executor="serial", **kw)
    b = score_combinations(screen, executor=ex, **kw)
    pd.testing.assert_frame_equal(a.scores, b.scores, check_exact=True)
    pd.testing.assert_frame_equal(a.surfaces, b.surfaces, check_exact=True)
    src = tmp_path / "blocks"
    src.mkdir()
    data = screen.data
    for i, ids in enumerate(np.array_split(data["block_id"].unique(), 3)):
        data[data["block_id"].isin(ids)].to_parquet(src / f"p{i}.parquet")
    pk = dict(conc_unit="uM", models=["bliss", "loewe"], n_boot=10, rng=1)
    c = score_blocks_parquet(src, tmp_path / "s1", executor="serial", **pk)
    d = score_blocks_parquet(src, tmp_path / "s2", executor=ex, **pk)
    assert c.n_rows == 7 * 2
    pd.testing.assert_frame_equal(c.read(), d.read(), check_exact=True)
    # the FDR is Benjamini-Hochberg over every block of the dataset (per model), not per
    # partition: evidence against statsmodels' BH on the gathered p-values
    from statsmodels.stats.multitest import multipletests

    got = c.read()
    assert got["pvalue"].notna().sum() == 14
    per_part = []
    for _model, g in got.groupby("model"):
        want = multipletests(g["pvalue"].to_numpy(), method="fdr_bh")[1]
        np.testing.assert_allclose(g["fdr"].to_numpy(), want, rtol=1e-12, atol=0)
        for ids in np.array_split(data["block_id"].unique(), 3):
            sub = g[g["block_id"].isin(ids)]
            per_part.append(sub["fdr"] - multipletests(sub["pvalue"], method="fdr_bh")[1])
    assert max(float(np.abs(d).max()) for d in per_part) > 0  # per partition would differ


def test_score_blocks_arrays_dask_equal_serial(ex):
    screen = make_combination_screen(9, rng=4)
    _, c1, c2, r = screen.to_arrays()[0]
    models = ["bliss", "loewe", "zip"]
    kw = dict(models=models, n_boot=15, rng=2, chunk_size=4)
    a = score_blocks(c1, c2, r, executor="serial", **kw)
    b = score_blocks(c1, c2, r, executor=ex, **kw)
    one = score_blocks(c1, c2, r, models=models)  # one batch, no bootstrap
    chunked = score_blocks(c1, c2, r, models=models, executor=ex, chunk_size=4)
    for m in models:
        assert a[m].keys() == b[m].keys()
        for key in a[m]:
            np.testing.assert_array_equal(a[m][key], b[m][key], err_msg=f"{m} {key}")
        for key in one[m]:
            np.testing.assert_array_equal(one[m][key], chunked[m][key], err_msg=f"{m} {key}")


def test_cohort_chunks_on_dask_equal_one_call(ex):
    p = 41
    z = np.zeros((2, 2))
    rng = np.random.default_rng(9)
    args = (rng.integers(20, 80, (p, 2)), rng.uniform(0.1, 0.2, (1, p, 2)))
    kw = dict(kc0=np.full((1, p, 2), 1e4), seg_step=np.array([0]), seg_level=np.array([0]),
              a=np.ones((2, 2)), u=z + 1e-3, s=z, cap_src=np.array([-1, -1]), growth=1,
              dt=1.0, steps=25, record_runs=6)  # fmt: skip
    d_eff = np.full((1, p, 2), 0.12)
    one = cohort(*args, d_eff, rng=np.random.default_rng(4), **kw)
    for chunk in (5, 16):
        many = cohort(*args, d_eff, rng=np.random.default_rng(4), executor=ex, chunk_size=chunk,
                      **kw)  # fmt: skip
        for key in one:
            np.testing.assert_array_equal(np.asarray(one[key]), np.asarray(many[key]), key)


def test_simulate_and_cohort_parquet_dask_equal_serial(ex, tmp_path):
    m = load_model(example_path("zhang2017_model.yaml"))
    s = load_schedule(example_path("continuous.yaml"))
    kw = dict(method="branching", n_runs=30, rng=3, t_end=120.0, crn=False)
    a = simulate(m, s, **kw)
    b = simulate(m, s, executor=ex, **kw)
    pd.testing.assert_frame_equal(a.runs, b.runs, check_exact=True)
    pd.testing.assert_frame_equal(a.mean, b.mean, check_exact=True)
    pk = dict(n_patients=25, chunk_size=10, t_end=90.0, rng=7)
    c = simulate_cohort_parquet(m, s, tmp_path / "c1", executor="serial", **pk)
    d = simulate_cohort_parquet(m, s, tmp_path / "c2", executor=ex, **pk)
    assert c.read()["patient"].tolist() == list(range(25))
    pd.testing.assert_frame_equal(c.read(), d.read(), check_exact=True)


# -- bad input ------------------------------------------------------------------------------


def test_unreachable_scheduler_names_address_and_fix():
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at .*--scheduler"):
        with DaskExecutor(scheduler=address, timeout=1.0):
            pass
    ex = resolve_executor("dask", scheduler=address)
    ex.timeout = 1.0
    with pytest.raises(ExecutorError, match=address):
        list(ex.map(abs, [1, 2]))


def test_scheduler_needs_the_dask_executor():
    with pytest.raises(InputError, match="only used by executor='dask'"):
        resolve_executor("threads", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="not supported"):
        resolve_executor("spark")


def test_unreachable_scheduler_leaves_no_output(tmp_path):
    src = _write_by_sample(_wells(2, 1), tmp_path / "wells")
    dest = tmp_path / "fits"
    ex = DaskExecutor(scheduler=f"tcp://127.0.0.1:{_free_port()}", timeout=1.0)
    with pytest.raises(ExecutorError):
        fit_parquet(src, dest, executor=ex)
    assert not dest.exists()
    assert _left_over(tmp_path) == []


def test_inconsistent_partition_schemas_name_file_and_column(tmp_path):
    wells = _wells(3, 1)
    src = _write_by_sample(wells, tmp_path / "wells")
    bad = wells[wells["sample"] == wells["sample"].iloc[0]].copy()
    bad["viability"] = bad["viability"].astype(str)
    bad.reset_index(drop=True).to_parquet(src / "part9.parquet")
    with pytest.raises(
        SchemaError, match=r"part9\.parquet: column 'viability' is (large_)?string but double"
    ):
        fit_parquet(src, tmp_path / "out", executor="serial")
    (src / "part9.parquet").unlink()
    wells.iloc[:5].drop(columns="drug").reset_index(drop=True).to_parquet(src / "part8.parquet")
    with pytest.raises(SchemaError, match=r"part8\.parquet: column 'drug' is missing"):
        fit_parquet(src, tmp_path / "out", executor="serial")
    assert not (tmp_path / "out").exists()


def test_curve_split_across_partitions_is_refused(tmp_path):
    wells = _wells(2, 1)
    src = tmp_path / "wells"
    src.mkdir()
    half = len(wells) // 2  # one curve's points in both files
    wells.iloc[: half + 3].to_parquet(src / "a.parquet")
    wells.iloc[half + 3 :].to_parquet(src / "b.parquet")
    with pytest.raises(InputError, match=r"two partitions, .*a\.parquet and .*b\.parquet"):
        fit_parquet(src, tmp_path / "out", executor="serial")
    assert not (tmp_path / "out").exists()
    assert _left_over(tmp_path) == []


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    src = _write_by_sample(_wells(2, 1), tmp_path / "wells")
    dest = tmp_path / "fits"
    dest.mkdir()
    with pytest.raises(OutputError, match="exists"):
        fit_parquet(src, dest, executor="serial")
    run = fit_parquet(src, dest, executor="serial", overwrite=True)
    assert (
        run.n_rows == len(list(src.iterdir()))
        and sorted(p.name for p in dest.iterdir())[0] == "part-00000.parquet"
    )
    with pytest.raises(OutputError, match="inside the input"):
        fit_parquet(src, src / "fits", executor="serial")


# -- a worker that dies mid-run ----------------------------------------------------------------


def _die_once(arg: tuple[str, int]) -> int:
    """Kill this worker process the first time it runs (a marker file remembers)."""
    marker, value = arg
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return value * 2


def _read_or_die(arg: tuple[str, str]) -> pd.DataFrame:
    """A Dask DataFrame partition whose reading kills the worker (always, for 'die')."""
    path, mode = arg
    if mode == "die":
        os._exit(1)
    return pd.read_parquet(path)


@pytest.mark.slow  # a real-process cluster and three worker restarts (~20 s idle, more loaded)
def test_worker_death_is_retried_or_fails_without_partial_output(tmp_path):
    src = _write_by_sample(_wells(2, 1), tmp_path / "wells")
    files = sorted(str(p) for p in src.iterdir())
    # one task at a time: a worker's death counts against every task it held
    opts = dict(n_workers=1, threads_per_worker=1, processes=True, retries=1, max_in_flight=1)
    with DaskExecutor(**opts) as ex:
        # killed once: the task runs again on the restarted worker; results complete, in order
        assert list(ex.map(_die_once, [(str(tmp_path / "m0"), 1)])) == [2]
        # killed every time: a clear error after the retry, and no output folder
        meta = pd.read_parquet(files[0]).iloc[:0]
        ddf = dd.from_map(_read_or_die, [(files[0], "ok"), (files[1], "die")], meta=meta)
        dest = tmp_path / "fits"
        with pytest.raises(ExecutorError, match=r"lost with its Dask worker .*retries=1"):
            fit_parquet(ddf, dest, executor=ex)
        assert not dest.exists()
        assert _left_over(tmp_path) == []


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path, capsys):
    from oncoresist.cli import main

    csv = tmp_path / "wells.csv"
    _wells(2, 1).to_csv(csv, index=False)
    address = f"tcp://127.0.0.1:{_free_port()}"
    # one command here (each attempt waits out the 5 s connect timeout); synergy and
    # simulate share the same options and executor_scope
    commands = [["fit", str(csv), "-o", str(tmp_path / "fit")]]
    for argv in commands:
        assert main([*argv, "--executor", "dask", "--scheduler", address]) == 2
        err = capsys.readouterr().err
        assert "cannot reach the Dask scheduler" in err and address in err
        assert not Path(argv[argv.index("-o") + 1]).exists()
    assert main([*commands[0], "--executor", "threads", "--scheduler", address]) == 2
    assert "needs --executor dask" in capsys.readouterr().err
    assert main([*commands[0], "--executor", "spark"]) == 2
    assert "use one of serial, threads, processes, dask" in capsys.readouterr().err


def test_cli_simulate_on_threads_equals_serial(tmp_path):
    from oncoresist.cli import main

    ex_dir = Path(example_path("continuous.yaml")).parent
    base = [
        "simulate", str(ex_dir / "zhang2017_model.yaml"), "--schedules",
        f"{ex_dir / 'continuous.yaml'},{ex_dir / 'adaptive.yaml'}", "--t-end", "150",
    ]  # fmt: skip
    assert main([*base, "-o", str(tmp_path / "a"), "--executor", "serial"]) == 0
    assert main([*base, "-o", str(tmp_path / "b"), "--executor", "threads"]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "a" / "comparison.csv"),
        pd.read_csv(tmp_path / "b" / "comparison.csv"),
    )


def test_cli_synergy_on_threads_equals_serial(tmp_path):
    from oncoresist.cli import main

    csv = tmp_path / "blocks.csv"
    make_combination_screen(4, rng=6).data.to_csv(csv, index=False)
    base = ["synergy", str(csv), "--conc-unit", "uM", "--models", "bliss,hsa", "--n-boot", "10"]
    assert main([*base, "-o", str(tmp_path / "a"), "--executor", "serial"]) == 0
    assert main([*base, "-o", str(tmp_path / "b"), "--executor", "threads"]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "a" / "synergy_scores.csv"),
        pd.read_csv(tmp_path / "b" / "synergy_scores.csv"),
    )
