"""Reading text files: the bytes (decompressed by suffix) and their decoding, one way for all readers.

:func:`read_bytes` gives a file's bytes, decompressed when its name ends in ``.gz``, ``.bz2``,
``.xz`` or ``.zip`` (an archive of exactly one file). :func:`decode` turns them into text: a
byte-order mark decides UTF-8, UTF-16 or UTF-32; otherwise ``strict=True`` accepts UTF-8 only
(formats whose specification is UTF-8: YAML/JSON models, profiles, TOML) and ``strict=False``
falls back to Windows-1252, then Latin-1 (tables exported by Excel or instrument PCs), saying so
in the result so that the caller notes it. :func:`yaml_problem` words a YAML syntax error the
same way for every YAML file read. Every failure is an :class:`InputError` naming the
file (and the line and column of a bad byte) with the fix. :func:`fmt_number` writes a number
into report or summary text, a word (``n/a``) instead of ``nan`` when there is none.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import math
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .errors import InputError

__all__ = ["COMPRESSION", "Decoded", "decode", "fmt_number", "read_bytes", "yaml_problem"]

COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
_OPEN: dict[str, Callable[[Path], io.BufferedIOBase]] = {
    "gzip": gzip.GzipFile,
    "bz2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
}
# UTF-32 first: its little-endian mark starts with UTF-16's
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)


class Decoded(NamedTuple):
    """Text of a file, the encoding that read it and, when that is not plain UTF-8, a note
    (``"utf-16 (byte-order mark)"``, ``"cp1252: line 3, column 7: byte 0xe9 is not UTF-8"``)."""

    text: str
    encoding: str
    note: str


def read_bytes(path: Path, *, what: str = "file", limit: int = -1) -> bytes:
    """The bytes of ``path``, decompressed by its suffix (see :data:`COMPRESSION`); only the
    first ``limit`` (decompressed) bytes when ``limit`` is not -1, read without the rest.

    A file that cannot be read, a damaged archive or a zip archive of more than one file is an
    :class:`InputError` naming the file and ``what`` it should hold.

    Examples
    --------
    >>> import gzip, tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv.gz"
    >>> _ = p.write_bytes(gzip.compress(b"a,b\\n"))
    >>> read_bytes(p, what="table")
    b'a,b\\n'
    """
    comp = COMPRESSION.get(path.suffix.lower())
    try:
        if comp in _OPEN:
            with _OPEN[comp](path) as fh:
                return fh.read(limit)
        if comp == "zip":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise InputError(
                        f"{path}: the zip archive holds {len(names)} files {names[:5]}; a "
                        f"{what} needs exactly one (unzip it and pass the file)"
                    )
                with zf.open(names[0]) as member:
                    return member.read(limit)
        with path.open("rb") as fh:
            return fh.read(limit)
    except InputError:
        raise
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        fix = f"; it may be truncated or not {comp} as its name says: export it again"
        raise InputError(
            f"{path}: cannot read the {what} ({type(exc).__name__}: {exc}){fix if comp else ''}"
        ) from None


def _position(raw: bytes, at: int, *, column: bool) -> str:
    line = raw.count(b"\n", 0, at) + 1
    col = at - raw.rfind(b"\n", 0, at)
    return f"line {line}, column {col}" if column else f"line {line}"


def decode(
    raw: bytes,
    path: Path,
    *,
    what: str,
    strict: bool,
    nul: bool = False,
    empty: bool = False,
    column: bool = True,
) -> Decoded:
    """Decode the bytes ``raw`` of ``path``; the text has no byte-order mark.

    Parameters
    ----------
    raw, path
        The bytes (from :func:`read_bytes`) and the file they came from, for messages.
    what
        What the file holds (``"model"``, ``"dose matrix"``), for messages.
    strict
        True: UTF-8 only (a UTF-16/32 mark or a non-UTF-8 byte is an error naming the line and
        column). False: UTF-8, else Windows-1252, else Latin-1 (which decodes every byte), the
        encoding said in :attr:`Decoded.note`.
    nul
        A NUL character is an error (binary data, or UTF-16 without its byte-order mark).
    empty
        A file of only white space is an error.
    column
        Name the column of a non-UTF-8 byte as well as its line.

    Examples
    --------
    >>> decode("Évry".encode("cp1252"), Path("t.csv"), what="table", strict=False)
    Decoded(text='Évry', encoding='cp1252', note='cp1252: line 1, column 1: byte 0xc9 is not UTF-8')
    """
    text = None
    for bom, codec, enc in _BOMS:
        if raw.startswith(bom):
            if strict and enc != "utf-8":
                raise InputError(f"{path}: the {what} is {enc.upper()} text; save it as UTF-8")
            try:
                text, note = raw.decode(codec), "" if enc == "utf-8" else f"{enc} (byte-order mark)"
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}: starts with a {enc} byte-order mark but is not valid {enc} at byte "
                    f"{exc.start} (truncated or damaged); save it again as UTF-8 text"
                ) from None
            break
    if text is None:
        try:
            text, enc, note = raw.decode("utf-8"), "utf-8", ""
        except UnicodeDecodeError as exc:
            at = _position(raw, exc.start, column=column)
            bad = f"{at}: byte 0x{raw[exc.start]:02x} is not UTF-8"
            if strict:
                raise InputError(f"{path}: {bad} text; save the file as UTF-8") from None
            try:
                text, enc = raw.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, enc = raw.decode("latin-1"), "latin-1"
            note = f"{enc}: {bad}"
    if nul and "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(
            f"{path}: line {line}: a NUL byte: binary content, not a text {what} (a damaged "
            "file, or UTF-16 without its byte-order mark); export it again as UTF-8 text"
        )
    if empty and not text.strip():
        raise InputError(f"{path}: the file is empty; expected a {what}")
    return Decoded(text, enc, note)


def yaml_problem(exc: Exception) -> str:
    """``line L, column C: not valid YAML (...)`` from a PyYAML error, with the fix.

    Examples
    --------
    >>> import yaml
    >>> try:
    ...     yaml.safe_load("a: 'b")
    ... except yaml.YAMLError as exc:
    ...     print(yaml_problem(exc).split(" (")[0])
    line 1, column 6: not valid YAML
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    loc = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and cmark is not None and cmark is not mark:
        problem = f"{context} at line {cmark.line + 1}, column {cmark.column + 1}: {problem}"
    return f"{loc}not valid YAML ({problem}); check quotes, colons and indentation"


def fmt_number(value: object, spec: str = ".3g", *, missing: str = "n/a") -> str:
    """``value`` formatted with ``spec`` for text read by people; ``missing`` for a value that
    is not a finite number (None, NaN, pandas NA, infinity, text that is not a number).

    Table cells leave such values empty; sentences need a word (``"n/a"``, ``"not estimable"``)
    where an f-string would print ``nan``.

    Examples
    --------
    >>> fmt_number(0.123456, ".3f"), fmt_number(float("nan"), ".3f"), fmt_number(None)
    ('0.123', 'n/a', 'n/a')
    >>> fmt_number(float("inf"), ".2f", missing="not estimable")
    'not estimable'
    """
    if value is None or isinstance(value, bool | str):
        return missing
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(number):
        return missing
    if spec.endswith("d"):  # an integer spec (",d") takes the rounded number
        return format(round(number), spec)
    return format(number, spec)
