"""``oncoresist simulate MODEL.yaml --schedules a.yaml,b.yaml -o OUT``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..scale._options import check_executor, opt_executor, opt_scheduler

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    def simulate_cmd(
        model: Path = typer.Argument(..., help="Model YAML/JSON"),
        schedules: str = typer.Option(..., "--schedules", help="Comma-separated schedule files"),
        out: Path = typer.Option(Path("oncoresist-simulate"), "-o", "--out", help="Output folder"),
        method: str = typer.Option("ode", help="ode, gillespie, tau_leap or branching"),
        t_end: float = typer.Option(1825.0, help="Horizon (days)"),
        dt: float = typer.Option(1.0, help="Step / output interval (days)"),
        n_runs: int = typer.Option(1, help="Stochastic runs / virtual patients"),
        seed: int = typer.Option(0, help="Random seed"),
        crn: bool = typer.Option(
            True,
            "--crn/--independent-seeds",
            help="Common random numbers (default): every schedule runs with the same seed and "
            "step-synchronised streams, so patient r meets the same chance events in every "
            "arm; --independent-seeds gives schedule i the seed seed + i",
        ),
        executor: str | None = opt_executor(),
        scheduler: str | None = opt_scheduler(),
    ) -> None:
        """Simulate a tumour model under several schedules and compare them.

        Seeding policy: with common random numbers (the default, as in the demo) schedule
        differences are not seed noise; the per-patient parameter draws (variation) and the
        stochastic events are the same in every arm until the treatments make them differ.
        """
        from rich.console import Console
        from rich.table import Table

        from .._io import check_input, output_run, unique_names, write_table
        from ..curves._executors import executor_scope
        from ..errors import InputError
        from . import compare_schedules, load_model, load_schedule, simulate_schedules

        paths = [Path(p.strip()) for p in schedules.split(",") if p.strip()]
        if not paths:
            raise InputError(
                f"--schedules {schedules!r} names no file; give one or more schedule files, "
                "comma-separated (e.g. --schedules continuous.yaml,adaptive.yaml)"
            )
        for path in (model, *paths):
            check_input(path)
        m = load_model(model)
        loaded = [load_schedule(p) for p in paths]
        # schedule names come from the user's files: they become file names only sanitised
        # (no separators, no '..') and made unique, so nothing lands outside -o or on another
        files = unique_names(sch.name for sch in loaded)
        params = {"schedules": [str(p) for p in paths], "method": method, "t_end": t_end,
                  "dt": dt, "n_runs": n_runs, "seed": seed, "crn": crn}  # fmt: skip
        executor = check_executor(executor, scheduler)
        # one task per schedule; the cluster (or --scheduler) is reached before any output
        with (
            executor_scope(executor, scheduler=scheduler) as ex,
            output_run(out, command="simulate", inputs=[model, *paths], params=params) as run,
        ):
            results = simulate_schedules(
                m, loaded, method=method, t_end=t_end, dt=dt, n_runs=n_runs, rng=seed, crn=crn,
                executor=ex,
            )  # fmt: skip
            for res, name in zip(results, files, strict=True):
                write_table(res.trajectories, run.path(f"trajectories_{name}.csv"))
                write_table(res.summary, run.path(f"summary_{name}.csv"))
            comp = compare_schedules(results)
            write_table(comp, run.path("comparison.csv"))
        table = Table(title=f"{m.name}: schedule comparison ({method})")
        cols = [
            "schedule",
            "median_ttp",
            "ttp_censored",
            "ttp_ratio",
            "mean_time_off_drug",
            "mean_exposure",
            "exposure_ratio",
        ]
        for c in cols:
            table.add_column(c)
        for _, r in comp.iterrows():
            table.add_row(*[f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols])
        Console().print(table)
        Console().print(f"wrote {out}/comparison.csv and per-schedule trajectories/summaries")
