"""``oncoresist synergy INPUT -o OUT --models ...``"""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from .._text import fmt_number
from ..curves._executors import executor_scope
from ..scale._options import check_executor, opt_executor, opt_scheduler

__all__ = ["register"]


def _n_drugs(path: Path) -> int:
    """Drugs per block of a tidy table, from its header (``drug1``, ``drug2``, ``drug3`` ...).

    Delimited text and Parquet (its schema) are sniffed; for other formats the two-drug reader
    decides (and stops with a clear error on a ``drug3`` column).
    """
    import re

    from ..data._readers import FileHead

    header = FileHead.of(path).header()
    found = {int(m) for c in header for m in re.findall(r"(?i)^drug_?(\d+)$", c.strip())}
    return max(found) if found else 2


def _higher_order(path, run, names, conc_unit, response_scale, response_kind, console) -> None:
    """Blocks of three or more drugs: HSA, Bliss, Loewe, ZIP (SynergyFinder Plus)."""
    from .._io import write_table
    from ..data._multicombination import read_multi_combination_table
    from ..report import Section, render_report
    from ._multi import MULTI_MODELS, plot_multi_slices, score_multi_combinations

    screen = read_multi_combination_table(
        path, conc_unit=conc_unit, response_scale=response_scale, response_kind=response_kind
    )
    keep = [m for m in names if m in MULTI_MODELS] or list(MULTI_MODELS)
    dropped = [m for m in names if m not in MULTI_MODELS]
    result = score_multi_combinations(screen, models=keep)
    write_table(result.scores, run.path("synergy_scores.csv"))
    write_table(result.wells, run.path("synergy_surfaces.parquet"))
    write_table(result.single_agents, run.path("single_agent_fits.csv"))
    blocks = list(result.scores["block_id"].astype(str).unique())
    figures = [plot_multi_slices(result, b) for b in blocks[:4]] if screen.n_drugs == 3 else []
    text = (
        f"<p>{len(blocks)} blocks of {screen.n_drugs} drugs scored under {', '.join(keep)} "
        "(higher-order models of SynergyFinder Plus, Zheng et al. 2022); the score is the mean "
        "synergy over wells with two or more drugs, in percentage points."
        + (
            f" Not defined for more than two drugs, so not scored: {', '.join(dropped)}."
            if dropped
            else ""
        )
        + "</p>"
    )
    render_report(
        [Section("Higher-order combinations", text=text, figures=figures,
                 tables=[("Scores", result.scores)])],
        run.path("synergy_report.html"),
        title="Drug combinations",
    )  # fmt: skip
    console.print(result.score_table().round(2).to_string())
    if dropped:
        console.print(
            f"[yellow]note[/]: not defined for {screen.n_drugs} drugs: {', '.join(dropped)}"
        )


def _two_drug(path, run, *, names, layout, conc_unit, drug1, drug2, response_scale,
              response_kind, drop_invalid, n_boot, seed, parental, resistant,
              executor=None):  # fmt: skip
    """Two-drug blocks: score every model, write the tables and the report into ``run``."""
    from .._io import write_table
    from ..data._combination import read_combination_table
    from ..report import Section, render_report
    from ._report import report_section
    from ._score import compare_synergy, score_combinations
    from ._sensitivity import sensitivity_scores, synergy_consensus

    if layout == "matrix":
        from ..data._dose_matrix import read_dose_matrix

        screen = read_dose_matrix(
            path, conc_unit=conc_unit, drug1=drug1, drug2=drug2,
            response_scale=response_scale,  # type: ignore[arg-type]
            response_kind=response_kind,  # type: ignore[arg-type]
        )  # fmt: skip
    else:
        screen = read_combination_table(
            path,
            conc_unit=conc_unit,
            response_scale=response_scale,  # type: ignore[arg-type]
            response_kind=response_kind,  # type: ignore[arg-type]
            on_invalid="drop" if drop_invalid else "raise",
        )
    result = score_combinations(
        screen, models=names, n_boot=n_boot, rng=seed, progress=True, executor=executor
    )  # fmt: skip
    sensitivity = sensitivity_scores(result)
    consensus = synergy_consensus(result)
    comparison = compare_synergy(result, parental, resistant) if parental else None
    write_table(result.scores, run.path("synergy_scores.csv"))
    write_table(result.blocks, run.path("synergy_blocks.csv"))
    write_table(result.surfaces, run.path("synergy_surfaces.parquet"))
    write_table(result.single_agents, run.path("single_agent_fits.csv"))
    write_table(result.outliers, run.path("outliers.csv"))
    write_table(sensitivity, run.path("sensitivity_scores.csv"))
    write_table(consensus, run.path("consensus.csv"))
    if len(result.excluded):
        write_table(result.excluded, run.path("excluded_blocks.csv"))
    if comparison is not None:
        write_table(comparison.pairs, run.path("resistance_comparison.csv"))
    extra = Section(
        "Drug sensitivity (CSS, RI, S) and model consensus",
        text="<p>CSS and RI as SynergyFinder Plus defines them (Malyutina et al. 2019); "
        "S = CSS minus the CSS of the Bliss-expected responses. The consensus counts the "
        "models calling synergy or antagonism.</p>",
        tables=[("Sensitivity scores", sensitivity), ("Consensus", consensus)],
    )
    render_report(
        [report_section(result, comparison=comparison), extra],
        run.path("synergy_report.html"),
        title="Drug combinations",
    )
    return screen, result


