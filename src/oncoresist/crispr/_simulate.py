"""A simulated chemogenetic CRISPR knockout screen with a known answer.

The generative model (every step a stated assumption, chosen to look like a TKO/Brunello screen):

* plasmid abundances are lognormal (``library_skew`` = sd of the natural log), the library skew;
* a T0 (reference) sample is a negative-binomial draw around ``depth`` reads per guide;
* every guide has a knockout efficiency: a fraction ``1 - guide_efficiency`` is ineffective (0),
  the rest uniform on [0.6, 1];
* a gene has a log2 fitness effect in the control arm (essential genes: -U(1, 3); others 0) and
  the same plus a drug interaction in the drug arm (sensitisers: -U(1, 2.5); suppressors:
  +U(1, 2.5)); a guide's log2 change is its efficiency times its gene's effect;
* each replicate (A, B, C ...) adds per-guide noise (normal, sd ``replicate_noise`` in log2)
  shared by its control and drug arm (the cells were split from one infected population), which
  is why the paired analysis has more power;
* every late sample is a negative-binomial draw (variance ``mu + dispersion * mu^2``) around the
  renormalised abundances at its own depth (``depth`` +- 20 %).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from oncoresist.data._crispr import CrisprScreen

__all__ = ["simulate_crispr_screen"]


def simulate_crispr_screen(
    *,
    n_genes: int = 2000,
    guides_per_gene: int = 4,
    n_replicates: int = 3,
    depth: float = 400.0,
    sensitisers: int = 40,
    suppressors: int = 40,
    essential: int = 200,
    guide_efficiency: float = 0.85,
    dispersion: float = 0.05,
    replicate_noise: float = 0.25,
    library_skew: float = 0.6,
    rng: int | np.random.Generator | None = None,
) -> tuple[CrisprScreen, pd.DataFrame]:
    """Simulate counts of a T0 + control arm + drug arm knockout screen with known hits.

    Parameters
    ----------
    n_genes, guides_per_gene
        Library size (guides are named ``<gene>_<k>``; genes ``G00001`` ...).
    n_replicates
        Paired replicates per arm (labels A, B, C ...).
    depth
        Mean reads per guide per sample.
    sensitisers, suppressors, essential
        Numbers of genes of each kind (disjoint; drawn at random among the genes).
    guide_efficiency
        Fraction of guides that work (knockout efficiency U(0.6, 1)); the rest have none.
    dispersion
        Negative-binomial dispersion of the sequencing/sampling noise.
    replicate_noise
        Sd (log2) of the per-guide replicate effect shared by the two arms of a replicate.
    library_skew
        Sd of the natural log of the plasmid abundances.
    rng
        Seed or generator.

    Returns
    -------
    screen : CrisprScreen
        Samples ``T0`` (reference), ``CTRL_A`` ... (control), ``DRUG_A`` ... (treatment).
    truth : pandas.DataFrame
        Index ``gene``: ``kind`` (``"sensitiser"``, ``"suppressor"``, ``"essential"``,
        ``"neutral"``), ``control_lfc``, ``drug_lfc`` (log2 effect of a fully effective guide),
        ``interaction_lfc`` (drug minus control).

    Examples
    --------
    >>> screen, truth = simulate_crispr_screen(n_genes=500, rng=1)
    >>> int((truth["kind"] == "sensitiser").sum())
    40
    """
    from oncoresist.data._crispr import CrisprScreen as _Screen

    g = np.random.default_rng(rng)
    if sensitisers + suppressors + essential > n_genes:
        from oncoresist.errors import InputError

        raise InputError(
            f"sensitisers + suppressors + essential ({sensitisers + suppressors + essential}) "
            f"exceed n_genes ({n_genes}); lower them or raise n_genes"
        )
    genes = np.array([f"G{i + 1:05d}" for i in range(n_genes)])
    kind = np.full(n_genes, "neutral", dtype=object)
    perm = g.permutation(n_genes)
    kind[perm[:sensitisers]] = "sensitiser"
    kind[perm[sensitisers : sensitisers + suppressors]] = "suppressor"
    kind[perm[sensitisers + suppressors : sensitisers + suppressors + essential]] = "essential"
    ctrl_lfc = np.where(kind == "essential", -g.uniform(1.0, 3.0, n_genes), 0.0)
    inter = np.zeros(n_genes)
    inter[kind == "sensitiser"] = -g.uniform(1.0, 2.5, sensitisers)
    inter[kind == "suppressor"] = g.uniform(1.0, 2.5, suppressors)
    drug_lfc = ctrl_lfc + inter

    n_guides = n_genes * guides_per_gene
    gene_of = np.repeat(np.arange(n_genes), guides_per_gene)
    guide_ids = np.char.add(
        np.char.add(genes[gene_of].astype(str), "_"),
        np.tile(np.arange(1, guides_per_gene + 1), n_genes).astype(str),
    )
    works = g.random(n_guides) < guide_efficiency
    eff = np.where(works, g.uniform(0.6, 1.0, n_guides), 0.0)
    log_plasmid = g.normal(0.0, library_skew, n_guides)
    p0 = np.exp(log_plasmid)
    p0 /= p0.sum()

    def draw(p: np.ndarray) -> np.ndarray:
        total = depth * n_guides * g.uniform(0.8, 1.2)
        mu = total * p / p.sum()
        r = 1.0 / dispersion
        return g.negative_binomial(r, r / (r + mu)).astype(np.int64)

    reps = [chr(ord("A") + k) for k in range(n_replicates)]
    cols: dict[str, np.ndarray] = {"T0": draw(p0)}
    log2_p0 = np.log2(p0)
    ctrl_cols, drug_cols = {}, {}
    for rep in reps:
        shared = g.normal(0.0, replicate_noise, n_guides)
        ctrl_cols[f"CTRL_{rep}"] = draw(2.0 ** (log2_p0 + eff * ctrl_lfc[gene_of] + shared))
        drug_cols[f"DRUG_{rep}"] = draw(2.0 ** (log2_p0 + eff * drug_lfc[gene_of] + shared))
    cols.update(ctrl_cols)
    cols.update(drug_cols)
    counts = pd.DataFrame(cols, index=pd.Index(guide_ids, name="guide"))
    guides = pd.DataFrame(
        {"gene": genes[gene_of], "control": np.zeros(n_guides, dtype=bool)}, index=counts.index
    )
    samples = pd.DataFrame(
        {
            "role": ["reference"] + ["control"] * n_replicates + ["treatment"] * n_replicates,
            "replicate": [pd.NA, *reps, *reps],
            "day": [0.0] + [15.0] * (2 * n_replicates),
        },
        index=pd.Index(list(cols), name="sample"),
    )
    samples["replicate"] = samples["replicate"].astype("string")
    screen = _Screen(counts, guides, samples, source="simulate_crispr_screen")
    truth = pd.DataFrame(
        {
            "kind": kind.astype(str),
            "control_lfc": ctrl_lfc,
            "drug_lfc": drug_lfc,
            "interaction_lfc": inter,
        },
        index=pd.Index(genes, name="gene"),
    )
    return screen, truth
