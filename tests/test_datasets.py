"""The dataset layer: registry, mirror, cache and checksum verification."""

from __future__ import annotations

import hashlib

import pytest

from oncoresist import DataUnavailableError, InputError
from oncoresist.data import (
    _datasets,
    available_datasets,
    dataset_files,
    fetch_file,
    mirror_available,
)


def test_registry_lists_the_public_data_sets():
    names = available_datasets()
    for expected in ("gdsc_v17_gdsctools", "gdsc_raw_plates", "drc_ryegrass", "civic"):
        assert expected in names
    assert "IC50_v17.csv.gz" in dataset_files("gdsc_v17_gdsctools")


def test_unknown_dataset_suggests_close_match():
    with pytest.raises(InputError, match="Did you mean drc_ryegrass"):
        fetch_file("drc_ryegras", "ryegrass.csv")


def test_unknown_file_lists_files():
    with pytest.raises(InputError, match=r"ryegrass\.csv"):
        fetch_file("drc_ryegrass", "nope.csv")


def test_no_mirror_no_download_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="ONCORESIST_DATA_MIRROR"):
        fetch_file("drc_ryegrass", "ryegrass.csv", download=False)


def test_cache_is_used_and_checksum_enforced(monkeypatch, tmp_path):
    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path))
    _datasets._verified.cache_clear()
    target = tmp_path / "drc_ryegrass" / "ryegrass.csv"
    target.parent.mkdir(parents=True)
    target.write_text("corrupt\n")
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        fetch_file("drc_ryegrass", "ryegrass.csv", download=False)


@pytest.mark.skipif(not mirror_available("drc_ryegrass"), reason="needs ONCORESIST_DATA_MIRROR")
def test_mirror_file_is_verified_against_registry():
    path = fetch_file("drc_ryegrass", "ryegrass.csv")
    expected = _datasets._registry()["drc_ryegrass"]["files"]["ryegrass.csv"]["sha256"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected


def test_package_source_is_pip_download_with_checksum():
    # GDSC v17 is shipped inside the gdsctools sdist: fetched with pip, never a registry URL.
    src = _datasets._registry()["gdsc_v17_gdsctools"]["source"]
    assert src["package"] == "gdsctools==1.0.1"
    assert len(src["package_sha256"]) == 64
