"""Command line interface: ``oncoresist COMMAND ...``.

Each subpackage registers its own commands (``<pkg>/_cli.py::register``); this module builds
the app, adds ``demo``, ``examples`` and ``verify``, and turns oncoresist errors into a clean
message and exit code 2.

A subpackage's commands are loaded when one of them is run (or its ``--help`` shown), not at
start-up: ``oncoresist --help`` lists them from :data:`_COMMANDS` without importing numpy,
pandas or the analyses, so the command line answers at once (``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from . import __version__
from .errors import OncoresistError

__all__ = ["app", "main"]

#: command -> (module whose ``register(app)`` defines it, the one line ``--help`` shows);
#: order = order in ``--help``. tests/test_cli_startup.py checks the lines against the commands.
_COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("oncoresist.curves._cli",
            "Fit every dose-response curve; writes fits.parquet, fits.csv and report.html."),
    "shift": ("oncoresist.curves._cli",
              "IC50 fold shift (resistance index) with 95% CI and an F-test of a shared IC50."),
    "qc": ("oncoresist.curves._qc_cli",
           "Plate quality control: Z', robust Z', SSMD, CVs, edge effects and flags per plate."),
    "synergy": ("oncoresist.synergy._cli",
                "Score drug-combination blocks under the reference models and write tables + "
                "report."),
    "associate": ("oncoresist.biomarkers._cli",
                  "Test every drug x genomic feature for association with response (covariates "
                  "tissue, MSI, screen medium where the panel has them); write tidy tables..."),
    "predict": ("oncoresist.predict._cli",
                "Drug-response prediction from multi-omics, with honest (grouped) evaluation."),
    "annotate": ("oncoresist.mechanisms._cli",
                 "Annotate a profile with mechanisms of resistance to one or more drugs."),
    "simulate": ("oncoresist.evolution._cli",
                 "Simulate a tumour model under several schedules and compare them."),
    "crispr": ("oncoresist.crispr._cli",
               "Score a pooled CRISPR screen (QC, DrugZ, MAGeCK RRA/MLE, BAGEL) and write a "
               "report."),
    "strategy": ("oncoresist.strategy._cli",
                 "Rank the ways to overcome a resistance, each with its evidence."),
    "serve": ("oncoresist.web._cli",
              "Local web app and HTTP API: upload, fit, browse curves, exclude wells, download."),
}  # fmt: skip
_HELP_WIDTH = 150


class _LazyGroup(TyperGroup):
    """The root command group: subpackage commands are imported when first asked for."""

    def _load(self, name: str) -> None:
        import importlib

        sub = typer.Typer()

        @sub.callback()
        def _group() -> None:  # a callback keeps a one-command module a group
            """Commands of one module."""

        importlib.import_module(_COMMANDS[name][0]).register(sub)
        loaded = typer.main.get_command(sub)
        for cmd_name, cmd in getattr(loaded, "commands", {}).items():
            if cmd_name not in self.commands:
                self.add_command(cmd, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        own = [n for n in super().list_commands(ctx) if n not in _COMMANDS]
        return own + list(_COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # the plain layout: the rich one asks every command for its help, importing them all
        super(TyperGroup, self).format_help(ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if name in _COMMANDS and cmd is None:
                rows.append((name, _COMMANDS[name][1]))
            elif cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=_HELP_WIDTH)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="oncoresist",
    help="Cancer drug-resistance research: dose-response, synergy, biomarkers, "
    "prediction, mechanisms and tumour evolution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"oncoresist {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
    figures: str | None = typer.Option(
        None,
        "--figures",
        help="Also write every figure of the command's report as static files in FORMATS "
        "(comma-separated: png, svg, pdf) into figures/ beside the report, e.g. "
        "`oncoresist --figures png,svg fit ...`. Needs the figures extra and chromium.",
        metavar="FORMATS",
    ),
    excel: bool = typer.Option(
        False,
        "--excel",
        help="Also write every table of the command's output folder into one Excel workbook, "
        "tables.xlsx (a sheet per table, an 'about' sheet first), e.g. "
        "`oncoresist --excel fit ...`. Commands whose -o is a table file take -o NAME.xlsx.",
    ),
) -> None:
    """oncoresist command line."""
    if excel:
        from ._outputs import excel_tables

        excel_tables(True)
    if figures:
        from .report._figures import _start, default_figure_formats

        default_figure_formats(figures.split(","))
        _start()  # no browser: say so now, not after the command's work


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("oncoresist-demo"), "-o", "--out", help="Output folder."),
    seed: int = typer.Option(0, help="Random seed of the synthetic parts."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run the main job end to end on built-in data and write an HTML report."""
    from ._demo import run_demo
    from ._io import output_run

    with output_run(out, command="demo", inputs=[], params={"seed": seed}) as run:
        run_demo(run.staging, rng=seed, progress=not quiet)
    from rich.markup import escape

    Console().print(
        f"[bold green]Report written to[/] {escape(str(run.final('report.html').resolve()))}"
    )


