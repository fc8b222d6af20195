"""Demo: leave-cell-line-out evaluation of baselines vs models, real data when available."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._design import drug_features, pair_frame
from ._evaluate import evaluate
from ._models import DrugMean, GlobalMean, MeanEffects, PerDrugElasticNet, PerDrugRandomForest
from ._report import report_section
from ._synthetic import make_response_panel

__all__ = ["demo_sections"]


def _global_model(rng: int) -> tuple[str, Any]:
    try:
        import lightgbm  # noqa: F401
    except ImportError:  # pragma: no cover - optional extra missing
        return "random_forest", PerDrugRandomForest(n_estimators=50, random_state=rng)
    from ._models import GlobalLightGBM

    return "lightgbm", GlobalLightGBM(n_estimators=150, random_state=rng)


def _models(rng: int) -> dict[str, Any]:
    name, model = _global_model(rng)
    return {
        "global_mean": GlobalMean(),
        "drug_mean": DrugMean(),
        "mean_effects": MeanEffects(),
        "elastic_net": PerDrugElasticNet(random_state=rng),
        name: model,
    }


def _drug_table(panel: Any) -> Any:
    try:
        return drug_features(panel.drug_annotations, n_bits=64)
    except Exception:  # pragma: no cover - RDKit missing: targets only
        return drug_features(panel.drug_annotations, fingerprints=False)


def demo_sections(out_dir: Path, *, rng: int = 0, progress: bool = False) -> list[Any]:
    """Prediction sections of ``oncoresist demo``: synthetic ground truth, then TGSA GDSC.

    Examples
    --------
    >>> secs = demo_sections(Path("demo-out"))  # doctest: +SKIP
    """
    from ..data import mirror_available
    from ._explain import explain

    sections = []
    panel, _truth = make_response_panel(n_samples=200, n_drugs=6, rng=rng)
    X, y = pair_frame(panel, drug_table=_drug_table(panel))
    models = _models(rng)
    ev = evaluate(
        models, X, y, splits=["pair", "cell_line"], n_splits=3, rng=rng, progress=progress
    )
    from .._io import write_table

    write_table(ev.metrics(), Path(out_dir) / "predict_synthetic_metrics.csv")
    en = PerDrugElasticNet(random_state=rng).fit(X, y)
    sections.append(
        report_section(
            ev,
            title="Prediction: synthetic panel with a known response function",
            dataset="synthetic (200 lines, 6 drugs, planted biomarkers)",
            attribution=explain(en, X),
        )
    )
    if mirror_available("tgsa_gdsc_ccle706") and mirror_available("depmap_sample_info"):
        from ._real import load_tgsa_panel

        real = load_tgsa_panel(n_drugs=4, n_samples=300, rng=rng)
        Xr, yr = pair_frame(real, drug_table=_drug_table(real))
        evr = evaluate(
            _models(rng), Xr, yr, splits=["cell_line"], n_splits=3, rng=rng, progress=progress
        )
        write_table(evr.metrics(), Path(out_dir) / "predict_gdsc_metrics.csv")
        sections.append(
            report_section(
                evr,
                title="Prediction: GDSC (TGSA) subset, leave-cell-line-out",
                dataset=f"TGSA GDSC ln IC50, {real.shape[0]} lines x {real.shape[1]} drugs "
                f"({', '.join(map(str, real.drugs))})",
            )
        )
    return sections
