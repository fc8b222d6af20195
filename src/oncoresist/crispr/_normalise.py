"""Normalisation of CRISPR read counts between samples (sequencing depth).

``median``
    The median-ratio method of MAGeCK (Li et al., Genome Biol 2014;15:554, "Read count
    normalization", after Anders & Huber 2010): each guide's reference is the geometric mean of
    its counts over all samples, taken of ``count + 1`` so that a zero does not void it; a
    sample's size factor is the median over guides of ``count / reference``; guides with no
    read in any sample are left out. With an even number of guides the median is the upper
    middle value, as in MAGeCK (checked: the size factors in the logs of MAGeCK 0.5.9 runs on
    the Wang 2014 demo agree to 1e-12, ``tests/test_crispr_screen.py``).
``control``
    The same median ratio computed on the control guides only (MAGeCK ``--norm-method control``
    with ``--control-sgrna`` / ``--control-gene``): for screens where most guides may change.
``total``
    Each sample scaled to the mean total count of the samples (MAGeCK ``--norm-method total``).
``none``
    Size factors 1.

Normalised counts are ``counts / size_factor + pseudocount``: the size factors come from the
raw counts, and the pseudocount (default 0) is added after scaling, where MAGeCK adds its 1
before taking logs. Every statistic states it in its params.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import InputError

__all__ = ["NORMALISATIONS", "normalise_counts"]

NormMethod = Literal["median", "total", "control", "none"]
#: The methods :func:`normalise_counts` knows.
NORMALISATIONS: tuple[str, ...] = ("median", "total", "control", "none")


def _median_ratio(x: np.ndarray, what: str) -> np.ndarray:
    """Upper median over guides (with a read) of x / geometric-mean(x + 1), per sample."""
    usable = x.sum(axis=1) > 0
    if not usable.any():
        raise InputError(
            f"median-ratio normalisation: none of the {x.shape[0]} {what} has a read in any "
            "sample; use method='total' or check the counts"
        )
    xu = x[usable]
    reference = np.exp(np.log1p(xu).mean(axis=1, keepdims=True))
    ratio = np.sort(xu / reference, axis=0)
    factor = ratio[ratio.shape[0] // 2]
    if (factor <= 0).any():
        j = int(np.flatnonzero(factor <= 0)[0])
        raise InputError(
            f"median-ratio normalisation: sample column {j} has zero reads in at least half of "
            f"the {what}, so its size factor is 0; use method='total' or leave the sample out"
        )
    return factor


def normalise_counts(
    counts: np.ndarray,
    *,
    method: NormMethod = "median",
    control_rows: np.ndarray | None = None,
    pseudocount: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalise a guides x samples count matrix for sequencing depth.

    Parameters
    ----------
    counts
        Read counts, guides x samples (>= 0).
    method
        ``"median"`` (median ratio, MAGeCK's default), ``"control"`` (median ratio on
        ``control_rows``), ``"total"`` (to the mean total) or ``"none"``.
    control_rows
        For ``"control"``: a boolean mask over the guides or their row positions.
    pseudocount
        Added to every normalised count (after scaling).

    Returns
    -------
    normalised : numpy.ndarray
        ``counts / size_factors + pseudocount``, float, same shape as ``counts``.
    size_factors : numpy.ndarray
        One per sample.

    Examples
    --------
    >>> import numpy as np
    >>> norm, sf = normalise_counts(np.array([[10, 20], [30, 60], [5, 10]]))
    >>> np.round(sf, 4).tolist()
    [0.658, 1.3159]
    >>> norm[:, 0].tolist() == norm[:, 1].tolist()
    True
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise InputError(f"counts must be a guides x samples matrix, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"counts is empty (shape {x.shape})")
    if not np.isfinite(x).all() or (x < 0).any():
        raise InputError("counts must be finite and >= 0 (validate them with CrisprScreen)")
    if not np.isfinite(pseudocount) or pseudocount < 0:
        raise InputError(f"pseudocount={pseudocount!r}: give a number >= 0")
    if method == "none":
        sf = np.ones(x.shape[1])
    elif method == "total":
        tot = x.sum(axis=0)
        if (tot <= 0).any():
            j = int(np.flatnonzero(tot <= 0)[0])
            raise InputError(f"total normalisation: sample column {j} has no reads")
        sf = tot / tot.mean()
    elif method == "median":
        sf = _median_ratio(x, "guides")
    elif method == "control":
        if control_rows is None:
            raise InputError(
                "method='control' needs control_rows (the control guides: a boolean mask or row "
                "positions); mark them with control=True in the screen's guide table"
            )
        rows = np.asarray(control_rows)
        if rows.dtype == bool:
            if rows.shape != (x.shape[0],):
                raise InputError(
                    f"control_rows: a boolean mask needs {x.shape[0]} values, got {rows.size}"
                )
            rows = np.flatnonzero(rows)
        if rows.size == 0:
            raise InputError("method='control': control_rows selects no guide")
        if rows.min() < 0 or rows.max() >= x.shape[0]:
            raise InputError(f"control_rows: positions must lie in 0..{x.shape[0] - 1}")
        sf = _median_ratio(x[rows], "control guides")
    else:
        raise InputError(
            f"unknown normalisation method={method!r}; choose from {', '.join(NORMALISATIONS)}"
        )
    return x / sf + pseudocount, sf
