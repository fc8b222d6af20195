"""Fuzz the saved-model loader (``predict apply MODEL_DIR``): a damaged ``card.json`` reads or
raises the project's own error, never a traceback (issue 19).

Evidence kind: robustness check (regression guard), same protocol as the other fuzz suites.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given

from _fuzz import FUZZ_SETTINGS, mutated, reads_or_raises_own_error
from oncoresist.cli import main
from oncoresist.errors import OncoresistError
from oncoresist.predict._persist import load_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    argv = ["predict", "train", "--dataset", "synthetic", "--model", "drug_mean",
            "--no-evaluate", "--n-samples", "40", "--n-drugs", "3", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


def test_valid_model_loads(saved):
    assert load_model(saved).card.model_name == "drug_mean"


def test_damaged_card_reads_or_raises_own_error(saved, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "m"
    shutil.copytree(saved, folder)
    card = (saved / "card.json").read_bytes()

    @FUZZ_SETTINGS
    @given(data=mutated(card))
    def run(data: bytes) -> None:
        reads_or_raises_own_error(lambda p: load_model(p.parent), folder / "card.json", data)

    run()


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace('"features": [', '"features": 5, "x": ['),
        lambda t: t.replace('"lower_is_sensitive": true', '"lower_is_sensitive": "yes"'),
        lambda t: t.replace('"n_pairs": ', '"n_pairs": 1.5, "y": '),
        lambda t: "[1, 2]",
    ],
)
def test_wrong_field_types_are_schema_errors(saved, tmp_path, edit):
    folder = tmp_path / "m"
    shutil.copytree(saved, folder)
    text = (folder / "card.json").read_text(encoding="utf-8")
    (folder / "card.json").write_text(edit(text), encoding="utf-8")
    with pytest.raises(OncoresistError, match="card"):
        load_model(folder)
