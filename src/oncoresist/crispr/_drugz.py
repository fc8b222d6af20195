"""DrugZ: gene-level chemogenetic interactions of a drug arm against a control arm.

Implemented from Colic, Wang, Zimmermann et al., *Genome Medicine* 2019;11:52 ("Identifying
chemogenetic interactions from CRISPR screens with drugZ"):

1. every sample of the comparison is scaled to the same total read count (the mean total of the
   compared samples) and a pseudocount (5 by default) is added;
2. a guide's fold change is ``log2(treated / control)``, replicate by replicate in the paired mode
   (control A with treated A, ...), or of the arm means in the unpaired mode;
3. each fold change is divided by an empirical-Bayes estimate of its standard deviation: the
   standard deviation of the fold changes of the guides with the most similar control read counts
   (a rolling window of ``2 * half_window + 1`` guides ordered by control abundance; at the two
   ends of the abundance range the first / last full window is used), giving a guide z-score;
4. a gene's ``sum_z`` is the sum of its guide z-scores over guides and replicates, and
   ``norm_z = sum_z / sqrt(number of z-scores)``; ``pval_synth = Phi(norm_z)`` (synthetic
   lethal / sensitiser tail, negative ``norm_z``), ``pval_supp = 1 - Phi(norm_z)`` (suppressor /
   resistance tail), each tail with its own Benjamini-Hochberg FDR.

Guides with fewer than ``min_obs`` reads in the control sample of a comparison are removed from
that comparison (the paper removes guides with no reads in the control; ``min_obs=1``), and the
number removed is stated in the result's ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from oncoresist.crispr._result import CrisprResult
from oncoresist.errors import InputError

if TYPE_CHECKING:
    from oncoresist.data._crispr import CrisprScreen

__all__ = ["drugz", "drugz_arrays", "rolling_std"]


def rolling_std(values: np.ndarray, half_window: int) -> np.ndarray:
    """Standard deviation (ddof=1) of a window of ``2 * half_window + 1`` neighbours.

    ``values`` must already be in the order that defines the neighbourhood (here: guides sorted by
    control read count). Near the ends the window is not shrunk but clamped: the first
    ``half_window`` values share the first full window, the last ones the last full window. With
    fewer values than one window, every value gets the standard deviation of all of them.

    Examples
    --------
    >>> import numpy as np
    >>> rolling_std(np.arange(10.0), 2).round(3)[:4]
    array([1.581, 1.581, 1.581, 1.581])
    """
    x = np.asarray(values, dtype=float)
    n = x.size
    if n < 2:
        return np.full(n, np.nan)
    w = 2 * int(half_window) + 1
    if n <= w:
        return np.full(n, float(np.std(x, ddof=1)))
    xc = x - x.mean()  # centring first keeps the sums-of-squares difference accurate
    s1 = np.concatenate(([0.0], np.cumsum(xc)))
    s2 = np.concatenate(([0.0], np.cumsum(xc * xc)))
    lo = np.clip(np.arange(n) - half_window, 0, n - w)
    hi = lo + w
    m = (s1[hi] - s1[lo]) / w
    var = ((s2[hi] - s2[lo]) - w * m * m) / (w - 1)
    return np.sqrt(np.maximum(var, 0.0))


def _guide_z(
    fc: np.ndarray, abundance: np.ndarray, half_window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes z-scores of fold changes ordered by control abundance (NaN = excluded)."""
    z = np.full(fc.shape, np.nan)
    sd = np.full(fc.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(fc))
    if ok.size == 0:
        return z, sd
    order = ok[np.argsort(abundance[ok], kind="stable")]
    s = rolling_std(fc[order], half_window)
    sd[order] = s
    with np.errstate(divide="ignore", invalid="ignore"):
        z[order] = fc[order] / s
    return z, sd


