"""Bliss independence: independent actions, ``E = E1 + E2 - E1 E2`` in fractional inhibition."""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["Bliss", "bliss_expected"]


def bliss_expected(single1: np.ndarray, single2: np.ndarray) -> np.ndarray:
    """Expected inhibition under Bliss independence from single-agent responses."""
    a = single1[:, :, None]
    b = single2[:, None, :]
    return a + b - a * b


@register_model
class Bliss(SynergyModel):
    """Bliss independence on the observed single-agent responses (as SynergyFinder)."""

    name = "bliss"
    label = "Bliss"

    def surface(self, batch: BlockBatch) -> ModelOutput:
        y = batch.mean
        expected = bliss_expected(y[:, :, 0], y[:, 0, :])
        excess = np.where(combination_mask(batch.shape), (y - expected) * 100.0, 0.0)
        status, reason = ok_status(batch.n_blocks)
        return ModelOutput(excess, expected, status=status, reason=reason)
