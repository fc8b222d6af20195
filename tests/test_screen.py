"""The Screen object: validation at construction and unit handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist import InputError, SchemaError, Screen
from oncoresist.data import to_micromolar


def _frame(**over):
    df = pd.DataFrame(
        {
            "sample": ["A", "A", "A", "A"],
            "drug": ["x", "x", "x", ""],
            "concentration": [0.1, 1.0, 10.0, 0.0],
            "viability": [0.9, 0.5, 0.1, 1.0],
        }
    )
    return df.assign(**over)


def test_from_frame_infers_roles_and_replicates():
    s = Screen.from_frame(_frame())
    assert s.data["role"].tolist() == ["treated", "treated", "treated", "negative"]
    assert s.n_curves == 1
    assert s.drugs == ["x"]
    assert s.is_normalised
    assert (s.data["replicate"] == 1).all()


@pytest.mark.parametrize(
    ("unit", "factor"), [("nM", 1e-3), ("uM", 1.0), ("µM", 1.0), ("mM", 1e3), ("M", 1e6)]
)
def test_units_convert_to_micromolar(unit, factor):
    s = Screen.from_frame(_frame(), conc_unit=unit)
    np.testing.assert_allclose(
        s.data["concentration"].iloc[:3], np.array([0.1, 1.0, 10.0]) * factor
    )


def test_unknown_unit_is_named():
    with pytest.raises(InputError, match=r"unknown concentration unit 'ng/mL'.*molecular weight"):
        Screen.from_frame(_frame(), conc_unit="ng/mL")


def test_missing_columns_are_listed():
    with pytest.raises(SchemaError, match=r"missing required column\(s\) \['concentration'\]"):
        Screen.from_frame(_frame().drop(columns="concentration"), source="plate1.csv")


def test_negative_concentration_names_row():
    with pytest.raises(InputError, match=r"plate1.csv: column 'concentration' row 3: negative"):
        Screen.from_frame(_frame(concentration=[0.1, -1.0, 10.0, 0.0]), source="plate1.csv")


def test_non_numeric_concentration_names_row_and_value():
    df = _frame(concentration=["0.1", "1", "ten", "0"])
    with pytest.raises(InputError, match=r"row 4: non-numeric value 'ten'"):
        Screen.from_frame(df)


def test_duplicate_wells_are_reported():
    df = _frame(plate=["p1"] * 4, well=["A01", "A02", "A02", "A04"])
    with pytest.raises(InputError, match=r"duplicate well 'A02' on plate 'p1' \(rows 3, 4"):
        Screen.from_frame(df)


def test_unknown_role():
    df = _frame(role=["treated", "treated", "treated", "vehicle"])
    with pytest.raises(InputError, match=r"unknown role 'vehicle'.*negative"):
        Screen(df)


def test_treated_needs_positive_concentration():
    df = _frame(role=["treated"] * 4, drug=["x"] * 4)
    with pytest.raises(InputError, match=r"row 5: treated well with concentration 0.0"):
        Screen(df)


def test_needs_signal_or_viability():
    with pytest.raises(SchemaError, match=r"'signal'.*'viability'"):
        Screen.from_frame(_frame().drop(columns="viability"))


def test_subset_keeps_controls_and_is_new_object():
    df = pd.concat([_frame(), _frame(sample=["B"] * 4)], ignore_index=True)
    s = Screen.from_frame(df)
    sub = s.subset(samples=["B"])
    assert sub.samples == ["B"]
    assert (sub.data["role"] == "negative").sum() == 1
    assert len(s) == 8  # original untouched


def test_to_micromolar_doctest_value():
    assert to_micromolar([1000.0], "nM").tolist() == [1.0]
