"""Published models: Zhang et al. 2017 (adaptive abiraterone) and Bozic et al. 2013."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
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

__all__ = [
    "ZHANG2017_PATIENTS",
    "bozic2013_model",
    "zhang2017_ess",
    "zhang2017_model",
    "zhang2017_schedules",
]

# Zhang J, Cunningham JJ, Brown JS, Gatenby RA. Nat Commun 8:1816 (2017), "Integrating
# evolutionary dynamics into treatment of metastatic castrate-resistant prostate cancer".
# Every number below is from the paper's Methods and the authors' public MATLAB code
# (github.com/cunninghamjj/Integrating-evolutionary-dynamics-into-treatment-of-mCRPC,
# Abiraterone_Main.m / ESSAnalysis.m / README.md; the brief's "Applying-evolutionary-..." repo is
# the later Cunningham 2018 model, with other rates). Equations (ibid.), i = T+, TP, T-:
#   dx_i/dt = r_i x_i (1 - sum_j a_ij x_j / K_i),   dPSA/dt = sum_i x_i - 0.5 PSA.
# Growth rates per day: r = (0.27726, 0.34657, 0.66542) x 0.01 (Abiraterone_Main.m, "scale").
_R = (2.7726e-3, 3.4657e-3, 6.6542e-3)
# K_TP = K_T- = 10,000; K_T+ = 1.5 x_TP (each TP cell supports 1.5 T+ cells). Under abiraterone
# K_TP = 100 (a 99% cut) and K_T+ = 0.5 x_TP (a 2/3 cut); T- is testosterone-independent
# (Abiraterone_Main.m: k = [y(2)*1.5, 10000, 10000] off drug, [y(2)*0.5, 100, 10000] on drug).
_K = 1.0e4
_TPLUS_PER_TP = 1.5
# PSA decay sigma = 0.5 per day (Abiraterone_Main.m, sigmaPSA).
_PSA_DECAY = 0.5
# The 22 competition matrices of the paper (orderings of 0.4..0.9 that satisfy the paper's
# inequalities; MatrixPermutations.m, hard-coded as matrixCoefficients in Abiraterone_Main.m).
# Row = (a_{T+,TP}, a_{T+,T-}, a_{TP,T+}, a_{TP,T-}, a_{T-,T+}, a_{T-,TP}); diagonal = 1. All
# off-diagonal coefficients are < 1: no matrix of the paper has a_{T-,TP} > 1.
# README.md: row 7 = "Representative patient #1", row 5 = "Representative patient #2".
_ZHANG_MATRICES = (
    (0.7, 0.9, 0.4, 0.6, 0.5, 0.8),
    (0.7, 0.8, 0.4, 0.6, 0.5, 0.9),
    (0.6, 0.9, 0.4, 0.8, 0.5, 0.7),
    (0.6, 0.9, 0.4, 0.7, 0.5, 0.8),
    (0.6, 0.8, 0.4, 0.7, 0.5, 0.9),
    (0.7, 0.9, 0.4, 0.5, 0.6, 0.8),
    (0.7, 0.8, 0.4, 0.5, 0.6, 0.9),
    (0.6, 0.9, 0.4, 0.5, 0.7, 0.8),
    (0.6, 0.8, 0.4, 0.5, 0.7, 0.9),
    (0.6, 0.7, 0.4, 0.5, 0.8, 0.9),
    (0.5, 0.9, 0.4, 0.8, 0.6, 0.7),
    (0.5, 0.9, 0.4, 0.7, 0.6, 0.8),
    (0.5, 0.8, 0.4, 0.7, 0.6, 0.9),
    (0.5, 0.9, 0.4, 0.6, 0.7, 0.8),
    (0.5, 0.8, 0.4, 0.6, 0.7, 0.9),
    (0.5, 0.7, 0.4, 0.6, 0.8, 0.9),
    (0.4, 0.9, 0.5, 0.8, 0.6, 0.7),
    (0.4, 0.9, 0.5, 0.7, 0.6, 0.8),
    (0.4, 0.8, 0.5, 0.7, 0.6, 0.9),
    (0.4, 0.9, 0.5, 0.6, 0.7, 0.8),
    (0.4, 0.8, 0.5, 0.6, 0.7, 0.9),
    (0.4, 0.7, 0.5, 0.6, 0.8, 0.9),
)
ZHANG2017_PATIENTS = {1: 7, 2: 5}
# Initial state (Abiraterone_Main.m): 40% of the untreated ESS densities (and PSA), densities
# floored at 1e-9 (ESSAnalysis.m); the tumour then grows untreated until PSA reaches 80% of the
# ESS PSA, when abiraterone starts ("firstTreatmentTime", PSA_zenith = 0.8 ESS PSA).
_START_FRACTION = 0.4
_TREAT_AT_PSA = 0.8
_FLOOR = 1e-9


def _zhang_alpha(matrix: int) -> np.ndarray:
    c = _ZHANG_MATRICES[matrix - 1]
    return np.array([[1.0, c[0], c[1]], [c[2], 1.0, c[3]], [c[4], c[5], 1.0]])


def zhang2017_ess(matrix: int = 7) -> np.ndarray:
    """Untreated evolutionarily stable state ``(T+, TP, T-, PSA)`` of a Zhang 2017 matrix.

    The stable equilibrium of the untreated Lotka-Volterra system: among the equilibria with
    TP present, the one that is feasible and that no absent type can invade. Absent types are
    floored at 1e-9 as in the authors' ESSAnalysis.m.

    Examples
    --------
    >>> np.round(zhang2017_ess(7)[:2], 1)  # ESSAnalysis.m, row 7: 6060.6, 7575.8
    array([6060.6, 7575.8])
    """
    if matrix not in range(1, len(_ZHANG_MATRICES) + 1):
        raise InputError(f"matrix must be 1..{len(_ZHANG_MATRICES)} (Zhang 2017), got {matrix!r}")
    a = _zhang_alpha(matrix)
    # K_T+ = 1.5 x_TP makes every isocline linear: row i of M x = k with
    # T+: x1 + (a12 - 1.5) x2 + a13 x3 = 0; TP: a21 x1 + x2 + a23 x3 = K; T-: ... = K.
    m = a.copy()
    m[0, 1] -= _TPLUS_PER_TP
    k = np.array([0.0, _K, _K])
    best = None
    for sup in ((0, 1, 2), (0, 1), (1, 2), (1,)):
        idx = list(sup)
        x = np.zeros(3)
        try:
            x[idx] = np.linalg.solve(m[np.ix_(idx, idx)], k[idx])
        except np.linalg.LinAlgError:
            continue
        if np.any(x[idx] <= 0):
            continue
        # invasion growth (sign of 1 - load/K) of each absent type must be negative
        load = a @ x
        cap = np.array([_TPLUS_PER_TP * x[1], _K, _K])
        out = [i for i in range(3) if i not in sup]
        if all(load[i] >= cap[i] for i in out):
            best = x
            break
    if best is None:  # pragma: no cover - every matrix of the paper has a stable state
        raise InputError(f"Zhang 2017 matrix {matrix}: no stable untreated equilibrium")
    x = np.maximum(best, _FLOOR)
    return np.append(x, x.sum() / _PSA_DECAY)


def _zhang_start(matrix: int) -> np.ndarray:
    """State ``(T+, TP, T-, PSA)`` when abiraterone starts (PSA = 80% of the ESS PSA)."""
    from scipy.integrate import solve_ivp

    a = _zhang_alpha(matrix)
    ess = zhang2017_ess(matrix)
    r = np.array(_R)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        x = np.maximum(y[:3], 0.0)
        cap = np.array([_TPLUS_PER_TP * x[1], _K, _K])
        dx = r * x * (1.0 - (a @ x) / cap)
        return np.append(dx, x.sum() - _PSA_DECAY * y[3])

    target = _TREAT_AT_PSA * ess[3]

    def hit(_t: float, y: np.ndarray) -> float:
        return float(y[3] - target)

    hit.terminal = True  # type: ignore[attr-defined]
    hit.direction = 1  # type: ignore[attr-defined]
    y0 = _START_FRACTION * ess
    y0[:3] = np.maximum(y0[:3], _FLOOR)
    sol = solve_ivp(rhs, (0.0, 1e5), y0, method="LSODA", events=hit, rtol=1e-10, atol=1e-12)
    if not sol.t_events[0].size:  # pragma: no cover - PSA always reaches 80% of its ESS value
        raise InputError(f"Zhang 2017 matrix {matrix}: PSA never reaches 80% of the ESS")
    return np.asarray(sol.y_events[0][0], dtype=float)


def zhang2017_model(*, patient: int = 1, matrix: int | None = None) -> Model:
    """The Zhang et al. 2017 Lotka-Volterra model of mCRPC under abiraterone.

    Three cell types compete: T+ (needs exogenous testosterone, whose capacity is 1.5 cells
    per TP cell), TP (makes testosterone, the abiraterone target) and T- (androgen-independent,
    resistant). Abiraterone cuts K_TP from 10,000 to 100 and the T+ support from 1.5 to 0.5
    per TP cell. Day 0 is the start of treatment: the tumour has grown untreated from 40% of
    its evolutionarily stable state until PSA reached 80% of the stable PSA (the authors'
    code), so day-0 PSA is the pre-treatment baseline of the adaptive rule. Densities are in
    the paper's units (capacity 10,000); one time unit is one day.

    Parameters
    ----------
    patient
        ``1`` or ``2``: the paper's representative patients (competition matrices 7 and 5).
        Patient 1 has no T- cells at the stable state (floored at 1e-9); patient 2 has some.
    matrix
        Any of the paper's 22 competition matrices (1-22) instead of ``patient``.

    Examples
    --------
    >>> zhang2017_model().clone_names
    ('T+', 'TP', 'T-')
    """
    if matrix is None:
        if patient not in ZHANG2017_PATIENTS:
            raise InputError(f"patient must be 1 or 2 (Zhang 2017), got {patient!r}")
        matrix = ZHANG2017_PATIENTS[patient]
    y = _zhang_start(int(matrix))
    abi = "abiraterone"
    clones = (
        Clone(
            "T+",
            _R[0],
            0.0,
            carrying_capacity=_TPLUS_PER_TP,
            capacity_source="TP",
            initial=float(y[0]),
            # 1.5 -> 0.5 T+ cells per TP cell; a steep Hill curve makes the level an on/off
            effects=((abi, DrugEffect(emax=2 / 3, ic50=1e-3, hill_slope=4.0, target="capacity")),),
        ),
        Clone(
            "TP",
            _R[1],
            0.0,
            carrying_capacity=_K,
            initial=float(y[1]),
            effects=((abi, DrugEffect(emax=0.99, ic50=1e-3, hill_slope=4.0, target="capacity")),),
        ),
        Clone("T-", _R[2], 0.0, carrying_capacity=_K, initial=float(y[2]), resistant=True),
    )
    return Model(
        clones=clones,
        drugs=(Drug(abi),),
        growth="logistic",
        competition=tuple(tuple(float(v) for v in row) for row in _zhang_alpha(int(matrix))),
        biomarker=Biomarker("psa", decay_rate=_PSA_DECAY, initial=float(y[3])),
        name="zhang2017",
    )


def zhang2017_schedules(*, stop_below: float = 0.5) -> dict[str, Schedule]:
    """Continuous abiraterone and the Zhang 2017 adaptive rule.

    Adaptive: off when PSA falls below ``stop_below`` x the pre-treatment PSA (50% in the
    paper and the trial protocol), back on when PSA returns to the pre-treatment value. The
    authors' simulation code stops at 40% instead (``PSA_nadir = 0.8 PSA_zenith / 2``); pass
    ``stop_below=0.4`` to reproduce it.

    Examples
    --------
    >>> zhang2017_schedules()["adaptive"].adaptive.stop_below
    0.5
    """
    reg = (Regimen("abiraterone", level=1.0),)
    return {
        "continuous": Schedule("continuous", reg),
        "adaptive": Schedule(
            "adaptive", reg, AdaptiveRule(stop_below=stop_below, resume_above=1.0)
        ),
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
