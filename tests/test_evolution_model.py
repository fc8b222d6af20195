"""Model/schedule validation and bad input of oncoresist.evolution."""

from __future__ import annotations

import pytest

from oncoresist.errors import InputError
from oncoresist.evolution import (
    CoarseStepWarning,
    Regimen,
    Schedule,
    bozic2013_model,
    example_path,
    load_model,
    load_schedule,
    model_from_dict,
    schedule_from_dict,
    simulate,
)


def _clones(**over):
    c = [{"name": "S", "birth_rate": 0.1, "initial": 100}, {"name": "R", "birth_rate": 0.1}]
    c[0].update(over)
    return c


def test_examples_load():
    m = load_model(example_path("zhang2017_model.yaml"))
    assert m.clone_names == ("T+", "TP", "T-")
    for f in ("continuous", "adaptive", "intermittent", "simultaneous", "sequential", "metronomic"):
        assert load_schedule(example_path(f + ".yaml")).regimens
    seq = load_schedule(example_path("sequential.yaml"))
    assert [(r.drug, r.start, r.stop) for r in seq.regimens] == [
        ("A", 0.0, 180.0),
        ("B", 180.0, float("inf")),
    ]


def test_negative_rate_names_path():
    with pytest.raises(InputError, match=r"clones\[0\].*birth_rate.*non-negative"):
        model_from_dict(
            {
                "clones": _clones(birth_rate=-0.1),
                "transitions": [{"source": "S", "target": "R", "rate": 1e-6}],
            }
        )


def test_unreachable_clone():
    with pytest.raises(InputError, match=r"\['R'\] are unreachable"):
        model_from_dict({"clones": _clones()})


def test_unknown_key_and_drug():
    with pytest.raises(InputError, match=r"unknown key\(s\) \['birthrate'\]"):
        model_from_dict({"clones": [{"name": "S", "birthrate": 0.1}]})
    with pytest.raises(InputError, match="does not define"):
        model_from_dict(
            {
                "clones": [
                    {"name": "S", "birth_rate": 0.1, "initial": 1, "effects": {"X": {"emax": 0.1}}}
                ]
            }
        )


def test_overlapping_doses():
    with pytest.raises(InputError, match="overlap"):
        schedule_from_dict(
            {"regimens": [{"drug": "A", "type": "blocks", "blocks": [[0, 10, 1], [5, 20, 1]]}]}
        )
    with pytest.raises(InputError, match="overlap"):
        Schedule("x", (Regimen("A", start=0, stop=100), Regimen("A", start=50)))
    with pytest.raises(InputError, match="overlap"):
        Regimen("A", kind="boluses", times=(1.0, 1.0))


def test_coarse_step_warns_with_bound():
    m = bozic2013_model(initial=100)
    s = Schedule("none")
    with pytest.warns(CoarseStepWarning, match=r"use dt <= 0\.571"):
        simulate(m, s, method="tau_leap", t_end=10, dt=5, rng=0)


def test_bad_method_and_grid():
    m = bozic2013_model(initial=100)
    with pytest.raises(InputError, match="method"):
        simulate(m, Schedule("none"), method="euler")
    with pytest.raises(InputError, match="multiple of dt"):
        simulate(m, Schedule("none"), t_end=10, dt=3)
    with pytest.raises(InputError, match="does not define"):
        simulate(m, Schedule("x", (Regimen("Z"),)))
