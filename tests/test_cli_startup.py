"""The command line starts light: ``--help`` lists every command without importing the
analyses, and a command's module loads when that command runs (regression guards of the lazy
loading; the timings are in ``benchmarks/bench_startup.py``, never asserted here)."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from oncoresist import cli


def test_help_lines_are_the_commands_own():
    """The one-line help ``--help`` shows without loading a module is the command's own."""
    group = typer.main.get_command(cli.app)
    ctx = typer.Context(group)
    for name, (_, line) in cli._COMMANDS.items():
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        assert cmd.get_short_help_str(limit=cli._HELP_WIDTH) == line, name


def test_help_imports_no_analysis():
    code = (
        "import sys\n"
        "from oncoresist.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'pandas', 'scipy', 'plotly', 'oncoresist.curves',"
        " 'oncoresist.web', 'oncoresist.data') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    for name in cli._COMMANDS:
        assert name in out.stdout


def test_every_command_runs_through_the_lazy_group():
    runner = CliRunner()
    for name in cli._COMMANDS:
        result = runner.invoke(cli.app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
    sub = runner.invoke(cli.app, ["predict", "evaluate", "--help"])
    assert sub.exit_code == 0 and "--dataset" in sub.output
    bad = runner.invoke(cli.app, ["nosuchcommand"])
    assert bad.exit_code == 2 and "nosuchcommand" in bad.output
