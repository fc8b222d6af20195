"""Schedule comparison tables and the report section."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..curves._executors import Executor, executor_scope
from ..errors import InputError
from ._model import Model, Schedule
from ._simulate import SimulationResult, simulate

__all__ = ["compare_schedules", "report_section", "simulate_schedules"]


def compare_schedules(
    results: Sequence[SimulationResult], *, reference: str | None = None, ttp: str = "ttp_nadir"
) -> pd.DataFrame:
    """One row per schedule: outcomes and ratios to the ``reference`` schedule (first by default).

    ``ttp_ratio`` uses the median of the ``ttp`` column (``ttp_nadir``, ``ttp_baseline`` or
    ``ttp_resistant``) (progression censored at ``t_end`` counts as
    ``t_end``, so the ratio is then a lower bound; ``ttp_censored`` says so).
    """
    results = list(results)
    if not results:
        raise InputError("no results to compare: give one SimulationResult per schedule")
    rows = []
    for r in results:
        o = r.outcomes().iloc[0].to_dict()
        s = r.summary
        ttp_v = s[ttp].fillna(r.t_end)
        o["ttp_definition"] = ttp
        o["median_ttp"] = float(ttp_v.median())
        o["ttp_censored"] = bool(s[ttp].isna().mean() >= 0.5)
        expo = [c for c in s.columns if c.startswith("exposure_")]
        o["mean_exposure"] = float(s[expo].sum(axis=1).mean()) if expo else 0.0
        o["exposure_until_ttp"] = math.nan
        rows.append(o)
    df = pd.DataFrame(rows)
    if reference is not None and not (df["schedule"] == reference).any():
        raise InputError(
            f"reference schedule {reference!r} is not among the results {list(df['schedule'])}"
        )
    ref = df.iloc[0] if reference is None else df[df["schedule"] == reference].iloc[0]
    df["ttp_ratio"] = df["median_ttp"] / ref["median_ttp"]
    df["exposure_ratio"] = (
        df["mean_exposure"] / ref["mean_exposure"] if ref["mean_exposure"] > 0 else math.nan
    )
    return df.drop(columns=["exposure_until_ttp"])


def _simulate_task(task: tuple) -> SimulationResult:
    """One schedule of :func:`simulate_schedules` (module level: executors pickle it)."""
    model, schedule, kw = task
    return simulate(model, schedule, **kw)


def simulate_schedules(
    model: Model,
    schedules: Sequence[Schedule],
    *,
    method: str = "ode",
    t_end: float = 365.0,
    dt: float = 1.0,
    n_runs: int = 1,
    rng: int = 0,
    crn: bool = True,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
) -> list[SimulationResult]:
    """:func:`simulate` ``model`` under every schedule, the schedules run on ``executor``.

    With ``crn`` every schedule gets the seed ``rng`` (common random numbers: patient ``r``
    meets the same chance events in every arm), otherwise schedule ``i`` gets ``rng + i``.
    Each schedule is one task (``"dask"``: on the scheduler at ``scheduler``, a local
    cluster when None), so the results are those of the serial loop, in order; pass them to
    :func:`compare_schedules`.

    Examples
    --------
    >>> from oncoresist.evolution import example_path, load_model, load_schedule
    >>> m = load_model(example_path("zhang2017_model.yaml"))
    >>> arms = [load_schedule(example_path(f)) for f in ("continuous.yaml", "adaptive.yaml")]
    >>> res = simulate_schedules(m, arms, t_end=200.0, executor="threads")
    >>> compare_schedules(res)["schedule"].tolist()
    ['continuous', 'adaptive']
    """
    tasks = [
        (model, sch, {"method": method, "t_end": float(t_end), "dt": float(dt),
                      "n_runs": int(n_runs), "rng": int(rng) if crn else int(rng) + i, "crn": crn})
        for i, sch in enumerate(schedules)
    ]  # fmt: skip
    with executor_scope(executor, scheduler=scheduler) as ex:
        return list(ex.map(_simulate_task, tasks))


def report_section(
    results: Sequence[SimulationResult],
    *,
    title: str = "Tumour evolution under therapy",
    text: str = "",
    ttp: str = "ttp_nadir",
) -> Any:
    """A report :class:`~oncoresist.report.Section` comparing schedules."""
    from ..report import Section
    from ._plot import plot_schedule_comparison, plot_trajectories

    table = compare_schedules(results, ttp=ttp)
    figs = [plot_schedule_comparison(results)] + [plot_trajectories(r) for r in results]
    intro = text or (
        "<p>Each schedule was simulated on the same model. Time to progression (TTP) is the first "
        "rise of the measured burden 25% above its on-treatment nadir; ratios are against the "
        "first schedule. A censored TTP (no progression by the horizon) makes the ratio a lower "
        "bound.</p>"
    )
    return Section(title, text=intro, figures=figs, tables=[("Schedule comparison", table)])
