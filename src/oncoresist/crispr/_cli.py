"""``oncoresist crispr COUNTS... -o OUT --samples SAMPLES [--methods drugz,rra,...]``"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import typer

__all__ = ["register"]

#: Statistics the command runs, in the order they are reported.
METHODS = ("drugz", "rra", "mle", "bagel")


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _gene_sets(essential: str | None, notes: list[str]):
    """(essential, nonessential) gene sets from a set name or a file of gene names.

    ``None`` (the default) is Hart et al. 2014's reference sets when the data are available,
    else no sets, said in ``notes``.
    """
    from ..data._crispr_datasets import load_essential_genes
    from ..errors import DataUnavailableError, InputError

    if essential is None:
        try:
            return load_essential_genes("hart2014")
        except DataUnavailableError as exc:
            notes.append(
                "the reference essential / non-essential genes (Hart 2014) are not available "
                f"(not in a mirror or the cache, and not downloadable: {type(exc).__name__}), so "
                "QC has no essential-gene separation; set ONCORESIST_DATA_MIRROR or pass "
                "--essential FILE"
            )
            return None, None
    if essential.lower() == "none":
        return None, None
    path = Path(essential)
    if path.suffix or path.exists():
        if not path.exists():
            raise InputError(f"--essential {essential}: file not found (or name a built-in set)")
        genes = [g.strip() for g in path.read_text().split() if g.strip()]
        return frozenset(genes), None
    return load_essential_genes(cast(Any, essential))  # the name is checked there


def _read_design(path: Path):
    """MAGeCK's design matrix file: first column the sample names, then 0/1 condition columns.

    Tab-, comma- or whitespace-separated (MAGeCK's own demo file uses runs of spaces).
    """
    import pandas as pd

    from ..data._crispr import _load
    from ..errors import InputError

    frame = _load(path, None).frame
    if frame.shape[1] == 1:  # not tab/comma separated: runs of spaces, as MAGeCK's demo
        frame = pd.read_csv(path, sep=r"\s+", dtype=str)
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: the design matrix needs a sample column and condition columns (0/1), "
            "separated by tabs, commas or spaces"
        )
    design = frame.set_index(frame.columns[0])
    try:
        return design.apply(pd.to_numeric)
    except ValueError as exc:
        raise InputError(f"{path}: every design value must be 0 or 1 ({exc})") from None


def run_crispr(
    screen,
    run,
    *,
    methods,
    essential: str | None,
    design_path: Path | None,
    norm_method: str,
    permutations: int | None,
    rra_null: str,
    pairing: str,
    seed: int,
    fdr: float,
    top: int,
    console,
) -> list:
    """Run QC and every statistic of ``methods`` on ``screen``; write tables and the report."""
    from rich.markup import escape

    from .._io import write_table
    from ..errors import InputError
    from ..report import Section, render_report
    from ._bagel import bagel_bf
    from ._drugz import drugz
    from ._kb import join_knowledge_base
    from ._mle import mageck_mle
    from ._normalise import NORMALISATIONS
    from ._qc import crispr_qc
    from ._report import report_section
    from ._rra import mageck_rra

    if norm_method not in NORMALISATIONS:
        raise InputError(f"--norm {norm_method!r}: use one of {', '.join(NORMALISATIONS)}")
    norm = cast(Any, norm_method)
    notes: list[str] = []
    ess, noness = _gene_sets(essential, notes)
    for n in notes:
        console.print(escape(f"note: {n}"))
    qc = crispr_qc(screen, essential=ess, nonessential=noness)
    for name in ("samples", "replicates", "separation"):
        t = getattr(qc, name, None)
        if t is not None and len(t):
            write_table(t.reset_index(), run.path(f"qc_{name}.csv"))
    results = []
    has_drug = bool(screen.arm("control")) and bool(screen.arm("treatment"))
    for m in methods:
        console.print(f"[bold]{m}[/] ...")
        if m == "drugz":
            if not has_drug:
                raise InputError(
                    "--methods drugz needs a control and a treatment arm (roles 'control' and "
                    "'treatment' in --samples); this screen has "
                    + ", ".join(f"{r}: {len(screen.arm(r))}" for r in ("reference", "control", "treatment"))
                )  # fmt: skip
            results.append(drugz(screen, paired={"auto": None, "paired": True,
                                                 "unpaired": False}[pairing]))  # fmt: skip
        elif m == "rra":
            from ._rra import DEFAULT_PERMUTATIONS

            results.append(
                mageck_rra(
                    screen,
                    norm_method=norm,
                    null=cast(Any, rra_null),
                    permutations=DEFAULT_PERMUTATIONS if permutations is None else permutations,
                    rng=seed,
                )
            )
        elif m == "mle":
            if design_path is None:
                raise InputError(
                    "--methods mle needs --design DESIGN.tsv (samples x conditions, 0/1, with a "
                    "baseline column, as MAGeCK's -d design matrix)"
                )
            results.append(mageck_mle(screen, _read_design(design_path), norm_method=norm,
                                      permutations=2 if permutations is None else permutations,
                                      rng=seed))  # fmt: skip
        elif m == "bagel":
            if ess is None or noness is None:
                raise InputError(
                    "--methods bagel needs reference essential and non-essential sets: use "
                    "--essential hart2014 (or another built-in pair), not a single gene file"
                )
            # essentiality is read from the untreated late arm; a screen without one (a
            # proliferation screen: reference and late samples only) uses its late samples
            late = screen.arm("control") or screen.arm("treatment")
            results.append(
                bagel_bf(screen, essential=ess, nonessential=noness, late=late, rng=seed)
            )
    for r in results:
        write_table(join_knowledge_base(r).reset_index(), run.path(f"{r.method}_genes.csv"))
        if len(r.guides):
            write_table(r.guides.reset_index(), run.path(f"{r.method}_guides.csv"))
    render_report(
        [
            Section(
                "Screen",
                text=f"<p>{screen.n_guides} guides of {screen.genes.nunique()} genes in "
                f"{len(screen.sample_names)} samples ({screen.source}).</p>"
                + "".join(f"<p>Note: {n}</p>" for n in (*getattr(screen, "notes", ()), *notes)),
            ),
            report_section(results, qc=qc, fdr=fdr, top=top),
        ],
        run.path("report.html"),
        title="CRISPR screen",
    )
    return results


def register(app: typer.Typer) -> None:
    """Add the ``crispr`` command to the main app."""

    @app.command("crispr")
    def crispr(
        counts: list[Path] = typer.Argument(
            ...,
            help="Counts: a MAGeCK count table (sgRNA, Gene, one column per sample), a tidy long "
            "table (guide, gene, sample, count), or one file per sample (several files or a "
            "folder).",
        ),
        out: Path = typer.Option(..., "-o", "--out", help="Output folder."),
        samples: Path = typer.Option(
            ...,
            "--samples",
            help="Sample annotation: sample, role (reference/T0, control, treatment)[, "
            "replicate, day]; or a metadata file with 0/1 columns plasmid, control, treatment.",
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="mageck, per_sample or long (detected when not given)."
        ),
        methods: str = typer.Option(
            "drugz,rra", "--methods", help=f"Comma-separated statistics: {', '.join(METHODS)}."
        ),
        replicate_pattern: str | None = typer.Option(
            None,
            "--replicate-pattern",
            help="Regular expression with one group giving the replicate label from the sample "
            "name, when --samples has no replicate column (e.g. 'T15([A-C])').",
        ),
        control_genes: str = typer.Option(
            "", "--control-genes", help="Comma-separated control genes (non-targeting etc.)."
        ),
        norm_method: str = typer.Option(
            "median", "--norm", help="Normalisation for RRA/MLE: median, total, control, none."
        ),
        essential: str | None = typer.Option(
            None,
            "--essential",
            help="Reference essential / non-essential genes for QC and BAGEL: hart2014 (the "
            "default when the data are available), hart2017, bagel_curated, depmap_common, a "
            "file of gene names, or none.",
        ),
        design: Path | None = typer.Option(None, "--design", help="Design matrix for MLE."),
        permutations: int | None = typer.Option(
            None,
            "--permutations",
            help="RRA: permutations of its null (default 100,000); MLE: permutation rounds "
            "(default 2, as MAGeCK's --permutation-round).",
        ),
        rra_null: str = typer.Option(
            "uniform",
            "--rra-null",
            help="RRA permutation null: uniform (random guides, MAGeCK's default) or controls "
            "(the --control-genes guides, as MAGeCK with --control-sgrna).",
        ),
        pairing: str = typer.Option(
            "auto",
            "--pairing",
            help="DrugZ: paired (control and treatment samples matched by replicate; an "
            "unmatched sample is an error), unpaired, or auto (paired when every sample pairs, "
            "else unpaired with a note).",
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of the permutations and bootstraps."),
        fdr: float = typer.Option(0.1, "--fdr", help="FDR of the hits listed in the report."),
        top: int = typer.Option(20, "--top", help="Genes listed when none reaches --fdr."),
    ) -> None:
        """Score a pooled CRISPR screen (QC, DrugZ, MAGeCK RRA/MLE, BAGEL) and write a report."""
        from rich.console import Console
        from rich.markup import escape

        from .._io import check_input, output_run
        from ..data._crispr import read_crispr_counts
        from ..errors import InputError

        console = Console()
        names = _split(methods)
        unknown = [m for m in names if m not in METHODS]
        if unknown or not names:
            raise InputError(
                f"--methods {methods!r}: unknown {', '.join(unknown) or '(none given)'}; use "
                f"{', '.join(METHODS)}"
            )
        if pairing not in ("auto", "paired", "unpaired"):
            raise InputError(f"--pairing {pairing!r}: use auto, paired or unpaired")
        if rra_null not in ("uniform", "controls"):
            raise InputError(f"--rra-null {rra_null!r}: use uniform or controls")
        if not 0 < fdr < 1:
            raise InputError(f"--fdr {fdr}: give a number between 0 and 1")
        if permutations is not None and permutations < 1:
            raise InputError(f"--permutations {permutations}: give a positive count")
        inputs = [*counts, samples] + ([design] if design is not None else [])
        for p in inputs:
            check_input(p)
        screen = read_crispr_counts(
            counts if len(counts) > 1 else counts[0],
            fmt=fmt,
            samples=samples,
            control_genes=_split(control_genes) or None,
            replicate_pattern=replicate_pattern,
        )
        params = {"methods": names, "format": fmt, "norm": norm_method, "essential": essential,
                  "permutations": permutations, "rra_null": rra_null, "pairing": pairing, "seed": seed, "fdr": fdr, "top": top,
                  "control_genes": control_genes, "replicate_pattern": replicate_pattern}  # fmt: skip
        expect = tuple(f"qc_{n}.csv" for n in ("samples", "replicates", "separation")) + tuple(
            f"{m}_{k}.csv" for m in METHODS for k in ("genes", "guides")
        ) + ("report.html",)  # fmt: skip
        with output_run(out, command="crispr", inputs=inputs, params=params, expect=expect) as run:
            results = run_crispr(
                screen, run, methods=names, essential=essential, design_path=design,
                norm_method=norm_method, permutations=permutations, rra_null=rra_null, pairing=pairing, seed=seed, fdr=fdr, top=top,
                console=console,
            )  # fmt: skip
        for r in results:
            s = r.counts()
            hits = ", ".join(f"{k[2:-10]} {v}" for k, v in s.items() if k.endswith("_below_0.1"))
            console.print(escape(f"{r.method}: {s['n_genes']} genes; FDR < 0.1: {hits or 'n/a'}"))
        console.print(escape(f"outputs in {out}"))
