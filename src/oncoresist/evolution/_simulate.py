"""Simulation engines sharing one model description.

``ode``: deterministic mean-field equations (scipy ``solve_ivp``, LSODA, with events for
adaptive switching). ``gillespie``: exact stochastic simulation (Gillespie's direct method),
vectorised over runs. ``branching``: multi-type branching with the exact linear birth-death
transition law over each step (Kendall 1948) and Poisson arrivals of mutants thinned by their
survival to the end of the step (Gauss-Legendre nodes within the step); suited to 1e9-1e11
cells. ``tau_leap``: a fixed-step leap with the same exact per-step law (the first-order
Poisson/binomial leap it replaced was biased, issue 13) and a stricter step warning. The
stochastic engines run all runs (or virtual patients) as numpy arrays.

Per-capita rates, for clone i with load ``L_i = sum_j a_ij x_j`` and capacity ``K_i``::

    g_i = 1 (exponential) | 1 - L_i/K_i (logistic) | ln(K_i/L_i) (Gompertz)
    birth_i = b_i * max(g_i, 0) * (1 - E_birth_i(c))
    death_i = d_i + E_death_i(c) + b_i * max(-g_i, 0) * (1 - E_birth_i(c))

so the ODE ``dx_i/dt = x_i (birth_i - death_i) + ...`` is the mean of the stochastic model
whenever rates are linear (exponential growth).

Work is bounded, never a hang: :func:`simulate` refuses, with the reason and the fix, a run that
would exceed :data:`MAX_STEPS` steps or output points (``t_end / dt``), :data:`MAX_SEGMENTS`
schedule changes or adaptive checks, :data:`MAX_VALUES` recorded values, a per-cell rate above
:data:`MAX_RATE` per day (a unit error: a division every 0.1 s), more than
:data:`MAX_GILLESPIE_PASSES` passes of the exact Gillespie loop or, for the stochastic
engines, populations above :data:`MAX_CELLS` cells (cells are counted as 64-bit integers); an
exponential ODE solution that overflows is an error, not a NaN result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError
from ._model import Model, Schedule, _hill

if TYPE_CHECKING:
    from ..curves._executors import Executor

__all__ = [
    "MAX_CELLS",
    "MAX_GILLESPIE_PASSES",
    "MAX_RATE",
    "MAX_SEGMENTS",
    "MAX_STEPS",
    "MAX_VALUES",
    "METHODS",
    "CoarseStepWarning",
    "SimulationResult",
    "simulate",
]

METHODS = ("ode", "gillespie", "tau_leap", "branching")
#: Default limit on ``t_end / dt`` (steps of the stochastic engines, output points of the ODE).
MAX_STEPS = 1_000_000
#: Limit on a clone's per-cell rate (birth + death + maximal drug kill + switching), per day.
MAX_RATE = 1e6
#: Limit on the cells of one clone in the stochastic engines (64-bit integer counts).
MAX_CELLS = 1e15
#: Limit on schedule changes (doses, on/off switches, block edges) and adaptive checks.
MAX_SEGMENTS = 20_000
#: Limit on values held in memory (recorded trajectories, per-run parameter arrays).
MAX_VALUES = 100_000_000
#: Limit on the passes of the Gillespie loop over a run (one event of every active run per
#: pass, so about the events of the busiest run); a few minutes of work.
MAX_GILLESPIE_PASSES = 200_000
_TARGET = {"death": 0, "birth": 1, "capacity": 2}


class CoarseStepWarning(UserWarning):
    """The time step is too coarse for the fastest per-cell rate of the model."""


# ---------------------------------------------------------------------------------------------
# Model -> arrays


@dataclass
class _Arrays:
    names: tuple[str, ...]
    drugs: tuple[str, ...]
    growth: int  # 0 exponential, 1 logistic, 2 gompertz
    b: np.ndarray  # (P, K)
    d: np.ndarray  # (P, K)
    cap: np.ndarray  # (P, K)
    cap_src: np.ndarray  # (K,) int, -1 for none
    a: np.ndarray  # (K, K)
    u: np.ndarray  # (K, K) mutation probability per division i -> j
    s: np.ndarray  # (K, K) switch rate per day i -> j
    emax: np.ndarray  # (P, K, D)
    ic50: np.ndarray  # (P, K, D)
    hill: np.ndarray  # (K, D)
    tgt: np.ndarray  # (K, D) int
    has: np.ndarray  # (K, D) bool
    protect: np.ndarray  # (K,)
    cap_factor: float
    w: np.ndarray  # (K,)
    decay: float | None
    bio0: float | None  # marker at day 0 (None: quasi-steady sum w x / decay)
    resistant: np.ndarray  # (K,) bool
    x0: np.ndarray  # (P, K)
    kel: np.ndarray  # (D,)
    vol: np.ndarray  # (D,)
    combine_max: bool = False
    combine: str = "sum"  # sum | max | bliss | loewe
    dd: np.ndarray | None = None  # (K, K) symmetric-differentiation probability per division
    env_names: tuple[str, ...] = ()
    env0: np.ndarray | None = None  # (M,) initial compartment levels
    env_src: np.ndarray | None = None  # (M,) production per day
    env_decay: np.ndarray | None = None  # (M,) loss rate per day
    env_rec: np.ndarray | None = None  # (M, K) recruitment per tumour cell of clone k
    env_prot: np.ndarray | None = None  # (M,) protection per unit level (or maximal fraction)
    env_half: np.ndarray | None = None  # (M,) half-saturation level (nan: linear)
    env_pcover: np.ndarray | None = None  # (M, K) 1 where the compartment protects clone k
    env_kill: np.ndarray | None = None  # (M, K) immune kill per unit level on clone k
    env_emax: np.ndarray | None = None  # (M, D) drug depletion of the compartment
    env_ic50: np.ndarray | None = None  # (M, D)
    env_hill: np.ndarray | None = None  # (M, D)

    @property
    def n_env(self) -> int:
        return len(self.env_names)

    @property
    def ddm(self) -> np.ndarray:
        return np.zeros_like(self.u) if self.dd is None else self.dd

    @property
    def n(self) -> int:
        return self.b.shape[0]


def _arrays(
    model: Model, n: int, variation: Mapping[str, float] | None, rng: np.random.Generator
) -> _Arrays:
    names = model.clone_names
    drugs = model.drug_names
    k, nd = len(names), len(drugs)
    idx = {c: i for i, c in enumerate(names)}
    b = np.array([c.birth_rate for c in model.clones], float)
    d = np.array([c.death_rate for c in model.clones], float)
    cap = np.array([c.carrying_capacity for c in model.clones], float)
    x0 = np.array([c.initial for c in model.clones], float)
    emax = np.zeros((k, max(nd, 1)))
    ic50 = np.ones((k, max(nd, 1)))
    hill = np.ones((k, max(nd, 1)))
    tgt = np.zeros((k, max(nd, 1)), int)
    has = np.zeros((k, max(nd, 1)), bool)
    for i, c in enumerate(model.clones):
        for dn, eff in c.effects:
            j = drugs.index(dn)
            emax[i, j], ic50[i, j], hill[i, j] = eff.emax, eff.ic50, eff.hill_slope
            tgt[i, j], has[i, j] = _TARGET[eff.target], True
    u = np.zeros((k, k))
    s = np.zeros((k, k))
    dd = np.zeros((k, k))
    for t in model.transitions:
        (u if t.kind == "mutation" else s)[idx[t.source], idx[t.target]] += t.rate
    for i, c in enumerate(model.clones):
        # division fates: an asymmetric division is one daughter of the other type (the
        # semantics of a mutation per division); a symmetric differentiation loses the cell
        # and makes two of the other type
        if c.division is not None and c.division.into:
            u[i, idx[c.division.into]] += c.division.asymmetric
            dd[i, idx[c.division.into]] += c.division.differentiation
    nm = len(model.compartments)
    env = {
        "env0": np.zeros(nm),
        "env_src": np.zeros(nm),
        "env_decay": np.ones(nm),
        "env_rec": np.zeros((nm, k)),
        "env_prot": np.zeros(nm),
        "env_half": np.full(nm, np.nan),
        "env_pcover": np.zeros((nm, k)),
        "env_kill": np.zeros((nm, k)),
        "env_emax": np.zeros((nm, max(nd, 1))),
        "env_ic50": np.ones((nm, max(nd, 1))),
        "env_hill": np.ones((nm, max(nd, 1))),
    }
    for m, cp in enumerate(model.compartments):
        env["env0"][m] = cp.initial
        env["env_src"][m] = cp.source
        env["env_decay"][m] = cp.decay_rate
        rec = [idx[c] for c in cp.recruited_by] if cp.recruited_by else list(range(k))
        env["env_rec"][m, rec] = cp.recruitment
        cov = [idx[c] for c in cp.clones] if cp.clones else list(range(k))
        env["env_prot"][m] = cp.protection
        if cp.half_saturation is not None:
            env["env_half"][m] = cp.half_saturation
        if cp.kind == "stroma":
            env["env_pcover"][m, cov] = 1.0
        else:
            env["env_kill"][m, cov] = cp.kill_rate
        for dn, eff in cp.effects:
            j = drugs.index(dn)
            env["env_emax"][m, j] = eff.emax
            env["env_ic50"][m, j] = eff.ic50
            env["env_hill"][m, j] = eff.hill_slope
    me = model.microenvironment
    protect = np.zeros(k)
    cap_factor = 1.0
    if me is not None:
        sel = [idx[c] for c in me.clones] if me.clones else list(range(k))
        protect[sel] = me.protection
        cap_factor = me.capacity_factor
    pb, pd_, px0 = np.tile(b, (n, 1)), np.tile(d, (n, 1)), np.tile(x0, (n, 1))
    pcap = np.tile(cap, (n, 1))
    pemax, pic50 = np.tile(emax, (n, 1, 1)), np.tile(ic50, (n, 1, 1))
    if variation is not None and not isinstance(variation, Mapping):
        raise InputError(
            f"variation must be a mapping 'CLONE.parameter' -> sd, got {type(variation).__name__}"
        )
    for key, sd_raw in (variation or {}).items():
        if not isinstance(key, str):
            raise InputError(f"variation key {key!r}: use 'CLONE.parameter' text keys")
        parts = key.split(".")
        try:
            sd = float(sd_raw)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"variation[{key!r}]: sd {sd_raw!r:.40} is not a number") from None
        if not 0 <= sd <= 10:
            raise InputError(
                f"variation[{key!r}]: the log-normal sd must be in [0, 10] (a factor e^10 "
                f"spread), got {sd_raw!r}"
            )
        if parts[0] not in idx:
            raise InputError(
                f"variation key {key!r}: unknown clone {parts[0]!r}; clones {list(names)}"
            )
        i = idx[parts[0]]
        factor = np.exp(rng.normal(0.0, sd, n) - sd**2 / 2)  # mean-preserving log-normal
        if len(parts) == 2 and parts[1] in (
            "birth_rate",
            "death_rate",
            "initial",
            "carrying_capacity",
        ):
            arr = {"birth_rate": pb, "death_rate": pd_, "initial": px0, "carrying_capacity": pcap}[
                parts[1]
            ]
            arr[:, i] *= factor
        elif len(parts) == 3 and parts[1] in drugs and parts[2] in ("emax", "ic50"):
            j = drugs.index(parts[1])
            (pemax if parts[2] == "emax" else pic50)[:, i, j] *= factor
        else:
            raise InputError(
                f"variation key {key!r}: use CLONE.birth_rate|death_rate|initial|carrying_capacity "
                "or CLONE.DRUG.emax|ic50"
            )
    if not np.all(pemax[:, tgt == 1] <= 1) or not np.all(pemax[:, tgt == 2] <= 1):
        np.clip(pemax, None, np.where(tgt == 0, np.inf, 1.0), out=pemax)
    kel = np.array([dr.elimination_rate for dr in model.drugs] or [0.0], float)
    vol = np.array([dr.volume for dr in model.drugs] or [1.0], float)
    bio = model.biomarker
    return _Arrays(
        names=names,
        drugs=drugs,
        growth=("exponential", "logistic", "gompertz").index(model.growth),
        b=pb,
        d=pd_,
        cap=pcap,
        cap_src=np.array(
            [idx[c.capacity_source] if c.capacity_source else -1 for c in model.clones]
        ),
        a=model.competition_matrix(),
        u=u,
        s=s,
        emax=pemax,
        ic50=pic50,
        hill=hill,
        tgt=tgt,
        has=has,
        protect=protect,
        cap_factor=cap_factor,
        w=np.array([c.biomarker_weight for c in model.clones], float),
        decay=None if bio is None else bio.decay_rate,
        bio0=None if bio is None else bio.initial,
        resistant=np.array([c.resistant for c in model.clones], bool),
        x0=px0,
        kel=kel,
        vol=vol,
        combine_max=model.combination == "max",
        combine=model.combination,
        dd=dd,
        env_names=model.compartment_names,
        **env,
    )


def _loewe(
    c: np.ndarray, emax: np.ndarray, ic50: np.ndarray, hill: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Loewe-additive combined effect, shape (P, K), of Hill drugs (last axis).

    Solves ``sum_d c_d / IC_d(E) = 1`` with ``IC_d(E) = ic50_d (E / (emax_d - E))^(1/h_d)``
    (the dose of ``d`` alone giving effect ``E``; infinite when ``E >= emax_d``, so a drug
    that cannot reach ``E`` contributes nothing; Loewe 1926, Greco et al. 1995). The left side
    falls with ``E``: bisection on ``(0, max emax)``. A drug combined with itself gives the
    single drug at the summed dose (the sham combination), by construction.
    """
    cc = np.broadcast_to(c, emax.shape)
    active = mask & (cc > 0) & (emax > 0)
    single = np.where(active, emax * _hill(cc, ic50, hill), 0.0)
    multi = active.sum(-1) >= 2
    if not np.any(multi):
        return single.sum(-1)
    ratio = np.where(active, cc / ic50, 0.0)
    inv_h = 1.0 / hill
    lo = np.zeros(multi.shape)
    hi = np.where(active, emax, 0.0).max(-1)
    for _ in range(55):
        e = 0.5 * (lo + hi)
        gap = np.maximum(emax - e[..., None], 0.0) / np.maximum(e[..., None], 1e-300)
        with np.errstate(over="ignore"):
            g = np.where(active, ratio * np.power(gap, inv_h), 0.0).sum(-1) - 1.0
        lo = np.where(g > 0, e, lo)
        hi = np.where(g > 0, hi, e)
    return np.where(multi, 0.5 * (lo + hi), single.sum(-1))


