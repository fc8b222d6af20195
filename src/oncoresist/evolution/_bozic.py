"""Bozic et al. 2013 (eLife 2:e00747): analytic probabilities and their simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import spence

from ..errors import InputError
from ._presets import bozic2013_model
from ._simulate import _arrays, _per_capita, _step_branching

__all__ = ["bozic_eradication_probability", "bozic_resistance_probability", "simulate_bozic"]


def _check(m: float, b: float, d: float) -> float:
    if not (m > 0 and b > d >= 0):
        raise InputError(f"need M > 0 and b > d >= 0, got M={m}, b={b}, d={d}")
    return 1.0 - d / b


def _two_step_hazard(m: float, u_first: float, v: float, s: float, span: float) -> float:
    """Expected number of living two-step lineages at detection (first step ``u_first``, then ``v``).

    A first-step cell founded ``tau`` days before detection carries a living second-step
    lineage at detection with probability ``q(tau) = s k y / (s + k y)``, ``y = e^{r tau}``,
    ``k = v ln(1/s) / (1 - s)``: along the first-step lineage (``W y`` cells, ``W`` exponential
    with mean ``1/s`` given survival) second-step cells arrive at rate ``b v`` per cell and live
    to detection with Kendall's probability, so ``q = s E[1 - exp(-k W y)]``. Integrating the
    first-step arrivals ``b u_first M e^{-r tau}`` over ``y`` in ``[1, span]`` gives the
    logarithm; the Li2 term removes the excess of ``k y`` over the exact mean for young lineages
    (their second-step cells have had no time to die: ``int_0^inf ln(1 - (1-s) e^{-r x}) dx``).
    """
    if m * u_first * v == 0:
        return 0.0
    k = v * math.log(1 / s) / (1 - s)
    log_span = math.log(span) + math.log1p(k / s) - math.log1p(k * span / s)
    bracket = log_span - float(spence(s)) / math.log(1 / s)  # scipy's spence(s) = Li2(1 - s)
    return m * u_first * k / s * max(bracket, 0.0)


def bozic_resistance_probability(
    m: float,
    *,
    n1: int = 50,
    n2: int | None = None,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    u: float = 1e-9,
    start: float = 1.0,
) -> float:
    """Probability that resistant cells exist when a lesion reaches ``m`` cells.

    One drug (``n2=None``): ``1 - exp(-M u n1 ln(1/s) / (1 - s))``, ``s = 1 - d/b`` (Iwasa,
    Nowak & Michor 2006; Bozic et al. 2013, eLife 2:e00747), exact for a lesion growing
    exponentially to ``M`` cells.

    Two drugs: cells resistant to both, ``1 - p1 p2``. ``p1 = exp(-M u n12 ln(1/s) / (1-s))``
    (one cross-resistance step, as above). ``p2 = exp(-H_A - H_B)`` sums the two two-step paths,
    sensitive -> resistant to A (``n1 u`` per division) -> both (``(n2 + n12) u``), and the same
    through B::

        H_A = (M n1 u k_A / s) [ln(E (s + k_A) / (s + k_A E)) - Li2(1 - s) / ln(1/s)],
        k_A = (n2 + n12) u ln(1/s) / (1 - s),   E = M (1 - (1-s)^start) / start  (= M s)

    (derived in ``_two_step_hazard``; the branching-process set-up is that of Bozic et al. 2013,
    Supplementary file 1, section 4). ``E`` is the growth span of the sensitive cells; for a
    lesion founded by one cell it is ``M s``, Bozic's convention. For ``k E << 1`` and without the
    Li2 term this is the paper's ``p2 = exp(M u^2 (2 n1 n2 + n12 (n1 + n2)) log(s) log(Ms) /
    (s (1-s)))``. That formula counts every first-step lineage linearly, but a lineage founded
    early grows past ``1/k`` cells (~7e6 cells at u = 1e-9, 50 loci) and then holds a doubly
    resistant sub-clone with probability ``s`` at most, not in proportion to its size: at
    Bozic's parameters the paper's exponent is 1.06x this one at 1e6 cells, 1.26x at 1e8, 1.62x
    at 1e10 and 1.80x at 1e11 (double-resistance probability 0.363 instead of 0.222 at 1e11).

    Accuracy (``tests/test_evolution_closed_forms.py``): within 7e-6 of the exact backward
    Kolmogorov equation of the model (sensitive cells growing as ``M e^{-r tau}``) from 1e6 to
    1e11 cells; within 0.25% (Monte Carlo SE 0.6%) of an exact simulation of the resistant
    sub-lineages; within 1 SE of :func:`simulate_bozic` (four types, ``start=1000``).

    Not included: the chance founding of a lesion grown from one cell. One that lingers at a
    few cells before taking off carries relatively older, larger first-step lineages; in an
    exact simulation of the founding (Bozic's parameters, 14,000 lesions) this raises the
    two-step probability by 20% at 1e6 cells, 4.5% at 1e7 and 0.7% at 1e8 (nothing once the
    first-step lineages saturate). Starting from ``start`` >> ``1/s`` cells largely removes it.

    Parameters
    ----------
    m
        Cells at detection (start of treatment).
    n1, n2, n12
        Point mutations conferring resistance to drug A only, B only, and to both.
        ``n2=None``: one drug with ``n1`` resistance mutations.
    b, d
        Birth and death rates per day of every cell type before treatment (``b > d``).
    u
        Point-mutation probability per division.
    start
        Sensitive cells the lesion grows from (only the two-step term depends on it).

    Examples
    --------
    >>> round(bozic_resistance_probability(1e7, n1=50), 3)
    0.759
    >>> round(bozic_resistance_probability(1e11, n1=50, n2=50), 3)  # paper's formula: 0.363
    0.222
    """
    s = _check(m, b, d)
    if not (math.isfinite(u) and 0 <= u < 1):
        raise InputError(f"u must be a mutation probability in [0, 1), got {u!r}")
    if not (math.isfinite(start) and 1 <= start <= m):
        raise InputError(f"start must be between 1 cell and m = {m:g} cells, got {start!r}")
    if n2 is None:
        return -math.expm1(m * u * n1 * math.log(s) / (1 - s))
    span = m * -math.expm1(start * math.log1p(-s)) / start
    h1 = m * u * n12 * math.log(1 / s) / (1 - s)
    h2 = _two_step_hazard(m, n1 * u, (n2 + n12) * u, s, span) + _two_step_hazard(
        m, n2 * u, (n1 + n12) * u, s, span
    )
    return -math.expm1(-(h1 + h2))


def bozic_eradication_probability(
    m: float,
    *,
    n1: int = 50,
    n2: int = 50,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    d_treat: float = 0.17,
    u: float = 1e-9,
) -> float:
    """Probability that simultaneous dual therapy eradicates a lesion of ``m`` cells.

    Equation (1) of Bozic et al. 2013: ``p1_up p1_down p2_up p2_down``; the treatment failure
    probability of their Table 1 is one minus this.

    Examples
    --------
    >>> round(1 - bozic_eradication_probability(8.5e8, n12=1), 2)  # Table 1, patient N22: 0.677
    0.68
    """
    s = _check(m, b, d)
    sp = 1.0 - d_treat / b
    if not sp < 0:
        raise InputError("d_treat must exceed b (treatment must make sensitive cells decline)")
    q = (sp - s) / (s * sp)
    l1u = -m * u * n12
    l1d = m * u * n12 * s / sp
    l2u = (
        m
        * u**2
        * q
        * (
            n1 * (n2 + n12) * math.log(1 / (s * m) + u * (n2 + n12) * q)
            + n2 * (n1 + n12) * math.log(1 / (s * m) + u * (n1 + n12) * q)
        )
    )
    l2d = -m * u**2 * (2 * n1 * n2 + n12 * (n1 + n2)) * s / sp**2
    return math.exp(l1u + l1d + l2u + l2d)


def simulate_bozic(
    m: float,
    *,
    n_runs: int = 2000,
    n1: int = 50,
    n2: int = 50,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    d_treat: float = 0.17,
    u: float = 1e-9,
    start: float = 1000.0,
    dt: float = 0.5,
    treat: bool = True,
    max_days: float = 4000.0,
    fail_size: float = 1e4,
    rng: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate Bozic's multi-type branching process to detection size ``m``, then dual therapy.

    Lesions start from ``start`` sensitive cells (which avoids simulating the 13/14 of lineages
    that die out), grow with the exact birth-death kernel until ``m`` cells, and are then treated
    with both drugs until extinction (eradicated) or until ``fail_size`` doubly resistant cells
    (failure). The first cells add a negligible ``start * u`` to one-step resistance, but
    two-step (double) resistance grows with the log of the growth span until the first-step
    lineages saturate (~1e9 cells at Bozic's parameters): compare ``dual_resistant`` with
    ``bozic_resistance_probability(m, n1=n1, n2=n2, n12=n12, start=start)``.

    Returns one row per run: ``resistant_a`` (cells resistant to drug A present at detection),
    ``resistant_any``, ``dual_resistant``, ``eradicated``, ``failed``, ``t_detect``.

    Examples
    --------
    >>> df = simulate_bozic(1e5, n_runs=20, rng=0, treat=False)
    >>> len(df)
    20
    """
    gen = np.random.default_rng(rng)
    model = bozic2013_model(initial=start, n1=n1, n2=n2, n12=n12, b=b, d=d, d_treat=d_treat, u=u)
    ar = _arrays(model, n_runs, None, gen)
    x = np.rint(ar.x0).astype(np.int64)
    t_det = np.full(n_runs, np.nan)
    det = np.zeros_like(x)
    active = np.ones(n_runs, bool)
    t = 0.0
    no_drug = np.zeros((n_runs, 2))
    while active.any() and t < max_days * 4:
        idx = np.flatnonzero(active)
        birth, death = _per_capita(ar, x[idx].astype(float), no_drug[idx], rows=idx)
        x[idx], _ = _step_branching(ar, x[idx], birth, death, dt, gen)
        t += dt
        total = x.sum(1)
        reached = active & (total >= m)
        det[reached] = x[reached]
        t_det[reached] = t
        gone = active & (total == 0)
        active &= ~(reached | gone)
    out = pd.DataFrame(
        {
            "run": np.arange(n_runs),
            "t_detect": t_det,
            "resistant_a": (det[:, 1] + det[:, 3]) > 0,
            "resistant_any": det[:, 1:].sum(1) > 0,
            "dual_resistant": det[:, 3] > 0,
        }
    )
    if not treat:
        return out
    x = det.copy()
    both = np.ones((n_runs, 2))
    live = np.isfinite(t_det)
    failed = np.zeros(n_runs, bool)
    done = ~live
    tt = 0.0
    while (~done).any() and tt < max_days:
        idx = np.flatnonzero(~done)
        birth, death = _per_capita(ar, x[idx].astype(float), both[idx], rows=idx)
        x[idx], _ = _step_branching(ar, x[idx], birth, death, dt, gen)
        tt += dt
        failed |= ~done & (x[:, 3] >= fail_size)
        done |= failed | (x.sum(1) == 0)
    out["eradicated"] = live & (x.sum(1) == 0)
    out["failed"] = live & ~out["eradicated"].to_numpy()
    return out
