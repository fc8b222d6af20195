"""Progress of long work: a bar on a terminal, plain lines in a log.

One implementation for every long loop of the package (curve fitting, synergy scoring,
associations, cross-validation folds, simulations). On a terminal (``stderr`` is a tty) it
draws a rich progress bar; otherwise (a pipe, a batch job's log, CI) it prints plain lines to
``stderr`` so that a long run is never silent:

    fitting 120000 curves: 12/60 (20%) 41 s elapsed, about 2 min 44 s left
    fitting 120000 curves: done 60/60 in 3 min 25 s

A line is printed at the start, each time another 10% is done or ``interval`` seconds have
passed (whichever comes first, at most one a second), and at the end. ``interval`` defaults to
30 s and can be set with the environment variable ``ONCORESIST_PROGRESS_INTERVAL`` (seconds).
Lines go to ``stderr`` so that tables written to ``stdout`` stay clean.

Examples
--------
>>> import io
>>> buf = io.StringIO()
>>> with ProgressReporter(4, "demo", stream=buf) as p:
...     for _ in range(4):
...         p.advance()
>>> print(buf.getvalue().splitlines()[-1])  # doctest: +ELLIPSIS
demo: done 4/4 in 0...
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

__all__ = ["ProgressReporter", "format_duration", "track"]

T = TypeVar("T")


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``41 s``, ``2 min 44 s``, ``1 h 05 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _interval() -> float:
    raw = os.environ.get("ONCORESIST_PROGRESS_INTERVAL", "")
    try:
        value = float(raw)
    except ValueError:
        return 30.0
    return value if value > 0 else 30.0


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressReporter:
    """Count ``total`` steps of work called ``description``; use as a context manager.

    ``enabled=False`` makes every call a no-op, so call sites need no branches. ``stream``
    (default ``sys.stderr``) decides between a bar (a terminal) and lines (anything else).
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        *,
        enabled: bool = True,
        transient: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        self.total = None if total is None else int(total)
        self.description = description
        self.enabled = enabled
        self.transient = transient
        self.stream = stream
        self.done = 0
        self._bar: Any = None
        self._task: Any = None
        self._t0 = 0.0
        self._last_t = 0.0
        self._last_decile = -1

    def __enter__(self) -> ProgressReporter:
        if not self.enabled:
            return self
        stream = self.stream if self.stream is not None else sys.stderr
        self.stream = stream
        self._t0 = self._last_t = time.monotonic()
        if _is_tty(stream):
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(transient=self.transient, console=Console(file=stream))
            self._task = self._bar.add_task(self.description, total=self.total)
            self._bar.start()
        else:
            self._line(f"{self.description}: started" + self._of())
            self._last_decile = 0
        return self

    def _of(self) -> str:
        return f" ({self.total} steps)" if self.total else ""

    def _line(self, text: str) -> None:
        assert self.stream is not None
        print(text, file=self.stream, flush=True)

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` more steps done."""
        if not self.enabled:
            return
        self.done += n
        if self._bar is not None:
            self._bar.advance(self._task, n)
            return
        now = time.monotonic()
        if now - self._last_t < 1.0 or (self.total is not None and self.done >= self.total):
            return  # at most a line a second; the last step is reported by __exit__
        decile = int(10 * self.done / self.total) if self.total else self._last_decile
        if decile > self._last_decile or now - self._last_t >= _interval():
            self._last_decile, self._last_t = decile, now
            elapsed = now - self._t0
            if self.total:
                left = elapsed * (self.total - self.done) / max(self.done, 1)
                self._line(
                    f"{self.description}: {self.done}/{self.total} "
                    f"({100 * self.done / self.total:.0f}%) {format_duration(elapsed)} elapsed, "
                    f"about {format_duration(left)} left"
                )
            else:
                self._line(f"{self.description}: {self.done} done, {format_duration(elapsed)}")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.stop()
            return
        elapsed = format_duration(time.monotonic() - self._t0)
        of = f"/{self.total}" if self.total else ""
        if exc_type is None:
            self._line(f"{self.description}: done {self.done}{of} in {elapsed}")
        else:
            self._line(f"{self.description}: stopped at {self.done}{of} after {elapsed}")


def track(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    description: str,
    enabled: bool = True,
    transient: bool = False,
    stream: IO[str] | None = None,
) -> Iterator[T]:
    """Yield from ``iterable``, reporting one step per item (see :class:`ProgressReporter`)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with ProgressReporter(
        total, description, enabled=enabled, transient=transient, stream=stream
    ) as p:
        for item in iterable:
            yield item
            p.advance()
