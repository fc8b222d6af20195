"""Report building blocks: a ``Section`` holds text, figures and tables; column headers with units."""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import pandas as pd

__all__ = ["COLUMN_UNITS", "MAX_TABLE_ROWS", "Section", "column_label"]

#: Rows of one report table beyond which only the first rows are written into the HTML (the
#: note under the table says how many and where the full table is).
MAX_TABLE_ROWS = 20_000

_CONC = "µM"
#: Unit of each known result column (concentrations in micromolar, the canonical unit every
#: reader converts to; times of the evolution simulations in days). Columns derived from these
#: by a suffix (``_ci_low``, ``_ci_high``, ``_parental``, ``_resistant``, ``_true``) share the
#: unit: see :func:`column_label`.
COLUMN_UNITS: dict[str, str] = {
    "ic50": _CONC,
    "ic50_abs": _CONC,
    "ic50_rel": _CONC,
    "ic50_true": _CONC,
    "ec50": _CONC,
    "gr50": _CONC,
    "gi50": _CONC,
    "min_conc": _CONC,
    "max_conc": _CONC,
    "concentration": _CONC,
    "conc": _CONC,
    "conc1": _CONC,
    "conc2": _CONC,
    "dose": _CONC,
    "ln_ic50": f"ln {_CONC}",
    "ln_ic50_abs": f"ln {_CONC}",
    "ln_ic50_rel": f"ln {_CONC}",
    "ln_ec50": f"ln {_CONC}",
    "log10_ic50": f"log10 {_CONC}",
    "time": "days",
    "day": "days",
    "t_end": "days",
    "ttp": "days",
    "ttp_nadir": "days",
    "ttp_baseline": "days",
    "median_ttp": "days",
    "time_to_progression": "days",
    "time_to_extinction": "days",
    "ttp_resistant": "days",
    "median_ttp_baseline": "days",
    "median_ttp_nadir": "days",
    "median_ttp_resistant": "days",
    "mean_time_on_drug": "days",
    "mean_time_off_drug": "days",
    "time_on_drug": "days",
    "time_off_drug": "days",
    "t_extinct": "days",
    "mean_exposure": f"{_CONC}·days",
}
#: Units of column families named by a prefix (``exposure_<drug>``: concentration AUC).
_PREFIX_UNITS = {"exposure_": f"{_CONC}·days", "mean_exposure_": f"{_CONC}·days"}
_SUFFIXES = re.compile(
    r"_(ci_low|ci_high|low|high|lo|hi|parental|resistant|true|sd|se|mean|median)$"
)


def column_label(name: object) -> str:
    """Header of a result column in reports: the name and its unit, ``"ic50_abs (µM)"``.

    The unit comes from :data:`COLUMN_UNITS`, looked up for the name itself and then for the
    name without a derived suffix (``ic50_abs_ci_low`` has the unit of ``ic50_abs``). Unitless
    and unknown columns keep their name. Files written by commands keep plain column names; this
    is for tables read by people (HTML reports, spreadsheets).

    Examples
    --------
    >>> column_label("ic50_abs_ci_high")
    'ic50_abs_ci_high (µM)'
    >>> column_label("hill_slope")
    'hill_slope'
    """
    text = str(name)
    for prefix, unit in _PREFIX_UNITS.items():
        if text.startswith(prefix) and text != "exposure_ratio":
            return f"{text} ({unit})"
    base = text
    while base not in COLUMN_UNITS:
        stripped = _SUFFIXES.sub("", base)
        if stripped == base:
            return text
        base = stripped
    return f"{text} ({COLUMN_UNITS[base]})"


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
        ``(caption, DataFrame)`` pairs, rendered as HTML tables with every row, a text filter
        and sortable columns; headers carry units (:func:`column_label`).
    max_rows
        Rows written into the page per table (default :data:`MAX_TABLE_ROWS`); a longer table
        shows its first ``max_rows`` rows with a note saying how many there are and where the
        full table is (``sources``).
    sources
        ``{caption: where the full table is}`` (a file the command wrote), said under a table
        cut to ``max_rows``.

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
    max_rows: int = MAX_TABLE_ROWS
    sources: dict[str, str] = field(default_factory=dict)