def register(app: typer.Typer) -> None:
    """Add the ``synergy`` command to the main app."""

    @app.command("synergy")
    def synergy(
        input: Path = typer.Argument(
            ...,
            help="Tidy combination table (CSV/TSV/Parquet/Excel): block_id, drug1, drug2, "
            "conc1, conc2, response[, replicate]; drug3/conc3 ... for higher-order blocks; or a "
            "dose-matrix grid with --layout matrix.",
        ),
        out: Path = typer.Option(..., "-o", "--out", help="Output folder."),
        models: str = typer.Option(
            "bliss,loewe,zip,hsa,ci,musyc", "--models", help="Comma-separated reference models."
        ),
        n_boot: int = typer.Option(
            100, "--n-boot", help="Bootstrap resamples of replicates (0 = none)."
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
        conc_unit: str | None = typer.Option(
            None,
            "--conc-unit",
            help="Unit of conc1/conc2 (nM, uM, M ...) unless the table has a conc_unit column "
            "or units in its column names (conc1_nM); there is no default.",
        ),
        response_scale: str = typer.Option(
            "auto", "--response-scale", help="auto, percent or fraction."
        ),
        response_kind: str = typer.Option(
            "auto", "--response-kind", help="auto, inhibition or viability."
        ),
        drop_invalid: bool = typer.Option(
            False, "--drop-invalid", help="Drop (and list) invalid blocks instead of stopping."
        ),
        parental: str = typer.Option(
            "", "--parental", help="Sample name of the parental line (with --resistant)."
        ),
        resistant: str = typer.Option(
            "", "--resistant", help="Sample name of the resistant line (with --parental)."
        ),
        layout: str = typer.Option(
            "tidy",
            "--layout",
            help="tidy (one row per well) or matrix (a dose-matrix grid: first row drug 2's "
            "doses, first column drug 1's).",
        ),
        drug1: str | None = typer.Option(None, "--drug1", help="Drug 1 of a dose matrix."),
        drug2: str | None = typer.Option(None, "--drug2", help="Drug 2 of a dose matrix."),
        executor: str | None = opt_executor(),
        scheduler: str | None = opt_scheduler(),
    ) -> None:
        """Score drug-combination blocks under the reference models and write tables + report."""
        from rich.console import Console
        from rich.table import Table

        from .._io import check_input, output_run
        from ..errors import InputError

        console = Console()
        names = [m.strip() for m in models.split(",") if m.strip()]
        if layout not in ("tidy", "matrix"):
            raise InputError(f"--layout {layout!r}: use tidy or matrix")
        if n_boot < 0:
            raise InputError(f"--n-boot {n_boot}: give 0 (no bootstrap) or a positive count")
        if bool(parental) != bool(resistant):
            raise InputError("give both --parental and --resistant")
        if parental and parental == resistant:
            raise InputError(
                f"--parental and --resistant are both {parental!r}; compare two different lines"
            )
        check_input(input)
        params = {"models": names, "n_boot": n_boot, "seed": seed, "conc_unit": conc_unit,
                  "response_scale": response_scale, "response_kind": response_kind,
                  "drop_invalid": drop_invalid, "parental": parental, "resistant": resistant,
                  "layout": layout, "drug1": drug1, "drug2": drug2}  # fmt: skip
        expect = ("synergy_scores.csv", "synergy_blocks.csv", "synergy_surfaces.parquet",
                  "single_agent_fits.csv", "outliers.csv", "sensitivity_scores.csv",
                  "consensus.csv", "excluded_blocks.csv", "resistance_comparison.csv",
                  "synergy_report.html")  # fmt: skip
        executor = check_executor(executor, scheduler)
        # connect (or start the local cluster) before anything is written
        with (
            contextlib.nullcontext(None) if executor is None
            else executor_scope(executor, scheduler=scheduler) as ex,
            output_run(
                out, command="synergy", inputs=[input], params=params, expect=expect
            ) as run,
        ):  # fmt: skip
            if layout == "tidy" and _n_drugs(input) > 2:
                _higher_order(input, run, names, conc_unit, response_scale, response_kind, console)
                screen = None
            else:
                screen, result = _two_drug(
                    input, run, names=names, layout=layout, conc_unit=conc_unit, drug1=drug1,
                    drug2=drug2, response_scale=response_scale, response_kind=response_kind,
                    drop_invalid=drop_invalid, n_boot=n_boot, seed=seed, parental=parental,
                    resistant=resistant, executor=ex,
                )  # fmt: skip
        if screen is None:
            console.print(f"outputs in {out}")
            return
        for note in screen.conversions:
            console.print(f"[yellow]note[/]: {note}")
        tab = Table(title=f"{len(result.blocks)} blocks: mean synergy score")
        tab.add_column("block")
        for m in result.models:
            tab.add_column(m)
        scores = result.score_table()
        for b, row in scores.head(20).iterrows():
            tab.add_row(str(b), *[fmt_number(v, ".2f") for v in row.to_numpy()])
        console.print(tab)
        console.print(
            f"models disagree in sign on {int(result.blocks['models_disagree'].sum())} block(s); outputs in {out}"
        )
