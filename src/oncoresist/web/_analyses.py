"""The web app's analyses beyond curve fits: combination blocks, profiles, schedules.

Each is a thin call into the public API that the CLI uses too:
:func:`oncoresist.data.read_combination_table` + :func:`oncoresist.synergy.score_combinations`
(``oncoresist synergy``), :func:`oncoresist.mechanisms.read_profile` +
:func:`~oncoresist.mechanisms.annotate` (``oncoresist annotate``), and
:func:`oncoresist.evolution.load_model` / :func:`~oncoresist.evolution.simulate` /
:func:`~oncoresist.evolution.compare_schedules` (``oncoresist simulate``). Every run writes the
same files: ``results.parquet/.csv`` (the main table), ``results.xlsx`` (every table, one
sheet each), ``tables/<name>.parquet``, ``figures.json`` (plotly figures) and ``report.html``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ._service import Cancelled, read_reporting

__all__ = [
    "DATASET_KINDS",
    "compatible_schedules",
    "parse_upload",
    "run_annotate",
    "run_simulate",
    "run_synergy",
    "synergy_figure",
]

#: uploads read here (the form's choice); the other choice, "auto", is a screen, plate export,
#: GDSC raw file or CurveCurator data set (zip), told apart by the screen readers
DATASET_KINDS = ("combination", "profile", "model", "schedule")
Progress = Callable[[float, str], None]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    text = frame.to_json(orient="records", date_format="iso", double_precision=15)
    return json.loads(text)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- reading
def parse_upload(
    path: Path, *, label: str, kind: str, options: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read a combination table, profile or model upload.

    Returns ``(table, summary, notes)``: the table is what the page previews and the analysis
    reads back (the parsed wells of a combination screen; the alterations of a profile; the
    clones of a model). Errors are :class:`InputError` naming the user's file.
    """
    paths = {str(path): label}
    if kind == "combination":
        from ..data import read_combination_table

        kw = {k: options[k] for k in ("columns", "conc_unit", "sheet", "sep", "decimal")
              if options.get(k)}  # fmt: skip
        screen, notes = read_reporting(lambda: read_combination_table(path, **kw), label, paths)
        if len(screen.excluded):
            notes.append(f"{len(screen.excluded)} block(s) left out while reading (see errors)")
        notes += list(screen.conversions)
        return screen.data, dict(screen.counts()), notes
    if kind == "profile":
        from ..mechanisms import read_profile

        prof, notes = read_reporting(lambda: read_profile(path), label, paths)
        muts = prof.mutations.assign(type="mutation")[["gene", "alteration", "type"]]
        cnv = prof.cnv.rename(columns={"call": "alteration"}).assign(type="copy number")
        table = pd.concat([muts, cnv[["gene", "alteration", "type"]]], ignore_index=True)
        notes += [f"{r.where}: {r.item}: {r.problem} {r.suggestion or ''}".strip()
                  for r in prof.issues.itertuples()]  # fmt: skip
        summary = {"sample": prof.sample, "mutations": len(prof.mutations),
                   "copy_number": len(prof.cnv), "tissue": prof.tissue or "",
                   "expression_genes": 0 if prof.expression is None else len(prof.expression)}  # fmt: skip
        return table.astype(str), summary, notes
    if kind == "model":
        from ..evolution import load_model

        model, notes = read_reporting(lambda: load_model(path), label, paths)
        table = pd.DataFrame(
            [{"clone": c.name, "role": c.role, "resistant": bool(c.resistant),
              "initial_cells": float(c.initial), "birth_per_day": float(c.birth_rate),
              "death_per_day": float(c.death_rate),
              "drugs": ", ".join(d for d, _ in c.effects)} for c in model.clones]
        )  # fmt: skip
        summary = {"model": model.name, "clones": len(model.clones),
                   "drugs": ", ".join(d.name for d in model.drugs)}  # fmt: skip
        return table, summary, notes
    if kind == "schedule":
        from ..evolution import load_schedule

        sch, notes = read_reporting(lambda: load_schedule(path), label, paths)
        lines = sch.lines or ((sch.regimens,) if sch.regimens else ())
        table = pd.DataFrame(
            [{"line": i + 1, "drug": r.drug, "kind": r.kind, "level": float(r.level),
              "start_day": float(r.start), "stop_day": float(r.stop)}
             for i, line in enumerate(lines) for r in line]
        )  # fmt: skip
        if table.empty:
            table = pd.DataFrame({"line": [], "drug": []})
        summary = {"schedule": sch.name, "regimens": len(table),
                   "adaptive": sch.adaptive is not None, "switch": sch.switch is not None}  # fmt: skip
        return table, summary, notes
    raise InputError(f"unknown dataset kind {kind!r}; use one of {', '.join(DATASET_KINDS)}")


