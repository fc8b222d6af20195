"""Dose-response curves: batched fitting, metrics, GR metrics, resistance shifts and plots.

The engine (:func:`fit_curves`) fits every curve of a screen at once with a batched
Levenberg–Marquardt; :func:`fit_screen` gives one tidy row per (sample, drug). Names load on
first use, so a small fit does not import what it does not need (the GDSC model, GR metrics, plots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ._executors import Executor, ProcessExecutor, SerialExecutor, ThreadExecutor
    from ._fit import LOSSES, CurveFitArrays, fit_curves, predict
    from ._gdsc_model import GdscModelFit, fit_gdsc_model, fit_gdsc_multilevel
    from ._gr import fit_gr, gr_from_doubling_time, gr_metrics_table, gr_table, gr_values
    from ._metrics import auc_loglogistic, dss
    from ._models import MODELS, CurveModel, get_model, register_model
    from ._normalise import normalisation_table, normalise
    from ._outliers import rout_outliers
    from ._plot import plot_curves, plot_shift
    from ._qc import QC_FLAGS, apply_qc, flag_outliers, plate_qc, z_prime
    from ._qc_plot import plot_plate
    from ._report import report_section
    from ._screen_fit import (
        ACTIVITY_THRESHOLD,
        FIT_COLUMNS,
        STATUSES,
        bootstrap_ln_ec50,
        curve_arrays,
        curve_outliers,
        fit_screen,
        resistance_shift,
    )

__all__ = [
    "ACTIVITY_THRESHOLD",
    "FIT_COLUMNS",
    "LOSSES",
    "MODELS",
    "QC_FLAGS",
    "STATUSES",
    "CurveFitArrays",
    "CurveModel",
    "Executor",
    "GdscModelFit",
    "ProcessExecutor",
    "SerialExecutor",
    "ThreadExecutor",
    "apply_qc",
    "auc_loglogistic",
    "bootstrap_ln_ec50",
    "curve_arrays",
    "curve_outliers",
    "dss",
    "fit_curves",
    "fit_gdsc_model",
    "fit_gdsc_multilevel",
    "fit_gr",
    "fit_screen",
    "flag_outliers",
    "get_model",
    "gr_from_doubling_time",
    "gr_metrics_table",
    "gr_table",
    "gr_values",
    "normalisation_table",
    "normalise",
    "plate_qc",
    "plot_curves",
    "plot_plate",
    "plot_shift",
    "predict",
    "register_model",
    "report_section",
    "resistance_shift",
    "rout_outliers",
    "z_prime",
]

_WHERE = {
    "Executor": "._executors",
    "ProcessExecutor": "._executors",
    "SerialExecutor": "._executors",
    "ThreadExecutor": "._executors",
    "LOSSES": "._fit",
    "CurveFitArrays": "._fit",
    "fit_curves": "._fit",
    "predict": "._fit",
    "GdscModelFit": "._gdsc_model",
    "fit_gdsc_model": "._gdsc_model",
    "fit_gdsc_multilevel": "._gdsc_model",
    "fit_gr": "._gr",
    "gr_from_doubling_time": "._gr",
    "gr_metrics_table": "._gr",
    "gr_table": "._gr",
    "gr_values": "._gr",
    "auc_loglogistic": "._metrics",
    "dss": "._metrics",
    "MODELS": "._models",
    "CurveModel": "._models",
    "get_model": "._models",
    "register_model": "._models",
    "normalisation_table": "._normalise",
    "normalise": "._normalise",
    "rout_outliers": "._outliers",
    "plot_curves": "._plot",
    "plot_shift": "._plot",
    "QC_FLAGS": "._qc",
    "apply_qc": "._qc",
    "flag_outliers": "._qc",
    "plate_qc": "._qc",
    "z_prime": "._qc",
    "plot_plate": "._qc_plot",
    "report_section": "._report",
    "ACTIVITY_THRESHOLD": "._screen_fit",
    "FIT_COLUMNS": "._screen_fit",
    "STATUSES": "._screen_fit",
    "bootstrap_ln_ec50": "._screen_fit",
    "curve_arrays": "._screen_fit",
    "curve_outliers": "._screen_fit",
    "fit_screen": "._screen_fit",
    "resistance_shift": "._screen_fit",
}

__getattr__ = lazy_getattr(__name__, _WHERE, globals())
