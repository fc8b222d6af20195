"""One results protocol for every public result object: ``to_frame``, ``summary``, HTML.

Every object a public function hands back (fits, synergy scores, simulations, forecasts,
associations, evaluations, annotations, strategies, CRISPR results, data containers) answers
the same three calls:

``to_frame() -> pandas.DataFrame``
    The main tidy table (a copy), ready for ``to_csv`` or a join.
``summary() -> str``
    One human-readable line (no newline), e.g.
    ``"SynergyResult: 12 blocks scored with bliss, loewe; 2 not ok"``.
``_repr_html_() -> str``
    Jupyter's rich display: the summary line as a header above the first rows of
    ``to_frame()`` and a "n of N rows" note.

Classes inherit :class:`ResultMixin` and write only ``to_frame`` and ``summary``; the mixin
gives the HTML. pandas is imported lazily so ``oncoresist --help`` stays light.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_HTML_ROWS", "Result", "ResultMixin", "one_line", "render_html"]

#: Rows of ``to_frame()`` shown by the default ``_repr_html_``.
MAX_HTML_ROWS = 10


@runtime_checkable
class Result(Protocol):
    """What every public result object answers (checked with ``isinstance``)."""

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table (a copy)."""
        ...

    def summary(self) -> str:
        """One line, no newline, saying what the result holds."""
        ...

    def _repr_html_(self) -> str:
        """HTML for Jupyter: the summary and the first rows of ``to_frame()``."""
        ...


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


def render_html(summary: str, frame: pd.DataFrame, *, max_rows: int = MAX_HTML_ROWS) -> str:
    """The default rich display: escaped ``summary`` header, a capped table and a row note.

    Examples
    --------
    >>> import pandas as pd
    >>> "1 of 1 rows" in render_html("X: <one>", pd.DataFrame({"a": [1]}))
    True
    """
    line = one_line(summary) if "\n" in summary or "\r" in summary else summary
    head = f"<p><b>{html.escape(line)}</b></p>"
    n = len(frame)
    shown = frame.head(max_rows)
    # pandas escapes cell text itself (escape=True is its default); kept explicit on purpose.
    table = shown.to_html(escape=True, max_cols=30, float_format=lambda v: f"{v:.4g}")
    note = f"<p><small>{min(n, max_rows)} of {n} rows</small></p>"
    return f"<div class='oncoresist-result'>{head}{table}{note}</div>"


class ResultMixin:
    """Default ``_repr_html_`` from ``summary()`` and ``to_frame()``.

    A subclass implements ``to_frame`` and ``summary``; it may set ``_html_rows`` to show more
    or fewer rows. The mixin has no fields, so it sits under frozen dataclasses unchanged.
    """

    __slots__ = ()

    _html_rows: int = MAX_HTML_ROWS

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return render_html(self.summary(), self.to_frame(), max_rows=self._html_rows)
