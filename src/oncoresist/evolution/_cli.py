"""``oncoresist simulate MODEL.yaml --schedules a.yaml,b.yaml -o OUT``."""

from __future__ import annotations

from pathlib import Path

import typer

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
    ) -> None:
        """Simulate a tumour model under several schedules and compare them."""
        from rich.console import Console
        from rich.table import Table

        from .._io import write_table
        from . import compare_schedules, load_model, load_schedule, simulate

        m = load_model(model)
        results = []
        for i, s in enumerate(p for p in schedules.split(",") if p.strip()):
            sch = load_schedule(s.strip())
            res = simulate(m, sch, method=method, t_end=t_end, dt=dt, n_runs=n_runs, rng=seed + i)
            results.append(res)
            write_table(res.trajectories, out / f"trajectories_{sch.name}.csv")
            write_table(res.summary, out / f"summary_{sch.name}.csv")
        comp = compare_schedules(results)
        write_table(comp, out / "comparison.csv")
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
