"""Synthetic screens with known parameters: parental and resistant lines on realistic plates."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ..errors import InputError
from ._screen import Screen

__all__ = ["PLATE_FORMATS", "SyntheticScreen", "make_screen", "well_name"]

#: Supported plate formats: wells -> (rows, columns).
PLATE_FORMATS: dict[int, tuple[int, int]] = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}


def _ll4(conc: Any, ic50: Any, hill_slope: Any, top: Any, bottom: Any) -> np.ndarray:
    """Four-parameter log-logistic response, decreasing for a positive ``hill_slope``.

    ``bottom + (top - bottom) / (1 + (conc / ic50) ** hill_slope)``; broadcasts.

    >>> float(_ll4(1.0, 1.0, 1.0, 1.0, 0.0))
    0.5
    """
    c = np.asarray(conc, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        return bottom + (top - bottom) / (1.0 + (c / ic50) ** hill_slope)


def _row_label(row: np.ndarray) -> np.ndarray:
    """0-based row numbers -> 'A'..'Z', 'AA'.. (1536-well plates have 32 rows)."""
    row = np.asarray(row, dtype=np.int64)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    first = np.where(row >= 26, letters[np.clip(row // 26 - 1, 0, 25)], "")
    return np.char.add(first.astype(str), letters[row % 26])


def well_name(row: Any, col: Any) -> np.ndarray:
    """Well names such as ``"B07"`` from 0-based row and column numbers.

    >>> well_name([1, 26], [6, 0]).tolist()
    ['B07', 'AA01']
    """
    col = np.asarray(col, dtype=np.int64) + 1
    return np.char.add(_row_label(np.asarray(row)), np.char.zfill(col.astype(str), 2))


@dataclass(frozen=True, eq=False)
class SyntheticScreen(ResultMixin):
    """A synthetic screen and its ground truth.

    Attributes
    ----------
    screen
        The well-level :class:`Screen` (raw ``signal`` only; no truth columns).
    truth
        One row per (sample, drug): ``sample, drug, ic50`` (uM), ``hill_slope, top, bottom,
        is_resistant, parental, fold_shift, doubling_time`` (h), ``duration`` (h),
        ``time_zero_count`` (cells per well at dosing), ``control_count`` (untreated cells at the
        end).
    wells
        Well-level truth aligned with ``screen.data`` rows: ``plate, well, true_viability``
        (noiseless response relative to the vehicle control), ``true_count``, ``edge_factor``,
        ``is_outlier``, ``outlier_factor``.

    Unpacks as ``screen, truth = make_screen(...)``.
    """

    screen: Screen
    truth: pd.DataFrame
    wells: pd.DataFrame

    def __iter__(self) -> Iterator[Any]:
        return iter((self.screen, self.truth))

    def to_frame(self) -> pd.DataFrame:
        """The well table with the well-level truth columns joined (for inspection)."""
        extra = self.wells.drop(columns=["plate", "well"])
        return pd.concat([self.screen.data, extra], axis=1)

    def summary(self) -> str:
        """One line: the screen's summary and the truth's curves and resistant ones."""
        n_res = int(self.truth["is_resistant"].sum()) if "is_resistant" in self.truth else 0
        return (
            f"SyntheticScreen: {self.screen.summary().removeprefix('Screen: ')}; truth for "
            f"{len(self.truth)} curves, {n_res} resistant"
        )


def _layout(
    n_rows: int, n_cols: int, *, time_zero: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control layout of one plate: control (row, col, role) and the treated positions.

    Negative controls sit both on the outer ring (columns 1 and last) and in two central
    columns, so an evaporation edge effect is measurable on vehicle wells alone.
    """
    rows = np.arange(n_rows)
    even = rows % 2 == 0
    mid = n_cols // 2
    ctrl_cols = [0, mid - 1, mid, n_cols - 1]
    roles = [
        np.where(even, "negative", "positive"),
        np.where(even, "negative", "time_zero" if time_zero else "positive"),
        np.where(even, "blank", "negative"),
        np.where(even, "blank", "negative"),
    ]
    c_row = np.concatenate([rows] * 4)
    c_col = np.repeat(ctrl_cols, n_rows)
    c_role = np.concatenate(roles)
    treated_cols = np.setdiff1d(np.arange(n_cols), ctrl_cols)
    t_row, t_col = np.meshgrid(rows, treated_cols, indexing="ij")
    treated = np.column_stack([t_row.ravel(), t_col.ravel()])
    return np.column_stack([c_row, c_col]), c_role, treated


