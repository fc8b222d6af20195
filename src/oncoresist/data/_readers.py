"""File readers: one registry of formats, one column mapping, one concentration-unit policy.

Every format is a :class:`Reader` in :data:`READERS`: a name (what ``fmt=`` / ``--format``
picks), what it produces (``"screen"``, ``"combination"`` or both for tidy tables), how it is
detected (file suffix and a sniff of the first bytes) and how it is read. :func:`read_screen`
and ``read_combination_table`` pick the reader with the same rules:

1. ``fmt=`` names the reader; ``plate_map=`` means a plate-reader export;
2. otherwise each reader scores the file: ``3`` for a content signature (GDSC raw columns, a
   CurveCurator ``.toml``, a plate grid), ``2`` for its suffix or magic bytes, ``1`` for content
   that merely looks right (delimited text under an unknown suffix); the best score wins.

Delimited text is sniffed: the separator among ``,`` ``;`` and tab, and the decimal comma of
European spreadsheet exports (``;``-separated, ``1,5``). What was detected is written into the
result's source text; what cannot be decided is an error that says what to pass.

Every line of delimited text must have the header's number of fields (a short line is a
truncated file or a lost separator, a long one would shift the columns), each column name may
appear once, and a file that is empty, corrupt (Parquet, Excel) or has only a header is an
:class:`InputError` naming the file and the line; text that is not UTF-8 is read as cp1252 /
latin-1 and noted.

Concentrations always need a unit (:func:`concentrations_to_micromolar`): a unit column
(row by row), a unit in the column name (``conc_nM``, ``Concentration (uM)``) or the
``conc_unit`` argument. No unit, or two sources that disagree, is an error.
"""

from __future__ import annotations

import csv
import difflib
import importlib
import io
import logging
import os
import re
import shlex
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._registry import Registry
from .._text import COMPRESSION, decode, read_bytes
from ..errors import InputError, SchemaError
from ._screen import Screen, numeric_column, to_micromolar

__all__ = [
    "READERS",
    "ConcSpec",
    "FileHead",
    "ReadOptions",
    "Reader",
    "Table",
    "cli_fix",
    "concentrations_to_micromolar",
    "load_table",
    "read_screen",
    "resolve_column_map",
    "select_reader",
    "split_unit",
]

_log = logging.getLogger(__name__)

Product = Literal["screen", "combination"]

_COMPRESSION = {**COMPRESSION, ".zst": "zstd"}  # pandas alone reads zstd
_HEAD_BYTES = 1 << 16
_SNIFF_LINES = 200
_SEPARATORS = (",", ";", "\t")
_SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_UNIT_COLUMNS = ("conc_unit", "unit", "concentration_unit", "units")
#: Our column names of a well-level screen (matched case-insensitively in files).
SCREEN_COLUMNS = (
    "sample",
    "drug",
    "concentration",
    "role",
    "replicate",
    "plate",
    "well",
    "row",
    "col",
    "time",
    "signal",
    "viability",
)
# Common names of our columns in other tools' tables: used for suggestions, never applied
# silently (except a case-insensitive match of our own name).
_ALIASES: dict[str, tuple[str, ...]] = {
    "sample": ("cell_line", "cellline", "cell_line_name", "cell", "line", "model", "ccl_name"),
    "drug": ("compound", "drug_name", "treatment", "agent", "cpd_name", "inhibitor"),
    "concentration": ("conc", "dose", "concentration_um", "concentration_nm", "dosage"),
    "signal": ("intensity", "luminescence", "counts", "cell_count", "raw", "read", "value"),
    "viability": ("response", "percent_viability", "relative_viability", "inhibition"),
    "plate": ("barcode", "plate_id", "plate_name", "scan_id"),
    "well": ("position", "well_id", "well_name"),
}

# The CLI flag of every reader option, so that each error can name both ways to fix it.
_CLI_FLAGS = {
    "fmt": "--format",
    "conc_unit": "--conc-unit",
    "sheet": "--sheet",
    "sep": "--sep",
    "decimal": "--decimal",
    "columns": "--columns",
    "plate_map": "--plate-map",
}


def cli_fix(**options: Any) -> str:
    """``"conc_unit='nM' (CLI: --conc-unit nM)"``: the fix in the API and on the command line.

    >>> cli_fix(sep=";", decimal=",")
    "sep=';', decimal=',' (CLI: --sep ';' --decimal ',')"
    """
    api = ", ".join(f"{k}={v!r}" for k, v in options.items())
    cli = []
    for k, v in options.items():
        flag = _CLI_FLAGS.get(k, "--" + k.replace("_", "-"))
        if k == "columns" and isinstance(v, Mapping):
            text = ",".join(f"{ours}={theirs}" for ours, theirs in v.items())
        elif k in ("sep", "decimal"):  # always quoted: ';' and '\t' need it, ',' reads better
            cli.append(f"{flag} " + (r"'\t'" if v == "\t" else f"'{v}'"))
            continue
        else:
            text = str(v)
        cli.append(f"{flag} {shlex.quote(text)}")
    return f"{api} (CLI: {' '.join(cli)})"


# ---------------------------------------------------------------------- options and results
@dataclass(frozen=True)
class ReadOptions:
    """Options every reader receives (each uses those that apply to its format)."""

    columns: Mapping[str, str] | None = None
    conc_unit: str | None = None
    sheet: str | int | None = None
    sep: str | None = None
    decimal: str | None = None
    plate_map: Any = None
    fmt: str | None = None  # as asked for; a plate export passes it on as the export's format


@dataclass(frozen=True)
class Table:
    """A raw table read from a file, before its columns are mapped onto a screen's."""

    frame: pd.DataFrame
    path: Path
    notes: tuple[str, ...] = ()
    where: str = ""  # file (and sheet) for messages, ending in ": "

    @property
    def source(self) -> str:
        """The file, with what was detected while reading it."""
        base = self.where[:-2] if self.where.endswith(": ") else str(self.path)
        return f"{base} ({'; '.join(self.notes)})" if self.notes else base


