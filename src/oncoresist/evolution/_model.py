"""Model description of a heterogeneous tumour: clones, transitions, drugs, schedules.

Everything is a frozen dataclass validated at construction; ``model_from_dict`` and
``schedule_from_dict`` read the same structures from YAML/JSON and name the offending key path
(``clones[2].birth_rate``) in every error.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .._text import decode, read_bytes, yaml_problem
from ..errors import InputError

__all__ = [
    "AdaptiveRule",
    "Biomarker",
    "Clone",
    "Compartment",
    "Division",
    "Drug",
    "DrugEffect",
    "Microenvironment",
    "Model",
    "Regimen",
    "Schedule",
    "SwitchRule",
    "Transition",
    "load_model",
    "load_schedule",
    "model_from_dict",
    "schedule_from_dict",
]

GROWTH_LAWS = ("exponential", "logistic", "gompertz")
EFFECT_TARGETS = ("death", "birth", "capacity")
TRANSITION_KINDS = ("mutation", "switch")
ROLES = ("bulk", "stem", "progenitor", "differentiated")
PK_MODELS = ("constant", "one_compartment")
REGIMEN_KINDS = ("continuous", "intermittent", "boluses", "blocks")
#: How the effects of several drugs on one clone combine (see :class:`Model`).
COMBINATIONS = ("sum", "max", "bliss", "loewe")
COMPARTMENT_KINDS = ("stroma", "immune")
PROGRESSION_RULES = ("nadir", "baseline", "threshold")


#: Strings read as booleans (case-insensitive), besides true/false and the integers 1/0.
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def _as_bool(value: Any, where: str) -> bool:
    """A boolean from true/false, 1/0 or the strings "true"/"false"/"1"/"0" (any case).

    Anything else ("yes", 3, 0.5, a list) is an :class:`InputError` naming ``where``: a flag
    that silently reads every non-empty value as true would corrupt a fit or a simulation.

    Examples
    --------
    >>> _as_bool("FALSE", "on_treatment"), _as_bool(1, "resistant")
    (False, True)
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and int(value) in (0, 1):
        return bool(int(value))
    if isinstance(value, float | np.floating) and float(value) in (0.0, 1.0):
        return bool(float(value))
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    raise InputError(
        f"{where}: {value!r:.40} is not a boolean; use true/false or 1/0 "
        "(also the strings 'true'/'false'/'1'/'0', any case)"
    )


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool | np.bool_):
        raise InputError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: expected a number, got {value!r:.60}") from None
    except OverflowError:
        raise InputError(f"{where}: {value!r:.40} is too large for a number") from None


def _positive(value: Any, where: str, *, unit: str = "") -> float:
    v = _float(value, where)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{where} must be a finite number > 0{unit}, got {value!r}")
    return v


