"""Schedule comparison tables and the report section."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._text import fmt_number
from ..curves._executors import Executor, executor_scope
from ..errors import InputError
from ._model import Model, Schedule
from ._simulate import SimulationResult, simulate

__all__ = [
    "compare_schedules",
    "report_section",
    "simulate_schedules",
    "ttp_ratio_text",
    "ttp_text",
]


def compare_schedules(
    results: Sequence[SimulationResult], *, reference: str | None = None, ttp: str = "ttp_nadir"
) -> pd.DataFrame:
    """One row per schedule: outcomes and ratios to the ``reference`` schedule (first by default).

    ``ttp_ratio`` uses the median of the ``ttp`` column (``ttp_nadir``, ``ttp_baseline`` or
    ``ttp_resistant``) (progression censored at ``t_end`` counts as ``t_end``, so a censored
    median is a lower bound; ``ttp_censored`` says so). ``ttp_ratio_bound`` says what the ratio
    is: ``exact``, ``lower`` (this schedule censored: the true ratio is at least this),
    ``upper`` (the reference censored: at most this), ``unknown`` (both censored: no bound) or
    ``reference``; :func:`ttp_ratio_text` writes it as ``3.67``, ``>= 3.5``, ``<= 0.3`` or
    ``censored``.
    """
    results = list(results)
    if not results:
        raise InputError("no results to compare: give one SimulationResult per schedule")
    rows = []
    for r in results:
        o = r.outcomes().iloc[0].to_dict()
        s = r.to_frame()  # the per-run table (named summary or runs by version)
        ttp_v = s[ttp].fillna(r.t_end)
        o["ttp_definition"] = ttp
        o["median_ttp"] = float(ttp_v.median())
        o["ttp_censored"] = bool(s[ttp].isna().mean() >= 0.5)
        o["t_end"] = float(r.t_end)
        expo = [c for c in s.columns if c.startswith("exposure_")]
        o["mean_exposure"] = float(s[expo].sum(axis=1).mean()) if expo else 0.0
        o["exposure_until_ttp"] = math.nan
        rows.append(o)
    df = pd.DataFrame(rows)
    if reference is not None and not (df["schedule"] == reference).any():
        raise InputError(
            f"reference schedule {reference!r} is not among the results {list(df['schedule'])}"
        )
    i_ref = 0 if reference is None else int(np.flatnonzero(df["schedule"] == reference)[0])
    ref = df.iloc[i_ref]
    df["ttp_ratio"] = df["median_ttp"] / ref["median_ttp"]
    cens, ref_cens = df["ttp_censored"].to_numpy(bool), bool(ref["ttp_censored"])
    bound = np.where(
        cens, "unknown" if ref_cens else "lower", "upper" if ref_cens else "exact"
    ).astype(object)
    bound[i_ref] = "reference"
    df["ttp_ratio_bound"] = bound
    df["exposure_ratio"] = (
        df["mean_exposure"] / ref["mean_exposure"] if ref["mean_exposure"] > 0 else math.nan
    )
    return df.drop(columns=["exposure_until_ttp"])


def ttp_ratio_text(comparison: pd.DataFrame) -> list[str]:
    """The TTP ratios of :func:`compare_schedules` as text that says what a censored one is:
    ``2.84`` (exact), ``>= 3.5`` (a lower bound), ``<= 0.3`` (an upper bound), ``censored``
    (no bound: both censored), ``1 (ref)``.

    Examples
    --------
    >>> import pandas as pd
    >>> ttp_ratio_text(pd.DataFrame({"ttp_ratio": [1.0, 3.51],
    ...                              "ttp_ratio_bound": ["reference", "lower"]}))
    ['1 (ref)', '>= 3.51']
    """
    out = []
    for v, b in zip(comparison["ttp_ratio"], comparison["ttp_ratio_bound"], strict=True):
        num = fmt_number(v, ".3g")
        if num == "n/a":  # no ratio at all (an empty reference): say so, bound or not
            out.append("n/a")
            continue
        out.append(
            {"exact": num, "lower": f">= {num}", "upper": f"<= {num}", "reference": "1 (ref)"}
            .get(b, "censored")
        )  # fmt: skip
    return out


def ttp_text(comparison: pd.DataFrame) -> list[str]:
    """Median TTPs as text: ``3422`` or, censored at the horizon, ``>= 1825``."""
    return [
        f">= {fmt_number(v, '.6g')}" if c else fmt_number(v, ".6g")
        for v, c in zip(comparison["median_ttp"], comparison["ttp_censored"], strict=True)
    ]


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


_TTP_WORDS = {
    "ttp_nadir": "the first rise of the measured burden 25% above its on-treatment nadir",
    "ttp_baseline": "the measured burden above 1.2 x its value at the start",
    "ttp_resistant": "resistant clones above 50% of the cells",
}


def report_section(
    results: Sequence[SimulationResult],
    *,
    title: str = "Tumour evolution under therapy",
    text: str = "",
    ttp: str = "ttp_nadir",
) -> Any:
    """A report :class:`~oncoresist.report.Section` comparing schedules.

    The text gives every schedule's median TTP and TTP ratio with its censoring said (a TTP
    censored at the horizon is a lower bound, and so is a ratio over it).
    """
    from ..report import Section
    from ._plot import plot_schedule_comparison, plot_trajectories

    table = compare_schedules(results, ttp=ttp)
    shown = table.assign(median_ttp_text=ttp_text(table), ttp_ratio_text=ttp_ratio_text(table))
    first = ["schedule", "median_ttp_text", "ttp_ratio_text", "ttp_censored", "t_end"]
    shown = shown[first + [c for c in shown.columns if c not in first]]
    figs = [plot_schedule_comparison(results)] + [plot_trajectories(r) for r in results]
    lines = "".join(
        f"<li>{html.escape(str(name))}: median TTP {t} days, ratio {q}</li>"
        for name, t, q in zip(
            table["schedule"], shown["median_ttp_text"], shown["ttp_ratio_text"], strict=True
        )
    )
    censored = bool(table["ttp_censored"].any())
    intro = text or (
        f"<p>Each schedule was simulated on the same model. Time to progression (TTP, "
        f"<code>{html.escape(ttp)}</code>) is {_TTP_WORDS.get(ttp, html.escape(ttp))}; ratios "
        f"are against the first schedule.</p><ul>{lines}</ul>"
        + (
            "<p><b>Censored:</b> a schedule marked '&gt;=' did not progress by the horizon; its "
            "TTP is a lower bound and its ratio a bound, not an estimate (run longer: "
            "<code>--t-end</code>).</p>"
            if censored
            else "<p>Every schedule progressed before the horizon: the ratios are estimates, "
            "not bounds.</p>"
        )
    )
    return Section(title, text=intro, figures=figs, tables=[("Schedule comparison", shown)])
