"""``oncoresist demo``: the main job end to end on built-in data, one HTML report.

Each capability contributes report sections from its own ``_demo.py``. Synthetic parts use
data generated from known parameters (so the report can show truth beside estimates); real
parts read the public data through the dataset layer (local mirror, cache, or the official
source) and are skipped with a stated reason when the data cannot be had.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from .errors import DataUnavailableError
from .report import Section, render_report

__all__ = ["run_demo"]

#: (label, module) of the demo stages after dose-response, in report order.
STAGES: tuple[tuple[str, str], ...] = (
    ("Combinations", "oncoresist.synergy._demo"),
    ("Biomarkers", "oncoresist.biomarkers._demo"),
    ("Prediction", "oncoresist.predict._demo"),
    ("Mechanisms", "oncoresist.mechanisms._demo"),
    ("CRISPR", "oncoresist.crispr._demo"),
    ("Strategy", "oncoresist.strategy._demo"),
)


def _timed(console: Console, label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    with console.status(f"[bold]{label}[/] ..."):
        out = func()
    console.print(f"[green]✓[/] {label} ({time.perf_counter() - start:.1f} s)")
    return out


def run_demo(out_dir: str | Path, *, rng: int = 0, progress: bool = True) -> Path:
    """Run every demo stage, write ``report.html`` (and stage outputs) into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the report and the tables each stage writes.
    rng
        Seed of the synthetic parts.
    progress
        Show progress on the console.

    Returns
    -------
    Path of the report.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(quiet=not progress, stderr=True)
    sections: list[Section] = []

    from .curves._demo import demo_sections as curves_demo

    curve_sections, fits = _timed(
        console, "Dose-response", lambda: curves_demo(out / "curves", rng=rng, progress=False)
    )
    sections.extend(curve_sections)

    for label, modname in STAGES:
        stage = functools.partial(
            importlib.import_module(modname).demo_sections,
            out / label.lower(),
            rng=rng,
            progress=False,
        )
        try:
            sections.extend(_timed(console, label, stage))
        except DataUnavailableError as exc:
            import html

            from rich.markup import escape

            sections.append(
                Section(label, text=f"<p>Skipped: the data are not available "
                        f"({html.escape(str(exc))}).</p>")
            )  # fmt: skip
            console.print(f"[yellow]![/] {escape(label)} skipped: {escape(str(exc))}")

    from .evolution._demo import demo_sections as evolution_demo

    sections.extend(
        _timed(
            console,
            "Evolution",
            lambda: evolution_demo(out / "evolution", rng=rng, progress=False, fits=fits),
        )
    )
    return render_report(sections, out / "report.html", title="oncoresist demo")
