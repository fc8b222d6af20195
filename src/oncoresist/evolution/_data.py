"""Loaders of longitudinal burden data: Bruchovsky PSA under IAD and Novartis PDXE volumes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..data import dataset_files, fetch_file

__all__ = ["fetch_bruchovsky_psa", "fetch_pdxe_brca"]

_BRU_COLS = [
    "patient",
    "date",
    "cpa",
    "leu",
    "psa",
    "testosterone",
    "cycle",
    "on_treatment",
    "day_abs",
    "day",
]


def fetch_bruchovsky_psa(patients: list[int] | None = None) -> pd.DataFrame:
    """PSA time series under intermittent androgen deprivation (Bruchovsky et al. 2006/07).

    Columns (readme.txt of the data set): ``patient, date, cpa, leu, psa, testosterone, cycle,
    on_treatment, day``. Visits without a PSA value are kept with ``psa`` NaN (the count is in
    ``df.attrs["n_missing_psa"]``); ``day`` starts at the first visit.

    Examples
    --------
    >>> df = fetch_bruchovsky_psa([1])  # doctest: +SKIP
    """
    files = [
        f
        for f in dataset_files("bruchovsky_psa_iad")
        if re.match(r"Bruchovsky_et_al/patient\d+\.txt$", f)
    ]
    frames = []
    for f in files:
        pid = int(re.findall(r"\d+", f)[-1])
        if patients is not None and pid not in patients:
            continue
        df = pd.read_csv(fetch_file("bruchovsky_psa_iad", f), header=None, names=_BRU_COLS)
        frames.append(df)
    if not frames:
        raise ValueError(f"no Bruchovsky patients match {patients}")
    out = pd.concat(frames, ignore_index=True)
    out["day"] = out["day"] - out.groupby("patient")["day"].transform("min")
    out["on_treatment"] = out["on_treatment"].astype(int).astype(bool)
    out = out.drop(columns=["day_abs"])
    out.attrs["n_missing_psa"] = int(out["psa"].isna().sum())
    return out


def fetch_pdxe_brca() -> pd.DataFrame:
    """Tumour volumes of the Novartis PDX encyclopedia breast arm (Gao et al. 2015).

    Columns ``model_id, drug, time`` (days), ``volume`` (mm^3), ``body_weight``.
    """
    df = pd.read_csv(fetch_file("xeva_pdxe_brca", "pdxe_brca_tumor_volume_long.csv"))
    df = df.rename(columns={"model.id": "model_id", "body.weight": "body_weight"})
    df["volume"] = df["volume"].astype(float)
    df.attrs["n_missing_volume"] = int(np.sum(df["volume"].isna()))
    return df
