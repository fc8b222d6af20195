"""Compiled kernels of the stochastic engines (numba, optional; numpy twins otherwise).

Array-only kernels on the layout of ``_simulate._Arrays`` (rates ``(P, K)`` for P runs and K
clones, ``u`` and ``s`` ``(K, K)``), so that ``_simulate`` can call them in a few lines:

* :func:`branching_step`: one step of the ``branching`` engine, the law of
  ``_simulate._step_branching`` (Kendall's exact birth-death law for rates frozen over the
  step; mutant and switched arrivals at 6 Gauss-Legendre nodes, thinned by survival, each of
  geometric size), one run after the other in compiled code;
* :func:`cohort`: the whole horizon of a cohort in compiled code (no Python per step) for
  per-run rates that are piecewise constant in time (a drug switched on and off by a
  schedule with constant PK), with logistic / Gompertz densities recomputed every step and
  the per-run outcome metrics of ``_simulate._Metrics``; :func:`run_cohort` builds its inputs
  from ``_Arrays`` and a ``_Plan`` and returns the dict of ``_simulate._run_stochastic``;
* :func:`gillespie_step`: Gillespie's direct method, one event at a time, per-cell rates
  recomputed after every event (densities), for the channels of
  ``_simulate._gillespie_channels`` (birth, death, mutation at division, switching).

Random streams: in the numba kernels run ``r`` draws from stream ``r`` (xoshiro256**, seeded
by SplitMix64) of a 64-bit key drawn from the caller's ``numpy.random.Generator``, with exact
samplers written here (see "Random streams" below), so results are reproducible from the
seed whatever the number of threads. The numpy twins (``engine="numpy"``, used when numba is
absent) draw the same laws from the Generator itself: the same distribution, other numbers. ``tests/test_evolution_kernels.py``
checks both against closed forms and against ``simulate``.

Wiring into ``_simulate._run_stochastic`` (after ``conc``/``c_mean`` of the step)::

    from ._kernels import branching_step, gillespie_step, run_cohort
    # before the step loop: the whole horizon compiled when the schedule allows it
    if method in ("branching", "tau_leap") and not progress:
        out = run_cohort(ar, plan, schedule, t_end=t_end, dt=dt, rng=rng,
                         record_runs=record_runs, mode=mode,
                         progression_factor=progression_factor, nadir_rise=nadir_rise)
        if out is not None:  # None: adaptive rule or PK (kel > 0): step loop below
            return out
    # in the step loop, branching / tau_leap (replaces `x, ev = stepper(...)`):
    x, ev = branching_step(x, birth, death, u=ar.u, s=ar.s, dt=dt, rng=rng)
    # gillespie (replaces `_step_gillespie(...)`; keep its expected-events refusal before):
    b_eff, d_eff, kc0 = effective_rates(ar, c_mean)
    x, ev = gillespie_step(x, b_eff, d_eff, kc0=kc0, a=ar.a, u=ar.u, s=ar.s,
                           cap_src=ar.cap_src, growth=ar.growth, dt=dt, rng=rng,
                           max_events=max_events - events)  # raises InputError beyond
    # (MAX_GILLESPIE_PASSES bounds the numpy loop's passes; the compiled loop needs no such
    # bound beyond max_events)

``effective_rates`` mirrors the drug part of ``_simulate._per_capita`` (a test checks they
agree); keep them in step when ``_per_capita`` changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ._simulate import _GL_W, _GL_X, MAX_CELLS, _survival_prob

if TYPE_CHECKING:
    from ..curves._executors import Executor

try:  # numba is optional: without it the numpy twins run
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False
    prange = range  # type: ignore[misc,assignment]

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        return lambda f: f


# LLVM fast-math flags that keep IEEE NaN / infinity semantics (the kernels test NaN with
# x != x and rely on inf): fused multiply-add, reciprocal and reassociation, approximate
# transcendental functions. Not "nnan" / "ninf".
_FASTMATH = {"contract", "arcp", "reassoc", "afn", "nsz"}


__all__ = [
    "ENGINES",
    "HAVE_NUMBA",
    "branching_step",
    "cohort",
    "effective_rates",
    "gillespie_step",
    "run_cohort",
]

ENGINES = ("auto", "numba", "numpy")
#: Fixed blocks of runs with one random stream each in ``branching_step`` (thread-independent).
_BLOCKS = 64
#: 3-point rule used by the compiled step when every |net rate| x dt < 0.05: the arrival
#: integrand is then exp-smooth on the step and the 3- and 6-point rules agree to ~1e-12
#: relative (the 3-point error term is of order (r dt / 2)^6 / 6!).
_GL3_X, _GL3_W = np.polynomial.legendre.leggauss(3)
_SMOOTH = 0.05


def _use_numba(engine: str) -> bool:
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "numba" and not HAVE_NUMBA:
        raise InputError("engine='numba' needs numba: pip install numba, or use engine='numpy'")
    return HAVE_NUMBA and engine != "numpy"


def _key(rng: np.random.Generator) -> np.uint64:
    """A 64-bit key from the caller's generator; run ``r`` uses stream ``r`` of the key."""
    return np.uint64(rng.integers(0, 2**64, dtype=np.uint64))


# ---------------------------------------------------------------------------------------------
# Random streams of the compiled kernels
#
# numba's np.random costs 30-450 ns a draw here (a thread-local Mersenne Twister behind a call);
# a xoshiro256** stream per run (Blackman & Vigna 2021) seeded by SplitMix64 from (key, run)
# costs a few ns, needs no 624-word state, and makes every run reproducible whatever the
# threads. The samplers are exact: inversion for small means, Hormann's (1993) transformed
# rejection for large Poisson (PTRS) and binomial (BTRS) means, Marsaglia & Tsang (2000) for
# gamma; negative binomial = Poisson(Gamma) or, for few successes, a sum of geometrics.
# tests/test_evolution_kernels.py compares each with numpy's samplers.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Stirling tails lgamma(k + 1) - [(k + 1/2) log(k + 1) - (k + 1) + log sqrt(2 pi)], k < 10.
_TAIL = np.array(
    [
        math.lgamma(k + 1) - ((k + 0.5) * math.log(k + 1) - (k + 1) + _LOG_SQRT_2PI)
        for k in range(10)
    ]
)


