"""``oncoresist._special`` against ``scipy.stats`` (evidence: agreement with the library that
defines these distributions, to the last bit, including its argument checks)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from oncoresist._special import f_sf, norm_sf, t_ppf, t_sf


def _same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True)


def test_against_scipy_stats():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.gamma(1.0, 3.0, 500), [0.0, np.inf, np.nan, 1e-300, 1e6]])
    df1 = rng.integers(-1, 6, x.size).astype(float)
    df2 = np.concatenate([rng.integers(-1, 40, x.size - 2).astype(float), [np.nan, 2.5]])
    _same(f_sf(x, df1, df2), stats.f.sf(x, df1, df2))
    q = np.concatenate([rng.uniform(0, 1, 500), [0.0, 1.0, 0.975, -0.1, np.nan]])
    _same(t_ppf(q, df2), stats.t.ppf(q, df2))
    t = np.concatenate([rng.normal(0, 3, 500), [0.0, np.inf, -np.inf, np.nan, 40.0]])
    _same(t_sf(t, df2), stats.t.sf(t, df2))
    _same(norm_sf(t), stats.norm.sf(t))


def test_scalars_stay_scalars():
    assert isinstance(t_ppf(0.975, 10), float)
    assert t_ppf(0.975, 10) == stats.t.ppf(0.975, 10)
    assert f_sf(3.0, 1, 10) == stats.f.sf(3.0, 1, 10)


def test_neg_log10_p_keeps_the_axis_to_the_data():
    """Regression guard: p = 0 is drawn at the smallest non-zero p of the data (before, at
    1e-300: one point stretched a volcano's axis to 300)."""
    from oncoresist._special import neg_log10_p

    y = neg_log10_p([0.5, 0.0, 1e-8, np.nan])
    assert y[:3].tolist() == [-np.log10(0.5), 8.0, 8.0] and np.isnan(y[3])
    assert neg_log10_p([0.0, 0.0]).tolist() == [300.0, 300.0]  # nothing else to go by
