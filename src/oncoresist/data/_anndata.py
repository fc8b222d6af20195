"""A :class:`~oncoresist.data.Panel` to and from AnnData (the scverse convention for omics).

``anndata`` is an optional dependency (the ``anndata`` extra). Its releases up to 0.12 need
pandas < 3, so it is installed in an environment of its own (``make test-anndata``), not with
``oncoresist[all]``.

The layout :func:`panel_to_anndata` writes, and :func:`panel_from_anndata` reads back:

* ``X``: the responses, samples (``obs``) x drugs (``var``), NaN where not measured;
* ``obs``: the sample annotations (tissue, MSI, ...); ``var``: the drug annotations;
* ``obsm[<layer>]``: each omics layer as a samples x features DataFrame (feature names kept);
* ``uns["oncoresist_panel"]``: metric, direction, name, layer kinds and notes.

An omics AnnData from elsewhere (samples x genes in ``X`` or one of ``layers``) becomes a
panel's layer when the responses are given beside it (``responses=``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError

if TYPE_CHECKING:
    from ._panel import Panel

__all__ = ["panel_from_anndata", "panel_to_anndata"]

UNS_KEY = "oncoresist_panel"


def _anndata() -> Any:
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - exercised where anndata is absent
        raise ImportError(
            "Panel.to_anndata / from_anndata need anndata: pip install 'oncoresist[anndata]' "
            "(anndata <= 0.12 needs pandas < 3, so use an environment of its own)"
        ) from exc
    return anndata


def _str_index(index: pd.Index, what: str) -> pd.Index:
    out = index.astype(str)
    if out.has_duplicates:
        dup = out[out.duplicated()].unique()[:5].tolist()
        raise InputError(f"{what}: identifiers {dup} repeat once written as text; rename them")
    return out


def panel_to_anndata(panel: Panel) -> Any:
    """The panel as an ``anndata.AnnData`` (layout in the module docstring).

    Identifiers become text (AnnData's rule); everything else round-trips through
    :func:`panel_from_anndata` and through ``.h5ad`` files.
    """
    ad = _anndata()
    samples = _str_index(panel.samples, "samples")
    drugs = _str_index(panel.drugs, "drugs")
    obs = (
        panel.sample_annotations.set_axis(samples, axis=0)
        if panel.sample_annotations is not None
        else pd.DataFrame(index=samples)
    )
    var = (
        panel.drug_annotations.set_axis(drugs, axis=0)
        if panel.drug_annotations is not None
        else pd.DataFrame(index=drugs)
    )
    obsm = {}
    for name, layer in panel.layers.items():
        obsm[name] = layer.set_axis(samples, axis=0).set_axis(
            _str_index(layer.columns, f"layer {name!r} features"), axis=1
        )
    uns = {
        UNS_KEY: {
            "metric": panel.metric,
            "lower_is_sensitive": bool(panel.lower_is_sensitive),
            "name": panel.name,
            "layer_kinds": dict(panel.layer_kinds),
            "layers": list(panel.layers),
            "notes": list(panel.notes),
        }
    }
    return ad.AnnData(X=panel.responses.to_numpy(dtype=float), obs=obs, var=var, obsm=obsm, uns=uns)


def _dense(matrix: Any) -> np.ndarray:
    if hasattr(matrix, "toarray"):  # scipy.sparse
        return np.asarray(matrix.toarray(), dtype=float)
    return np.asarray(matrix, dtype=float)


def _annotations(frame: pd.DataFrame) -> pd.DataFrame | None:
    return frame.copy() if frame.shape[1] else None


def panel_from_anndata(
    adata: Any,
    *,
    responses: pd.DataFrame | None = None,
    layer: str | None = None,
    layer_name: str | None = None,
    layer_kind: str | None = None,
    metric: str | None = None,
    lower_is_sensitive: bool | None = None,
    name: str | None = None,
) -> Panel:
    """A :class:`~oncoresist.data.Panel` from an ``anndata.AnnData``.

    Two layouts are read:

    * what :func:`panel_to_anndata` writes (``uns["oncoresist_panel"]`` present and no
      ``responses``): responses from ``X``, layers from ``obsm``, annotations from ``obs`` and
      ``var``;
    * an omics AnnData (samples x features): the matrix ``X`` (or ``adata.layers[layer]``)
      becomes the layer ``layer_name`` (default: ``layer`` or ``"expression"``) of kind
      ``layer_kind`` (default: inferred), ``obs`` the sample annotations, and ``responses``
      (samples x drugs, indexed by the same identifiers as ``obs_names``) is required.

    ``metric``, ``lower_is_sensitive`` and ``name`` override what the file says.
    """
    from ._panel import Panel

    meta: Mapping[str, Any] = adata.uns.get(UNS_KEY, {}) if hasattr(adata, "uns") else {}
    obs_names = pd.Index(adata.obs_names)
    if responses is None:
        if not meta:
            raise InputError(
                "this AnnData holds no oncoresist panel (no uns['oncoresist_panel']): pass the "
                "drug responses as responses= (a samples x drugs DataFrame indexed like "
                "obs_names) and it becomes the omics layer of a panel"
            )
        resp = pd.DataFrame(_dense(adata.X), index=obs_names, columns=pd.Index(adata.var_names))
        layers = {str(k): pd.DataFrame(adata.obsm[k]) for k in meta.get("layers", [])}
        for k, frame in layers.items():
            if not isinstance(adata.obsm[k], pd.DataFrame):
                raise InputError(f"obsm[{k!r}] is not a DataFrame; its feature names are lost")
            frame.index = obs_names
        kinds = {str(k): str(v) for k, v in dict(meta.get("layer_kinds", {})).items()}
        sann, dann = _annotations(adata.obs), _annotations(adata.var)
    else:
        if not isinstance(responses, pd.DataFrame):
            raise InputError("responses must be a samples x drugs DataFrame")
        lname = layer_name or layer or "expression"
        if layer is not None and layer not in adata.layers:
            raise InputError(
                f"AnnData has no layer {layer!r}; its layers: {list(adata.layers) or 'none'}"
            )
        matrix = adata.layers[layer] if layer is not None else adata.X
        omics = pd.DataFrame(_dense(matrix), index=obs_names, columns=pd.Index(adata.var_names))
        resp = responses.copy()
        resp.index = resp.index.astype(str)
        missing = resp.index.difference(obs_names)
        if len(missing) == len(resp.index):
            raise InputError(
                f"no response sample is among the AnnData's obs_names (e.g. responses "
                f"{resp.index[:3].tolist()} vs obs {obs_names[:3].tolist()}); match the ids"
            )
        layers = {lname: omics}
        kinds = {lname: layer_kind} if layer_kind else {}
        sann, dann = _annotations(adata.obs), None
        meta = {}
    return Panel(
        resp,
        layers,
        layer_kinds=kinds,
        sample_annotations=sann,
        drug_annotations=dann,
        metric=metric or str(meta.get("metric", "response")),
        lower_is_sensitive=(
            bool(meta.get("lower_is_sensitive", True))
            if lower_is_sensitive is None
            else lower_is_sensitive
        ),
        name=name or str(meta.get("name", "panel")),
        notes=tuple(str(n) for n in meta.get("notes", ())),
    )
