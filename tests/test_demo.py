"""`oncoresist demo` end to end, and the data paths a fresh machine without the mirror uses."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from oncoresist._demo import run_demo
from oncoresist.data import _datasets, fetch_file, mirror_available


@pytest.mark.slow
@pytest.mark.skipif(not mirror_available(), reason="needs ONCORESIST_DATA_MIRROR (real-data parts)")
def test_demo_writes_one_self_contained_report(tmp_path):
    report = run_demo(tmp_path / "demo", rng=0, progress=False)
    text = report.read_text()
    titles = re.findall(r"<h2>(.*?)</h2>", text)
    for expected in (
        "Dose-response: synthetic parental vs resistant screen",
        "Dose-response: real GDSC raw plates",
        "Biomarkers: top resistance and sensitivity biomarkers, GDSC release 17",
        "Tumour evolution under therapy",
    ):
        assert expected in titles
    assert not any("Skipped" in t for t in titles)
    assert "<script src=" not in text  # viewable offline
    assert (tmp_path / "demo" / "curves" / "synthetic_fits.parquet").exists()


def _pip_reaches_registry() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "gdsctools"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0 and "1.0.1" in proc.stdout


@pytest.mark.slow
def test_gdsc_v17_is_fetched_from_the_gdsctools_sdist_without_mirror(tmp_path, monkeypatch):
    # The path a fresh machine takes: no mirror, empty cache, only the package registry.
    if not _pip_reaches_registry():
        pytest.skip("the package registry is not reachable from here")
    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path))
    _datasets._verified.cache_clear()
    path = fetch_file("gdsc_v17_gdsctools", "DRUG_DECODE.csv")
    assert path.is_relative_to(tmp_path)  # extracted into the cache, checksum verified
    assert path.read_text().startswith("DRUG_ID,DRUG_NAME,DRUG_TARGET")


@pytest.mark.skipif(not mirror_available("gdsc_v17_gdsctools"), reason="needs the data mirror")
def test_gdsc_v17_falls_back_to_drug_decode_when_annotations_are_missing(monkeypatch):
    from oncoresist.data import _panels
    from oncoresist.errors import DataUnavailableError

    def unavailable():
        raise DataUnavailableError("no annotations here")

    monkeypatch.setattr(_panels, "load_gdsc_compounds", unavailable)
    with pytest.warns(UserWarning, match="DRUG_DECODE"):
        panel = _panels.fetch_gdsc_v17()
    # DRUG_DECODE.csv of gdsctools 1.0.1 names 11 drugs, e.g. 1047 Nutlin-3a (target MDM2)
    assert panel.drug_annotations.loc[1047, "drug_name"] == "Nutlin-3a"
