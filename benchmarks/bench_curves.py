"""Benchmark of the batched curve engine against a scipy ``curve_fit(method="lm")`` loop and
thunor's ``fit_drc`` loop (optional, GPL: benchmark only), all measured in the same run; then,
on the GDSC raw plates (needs ``ONCORESIST_DATA_MIRROR``), GDSC's multilevel model
(``fit_gdsc_model``) against a scipy loop of the 2-parameter logistic over the same curves, and
``oncoresist fit <raw file>`` end to end (read, QC, normalise, fit, write, report) against a
pandas + scipy pipeline (read, normalise, curve_fit, write).

    python benchmarks/bench_curves.py            # 100,000 curves, peers on 2,000, 1M memory run
    python benchmarks/bench_curves.py --quick    # < 1 min
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import oncoresist.curves as oc

DOSES = np.log(np.logspace(-3, 1, 9))


def synthetic(n: int, rng: int):
    g = np.random.default_rng(rng)
    x = np.tile(np.repeat(DOSES, 2), (n, 1))
    p = np.stack([g.uniform(0.5, 4, n), g.uniform(0, 0.4, n), g.uniform(0.85, 1.1, n),
                  g.uniform(DOSES[1], DOSES[-2], n)], axis=1)  # fmt: skip
    y = oc.predict("ll4", x, p) + g.normal(0, 0.05, x.shape)
    return x, y, p


def ll4(xx, b, c, d, e):
    with np.errstate(over="ignore"):
        return c + (d - c) / (1 + np.exp(b * (xx - e)))


def scipy_loop(x, y, p0):
    import warnings

    from scipy.optimize import curve_fit

    out = np.full((len(x), 4), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x)):
            try:
                out[i] = curve_fit(ll4, x[i], y[i], p0=p0[i], method="lm", maxfev=2000)[0]
            except RuntimeError:
                pass
    return out


def thunor_loop(x, y):
    import warnings

    from thunor.curve_fit import fit_drc

    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x)):
            fit_drc(np.exp(x[i]) * 1e-6, y[i])  # thunor takes molar doses
            n += 1
    return n


def memory_child(n: int) -> None:
    g = np.random.default_rng(1)
    # shared doses (1-D log_conc) and responses generated chunk by chunk: only y is n x 18
    y = np.empty((n, 18))
    for s in range(0, n, 100_000):
        e = min(s + 100_000, n)
        p = np.stack([g.uniform(0.5, 4, e - s), g.uniform(0, 0.4, e - s), np.ones(e - s),
                      g.uniform(DOSES[1], DOSES[-2], e - s)], 1)  # fmt: skip
        y[s:e] = oc.predict("ll4", np.repeat(DOSES, 2), p) + g.normal(0, 0.05, (e - s, 18))
    t = time.perf_counter()
    fit = oc.fit_curves(np.repeat(DOSES, 2), y, chunk_size=20_000)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB on Linux
    print(f"{n} curves in {dt:.1f} s ({n / dt:,.0f} curves/s); peak RSS {peak:,.0f} MB; "
          f"status ok {np.mean(fit.status == 'ok'):.3f}")  # fmt: skip


_CPU: dict[str, float] = {}


def _best(func, reps: int, key: str = ""):
    """``(result, seconds)``: the fastest of ``reps`` calls of ``func`` (wall clock); the CPU
    seconds of that call (all threads) are kept in ``_CPU[key]``."""
    best = np.inf
    out = None
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        out = func()
        dt = time.perf_counter() - t
        if dt < best:
            best = dt
            _CPU[key] = time.process_time() - c
    return out, best


def ll2(xx, e, b):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(b * (xx - e)))


def scipy_ll2_loop(x, y):
    """scipy ``curve_fit`` of the 2-parameter logistic, one curve at a time (NaN = padding)."""
    from scipy.optimize import curve_fit

    out = np.full((len(x), 2), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x)):
            ok = np.isfinite(x[i]) & np.isfinite(y[i])
            xi, yi = x[i, ok], y[i, ok]
            try:
                out[i] = curve_fit(ll2, xi, yi, p0=[np.median(xi), 1.0], maxfev=2000)[0]
            except RuntimeError:
                pass
    return out


def scipy_pipeline(path: Path, out_dir: Path, max_curves: int | None = None) -> dict[str, float]:
    """The hand-written alternative to ``oncoresist fit``: pandas read, per-plate normalisation
    to the DMSO (NC-1) and blank (B) means, a curve_fit loop, CSV out. Seconds per phase."""
    t = {}
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ctrl = df[df["TAG"].isin(["NC-1", "B"])].groupby(["BARCODE", "TAG"])["INTENSITY"].mean()
    ctrl = ctrl.unstack()
    tr = df[
        df["TAG"].str.match(r"^(?:(?:L|R|PC)\d+-D\d+-S|PC-(?:[2-9]|\d{2,}))$")
        & df["DRUG_ID"].notna()
    ]
    tr = tr.join(ctrl, on="BARCODE")
    tr = tr.assign(viability=(tr["INTENSITY"] - tr["B"]) / (tr["NC-1"] - tr["B"]))
    t["normalise"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    groups = list(tr.groupby(["CELL_LINE_NAME", "DRUG_ID"]))[:max_curves]
    rows = []
    from scipy.optimize import curve_fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (line, drug), g in groups:
            lx, yv = np.log(g["CONC"].to_numpy(float)), g["viability"].to_numpy(float)
            try:
                e, b = curve_fit(ll2, lx, yv, p0=[np.median(lx), 1.0], maxfev=2000)[0]
            except RuntimeError:
                e = b = np.nan
            rows.append((line, drug, np.exp(e), b))
    t["fit"] = time.perf_counter() - t0
    t["n_curves"] = len(groups)
    t0 = time.perf_counter()
    pd.DataFrame(rows, columns=["sample", "drug", "ic50", "hill_slope"]).to_csv(
        out_dir / "fits.csv"
    )
    t["write"] = time.perf_counter() - t0
    return t


def cli_phases(path: Path, extra: list[str]) -> tuple[int, float, dict[str, float]]:
    """``oncoresist fit <path> -o <tmp> --quiet [extra]`` in this process, with the seconds
    spent in each phase (the CLI calls these public steps; they are wrapped, not changed)."""
    import oncoresist._io as io_mod  # the project's writer, not the stdlib io
    import oncoresist.cli as cli
    import oncoresist.curves._cli as ccli
    import oncoresist.curves._normalise as norm_mod
    import oncoresist.curves._qc as qc_mod
    import oncoresist.curves._report as rep_mod
    import oncoresist.curves._screen_fit as sf_mod
    import oncoresist.report as report_mod

    spent: dict[str, float] = {}
    patches = [(ccli, "read_input", "read"), (qc_mod, "plate_qc", "qc"),
               (norm_mod, "normalise", "normalise"), (sf_mod, "fit_screen", "fit"),
               (sf_mod, "curve_outliers", "outliers"), (io_mod, "write_table", "write"),
               (rep_mod, "report_section", "report"), (report_mod, "render_report", "report")]  # fmt: skip
    saved = []
    for mod, name, key in patches:
        func = getattr(mod, name, None)
        if func is None:
            continue
        saved.append((mod, name, func))

        def timed(*a, _f=func, _k=key, **kw):
            t0 = time.perf_counter()
            try:
                return _f(*a, **kw)
            finally:
                spent[_k] = spent.get(_k, 0.0) + time.perf_counter() - t0

        setattr(mod, name, functools.wraps(func)(timed))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            # the command's own messages (wells kept, curves fitted) are not benchmark output
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                rc = cli.main(["fit", str(path), "-o", tmp, "--quiet", *extra])
            total = time.perf_counter() - t0
    finally:
        for mod, name, func in saved:
            setattr(mod, name, func)
    return rc, total, spent


def _split(d: dict[str, float]) -> str:
    keys = ("read", "qc", "normalise", "fit", "outliers", "write", "report")
    return ", ".join(f"{k} {d[k]:.2f}" for k in keys if k in d)


def gdsc_synthetic(n_lines: int, n_drugs: int, rng: int = 0):
    """A GDSC2-like screen (7 half-log doses, cell-line slopes shared across drugs) as a
    normalised Screen, for the scaling of the multilevel model."""
    from oncoresist.data import Screen

    g = np.random.default_rng(rng)
    x = 9 - np.arange(7) * np.log2(np.sqrt(10))
    xm = g.uniform(3, 12, n_drugs)[None, :] + g.normal(0, 1.8, (n_lines, n_drugs))
    scal = np.exp(g.normal(0, 0.4, n_lines))[:, None, None]
    y = 1 / (1 + np.exp((x - xm[..., None]) / scal)) + g.normal(0, 0.1, (n_lines, n_drugs, 7))
    cmax = 10.0 ** g.integers(-1, 2, n_drugs)
    conc = np.broadcast_to(cmax[None, :, None] * 2.0 ** (x - 9), y.shape)
    frame = pd.DataFrame(
        {
            "sample": np.repeat([f"L{i:04d}" for i in range(n_lines)], n_drugs * 7),
            "drug": np.tile(np.repeat([f"D{j:03d}" for j in range(n_drugs)], 7), n_lines),
            "concentration": conc.ravel(),
            "viability": y.ravel(),
        }
    )
    return Screen.from_frame(frame)


def gdsc_raw_benchmarks(quick: bool) -> None:
    """(a) GDSC's multilevel model on the raw plates vs a scipy 2-parameter loop over the same
    curves; (b) ``oncoresist fit`` end to end vs a pandas + scipy pipeline."""
    from oncoresist.curves._gdsc_model import fit_gdsc_multilevel
    from oncoresist.data import fetch_file, fetch_gdsc_raw_plates, mirror_available

    if not mirror_available("gdsc_raw_plates"):
        print("GDSC raw plates: skipped (set ONCORESIST_DATA_MIRROR to the public data mirror)")
        return
    reps = 2 if quick else 3
    screen = oc.normalise(fetch_gdsc_raw_plates())
    keys, x, y = oc.curve_arrays(screen)
    fit, t_gdsc = _best(lambda: fit_gdsc_multilevel(screen), reps)
    _, t_sp = _best(lambda: scipy_ll2_loop(x, y), 1 if quick else reps)
    n = len(keys)
    print(f"GDSC raw plates, {n:,} curves ({int(np.isfinite(x).sum()):,} points): multilevel "
          f"model {t_gdsc:.2f} s ({fit.n_iter} iterations, converged {fit.converged}); scipy "
          f"curve_fit 2-parameter loop {t_sp:.2f} s; ratio {t_sp / t_gdsc:.1f}x")  # fmt: skip
    path = fetch_file("gdsc_raw_plates", "gdsc_raw_wells_part.csv.gz")
    size = path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        sp = scipy_pipeline(path, Path(tmp))
    sp_total = sum(v for k, v in sp.items() if k != "n_curves")
    print(f"end to end on {path.name} ({size:.1f} MB), pandas + scipy pipeline "
          f"({int(sp['n_curves']):,} curves): {sp_total:.2f} s ({_split(sp)})")  # fmt: skip
    runs = [("--model gdsc", ["--model", "gdsc"])]
    if not quick:
        runs.append(("default (ll4, ROUT outliers flagged, delta CIs)", []))
    for label, extra in runs:
        rc, total, spent = cli_phases(path, extra)
        print(f"  oncoresist fit {label}: {total:.2f} s in process ({_split(spent)}); exit "
              f"{rc}; ratio to the pipeline {sp_total / total:.2f}x")  # fmt: skip
    if not quick:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "oncoresist.cli", "fit", str(path), "-o", tmp, "--quiet",
                   "--model", "gdsc"]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(f"  oncoresist fit --model gdsc as a command (interpreter start and imports "
              f"included): {time.perf_counter() - t0:.2f} s, exit {out.returncode}")  # fmt: skip
    if not quick:
        from oncoresist.curves._gdsc_model import fit_gdsc_multilevel as fit_ml

        for n_lines, n_drugs in ((300, 50), (1000, 100)):
            syn = gdsc_synthetic(n_lines, n_drugs)
            res, t_syn = _best(lambda s=syn: fit_ml(s), 1)
            print(f"  multilevel model, synthetic {n_lines} lines x {n_drugs} drugs "
                  f"({n_lines * n_drugs:,} curves): {t_syn:.2f} s, {res.n_iter} iterations")  # fmt: skip
    print(f"(threads {os.cpu_count()}, load average {os.getloadavg()[0]:.2f})")


def kernel_comparison(x, y, sse_sp, inb, reps: int) -> None:
    """The two compiled curve kernels in the same run, interleaved: the scalar one (one curve
    per loop iteration, ``engine="numba"``) and the structure-of-arrays one (``"numba_soa"``).
    Kernel only (what ``fit_curves`` calls per chunk, default bounds, start grid): curves/s per
    core (1 thread, CPU time) and on all cores (wall); then ``fit_curves`` end to end; then the
    SSE against scipy's lm fits (``sse_sp``, where ``inb``: scipy's fit inside our bounds)."""
    from oncoresist.curves._lm_numba import lm_loglogistic

    n = len(x)
    lo, hi = oc.MODELS["ll4"].default_bounds(x, y)
    args = (x, y, np.ones_like(y), np.zeros((n, 4)), lo, hi, np.ones(4, bool))
    kw = {"grid": True, "max_iter": 400, "ftol": 1e-10, "xtol": 1e-10, "gtol": 1e-8}
    kernels = {"scalar (numba)": "scalar", "soa (numba_soa)": "soa"}
    n_cores = os.cpu_count() or 1
    cpu = {k: np.inf for k in kernels}
    wall = {k: np.inf for k in kernels}
    for _ in range(reps):  # interleaved, best of reps: a busy shared machine hits both alike
        for name, layout in kernels.items():
            c = time.thread_time()
            lm_loglogistic(*args, n_threads=1, layout=layout, **kw)
            cpu[name] = min(cpu[name], time.thread_time() - c)
            t = time.perf_counter()
            lm_loglogistic(*args, n_threads=n_cores, layout=layout, **kw)
            wall[name] = min(wall[name], time.perf_counter() - t)
    e2e = {}
    for name, engine in (("scalar (numba)", "numba"), ("soa (numba_soa)", "numba_soa")):
        _, e2e[name] = _best(lambda eng=engine: oc.fit_curves(x, y, engine=eng), reps)
    base = "scalar (numba)"
    for name in kernels:
        print(f"kernel {name}, {n:,} ll4 curves of 18 points: {cpu[name] / n * 1e6:.2f} us CPU "
              f"per curve = {n / cpu[name]:,.0f} curves/s per core; {n / wall[name]:,.0f} "
              f"curves/s on {n_cores} cores; fit_curves end to end {n / e2e[name]:,.0f} curves/s"
              f" (ratio to scalar: kernel {cpu[base] / cpu[name]:.2f}x per core, "
              f"{wall[base] / wall[name]:.2f}x on {n_cores} cores, end to end "
              f"{e2e[base] / e2e[name]:.2f}x)")  # fmt: skip
    m = len(sse_sp)
    for engine in ("numba", "numba_soa"):
        sse = oc.fit_curves(x[:m], y[:m], engine=engine).sse
        excess = (sse - sse_sp) / np.maximum(sse_sp, 1e-300)
        within = excess[inb] <= 1e-6
        print(f"SSE vs scipy lm ({engine}), {inb.sum()} curves with scipy's fit inside our bounds: "
              f"within 1e-6 (relative) or better on {within.mean():.4f}; worst relative excess "
              f"{excess[inb].max():.2e}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    n, n_peer, n_mem = (20_000, 300, 200_000) if args.quick else (100_000, 2_000, 1_000_000)
    reps = 3
    x, y, p = synthetic(n, 0)
    oc.fit_curves(x[:50], y[:50])  # compile / warm up
    # each timing is the best of `reps` runs (as timeit does), so that a busy shared machine
    # penalises the peers and us alike
    fit, t_ours = _best(lambda: oc.fit_curves(x, y), reps, "ours")
    _, t_np = _best(lambda: oc.fit_curves(x[: n_peer * 5], y[: n_peer * 5], engine="numpy"), reps)
    p0 = oc.MODELS["ll4"].start(x[:n_peer], y[:n_peer])
    sp, t_sp = _best(lambda: scipy_loop(x[:n_peer], y[:n_peer], p0), reps, "scipy")
    rate_ours, rate_np, rate_sp = n / t_ours, n_peer * 5 / t_np, n_peer / t_sp
    print(f"oncoresist (numba engine, {n:,} curves): {rate_ours:,.0f} curves/s")
    print(f"oncoresist (numpy engine, {n_peer * 5:,} curves): {rate_np:,.0f} curves/s")
    print(f"scipy curve_fit lm loop ({n_peer:,} curves): {rate_sp:,.0f} curves/s")
    print(f"speed-up vs scipy: numba {rate_ours / rate_sp:.1f}x, numpy {rate_np / rate_sp:.1f}x")
    cpu_ours, cpu_sp = _CPU["ours"] / n, _CPU["scipy"] / n_peer
    print(f"CPU time per curve (all threads): numba {cpu_ours * 1e6:.1f} us, scipy "
          f"{cpu_sp * 1e6:.0f} us: {cpu_sp / cpu_ours:.0f}x per core; "
          f"threads {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    try:
        m = min(n_peer, 500)
        _, t_th = _best(lambda: thunor_loop(x[:m], y[:m]), reps)
        rate_th = m / t_th
        print(
            f"thunor fit_drc loop ({m} curves): {rate_th:,.0f} curves/s; speed-up {rate_ours / rate_th:.1f}x"
        )
    except Exception as exc:  # thunor is optional (GPL, benchmark only)
        print(f"thunor: skipped ({type(exc).__name__}: {exc})")
    ok = fit.status == "ok"
    err = np.abs(fit.params[ok, 3] - p[ok, 3])
    print(f"|ln EC50 error| vs truth: median {np.median(err):.3f}, 95th pct {np.quantile(err, 0.95):.3f} "
          f"(status ok {ok.mean():.4f})")  # fmt: skip
    sse_sp = np.sum((y[:n_peer] - ll4(x[:n_peer], *sp.T[:, :, None])) ** 2, axis=1)
    ratio = fit.sse[:n_peer] / sse_sp
    # scipy is unbounded; compare where its solution lies inside our default box (|slope| <= 20,
    # ln EC50 within 10 of the tested range, asymptotes within one response range of the data)
    lo_b, hi_b = oc.MODELS["ll4"].default_bounds(x[:n_peer], y[:n_peer])
    inb = np.isfinite(ratio) & np.all((sp >= lo_b) & (sp <= hi_b), axis=1)
    q = np.quantile(ratio[inb], [0.01, 0.5, 0.99, 1.0])
    print(f"SSE ratio ours/scipy on {inb.sum()} curves with scipy's fit inside our default bounds: "
          f"q01 {q[0]:.8f} median {q[1]:.8f} q99 {q[2]:.8f} max {q[3]:.8f}; "
          f"<= 1+1e-6 on {np.mean(ratio[inb] <= 1 + 1e-6):.4f}")  # fmt: skip
    print(f"scipy fits outside our default bounds (|slope| > 20 or asymptote/EC50 beyond the box): "
          f"{(~inb).sum()}")  # fmt: skip
    kernel_comparison(x, y, sse_sp, inb, reps)
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(n_mem)],
                         capture_output=True, text=True, check=False)  # fmt: skip
    print("memory:", out.stdout.strip() or out.stderr.strip()[-500:])
    gdsc_raw_benchmarks(args.quick)


if __name__ == "__main__":
    main()
