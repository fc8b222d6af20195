"""Tumour profiles: mutations, copy number and expression, read from YAML/JSON/TSV/MAF/VCF."""

from __future__ import annotations

import functools
import io
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .._results import ResultMixin
from .._text import decode, read_bytes, yaml_problem
from ..errors import InputError
from ._kb import gene_symbols, suggest_genes
from ._variants import GENE_ALIASES, parse_alteration

__all__ = ["Profile", "make_profile", "read_profile"]

_GENE_COLS = ("gene", "Hugo_Symbol", "hugo_symbol", "symbol", "SYMBOL", "Gene")
_ALT_COLS = (
    "alteration",
    "protein_change",
    "HGVSp_Short",
    "HGVSp",
    "Protein_Change",
    "aa_change",
    "variant",
    "amino_acid_change",
)
_CNV_CALLS = {
    "amplification": "amplification",
    "amp": "amplification",
    "gain": "gain",
    "neutral": "neutral",
    "diploid": "neutral",
    "loss": "loss",
    "hetloss": "loss",
    "deletion": "deletion",
    "deep deletion": "deletion",
    "homdel": "deletion",
}
_GISTIC = {2: "amplification", 1: "gain", 0: "neutral", -1: "loss", -2: "deletion"}
_ISSUE_COLS = ["where", "item", "problem", "suggestion"]
_STATE_KINDS = {"amplification", "gain", "overexpression", "underexpression", "loss", "wildtype"}


def _read_text(path: Path, what: str) -> str:
    """UTF-8 text of ``path`` (see :func:`oncoresist._text.decode`), newlines made ``\n``."""
    raw = read_bytes(path, what=what)
    text = decode(raw, path, what=what, strict=True, nul=True, empty=True).text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_mapping_text(path: Path, text: str, fmt: str) -> Any:
    """Parse YAML or JSON ``text``; a syntax error names the file, line and column."""
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
                "check quotes, commas and brackets"
            ) from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to be a profile") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: {yaml_problem(exc)}") from None
    except RecursionError:
        raise InputError(f"{path}: YAML nested too deeply to be a profile") from None


_PANDAS_LINE = re.compile(r"\bline (\d+)")
_PANDAS_ROW = re.compile(r"starting at row (\d+)")


def _table_error(path: Path, exc: Exception, what: str) -> InputError:
    """An InputError naming the file and line of a pandas parse error, with the likely fix."""
    msg = str(exc).strip().replace("Error tokenizing data. C error: ", "")
    m_line, m_row = _PANDAS_LINE.search(msg), _PANDAS_ROW.search(msg)
    line = int(m_line.group(1)) if m_line else int(m_row.group(1)) + 1 if m_row else None
    where = f"{path}: line {line}" if line is not None else str(path)
    if "inside string" in msg:
        fix = 'a double quote (") opens a field that never closes; remove it or close the quote'
    elif "Expected" in msg:
        fix = "this row has more fields than the header; remove the extra separators"
    else:
        fix = "check the separators, quotes and the header line"
    return InputError(f"{where}: cannot read the {what} ({msg}); {fix}")


def _first_long_line(lines: list[str], sep: str) -> int | str:
    """1-based number of the first data line with more non-empty fields than the header."""
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not rows:
        return "?"
    width = len(rows[0][1].split(sep))
    for lineno, ln in rows[1:]:
        if len(ln.rstrip(sep).split(sep)) > width:
            return lineno
    return "?"


