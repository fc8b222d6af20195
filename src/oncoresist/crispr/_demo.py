"""Demo: a simulated chemogenetic screen with known hits, and the HeLa olaparib screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .._io import write_table
from ._drugz import drugz
from ._qc import crispr_qc
from ._report import report_section
from ._rra import mageck_rra
from ._simulate import simulate_crispr_screen

__all__ = ["demo_sections"]


def _recovery(result: Any, truth: pd.DataFrame, column: str, kind: str) -> tuple[int, int, int]:
    """(true genes, found at FDR < 0.1, false discoveries) of one tail."""
    g = result.genes
    true = set(truth.index[truth["kind"] == kind]) if "kind" in truth else set()
    hits = set(g.index[g[column] < 0.1])
    return len(true), len(hits & true), len(hits - true)


def demo_sections(out_dir: Path, *, rng: int = 0, progress: bool = False) -> list[Any]:
    """Sections of the ``oncoresist demo`` report for CRISPR screens (< 20 s).

    1. Synthetic: 2,000 genes x 4 guides, 3 paired control and drug arms, 40 sensitisers and 40
       suppressors planted: DrugZ and MAGeCK RRA, with what they recovered.
    2. Real: the HeLa olaparib TKOv1 screen (Zimmermann et al. 2018) when the data are
       available, else a section saying why it was skipped.
    """
    from ..data import mirror_available
    from ..errors import DataUnavailableError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    screen, truth = simulate_crispr_screen(rng=rng)
    truth = truth.set_index("gene") if "gene" in truth.columns else truth
    dz = drugz(screen)
    rra = mageck_rra(screen, permutations=20_000, rng=rng)
    write_table(dz.to_frame(), out_dir / "simulated_drugz_genes.csv")
    rows = []
    for name, res, col, kind in (
        ("DrugZ sensitisers", dz, "fdr_synth", "sensitiser"),
        ("DrugZ suppressors", dz, "fdr_supp", "suppressor"),
        ("RRA depleted", rra, "neg_fdr", "sensitiser"),
        ("RRA enriched", rra, "pos_fdr", "suppressor"),
    ):
        n_true, found, false = _recovery(res, truth, col, kind)
        rows.append({"call": name, "planted": n_true, "found_at_fdr_0.1": found,
                     "false_discoveries": false})  # fmt: skip
    intro = (
        "<p>Simulated screen with known answers (negative-binomial counts, ~400 reads per "
        "guide, 15 % ineffective guides, 200 essential genes): how many of the planted "
        "sensitisers and suppressors each statistic finds at FDR &lt; 0.1, and how many genes "
        "it calls wrongly.</p>"
    )
    sections = [
        report_section(
            [dz, rra],
            qc=crispr_qc(screen),
            title="CRISPR screen: simulated",
            intro=intro,
            kb_join=False,
        ),
    ]
    sections[0].tables.insert(0, ("Recovery of the planted genes", pd.DataFrame(rows)))
    from ..report import Section

    if not mirror_available("hela_olaparib_tkov1_colic2019"):
        sections.append(
            Section(
                "CRISPR screen: HeLa olaparib (real data)",
                text="<p>Skipped: the HeLa olaparib screen is not in a data mirror "
                "(set ONCORESIST_DATA_MIRROR) or the cache.</p>",
            )
        )
        return sections
    try:
        from ..data._crispr_datasets import fetch_hela_olaparib, load_essential_genes

        hela = fetch_hela_olaparib()
        ess, non = load_essential_genes("hart2014")
        hz = drugz(hela)
        hr = mageck_rra(hela, rng=rng)
        write_table(hz.to_frame(), out_dir / "hela_drugz_genes.csv")
        write_table(hr.to_frame(), out_dir / "hela_rra_genes.csv")
        sections.append(
            report_section(
                [hz, hr],
                qc=crispr_qc(hela, essential=ess, nonessential=non),
                title="CRISPR screen: HeLa olaparib (Zimmermann et al. 2018)",
                intro="<p>TKOv1 (91,320 guides), T0 and three paired untreated and olaparib "
                "arms. The paper's top sensitisers are the RNase H2 genes RNASEH2A/B/C.</p>",
            )
        )
    except DataUnavailableError as exc:  # pragma: no cover - partial mirror
        sections.append(
            Section("CRISPR screen: HeLa olaparib (real data)", text=f"<p>Skipped: {exc}</p>")
        )
    return sections
