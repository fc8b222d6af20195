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

__all__ = ["gene_aliases", "load_tgsa_panel", "match_ctrp"]

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
    from ..data._crosswalk import fetch_sample_info
    from ..data._panels import fetch_tgsa, load_gdsc_compounds
    from ._evaluate import _check_count

    _check_count(n_drugs, "n_drugs", optional=True)
    _check_count(n_samples, "n_samples", minimum=2, optional=True)
    if drugs is not None and (isinstance(drugs, str) or not len(drugs)):
        raise InputError(f"drugs must be a non-empty list of drug names, got {drugs!r:.60}")
    gen = np.random.default_rng(rng)
    panel = fetch_tgsa(omics=tuple(layers))
    keep_d = panel.drugs if drugs is None else pd.Index(list(drugs))
    if n_drugs is not None and n_drugs < len(keep_d):
        keep_d = pd.Index(
            sorted(gen.choice(np.asarray(keep_d, dtype=object), n_drugs, replace=False))
        )
    keep_s = panel.samples
    if n_samples is not None and n_samples < len(keep_s):
        keep_s = pd.Index(
            sorted(gen.choice(np.asarray(keep_s, dtype=object), n_samples, replace=False))
        )
    panel = panel.subset(samples=keep_s, drugs=keep_d)
    info = fetch_sample_info().drop_duplicates("DepMap_ID").set_index("DepMap_ID")
    # CCLE names end with the tissue of origin ("..._LUNG"), complete for all 580 lines, while
    # the 'lineage' column is empty for 144 of them.
    site = info["CCLE_Name"].astype("string").str.split("_", n=1).str[1].str.lower()
    tissue = site.reindex(panel.samples).fillna("unknown").astype(str)
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
    from ..data._crosswalk import fetch_sample_info
    from ..data._panels import fetch_ctrp_v2

    with warnings.catch_warnings():
        # The CTRP loader notes averaged replicate pairs and a mixed-type column; both are
        # properties of the public file, accounted for in the loader.
        warnings.simplefilter("ignore")
        ctrp = fetch_ctrp_v2()
    info = fetch_sample_info()
    lut = (
        info.assign(_k=info["stripped_cell_line_name"].map(_norm))
        .drop_duplicates("_k")
        .set_index("_k")["DepMap_ID"]
    )
    ach = pd.Series([lut.get(_norm(s)) for s in ctrp.samples], index=ctrp.samples)
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
