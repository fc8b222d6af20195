"""Dense arrays of same-shape combination blocks, the input of every synergy model."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._hill import HillFit, fit_hill

__all__ = ["BlockBatch", "nanmean_last"]


def nanmean_last(a: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN, NaN where no value (without a warning)."""
    ok = np.isfinite(a)
    cnt = ok.sum(axis=-1)
    tot = np.where(ok, a, 0.0).sum(axis=-1)
    out = np.full(cnt.shape, np.nan)
    np.divide(tot, cnt, out=out, where=cnt > 0)
    return out


@dataclass(frozen=True)
class BlockBatch:
    """``n`` dose-response blocks of the same grid shape, as arrays.

    Attributes
    ----------
    conc1, conc2
        ``(n, n1)`` and ``(n, n2)`` concentrations (micromolar), ascending, the first = 0.
    response
        ``(n, n1, n2, r)`` fractional inhibition per replicate, NaN where a replicate is absent.
    """

    conc1: np.ndarray
    conc2: np.ndarray
    response: np.ndarray

    @property
    def n_blocks(self) -> int:
        return int(self.response.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.response.shape[1]), int(self.response.shape[2])

    @functools.cached_property
    def mean(self) -> np.ndarray:
        """``(n, n1, n2)`` replicate mean."""
        return nanmean_last(self.response)

    @functools.cached_property
    def n_replicates(self) -> np.ndarray:
        """``(n, n1, n2)`` replicate count per well."""
        return np.isfinite(self.response).sum(axis=-1)

    @functools.cached_property
    def log_conc1(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.conc1)

    @functools.cached_property
    def log_conc2(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.conc2)

    @functools.cached_property
    def single_fits(self) -> tuple[HillFit, HillFit]:
        """Hill fits of drug 1 alone (column ``conc2 = 0``) and drug 2 alone (row ``conc1 = 0``),
        on every replicate value, batched over blocks."""
        n, n1, n2, r = self.response.shape
        x1 = np.repeat(self.log_conc1, r, axis=1)
        y1 = self.response[:, :, 0, :].reshape(n, n1 * r)
        x2 = np.repeat(self.log_conc2, r, axis=1)
        y2 = self.response[:, 0, :, :].reshape(n, n2 * r)
        # one batched call for both drugs (pad to the same number of points)
        p = max(x1.shape[1], x2.shape[1])
        xx = np.full((2 * n, p), -np.inf)
        yy = np.full((2 * n, p), np.nan)
        xx[:n, : x1.shape[1]] = x1
        yy[:n, : y1.shape[1]] = y1
        xx[n:, : x2.shape[1]] = x2
        yy[n:, : y2.shape[1]] = y2
        fit = fit_hill(xx, yy)  # the curve engine, as the dose-response reports fit them
        f1, f2 = fit.take(slice(0, n)), fit.take(slice(n, 2 * n))
        return f1, f2

    def take(self, idx: np.ndarray) -> BlockBatch:
        return BlockBatch(self.conc1[idx], self.conc2[idx], self.response[idx])
