"""``oncoresist associate PANEL -o OUT``: drug x feature associations of a panel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``associate`` command to the main app."""

    @app.command("associate")
    def associate(
        panel: Annotated[
            str,
            typer.Argument(
                help="Named panel (gdsc_v17, gdsc1, gdsc2, tgsa) or a directory with "
                "responses.csv, optional samples.csv, drugs.csv and one table per omics layer."
            ),
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
        mode: Annotated[str, typer.Option(help="pancan or per_tissue.")] = "pancan",
        layer: Annotated[
            list[str] | None, typer.Option(help="Layer(s) to test (repeat); default all.")
        ] = None,
        continuous: Annotated[
            bool, typer.Option("--continuous", help="Also test continuous layers (linear model).")
        ] = False,
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
    ) -> None:
        """Test every drug x genomic feature for association with response; write tidy tables
        (associations.csv, skipped.csv, excluded_samples.csv) and figures (HTML)."""
        from rich.console import Console

        from oncoresist._io import check_input, output_run, write_table, write_text
        from oncoresist.biomarkers import (
            anova_associations,
            association_heatmap,
            linear_associations,
            volcano_plot,
        )
        from oncoresist.data import read_panel
        from oncoresist.errors import InputError

        console = Console()
        if Path(panel).exists():
            check_input(panel)
        p = read_panel(panel, metric=metric, lower_is_sensitive=not higher_is_sensitive)
        console.print(repr(p))
        if len(p.alignment):
            console.print(p.alignment_summary())
        binary = [
            k for k, v in p.layer_kinds.items() if v == "binary" and (not layer or k in layer)
        ]
        cont = [
            k for k, v in p.layer_kinds.items() if v == "continuous" and (not layer or k in layer)
        ]
        inputs = [Path(panel)] if Path(panel).exists() else []
        params = {"panel": panel, "mode": mode, "layer": layer, "continuous": continuous,
                  "min_responses": min_responses, "min_group": min_group, "metric": metric,
                  "higher_is_sensitive": higher_is_sensitive}  # fmt: skip
        with output_run(out, command="associate", inputs=inputs, params=params) as run:
            written = []
            if binary:
                res = anova_associations(
                    p,
                    layers=binary,
                    mode=mode,  # type: ignore[arg-type]
                    min_responses=min_responses,
                    min_group=min_group,  # type: ignore[arg-type]
                    progress=True,
                )
                write_table(res.table, run.path("associations.csv"))
                write_table(res.skipped, run.path("skipped.csv"))
                write_table(res.excluded_samples, run.path("excluded_samples.csv"))
                write_text(
                    run.path("volcano.html"), volcano_plot(res).to_html(include_plotlyjs="cdn")
                )
                write_text(
                    run.path("heatmap.html"),
                    association_heatmap(res).to_html(include_plotlyjs="cdn"),
                )
                written += [
                    "associations.csv",
                    "skipped.csv",
                    "excluded_samples.csv",
                    "volcano.html",
                    "heatmap.html",
                ]
                console.print(f"[bold]binary features[/bold]: {res.summary()}")
            if continuous and cont:
                lin = linear_associations(p, layers=cont, mode=mode, progress=True)  # type: ignore[arg-type]
                write_table(lin.table, run.path("linear_associations.csv"))
                write_table(lin.skipped, run.path("linear_skipped.csv"))
                written += ["linear_associations.csv", "linear_skipped.csv"]
                console.print(f"[bold]continuous features[/bold]: {lin.summary()}")
            if not written:
                raise InputError(
                    f"panel {p.name!r} has no layer to test (layers: {dict(p.layer_kinds)}); "
                    "add a binary layer or pass --continuous"
                )
        console.print(f"wrote {', '.join(written)} to {out}")