def _combined(
    ar: _Arrays, e: np.ndarray, em: np.ndarray, c: np.ndarray, ic50: np.ndarray, target: int
) -> np.ndarray:
    """Combined effect (P, K) of the drugs acting through ``target`` (0 death, 1 birth, 2 cap).

    Death effects are rates: ``sum`` adds them (independent hazards), ``max`` keeps the
    strongest (Bozic 2013), ``bliss`` combines the fractions ``f_d = E_d / E_max`` of the
    clone's largest maximal effect as independent events (``E_max (1 - prod(1 - f_d))``,
    Bliss 1939), ``loewe`` solves dose additivity (:func:`_loewe`). Birth and capacity effects
    are fractions: they multiply (``1 - prod(1 - E_d)``, Bliss) except under ``loewe``.
    """
    mask = (ar.tgt == target) & ar.has
    if ar.combine == "loewe":
        return _loewe(c, em, ic50, ar.hill, mask)
    de = np.where(mask, e, 0.0)
    if target != 0 or ar.combine == "bliss":
        if target != 0:
            return 1.0 - np.prod(1.0 - de, axis=-1)
        top = np.where(mask, em, 0.0).max(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(top[..., None] > 0, de / top[..., None], 0.0)
        return top * (1.0 - np.prod(1.0 - np.clip(f, 0.0, 1.0), axis=-1))
    return de.max(-1) if ar.combine_max else de.sum(-1)


def _env_effects(ar: _Arrays, env: np.ndarray | None) -> tuple[Any, Any]:
    """(multiplier of drug effects, extra death) of shape (P, K) from compartment levels."""
    if not ar.n_env or env is None:
        return 1.0, 0.0
    assert ar.env_prot is not None and ar.env_half is not None
    assert ar.env_pcover is not None and ar.env_kill is not None
    lv = np.maximum(np.asarray(env, float), 0.0)
    half = np.where(np.isnan(ar.env_half), 1.0, ar.env_half)
    frac = np.where(np.isnan(ar.env_half), lv * ar.env_prot, ar.env_prot * lv / (lv + half))
    protected = np.clip(frac @ ar.env_pcover, 0.0, 1.0)
    return 1.0 - protected, lv @ ar.env_kill


def _per_capita(
    ar: _Arrays,
    x: np.ndarray,
    c: np.ndarray,
    rows: Any = slice(None),
    env: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-capita (birth, death) rates, shape (P, K), for state ``x`` and concentrations ``c``
    (and compartment levels ``env``, shape (P, M), when the model has compartments)."""
    x = np.asarray(x, float)
    emax, ic50 = ar.emax[rows], ar.ic50[rows]
    env_mult, immune = _env_effects(ar, env)
    mult = (1.0 - ar.protect)[None, :] * env_mult
    em = emax * ar.has * np.asarray(mult)[..., None]
    cc = c[:, None, :]
    e = em * _hill(cc, ic50, ar.hill)
    death_extra = _combined(ar, e, em, cc, ic50, 0) + immune
    birth_frac = 1.0 - _combined(ar, e, em, cc, ic50, 1)
    b = ar.b[rows] * birth_frac
    if ar.growth == 0:
        return b, ar.d[rows] + death_extra
    cap_frac = 1.0 - _combined(ar, e, em, cc, ic50, 2)
    kc = ar.cap[rows] * ar.cap_factor * cap_frac
    src = ar.cap_src >= 0
    if np.any(src):
        kc = kc.copy()
        kc[:, src] = kc[:, src] * x[:, ar.cap_src[src]]
    kc = np.maximum(kc, 1e-12)
    load = x @ ar.a.T
    if ar.growth == 1:
        g = 1.0 - load / kc
    else:
        g = np.log(kc / np.maximum(load, 1e-12))
    return b * np.maximum(g, 0.0), ar.d[rows] + death_extra + b * np.maximum(-g, 0.0)


def _env_rates(
    ar: _Arrays, x: np.ndarray, c: np.ndarray, rows: Any = slice(None)
) -> tuple[np.ndarray, np.ndarray]:
    """(inflow, loss rate) of each compartment, shape (P, M): ``dL/dt = inflow - loss L``."""
    assert ar.env_src is not None and ar.env_rec is not None and ar.env_decay is not None
    assert ar.env_emax is not None and ar.env_ic50 is not None and ar.env_hill is not None
    inflow = ar.env_src[None, :] + np.maximum(x, 0.0) @ ar.env_rec.T
    kill = (ar.env_emax[None] * _hill(c[:, None, :], ar.env_ic50[None], ar.env_hill[None])).sum(-1)
    return inflow, ar.env_decay[None, :] + kill


def _env_step(
    ar: _Arrays, env: np.ndarray, x: np.ndarray, c: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact linear update of the compartments over ``dt`` with ``x`` and ``c`` frozen:
    (level averaged over the step, level at its end)."""
    inflow, loss = _env_rates(ar, x, c)
    steady = inflow / loss
    decay = np.exp(-loss * dt)
    end = steady + (env - steady) * decay
    mean = steady + (env - steady) * (-np.expm1(-loss * dt)) / (loss * dt)
    return mean, end


# ---------------------------------------------------------------------------------------------
# Schedule -> levels


@dataclass
class _Plan:
    drugs: tuple[str, ...]
    regs: list[tuple[int, Any]]  # (drug index, Regimen)
    t_end: float
    bolus_times: list[tuple[int, float, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # dose times once per run (sorted), not once per step
        self.bolus_times = [
            (j, float(r.level), np.sort(r.bolus_times(self.t_end + 1e-9)))
            for j, r in self.regs
            if r.is_bolus()
        ]

    def level(self, t: float) -> np.ndarray:
        out = np.zeros(max(len(self.drugs), 1))
        for j, r in self.regs:
            if not r.is_bolus():
                out[j] += float(r.level_at(t))
        return out

    def boluses(self, t0: float, t1: float) -> np.ndarray:
        """Bolus amounts per drug with dose times in [t0, t1)."""
        out = np.zeros(max(len(self.drugs), 1))
        for j, level, bt in self.bolus_times:
            lo, hi = np.searchsorted(bt, [t0 - 1e-12, t1 - 1e-12], side="left")
            out[j] += level * (hi - lo)
        return out

    def breakpoints(self) -> np.ndarray:
        pts = [r.breakpoints(self.t_end) for _, r in self.regs]
        return np.unique(np.concatenate([*pts, [self.t_end]])) if pts else np.array([self.t_end])

    def levels(self, tt: np.ndarray) -> np.ndarray:
        """Infusion levels, shape (len(tt), D), at times ``tt`` (counted from the line start)."""
        out = np.zeros((tt.size, max(len(self.drugs), 1)))
        for j, r in self.regs:
            if not r.is_bolus():
                out[:, j] += r.level_at(tt)
        return out

    def boluses_many(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Bolus amounts, shape (len(t0), D), with dose times in [t0, t1) (line time)."""
        out = np.zeros((t0.size, max(len(self.drugs), 1)))
        for j, level, bt in self.bolus_times:
            lo = np.searchsorted(bt, t0 - 1e-12, side="left")
            hi = np.searchsorted(bt, t1 - 1e-12, side="left")
            out[:, j] += level * (hi - lo)
        return out


def _plan(model: Model, schedule: Schedule, t_end: float) -> _Plan:
    return _plans(model, schedule, t_end)[0]


def _plans(model: Model, schedule: Schedule, t_end: float) -> list[_Plan]:
    """One plan per line of treatment (a one-line schedule: one plan)."""
    schedule.check_against(model)
    drugs = model.drug_names
    return [
        _Plan(drugs, [(drugs.index(r.drug), r) for r in line], t_end) for line in schedule.all_lines
    ]


# ---------------------------------------------------------------------------------------------
# Observables and state-dependent rules


def _obs_spec(ar: _Arrays, measure: str, has_bio: bool) -> tuple[str, Any]:
    """``("w", weights)``, ``("bio", None)`` or ``("env", index)`` for a measure string."""
    head, _, rest = measure.partition(":")
    if measure == "auto":
        measure = "biomarker" if has_bio else "burden"
    if measure == "burden":
        return "w", np.ones(len(ar.names))
    if measure == "biomarker":
        return ("bio", None) if ar.decay is not None else ("w", ar.w.copy())
    if measure == "resistant":
        return "w", ar.resistant.astype(float)
    if head == "clone":
        w = np.zeros(len(ar.names))
        for n in rest.split("+"):
            w[ar.names.index(n.strip())] = 1.0
        return "w", w
    return "env", ar.env_names.index(rest.strip())


def _observe(spec: tuple[str, Any], x: np.ndarray, bio: np.ndarray, env: np.ndarray) -> np.ndarray:
    """The observable per run (shape (P,)) from cells (P, K), marker (P,), compartments (P, M)."""
    kind, arg = spec
    if kind == "w":
        return np.asarray(x, float) @ arg
    if kind == "bio":
        return np.asarray(bio, float)
    return np.asarray(env, float)[:, arg]


class _Switch:
    """Per-run state of a :class:`SwitchRule`: current line, its start and reference value."""

    def __init__(self, rule: Any, n_lines: int, v0: np.ndarray):
        n = v0.shape[0]
        self.rule = rule
        self.n_lines = n_lines
        self.line = np.zeros(n, int)
        self.start = np.zeros(n)
        self.ref = np.asarray(v0, float).copy()
        self.n_switch = np.zeros(n, int)
        self.first = np.full(n, np.nan)
        self.failed = np.full(n, np.nan)

    def check(self, t: float, v: np.ndarray) -> np.ndarray:
        """Apply the rule at a check time ``t``; returns which runs changed line."""
        r = self.rule
        if r.when == "nadir":
            self.ref = np.minimum(self.ref, v)
            prog = v > r.factor * self.ref
        elif r.when == "baseline":
            prog = v > r.factor * self.ref
        else:
            prog = (v > float(r.threshold)) & (v > self.ref)
        prog &= np.isnan(self.failed)
        can = (self.line < self.n_lines - 1) | (bool(r.cycle) and self.n_lines > 1)
        sw = prog & can
        self.failed[prog & ~can] = t
        self.line[sw] = (self.line[sw] + 1) % self.n_lines
        self.start[sw] = t
        self.ref[sw] = v[sw]
        self.n_switch[sw] += 1
        self.first[sw & np.isnan(self.first)] = t
        return sw

    def row(self, i: int) -> dict[str, Any]:
        return {
            "n_switches": int(self.n_switch[i]),
            "first_switch": float(self.first[i]),
            "ttp_failure": float(self.failed[i]),
            "line_at_end": int(self.line[i]),
        }


# ---------------------------------------------------------------------------------------------
# Metrics accumulated step by step (shared by all engines)


class _Metrics:
    def __init__(
        self, n: int, nd: int, baseline: np.ndarray, *, progression_factor: float, nadir_rise: float
    ):
        self.baseline = baseline
        self.pf, self.nr = progression_factor, nadir_rise
        self.ttp_baseline = np.full(n, np.nan)
        self.ttp_nadir = np.full(n, np.nan)
        self.ttp_resistant = np.full(n, np.nan)
        self.t_extinct = np.full(n, np.nan)
        self.nadir = baseline.copy()
        self.was_on = np.ones(n, bool)
        self.time_on = np.zeros(n)
        self.dose = np.zeros((n, nd))

    def update(
        self, t: float, x: np.ndarray, measure: np.ndarray, on: np.ndarray, resistant: np.ndarray
    ) -> None:
        total = x.sum(1)
        new_on = on & ~self.was_on
        self.nadir = np.where(new_on, measure, np.minimum(self.nadir, measure))
        self.was_on = on.copy()
        hit = np.isnan(self.ttp_baseline) & (measure > self.pf * self.baseline)
        self.ttp_baseline[hit] = t
        hit = (
            np.isnan(self.ttp_nadir)
            & on
            & (measure > self.nr * self.nadir)
            & (self.nadir < self.baseline)
        )
        self.ttp_nadir[hit] = t
        rfrac = np.where(total > 0, x[:, resistant].sum(1) / np.maximum(total, 1e-300), 0.0)
        hit = np.isnan(self.ttp_resistant) & (rfrac > 0.5)
        self.ttp_resistant[hit] = t
        hit = np.isnan(self.t_extinct) & (total <= 0)
        self.t_extinct[hit] = t


# ---------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True, eq=False)
class SimulationResult(ResultMixin):
    """Trajectories and per-run outcome metrics of one schedule.

    Attributes
    ----------
    trajectories
        Tidy frame ``run, time, clone, cells`` for the recorded runs.
    burden
        ``run, time, total, measure, drug_on`` and ``conc_<drug>`` for the recorded runs.
    mean
        ``time, clone, mean_cells``: average over all runs.
    runs
        One row per run: ``ttp_baseline`` (measure above ``progression_factor`` x baseline),
        ``ttp_nadir`` (rise above ``nadir_rise`` x nadir while on drug), ``ttp_resistant``
        (resistant clones > 50% of cells), ``time_on_drug``, ``time_off_drug``,
        ``exposure_<drug>`` (AUC, micromolar-days), ``dose_<drug>`` (bolus amounts),
        ``final_burden``, ``cured`` and ``resistant_at_end``.
    """

    model_name: str
    schedule_name: str
    method: str
    t_end: float
    dt: float
    trajectories: pd.DataFrame
    burden: pd.DataFrame
    mean: pd.DataFrame
    runs: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-run outcome table (one row per run)."""
        return self.runs.copy()

    def outcomes(self) -> pd.DataFrame:
        """Cohort-level outcomes with binomial standard errors (one row)."""
        s = self.runs
        n = len(s)
        row: dict[str, Any] = {"schedule": self.schedule_name, "method": self.method, "n_runs": n}
        for col in ("cured", "resistant_at_end"):
            p = float(s[col].mean())
            row[f"p_{col}"] = p
            row[f"se_{col}"] = math.sqrt(max(p * (1 - p), 0.0) / n) if n else math.nan
        for col in ("ttp_baseline", "ttp_nadir", "ttp_resistant"):
            v = s[col].to_numpy(float)
            row[f"median_{col}"] = float(np.nanmedian(v)) if np.any(np.isfinite(v)) else math.nan
            row[f"p_{col}_reached"] = float(np.mean(np.isfinite(v)))
        row["mean_time_off_drug"] = float(s["time_off_drug"].mean())
        for c in s.columns:
            if c.startswith(("exposure_", "dose_")):
                row[f"mean_{c}"] = float(s[c].mean())
        return pd.DataFrame([row])

    def summary(self) -> str:
        """One line: model, schedule, runs and the cohort's cure, resistance and TTP."""
        s = self.runs
        n = len(s)
        ttp = s["ttp_baseline"].to_numpy(float) if n else np.empty(0)
        med = f"{float(np.nanmedian(ttp)):.0f} d" if np.any(np.isfinite(ttp)) else "not reached"
        cured = float(s["cured"].mean()) if n else math.nan
        res = float(s["resistant_at_end"].mean()) if n else math.nan
        return (
            f"SimulationResult: {self.model_name} under {self.schedule_name} ({self.method}), "
            f"{n} run(s) to {self.t_end:g} d; cured {cured:.0%}, resistant at end {res:.0%}, "
            f"median time to progression {med}"
        )


# ---------------------------------------------------------------------------------------------
# Engines


def _measure(ar: _Arrays, x: np.ndarray, bio: np.ndarray, mode: str) -> np.ndarray:
    if mode == "biomarker":
        return bio if ar.decay is not None else x @ ar.w
    return x.sum(1)


def _max_rate(ar: _Arrays) -> float:
    extra = np.where(ar.tgt == 0, ar.emax, 0.0).sum(-1)
    return float(np.max(ar.b + ar.d + extra + ar.s.sum(1)[None, :]))


def _survival_prob(lam: np.ndarray, mu: np.ndarray, t: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's (alpha, beta) of a linear birth-death process after time t from one cell.

    P(0) = alpha, P(n) = (1 - alpha)(1 - beta) beta^(n-1) for n >= 1.
    """
    r = lam - mu
    small = np.abs(r * t) < 1e-8
    big = r * t > 1.0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        e = np.expm1(np.where(small, 0.0, np.minimum(r * t, 700.0)))
        # for fast growth divide through by e (-> mu/lam and 1): no inf/inf
        inv = np.where(big, 1.0 / e, 0.0)
        den = np.where(
            small, 1.0, np.where(big, lam * (1.0 + inv) - mu * inv, lam * (e + 1.0) - mu)
        )
        num_a = np.where(big, mu, mu * e)
        num_b = np.where(big, lam, lam * e)
        alpha = np.where(small, mu * t / (1 + lam * t), num_a / den)
        beta = np.where(small, lam * t / (1 + lam * t), num_b / den)
    alpha = np.nan_to_num(alpha, nan=1.0)
    beta = np.nan_to_num(beta, nan=0.0)
    return np.clip(alpha, 0.0, 1.0), np.clip(beta, 0.0, 1.0 - 1e-15)


#: Gauss-Legendre nodes and weights on [-1, 1] for the arrival times within a step.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)


def _draw(
    rng: np.random.Generator, gens: list[np.random.Generator] | None, name: str, *args: Any
) -> np.ndarray:
    """``rng.<name>(*args)``, or with ``gens`` one generator per run (leading axis): patient
    r's draws then do not depend on the other patients (common random numbers)."""
    if gens is None:
        return np.asarray(getattr(rng, name)(*args))
    arrs = [np.asarray(a) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    out = np.empty(shape, np.int64)
    full = [np.broadcast_to(a, shape) for a in arrs]
    for r, g in enumerate(gens):
        out[r] = getattr(g, name)(*(a[r] for a in full))
    return out


class _PatientStreams:
    """One counter-based (Philox) stream per patient, reset to ``(step, patient)`` each step."""

    def __init__(self, base: int, n: int):
        self.bits = [np.random.Philox(key=[base, r]) for r in range(n)]
        self.gens = [np.random.Generator(b) for b in self.bits]
        self.states = [b.state for b in self.bits]

    def at(self, step: int) -> list[np.random.Generator]:
        for b, st in zip(self.bits, self.states, strict=True):
            st["state"]["counter"][:] = (0, 0, step, 0)
            st["buffer_pos"] = 4
            st["has_uint32"] = 0
            b.state = st
        return self.gens


def _step_branching(
    ar: _Arrays,
    x: np.ndarray,
    birth: np.ndarray,
    death: np.ndarray,
    dt: float,
    rng: np.random.Generator,
    gens: list[np.random.Generator] | None = None,
) -> tuple[np.ndarray, int]:
    """One step of the multi-type linear birth-death process with rates frozen over ``dt``.

    Own-type cells, with births ``lam = birth (1 - sum_j u_ij)`` and losses ``mu = death +
    sum_j s_ij`` (switching out is a loss): after ``dt`` each of the ``x`` cells has left 0
    cells with probability ``alpha(dt)``, else a geometric number with parameter ``beta(dt)``
    (Kendall 1948), drawn in bulk as Binomial(x, 1 - alpha) survivors plus
    NegativeBinomial(survivors, 1 - beta) extra cells.

    Arrivals (mutant daughters, switched cells) at time ``dt - tau`` form a Poisson process of
    intensity ``sum_i (birth_i u_ij + s_ij) x_i e^{(lam_i - mu_i)(dt - tau)}`` (the mean
    source path over the step; the source's own fluctuation within one step is second order).
    Thinned by survival to the end of the step, the survivors at each of 6 Gauss-Legendre
    nodes ``tau_k`` (weight ``w_k dt / 2``) are Poisson with mean ``intensity(tau_k) w_k dt/2
    (1 - alpha_j(tau_k))``, each of geometric size with parameter ``beta_j(tau_k)``: the exact
    law of the surviving arrivals given that intensity, up to the quadrature. The quadrature
    is exact to rounding for their mean cells (an exponential in tau) and within 1e-6 for their
    number while ``(b + d) dt <= 4`` (7.6e-4 at 20). The old draw, all arrivals as one cell
    born at mid-step, inflated the mean by ``sinh(b dt / 2) / (b dt / 2)`` (issue 13).
    """
    urow, srow = ar.u.sum(1), ar.s.sum(1)
    ddm = ar.ddm
    ddrow = ddm.sum(1)
    # a symmetric differentiation removes the dividing cell (a loss of its own type)
    lam = birth * (1.0 - urow - ddrow)
    mu = death + srow + birth * ddrow
    alpha, beta = _survival_prob(lam, mu, dt)
    surv = _draw(rng, gens, "binomial", x, 1.0 - alpha)
    grow = _draw(rng, gens, "negative_binomial", np.maximum(surv, 1), 1.0 - beta)
    new = np.where(surv > 0, surv + grow, 0)
    tgt = np.flatnonzero((ar.u > 0).any(0) | (ar.s > 0).any(0))  # clones that receive cells
    tau = 0.5 * dt * (_GL_X + 1.0)  # time left to the step end at each node
    if tgt.size:
        rate = birth[:, :, None] * ar.u[None, :, tgt] + ar.s[None, :, tgt]  # (P, source, tgt)
        with np.errstate(over="ignore"):
            src = x[:, :, None] * np.exp(np.minimum((lam - mu)[:, :, None] * (dt - tau), 700.0))
        flux = np.einsum("pst,psk->ptk", rate, src) * (0.5 * dt * _GL_W)  # (P, tgt, node)
        a_tau, b_tau = _survival_prob(lam[:, tgt, None], mu[:, tgt, None], tau)
        arrive = _draw(rng, gens, "poisson", flux * (1.0 - a_tau))
        hit = arrive > 0  # geometric sizes only where cells arrived (often none)
        if gens is not None:
            size = _draw(rng, gens, "negative_binomial", np.maximum(arrive, 1), 1.0 - b_tau)
            new[:, tgt] += (arrive + np.where(hit, size, 0)).sum(-1)
        elif np.any(hit):
            arrive[hit] += rng.negative_binomial(arrive[hit], 1.0 - b_tau[hit])
            new[:, tgt] += arrive.sum(-1)
    tgt2 = np.flatnonzero((ddm > 0).any(0))
    if tgt2.size:
        # symmetric differentiations: Poisson events (same quadrature), two daughters each,
        # every daughter surviving to the step end on its own (Binomial thinning)
        rate2 = birth[:, :, None] * ddm[None, :, tgt2]
        with np.errstate(over="ignore"):
            src = x[:, :, None] * np.exp(np.minimum((lam - mu)[:, :, None] * (dt - tau), 700.0))
        flux2 = np.einsum("pst,psk->ptk", rate2, src) * (0.5 * dt * _GL_W)
        a_tau, b_tau = _survival_prob(lam[:, tgt2, None], mu[:, tgt2, None], tau)
        pairs = _draw(rng, gens, "poisson", flux2)
        if gens is not None or np.any(pairs > 0):
            live = _draw(rng, gens, "binomial", 2 * pairs, 1.0 - a_tau)
            size = _draw(rng, gens, "negative_binomial", np.maximum(live, 1), 1.0 - b_tau)
            new[:, tgt2] += np.where(live > 0, live + size, 0).sum(-1)
    events = int(np.sum(np.abs(new - x)))
    return new, events


def _step_tau(
    ar: _Arrays,
    x: np.ndarray,
    birth: np.ndarray,
    death: np.ndarray,
    dt: float,
    rng: np.random.Generator,
    gens: list[np.random.Generator] | None = None,
) -> tuple[np.ndarray, int]:
    """Fixed-step leap with the exact per-step law: the same kernel as ``branching``.

    The classic tau-leap (Poisson births, binomial deaths over each step) is biased: its mean
    grows by ``1 + b dt - (1 - e^{-d dt})`` per step instead of ``e^{(b-d) dt}``, a 4.4-fold
    error after one year at Bozic's rates and dt = 0.5 (issue 13). ``tau_leap`` therefore
    draws each step from the exact law of :func:`_step_branching`; the method name is kept for
    compatibility and keeps the stricter :class:`CoarseStepWarning` bound (0.2 / the fastest
    per-cell rate), which also limits the error of freezing drug effects over a step.
    """
    return _step_branching(ar, x, birth, death, dt, rng, gens)


class _TooLarge(Exception):
    """A stochastic step would exceed the countable population (turned into an InputError)."""


def _gillespie_channels(ar: _Arrays) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    k = len(ar.names)
    chans: list[tuple[str, int, int]] = []
    for i in range(k):
        chans.append(("birth", i, i))
        chans.append(("death", i, i))
    for i, j in zip(*np.nonzero(ar.u), strict=True):
        chans.append(("mut", int(i), int(j)))
    for i, j in zip(*np.nonzero(ar.s), strict=True):
        chans.append(("switch", int(i), int(j)))
    for i, j in zip(*np.nonzero(ar.ddm), strict=True):
        chans.append(("dd", int(i), int(j)))
    v = np.zeros((len(chans), k), np.int64)
    for e, (kind, i, j) in enumerate(chans):
        if kind == "birth":
            v[e, i] = 1
        elif kind == "death":
            v[e, i] = -1
        elif kind == "mut":
            v[e, j] = 1
        elif kind == "dd":
            v[e, i], v[e, j] = -1, 2
        else:
            v[e, i], v[e, j] = -1, 1
    return v, chans


def _step_gillespie(
    ar: _Arrays,
    x: np.ndarray,
    c: np.ndarray,
    dt: float,
    rng: np.random.Generator,
    chan: tuple[np.ndarray, list[tuple[str, int, int]]],
    max_events: int,
    max_passes: int,
    env: np.ndarray | None = None,
) -> tuple[np.ndarray, int, int]:
    v, chans = chan
    passes = 0
    x = x.copy()
    t = np.zeros(x.shape[0])
    active = np.arange(x.shape[0])
    ddm = ar.ddm
    urow = ar.u.sum(1) + ddm.sum(1)
    events = 0
    first = True
    while active.size:
        xa = x[active]
        birth, death = _per_capita(
            ar, xa, c[active], rows=active, env=None if env is None else env[active]
        )
        props = np.empty((active.size, len(chans)))
        for e, (kind, i, j) in enumerate(chans):
            if kind == "birth":
                props[:, e] = birth[:, i] * (1 - urow[i]) * xa[:, i]
            elif kind == "death":
                props[:, e] = death[:, i] * xa[:, i]
            elif kind == "mut":
                props[:, e] = birth[:, i] * ar.u[i, j] * xa[:, i]
            elif kind == "dd":
                props[:, e] = birth[:, i] * ddm[i, j] * xa[:, i]
            else:
                props[:, e] = ar.s[i, j] * xa[:, i]
        a0 = props.sum(1)
        if first:
            first = False
            # events of the step if every clone keeps its current per-cell rates: the rate of
            # events grows like exp(r t) over the step, so integrate it (a0 dt underestimates)
            r = birth - death
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                growth = np.where(
                    np.abs(r * dt) < 1e-8, dt, np.expm1(np.minimum(r * dt, 700.0)) / r
                )
            per_clone = (birth + death) * xa * growth + (ar.s.sum(1)[None, :] * xa * growth)
            per_run = np.nan_to_num(per_clone, nan=np.inf).sum(1)
            expected = float(per_run.sum())
            busiest = float(per_run.max(initial=0.0))
            if expected > max_events or busiest > max_passes:
                raise InputError(
                    f"gillespie: about {expected:.3g} events ({busiest:.3g} in the busiest run) "
                    f"expected in the next step of {dt:g} d, above what is left of the budget "
                    f"({max_events:,} events, max_events; {max_passes:,} loop passes, "
                    "MAX_GILLESPIE_PASSES); the exact method is too slow here: use "
                    "method='tau_leap' or 'branching' (or a smaller population or rates)"
                )
        with np.errstate(divide="ignore"):
            tau = rng.exponential(1.0, active.size) / a0
        t_new = t[active] + tau
        fire = t_new < dt
        passes += 1
        if np.any(fire):
            fa = active[fire]
            cum = np.cumsum(props[fire], axis=1)
            r = rng.random(fa.size) * a0[fire]
            ch = np.minimum((cum < r[:, None]).sum(1), len(chans) - 1)
            x[fa] += v[ch]
            t[fa] = t_new[fire]
            events += fa.size
            if events > max_events or passes > max_passes:
                raise InputError(
                    f"gillespie: more than {min(events, max_events):,} events or "
                    f"{MAX_GILLESPIE_PASSES:,} loop passes (max_events, MAX_GILLESPIE_PASSES); the "
                    "population is too large for exact simulation; use method='tau_leap' or "
                    "'branching'"
                )
        active = active[fire]
    return x, events, passes


def _compiled_cohort(
    ar: _Arrays,
    plans: list[_Plan],
    schedule: Schedule,
    *,
    method: str,
    t_end: float,
    dt: float,
    rng: np.random.Generator,
    record_runs: int,
    mode: str,
    progression_factor: float,
    nadir_rise: float,
    crn: bool,
    executor: Any = None,
) -> dict[str, Any] | None:
    """The whole cohort in one compiled call (:func:`._kernels.run_cohort`), or None.

    Covers the branching / tau-leap law for models without treatment lines, adaptive rules,
    pharmacokinetics, compartments, division fates or Bliss/Loewe combination, and without
    per-step common random numbers (``crn=True`` keeps the step loop, whose streams are reset
    every step); everything else runs the step loop. Same law as the step loop (tested in
    ``tests/test_evolution_kernels.py``), not the same random numbers.
    """
    if method not in ("branching", "tau_leap") or crn or len(plans) != 1:
        return None
    if (
        schedule.switch is not None
        or schedule.adaptive is not None
        or ar.n_env
        or (ar.dd is not None and bool(np.any(ar.dd)))
    ):
        return None
    if ar.combine not in ("sum", "max"):
        return None
    from ._kernels import run_cohort

    out = run_cohort(
        ar,
        plans[0],
        schedule,
        t_end=t_end,
        dt=dt,
        rng=rng,
        record_runs=record_runs,
        mode=mode,
        progression_factor=progression_factor,
        nadir_rise=nadir_rise,
        executor=executor,
    )
    if out is None:
        return None
    n = ar.x0.shape[0]
    rec_n = out["rec_x"].shape[1]
    out.setdefault("rec_e", np.zeros((out["rec_x"].shape[0], rec_n, 0)))
    out.setdefault("switch", None)
    out.setdefault("env_end", np.zeros((n, 0)))
    return out


def _run_stochastic(
    ar: _Arrays,
    plans: list[_Plan],
    schedule: Schedule,
    *,
    method: str,
    t_end: float,
    dt: float,
    rng: np.random.Generator,
    record_runs: int,
    mode: str,
    progression_factor: float,
    nadir_rise: float,
    max_events: int,
    progress: bool,
    has_bio: bool = False,
    crn: bool = False,
    engine: str = "auto",
    executor: Any = None,
) -> dict[str, Any]:
    if engine != "numpy" and not progress:
        fast = _compiled_cohort(
            ar,
            plans,
            schedule,
            method=method,
            t_end=t_end,
            dt=dt,
            rng=rng,
            record_runs=record_runs,
            mode=mode,
            progression_factor=progression_factor,
            nadir_rise=nadir_rise,
            crn=crn,
            executor=executor,
        )
        if fast is not None:
            return fast
    n, k = ar.x0.shape
    nd = len(ar.drugs)
    ndd = max(nd, 1)
    nm = ar.n_env
    x = np.rint(ar.x0).astype(np.int64)
    conc = np.zeros((n, ndd))
    auc = np.zeros((n, ndd))
    on = np.ones(n, bool)
    env = np.tile(ar.env0, (n, 1)) if nm and ar.env0 is not None else np.zeros((n, 0))
    if ar.decay is not None:
        bio = (x @ ar.w) / ar.decay if ar.bio0 is None else np.full(n, float(ar.bio0))
    else:
        bio = x @ ar.w
    bio = np.asarray(bio, dtype=float)
    baseline = _measure(ar, x.astype(float), bio, mode).astype(float)
    met = _Metrics(n, ndd, baseline, progression_factor=progression_factor, nadir_rise=nadir_rise)
    rule = schedule.adaptive
    check_every = rule.check_every if rule is not None else None
    next_check = check_every if check_every is not None else 0.0
    rule_spec = _obs_spec(ar, rule.measure, has_bio) if rule is not None else None
    rule_base = np.ones(n)
    if rule is not None and rule_spec is not None and rule.thresholds == "relative":
        rule_base = _observe(rule_spec, x.astype(float), bio, env)
        _check_base(rule_base, rule.measure)
    sw_rule = schedule.switch
    sw_spec = _obs_spec(ar, sw_rule.measure, has_bio) if sw_rule is not None else None
    sw = (
        _Switch(sw_rule, len(plans), _observe(sw_spec, x.astype(float), bio, env))
        if sw_rule is not None and sw_spec is not None
        else None
    )
    next_sw = sw_rule.check_every if sw_rule is not None else math.inf
    n_sw_checks = 1
    steps = round(t_end / dt)
    rec_n = min(record_runs, n)
    times = np.arange(steps + 1) * dt
    rec_x = np.zeros((steps + 1, rec_n, k))
    rec_m = np.zeros((steps + 1, rec_n))
    rec_on = np.zeros((steps + 1, rec_n), bool)
    rec_c = np.zeros((steps + 1, rec_n, ndd))
    rec_e = np.zeros((steps + 1, rec_n, nm))
    mean_x = np.zeros((steps + 1, k))
    rec_x[0], rec_m[0], rec_on[0] = x[:rec_n], baseline[:rec_n], on[:rec_n]
    rec_e[0] = env[:rec_n]
    mean_x[0] = x.mean(0)
    chan = _gillespie_channels(ar) if method == "gillespie" else None
    # exact Gillespie compiled (one event at a time, rates after every event) for the models
    # the kernel covers; compartments, division fates and Bliss/Loewe keep the numpy engine
    fast_gillespie = (
        method == "gillespie"
        and engine != "numpy"
        and not nm
        and not bool(np.any(ar.ddm))
        and ar.combine in ("sum", "max")
    )
    if fast_gillespie:
        from ._kernels import effective_rates, gillespie_step
    events = 0
    passes = 0
    # common random numbers: every patient and step draws from its own stream, seeded by
    # (base, patient, step) (gillespie: by (base, step)), so two schedules run with the same
    # seed use the same numbers and a difference in one step does not shift later ones
    base = int(rng.integers(2**63)) if crn else 0
    streams = _PatientStreams(base, n) if crn and method != "gillespie" else None
    bar = _progress(progress, steps, f"{method} {schedule.name}")
    for step in range(steps):
        t0 = step * dt
        step_rng = np.random.default_rng([base, step]) if crn else rng
        if sw is None:
            level = plans[0].level(t0)[None, :] * on[:, None]
            bol = plans[0].boluses(t0, t0 + dt)[None, :] * on[:, None]
        else:
            level = np.zeros((n, ndd))
            bol = np.zeros((n, ndd))
            for j in np.unique(sw.line):
                sel = sw.line == j
                rel = t0 - sw.start[sel]
                level[sel] = plans[j].levels(rel)
                bol[sel] = plans[j].boluses_many(rel, rel + dt)
            level *= on[:, None]
            bol *= on[:, None]
        met.dose += bol
        conc = conc + bol / ar.vol
        kel = ar.kel[None, :]
        # exact one-compartment update towards the infusion level (constant PK: instant)
        const = kel == 0
        decay = np.exp(-kel * dt)
        with np.errstate(divide="ignore", invalid="ignore"):
            area = np.where(
                const,
                level * dt,
                level * dt + (conc - level) * (-np.expm1(-kel * dt)) / np.where(const, 1, kel),
            )
        c_mean = area / dt
        conc = np.where(const, level, level + (conc - level) * decay)
        auc += area
        met.time_on += dt * (on & ((level.sum(1) > 0) | (bol.sum(1) > 0)))
        xf = x.astype(float)
        env_mean: np.ndarray | None = None
        if nm:
            env_mean, env = _env_step(ar, env, xf, c_mean, dt)
        try:
            if method == "gillespie" and fast_gillespie:
                b_eff, d_eff, kc0 = effective_rates(ar, c_mean)
                x, ev = gillespie_step(
                    x,
                    b_eff,
                    d_eff,
                    kc0=kc0,
                    a=ar.a,
                    u=ar.u,
                    s=ar.s,
                    cap_src=ar.cap_src,
                    growth=ar.growth,
                    dt=dt,
                    rng=step_rng,
                    max_events=max_events - events,
                )
            elif method == "gillespie":
                assert chan is not None
                x, ev, n_pass = _step_gillespie(
                    ar,
                    x,
                    c_mean,
                    dt,
                    step_rng,
                    chan,
                    max_events - events,
                    MAX_GILLESPIE_PASSES - passes,
                    env=env_mean,
                )
                passes += n_pass
            else:
                birth, death = _per_capita(ar, xf, c_mean, env=env_mean)
                with np.errstate(over="ignore"):
                    grow = xf * np.exp(np.minimum((birth - death) * dt, 700.0))
                if float(grow.max(initial=0.0)) > MAX_CELLS:
                    raise _TooLarge(f"about {float(grow.max()):.3g} cells of one clone expected")
                stepper = _step_branching if method == "branching" else _step_tau
                gens = streams.at(step) if streams is not None else None
                x, ev = stepper(ar, x, birth, death, dt, step_rng, gens)
        except (_TooLarge, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                f"{method}: the population becomes too large to count at day {t0:g} ({exc}); "
                f"the stochastic engines count at most {MAX_CELLS:.0e} cells of a clone as 64-bit "
                "integers. Use method='ode', add a carrying capacity (growth: logistic), lower "
                "the rates or shorten t_end"
            ) from None
        events += ev
        if ar.decay is not None:
            e = math.exp(-ar.decay * dt)
            bio = bio * e + (x @ ar.w) * (1 - e) / ar.decay
        else:
            bio = (x @ ar.w).astype(float)
        t1 = (step + 1) * dt
        m = _measure(ar, x.astype(float), bio, mode)
        if rule is not None and (check_every is None or t1 >= next_check - 1e-9):
            assert rule_spec is not None
            rm = _observe(rule_spec, x.astype(float), bio, env)
            on = np.where(on & (rm < rule.stop_below * rule_base), False, on)
            on = np.where(~on & (rm > rule.resume_above * rule_base), True, on)
            if check_every is not None:
                next_check += check_every
        if sw is not None and sw_spec is not None and t1 >= next_sw - 1e-9:
            changed = sw.check(t1, _observe(sw_spec, x.astype(float), bio, env))
            on = np.where(changed, True, on)  # a new line starts on drug
            n_sw_checks += 1
            next_sw = n_sw_checks * float(sw.rule.check_every)
        met.update(t1, x.astype(float), m, on, ar.resistant)
        rec_x[step + 1], rec_m[step + 1], rec_on[step + 1] = x[:rec_n], m[:rec_n], on[:rec_n]
        rec_c[step + 1] = conc[:rec_n]
        rec_e[step + 1] = env[:rec_n]
        mean_x[step + 1] = x.mean(0)
        if bar is not None:
            bar.advance()
    if bar is not None:
        bar.__exit__(None, None, None)
    return {
        "times": times,
        "rec_x": rec_x,
        "rec_m": rec_m,
        "rec_on": rec_on,
        "rec_c": rec_c,
        "rec_e": rec_e,
        "mean_x": mean_x,
        "met": met,
        "auc": auc,
        "x_end": x.astype(float),
        "events": events,
        "switch": sw,
        "env_end": env,
    }


def _check_base(base: np.ndarray, measure: str) -> None:
    if np.any(~(base > 0)):
        raise InputError(
            f"adaptive: the measure {measure!r} is 0 at day 0, so thresholds relative to it "
            "mean nothing; use thresholds: absolute (stop_below / resume_above in the "
            "measure's units) or a measure that is positive at day 0"
        )


def _progress(enabled: bool, total: int, label: str) -> Any:
    if not enabled:
        return None
    from .._progress import ProgressReporter

    return ProgressReporter(total, label, transient=True).__enter__()


def _run_ode_one(
    ar: _Arrays,
    row: int,
    plans: list[_Plan],
    schedule: Schedule,
    *,
    t_end: float,
    dt: float,
    mode: str,
    has_bio: bool = False,
) -> dict[str, Any]:
    from scipy.integrate import solve_ivp

    k = len(ar.names)
    nd = max(len(ar.drugs), 1)
    nm = ar.n_env
    pk = ar.kel > 0
    rows = np.array([row])
    ddm = ar.ddm
    urow, srow, ddrow = ar.u.sum(1), ar.s.sum(1), ddm.sum(1)
    dyn_bio = ar.decay is not None
    ie = k + 2 * nd + (1 if dyn_bio else 0)

    def unpack(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
        x = y[:k]
        c = y[k : k + nd]
        auc = y[k + nd : k + 2 * nd]
        b = y[k + 2 * nd] if dyn_bio else float(x @ ar.w)
        return x, c, auc, b, y[ie : ie + nm]

    def rhs_factory(level: np.ndarray) -> Any:
        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            x, c, _auc, b, env = unpack(y)
            xc = np.maximum(x, 0.0)
            c_eff = np.where(pk, c, level)
            lv = np.maximum(env, 0.0)[None, :] if nm else None
            birth, death = _per_capita(ar, xc[None, :], c_eff[None, :], rows=rows, env=lv)
            birth, death = birth[0], death[0]
            bx = birth * xc
            dx = (
                xc * (birth * (1 - urow - ddrow) - death)
                - bx * ddrow
                + bx @ ar.u
                + 2.0 * (bx @ ddm)
                + xc @ ar.s
                - xc * srow
            )
            dc = np.where(pk, ar.kel * (level - c), 0.0)
            dauc = c_eff
            out = [dx, dc, dauc]
            if dyn_bio:
                out.append(np.array([float(xc @ ar.w) - float(ar.decay or 0) * b]))
            if nm:
                inflow, loss = _env_rates(ar, xc[None, :], c_eff[None, :])
                out.append(inflow[0] - loss[0] * env)
            return np.concatenate(out)

        return rhs

    x0 = ar.x0[row].astype(float)
    if dyn_bio and ar.decay:
        b0 = float(x0 @ ar.w) / ar.decay if ar.bio0 is None else float(ar.bio0)
    else:
        b0 = float(x0 @ ar.w)
    env0 = ar.env0 if nm and ar.env0 is not None else np.zeros(0)
    y = np.concatenate([x0, np.zeros(nd), np.zeros(nd), [b0] if dyn_bio else [], env0])
    baseline = float(x0.sum()) if mode == "burden" else b0

    def observe(spec: tuple[str, Any], yy: np.ndarray) -> float:
        x, _c, _a, b, env = unpack(yy)
        return float(_observe(spec, x[None, :], np.array([b]), env[None, :])[0])

    rule = schedule.adaptive
    rule_spec = _obs_spec(ar, rule.measure, has_bio) if rule is not None else None
    rule_base = 1.0
    if rule is not None and rule_spec is not None and rule.thresholds == "relative":
        rule_base = observe(rule_spec, y)
        _check_base(np.array([rule_base]), rule.measure)
    sw_rule = schedule.switch
    sw_spec = _obs_spec(ar, sw_rule.measure, has_bio) if sw_rule is not None else None
    sw = (
        _Switch(sw_rule, len(plans), np.array([observe(sw_spec, y)]))
        if sw_rule is not None and sw_spec is not None
        else None
    )
    grid = np.arange(round(t_end / dt) + 1) * dt
    ce = rule.check_every if rule is not None else None
    n_ad, n_sw = 1, 1
    next_ad = ce if ce is not None else math.inf
    next_sw = float(sw_rule.check_every) if sw_rule is not None else math.inf
    line, lstart = 0, 0.0

    def line_bps() -> np.ndarray:
        b = plans[line].breakpoints() + lstart
        return b[(b > lstart) & (b < t_end)]

    bps = line_bps()
    on = True
    t = 0.0
    out_t: list[np.ndarray] = []
    out_y: list[np.ndarray] = []
    out_on: list[np.ndarray] = []
    out_lv: list[np.ndarray] = []
    dose = np.zeros(nd)
    toggles = 0
    while t < t_end - 1e-12:
        plan = plans[line]
        bol = plan.boluses(t - lstart, t - lstart + 1e-9) if on else np.zeros(nd)
        if np.any(bol > 0):
            dose += bol
            y = y.copy()
            y[k : k + nd] += np.where(pk, bol / ar.vol, 0.0)
        ahead = bps[bps > t + 1e-12]
        t_next = min(float(ahead[0]) if ahead.size else t_end, next_ad, next_sw, t_end)
        seg_start = t
        while seg_start < t_next - 1e-12:
            level = plan.level(seg_start - lstart) * on
            events = []
            if rule is not None and ce is None and rule_spec is not None:
                thr = (rule.stop_below if on else rule.resume_above) * rule_base
                ev = lambda _t, yy, sp=rule_spec, th=thr: observe(sp, yy) - th  # noqa: E731
                ev.direction = -1 if on else 1  # type: ignore[attr-defined]
                ev.terminal = True  # type: ignore[attr-defined]
                events = [ev]
            t_eval = np.append(grid[(grid >= seg_start) & (grid < t_next)], t_next)
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
                sol = solve_ivp(
                    rhs_factory(level),
                    (seg_start, t_next),
                    y,
                    method="LSODA",
                    t_eval=t_eval,
                    events=events or None,
                    rtol=1e-8,
                    atol=1e-10,
                )
            if sol.status < 0:
                raise InputError(f"ODE integration failed at day {seg_start:g}: {sol.message}")
            if not np.all(np.isfinite(sol.y)) or float(np.abs(sol.y).max(initial=0.0)) > 1e300:
                bad = np.flatnonzero(~np.all(np.isfinite(sol.y), axis=0) | (sol.y.max(0) > 1e300))
                day = float(sol.t[bad[0]]) if bad.size else float(sol.t[-1])
                raise InputError(
                    f"ode: the cell numbers overflow (above 1e300) by day {day:g}: the model "
                    "grows without bound over the horizon; add a carrying capacity (growth: "
                    "logistic or gompertz), lower the net growth rate or shorten t_end"
                )
            keep_t = sol.t < t_next
            if np.any(keep_t):
                nk = int(keep_t.sum())
                out_t.append(sol.t[keep_t])
                out_y.append(sol.y.T[keep_t])
                out_on.append(np.full(nk, on))
                out_lv.append(np.tile(level, (nk, 1)))
            if sol.status == 1 and sol.t_events and sol.t_events[0].size:
                te = float(sol.t_events[0][0])
                y = sol.y_events[0][0]
                on = not on
                toggles += 1
                if toggles > 100_000 or (te <= seg_start + 1e-12 and toggles > 10):
                    raise InputError(
                        "adaptive rule toggles without end; widen stop_below/resume_above"
                    )
                seg_start = te
            else:
                y = sol.y[:, -1]
                seg_start = t_next
        t = t_next
        if rule is not None and ce is not None and t >= next_ad - 1e-9:
            assert rule_spec is not None
            m = observe(rule_spec, y)
            if on and m < rule.stop_below * rule_base:
                on = False
            elif not on and m > rule.resume_above * rule_base:
                on = True
            n_ad += 1
            next_ad = n_ad * ce
        if sw is not None and sw_spec is not None and t >= next_sw - 1e-9:
            if sw.check(t, np.array([observe(sw_spec, y)]))[0]:
                line, lstart, on = int(sw.line[0]), t, True
                bps = line_bps()
            n_sw += 1
            next_sw = n_sw * float(sw.rule.check_every)
    out_t.append(np.array([t_end]))
    out_y.append(y[None, :])
    out_on.append(np.array([on]))
    out_lv.append((plans[line].level(t_end - lstart) * on)[None, :])
    tt = np.concatenate(out_t)
    yy = np.concatenate(out_y)
    oo = np.concatenate(out_on)
    ll = np.concatenate(out_lv)
    keep = np.concatenate([np.diff(tt) > 1e-12, [True]])
    return {
        "t": tt[keep],
        "y": yy[keep],
        "on": oo[keep],
        "lv": ll[keep],
        "dose": dose,
        "baseline": baseline,
        "unpack": unpack,
        "k": k,
        "nd": nd,
        "ie": ie,
        "switch": sw,
    }


# ---------------------------------------------------------------------------------------------
# Public entry point


def simulate(
    model: Model,
    schedule: Schedule,
    *,
    method: str = "ode",
    t_end: float = 365.0,
    dt: float = 1.0,
    n_runs: int = 1,
    rng: int | np.random.Generator | None = None,
    variation: Mapping[str, float] | None = None,
    record_runs: int = 20,
    progression_factor: float = 1.2,
    nadir_rise: float = 1.25,
    max_events: int = 50_000_000,
    max_steps: int = MAX_STEPS,
    progress: bool = False,
    crn: bool = False,
    engine: str = "auto",
    executor: str | Executor | None = None,
) -> SimulationResult:
    """Simulate ``model`` under ``schedule``.

    Parameters
    ----------
    model, schedule
        The tumour and the treatment (see :func:`load_model`, :func:`load_schedule`).
    method
        ``"ode"``, ``"gillespie"`` (exact), ``"tau_leap"`` or ``"branching"`` (both with the
        exact birth-death law over each step; ``tau_leap`` warns at a stricter step).
    t_end, dt
        Horizon and output / step size in days (for ``tau_leap`` and ``branching`` ``dt`` is
        the step; a :class:`CoarseStepWarning` names the bound when it is too coarse).
    n_runs
        Stochastic runs or virtual patients (vectorised); with ``variation`` also for ODE.
    rng
        Seed or generator (runs and parameter draws).
    variation
        Log-normal spread (sd of the log) of parameters across runs, keys
        ``CLONE.birth_rate``, ``CLONE.death_rate``, ``CLONE.initial``,
        ``CLONE.carrying_capacity``, ``CLONE.DRUG.emax``, ``CLONE.DRUG.ic50``.
    record_runs
        How many runs keep full trajectories (all runs enter ``mean`` and ``runs``).
    progression_factor, nadir_rise
        Thresholds of the ``ttp_baseline`` and ``ttp_nadir`` progression definitions.
    max_events
        Budget of ``gillespie`` events over the whole run; a step whose expected events exceed
        what is left is refused before it starts.
    max_steps
        Limit on ``t_end / dt`` (default :data:`MAX_STEPS`).
    crn
        Common random numbers for the stochastic engines: each step draws from its own
        stream seeded by ``(seed, step)``, so schedules compared with the same ``rng`` seed
        see the same numbers step by step (patient ``r`` of a cohort of the same size gets
        the same parameter draws and the same streams in every schedule) and their
        difference is not seed noise. The CLI and the demo use it with one seed for all
        schedules. Off by default (one stream, as before).
    engine
        ``"auto"`` (default): cohorts of the branching / tau-leap engines that the compiled
        kernel covers (no adaptive rule, treatment lines, pharmacokinetics, compartments,
        division fates, Bliss/Loewe or ``crn``; no progress bar) run in one compiled call
        (:mod:`._kernels`, numba when installed, else its numpy twin), the rest step by step;
        ``"numpy"``: always the step loop. ``gillespie`` likewise runs each step's events in
        the compiled direct method where the model allows (no compartments, division fates or
        Bliss/Loewe). Both draw from the same law (tested); the random numbers differ.
    executor
        Where the compiled cohort's patients run, in chunks (``"serial"``, ``"threads"``,
        ``"processes"``, ``"dask"`` or an object with ``map``; None: one call here). Patient
        ``r`` keeps its own random stream, so the results are bitwise the same on any
        executor; cohorts the kernel does not cover (see ``engine``) run here step by step.

    A schedule without regimens is an untreated control. Runs that would not finish in
    bounded time or memory raise an :class:`~oncoresist.errors.InputError` that says why and
    what to change (see the module documentation for the limits).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from oncoresist.evolution import zhang2017_model, zhang2017_schedules
    >>> m = zhang2017_model()
    >>> res = simulate(m, zhang2017_schedules()["adaptive"], t_end=2000, dt=5)
    >>> bool(res.runs["time_off_drug"].iloc[0] > 0)
    True
    """
    if not isinstance(model, Model):
        raise InputError(f"model must be a Model (see load_model), got {type(model).__name__}")
    if not isinstance(schedule, Schedule):
        raise InputError(
            f"schedule must be a Schedule (see load_schedule), got {type(schedule).__name__}; "
            "simulate one schedule per call"
        )
    if engine not in ("auto", "numpy"):
        raise InputError(f"engine={engine!r} unknown; use 'auto' or 'numpy'")
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    t_end = _finite_arg(t_end, "t_end")
    dt = _finite_arg(dt, "dt")
    if not t_end > 0:
        raise InputError(f"t_end must be a positive number of days, got {t_end!r}")
    if not 0 < dt <= t_end:
        raise InputError(f"dt must be in (0, t_end], got {dt!r}")
    for name, value, low in (
        ("n_runs", n_runs, 1),
        ("record_runs", record_runs, 0),
        ("max_events", max_events, 1),
        ("max_steps", max_steps, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    for label, factor in (("progression_factor", progression_factor), ("nadir_rise", nadir_rise)):
        if not _finite_arg(factor, label) > 0:
            raise InputError(f"{label} must be > 0, got {factor!r}")
    steps = t_end / dt
    if steps > max_steps:
        what = "output points" if method == "ode" else "steps"
        raise InputError(
            f"t_end / dt = {t_end:g} / {dt:g} = {steps:.3g} {what}, above the limit of "
            f"{int(max_steps):,} (max_steps); use a larger dt (>= {t_end / max_steps:.3g} d)"
            + ("" if method == "ode" else " or method='ode'")
        )
    if abs(round(steps) * dt - t_end) > 1e-9 * t_end:
        raise InputError(f"t_end ({t_end}) must be a multiple of dt ({dt})")
    _check_work(model, schedule, t_end=t_end, n_steps=round(steps), n_runs=int(n_runs),
                record_runs=int(record_runs))  # fmt: skip
    gen = np.random.default_rng(rng)
    ar = _arrays(model, int(n_runs), variation, gen)
    _check_rates(ar, method)
    plans = _plans(model, schedule, t_end)
    has_bio = model.biomarker is not None
    rule = schedule.adaptive
    mode = "burden"
    if (
        rule is not None and rule.measure in ("auto", "biomarker") and model.biomarker is not None
    ) or (rule is None and model.biomarker is not None):
        mode = "biomarker"
    if rule is not None and rule.measure == "biomarker" and model.biomarker is None:
        raise InputError(
            f"schedule {schedule.name!r} measures a biomarker but the model defines none"
        )
    if not isinstance(crn, bool):
        raise InputError(f"crn must be True or False, got {crn!r:.40}")
    # both kernels are exact for per-capita rates frozen over a step, so for branching only
    # density-dependent birth (logistic/Gompertz) limits the step; tau_leap keeps the classic
    # tau-leap bound on the fastest rate (drug effects and densities frozen over a step)
    rate = (
        _max_rate(ar)
        if method == "tau_leap"
        else float(ar.b.max())
        if model.growth != "exponential"
        else 0.0
    )
    if method in ("tau_leap", "branching") and rate * dt > 0.2:
        warnings.warn(
            f"dt = {dt} d is too coarse for the fastest per-cell rate {rate:.3g}/d of model "
            f"{model.name!r} ({method}); use dt <= {0.2 / rate:.3g} d (0.2 / max rate)",
            CoarseStepWarning,
            stacklevel=2,
        )
    if method == "gillespie" and float(ar.x0.sum(1).max()) > 1e6:
        raise InputError(
            f"gillespie with {ar.x0.sum(1).max():.3g} initial cells would need too many events; "
            "use method='tau_leap' or 'branching' for large populations"
        )
    names = ar.names
    drugs = ar.drugs
    nd = max(len(drugs), 1)
    if method == "ode":
        runs = [
            _run_ode_one(ar, r, plans, schedule, t_end=t_end, dt=dt, mode=mode, has_bio=has_bio)
            for r in range(ar.n)
        ]
        grid = np.arange(round(t_end / dt) + 1) * dt
        traj, burd, summ, mean_acc = [], [], [], np.zeros((grid.size, len(names)))
        for r, o in enumerate(runs):
            k = o["k"]
            x_all = o["y"][:, :k]
            c_all = o["y"][:, k : k + nd]
            b_all = o["y"][:, k + 2 * nd] if ar.decay is not None else x_all @ ar.w
            m_all = b_all if mode == "biomarker" else x_all.sum(1)
            on = o["on"]
            pk = ar.kel > 0
            lv = o["lv"]
            c_show = np.where(pk[None, :], c_all, lv)
            met = _Metrics(
                1,
                nd,
                np.array([o["baseline"]]),
                progression_factor=progression_factor,
                nadir_rise=nadir_rise,
            )
            for i, t in enumerate(o["t"]):
                if i:
                    met.update(
                        float(t),
                        x_all[i][None, :],
                        np.array([m_all[i]]),
                        np.array([bool(on[i])]),
                        ar.resistant,
                    )
            on_time = (
                float(np.sum(np.diff(o["t"]) * ((lv[:-1].sum(1) > 0) & on[:-1])))
                if len(drugs)
                else 0.0
            )
            auc = o["y"][-1, k + nd : k + 2 * nd]
            x_end = x_all[-1]
            row = _summary_row(
                r,
                met,
                0,
                auc,
                o["dose"],
                on_time,
                t_end,
                x_end,
                ar,
                drugs,
                cured=bool(x_end.sum() < 1.0),
            )
            if o["switch"] is not None:
                row.update(o["switch"].row(0))
            for m_i, cn in enumerate(ar.env_names):
                row[f"final_{cn}"] = float(o["y"][-1, o["ie"] + m_i])
            summ.append(row)
            on_grid = np.interp(grid, o["t"], x_all.sum(1))  # noqa: F841 - total kept for clarity
            xg = np.stack([np.interp(grid, o["t"], x_all[:, j]) for j in range(len(names))], 1)
            mean_acc += xg / ar.n
            if r < record_runs:
                sel = np.isin(o["t"], grid) | (o["t"] == t_end)
                tt = o["t"]
                traj.append(_traj_frame(r, tt, x_all, names))
                bf = _burden_frame(
                    r,
                    tt,
                    x_all.sum(1),
                    m_all,
                    on & (lv.sum(1) > 0) if len(drugs) else on & False,
                    c_show,
                    drugs,
                )
                for m_i, cn in enumerate(ar.env_names):
                    bf[f"level_{cn}"] = o["y"][:, o["ie"] + m_i]
                burd.append(bf)
                del sel
        info = {"events": 0}
        mean = _mean_frame(grid, mean_acc, names)
        summary = pd.DataFrame(summ)
    else:
        o = _run_stochastic(
            ar,
            plans,
            schedule,
            method=method,
            t_end=t_end,
            dt=dt,
            rng=gen,
            record_runs=record_runs,
            mode=mode,
            progression_factor=progression_factor,
            nadir_rise=nadir_rise,
            max_events=max_events,
            progress=progress,
            has_bio=has_bio,
            crn=crn,
            engine=engine,
            executor=executor,
        )
        met = o["met"]
        times = o["times"]
        traj, burd = [], []
        for r in range(o["rec_x"].shape[1]):
            xr = o["rec_x"][:, r, :]
            traj.append(_traj_frame(r, times, xr, names))
            bf = _burden_frame(
                r,
                times,
                xr.sum(1),
                o["rec_m"][:, r],
                o["rec_on"][:, r],
                o["rec_c"][:, r, :],
                drugs,
            )
            for m_i, cn in enumerate(ar.env_names):
                bf[f"level_{cn}"] = o["rec_e"][:, r, m_i]
            burd.append(bf)
        summ = []
        for r in range(ar.n):
            row = _summary_row(
                r,
                met,
                r,
                o["auc"][r],
                met.dose[r],
                float(met.time_on[r]),
                t_end,
                o["x_end"][r],
                ar,
                drugs,
                cured=bool(o["x_end"][r].sum() == 0),
            )
            if o["switch"] is not None:
                row.update(o["switch"].row(r))
            for m_i, cn in enumerate(ar.env_names):
                row[f"final_{cn}"] = float(o["env_end"][r, m_i])
            summ.append(row)
        summary = pd.DataFrame(summ)
        mean = _mean_frame(times, o["mean_x"], names)
        info = {"events": o["events"]}
    return SimulationResult(
        model_name=model.name,
        schedule_name=schedule.name,
        method=method,
        t_end=float(t_end),
        dt=float(dt),
        trajectories=pd.concat(traj, ignore_index=True)
        if traj
        else pd.DataFrame(columns=["run", "time", "clone", "cells"]),
        burden=pd.concat(burd, ignore_index=True) if burd else pd.DataFrame(),
        mean=mean,
        runs=summary,
        info=info,
    )


def _finite_arg(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a number, got {value!r:.40}") from None
    if isinstance(value, bool) or not math.isfinite(v):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return v


def _check_work(
    model: Model, schedule: Schedule, *, t_end: float, n_steps: int, n_runs: int, record_runs: int
) -> None:
    """Refuse a run whose schedule changes or memory would not be bounded (before any work)."""
    segments = 0.0
    for r in (r for line in schedule.all_lines for r in line):
        span = min(float(r.stop), t_end) - float(r.start)
        if span <= 0:
            continue
        if r.kind == "intermittent":
            segments += 2 * span / (float(r.on or 0) + float(r.off or 0)) + 2
        elif r.kind == "boluses":
            segments += len(r.times) if r.times else span / float(r.interval or 1.0) + 1
        elif r.kind == "blocks":
            segments += 2 * len(r.blocks)
        else:
            segments += 2
    rule = schedule.adaptive
    if rule is not None and rule.check_every is not None:
        segments += t_end / float(rule.check_every)
    if schedule.switch is not None:
        segments += t_end / float(schedule.switch.check_every)
    if segments > MAX_SEGMENTS:
        raise InputError(
            f"schedule {schedule.name!r} changes dosing or is checked about {segments:.3g} times "
            f"in {t_end:g} days, above the limit of {MAX_SEGMENTS:,}; use longer dosing "
            "intervals / on-off periods / check_every, or a shorter t_end"
        )
    k, nd = len(model.clones), max(len(model.drugs), 1)
    held = max(n_runs * k * nd * 4, (n_steps + 1) * min(record_runs, n_runs) * (k + nd + 2))
    if held > MAX_VALUES:
        raise InputError(
            f"this run would hold about {held:.3g} values in memory (n_runs={n_runs}, "
            f"record_runs={record_runs}, {n_steps + 1} time points, {k} clones), above the limit "
            f"of {MAX_VALUES:.0e}; use fewer runs, a smaller record_runs or a larger dt"
        )


def _check_rates(ar: _Arrays, method: str) -> None:
    """Refuse per-cell rates above MAX_RATE and populations the engine cannot count."""
    extra = np.where(ar.tgt == 0, ar.emax, 0.0).sum(-1)
    total = ar.b + ar.d + extra + ar.s.sum(1)[None, :]
    if not np.all(np.isfinite(total)) or float(total.max()) > MAX_RATE:
        i = int(np.nanargmax(np.where(np.isfinite(total), total, np.inf)) % total.shape[1])
        raise InputError(
            f"clone {ar.names[i]!r}: a per-cell rate of {float(np.max(total[:, i])):.3g} per day "
            f"(birth + death + maximal drug kill + switching) is above the limit of "
            f"{MAX_RATE:.0e} per day (a division every 0.1 s); rates are per cell per day: "
            "check the units (or the variation spread)"
        )
    for j, kel in enumerate(ar.kel[: len(ar.drugs)]):
        if kel > MAX_RATE:
            raise InputError(
                f"drug {ar.drugs[j]!r}: a half-life of {math.log(2) / kel:.3g} days is an "
                f"elimination rate of {kel:.3g} per day, above the limit of {MAX_RATE:.0e} per "
                "day; half_life is in days: check the units (or use pk: constant)"
            )
    if ar.decay is not None and ar.decay > MAX_RATE:
        raise InputError(
            f"biomarker decay_rate {ar.decay:.3g} per day is above the limit of {MAX_RATE:.0e} "
            "per day; it is per day: check the units (or omit it for a marker equal to burden)"
        )
    if not np.all(np.isfinite(ar.x0)) or np.any(np.isnan(ar.cap)):
        raise InputError(
            "initial cells must be finite and carrying capacities numbers (after variation)"
        )
    if method != "ode" and float(ar.x0.max()) > MAX_CELLS:
        raise InputError(
            f"{method}: {float(ar.x0.max()):.3g} initial cells of one clone; the stochastic "
            f"engines count at most {MAX_CELLS:.0e} cells as 64-bit integers; use method='ode'"
        )
    if ar.decay is not None and ar.bio0 is None:
        b0 = (ar.x0 @ ar.w) / ar.decay
        if not np.all(np.isfinite(b0)):
            raise InputError(
                "the biomarker's steady state (sum of weight x cells / decay_rate) overflows; "
                "give biomarker.initial or a larger decay_rate"
            )


def _summary_row(
    run: int,
    met: _Metrics,
    i: int,
    auc: np.ndarray,
    dose: np.ndarray,
    on_time: float,
    t_end: float,
    x_end: np.ndarray,
    ar: _Arrays,
    drugs: tuple[str, ...],
    *,
    cured: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run": run,
        "ttp_baseline": float(met.ttp_baseline[i]),
        "ttp_nadir": float(met.ttp_nadir[i]),
        "ttp_resistant": float(met.ttp_resistant[i]),
        "time_on_drug": on_time,
        "time_off_drug": float(t_end - on_time),
        "final_burden": float(x_end.sum()),
        "cured": cured,
        "resistant_at_end": bool(np.any(x_end[ar.resistant] >= 1.0))
        if ar.resistant.any()
        else False,
        "t_extinct": float(met.t_extinct[i]),
    }
    for j, dn in enumerate(drugs):
        row[f"exposure_{dn}"] = float(auc[j])
        row[f"dose_{dn}"] = float(dose[j])
    return row


def _traj_frame(run: int, t: np.ndarray, x: np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    k = len(names)
    return pd.DataFrame(
        {
            "run": run,
            "time": np.repeat(t, k),
            "clone": np.tile(np.array(names, dtype=object), t.size),
            "cells": x.reshape(-1).astype(float),
        }
    )


def _burden_frame(
    run: int,
    t: np.ndarray,
    total: np.ndarray,
    m: np.ndarray,
    on: np.ndarray,
    c: np.ndarray,
    drugs: tuple[str, ...],
) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "run": run,
            "time": t,
            "total": total.astype(float),
            "measure": m.astype(float),
            "drug_on": on.astype(bool),
        }
    )
    for j, dn in enumerate(drugs):
        df[f"conc_{dn}"] = c[:, j]
    return df


def _mean_frame(t: np.ndarray, mean_x: np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    k = len(names)
    return pd.DataFrame(
        {
            "time": np.repeat(t, k),
            "clone": np.tile(np.array(names, dtype=object), t.size),
            "mean_cells": mean_x.reshape(-1),
        }
    )