def drugz_arrays(
    control: np.ndarray,
    treatment: np.ndarray,
    gene_codes: np.ndarray,
    *,
    n_genes: int,
    paired: bool,
    control_raw: np.ndarray | None = None,
    pseudocount: float = 5.0,
    min_obs: int = 1,
    half_window: int = 500,
) -> dict[str, np.ndarray]:
    """DrugZ on arrays of already depth-normalised counts (no pseudocount added yet).

    Parameters
    ----------
    control, treatment
        Guides x replicates, normalised to the same total. Paired: the same number of columns,
        column ``k`` of one paired with column ``k`` of the other.
    gene_codes
        Integer gene index (0 .. n_genes - 1) per guide; ``-1`` keeps a guide out of the genes
        (control guides still inform the standard-deviation estimate).
    control_raw
        Raw control counts for the ``min_obs`` filter (defaults to ``control``).

    Returns
    -------
    dict
        ``fc``, ``z``, ``sd`` (guides x comparisons), ``excluded`` (per comparison), and per gene
        ``sum_z``, ``num_obs``, ``num_guides``, ``norm_z``, ``pval_synth``, ``pval_supp``.
    """
    c = np.asarray(control, dtype=float)
    t = np.asarray(treatment, dtype=float)
    craw = c if control_raw is None else np.asarray(control_raw, dtype=float)
    if not paired:
        c = c.mean(axis=1, keepdims=True)
        t = t.mean(axis=1, keepdims=True)
        craw = craw.mean(axis=1, keepdims=True)
    if c.shape != t.shape:
        raise InputError(
            f"paired DrugZ needs as many control as treatment samples ({c.shape[1]} vs {t.shape[1]})"
        )
    keep = craw >= min_obs
    fc = np.where(keep, np.log2((t + pseudocount) / (c + pseudocount)), np.nan)
    z = np.full(fc.shape, np.nan)
    sd = np.full(fc.shape, np.nan)
    for k in range(fc.shape[1]):  # one rolling-window estimate per comparison (<= a few)
        z[:, k], sd[:, k] = _guide_z(fc[:, k], c[:, k], half_window)
    codes = np.asarray(gene_codes)
    ing = codes >= 0
    valid = np.isfinite(z)
    zsum_guide = np.where(valid, z, 0.0).sum(axis=1)
    nobs_guide = valid.sum(axis=1)
    sum_z = np.bincount(codes[ing], weights=zsum_guide[ing], minlength=n_genes)
    num_obs = np.bincount(codes[ing], weights=nobs_guide[ing], minlength=n_genes)
    num_guides = np.bincount(codes[ing], weights=(nobs_guide[ing] > 0), minlength=n_genes)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm_z = np.where(num_obs > 0, sum_z / np.sqrt(num_obs), np.nan)
    return {
        "fc": fc,
        "z": z,
        "sd": sd,
        "excluded": (~keep).sum(axis=0),
        "sum_z": sum_z,
        "num_obs": num_obs.astype(np.int64),
        "num_guides": num_guides.astype(np.int64),
        "norm_z": norm_z,
        "pval_synth": stats.norm.cdf(norm_z),
        "pval_supp": stats.norm.sf(norm_z),
    }


def _bh(p: np.ndarray) -> np.ndarray:
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _rank(x: np.ndarray) -> np.ndarray:
    """1 = smallest; NaN last."""
    r = pd.Series(x).rank(method="first", na_option="bottom").to_numpy()
    return r.astype(np.int64)


def _choose_samples(
    screen: CrisprScreen,
    control: Sequence[str] | None,
    treatment: Sequence[str] | None,
    paired: bool | None,
) -> tuple[list[str], list[str], bool, list[str]]:
    notes: list[str] = []
    ctrl = list(screen.arm("control")) if control is None else list(control)
    trt = list(screen.arm("treatment")) if treatment is None else list(treatment)
    for role, names in (("control", ctrl), ("treatment", trt)):
        if not names:
            raise InputError(
                f"DrugZ needs at least one {role} sample; the screen's samples table has none with "
                f"role '{role}' (column 'role'); annotate one or pass {role}=[...]"
            )
        missing = [s for s in names if s not in screen.sample_names]
        if missing:
            raise InputError(
                f"{role} sample(s) {missing} are not columns of the count table; "
                f"the samples are {screen.sample_names}"
            )
    if paired is False:
        return ctrl, trt, False, notes
    try:
        pairs = [(a, b) for a, b in screen.pairs() if a in ctrl and b in trt]
        if len(pairs) != len(ctrl) or len(pairs) != len(trt):
            unmatched = [s for s in ctrl + trt if s not in {x for p in pairs for x in p}]
            raise InputError(
                f"sample(s) {unmatched} have no partner with the same 'replicate' label in the "
                "samples table; give every control/treatment pair the same label or use paired=False"
            )
    except InputError as err:
        if paired:
            raise
        notes.append(f"unpaired DrugZ: the arms could not be paired ({err})")
        return ctrl, trt, False, notes
    return [a for a, _ in pairs], [b for _, b in pairs], True, notes


