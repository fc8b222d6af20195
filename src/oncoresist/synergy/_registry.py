"""The registry of reference models: each model is one small class over the same interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import InputError
from ._batch import BlockBatch

__all__ = [
    "ModelOutput",
    "SynergyModel",
    "available_models",
    "get_model",
    "register_model",
]


@dataclass(frozen=True)
class ModelOutput:
    """What a model returns for a batch of ``n`` blocks.

    ``excess`` (n, n1, n2): positive = synergy, 0 = the model's no-interaction reference, in
    the model's ``units``; the single-agent row and column are 0 (or NaN where undefined).
    ``expected`` (n, n1, n2): the reference response surface (fractional inhibition) or None.
    ``extra``: per-block model parameters (arrays of length n). ``status``/``reason``: per block:
    ``ok``, ``unreliable`` (a score is given but an input it stands on is not trustworthy; the
    reason names the drug and the problem) or ``failed`` (no score).
    """

    excess: np.ndarray
    expected: np.ndarray | None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    status: np.ndarray | None = None
    reason: np.ndarray | None = None


class SynergyModel:
    """Base class of the reference models.

    A model declares ``name``, ``label``, ``units``, the dead zone ``null_tolerance`` within
    which a score counts as "no interaction" when comparing signs across models, and one
    method :meth:`surface` mapping a :class:`BlockBatch` to a :class:`ModelOutput`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    units: ClassVar[str] = "percentage points of inhibition"
    null_tolerance: ClassVar[float] = 1.0
    #: Whether bootstrap resampling needs refitting (informational: drives default chunking).
    needs_fit: ClassVar[bool] = False
    #: Whether the model stands on the single-agent dose-response curves (inverts,
    #: extrapolates or refits them): then a single-agent fit that is flat, on a parameter
    #: bound or not converged makes the block ``unreliable`` for it
    #: (:func:`oncoresist.synergy._hill.fit_problems`). HSA and Bliss use the measured
    #: single-agent wells only and stay valid.
    uses_single_fits: ClassVar[bool] = False

    def surface(self, batch: BlockBatch) -> ModelOutput:  # pragma: no cover - abstract
        """Excess surface, reference surface, parameters and status of every block of ``batch``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_MODELS: dict[str, type[SynergyModel]] = {}


def register_model(cls: type[SynergyModel]) -> type[SynergyModel]:
    """Class decorator adding a model to the registry under ``cls.name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
    _MODELS[cls.name] = cls
    return cls


def available_models() -> list[str]:
    """Names of the registered reference models.

    >>> available_models()[:3]
    ['hsa', 'bliss', 'loewe']
    """
    order = ["hsa", "bliss", "loewe", "zip", "ci", "musyc"]
    return sorted(_MODELS, key=lambda k: (order.index(k) if k in order else len(order), k))


def get_model(name: str) -> SynergyModel:
    """An instance of the registered model ``name`` (case-insensitive)."""
    key = name.strip().lower()
    if key not in _MODELS:
        raise InputError(
            f"unknown synergy model {name!r}; choose from {', '.join(available_models())}"
        )
    return _MODELS[key]()


def combination_mask(shape: tuple[int, int]) -> np.ndarray:
    """``(n1, n2)`` mask of the combination wells (both doses > 0)."""
    m = np.zeros(shape, dtype=bool)
    m[1:, 1:] = True
    return m


def ok_status(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n, "ok", dtype=object), np.full(n, "", dtype=object)
