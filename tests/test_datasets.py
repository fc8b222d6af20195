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


def _fake_retrieve(source_bytes: bytes, seen: list[str]):
    """A stand-in for pooch.retrieve that 'downloads' the given bytes, checking the hash the
    real one would check (no network in tests)."""
    import pathlib

    def retrieve(url, known_hash, fname=None, path=None, progressbar=False):
        algo, want = known_hash.split(":")
        got = hashlib.new(algo, source_bytes).hexdigest()
        if got != want:
            raise ValueError(f"{algo} of the download {got} != {want}")
        seen.append(url)
        out = pathlib.Path(path) / (fname or url.rsplit("/", 1)[-1])
        out.write_bytes(source_bytes)
        return str(out)

    return retrieve


@pytest.mark.skipif(
    not mirror_available("hela_olaparib_tkov1_colic2019"), reason="needs ONCORESIST_DATA_MIRROR"
)
def test_per_file_url_download_and_a_regzipped_file(monkeypatch, tmp_path):
    # The CRISPR data sets name each file's upstream URL; HELA_T0.tsv was gzipped by the mirror,
    # so the upstream (uncompressed) file is checked against its published md5 and stored gzipped.
    import gzip

    import pooch

    mirror = fetch_file("hela_olaparib_tkov1_colic2019", "raw_sample_counts/HELA_T0.tsv.gz")
    raw = gzip.decompress(mirror.read_bytes())
    meta = fetch_file("hela_olaparib_tkov1_colic2019", "HeLa_olaparib_sample_metadata.tsv")
    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path))
    _datasets._verified.cache_clear()
    seen: list[str] = []
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(raw, seen))
    got = fetch_file("hela_olaparib_tkov1_colic2019", "raw_sample_counts/HELA_T0.tsv.gz")
    assert seen == [
        "https://raw.githubusercontent.com/cancerit/RCRISPR/57aa5230/inst/extdata/"
        "HeLa_raw_sample_counts/HELA_T0.tsv"
    ]
    assert gzip.decompress(got.read_bytes()) == raw
    # the cached copy is accepted again without a download
    seen.clear()
    assert fetch_file("hela_olaparib_tkov1_colic2019", "raw_sample_counts/HELA_T0.tsv.gz") == got
    assert seen == []
    # a plain per-file URL is verified with the registry's sha256
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(meta.read_bytes(), seen))
    p = fetch_file("hela_olaparib_tkov1_colic2019", "HeLa_olaparib_sample_metadata.tsv")
    assert p.read_bytes() == meta.read_bytes() and len(seen) == 1
    # corrupt upstream content is refused
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(b"not the file", seen))
    (tmp_path / "hela_olaparib_tkov1_colic2019" / "raw_sample_counts" / "HELA_T0.tsv.gz").unlink()
    with pytest.raises(DataUnavailableError, match="md5"):
        fetch_file("hela_olaparib_tkov1_colic2019", "raw_sample_counts/HELA_T0.tsv.gz")