def _read_delimited(path: Path, *, sep: str, what: str, **kw: Any) -> pd.DataFrame:
    """Read a delimited text table; every decoding or parsing problem is an InputError.

    Lines starting with ``#`` are comments; fields that span several lines (an unbalanced
    quote) are refused rather than read as one long value.
    """
    text = _read_text(path, what)
    lines = text.split("\n")
    skip = [i for i, line in enumerate(lines) if line.startswith("#")]
    try:
        # index_col=False: a first row with one field more than the header must not become
        # the index (every column shifted); a longer row is an error, not lost data
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), sep=sep, skiprows=skip, index_col=False, **kw)
    except pd.errors.ParserWarning:
        raise InputError(
            f"{path}: line {_first_long_line(lines, sep)}: cannot read the {what} (more fields "
            "than the header line); remove the extra separators or add the column's name"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path}: no header line (the file holds only comments or blank lines); expected a "
            f"{what} with a header line"
        ) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        raise _table_error(path, exc, what) from None
    for j, col in enumerate(df.columns):
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
            hit = df[col].astype(str).str.contains("\n", regex=False)
            if hit.any():
                i = int(np.flatnonzero(hit.to_numpy())[0])
                raise InputError(
                    f"{path}: data row {i + 1}, column {col!r} (#{j + 1}): the field spans "
                    'several lines; an unbalanced double quote (") probably opens it: remove '
                    "or close the quote"
                )
    return df


