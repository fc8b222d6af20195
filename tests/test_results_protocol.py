"""One results protocol: every public result class answers ``to_frame``, ``summary``, HTML.

Regression guard of an API contract (issue 18), not evidence about any method: it checks the
*shape* of what public functions hand back (``summary()`` is one line of text, ``to_frame()`` a
DataFrame, ``_repr_html_()`` escaped HTML carrying the summary), never the numbers inside.

The classes are discovered, not listed by hand: every class in a public subpackage's
``__all__`` with a ``to_frame`` or a ``summary`` is a result class and must have a builder
below (a small real instance, from the modules' own demo builders where they are cheap) or be
named in ``NOT_RESULTS`` with the reason.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from oncoresist._results import MAX_HTML_ROWS, Result, ResultMixin, render_html

SUBPACKAGES = (
    "data",
    "curves",
    "synergy",
    "evolution",
    "predict",
    "mechanisms",
    "strategy",
    "crispr",
    "biomarkers",
    "scale",
)

#: Public classes with a ``to_frame`` / ``summary`` that are not results, and why.
NOT_RESULTS: dict[str, str] = {
    "data.Crosswalk": "an identifier table the package queries (.map gives a MappingResult)",
}

#: Results whose module belongs to another owner and has not taken the protocol yet.
PENDING: dict[str, str] = {}


#: Results public functions return whose class is not re-exported (module path given).
UNEXPORTED: dict[str, str] = {
    "data.MappingResult": "oncoresist.data._crosswalk",  # Crosswalk.map
    "data.LineMutations": "oncoresist.data._depmap",  # fetch_depmap_line_mutations
}


def _is_result_like(obj: object) -> bool:
    return isinstance(obj, type) and (hasattr(obj, "to_frame") or hasattr(obj, "summary"))


def _public_classes() -> dict[str, type]:
    out: dict[str, type] = {}
    for sub in SUBPACKAGES:
        mod = importlib.import_module(f"oncoresist.{sub}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if _is_result_like(obj):
                out[f"{sub}.{name}"] = obj
    for key, path in UNEXPORTED.items():
        out[key] = getattr(importlib.import_module(path), key.split(".")[1])
    return out


def _scanned_classes() -> set[type]:
    """Classes with ``to_frame`` defined in any module of the subpackages (private included)."""
    found: set[type] = set()
    for sub in SUBPACKAGES:
        pkg = importlib.import_module(f"oncoresist.{sub}")
        for info in pkgutil.iter_modules(pkg.__path__, f"{pkg.__name__}."):
            if info.name.endswith(("_cli", "__main__")):
                continue
            mod = importlib.import_module(info.name)
            for obj in vars(mod).values():
                if (
                    isinstance(obj, type)
                    and obj.__module__ == mod.__name__
                    and "to_frame" in vars(obj)
                    and not obj.__name__.startswith("_")
                ):
                    found.add(obj)
    return found


# ------------------------------------------------------------------------------ builders
_CACHE: dict[str, Any] = {}


def _once(key: str, make: Callable[[], Any]) -> Any:
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def _synthetic_screen():
    from oncoresist.data import make_screen

    return _once("syn", lambda: make_screen(n_samples=2, drugs=2, rng=0))


def _combination():
    from oncoresist.synergy import make_combination_screen

    return _once("comb", lambda: make_combination_screen(2, samples=("par", "res"), rng=1))


def _synergy():
    from oncoresist.synergy import score_combinations

    return _once("synres", lambda: score_combinations(_combination(), models=["bliss"], n_boot=20))


def _multi_screen():
    import itertools

    from oncoresist.data import MultiCombinationScreen

    g = np.array(list(itertools.product((0, 1, 2), repeat=3)), dtype=float)
    y = 1 - np.prod(1 - g / (1 + g), axis=1)
    df = pd.DataFrame(
        {"block_id": 1, "drug1": "a", "drug2": "b", "drug3": "c", "conc1": g[:, 0],
         "conc2": g[:, 1], "conc3": g[:, 2], "response": y}
    )  # fmt: skip
    return _once("multi", lambda: MultiCombinationScreen.from_frame(df, conc_unit="uM"))


def _panel_truth():
    from oncoresist.predict import make_response_panel

    return _once("panel", lambda: make_response_panel(n_samples=40, n_drugs=3, rng=0))


def _evaluation():
    from oncoresist.predict import DrugMean, evaluate, pair_frame

    def make():
        X, y = pair_frame(_panel_truth()[0])
        return evaluate({"drug_mean": DrugMean()}, X, y, splits=["pair"], n_splits=2)

    return _once("eval", make)


def _trained():
    from oncoresist.predict import MeanEffects, fit_model

    return _once(
        "trained", lambda: fit_model(_panel_truth()[0], MeanEffects(), use_drug_features=False)
    )


def _profile():
    from oncoresist.mechanisms import make_profile

    return _once("profile", lambda: make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin"))


def _crispr():
    from oncoresist.crispr import simulate_crispr_screen

    return _once("crispr", lambda: simulate_crispr_screen(n_genes=500, rng=0)[0])


def _dependency_data():
    rng = np.random.default_rng(7)
    ge = pd.DataFrame(
        rng.normal(0.0, 0.25, (60, 12)),
        index=[f"G{i}" for i in range(60)],
        columns=[f"L{j}" for j in range(12)],
    )
    inn = [f"L{j}" for j in range(4)]
    ge.loc["G42", inn] -= 1.2
    return ge, inn


def _build_simulation():
    from oncoresist.evolution import simulate, zhang2017_model, zhang2017_schedules

    return simulate(zhang2017_model(), zhang2017_schedules()["adaptive"], t_end=300, dt=5)


def _build_burden():
    from oncoresist.evolution import fit_burden

    t = np.arange(0.0, 60.0, 5.0)
    on = t < 30
    y = np.exp(np.where(on, -0.05 * t, -1.5 + 0.03 * (t - 30))) * 100
    return fit_burden(t, y, on)


def _build_psa():
    from oncoresist.evolution import PsaForecastEvaluation

    scores = pd.DataFrame(
        {
            "patient": ["p1", "p2"],
            "cycles_fit": [2, 2],
            "model": ["two_population"] * 2,
            "status": ["ok", "failed"],
            "reason": ["", "too few points"],
            "rmse": [0.2, np.nan],
            "coverage": [1.0, np.nan],
            "rmse_lvcf": [0.3, np.nan],
            "rmse_trend": [0.4, np.nan],
            "skill_lvcf": [0.33, np.nan],
            "skill_trend": [0.5, np.nan],
            "beats_better_baseline": [True, False],
        }
    )
    return PsaForecastEvaluation(scores=scores, forecasts=pd.DataFrame(), data=pd.DataFrame())


def _build_curve_arrays():
    from oncoresist.curves import fit_curves

    conc = np.logspace(-3, 1, 8)[None, :].repeat(3, 0)
    return fit_curves(np.log(conc), 1 / (1 + conc / np.array([[0.1], [1.0], [10.0]])))


def _build_gdsc():
    from oncoresist.curves import fit_gdsc_multilevel, normalise

    return fit_gdsc_multilevel(normalise(_synthetic_screen().screen))


def _build_application():
    profile = {k: v.iloc[:3] for k, v in _panel_truth()[0].layers.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the profiled samples are training samples here
        return _trained().predict_profile(profile)


def _build_attribution():
    from oncoresist.predict import PerDrugElasticNet, explain, pair_frame

    X, y = pair_frame(_panel_truth()[0])
    return explain(PerDrugElasticNet(cv=2, n_alphas=3).fit(X, y), X.iloc[:5])


def _build_table_result():
    from oncoresist.predict import TableResult

    ev = _evaluation()
    return TableResult(ev, ev, pd.DataFrame(), 1.0, n_drugs=3, n_samples=40)


def _build_reference_panel():
    from oncoresist.mechanisms import ReferencePanel

    rng = np.random.default_rng(0)
    expr = pd.DataFrame(
        rng.normal(size=(20, 6)),
        index=[f"G{i}" for i in range(20)],
        columns=[f"L{j}" for j in range(6)],
    )
    return ReferencePanel(expr, pd.Series(["lung"] * 3 + ["skin"] * 3, index=expr.columns))


def _build_civic():
    from oncoresist.mechanisms import CivicImport

    ev = pd.DataFrame({"gene": ["EGFR"], "alteration": ["T790M"], "effect": ["resistance"]})
    return CivicImport(evidence=ev, excluded=pd.DataFrame(columns=["reason"]))


def _build_connectivity():
    from oncoresist.strategy import connectivity_scores

    rng = np.random.default_rng(0)
    sig = pd.DataFrame(
        rng.normal(size=(40, 5)),
        index=[f"G{i}" for i in range(40)],
        columns=[f"C{i}" for i in range(5)],
    )
    return connectivity_scores(["G0", "G1", "G2"], ["G3", "G4"], sig, method="ks", n_null=0)


def _build_line_selection():
    from oncoresist.strategy import resistance_like_lines

    muts = pd.DataFrame(
        {"BRAF": [1, 1, 1, 0, 0, 0], "NRAS": [0, 0, 0, 1, 1, 1]},
        index=[f"L{i}" for i in range(6)],
    )
    return resistance_like_lines(muts, "BRAF", list(muts.index))


def _build_synergy_prediction():
    from oncoresist.strategy import SynergyPredictionEvaluation

    metrics = pd.DataFrame(
        {
            "split": ["pair"],
            "model": ["mean"],
            "metric": ["pearson"],
            "mean": [0.1],
            "sd": [0.01],
            "n_folds": [3],
        }
    )
    return SynergyPredictionEvaluation("toy", metrics, metrics, pd.DataFrame())


def _build_mapping():
    from oncoresist.data._crosswalk import MappingResult

    mapped = pd.Series(["ACH-1", None], index=["A549", "NOPE"])
    return MappingResult(mapped=mapped, unmatched=["NOPE"], ambiguous=[])


def _build_line_mutations():
    from oncoresist.data._depmap import LineMutations

    calls = pd.DataFrame({"BRAF": [1, 0]}, index=["L1", "L2"])
    return LineMutations(
        calls=calls,
        source=pd.Series(["depmap", "gdsc"], index=calls.index),
        disagreements=pd.DataFrame(),
    )


def _build_parquet_run():
    from pathlib import Path

    from oncoresist.scale import ParquetRun

    parts = pd.DataFrame(
        {"source": ["a"], "output": ["part-0.parquet"], "n_rows_in": [3], "n_rows_out": [3]}
    )
    return ParquetRun(Path("out"), parts)


BUILDERS: dict[str, Callable[[], Any]] = {
    "data.Screen": lambda: _synthetic_screen().screen,
    "data.SyntheticScreen": _synthetic_screen,
    "data.CombinationScreen": _combination,
    "data.MultiCombinationScreen": _multi_screen,
    "data.CrisprScreen": _crispr,
    "data.Panel": lambda: _panel_truth()[0],
    "data.MappingResult": _build_mapping,
    "data.LineMutations": _build_line_mutations,
    "curves.GdscModelFit": _build_gdsc,
    "curves.CurveFitArrays": _build_curve_arrays,
    "synergy.SynergyResult": _synergy,
    "synergy.SynergyComparison": lambda: __import__(
        "oncoresist.synergy", fromlist=["compare_synergy"]
    ).compare_synergy(_synergy(), "par", "res"),
    "synergy.MultiSynergyResult": lambda: __import__(
        "oncoresist.synergy", fromlist=["score_multi_combinations"]
    ).score_multi_combinations(_multi_screen(), models=["bliss"]),
    "evolution.SimulationResult": _build_simulation,
    "evolution.BurdenFit": _build_burden,
    "evolution.PsaForecastEvaluation": _build_psa,
    "predict.Evaluation": _evaluation,
    "predict.ResponseTruth": lambda: _panel_truth()[1],
    "predict.ModelCard": lambda: _trained().card,
    "predict.Application": _build_application,
    "predict.Attribution": _build_attribution,
    "predict.TableResult": _build_table_result,
    "mechanisms.Profile": _profile,
    "mechanisms.KnowledgeBase": lambda: __import__(
        "oncoresist.mechanisms", fromlist=["load_knowledge_base"]
    ).load_knowledge_base(),
    "mechanisms.Annotation": lambda: __import__(
        "oncoresist.mechanisms", fromlist=["annotate"]
    ).annotate(_profile(), "vemurafenib"),
    "mechanisms.CivicImport": _build_civic,
    "mechanisms.ReferencePanel": _build_reference_panel,
    "strategy.StrategyTable": lambda: __import__(
        "oncoresist.strategy", fromlist=["rank_next_drugs"]
    ).rank_next_drugs(_profile(), "vemurafenib"),
    "strategy.Strategies": lambda: __import__(
        "oncoresist.strategy", fromlist=["suggest_strategies"]
    ).suggest_strategies(
        _profile(),
        "vemurafenib",
        dependencies=False,
        connectivity=False,
        schedules=False,
        panels=False,
    ),
    "strategy.DependencyResult": lambda: __import__(
        "oncoresist.strategy", fromlist=["selective_dependencies"]
    ).selective_dependencies(*_dependency_data(), exclude=None),
    "strategy.PermutationCheck": lambda: __import__(
        "oncoresist.strategy", fromlist=["permutation_check"]
    ).permutation_check(*_dependency_data(), exclude=None, n_permutations=5, rng=0),
    "strategy.LineSelection": _build_line_selection,
    "strategy.QuerySignature": lambda: __import__(
        "oncoresist.strategy", fromlist=["signature_from_profile"]
    ).signature_from_profile(pd.Series({"A": 3.0, "B": -2.0, "X": 1.0}), ["A", "B"], n=1),
    "strategy.ConnectivityResult": _build_connectivity,
    "strategy.SynergyPredictionEvaluation": _build_synergy_prediction,
    "crispr.CrisprQC": lambda: __import__("oncoresist.crispr", fromlist=["crispr_qc"]).crispr_qc(
        _crispr()
    ),
    "crispr.CrisprResult": lambda: __import__("oncoresist.crispr", fromlist=["drugz"]).drugz(
        _crispr(), half_window=50
    ),
    "biomarkers.AssociationResult": lambda: __import__(
        "oncoresist.biomarkers", fromlist=["anova_associations"]
    ).anova_associations(
        __import__("oncoresist.data", fromlist=["make_panel"]).make_panel(
            n_samples=60, n_drugs=4, n_features=8, n_associations=2, n_confounded=1, rng=0
        )[0]
    ),
    "scale.ParquetRun": _build_parquet_run,
}


# --------------------------------------------------------------------------------- tests
def test_every_public_result_class_is_covered():
    found = _public_classes()
    missing = sorted(set(found) - set(BUILDERS) - set(NOT_RESULTS) - set(PENDING))
    assert not missing, f"result classes without a builder here: {missing}"
    stale = sorted(set(BUILDERS) - set(found))
    assert not stale, f"builders for classes no longer public: {stale}"
    hidden = sorted(c.__qualname__ for c in _scanned_classes() - set(found.values()))
    assert not hidden, f"classes with to_frame that no public name reaches: {hidden}"


def test_every_result_class_takes_the_mixin():
    for key, cls in _public_classes().items():
        if key in NOT_RESULTS or key in PENDING:
            continue
        assert issubclass(cls, ResultMixin), key
        assert "summary" in vars(cls) or any(
            "summary" in vars(b) for b in cls.__mro__[1:] if b is not ResultMixin
        ), f"{key} defines no summary()"


@pytest.mark.parametrize("key", sorted(BUILDERS))
def test_result_protocol(key):
    obj = BUILDERS[key]()
    cls = _public_classes()[key]
    assert isinstance(obj, cls)
    assert isinstance(obj, Result)
    line = obj.summary()
    assert isinstance(line, str) and line.strip()
    assert "\n" not in line and "\r" not in line
    frame = obj.to_frame()
    assert isinstance(frame, pd.DataFrame)
    out = obj._repr_html_()
    assert isinstance(out, str)
    assert html.escape(line) in out


@pytest.mark.parametrize("key", sorted(PENDING))
def test_pending_classes_are_still_pending(key):
    """Fails when the owner has added ``summary``: then move the class to ``BUILDERS``."""
    cls = _public_classes()[key]
    assert not issubclass(cls, ResultMixin), f"{key} takes the protocol now: add a builder"


def test_default_html_escapes_and_caps_rows():
    frame = pd.DataFrame({"a": range(MAX_HTML_ROWS + 5), "b": ["<x>"] * (MAX_HTML_ROWS + 5)})
    out = render_html("Thing: 1 < 2 & <b>bold</b>", frame)
    assert "Thing: 1 &lt; 2 &amp; &lt;b&gt;bold&lt;/b&gt;" in out
    assert "<x>" not in out and "&lt;x&gt;" in out
    assert f"{MAX_HTML_ROWS} of {MAX_HTML_ROWS + 5} rows" in out
    assert out.count("<tr") == MAX_HTML_ROWS + 1  # header row + capped body