@njit(cache=True, fastmath=_FASTMATH)
def _seed_stream(st, key, stream):
    """xoshiro256** state of stream ``stream`` of ``key`` (SplitMix64 outputs)."""
    z = np.uint64(key) + np.uint64(stream) * _GOLDEN
    for i in range(4):
        z += _GOLDEN
        v = z
        v = (v ^ (v >> np.uint64(30))) * _MIX1
        v = (v ^ (v >> np.uint64(27))) * _MIX2
        st[i] = v ^ (v >> np.uint64(31))


@njit(cache=True, fastmath=_FASTMATH)
def _next(st):
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    x = s1 * np.uint64(5)
    res = ((x << np.uint64(7)) | (x >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return res


@njit(cache=True, fastmath=_FASTMATH)
def _uniform(st):
    """Uniform on [0, 1), 53 bits."""
    return float(_next(st) >> np.uint64(11)) * _TWO53


@njit(cache=True, fastmath=_FASTMATH)
def _normal(st):
    while True:  # Marsaglia's polar method (the second variate is dropped: no hidden state)
        a = 2.0 * _uniform(st) - 1.0
        b = 2.0 * _uniform(st) - 1.0
        q = a * a + b * b
        if 0.0 < q < 1.0:
            return a * math.sqrt(-2.0 * math.log(q) / q)


@njit(cache=True, fastmath=_FASTMATH)
def _gamma(st, shape):
    """Gamma(shape, 1) for shape >= 1 (Marsaglia & Tsang 2000)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        z = _normal(st)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(st)
        if u < 1.0 - 0.0331 * z * z * z * z:
            return d * v
        if math.log(u) < 0.5 * z * z + d * (1.0 - v + math.log(v)):
            return d * v


@njit(cache=True, fastmath=_FASTMATH)
def _poisson(st, lam):
    if lam <= 0.0:
        return 0
    if lam < 10.0:  # inversion, one uniform
        u = _uniform(st)
        p = math.exp(-lam)
        f = p
        k = 0
        while u > f and k < 200:
            k += 1
            p *= lam / k
            f += p
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:  # PTRS (Hormann 1993)
        u = _uniform(st) - 0.5
        v = _uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v * inv_alpha / (a / (us * us) + b)) <= -lam + k * loglam - math.lgamma(
            k + 1.0
        ):
            return np.int64(k)


@njit(cache=True, fastmath=_FASTMATH)
def _stirling_tail(k, tail):
    if k < 10.0:
        return tail[np.int64(k)]
    k1 = k + 1.0
    k2 = k1 * k1
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / k2) / k2) / k1


@njit(cache=True, fastmath=_FASTMATH)
def _binomial(st, n, p, tail):
    if n <= 0 or p <= 0.0:
        return np.int64(0)
    if p >= 1.0:
        return np.int64(n)
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    q = 1.0 - p
    nf = float(n)
    if nf * p < 10.0:  # inversion (numpy's BINV)
        qn = math.exp(nf * math.log1p(-p))
        bound = min(nf, nf * p + 10.0 * math.sqrt(nf * p * q + 1.0))
        while True:
            u = _uniform(st)
            px = qn
            k = 0
            while u > px and k <= bound:
                u -= px
                k += 1
                px *= (nf - k + 1.0) * p / (k * q)
            if k <= bound:
                break
    else:  # BTRS (Hormann 1993), the acceptance test in stable Stirling form
        spq = math.sqrt(nf * p * q)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = nf * p + 0.5
        vr = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * spq
        r = p / q
        m = math.floor((nf + 1.0) * p)
        while True:
            u = _uniform(st) - 0.5
            v = _uniform(st)
            us = 0.5 - abs(u)
            kf = math.floor((2.0 * a / us + b) * u + c)
            if kf < 0.0 or kf > nf:
                continue
            if us >= 0.07 and v <= vr:
                break
            lv = math.log(v * alpha / (a / (us * us) + b))
            bound = (
                (m + 0.5) * math.log((m + 1.0) / (r * (nf - m + 1.0)))
                + (nf + 1.0) * math.log1p((kf - m) / (nf - kf + 1.0))
                + (kf + 0.5) * math.log(r * (nf - kf + 1.0) / (kf + 1.0))
                + _stirling_tail(m, tail)
                + _stirling_tail(nf - m, tail)
                - _stirling_tail(kf, tail)
                - _stirling_tail(nf - kf, tail)
            )
            if lv <= bound:
                break
        k = np.int64(kf)
    return np.int64(n - k) if flip else np.int64(k)


@njit(cache=True, fastmath=_FASTMATH)
def _negbin(st, n, p):
    """Failures before the n-th success, success probability p (numpy's negative_binomial)."""
    if n <= 0 or p >= 1.0:
        return np.int64(0)
    q = 1.0 - p
    mean = n * q / p
    if n <= 4:  # a sum of n geometrics on {0, 1, ...}
        lq = math.log(q)
        tot = 0
        for _ in range(n):
            tot += np.int64(math.floor(math.log(1.0 - _uniform(st)) / lq))
        return np.int64(tot)
    if mean < 10.0:  # inversion: P(0) = p^n, P(k + 1) = P(k) (n + k) q / (k + 1)
        u = _uniform(st)
        f = math.exp(n * math.log(p))
        c = f
        k = 0
        while u > c and k < 1000:
            f *= (n + k) * q / (k + 1.0)
            k += 1
            c += f
        if k < 1000:
            return np.int64(k)
    return _poisson(st, _gamma(st, float(n)) * (1.0 - p) / p)


# ---------------------------------------------------------------------------------------------
# Scalar pieces of the compiled kernels


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _kendall(lam: float, mu: float, t: float) -> tuple[float, float]:
    """Scalar ``_simulate._survival_prob``: Kendall's (alpha, beta), same branches."""
    r = lam - mu
    rt = r * t
    if abs(rt) < 1e-8:
        alpha = mu * t / (1.0 + lam * t)
        beta = lam * t / (1.0 + lam * t)
    else:
        e = math.expm1(min(rt, 700.0))
        if rt > 1.0:
            inv = 1.0 / e
            den = lam * (1.0 + inv) - mu * inv
            alpha = mu / den
            beta = lam / den
        else:
            den = lam * (e + 1.0) - mu
            alpha = mu * e / den
            beta = lam * e / den
    if alpha != alpha:
        alpha = 1.0
    if beta != beta:
        beta = 0.0
    return min(max(alpha, 0.0), 1.0), min(max(beta, 0.0), 1.0 - 1e-15)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _rates_one(x, b_eff, d_eff, kc0, a, cap_src, growth, birth, death):
    """Per-capita (birth, death) of one run into ``birth``, ``death`` (``_per_capita``)."""
    k = x.shape[0]
    for i in range(k):
        if growth == 0:
            birth[i] = b_eff[i]
            death[i] = d_eff[i]
            continue
        kc = kc0[i]
        if cap_src[i] >= 0:
            kc = kc * x[cap_src[i]]
        kc = max(kc, 1e-12)
        load = 0.0
        for j in range(k):
            load += a[i, j] * x[j]
        g = 1.0 - load / kc if growth == 1 else math.log(kc / max(load, 1e-12))
        birth[i] = b_eff[i] * max(g, 0.0)
        death[i] = d_eff[i] + b_eff[i] * max(-g, 0.0)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _branch_one(
    st, x, birth, death, u, s, urow, srow, tgt, dt, gl_x, gl_w, tail, new, node_m, node_b
):
    """One run, one step of ``_step_branching`` into ``new``; returns the events."""
    k = x.shape[0]
    for i in range(k):
        lam = birth[i] * (1.0 - urow[i])
        mu = death[i] + srow[i]
        alpha, beta = _kendall(lam, mu, dt)
        surv = _binomial(st, x[i], 1.0 - alpha, tail)
        if surv > 0 and beta > 0.0:
            surv += _negbin(st, surv, 1.0 - beta)
        new[i] = surv
    rmax = 0.0
    for i in range(k):
        rmax = max(rmax, abs(birth[i] - death[i]) + birth[i] * urow[i] + srow[i])
    if rmax * dt < _SMOOTH:
        gl_x = _GL3_X
        gl_w = _GL3_W
    nq = gl_x.shape[0]
    for jj in range(tgt.shape[0]):
        j = tgt[jj]
        lam_j = birth[j] * (1.0 - urow[j])
        mu_j = death[j] + srow[j]
        m_tot = 0.0
        for q in range(nq):
            tau = 0.5 * dt * (gl_x[q] + 1.0)
            flux = 0.0
            for i in range(k):
                rate = birth[i] * u[i, j] + s[i, j]
                if rate > 0.0 and x[i] > 0:
                    r_i = birth[i] * (1.0 - urow[i]) - death[i] - srow[i]
                    flux += rate * x[i] * math.exp(min(r_i * (dt - tau), 700.0))
            flux *= 0.5 * dt * gl_w[q]
            node_m[q] = 0.0
            node_b[q] = 0.0
            if flux > 0.0:  # no source cells (e.g. the sensitive clone extinct): no arrivals
                a_t, b_t = _kendall(lam_j, mu_j, tau)
                node_m[q] = flux * (1.0 - a_t)
                node_b[q] = b_t
            m_tot += node_m[q]
        if m_tot <= 0.0:
            continue
        if m_tot < 30.0:
            # Poisson splitting: Poisson(sum m_q) arrivals, each at node q with probability
            # m_q / sum m, of size 1 + Geometric(beta_q): the law of independent per-node
            # Poisson(m_q) counts with NegativeBinomial extra cells, at one Poisson draw
            n_arr = _poisson(st, m_tot)
            for q in range(nq):
                node_b[q] = math.log(node_b[q]) if node_b[q] > 0.0 else 0.0
            for _ in range(n_arr):
                v = _uniform(st) * m_tot
                q = 0
                while q < nq - 1 and v >= node_m[q]:
                    v -= node_m[q]
                    q += 1
                size = 1
                if node_b[q] < 0.0:  # node_b holds log(beta_q) here
                    size += np.int64(math.floor(math.log(1.0 - _uniform(st)) / node_b[q]))
                new[j] += size
        else:
            for q in range(nq):
                m = _poisson(st, node_m[q])
                if m > 0 and node_b[q] > 0.0:
                    m += _negbin(st, m, 1.0 - node_b[q])
                new[j] += m
    ev = 0
    for i in range(k):
        ev += abs(new[i] - x[i])
    return ev


def _targets(u: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Clones that receive cells (as ``_step_branching``'s ``tgt``)."""
    return np.flatnonzero((u > 0).any(0) | (s > 0).any(0)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# (a) one branching step


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FASTMATH)
def _branching_step_nb(x, birth, death, u, s, dt, tgt, gl_x, gl_w, tail, key):
    p, k = x.shape
    out = np.empty_like(x)
    urow = u.sum(1)
    srow = s.sum(1)
    nb = min(p, _BLOCKS)
    ev_block = np.zeros(nb, np.int64)
    for blk in prange(nb):
        st = np.empty(4, np.uint64)
        new = np.empty(k, np.int64)
        node_m = np.empty(gl_x.shape[0])
        node_b = np.empty(gl_x.shape[0])
        ev = 0
        for r in range(blk * p // nb, (blk + 1) * p // nb):
            _seed_stream(st, key, r)
            ev += _branch_one(
                st,
                x[r],
                birth[r],
                death[r],
                u,
                s,
                urow,
                srow,
                tgt,
                dt,
                gl_x,
                gl_w,
                tail,
                new,
                node_m,
                node_b,
            )
            out[r, :] = new
        ev_block[blk] = ev
    return out, ev_block.sum()


def _branching_step_np(
    x: np.ndarray,
    birth: np.ndarray,
    death: np.ndarray,
    u: np.ndarray,
    s: np.ndarray,
    dt: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """The numpy twin: the law of ``_step_branching``, vectorised over runs."""
    urow, srow = u.sum(1), s.sum(1)
    lam = birth * (1.0 - urow)
    mu = death + srow
    alpha, beta = _survival_prob(lam, mu, dt)
    surv = rng.binomial(x, 1.0 - alpha)
    grow = rng.negative_binomial(np.maximum(surv, 1), 1.0 - beta)
    new = np.where(surv > 0, surv + grow, 0)
    tgt = _targets(u, s)
    if tgt.size:
        rate = birth[:, :, None] * u[None, :, tgt] + s[None, :, tgt]
        tau = 0.5 * dt * (_GL_X + 1.0)
        with np.errstate(over="ignore"):
            src = x[:, :, None] * np.exp(np.minimum((lam - mu)[:, :, None] * (dt - tau), 700.0))
        flux = np.einsum("pst,psk->ptk", rate, src) * (0.5 * dt * _GL_W)
        a_tau, b_tau = _survival_prob(lam[:, tgt, None], mu[:, tgt, None], tau)
        arrive = rng.poisson(flux * (1.0 - a_tau))
        hit = arrive > 0
        if np.any(hit):
            arrive[hit] += rng.negative_binomial(arrive[hit], 1.0 - b_tau[hit])
            new[:, tgt] += arrive.sum(-1)
    return new, int(np.sum(np.abs(new - x)))


def branching_step(
    x: np.ndarray,
    birth: np.ndarray,
    death: np.ndarray,
    *,
    u: np.ndarray,
    s: np.ndarray,
    dt: float,
    rng: np.random.Generator,
    engine: str = "auto",
) -> tuple[np.ndarray, int]:
    """One step of the multi-type linear birth-death process, all runs at once.

    The law of ``_simulate._step_branching`` (see there): per clone ``Binomial(x, 1 -
    alpha)`` survivors plus ``NegativeBinomial(survivors, 1 - beta)`` extra cells (Kendall
    1948), and Poisson arrivals of mutants / switched cells at 6 Gauss-Legendre nodes,
    thinned by survival, of geometric sizes.

    Parameters
    ----------
    x
        Cells, ``(P, K)`` int64.
    birth, death
        Per-capita rates ``(P, K)`` frozen over the step (``_simulate._per_capita``).
    u, s
        Mutation probability per division and switch rate per day, ``(K, K)``.
    dt
        Step, days.
    rng
        Generator for the seeds (numba) or the draws (numpy).
    engine
        ``"auto"`` (numba when installed), ``"numba"`` or ``"numpy"``.

    Returns
    -------
    (new cells ``(P, K)`` int64, events ``sum |new - x|``)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((3, 1), 100, np.int64)
    >>> new, ev = branching_step(x, np.full((3, 1), 0.5), np.full((3, 1), 0.2),
    ...                          u=np.zeros((1, 1)), s=np.zeros((1, 1)), dt=1.0,
    ...                          rng=np.random.default_rng(0))
    >>> new.shape
    (3, 1)
    """
    x = np.ascontiguousarray(x, np.int64)
    birth = np.ascontiguousarray(birth, float)
    death = np.ascontiguousarray(death, float)
    u, s = np.ascontiguousarray(u, float), np.ascontiguousarray(s, float)
    if not _use_numba(engine):
        return _branching_step_np(x, birth, death, u, s, float(dt), rng)
    out, ev = _branching_step_nb(
        x, birth, death, u, s, float(dt), _targets(u, s), _GL_X, _GL_W, _TAIL, _key(rng)
    )
    return out, int(ev)


# ---------------------------------------------------------------------------------------------
# (b) a whole cohort over the horizon


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _measure_one(x, w, use_w):
    m = 0.0
    for i in range(x.shape[0]):
        m += w[i] * x[i] if use_w else x[i]
    return m


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FASTMATH)
def _cohort_nb(
    x0, b_eff, d_eff, kc0, seg_step, seg_level, a, u, s, cap_src, growth, dt, steps,
    tgt, gl_x, gl_w, tail, w, decay, bio0, use_bio, resistant, pf, nr, n_rec, key, max_cells,
    stream0,
):  # fmt: skip
    # runs are patients stream0, stream0 + 1, ... of the cohort (a chunk of it, on an
    # executor): run r draws from stream stream0 + r whatever the chunking
    p, k = x0.shape
    nb = min(p, _BLOCKS)
    urow = u.sum(1)
    srow = s.sum(1)
    x_end = np.zeros((p, k), np.int64)
    events = np.zeros(p, np.int64)
    overflow = np.full(p, -1, np.int64)
    ttp_b = np.full(p, np.nan)
    ttp_n = np.full(p, np.nan)
    ttp_r = np.full(p, np.nan)
    t_ext = np.full(p, np.nan)
    base = np.zeros(p)
    mean_blk = np.zeros((nb, steps + 1, k))
    rec_x = np.zeros((steps + 1, n_rec, k))
    rec_m = np.zeros((steps + 1, n_rec))
    e_dec = math.exp(-decay * dt) if decay > 0 else 0.0
    n_seg = seg_step.shape[0]
    for blk in prange(nb):
        st = np.empty(4, np.uint64)
        x = np.empty(k, np.int64)
        new = np.empty(k, np.int64)
        node_m = np.empty(gl_x.shape[0])
        node_b = np.empty(gl_x.shape[0])
        xf = np.empty(k)
        birth = np.empty(k)
        death = np.empty(k)
        for r in range(blk * p // nb, (blk + 1) * p // nb):
            _seed_stream(st, key, stream0 + r)
            for i in range(k):
                x[i] = x0[r, i]
                xf[i] = x[i]
                mean_blk[blk, 0, i] += x[i]
            tot = _measure_one(xf, w, False)
            bio = bio0[r] if decay > 0 else _measure_one(xf, w, True)
            m = bio if use_bio else tot
            base[r] = m
            nadir = m
            if r < n_rec:
                rec_x[0, r, :] = xf
                rec_m[0, r] = m
            seg = 0
            ev = 0
            for step in range(steps):
                while seg + 1 < n_seg and seg_step[seg + 1] <= step:
                    seg += 1
                lv = seg_level[seg]
                _rates_one(xf, b_eff[lv, r], d_eff[lv, r], kc0[lv, r], a, cap_src, growth,
                           birth, death)  # fmt: skip
                big = False
                for i in range(k):
                    # the exponential only for a clone that could reach the limit in the step
                    g = (birth[i] - death[i]) * dt
                    if g > 6.0 or xf[i] > max_cells * 1e-3:
                        if xf[i] * math.exp(min(g, 700.0)) > max_cells:
                            big = True
                if big:
                    overflow[r] = step
                    break
                ev += _branch_one(
                    st,
                    x,
                    birth,
                    death,
                    u,
                    s,
                    urow,
                    srow,
                    tgt,
                    dt,
                    gl_x,
                    gl_w,
                    tail,
                    new,
                    node_m,
                    node_b,
                )
                t1 = (step + 1) * dt
                rsum = 0.0
                for i in range(k):
                    x[i] = new[i]
                    xf[i] = new[i]
                    mean_blk[blk, step + 1, i] += new[i]
                    if resistant[i]:
                        rsum += xf[i]
                tot = _measure_one(xf, w, False)
                if decay > 0:
                    bio = bio * e_dec + _measure_one(xf, w, True) * (1.0 - e_dec) / decay
                else:
                    bio = _measure_one(xf, w, True)
                m = bio if use_bio else tot
                nadir = min(nadir, m)
                if ttp_b[r] != ttp_b[r] and m > pf * base[r]:
                    ttp_b[r] = t1
                if ttp_n[r] != ttp_n[r] and m > nr * nadir and nadir < base[r]:
                    ttp_n[r] = t1
                if ttp_r[r] != ttp_r[r] and tot > 0 and rsum / tot > 0.5:
                    ttp_r[r] = t1
                if t_ext[r] != t_ext[r] and tot <= 0:
                    t_ext[r] = t1
                if r < n_rec:
                    rec_x[step + 1, r, :] = xf
                    rec_m[step + 1, r] = m
            x_end[r, :] = x
            events[r] = ev
    # the sum, not the mean: sums of whole cell counts are exact in any order (below 2**53),
    # so chunks of a cohort add up to the same bits
    return x_end, events, overflow, ttp_b, ttp_n, ttp_r, t_ext, base, mean_blk.sum(0), rec_x, rec_m


def _rates_np(
    xf: np.ndarray,
    b_eff: np.ndarray,
    d_eff: np.ndarray,
    kc0: np.ndarray,
    a: np.ndarray,
    cap_src: np.ndarray,
    growth: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised per-capita rates (the density part of ``_per_capita``)."""
    if growth == 0:
        return b_eff, d_eff
    kc = kc0.copy()
    src = cap_src >= 0
    if np.any(src):
        kc[:, src] = kc[:, src] * xf[:, cap_src[src]]
    kc = np.maximum(kc, 1e-12)
    load = xf @ a.T
    with np.errstate(divide="ignore"):
        g = 1.0 - load / kc if growth == 1 else np.log(kc / np.maximum(load, 1e-12))
    return b_eff * np.maximum(g, 0.0), d_eff + b_eff * np.maximum(-g, 0.0)


def _cohort_np(
    x0, b_eff, d_eff, kc0, seg_step, seg_level, a, u, s, cap_src, growth, dt, steps,
    w, decay, bio0, use_bio, resistant, pf, nr, n_rec, rng, max_cells,
):  # fmt: skip
    p, k = x0.shape
    x = x0.astype(np.int64).copy()
    xf = x.astype(float)
    nan = np.full(p, np.nan)
    ttp_b, ttp_n, ttp_r, t_ext = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    tot = xf.sum(1)
    bio = bio0.astype(float).copy() if decay > 0 else xf @ w
    base = bio.copy() if use_bio else tot.copy()
    nadir = base.copy()
    mean_x = np.zeros((steps + 1, k))
    rec_x = np.zeros((steps + 1, n_rec, k))
    rec_m = np.zeros((steps + 1, n_rec))
    mean_x[0], rec_x[0], rec_m[0] = xf.mean(0), xf[:n_rec], base[:n_rec]
    e_dec = math.exp(-decay * dt) if decay > 0 else 0.0
    seg = 0
    events = 0
    overflow = np.full(p, -1, np.int64)
    for step in range(steps):
        while seg + 1 < seg_step.size and seg_step[seg + 1] <= step:
            seg += 1
        lv = seg_level[seg]
        birth, death = _rates_np(xf, b_eff[lv], d_eff[lv], kc0[lv], a, cap_src, growth)
        with np.errstate(over="ignore"):
            grow = xf * np.exp(np.minimum((birth - death) * dt, 700.0))
        if float(grow.max(initial=0.0)) > max_cells:
            overflow[np.flatnonzero((grow > max_cells).any(1))] = step
            break
        x, ev = _branching_step_np(x, birth, death, u, s, dt, rng)
        events += ev
        xf = x.astype(float)
        t1 = (step + 1) * dt
        tot = xf.sum(1)
        if decay > 0:
            bio = bio * e_dec + (xf @ w) * (1.0 - e_dec) / decay
        else:
            bio = xf @ w
        m = bio if use_bio else tot
        nadir = np.minimum(nadir, m)
        ttp_b[np.isnan(ttp_b) & (m > pf * base)] = t1
        ttp_n[np.isnan(ttp_n) & (m > nr * nadir) & (nadir < base)] = t1
        rfrac = np.where(tot > 0, xf[:, resistant].sum(1) / np.maximum(tot, 1e-300), 0.0)
        ttp_r[np.isnan(ttp_r) & (rfrac > 0.5)] = t1
        t_ext[np.isnan(t_ext) & (tot <= 0)] = t1
        mean_x[step + 1], rec_x[step + 1], rec_m[step + 1] = xf.mean(0), xf[:n_rec], m[:n_rec]
    ev_run = np.zeros(p, np.int64)
    ev_run[0] = events  # the numpy twin counts the total only
    return x, ev_run, overflow, ttp_b, ttp_n, ttp_r, t_ext, base, mean_x, rec_x, rec_m


def cohort(
    x0: np.ndarray,
    b_eff: np.ndarray,
    d_eff: np.ndarray,
    *,
    kc0: np.ndarray,
    seg_step: np.ndarray,
    seg_level: np.ndarray,
    a: np.ndarray,
    u: np.ndarray,
    s: np.ndarray,
    cap_src: np.ndarray,
    growth: int,
    dt: float,
    steps: int,
    rng: np.random.Generator,
    w: np.ndarray | None = None,
    decay: float | None = None,
    bio0: np.ndarray | None = None,
    use_bio: bool = False,
    resistant: np.ndarray | None = None,
    progression_factor: float = 1.2,
    nadir_rise: float = 1.25,
    record_runs: int = 0,
    max_cells: float = MAX_CELLS,
    engine: str = "auto",
    executor: str | Executor | None = None,
    chunk_size: int = 10_000,
) -> dict[str, Any]:
    """A cohort over ``steps`` steps of ``branching``, the loop over steps compiled.

    Per-run rates are piecewise constant in time: segment ``q`` starts at step
    ``seg_step[q]`` (``seg_step[0] == 0``) and uses level ``seg_level[q]`` of ``b_eff``,
    ``d_eff``, ``kc0`` (``(L, P, K)``: drug-modified birth rate, death rate, capacity, see
    :func:`effective_rates`). Every step recomputes the density factor (``growth`` 0
    exponential, 1 logistic, 2 Gompertz, competition ``a``, ``cap_src``) as
    ``_per_capita`` and draws the law of :func:`branching_step`.

    The measure is the burden, or with ``use_bio`` the marker ``w . x`` (``decay`` > 0: the
    first-order marker from ``bio0``); metrics are those of ``_simulate._Metrics`` with the
    drug never paused (no adaptive rule). Returns a dict with ``x_end`` ``(P, K)``,
    ``events`` (total), ``overflow`` (the first step whose expected cells of a clone exceed
    ``max_cells``, -1 for none; the run stops there), ``ttp_baseline``, ``ttp_nadir``,
    ``ttp_resistant``, ``t_extinct``, ``baseline`` ``(P,)``, ``mean_x`` ``(steps + 1, K)``,
    ``rec_x`` ``(steps + 1, R, K)``, ``rec_m`` ``(steps + 1, R)``.

    ``executor`` (``"serial"``, ``"threads"``, ``"processes"``, ``"dask"`` or an object with
    ``map``; None: one call in this process) runs the patients ``chunk_size`` at a time. Patient
    ``r`` draws from stream ``r`` of one key in every chunk and the mean is a sum of whole cell
    counts, so the results are bitwise the same for any executor and chunk size (the numpy
    twin draws from one generator: it runs as one chunk).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((1, 1))
    >>> out = cohort(np.full((4, 1), 50), np.full((1, 4, 1), 0.14), np.full((1, 4, 1), 0.13),
    ...              kc0=np.full((1, 4, 1), np.inf), seg_step=np.array([0]),
    ...              seg_level=np.array([0]), a=np.ones((1, 1)), u=z, s=z,
    ...              cap_src=np.array([-1]), growth=0, dt=1.0, steps=10,
    ...              rng=np.random.default_rng(0))
    >>> out["x_end"].shape
    (4, 1)
    """
    x0 = np.ascontiguousarray(np.rint(x0), np.int64)
    p, k = x0.shape
    b_eff = np.ascontiguousarray(b_eff, float).reshape(-1, p, k)
    d_eff = np.ascontiguousarray(d_eff, float).reshape(-1, p, k)
    kc0 = np.ascontiguousarray(kc0, float).reshape(-1, p, k)
    seg_step = np.ascontiguousarray(seg_step, np.int64)
    seg_level = np.ascontiguousarray(seg_level, np.int64)
    if seg_step.size == 0 or seg_step[0] != 0 or seg_level.shape != seg_step.shape:
        raise InputError("seg_step must start at 0 and match seg_level in length")
    w_ = np.ones(k) if w is None else np.ascontiguousarray(w, float)
    dec = float(decay) if decay else 0.0
    b0 = np.zeros(p) if bio0 is None else np.ascontiguousarray(np.broadcast_to(bio0, p), float)
    res = np.zeros(k, bool) if resistant is None else np.ascontiguousarray(resistant, bool)
    n_rec = min(int(record_runs), p)
    cap_src = np.ascontiguousarray(cap_src, np.int64)
    a, u, s = (np.ascontiguousarray(m, float) for m in (a, u, s))
    if int(chunk_size) < 1:
        raise InputError(f"chunk_size must be a positive integer; got {chunk_size}")
    shared = (seg_step, seg_level, a, u, s, cap_src, int(growth), float(dt), int(steps), w_, dec)
    tail = (bool(use_bio), res, float(progression_factor), float(nadir_rise))
    use_nb = _use_numba(engine)
    # the numba kernel's streams are per patient; the numpy twin's one generator is not
    bounds = [(0, p)]
    if use_nb and executor is not None:
        bounds = [(i, min(i + int(chunk_size), p)) for i in range(0, p, int(chunk_size))] or bounds
    draw = _key(rng) if use_nb else rng

    def tasks() -> Iterator[tuple]:
        for i, j in bounds:
            rates = (x0[i:j], b_eff[:, i:j], d_eff[:, i:j], kc0[:, i:j], b0[i:j])
            yield (rates, shared, tail, max(0, min(n_rec - i, j - i)), draw, i, float(max_cells))

    if executor is None:
        parts = [_cohort_chunk(t) for t in tasks()]
    else:
        from ..curves._executors import executor_scope

        with executor_scope(executor) as ex:
            parts = list(ex.map(_cohort_chunk, tasks()))
    keys = ("x_end", "events", "overflow", "ttp_baseline", "ttp_nadir", "ttp_resistant",
            "t_extinct", "baseline", "mean_x", "rec_x", "rec_m")  # fmt: skip
    d: dict[str, Any] = {}
    for n_key, key in enumerate(keys):
        vals = [part[n_key] for part in parts]
        if key == "mean_x":
            d[key] = np.sum(vals, axis=0) / p if use_nb else vals[0]
        else:
            d[key] = np.concatenate(vals, axis=1 if key.startswith("rec_") else 0)
    d["events"] = int(d["events"].sum())
    return d


def _cohort_chunk(task: tuple) -> tuple:
    """One chunk of :func:`cohort`'s patients (module level: executors pickle it)."""
    (x0, b_eff, d_eff, kc0, b0), shared, tail, n_rec, draw, start, max_cells = task
    seg_step, seg_level, a, u, s, cap_src, growth, dt, steps, w_, dec = shared
    use_bio, res, pf, nr = tail
    args = (x0, b_eff, d_eff, kc0, seg_step, seg_level, a, u, s, cap_src, growth, dt, steps)
    rest = (w_, dec, b0, use_bio, res, pf, nr, n_rec)
    if isinstance(draw, np.random.Generator):
        return _cohort_np(*args, *rest, draw, max_cells)
    return _cohort_nb(*args, _targets(u, s), _GL_X, _GL_W, _TAIL, *rest, draw, max_cells, start)


def effective_rates(ar: Any, conc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drug-modified ``(b_eff, d_eff, kc0)``, each ``(P, K)``, at concentrations ``(P, D)``.

    The drug part of ``_simulate._per_capita`` for the fields of ``_Arrays``: ``b_eff = b
    prod(1 - E_birth)``, ``d_eff = d + sum (or max) E_death``, ``kc0 = cap cap_factor prod(1 -
    E_capacity)``; the density factor (and ``cap_src``) is applied per step or event in the
    kernels. ``tests/test_evolution_kernels.py`` checks it against ``_per_capita``.
    """
    from ._model import _hill

    c = np.asarray(conc, float)
    e = ar.emax * _hill(c[:, None, :], ar.ic50, ar.hill) * ar.has * (1.0 - ar.protect)[:, None]
    de = np.where(ar.tgt == 0, e, 0.0)
    extra = de.max(-1) if ar.combine_max else de.sum(-1)
    bf = np.prod(np.where(ar.tgt == 1, 1.0 - e, 1.0), axis=-1)
    cf = np.prod(np.where(ar.tgt == 2, 1.0 - e, 1.0), axis=-1)
    return ar.b * bf, ar.d + extra, ar.cap * ar.cap_factor * cf


class _Met:
    """The attributes of ``_simulate._Metrics`` that ``simulate`` reads."""

    def __init__(self, **kw: np.ndarray) -> None:
        self.__dict__.update(kw)


def run_cohort(
    ar: Any,
    plan: Any,
    schedule: Any,
    *,
    t_end: float,
    dt: float,
    rng: np.random.Generator,
    record_runs: int,
    mode: str,
    progression_factor: float,
    nadir_rise: float,
    engine: str = "auto",
    executor: str | Executor | None = None,
) -> dict[str, Any] | None:
    """The dict of ``_simulate._run_stochastic`` (``branching``) from one compiled call.

    ``executor`` runs the patients in chunks (see :func:`cohort`; the same results).

    ``ar`` is an ``_Arrays``, ``plan`` a ``_Plan``. Returns ``None`` (use the step loop) for
    what the cohort kernel does not cover: an adaptive rule (the drug paused by the state) or
    drugs with pharmacokinetics (``kel > 0``: concentrations change within segments).
    Infusion levels are read per step at its start, as ``_run_stochastic`` does; boluses
    count as doses (their concentration is instantaneous under constant PK).
    """
    if schedule.adaptive is not None or np.any(np.asarray(ar.kel) > 0):
        return None
    n = ar.x0.shape[0]
    nd = max(len(ar.drugs), 1)
    steps = round(t_end / dt)
    levels = np.array([plan.level(i * dt) for i in range(steps)]).reshape(steps, nd)
    change = np.ones(steps, bool)
    change[1:] = np.any(levels[1:] != levels[:-1], axis=1)
    seg_step = np.flatnonzero(change)
    uniq, seg_level = np.unique(levels[seg_step], axis=0, return_inverse=True)
    rates = [effective_rates(ar, np.broadcast_to(lv, (n, nd))) for lv in uniq]
    b_eff, d_eff, kc0 = (np.stack([r[i] for r in rates]) for i in range(3))
    bio0 = None
    if ar.decay is not None:
        bio0 = (ar.x0 @ ar.w) / ar.decay if ar.bio0 is None else np.full(n, float(ar.bio0))
    out = cohort(
        ar.x0, b_eff, d_eff, kc0=kc0, seg_step=seg_step, seg_level=seg_level.ravel(), a=ar.a,
        u=ar.u, s=ar.s, cap_src=ar.cap_src, growth=ar.growth, dt=dt, steps=steps, rng=rng,
        w=ar.w, decay=ar.decay, bio0=bio0, use_bio=mode == "biomarker", resistant=ar.resistant,
        progression_factor=progression_factor, nadir_rise=nadir_rise, record_runs=record_runs,
        engine=engine, executor=executor,
    )  # fmt: skip
    bad = np.flatnonzero(out["overflow"] >= 0)
    if bad.size:
        day = float(out["overflow"][bad].min()) * dt
        raise InputError(
            f"branching: the population becomes too large to count at day {day:g}; the "
            f"stochastic engines count at most {MAX_CELLS:.0e} cells of a clone as 64-bit "
            "integers. Use method='ode', add a carrying capacity (growth: logistic), lower "
            "the rates or shorten t_end"
        )
    bol = np.array([plan.boluses(i * dt, (i + 1) * dt) for i in range(steps)]).reshape(steps, nd)
    active = (levels.sum(1) > 0) | (bol.sum(1) > 0)
    rec_n = out["rec_x"].shape[1]
    conc_steps = np.vstack([np.zeros((1, nd)), levels])  # concentration after each step
    met = _Met(
        ttp_baseline=out["ttp_baseline"],
        ttp_nadir=out["ttp_nadir"],
        ttp_resistant=out["ttp_resistant"],
        t_extinct=out["t_extinct"],
        time_on=np.full(n, dt * float(active.sum())),
        dose=np.tile(bol.sum(0), (n, 1)),
        baseline=out["baseline"],
    )
    return {
        "times": np.arange(steps + 1) * dt,
        "rec_x": out["rec_x"],
        "rec_m": out["rec_m"],
        "rec_on": np.ones((steps + 1, rec_n), bool),
        "rec_c": np.repeat(conc_steps[:, None, :], rec_n, axis=1),
        "mean_x": out["mean_x"],
        "met": met,
        "auc": np.tile(levels.sum(0) * dt, (n, 1)),
        "x_end": out["x_end"].astype(float),
        "events": out["events"],
    }


# ---------------------------------------------------------------------------------------------
# (c) exact Gillespie, one event at a time


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FASTMATH)
def _gillespie_nb(x0, b_eff, d_eff, kc0, a, u, s, cap_src, growth, dt, key, max_events):
    p, k = x0.shape
    out = np.empty_like(x0)
    events = np.zeros(p, np.int64)
    urow = u.sum(1)
    srow = s.sum(1)
    for r in prange(p):
        st = np.empty(4, np.uint64)
        _seed_stream(st, key, r)
        x = x0[r].copy()
        xf = np.empty(k)
        birth = np.empty(k)
        death = np.empty(k)
        tot = np.empty(k)  # per-capita total rate of clone i
        for i in range(k):
            xf[i] = x[i]
        _rates_one(xf, b_eff[r], d_eff[r], kc0[r], a, cap_src, growth, birth, death)
        t = 0.0
        ev = 0
        while ev < max_events:
            if growth != 0:
                _rates_one(xf, b_eff[r], d_eff[r], kc0[r], a, cap_src, growth, birth, death)
            a0 = 0.0
            for i in range(k):
                tot[i] = birth[i] + death[i] + srow[i]
                a0 += tot[i] * xf[i]
            if a0 <= 0.0:
                break
            t += -math.log(1.0 - _uniform(st)) / a0
            if t >= dt:
                break
            v = _uniform(st) * a0
            i = 0
            while i < k - 1 and v >= tot[i] * xf[i]:
                v -= tot[i] * xf[i]
                i += 1
            v = v / xf[i]  # per-capita position within clone i's channels
            lam = birth[i] * (1.0 - urow[i])
            if v < lam:
                x[i] += 1
            elif v < lam + death[i]:
                x[i] -= 1
            else:
                v -= lam + death[i]
                done = False
                for j in range(k):
                    c = birth[i] * u[i, j]
                    if v < c:
                        x[j] += 1
                        done = True
                        break
                    v -= c
                if not done:
                    j = 0
                    for j in range(k):
                        if v < s[i, j] or j == k - 1:
                            break
                        v -= s[i, j]
                    x[i] -= 1
                    x[j] += 1
            for q in range(k):
                xf[q] = x[q]
            ev += 1
        out[r, :] = x
        events[r] = ev
    return out, events


def _gillespie_np(
    x0: np.ndarray,
    b_eff: np.ndarray,
    d_eff: np.ndarray,
    kc0: np.ndarray,
    a: np.ndarray,
    u: np.ndarray,
    s: np.ndarray,
    cap_src: np.ndarray,
    growth: int,
    dt: float,
    rng: np.random.Generator,
    max_events: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy twin: the direct method vectorised over runs (one event per run per pass)."""
    p, k = x0.shape
    x = x0.copy()
    t = np.zeros(p)
    ev = np.zeros(p, np.int64)
    active = np.arange(p)
    urow = u.sum(1)
    # channels: own birth of each i, death of each i, mutation i -> j, switch i -> j
    eye = np.eye(k, dtype=np.int64)
    v = np.concatenate(
        [eye, -eye, np.tile(eye, (k, 1)), (np.tile(eye, (k, 1)) - np.repeat(eye, k, axis=0))]
    )
    while active.size:
        xf = x[active].astype(float)
        birth, death = _rates_np(xf, b_eff[active], d_eff[active], kc0[active], a, cap_src, growth)
        props = np.concatenate(
            [
                birth * (1.0 - urow) * xf,
                death * xf,
                (birth[:, :, None] * u[None] * xf[:, :, None]).reshape(active.size, -1),
                (s[None] * xf[:, :, None]).reshape(active.size, -1),
            ],
            axis=1,
        )
        a0 = props.sum(1)
        with np.errstate(divide="ignore"):
            t_new = t[active] + rng.exponential(1.0, active.size) / a0
        fire = (t_new < dt) & (ev[active] < max_events)
        fa = active[fire]
        if fa.size:
            cum = np.cumsum(props[fire], axis=1)
            ch = np.minimum(
                (cum < (rng.random(fa.size) * a0[fire])[:, None]).sum(1), cum.shape[1] - 1
            )
            x[fa] += v[ch]
            t[fa] = t_new[fire]
            ev[fa] += 1
        active = fa
    return x, ev


def gillespie_step(
    x: np.ndarray,
    b_eff: np.ndarray,
    d_eff: np.ndarray,
    *,
    kc0: np.ndarray,
    a: np.ndarray,
    u: np.ndarray,
    s: np.ndarray,
    cap_src: np.ndarray,
    growth: int,
    dt: float,
    rng: np.random.Generator,
    max_events: int = 50_000_000,
    engine: str = "auto",
) -> tuple[np.ndarray, int]:
    """Exact stochastic simulation (Gillespie's direct method) of every run over ``dt``.

    One event at a time with per-cell rates recomputed after each event (logistic /
    Gompertz density, ``growth`` as in ``_Arrays``), for the channels of
    ``_simulate._gillespie_channels``: birth ``b (1 - sum_j u_ij)``, death, a mutant daughter
    ``b u_ij`` (the parent stays), switching ``s_ij``. ``b_eff``, ``d_eff``, ``kc0``
    ``(P, K)`` are the drug-modified rates over the step (:func:`effective_rates`).

    Raises :class:`~oncoresist.errors.InputError` when a run needs more than ``max_events``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((1, 1))
    >>> x, ev = gillespie_step(np.full((2, 1), 100), np.full((2, 1), 1.0),
    ...                        np.full((2, 1), 0.5), kc0=np.full((2, 1), np.inf),
    ...                        a=np.ones((1, 1)), u=z, s=z, cap_src=np.array([-1]),
    ...                        growth=0, dt=1.0, rng=np.random.default_rng(0))
    >>> bool(ev > 0)
    True
    """
    x = np.ascontiguousarray(x, np.int64)
    p, k = x.shape
    b_eff, d_eff, kc0 = (np.ascontiguousarray(np.broadcast_to(m, (p, k)), float)
                         for m in (b_eff, d_eff, kc0))  # fmt: skip
    a, u, s = (np.ascontiguousarray(m, float) for m in (a, u, s))
    cap_src = np.ascontiguousarray(cap_src, np.int64)
    if _use_numba(engine):
        out, ev = _gillespie_nb(x, b_eff, d_eff, kc0, a, u, s, cap_src, int(growth), float(dt),
                                _key(rng), int(max_events) + 1)  # fmt: skip
    else:
        out, ev = _gillespie_np(x, b_eff, d_eff, kc0, a, u, s, cap_src, int(growth), float(dt),
                                rng, int(max_events) + 1)  # fmt: skip
    if int(ev.max(initial=0)) > max_events:
        raise InputError(
            f"gillespie: a run needs more than {max_events:,} events in a step of {dt:g} d "
            "(max_events); the exact method is too slow here: use method='branching'"
        )
    return out, int(ev.sum())


@njit(cache=True, fastmath=_FASTMATH)
def _sample(kind, n_draws, a, b, key):
    """``n_draws`` draws of one compiled sampler (for the tests against numpy's samplers):
    kind 0 binomial(a, b), 1 poisson(a), 2 negative_binomial(a, b), 3 gamma(a)."""
    st = np.empty(4, np.uint64)
    _seed_stream(st, key, 0)
    out = np.empty(n_draws)
    for i in range(n_draws):
        if kind == 0:
            out[i] = _binomial(st, np.int64(a), b, _TAIL)
        elif kind == 1:
            out[i] = _poisson(st, a)
        elif kind == 2:
            out[i] = _negbin(st, np.int64(a), b)
        else:
            out[i] = _gamma(st, a)
    return out


def numba_threads() -> int:
    """Threads the compiled kernels use (0 without numba)."""
    if not HAVE_NUMBA:
        return 0
    import numba

    return int(numba.get_num_threads())
