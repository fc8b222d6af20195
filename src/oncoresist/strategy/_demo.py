"""Demo: strategies for one resistant model built from the demo's own screens (< 20 s)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .._text import fmt_number

__all__ = ["demo_sections"]

#: Names given to the three strongest planted sensitisers of the synthetic screen, so that the
#: mapping of a screen hit to the drugs that hit it can be shown (the genes are synthetic).
DEMO_LABELS = ("MET", "BCL2L1", "AURKA")


def demo_model(rng: int = 0) -> tuple[Any, Any]:
    """The demo's resistant model: an EGFR L858R + T790M lung profile resistant to gefitinib,
    with the demo's synthetic DrugZ screen of it (2,000 genes, 40 planted sensitisers; the three
    strongest planted sensitisers relabelled :data:`DEMO_LABELS`)."""
    from ..crispr import CrisprResult, drugz, simulate_crispr_screen
    from ..mechanisms import make_profile

    profile = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung", sample="demo_PC9_GR")
    screen, truth = simulate_crispr_screen(rng=rng)
    truth = truth.set_index("gene") if "gene" in truth.columns else truth
    dz = drugz(screen)
    planted = truth.index[truth["kind"] == "sensitiser"]
    top = dz.genes.loc[dz.genes.index.isin(planted)].sort_values("fdr_synth").index[:3]
    mapping = dict(zip(top, DEMO_LABELS, strict=False))
    genes = dz.genes.rename(index=mapping)
    res = CrisprResult(method=dz.method, genes=genes, guides=dz.guides,
                       comparison=dz.comparison, params=dz.params,
                       notes=(*dz.notes, f"synthetic genes relabelled: {mapping}"))  # fmt: skip
    return profile, res


#: True IC50 fold-shifts of the demo's parental vs gefitinib-resistant dose-response screen.
DEMO_FOLDS = {"gefitinib": 40.0, "osimertinib": 1.2}


def demo_shift(rng: int = 0) -> Any:
    """The resistant model's own dose-response screen: the parental line and its gefitinib-
    resistant derivative against gefitinib and osimertinib (true fold-shifts
    :data:`DEMO_FOLDS`), normalised and compared by :func:`oncoresist.curves.resistance_shift`;
    its resistance indices parameterise the schedule comparison."""
    from ..curves import normalise, resistance_shift
    from ..data import make_screen

    syn = make_screen(n_samples=1, drugs=list(DEMO_FOLDS), resistant_fold=list(DEMO_FOLDS.values()),
                      noise=0.05, rng=rng)  # fmt: skip
    return resistance_shift(normalise(syn.screen), parental="P01", resistant="P01-R")


def demo_sections(out_dir: Path, *, rng: int = 0, progress: bool = False) -> list[Any]:
    """The ``oncoresist demo`` section for strategies; DepMap / LINCS run when mirrored and are
    listed as not assessable otherwise."""
    from .._io import write_table
    from ._report import report_section
    from ._strategy import suggest_strategies

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile, screen = demo_model(rng)
    shift = demo_shift(rng)
    res = suggest_strategies(profile, "gefitinib", crispr=screen, shift=shift, rng=rng)
    write_table(shift, out_dir / "strategy_shift.csv")
    write_table(res.to_frame(), out_dir / "strategies.csv")
    write_table(res.evidence, out_dir / "evidence.csv")
    write_table(res.not_assessable, out_dir / "not_assessable.csv")
    sec = report_section(res, title="Strategy: EGFR T790M lung model resistant to gefitinib")
    intro = (
        "<p>One resistant model from the demo's own screens: an EGFR L858R + T790M lung "
        "profile resistant to gefitinib, with the synthetic DrugZ screen of the CRISPR section "
        f"(its three strongest planted sensitisers relabelled {', '.join(DEMO_LABELS)} to show "
        "how a screen hit maps to drugs; they are synthetic genes), and its own synthetic "
        "parental vs resistant dose-response screen (true IC50 fold-shifts "
        + ", ".join(f"{d} {f:g}" for d, f in DEMO_FOLDS.items())
        + "; measured "
        + ", ".join(f"{d} {c if isinstance(c, str) else ''}{fmt_number(ri)}" for d, ri, c in
                    zip(shift.drug, shift.resistance_index, shift.ri_censored, strict=True))
        + "), whose resistance indices set the resistant clone's response in the schedule "
        "comparison.</p>"
    )  # fmt: skip
    return [dataclasses.replace(sec, text=intro + sec.text)]