def _name(value: Any, where: str) -> str:
    """A name: non-empty text (or an integer, as YAML reads ``name: 1``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | np.integer):
        raise InputError(f"{where} must be a name (text), got {type(value).__name__} {value!r:.40}")
    text = str(value).strip()
    if not text:
        raise InputError(f"{where} must be a non-empty name")
    return text


def _choice(value: Any, where: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{where} must be one of {tuple(choices)}, got {value!r:.40}")
    return value


def _nonneg(value: Any, where: str, *, allow_inf: bool = False) -> float:
    v = _float(value, where)
    if math.isnan(v) or v < 0 or (math.isinf(v) and not allow_inf):
        raise InputError(
            f"{where}: must be a non-negative{'' if not allow_inf else ' (or infinite)'} number, "
            f"got {value!r}; rates, sizes and concentrations cannot be negative"
        )
    return v


def _fraction(value: Any, where: str) -> float:
    v = _nonneg(value, where)
    if v > 1:
        raise InputError(f"{where}: must be a fraction in [0, 1], got {value!r}")
    return v


def _hill(conc: Any, ic50: Any, slope: Any) -> Any:
    """``c^h / (c^h + ic50^h)`` written as ``1 / (1 + (ic50/c)^h)``: no overflow for large
    concentrations or slopes (0 at ``c <= 0``, 1 as ``c`` grows)."""
    c = np.maximum(np.asarray(conc, dtype=float), 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = np.power(np.divide(ic50, c), slope)
        return np.where(c > 0, 1.0 / (1.0 + ratio), 0.0)


@dataclass(frozen=True)
class DrugEffect:
    """Effect of one drug on one clone, a Hill curve of the concentration (micromolar).

    ``target="death"``: extra death rate ``emax * H(c)`` per day; ``"birth"``: fraction
    ``emax * H(c)`` of divisions blocked; ``"capacity"``: fraction of the carrying capacity
    removed. ``H(c) = c^h / (c^h + ic50^h)``.

    Examples
    --------
    >>> DrugEffect(emax=0.04, ic50=0.1, hill_slope=1.0).effect(0.1)
    0.02
    """

    emax: float
    ic50: float = 1.0
    hill_slope: float = 1.0
    target: str = "death"

    def __post_init__(self) -> None:
        emax = _nonneg(self.emax, "emax")
        _positive(self.ic50, "ic50", unit=" micromolar")
        _positive(self.hill_slope, "hill_slope")
        _choice(self.target, "target", EFFECT_TARGETS)
        if self.target in ("birth", "capacity") and emax > 1:
            raise InputError(f"a {self.target} effect is a fraction: emax <= 1, got {self.emax}")

    def effect(self, conc: Any) -> Any:
        """Effect at concentration ``conc`` (array or scalar, micromolar)."""
        out = float(self.emax) * _hill(conc, float(self.ic50), float(self.hill_slope))
        return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class Division:
    """Fates of a dividing stem or progenitor cell (each division at the clone's birth rate).

    With probability ``self_renewal`` (p_s) both daughters keep the clone's identity (SS),
    with ``asymmetric`` (p_a) one daughter is an ``into`` cell (SD), with ``differentiation``
    (p_d) both are (DD); ``p_s + p_a + p_d = 1``. The mean stem pool then obeys
    ``dS/dt = (b (p_s - p_d) - d) S`` (homeostatic at ``p_s = p_d`` and no death) and feeds
    ``b (p_a + 2 p_d) S`` cells per day into ``into`` (the stem-cell model of Dingli & Michor
    2006, PMID:16597832).

    Examples
    --------
    >>> Division(0.6, 0.2, 0.2, into="D").self_renewal
    0.6
    """

    self_renewal: float
    asymmetric: float = 0.0
    differentiation: float = 0.0
    into: str = ""

    def __post_init__(self) -> None:
        ps = _fraction(self.self_renewal, "division.self_renewal")
        pa = _fraction(self.asymmetric, "division.asymmetric")
        pd_ = _fraction(self.differentiation, "division.differentiation")
        if abs(ps + pa + pd_ - 1.0) > 1e-9:
            raise InputError(
                f"division: self_renewal + asymmetric + differentiation must sum to 1 (the "
                f"fates of one division), got {ps} + {pa} + {pd_} = {ps + pa + pd_:.6g}"
            )
        if not isinstance(self.into, str):
            raise InputError(f"division.into must be a clone name, got {self.into!r:.40}")
        if pa + pd_ > 0 and not self.into:
            raise InputError(
                "division.into: name the clone that differentiating daughters become "
                "(into: D), or set asymmetric and differentiation to 0"
            )


@dataclass(frozen=True)
class Clone:
    """A cell population with its own rates.

    Parameters
    ----------
    name
        Unique name.
    birth_rate, death_rate
        Per-cell division and death rates per day (for the logistic law the birth rate is the
        intrinsic growth rate r of ``dx/dt = r x (1 - sum_j a_ij x_j / K_i)``).
    carrying_capacity
        ``K_i`` (cells); with ``capacity_source`` it is cells *per cell of that clone*
        (Zhang 2017: ``K_T+ = 1.5 x_TP``).
    initial
        Cells at time 0.
    effects
        ``(drug, DrugEffect)`` pairs.
    role
        ``bulk`` (every division self-renews), ``stem`` or ``progenitor`` (divisions follow
        ``division``: self-renewal, asymmetric division, symmetric differentiation) or
        ``differentiated`` (no division: ``birth_rate`` 0, a finite lifespan ``1 /
        death_rate``).
    division
        :class:`Division` fates of a ``stem`` or ``progenitor`` clone (required for them).
    resistant
        Marks the clone as resistant for the ``ttp_resistant`` and resistance metrics.
    biomarker_weight
        Contribution of one cell to the biomarker (e.g. PSA per cell).
    """

    name: str
    birth_rate: float
    death_rate: float = 0.0
    carrying_capacity: float = math.inf
    capacity_source: str | None = None
    initial: float = 0.0
    effects: tuple[tuple[str, DrugEffect], ...] = ()
    role: str = "bulk"
    resistant: bool = False
    biomarker_weight: float = 1.0
    division: Division | None = None

    def __post_init__(self) -> None:
        w = f"clone {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"clone name must be a non-empty string, got {self.name!r}")
        _nonneg(self.birth_rate, f"{w}.birth_rate")
        _nonneg(self.death_rate, f"{w}.death_rate")
        if not _nonneg(self.carrying_capacity, f"{w}.carrying_capacity", allow_inf=True) > 0:
            raise InputError(f"{w}.carrying_capacity must be > 0")
        _nonneg(self.initial, f"{w}.initial")
        _nonneg(self.biomarker_weight, f"{w}.biomarker_weight")
        _choice(self.role, f"{w}.role", ROLES)
        if self.division is not None and not isinstance(self.division, Division):
            raise InputError(f"{w}.division must be a Division, got {self.division!r:.40}")
        if self.role in ("stem", "progenitor") and self.division is None:
            raise InputError(
                f"{w}: role {self.role!r} needs division fates (division: {{self_renewal: 0.6, "
                "asymmetric: 0.2, differentiation: 0.2, into: D}}); use role bulk for a clone "
                "whose divisions all self-renew"
            )
        if self.division is not None and self.role not in ("stem", "progenitor"):
            raise InputError(
                f"{w}: division fates are for role stem or progenitor, not {self.role!r}; "
                "set role: stem (or progenitor) or remove division"
            )
        if self.role == "differentiated":
            if float(self.birth_rate) != 0:
                raise InputError(
                    f"{w}: a differentiated clone does not divide (no self-renewal); set "
                    f"birth_rate: 0 (got {self.birth_rate}) or use role progenitor with division"
                )
            if not float(self.death_rate) > 0:
                raise InputError(
                    f"{w}: a differentiated clone has a finite lifespan; give death_rate > 0 "
                    "(1 / mean lifespan in days)"
                )
        if self.division is not None and self.division.into == self.name:
            raise InputError(f"{w}.division.into: a clone cannot differentiate into itself")
        if self.capacity_source is not None and not isinstance(self.capacity_source, str):
            raise InputError(
                f"{w}.capacity_source must be a clone name, got {self.capacity_source!r:.40}"
            )
        object.__setattr__(self, "resistant", _as_bool(self.resistant, f"{w}.resistant"))
        if not isinstance(self.effects, tuple | list) or not all(
            isinstance(e, tuple | list) and len(e) == 2 for e in self.effects
        ):
            raise InputError(f"{w}.effects must be (drug, DrugEffect) pairs")
        seen = set()
        for drug, eff in self.effects:
            if not isinstance(drug, str):
                raise InputError(f"{w}.effects: drug name {drug!r:.40} must be text")
            if drug in seen:
                raise InputError(f"{w}.effects: drug {drug!r} listed twice")
            seen.add(drug)
            if not isinstance(eff, DrugEffect):
                raise InputError(f"{w}.effects[{drug!r}] must be a DrugEffect")

    def effect_of(self, drug: str) -> DrugEffect | None:
        """The effect of ``drug`` on this clone, or None."""
        return dict(self.effects).get(drug)


@dataclass(frozen=True)
class Transition:
    """An edge of the clone graph.

    ``kind="mutation"``: a division of ``source`` yields one ``target`` daughter with
    probability ``rate`` (per division; also asymmetric differentiation of a stem cell).
    ``kind="switch"``: a ``source`` cell turns into a ``target`` cell at ``rate`` per day
    (plasticity, de-differentiation).
    """

    source: str
    target: str
    rate: float
    kind: str = "mutation"

    def __post_init__(self) -> None:
        w = f"transition {self.source}->{self.target}"
        _choice(self.kind, f"{w}.kind", TRANSITION_KINDS)
        for end in ("source", "target"):
            if not isinstance(getattr(self, end), str):
                raise InputError(f"{w}.{end} must be a clone name, got {getattr(self, end)!r:.40}")
        if self.kind == "mutation":
            _fraction(self.rate, f"{w}.rate (probability per division)")
        else:
            _nonneg(self.rate, f"{w}.rate (per day)")
        if self.source == self.target:
            raise InputError(f"{w}: source and target are the same clone")


@dataclass(frozen=True)
class Microenvironment:
    """A protective niche: lowers drug effects and scales carrying capacities.

    ``protection`` is the fraction of every drug effect removed for ``clones`` (all when
    empty); ``capacity_factor`` multiplies every carrying capacity.
    """

    protection: float = 0.0
    clones: tuple[str, ...] = ()
    capacity_factor: float = 1.0

    def __post_init__(self) -> None:
        _fraction(self.protection, "microenvironment.protection")
        _positive(self.capacity_factor, "microenvironment.capacity_factor")
        if not isinstance(self.clones, tuple | list) or not all(
            isinstance(c, str) for c in self.clones
        ):
            raise InputError(
                f"microenvironment.clones must be a list of clone names, got {self.clones!r:.60}"
            )


@dataclass(frozen=True)
class Compartment:
    """A dynamic microenvironment compartment (stroma such as CAFs, or immune effector cells).

    Its level ``L`` (cells or any unit) follows, deterministically in every engine (a large
    population, mean field)::

        dL/dt = source + recruitment * N - (decay_rate + sum_d E_d(c_d)) * L

    with ``N`` the tumour cells of ``recruited_by`` (all clones when empty) and ``E_d`` the
    extra loss from each drug in ``effects`` (Hill curves, death target). A ``stroma``
    compartment removes the fraction ``protection * L`` (capped at 1; or ``protection * L /
    (L + half_saturation)`` when a half-saturation level is given) of every drug effect on
    ``clones`` (HGF-mediated protection by stroma, Straussman 2012, PMID:22763439); an
    ``immune`` compartment adds a death rate ``kill_rate * L`` to ``clones`` (predation, as in
    Kuznetsov et al. 1994). ``clones`` empty means every clone.
    """

    name: str
    kind: str = "stroma"
    initial: float = 0.0
    source: float = 0.0
    decay_rate: float = 0.1
    recruitment: float = 0.0
    recruited_by: tuple[str, ...] = ()
    protection: float = 0.0
    half_saturation: float | None = None
    kill_rate: float = 0.0
    clones: tuple[str, ...] = ()
    effects: tuple[tuple[str, DrugEffect], ...] = ()

    def __post_init__(self) -> None:
        w = f"compartment {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"compartment name must be a non-empty string, got {self.name!r}")
        _choice(self.kind, f"{w}.kind", COMPARTMENT_KINDS)
        _nonneg(self.initial, f"{w}.initial")
        _nonneg(self.source, f"{w}.source")
        _positive(self.decay_rate, f"{w}.decay_rate", unit=" per day")
        _nonneg(self.recruitment, f"{w}.recruitment")
        _nonneg(self.protection, f"{w}.protection")
        _nonneg(self.kill_rate, f"{w}.kill_rate")
        if self.half_saturation is not None:
            _positive(self.half_saturation, f"{w}.half_saturation")
            _fraction(self.protection, f"{w}.protection (maximal fraction with half_saturation)")
        if self.kind == "stroma" and float(self.kill_rate) != 0:
            raise InputError(f"{w}: kill_rate is for kind immune; a stroma protects (protection)")
        if self.kind == "immune" and float(self.protection) != 0:
            raise InputError(f"{w}: protection is for kind stroma; immune cells kill (kill_rate)")
        for key in ("clones", "recruited_by"):
            v = getattr(self, key)
            if not isinstance(v, tuple | list) or not all(isinstance(c, str) for c in v):
                raise InputError(f"{w}.{key} must be a list of clone names, got {v!r:.60}")
        for drug, eff in self.effects:
            if not isinstance(drug, str) or not isinstance(eff, DrugEffect):
                raise InputError(f"{w}.effects must be (drug, DrugEffect) pairs")
            if eff.target != "death":
                raise InputError(
                    f"{w}.effects[{drug!r}]: a drug depletes a compartment through its loss "
                    f"rate: target must be 'death', got {eff.target!r}"
                )


@dataclass(frozen=True)
class Drug:
    """A drug and its pharmacokinetics.

    ``pk="constant"``: the concentration equals the scheduled level (on/off instantly).
    ``pk="one_compartment"``: first-order elimination with ``half_life`` (days); a bolus of
    ``amount`` raises the concentration by ``amount / volume`` (micromolar); an infusion level
    is the steady-state concentration it approaches.
    """

    name: str
    pk: str = "constant"
    half_life: float | None = None
    volume: float = 1.0

    def __post_init__(self) -> None:
        w = f"drug {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"drug name must be a non-empty string, got {self.name!r}")
        _choice(self.pk, f"{w}.pk", PK_MODELS)
        if self.pk == "one_compartment" and self.half_life is None:
            raise InputError(f"{w}: one_compartment PK needs half_life > 0 (days)")
        if self.half_life is not None:
            _positive(self.half_life, f"{w}.half_life", unit=" (days)")
        _positive(self.volume, f"{w}.volume")

    @property
    def elimination_rate(self) -> float:
        """First-order elimination rate per day (0 for constant exposure)."""
        return 0.0 if self.half_life is None else math.log(2.0) / float(self.half_life)


@dataclass(frozen=True)
class Biomarker:
    """A circulating marker of burden: ``dB/dt = sum_i w_i x_i - decay_rate * B``.

    With ``decay_rate=None`` the marker is proportional to burden (``B = sum_i w_i x_i``).
    Zhang et al. 2017 use PSA with ``decay_rate = 0.5`` per day. ``initial`` is the marker at
    day 0 (with a decay rate only); by default the quasi-steady value ``sum_i w_i x_i(0) /
    decay_rate``. A growing tumour has a marker below that value (the marker lags), which is
    why Zhang 2017 start treatment at a measured PSA rather than at the steady state.
    """

    name: str = "psa"
    decay_rate: float | None = None
    initial: float | None = None

    def __post_init__(self) -> None:
        if self.decay_rate is not None:
            _positive(self.decay_rate, "biomarker.decay_rate", unit=" per day (or omitted)")
        if self.initial is not None:
            _nonneg(self.initial, "biomarker.initial")
            if self.decay_rate is None:
                raise InputError(
                    "biomarker.initial needs a decay_rate: without one the marker is "
                    "proportional to burden and has no state of its own"
                )


@dataclass(frozen=True)
class Model:
    """A heterogeneous tumour: clones, clone graph, growth law, drugs, niche and marker.

    Examples
    --------
    >>> m = Model(
    ...     clones=(Clone("S", 0.14, 0.13, initial=1e6), Clone("R", 0.14, 0.13)),
    ...     transitions=(Transition("S", "R", 1e-7),),
    ... )
    >>> m.clone_names
    ('S', 'R')
    """

    clones: tuple[Clone, ...]
    transitions: tuple[Transition, ...] = ()
    drugs: tuple[Drug, ...] = ()
    growth: str = "exponential"
    competition: tuple[tuple[float, ...], ...] | None = None
    microenvironment: Microenvironment | None = None
    biomarker: Biomarker | None = None
    name: str = "model"
    combination: str = "sum"
    compartments: tuple[Compartment, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.combination, str) or self.combination not in COMBINATIONS:
            raise InputError(
                f"model.combination must be 'sum' (death effects add), 'max' (the strongest "
                f"drug acts, Bozic 2013), 'bliss' (fractions of the maximal effect combine as "
                f"independent events) or 'loewe' (dose additivity), got {self.combination!r}"
            )
        for what, items, cls in (
            ("clones", self.clones, Clone),
            ("transitions", self.transitions, Transition),
            ("drugs", self.drugs, Drug),
            ("compartments", self.compartments, Compartment),
        ):
            if not isinstance(items, tuple | list) or not all(isinstance(x, cls) for x in items):
                raise InputError(f"model.{what} must be a tuple of {cls.__name__} objects")
        if len(self.clones) == 0:
            raise InputError("model.clones: at least one clone is needed")
        names = [c.name for c in self.clones]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise InputError(f"model.clones: duplicate clone names {sorted(dup)}")
        _choice(self.growth, "model.growth", GROWTH_LAWS)
        drug_names = [d.name for d in self.drugs]
        if len(set(drug_names)) != len(drug_names):
            raise InputError("model.drugs: duplicate drug names")
        for c in self.clones:
            for drug, _ in c.effects:
                if drug not in drug_names:
                    raise InputError(
                        f"clone {c.name!r}.effects names drug {drug!r} which model.drugs does "
                        f"not define (defined: {drug_names}); add it under drugs:"
                    )
            if c.capacity_source is not None and c.capacity_source not in names:
                raise InputError(
                    f"clone {c.name!r}.capacity_source {c.capacity_source!r} is not a clone"
                )
        for t in self.transitions:
            for end in (t.source, t.target):
                if end not in names:
                    raise InputError(
                        f"transition {t.source}->{t.target}: unknown clone {end!r}; clones: {names}"
                    )
        out_prob: dict[str, float] = {}
        for t in self.transitions:
            if t.kind == "mutation":
                out_prob[t.source] = out_prob.get(t.source, 0.0) + t.rate
        for c in self.clones:
            dv = c.division
            if dv is None:
                continue
            if dv.into and dv.into not in names:
                raise InputError(
                    f"clone {c.name!r}.division.into: unknown clone {dv.into!r}; clones: {names}"
                )
            out_prob[c.name] = out_prob.get(c.name, 0.0) + dv.asymmetric + dv.differentiation
        for src, p in out_prob.items():
            if p > 1 + 1e-12:
                raise InputError(
                    f"clone {src!r}: mutation probabilities per division (with the asymmetric "
                    f"and differentiating divisions) sum to {p} > 1"
                )
        cnames = [cp.name for cp in self.compartments]
        if len(set(cnames)) != len(cnames):
            raise InputError(f"model.compartments: duplicate names {cnames}")
        for cp in self.compartments:
            for key in ("clones", "recruited_by"):
                for n in getattr(cp, key):
                    if n not in names:
                        raise InputError(
                            f"compartment {cp.name!r}.{key}: unknown clone {n!r}; clones: {names}"
                        )
            for drug, _ in cp.effects:
                if drug not in drug_names:
                    raise InputError(
                        f"compartment {cp.name!r}.effects names drug {drug!r} which model.drugs "
                        f"does not define (defined: {drug_names})"
                    )
        k = len(self.clones)
        if self.competition is not None:
            try:
                a = np.asarray(self.competition, dtype=float)
            except (TypeError, ValueError):
                raise InputError(
                    f"model.competition must be a {k}x{k} matrix of numbers (clones {names}); "
                    "every row needs one entry per clone"
                ) from None
            if a.shape != (k, k):
                raise InputError(
                    f"model.competition must be a {k}x{k} matrix (clones {names}), got shape {a.shape}"
                )
            if np.any(~np.isfinite(a)) or np.any(a < 0):
                raise InputError("model.competition: entries must be finite and non-negative")
        if self.growth == "exponential" and any(c.capacity_source for c in self.clones):
            raise InputError("capacity_source needs growth 'logistic' or 'gompertz'")
        if self.microenvironment is not None:
            for n in self.microenvironment.clones:
                if n not in names:
                    raise InputError(f"microenvironment.clones: unknown clone {n!r}")
        # Every clone must be able to hold cells: present at t=0 or reachable through edges.
        reach = {c.name for c in self.clones if c.initial > 0}
        if not reach:
            raise InputError("model.clones: every clone has initial 0; give at least one cells")
        changed = True
        while changed:
            changed = False
            edges = [(t.source, t.target, t.rate) for t in self.transitions]
            edges += [
                (c.name, c.division.into, c.division.asymmetric + c.division.differentiation)
                for c in self.clones
                if c.division is not None and c.division.into and c.birth_rate > 0
            ]
            for src_name, dst_name, rate in edges:
                if src_name in reach and dst_name not in reach and rate > 0:
                    reach.add(dst_name)
                    changed = True
        unreachable = [n for n in names if n not in reach]
        if unreachable:
            raise InputError(
                f"clones {unreachable} are unreachable: they start with 0 cells and no "
                "transition with a positive rate leads to them from a populated clone; give them "
                "cells (initial:) or add a transition (transitions: - {source: ..., target: ...})"
            )

    @property
    def clone_names(self) -> tuple[str, ...]:
        """Clone names in model order."""
        return tuple(c.name for c in self.clones)

    @property
    def drug_names(self) -> tuple[str, ...]:
        """Drug names in model order."""
        return tuple(d.name for d in self.drugs)

    @property
    def compartment_names(self) -> tuple[str, ...]:
        """Microenvironment compartment names in model order."""
        return tuple(c.name for c in self.compartments)

    def competition_matrix(self) -> np.ndarray:
        """Competition matrix ``a_ij`` (all ones when not given: shared capacity)."""
        k = len(self.clones)
        if self.competition is None:
            return np.ones((k, k))
        return np.asarray(self.competition, dtype=float)

    def with_clones(self, clones: Sequence[Clone]) -> Model:
        """A copy with ``clones`` replaced (same order and names)."""
        from dataclasses import replace

        return replace(self, clones=tuple(clones))


@dataclass(frozen=True)
class Regimen:
    """How one drug is given.

    ``continuous``: ``level`` (micromolar) from ``start`` to ``stop``; ``intermittent``: ``on``
    days at ``level`` then ``off`` days; ``boluses``: ``amount`` every ``interval`` days or at
    explicit ``times`` (needs one-compartment PK to decay); ``blocks``: explicit
    ``(start, end, level)`` windows.
    """

    drug: str
    kind: str = "continuous"
    level: float = 1.0
    start: float = 0.0
    stop: float = math.inf
    on: float | None = None
    off: float | None = None
    interval: float | None = None
    times: tuple[float, ...] = ()
    blocks: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self) -> None:
        w = f"regimen of {self.drug!r}"
        if not isinstance(self.drug, str) or not self.drug:
            raise InputError(f"a regimen needs a drug name (text), got {self.drug!r:.40}")
        _choice(self.kind, f"{w}.kind", REGIMEN_KINDS)
        _nonneg(self.level, f"{w}.level")
        start = _nonneg(self.start, f"{w}.start")
        stop = _nonneg(self.stop, f"{w}.stop", allow_inf=True)
        if stop <= start:
            raise InputError(f"{w}: stop ({self.stop}) must be after start ({self.start})")
        if self.kind == "intermittent":
            if self.on is None or self.off is None:
                raise InputError(f"{w}: intermittent needs on > 0 and off >= 0 (days)")
            _positive(self.on, f"{w}.on (days)")
            _nonneg(self.off, f"{w}.off (days)")
        if self.kind == "boluses":
            if self.interval is None and not self.times:
                raise InputError(f"{w}: boluses need interval (days) or times")
            if self.interval is not None:
                _positive(self.interval, f"{w}.interval", unit=" (days)")
            if not isinstance(self.times, tuple | list):
                raise InputError(f"{w}.times must be a list of days, got {self.times!r:.40}")
            for t in self.times:
                _nonneg(t, f"{w}.times")
            ts = sorted(self.times)
            for a, b in itertools.pairwise(ts):
                if a == b:
                    raise InputError(f"{w}.times: two doses at day {a} overlap; merge them")
        if self.kind == "blocks":
            if not self.blocks:
                raise InputError(f"{w}: blocks needs at least one (start, end, level)")
            for i, blk in enumerate(self.blocks):
                if not isinstance(blk, tuple | list) or len(blk) != 3:
                    raise InputError(f"{w}.blocks[{i}]: each block is [start, end, level]")
                for part, v in zip(("start", "end", "level"), blk, strict=True):
                    _nonneg(v, f"{w}.blocks[{i}].{part}")
            bl = sorted(self.blocks)
            for i, (s, e, lv) in enumerate(bl):
                _nonneg(s, f"{w}.blocks[{i}].start")
                _nonneg(lv, f"{w}.blocks[{i}].level")
                if e <= s:
                    raise InputError(f"{w}.blocks[{i}]: end {e} must be after start {s}")
            for (s1, e1, _), (s2, e2, _) in itertools.pairwise(bl):
                if s2 < e1:
                    raise InputError(
                        f"{w}.blocks: dosing windows [{s1}, {e1}) and [{s2}, {e2}) overlap; "
                        "make them consecutive or merge them"
                    )

    def is_bolus(self) -> bool:
        """True for bolus dosing."""
        return self.kind == "boluses"

    def bolus_times(self, t_end: float) -> np.ndarray:
        """Dose times in ``[0, t_end)``."""
        if self.kind != "boluses":
            return np.empty(0)
        if self.times:
            t = np.asarray(sorted(self.times), dtype=float)
        else:
            stop = min(self.stop, t_end)
            t = np.arange(self.start, stop, float(self.interval or 1.0))
        return t[(t >= self.start) & (t < min(self.stop, t_end))]

    def breakpoints(self, t_end: float) -> np.ndarray:
        """Times in ``(0, t_end)`` where the level changes."""
        pts: list[float] = []
        if self.kind in ("continuous", "intermittent"):
            pts += [self.start, self.stop]
        if self.kind == "intermittent":
            period = float(self.on or 0) + float(self.off or 0)
            n = int(min(t_end, self.stop) // period) + 2 if period > 0 else 0
            starts = self.start + period * np.arange(n)
            pts += list(starts) + list(starts + float(self.on or 0))
        if self.kind == "blocks":
            for s, e, _ in self.blocks:
                pts += [s, e]
        if self.kind == "boluses":
            pts += list(self.bolus_times(t_end))
        a = np.unique(np.asarray(pts, dtype=float))
        return a[(a > 0) & (a < t_end)]

    def level_at(self, t: Any) -> np.ndarray:
        """Scheduled infusion level (micromolar) at times ``t`` (0 for boluses)."""
        tt = np.asarray(t, dtype=float)
        out = np.zeros_like(tt)
        window = (tt >= self.start) & (tt < self.stop)
        if self.kind == "continuous":
            out = np.where(window, self.level, 0.0)
        elif self.kind == "intermittent":
            period = float(self.on or 0) + float(self.off or 0)
            phase = np.mod(tt - self.start, period) if period > 0 else np.zeros_like(tt)
            out = np.where(window & (phase < float(self.on or 0)), self.level, 0.0)
        elif self.kind == "blocks":
            for s, e, lv in self.blocks:
                out = np.where((tt >= s) & (tt < e), lv, out)
        return out


_MEASURES = ("auto", "burden", "biomarker", "resistant")


def _check_measure(value: Any, where: str) -> str:
    """An observable: auto, burden, biomarker, resistant, clone:NAME[+NAME], compartment:NAME."""
    if isinstance(value, str):
        if value in _MEASURES:
            return value
        head, _, rest = value.partition(":")
        if head in ("clone", "compartment") and rest.strip():
            if head == "compartment" and "+" in rest:
                raise InputError(f"{where}: one compartment per measure, got {value!r}")
            return value
    raise InputError(
        f"{where} must be one of {list(_MEASURES)}, 'clone:NAME' (or 'clone:A+B', the sum of "
        f"clones) or 'compartment:NAME', got {value!r:.40}"
    )


def _measure_against(measure: str, model: Model, where: str) -> None:
    head, _, rest = measure.partition(":")
    if measure == "biomarker" and model.biomarker is None:
        raise InputError(f"{where} measures a biomarker but model {model.name!r} defines none")
    if head == "clone":
        for n in rest.split("+"):
            if n.strip() not in model.clone_names:
                raise InputError(
                    f"{where}: measure {measure!r} names clone {n.strip()!r}; clones: "
                    f"{list(model.clone_names)}"
                )
    if head == "compartment" and rest.strip() not in model.compartment_names:
        raise InputError(
            f"{where}: measure {measure!r} names compartment {rest.strip()!r}; compartments: "
            f"{list(model.compartment_names)}"
        )
    if measure == "resistant" and not any(c.resistant for c in model.clones):
        raise InputError(f"{where}: measure 'resistant' but no clone of the model is resistant")


@dataclass(frozen=True)
class AdaptiveRule:
    """Zhang 2017 adaptive rule on a measured observable.

    Treatment stops when the measure falls below ``stop_below`` x baseline (the value at
    day 0) and resumes when it climbs above ``resume_above`` x baseline; with
    ``thresholds="absolute"`` both are values of the measure itself (cells, marker units).
    ``measure`` is ``auto`` (the biomarker when the model has one, else burden), ``burden``,
    ``biomarker``, ``resistant`` (cells of the resistant clones), ``clone:NAME`` (or
    ``clone:A+B``) or ``compartment:NAME``. ``check_every`` (days) models clinic visits;
    ``None`` checks continuously.
    """

    stop_below: float = 0.5
    resume_above: float = 1.0
    measure: str = "auto"
    check_every: float | None = None
    thresholds: str = "relative"

    def __post_init__(self) -> None:
        lo = _float(self.stop_below, "adaptive.stop_below")
        hi = _float(self.resume_above, "adaptive.resume_above")
        unit = "as fractions of baseline" if self.thresholds == "relative" else "(absolute)"
        if not (0 < lo < hi and math.isfinite(hi)):
            raise InputError(
                f"adaptive: need 0 < stop_below ({self.stop_below}) < resume_above "
                f"({self.resume_above}) {unit}"
            )
        _check_measure(self.measure, "adaptive.measure")
        _choice(self.thresholds, "adaptive.thresholds", ("relative", "absolute"))
        if self.check_every is not None:
            _positive(self.check_every, "adaptive.check_every", unit=" days")


@dataclass(frozen=True)
class SwitchRule:
    """Move to the next line of treatment at progression.

    Checked every ``check_every`` days (scans / clinic visits) on ``measure`` (as for
    :class:`AdaptiveRule`). Progression on the current line is, with ``when="nadir"``, the
    measure above ``factor`` x its lowest value on this line (RECIST: 1.2, a 20% rise over the
    nadir); ``"baseline"``: above ``factor`` x its value when the line began; ``"threshold"``:
    above ``threshold`` (measure units) and above its value when the line began (a line that
    brings the measure down is not failed at once). At progression the next line starts (its
    regimens' times are counted from that moment); after the last line, ``cycle=True``
    returns to the first (collateral-sensitivity cycling), otherwise the strategy has failed
    (``ttp_failure``) and the last line continues.

    Examples
    --------
    >>> SwitchRule(when="nadir", factor=1.2).check_every
    7.0
    """

    when: str = "nadir"
    factor: float = 1.2
    threshold: float | None = None
    measure: str = "auto"
    check_every: float = 7.0
    cycle: bool = False

    def __post_init__(self) -> None:
        _choice(self.when, "switch.when", PROGRESSION_RULES)
        f = _positive(self.factor, "switch.factor")
        if self.when in ("nadir", "baseline") and not f > 1:
            raise InputError(f"switch.factor must be > 1 (a rise; 1.2 = +20%), got {self.factor}")
        if self.when == "threshold":
            if self.threshold is None:
                raise InputError("switch: when 'threshold' needs threshold: (measure units)")
            _positive(self.threshold, "switch.threshold")
        _check_measure(self.measure, "switch.measure")
        _positive(self.check_every, "switch.check_every", unit=" days")
        object.__setattr__(self, "cycle", _as_bool(self.cycle, "switch.cycle"))


@dataclass(frozen=True)
class Schedule:
    """A treatment schedule: regimens (one or more drugs) and optional state-dependent rules.

    A schedule without regimens is an untreated control arm: :func:`simulate` runs the model
    with every drug at zero (time on drug 0, exposures 0). ``lines`` (instead of
    ``regimens``) are successive lines of treatment, each a tuple of regimens timed from the
    start of the line; ``switch`` (a :class:`SwitchRule`) moves to the next line at
    progression. ``adaptive`` stops and resumes the current line on a measure.

    Examples
    --------
    >>> Schedule("mtd", (Regimen("abi", level=1.0),)).drugs
    ('abi',)
    >>> s = Schedule("A then B", lines=((Regimen("A"),), (Regimen("B"),)), switch=SwitchRule())
    >>> s.drugs
    ('A', 'B')
    """

    name: str
    regimens: tuple[Regimen, ...] = ()
    adaptive: AdaptiveRule | None = None
    lines: tuple[tuple[Regimen, ...], ...] = ()
    switch: SwitchRule | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"schedule name must be a non-empty string, got {self.name!r:.40}")
        if not isinstance(self.regimens, tuple | list) or not all(
            isinstance(r, Regimen) for r in self.regimens
        ):
            raise InputError(f"schedule {self.name!r}: regimens must be Regimen objects")
        if not isinstance(self.lines, tuple | list) or not all(
            isinstance(ln, tuple | list) and all(isinstance(r, Regimen) for r in ln)
            for ln in self.lines
        ):
            raise InputError(f"schedule {self.name!r}: lines must be tuples of Regimen objects")
        if self.lines and self.regimens:
            raise InputError(
                f"schedule {self.name!r}: give either regimens (one line) or lines (successive "
                "lines of treatment), not both"
            )
        if self.adaptive is not None and not isinstance(self.adaptive, AdaptiveRule):
            raise InputError(f"schedule {self.name!r}: adaptive must be an AdaptiveRule")
        if self.switch is not None and not isinstance(self.switch, SwitchRule):
            raise InputError(f"schedule {self.name!r}: switch must be a SwitchRule")
        if len(self.lines) > 1 and self.switch is None:
            raise InputError(
                f"schedule {self.name!r}: {len(self.lines)} lines need a switch rule "
                "(switch: {when: nadir, factor: 1.2}) saying when to move on"
            )
        for j, line in enumerate(self.all_lines):
            by_drug: dict[str, list[Regimen]] = {}
            for r in line:
                by_drug.setdefault(r.drug, []).append(r)
            for drug, regs in by_drug.items():
                regs = sorted(regs, key=lambda r: r.start)
                for a, b in itertools.pairwise(regs):
                    if b.start < a.stop:
                        where = f" line {j}" if self.lines else ""
                        raise InputError(
                            f"schedule {self.name!r}{where}: two regimens of {drug!r} overlap "
                            f"([{a.start}, {a.stop}) and [{b.start}, {b.stop})); give them "
                            "consecutive start/stop windows"
                        )

    @property
    def all_lines(self) -> tuple[tuple[Regimen, ...], ...]:
        """The lines of treatment (``(regimens,)`` for a one-line schedule)."""
        return tuple(tuple(ln) for ln in self.lines) if self.lines else (tuple(self.regimens),)

    @property
    def drugs(self) -> tuple[str, ...]:
        """Drugs the schedule uses."""
        return tuple(dict.fromkeys(r.drug for ln in self.all_lines for r in ln))

    def check_against(self, model: Model) -> None:
        """Raise InputError when the schedule names drugs, clones or compartments the model lacks."""
        for d in self.drugs:
            if d not in model.drug_names:
                raise InputError(
                    f"schedule {self.name!r} doses drug {d!r} which model {model.name!r} does "
                    f"not define (drugs: {list(model.drug_names)})"
                )
        if self.adaptive is not None:
            _measure_against(self.adaptive.measure, model, f"schedule {self.name!r}.adaptive")
        if self.switch is not None:
            _measure_against(self.switch.measure, model, f"schedule {self.name!r}.switch")


# ---------------------------------------------------------------------------------------------
# Reading from dicts / YAML / JSON


def _check_keys(d: Any, allowed: Sequence[str], where: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise InputError(
            f"{where}: expected a mapping (key: value), got {type(d).__name__} {d!r:.40}"
        )
    extra = [k for k in d if k not in allowed]
    if extra:
        raise InputError(f"{where}: unknown key(s) {extra}; allowed: {list(allowed)}")
    return d


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise InputError(f"{where}: missing required key {key!r}")
    return d[key]


def _num(value: Any, where: str) -> float:
    v = _float(value, where)
    if math.isnan(v):
        raise InputError(f"{where}: NaN is not allowed")
    return v


def _seq(value: Any, where: str, what: str) -> list[Any]:
    """A YAML list (``None`` is empty); a number, text or mapping names the key and the shape."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    raise InputError(
        f"{where}: expected a list of {what}, got {type(value).__name__} {value!r:.40}"
    )


def _text(value: Any, where: str, choices: Sequence[str] | None = None) -> str:
    """A text value of a YAML key (one of ``choices`` when given)."""
    if not isinstance(value, str):
        hint = f" (one of {list(choices)})" if choices else ""
        raise InputError(f"{where}: expected text{hint}, got {type(value).__name__} {value!r:.40}")
    return value


def _wrap(where: str, fn: Any, **kw: Any) -> Any:
    try:
        return fn(**kw)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _effects_from_map(eff_map: Any, w: str) -> list[tuple[str, DrugEffect]]:
    """``{drug: {emax:, ic50:, hill_slope:, target:}}`` -> (drug, DrugEffect) pairs."""
    if eff_map is not None and not isinstance(eff_map, Mapping):
        raise InputError(
            f"{w}.effects: expected a mapping drug -> effect ({{A: {{emax: 0.04, ic50: 0.1}}}}),"
            f" got {type(eff_map).__name__} {eff_map!r:.40}"
        )
    effects = []
    for drug, ed in (eff_map or {}).items():
        we = f"{w}.effects.{drug}"
        ed = _check_keys(ed, ["emax", "ic50", "hill_slope", "target"], we)
        effects.append(
            (
                _name(drug, f"{w}.effects key"),
                _wrap(
                    we,
                    DrugEffect,
                    emax=_num(_req(ed, "emax", we), f"{we}.emax"),
                    ic50=_num(ed.get("ic50", 1.0), f"{we}.ic50"),
                    hill_slope=_num(ed.get("hill_slope", 1.0), f"{we}.hill_slope"),
                    target=_text(ed.get("target", "death"), f"{we}.target", EFFECT_TARGETS),
                ),
            )
        )
    return effects


def model_from_dict(data: Mapping[str, Any], *, source: str = "model") -> Model:
    """Build a :class:`Model` from a mapping (the YAML/JSON structure).

    Every value is checked for its shape (a list of clones, a mapping of effects, a number, a
    boolean); an error names the key path (``model.yaml.clones[2].birth_rate``) and the fix.

    Examples
    --------
    >>> m = model_from_dict({"clones": [{"name": "S", "birth_rate": 0.1, "initial": 10}]})
    >>> m.clone_names
    ('S',)
    """
    top = _check_keys(
        data,
        [
            "name",
            "clones",
            "transitions",
            "drugs",
            "growth",
            "competition",
            "microenvironment",
            "biomarker",
            "hierarchy",
            "combination",
            "compartments",
        ],
        source,
    )
    drugs = []
    for i, dd in enumerate(_seq(top.get("drugs"), f"{source}.drugs", "drugs ({name: ...})")):
        w = f"{source}.drugs[{i}]"
        if isinstance(dd, str):
            dd = {"name": dd}
        dd = _check_keys(dd, ["name", "pk", "half_life", "volume"], w)
        drugs.append(
            _wrap(
                w,
                Drug,
                name=_name(_req(dd, "name", w), f"{w}.name"),
                pk=_text(dd.get("pk", "constant"), f"{w}.pk", PK_MODELS),
                half_life=None
                if dd.get("half_life") is None
                else _num(dd["half_life"], f"{w}.half_life"),
                volume=_num(dd.get("volume", 1.0), f"{w}.volume"),
            )
        )
    clones = []
    clone_list = _seq(_req(top, "clones", source), f"{source}.clones", "clones ({name: ...})")
    for i, cd in enumerate(clone_list):
        w = f"{source}.clones[{i}]"
        cd = _check_keys(
            cd,
            [
                "name",
                "birth_rate",
                "death_rate",
                "carrying_capacity",
                "capacity_source",
                "initial",
                "effects",
                "role",
                "resistant",
                "biomarker_weight",
                "division",
            ],
            w,
        )
        effects = _effects_from_map(cd.get("effects"), w)
        division = None
        if cd.get("division") is not None:
            wd = f"{w}.division"
            dd = _check_keys(
                cd["division"], ["self_renewal", "asymmetric", "differentiation", "into"], wd
            )
            division = _wrap(
                wd,
                Division,
                self_renewal=_num(_req(dd, "self_renewal", wd), f"{wd}.self_renewal"),
                asymmetric=_num(dd.get("asymmetric", 0.0), f"{wd}.asymmetric"),
                differentiation=_num(dd.get("differentiation", 0.0), f"{wd}.differentiation"),
                into="" if dd.get("into") is None else _name(dd["into"], f"{wd}.into"),
            )
        cap = cd.get("carrying_capacity", math.inf)
        src = cd.get("capacity_source")
        clones.append(
            _wrap(
                w,
                Clone,
                name=_name(_req(cd, "name", w), f"{w}.name"),
                birth_rate=_num(_req(cd, "birth_rate", w), f"{w}.birth_rate"),
                death_rate=_num(cd.get("death_rate", 0.0), f"{w}.death_rate"),
                carrying_capacity=math.inf
                if cap is None or (isinstance(cap, str) and cap.strip().lower() == "inf")
                else _num(cap, f"{w}.carrying_capacity"),
                capacity_source=None if src is None else _name(src, f"{w}.capacity_source"),
                initial=_num(cd.get("initial", 0.0), f"{w}.initial"),
                effects=tuple(effects),
                role=_text(cd.get("role", "bulk"), f"{w}.role", ROLES),
                resistant=_as_bool(cd.get("resistant", False), f"{w}.resistant"),
                biomarker_weight=_num(cd.get("biomarker_weight", 1.0), f"{w}.biomarker_weight"),
                division=division,
            )
        )
    transitions = []
    tr_list = _seq(
        top.get("transitions"), f"{source}.transitions", "transitions ({source:, target:, rate:})"
    )
    for i, td in enumerate(tr_list):
        w = f"{source}.transitions[{i}]"
        td = _check_keys(td, ["source", "target", "rate", "kind"], w)
        transitions.append(
            _wrap(
                w,
                Transition,
                source=_name(_req(td, "source", w), f"{w}.source"),
                target=_name(_req(td, "target", w), f"{w}.target"),
                rate=_num(_req(td, "rate", w), f"{w}.rate"),
                kind=_text(td.get("kind", "mutation"), f"{w}.kind", TRANSITION_KINDS),
            )
        )
    # "hierarchy" is sugar: stem -> progenitor -> differentiated with division probabilities
    # and optional de-differentiation (plasticity) rates.
    hier = top.get("hierarchy")
    if hier is not None:
        w = f"{source}.hierarchy"
        hd = _check_keys(hier, ["levels", "differentiation", "plasticity"], w)
        levels = [
            _name(v, f"{w}.levels[{j}]")
            for j, v in enumerate(_seq(_req(hd, "levels", w), f"{w}.levels", "clone names"))
        ]
        diff = _seq(hd.get("differentiation"), f"{w}.differentiation", "probabilities")
        plast = _seq(hd.get("plasticity"), f"{w}.plasticity", "rates per day")
        if len(diff) != len(levels) - 1:
            raise InputError(
                f"{w}.differentiation: need {len(levels) - 1} probabilities (one per step)"
            )
        for j, p in enumerate(diff):
            transitions.append(
                _wrap(
                    f"{w}.differentiation[{j}]",
                    Transition,
                    source=levels[j],
                    target=levels[j + 1],
                    rate=_num(p, f"{w}.differentiation[{j}]"),
                    kind="mutation",
                )
            )
        for j, p in enumerate(plast):
            if j + 1 >= len(levels):
                raise InputError(f"{w}.plasticity: at most {len(levels) - 1} rates")
            rate = _num(p, f"{w}.plasticity[{j}]")
            if rate > 0:
                transitions.append(
                    _wrap(
                        f"{w}.plasticity[{j}]",
                        Transition,
                        source=levels[j + 1],
                        target=levels[j],
                        rate=rate,
                        kind="switch",
                    )
                )
    micro = None
    if top.get("microenvironment") is not None:
        w = f"{source}.microenvironment"
        md = _check_keys(top["microenvironment"], ["protection", "clones", "capacity_factor"], w)
        micro = _wrap(
            w,
            Microenvironment,
            protection=_num(md.get("protection", 0.0), f"{w}.protection"),
            clones=tuple(
                _name(c, f"{w}.clones[{j}]")
                for j, c in enumerate(_seq(md.get("clones"), f"{w}.clones", "clone names"))
            ),
            capacity_factor=_num(md.get("capacity_factor", 1.0), f"{w}.capacity_factor"),
        )
    compartments = []
    comp_list = _seq(
        top.get("compartments"), f"{source}.compartments", "compartments ({name: ..., kind: ...})"
    )
    for i, xd in enumerate(comp_list):
        w = f"{source}.compartments[{i}]"
        xd = _check_keys(
            xd,
            [
                "name",
                "kind",
                "initial",
                "source",
                "decay_rate",
                "recruitment",
                "recruited_by",
                "protection",
                "half_saturation",
                "kill_rate",
                "clones",
                "effects",
            ],
            w,
        )
        hs = xd.get("half_saturation")
        compartments.append(
            _wrap(
                w,
                Compartment,
                name=_name(_req(xd, "name", w), f"{w}.name"),
                kind=_text(xd.get("kind", "stroma"), f"{w}.kind", COMPARTMENT_KINDS),
                initial=_num(xd.get("initial", 0.0), f"{w}.initial"),
                source=_num(xd.get("source", 0.0), f"{w}.source"),
                decay_rate=_num(_req(xd, "decay_rate", w), f"{w}.decay_rate"),
                recruitment=_num(xd.get("recruitment", 0.0), f"{w}.recruitment"),
                recruited_by=tuple(
                    _name(c, f"{w}.recruited_by[{j}]")
                    for j, c in enumerate(
                        _seq(xd.get("recruited_by"), f"{w}.recruited_by", "clone names")
                    )
                ),
                protection=_num(xd.get("protection", 0.0), f"{w}.protection"),
                half_saturation=None if hs is None else _num(hs, f"{w}.half_saturation"),
                kill_rate=_num(xd.get("kill_rate", 0.0), f"{w}.kill_rate"),
                clones=tuple(
                    _name(c, f"{w}.clones[{j}]")
                    for j, c in enumerate(_seq(xd.get("clones"), f"{w}.clones", "clone names"))
                ),
                effects=tuple(_effects_from_map(xd.get("effects"), w)),
            )
        )
    bio = None
    if top.get("biomarker") is not None:
        w = f"{source}.biomarker"
        bd = _check_keys(top["biomarker"], ["name", "decay_rate", "initial"], w)
        dr = bd.get("decay_rate")
        b0 = bd.get("initial")
        bio = _wrap(
            w,
            Biomarker,
            name=_name(bd.get("name", "psa"), f"{w}.name"),
            decay_rate=None if dr is None else _num(dr, f"{w}.decay_rate"),
            initial=None if b0 is None else _num(b0, f"{w}.initial"),
        )
    comp = top.get("competition")
    comp_t = None
    if comp is not None:
        w = f"{source}.competition"
        k = len(clones)
        rows = _seq(comp, w, f"{k} rows of {k} numbers (one row and one column per clone)")
        comp_t = tuple(
            tuple(
                _num(v, f"{w}[{i}][{j}]")
                for j, v in enumerate(_seq(row, f"{w}[{i}]", f"{k} numbers (one per clone)"))
            )
            for i, row in enumerate(rows)
        )
        lengths = {len(r) for r in comp_t}
        if len(comp_t) != k or lengths != {k}:
            raise InputError(
                f"{w}: must be a {k}x{k} matrix (clones {[c.name for c in clones]}); got "
                f"{len(comp_t)} row(s) of length(s) {sorted(lengths)}"
            )
    return _wrap(
        source,
        Model,
        clones=tuple(clones),
        transitions=tuple(transitions),
        drugs=tuple(drugs),
        growth=_text(top.get("growth", "exponential"), f"{source}.growth", GROWTH_LAWS),
        competition=comp_t,
        microenvironment=micro,
        biomarker=bio,
        name=_name(top.get("name", "model"), f"{source}.name"),
        combination=_text(top.get("combination", "sum"), f"{source}.combination", COMBINATIONS),
        compartments=tuple(compartments),
    )


_REGIMEN_TYPES = (*REGIMEN_KINDS, "mtd", "constant", "metronomic", "sequential", "simultaneous")


def _stop(value: Any, where: str) -> float:
    if value is None or (isinstance(value, str) and value.strip().lower() == "inf"):
        return math.inf
    return _num(value, where)


def _regimen_from_dict(rd: Mapping[str, Any], where: str) -> list[Regimen]:
    if isinstance(rd, Mapping):
        # YAML 1.1 reads bare on/off keys as booleans; accept them and the explicit names
        rd = {
            (
                "days_on"
                if k is True or k == "on"
                else "days_off"
                if k is False or k == "off"
                else k
            ): v
            for k, v in rd.items()
        }
    rd = _check_keys(
        rd,
        [
            "drug",
            "drugs",
            "type",
            "level",
            "start",
            "stop",
            "days_on",
            "days_off",
            "interval",
            "times",
            "amount",
            "blocks",
            "switch_at",
        ],
        where,
    )
    typ = _text(rd.get("type", "continuous"), f"{where}.type", _REGIMEN_TYPES)
    aliases = {"mtd": "continuous", "constant": "continuous", "metronomic": "boluses"}
    typ = aliases.get(typ, typ)
    if typ not in (*REGIMEN_KINDS, "sequential", "simultaneous"):
        raise InputError(f"{where}.type must be one of {list(_REGIMEN_TYPES)}, got {typ!r}")
    start = _num(rd.get("start", 0.0), f"{where}.start")
    stop = _stop(rd.get("stop"), f"{where}.stop")
    if typ in ("sequential", "simultaneous"):
        drugs = [
            _name(d, f"{where}.drugs[{j}]")
            for j, d in enumerate(_seq(_req(rd, "drugs", where), f"{where}.drugs", "drug names"))
        ]
        if not drugs:
            raise InputError(
                f"{where}.drugs: a {typ} regimen needs at least one drug (drugs: [A, B])"
            )
        if typ == "simultaneous":
            return [
                _wrap(
                    where,
                    Regimen,
                    drug=d,
                    kind="continuous",
                    level=_num(rd.get("level", 1.0), f"{where}.level"),
                    start=start,
                    stop=stop,
                )
                for d in drugs
            ]
        switch = rd.get("switch_at")
        if switch is None:
            raise InputError(f"{where}: sequential needs switch_at (days; one per drug change)")
        sw = _seq(switch, f"{where}.switch_at", "days") if isinstance(switch, list) else [switch]
        if len(sw) != len(drugs) - 1:
            raise InputError(
                f"{where}.switch_at: need {len(drugs) - 1} switch times for {len(drugs)} drugs"
            )
        edges = [start, *[_num(s, f"{where}.switch_at") for s in sw], stop]
        return [
            _wrap(
                where,
                Regimen,
                drug=d,
                kind="continuous",
                level=_num(rd.get("level", 1.0), f"{where}.level"),
                start=edges[j],
                stop=edges[j + 1],
            )
            for j, d in enumerate(drugs)
        ]
    drug = _name(_req(rd, "drug", where), f"{where}.drug")
    kw: dict[str, Any] = {"drug": drug, "kind": typ, "start": start, "stop": stop}
    if typ == "boluses":
        kw["level"] = _num(rd.get("amount", rd.get("level", 1.0)), f"{where}.amount")
        if "interval" in rd:
            kw["interval"] = _num(rd["interval"], f"{where}.interval")
        if "times" in rd:
            kw["times"] = tuple(
                _num(t, f"{where}.times[{j}]")
                for j, t in enumerate(_seq(rd["times"], f"{where}.times", "days"))
            )
    else:
        kw["level"] = _num(rd.get("level", 1.0), f"{where}.level")
    if typ == "intermittent":
        kw["on"] = _num(_req(rd, "days_on", where), f"{where}.days_on")
        kw["off"] = _num(_req(rd, "days_off", where), f"{where}.days_off")
    if typ == "blocks":
        blocks = []
        for j, b in enumerate(
            _seq(_req(rd, "blocks", where), f"{where}.blocks", "[start, end, level] blocks")
        ):
            vals = _seq(b, f"{where}.blocks[{j}]", "[start, end, level]")
            if len(vals) != 3:
                raise InputError(f"{where}.blocks[{j}]: each block is [start, end, level]")
            blocks.append(tuple(_num(v, f"{where}.blocks[{j}]") for v in vals))
        kw["blocks"] = tuple(blocks)
    return [_wrap(where, Regimen, **kw)]


def schedule_from_dict(data: Mapping[str, Any], *, source: str = "schedule") -> Schedule:
    """Build a :class:`Schedule` from a mapping.

    Accepted ``type`` values per regimen: ``continuous`` (alias ``mtd``), ``intermittent``,
    ``boluses`` (alias ``metronomic``), ``blocks``, ``sequential`` and ``simultaneous``.
    ``regimens: []`` is an untreated control arm.

    Examples
    --------
    >>> s = schedule_from_dict({"name": "at", "regimens": [{"drug": "abi"}],
    ...                         "adaptive": {"stop_below": 0.5, "resume_above": 1.0}})
    >>> s.adaptive.stop_below
    0.5
    """
    top = _check_keys(data, ["name", "regimens", "adaptive", "lines", "switch"], source)
    regs: list[Regimen] = []
    if "lines" in top and "regimens" in top:
        raise InputError(
            f"{source}: give either regimens (one line of treatment) or lines (successive "
            "lines), not both"
        )
    lines: list[tuple[Regimen, ...]] = []
    if "lines" in top:
        line_list = _seq(top["lines"], f"{source}.lines", "lines ({regimens: [...]})")
        if not line_list:
            raise InputError(f"{source}.lines: give at least one line ({{regimens: [...]}})")
        for j, ld in enumerate(line_list):
            wl = f"{source}.lines[{j}]"
            ld = _check_keys(ld, ["regimens"], wl)
            line: list[Regimen] = []
            for i, rd in enumerate(
                _seq(_req(ld, "regimens", wl), f"{wl}.regimens", "regimens ({drug: ...})")
            ):
                line += _regimen_from_dict(rd, f"{wl}.regimens[{i}]")
            lines.append(tuple(line))
    else:
        reg_list = _seq(
            _req(top, "regimens", source), f"{source}.regimens", "regimens ({drug: ..., type: ...})"
        )
        for i, rd in enumerate(reg_list):
            regs += _regimen_from_dict(rd, f"{source}.regimens[{i}]")
    ad = None
    if top.get("adaptive") is not None:
        w = f"{source}.adaptive"
        a = _check_keys(
            top["adaptive"],
            ["stop_below", "resume_above", "measure", "check_every", "thresholds"],
            w,
        )
        ce = a.get("check_every")
        ad = _wrap(
            w,
            AdaptiveRule,
            stop_below=_num(a.get("stop_below", 0.5), f"{w}.stop_below"),
            resume_above=_num(a.get("resume_above", 1.0), f"{w}.resume_above"),
            measure=_text(a.get("measure", "auto"), f"{w}.measure"),
            check_every=None if ce is None else _num(ce, f"{w}.check_every"),
            thresholds=_text(
                a.get("thresholds", "relative"), f"{w}.thresholds", ("relative", "absolute")
            ),
        )
    sw = None
    if top.get("switch") is not None:
        w = f"{source}.switch"
        sd = _check_keys(
            top["switch"], ["when", "factor", "threshold", "measure", "check_every", "cycle"], w
        )
        th = sd.get("threshold")
        sw = _wrap(
            w,
            SwitchRule,
            when=_text(sd.get("when", "nadir"), f"{w}.when", PROGRESSION_RULES),
            factor=_num(sd.get("factor", 1.2), f"{w}.factor"),
            threshold=None if th is None else _num(th, f"{w}.threshold"),
            measure=_text(sd.get("measure", "auto"), f"{w}.measure"),
            check_every=_num(sd.get("check_every", 7.0), f"{w}.check_every"),
            cycle=_as_bool(sd.get("cycle", False), f"{w}.cycle"),
        )
    return _wrap(
        source,
        Schedule,
        name=_name(top.get("name", "schedule"), f"{source}.name"),
        regimens=tuple(regs),
        adaptive=ad,
        lines=tuple(lines),
        switch=sw,
    )


def _read_text(p: Path, what: str) -> str:
    """UTF-8 text of ``p`` (a BOM allowed); not UTF-8 or empty is an error (``_text.decode``)."""
    return decode(read_bytes(p, what=what), p, what=what, strict=True, empty=True).text


def _read_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    if isinstance(path, str) and not path.strip():
        raise InputError(f"no {what} file given (empty name); pass the path of a YAML/JSON file")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} file not found")
    text = _read_text(p, f"{what} (YAML/JSON)")
    try:
        if p.suffix.lower() == ".json":
            out = json.loads(text)
        else:
            out = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{p}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); check "
            "quotes, commas and brackets"
        ) from None
    except RecursionError:
        raise InputError(f"{p}: nested too deeply to be a {what}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: {yaml_problem(exc)}") from None
    if not isinstance(out, Mapping):
        raise InputError(
            f"{p}: expected a mapping of keys (a {what}), got {type(out).__name__} {out!r:.40}"
        )
    return dict(out)


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read a model from a YAML or JSON file.

    A file that is not UTF-8, empty, not valid YAML/JSON or holds a value of the wrong shape is
    an :class:`~oncoresist.errors.InputError` naming the file and the line or key.

    Examples
    --------
    >>> from oncoresist.evolution import example_path
    >>> load_model(example_path("zhang2017_model.yaml")).name
    'zhang2017'
    """
    return model_from_dict(_read_mapping(path, "model"), source=str(path))


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Read a schedule from a YAML or JSON file (errors as in :func:`load_model`).

    Examples
    --------
    >>> from oncoresist.evolution import example_path
    >>> load_schedule(example_path("adaptive.yaml")).adaptive.stop_below
    0.5
    """
    return schedule_from_dict(_read_mapping(path, "schedule"), source=str(path))
