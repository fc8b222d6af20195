"""Synthetic multi-omics response panels generated from a known response function.

Response of sample ``i`` to drug ``j`` (natural-log IC50-like)::

    y_ij = mu + a_j + t_{tissue(i), j} + c * g_i + sum_k w_jk x_ik + u_i + e_ij

- ``a_j``: drug mean (large, as in real screens where the drug explains most variance);
- ``t``: tissue x drug effects; ``g_i``: a general-resistance gene (expression of ``ABC0``,
  an efflux-pump-like gene) acting on every drug;
- ``w_jk``: drug-specific biomarkers. Drugs are grouped into mechanism classes; drugs of a class
  share a scaffold in their SMILES, a target, and their biomarkers (one mutation, one expressed
  gene and one copy-number gene), so a model with drug features can transfer to a new drug;
- ``u_i``: a latent cell-line effect not visible in any omics layer (what no model can learn,
  but a per-sample mean can memorise under a random pair split);
- ``e_ij``: measurement noise.

``truth.expected`` is ``E[y | omics, tissue]`` (without ``u`` and ``e``): the best any model can
predict for a new cell line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..data._panel import Panel
from ..errors import InputError

__all__ = ["ResponseTruth", "make_response_panel"]

_SCAFFOLDS = (
    "c1ccccc1",
    "C1CCNCC1",
    "c1ccncc1",
    "C1CCOC1",
    "c1ccc2ccccc2c1",
    "c1cnc2ccccc2n1",
    "C1CC1",
    "c1ccsc1",
)
_TAILS = ("O", "N", "Cl", "F", "C(=O)O", "C#N")


@dataclass(frozen=True)
class ResponseTruth(ResultMixin):
    """Known parameters of a :func:`make_response_panel` panel.

    Attributes
    ----------
    effects
        One row per planted drug x feature effect: ``drug, feature, layer, gene, effect,
        mechanism``; the general-resistance gene appears with ``drug="*"``.
    expected
        Samples x drugs ``E[y | omics, tissue]`` (no latent cell-line effect, no noise).
    mechanisms
        Mechanism name -> list of genes (gene sets for aggregating attributions).
    noise_sd, latent_sd
        Standard deviations of the measurement noise and of the latent cell-line effect.
    """

    effects: pd.DataFrame
    expected: pd.DataFrame
    mechanisms: dict[str, list[str]]
    noise_sd: float
    latent_sd: float

    def to_frame(self) -> pd.DataFrame:
        """The planted effects table."""
        return self.effects.copy()

    def summary(self) -> str:
        """One line: planted effects, mechanisms and the noise levels."""
        return (
            f"ResponseTruth: {len(self.effects)} planted effects, {len(self.mechanisms)} "
            f"mechanisms, {self.expected.shape[0]} samples x {self.expected.shape[1]} drugs; "
            f"noise sd {self.noise_sd:g}, latent sd {self.latent_sd:g}"
        )


def make_response_panel(
    n_samples: int = 300,
    n_drugs: int = 12,
    n_genes: int = 60,
    *,
    n_mechanisms: int = 4,
    n_tissues: int = 4,
    effect_size: float = 1.2,
    general_effect: float = 0.5,
    tissue_sd: float = 0.4,
    drug_sd: float = 1.5,
    latent_sd: float = 0.4,
    noise_sd: float = 0.5,
    missing_rate: float = 0.05,
    rng: int | np.random.Generator | None = None,
    sample_rng: int | np.random.Generator | None = None,
) -> tuple[Panel, ResponseTruth]:
    """Panel with expression, mutation and copy-number layers and a known response function.

    Parameters
    ----------
    rng
        Seeds the response function (drug means, tissue effects, biomarkers, SMILES).
    sample_rng
        Seeds the cell lines (omics, tissue, latent effect, noise). Two calls with the same
        ``rng`` and different ``sample_rng`` give two independent generations of cell lines
        under the same response function: a held-out generation to check that cross-validated
        estimates are not inflated. Default: continue from ``rng``.

    Returns
    -------
    panel, truth
        See :class:`ResponseTruth`.

    Examples
    --------
    >>> panel, truth = make_response_panel(n_samples=100, n_drugs=4, rng=0)
    >>> panel.shape
    (100, 4)
    >>> sorted(panel.layers)
    ['copy_number', 'expression', 'mutation']
    """
    from ._evaluate import _check_count

    _check_count(n_samples, "n_samples", minimum=2)
    _check_count(n_drugs, "n_drugs")
    _check_count(n_mechanisms, "n_mechanisms")
    _check_count(n_tissues, "n_tissues")
    _check_count(n_genes, "n_genes")
    for name, value in (
        ("effect_size", effect_size),
        ("general_effect", general_effect),
        ("tissue_sd", tissue_sd),
        ("drug_sd", drug_sd),
        ("latent_sd", latent_sd),
        ("noise_sd", noise_sd),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value!r}")
        if name.endswith("_sd") and value < 0:
            raise InputError(f"{name} must be >= 0, got {value!r}")
    if not (isinstance(missing_rate, int | float) and 0 <= missing_rate < 1):
        raise InputError(f"missing_rate must be a fraction in [0, 1), got {missing_rate!r}")
    if n_genes < 3 * n_mechanisms + 1:
        raise InputError(
            f"n_genes={n_genes} is too small: need 3 biomarker genes per mechanism plus one "
            f"general-resistance gene, at least {3 * n_mechanisms + 1}"
        )
    if n_mechanisms > len(_SCAFFOLDS):
        raise InputError(f"n_mechanisms must be at most {len(_SCAFFOLDS)}")
    gp = np.random.default_rng(rng)
    genes = ["ABC0"] + [f"G{k:03d}" for k in range(1, n_genes)]
    drugs = pd.Index([f"D{j:03d}" for j in range(n_drugs)], name="drug")
    mech_of = np.arange(n_drugs) % n_mechanisms
    mech_names = [f"M{m}" for m in range(n_mechanisms)]
    # Biomarkers of mechanism m: a mutated gene, an expressed gene, an amplified gene.
    mech_genes = {
        mech_names[m]: [genes[1 + 3 * m], genes[2 + 3 * m], genes[3 + 3 * m]]
        for m in range(n_mechanisms)
    }
    a = gp.normal(0.0, drug_sd, n_drugs)
    mu = 2.0
    t_eff = gp.normal(0.0, tissue_sd, (n_tissues, n_drugs))
    # Per-drug scale of the class effects (drugs of one class differ in potency of the effect).
    scale = gp.uniform(0.6, 1.4, n_drugs)
    sign_mut = -1.0  # mutation of the target sensitises (oncogene addiction)
    sign_expr = 1.0  # expression of the class gene gives resistance
    sign_cn = -1.0
    smiles = [
        _SCAFFOLDS[mech_of[j]] + "C" * (1 + (j // n_mechanisms) % 4) + _TAILS[j % len(_TAILS)]
        for j in range(n_drugs)
    ]
    rows = []
    for j, d in enumerate(drugs):
        g_mut, g_expr, g_cn = mech_genes[mech_names[mech_of[j]]]
        for layer, g, sgn in (
            ("mutation", g_mut, sign_mut),
            ("expression", g_expr, sign_expr),
            ("copy_number", g_cn, sign_cn),
        ):
            rows.append(
                {
                    "drug": d,
                    "feature": f"{layer}:{g}",
                    "layer": layer,
                    "gene": g,
                    "effect": sgn * effect_size * scale[j] * (1.0 if layer == "mutation" else 0.6),
                    "mechanism": mech_names[mech_of[j]],
                }
            )
    rows.append(
        {
            "drug": "*",
            "feature": "expression:ABC0",
            "layer": "expression",
            "gene": "ABC0",
            "effect": general_effect,
            "mechanism": "efflux",
        }
    )
    effects = pd.DataFrame(rows)
    mechanisms = {**mech_genes, "efflux": ["ABC0"]}

    gs = gp if sample_rng is None else np.random.default_rng(sample_rng)
    samples = pd.Index([f"S{i:04d}" for i in range(n_samples)], name="sample")
    tissue = gs.integers(0, n_tissues, n_samples)
    expr = gs.normal(0.0, 1.0, (n_samples, n_genes))
    mut = (gs.random((n_samples, n_genes)) < 0.2).astype(float)
    cn = gs.normal(0.0, 1.0, (n_samples, n_genes))  # log2 ratio-like, centred
    layers = {
        "expression": pd.DataFrame(expr, index=samples, columns=genes),
        "mutation": pd.DataFrame(mut, index=samples, columns=genes),
        "copy_number": pd.DataFrame(cn, index=samples, columns=genes),
    }
    E = mu + a[None, :] + t_eff[tissue] + general_effect * expr[:, [0]]
    gidx = {g: k for k, g in enumerate(genes)}
    for r in rows[:-1]:
        jj = int(np.flatnonzero(drugs == r["drug"])[0])
        E[:, jj] += r["effect"] * layers[r["layer"]].to_numpy()[:, gidx[r["gene"]]]
    latent = gs.normal(0.0, latent_sd, n_samples)
    Y = E + latent[:, None] + gs.normal(0.0, noise_sd, E.shape)
    Y[gs.random(Y.shape) < missing_rate] = np.nan
    tissues = np.array([f"tissue{t}" for t in range(n_tissues)])
    panel = Panel(
        pd.DataFrame(Y, index=samples, columns=drugs),
        layers,
        layer_kinds={"expression": "continuous", "mutation": "binary", "copy_number": "continuous"},
        sample_annotations=pd.DataFrame({"tissue": tissues[tissue]}, index=samples),
        drug_annotations=pd.DataFrame(
            {
                "smiles": smiles,
                "target": [mech_genes[mech_names[m]][0] for m in mech_of],
                "mechanism": [mech_names[m] for m in mech_of],
            },
            index=drugs,
        ),
        metric="ln_ic50",
        lower_is_sensitive=True,
        name="synthetic_response",
    )
    truth = ResponseTruth(
        effects=effects,
        expected=pd.DataFrame(E, index=samples, columns=drugs),
        mechanisms=mechanisms,
        noise_sd=noise_sd,
        latent_sd=latent_sd,
    )
    return panel, truth
