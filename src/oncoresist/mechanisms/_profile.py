"""Tumour profiles: mutations, copy number and expression, read from YAML/JSON/TSV/MAF/VCF."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..errors import InputError
from ._kb import gene_symbols, suggest_genes
from ._variants import parse_alteration

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


@dataclass(frozen=True)
class Profile:
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
    """

    sample: str
    mutations: pd.DataFrame
    cnv: pd.DataFrame
    expression: pd.DataFrame | None = None
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ISSUE_COLS))

    def events(self) -> pd.DataFrame:
        """Mutations and copy-number calls as one ``gene``, ``alteration``, ``source`` table."""
        mut = self.mutations.assign(source="mutation")[["gene", "alteration", "source"]]
        cn = self.cnv[self.cnv.call.isin(["amplification", "deletion"])]
        cn = pd.DataFrame(
            {
                "gene": cn.gene,
                "alteration": cn.call.map({"amplification": "amplification", "deletion": "loss"}),
                "source": "cnv",
            }
        )
        return pd.concat([mut, cn], ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """Events table (see :meth:`events`)."""
        return self.events()

    def _repr_html_(self) -> str:
        n_expr = 0 if self.expression is None else self.expression.shape[0]
        return (
            f"<p>Profile <b>{self.sample}</b>: {len(self.mutations)} mutations, "
            f"{len(self.cnv)} copy-number calls, {n_expr} expressed genes, "
            f"{len(self.issues)} issues</p>"
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


def _mutations_frame(mutations: Any, where: str) -> pd.DataFrame:
    if mutations is None:
        return pd.DataFrame(columns=["gene", "alteration"])
    if isinstance(mutations, pd.DataFrame):
        df = mutations
    elif isinstance(mutations, Mapping):
        df = pd.DataFrame(
            [
                {"gene": k, "alteration": v}
                for k, vs in mutations.items()
                for v in ([vs] if isinstance(vs, str) else vs)
            ]
        )
    else:
        rows = []
        for i, m in enumerate(mutations):
            if isinstance(m, str):
                parts = m.split(None, 1)
                if len(parts) != 2:
                    raise InputError(
                        f"{where}: mutation {i + 1} {m!r} should read 'GENE CHANGE', e.g. 'EGFR T790M'"
                    )
                rows.append({"gene": parts[0], "alteration": parts[1]})
            elif isinstance(m, Mapping):
                rows.append(dict(m))
            else:
                raise InputError(
                    f"{where}: mutation {i + 1} is {type(m).__name__}; give 'GENE CHANGE' or a mapping"
                )
        df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["gene", "alteration"])
    g = _pick(df, _GENE_COLS, "gene", where)
    a = _pick(df, _ALT_COLS, "protein change", where)
    return pd.DataFrame({"gene": df[g].astype(str), "alteration": df[a].astype(str)})


def _cnv_frame(cnv: Any, where: str) -> pd.DataFrame:
    if cnv is None:
        return pd.DataFrame(columns=["gene", "call"])
    if isinstance(cnv, Mapping):
        df = pd.DataFrame({"gene": list(cnv), "call": list(cnv.values())})
    elif isinstance(cnv, pd.Series):
        df = pd.DataFrame({"gene": cnv.index, "call": cnv.to_numpy()})
    else:
        df = pd.DataFrame(cnv)
        if df.empty:
            return pd.DataFrame(columns=["gene", "call"])
        g = _pick(df, _GENE_COLS, "gene", where)
        c = _pick(df, ("call", "cnv", "copy_number", "gistic", "value"), "copy-number call", where)
        df = pd.DataFrame({"gene": df[g], "call": df[c]})
    calls = []
    for i, v in enumerate(df.call):
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            if float(v) not in _GISTIC:
                raise InputError(
                    f"{where}: copy-number value {v!r} for {df.gene.iloc[i]} (row {i + 1}) is not a "
                    "GISTIC call (-2, -1, 0, 1, 2); give calls or the words amplification/gain/"
                    "neutral/loss/deletion (log2 ratios must be called first)"
                )
            calls.append(_GISTIC[int(v)])
        else:
            key = str(v).strip().lower()
            if key not in _CNV_CALLS:
                raise InputError(
                    f"{where}: copy-number call {v!r} (row {i + 1}) unknown; use one of {sorted(set(_CNV_CALLS))}"
                )
            calls.append(_CNV_CALLS[key])
    return pd.DataFrame({"gene": df.gene.astype(str).to_numpy(), "call": calls})


def _expression_frame(
    expr: Any, sample: str, where: str, issues: list[dict[str, str]], known: frozenset[str]
) -> pd.DataFrame | None:
    if expr is None:
        return None
    if isinstance(expr, Mapping):
        df = pd.DataFrame({sample: pd.Series(expr, dtype=float)})
    elif isinstance(expr, pd.Series):
        df = expr.astype(float).to_frame(sample)
    else:
        df = pd.DataFrame(expr)
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
    try:
        df = df.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: expression values must be numeric ({exc})") from exc
    df.index = df.index.astype(str)
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

    Examples
    --------
    >>> p = make_profile(["EGFR L858R", "EGFR T790M"], sample="H1975")
    >>> list(p.mutations.kind)
    ['protein_change', 'protein_change']
    """
    known = gene_symbols()
    issues: list[dict[str, str]] = []
    mut = _mutations_frame(mutations, where)
    genes, kinds = [], []
    for i, (g, a) in enumerate(zip(mut.gene, mut.alteration, strict=True)):
        gene = _check_gene(g, f"{where} mutations row {i + 1}", issues, known)
        try:
            kinds.append(parse_alteration(a, gene=gene).kind)
        except InputError as exc:
            raise InputError(f"{where} mutations row {i + 1}: {exc}") from None
        genes.append(gene)
    mut = pd.DataFrame(
        {
            "gene": genes,
            "alteration": mut.alteration.tolist(),
            "kind": kinds,
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
    return Profile(str(sample), mut, cn, expr, issue_df)


def _read_vcf(path: Path) -> pd.DataFrame:
    text = path.read_text(encoding="utf-8")
    csq_fields: list[str] = []
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith("##INFO=<ID=CSQ") and "Format:" in line:
            csq_fields = line.split("Format:")[1].strip().strip('">').split("|")
        if line.startswith("#") or not line.strip():
            continue
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
        if not gene or not prot:
            raise InputError(
                f"{path}:{lineno}: no gene/protein change in INFO; add GENE=<symbol>;HGVSP=<p.change> "
                "(or a VEP CSQ with SYMBOL and HGVSp)"
            )
        rows.append({"gene": gene, "alteration": prot})
    return pd.DataFrame(rows, columns=["gene", "alteration"])


def _read_table(path: Path) -> pd.DataFrame:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    text = "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    )
    return pd.read_csv(io.StringIO(text), sep=sep)


def read_profile(path: str | Path, *, sample: str | None = None, strict: bool = False) -> Profile:
    """Read a profile from YAML/JSON (``mutations``, ``cnv``, ``expression``), a MAF-like
    TSV/CSV of mutations, or a minimal VCF with protein changes in INFO.

    In YAML/JSON, ``expression`` may be ``{gene: value}`` or a path (relative to the file) to a
    genes x samples TSV/CSV; ``cnv`` may be ``{gene: call}``.

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
        try:
            data = (
                json.loads(p.read_text(encoding="utf-8"))
                if suffix == ".json"
                else yaml.safe_load(p.read_text(encoding="utf-8"))
            )
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"{p}: not valid {suffix[1:].upper()}: {exc}") from exc
        if not isinstance(data, Mapping):
            raise InputError(
                f"{p}: expected a mapping with keys sample, mutations, cnv, expression"
            )
        extra = set(data) - {"sample", "mutations", "cnv", "expression", "tissue", "notes"}
        if extra:
            raise InputError(
                f"{p}: unknown keys {sorted(extra)}; allowed: sample, mutations, cnv, expression, tissue, notes"
            )
        expr = data.get("expression")
        name = sample or str(data.get("sample", p.stem))
        if isinstance(expr, str):
            ep = p.parent / expr
            if not ep.is_file():
                raise InputError(f"{p}: expression file {ep} does not exist")
            expr = _read_table(ep)
            expr = expr.set_index(expr.columns[0])
        return make_profile(
            data.get("mutations"), data.get("cnv"), expr, sample=name, strict=strict, where=where
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
            name = sample or samples[0]
            df = df[df.Tumor_Sample_Barcode.astype(str) == name]
        else:
            name = sample or p.stem
        return make_profile(df, sample=re.sub(r"\s+", "_", str(name)), strict=strict, where=where)
    raise InputError(
        f"{p}: unknown profile format {suffix!r}; use .yaml, .json, .tsv, .maf, .csv or .vcf"
    )
