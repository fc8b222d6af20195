"""Drug-response prediction from multi-omics, evaluated honestly.

Models are scikit-learn regressors over a design table of (sample, drug) pairs
(:func:`pair_frame`): naive baselines (:class:`GlobalMean`, :class:`DrugMean`,
:class:`SampleMean`, :class:`MeanEffects`), per-drug :class:`PerDrugElasticNet` and
:class:`PerDrugRandomForest`, a global :class:`GlobalLightGBM` with drug fingerprints, and a
multi-omics network (:class:`MultiOmicsNet`, optional ``torch``). :func:`evaluate` runs grouped
splits (pair, cell line, drug, tissue) with inner-fold tuning and reports baselines beside every
model; :func:`evaluate_cross_study` trains on one study and tests on another.
"""

from __future__ import annotations

from ._design import (
    drug_feature_columns,
    drug_features,
    morgan_fingerprints,
    pair_frame,
    sample_feature_columns,
    sample_features,
    target_onehot,
)
from ._evaluate import (
    SPLITS,
    Evaluation,
    evaluate,
    evaluate_cross_study,
    make_folds,
    summarise_studies,
)
from ._explain import Attribution, explain, mechanism_gene_sets
from ._metrics import METRICS, fold_group_metrics, group_metrics, pearson, score_predictions
from ._models import (
    MODELS,
    DrugMean,
    GlobalLightGBM,
    GlobalMean,
    MeanEffects,
    PerDrugElasticNet,
    PerDrugRandomForest,
    SampleMean,
    ShrunkDrugMean,
    get_model,
    register_model,
)
from ._nn import MultiOmicsNet
from ._persist import (
    Application,
    ModelCard,
    TrainedModel,
    TrainingOverlapWarning,
    fit_model,
    load_model,
)
from ._plots import (
    plot_baseline_comparison,
    plot_drug_scatter,
    plot_importance,
    plot_metric_by_split,
)
from ._real import (
    PREDICT_PANELS,
    gene_aliases,
    load_prediction_panel,
    load_tgsa_panel,
    match_ctrp,
)
from ._report import report_section
from ._synthetic import ResponseTruth, make_response_panel
from ._table import (
    TableResult,
    evaluate_table,
    markdown_chosen,
    markdown_table,
    real_data_table,
    table_param_grids,
)

__all__ = [
    "METRICS",
    "MODELS",
    "PREDICT_PANELS",
    "SPLITS",
    "Application",
    "Attribution",
    "DrugMean",
    "Evaluation",
    "GlobalLightGBM",
    "GlobalMean",
    "MeanEffects",
    "ModelCard",
    "MultiOmicsNet",
    "PerDrugElasticNet",
    "PerDrugRandomForest",
    "ResponseTruth",
    "SampleMean",
    "ShrunkDrugMean",
    "TableResult",
    "TrainedModel",
    "TrainingOverlapWarning",
    "drug_feature_columns",
    "drug_features",
    "evaluate",
    "evaluate_cross_study",
    "evaluate_table",
    "explain",
    "fit_model",
    "fold_group_metrics",
    "gene_aliases",
    "get_model",
    "group_metrics",
    "load_model",
    "load_prediction_panel",
    "load_tgsa_panel",
    "make_folds",
    "make_response_panel",
    "markdown_chosen",
    "markdown_table",
    "match_ctrp",
    "mechanism_gene_sets",
    "morgan_fingerprints",
    "pair_frame",
    "pearson",
    "plot_baseline_comparison",
    "plot_drug_scatter",
    "plot_importance",
    "plot_metric_by_split",
    "real_data_table",
    "register_model",
    "report_section",
    "sample_feature_columns",
    "sample_features",
    "score_predictions",
    "summarise_studies",
    "table_param_grids",
    "target_onehot",
]
