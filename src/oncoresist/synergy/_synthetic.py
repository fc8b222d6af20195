"""Seeded generator of combination blocks with known parameters (``make_combination_screen``)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..data._combination import CombinationScreen
from ..errors import InputError
from ._loewe import loewe_expected
from ._musyc import musyc_surface

__all__ = ["make_combination_screen"]


def _per_block(value: float | np.ndarray | None, n: int, draw: np.ndarray) -> np.ndarray:
    if value is None:
        return draw
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    return arr


def make_combination_screen(
    n_blocks: int = 10,
    *,
    kind: Literal["musyc", "bliss", "loewe"] = "musyc",
    n_doses: tuple[int, int] = (5, 5),
    n_replicates: int = 3,
    noise: float = 0.03,
    alpha12: float | np.ndarray = 1.0,
    alpha21: float | np.ndarray = 1.0,
    beta: float | np.ndarray = 0.0,
    e1: float | np.ndarray | None = None,
    e2: float | np.ndarray | None = None,
    c1: float | np.ndarray | None = None,
    c2: float | np.ndarray | None = None,
    h1: float | np.ndarray | None = None,
    h2: float | np.ndarray | None = None,
    samples: tuple[str, ...] | None = None,
    drugs: tuple[str, str] = ("drugA", "drugB"),
    rng: int | np.random.Generator | None = None,
) -> CombinationScreen:
    """Synthetic combination blocks from known parameters, with Gaussian replicate noise.

    Single agents are Hill curves with ``E0 = 0`` (fractional inhibition), maximal effects
    ``e1, e2`` (default uniform in [0.5, 0.8]), EC50 ``c1, c2`` micromolar (log-uniform in
    [0.05, 5]) and slopes ``h1, h2`` (uniform in [0.8, 2.5]); doses are 0 and a 4-fold series
    centred on the EC50. The combination surface is

    * ``"musyc"``: the MuSyC 2-D Hill surface with ``alpha12``, ``alpha21`` and ``beta``
      (``E3 = max(E1, E2) + beta (max(E1, E2) - E0)``); ``alpha = 1, beta = 0`` is no
      interaction;
    * ``"bliss"``: exactly Bliss independent, ``E1(d1) + E2(d2) - E1(d1) E2(d2)``;
    * ``"loewe"``: exactly Loewe additive (iso-effect equation solved to 1e-15).

    Parameters may be scalars or per-block arrays. The true parameters are in
    ``screen.blocks`` (columns ``true_*``). ``samples`` repeats every block on each sample
    (blocks ``<i>_<sample>``) with the same parameters unless per-block arrays are given.

    Examples
    --------
    >>> s = make_combination_screen(3, kind="bliss", noise=0.0, rng=0)
    >>> s.n_blocks, int(s.blocks["n_replicates"].iloc[0])
    (3, 3)
    """
    if n_blocks < 1 or n_replicates < 1 or min(n_doses) < 2:
        raise InputError("need n_blocks >= 1, n_replicates >= 1 and at least 2 doses per drug")
    gen = np.random.default_rng(rng)
    samp = tuple(samples) if samples else ("line1",)
    n = n_blocks * len(samp)
    e1v = _per_block(e1, n, np.repeat(gen.uniform(0.5, 0.8, n_blocks), len(samp)))
    e2v = _per_block(e2, n, np.repeat(gen.uniform(0.5, 0.8, n_blocks), len(samp)))
    c1v = _per_block(
        c1, n, np.repeat(np.exp(gen.uniform(np.log(0.05), np.log(5), n_blocks)), len(samp))
    )
    c2v = _per_block(
        c2, n, np.repeat(np.exp(gen.uniform(np.log(0.05), np.log(5), n_blocks)), len(samp))
    )
    h1v = _per_block(h1, n, np.repeat(gen.uniform(0.8, 2.5, n_blocks), len(samp)))
    h2v = _per_block(h2, n, np.repeat(gen.uniform(0.8, 2.5, n_blocks), len(samp)))
    a12 = _per_block(alpha12, n, np.ones(n))
    a21 = _per_block(alpha21, n, np.ones(n))
    bet = _per_block(beta, n, np.zeros(n))
    n1, n2 = n_doses
    steps1 = 4.0 ** (np.arange(n1 - 1) - (n1 - 2) / 2)
    steps2 = 4.0 ** (np.arange(n2 - 1) - (n2 - 2) / 2)
    conc1 = np.column_stack([np.zeros(n), c1v[:, None] * steps1])
    conc2 = np.column_stack([np.zeros(n), c2v[:, None] * steps2])
    with np.errstate(divide="ignore"):
        ld1 = np.log(conc1)
        ld2 = np.log(conc2)
    p1 = np.column_stack([np.zeros(n), e1v, np.log(c1v), h1v])
    p2 = np.column_stack([np.zeros(n), e2v, np.log(c2v), h2v])
    emax = np.maximum(e1v, e2v)
    e3 = emax + bet * emax
    if kind == "musyc":
        params = np.column_stack(
            [
                np.zeros(n),
                e1v,
                e2v,
                e3,
                np.log(h1v),
                np.log(h2v),
                np.log(c1v),
                np.log(c2v),
                np.log(a12),
                np.log(a21),
            ]
        )
        surf = musyc_surface(ld1[:, :, None], ld2[:, None, :], params)
    elif kind == "bliss":
        from ._hill import hill_predict

        y1 = hill_predict(ld1, p1)
        y2 = hill_predict(ld2, p2)
        surf = y1[:, :, None] + y2[:, None, :] - y1[:, :, None] * y2[:, None, :]
    elif kind == "loewe":
        surf, _ = loewe_expected(ld1, ld2, params1=p1, params2=p2, n_iter=80)
    else:
        raise InputError(f"kind must be 'musyc', 'bliss' or 'loewe', got {kind!r}")
    resp = (
        surf[..., None] + gen.normal(0.0, noise, (n, n1, n2, n_replicates))
        if noise > 0
        else np.repeat(surf[..., None], n_replicates, axis=-1)
    )
    ids = [f"{i}_{s}" if len(samp) > 1 else str(i) for i in range(n_blocks) for s in samp]
    sample_of = [s for _ in range(n_blocks) for s in samp]
    bi, ii, jj, rr = np.meshgrid(
        np.arange(n), np.arange(n1), np.arange(n2), np.arange(n_replicates), indexing="ij"
    )
    frame = pd.DataFrame(
        {
            "block_id": np.asarray(ids)[bi.ravel()],
            "sample": np.asarray(sample_of)[bi.ravel()],
            "drug1": drugs[0],
            "drug2": drugs[1],
            "conc1": conc1[bi.ravel(), ii.ravel()],
            "conc2": conc2[bi.ravel(), jj.ravel()],
            "response": resp.ravel(),
            "replicate": rr.ravel() + 1,
        }
    )
    truth = pd.DataFrame(
        {
            "block_id": ids,
            "true_kind": kind,
            "true_e1": e1v,
            "true_e2": e2v,
            "true_e3": e3 if kind == "musyc" else np.nan,
            "true_c1": c1v,
            "true_c2": c2v,
            "true_h1": h1v,
            "true_h2": h2v,
            "true_alpha12": a12 if kind == "musyc" else np.nan,
            "true_alpha21": a21 if kind == "musyc" else np.nan,
            "true_beta": bet if kind == "musyc" else np.nan,
        }
    )
    return CombinationScreen(
        frame, source=f"make_combination_screen(kind={kind!r})", annotations=truth
    )
