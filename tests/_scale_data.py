"""Small partitioned well datasets shared by the scale-out tests (test_scale_dask.py,
test_scale_urls.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from oncoresist.curves import normalise
from oncoresist.data import make_screen


def wells(n_samples: int, drugs: int) -> pd.DataFrame:
    """Treated wells (``sample, drug, concentration, viability``) of a synthetic screen."""
    w = normalise(make_screen(n_samples=n_samples, drugs=drugs, rng=3).screen).data
    return w[w["role"] == "treated"][["sample", "drug", "concentration", "viability"]]


def write_by_sample(table: pd.DataFrame, folder: Path) -> Path:
    """One Parquet file per sample in ``folder`` (created)."""
    folder.mkdir()
    for i, (_, part) in enumerate(table.groupby("sample")):
        part.reset_index(drop=True).to_parquet(folder / f"part{i}.parquet")
    return folder
