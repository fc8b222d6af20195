"""Drug combinations: reference models (HSA, Bliss, Loewe, ZIP, Chou–Talalay CI, MuSyC),
batched over blocks, with bootstrap uncertainty, outlier flags, model agreement and the
parental-vs-resistant comparison.

Responses are fractional inhibition internally; effect-based scores (HSA, Bliss, Loewe, ZIP,
MuSyC) are in percentage points of inhibition as in SynergyFinder, the Chou–Talalay surface is
``-log10(CI)``; for every model positive means synergy.
"""

from __future__ import annotations

from . import _bliss, _chou_talalay, _hsa, _loewe, _musyc, _zip  # noqa: F401  (register models)
from ._loewe import loewe_expected
from ._multi import (
    MultiSynergyResult,
    plot_multi_slices,
    score_multi_blocks,
    score_multi_combinations,
)
from ._musyc import musyc_surface
from ._plot import plot_excess_heatmap, plot_single_agents, plot_surface_3d
from ._registry import ModelOutput, SynergyModel, available_models, get_model, register_model
from ._report import report_section
from ._score import (
    SynergyComparison,
    SynergyResult,
    compare_synergy,
    score_blocks,
    score_combinations,
)
from ._sensitivity import (
    normalised_curve_area,
    sensitivity_scores,
    synergy_barometer,
    synergy_consensus,
)
from ._synthetic import make_combination_screen

__all__ = [
    "ModelOutput",
    "MultiSynergyResult",
    "SynergyComparison",
    "SynergyModel",
    "SynergyResult",
    "available_models",
    "compare_synergy",
    "get_model",
    "loewe_expected",
    "make_combination_screen",
    "musyc_surface",
    "normalised_curve_area",
    "plot_excess_heatmap",
    "plot_multi_slices",
    "plot_single_agents",
    "plot_surface_3d",
    "register_model",
    "report_section",
    "score_blocks",
    "score_combinations",
    "score_multi_blocks",
    "score_multi_combinations",
    "sensitivity_scores",
    "synergy_barometer",
    "synergy_consensus",
]
