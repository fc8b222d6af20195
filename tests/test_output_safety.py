"""No command overwrites its input, writes outside its output folder, or leaves a silent mix.

Evidence kind: these are behaviour checks against the guarantees the README states ("what
oncoresist guarantees"): each test sets up the situation a user hit (issue 19) and checks the
file system afterwards, byte for byte. They are not regression pins of numbers.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from oncoresist._io import MANIFEST, check_input, output_run, read_run, write_table
from oncoresist.cli import main
from oncoresist.errors import IncompleteRunError, OutputError

EXAMPLES = Path(__file__).parents[1] / "src" / "oncoresist" / "evolution" / "examples"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> sha256), hidden ones included."""
    return {
        p.relative_to(root).as_posix(): _digest(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _screen_csv(path: Path, *, drugs: int = 2) -> Path:
    from oncoresist.data import make_screen

    syn = make_screen(n_samples=1, drugs=drugs, rng=3)
    syn.screen.data.assign(conc_unit="uM").to_csv(path, index=False)
    return path


def _clean_error(capsys, *names: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


# --------------------------------------------------------------------- inputs are never replaced


def test_qc_refuses_to_write_over_its_input(tmp_path, capsys):
    screen = _screen_csv(tmp_path / "s.csv")
    before = _digest(screen)
    assert main(["qc", str(screen), "-o", str(screen)]) == 2
    _clean_error(capsys, "s.csv", "overwrite the input")
    assert _digest(screen) == before


def test_annotate_refuses_to_write_over_its_input(tmp_path, capsys):
    profile = tmp_path / "p.tsv"
    profile.write_text("gene\tprotein_change\nEGFR\tL858R\nEGFR\tT790M\n", encoding="utf-8")
    before = _digest(profile)
    assert main(["annotate", str(profile), "--drug", "gefitinib", "-o", str(profile)]) == 2
    _clean_error(capsys, "p.tsv", "overwrite the input")
    assert _digest(profile) == before


def test_fit_refuses_an_output_folder_holding_its_input_under_an_output_name(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    screen = _screen_csv(d / "fits.csv")
    before = _tree(d)
    assert main(["fit", str(screen), "-o", str(d), "--quiet"]) == 2
    _clean_error(capsys, "fits.csv", "overwrite the input")
    assert _tree(d) == before  # nothing written, not even a staging folder


@pytest.mark.parametrize("link", ["hard", "sym"])
def test_a_link_to_the_input_counts_as_the_input(tmp_path, capsys, link):
    screen = _screen_csv(tmp_path / "s.csv")
    out = tmp_path / "out"
    out.mkdir()
    if link == "hard":
        os.link(screen, out / "qc.csv")
    else:
        (out / "qc.csv").symlink_to(screen)
    before = _digest(screen)
    assert main(["fit", str(screen), "-o", str(out), "--quiet"]) == 2
    _clean_error(capsys, "qc.csv", "overwrite the input")
    assert _digest(screen) == before


def test_qc_into_a_folder_is_a_run_folder_beside_its_input(tmp_path):
    # -o FOLDER of qc used to be an error; since issue 18 it is an output run (qc.csv,
    # report.html, manifest), written beside the input without touching it
    screen = _screen_csv(tmp_path / "s.csv")
    before = _digest(screen)
    assert main(["qc", str(screen), "-o", str(tmp_path)]) == 0
    assert _digest(screen) == before
    assert set(read_run(tmp_path).files) == {"qc.csv", "report.html"}


def test_qc_into_a_folder_holding_its_input_as_qc_csv_is_refused(tmp_path, capsys):
    screen = _screen_csv(tmp_path / "qc.csv")
    before = _tree(tmp_path)
    assert main(["qc", str(screen), "-o", str(tmp_path)]) == 2
    _clean_error(capsys, "qc.csv", "overwrite the input")
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------- names from users' files


def _schedule(path: Path, name: str, source: str = "continuous.yaml") -> Path:
    import yaml

    doc = yaml.safe_load((EXAMPLES / source).read_text())
    doc["name"] = name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "names",
    [
        ["x/../../../y", "../../x"],
        ["same", "same"],
        ["/tmp/abs", "ok"],
        ["..", "."],
    ],
)
def test_schedule_names_never_leave_the_output_folder_nor_collide(tmp_path, names):
    work = tmp_path / "work"
    work.mkdir()
    files = [_schedule(work / f"s{i}.yaml", n) for i, n in enumerate(names)]
    out = tmp_path / "deep" / "out"
    out.parent.mkdir()
    before = _tree(tmp_path)
    rc = main(["simulate", str(EXAMPLES / "zhang2017_model.yaml"), "--schedules",
               ",".join(map(str, files)), "-o", str(out), "--t-end", "60"])  # fmt: skip
    assert rc == 0
    after = _tree(tmp_path)
    new = {k for k in after if k not in before}
    assert all(k.startswith("deep/out/") for k in new), new  # nothing outside -o
    written = read_run(out).files
    trajectories = [f for f in written if f.startswith("trajectories_")]
    assert len(trajectories) == len(names)  # one file per schedule, none overwritten
    assert all("/" not in f and ".." not in f for f in written)
    assert not Path("/tmp/abs").exists() or "abs" not in str(written)


def test_a_symlink_in_the_output_folder_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    sched = _schedule(tmp_path / "s.yaml", "cont")
    (out / "comparison.csv").symlink_to(outside)
    rc = main(["simulate", str(EXAMPLES / "zhang2017_model.yaml"), "--schedules", str(sched),
               "-o", str(out), "--t-end", "30"])  # fmt: skip
    assert rc == 0
    assert outside.read_text() == "precious\n"
    assert not (out / "comparison.csv").is_symlink()


# --------------------------------------------------------------------- runs land as one unit


def test_a_rerun_replaces_the_old_run_as_a_whole_and_keeps_other_files(tmp_path):
    screen = _screen_csv(tmp_path / "s.csv")
    out = tmp_path / "out"
    assert main(["fit", str(screen), "-o", str(out), "--quiet"]) == 0
    first = read_run(out)
    assert "outliers.csv" in first.files and first.params["outliers"] == "flag"
    (out / "my_notes.txt").write_text("mine")  # a user's own file in the folder
    assert main(["fit", str(screen), "-o", str(out), "--quiet", "--outliers", "none"]) == 0
    second = read_run(out)
    assert second.params["outliers"] == "none"
    assert "outliers.csv" not in second.files
    assert not (out / "outliers.csv").exists()  # the old run's file does not linger
    assert (out / "my_notes.txt").read_text() == "mine"
    on_disk = {p.name for p in out.iterdir()}
    assert on_disk == {*second.files, MANIFEST, "my_notes.txt"}  # no staging left


def test_read_run_detects_missing_changed_and_interrupted_runs(tmp_path):
    out = tmp_path / "run"
    with output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"a": [1, 2]}), run.path("a.csv"))
        write_table(pd.DataFrame({"b": [1]}), run.path("sub/b.csv"))
    assert read_run(out).files == ("a.csv", "sub/b.csv")
    (out / "a.csv").write_text("a\n3\n")
    with pytest.raises(IncompleteRunError, match="changed since"):
        read_run(out)
    with pytest.warns(UserWarning, match="changed since"):
        check_input(out / "a.csv")
    (out / "a.csv").unlink()
    with pytest.raises(IncompleteRunError, match="missing"):
        read_run(out)
    doc = json.loads((out / MANIFEST).read_text())
    doc["status"] = "incomplete"
    (out / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(IncompleteRunError, match="did not finish"):
        read_run(out)
    with pytest.raises(IncompleteRunError, match="interrupted"):
        check_input(out / "sub" / "b.csv")
    with pytest.raises(IncompleteRunError, match=r"no oncoresist-run\.json"):
        read_run(tmp_path)


def test_an_error_during_the_run_leaves_the_old_run_untouched(tmp_path):
    out = tmp_path / "run"
    with output_run(out, command="t", inputs=[], params={"v": 1}) as run:
        write_table(pd.DataFrame({"a": [1]}), run.path("a.csv"))
    before = _tree(out)
    with pytest.raises(RuntimeError), output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"a": [2]}), run.path("a.csv"))
        raise RuntimeError("the analysis failed")
    assert _tree(out) == before
    assert read_run(out).params == {"v": 1}


