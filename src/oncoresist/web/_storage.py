"""Files under the data folder, named by generated ids only.

A user's file name is kept as a label in the database; on disk an upload is
``uploads/<32 hex>.<suffix from an allow-list>``, a result ``results/<analysis id>/<fixed name>``.
No path ever comes from a request: ids are checked against ``[0-9a-f]{32}`` before use.
"""

from __future__ import annotations

import gzip
import re
import uuid
import zipfile
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

__all__ = ["BombError", "ContentError", "Storage", "TooLargeError", "display_name"]

#: suffixes accepted for uploads (the readers detect the format from suffix and content)
SUFFIXES = (
    ".csv",
    ".tsv",
    ".txt",
    ".xlsx",
    ".parquet",
    ".zip",
    ".gz",
    ".yaml",
    ".yml",
    ".json",
    ".vcf",
    ".maf",
)
_ID = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1 << 20


class TooLargeError(InputError):
    """An upload is larger than the configured limit (HTTP 413)."""


class ContentError(InputError):
    """An upload's type or content is refused: binary posing as text, .exe ... (HTTP 415)."""


class BombError(ContentError):
    """A compressed upload expands beyond the limit: a zip or gzip bomb (HTTP 413)."""


def display_name(name: str | None) -> str:
    """A file name as a label: the last path part, printable, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "upload"
    return base[:200]


def _suffix(name: str) -> str:
    lower = name.lower()
    for two in (".csv.gz", ".tsv.gz", ".txt.gz"):
        if lower.endswith(two):
            return two
    suffix = Path(lower).suffix
    if suffix == ".xls":
        raise ContentError(f"{name}: old .xls workbooks are not read; save the file as .xlsx")
    if suffix not in SUFFIXES:
        raise ContentError(
            f"{name}: unsupported file type {suffix or '(none)'}; upload one of "
            + ", ".join(SUFFIXES)
        )
    return suffix


class Storage:
    """Uploads and results under ``root``."""

    def __init__(self, root: Path, *, max_bytes: int, max_expanded: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_expanded = max_expanded
        for sub in ("uploads", "results", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ uploads
    def save_upload(self, stream: BinaryIO, name: str) -> str:
        """Store ``stream`` under a new id; returns ``<id><suffix>``. Checks size and content."""
        label = display_name(name)
        suffix = _suffix(label)
        file_id = uuid.uuid4().hex + suffix
        target = self.root / "uploads" / file_id
        tmp = self.root / "tmp" / (file_id + ".part")
        size = 0
        try:
            with open(tmp, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLargeError(
                            f"{label}: larger than the upload limit of {self.max_bytes} bytes"
                        )
                    out.write(chunk)
            if size == 0:
                raise ContentError(f"{label}: the file is empty")
            self._check_content(tmp, label, suffix)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return file_id

    def _check_content(self, path: Path, label: str, suffix: str) -> None:
        head = path.read_bytes()[:8]
        if suffix in (".zip", ".xlsx"):
            self._check_zip(path, label)
        elif suffix.endswith(".gz"):
            self._check_gzip(path, label)
        elif suffix == ".parquet":
            if head[:4] != b"PAR1":
                raise ContentError(f"{label}: not a Parquet file (it does not start with PAR1)")
        else:
            with open(path, "rb") as fh:
                sample = fh.read(_CHUNK)
            if b"\x00" in sample:
                raise ContentError(
                    f"{label}: a text table was expected but the file holds binary data"
                )

    def _check_zip(self, path: Path, label: str) -> None:
        if not zipfile.is_zipfile(path):
            raise ContentError(f"{label}: not a valid zip / xlsx file")
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > 10_000:
                raise BombError(f"{label}: the archive holds {len(infos)} files; refused")
            declared = sum(i.file_size for i in infos)
            if declared > self.max_expanded:
                raise BombError(
                    f"{label}: the archive expands to {declared} bytes, more than the limit "
                    f"of {self.max_expanded} (a zip bomb?); refused"
                )
            # declared sizes can lie: decompress, counting, up to the limit
            total = 0
            for info in infos:
                with zf.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        total += len(chunk)
                        if total > self.max_expanded:
                            raise BombError(
                                f"{label}: the archive expands to more than {self.max_expanded} "
                                "bytes (a zip bomb?); refused"
                            )

    def _check_gzip(self, path: Path, label: str) -> None:
        total = 0
        try:
            with gzip.open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    total += len(chunk)
                    if total > self.max_expanded:
                        raise BombError(
                            f"{label}: the file expands to more than {self.max_expanded} bytes "
                            "(a gzip bomb?); refused"
                        )
        except (OSError, EOFError) as exc:
            raise ContentError(f"{label}: not a valid gzip file ({exc})") from exc

    def upload_path(self, file_id: str) -> Path:
        """The stored file of ``file_id`` (an id this app generated; anything else is refused)."""
        stem, dot, suffix = file_id.partition(".")
        if not _ID.fullmatch(stem) or (dot + suffix) not in (*SUFFIXES, ".csv.gz", ".tsv.gz",
                                                              ".txt.gz"):  # fmt: skip
            raise InputError(f"not a stored file id: {file_id!r}")
        return self.root / "uploads" / file_id

    def unpack(self, file_id: str, folder: Path, *, label: str) -> Path | None:
        """A stored zip holding a CurveCurator data set, extracted flat into ``folder``.

        Returns the path of its ``.toml`` (None when the zip holds none: the readers get the
        zip itself). Member names are reduced to safe base names (no folders, no ``..``), only
        regular files are written, and the zip passed the size checks when it was uploaded.
        """
        from .._io import safe_name

        with zipfile.ZipFile(self.upload_path(file_id)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()
                       and (i.external_attr >> 16) & 0o170000 in (0, 0o100000)]  # fmt: skip
            names = [safe_name(re.split(r"[\\/]", i.filename)[-1]) for i in members]
            if not any(n.lower().endswith(".toml") for n in names):
                return None
            if len(set(names)) != len(names):
                raise InputError(f"{label}: two files in the zip have the same name; keep one")
            folder.mkdir(parents=True, exist_ok=True)
            for info, name in zip(members, names, strict=True):
                with zf.open(info) as src, open(folder / name, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
        tomls = sorted(folder.glob("*.toml"))
        if len(tomls) != 1:
            raise InputError(
                f"{label}: a CurveCurator zip holds one .toml parameter file and its table; "
                f"this one holds {len(tomls)} .toml files"
            )
        return tomls[0]

    # ------------------------------------------------------------------ results
    def result_dir(self, owner_id: str) -> Path:
        if not _ID.fullmatch(owner_id):
            raise InputError(f"not an id: {owner_id!r}")
        path = self.root / "results" / owner_id
        path.mkdir(parents=True, exist_ok=True)
        return path
