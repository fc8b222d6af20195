"""plotly figures of simulation results (take results, return a Figure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ._simulate import SimulationResult

__all__ = ["plot_schedule_comparison", "plot_trajectories"]


def plot_trajectories(result: SimulationResult, *, run: int = 0, log_y: bool = True) -> go.Figure:
    """Cells per clone and total over time for one run, with drug-on periods shaded.

    Examples
    --------
    >>> from oncoresist.evolution import simulate, zhang2017_model, zhang2017_schedules
    >>> res = simulate(zhang2017_model(), zhang2017_schedules()["adaptive"], t_end=500, dt=5)
    >>> len(plot_trajectories(res).data) >= 4
    True
    """
    fig = go.Figure()
    tr = result.trajectories[result.trajectories["run"] == run]
    for clone, g in tr.groupby("clone", sort=False):
        fig.add_trace(go.Scatter(x=g["time"], y=g["cells"], name=str(clone), mode="lines"))
    b = result.burden[result.burden["run"] == run]
    if not b.empty:
        fig.add_trace(
            go.Scatter(
                x=b["time"],
                y=b["total"],
                name="total",
                mode="lines",
                line={"dash": "dash", "color": "black"},
            )
        )
        on = b["drug_on"].to_numpy(bool)
        t = b["time"].to_numpy(float)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
        for s, e in zip(edges[::2], edges[1::2], strict=False):
            fig.add_vrect(
                x0=t[s], x1=t[min(e, len(t) - 1)], fillcolor="orange", opacity=0.15, line_width=0
            )
    fig.update_layout(
        title=f"{result.model_name}: {result.schedule_name} ({result.method}); shaded = drug on",
        xaxis_title="day",
        yaxis_title="cells",
        yaxis_type="log" if log_y else "linear",
    )
    return fig


def plot_schedule_comparison(
    results: Sequence[SimulationResult], *, measure: str = "measure"
) -> go.Figure:
    """Burden (or biomarker) of run 0 of each schedule on one axis."""
    fig = go.Figure()
    for res in results:
        b = res.burden[res.burden["run"] == 0]
        fig.add_trace(go.Scatter(x=b["time"], y=b[measure], name=res.schedule_name, mode="lines"))
    fig.update_layout(title="Schedule comparison", xaxis_title="day", yaxis_title=measure)
    return fig
