"""The README's shell blocks run as written (evidence that the documentation is true).

Every ```bash block of README.md is run, in order, as one bash script (``set -euo pipefail``)
in an empty folder with this checkout's ``oncoresist`` on PATH, so later blocks use what earlier
ones wrote (``examples/``, ``shift/shift.csv``, ``screen/``). A comment on the line above a
block changes how it runs:

* ``<!-- readme-test: skip: REASON -->``: not run (only ``make demo`` / ``make test``: that is
  how this suite itself is installed and run);
* ``<!-- readme-test: background URL -->``: each command starts in the background (a server)
  and the script waits until URL answers before the next block; it is stopped at the end.

Afterwards every ``-o``/``--out`` target of the blocks must exist, and every output folder
written by an oncoresist command must verify (``oncoresist verify``: complete, checksums).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"(?:<!-- readme-test: (?P<directive>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```",
                    re.S)  # fmt: skip


def blocks() -> list[tuple[str, str]]:
    """(directive, body) of each bash block, in README order ("" = run as it is)."""
    return [(m["directive"] or "", m["body"]) for m in _FENCE.finditer(README.read_text())]


def _commands(body: str) -> list[str]:
    """The block's commands, continuation lines joined, comments kept out."""
    text = re.sub(r"\\\n\s*", " ", body)
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _outputs(body: str) -> list[str]:
    out = []
    for cmd in _commands(body):
        words = shlex.split(cmd, comments=True)
        for flag, value in itertools.pairwise(words):
            if flag in ("-o", "--out"):
                out.append(value)
    return out


def test_every_block_is_run_or_skipped_with_a_reason():
    found = blocks()
    assert len(found) >= 5
    for directive, _ in found:
        if directive:
            kind, _, rest = directive.partition(" ")
            assert kind in ("skip:", "background"), directive
            assert rest.strip(), f"directive {directive!r} gives no reason / URL"
    skipped = [b for d, b in found if d.startswith("skip:")]
    assert len(skipped) == 1 and "make demo" in skipped[0]


def test_every_oncoresist_command_of_the_readme_exists():
    """Regression guard (fast, no data): each command named in a block answers --help."""
    from typer.testing import CliRunner

    from oncoresist.cli import app

    names = set()
    for _, body in blocks():
        for cmd in _commands(body):
            words = shlex.split(cmd, comments=True)
            if words and words[0] == "oncoresist":
                rest = [w for w in words[1:] if not w.startswith("-")]
                # the root option takes a value: oncoresist --figures png,svg fit ...
                if words[1:2] == ["--figures"]:
                    rest = rest[1:]
                names.add(rest[0] if rest[0] != "predict" else "predict " + rest[1])
    assert {"demo", "fit", "shift", "synergy", "serve", "examples"} <= names
    runner = CliRunner()
    for name in sorted(names):
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)


def _script(tmp: Path) -> str:
    lines = ["set -euo pipefail", "pids=()",
             'trap \'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done\' EXIT']  # fmt: skip
    for i, (directive, body) in enumerate(blocks()):
        if directive.startswith("skip:"):
            continue
        lines.append(f"echo '### block {i + 1}'")
        if directive.startswith("background"):
            url = directive.split(maxsplit=1)[1]
            for cmd in _commands(body):
                cmd = re.sub(r"\s+#.*$", "", cmd)  # its comment, not the redirection
                lines.append(f"{cmd} > background-{i + 1}.log 2>&1 & pids+=($!)")
            lines.append(
                f"for _ in $(seq 120); do curl -sf {shlex.quote(url)} > /dev/null && break; "
                "sleep 0.5; done"
            )
            lines.append(f"curl -sf {shlex.quote(url)} > /dev/null")
        else:
            lines.append(body)
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.realdata
def test_the_readme_runs_as_written(tmp_path):
    if not os.environ.get("ONCORESIST_DATA_MIRROR"):
        pytest.skip(
            "the tour reads GDSC, TGSA, CIViC and the HeLa screen: set ONCORESIST_DATA_MIRROR"
        )
    if shutil.which("curl") is None:
        pytest.skip("the API block uses curl")
    work = tmp_path / "fresh"
    work.mkdir()
    script = work.parent / "readme.sh"
    script.write_text(_script(work))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.setdefault("MPLBACKEND", "Agg")
    proc = subprocess.run(["bash", str(script)], cwd=work, env=env, capture_output=True,
                          text=True, timeout=1500)  # fmt: skip
    tail = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
    assert proc.returncode == 0, tail
    outputs = [o for d, b in blocks() if not d.startswith("skip:") for o in _outputs(b)]
    for name in outputs:
        target = work / name
        assert target.exists(), f"{name} was not written\n{tail}"
        if target.is_dir():
            verify = subprocess.run([str(Path(sys.executable).parent / "oncoresist"), "verify",
                                     str(target)], capture_output=True, text=True, env=env)  # fmt: skip
            assert verify.returncode == 0, (name, verify.stdout, verify.stderr)
    assert list(work.glob("oncoresist-*-report.html")), "the API block's report download"
