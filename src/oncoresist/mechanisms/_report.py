"""Report section for annotations."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ._annotate import Annotation
from ._plots import plot_mechanism_scores

__all__ = ["report_section"]


def report_section(
    annotations: Annotation | Sequence[Annotation], *, title: str = "Resistance mechanisms"
) -> Any:
    """One report :class:`~oncoresist.report.Section` for one or several annotations."""
    from oncoresist.report import Section  # lazy: the report package imports subpackages

    items = [annotations] if isinstance(annotations, Annotation) else list(annotations)
    calls = pd.DataFrame(
        [
            {"sample": a.sample, "drug": a.drug_name, "call": a.call, "reason": a.reason}
            for a in items
        ]
    )
    text = "".join(
        f"<p><b>{html.escape(a.sample)}</b> / {html.escape(a.drug_name)}: "
        f"<b>{a.call}</b> &mdash; {html.escape(a.reason)}</p>"
        for a in items
    )
    notes = sorted({n for a in items for n in a.notes})
    if notes:
        text += "<p>Notes: " + "; ".join(html.escape(n) for n in notes) + "</p>"
    figures = [plot_mechanism_scores(a) for a in items]
    tables: list[tuple[str, pd.DataFrame]] = [("Overall calls", calls)]
    for a in items:
        tables.append((f"Evidence: {a.sample} / {a.drug_name}", a.evidence))
    return Section(title, text=text, figures=figures, tables=tables)
