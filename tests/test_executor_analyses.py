"""Associations and prediction cross-validation on every executor: the serial results, exactly.

Ground truth is the serial executor on small synthetic panels (planted associations, missing
feature values, several tissues). Every other executor (threads, processes, an object with a
``map`` method that runs the chunks in reverse, Dask on a LocalCluster) must give the same
tables bit for bit, since each chunk or fold is computed by the same function on the same input
and the results are gathered in order. A different ``chunk_size`` changes only BLAS blocking of
the drug x feature products, so it agrees to rtol 1e-10 (measured ~1e-12), and the FDR is the
Benjamini-Hochberg of all gathered p-values, not of a chunk's.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oncoresist.biomarkers import anova_associations, linear_associations
from oncoresist.cli import main
from oncoresist.data import Panel, make_panel
from oncoresist.predict import (
    DrugMean,
    MeanEffects,
    evaluate,
    evaluate_cross_study,
    get_model,
    make_response_panel,
    pair_frame,
)

LOCAL_EXECUTORS = ("threads", "processes")
TIMING = ["fit_seconds", "predict_seconds"]


class ReversedPickling:
    """An executor object: pickles every chunk and result, runs the chunks last-first.

    Results still come back in chunk order. Equality with serial shows that no state (random
    numbers, accumulators) passes from one chunk or fold to the next, and that what a process or
    Dask worker would receive round-trips through pickle. It also records each chunk.
    """

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def map(self, func: Callable[[Any], Any], chunks: Iterable[Any]) -> list[Any]:
        self.chunks = [pickle.loads(pickle.dumps(c)) for c in chunks]
        out = [pickle.loads(pickle.dumps(func(c))) for c in reversed(self.chunks)]
        return out[::-1]


def _assert_same_result(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.skipped, b.skipped, check_exact=True)
    pd.testing.assert_frame_equal(a.excluded_samples, b.excluded_samples, check_exact=True)
    assert a.settings == b.settings


def _assert_same_evaluation(a, b) -> None:
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)
    pd.testing.assert_frame_equal(a.fold_metrics(), b.fold_metrics(), check_exact=True)
    pd.testing.assert_frame_equal(
        a.fits.drop(columns=TIMING), b.fits.drop(columns=TIMING), check_exact=True
    )


@pytest.fixture(scope="module")
def panel() -> Panel:
    base, _ = make_panel(n_samples=90, n_drugs=9, n_features=16, n_associations=4, rng=5)
    rng = np.random.default_rng(6)
    expr = pd.DataFrame(
        rng.normal(size=(90, 12)), index=base.samples, columns=[f"E{i}" for i in range(12)]
    )
    expr.iloc[:9, 3] = np.nan  # a feature with its own complete-case sample set
    resp = base.responses.copy()
    resp["D001"] = resp["D001"] + 2.0 * expr["E0"]
    return Panel(
        resp,
        {**base.layers, "expression": expr},
        sample_annotations=base.sample_annotations,
        drug_annotations=base.drug_annotations,
        metric="ln_ic50",
    )


@pytest.fixture(scope="module")
def serial(panel):
    """Serial results (the reference) of the three association analyses, 3 drugs per chunk."""
    return {
        "anova": anova_associations(panel, chunk_size=3),
        "anova_tissue": anova_associations(panel, mode="per_tissue", min_group=2, chunk_size=3),
        "linear": linear_associations(panel, chunk_size=3),
    }


def _associations(panel, which: str, executor: Any):
    if which == "anova":
        return anova_associations(panel, chunk_size=3, executor=executor)
    if which == "anova_tissue":
        return anova_associations(
            panel, mode="per_tissue", min_group=2, chunk_size=3, executor=executor
        )
    return linear_associations(panel, chunk_size=3, executor=executor)


@pytest.mark.parametrize("executor", LOCAL_EXECUTORS)
def test_associations_identical_on_threads_and_processes(panel, serial, executor):
    """ANOVA (pan-cancer and per tissue) and the linear model with missing feature values give
    the serial tables bit for bit on a thread and a process pool."""
    for which, ref in serial.items():
        _assert_same_result(ref, _associations(panel, which, executor))
    assert serial["anova"].n_tests > 50 and serial["linear"].n_tests > 50
    assert len(serial["anova_tissue"].table["tissue"].unique()) > 1


def test_associations_on_an_object_with_map_chunks_by_drug(panel, serial):
    """Any object with ``map`` is an executor; each task holds one tissue group and at most
    ``chunk_size`` drugs (memory per worker bounded by the chunk, not the panel), it survives
    pickling, and chunks run in any order give the serial result."""
    ex = ReversedPickling()
    _assert_same_result(serial["anova_tissue"], _associations(panel, "anova_tissue", ex))
    n_tissues = panel.sample_annotations["tissue"].nunique()
    assert len(ex.chunks) == n_tissues * 3  # 9 drugs in chunks of 3, per tissue
    assert all(c.Y.shape[1] <= 3 and len(c.drug_names) == c.Y.shape[1] for c in ex.chunks)
    assert {c.tissue for c in ex.chunks} == set(serial["anova_tissue"].table["tissue"])


@pytest.mark.parametrize("fn", [anova_associations, linear_associations])
def test_fdr_is_computed_once_over_all_gathered_tests(panel, fn):
    """One drug per chunk vs all drugs in one chunk: the same tests and FDR (rtol 1e-10: only the
    BLAS blocking of the drug x feature products differs), and the FDR is Benjamini-Hochberg of
    every p-value of the call. A per-chunk FDR would differ by far more (checked), so the test
    would catch a correction done before gathering."""
    one = fn(panel, chunk_size=1, executor="threads").table
    whole = fn(panel, chunk_size=len(panel.drugs)).table
    pd.testing.assert_frame_equal(one[["drug", "feature"]], whole[["drug", "feature"]])
    np.testing.assert_allclose(one["pvalue"], whole["pvalue"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(one["fdr"], whole["fdr"], rtol=1e-10, atol=0)
    global_bh = stats.false_discovery_control(one["pvalue"].to_numpy(), method="bh")
    np.testing.assert_array_equal(one["fdr"].to_numpy(), global_bh)
    per_chunk = one.groupby("drug")["pvalue"].transform(
        lambda p: stats.false_discovery_control(p.to_numpy(), method="bh")
    )
    assert np.abs(per_chunk - one["fdr"]).max() > 0.05


def test_chunk_size_must_be_a_positive_whole_number(panel):
    from oncoresist.errors import InputError

    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="chunk_size"):
            anova_associations(panel, chunk_size=bad)


# --------------------------------------------------------------------------- prediction CV
@pytest.fixture(scope="module")
def pairs():
    panel, _ = make_response_panel(n_samples=45, n_drugs=4, n_genes=30, rng=2)
    X, y = pair_frame(panel)
    tissue = panel.annotation("tissue") if "tissue" in panel.sample_annotations else None
    return X, y, tissue


def _models() -> dict[str, Any]:
    return {
        "drug_mean": DrugMean(),
        "mean_effects": MeanEffects(),
        # small settings: the point is equality across executors, not accuracy
        "elastic_net": get_model("elastic_net").set_params(n_alphas=4, cv=2, l1_ratio=(0.5,)),
    }


GRIDS = {"elastic_net": {"n_features": [5, 10]}}  # inner folds use the fold's seed
CV = {"splits": ["pair", "cell_line"], "n_splits": 3, "n_inner": 2, "param_grids": GRIDS}


@pytest.fixture(scope="module")
def serial_evaluation(pairs):
    X, y, _ = pairs
    return evaluate(_models(), X, y, **CV)


@pytest.mark.parametrize("executor", [*LOCAL_EXECUTORS, "object"])
def test_evaluate_identical_on_every_executor(pairs, serial_evaluation, executor):
    """Predictions, fold metrics and fit rows (timings aside) are the serial ones bit for bit,
    inner grid search included: folds are seeded by index, not by worker or order."""
    X, y, _ = pairs
    ex = ReversedPickling() if executor == "object" else executor
    ev = evaluate(_models(), X, y, executor=ex, **CV)
    _assert_same_evaluation(serial_evaluation, ev)
    assert (serial_evaluation.fits["status"] == "ok").all()
    if executor == "object":
        assert len(ex.chunks) == 3  # the last split's folds, one task each
        assert {c.k for c in ex.chunks} == {0, 1, 2}


def test_evaluate_cross_study_identical_on_processes(pairs):
    X, y, _ = pairs
    half = X["drug"].isin(X["drug"].unique()[:3]).to_numpy()
    rng = np.random.default_rng(0)
    y_b = np.asarray(y) * 2.0 + rng.normal(scale=0.1, size=len(y))  # another assay's scale
    kw: dict[str, Any] = {"n_splits": 3}
    ref = evaluate_cross_study(_models(), (X, y), (X[half], y_b[half]), **kw)
    got = evaluate_cross_study(_models(), (X, y), (X[half], y_b[half]), executor="processes", **kw)
    _assert_same_evaluation(ref, got)
    assert "y_true_base" in got.predictions


# --------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def panel_dir(panel, tmp_path_factory):
    d = tmp_path_factory.mktemp("panel")
    panel.responses.to_csv(d / "responses.csv")
    panel.layers["mutation"].to_csv(d / "mutation.csv")
    panel.sample_annotations.to_csv(d / "samples.csv")
    return d


def _associate(panel_dir, out, *extra: str) -> int:
    return main(["associate", str(panel_dir), "-o", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def serial_runs(panel_dir, tmp_path_factory):
    """Output folders of ``associate`` and ``predict evaluate`` on the serial executor."""
    d = tmp_path_factory.mktemp("serial_runs")
    assert _associate(panel_dir, d / "associate") == 0
    assert _predict(d / "predict") == 0
    return d


ASSOCIATE_TABLES = ("associations.csv", "skipped.csv", "excluded_samples.csv")
PREDICT_TABLES = ("fold_metrics.csv", "summary.csv", "per_drug.csv")


def _same_files(a, b, names) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_associate_executor_flag_gives_the_serial_tables(panel_dir, serial_runs, tmp_path):
    assert _associate(panel_dir, tmp_path / "proc", "--executor", "processes") == 0
    _same_files(serial_runs / "associate", tmp_path / "proc", ASSOCIATE_TABLES)


def _predict(out, *extra: str) -> int:
    args = ["predict", "evaluate", "-o", str(out), "--dataset", "synthetic", "--quiet"]
    args += ["--models", "drug_mean,mean_effects", "--n-samples", "40", "--n-drugs", "3"]
    return main([*args, "--splits", "cell_line", *extra])


def test_predict_evaluate_executor_flag_gives_the_serial_metrics(serial_runs, tmp_path):
    assert _predict(tmp_path / "threads", "--executor", "threads") == 0
    _same_files(serial_runs / "predict", tmp_path / "threads", PREDICT_TABLES)


@pytest.mark.parametrize("command", ["associate", "predict"])
def test_bad_executor_name_exits_2_naming_the_choices(panel_dir, tmp_path, capsys, command):
    out = tmp_path / "out"
    if command == "associate":
        code = _associate(panel_dir, out, "--executor", "gpu-cluster")
    else:
        code = _predict(out, "--executor", "gpu-cluster")
    assert code == 2
    err = capsys.readouterr().err
    assert "gpu-cluster" in err
    for choice in ("serial", "threads", "processes", "dask"):
        assert choice in err
    assert not out.exists()  # refused before anything is read or written


@pytest.mark.parametrize("command", ["associate", "predict"])
def test_scheduler_without_dask_exits_2(panel_dir, tmp_path, capsys, command):
    out = tmp_path / "out"
    flags = ("--executor", "threads", "--scheduler", "tcp://127.0.0.1:8786")
    code = _associate(panel_dir, out, *flags) if command == "associate" else _predict(out, *flags)
    assert code == 2
    assert "--executor dask" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip(
        "distributed", reason="the Dask tests need the dask extra (pip install 'oncoresist[dask]')"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def dask_executor(dask_cluster):
    import distributed

    from oncoresist.scale import DaskExecutor

    with distributed.Client(dask_cluster) as client:
        yield DaskExecutor(client)


def test_associations_identical_on_dask(panel, serial, dask_executor):
    """Each tissue group x drug chunk as a Dask task on a 2-worker LocalCluster: the serial
    tables bit for bit."""
    for which, ref in serial.items():
        _assert_same_result(ref, _associations(panel, which, dask_executor))


def test_evaluate_identical_on_dask(pairs, serial_evaluation, dask_executor):
    X, y, _ = pairs
    _assert_same_evaluation(
        serial_evaluation, evaluate(_models(), X, y, executor=dask_executor, **CV)
    )


def test_cli_executor_dask_with_scheduler_address(panel_dir, serial_runs, dask_cluster, tmp_path):
    """``--executor dask --scheduler ADDRESS`` connects to that scheduler; the serial tables."""
    flags = ("--executor", "dask", "--scheduler", dask_cluster.scheduler_address)
    assert _associate(panel_dir, tmp_path / "associate", *flags) == 0
    _same_files(serial_runs / "associate", tmp_path / "associate", ASSOCIATE_TABLES)
    assert _predict(tmp_path / "predict", *flags) == 0
    _same_files(serial_runs / "predict", tmp_path / "predict", PREDICT_TABLES)