def drugz(
    screen: CrisprScreen,
    *,
    control: Sequence[str] | None = None,
    treatment: Sequence[str] | None = None,
    paired: bool | None = None,
    pseudocount: float = 5.0,
    min_obs: int = 1,
    half_window: int = 500,
    norm_method: Literal["total", "median"] = "total",
) -> CrisprResult:
    """DrugZ (Colic et al. 2019): sensitiser and suppressor genes of a drug arm vs its control.

    Parameters
    ----------
    screen
        A :class:`~oncoresist.data.CrisprScreen`.
    control, treatment
        Sample names of the two arms; default the samples with role ``control`` / ``treatment``.
    paired
        ``True``: one fold change per replicate pair (``screen.pairs()``), an error if the arms
        cannot be paired; ``False``: fold change of the arm means; ``None`` (default): paired when
        every sample has a partner, else unpaired with a note.
    pseudocount
        Added to the depth-normalised counts before the log ratio (the paper's 5).
    min_obs
        Guides with fewer raw reads than this in the control sample of a comparison are left out
        of that comparison (counted in ``notes``).
    half_window
        Half width of the rolling window (in guides, ordered by control abundance) of the
        empirical-Bayes standard deviation; the window holds ``2 * half_window + 1`` guides.
    norm_method
        ``"total"`` (the paper's: every sample scaled to the same total) or ``"median"``
        (MAGeCK's median ratio over the compared samples), which resists the shift that strong
        selection in a few genes (many enriched suppressor guides) gives every other guide's fold
        change under total-count scaling.

    Returns
    -------
    CrisprResult
        ``genes``: ``num_guides``, ``num_obs``, ``sum_z``, ``norm_z``, ``pval_synth``,
        ``fdr_synth``, ``rank_synth``, ``pval_supp``, ``fdr_supp``, ``rank_supp``, sorted by
        ``rank_synth``; ``guides``: gene, per-comparison fold change and z-score.

    Examples
    --------
    >>> from oncoresist.crispr._simulate import simulate_crispr_screen
    >>> screen, truth = simulate_crispr_screen(n_genes=300, rng=0)
    >>> res = drugz(screen)
    >>> res.genes.columns[:4].tolist()
    ['num_guides', 'num_obs', 'sum_z', 'norm_z']
    """
    from oncoresist.crispr._normalise import normalise_counts

    ctrl, trt, is_paired, notes = _choose_samples(screen, control, treatment, paired)
    notes = list(getattr(screen, "notes", ())) + notes
    counts = screen.counts
    raw = counts[ctrl + trt].to_numpy(dtype=float)
    norm, size = normalise_counts(raw, method=norm_method)
    nc = len(ctrl)
    guides = screen.guides
    is_ctrl = (
        guides["control"].to_numpy(dtype=bool)
        if "control" in guides
        else np.zeros(len(guides), bool)
    )
    gene_names = guides["gene"].astype(str).to_numpy()
    cats, codes = np.unique(gene_names[~is_ctrl], return_inverse=True)
    gene_codes = np.full(len(guides), -1, dtype=np.int64)
    gene_codes[~is_ctrl] = codes
    out = drugz_arrays(
        norm[:, :nc],
        norm[:, nc:],
        gene_codes,
        n_genes=len(cats),
        paired=is_paired,
        control_raw=raw[:, :nc],
        pseudocount=pseudocount,
        min_obs=min_obs,
        half_window=half_window,
    )
    labels = [f"{a}_vs_{b}" for a, b in zip(trt, ctrl, strict=True)] if is_paired else ["mean"]
    for lab, n_ex in zip(labels, out["excluded"], strict=True):
        if n_ex:
            notes.append(
                f"{int(n_ex)} guide(s) with fewer than {min_obs} control read(s) excluded from "
                f"comparison {lab}"
            )
    if is_ctrl.any():
        notes.append(
            f"{int(is_ctrl.sum())} control guide(s) used for the standard-deviation estimate only "
            "(not reported as genes)"
        )
    if (is_paired and nc == 1) or (not is_paired and (nc == 1 or len(trt) == 1)):
        notes.append("a single replicate per arm: replicate agreement cannot be checked")
    if not is_paired:
        notes.append("unpaired: fold changes of the arm means")
    ps, pp = out["pval_synth"], out["pval_supp"]
    genes = pd.DataFrame(
        {
            "num_guides": out["num_guides"],
            "num_obs": out["num_obs"],
            "sum_z": out["sum_z"],
            "norm_z": out["norm_z"],
            "pval_synth": ps,
            "fdr_synth": _bh(ps),
            "rank_synth": _rank(out["norm_z"]),
            "pval_supp": pp,
            "fdr_supp": _bh(pp),
            "rank_supp": _rank(-out["norm_z"]),
        },
        index=pd.Index(cats, name="gene"),
    )
    no_obs = int((genes["num_obs"] == 0).sum())
    if no_obs:
        notes.append(f"{no_obs} gene(s) with no guide passing the filter (norm_z NaN)")
    genes = genes.sort_values("rank_synth")
    gcols: dict[str, Any] = {"gene": gene_names}
    for k, lab in enumerate(labels):
        gcols[f"fc_{lab}"] = out["fc"][:, k]
        gcols[f"z_{lab}"] = out["z"][:, k]
    gcols["sum_z"] = np.nansum(out["z"], axis=1)
    guide_df = pd.DataFrame(gcols, index=pd.Index(counts.index, name="guide"))
    return CrisprResult(
        method="drugz",
        genes=genes,
        guides=guide_df,
        comparison={"control": ctrl, "treatment": trt, "paired": is_paired},
        params={
            "normalisation": (
                "total (every sample scaled to the mean total of the compared samples)"
                if norm_method == "total"
                else "median ratio over the compared samples"
            ),
            "size_factors": dict(
                zip(ctrl + trt, np.asarray(size, dtype=float).tolist(), strict=True)
            ),
            "pseudocount": pseudocount,
            "min_obs": min_obs,
            "half_window": half_window,
            "paired": is_paired,
        },
        notes=tuple(notes),
    )
