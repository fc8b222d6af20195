"""Safe outputs: nothing overwrites an input, a run's files land as one unit, or are marked.

Three guarantees, used by every command:

- **No input is overwritten.** Before anything is replaced, every target is compared with the
  command's inputs (same resolved path or same inode, so hard links and symlinks count); a clash
  is an :class:`~oncoresist.errors.OutputError` and nothing is written.
- **A run's outputs are complete or marked incomplete.** :func:`output_run` stages every file in
  a hidden folder inside the output folder, then moves them into place and writes the manifest
  ``oncoresist-run.json`` last (files with SHA-256 and size, the command, its parameters and its
  inputs). While files move, the manifest says ``"status": "incomplete"``; an interrupted run
  leaves that, never a silent mix. Files of a previous run that this run does not write again are
  removed (only those the old manifest lists: other files in the folder are left alone).
  :func:`read_run` checks a folder; :func:`check_input` refuses an input from an incomplete run.
- **Write failures are clear errors.** A read-only folder or a full disk ends in an
  :class:`~oncoresist.errors.OutputError` naming the file, with nothing half-written; temporary
  files are removed on any exit the process survives (errors, Ctrl-C, SIGTERM), and those a
  ``kill -9`` leaves are removed by the next write into the same folder.

Single-file outputs (``qc -o qc.csv``) are one atomic rename: :func:`atomic_path`.

>>> import tempfile, pathlib, pandas as pd
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with output_run(out, command="example", inputs=[], params={"k": 1}) as run:
...     _ = write_table(pd.DataFrame({"a": [1]}), run.path("a.csv"))
>>> read_run(out).files
('a.csv',)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from ._outputs import excel_wanted
from .errors import IncompleteRunError, OutputError

__all__ = [
    "MANIFEST",
    "RunManifest",
    "atomic_path",
    "check_input",
    "check_output_file",
    "output_run",
    "read_run",
    "safe_name",
    "unique_names",
    "write_table",
    "write_text",
]

#: The file that makes a folder an oncoresist run; written last.
MANIFEST = "oncoresist-run.json"
_STAGING = ".oncoresist-staging"
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


# --------------------------------------------------------------------------- names and inputs


def safe_name(name: object, *, default: str = "unnamed", max_len: int = 80) -> str:
    """``name`` as a file-name part: letters, digits, ``. _ -`` only; never a path.

    Separators, ``..``, control characters and leading dots become ``_``, so a value from a
    user's file (a schedule's ``name``) can never point outside the output folder.

    >>> safe_name("x/../../../y"), safe_name("../../x"), safe_name(""), safe_name("ok-1.5")
    ('x_y', 'x', 'unnamed', 'ok-1.5')
    """
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
    text = re.sub(r"\.{2,}", "_", text)
    text = re.sub(r"_+", "_", text).strip("._-")
    return text[:max_len] or default


def unique_names(names: Iterable[object]) -> list[str]:
    """:func:`safe_name` of each, made unique case-insensitively by ``-2``, ``-3`` suffixes.

    >>> unique_names(["a", "A", "a/b", "a_b"])
    ['a', 'A-2', 'a_b', 'a_b-2']
    """
    seen: set[str] = set()
    out = []
    for raw in names:
        base = safe_name(raw)
        name, k = base, 1
        while name.lower() in seen:
            k += 1
            name = f"{base}-{k}"
        seen.add(name.lower())
        out.append(name)
    return out


def _plain(name: str) -> bool:
    """A relative path of safe parts (``fits.csv``, ``curves/fits.csv``): never leaves a folder."""
    parts = name.split("/")
    return bool(name) and all(part == safe_name(part) for part in parts)


def _same_file(a: Path, b: Path) -> bool:
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
    return True


def _clashes(target: Path, inputs: Sequence[Path], *, ours: Iterable[str] = ()) -> Path | None:
    """The input that writing ``target`` would replace, or None.

    A file input clashes when it is the same file (path, symlink or hard link). A folder input
    (a CurveCurator folder, a mirror) clashes with any existing file inside it that a previous
    oncoresist run there did not write (``ours``).
    """
    if not (target.exists() or target.is_symlink()):
        return None
    own = set(ours)
    for inp in inputs:
        if inp.is_dir():
            if _inside(target, inp) and target.name not in own:
                return inp
        elif _same_file(target, inp):
            return inp
    return None


def _refuse_clash(target: Path, inputs: Sequence[Path], *, ours: Iterable[str] = ()) -> None:
    hit = _clashes(target, inputs, ours=ours)
    if hit is not None:
        raise OutputError(
            f"{target}: this output would overwrite the input {hit}; nothing was written. "
            "Choose another output path (-o)."
        )


def _os_error(exc: OSError, target: Path) -> OutputError:
    where = exc.filename or target
    if exc.errno == errno.ENOSPC:
        fix = "the disk is full; free space or choose another output folder (-o)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "the folder is not writable; choose a writable output folder (-o)"
    else:
        fix = "choose another output folder (-o)"
    return OutputError(f"cannot write {where}: {exc.strerror or exc}; {fix}. Nothing was written.")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _stale(name: str, pattern: re.Pattern[str]) -> bool:
    m = pattern.fullmatch(name)
    if m is None or m.group("host") != _HOST:
        return False
    return not _pid_alive(int(m.group("pid")))


_TMP_FILE = re.compile(r"\.(?P<target>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+\.tmp")
_STAGING_DIR = re.compile(re.escape(_STAGING) + r"\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+")


def _clean_stale(folder: Path) -> None:
    """Remove temporary files and staging folders that killed runs on this host left."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and _stale(entry.name, _STAGING_DIR):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.is_file(follow_symlinks=False) and _stale(entry.name, _TMP_FILE):
                os.unlink(entry.path)
        except OSError:
            continue