@dataclass(frozen=True)
class Profile(ResultMixin):
    """One tumour (or cell line) profile.

    Attributes
    ----------
    sample
        Sample name.
    mutations
        ``gene``, ``alteration`` (as given), ``kind`` (parsed), ``row`` (input row).
    cnv
        ``gene``, ``call`` (amplification, gain, neutral, loss, deletion).
    expression
        Genes x samples float matrix (the profile's sample is column ``sample``), or None.
    issues
        Reported problems (unknown genes with suggestions, transposed matrix...), never
        silently dropped: ``where``, ``item``, ``problem``, ``suggestion``.
    tissue
        Tissue / lineage of the tumour or line (``lung``), or None when not given; selects
        tissue-matched reference lines and lineage-specific evidence.
    """

    sample: str
    mutations: pd.DataFrame
    cnv: pd.DataFrame
    expression: pd.DataFrame | None = None
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ISSUE_COLS))
    tissue: str | None = None

    def events(self) -> pd.DataFrame:
        """Mutations, fusions, states and copy-number calls as one table.

        Columns ``gene``, ``alteration``, ``source`` (``mutation``, ``fusion``, ``state`` for a
        named amplification / expression / loss, ``cnv``) and ``note``. A change written with
        its fusion (``BCR-ABL1 T315I``) also adds the fusion itself (``BCR-ABL1``).
        """
        rows: list[dict[str, str]] = []
        kinds = self.mutations["kind"] if "kind" in self.mutations else [""] * len(self.mutations)
        n = len(self.mutations)
        partners = self.mutations["partner"] if "partner" in self.mutations else [""] * n
        fused = self.mutations["in_fusion"] if "in_fusion" in self.mutations else [False] * n
        for g, a, k, partner, in_fusion in zip(
            self.mutations.gene, self.mutations.alteration, kinds, partners, fused, strict=True
        ):
            src = "fusion" if k == "fusion" else "state" if k in _STATE_KINDS else "mutation"
            rows.append({"gene": g, "alteration": a, "source": src, "note": ""})
            if k != "fusion" and (partner or in_fusion):
                rows.append(
                    {
                        "gene": g,
                        "alteration": f"{partner}-{g}" if partner else "fusion",
                        "source": "fusion",
                        "note": f"implied by {a}",
                    }
                )
        cn = self.cnv[self.cnv.call.isin(["amplification", "deletion"])]
        for g, c in zip(cn.gene, cn.call, strict=True):
            rows.append(
                {
                    "gene": g,
                    "alteration": "amplification" if c == "amplification" else "loss",
                    "source": "cnv",
                    "note": "",
                }
            )
        ev = pd.DataFrame(rows, columns=["gene", "alteration", "source", "note"])
        return ev.drop_duplicates(["gene", "alteration"], ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """Events table (see :meth:`events`)."""
        return self.events()

    def summary(self) -> str:
        """One line: sample, tissue, mutations, copy-number calls, expression and issues."""
        n_expr = 0 if self.expression is None else self.expression.shape[0]
        return (
            f"Profile {self.sample}"
            + (f" ({self.tissue})" if self.tissue else "")
            + f": {len(self.mutations)} mutations, "
            f"{len(self.cnv)} copy-number calls, {n_expr} expressed genes, "
            f"{len(self.issues)} issues"
        )


def _pick(df: pd.DataFrame, names: Sequence[str], what: str, where: str) -> str:
    for n in names:
        if n in df.columns:
            return n
    raise InputError(
        f"{where}: no {what} column; expected one of {list(names)}, got {list(df.columns)}"
    )


def _check_gene(gene: str, where: str, issues: list[dict[str, str]], known: frozenset[str]) -> str:
    g = str(gene).strip()
    if g.upper() in known and g not in known:
        g = g.upper()
    if g not in known and g.upper() in GENE_ALIASES:
        symbol = GENE_ALIASES[g.upper()]
        issues.append(
            {
                "where": where,
                "item": g,
                "problem": f"alias read as the HGNC symbol {symbol}",
                "suggestion": f"write {symbol}",
            }
        )
        return symbol
    if g not in known:
        close = suggest_genes(g)
        issues.append(
            {
                "where": where,
                "item": g,
                "problem": "unknown gene symbol",
                "suggestion": ", ".join(close) if close else "check the HGNC symbol",
            }
        )
    return g


_MUT_SHAPE = (
    "a list of 'GENE CHANGE' strings (['EGFR T790M']), a list of mappings "
    "([{gene: EGFR, alteration: T790M}]) or a mapping gene -> change(s) ({EGFR: [L858R, T790M]})"
)
_CNV_SHAPE = (
    "a mapping gene -> call ({CDKN2A: deletion, MET: 2}) or a list of mappings "
    "([{gene: MET, call: amplification}])"
)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _blank(value: Any) -> bool:
    """Missing cell: None, NaN or an empty / whitespace string."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _mutations_frame(mutations: Any, where: str) -> pd.DataFrame:
    if mutations is None:
        return pd.DataFrame(columns=["gene", "alteration"])
    if isinstance(mutations, pd.DataFrame):
        df = mutations
    elif isinstance(mutations, Mapping):
        rows = []
        for k, vs in mutations.items():
            w = f"{where}: mutations.{k}"
            if not _is_text(k) or isinstance(k, bool):
                raise InputError(
                    f"{where}: mutations key {k!r} is not a gene symbol; give {_MUT_SHAPE}"
                )
            changes = [vs] if isinstance(vs, str) else vs
            if not isinstance(changes, list | tuple) or not changes:
                raise InputError(
                    f"{w} is {type(vs).__name__} {vs!r}; give the protein change as text "
                    f"(EGFR: T790M) or a list of them (EGFR: [L858R, T790M])"
                )
            for j, v in enumerate(changes):
                if not _is_text(v):
                    raise InputError(
                        f"{w}[{j}] is {type(v).__name__} {v!r}; a protein change is text such as "
                        "T790M or p.E746_A750del"
                    )
                rows.append({"gene": k, "alteration": v})
        df = pd.DataFrame(rows)
    elif isinstance(mutations, list | tuple):
        rows = []
        for i, m in enumerate(mutations):
            if isinstance(m, str):
                parts = m.split(None, 1)
                if len(parts) == 1 and re.fullmatch(r"[A-Za-z0-9]+(?:-|::)[A-Za-z0-9]+", m.strip()):
                    parts = [m.strip(), "fusion"]  # "EML4-ALK": the fusion itself
                if len(parts) != 2:
                    raise InputError(
                        f"{where}: mutation {i + 1} {m!r} should read 'GENE CHANGE', e.g. 'EGFR T790M'"
                    )
                rows.append({"gene": parts[0], "alteration": parts[1]})
            elif isinstance(m, Mapping):
                for key in ("gene", "alteration"):
                    if key in m and not (_is_text(m[key]) or _blank(m[key])):
                        raise InputError(
                            f"{where}: mutation {i + 1}: {key} is {type(m[key]).__name__} "
                            f"{m[key]!r}; give text (gene: EGFR, alteration: T790M)"
                        )
                rows.append({str(k): v for k, v in m.items()})
            else:
                raise InputError(
                    f"{where}: mutation {i + 1} is {type(m).__name__}; give 'GENE CHANGE' or a mapping"
                )
        df = pd.DataFrame(rows)
    else:
        raise InputError(
            f"{where}: mutations is {type(mutations).__name__} {mutations!r:.60}; give {_MUT_SHAPE}"
        )
    if df.empty:
        return pd.DataFrame(columns=["gene", "alteration"])
    g = _pick(df, _GENE_COLS, "gene", where)
    a = _pick(df, _ALT_COLS, "protein change", where)
    for col in (g, a):
        miss = [i for i, v in enumerate(df[col]) if _blank(v)]
        if miss:
            raise InputError(
                f"{where}: mutations row {miss[0] + 1}: column {col!r} is empty "
                f"({len(miss)} row(s) in all); give every mutation a gene and a protein change "
                "(remove non-coding variants)"
            )
    return pd.DataFrame(
        {
            "gene": [str(v).strip() for v in df[g]],
            "alteration": [str(v).strip() for v in df[a]],
        }
    )


def _cnv_frame(cnv: Any, where: str) -> pd.DataFrame:
    if cnv is None:
        return pd.DataFrame(columns=["gene", "call"])
    if isinstance(cnv, Mapping):
        for k in cnv:
            if not _is_text(k) or isinstance(k, bool):
                raise InputError(f"{where}: cnv key {k!r} is not a gene symbol; give {_CNV_SHAPE}")
        df = pd.DataFrame({"gene": list(cnv), "call": list(cnv.values())})
    elif isinstance(cnv, pd.Series):
        df = pd.DataFrame({"gene": cnv.index, "call": cnv.to_numpy()})
    elif isinstance(cnv, pd.DataFrame) or (
        isinstance(cnv, list | tuple) and all(isinstance(r, Mapping) for r in cnv)
    ):
        df = pd.DataFrame(list(cnv) if isinstance(cnv, list | tuple) else cnv)
        if df.empty:
            return pd.DataFrame(columns=["gene", "call"])
        g = _pick(df, _GENE_COLS, "gene", where)
        c = _pick(df, ("call", "cnv", "copy_number", "gistic", "value"), "copy-number call", where)
        df = pd.DataFrame({"gene": df[g], "call": df[c]})
        miss = [i for i, v in enumerate(df.gene) if not _is_text(v)]
        if miss:
            raise InputError(
                f"{where}: cnv row {miss[0] + 1}: gene {df.gene.iloc[miss[0]]!r} is not a gene "
                "symbol; give every row a gene and a call"
            )
    else:
        raise InputError(f"{where}: cnv is {type(cnv).__name__} {cnv!r:.60}; give {_CNV_SHAPE}")
    calls = []
    for i, v in enumerate(df.call):
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            if not (isinstance(v, int | np.integer) or np.isfinite(v)) or v not in _GISTIC:
                raise InputError(
                    f"{where}: copy-number value {v!r:.40} for {df.gene.iloc[i]} (row {i + 1}) is not a "
                    "GISTIC call (-2, -1, 0, 1, 2); give calls or the words amplification/gain/"
                    "neutral/loss/deletion (log2 ratios must be called first)"
                )
            calls.append(_GISTIC[int(v)])
        else:
            key = str(v).strip().lower() if isinstance(v, str) else None
            if key not in _CNV_CALLS:
                raise InputError(
                    f"{where}: copy-number call {v!r} for {df.gene.iloc[i]} (row {i + 1}) unknown; "
                    f"use one of {sorted(set(_CNV_CALLS))} or a GISTIC value -2..2"
                )
            calls.append(_CNV_CALLS[key])
    return pd.DataFrame({"gene": [str(g).strip() for g in df.gene], "call": calls})


def _expression_value(value: Any, where: str) -> float:
    if isinstance(value, bool) or value is None:
        raise InputError(f"{where}: expression {value!r} is not a number")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{where}: expression {value!r:.40} is not a number") from None
    if math.isinf(v):
        raise InputError(f"{where}: expression {value!r} is infinite; give a finite value")
    return v


def _numeric_frame(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """``df`` as floats; the first non-numeric or infinite cell is named (gene and column)."""
    arr = np.empty(df.shape, dtype=float)
    for j in range(df.shape[1]):
        raw, col = df.iloc[:, j], df.columns[j]
        if raw.dtype == bool:
            raise InputError(f"{where}: column {col!r} holds true/false, not expression values")
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (np.isnan(num) & ~raw.isna().to_numpy()) | np.isinf(num)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where}: gene {df.index[i]!r}, column {col!r}: value {raw.iloc[i]!r:.40} is not "
                f"a finite number ({int(bad.sum())} such cell(s)); expression values must be numeric"
            )
        arr[:, j] = num
    return pd.DataFrame(arr, index=df.index, columns=df.columns)


def _expression_frame(
    expr: Any, sample: str, where: str, issues: list[dict[str, str]], known: frozenset[str]
) -> pd.DataFrame | None:
    if expr is None:
        return None
    if isinstance(expr, Mapping):
        vals: dict[str, float] = {}
        for g, v in expr.items():
            if isinstance(g, bool) or not (_is_text(g) or isinstance(g, int | np.integer)):
                raise InputError(f"{where}: key {g!r} is not a gene symbol; give {{gene: value}}")
            vals[str(g)] = _expression_value(v, f"{where}: gene {g}")
        df = pd.DataFrame({sample: pd.Series(vals, dtype=float)})
    elif isinstance(expr, pd.Series):
        df = expr.to_frame(sample)
    elif isinstance(expr, pd.DataFrame):
        df = expr
    else:
        raise InputError(
            f"{where} is {type(expr).__name__} {expr!r:.60}; give a mapping gene -> value "
            "({EGFR: 8.1, MET: 12.5}) or the path (relative to the profile) of a genes x "
            "samples TSV/CSV"
        )
    if df.shape[1] > 1:
        in_idx = np.mean([str(g) in known for g in df.index])
        in_col = np.mean([str(g) in known for g in df.columns])
        if in_col > 0.5 and in_idx < 0.2:
            issues.append(
                {
                    "where": where,
                    "item": "expression",
                    "problem": "matrix was samples x genes; transposed to genes x samples",
                    "suggestion": "store expression as genes (rows) x samples (columns)",
                }
            )
            df = df.T
    blank = [i for i, g in enumerate(df.index) if _blank(g)]
    if blank:
        raise InputError(
            f"{where}: row {blank[0] + 1} has no gene name ({len(blank)} such row(s)); give every "
            "expression row a gene symbol (or remove empty lines with only separators)"
        )
    df = _numeric_frame(df, where)
    df.index = pd.Index([str(g).strip() for g in df.index])
    if df.index.duplicated().any():
        dup = df.index[df.index.duplicated()].unique()
        issues.append(
            {
                "where": where,
                "item": ", ".join(map(str, dup[:5])),
                "problem": f"{len(dup)} duplicated genes; their mean is used",
                "suggestion": "collapse probes to one row per gene",
            }
        )
        df = df.groupby(level=0).mean()
    unknown = [g for g in df.index if g not in known]
    if unknown:
        issues.append(
            {
                "where": where,
                "item": ", ".join(unknown[:10]),
                "problem": f"{len(unknown)} expression genes are not known symbols "
                "(kept, but match no gene set)",
                "suggestion": "; ".join(
                    f"{g}->{'/'.join(suggest_genes(g)) or '?'}" for g in unknown[:5]
                ),
            }
        )
    return df


def make_profile(
    mutations: Any = None,
    cnv: Any = None,
    expression: Any = None,
    *,
    sample: str = "sample",
    strict: bool = False,
    where: str = "profile",
    tissue: str | None = None,
) -> Profile:
    """Build a validated :class:`Profile`.

    Parameters
    ----------
    mutations
        DataFrame (MAF-like: ``Hugo_Symbol`` + ``HGVSp_Short``, or ``gene`` + ``alteration``),
        a list of ``"GENE CHANGE"`` strings or mappings, or ``{gene: change(s)}``.
    cnv
        ``{gene: call}``, a Series, or a table with ``gene`` and ``call``; calls are words
        (amplification, gain, neutral, loss, deletion) or GISTIC integers (-2..2).
    expression
        ``{gene: value}``, a Series, or a genes x samples DataFrame.
    sample
        Sample name (the expression column of this profile).
    strict
        Raise on unknown gene symbols instead of reporting them in ``issues``.
    tissue
        Tissue / lineage (``lung``); selects tissue-matched reference lines and evidence.

    Mutations may also be fusions (``"EML4-ALK fusion"``, ``"ALK fusion"``), a change within a
    fusion (``"BCR-ABL1 T315I"``, ``"EML4-ALK G1202R"``), exon events (``"KIT exon 11
    mutation"``, ``"MET exon 14 skipping"``) and states (``"MET amplification"``, ``"BCL2
    overexpression"``, ``"BRCA1 loss of function"``). Common aliases (HER2, ABL) are read as
    the HGNC symbol and reported in ``issues``.

    Examples
    --------
    >>> p = make_profile(["EGFR L858R", "EGFR T790M"], sample="H1975")
    >>> list(p.mutations.kind)
    ['protein_change', 'protein_change']
    """
    known = gene_symbols()
    issues: list[dict[str, str]] = []
    mut = _mutations_frame(mutations, where)
    genes, alts, kinds, partners, fused = [], [], [], [], []
    for i, (g, a) in enumerate(zip(mut.gene, mut.alteration, strict=True)):
        w = f"{where} mutations row {i + 1}"
        fusion = _fusion_gene(g, known)
        if fusion is not None:  # gene column "BCR-ABL1" / "EML4::ALK": the kinase partner
            gene, partner = fusion
            a = f"{partner}-{gene}" + ("" if a.strip().lower() in _FUSION_WORDS else f" {a}")
        else:
            gene = _check_gene(g, w, issues, known)
        try:
            alt = parse_alteration(a, gene=gene)
        except InputError as exc:
            raise InputError(f"{w}: {exc}") from None
        genes.append(gene)
        alts.append(a)
        kinds.append(alt.kind)
        partners.append(alt.partner)
        fused.append(alt.in_fusion)
    mut = pd.DataFrame(
        {
            "gene": genes,
            "alteration": alts,
            "kind": kinds,
            "partner": partners,
            "in_fusion": fused,
            "row": np.arange(1, len(genes) + 1),
        }
    )
    cn = _cnv_frame(cnv, where)
    cn["gene"] = [
        _check_gene(g, f"{where} cnv row {i + 1}", issues, known) for i, g in enumerate(cn.gene)
    ]
    expr = _expression_frame(expression, sample, f"{where} expression", issues, known)
    if expr is not None and sample not in expr.columns:
        if expr.shape[1] == 1:
            expr = expr.set_axis([sample], axis=1)
        else:
            raise InputError(
                f"{where}: sample {sample!r} is not a column of the expression matrix "
                f"(columns: {list(expr.columns)[:10]}); pass sample=<column name>"
            )
    issue_df = pd.DataFrame(issues, columns=_ISSUE_COLS)
    if strict and not issue_df.empty:
        msgs = "; ".join(
            f"{r.where}: {r.item} {r.problem} (did you mean {r.suggestion}?)"
            for r in issue_df.itertuples()
        )
        raise InputError(msgs)
    tissue_txt = str(tissue).strip() if tissue is not None else ""
    return Profile(str(sample), mut, cn, expr, issue_df, tissue_txt or None)


_FUSION_WORDS = {"fusion", "fusions", "rearrangement", "translocation", ""}


@functools.cache
def _actionable_genes() -> frozenset[str]:
    """Genes the knowledge base knows as altered or as a drug target (read once)."""
    from ._kb import load_knowledge_base  # lazy: only fusions need it

    kb = load_knowledge_base()
    return frozenset(kb.alterations.gene) | {t for ts in kb.drugs.targets for t in ts}


def _fusion_gene(name: Any, known: frozenset[str]) -> tuple[str, str] | None:
    """(kinase gene, partner) of a fusion written in the gene column, or None.

    ``BCR-ABL1`` -> ``("ABL1", "BCR")``. The change and the evidence belong to the partner that
    the knowledge base knows as altered or targeted (ABL1, ALK, RET, FGFR3 of FGFR3-TACC3);
    when both or neither are, to the 3' partner, the usual kinase of oncogenic fusions.
    """
    text = str(name).strip()
    if text.upper() in known:
        return None
    m = re.fullmatch(r"([A-Za-z0-9]+)(?:-|::)([A-Za-z0-9]+)", text)
    if not m:
        return None
    parts = [GENE_ALIASES.get(x.upper(), x.upper()) for x in m.groups()]
    if not all(x in known for x in parts):
        return None
    five, three = parts
    actionable = _actionable_genes()
    if five in actionable and three not in actionable:
        return five, three
    return three, five


def _read_vcf(path: Path) -> pd.DataFrame:
    text = _read_text(path, "VCF")
    csq_fields: list[str] = []
    rows = []
    header = False
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.startswith("##INFO=<ID=CSQ") and "Format:" in line:
            csq_fields = line.split("Format:")[1].strip().strip('">').split("|")
        if line.startswith("#CHROM"):
            header = True
        if line.startswith("#") or not line.strip():
            continue
        if not header:
            raise InputError(
                f"{path}:{lineno}: a VCF data line before the #CHROM header line; a VCF needs "
                "'#CHROM POS ID REF ALT QUAL FILTER INFO' (tab-separated) above its records"
            )
        cols = line.split("\t")
        if len(cols) < 8:
            raise InputError(
                f"{path}:{lineno}: a VCF data line needs 8 tab-separated columns, got {len(cols)}"
            )
        info = dict(
            (kv.split("=", 1)[0], kv.split("=", 1)[1] if "=" in kv else "")
            for kv in cols[7].split(";")
        )
        gene = info.get("GENE") or info.get("SYMBOL") or info.get("Gene")
        prot = info.get("HGVSP") or info.get("HGVSp") or info.get("PROTEIN") or info.get("AA")
        if (not gene or not prot) and "CSQ" in info and csq_fields:
            first = dict(zip(csq_fields, info["CSQ"].split(",")[0].split("|"), strict=False))
            gene = gene or first.get("SYMBOL")
            prot = prot or first.get("HGVSp", "")
            prot = prot.split(":")[-1] if prot else prot
        if not gene or not prot or not gene.strip() or not prot.strip():
            raise InputError(
                f"{path}:{lineno}: no gene/protein change in INFO; add GENE=<symbol>;HGVSP=<p.change> "
                "(or a VEP CSQ with SYMBOL and HGVSp)"
            )
        rows.append({"gene": gene, "alteration": prot})
    if not header:
        raise InputError(
            f"{path}: no #CHROM header line; not a VCF (a VCF has '##' meta lines, then "
            "'#CHROM POS ID REF ALT QUAL FILTER INFO', then one record per line)"
        )
    return pd.DataFrame(rows, columns=["gene", "alteration"])


def _read_table(path: Path, what: str = "mutation table") -> pd.DataFrame:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    return _read_delimited(path, sep=sep, what=what)


_PROFILE_KEYS = ("sample", "mutations", "cnv", "expression", "tissue", "notes")


def read_profile(path: str | Path, *, sample: str | None = None, strict: bool = False) -> Profile:
    """Read a profile from YAML/JSON (``mutations``, ``cnv``, ``expression``), a MAF-like
    TSV/CSV of mutations, or a minimal VCF with protein changes in INFO.

    In YAML/JSON, ``expression`` may be ``{gene: value}`` or a path (relative to the file) to a
    genes x samples TSV/CSV; ``cnv`` may be ``{gene: call}``. Files are UTF-8 text; anything
    that cannot be read (another encoding, an empty file, a syntax error, a key of the wrong
    shape) is an :class:`~oncoresist.errors.InputError` naming the file, the line or key, and
    the fix.

    Examples
    --------
    >>> from oncoresist.mechanisms import example_profile_path
    >>> read_profile(example_profile_path()).sample
    'NCI-H1975-like'
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"profile file {p} does not exist")
    suffix = p.suffix.lower()
    where = str(p)
    if suffix in (".yaml", ".yml", ".json"):
        fmt = "json" if suffix == ".json" else "yaml"
        data = _load_mapping_text(p, _read_text(p, f"{fmt.upper()} profile"), fmt)
        if not isinstance(data, Mapping):
            raise InputError(
                f"{p}: expected a mapping with keys sample, mutations, cnv, expression; got "
                f"{type(data).__name__}"
            )
        extra = [k for k in data if k not in _PROFILE_KEYS]
        if extra:
            raise InputError(
                f"{p}: unknown keys {sorted(map(str, extra))}; allowed: {', '.join(_PROFILE_KEYS)}"
            )
        name_raw = data.get("sample", p.stem)
        if sample is None and (
            isinstance(name_raw, bool) or not isinstance(name_raw, str | int | float)
        ):
            raise InputError(
                f"{p}: sample is {type(name_raw).__name__} {name_raw!r:.40}; give the sample name "
                "as text (sample: NCI-H1975)"
            )
        name = sample or str(name_raw).strip() or p.stem
        expr = data.get("expression")
        if isinstance(expr, str):
            ep = p.parent / expr
            try:
                found = bool(expr.strip()) and ep.is_file()
            except (OSError, ValueError):  # a name too long for the file system, a NUL byte
                found = False
            if not found:
                raise InputError(
                    f"{p}: expression file {ep} does not exist; give a path relative to {p.name}"
                )
            expr = _read_table(ep, "expression table")
            if expr.shape[1] < 2:
                raise InputError(
                    f"{ep}: an expression table needs a gene column and one column per sample; "
                    f"got {expr.shape[1]} column(s)"
                )
            expr = expr.set_index(expr.columns[0])
        tissue = data.get("tissue")
        if tissue is not None and not (_is_text(tissue)):
            raise InputError(
                f"{p}: tissue is {type(tissue).__name__} {tissue!r:.40}; give the tissue as text "
                "(tissue: lung)"
            )
        return make_profile(
            data.get("mutations"),
            data.get("cnv"),
            expr,
            sample=name,
            strict=strict,
            where=where,
            tissue=tissue,
        )
    if suffix == ".vcf":
        return make_profile(_read_vcf(p), sample=sample or p.stem, strict=strict, where=where)
    if suffix in (".tsv", ".txt", ".maf", ".csv"):
        df = _read_table(p)
        if "Tumor_Sample_Barcode" in df.columns:
            samples = df.Tumor_Sample_Barcode.astype(str).unique()
            if sample is None and len(samples) > 1:
                raise InputError(
                    f"{p} holds {len(samples)} samples ({list(samples[:5])}); pass sample="
                )
            if len(samples) == 0 and sample is None:
                name = p.stem
            else:
                name = sample or samples[0]
            df = df[df.Tumor_Sample_Barcode.astype(str) == name]
        else:
            name = sample or p.stem
        return make_profile(df, sample=re.sub(r"\s+", "_", str(name)), strict=strict, where=where)
    raise InputError(
        f"{p}: unknown profile format {suffix!r}; use .yaml, .json, .tsv, .maf, .csv or .vcf"
    )
