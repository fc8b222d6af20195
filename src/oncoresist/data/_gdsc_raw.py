"""Reader for GDSC's raw well-level plate format (one row per well and tag; CellTiter-Glo reads).

The format is documented in ``gdsc_raw_data_format.Rmd`` of the ``gdsc_raw_plates`` data set
(from CancerRxGene's gdscIC50 package; the reader is written from that description, not from
the package's GPL code).
"""

from __future__ import annotations

import csv
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from ._screen import ROLES, Screen, integer_column, numeric_column

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
# Numbers in tags have at most 6 digits: a longer one (L12345678901234567890-D1-S) is a
# damaged cell, and a dose number beyond 2**53 would not even compare exactly.
_SINGLE_RE = re.compile(r"^(?:(?:L|R|PC)\d{1,6}-D\d{1,6}-S|A\d{1,6}-S)$")
# Positive-control tags PC-2, PC-3 ... carry a titration of the PC-1 compound in GDSC
# drug sets (one well each at 4-fold dilutions in the example data): treated wells.
_PC_TITRATION_RE = re.compile(r"^PC-([2-9]|\d{2,6})$")
_COMBO_RE = re.compile(r"-C$")


def _classify_tags(
    tags: Sequence[Any], overrides: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Role ('' when excluded, '?' when unknown) and exclusion reason of each distinct tag."""
    role = np.full(len(tags), "", dtype=object)
    reason = np.full(len(tags), "", dtype=object)
    for i, t in enumerate(tags):
        if not isinstance(t, str):
            role[i] = "?"
        elif t in overrides:
            role[i] = overrides[t]
        elif t in _CONTROL_TAGS:
            role[i] = _CONTROL_TAGS[t]
        elif t in _EXCLUDED_TAGS:
            reason[i] = _EXCLUDED_TAGS[t]
        elif _SINGLE_RE.match(t) or _PC_TITRATION_RE.match(t):
            role[i] = "treated"
        elif _COMBO_RE.search(t):
            reason[i] = f"{t}: combination treatment (single-agent reader)"
        else:
            role[i] = "?"
    return role, reason


def _codes(
    values: pd.Series, transform: Callable[[pd.Series], pd.Series]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` and ``transform`` applied to each distinct value once.

    Equal to ``transform(values)`` row by row (codes into the returned uniques) without the
    per-row string work: categorical columns (the Arrow reader's dictionary strings) use their
    categories, others are factorised. Missing values stay missing.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        uniq = pd.Series(values.cat.categories)
    else:
        c, u = pd.factorize(values, use_na_sentinel=True)
        codes, uniq = c.astype(np.int64), pd.Series(u)
    done = transform(uniq).to_numpy(dtype=object) if len(uniq) else np.array([], dtype=object)
    if (codes < 0).any():
        done = np.append(done, np.nan)
        codes = np.where(codes < 0, len(done) - 1, codes)
    # distinct values may become equal (' A375' and 'A375' after strip): merge their codes
    merged, out = pd.factorize(pd.Series(done, dtype=object), use_na_sentinel=False)
    return merged[codes], np.asarray(out, dtype=object)


def _strip(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip()


def _as_str(s: pd.Series) -> pd.Series:
    return s.astype(str)


def _take_str(uniques: Any, codes: np.ndarray) -> Any:
    """``uniques[codes]`` as a pandas string array (-1 = missing), without per-row objects."""
    return pd.array(np.asarray(uniques, dtype=object), dtype="str").take(codes, allow_fill=True)


def _column(frame: pd.DataFrame, name: str, idx: np.ndarray) -> Any:
    """The kept rows of a column to copy into the output, typed as the pandas reader types it."""
    col = frame[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _take_str(col.cat.categories, col.cat.codes.to_numpy()[idx])
    return col.to_numpy()[idx]


def gdsc_raw_to_screen(
    frame: pd.DataFrame,
    *,
    source: str = "",
    plate_format: int | None = None,
    tag_roles: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> Screen:
    """Convert a GDSC raw table (already loaded) to a :class:`Screen`; see :func:`read_gdsc_raw`.

    ``notes`` (what was detected while loading the table, e.g. its text encoding) come first
    in :attr:`Screen.notes`.

    Examples
    --------
    >>> df = pd.DataFrame({"BARCODE": [1, 1, 1], "SCAN_ID": [9, 9, 9], "COSMIC_ID": [7, 7, 7],
    ...     "CELL_LINE_NAME": ["A375"] * 3, "POSITION": [1, 2, 3], "TAG": ["NC-1", "B", "L1-D1-S"],
    ...     "DRUG_ID": [None, None, 1003], "CONC": [None, None, 0.1], "INTENSITY": [100, 5, 50]})
    >>> gdsc_raw_to_screen(df).data["role"].tolist()
    ['negative', 'blank', 'treated']
    """
    where = f"{source}: " if source else ""
    header = [str(c) for c in frame.columns]
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise SchemaError(
            f"{where}column(s) {dup} appear more than once; which one holds the data is "
            "ambiguous: rename or delete the extra column(s)"
        )
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
    n = len(df)
    # every string operation runs on the distinct values only (a few hundred tags, plates and
    # lines for 10^5-10^6 rows); rows then index into them with integer codes
    tag_code, tag_uniq = _codes(df["TAG"], _strip)
    role_u, reason_u = _classify_tags(list(tag_uniq), overrides)
    role = role_u[tag_code]
    unknown = role == "?"
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        bad = sorted({str(t) for t in tag_uniq[role_u == "?"]})[:10]
        raise InputError(
            f"{where}column 'TAG' row {i + 2}: unknown GDSC tag {tag_uniq[tag_code[i]]!r} "
            f"({int(unknown.sum())} rows; unknown tags: {bad}). "
            "Pass tag_roles={'TAG': 'negative'|'treated'|...} to say what it is "
            "(Python API only)."
        )
    pos = integer_column(
        df,
        "POSITION",
        where=where,
        minimum=1,
        maximum=max(_PLATE_SHAPES),
        hint="POSITION is the 1-based well number, counted row-wise (1..96, 384 or 1536)",
    ).to_numpy(dtype=np.int64)
    plate_code, plate_uniq = _codes(df["BARCODE"], _as_str)
    no_plate = df["BARCODE"].isna().to_numpy()
    if no_plate.any():
        i = int(np.flatnonzero(no_plate)[0])
        raise InputError(
            f"{where}column 'BARCODE' row {i + 2}: empty plate barcode ({int(no_plate.sum())} "
            "rows); every well needs its plate's BARCODE"
        )

    # A well may carry several tags (e.g. 'L12-D1-S + DMSO' as two rows): the DMSO back-fill
    # row is dropped when the well has another tag; other multi-tag wells are combinations.
    well_code = pd.factorize(plate_code * (int(pos.max()) + 1) + pos)[0]
    n_tags = np.bincount(well_code)[well_code]
    backfill = (n_tags > 1) & (tag_uniq == "DMSO")[tag_code]
    kept_tags = np.bincount(well_code, weights=~backfill)[well_code]
    combo = (kept_tags > 1) & ~backfill
    # exclusion reasons as codes into a small table: the tags' own, then back-fill, combination
    reasons = [*reason_u, "DMSO back-fill row of a drug-treated well"]
    reasons.append("several treatment tags in one well (combination)")
    reason_code = np.where(reason_u[tag_code] != "", tag_code, -1)
    reason_code = np.where(backfill, len(reason_u), reason_code)
    reason_code = np.where(combo & (reason_code < 0), len(reason_u) + 1, reason_code)
    keep = reason_code < 0

    conc = numeric_column(
        df, "CONC", where=where, allow_inf=False, hint="CONC is the dose in micromolar"
    ).to_numpy(dtype=float)
    drug_id_col = integer_column(df, "DRUG_ID", where=where, allow_missing=True, hint=_ID_HINT)
    drug_id = drug_id_col.to_numpy(dtype=float, na_value=np.nan)
    treated = keep & (role == "treated")
    no_conc = treated & ~(conc > 0)
    if no_conc.any():
        i = int(np.flatnonzero(no_conc)[0])
        raise InputError(
            f"{where}column 'CONC' row {i + 2}: treated tag {tag_uniq[tag_code[i]]!r} without a "
            f"positive micromolar concentration ({int(no_conc.sum())} rows); fill CONC (GDSC "
            "reports uM)"
        )
    no_drug = treated & np.isnan(drug_id)
    if no_drug.any():
        i = int(np.flatnonzero(no_drug)[0])
        raise InputError(
            f"{where}column 'DRUG_ID' row {i + 2}: treated tag {tag_uniq[tag_code[i]]!r} "
            "without a DRUG_ID"
        )
    _check_dilution_order(tag_code, tag_uniq, conc, treated, plate_code, plate_uniq, where)

    if plate_format is None:
        big = int(pos.max())
        plate_format = next(k for k in sorted(_PLATE_SHAPES) if big <= k)
    elif plate_format not in _PLATE_SHAPES:
        raise InputError(f"plate_format={plate_format!r}: use 96, 384 or 1536")
    n_cols = _PLATE_SHAPES[plate_format][1]
    if pos.max() > plate_format:
        raise InputError(f"{where}POSITION {pos.max()} exceeds plate_format={plate_format}")

    idx = np.flatnonzero(keep)
    kpos = pos[idx]
    row, col = np.divmod(kpos - 1, n_cols)  # positions are numbered row-wise
    from ._make import well_name

    names = well_name(*np.divmod(np.arange(plate_format), n_cols))
    sample_code, sample_uniq = _codes(df["CELL_LINE_NAME"], _strip)
    ktreated = treated[idx]
    kdrug = drug_id[idx]
    drug_ids, drug_code = np.unique(kdrug[ktreated], return_inverse=True)
    drug_text = np.zeros(len(idx), dtype=np.int64)  # code 0 = '' (control wells)
    drug_text[ktreated] = drug_code + 1
    drug_uniq = ["", *(str(int(d)) for d in drug_ids)]
    kconc = conc[idx]
    signal = numeric_column(
        df, "INTENSITY", where=where, allow_inf=False, hint="INTENSITY is the raw read"
    ).to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "sample": _take_str(sample_uniq, sample_code[idx]),
            "drug": _take_str(drug_uniq, drug_text),
            "concentration": np.where(ktreated, kconc, 0.0),
            "role": _take_str(role_u, tag_code[idx]),
            "plate": _take_str(plate_uniq, plate_code[idx]),
            "well": names[kpos - 1],
            "row": row,
            "col": col,
            "signal": signal[idx],
        }
    )
    if "DURATION" in df.columns:
        dur = numeric_column(
            df, "DURATION", where=where, allow_inf=False, hint="DURATION is in days"
        ).to_numpy(dtype=float)
        out["time"] = dur[idx] * 24.0  # days -> hours
    kept, unused = _extra_columns(df.columns)
    for c, name in kept.items():
        if name in _ID_COLUMNS:
            ids = (
                drug_id_col
                if c == "DRUG_ID"
                else integer_column(df, c, where=where, allow_missing=True, hint=_ID_HINT)
            )
            out[name] = ids.array[idx]
        else:
            out[name] = _column(df, c, idx)
    out["gdsc_conc"] = kconc  # the control compound's dose on PC-1 / NC-1 wells stays visible
    out["plate_format"] = plate_format
    notes = list(notes)
    if unused:
        why = "; ".join(f"{c!r}: {_collision(c, kept)}" for c in unused)
        notes.append(
            f"GDSC raw column(s) {unused} not used, the GDSC columns win ({why}); rename them "
            "in the file to keep them"
        )
        warnings.warn(f"{where}{notes[-1]}", UserWarning, stacklevel=2)
    screen = Screen(out, source=source, notes=tuple(notes))
    # a small {reason: n_wells} dict: attrs travel with copies, so keep them cheap to compare
    counts = np.bincount(reason_code[~keep], minlength=len(reasons))
    first = np.full(len(reasons), n)
    np.minimum.at(first, reason_code[~keep], np.flatnonzero(~keep))
    order = sorted(np.flatnonzero(counts), key=lambda k: (-counts[k], first[k]))
    screen.data.attrs["excluded"] = {str(reasons[k]): int(counts[k]) for k in order}
    return screen


#: Identifier columns, kept as nullable integers (a fraction or text there is an error).
_ID_COLUMNS = ("cosmic_id", "drug_id", "scan_id", "cell_id", "master_cell_id", "drugset_id")
_ID_HINT = "GDSC identifiers are whole numbers (an empty cell is fine)"
#: Columns of GDSC raw files beyond GDSC_RAW_COLUMNS (kept in lower case, in this order).
_KNOWN_COLUMNS = (
    "RESEARCH_PROJECT", "BARCODE", "SCAN_ID", "DATE_CREATED", "SCAN_DATE", "CELL_ID",
    "MASTER_CELL_ID", "COSMIC_ID", "SEEDING_DENSITY", "DRUGSET_ID", "ASSAY", "DURATION",
    "POSITION", "TAG", "DRUG_ID",
)  # fmt: skip
#: The Screen's columns a GDSC raw file's columns become (and the reader's own two): an extra
#: column of one of these names never replaces them.
_DERIVED = {
    "sample": "CELL_LINE_NAME", "drug": "DRUG_ID", "concentration": "CONC", "role": "TAG",
    "plate": "BARCODE", "well": "POSITION", "row": "POSITION", "col": "POSITION",
    "signal": "INTENSITY", "time": "DURATION", "replicate": "", "viability": "",
    "gdsc_conc": "CONC", "plate_format": "POSITION", "conc_unit_original": "",
}  # fmt: skip


def _collision(column: str, kept: Mapping[Any, str]) -> str:
    name = column.lower()
    if name in _DERIVED:
        src = _DERIVED[name]
        return f"'{name}' comes from {src}" if src else f"'{name}' is set by the reader"
    if name in {c.lower() for c in ("CELL_LINE_NAME", "INTENSITY", "CONC")}:
        return f"{column.upper()} is read as a Screen column"
    other = next((str(c) for c, v in kept.items() if v == name), name.upper())
    return f"'{name}' is column {other}"


def _extra_columns(columns: Iterable[Any]) -> tuple[dict[Any, str], list[str]]:
    """``{file column: lower-case name}`` of the columns copied into the Screen, and the names
    of those left out because their lower-case name is taken: a Screen column derived from
    the GDSC columns (an extra ``SIGNAL`` column must not replace ``INTENSITY``), or the name
    of a GDSC column (``tag`` beside ``TAG``). The real GDSC columns come first and win."""
    consumed = {"CELL_LINE_NAME", "INTENSITY", "CONC"}
    cols = [c for c in columns if str(c) not in consumed]
    order = sorted(cols, key=lambda c: str(c) not in _KNOWN_COLUMNS)  # stable: GDSC first
    taken = set(_DERIVED) | {c.lower() for c in consumed}
    kept: dict[Any, str] = {}
    unused = []
    for c in order:
        name = str(c).lower()
        if name in taken:
            unused.append(str(c))
            continue
        taken.add(name)
        kept[c] = name
    # the file's column order
    return {c: kept[c] for c in cols if c in kept}, unused


def _check_dilution_order(
    tag_code: np.ndarray,
    tag_uniq: np.ndarray,
    conc: np.ndarray,
    treated: np.ndarray,
    plate_code: np.ndarray,
    plate_uniq: np.ndarray,
    where: str,
) -> None:
    """Dose D1 is the maximum; higher D numbers must be lower concentrations (Rmd, TAG column)."""
    parts = pd.Series(tag_uniq, dtype=object).str.extract(r"^([A-Z]+\d+)-D(\d+)")
    lib_u = parts[0].to_numpy(dtype=object)
    has_u = parts[0].notna().to_numpy()
    dose_u = np.where(has_u, pd.to_numeric(parts[1], errors="coerce").fillna(-1), -1)
    lib_code_u = np.where(has_u, pd.factorize(parts[0])[0], -1)
    has = treated & has_u[tag_code]
    if not has.any():
        return
    rows = np.flatnonzero(has)
    p, lib, dose = plate_code[rows], lib_code_u[tag_code[rows]], dose_u[tag_code[rows]]
    order = np.lexsort((rows, dose, lib, p))  # stable: by plate, library number, dose
    rows, p, lib, dose = rows[order], p[order], lib[order], dose[order]
    c = conc[rows]
    same = (p[1:] == p[:-1]) & (lib[1:] == lib[:-1])
    bad = np.flatnonzero(same & (c[1:] > c[:-1])) + 1
    if bad.size:
        k = bad[np.argmin(rows[bad])]  # the first offending row of the file
        r = rows[k]
        raise InputError(
            f"{where}row {int(r) + 2}: tag {lib_u[tag_code[r]]}-D{int(dose[k])} on plate "
            f"{plate_uniq[plate_code[r]]} has CONC {c[k]} above the previous dose; D1 must be "
            "the maximum concentration and each further dose a dilution of it. Check the CONC "
            "column."
        )


# Columns of GDSC raw files that hold text (read as dictionary strings); the others are
# numbers, typed as pandas would type them.
_TEXT_COLUMNS = ("RESEARCH_PROJECT", "DATE_CREATED", "SCAN_DATE", "CELL_LINE_NAME", "ASSAY", "TAG")
# pandas' default missing-value markers, so that both readers see the same cells as missing
_NA_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def _arrow_table(path: Path, sep: str, compression: str | None) -> pd.DataFrame | None:
    """The raw file through ``pyarrow.csv`` (multi-threaded, dictionary strings), or None
    when pyarrow cannot read it the way pandas would (the caller then uses pandas)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    if compression == "gzip":
        # zlib in one call is faster than Arrow's streaming gzip reader
        data: Any = pa.py_buffer(zlib.decompress(path.read_bytes(), 31))
    elif compression is None:
        data = str(path)
    else:
        return None
    dict_str = pa.dictionary(pa.int32(), pa.string())

    def _read(text: Sequence[str]) -> Any:
        return pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types={c: dict_str for c in text},
                null_values=_NA_VALUES,
                strings_can_be_null=True,
                timestamp_parsers=["\x00"],  # no date guessing: pandas keeps dates as text
            ),
        )

    try:
        table = _read(_TEXT_COLUMNS)
        odd = [
            f.name
            for f in table.schema
            if not (
                pa.types.is_integer(f.type)
                or pa.types.is_floating(f.type)
                or pa.types.is_string(f.type)
                or pa.types.is_dictionary(f.type)
                or pa.types.is_boolean(f.type)
                or pa.types.is_null(f.type)
            )
        ]
        if odd:  # dates or times in extra columns: read them as text, as pandas does
            table = _read((*_TEXT_COLUMNS, *odd))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    frame = table.to_pandas()
    for f in table.schema:
        if pa.types.is_null(f.type):  # an empty column: pandas reads it as float NaN
            frame[f.name] = np.nan
        elif pa.types.is_string(f.type):
            frame[f.name] = frame[f.name].astype("str")
    return frame