def test_an_interruption_while_files_move_is_marked_incomplete(tmp_path, monkeypatch):
    """Fault injection at the one window a kill can split: between the first and last move."""
    import oncoresist._io as io

    out = tmp_path / "run"
    with output_run(out, command="t", inputs=[], params={"v": 1}) as run:
        for name in ("a.csv", "b.csv"):
            write_table(pd.DataFrame({"x": [1]}), run.path(name))
    real_replace, moved = os.replace, []

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst).parent == out and Path(dst).name != MANIFEST:  # an output moving in
            moved.append(dst)
            if len(moved) == 1:
                raise KeyboardInterrupt  # Ctrl-C (or a kill) after one output moved

    monkeypatch.setattr(io.os, "replace", replace)
    with (
        pytest.raises(KeyboardInterrupt),
        output_run(out, command="t", inputs=[], params={"v": 2}) as run,
    ):
        for name in ("a.csv", "b.csv"):
            write_table(pd.DataFrame({"x": [2]}), run.path(name))
    monkeypatch.setattr(io.os, "replace", real_replace)
    with pytest.raises(IncompleteRunError, match="did not finish"):
        read_run(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".oncoresist-staging")]
    # the next run repairs the folder
    with output_run(out, command="t", inputs=[], params={"v": 3}) as run:
        write_table(pd.DataFrame({"x": [3]}), run.path("a.csv"))
    assert read_run(out).files == ("a.csv",) and not (out / "b.csv").exists()


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path):
    import oncoresist._io as io

    out = tmp_path / "out"
    out.mkdir()
    dead = 2**22 + 12345  # above the default pid_max: no such process
    staging = out / f"{io._STAGING}.{io._HOST}.{dead}.abcd"
    staging.mkdir()
    (staging / "fits.csv").write_text("half")
    tmp = out / f".qc.csv.{io._HOST}.{dead}.xyz.tmp"
    tmp.write_text("half")
    alive = out / f"{io._STAGING}.{io._HOST}.{os.getpid()}.live"  # a concurrent run: kept
    alive.mkdir()
    with output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"x": [1]}), run.path("x.csv"))
    assert not staging.exists() and not tmp.exists() and alive.exists()


