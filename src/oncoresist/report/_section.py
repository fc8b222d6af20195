"""Report building blocks: a ``Section`` holds text, figures and tables."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Section"]


@dataclass(frozen=True)
class Section:
    """One section of an HTML report.

    Parameters
    ----------
    title
        Heading of the section.
    text
        HTML paragraph(s) explaining what is shown (trusted: produced by oncoresist itself).
    figures
        plotly figures, rendered interactive in the page.
    tables
        ``(caption, DataFrame)`` pairs, rendered as HTML tables (long tables are truncated to
        ``max_rows`` rows with a note saying how many were left out).

    Examples
    --------
    >>> Section("Fits", text="<p>All curves.</p>").title
    'Fits'
    """

    title: str
    text: str = ""
    _: KW_ONLY
    figures: list[Any] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    max_rows: int = 50
