"""Benchmark: how fast the command line answers, against ``python -c pass`` in the same run.

Measures, each as the median of ``--repeat`` fresh processes:

* ``python -c pass`` (the floor: the interpreter's own start-up);
* ``python -c "import oncoresist.cli"`` (import of the CLI with every command registered);
* ``oncoresist --help``;
* ``oncoresist fit`` of a 6-curve tidy screen (read, QC, fit, write, report) into a temporary
  folder;

and prints each time and its ratio to ``python -c pass``, then the ten slowest imports of the
CLI from ``python -X importtime`` (cumulative microseconds), which say where start-up goes.

    python benchmarks/bench_startup.py            # 7 repeats
    python benchmarks/bench_startup.py --quick    # 3 repeats
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _screen(folder: Path) -> Path:
    """Six curves (2 samples x 3 drugs, 8 doses, duplicates) from known log-logistic curves."""
    rng = np.random.default_rng(0)
    rows = []
    for sample in ("parental", "resistant"):
        for j, drug in enumerate(("drugA", "drugB", "drugC")):
            ic50 = 0.1 * 10**j * (5 if sample == "resistant" else 1)
            for conc in np.logspace(-3, 2, 8):
                for rep in (1, 2):
                    v = 0.05 + 0.95 / (1 + (conc / ic50) ** 1.2) + rng.normal(0, 0.03)
                    rows.append((sample, drug, conc, "uM", v, rep))
    df = pd.DataFrame(rows, columns=["sample", "drug", "concentration", "conc_unit", "viability",
                                     "replicate"])  # fmt: skip
    path = folder / "six_curves.csv"
    df.to_csv(path, index=False)
    return path


def _time(cmd: list[str], repeat: int, env: dict[str, str], before=None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return statistics.median(times)


def _slowest_imports(
    env: dict[str, str],
    n: int = 10,
    args: tuple[str, ...] = ("-c", "import oncoresist.cli"),
    max_depth: int = 2,
) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args],
                          env=env, capture_output=True, text=True)  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cum_us, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2  # two spaces per nesting level
        if depth <= max_depth:  # by default oncoresist.cli, its imports and theirs
            rows.append((int(cum_us), name.rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args()
    repeat = args.repeat or (3 if args.quick else 7)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    cli = shutil.which("oncoresist", path=str(Path(sys.executable).parent)) or "oncoresist"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        screen = _screen(folder)
        out = folder / "fit-out"
        results = {
            "python -c pass": _time([sys.executable, "-c", "pass"], repeat, env),
            "import oncoresist.cli": _time(
                [sys.executable, "-c", "import oncoresist.cli"], repeat, env
            ),
            "oncoresist --help": _time([cli, "--help"], repeat, env),
            "oncoresist fit (6 curves)": _time(
                [cli, "fit", str(screen), "-o", str(out), "--quiet"],
                repeat,
                env,
                before=lambda: shutil.rmtree(out, ignore_errors=True),
            ),
        }
    floor = results["python -c pass"]
    print(f"start-up, median of {repeat} fresh processes (s), ratio to `python -c pass`:")
    for name, secs in results.items():
        print(f"  {name:<28} {secs:7.3f} s   x{secs / floor:6.1f}")
    print("slowest imports under `import oncoresist.cli` (cumulative, ms):")
    for cum, name in _slowest_imports(env):
        print(f"  {cum / 1000:8.1f}  {name}")
    # where the small fit's time goes: the modules it imports (the rest is reading, fitting,
    # the compiled kernel's first call, the report and the writes)
    with tempfile.TemporaryDirectory() as tmp:
        screen = _screen(Path(tmp))
        fit_args = ("-m", "oncoresist.cli", "fit", str(screen), "-o", str(Path(tmp) / "o"),
                    "--quiet")  # fmt: skip
        rows = _slowest_imports(env, n=8, args=fit_args, max_depth=0)
    print("largest imports of the 6-curve fit (top level, cumulative, ms):")
    for cum, name in rows:
        print(f"  {cum / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