# --------------------------------------------------------------------- write failures


def test_a_full_disk_is_a_clear_error_and_the_old_run_survives(tmp_path, capsys, monkeypatch):
    screen = _screen_csv(tmp_path / "s.csv")
    out = tmp_path / "out"
    assert main(["fit", str(screen), "-o", str(out), "--quiet"]) == 0
    before = _tree(out)

    def full(self, path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    assert main(["fit", str(screen), "-o", str(out), "--quiet", "--outliers", "none"]) == 2
    _clean_error(capsys, "No space left on device", "disk is full")
    assert _tree(out) == before
    assert read_run(out).params["outliers"] == "flag"


def test_a_read_only_folder_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """As root a chmod does not stop writes, so the refusal is injected where the OS gives it."""
    screen = _screen_csv(tmp_path / "s.csv")
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() != 0:
        out.chmod(0o555)
    else:
        import oncoresist._io as io

        def denied(*a, dir=None, **k):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))

        monkeypatch.setattr(io.tempfile, "mkdtemp", denied)
    try:
        assert main(["fit", str(screen), "-o", str(out), "--quiet"]) == 2
        _clean_error(capsys, "Permission denied", "not writable")
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_writing_outside_the_with_block_or_a_path_name_is_refused(tmp_path):
    run = output_run(tmp_path / "o", command="t", inputs=[], params={})
    with pytest.raises(RuntimeError):
        run.path("a.csv")
    with run, pytest.raises(ValueError, match="plain file name"):
        run.path("../a.csv")
    with (
        pytest.raises(OutputError, match="is a file"),
        output_run(_screen_csv(tmp_path / "s.csv"), command="t", inputs=[], params={}),
    ):
        pass


