"""Reader for GDSC's raw well-level plate format (one row per well and tag; CellTiter-Glo reads).

The format is documented in ``gdsc_raw_data_format.Rmd`` of the ``gdsc_raw_plates`` data set
(from CancerRxGene's gdscIC50 package; the reader is written from that description, not from
the package's GPL code).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from ._screen import ROLES, Screen

__all__ = [
    "GDSC_RAW_COLUMNS",
    "excluded_wells",
    "fetch_gdsc_raw_plates",
    "gdsc_raw_to_screen",
    "read_gdsc_raw",
]

#: Columns every GDSC raw file has (the minimum set of the gdscIC50 example data).
GDSC_RAW_COLUMNS: tuple[str, ...] = (
    "BARCODE",
    "SCAN_ID",
    "COSMIC_ID",
    "CELL_LINE_NAME",
    "POSITION",
    "TAG",
    "DRUG_ID",
    "CONC",
    "INTENSITY",
)
_DETECT = {"BARCODE", "POSITION", "TAG", "INTENSITY"}
_PLATE_SHAPES = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}

# Control tags (Rmd, "Control wells"); the drug tags are matched by pattern below.
_CONTROL_TAGS = {
    "NC-0": "untreated",  # negative control, no treatment
    "NC-1": "negative",  # negative control, DMSO vehicle
    "B": "blank",  # media only, no cells
    "PC-1": "positive",  # positive control, no titration
    "DMSO": "negative",  # vehicle back-fill; alone in a well it is a vehicle control
}
#: Tags excluded from a single-agent Screen, with the reason reported.
_EXCLUDED_TAGS = {
    "UN-USED": "UN-USED: no cells, excluded from analysis by GDSC",
    "SC": "SC: cell seeding control at a different seeding density",
}
# Library (L), reference (R) and titrated positive-control (PC<n>) single-agent doses,
# e.g. L1-D1-S, R1-D1-S, PC1-D1-S; anchor alone (A1-S).
_SINGLE_RE = re.compile(r"^(?:(?:L|R|PC)\d+-D\d+-S|A\d+-S)$")
# Positive-control tags PC-2, PC-3 ... carry a titration of the PC-1 compound in GDSC
# drug sets (one well each at 4-fold dilutions in the example data): treated wells.
_PC_TITRATION_RE = re.compile(r"^PC-([2-9]|\d{2,})$")
_COMBO_RE = re.compile(r"-C$")


def _tag_roles(tags: pd.Series, overrides: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Role of every tag ('' when excluded) and the exclusion reason ('' when kept)."""
    uniq = pd.Index(tags.unique())
    role = pd.Series("", index=uniq, dtype=object)
    reason = pd.Series("", index=uniq, dtype=object)
    for t in uniq:
        if t in overrides:
            role[t] = overrides[t]
        elif t in _CONTROL_TAGS:
            role[t] = _CONTROL_TAGS[t]
        elif t in _EXCLUDED_TAGS:
            reason[t] = _EXCLUDED_TAGS[t]
        elif _SINGLE_RE.match(t) or _PC_TITRATION_RE.match(t):
            role[t] = "treated"
        elif _COMBO_RE.search(t):
            reason[t] = f"{t}: combination treatment (single-agent reader)"
        else:
            role[t] = "?"
    return role.reindex(tags).to_numpy(), reason.reindex(tags).to_numpy()


