"""Highest single agent (HSA, Gaddum's non-interaction): the better drug alone is the reference."""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["HSA", "hsa_expected"]


def hsa_expected(single1: np.ndarray, single2: np.ndarray) -> np.ndarray:
    """Expected inhibition ``max(E1(d1), E2(d2))`` from single-agent responses (n, n1), (n, n2)."""
    return np.maximum(single1[:, :, None], single2[:, None, :])


@register_model
class HSA(SynergyModel):
    """HSA on the observed single-agent responses (as SynergyFinder)."""

    name = "hsa"
    label = "HSA"

    def surface(self, batch: BlockBatch) -> ModelOutput:
        y = batch.mean
        expected = hsa_expected(y[:, :, 0], y[:, 0, :])
        excess = np.where(combination_mask(batch.shape), (y - expected) * 100.0, 0.0)
        status, reason = ok_status(batch.n_blocks)
        return ModelOutput(excess, expected, status=status, reason=reason)