# ---------------------------------------------------------------------- sniffing
def _strip_compression(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    comp = None
    while suffixes and suffixes[-1] in _COMPRESSION:
        comp = comp or _COMPRESSION[suffixes[-1]]
        suffixes.pop()
    return (suffixes[-1] if suffixes else ""), comp


@dataclass
class FileHead:
    """The first bytes of a file (decompressed), what the readers sniff."""

    path: Path
    suffix: str
    compression: str | None
    raw: bytes
    is_dir: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, path: Path) -> FileHead:
        """Head of ``path`` (raises :class:`InputError` when it does not exist)."""
        if not path.exists():
            raise InputError(f"{path}: file not found")
        suffix, comp = _strip_compression(path)
        if path.is_dir():
            return cls(path, suffix, comp, b"", is_dir=True)
        return cls(path, suffix, comp, read_bytes(path, limit=_HEAD_BYTES))

    @property
    def truncated(self) -> bool:
        return len(self.raw) >= _HEAD_BYTES

    @cached_property
    def encoding(self) -> str | None:
        """``utf-8``, ``utf-16`` (with its byte-order mark), ``cp1252`` or ``latin-1`` when the
        head is text, None when it is binary."""
        if self.raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16"  # Excel's "Unicode text" export
        if not self.raw or b"\x00" in self.raw[:4096]:
            return None
        data = self.raw
        for enc in ("utf-8", "cp1252", "latin-1"):
            try:
                data.decode(enc)
                return enc
            except UnicodeDecodeError as exc:
                # a multi-byte character cut by the head limit is not a decoding failure
                if enc == "utf-8" and self.truncated and exc.start >= len(data) - 4:
                    return enc
        return None

    @cached_property
    def text(self) -> str | None:
        enc = self.encoding
        if enc is None:
            return None
        return self.raw.decode(enc, errors="ignore").lstrip("\ufeff")

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines of the head (a last line cut by the head limit is left out)."""
        if self.text is None:
            return []
        lines = self.text.splitlines()
        if self.truncated and lines:
            lines = lines[:-1]
        return [ln for ln in lines[:_SNIFF_LINES] if ln.strip()]

    def header(self) -> list[str]:
        """Column names: the first line of delimited text, or a Parquet file's schema."""
        if "header" not in self._cache:
            cols: list[str] = []
            if self.raw.startswith(b"PAR1"):
                try:
                    import pyarrow.parquet as pq

                    cols = list(pq.read_schema(self.path).names)
                except (OSError, ValueError, ImportError):
                    cols = []
            elif self.lines:
                sep = _consistent_separators(self.lines)
                first = _split(self.lines[0], sep[0] if sep else ",")
                cols = [c.strip() for c in first]
            self._cache["header"] = cols
        return self._cache["header"]

    def rows(self) -> list[list[str]]:
        """The head as rows of cells (text split on its most frequent separator per line)."""
        if "rows" not in self._cache:
            out = []
            for ln in self.lines:
                best = max(_SEPARATORS, key=ln.count)
                out.append([c.strip() for c in _split(ln, best)] if ln.count(best) else [ln])
            self._cache["rows"] = out
        return self._cache["rows"]


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep), [])


def _consistent_separators(lines: Sequence[str]) -> list[str]:
    """Separators giving the same number (>= 2) of fields on every line."""
    found = []
    for sep in _SEPARATORS:
        n = {len(_split(ln, sep)) for ln in lines}
        if len(n) == 1 and n.pop() >= 2:
            found.append(sep)
    return found