# --------------------------------------------------------------------------- single files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_file(
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]],
    suffixes: Sequence[str] = (),
) -> None:
    """Refuse, before any work, a single-file output that would replace an input or a folder,
    or (``suffixes``, e.g. :data:`TABLE_SUFFIXES`) whose format would be refused at the end."""
    target = Path(path)
    _refuse_clash(target, [Path(p) for p in inputs])
    if target.is_dir():
        raise OutputError(f"{target} is a folder; give a file name for this output (-o)")
    if suffixes and target.suffix.lower() not in suffixes:
        raise OutputError(
            f"cannot write {target}: unknown format {target.suffix or '(no suffix)'!r}; "
            f"use {', '.join(suffixes)}"
        )


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, inputs: Sequence[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    ``inputs``: paths the caller read; replacing one is an :class:`OutputError`. A failed write
    (read-only folder, full disk) is an :class:`OutputError` and leaves ``path`` as it was.
    """
    target = Path(path)
    ins = [Path(p) for p in inputs]
    check_output_file(target, inputs=ins)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(target.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.{_HOST}.{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
        os.close(fd)
    except OSError as exc:
        raise _os_error(exc, target) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the output the usual permissions (0666 - umask)
        os.chmod(tmp_path, 0o666 & ~_umask())
        _refuse_clash(target, ins)
        os.replace(tmp_path, target)
    except OSError as exc:
        raise _os_error(exc, target) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write a DataFrame atomically; the format follows the suffix (.parquet, .csv, .tsv,
    .xlsx: one sheet named after the file, see :func:`write_workbook`)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise OutputError(
            f"cannot write {target}: unknown table format {suffix!r}; "
            "use .parquet, .csv, .tsv or .xlsx"
        )
    if suffix == ".xlsx":
        return write_workbook({target.stem: df}, target, inputs=inputs)
    with atomic_path(target, inputs=inputs) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, sep="\t" if suffix == ".tsv" else ",", index=False)
    return target


#: the table formats :func:`write_table` writes
TABLE_SUFFIXES = (".parquet", ".csv", ".tsv", ".xlsx")
#: Excel's limits: rows per sheet (one is the header), characters per sheet name
EXCEL_MAX_ROWS = 1_048_576
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(names: Iterable[str]) -> list[str]:
    """Excel sheet names: no ``[]:*?/\\``, at most 31 characters, unique case-insensitively."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = _SHEET_BAD.sub("_", str(name)).strip("'") or "table"
        cand, i = base[:31], 2
        while cand.lower() in seen:
            tag = f"-{i}"
            cand, i = base[: 31 - len(tag)] + tag, i + 1
        seen.add(cand.lower())
        out.append(cand)
    return out


def _excel_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Columns Excel can hold: time zones dropped (as UTC), everything else as it is."""
    out = df
    for col in df.columns:
        if isinstance(df[col].dtype, pd.DatetimeTZDtype):
            if out is df:
                out = df.copy()
            out[col] = df[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def write_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    about: Mapping[str, Any] | None = None,
    units: bool = True,
) -> Path:
    """Write ``{name: table}`` as one Excel workbook (a sheet per table), atomically.

    Sheet names follow Excel's rules (31 characters, no ``[]:*?/\\``, unique). Text that
    starts with ``=`` is written as text, never as a formula (a cell from a user's file cannot
    run anything in Excel). A table longer than Excel's 1,048,575 data rows is refused with the
    fix (write .parquet or .csv). ``about`` (``{key: value}``) adds a first sheet ``about``
    that says what the workbook holds. ``units``: headers carry their unit, as in the HTML
    reports (``ic50_abs (µM)``, :func:`oncoresist.report.column_label`); the CSV and Parquet
    files keep the plain names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> _ = write_workbook({"fits": pd.DataFrame({"drug": ["=1+1"], "ic50_uM": [0.5]})}, p)
    >>> pd.read_excel(p, sheet_name="fits")["drug"].tolist()
    ['=1+1']
    >>> pd.read_excel(p, sheet_name="fits").columns.tolist()
    ['drug', 'ic50_uM']
    """
    from .report._section import column_label

    target = Path(path)
    for name, df in tables.items():
        if len(df) >= EXCEL_MAX_ROWS:
            raise OutputError(
                f"cannot write {target}: table {name!r} has {len(df):,} rows, more than an Excel "
                f"sheet holds ({EXCEL_MAX_ROWS - 1:,}); write it as .parquet or .csv instead"
            )
    names = _sheet_names(["about", *tables] if about else tables)[1 if about else 0 :]
    sheets = dict(zip(names, tables.values(), strict=True))
    with atomic_path(target, inputs=inputs) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            if about:
                info = pd.DataFrame(
                    {"item": list(about), "value": [str(v) for v in about.values()]}
                )
                info.to_excel(xl, sheet_name="about", index=False)
            for name, df in sheets.items():
                out = _excel_ready(df)
                if units:
                    out = out.rename(columns=column_label)
                out.to_excel(xl, sheet_name=name, index=False)
                for row in xl.sheets[name].iter_rows(min_row=2):
                    for cell in row:
                        if cell.data_type == "f":  # text that looks like a formula stays text
                            cell.data_type = "s"
    return target


def _tables_of(folder: Path) -> dict[str, Path]:
    """The tables of a run folder, one per name: Parquet before CSV/TSV (types kept)."""
    rank = {".parquet": 0, ".tsv": 1, ".csv": 2}
    best: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in rank and not p.name.startswith("."):
            key = p.relative_to(folder).with_suffix("").as_posix()
            if key not in best or rank[p.suffix.lower()] < rank[best[key].suffix.lower()]:
                best[key] = p
    return best


# --------------------------------------------------------------------------- run folders


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclasses.dataclass(frozen=True)
class RunManifest:
    """What ``oncoresist-run.json`` says about a run folder (see :func:`read_run`)."""

    folder: Path
    status: str
    command: str
    params: Mapping[str, Any]
    inputs: tuple[Mapping[str, Any], ...]
    files: tuple[str, ...]
    checksums: Mapping[str, str]
    version: str
    started: str
    finished: str | None

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def _load_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IncompleteRunError(
            f"{path}: the run manifest cannot be read ({exc}); the run in {folder} is "
            "incomplete or damaged. Run the command again into this folder."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise IncompleteRunError(f"{path}: not an oncoresist run manifest; run the command again")
    return data


def read_run(folder: str | os.PathLike[str], *, verify: bool = True) -> RunManifest:
    """Check an output folder and return its manifest.

    Raises :class:`IncompleteRunError` when the folder has no manifest, the run was interrupted
    (``status`` is not ``complete``), or (``verify=True``) a listed file is missing or its
    SHA-256 differs from the one the run recorded.
    """
    root = Path(folder)
    data = _load_manifest(root)
    if data is None:
        raise IncompleteRunError(
            f"{root}: no {MANIFEST}; this is not a complete oncoresist run (it was interrupted, "
            "or written by something else). Run the command again into this folder."
        )
    files: dict[str, Any] = data["files"]
    if data.get("status") != "complete":
        raise IncompleteRunError(
            f"{root}: the run of {data.get('command', '?')!r} started {data.get('started', '?')} "
            "did not finish (its outputs are a mix of old and new files). Run it again."
        )
    if verify:
        for name, info in files.items():
            path = root / name
            if not path.is_file():
                raise IncompleteRunError(f"{root}: {name} is listed by the run but missing")
            if _sha256(path) != info.get("sha256"):
                raise IncompleteRunError(
                    f"{path}: changed since {data.get('command', '?')!r} wrote it "
                    f"({data.get('finished', '?')}); run the command again for a consistent set"
                )
    return RunManifest(
        folder=root,
        status=str(data["status"]),
        command=str(data.get("command", "")),
        params=data.get("params") or {},
        inputs=tuple(data.get("inputs") or ()),
        files=tuple(files),
        checksums={k: str(v.get("sha256")) for k, v in files.items()},
        version=str(data.get("version", "")),
        started=str(data.get("started", "")),
        finished=data.get("finished"),
    )


def _owning_run(path: Path) -> tuple[Path, dict[str, Any], str] | None:
    """The run folder whose manifest lists ``path`` (a file or sub-folder of it), if any."""
    target = path.absolute()
    for folder in [target, *target.parents][:8]:
        if not (folder / MANIFEST).is_file():
            continue
        data = _load_manifest(folder)
        assert data is not None
        rel = target.relative_to(folder).as_posix()
        listed = set(data["files"]) | set(data.get("replacing") or ())
        if rel == "." or rel in listed or any(n.startswith(rel + "/") for n in listed):
            return folder, data, rel
        return None
    return None


def check_input(path: str | os.PathLike[str]) -> None:
    """Refuse an input that belongs to an interrupted run; warn when it changed since.

    A file written by an oncoresist run (listed in the :data:`MANIFEST` of its folder or of a
    folder above) is read only when that run completed; a file edited after the run is read
    with a warning (editing results by hand is legitimate, but the other files of the run no
    longer match it).
    """
    p = Path(path)
    owner = _owning_run(p)
    if owner is None:
        return
    folder, data, rel = owner
    if data.get("status") != "complete":
        raise IncompleteRunError(
            f"{p}: it belongs to an interrupted run of {data.get('command', '?')!r} in {folder}; "
            "run that command again before using its outputs"
        )
    info = data["files"].get(rel) if p.is_file() else None
    if info is not None and _sha256(p) != info.get("sha256"):
        warnings.warn(
            f"{p}: changed since {data.get('command', '?')!r} wrote it; reading it as it is now",
            UserWarning,
            stacklevel=2,
        )


class OutputRun:
    """The output folder of one command run, written as one unit (see :func:`output_run`)."""

    def __init__(
        self,
        folder: Path,
        *,
        command: str,
        inputs: Sequence[Path],
        params: Mapping[str, Any],
        expect: Sequence[str] = (),
    ) -> None:
        self.folder = folder
        self.command = command
        self.inputs = [Path(p) for p in inputs]
        self.params = dict(params)
        self.expect = tuple(expect)
        self.started = _now()
        self._staging: Path | None = None
        self._inputs_cache: list[dict[str, Any]] | None = None

    # -- set-up -------------------------------------------------------------------------
    def _old(self) -> dict[str, Any] | None:
        try:
            return _load_manifest(self.folder)
        except IncompleteRunError:
            return None  # a damaged manifest: the run is replaced as a whole below

    def _old_names(self) -> set[str]:
        old = self._old() or {}
        return set(old.get("files") or {}) | set(old.get("replacing") or ())

    def __enter__(self) -> OutputRun:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder} is a file; give a folder for the outputs (-o)")
        for inp in self.inputs:
            if not inp.is_dir() and _same_file(folder, inp):
                raise OutputError(f"{folder}: the output folder is the input file; choose -o")
        ours = self._old_names()
        for name in self.expect:
            _refuse_clash(folder / name, self.inputs, ours=ours)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _clean_stale(folder)
            self._staging = Path(
                tempfile.mkdtemp(prefix=f"{_STAGING}.{_HOST}.{os.getpid()}.", dir=folder)
            )
        except OSError as exc:
            raise _os_error(exc, folder) from exc
        return self

    # -- writing ------------------------------------------------------------------------
    @property
    def staging(self) -> Path:
        """The hidden folder this run writes into; its contents move into place on success."""
        if self._staging is None:
            raise RuntimeError("OutputRun used outside its with-block")
        return self._staging

    def path(self, name: str) -> Path:
        """Where to write output ``name`` (a file name, or ``sub/file``) during the run."""
        if not _plain(name) or name == MANIFEST:
            raise ValueError(f"output name {name!r} is not a plain file name; use safe_name()")
        target = self.staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def final(self, name: str) -> Path:
        """Where output ``name`` will be once the run is complete."""
        return self.folder / name

    # -- commit -------------------------------------------------------------------------
    def _manifest(self, status: str, files: Mapping[str, Any], replacing: Iterable[str]) -> None:
        from . import __version__

        doc = {
            "oncoresist_run": 1,
            "status": status,
            "command": self.command,
            "argv": list(sys.argv[1:]),
            "params": _jsonable(self.params),
            "inputs": self._inputs_info(),
            "files": dict(files),
            "replacing": sorted(replacing),
            "version": __version__,
            "started": self.started,
            "finished": _now() if status == "complete" else None,
        }
        assert self._staging is not None
        tmp = self._staging / f".{MANIFEST}.{status}"
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, self.folder / MANIFEST)

    def _inputs_info(self) -> list[dict[str, Any]]:
        """Each input's path, size and SHA-256 (hashed once per run)."""
        if self._inputs_cache is None:
            self._inputs_cache = []
            for p in self.inputs:
                info: dict[str, Any] = {"path": str(p.resolve())}
                if p.is_file():
                    info.update(size=p.stat().st_size, sha256=_sha256(p))
                self._inputs_cache.append(info)
        return self._inputs_cache

    def _workbook(self) -> None:
        """``tables.xlsx``: every table this run wrote, a sheet each (``oncoresist --excel``)."""
        assert self._staging is not None
        found = _tables_of(self._staging)
        if not found:
            return
        tables, about = (
            {},
            {
                "command": self.command,
                "written": _now(),
                "headers": "each column with its unit, e.g. ic50_abs (µM); the run's CSV/Parquet "
                "files have the plain names",
            },
        )
        for key, p in found.items():
            df = pd.read_parquet(p) if p.suffix == ".parquet" else _read_delimited(p)
            if len(df) >= EXCEL_MAX_ROWS:
                about[f"{key} (not included)"] = (
                    f"{len(df):,} rows, more than an Excel sheet holds: see {p.name}"
                )
                continue
            tables[key] = df
            about[key] = f"{p.relative_to(self._staging).as_posix()}: {len(df):,} rows"
        write_workbook(tables, self._staging / "tables.xlsx", about=about)

    def _commit(self) -> None:
        assert self._staging is not None
        if excel_wanted():  # oncoresist --excel
            self._workbook()
        staged = sorted(
            p.relative_to(self._staging).as_posix() for p in self._staging.rglob("*") if p.is_file()
        )
        old = self._old_names()
        for name in staged:
            _refuse_clash(self.folder / name, self.inputs, ours=old)
        files = {
            n: {"sha256": _sha256(self._staging / n), "size": (self._staging / n).stat().st_size}
            for n in staged
        }
        stale = [
            n
            for n in old - set(staged)
            if n != MANIFEST and _plain(n) and _clashes(self.folder / n, self.inputs) is None
        ]
        self._manifest("incomplete", files, old | set(staged))
        for name in staged:
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._staging / name, self.folder / name)
        for name in stale:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()
            parent = (self.folder / name).parent
            while parent != self.folder and _inside(parent, self.folder):
                try:
                    parent.rmdir()  # only when empty: a user's file keeps its folder
                except OSError:
                    break
                parent = parent.parent
        self._manifest("complete", files, ())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                try:
                    self._commit()
                except OSError as err:
                    raise _os_error(err, self.folder) from err
            elif isinstance(exc, OSError) and _inside(Path(exc.filename or "/"), self.folder):
                raise _os_error(exc, self.folder) from exc
        finally:
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)


def _read_delimited(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")


def output_run(
    folder: str | os.PathLike[str],
    *,
    command: str,
    inputs: Sequence[str | os.PathLike[str]],
    params: Mapping[str, Any],
    expect: Sequence[str] = (),
) -> OutputRun:
    """A context manager for the output folder of one run.

    Write each output to ``run.path(name)``; on success the files move into ``folder`` and the
    manifest is written last. ``inputs`` are never overwritten (checked before the work starts
    for the ``expect``-ed names, and again before anything moves). On an error nothing in
    ``folder`` changes and the staged files are removed.
    """
    return OutputRun(
        Path(folder), command=command, inputs=[Path(p) for p in inputs], params=params,
        expect=expect,
    )  # fmt: skip
