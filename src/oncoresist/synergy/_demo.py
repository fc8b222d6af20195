"""Demo: a resistant line rescued by a combination, and SynergyFinder's O'Neil blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_table
from ._report import report_section
from ._score import compare_synergy, score_combinations
from ._synthetic import make_combination_screen

__all__ = ["demo_sections"]


def demo_sections(out_dir: Path, *, rng: int = 0, progress: bool = False) -> list[Any]:
    """Sections of the ``oncoresist demo`` report for drug combinations (< 30 s).

    1. Synthetic: a targeted drug loses 30-fold potency in the resistant line; the partner drug
       alone is weak, but in the resistant line it raises the targeted drug's potency
       (``alpha12 = alpha21 = 20``) and efficacy (``beta = 0.3``), so the combination rescues
       killing. Synergy is scored on both lines and compared.
    2. Real: the two O'Neil blocks of SynergyFinder's examples when the data are available.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    screen = make_combination_screen(
        1,
        samples=("parental", "resistant"),
        drugs=("targeted", "partner"),
        e1=np.array([0.9, 0.9]),
        e2=np.array([0.3, 0.3]),
        c1=np.array([0.1, 3.0]),
        c2=np.array([1.0, 1.0]),
        h1=1.5,
        h2=1.0,
        alpha12=np.array([1.0, 20.0]),
        alpha21=np.array([1.0, 20.0]),
        beta=np.array([0.0, 0.1]),
        noise=0.03,
        rng=rng,
    )
    res = score_combinations(screen, n_boot=50, rng=rng, progress=progress)
    comp = compare_synergy(res, "parental", "resistant")
    write_table(res.scores, out_dir / "synergy_demo_scores.csv")
    write_table(comp.pairs, out_dir / "synergy_demo_resistance.csv")
    intro = (
        "<p>Synthetic resistant line (targeted drug EC50 0.1 µM &rarr; 3 µM) rescued by a partner "
        "drug that is weak alone but restores the targeted drug's potency in the resistant line "
        "(MuSyC alpha = 20). Synergy is gained with resistance: see the comparison table.</p>"
    )
    sections = [
        report_section(
            res, title="Drug combinations: resistance rescued", comparison=comp, intro=intro
        )
    ]
    try:
        from ..data import mirror_available
        from ..data._combination import fetch_synergyfinder_example
        from ..errors import DataUnavailableError

        if mirror_available("synergyfinder_combo_matrices"):
            oneil = fetch_synergyfinder_example("oneil")
            r2 = score_combinations(oneil, n_boot=50, rng=rng, progress=progress)
            write_table(r2.scores, out_dir / "synergy_oneil_scores.csv")
            sections.append(
                report_section(
                    r2,
                    title="Drug combinations: O'Neil 2016 blocks (SynergyFinder examples)",
                    intro="<p>MK-1775 + niraparib on OCUBM (O'Neil Loewe label +73) and "
                    "paclitaxel + L-778123 on NCIH2122 (label -164).</p>",
                )
            )
    except (ImportError, DataUnavailableError):  # pragma: no cover - data absent
        pass
    return sections