# --------------------------------------------------------------------------- writing
def _write_results(
    out: Path,
    *,
    main: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Any],
    sections: Sequence[Any],
    title: str,
) -> None:
    from .._io import write_table, write_text
    from ..report import render_report

    write_table(main, out / "results.parquet")
    write_table(main, out / "results.csv")
    with pd.ExcelWriter(out / "results.xlsx") as xl:
        for name, frame in {"results": main, **tables}.items():
            frame.to_excel(xl, sheet_name=name[:31], index=False)
    for name, frame in tables.items():
        write_table(frame, out / "tables" / f"{name}.parquet")
    doc = {name: json.loads(fig.to_json()) for name, fig in figures.items()}
    write_text(out / "figures.json", json.dumps(doc))
    render_report(sections, out / "report.html", title=title)


# --------------------------------------------------------------------------- synergy
def run_synergy(
    table: pd.DataFrame,
    *,
    source: str,
    params: Mapping[str, Any],
    out: Path,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Score every block under the chosen models, in chunks of blocks (progress per chunk)."""
    from ..data import CombinationScreen
    from ..synergy import report_section, score_combinations, synergy_consensus
    from ..synergy._score import SynergyResult

    screen = CombinationScreen(table, source=source)
    models = list(params.get("models") or ())
    n_boot = int(params.get("n_boot", 0))
    ids = list(screen.blocks["block_id"].astype(str))
    step = 25
    parts: list[SynergyResult] = []
    for start in range(0, len(ids), step):
        if cancelled():
            raise Cancelled
        progress(0.05 + 0.8 * start / max(len(ids), 1),
                 f"scoring blocks {start + 1}-{min(start + step, len(ids))} of {len(ids)}")  # fmt: skip
        part = screen.subset(ids[start : start + step])
        parts.append(score_combinations(part, models=models, n_boot=n_boot, rng=start))
    result = SynergyResult(
        scores=pd.concat([p.scores for p in parts], ignore_index=True),
        blocks=pd.concat([p.blocks for p in parts], ignore_index=True),
        surfaces=pd.concat([p.surfaces for p in parts], ignore_index=True),
        single_agents=pd.concat([p.single_agents for p in parts], ignore_index=True),
        outliers=pd.concat([p.outliers for p in parts], ignore_index=True),
        models=parts[0].models,
        notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
        excluded=pd.concat([p.excluded for p in parts], ignore_index=True),
    )
    progress(0.9, "writing results")
    consensus = synergy_consensus(result)
    tables = {"blocks": result.blocks, "surfaces": result.surfaces,
              "single_agents": result.single_agents, "outliers": result.outliers,
              "consensus": consensus}  # fmt: skip
    _write_results(out, main=result.scores, tables=tables, figures={},
                   sections=[report_section(result)], title=f"Drug combinations: {source}")  # fmt: skip
    progress(1.0, "done")
    return {"blocks": len(ids), "models": list(result.models), "notes": list(result.notes)}


def _synergy_result(out: Path) -> Any:
    from ..synergy._score import SynergyResult

    main = pd.read_parquet(out / "results.parquet")

    def table(name: str) -> pd.DataFrame:
        return pd.read_parquet(out / "tables" / f"{name}.parquet")

    return SynergyResult(
        scores=main, blocks=table("blocks"), surfaces=table("surfaces"),
        single_agents=table("single_agents"), outliers=table("outliers"),
        models=tuple(dict.fromkeys(main["model"].astype(str))),
    )  # fmt: skip


SYNERGY_FIGURES = ("heatmap", "surface", "single_agents")


def synergy_figure(out: Path, block: str, model: str, kind: str) -> Any:
    """One block's excess heatmap, 3-D surface or single-agent fits (plotly figure)."""
    from ..synergy import plot_excess_heatmap, plot_single_agents, plot_surface_3d

    result = _synergy_result(out)
    if block not in set(result.blocks["block_id"].astype(str)):
        raise KeyError(f"no block {block!r}")
    if kind == "single_agents":
        return plot_single_agents(result, block)
    if model not in result.models:
        raise KeyError(f"model {model!r} was not scored; scored: {', '.join(result.models)}")
    if kind == "heatmap":
        return plot_excess_heatmap(result, block, model=model)
    if kind == "surface":
        return plot_surface_3d(result, block, model=model)
    raise KeyError(f"no figure kind {kind!r}; use {', '.join(SYNERGY_FIGURES)}")


# --------------------------------------------------------------------------- annotation
def run_annotate(
    path: Path,
    *,
    label: str,
    params: Mapping[str, Any],
    out: Path,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Annotate the profile for each drug (knowledge base; GDSC reference if mirrored)."""
    from ..data._datasets import local_data_only
    from ..errors import DataUnavailableError
    from ..mechanisms import annotate, plot_mechanism_scores, read_profile, report_section
    from ..mechanisms._scores import fetch_gdsc_reference

    prof, _ = read_reporting(lambda: read_profile(path), label, {str(path): label})
    notes: list[str] = []
    ref = None
    if prof.expression is not None:
        try:
            with local_data_only():  # never a download in the middle of a job
                ref = fetch_gdsc_reference()
        except DataUnavailableError as exc:
            notes.append(f"expression not compared with GDSC reference lines: {exc}")
    drugs = list(params.get("drugs") or ())
    items = []
    for i, drug in enumerate(drugs):
        if cancelled():
            raise Cancelled
        progress(0.1 + 0.8 * i / len(drugs), f"annotating {drug} ({i + 1}/{len(drugs)})")
        items.append(annotate(prof, drug, reference=ref))
    calls = pd.DataFrame([{"sample": a.sample, "drug": a.drug_name, "call": a.call,
                           "reason": a.reason} for a in items])  # fmt: skip
    evidence = pd.concat([a.evidence.assign(sample=a.sample, drug=a.drug_name, call=a.call)
                          for a in items], ignore_index=True)  # fmt: skip
    mechanisms = pd.concat([a.mechanisms.assign(drug=a.drug_name) for a in items],
                           ignore_index=True)  # fmt: skip
    figures = {f"mechanisms-{a.drug_name}": plot_mechanism_scores(a) for a in items}
    _write_results(out, main=evidence, tables={"calls": calls, "mechanisms": mechanisms},
                   figures=figures, sections=[report_section(items)],
                   title=f"Resistance mechanisms: {prof.sample}")  # fmt: skip
    progress(1.0, "done")
    notes += sorted({n for a in items for n in a.notes})
    return {"sample": prof.sample, "calls": _records(calls), "notes": notes}


# --------------------------------------------------------------------------- schedules
def example_schedules() -> dict[str, Path]:
    from ..evolution import example_path, load_schedule

    folder = Path(example_path("continuous.yaml")).parent
    out = {}
    for p in sorted(folder.glob("*.yaml")):
        try:
            load_schedule(p)
        except InputError:
            continue  # a model file
        out[p.stem] = p
    return out


def compatible_schedules(model_path: Path, files: Mapping[str, Path]) -> list[str]:
    """The schedules among ``files`` (choice -> schedule file) that run on the model (a 2-day
    trial run each)."""
    from ..evolution import load_model, load_schedule, simulate

    model = load_model(model_path)
    names = []
    for name, p in files.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                simulate(model, load_schedule(p), t_end=2.0, dt=1.0)
        except (InputError, KeyError, ValueError):
            continue
        names.append(name)
    return names


def run_simulate(
    model_path: Path,
    *,
    label: str,
    params: Mapping[str, Any],
    out: Path,
    progress: Progress,
    cancelled: Callable[[], bool],
    schedule_files: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """Simulate the model under each chosen schedule (common random numbers) and compare.

    ``params["schedules"]`` are keys of ``schedule_files`` (default: the shipped examples).
    """
    from ..evolution import compare_schedules, load_model, load_schedule, report_section, simulate
    from ..evolution._plot import plot_schedule_comparison, plot_trajectories

    model, _ = read_reporting(lambda: load_model(model_path), label, {str(model_path): label})
    examples = dict(schedule_files or example_schedules())
    names = list(params.get("schedules") or ())
    unknown = [n for n in names if n not in examples]
    if unknown:
        raise InputError(f"unknown schedule(s) {unknown}; choose from {sorted(examples)}")
    results = []
    for i, name in enumerate(names):
        if cancelled():
            raise Cancelled
        progress(0.05 + 0.85 * i / len(names), f"simulating {name} ({i + 1}/{len(names)})")
        results.append(
            simulate(model, load_schedule(examples[name]), method=str(params["method"]),
                     t_end=float(params["t_end"]), dt=float(params.get("dt", 1.0)),
                     n_runs=int(params["n_runs"]), rng=int(params["seed"]), crn=True)
        )  # fmt: skip
    comp = compare_schedules(results)
    summaries = pd.concat([r.runs.assign(schedule=r.schedule_name) for r in results],
                          ignore_index=True)  # fmt: skip
    figures = {"comparison": plot_schedule_comparison(results)}
    figures |= {f"trajectories-{r.schedule_name}": plot_trajectories(r) for r in results}
    progress(0.95, "writing results")
    _write_results(out, main=comp, tables={"patients": summaries}, figures=figures,
                   sections=[report_section(results)], title=f"Schedules: {model.name}")  # fmt: skip
    progress(1.0, "done")
    return {"model": model.name, "schedules": names, "comparison": _records(comp)}
