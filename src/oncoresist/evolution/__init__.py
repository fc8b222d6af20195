"""Tumour evolution under therapy: clones, schedules, ODE and stochastic simulation, fitting.

Build a :class:`Model` (clones, mutation/plasticity edges, drugs with Hill effects and PK,
microenvironment, biomarker), a :class:`Schedule` (continuous, intermittent, metronomic,
sequential/simultaneous, adaptive), then :func:`simulate` with ``method="ode"``,
``"gillespie"``, ``"tau_leap"`` or ``"branching"``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ._bozic import bozic_eradication_probability, bozic_resistance_probability, simulate_bozic
from ._data import fetch_bruchovsky_psa, fetch_pdxe_brca
from ._fit import BurdenFit, fit_burden, fit_psa_cohort, forecast_next_cycle, profile_likelihood
from ._forecast import (
    PSA_FORECAST_MODELS,
    PsaForecastEvaluation,
    evaluate_psa_forecasts,
    plot_psa_forecast,
)
from ._model import (
    AdaptiveRule,
    Biomarker,
    Clone,
    Compartment,
    Division,
    Drug,
    DrugEffect,
    Microenvironment,
    Model,
    Regimen,
    Schedule,
    SwitchRule,
    Transition,
    load_model,
    load_schedule,
    model_from_dict,
    schedule_from_dict,
)
from ._pharm import clone_from_fit, drug_effects_from_fits
from ._plot import plot_schedule_comparison, plot_trajectories
from ._presets import (
    ZHANG2017_PATIENTS,
    bozic2013_model,
    zhang2017_ess,
    zhang2017_model,
    zhang2017_schedules,
)
from ._report import compare_schedules, report_section, simulate_schedules
from ._simulate import METHODS, CoarseStepWarning, SimulationResult, simulate

__all__ = [
    "METHODS",
    "PSA_FORECAST_MODELS",
    "ZHANG2017_PATIENTS",
    "AdaptiveRule",
    "Biomarker",
    "BurdenFit",
    "Clone",
    "CoarseStepWarning",
    "Compartment",
    "Division",
    "Drug",
    "DrugEffect",
    "Microenvironment",
    "Model",
    "PsaForecastEvaluation",
    "Regimen",
    "Schedule",
    "SimulationResult",
    "SwitchRule",
    "Transition",
    "bozic2013_model",
    "bozic_eradication_probability",
    "bozic_resistance_probability",
    "clone_from_fit",
    "compare_schedules",
    "drug_effects_from_fits",
    "evaluate_psa_forecasts",
    "example_path",
    "fetch_bruchovsky_psa",
    "fetch_pdxe_brca",
    "fit_burden",
    "fit_psa_cohort",
    "forecast_next_cycle",
    "load_model",
    "load_schedule",
    "model_from_dict",
    "plot_psa_forecast",
    "plot_schedule_comparison",
    "plot_trajectories",
    "profile_likelihood",
    "report_section",
    "schedule_from_dict",
    "simulate",
    "simulate_bozic",
    "simulate_schedules",
    "zhang2017_ess",
    "zhang2017_model",
    "zhang2017_schedules",
]


def example_path(name: str) -> Path:
    """Path of a shipped example model or schedule (``examples/*.yaml``).

    Examples
    --------
    >>> example_path("zhang2017_model.yaml").name
    'zhang2017_model.yaml'
    """
    p = Path(str(resources.files("oncoresist.evolution").joinpath("examples", name)))
    if not p.is_file():
        from ..errors import InputError

        avail = sorted(q.name for q in p.parent.glob("*.yaml"))
        raise InputError(f"no example {name!r}; available: {avail}")
    return p
