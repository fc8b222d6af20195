"""Pooled CRISPR screens: the :class:`CrisprScreen` data object and its readers.

A screen is an sgRNA x sample matrix of read counts, the sgRNA -> gene map and an annotation
of the samples (reference = T0 / plasmid, control arm, treatment arm, replicate label, day).
It is validated once, at construction: every later function trusts it.

Readers (:func:`read_crispr_counts`) take the three layouts people have:

``mageck``
    MAGeCK count tables: ``sgRNA``, ``Gene`` and one column per sample (tab or comma, .gz).
``per_sample``
    one file per sample (a list of files or a folder), each ``sgRNA  GENE  <sample>``; the guide
    lists must agree between files.
``long``
    tidy long tables, one row per guide and sample: ``guide, gene, sample, count``.

The sample annotation comes from :func:`crispr_samples_from_table`: a table with ``sample,
role, replicate, day`` or a metadata file with 0/1 ``plasmid / control / treatment`` flags.

The CRISPR formats live in their own registry, :data:`CRISPR_READERS`, of the same
:class:`~oncoresist.data._readers.Reader` entries as :data:`~oncoresist.data._readers.READERS`
(same sniffing, same delimited-text loader and its errors). They are not added to ``READERS``
itself: that registry is the well-level screen / combination formats, and its contract tests
require every entry there to produce one of those.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from .._registry import Registry
from .._results import ResultMixin
from ..errors import InputError, SchemaError
from ._readers import FileHead, Reader, ReadOptions, Table, _load_text, cli_fix

__all__ = [
    "CRISPR_READERS",
    "ROLES",
    "CrisprScreen",
    "crispr_samples_from_table",
    "read_crispr_counts",
]

#: The sample roles of a screen: ``reference`` is T0 or the plasmid library.
ROLES = ("reference", "control", "treatment")
_ROLE_HINT = (
    "use 'reference' for T0 / plasmid, 'control' for the untreated (vehicle) arm and "
    "'treatment' for the drug arm"
)
_MAX_LISTED = 5


def _listing(items: Sequence[Any], n: int = _MAX_LISTED) -> str:
    shown = ", ".join(repr(x) for x in items[:n])
    return shown + (f" ... ({len(items)} in all)" if len(items) > n else "")


def _text_index(index: pd.Index) -> pd.Index:
    """``index`` as an object Index of Python str (fast when it already holds text)."""
    arr = index.to_numpy(dtype=object)
    if not all(isinstance(v, str) for v in arr[:50]) or index.dtype.kind not in "OUT":
        arr = np.array([str(v) for v in arr], dtype=object)
    return pd.Index(arr, dtype=object)


def _is_missing_text(values: pd.Series) -> np.ndarray:
    """NA, empty or whitespace-only, or the texts 'nan' / 'NA' / 'None' a file holds for NA."""
    s = values.astype("string")
    na = s.isna().to_numpy()
    text = s.fillna("").str.strip().str.lower()
    return na | text.isin(["", "nan", "na", "none", "<na>", "null"]).to_numpy()


class CrisprScreen(ResultMixin):
    """Read counts of a pooled CRISPR screen, validated once.

    Parameters
    ----------
    counts
        Index: guide id (unique text); columns: sample names; values: read counts, whole
        numbers >= 0 (integral floats such as ``12.0`` are accepted and stored as int64).
    guides
        Index: the same guide ids (reordered to ``counts`` if they come in another order);
        column ``gene`` (text, required for every guide) and optional ``control`` (bool: a
        non-targeting / control guide; default False).
    samples
        Index: the sample names of ``counts`` (each once, none missing, none extra); column
        ``role`` in :data:`ROLES`, optional ``replicate`` (text or NA: pairs control and
        treatment samples with the same label) and ``day`` (float or NaN).
    source
        Where the data came from (file names), used in messages.

    Attributes
    ----------
    counts, guides, samples : pandas.DataFrame
        The validated tables (copies; ``counts`` is int64).
    source : str
    notes : tuple of str
        What the constructor flagged, e.g. an arm with a single replicate (statistics pass
        these on into their results).

    Raises
    ------
    InputError
        With the guide (row) and sample (column) at fault and how to fix it.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"T0": [10, 20], "drug": [5, 40]}, index=["g1", "g2"])
    >>> guides = pd.DataFrame({"gene": ["A", "B"]}, index=["g1", "g2"])
    >>> samples = pd.DataFrame({"role": ["reference", "treatment"]}, index=["T0", "drug"])
    >>> CrisprScreen(counts, guides, samples).arm("treatment")
    ['drug']
    """

    def __init__(
        self,
        counts: pd.DataFrame,
        guides: pd.DataFrame,
        samples: pd.DataFrame,
        *,
        source: str = "",
    ) -> None:
        self.source = str(source)
        where = f"{self.source}: " if self.source else ""
        counts_v = _validate_counts(counts, where)
        self.counts: pd.DataFrame = counts_v
        self.guides: pd.DataFrame = _validate_guides(guides, counts_v.index, where)
        self.samples: pd.DataFrame = _validate_samples(samples, list(counts_v.columns), where)
        self.notes: tuple[str, ...] = _screen_notes(self.samples, self.guides)

    # ------------------------------------------------------------------ accessors
    @property
    def sample_names(self) -> list[str]:
        """The sample names, in column order."""
        return [str(c) for c in self.counts.columns]

    @property
    def genes(self) -> pd.Series:
        """Guide id -> gene."""
        return self.guides["gene"]

    @property
    def n_guides(self) -> int:
        return int(self.counts.shape[0])

    def arm(self, role: str) -> list[str]:
        """The samples of ``role`` (``reference``, ``control`` or ``treatment``), in order."""
        r = str(role).strip().lower()
        if r not in ROLES:
            raise InputError(f"{self._where}unknown role {role!r}; {_ROLE_HINT}")
        return [str(s) for s in self.samples.index[self.samples["role"] == r]]

    def pairs(self) -> list[tuple[str, str]]:
        """``(control, treatment)`` sample pairs matched by replicate label, in control order.

        Raises
        ------
        InputError
            Naming the sample that has no replicate label, no partner in the other arm, or a
            label used twice within its arm.
        """
        ctrl, trt = self.arm("control"), self.arm("treatment")
        where = self._where
        if not ctrl or not trt:
            raise InputError(
                f"{where}pairing needs control and treatment samples; this screen has "
                f"{len(ctrl)} control and {len(trt)} treatment sample(s). {_ROLE_HINT}"
            )
        rep = self.samples["replicate"]
        by_arm: dict[str, dict[str, str]] = {}
        for name, arm in (("control", ctrl), ("treatment", trt)):
            labels: dict[str, str] = {}
            for s in arm:
                lab = rep[s]
                if pd.isna(lab):
                    raise InputError(
                        f"{where}sample {s!r} ({name}) has no replicate label, so it cannot be "
                        "paired: give every control and treatment sample a 'replicate' (the same "
                        "label for a control and its treated partner), or use an unpaired "
                        "analysis"
                    )
                if lab in labels:
                    raise InputError(
                        f"{where}samples {labels[lab]!r} and {s!r} ({name}) both have replicate "
                        f"{lab!r}: each label may appear once per arm to pair; relabel one"
                    )
                labels[str(lab)] = s
            by_arm[name] = labels
        c, t = by_arm["control"], by_arm["treatment"]
        for lab, s in c.items():
            if lab not in t:
                raise InputError(
                    f"{where}control sample {s!r} (replicate {lab!r}) has no treatment sample with "
                    f"replicate {lab!r} (treatment replicates: {_listing(sorted(t))}); fix the "
                    "labels or use an unpaired analysis"
                )
        for lab, s in t.items():
            if lab not in c:
                raise InputError(
                    f"{where}treatment sample {s!r} (replicate {lab!r}) has no control sample with "
                    f"replicate {lab!r} (control replicates: {_listing(sorted(c))}); fix the "
                    "labels or use an unpaired analysis"
                )
        return [(s, t[lab]) for lab, s in c.items()]

    def _with_source(self, source: str) -> CrisprScreen:
        """The same (already validated) screen with another source text."""
        new = copy.copy(self)
        new.source = str(source)
        return new

    @property
    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def subset(
        self,
        samples: Sequence[str] | None = None,
        guides: Sequence[str] | np.ndarray | pd.Series | None = None,
    ) -> CrisprScreen:
        """A new screen with only ``samples`` (names, in that order) and ``guides`` (ids or a
        boolean mask over the guides); None keeps all."""
        cols = self.sample_names if samples is None else [str(s) for s in samples]
        unknown = [s for s in cols if s not in self.counts.columns]
        if unknown:
            raise InputError(
                f"{self._where}subset: unknown sample(s) {_listing(unknown)}; the samples are "
                f"{_listing(self.sample_names, 20)}"
            )
        if guides is None:
            rows = self.counts.index
        else:
            g = np.asarray(guides)
            if g.dtype == bool:
                if g.shape != (self.n_guides,):
                    raise InputError(
                        f"{self._where}subset: a boolean guide mask needs {self.n_guides} values, "
                        f"got {g.size}"
                    )
                rows = self.counts.index[g]
            else:
                rows = _text_index(pd.Index(g))
                missing = rows.difference(self.counts.index)
                if len(missing):
                    raise InputError(
                        f"{self._where}subset: unknown guide id(s) {_listing(list(missing))}"
                    )
        return CrisprScreen(
            self.counts.loc[rows, cols],
            self.guides.loc[rows],
            self.samples.loc[cols],
            source=self.source,
        )

    # ------------------------------------------------------------------ views
    def to_frame(self) -> pd.DataFrame:
        """Long table: ``guide, gene, sample, count`` (guides vary fastest within a sample)."""
        n, m = self.counts.shape
        return pd.DataFrame(
            {
                "guide": np.tile(self.counts.index.to_numpy(), m),
                "gene": np.tile(self.guides["gene"].to_numpy(), m),
                "sample": np.repeat(np.asarray(self.sample_names, dtype=object), n),
                "count": self.counts.to_numpy().T.reshape(-1),
            }
        )

    def sizes(self) -> dict[str, Any]:
        """Sizes, arms, pairing and the constructor's notes."""
        try:
            n_pairs: int | None = len(self.pairs())
        except InputError:
            n_pairs = None
        return {
            "n_guides": self.n_guides,
            "n_genes": int(self.guides["gene"].nunique()),
            "n_control_guides": int(self.guides["control"].sum()),
            "n_samples": len(self.sample_names),
            "reference": self.arm("reference"),
            "control": self.arm("control"),
            "treatment": self.arm("treatment"),
            "n_pairs": n_pairs,
            "total_reads": int(self.counts.to_numpy().sum()),
            "source": self.source,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One line: guides, genes, samples per arm and pairs (see :meth:`sizes`)."""
        s = self.sizes()
        return (
            f"CrisprScreen: {s['n_guides']:,} guides, {s['n_genes']:,} genes, "
            f"{s['n_samples']} samples ({len(s['reference'])} reference, {len(s['control'])} "
            f"control, {len(s['treatment'])} treatment"
            + (f", {s['n_pairs']} pairs" if s["n_pairs"] else "")
            + f"), {s['total_reads']:,} reads"
        )

    def __repr__(self) -> str:
        roles = self.samples["role"].value_counts()
        parts = ", ".join(f"{int(roles.get(r, 0))} {r}" for r in ROLES)
        return f"CrisprScreen({self.n_guides} guides, {len(self.sample_names)} samples: {parts})"


# ---------------------------------------------------------------------- validation
def _validate_counts(counts: pd.DataFrame, where: str) -> pd.DataFrame:
    if not isinstance(counts, pd.DataFrame):
        raise InputError(
            f"{where}counts must be a pandas DataFrame (guides x samples), got "
            f"{type(counts).__name__}"
        )
    if counts.shape[0] == 0 or counts.shape[1] == 0:
        raise InputError(
            f"{where}the count table is empty ({counts.shape[0]} guides x {counts.shape[1]} "
            "samples); it needs one row per guide and one column per sample"
        )
    idx = _text_index(counts.index)
    bad_id = np.flatnonzero(_is_missing_text(pd.Series(counts.index, dtype=object)))
    if bad_id.size:
        raise InputError(
            f"{where}row {bad_id[0] + 1}: the guide id is empty or NA ({bad_id.size} such row(s)); "
            "every guide needs a unique id"
        )
    dup = idx.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup)
        first = idx[rows[0]]
        at = np.flatnonzero(idx == first) + 1
        n_ids = int(idx[dup].nunique())
        raise InputError(
            f"{where}guide id {first!r} appears more than once (rows {', '.join(map(str, at[:5]))}"
            f"; {n_ids} duplicated id(s) in all): guide ids must be unique. Merge the rows (sum "
            "their counts) or give the guides distinct ids"
        )
    cols = [str(c) for c in counts.columns]
    dupc = sorted({c for c in cols if cols.count(c) > 1})
    if dupc:
        raise InputError(
            f"{where}sample column(s) {_listing(dupc)} appear more than once; rename them"
        )
    values = np.empty(counts.shape, dtype=np.int64)
    for j, col in enumerate(counts.columns):
        raw = counts.iloc[:, j]
        num = pd.to_numeric(raw, errors="coerce")
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(arr) & ~pd.isna(raw).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where}row {i + 1} (guide {idx[i]!r}), column {str(col)!r}: {raw.iloc[i]!r} is "
                f"not a number ({int(bad.sum())} such cell(s) in this column); counts must be whole "
                "numbers >= 0"
            )
        nonfinite = ~np.isfinite(arr)
        if nonfinite.any():
            i = int(np.flatnonzero(nonfinite)[0])
            if np.isnan(arr[i]):
                what, fix = (
                    "missing (NA)",
                    ("a guide not seen in a sample has count 0: fill it with 0 or drop the guide"),
                )
            else:
                what, fix = f"{float(arr[i])} (not finite)", "give the raw read count"
            raise InputError(
                f"{where}row {i + 1} (guide {idx[i]!r}), column {str(col)!r}: the count is {what} "
                f"({int(nonfinite.sum())} such cell(s) in this column); {fix}"
            )
        neg = arr < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise InputError(
                f"{where}row {i + 1} (guide {idx[i]!r}), column {str(col)!r}: negative count "
                f"{arr[i]:g} ({int(neg.sum())} such cell(s) in this column); read counts are >= 0 "
                "(are these log fold changes or normalised values? pass the raw counts)"
            )
        frac = arr != np.round(arr)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise InputError(
                f"{where}row {i + 1} (guide {idx[i]!r}), column {str(col)!r}: fractional count "
                f"{arr[i]:g} ({int(frac.sum())} such cell(s) in this column); the statistics need "
                "raw read counts (whole numbers), not normalised counts"
            )
        if arr.size and arr.max() >= 2.0**62:
            raise InputError(f"{where}column {str(col)!r}: counts too large for int64")
        values[:, j] = arr.astype(np.int64)
    return pd.DataFrame(values, index=pd.Index(idx, name="guide"), columns=pd.Index(cols))


def _validate_guides(guides: pd.DataFrame, ids: pd.Index, where: str) -> pd.DataFrame:
    if not isinstance(guides, pd.DataFrame):
        raise InputError(
            f"{where}guides must be a pandas DataFrame with a 'gene' column, got "
            f"{type(guides).__name__}"
        )
    if "gene" not in guides.columns:
        raise SchemaError(
            f"{where}the guide table has no 'gene' column (columns: "
            f"{_listing([str(c) for c in guides.columns])}); give the gene each guide targets"
        )
    g = guides.copy()
    g.index = _text_index(g.index).rename("guide")
    if g.index.duplicated().any():
        d = g.index[g.index.duplicated()][0]
        raise InputError(f"{where}the guide table lists guide {d!r} more than once")
    if not g.index.equals(ids):
        missing = ids.difference(g.index)
        extra = g.index.difference(ids)
        if len(missing) or len(extra):
            parts = []
            if len(missing):
                parts.append(f"{len(missing)} guide(s) of the counts have no gene: "
                             f"{_listing(list(missing))}")  # fmt: skip
            if len(extra):
                parts.append(f"{len(extra)} guide(s) of the guide table have no counts: "
                             f"{_listing(list(extra))}")  # fmt: skip
            raise InputError(
                f"{where}the guide table and the count table list different guides ("
                + "; ".join(parts)
                + "); give every counted guide one row in the guide table"
            )
        g = g.loc[ids]
    empty = _is_missing_text(g["gene"])
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"{where}row {i + 1} (guide {g.index[i]!r}), column 'gene': the gene is empty or NA "
            f"({int(empty.sum())} guide(s) without a gene); give every guide its gene (use a label "
            "such as 'NonTargeting' for control guides and mark them control=True), or drop them"
        )
    g["gene"] = g["gene"].astype(str).str.strip()
    if "control" in g.columns:
        c = g["control"]
        if c.dtype != bool:
            m = {True: True, False: False, "true": True, "false": False,
                 "1": True, "0": False, "yes": True, "no": False}  # fmt: skip
            key = c.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
            mapped = key.map(lambda v: m.get(v) if not pd.isna(v) else False)
            bad = mapped.isna().to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{where}row {i + 1} (guide {g.index[i]!r}), column 'control': {c.iloc[i]!r} "
                    "is not true/false; mark control guides True and the others False"
                )
            g["control"] = mapped.astype(bool)
    else:
        g["control"] = False
    other = [c for c in g.columns if c not in ("gene", "control")]
    return g[["gene", "control", *other]]


def _validate_samples(samples: pd.DataFrame, names: list[str], where: str) -> pd.DataFrame:
    if not isinstance(samples, pd.DataFrame):
        raise InputError(
            f"{where}samples must be a pandas DataFrame indexed by sample name with a 'role' "
            f"column, got {type(samples).__name__}"
        )
    if "role" not in samples.columns:
        raise SchemaError(
            f"{where}the sample annotation has no 'role' column (columns: "
            f"{_listing([str(c) for c in samples.columns])}); {_ROLE_HINT}"
        )
    s = samples.copy()
    s.index = pd.Index([str(x) for x in s.index], name="sample")
    if s.index.duplicated().any():
        d = s.index[s.index.duplicated()][0]
        raise InputError(f"{where}the sample annotation lists sample {d!r} more than once")
    missing = [n for n in names if n not in s.index]
    if missing:
        raise InputError(
            f"{where}sample(s) {_listing(missing)} of the count table are missing from the sample "
            f"annotation (it has {_listing(list(s.index), 10)}); add a row (role, replicate, day) "
            "for each, or drop the column from the counts"
        )
    extra = [n for n in s.index if n not in names]
    if extra:
        raise InputError(
            f"{where}sample(s) {_listing(extra)} of the sample annotation have no column in the "
            f"count table (its columns: {_listing(names, 10)}); check the spelling or remove "
            "those rows"
        )
    s = s.loc[names]
    role = s["role"].astype("string").str.strip().str.lower()
    bad = ~role.isin(ROLES).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where}sample {names[i]!r}, column 'role': unknown role {s['role'].iloc[i]!r} "
            f"({int(bad.sum())} sample(s) with an unknown role); {_ROLE_HINT}"
        )
    s["role"] = role.astype(str).to_numpy()
    if "replicate" in s.columns:
        rep = s["replicate"]
        na = _is_missing_text(rep)
        vals = [
            pd.NA if na[i] else (str(int(v)) if isinstance(v, float) and v.is_integer() else
                                 str(v).strip())
            for i, v in enumerate(rep.tolist())
        ]  # fmt: skip
        s["replicate"] = pd.array(vals, dtype="string")
    else:
        s["replicate"] = pd.array([pd.NA] * len(s), dtype="string")
    if "day" in s.columns:
        day = pd.to_numeric(s["day"], errors="coerce")
        badd = day.isna().to_numpy() & ~_is_missing_text(s["day"])
        if badd.any():
            i = int(np.flatnonzero(badd)[0])
            raise InputError(
                f"{where}sample {names[i]!r}, column 'day': {s['day'].iloc[i]!r} is not a number; "
                "give the day as a number (e.g. 15) or leave it empty"
            )
        s["day"] = day.astype(float)
    else:
        s["day"] = np.nan
    other = [c for c in s.columns if c not in ("role", "replicate", "day")]
    return s[["role", "replicate", "day", *other]]


def _screen_notes(samples: pd.DataFrame, guides: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    roles = samples["role"]
    for r in ROLES:
        n = int((roles == r).sum())
        if n == 1 and r != "reference":
            notes.append(
                f"one replicate in the {r} arm ({samples.index[roles == r][0]!r}): guide-level "
                "variances cannot be estimated from replicates of this arm; they come from a "
                "model across guides, and p-values are less reliable"
            )
    if not (roles == "reference").any():
        notes.append("no reference (T0 / plasmid) sample: essentiality QC is not possible")
    return tuple(notes)


# ---------------------------------------------------------------------- readers
_GUIDE_NAMES = ("sgrna", "guide", "sgrna_id", "guide_id", "id", "sgrnaid", "grna", "sequence")
_GENE_NAMES = ("gene", "genes", "gene_symbol", "symbol", "target", "gene_id")
_SAMPLE_NAMES = ("sample", "sample_name", "samplename", "condition", "replicate_name")
_COUNT_NAMES = ("count", "counts", "read_count", "reads", "readcount")

Layout = Literal["mageck", "per_sample", "long"]


def _find_col(cols: Sequence[str], given: str | None, names: Sequence[str], what: str,
              where: str, flag: str) -> str:  # fmt: skip
    if given is not None:
        if given in cols:
            return given
        low = {c.lower(): c for c in cols}
        if given.lower() in low:
            return low[given.lower()]
        raise SchemaError(
            f"{where}{flag}={given!r}: no such column; the columns are {_listing(list(cols), 12)}"
        )
    for n in names:
        for c in cols:
            if c.strip().lower() == n:
                return c
    raise SchemaError(
        f"{where}cannot find the {what} column among {_listing(list(cols), 12)}; name it with "
        f"{cli_fix(**{flag: cols[0] if cols else what})}"
    )


def _load(path: Path, sep: str | None) -> Table:
    head = FileHead.of(path)
    default = "\t" if head.suffix in (".txt", ".tsv", ".tab", "") else ","
    table = _load_text(head, ReadOptions(sep=sep), default)
    if table.frame.shape[0] == 0:
        raise InputError(f"{table.where}the table has a header but no rows; add one row per guide")
    return table


def _as_text_index(values: pd.Series) -> pd.Index:
    return pd.Index(values.astype("string").fillna("").str.strip().astype(str).to_numpy())


def _wide_to_parts(
    frame: pd.DataFrame, guide: str, gene: str, where: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = _as_text_index(frame[guide])
    cols = [c for c in frame.columns if c not in (guide, gene)]
    if not cols:
        raise SchemaError(
            f"{where}no sample columns besides {guide!r} and {gene!r}: a count table needs one "
            "column of counts per sample"
        )
    counts = frame[cols].set_axis(ids, axis=0)
    counts.columns = [str(c).strip() for c in cols]
    genes = pd.DataFrame({"gene": frame[gene].to_numpy()}, index=ids)
    return counts, genes


def _read_mageck(path: Path, *, sep: str | None, guide_col: str | None,
                 gene_col: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:  # fmt: skip
    t = _load(path, sep)
    cols = [str(c) for c in t.frame.columns]
    g = _find_col(cols, guide_col, _GUIDE_NAMES, "guide (sgRNA)", t.where, "guide_col")
    ge = _find_col([c for c in cols if c != g], gene_col, _GENE_NAMES, "gene", t.where, "gene_col")
    counts, genes = _wide_to_parts(t.frame, g, ge, t.where)
    return counts, genes, t.source


def _per_sample_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            inside = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
            if not inside:
                raise InputError(f"{p}: the folder holds no count files")
            files.extend(inside)
        else:
            files.append(p)
    return files


def _read_per_sample(paths: Sequence[Path], *, sep: str | None, guide_col: str | None,
                     gene_col: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:  # fmt: skip
    files = _per_sample_files(paths)
    frames: list[pd.DataFrame] = []
    ref_ids: pd.Index | None = None
    ref_genes: np.ndarray | None = None
    ref_file = None
    seen: dict[str, Path] = {}
    for f in files:
        t = _load(f, sep)
        cols = [str(c) for c in t.frame.columns]
        g = _find_col(cols, guide_col, _GUIDE_NAMES, "guide (sgRNA)", t.where, "guide_col")
        ge = _find_col([c for c in cols if c != g], gene_col, _GENE_NAMES, "gene", t.where,
                       "gene_col")  # fmt: skip
        counts, genes = _wide_to_parts(t.frame, g, ge, t.where)
        for s in counts.columns:
            if s in seen:
                raise InputError(
                    f"{t.where}sample {s!r} is also in {seen[s]}; each sample once (rename the "
                    "column or leave one file out)"
                )
            seen[s] = f
        if counts.index.duplicated().any():
            d = counts.index[counts.index.duplicated()][0]
            raise InputError(
                f"{t.where}guide id {d!r} appears more than once (rows "
                f"{', '.join(str(i + 2) for i in np.flatnonzero(counts.index == d)[:5])} of the "
                "file, counting the header as line 1); guide ids must be unique"
            )
        if ref_ids is None:
            ref_ids, ref_genes, ref_file = counts.index, genes["gene"].to_numpy(), f
        else:
            if not counts.index.equals(ref_ids):
                if len(counts.index) != len(ref_ids) or not counts.index.sort_values().equals(
                    ref_ids.sort_values()
                ):
                    only_here = counts.index.difference(ref_ids)
                    only_ref = ref_ids.difference(counts.index)
                    parts = []
                    if len(only_here):
                        parts.append(f"guide {only_here[0]!r} ({len(only_here)} in all) is not in "
                                     f"{ref_file}")  # fmt: skip
                    if len(only_ref):
                        parts.append(f"guide {only_ref[0]!r} of {ref_file} ({len(only_ref)} in "
                                     "all) is missing here")  # fmt: skip
                    raise InputError(
                        f"{t.where}the guide list differs from {ref_file}'s: "
                        + "; ".join(
                            parts or ["the same guide ids appear a different number of times"]
                        )
                        + ". Every per-sample file must count the same library: add the missing "
                        "guides with count 0"
                    )
                pos = ref_ids.get_indexer(counts.index)
                counts = counts.iloc[np.argsort(pos)]
                genes = genes.iloc[np.argsort(pos)]
            here = genes["gene"].astype("string").fillna("").to_numpy()
            there = pd.Series(ref_genes).astype("string").fillna("").to_numpy()
            diff = np.flatnonzero(here != there)
            if diff.size:
                i = int(diff[0])
                raise InputError(
                    f"{t.where}guide {ref_ids[i]!r} targets gene {here[i]!r} here but "
                    f"{there[i]!r} in {ref_file} ({diff.size} guide(s) differ); the files must "
                    "use the same library annotation"
                )
        frames.append(counts.set_axis(ref_ids, axis=0))
    assert ref_ids is not None and ref_genes is not None  # files is non-empty
    counts_all = pd.concat(frames, axis=1)
    genes_all = pd.DataFrame({"gene": ref_genes}, index=ref_ids)
    source = ", ".join(str(f) for f in files) if len(files) <= 3 else (
        f"{len(files)} files in {files[0].parent}")  # fmt: skip
    return counts_all, genes_all, source


def _read_long(path: Path, *, sep: str | None, guide_col: str | None, gene_col: str | None,
               sample_col: str | None, count_col: str | None,
               ) -> tuple[pd.DataFrame, pd.DataFrame, str]:  # fmt: skip
    t = _load(path, sep)
    w = t.where
    cols = [str(c) for c in t.frame.columns]
    g = _find_col(cols, guide_col, _GUIDE_NAMES, "guide (sgRNA)", w, "guide_col")
    ge = _find_col([c for c in cols if c != g], gene_col, _GENE_NAMES, "gene", w, "gene_col")
    s = _find_col(cols, sample_col, _SAMPLE_NAMES, "sample", w, "sample_col")
    c = _find_col(cols, count_col, _COUNT_NAMES, "count", w, "count_col")
    f = t.frame
    ids = _as_text_index(f[g])
    smp = _as_text_index(f[s])
    key = pd.MultiIndex.from_arrays([ids, smp])
    dup = key.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup)[:2] + 2
        raise InputError(
            f"{w}lines {rows[0]} and {rows[1]}: guide {ids[rows[0] - 2]!r} and sample "
            f"{smp[rows[0] - 2]!r} appear twice ({int(dup.sum())} such lines); one count per guide "
            "and sample (sum duplicates first)"
        )
    gm = pd.DataFrame({"gene": f[ge].to_numpy()}, index=ids)
    gm_str = gm["gene"].astype("string").fillna("")
    per = gm_str.groupby(level=0).nunique()
    if (per > 1).any():
        bad = per.index[per.to_numpy() > 1][0]
        raise InputError(
            f"{w}guide {bad!r} is given different genes on different lines "
            f"({_listing(sorted(set(gm_str.loc[[bad]])))}); a guide targets one gene"
        )
    order = pd.unique(ids)
    samples = pd.unique(smp)
    wide = pd.Series(f[c].to_numpy(), index=key).unstack()
    wide = wide.reindex(index=order, columns=samples)
    present = pd.Series(True, index=key).unstack().reindex(index=order, columns=samples)
    absent = present.isna().to_numpy()
    if absent.any():
        i, j = (int(x[0]) for x in np.nonzero(absent))
        raise InputError(
            f"{w}guide {order[i]!r} has no line for sample {samples[j]!r} ({int(absent.sum())} "
            "guide/sample pairs missing); a long table needs one line per guide and sample "
            "(count 0 when not seen)"
        )
    genes = gm[~gm.index.duplicated()].reindex(order)
    return wide, genes, t.source


def _header(head: FileHead) -> list[str]:
    """The header line's names; for ragged files (which the loader then reports by line) the
    first line split on its most frequent separator."""
    cols = head.header()
    if len(cols) < 2 and head.rows():
        cols = head.rows()[0]
    return cols


def _sniff_layout(head: FileHead) -> Layout | None:
    cols = [c.strip().lower() for c in _header(head)]
    if not cols:
        return None
    has = set(cols)
    if has & set(_SAMPLE_NAMES) and has & set(_COUNT_NAMES):
        return "long"
    if has & set(_GUIDE_NAMES) and has & set(_GENE_NAMES):
        return "mageck" if len(cols) >= 3 else None
    return None


def _sniff_mageck(head: FileHead, options: ReadOptions) -> int:
    return 3 if _sniff_layout(head) == "mageck" else 0


def _sniff_long(head: FileHead, options: ReadOptions) -> int:
    return 3 if _sniff_layout(head) == "long" else 0


def _sniff_per_sample(head: FileHead, options: ReadOptions) -> int:
    return 3 if head.is_dir else 0


def _reader_stub(head: FileHead, options: ReadOptions) -> Any:  # pragma: no cover - not used
    raise NotImplementedError


#: The CRISPR count layouts, by name (``fmt=`` of :func:`read_crispr_counts`). Entries are
#: :class:`~oncoresist.data._readers.Reader` objects (product ``"crispr"``); their ``sniff``
#: picks the layout, :func:`read_crispr_counts` does the reading (it needs the CRISPR column
#: options, which :class:`ReadOptions` does not carry).
CRISPR_READERS: Registry[Reader] = Registry("CRISPR count format")
for _r in (
    Reader("mageck", cast(Any, ("crispr",)), "MAGeCK count table: sgRNA, Gene, one column per "
           "sample (tab or comma, .gz)", _reader_stub, sniff=_sniff_mageck,
           aliases=("mageck_count", "wide")),
    Reader("per_sample", cast(Any, ("crispr",)), "one file per sample (a list of files or a "
           "folder), each sgRNA, GENE, <sample>", _reader_stub, sniff=_sniff_per_sample,
           aliases=("per-sample", "files")),
    Reader("long", cast(Any, ("crispr",)), "tidy long table: guide, gene, sample, count",
           _reader_stub, sniff=_sniff_long, aliases=("tidy",)),
):  # fmt: skip
    CRISPR_READERS.register(_r.name, _r, aliases=_r.aliases)


PathLike = str | os.PathLike[str]


def read_crispr_counts(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    fmt: str | None = None,
    samples: pd.DataFrame | PathLike | Mapping[str, str] | None = None,
    guide_col: str | None = None,
    gene_col: str | None = None,
    sample_col: str | None = None,
    count_col: str | None = None,
    sep: str | None = None,
    control_genes: Iterable[str] | None = None,
    replicate_pattern: str | None = None,
) -> CrisprScreen:
    """Read a CRISPR screen's counts (any layout of :data:`CRISPR_READERS`) into a screen.

    Parameters
    ----------
    path_or_paths
        A count file, or (one file per sample) a folder or a list of files.
    fmt
        ``"mageck"``, ``"per_sample"`` or ``"long"``; detected from the header (a folder or a
        list of files is ``per_sample``) when None.
    samples
        The sample annotation: a DataFrame / table file for :func:`crispr_samples_from_table`,
        or a mapping ``sample -> role``. Required: the roles cannot be guessed safely.
    guide_col, gene_col, sample_col, count_col
        Column names when they are not the usual ones (``sgRNA``, ``Gene``, ``sample``,
        ``count``; matched case-insensitively).
    sep
        The column separator, when sniffing cannot tell.
    control_genes
        Genes whose guides are controls (non-targeting, safe-harbour, or the genes MAGeCK's
        ``--control-gene`` names); marked ``control=True``.
    replicate_pattern
        Passed to :func:`crispr_samples_from_table` when ``samples`` is a table.

    Returns
    -------
    CrisprScreen

    Examples
    --------
    >>> screen = read_crispr_counts("sample.txt", samples={"T0": "reference", "T1": "treatment"})
    ... # doctest: +SKIP
    """
    paths = (
        [Path(p) for p in path_or_paths]
        if isinstance(path_or_paths, Sequence) and not isinstance(path_or_paths, str)
        else [Path(path_or_paths)]
    )
    if not paths:
        raise InputError("read_crispr_counts: no files given")
    for p in paths:
        if not p.exists():
            raise InputError(f"{p}: file not found")
    if fmt is not None:
        layout = CRISPR_READERS.get(fmt).name
    elif len(paths) > 1 or paths[0].is_dir():
        layout = "per_sample"
    else:
        head = FileHead.of(paths[0])
        if head.text is None or not head.lines:
            what = "empty" if not head.raw.strip() else "not text (binary, or a compression "
            what += "" if not head.raw.strip() else "format other than .gz/.bz2/.xz/.zip)"
            raise InputError(
                f"{paths[0]}: the file is {what}; a count table is delimited text with a "
                "header line (sgRNA, Gene, one column per sample)"
            )
        found = _sniff_layout(head)
        if found is None:
            raise InputError(
                f"{paths[0]}: cannot tell the count layout from the header "
                f"{_listing(_header(head), 8)}; pass "
                + " or ".join(f"{cli_fix(fmt=n)}" for n in CRISPR_READERS.names())
                + " and the column names (guide_col=, gene_col=)"
            )
        layout = found
    if layout in ("mageck", "long") and len(paths) > 1:
        raise InputError(
            f"{paths[0]}: fmt={layout!r} reads one file; {len(paths)} were given (use "
            "fmt='per_sample' for one file per sample)"
        )
    if layout == "mageck":
        counts, genes, source = _read_mageck(paths[0], sep=sep, guide_col=guide_col,
                                             gene_col=gene_col)  # fmt: skip
    elif layout == "per_sample":
        counts, genes, source = _read_per_sample(paths, sep=sep, guide_col=guide_col,
                                                 gene_col=gene_col)  # fmt: skip
    else:
        counts, genes, source = _read_long(paths[0], sep=sep, guide_col=guide_col,
                                           gene_col=gene_col, sample_col=sample_col,
                                           count_col=count_col)  # fmt: skip
    if control_genes is not None:
        ctrl = {str(g) for g in control_genes}
        genes["control"] = genes["gene"].astype(str).isin(ctrl).to_numpy()
        absent = sorted(ctrl - set(genes["gene"].astype(str)))
        if absent:
            raise InputError(
                f"{source}: control gene(s) {_listing(absent)} are not in the library; check the "
                "spelling (genes are matched exactly)"
            )
    if samples is None:
        raise InputError(
            f"{source}: give the sample annotation with samples= (a table with sample, role, "
            f"replicate, day, or a mapping sample -> role); the samples are "
            f"{_listing(list(counts.columns), 12)}. {_ROLE_HINT}"
        )
    if isinstance(samples, Mapping):
        ann = pd.DataFrame({"role": pd.Series(dict(samples), dtype=object)})
    else:
        ann = crispr_samples_from_table(samples, replicate_pattern=replicate_pattern)
    return CrisprScreen(counts, genes, ann, source=source)


_FLAG_COLUMNS = ("plasmid", "control", "treatment")


def crispr_samples_from_table(
    table: pd.DataFrame | PathLike,
    *,
    replicate_pattern: str | None = None,
    sample_col: str | None = None,
) -> pd.DataFrame:
    """The sample annotation of a screen (index ``sample``; ``role, replicate, day``).

    Two layouts are read:

    * ``sample, role`` (+ optional ``replicate``, ``day``), roles as in :data:`ROLES`
      (``t0`` and ``plasmid`` are read as ``reference``);
    * a metadata file with 0/1 columns ``plasmid``, ``control``, ``treatment`` (as the RCRISPR
      / DrugZ example files; ``sample_name`` names the sample): plasmid -> reference.

    Parameters
    ----------
    table
        A DataFrame or a delimited file.
    replicate_pattern
        A regular expression with one group, searched in each sample name, that gives the
        replicate label where the table has no ``replicate`` column (e.g. ``r"T15([A-C])"``).
        Replicates are never guessed from names without it.
    sample_col
        The sample-name column, if not ``sample`` / ``sample_name``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"sample": ["T0", "A_ctrl", "A_drug"],
    ...                   "role": ["T0", "control", "treatment"]})
    >>> crispr_samples_from_table(t, replicate_pattern=r"^(A)_")["replicate"].tolist()
    [<NA>, 'A', 'A']
    """
    if isinstance(table, pd.DataFrame):
        frame, where = table.copy(), ""
    else:
        t = _load(Path(table), None)
        frame, where = t.frame, t.where
    cols = [str(c) for c in frame.columns]
    frame.columns = cols
    low = {c.strip().lower(): c for c in cols}
    if sample_col is None:
        sc = next((low[n] for n in _SAMPLE_NAMES if n in low), None)
        if sc is None and isinstance(table, pd.DataFrame):
            # a DataFrame indexed by sample name (as CrisprScreen.samples is)
            frame = frame.rename_axis("sample").reset_index()
            cols = [str(c) for c in frame.columns]
            low = {c.strip().lower(): c for c in cols}
            sc = "sample"
        if sc is None:
            raise SchemaError(
                f"{where}the sample annotation has no sample column (columns: "
                f"{_listing(cols, 10)}); name it 'sample' or pass sample_col="
            )
    else:
        sc = _find_col(cols, sample_col, (), "sample", where, "sample_col")
    names = frame[sc].astype(str).str.strip()
    out = pd.DataFrame(index=pd.Index(names.to_numpy(), name="sample"))
    if "role" in low:
        raw = frame[low["role"]].astype("string").str.strip()
        role = raw.str.lower().replace({"t0": "reference", "plasmid": "reference",
                                        "ref": "reference", "drug": "treatment",
                                        "treated": "treatment", "untreated": "control",
                                        "vehicle": "control"})  # fmt: skip
        out["role"] = role.to_numpy()
    elif all(f in low for f in _FLAG_COLUMNS):
        flags = np.column_stack(
            [pd.to_numeric(frame[low[f]], errors="coerce").to_numpy() for f in _FLAG_COLUMNS]
        )
        ok = np.isin(flags, [0, 1]).all(axis=1) & (np.nansum(flags, axis=1) == 1)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(
                f"{where}row {i + 1} (sample {names.iloc[i]!r}): columns plasmid/control/"
                f"treatment are {flags[i].tolist()}; exactly one of them must be 1"
            )
        out["role"] = np.asarray(ROLES, dtype=object)[flags.argmax(axis=1)]
    else:
        raise SchemaError(
            f"{where}the sample annotation has neither a 'role' column nor 0/1 columns "
            f"plasmid, control, treatment (columns: {_listing(cols, 10)}); {_ROLE_HINT}"
        )
    if "replicate" in low:
        out["replicate"] = frame[low["replicate"]].to_numpy()
        if replicate_pattern is not None:
            raise InputError(
                f"{where}the table has a 'replicate' column and replicate_pattern= was given; "
                "use one of them"
            )
    elif replicate_pattern is not None:
        try:
            rx = re.compile(replicate_pattern)
        except re.error as exc:
            raise InputError(f"replicate_pattern={replicate_pattern!r}: {exc}") from exc
        if rx.groups != 1:
            raise InputError(
                f"replicate_pattern={replicate_pattern!r} needs exactly one group (...) around "
                "the replicate label"
            )
        reps = []
        for n, r in zip(names, out["role"], strict=True):
            m = rx.search(n)
            if m is None and r != "reference":
                raise InputError(
                    f"{where}sample {n!r} ({r}): replicate_pattern={replicate_pattern!r} does not "
                    "match its name; fix the pattern or give a replicate column"
                )
            reps.append(m.group(1) if m is not None else pd.NA)
        out["replicate"] = pd.array(reps, dtype="string")
    if "day" in low:
        out["day"] = frame[low["day"]].to_numpy()
    return out