@app.command("examples")
def examples_cmd(
    names: list[str] = typer.Argument(None, help="Examples to copy (default: all)."),
    out: Path | None = typer.Option(
        None, "-o", "--out", help="Folder to copy them into; without it, list them."
    ),
) -> None:
    """List the example files the package ships, or copy them into a folder (-o).

    The README's tour runs on them: `oncoresist examples -o examples/`.
    """
    import shutil

    from ._examples import examples, find_example
    from ._io import output_run

    chosen = [find_example(n) for n in names] if names else examples()
    console = Console(soft_wrap=True)
    if out is None:
        width = max(len(e.name) for e in chosen)
        for e in chosen:
            console.print(f"{e.name:<{width}}  {e.kind}", markup=False, highlight=False)
        console.print("copy them with: oncoresist examples -o FOLDER [NAME ...]", markup=False)
        return
    with output_run(out, command="examples", inputs=[],
                    params={"names": [e.name for e in chosen]}) as run:  # fmt: skip
        for e in chosen:
            shutil.copyfile(e.path, run.path(e.name))
    console.print(f"copied {len(chosen)} example files into {out}", markup=False)


@app.command("verify")
def verify(
    folder: Path = typer.Argument(..., help="An output folder written by an oncoresist command."),
) -> None:
    """Check that an output folder holds one complete run (manifest, status, checksums).

    Exit code 0 when it does; 2, with what is wrong, when the run was interrupted, a file is
    missing or changed since, or the folder is not an oncoresist run.
    """
    from ._io import read_run

    run = read_run(folder)
    Console().print(
        f"{folder}: complete run of 'oncoresist {run.command}' ({run.finished}, oncoresist "
        f"{run.version}); {len(run.files)} files, every SHA-256 as written",
        markup=False,
    )


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so every ``finally`` removes its temporary files
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_unwind():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, _terminate) for s in wanted}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code.

    Errors of oncoresist and failures to read or write a file print one line (the message
    names the file and the fix; no traceback) and return 2.
    """
    from ._outputs import excel_tables
    from ._outputs import reset as reset_excel
    from .report._figures import default_figure_formats

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    token = default_figure_formats(())  # --figures applies to this call only
    excel_token = excel_tables(False)  # and so does --excel
    try:
        with _signals_unwind():
            app(args=argv, standalone_mode=False)
    except OncoresistError as exc:
        console.print("[bold red]error:[/] ", end="")
        console.print(str(exc), markup=False)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        console.print("[bold red]error:[/] ", end="")
        console.print(f"{where}{exc.strerror or exc}", markup=False)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        console.print("interrupted", markup=False)
        return 130
    except Exception as exc:
        # usage errors (bad option, missing argument) know how to show themselves and carry
        # their exit code; typer raises them from its click layer
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        raise
    finally:
        from .report._figures import _DEFAULT

        _DEFAULT.reset(token)
        reset_excel(excel_token)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
