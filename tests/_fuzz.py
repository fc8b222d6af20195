"""Shared pieces of the reader fuzz suites (``tests/test_fuzz_*.py``).

A fuzz test starts from a *valid* file, mutates its bytes with :func:`mutated` (encodings, BOM,
CRLF, delimiters, headers, NaN/inf/huge numbers, duplicated and extra columns, truncation, byte
noise) and asserts with :func:`reads_or_raises_own_error` that the reader either returns or
raises the project's own :class:`~oncoresist.errors.OncoresistError`; any other exception is a
crash and fails the test with the input that caused it.

The example budget is fixed and the search derandomised, so CI is reproducible; set
``ONCORESIST_FUZZ_EXAMPLES`` (for example 2000) and ``ONCORESIST_FUZZ_RANDOM=1`` for a longer,
random campaign.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from oncoresist.errors import OncoresistError

__all__ = ["FUZZ_SETTINGS", "mutated", "reads_or_raises_own_error"]

#: Examples per fuzzed reader; 40 keeps the whole suite to a few tens of seconds.
N_EXAMPLES = int(os.environ.get("ONCORESIST_FUZZ_EXAMPLES", "40"))

FUZZ_SETTINGS = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ONCORESIST_FUZZ_RANDOM", "") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

_NUMBER = re.compile(rb"(?<![A-Za-z_])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_BAD_NUMBERS = (
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e309",
    b"-1e309",
    b"1e300",
    b"12345678901234567890",
    b"1.9",
    b"-1",
    b"0",
    b"",
    b"abc",
    b"1,5",
    b"0x10",
    b"True",
    b"\xff\xfe",
)
_DELIMITERS = (b",", b";", b"\t", b"|", b" ")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _mutation(data: bytes, draw: Callable[[Any], Any]) -> bytes:
    kind = draw(
        st.sampled_from(
            (
                "latin1",
                "utf16",
                "bom",
                "crlf",
                "delimiter",
                "number",
                "numbers",
                "drop_header",
                "duplicate_column",
                "extra_column",
                "rename_header",
                "truncate",
                "bytes",
                "delete_line",
                "duplicate_line",
                "quote",
                "empty",
                "header_only",
            )
        )
    )
    lines = _lines(data)
    if kind == "latin1":
        # a non-UTF-8 byte inside a field (an accented sample name saved by Excel)
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        return data[:i] + b"\xe9\xff" + data[i:]
    if kind == "utf16":
        try:
            return data.decode("utf-8").encode("utf-16")
        except UnicodeDecodeError:
            return data[::-1]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "delimiter":
        a, b = draw(st.sampled_from(_DELIMITERS)), draw(st.sampled_from(_DELIMITERS))
        return data.replace(a, b)
    if kind in ("number", "numbers"):
        spans = [m.span() for m in _NUMBER.finditer(data)]
        if not spans:
            return data + b"\n1e309"
        picks = (
            [draw(st.sampled_from(spans))]
            if kind == "number"
            else draw(st.lists(st.sampled_from(spans), min_size=1, max_size=8, unique=True))
        )
        out = bytearray(data)
        for a, b in sorted(picks, reverse=True):
            out[a:b] = draw(st.sampled_from(_BAD_NUMBERS))
        return bytes(out)
    if kind == "drop_header":
        return b"\n".join(lines[1:])
    if kind in ("duplicate_column", "extra_column", "rename_header") and lines:
        head = lines[0]
        sep = next((d for d in (b"\t", b",", b";") if d in head), b",")
        cols = head.split(sep)
        j = draw(st.integers(0, len(cols) - 1))
        if kind == "rename_header":
            cols[j] = draw(st.sampled_from((b"", b"x", cols[j].upper(), cols[j] + b" ")))
            return b"\n".join([sep.join(cols), *lines[1:]])
        if kind == "duplicate_column":
            body = []
            for line in lines[1:]:
                cells = line.split(sep)
                body.append(sep.join([*cells, cells[j] if j < len(cells) else b""]))
            return b"\n".join([sep.join([*cols, cols[j]]), *body])
        name = draw(st.sampled_from((b"SIGNAL", b"PLATE", b"SAMPLE", b"ROLE", b"extra", b"conc")))
        body = [sep.join([*line.split(sep), b"7"]) if line else line for line in lines[1:]]
        return b"\n".join([sep.join([*cols, name]), *body])
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "bytes":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            if not out:
                break
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "delete_line" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == "duplicate_line" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == "quote":
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        return data[:i] + b'"' + data[i:]
    if kind == "empty":
        return b""
    if kind == "header_only":
        return lines[0] + b"\n"
    return data


@st.composite
def mutated(draw: Callable[[Any], Any], data: bytes, *, max_mutations: int = 3) -> bytes:
    """A strategy of ``data`` after 1 to ``max_mutations`` random mutations."""
    out = data
    for _ in range(draw(st.integers(1, max_mutations))):
        out = _mutation(out, draw)
    return out


def reads_or_raises_own_error(read: Callable[[Path], object], path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and call ``read(path)``.

    Passes when the reader returns or raises an :class:`OncoresistError`; any other exception
    is re-raised as an ``AssertionError`` that shows the input, so the failing bytes can be
    turned into a regression test.
    """
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read(path)
    except OncoresistError:
        pass
    except Exception as exc:  # the point of the suite: anything else is a crash
        raise AssertionError(
            f"{type(exc).__name__} escaped the reader for input {data[:400]!r}: {exc}"
        ) from exc
