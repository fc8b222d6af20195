"""Published models: Zhang et al. 2017 (adaptive abiraterone) and Bozic et al. 2013."""

from __future__ import annotations

import numpy as np

from ._model import (
    AdaptiveRule,
    Biomarker,
    Clone,
    Drug,
    DrugEffect,
    Model,
    Regimen,
    Schedule,
    Transition,
)

__all__ = ["bozic2013_model", "zhang2017_model", "zhang2017_schedules"]

# Zhang J, Cunningham JJ, Brown JS, Gatenby RA. Nat Commun 8:1816 (2017), Methods:
# growth rates of T+, TP, T- per day (the same values in the authors' public MATLAB code,
# github.com/cunninghamjj/Applying-evolutionary-principles-to-optimize-control-of-mcrpc).
_R = (2.7726e-3, 3.4657e-3, 6.6542e-3)
# Carrying capacities: K_TP = K_T- = 10,000; K_T+ = 1.5 x_TP (each TP cell sustains 1.5 T+
# cells). Abiraterone lowers K_TP to 100 (a 99% cut) and the T+ support from 1.5 to 0.5 per TP
# cell (a 2/3 cut); T- cells do not need testosterone (Zhang 2017, Methods).
_K = 1.0e4
# Competition matrix a_ij (effect of j on i), order T+, TP, T-: the representative matrix of
# the same authors' code (A12 = 0.7, A13 = 0.8, A21 = 0.4, A23 = 0.6, A31 = 0.5, A32 = 2.0),
# chosen so that TP cells strongly suppress T- cells (a_{T-,TP} > 1) -- the premise of
# adaptive therapy in Zhang 2017.
_ALPHA = ((1.0, 0.7, 0.8), (0.4, 1.0, 0.6), (0.5, 2.0, 1.0))
# PSA: dPSA/dt = sum_i x_i - 0.5 PSA (Zhang 2017, Methods, sigma = 0.5 per day).
_PSA_DECAY = 0.5


def _zhang_equilibrium() -> tuple[float, float]:
    """Untreated T+/TP equilibrium without T- (solves the two linear isoclines)."""
    a = np.array(_ALPHA)
    # x1 = 1.5 x2 - a12 x2 ; x2 = K - a21 x1
    m = np.array([[1.0, a[0, 1] - 1.5], [a[1, 0], 1.0]])
    x1, x2 = np.linalg.solve(m, np.array([0.0, _K]))
    return float(x1), float(x2)


def zhang2017_model(*, t_minus: float = 1.0) -> Model:
    """The Zhang et al. 2017 Lotka-Volterra model of mCRPC under abiraterone.

    Starts at the untreated T+/TP equilibrium with ``t_minus`` resistant T- cells (the
    densities are in the paper's arbitrary units, carrying capacity 10,000).

    Examples
    --------
    >>> zhang2017_model().clone_names
    ('T+', 'TP', 'T-')
    """
    x1, x2 = _zhang_equilibrium()
    abi = "abiraterone"
    clones = (
        Clone(
            "T+",
            _R[0],
            0.0,
            carrying_capacity=1.5,
            capacity_source="TP",
            initial=x1,
            effects=((abi, DrugEffect(emax=2 / 3, ic50=1e-3, hill_slope=4.0, target="capacity")),),
        ),
        Clone(
            "TP",
            _R[1],
            0.0,
            carrying_capacity=_K,
            initial=x2,
            effects=((abi, DrugEffect(emax=0.99, ic50=1e-3, hill_slope=4.0, target="capacity")),),
        ),
        Clone("T-", _R[2], 0.0, carrying_capacity=_K, initial=t_minus, resistant=True),
    )
    return Model(
        clones=clones,
        drugs=(Drug(abi),),
        growth="logistic",
        competition=_ALPHA,
        biomarker=Biomarker("psa", decay_rate=_PSA_DECAY),
        name="zhang2017",
    )


def zhang2017_schedules() -> dict[str, Schedule]:
    """Continuous abiraterone and the Zhang 2017 adaptive rule (off below 50% of baseline PSA,
    back on at baseline)."""
    reg = (Regimen("abiraterone", level=1.0),)
    return {
        "continuous": Schedule("continuous", reg),
        "adaptive": Schedule("adaptive", reg, AdaptiveRule(stop_below=0.5, resume_above=1.0)),
    }


def bozic2013_model(
    *,
    initial: float = 1.0,
    n1: int = 50,
    n2: int = 50,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    d_treat: float = 0.17,
    u: float = 1e-9,
) -> Model:
    """Bozic et al. 2013 (eLife 2:e00747) two-drug branching model.

    Types ``00`` (sensitive), ``10`` (resistant to drug A), ``01`` (to B), ``11`` (to both);
    each division mutates with probability ``n u`` along each path; treatment raises the death
    rate of cells sensitive to at least one drug from ``d`` to ``d_treat``. Defaults are the
    paper's Table 1 values.

    Examples
    --------
    >>> bozic2013_model(n12=1).clone_names
    ('00', '10', '01', '11')
    """
    kill = DrugEffect(emax=d_treat - d, ic50=1e-3, hill_slope=4.0)
    clones = (
        Clone("00", b, d, initial=initial, effects=(("A", kill), ("B", kill))),
        Clone("10", b, d, effects=(("B", kill),), resistant=True),
        Clone("01", b, d, effects=(("A", kill),), resistant=True),
        Clone("11", b, d, resistant=True),
    )
    tr = [
        Transition("00", "10", n1 * u),
        Transition("00", "01", n2 * u),
        Transition("10", "11", (n2 + n12) * u),
        Transition("01", "11", (n1 + n12) * u),
    ]
    if n12 > 0:
        tr.append(Transition("00", "11", n12 * u))
    return Model(
        clones=clones,
        transitions=tuple(tr),
        drugs=(Drug("A"), Drug("B")),
        combination="max",
        name="bozic2013",
    )
