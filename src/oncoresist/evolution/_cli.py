"""``oncoresist simulate MODEL.yaml --schedules a.yaml,b.yaml -o OUT``."""

from __future__ import annotations

from pathlib import Path

import typer

from .._text import fmt_number
from ..scale._options import check_executor, opt_executor, opt_scheduler

__all__ = ["AUTO_CAP", "AUTO_START", "register"]

#: ``--t-end auto``: the first horizon (days), doubled until every schedule progresses ...
AUTO_START = 1825.0
#: ... and never beyond this (100 years: a model that has not progressed by then is reported
#: censored, its TTP a lower bound)
AUTO_CAP = 36500.0
_TTP = {"nadir": "ttp_nadir", "baseline": "ttp_baseline", "resistant": "ttp_resistant"}


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    def simulate_cmd(
        model: Path = typer.Argument(..., help="Model YAML/JSON"),
        schedules: str = typer.Option(..., "--schedules", help="Comma-separated schedule files"),
        out: Path = typer.Option(Path("oncoresist-simulate"), "-o", "--out", help="Output folder"),
        method: str = typer.Option("ode", help="ode, gillespie, tau_leap or branching"),
        t_end: str = typer.Option(
            "auto",
            "--t-end",
            help="Horizon (days), or 'auto' (default): start at 1825 d and double until every "
            "schedule's median TTP is reached, at most --max-t-end. A TTP not reached by the "
            "horizon is censored: a lower bound, and the ratio says '>=' (or 'censored')",
        ),
        max_t_end: float = typer.Option(
            AUTO_CAP, "--max-t-end", help="Longest horizon of --t-end auto (days)"
        ),
        ttp: str = typer.Option(
            "nadir",
            "--ttp",
            help="Progression that TTP means: nadir (the measure 25% above its on-treatment "
            "nadir, as PCWG's PSA progression), baseline (above 1.2 x the start) or resistant "
            "(resistant clones above 50% of the cells)",
        ),
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

        Writes comparison.csv (median TTP, ttp_censored, ttp_ratio and ttp_ratio_bound: exact,
        lower, upper or unknown), per-schedule trajectories and summaries, and report.html.

        Seeding policy: with common random numbers (the default, as in the demo) schedule
        differences are not seed noise; the per-patient parameter draws (variation) and the
        stochastic events are the same in every arm until the treatments make them differ.
        """
        from rich.console import Console
        from rich.table import Table

        from .._io import check_input, output_run, unique_names, write_table
        from ..curves._executors import executor_scope
        from ..curves._qc_plot import run_section
        from ..errors import InputError
        from ..report import render_report
        from . import compare_schedules, load_model, load_schedule, simulate_schedules
        from ._report import report_section, ttp_ratio_text, ttp_text

        if ttp not in _TTP:
            raise InputError(f"--ttp {ttp!r}: use one of {', '.join(_TTP)}")
        auto = t_end.strip().lower() == "auto"
        try:
            horizon = AUTO_START if auto else float(t_end)
        except ValueError:
            raise InputError(
                f"--t-end {t_end!r}: give a number of days (e.g. --t-end 12000) or 'auto'"
            ) from None
        if not horizon > 0 or not max_t_end > 0:
            raise InputError("--t-end and --max-t-end must be positive numbers of days")
        horizon = min(horizon, max_t_end) if auto else horizon
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
                  "max_t_end": max_t_end, "ttp": ttp, "dt": dt, "n_runs": n_runs, "seed": seed,
                  "crn": crn}  # fmt: skip
        executor = check_executor(executor, scheduler)
        expect = ("comparison.csv", "report.html")
        # one task per schedule; the cluster (or --scheduler) is reached before any output
        with (
            executor_scope(executor, scheduler=scheduler) as ex,
            output_run(out, command="simulate", inputs=[model, *paths], params=params,
                       expect=expect) as run,
        ):  # fmt: skip
            horizons = []
            while True:
                horizons.append(horizon)
                results = simulate_schedules(
                    m, loaded, method=method, t_end=horizon, dt=dt, n_runs=n_runs, rng=seed,
                    crn=crn, executor=ex,
                )  # fmt: skip
                comp = compare_schedules(results, ttp=_TTP[ttp])
                if not auto or not comp["ttp_censored"].any() or horizon >= max_t_end:
                    break
                # rerun from day 0 (not continued): every horizon's runs are the same
                # deterministic/seeded runs, so the result is that of a single run this long
                horizon = min(2 * horizon, max_t_end)
            run.params["t_end_used"] = horizon
            run.params["t_end_tried"] = horizons
            for res, name in zip(results, files, strict=True):
                write_table(res.trajectories, run.path(f"trajectories_{name}.csv"))
                write_table(res.to_frame(), run.path(f"summary_{name}.csv"))
            write_table(comp, run.path("comparison.csv"))
            warn = [
                f"{r.schedule}: median TTP ({ttp}) not reached by day {horizon:g}; the TTP is a "
                "lower bound" + (" and the ratio a bound" if i else "")
                for i, r in enumerate(comp.itertuples())
                if r.ttp_censored
            ]
            how = f"auto: {' -> '.join(f'{h:g}' for h in horizons)} d" if auto else "--t-end"
            sections = [
                run_section(
                    "simulate", inputs=[model, *paths], params=run.params, warnings=warn,
                    outputs=["comparison.csv", "report.html",
                             *(f"{k}_{n}.csv" for n in files for k in ("trajectories", "summary"))],
                ),
                report_section(
                    results, ttp=_TTP[ttp],
                    title=f"{m.name}: schedule comparison ({method}, horizon {horizon:g} d, "
                    f"{how})",
                ),
            ]  # fmt: skip
            render_report(sections, run.path("report.html"), title=f"Simulation: {m.name}")
        table = Table(title=f"{m.name}: schedule comparison ({method}, TTP: {ttp})")
        cols = ["schedule", "median_ttp", "ttp_ratio", "mean_time_off_drug", "mean_exposure",
                "exposure_ratio"]  # fmt: skip
        for c in cols:
            table.add_column(c)
        shown = comp.assign(median_ttp=ttp_text(comp), ttp_ratio=ttp_ratio_text(comp))
        for _, r in shown.iterrows():
            table.add_row(
                *[fmt_number(r[c], ".4g") if isinstance(r[c], float) else str(r[c]) for c in cols]
            )
        console = Console()
        console.print(table)
        console.print(
            f"horizon {horizon:g} days ({how}); "
            + (
                "censored ('>='): not progressed by the horizon, a lower bound"
                if comp["ttp_censored"].any()
                else "every schedule progressed before it"
            ),
            markup=False,
        )
        console.print(
            f"wrote {out}/comparison.csv and per-schedule trajectories/summaries; report: "
            f"{run.final('report.html')}",
            markup=False,
        )
