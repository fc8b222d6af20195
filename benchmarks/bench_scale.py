"""Scale-out benchmark: partitioned Parquet through the Dask executor on a LocalCluster.

Three workloads, each measured in the same run on the serial executor and on a LocalCluster of
1 and 2 worker processes (one thread each; numba's threads pinned to 1 per worker):

* synthetic 18-point curves from a partitioned well-level Parquet dataset through
  ``oncoresist.scale.fit_parquet`` (4-parameter log-logistic fit, metrics; no CIs or ROUT
  test, the throughput path);
* synthetic 5x5 combination blocks (3 replicates) through ``score_blocks_parquet`` (Bliss,
  HSA, Loewe, ZIP; no bootstrap);
* a virtual-patient cohort (the Zhang 2017 prostate model, continuous abiraterone, the
  branching engine, one year) through ``simulate_cohort_parquet``.

It prints the throughput (items/s, data generation not included; imports and compiled kernels
are loaded in every process before the timing), the ratio to the serial executor, and the peak
resident memory per worker (VmHWM of each worker through ``client.run``; the workloads share a
cluster, so a worker's peak is the largest over the workloads so far). Serial's peak is this
process's.

    python benchmarks/bench_scale.py            # 10,000,000 curves, 1,000,000 blocks, 100,000 patients
    python benchmarks/bench_scale.py --quick    # < 1 min
    python benchmarks/bench_scale.py --curves 200000 --blocks 20000 --patients 10000
    python benchmarks/bench_scale.py --curves 800000 --curves-per-partition 25000   # memory flat?
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import oncoresist.curves as oc
from oncoresist.evolution import example_path, load_model, load_schedule
from oncoresist.scale import (
    DaskExecutor,
    fit_parquet,
    score_blocks_parquet,
    simulate_cohort_parquet,
)
from oncoresist.synergy import make_combination_screen

DOSES = np.repeat(np.logspace(-3, 1, 9), 2)  # 9 doses in duplicate: 18 points, micromolar


def write_curves(folder: Path, n: int, per_part: int, rng: int) -> None:
    """Long well-level partitions of ``n`` synthetic curves, ``per_part`` curves a file."""
    g = np.random.default_rng(rng)
    folder.mkdir()
    for k, start in enumerate(range(0, n, per_part)):
        m = min(per_part, n - start)
        p = np.stack([g.uniform(0.5, 4, m), g.uniform(0, 0.4, m), g.uniform(0.85, 1.1, m),
                      g.uniform(np.log(DOSES[2]), np.log(DOSES[-3]), m)], axis=1)  # fmt: skip
        y = oc.predict("ll4", np.log(DOSES), p) + g.normal(0, 0.05, (m, DOSES.size))
        idx = np.arange(start, start + m)
        pd.DataFrame(
            {
                "sample": np.repeat(np.char.add("s", (idx // 10).astype(str)), DOSES.size),
                "drug": np.repeat(np.char.add("d", (idx % 10).astype(str)), DOSES.size),
                "concentration": np.tile(DOSES, m),
                "viability": y.ravel(),
            }
        ).to_parquet(folder / f"part-{k:05d}.parquet", index=False)


def write_blocks(folder: Path, n: int, per_part: int, rng: int) -> None:
    """Tidy combination partitions of ``n`` synthetic 5x5 blocks with 3 replicates."""
    folder.mkdir()
    for k, start in enumerate(range(0, n, per_part)):
        m = min(per_part, n - start)
        data = make_combination_screen(m, rng=rng + k).data
        data["block_id"] = f"p{k}-" + data["block_id"].astype(str)
        data.to_parquet(folder / f"part-{k:05d}.parquet", index=False)


def warm() -> None:
    """Imports and compiled kernels loaded (numba's cache) in a worker before the timing."""
    from oncoresist.evolution import simulate

    oc.fit_curves(np.log(DOSES), np.ones((1, DOSES.size)))
    simulate(load_model(example_path("zhang2017_model.yaml")),
             load_schedule(example_path("continuous.yaml")), method="branching", n_runs=2,
             t_end=10.0, rng=0)  # fmt: skip
    make_combination_screen(1, rng=0)


def peak_mb() -> float:
    """Peak resident memory of this process's own address space, in MB.

    VmHWM (Linux) rather than ``ru_maxrss``: ``ru_maxrss`` survives ``exec``, so a worker
    process spawned by a larger parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--curves", type=int, default=None)
    ap.add_argument("--blocks", type=int, default=None)
    ap.add_argument("--patients", type=int, default=None)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument(
        "--curves-per-partition",
        type=int,
        default=None,
        help="partition size (default: an eighth of the curves, at most 100,000)",
    )
    args = ap.parse_args()
    n_curves = args.curves or (20_000 if args.quick else 10_000_000)
    n_blocks = args.blocks or (1_000 if args.quick else 1_000_000)
    n_patients = args.patients or (2_000 if args.quick else 100_000)
    workers = [int(w) for w in args.workers.split(",")]
    per_curves = args.curves_per_partition or max(1, min(100_000, n_curves // 8))
    per_blocks = max(1, min(10_000, n_blocks // 8))
    per_patients = max(1, min(10_000, n_patients // 8))
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    model = load_model(example_path("zhang2017_model.yaml"))
    schedule = load_schedule(example_path("continuous.yaml"))
    t0 = time.perf_counter()
    write_curves(tmp / "curves", n_curves, per_curves, rng=0)
    write_blocks(tmp / "blocks", n_blocks, per_blocks, rng=1)
    print(f"data: {n_curves:,} curves in {-(-n_curves // per_curves)} partitions, {n_blocks:,} "
          f"blocks in {-(-n_blocks // per_blocks)}, {n_patients:,} patients in chunks of "
          f"{per_patients:,} (written in {time.perf_counter() - t0:.1f} s, {tmp})")  # fmt: skip

    runs = {
        "curves": (n_curves, lambda ex, d: fit_parquet(
            tmp / "curves", d, ci=None, outliers=None, executor=ex)),
        "blocks": (n_blocks, lambda ex, d: score_blocks_parquet(
            tmp / "blocks", d, conc_unit="uM", executor=ex)),
        "patients": (n_patients, lambda ex, d: simulate_cohort_parquet(
            model, schedule, d, n_patients=n_patients, chunk_size=per_patients,
            method="branching", t_end=365.0, rng=2, executor=ex)),
    }  # fmt: skip
    warm()
    rate: dict[tuple[str, str], float] = {}
    mem: dict[tuple[str, str], str] = {}
    outputs: dict[tuple[str, str], pd.DataFrame] = {}
    for name, (n, run) in runs.items():
        dest = tmp / f"out-{name}-serial"
        rate[name, "serial"] = n / timed(lambda run=run, dest=dest: run("serial", dest))
        mem[name, "serial"] = f"{peak_mb():,.0f} MB (this process)"
        outputs[name, "serial"] = pd.read_parquet(dest) if n <= 200_000 else pd.DataFrame()
        shutil.rmtree(dest)
    import dask
    import distributed  # noqa: F401  (its configuration defaults, before dask.config.set)

    for w in workers:
        label = f"dask x{w}"
        # one thread per worker, numba's too: w workers use w cores
        env = {**dask.config.get("distributed.nanny.pre-spawn-environ"), "NUMBA_NUM_THREADS": "1"}
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ": env}),
            DaskExecutor(n_workers=w, threads_per_worker=1, processes=True) as ex,
        ):
            ex._client.run(warm)
            for name, (n, run) in runs.items():
                dest = tmp / f"out-{name}-{w}"
                rate[name, label] = n / timed(lambda run=run, dest=dest, ex=ex: run(ex, dest))
                rss = ex._client.run(peak_mb)
                mem[name, label] = ", ".join(f"{v:,.0f}" for v in rss.values()) + " MB"
                if not outputs[name, "serial"].empty:
                    same = outputs[name, "serial"].equals(pd.read_parquet(dest))
                    mem[name, label] += "; output = serial" if same else "; OUTPUT DIFFERS"
                shutil.rmtree(dest)
    print(f"(cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f})")
    for name, (n, _) in runs.items():
        print(f"{name} ({n:,}):")
        for label in ["serial"] + [f"dask x{w}" for w in workers]:
            ratio = rate[name, label] / rate[name, "serial"]
            print(f"  {label:8s} {rate[name, label]:12,.0f} {name}/s  ({ratio:.2f}x serial)  "
                  f"peak RSS per worker: {mem[name, label]}")  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
