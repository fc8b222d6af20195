"""``oncoresist associate PANEL -o OUT``: drug x feature associations of a panel."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd

    from oncoresist.biomarkers import AssociationResult
    from oncoresist.data import Panel

__all__ = ["register"]


def _resolve_drugs(panel: Panel, wanted: list[str]) -> list[Any]:
    """Drug identifiers of ``--drug`` values: an identifier, or a name (all its screens)."""
    from oncoresist.errors import InputError

    ids = {str(d): d for d in panel.drugs}
    names: dict[str, list[Any]] = {}
    if panel.drug_annotations is not None and "drug_name" in panel.drug_annotations:
        for d, n in panel.drug_annotations["drug_name"].items():
            names.setdefault(str(n).casefold(), []).append(d)
    out: list[Any] = []
    for w in wanted:
        hit = [ids[w]] if w in ids else names.get(w.casefold())
        if not hit:
            known = list(ids) + sorted({str(n) for n in names})
            close = difflib.get_close_matches(w, known, n=5, cutoff=0.6)
            raise InputError(
                f"--drug {w!r}: no drug of panel {panel.name!r} has this identifier or name"
                + (f"; did you mean {', '.join(close)}?" if close else "")
                + " (the drug ids and names are in drugs.csv of an earlier run, or "
                "panel.drug_annotations)"
            )
        out += [h for h in hit if h not in out]
    return out


def _sample_covariates(panel: Panel, names: list[str]) -> pd.DataFrame:
    """One row per sample: its covariates and whether each could be matched."""
    import pandas as pd

    ann = panel.sample_annotations
    df = pd.DataFrame(index=panel.samples)
    for c in names:
        df[c] = ann[c] if ann is not None and c in ann else pd.NA
    missing = df.isna()
    df["status"] = [
        "ok" if not row.any() else "missing " + ", ".join(df.columns[: len(names)][row.to_numpy()])
        for _, row in missing.iterrows()
    ]
    return df.rename_axis("sample").reset_index()


def _write_tables(res: AssociationResult, run: Any, *, prefix: str) -> list[str]:
    """Write the result's table, skipped tests and excluded samples; return the file names."""
    from oncoresist._io import write_table

    names = [f"{prefix}{n}.csv" for n in ("associations", "skipped", "excluded_samples")]
    for name, table in zip(names, (res.table, res.skipped, res.excluded_samples), strict=True):
        write_table(table, run.path(name))
    return names