def make_screen(
    *,
    n_samples: int = 4,
    drugs: int | Sequence[str] = 6,
    resistant_fold: float | Sequence[float] = 10.0,
    resistant_slope_factor: float = 1.0,
    resistant_bottom_shift: float = 0.0,
    doses: int = 9,
    dilution: float = 3.0,
    max_conc: float = 10.0,
    replicates: int = 2,
    plate_format: int = 384,
    noise: float = 0.05,
    outlier_rate: float = 0.0,
    edge_effect: float = 0.0,
    time_zero: bool = True,
    duration: float = 72.0,
    rng: int | np.random.Generator | None = None,
) -> SyntheticScreen:
    """Simulate a plate-based screen of parental lines and their resistant derivatives.

    Each of ``n_samples`` parental lines (``P01``...) has one resistant derivative (``P01-R``)
    whose IC50 for every drug is ``fold_shift`` times the parental IC50 (``resistant_fold``,
    one value or one per drug), with its Hill slope multiplied by ``resistant_slope_factor`` and
    its bottom raised by ``resistant_bottom_shift``. One sample is seeded per plate (as in
    GDSC); a sample's drugs fill as many plates as needed.

    The read is a luminescence-like ``signal``::

        signal = background + plate_scale * cells * lognormal(noise) * edge * outlier

    with ``cells = time_zero_count * 2 ** (duration / doubling_time) * _ll4(conc)`` for
    treated wells, the same with ``ll4 = 1`` for vehicle (``negative``) wells, no cells for
    ``positive`` (complete kill) and ``blank`` (media only) wells, and ``time_zero_count``
    for ``time_zero`` wells (``time = 0``; simulated on the plate's scale, as if read from a
    sister plate with the same reader gain). ``background`` has 5 % additive noise. Outer-ring
    wells lose ``edge_effect`` of their cell signal (evaporation). A fraction ``outlier_rate``
    of wells with cells (controls included) is multiplied by a factor in [0.05, 0.3] or
    [1.7, 3] (dispensing or reading faults); they are marked only in ``wells.is_outlier``.
    Treated wells are placed at random within a plate, so dose and position are unrelated.

    Parameters
    ----------
    n_samples
        Number of parental lines; the screen has ``2 * n_samples`` samples.
    drugs
        Number of drugs (named ``D01``...) or their names.
    resistant_fold
        IC50 fold shift of the resistant derivatives, one value or one per drug.
    doses, dilution, max_conc
        Dose series: ``max_conc / dilution ** k`` uM for ``k = 0 .. doses - 1``.
    replicates
        Technical replicate wells per dose (same plate).
    plate_format
        96, 384 or 1536 wells.
    noise
        SD of the multiplicative log-normal noise on the cell signal.
    outlier_rate
        Fraction of wells with cells turned into outliers.
    edge_effect
        Fractional signal loss on outer-ring wells (0 = none).
    time_zero
        Add time-zero wells (for GR metrics).
    duration
        Assay duration in hours.
    rng
        Seed or generator; the result is a deterministic function of it.

    Returns
    -------
    SyntheticScreen
        ``screen``, curve-level ``truth`` and well-level ``wells``; unpacks as
        ``screen, truth``.

    Examples
    --------
    >>> screen, truth = make_screen(n_samples=2, drugs=3, rng=0)
    >>> screen.n_curves, len(truth)
    (12, 12)
    """
    gen = np.random.default_rng(rng)
    if plate_format not in PLATE_FORMATS:
        raise InputError(f"plate_format={plate_format!r}: use one of {sorted(PLATE_FORMATS)}")
    for name, val, lo in (
        ("n_samples", n_samples, 1),
        ("doses", doses, 1),
        ("replicates", replicates, 1),
    ):
        if int(val) != val or val < lo:
            raise InputError(f"{name}={val!r}: must be an integer >= {lo}")
    if not 0.0 <= outlier_rate < 1.0:
        raise InputError(f"outlier_rate={outlier_rate!r}: must be in [0, 1)")
    if not 0.0 <= edge_effect < 1.0:
        raise InputError(f"edge_effect={edge_effect!r}: must be in [0, 1)")
    if dilution <= 1.0 or max_conc <= 0:
        raise InputError(
            "dilution must be > 1 and max_conc > 0 (dose series max_conc / dilution**k)"
        )
    drug_names = (
        [f"D{i + 1:02d}" for i in range(int(drugs))]
        if isinstance(drugs, int | np.integer)
        else [str(d) for d in drugs]
    )
    n_drugs = len(drug_names)
    if n_drugs == 0:
        raise InputError("drugs: need at least one drug")
    fold = np.broadcast_to(np.asarray(resistant_fold, dtype=float), (n_drugs,)).copy()
    if np.any(fold <= 0):
        raise InputError("resistant_fold must be > 0")
    n_rows, n_cols = PLATE_FORMATS[plate_format]
    ctrl_pos, ctrl_role, treated_pos = _layout(n_rows, n_cols, time_zero=time_zero)
    wells_per_curve = doses * replicates
    curves_per_plate = len(treated_pos) // wells_per_curve
    if curves_per_plate < 1:
        raise InputError(
            f"doses * replicates = {wells_per_curve} wells do not fit the {len(treated_pos)} "
            f"treated wells of a {plate_format}-well plate; use a larger plate_format"
        )
    conc_series = max_conc / dilution ** np.arange(doses)

    # ---------------------------------------------------------------- curve-level truth
    n_par = int(n_samples)
    parents = np.array([f"P{i + 1:02d}" for i in range(n_par)])
    samples = np.concatenate([parents, np.char.add(parents, "-R")])
    is_res = np.repeat([False, True], n_par)
    lo, hi = np.log10(conc_series.min()), np.log10(conc_series.max())
    span = hi - lo
    log_ic50_par = gen.uniform(lo + 0.2 * span, hi - 0.3 * span, size=(n_par, n_drugs))
    slope_par = gen.uniform(0.8, 2.5, size=(n_par, n_drugs))
    bottom_par = gen.uniform(0.0, 0.3, size=(n_par, n_drugs))
    doubling_par = gen.uniform(20.0, 60.0, size=n_par)
    seeding_par = gen.uniform(500.0, 2000.0, size=n_par)
    # resistant derivatives: same background biology, shifted potency
    ic50 = np.vstack([10.0**log_ic50_par, 10.0**log_ic50_par * fold])
    slope = np.vstack([slope_par, slope_par * resistant_slope_factor])
    bottom = np.vstack([bottom_par, np.clip(bottom_par + resistant_bottom_shift, 0.0, 1.0)])
    doubling = np.concatenate([doubling_par, doubling_par * gen.uniform(1.0, 1.3, size=n_par)])
    seeding = np.concatenate([seeding_par, seeding_par])
    n_samp = len(samples)
    control_count = seeding * 2.0 ** (duration / doubling)
    truth = pd.DataFrame(
        {
            "sample": np.repeat(samples, n_drugs),
            "drug": np.tile(drug_names, n_samp),
            "ic50": ic50.ravel(),
            "hill_slope": slope.ravel(),
            "top": 1.0,
            "bottom": bottom.ravel(),
            "is_resistant": np.repeat(is_res, n_drugs),
            "parental": np.repeat(np.concatenate([parents, parents]), n_drugs),
            "fold_shift": np.where(np.repeat(is_res, n_drugs), np.tile(fold, n_samp), 1.0),
            "doubling_time": np.repeat(doubling, n_drugs),
            "duration": float(duration),
            "time_zero_count": np.repeat(seeding, n_drugs),
            "control_count": np.repeat(control_count, n_drugs),
        }
    )

    # ---------------------------------------------------------------- plates
    plates_per_sample = -(-n_drugs // curves_per_plate)
    n_plates = n_samp * plates_per_sample
    plate_sample = np.repeat(np.arange(n_samp), plates_per_sample)
    plate_ids = np.array([f"PL{i + 1:05d}" for i in range(n_plates)])
    plate_scale = gen.lognormal(0.0, 0.2, size=n_plates) * 10.0  # luminescence per cell
    background = gen.uniform(300.0, 800.0, size=n_plates)

    # treated wells: curve c = (sample s, drug d) -> plate s*pps + d // cpp, slot d % cpp
    curve = np.arange(n_samp * n_drugs)
    c_s, c_d = np.divmod(curve, n_drugs)
    c_plate = c_s * plates_per_sample + c_d // curves_per_plate
    c_slot = c_d % curves_per_plate
    k = np.arange(wells_per_curve)
    t_curve = np.repeat(curve, wells_per_curve)
    t_k = np.tile(k, len(curve))
    t_plate = c_plate[t_curve]
    t_dose = t_k // replicates
    t_rep = t_k % replicates + 1
    perm = gen.random((n_plates, len(treated_pos))).argsort(axis=1)
    t_pos = treated_pos[perm[t_plate, c_slot[t_curve] * wells_per_curve + t_k]]
    t_conc = conc_series[t_dose]
    t_s = c_s[t_curve]
    t_v = _ll4(t_conc, ic50.ravel()[t_curve], slope.ravel()[t_curve], 1.0, bottom.ravel()[t_curve])

    n_ctrl = len(ctrl_role)
    k_plate = np.repeat(np.arange(n_plates), n_ctrl)
    k_pos = np.tile(ctrl_pos, (n_plates, 1))
    k_role = np.tile(ctrl_role, n_plates)
    k_s = plate_sample[k_plate]
    k_v = np.select(
        [k_role == "negative", k_role == "time_zero"],
        [1.0, 1.0 / 2.0 ** (duration / doubling[k_s])],
        0.0,
    )
    k_rep = pd.Series(k_role).groupby([k_plate, k_role]).cumcount().to_numpy() + 1

    plate = np.concatenate([t_plate, k_plate])
    pos = np.vstack([t_pos, k_pos])
    role = np.concatenate([np.full(len(t_plate), "treated"), k_role])
    s_idx = np.concatenate([t_s, k_s])
    viab = np.concatenate([t_v, k_v])
    conc = np.concatenate([t_conc, np.zeros(len(k_plate))])
    drug = np.concatenate([np.asarray(drug_names)[c_d[t_curve]], np.full(len(k_plate), "")])
    rep = np.concatenate([t_rep, k_rep])
    n = len(plate)

    cells = control_count[s_idx] * viab
    edge = np.where(
        (pos[:, 0] == 0) | (pos[:, 0] == n_rows - 1) | (pos[:, 1] == 0) | (pos[:, 1] == n_cols - 1),
        1.0 - edge_effect,
        1.0,
    )
    has_cells = cells > 0
    is_out = has_cells & (gen.random(n) < outlier_rate)
    low = gen.random(n) < 0.5
    out_factor = np.where(
        is_out, np.where(low, gen.uniform(0.05, 0.3, n), gen.uniform(1.7, 3.0, n)), 1.0
    )
    mult = gen.lognormal(0.0, noise, size=n) if noise > 0 else np.ones(n)
    bg = background[plate] * (1.0 + 0.05 * gen.standard_normal(n))
    signal = bg + plate_scale[plate] * cells * mult * edge * out_factor

    order = np.lexsort((pos[:, 1], pos[:, 0], plate))
    data = pd.DataFrame(
        {
            "sample": samples[s_idx],
            "drug": drug,
            "concentration": conc,
            "role": role,
            "replicate": rep,
            "plate": plate_ids[plate],
            "well": well_name(pos[:, 0], pos[:, 1]),
            "row": pos[:, 0],
            "col": pos[:, 1],
            "time": np.where(role == "time_zero", 0.0, float(duration)),
            "signal": signal,
        }
    ).iloc[order]
    wells = pd.DataFrame(
        {
            "plate": data["plate"].to_numpy(),
            "well": data["well"].to_numpy(),
            "true_viability": viab[order],
            "true_count": cells[order],
            "edge_factor": edge[order],
            "is_outlier": is_out[order],
            "outlier_factor": out_factor[order],
        }
    )
    screen = Screen(data.reset_index(drop=True), source="make_screen")
    return SyntheticScreen(screen=screen, truth=truth, wells=wells)