# --------------------------------------------------------------------- CLI arguments


def test_shift_of_a_line_against_itself_is_an_error(tmp_path, capsys):
    screen = _screen_csv(tmp_path / "s.csv")
    rc = main(["shift", str(screen), "--parental", "P01", "--resistant", "P01", "-o",
               str(tmp_path / "o")])  # fmt: skip
    assert rc == 2
    _clean_error(capsys, "P01", "itself")
    assert not (tmp_path / "o").exists()


def test_synergy_refuses_a_negative_bootstrap_count(tmp_path, capsys):
    table = tmp_path / "c.csv"
    table.write_text("block_id,drug1,drug2,conc1,conc2,response,conc_unit\n1,a,b,0,0,0,uM\n")
    assert main(["synergy", str(table), "-o", str(tmp_path / "o"), "--n-boot", "-3"]) == 2
    _clean_error(capsys, "--n-boot -3")


def test_simulate_with_no_schedule_file_is_an_error(tmp_path, capsys):
    rc = main(["simulate", str(EXAMPLES / "zhang2017_model.yaml"), "--schedules", "", "-o",
               str(tmp_path / "o")])  # fmt: skip
    assert rc == 2
    _clean_error(capsys, "--schedules")


@pytest.mark.parametrize(
    "argv", [["predict", "evaluate", "--n-splits", "0"], ["predict", "train", "--n-samples", "-1"]]
)
def test_predict_refuses_counts_below_one(tmp_path, capsys, argv):
    assert main([*argv, "--dataset", "synthetic", "-o", str(tmp_path / "o")]) == 2
    _clean_error(capsys, argv[2])


def test_bootstrap_fits_are_reproducible_by_default(tmp_path):
    screen = _screen_csv(tmp_path / "s.csv", drugs=1)
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["fit", str(screen), "-o", str(out), "--quiet", "--ci", "bootstrap"]) == 0
        runs.append((out / "fits.csv").read_bytes())
    assert runs[0] == runs[1]
    other = tmp_path / "c"
    assert main(["fit", str(screen), "-o", str(other), "--quiet", "--ci", "bootstrap",
                 "--seed", "7"]) == 0  # fmt: skip
    assert (other / "fits.csv").read_bytes() != runs[0]
    shutil.rmtree(other)


def test_a_rerun_removes_the_old_runs_subfolders_but_not_a_users_file_in_them(tmp_path):
    out = tmp_path / "run"
    with output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"a": [1]}), run.path("gone/a.csv"))
        write_table(pd.DataFrame({"a": [1]}), run.path("kept/a.csv"))
    (out / "kept" / "mine.txt").write_text("mine")
    with output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"b": [1]}), run.path("b.csv"))
    assert not (out / "gone").exists()
    assert (out / "kept" / "mine.txt").read_text() == "mine" and not (
        out / "kept" / "a.csv"
    ).exists()
    assert read_run(out).files == ("b.csv",)


def test_verify_command_reports_complete_and_incomplete_runs(tmp_path, capsys):
    out = tmp_path / "run"
    with output_run(out, command="t", inputs=[], params={}) as run:
        write_table(pd.DataFrame({"a": [1]}), run.path("a.csv"))
    assert main(["verify", str(out)]) == 0
    assert "complete run" in capsys.readouterr().out
    (out / "a.csv").write_text("a\n2\n")
    assert main(["verify", str(out)]) == 2
    _clean_error(capsys, "a.csv", "changed since")