def register(app: typer.Typer) -> None:
    """Add the ``associate`` command to the main app."""

    @app.command("associate")
    def associate(
        panel: Annotated[
            str,
            typer.Argument(
                help="Named panel (gdsc_v17, gdsc1, gdsc2, tgsa, ctrp_v2, ccle_2012) or a "
                "directory with responses.csv, optional samples.csv, drugs.csv and one table per "
                "omics layer."
            ),
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
        mode: Annotated[str, typer.Option(help="pancan or per_tissue.")] = "pancan",
        layer: Annotated[
            list[str] | None,
            typer.Option(
                help="Layer(s) to test (repeat); default all (gdsc1/gdsc2: only these are loaded)."
            ),
        ] = None,
        continuous: Annotated[
            bool, typer.Option("--continuous", help="Also test continuous layers (linear model).")
        ] = False,
        drug: Annotated[
            list[str] | None,
            typer.Option(
                "--drug",
                help="Restrict to this drug (repeat): an identifier or a name (every screen of "
                "that name).",
            ),
        ] = None,
        min_responses: Annotated[int, typer.Option(help="Minimum responses per drug.")] = 6,
        min_group: Annotated[int, typer.Option(help="Minimum samples per feature group.")] = 3,
        metric: Annotated[
            str, typer.Option(help="Metric name for a directory panel.")
        ] = "response",
        higher_is_sensitive: Annotated[
            bool,
            typer.Option(
                "--higher-is-sensitive",
                help="Directory panel: high = sensitive (AUC-like activity).",
            ),
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
        executor: Annotated[
            str,
            typer.Option(
                "--executor",
                help="Where the drug chunks run: serial, threads, processes or dask (the same "
                "tables from each).",
            ),
        ] = "serial",
        scheduler: Annotated[
            str | None,
            typer.Option(
                "--scheduler",
                help="Dask scheduler address (tcp://host:8786) for --executor dask; default a "
                "local cluster.",
            ),
        ] = None,
    ) -> None:
        """Test every drug x genomic feature for association with response (covariates tissue,
        MSI, screen medium where the panel has them); write tidy tables (associations.csv,
        linear_associations.csv, skipped, excluded samples, sample_covariates.csv), self-contained
        figures and report.html."""
        import contextlib
        import html

        from rich.console import Console

        from oncoresist._io import check_input, output_run, write_table, write_text
        from oncoresist.biomarkers import (
            anova_associations,
            association_heatmap,
            linear_associations,
            report_section,
            volcano_plot,
        )
        from oncoresist.curves._executors import resolve_executor
        from oncoresist.curves._qc_plot import run_section
        from oncoresist.data import read_panel
        from oncoresist.data._panels import NAMED_PANELS
        from oncoresist.errors import InputError
        from oncoresist.report import Section, render_report

        from ._linear import _DEFAULT_COVARIATES

        console = Console(stderr=False)
        if mode not in ("pancan", "per_tissue"):
            raise InputError(f"--mode must be 'pancan' or 'per_tissue', got {mode!r}")
        # before any reading: a bad --executor / --scheduler fails at once (exit code 2)
        ex = resolve_executor(executor, scheduler=scheduler)
        # a Dask executor connects (or starts its local cluster) here, before any reading,
        # and keeps that one cluster for both analyses
        with ex if isinstance(ex, contextlib.AbstractContextManager) else contextlib.nullcontext():
            if Path(panel).exists():
                check_input(panel)
            omics = layer if (layer and panel in ("gdsc1", "gdsc2", "tgsa")) else None
            p = read_panel(
                panel, metric=metric, lower_is_sensitive=not higher_is_sensitive, omics=omics
            )
            console.print(repr(p), markup=False, highlight=False)
            if len(p.alignment):
                console.print(p.alignment_summary(), markup=False, highlight=False)
            if layer:
                unknown = [k for k in layer if k not in p.layer_kinds]
                if unknown:
                    raise InputError(
                        f"--layer {', '.join(unknown)}: panel {p.name!r} has no such layer "
                        f"(layers: {dict(p.layer_kinds) or 'none'})"
                    )
            binary = [
                k for k, v in p.layer_kinds.items() if v == "binary" and (not layer or k in layer)
            ]
            cont = [
                k
                for k, v in p.layer_kinds.items()
                if v == "continuous" and (not layer or k in layer)
            ]
            if not binary and not (continuous and cont):
                if cont:
                    raise InputError(
                        f"panel {p.name!r}: the layer(s) selected ({', '.join(cont)}) are "
                        "continuous; pass --continuous to test them with the linear model"
                    )
                raise InputError(
                    f"panel {p.name!r} has no layer to test (layers: {dict(p.layer_kinds) or 'none'}"
                    + (f"; named panels: {', '.join(NAMED_PANELS)}" if not p.layer_kinds else "")
                    + "); add an omics table to the panel folder"
                )
            drugs = _resolve_drugs(p, drug) if drug else None
            covs = [
                c
                for c in _DEFAULT_COVARIATES
                if p.sample_annotations is not None and c in p.sample_annotations
            ]
            inputs = [Path(panel)] if Path(panel).exists() else []
            params = {"panel": panel, "mode": mode, "layer": layer, "continuous": continuous,
                      "drug": drug, "min_responses": min_responses, "min_group": min_group,
                      "metric": metric, "higher_is_sensitive": higher_is_sensitive,
                      "executor": executor, "scheduler": scheduler}  # fmt: skip
            expect = ("report.html", "sample_covariates.csv", "alignment.csv")
            with output_run(
                out, command="associate", inputs=inputs, params=params, expect=expect
            ) as run:
                written = []
                warn = list(p.notes)
                cov_table = _sample_covariates(p, covs)
                write_table(cov_table, run.path("sample_covariates.csv"))
                align = p.alignment.assign(
                    missing=p.alignment["missing"].map(lambda v: " ".join(map(str, v))),
                    extra=p.alignment["extra"].map(lambda v: " ".join(map(str, v))),
                )
                write_table(align, run.path("alignment.csv"))
                write_text(run.path("panel_notes.txt"), "\n".join(p.notes) + "\n")
                if p.drug_annotations is not None:
                    write_table(p.drug_annotations.rename_axis("drug").reset_index(),
                                run.path("drugs.csv"))  # fmt: skip
                    written.append("drugs.csv")
                written += ["sample_covariates.csv", "alignment.csv", "panel_notes.txt"]
                n_unmatched = int((cov_table["status"] != "ok").sum())
                if n_unmatched:
                    warn.append(
                        f"{n_unmatched} of {len(cov_table)} samples lack a covariate "
                        f"({'+'.join(covs)}): see sample_covariates.csv"
                    )
                console.print(
                    f"covariates {'+'.join(covs) or 'none'}: {len(cov_table) - n_unmatched} of "
                    f"{len(cov_table)} samples complete, {n_unmatched} without (sample_covariates.csv)",
                    markup=False,
                )
                panel_text = "".join(f"<p>{html.escape(n)}</p>" for n in p.notes)
                sections = [
                    Section(
                        title=f"Panel {p.name}",
                        text=f"<pre>{html.escape(repr(p))}</pre>{panel_text}",
                        tables=[
                            ("Alignment of tables", p.alignment.drop(columns=["missing", "extra"])),
                            (
                                "Samples with missing covariates",
                                cov_table[cov_table["status"] != "ok"],
                            ),
                        ],
                    )
                ]
                if binary:
                    res = anova_associations(
                        p,
                        layers=binary,
                        mode=mode,  # type: ignore[arg-type]
                        drugs=drugs,
                        min_responses=min_responses,
                        min_group=min_group,
                        progress=not quiet,
                        executor=ex,
                    )
                    written += _write_tables(res, run, prefix="")
                    # plotly.js embedded: the figures open offline
                    write_text(
                        run.path("volcano.html"), volcano_plot(res).to_html(include_plotlyjs=True)
                    )
                    write_text(
                        run.path("heatmap.html"),
                        association_heatmap(res).to_html(include_plotlyjs=True),
                    )
                    written += ["volcano.html", "heatmap.html"]
                    sections.append(report_section(res, p, title="Binary features (ANOVA)"))
                    if res.n_skipped:
                        warn.append(f"binary features: {res.n_skipped} tests skipped (skipped.csv)")
                    console.print(f"[bold]binary features[/bold]: {res.summary()}")
                if continuous and cont:
                    lin = linear_associations(
                        p,
                        layers=cont,
                        mode=mode,  # type: ignore[arg-type]
                        drugs=drugs,
                        progress=not quiet,
                        executor=ex,
                    )
                    written += _write_tables(lin, run, prefix="linear_")
                    sections.append(report_section(lin, title="Continuous features (linear model)"))
                    if lin.n_skipped:
                        warn.append(
                            f"continuous features: {lin.n_skipped} tests skipped "
                            "(linear_skipped.csv)"
                        )
                    console.print(f"[bold]continuous features[/bold]: {lin.summary()}")
                written.append("report.html")
                what = run_section(
                    "associate", inputs=inputs, params=params, warnings=warn, outputs=written
                )
                render_report(
                    [what, *sections], run.path("report.html"), title=f"Associations: {p.name}"
                )
            console.print(f"wrote {', '.join(written)} to {out}", markup=False)
            console.print(f"report: {run.final('report.html')}", markup=False)