_NUM_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")
_NUM_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d+$")  # 1.234,5
_NUM_DOT = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+$")  # 1,000 or 12,500


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is read."""

    sep: str
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    notes: tuple[str, ...] = ()


def _sep_value(sep: str, where: str) -> str:
    s = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";"}.get(sep.lower(), sep)
    if len(s) != 1:
        raise InputError(
            f"{where}sep={sep!r}: give one character, e.g. {cli_fix(sep=';')} or "
            f"{cli_fix(sep=chr(9))}"
        )
    return s


def sniff_dialect(
    head: FileHead,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    default_sep: str = ",",
) -> Dialect:
    """Separator and decimal mark of a delimited text file, from its first lines.

    The separator is the one of ``,`` ``;`` tab that splits every line into the same number
    of fields; decimal commas are recognised in ``;``- or tab-separated files (``1,5``,
    ``1.234,5``). Ambiguous files are an :class:`InputError` that says what to pass.
    """
    where = f"{head.path}: "
    lines = head.lines
    notes = []
    encoding = head.encoding or "utf-8"
    if encoding != "utf-8":
        notes.append(f"text encoding {encoding} (not UTF-8)")
    if sep is not None:
        chosen = _sep_value(sep, where)
    else:
        cands = _consistent_separators(lines) if len(lines) > 1 else []
        if len(lines) == 1:
            cands = [s for s in _SEPARATORS if len(_split(lines[0], s)) >= 2]
        if len(cands) > 1 and default_sep in cands and default_sep == "\t":
            cands = ["\t"]
        if len(cands) > 1:
            counts = ", ".join(f"{_SEP_NAMES[s]} {len(_split(lines[0], s))}" for s in cands)
            raise InputError(
                f"{where}cannot tell the column separator: line 1 splits evenly on "
                f"{' and '.join(_SEP_NAMES[s] for s in cands)} ({counts} columns). Pass "
                + " or ".join(cli_fix(sep=s) for s in cands)
            )
        if cands:
            chosen = cands[0]
        elif lines:
            # ragged lines: the separator giving the header the most fields, else the default
            n = {s: len(_split(lines[0], s)) for s in _SEPARATORS}
            best = max(_SEPARATORS, key=lambda s: n[s])
            chosen = best if n[best] >= 2 else default_sep
        else:
            chosen = default_sep
        if chosen != default_sep:
            notes.append(f"{_SEP_NAMES[chosen]}-separated (detected)")
    if decimal is not None:
        if decimal not in (".", ","):
            raise InputError(f"{where}decimal={decimal!r}: use '.' or ','")
        if decimal == "," and chosen == ",":
            raise InputError(
                f"{where}decimal=',' with a comma separator cannot be read; the file needs "
                f"another separator, e.g. {cli_fix(sep=';', decimal=',')}"
            )
        dec = decimal
        thousands = "." if dec == "," and _has_grouped(lines, chosen) else None
    elif chosen == ",":
        dec, thousands = ".", None
    else:
        dec, thousands = _sniff_decimal(lines, chosen, where)
        if dec == ",":
            notes.append(
                "decimal commas (detected" + (", '.' thousands separators)" if thousands else ")")
            )
    return Dialect(chosen, dec, thousands, encoding, tuple(notes))


def _has_grouped(lines: Sequence[str], sep: str) -> bool:
    return any(_NUM_GROUPED.match(c.strip()) for ln in lines[1:] for c in _split(ln, sep))


def _sniff_decimal(lines: Sequence[str], sep: str, where: str) -> tuple[str, str | None]:
    if len(lines) < 2:
        return ".", None
    header = [c.strip() for c in _split(lines[0], sep)]
    comma: list[tuple[int, int, str]] = []
    dot: list[tuple[int, int, str]] = []
    grouped = False
    for i, ln in enumerate(lines[1:], start=2):
        for j, cell in enumerate(_split(ln, sep)):
            v = cell.strip()
            if _NUM_GROUPED.match(v):
                grouped = True
                comma.append((i, j, v))
            elif _NUM_COMMA.match(v):
                comma.append((i, j, v))
            elif _NUM_DOT.match(v):
                dot.append((i, j, v))
    if not comma:
        return ".", None

    def _at(item: tuple[int, int, str]) -> str:
        i, j, v = item
        col = header[j] if j < len(header) else f"#{j + 1}"
        return f"{v!r} (line {i}, column {col!r})"

    if dot:
        raise InputError(
            f"{where}cannot tell the decimal mark: {_at(comma[0])} reads as a decimal comma but "
            f"{_at(dot[0])} has a decimal point. Pass {cli_fix(sep=sep, decimal=',')} if commas "
            f"are decimal marks, or {cli_fix(sep=sep, decimal='.')}"
        )
    if sep == "\t" and all(_THOUSANDS_COMMA.match(v) for _, _, v in comma):
        raise InputError(
            f"{where}cannot tell whether {_at(comma[0])} is a decimal comma or a thousands "
            f"separator. Pass {cli_fix(sep=sep, decimal=',')} for decimal commas, or "
            f"{cli_fix(sep=sep, decimal='.')} if the commas group thousands"
        )
    return ",", ("." if grouped else None)


# ---------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Reader:
    """One registered file format.

    ``read(head, options)`` returns a :class:`Table` for tidy formats (``tidy=True``), which
    :func:`read_screen` / ``read_combination_table`` then map onto their columns, and the
    finished object (a :class:`Screen`) for formats with a fixed layout.
    ``sniff(head, options)`` scores the file's content: 0 (no), 1 (plausible), 2 (magic
    bytes) or 3 (a signature only this format has); a suffix in ``suffixes`` scores 2.
    """

    name: str
    produces: tuple[Product, ...]
    description: str
    read: Callable[[FileHead, ReadOptions], Any]
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[FileHead, ReadOptions], int] | None = None
    tidy: bool = False
    aliases: tuple[str, ...] = ()

    def score(self, head: FileHead, options: ReadOptions) -> int:
        """How well ``head`` fits this format (0 = not at all)."""
        s = 2 if head.suffix in self.suffixes else 0
        if self.sniff is not None:
            s = max(s, self.sniff(head, options))
        return s


#: Every file format oncoresist reads, by name (``fmt=`` / ``--format``).
READERS: Registry[Reader] = Registry("file format")


def register_reader(reader: Reader, *, replace: bool = False) -> Reader:
    """Add ``reader`` to :data:`READERS` (under its name and aliases)."""
    return READERS.register(reader.name, reader, aliases=reader.aliases, replace=replace)


def _formats_text(product: Product) -> str:
    return "; ".join(f"{r.name} ({r.description})" for r in READERS if product in r.produces)


def select_reader(
    path: Path, *, fmt: str | None, product: Product, options: ReadOptions
) -> tuple[Reader, FileHead]:
    """The reader for ``path``: ``fmt`` when given, else the best-scoring registered reader.

    With ``options.plate_map`` a screen is always a plate-reader export (``fmt`` then names
    the export's own format: csv, tsv, text or excel).
    """
    if product == "screen" and options.plate_map is not None:
        reader = READERS.get("plate_export") if "plate_export" in READERS else PLATE_EXPORT
        return reader, FileHead.of(path)
    if fmt is not None:
        if fmt.lower().lstrip(".") not in READERS:
            raise InputError(
                f"{path}: unknown format fmt={fmt!r}; the registered formats are: "
                f"{_formats_text(product)}. Pass one of them, e.g. {cli_fix(fmt='csv')}"
            )
        reader = READERS.get(fmt.lower().lstrip("."))
        if product not in reader.produces:
            raise InputError(
                f"{path}: format {reader.name!r} holds {' or '.join(reader.produces)} data, not "
                f"{product} data; formats for {product} data: {_formats_text(product)}"
            )
        return reader, FileHead.of(path)
    head = FileHead.of(path)
    best, chosen = 0, None
    for r in READERS:
        if product not in r.produces:
            continue
        s = r.score(head, options)
        if s > best:
            best, chosen = s, r
    if chosen is None:
        what = (
            "a folder"
            if head.is_dir
            else "binary content"
            if head.text is None
            else "text without a column separator"
        )
        raise InputError(
            f"{path}: cannot tell the file format from its name (suffix "
            f"{head.suffix or 'none'!r}) or its first bytes ({what}). Registered formats: "
            f"{_formats_text(product)}. Pick one with {cli_fix(fmt='csv')} "
            "(compressed .gz/.bz2/.xz/.zip files are read transparently)"
        )
    return chosen, head


# ---------------------------------------------------------------------- table loaders
def _check_fields(text: str, sep: str, where: str) -> None:
    """Every line has as many fields as the header: a short line (a truncated file, a lost
    separator) would otherwise be read with empty cells, a long one shifts the columns."""
    spans: dict[int, int] = {}  # first line of a record -> its last line (quoted newlines)
    if '"' in text:
        counts, lines = [], []
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        end = 0
        try:
            for rec in reader:
                start, end = end + 1, reader.line_num
                if (rec and any(c.strip() for c in rec)) or len(rec) > 1:
                    counts.append(len(rec))
                    lines.append(start)
                    if end > start:
                        spans[start] = end
        except csv.Error as exc:
            raise InputError(
                f'{where}line {reader.line_num}: {exc}; check the quotes (") on that line'
            ) from exc
        n = np.asarray(counts)
        at = np.asarray(lines)
    else:
        # no quotes: count the separators of every line at once
        arr = np.frombuffer(text.encode("utf-8", errors="replace"), dtype=np.uint8)
        ends = np.append(np.flatnonzero(arr == 10), arr.size)
        per_line = np.bincount(np.searchsorted(ends, np.flatnonzero(arr == ord(sep))),
                               minlength=ends.size)  # fmt: skip
        space = [10, 13, 32] + ([] if sep == "\t" else [9])
        content = np.bincount(np.searchsorted(ends, np.flatnonzero(~np.isin(arr, space))),
                              minlength=ends.size) > 0  # fmt: skip
        at = np.flatnonzero(content) + 1
        n = per_line[content] + 1
    if n.size < 2:
        return
    off = np.flatnonzero(n[1:] != n[0]) + 1
    if not off.size:
        return
    k = off[0]
    line = int(at[k])
    if line in spans:
        raise InputError(
            f'{where}line {line}: a quote (") opens a field that runs on to line {spans[line]}, '
            f"which gives the row {int(n[k])} field(s) where the header (line {int(at[0])}) has "
            f"{int(n[0])}. Fix: close or remove the quote"
        )
    last = k == n.size - 1 and not text.endswith(("\n", "\r"))
    more = f"; {off.size} such lines" if off.size > 1 else ""
    why = (
        " The file ends inside this line: it looks truncated (copy or export it again)."
        if last
        else " Fix the line, or pass the right separator"
        f" ({cli_fix(sep=';')} or {cli_fix(sep=chr(9))}) if it is not "
        f"{_SEP_NAMES.get(sep, repr(sep))}."
    )
    raise InputError(
        f"{where}line {line}: {int(n[k])} field(s), but the header (line {int(at[0])}) "
        f"has {int(n[0])}{more}.{why}"
    )


def _load_text(head: FileHead, options: ReadOptions, default_sep: str) -> Table:
    path = head.path
    where = f"{path}: "
    if not head.is_dir and not head.raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError(f"{where}the file is empty; it needs a header line and one row per well")
    d = sniff_dialect(head, sep=options.sep, decimal=options.decimal, default_sep=default_sep)
    notes = list(d.notes)
    # pandas alone reads zstd; everything else is decoded here once, whole
    data = None if head.compression == "zstd" else read_bytes(path, what="table")
    source: Any = path
    encoding = d.encoding
    if data is not None:
        text, encoding, _ = decode(data, path, what="table", strict=False, nul=True)
        if encoding != d.encoding:
            notes = [n for n in notes if not n.startswith("text encoding")]
            notes.insert(0, f"text encoding {encoding} (not UTF-8)")
        _check_fields(text, d.sep, where)
        source = io.StringIO(text)
    sep_name = _SEP_NAMES.get(d.sep, repr(d.sep))
    try:
        frame = pd.read_csv(
            source,
            sep=d.sep,
            decimal=d.decimal,
            thousands=d.thousands,
            encoding=None if data is not None else encoding,
            low_memory=False,
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{where}no columns to read: the file holds no header line (is it empty?)"
        ) from exc
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        quote = "EOF inside string" in str(exc)
        fix = (
            'a quote (") opens a field that never closes: remove it or close it'
            if quote
            else f"if the separator is wrong, pass e.g. {cli_fix(sep=';')}"
        )
        raise InputError(
            f"{where}cannot read it as {sep_name}-separated text: {exc}. {fix}"
        ) from exc
    _check_header(frame.columns, head.header() if data is None else _first_row(text, d.sep), where)
    for note in notes:
        _log.info("%s: read as %s", path, note)
    return Table(frame, path, tuple(notes), where)


def _first_row(text: str, sep: str) -> list[str]:
    first = next((ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()), "")
    return [c.strip() for c in _split(first, sep)]


def _check_header(columns: Iterable[Any], raw: Iterable[Any], where: str) -> None:
    """Each column name once: pandas renames a second 'signal' to 'signal.1' and the first
    would be used silently."""
    names = [str(c).strip() for c in raw if c is not None and str(c).strip() not in ("", "nan")]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise SchemaError(
            f"{where}column name(s) {dup} appear more than once in the header; which one holds "
            "the data is ambiguous: rename or delete the extra column(s)"
        )


def _load_csv(head: FileHead, options: ReadOptions) -> Table:
    return _load_text(head, options, ",")


def _load_tsv(head: FileHead, options: ReadOptions) -> Table:
    return _load_text(head, options, "\t")


def _load_parquet(head: FileHead, options: ReadOptions) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = f"{head.path}: "
    if not head.raw:
        raise InputError(f"{where}the file is empty (0 bytes); write the Parquet file again")
    try:
        with pq.ParquetFile(head.path) as pf:
            names = list(pf.schema_arrow.names)
            _check_header(names, names, where)
            frame = pf.read().to_pandas()
    except InputError:
        raise
    except (ValueError, OSError, ImportError, TypeError, KeyError, IndexError,
            NotImplementedError, pa.ArrowException) as exc:  # fmt: skip
        # pyarrow's errors for a corrupt or truncated file (ArrowInvalid, thrift decoding,
        # an unknown type) subclass these
        raise InputError(
            f"{where}cannot read it as Parquet ({type(exc).__name__}: {_first_line(exc)}); the "
            "file is corrupt, truncated or not Parquet: write it again or pass the right format "
            f"({cli_fix(fmt='csv')})"
        ) from exc
    return Table(frame, head.path, (), where)


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """A library's error message, short enough for ours (pyarrow appends whole schemas)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + " ..."


def _blank(frame: pd.DataFrame) -> bool:
    return frame.shape[1] == 0 or frame.dropna(how="all").empty


def _sheet_listing(frames: Mapping[str, pd.DataFrame]) -> str:
    parts = []
    for name, f in frames.items():
        if _blank(f):
            head = ", ".join(str(c) for c in f.columns[:4]) + (", ..." if f.shape[1] > 4 else "")
            parts.append(
                f"{name!r}: a header ({head}) but no rows" if f.shape[1] else f"{name!r}: empty"
            )
            continue
        cols = [str(c) for c in f.columns[:4]]
        more = ", ..." if f.shape[1] > 4 else ""
        parts.append(f"{name!r}: {len(f)} rows, columns {', '.join(cols)}{more}")
    return "; ".join(parts)


def _load_excel(head: FileHead, options: ReadOptions) -> Table:
    path = head.path
    if not head.raw:
        raise InputError(f"{path}: the file is empty (0 bytes); save the workbook again")
    try:
        return _read_workbook(path, options)
    except InputError:
        raise
    except Exception as exc:
        # openpyxl / xlrd on a corrupt or truncated workbook raise whatever their zip, XML and
        # record parsers raise (BadZipFile, zlib.error, KeyError, ParseError, struct.error,
        # IndexError ...): any of them means the same to the user
        raise InputError(
            f"{path}: cannot read it as an Excel workbook ({type(exc).__name__}: "
            f"{_first_line(exc)}); the "
            "file is corrupt, truncated or not a workbook: save it again from Excel, or export "
            f"the sheet as CSV ({cli_fix(fmt='csv')})"
        ) from exc


def _excel_sheet(book: pd.ExcelFile, name: str, where: str) -> pd.DataFrame:
    frame = pd.read_excel(book, sheet_name=name)
    if frame.shape[1]:
        raw = pd.read_excel(book, sheet_name=name, header=None, nrows=1)
        _check_header(frame.columns, raw.iloc[0].tolist() if len(raw) else [], where)
    return frame


def _read_workbook(path: Path, options: ReadOptions) -> Table:
    book = pd.ExcelFile(path)
    with book:
        names = [str(n) for n in book.sheet_names]
        if not names:
            raise InputError(f"{path}: the workbook has no sheets")
        sheet = options.sheet
        if sheet is not None:
            if isinstance(sheet, int) and not isinstance(sheet, bool):
                if not -len(names) <= sheet < len(names):
                    raise InputError(
                        f"{path}: sheet={sheet} out of range: the workbook has {len(names)} "
                        f"sheet(s) {names}. Pass e.g. {cli_fix(sheet=names[0])}"
                    )
                name = names[sheet]
            else:
                name = str(sheet)
                if name not in names:
                    folded = {n.casefold(): n for n in names}
                    if name.casefold() not in folded:
                        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
                        raise InputError(
                            f"{path}: no sheet {name!r}; the workbook has {names}. Pass "
                            f"{cli_fix(sheet=close[0] if close else names[0])}"
                        )
                    name = folded[name.casefold()]
            where = f"{path} [sheet {name!r}]: "
            frame = _excel_sheet(book, name, where)
            if _blank(frame):
                what = "a header but no rows" if frame.shape[1] else "no cells"
                raise InputError(
                    f"{path}: sheet {name!r} has {what}; sheets: "
                    f"{_sheet_listing({n: pd.read_excel(book, sheet_name=n) for n in names})}"
                )
            return Table(frame, path, (), where)
        frames = {n: pd.read_excel(book, sheet_name=n) for n in names}
        full = [n for n, f in frames.items() if not _blank(f)]
        if len(full) == 1:
            _excel_sheet(book, full[0], f"{path} [sheet {full[0]!r}]: ")
    if not full:
        raise InputError(
            f"{path}: the workbook holds no data: no sheet has rows ({_sheet_listing(frames)}); "
            "add one row per well below the header"
        )
    if len(full) > 1:
        raise InputError(
            f"{path}: the workbook has {len(full)} sheets with data and one is read at a time: "
            f"{_sheet_listing(frames)}. Pass {cli_fix(sheet=full[0])} (or another name) to pick "
            "one; read each sheet separately to combine them"
        )
    name = full[0]
    notes: tuple[str, ...] = ()
    if len(names) > 1:
        notes = (f"sheet {name!r}; the other sheets are empty",)
    return Table(frames[name], path, notes, f"{path} [sheet {name!r}]: ")


def _sniff_text_table(head: FileHead, options: ReadOptions) -> int:
    lines = head.lines
    if len(lines) < 2 or head.is_dir:
        return 0
    return 1 if _consistent_separators(lines[: min(len(lines), 50)]) else 0


def _sniff_parquet(head: FileHead, options: ReadOptions) -> int:
    return 2 if head.raw.startswith(b"PAR1") else 0


def _sniff_excel(head: FileHead, options: ReadOptions) -> int:
    if head.raw.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .xls (or another Office file)
        return 1
    if head.raw.startswith(b"PK\x03\x04") and head.compression is None:
        try:
            with zipfile.ZipFile(head.path) as zf:
                return 2 if any(n.startswith("xl/") for n in zf.namelist()) else 0
        except (zipfile.BadZipFile, OSError):
            return 0
    return 0


def _sniff_gdsc_raw(head: FileHead, options: ReadOptions) -> int:
    from ._gdsc_raw import _DETECT

    if options.columns is not None:  # a column mapping means the caller reads it as tidy
        return 0
    return 3 if _DETECT <= set(head.header()) else 0


def _read_gdsc(head: FileHead, options: ReadOptions) -> Screen:
    from ._gdsc_raw import read_gdsc_raw

    return read_gdsc_raw(head.path)


_TOML_EXPERIMENT = re.compile(r"^\s*\[\s*['\"]?Experiment['\"]?\s*\]", re.MULTILINE)


def _sniff_curvecurator(head: FileHead, options: ReadOptions) -> int:
    if head.is_dir:
        return 3 if len(list(head.path.glob("*.toml"))) == 1 else 0
    if head.suffix == ".toml":
        found = head.text is not None and _TOML_EXPERIMENT.search(head.text) is not None
        return 3 if found else 2
    return 0


def _read_curvecurator(head: FileHead, options: ReadOptions) -> Screen:
    from ._curvecurator import read_curvecurator

    return read_curvecurator(head.path)


_PLATE_GRIDS = {12: 8, 24: 16, 48: 32}


def _row_labels(n: int) -> list[str]:
    labels = [chr(ord("A") + i) for i in range(26)]
    labels += ["A" + chr(ord("A") + i) for i in range(26)]
    return labels[:n]


def is_plate_grid(rows: Sequence[Sequence[str]]) -> bool:
    """True when ``rows`` hold an 8 x 12, 16 x 24 or 32 x 48 grid: a header ``1, 2, ... n``
    followed by one line per plate row ``A``, ``B``, ... (plate-reader exports).

    >>> head = [""] + [str(i) for i in range(1, 13)]
    >>> is_plate_grid([head] + [[r] + ["100"] * 12 for r in "ABCDEFGH"])
    True
    """
    for i, row in enumerate(rows):
        cells = [c.strip() for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        while cells and cells[0] == "":
            cells.pop(0)
        n = len(cells)
        if n not in _PLATE_GRIDS or cells != [str(k) for k in range(1, n + 1)]:
            continue
        labels = _row_labels(_PLATE_GRIDS[n])
        below = rows[i + 1 : i + 1 + len(labels)]
        firsts = [next((c.strip() for c in r if c.strip()), "") for r in below]
        if firsts == labels:
            return True
    return False


def _plate_module() -> Any:
    try:
        return importlib.import_module("oncoresist.data._plate_reader")
    except ImportError:  # the plate-reader module is optional in this registry
        return None


def _sniff_plate_export(head: FileHead, options: ReadOptions) -> int:
    if options.plate_map is not None:
        return 3
    mod = _plate_module()
    if head.lines:
        # a cheap look at the head first; the plate reader's own check reads the whole file
        if not is_plate_grid(head.rows()):
            return 0
        if mod is None or not hasattr(mod, "is_plate_export"):
            return 3
        return 3 if mod.is_plate_export(head.path) else 0
    if head.suffix in (".xlsx", ".xlsm") and mod is not None and hasattr(mod, "is_plate_export"):
        return 3 if mod.is_plate_export(head.path, sheet=options.sheet) else 0
    return 0


def _read_plate_export(head: FileHead, options: ReadOptions) -> Screen:
    path = head.path
    mod = _plate_module()
    if mod is None:
        raise InputError(
            f"{path}: plate-reader grid exports need oncoresist.data._plate_reader, which this "
            "installation lacks; export the plate as a tidy table (one row per well) instead"
        )
    if options.plate_map is None:
        raise InputError(
            f"{path}: this is a plate-reader grid export (rows A.., columns 1..): give the plate "
            f"map (which drug, dose and control is in each well) with "
            f"{cli_fix(plate_map='layout.csv')}"
        )
    # fmt= is the export's own format there (csv, tsv, text, excel; 'plate_export' = detect)
    given = (("columns", options.columns), ("fmt", options.fmt))
    extra = {k: v for k, v in given if v is not None}
    return mod.read_plate_export(
        path,
        options.plate_map,
        conc_unit=options.conc_unit,
        sheet=options.sheet,
        sep=options.sep,
        decimal=options.decimal,
        **extra,
    )


#: Plate-reader grid exports + a plate map (``oncoresist.data._plate_reader``). Used whenever
#: ``plate_map=`` is given; registered (so grid files are also detected) with
#: ``register_reader(PLATE_EXPORT)``.
PLATE_EXPORT = Reader(
    name="plate_export",
    produces=("screen",),
    description="plate-reader grid export (8x12/16x24/32x48, rows A.., columns 1..) + plate_map",
    read=_read_plate_export,
    sniff=_sniff_plate_export,
    aliases=("plate", "plate_reader"),
)

_TABLE: tuple[Product, ...] = ("screen", "combination")
register_reader(
    Reader(
        "csv",
        _TABLE,
        "delimited text, comma, semicolon or tab separated, decimal point or comma; .csv/.txt",
        _load_csv,
        suffixes=(".csv", ".txt"),
        sniff=_sniff_text_table,
        tidy=True,
    )
)
register_reader(
    Reader(
        "tsv",
        _TABLE,
        "tab-separated text; .tsv/.tab",
        _load_tsv,
        suffixes=(".tsv", ".tab"),
        tidy=True,
    )
)
register_reader(
    Reader(
        "parquet",
        _TABLE,
        "Apache Parquet; .parquet/.pq",
        _load_parquet,
        suffixes=(".parquet", ".pq"),
        sniff=_sniff_parquet,
        tidy=True,
    )
)
register_reader(
    Reader(
        "excel",
        _TABLE,
        "Excel workbook, one sheet (sheet=); .xlsx/.xlsm/.xls",
        _load_excel,
        suffixes=(".xlsx", ".xlsm", ".xls"),
        sniff=_sniff_excel,
        tidy=True,
        aliases=("xlsx", "xls"),
    )
)
register_reader(
    Reader(
        "gdsc_raw",
        ("screen",),
        "GDSC raw plate wells: BARCODE, POSITION, TAG, INTENSITY ... columns",
        _read_gdsc,
        sniff=_sniff_gdsc_raw,
        aliases=("gdsc",),
    )
)
register_reader(
    Reader(
        "curvecurator",
        ("screen",),
        "CurveCurator data set: its .toml parameter file or folder",
        _read_curvecurator,
        sniff=_sniff_curvecurator,
    )
)


def load_table(
    path: str | os.PathLike[str],
    *,
    product: Product,
    fmt: str | None = None,
    options: ReadOptions | None = None,
) -> Table | Any:
    """Read ``path`` with its registered reader: a :class:`Table` for tidy formats, else the
    reader's finished object."""
    opts = options or ReadOptions()
    reader, head = select_reader(Path(path), fmt=fmt, product=product, options=opts)
    out = reader.read(head, opts)
    if reader.tidy and out.frame.shape[1] == 0:
        raise InputError(f"{out.where}the table has no columns")
    if reader.tidy and out.frame.empty:
        raise InputError(
            f"{out.where}the table has a header ({', '.join(map(str, out.frame.columns[:6]))}"
            f"{', ...' if out.frame.shape[1] > 6 else ''}) but no rows; add one row per well"
        )
    return out


# ---------------------------------------------------------------------- column mapping
def resolve_column_map(
    columns: Mapping[str, str] | None, found: Sequence[str], ours: Sequence[str], where: str
) -> dict[str, str]:
    """``{file column: our column}`` from ``columns`` given either way round.

    ``{"sample": "Cell line"}`` (ours -> theirs) and ``{"Cell line": "sample"}`` (theirs ->
    ours) mean the same: each pair is read in the direction in which one side is a column of
    the file.
    """
    found = [str(c) for c in found]
    fset = set(found)
    oset = set(ours)
    out: dict[str, str] = {}
    absent = []
    for k, v in (columns or {}).items():
        k, v = str(k), str(v)
        if k in fset and v in fset and k != v:
            raise SchemaError(
                f"{where}columns= pair {k!r}: {v!r} is ambiguous: the file has both columns; "
                "drop or rename one of them in the file"
            )
        if k in fset:
            out[k] = v
        elif v in fset and (k in oset or v not in oset):
            out[v] = k
        else:
            absent.append(v if k in oset else k)
    if absent:
        hints = {a: difflib.get_close_matches(a, found, n=3, cutoff=0.5) for a in absent}
        hint = "; ".join(f"{a!r}: did you mean {h}?" for a, h in hints.items() if h)
        raise SchemaError(
            f"{where}columns= names column(s) {absent} that the file does not have; found "
            f"{found}.{' ' + hint if hint else ''}"
        )
    targets = list(out.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise SchemaError(f"{where}columns= maps several columns onto {dup}")
    return out


_UNIT = r"(?:[pnuµμ][Mm]|mM|M)"
_UNIT_IN_NAME = re.compile(
    rf"^(?P<base>.*?)\s*(?:[(\[]\s*(?P<u1>{_UNIT})\s*[)\]]|(?<=[\s_.\-])(?P<u2>{_UNIT}))\s*$"
)


def split_unit(name: str) -> tuple[str, str | None]:
    """A column name without its concentration unit, and the unit (or None).

    >>> split_unit("Concentration (uM)"), split_unit("conc_nM"), split_unit("CONC")
    (('Concentration', 'uM'), ('conc', 'nM'), ('CONC', None))
    """
    m = _UNIT_IN_NAME.match(str(name))
    if not m:
        return str(name), None
    base = m.group("base").rstrip(" _.-")
    if not base:
        return str(name), None
    return base, m.group("u1") or m.group("u2")


def _suggest(missing: str, found: list[str]) -> list[str]:
    lower = {c.lower().replace(" ", "_"): c for c in found}
    hits = [lower[a] for a in _ALIASES.get(missing, ()) if a in lower]
    close = difflib.get_close_matches(missing, found, n=3, cutoff=0.6)
    return list(dict.fromkeys(hits + close))


def _map_screen_columns(
    df: pd.DataFrame, columns: Mapping[str, str] | None, where: str
) -> tuple[pd.DataFrame, str | None, str]:
    """Rename theirs -> ours; returns the frame, the unit in the concentration column's name and
    the file's name of that column."""
    found = [str(c) for c in df.columns]
    mapping = resolve_column_map(columns, found, (*SCREEN_COLUMNS, "conc_unit"), where)
    df = df.rename(columns=mapping)
    # case-insensitive match of our own names ('Sample', 'Drug', 'Concentration')
    rename = {}
    for c in df.columns:
        lc = str(c).strip().lower()
        if lc in SCREEN_COLUMNS and c != lc and lc not in df.columns:
            rename[c] = lc
    clash = sorted({v for v in rename.values() if list(rename.values()).count(v) > 1})
    if clash:
        both = [str(c) for c, v in rename.items() if v == clash[0]]
        raise SchemaError(
            f"{where}columns {both} all read as our column {clash[0]!r} (names match "
            f"case-insensitively); say which one it is, e.g. "
            f"{cli_fix(columns={clash[0]: both[0]})}, or rename the others"
        )
    df = df.rename(columns=rename)
    src = next((k for k, v in mapping.items() if v == "concentration"), None)
    src = src or next((k for k, v in rename.items() if v == "concentration"), None)
    if "concentration" in df.columns:
        name_unit = split_unit(src)[1] if src else None
        conc_name = src or "concentration"
    else:
        hits = [
            (c, u)
            for c in map(str, df.columns)
            for base, u in [split_unit(c)]
            if u and base.strip().lower() in ("concentration", "conc", "dose")
        ]
        if len(hits) > 1:
            raise SchemaError(
                f"{where}several concentration columns {[c for c, _ in hits]}; map one with "
                f"{cli_fix(columns={'concentration': hits[0][0]})}"
            )
        name_unit, conc_name = (hits[0][1], hits[0][0]) if hits else (None, "concentration")
        if hits:
            df = df.rename(columns={conc_name: "concentration"})
    required = ["sample", "drug", "concentration"]
    missing = [c for c in required if c not in df.columns]
    if "signal" not in df.columns and "viability" not in df.columns:
        missing.append("signal' or 'viability")
    if missing:
        parts, pairs = [], {}
        for mcol in missing:
            sug = [x for name in mcol.split("' or '") for x in _suggest(name, found)]
            parts.append(f"'{mcol}'" + (f" (close: {sug})" if sug else ""))
            if sug:
                pairs[mcol.split("'")[0]] = sug[0]
        example = pairs or {"sample": "their_name"}
        raise SchemaError(
            f"{where}missing required column(s) {', '.join(parts)}; found columns {found}. "
            f"Fix: map them, {cli_fix(columns=example)}."
        )
    return df, name_unit, conc_name


# ---------------------------------------------------------------------- the unit policy
@dataclass(frozen=True)
class ConcSpec:
    """A concentration column and where its unit may come from.

    ``unit_columns``: unit columns to look for (the first present is used, row by row);
    ``name_unit``: the unit written in the file's column name; ``label``: the file's name of
    the column, for messages.
    """

    column: str
    unit_columns: tuple[str, ...] = _UNIT_COLUMNS
    name_unit: str | None = None
    label: str = ""


def _factor(unit: str, where: str) -> float:
    return float(to_micromolar(1.0, unit, where=where))


def _col_label(spec: ConcSpec) -> str:
    lab = spec.label or spec.column
    return f"{lab!r}" if lab == spec.column else f"{lab!r} ({spec.column})"


def concentrations_to_micromolar(
    df: pd.DataFrame,
    specs: Sequence[ConcSpec],
    *,
    conc_unit: str | None,
    where: str,
    allow_missing: bool = True,
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Convert every concentration column in ``specs`` to micromolar, with one policy.

    A unit comes from a unit column (row by row; empty cells are filled from the other
    sources), the column name, or ``conc_unit``. No unit for a non-zero concentration, or two
    sources that disagree, is an :class:`InputError` naming the file, row and column and the
    fix in the API and on the command line. Returns the frame, notes of the conversions and
    ``{column: unit column used}``.

    >>> df = pd.DataFrame({"conc": [0.0, 10.0]})
    >>> out, notes, _ = concentrations_to_micromolar(df, [ConcSpec("conc")], conc_unit="nM",
    ...                                                where="")
    >>> out["conc"].tolist(), notes
    ([0.0, 0.01], ['conc: converted from nM to micromolar'])
    """
    arg_factor = None
    if conc_unit is not None:
        arg_factor = _factor(conc_unit, f"{where}{cli_fix(conc_unit=conc_unit)}: ")
    df = df.copy()
    notes: list[str] = []
    used: dict[str, str] = {}
    for spec in specs:
        col = spec.column
        vals = numeric_column(
            df,
            col,
            where=where,
            allow_missing=allow_missing,
            allow_inf=False,
            hint="concentrations must be plain numbers (give the unit with "
            f"{cli_fix(conc_unit='uM')}, a 'conc_unit' column or in the column name)",
        ).to_numpy(dtype=float)
        fixed, fixed_from = None, ""
        if spec.name_unit is not None:
            name_f = _factor(spec.name_unit, f"{where}column {spec.label or col!r}: ")
            if arg_factor is not None and not np.isclose(name_f, arg_factor):
                raise InputError(
                    f"{where}column {_col_label(spec)}: its name says {spec.name_unit!r} but "
                    f"conc_unit={conc_unit!r} (CLI: --conc-unit {conc_unit}); give the unit in "
                    "one place: drop conc_unit= or rename the column"
                )
            fixed = spec.name_unit
            fixed_from = f"the column name {spec.label!r} ({spec.name_unit!r})"
        elif conc_unit is not None:
            fixed, fixed_from = conc_unit, cli_fix(conc_unit=conc_unit)
        unit_col = next((c for c in spec.unit_columns if c in df.columns), None)
        nonzero = np.isfinite(vals) & (vals != 0)
        if unit_col is None:
            if fixed is None:
                if nonzero.any():
                    i = int(np.flatnonzero(nonzero)[0])
                    raise InputError(
                        f"{where}column {_col_label(spec)} row {i + 2}: concentration "
                        f"{vals[i]:g} has no unit, and the file gives none. Fix: pass "
                        f"{cli_fix(conc_unit='uM')} or another unit ('nM', 'M' ...), add a "
                        "'conc_unit' column, or put the unit in the column name (e.g. "
                        f"'{spec.label or col}_nM')"
                    )
                df[col] = vals
                continue
            df[col] = to_micromolar(vals, fixed, where=where)
            if not np.isclose(_factor(fixed, where), 1.0):
                notes.append(f"{col}: converted from {fixed} to micromolar")
            continue
        used[col] = unit_col
        txt = df[unit_col].astype("string").str.strip()
        empty = (txt.isna() | (txt == "")).to_numpy()
        units = txt.astype(object).where(~empty, None)
        # every distinct unit once: convert, and check it against the fixed unit
        factors = np.full(len(vals), np.nan)
        for u in pd.unique(units[~empty]):
            sel = (units == u).to_numpy()
            row = int(np.flatnonzero(sel)[0]) + 2
            f = _factor(str(u), f"{where}column {unit_col!r} row {row}: ")
            if fixed is not None and not np.isclose(f, _factor(fixed, where)):
                raise InputError(
                    f"{where}column {unit_col!r} row {row}: unit {u!r} contradicts "
                    f"{fixed_from}; give the unit in one place: drop conc_unit= or the unit "
                    "in the column name (the unit column converts row by row), or fix the column"
                )
            factors[sel] = f
            if not np.isclose(f, 1.0):
                notes.append(f"{col}: {int(sel.sum())} rows converted from {u} to micromolar")
        gap = empty & nonzero
        if gap.any():
            if fixed is None:
                i = int(np.flatnonzero(gap)[0])
                raise InputError(
                    f"{where}column {unit_col!r} row {i + 2}: no unit for concentration "
                    f"{vals[i]:g} (column {_col_label(spec)}; {int(gap.sum())} rows). Fix: fill "
                    f"the unit (e.g. 'nM') or pass {cli_fix(conc_unit='uM')} for the empty cells"
                )
            factors[gap] = _factor(fixed, where)
        factors[np.isnan(factors)] = 1.0  # zero or missing doses: nothing to convert
        df[col] = vals * factors
        if fixed is not None:
            units = units.where(~pd.Series(empty, index=units.index), fixed)
        df[f"__unit_{col}"] = units.to_numpy()
    return df, notes, used


# ---------------------------------------------------------------------- screens
def _decimal_hint(value: Any) -> str:
    if isinstance(value, str) and _NUM_COMMA.match(value.strip()):
        return (
            f"; {value!r} looks like a decimal comma: read the file with "
            f"{cli_fix(sep=';', decimal=',')} if it is semicolon-separated"
        )
    return "; use numbers and leave missing reads empty"


def _check_table(df: pd.DataFrame, where: str) -> None:
    for col in ("signal", "viability"):
        if col in df.columns:
            if isinstance(df[col], pd.DataFrame):  # pragma: no cover - names are checked unique
                raise SchemaError(f"{where}column {col!r} appears more than once")
            vals = pd.to_numeric(df[col], errors="coerce")
            nonnum = (vals.isna() & df[col].notna()).to_numpy()
            if nonnum.any():
                i = int(np.flatnonzero(nonnum)[0])
                v = df[col].iloc[i]
                raise InputError(
                    f"{where}column {col!r} row {i + 2}: non-numeric value {v!r} "
                    f"({int(nonnum.sum())} rows){_decimal_hint(v)}"
                )
            numeric_column(
                df, col, where=where, allow_inf=False, hint="reads and viabilities are finite"
            )
    value_cols = [c for c in ("signal", "viability") if c in df.columns]
    if value_cols and all(pd.to_numeric(df[c], errors="coerce").isna().all() for c in value_cols):
        raise InputError(
            f"{where}column(s) {value_cols} hold no numeric value in any of {len(df)} rows; "
            f"check the column mapping ({cli_fix(columns={'signal': 'their_name'})}) and the "
            f"decimal mark ({cli_fix(decimal=',')})"
        )
    keys = [c for c in ("sample", "drug", "concentration", "replicate") if c in df.columns]
    if "replicate" in df.columns and not ("plate" in df.columns and "well" in df.columns):
        trt = df["role"] == "treated" if "role" in df.columns else pd.Series(True, index=df.index)
        dup = (df.duplicated(keys, keep=False) & trt).to_numpy()
        if dup.any():
            rows = ", ".join(str(r + 2) for r in np.flatnonzero(dup)[:5])
            raise InputError(
                f"{where}duplicate measurements: rows {rows} share sample, drug, concentration "
                f"and replicate ({int(dup.sum())} rows); give distinct replicate numbers or "
                "plate/well columns"
            )


def _screen_from_table(table: Table, options: ReadOptions) -> Screen:
    where = table.where
    df, name_unit, conc_name = _map_screen_columns(table.frame, options.columns, where)
    spec = ConcSpec("concentration", _UNIT_COLUMNS, name_unit, conc_name)
    df, _, used = concentrations_to_micromolar(df, [spec], conc_unit=options.conc_unit, where=where)
    if "concentration" in used:
        df = df.drop(columns=[used["concentration"]]).rename(
            columns={"__unit_concentration": "conc_unit_original"}
        )
    _check_table(df, where)
    source = table.source
    # what was detected while reading (encoding, separator, decimal commas, the sheet) is in
    # the source text and, for reports, in the notes
    return Screen.from_frame(df, conc_unit="uM", source=source, notes=table.notes)


def read_screen(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    columns: Mapping[str, str] | None = None,
    conc_unit: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    plate_map: Any = None,
) -> Screen:
    """Read a well-level screen from any registered format (see :data:`READERS`).

    Tidy tables (CSV/TSV/text, Parquet, Excel; optionally ``.gz``/``.bz2``/``.xz``/``.zip``),
    GDSC raw plate files (``BARCODE, POSITION, TAG, INTENSITY`` ... columns, read by
    :func:`read_gdsc_raw`), CurveCurator ``.toml`` data sets and, with ``plate_map``,
    plate-reader grid exports. The format is detected from the suffix and the first bytes.

    Parameters
    ----------
    path
        The file (or a CurveCurator folder).
    fmt
        The format by name: ``"csv"``, ``"tsv"``, ``"parquet"``, ``"excel"``, ``"gdsc_raw"``,
        ``"curvecurator"``, ``"plate_export"`` (CLI: ``--format``).
    columns
        Our column names and the file's, either way round: ``{"sample": "Cell line",
        "concentration": "Dose", "signal": "Lum"}``. Our own names match case-insensitively.
    conc_unit
        Unit of the concentration column (``"nM"``, ``"uM"``, ``"M"`` ...; CLI:
        ``--conc-unit``). Alternatives: a ``conc_unit``/``unit`` column (converted row by row,
        so mixed units are fine; empty cells take ``conc_unit``) or the unit in the column name
        (``concentration_nM``, ``Dose (µM)``). Without any unit, or with two that disagree, the
        read fails.
    sheet
        Excel sheet name or index. A workbook with several sheets holding data needs it.
    sep, decimal
        Column separator and decimal mark of text files; detected when not given (``;`` with
        decimal commas from European spreadsheets is recognised and noted in ``source``).
    plate_map
        Layout of a plate-reader grid export (which drug, dose and control in each well).

    Returns
    -------
    Screen
        Concentrations in micromolar; the original unit, when read from a column, is kept as
        ``conc_unit_original``. Without a ``role`` column, rows at concentration 0 are
        ``negative`` controls and the others ``treated``. ``source`` names the file and what
        was detected while reading it.

    Raises
    ------
    InputError
        With the file, row and column and the fix (for the API and the CLI): unknown format,
        several sheets, ambiguous separators, missing columns (with the close names found),
        non-numeric or negative concentrations, missing or conflicting units, duplicate wells.

    Examples
    --------
    >>> screen = read_screen("plates.csv", columns={"sample": "Cell"}, conc_unit="nM")  # doctest: +SKIP
    """
    p = Path(path)
    opts = ReadOptions(
        columns=columns,
        conc_unit=conc_unit,
        sheet=sheet,
        sep=sep,
        decimal=decimal,
        plate_map=plate_map,
        fmt=fmt,
    )
    if conc_unit is not None:
        _factor(conc_unit, f"{p}: {cli_fix(conc_unit=conc_unit)}: ")
    out = load_table(p, product="screen", fmt=fmt, options=opts)
    if isinstance(out, Table):
        return _screen_from_table(out, opts)
    return out


# plate exports last: a tidy table whose cells happen to form a grid is still a table when its
# suffix or header says so; an export given without its map gets the plate reader's error,
# which says to pass plate_map= (CLI: --plate-map)
register_reader(PLATE_EXPORT)