def _split_line(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep), [])


def _load_raw(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The raw table and what was detected while reading it (encoding, separator)."""
    from ._readers import FileHead, ReadOptions, _check_header, load_table, sniff_dialect

    head = FileHead.of(path)
    if head.suffix in (".csv", ".tsv", ".txt", ".tab") and head.text is not None:
        dialect = sniff_dialect(head, default_sep="\t" if head.suffix != ".csv" else ",")
        header = [c.strip() for c in _split_line(head.lines[0], dialect.sep)] if head.lines else []
        _check_header(header, header, f"{path}: ")
        if dialect.decimal == "." and dialect.encoding == "utf-8":
            frame = _arrow_table(path, dialect.sep, head.compression)
            if frame is not None:
                return frame, dialect.notes
    # any other tidy format (Parquet, Excel, other separators): read as a plain table; the
    # empty column mapping keeps the GDSC sniffer from sending the file back here
    table = load_table(path, product="screen", fmt=None, options=ReadOptions(columns={}))
    return table.frame, table.notes


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
      wells are excluded and counted by reason (see :func:`excluded_wells`). Unknown tags
      raise unless given in ``tag_roles``.
    * Every other GDSC column is kept in lower case (``cosmic_id``, ``drug_id``, ``tag``,
      ``drugset_id``, ``seeding_density`` ...); identifiers (``*_ID``) are nullable integers.
    * **Decision on extra columns**: the real GDSC columns always win. An extra column whose
      lower-case name is a Screen column the reader derives (``SIGNAL``, ``PLATE``,
      ``SAMPLE``, ``ROLE``, ``VIABILITY``, ``WELL``, ``TIME`` ...) or that of a GDSC column
      (``tag`` beside ``TAG``) is not used; :attr:`Screen.notes` and a ``UserWarning`` name
      it (the collision always has one resolution, so it is not an error). A column name that
      appears twice is ambiguous: a :class:`SchemaError`.
    * Cells are checked, not coerced: ``POSITION`` must be a whole number 1..1536, IDs whole
      numbers (or empty), ``CONC``, ``INTENSITY`` and ``DURATION`` finite numbers (or empty),
      ``BARCODE`` present; a line with more or fewer fields than the header (a truncated
      file) is an error naming the line.

    Text files are parsed with ``pyarrow.csv`` (text columns as dictionary strings); every
    string operation runs once per distinct tag, plate or cell line, not per row.

    Examples
    --------
    >>> screen = read_gdsc_raw("gdsc_raw_wells_part.csv.gz")  # doctest: +SKIP
    """
    p = Path(path)
    frame, notes = _load_raw(p)
    if frame.empty:
        raise InputError(f"{p}: the table has a header but no rows (one row per well and tag)")
    return gdsc_raw_to_screen(
        frame, source=str(p), plate_format=plate_format, tag_roles=tag_roles, notes=notes
    )


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