def _well_names(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    from ._make import well_name

    return well_name(row, col)


def gdsc_raw_to_screen(
    frame: pd.DataFrame,
    *,
    source: str = "",
    plate_format: int | None = None,
    tag_roles: Mapping[str, str] | None = None,
) -> Screen:
    """Convert a GDSC raw table (already loaded) to a :class:`Screen`; see :func:`read_gdsc_raw`.

    Examples
    --------
    >>> df = pd.DataFrame({"BARCODE": [1, 1, 1], "SCAN_ID": [9, 9, 9], "COSMIC_ID": [7, 7, 7],
    ...     "CELL_LINE_NAME": ["A375"] * 3, "POSITION": [1, 2, 3], "TAG": ["NC-1", "B", "L1-D1-S"],
    ...     "DRUG_ID": [None, None, 1003], "CONC": [None, None, 0.1], "INTENSITY": [100, 5, 50]})
    >>> gdsc_raw_to_screen(df).data["role"].tolist()
    ['negative', 'blank', 'treated']
    """
    where = f"{source}: " if source else ""
    missing = [c for c in GDSC_RAW_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where}not a GDSC raw table: missing column(s) {missing}; found "
            f"{list(frame.columns)}. GDSC raw files (cancerrxgene.org downloads) have "
            f"{', '.join(GDSC_RAW_COLUMNS)}."
        )
    overrides = dict(tag_roles or {})
    bad_roles = {k: v for k, v in overrides.items() if v not in ROLES}
    if bad_roles:
        raise InputError(f"tag_roles {bad_roles}: roles must be one of {', '.join(ROLES)}")
    df = frame.reset_index(drop=True)
    tags = df["TAG"].astype(str).str.strip()
    role, reason = _tag_roles(tags, overrides)
    unknown = role == "?"
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(
            f"{where}column 'TAG' row {i + 2}: unknown GDSC tag {tags.iloc[i]!r} "
            f"({int(unknown.sum())} rows; unknown tags: {sorted(set(tags[unknown]))[:10]}). "
            "Pass tag_roles={'TAG': 'negative'|'treated'|...} to say what it is."
        )
    position = pd.to_numeric(df["POSITION"], errors="coerce")
    if position.isna().any() or (position < 1).any():
        i = int(np.flatnonzero((position.isna() | (position < 1)).to_numpy())[0])
        raise InputError(
            f"{where}column 'POSITION' row {i + 2}: {df['POSITION'].iloc[i]!r} is not a "
            "1-based well position"
        )
    pos = position.to_numpy(dtype=np.int64)
    barcode = df["BARCODE"].astype(str)

    # A well may carry several tags (e.g. 'L12-D1-S + DMSO' as two rows): the DMSO back-fill
    # row is dropped when the well has another tag; other multi-tag wells are combinations.
    key = barcode + ":" + pd.Series(pos).astype(str)
    n_tags = key.map(key.value_counts()).to_numpy()
    backfill = (n_tags > 1) & (tags == "DMSO").to_numpy()
    kept_tags = pd.Series(~backfill).groupby(key.to_numpy()).transform("sum").to_numpy()
    combo = (kept_tags > 1) & ~backfill
    reason = np.where(backfill, "DMSO back-fill row of a drug-treated well", reason)
    reason = np.where(
        combo & (reason == ""), "several treatment tags in one well (combination)", reason
    )
    keep = reason == ""

    conc = pd.to_numeric(df["CONC"], errors="coerce").to_numpy(dtype=float)
    drug_id = pd.to_numeric(df["DRUG_ID"], errors="coerce")
    treated = keep & (role == "treated")
    no_conc = treated & ~(conc > 0)
    if no_conc.any():
        i = int(np.flatnonzero(no_conc)[0])
        raise InputError(
            f"{where}column 'CONC' row {i + 2}: treated tag {tags.iloc[i]!r} without a positive "
            f"micromolar concentration ({int(no_conc.sum())} rows); fill CONC (GDSC reports uM)"
        )
    no_drug = treated & drug_id.isna().to_numpy()
    if no_drug.any():
        i = int(np.flatnonzero(no_drug)[0])
        raise InputError(
            f"{where}column 'DRUG_ID' row {i + 2}: treated tag {tags.iloc[i]!r} without a DRUG_ID"
        )
    _check_dilution_order(df, tags, conc, treated, barcode, where)

    if plate_format is None:
        max_pos = pd.Series(pos).groupby(barcode.to_numpy()).max()
        big = int(max_pos.max())
        plate_format = next((n for n in sorted(_PLATE_SHAPES) if big <= n), None)
        if plate_format is None:
            raise InputError(f"{where}POSITION up to {big}: larger than a 1536-well plate")
    elif plate_format not in _PLATE_SHAPES:
        raise InputError(f"plate_format={plate_format!r}: use 96, 384 or 1536")
    n_cols = _PLATE_SHAPES[plate_format][1]
    if pos.max() > plate_format:
        raise InputError(f"{where}POSITION {pos.max()} exceeds plate_format={plate_format}")
    row, col = np.divmod(pos - 1, n_cols)  # positions are numbered row-wise

    out = pd.DataFrame(
        {
            "sample": df["CELL_LINE_NAME"].astype(str).str.strip(),
            "drug": np.where(treated, drug_id.astype("Int64").astype(str), ""),
            "concentration": np.where(treated, conc, 0.0),
            "role": np.where(keep, role, ""),
            "plate": barcode,
            "well": _well_names(row, col),
            "row": row,
            "col": col,
            "signal": pd.to_numeric(df["INTENSITY"], errors="coerce"),
        }
    )
    if "DURATION" in df.columns:
        out["time"] = pd.to_numeric(df["DURATION"], errors="coerce") * 24.0  # days -> hours
    extra = [c for c in df.columns if c not in ("CELL_LINE_NAME", "INTENSITY", "CONC")]
    for c in extra:
        out[c.lower()] = df[c].to_numpy()
    for c in ("cosmic_id", "drug_id", "scan_id", "cell_id", "master_cell_id", "drugset_id"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    out["gdsc_conc"] = conc  # the control compound's dose on PC-1 / NC-1 wells stays visible
    out["plate_format"] = plate_format
    counts = pd.Series(reason[~keep]).value_counts()
    screen = Screen(out[keep].reset_index(drop=True), source=source)
    # a small {reason: n_wells} dict: attrs travel with copies, so keep them cheap to compare
    screen.data.attrs["excluded"] = {str(k): int(v) for k, v in counts.items()}
    return screen


def _check_dilution_order(
    df: pd.DataFrame,
    tags: pd.Series,
    conc: np.ndarray,
    treated: np.ndarray,
    barcode: pd.Series,
    where: str,
) -> None:
    """Dose D1 is the maximum; higher D numbers must be lower concentrations (Rmd, TAG column)."""
    m = re.compile(r"^([A-Z]+\d+)-D(\d+)")
    parts = tags.str.extract(m)
    has = treated & parts[0].notna().to_numpy()
    if not has.any():
        return
    sub = pd.DataFrame(
        {
            "plate": barcode[has].to_numpy(),
            "lib": parts[0][has].to_numpy(),
            "dose": parts[1][has].astype(int).to_numpy(),
            "conc": conc[has],
            "row": np.flatnonzero(has) + 2,
        }
    ).sort_values(["plate", "lib", "dose"])
    step = sub.groupby(["plate", "lib"], sort=False)["conc"].diff()
    bad = (step > 0).to_numpy()
    if bad.any():
        r = sub[bad].iloc[0]
        raise InputError(
            f"{where}row {int(r['row'])}: tag {r['lib']}-D{r['dose']} on plate {r['plate']} has "
            f"CONC {r['conc']} above the previous dose; D1 must be the maximum concentration and "
            "each further dose a dilution of it. Check the CONC column."
        )


def read_gdsc_raw(
    path: str | os.PathLike[str],
    *,
    plate_format: int | None = None,
    tag_roles: Mapping[str, str] | None = None,
) -> Screen:
    """Read a GDSC raw plate file (csv, csv.gz, tsv, parquet) into a :class:`Screen`.

    One row per well and tag (``BARCODE, SCAN_ID, COSMIC_ID, CELL_LINE_NAME, POSITION, TAG,
    DRUG_ID, CONC, INTENSITY`` ...). Mapping:

    * ``sample`` = ``CELL_LINE_NAME``; ``drug`` = ``DRUG_ID`` as text; ``plate`` = ``BARCODE``
      (one-to-one with ``SCAN_ID`` in published data); ``signal`` = ``INTENSITY``;
      ``time`` = ``DURATION`` in hours.
    * ``concentration`` = ``CONC`` (micromolar, as GDSC documents) on treated wells, checked
      against the tag's dose number (``D1`` is the maximum, later doses are dilutions).
    * ``POSITION`` is numbered row-wise: ``row, col = divmod(POSITION - 1, n_cols)`` with 48
      columns on 1536-well plates, 24 on 384, 12 on 96 (``plate_format``, else inferred from the
      largest position); ``well`` is e.g. ``"AF48"``.
    * Tags: ``NC-1`` (DMSO) -> ``negative``, ``NC-0`` -> ``untreated``, ``B`` -> ``blank``,
      ``PC-1`` -> ``positive``, ``L*-D*-S`` / ``R*-D*-S`` / ``PC*-D*-S`` / ``A*-S`` and the
      titrated positive control ``PC-2``, ``PC-3``... -> ``treated``. ``UN-USED`` (no cells),
      ``SC`` (other seeding density), DMSO back-fill rows of drugged wells and combination
      wells are excluded and counted by reason (see :func:`excluded_wells`). Unknown tags raise unless given in ``tag_roles``.
    * Every other GDSC column is kept in lower case (``cosmic_id``, ``drug_id``, ``tag``,
      ``drugset_id``, ``seeding_density`` ...).

    Examples
    --------
    >>> screen = read_gdsc_raw("gdsc_raw_wells_part.csv.gz")  # doctest: +SKIP
    """
    from ._readers import _read_table

    p = Path(path)
    frame = _read_table(p, fmt=None, sheet=None)
    return gdsc_raw_to_screen(frame, source=str(p), plate_format=plate_format, tag_roles=tag_roles)


def excluded_wells(screen: Screen) -> pd.DataFrame:
    """Wells a reader left out of ``screen``, counted by reason (``reason, n_wells``).

    >>> excluded_wells(Screen(pd.DataFrame({"sample": ["a"], "drug": ["x"],
    ...     "concentration": [1.0], "role": ["treated"], "signal": [1.0]}))).empty
    True
    """
    ex = screen.data.attrs.get("excluded") or {}
    return pd.DataFrame({"reason": list(ex), "n_wells": list(ex.values())})


def fetch_gdsc_raw_plates(*, download: bool = True) -> Screen:
    """The GDSC raw plate example (232 cell lines, 590 plates, 1536 wells each) as a Screen.

    Drugs 1003, 1032, 1036, 1060, 1268, 1510 and the positive-control compound 1862; controls
    NC-0, NC-1, PC-1 and B. Resolved by :func:`oncoresist.data.fetch_file` (mirror, cache or
    download).

    Examples
    --------
    >>> screen = fetch_gdsc_raw_plates()  # doctest: +SKIP
    >>> len(screen.plates)  # doctest: +SKIP
    590
    """
    from ._datasets import fetch_file

    path = fetch_file("gdsc_raw_plates", "gdsc_raw_wells_part.csv.gz", download=download)
    return read_gdsc_raw(path)
