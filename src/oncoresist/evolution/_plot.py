"""plotly figures of simulation results (take results, return a Figure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ._simulate import SimulationResult

__all__ = ["LOG_FLOOR_DECADES", "log_floor", "plot_schedule_comparison", "plot_trajectories"]

#: Decades below the largest value that a log-scale trajectory axis spans at least when the
#: model counts fewer than a million cells (normalised units): see :func:`log_floor`.
LOG_FLOOR_DECADES = 6


def log_floor(values: np.ndarray) -> float:
    """Lower end of a log axis of cell numbers: one cell (below it a population is extinct),
    or :data:`LOG_FLOOR_DECADES` decades below the largest value when that is lower (models in
    normalised units), or the smallest positive value when that is higher; NaN when no value is
    positive. Populations that die out or fall below the floor are drawn at it.

    Examples
    --------
    >>> log_floor(np.array([0.0, 1e-12, 3.0, 1e10]))  # one cell
    1.0
    >>> log_floor(np.array([0.0, 1e-12, 5.0, 1e4]))  # six decades below 1e4 "cells"
    0.01
    >>> log_floor(np.array([20.0, 1e4]))  # nothing below 20
    20.0
    """
    v = np.asarray(values, dtype=float)
    pos = v[np.isfinite(v) & (v > 0)]
    if not pos.size:
        return float("nan")
    return float(max(pos.min(), min(1.0, pos.max() * 10.0**-LOG_FLOOR_DECADES)))


def plot_trajectories(result: SimulationResult, *, run: int = 0, log_y: bool = True) -> go.Figure:
    """Cells per clone and total over time for one run, with drug-on periods shaded.

    On the log axis (``log_y``) the axis starts at :func:`log_floor` of the values (one cell,
    or :data:`LOG_FLOOR_DECADES` decades below the largest value for models in smaller units):
    populations that die out or fall below it are drawn at the floor, as the hover text and the
    subtitle say; ``layout.meta["log_floor"]`` holds the floor.

    Examples
    --------
    >>> from oncoresist.evolution import simulate, zhang2017_model, zhang2017_schedules
    >>> res = simulate(zhang2017_model(), zhang2017_schedules()["adaptive"], t_end=500, dt=5)
    >>> len(plot_trajectories(res).data) >= 4
    True
    """
    fig = go.Figure()
    tr = result.trajectories[result.trajectories["run"] == run]
    b = result.burden[result.burden["run"] == run]
    floor = log_floor(np.r_[tr["cells"].to_numpy(float), b["total"].to_numpy(float)])
    log_y = log_y and bool(np.isfinite(floor))

    def drawn(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values drawn (clipped to the floor on a log axis) and the hover text of each."""
        real = np.char.add(np.char.mod("%.4g", v), " cells")
        if not log_y:
            return v, real
        low = ~(v > floor)
        return np.where(low, floor, v), np.where(
            low, np.char.add(real, " (drawn at the floor)"), real
        )

    hover = "day %{x:.4g}: %{text}<extra>%{fullData.name}</extra>"
    for clone, g in tr.groupby("clone", sort=False):
        y, text = drawn(g["cells"].to_numpy(float))
        fig.add_trace(go.Scatter(x=g["time"], y=y, text=text, hovertemplate=hover,
                                 name=str(clone), mode="lines"))  # fmt: skip
    if not b.empty:
        y, text = drawn(b["total"].to_numpy(float))
        fig.add_trace(
            go.Scatter(
                x=b["time"],
                y=y,
                text=text,
                hovertemplate=hover,
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
    title = f"{result.model_name}: {result.schedule_name} ({result.method}); shaded = drug on"
    yaxis: dict[str, object] = {"title": "cells", "type": "log" if log_y else "linear"}
    if log_y:
        top = float(np.nanmax(np.r_[tr["cells"].to_numpy(float), b["total"].to_numpy(float)]))
        yaxis["range"] = [np.log10(floor), np.log10(top) + 0.1]
        title += (
            f"<br><sup>log axis from {'1 cell' if floor == 1 else f'{floor:.3g} cells'}; "
            "populations that die out or fall "
            "below it are drawn at that floor</sup>"
        )
    fig.update_layout(title=title, xaxis_title="day", yaxis=yaxis, meta={"log_floor": floor})
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
