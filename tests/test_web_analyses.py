"""The web app beyond curve fits: combination blocks, profiles, schedules, CurveCurator and GDSC
raw uploads, and static figures (PNG/SVG/PDF) from the API and the CLI.

Kinds of check (see the README's "What has been checked"):

* **same as the public API** (regression guard of the web layer): the scores, evidence and
  schedule comparison the app stores equal what :func:`score_combinations`,
  :func:`annotate` and :func:`compare_schedules` return for the same input;
* **external**: the EGFR T790M calls (gefitinib resistant, osimertinib sensitive: Pao et al.
  2005, PLoS Med 2:e73; Mok et al. 2017, NEJM 376:629, AURA3), Zhang et al. 2017 (Nat Commun
  8:1816: adaptive abiraterone uses a fraction of the continuous dose), and a CurveCurator data
  set generated from known log-logistic curves (the fitted IC50s recover the truth);
* **file formats**: PNG, SVG and PDF files start with their format's signature.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from oncoresist.evolution import example_path as evolution_example
from test_web_api import client_for, upload, wait

MECH_EXAMPLE = Path(__file__).parents[1] / "src/oncoresist/mechanisms/examples/nci_h1975_like.yaml"
SIGNATURES = {"png": b"\x89PNG", "svg": b"<svg", "pdf": b"%PDF"}
HAVE_BROWSER = shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None
needs_browser = pytest.mark.skipif(
    not HAVE_BROWSER, reason="static figures need the system chromium (`make browser`)"
)


@pytest.fixture
def app(tmp_path):
    with client_for(tmp_path / "data") as c:
        p = c.post("/api/projects", json={"name": "analyses"}).json()
        yield c, p["id"]


def _blocks_csv(tmp_path: Path) -> Path:
    from oncoresist.synergy import make_combination_screen

    screen = make_combination_screen(n_blocks=4, rng=1)
    path = tmp_path / "blocks.csv"
    screen.data.to_csv(path, index=False)  # concentrations without a unit: the form fixes it
    return path


def _done(c, analysis: dict) -> dict:
    job = wait(c, analysis["job"]["id"], timeout=120)
    assert job["state"] == "done", job
    return c.get(f"/api/analyses/{analysis['id']}").json()


def test_combination_blocks_scored_as_the_api_scores_them(app, tmp_path):
    from oncoresist.data import read_combination_table
    from oncoresist.synergy import score_combinations

    c, pid = app
    path = _blocks_csv(tmp_path)
    ds = upload(c, pid, {"file": ("blocks.csv", path.read_bytes())}, kind="combination")
    # no unit anywhere: reported with the column and row, fixed in the mapping form
    assert ds["status"] == "invalid"
    err = ds["errors"][0]
    assert err["column"] == "conc1" and err["row"] is not None and "conc_unit" in err["message"]
    r = c.put(f"/api/datasets/{ds['id']}/options", json={"conc_unit": "uM"})
    ds = r.json()
    assert ds["status"] == "ok", ds["errors"]
    assert ds["summary"]["blocks"] == 4
    # a combination is not fitted as a single-agent screen, nor annotated
    assert c.post(f"/api/datasets/{ds['id']}/fits", json={}).status_code == 409
    bad = c.post(f"/api/datasets/{ds['id']}/synergy", json={"models": ["nope"]})
    assert bad.status_code == 400 and "bliss" in bad.json()["detail"]
    models = ["hsa", "bliss", "loewe", "zip"]
    a = c.post(f"/api/datasets/{ds['id']}/synergy", json={"models": models})
    assert a.status_code == 202, a.text
    done = _done(c, a.json())
    assert done["kind"] == "synergy" and done["summary"]["blocks"] == 4
    rows = c.get(f"/api/analyses/{done['id']}/results", params={"limit": 1000}).json()
    got = pd.DataFrame(rows["curves"]).sort_values(["block_id", "model"]).reset_index(drop=True)
    ref = score_combinations(read_combination_table(path, conc_unit="uM"), models=models, n_boot=0)
    want = ref.scores.sort_values(["block_id", "model"]).reset_index(drop=True)
    assert len(got) == len(want) == 16
    np.testing.assert_allclose(got["score"].astype(float), want["score"], rtol=1e-12)
    # every format of download, and the block figures the page draws
    for fmt in ("csv", "xlsx", "parquet", "report"):
        assert c.get(f"/api/analyses/{done['id']}/download/{fmt}").status_code == 200
    xl = pd.read_excel(io.BytesIO(c.get(f"/api/analyses/{done['id']}/download/xlsx").content),
                       sheet_name=None)  # fmt: skip
    assert {"results", "blocks", "surfaces", "consensus"} <= set(xl)
    block = str(got["block_id"].iloc[0])
    for kind in ("heatmap", "surface", "single_agents"):
        fig = c.get(f"/api/analyses/{done['id']}/blocks/{block}/figure",
                    params={"model": "loewe", "kind": kind})  # fmt: skip
        assert fig.status_code == 200 and fig.json()["data"], kind
    assert c.get(f"/api/analyses/{done['id']}/blocks/nope/figure").status_code == 404
    page = c.get(f"/analyses/{done['id']}", params={"block": block, "model": "zip"},
                 headers={"accept": "text/html"})  # fmt: skip
    assert page.status_code == 200 and 'id="fig-surface"' in page.text


def test_profile_annotated_with_the_published_calls(app):
    c, pid = app
    ds = upload(c, pid, {"file": ("h1975.yaml", MECH_EXAMPLE.read_bytes())}, kind="profile")
    assert ds["status"] == "ok", ds["errors"]
    assert {"EGFR", "CDKN2A"} <= {r["gene"] for r in ds["preview"]}
    a = c.post(f"/api/datasets/{ds['id']}/annotations",
               json={"drugs": ["gefitinib", "osimertinib"]})  # fmt: skip
    assert a.status_code == 202, a.text
    done = _done(c, a.json())
    calls = {r["drug"].lower(): r["call"] for r in done["summary"]["calls"]}
    # T790M: resistant to first-generation EGFR TKIs (Pao 2005), sensitive to osimertinib (AURA3)
    assert calls == {"gefitinib": "resistant", "osimertinib": "sensitive"}
    figs = c.get(f"/api/analyses/{done['id']}/figures").json()
    assert len(figs) == 2
    assert c.get(f"/api/analyses/{done['id']}/figures/{figs[0]}").json()["data"]
    page = c.get(f"/analyses/{done['id']}", headers={"accept": "text/html"}).text
    assert "T790M" in page and 'id="results"' in page


def test_a_profile_is_not_fitted_and_a_bad_profile_names_its_file(app):
    c, pid = app
    bad = upload(c, pid, {"file": ("p.yaml", b"mutations: [EGFR\n")}, kind="profile")
    assert bad["status"] == "invalid" and bad["errors"][0]["message"].startswith("p.yaml")
    assert (
        "/tmp" not in bad["errors"][0]["message"] and "uploads" not in bad["errors"][0]["message"]
    )
    assert (
        c.post(f"/api/datasets/{bad['id']}/annotations", json={"drugs": ["x"]}).status_code == 409
    )


def test_schedules_compared_on_the_zhang2017_model(app):
    from oncoresist.evolution import compare_schedules, load_model, load_schedule, simulate

    c, pid = app
    model_file = Path(evolution_example("zhang2017_model.yaml"))
    ds = upload(c, pid, {"file": ("zhang.yaml", model_file.read_bytes())}, kind="model")
    assert ds["status"] == "ok", ds["errors"]
    schedules = c.get(f"/api/datasets/{ds['id']}/schedules").json()
    assert {"continuous", "adaptive"} <= set(schedules)
    assert "sequential" not in schedules  # drugs A and B: not in this model
    bad = c.post(f"/api/datasets/{ds['id']}/simulations", json={"schedules": ["sequential"]})
    assert bad.status_code == 400
    body = {"schedules": ["continuous", "adaptive"], "t_end": 1000, "n_runs": 1}
    done = _done(c, c.post(f"/api/datasets/{ds['id']}/simulations", json=body).json())
    comp = pd.DataFrame(done["summary"]["comparison"]).set_index("schedule")
    # Zhang et al. 2017: adaptive therapy gives a fraction of the continuous dose
    assert comp.loc["adaptive", "exposure_ratio"] < 0.5
    m = load_model(model_file)
    ref = compare_schedules(
        [simulate(m, load_schedule(evolution_example(f"{n}.yaml")), t_end=1000, rng=0,
                  crn=True) for n in ("continuous", "adaptive")]
    ).set_index("schedule")  # fmt: skip
    np.testing.assert_allclose(comp["mean_exposure"], ref["mean_exposure"], rtol=1e-12)
    assert "comparison" in c.get(f"/api/analyses/{done['id']}/figures").json()


def _curvecurator_zip(truth: pd.DataFrame) -> bytes:
    """A CurveCurator data set made here: 11 doses, viability from known 4PL curves."""
    doses = [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    toml = (
        "['Meta']\nid = 'made-here'\n\n['Experiment']\n"
        f"experiments = {list(range(len(doses)))}\ndoses = {doses}\n"
        "dose_scale = '1e-6'\ndose_unit = 'M'\ncontrol_experiment = [0]\n\n"
        "['Paths']\ninput_file = './viability.tsv'\n"
    )
    rows = []
    for r in truth.itertuples():
        x = np.asarray(doses[1:])
        y = 0.1 + 0.9 / (1 + (x / r.ic50) ** r.hill)
        rows.append([r.name, 1.0, *np.round(y, 6)])
    table = pd.DataFrame(rows, columns=["Name", *[f"Raw {i}" for i in range(len(doses))]])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("dataset/params.toml", toml)
        zf.writestr("dataset/viability.tsv", table.to_csv(sep="\t", index=False))
    return buf.getvalue()


def test_curvecurator_zip_upload_fits_the_known_curves(app):
    c, pid = app
    truth = pd.DataFrame({"name": ["LINE1_drugA", "LINE2_drugA", "LINE3_drugB"],
                          "ic50": [0.05, 0.5, 2.0], "hill": [1.0, 1.5, 0.8]})  # fmt: skip
    ds = upload(c, pid, {"file": ("cc.zip", _curvecurator_zip(truth))})
    assert ds["status"] == "ok", ds["errors"]
    a = c.post(f"/api/datasets/{ds['id']}/fits", json={"model": "ll4"}).json()
    done = _done(c, a)
    fits = pd.DataFrame(
        c.get(f"/api/analyses/{done['id']}/curves", params={"limit": 100}).json()["curves"]
    )
    assert len(fits) == 3
    # noise-free 4PL data: the fitted relative midpoint is the generating one
    rel = c.get(f"/api/analyses/{done['id']}/download/parquet").content
    full = pd.read_parquet(io.BytesIO(rel))
    got = np.sort(full["ic50_rel"].to_numpy(float)) if "ic50_rel" in full else None
    assert got is not None
    np.testing.assert_allclose(got, np.sort(truth["ic50"].to_numpy()), rtol=1e-3)


@pytest.mark.realdata
def test_gdsc_raw_file_upload_is_detected(app, tmp_path):
    import os

    from oncoresist.data._datasets import mirror_available

    if not mirror_available("gdsc_raw_plates"):
        pytest.skip("needs ONCORESIST_DATA_MIRROR with gdsc_raw_plates")
    raw = Path(os.environ["ONCORESIST_DATA_MIRROR"]) / "gdsc_raw_plates/gdsc_raw_wells_part.csv.gz"
    c, pid = app
    ds = upload(c, pid, {"file": ("gdsc_raw.csv.gz", raw.read_bytes())})
    assert ds["status"] == "ok", ds["errors"]
    assert ds["summary"]["plates"] > 1 and ds["summary"]["drugs"] > 1


@needs_browser
def test_figures_download_as_png_svg_pdf(app):
    from oncoresist.data import example_path
    from test_web_api import plate_files

    c, pid = app
    ds = upload(c, pid, plate_files(example_path("prism_plate_map.csv")))
    a = c.post(f"/api/datasets/{ds['id']}/fits", json={"model": "ll4"}).json()
    done = _done(c, a)
    for fmt, magic in SIGNATURES.items():
        r = c.get(f"/api/analyses/{done['id']}/curves/0/figure", params={"format": fmt})
        assert r.status_code == 200, r.text
        assert r.content.lstrip()[: len(magic)] == magic or magic in r.content[:400], fmt
        assert r.headers["content-disposition"].endswith(f'.{fmt}"')
    shift = c.get(f"/api/analyses/{done['id']}/shift/figure",
                  params={"parental": "Parental", "resistant": "Resistant", "drug": "DrugA"})  # fmt: skip
    assert shift.status_code == 200 and len(shift.json()["data"]) >= 4  # points + fits of both
    plate = c.get(f"/api/datasets/{ds['id']}/qc").json()[0]["plate"]
    r = c.get(f"/api/datasets/{ds['id']}/plates/{plate}/figure", params={"format": "png"})
    assert r.content[:4] == SIGNATURES["png"]
    assert c.get(f"/api/analyses/{done['id']}/curves/0/figure",
                 params={"format": "gif"}).status_code == 422  # fmt: skip


@needs_browser
def test_cli_figures_option_writes_every_report_figure(tmp_path):
    from oncoresist.cli import main
    from oncoresist.data import example_path

    out = tmp_path / "fit"
    code = main(["--figures", "png,svg", "fit", str(example_path("prism_parental_resistant_384.txt")),
                 "--plate-map", str(example_path("prism_plate_map.csv")), "-o", str(out)])  # fmt: skip
    assert code == 0
    files = sorted((out / "figures").iterdir())
    assert files and {f.suffix for f in files} == {".png", ".svg"}
    for f in files:
        magic = SIGNATURES[f.suffix[1:]]
        assert magic in f.read_bytes()[:400], f.name
    # every figure file is in the run's manifest (a complete, verifiable run)
    assert main(["verify", str(out)]) == 0
    # the option applies to that call only
    assert main(["fit", str(example_path("prism_parental_resistant_384.txt")), "--plate-map",
                 str(example_path("prism_plate_map.csv")), "-o", str(tmp_path / "b")]) == 0  # fmt: skip
    assert not (tmp_path / "b" / "figures").exists()


def test_cli_figures_option_refuses_an_unknown_format(tmp_path, capsys):
    from oncoresist.cli import main

    assert main(["--figures", "gif", "demo", "-o", str(tmp_path / "x")]) == 2
    assert "png, svg, pdf" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_every_get_endpoint_on_every_kind_answers_without_a_server_error(app, tmp_path):
    """Regression guard: the schema test seeds a plate export; here every GET operation meets a
    dataset and a done analysis of each kind (a wrong kind is a 4xx with a reason, never 500)."""
    import re

    c, pid = app
    blocks = upload(c, pid, {"file": ("b.csv", _blocks_csv(tmp_path).read_bytes())},
                    kind="combination", conc_unit="uM")  # fmt: skip
    profile = upload(c, pid, {"file": ("p.yaml", MECH_EXAMPLE.read_bytes())}, kind="profile")
    model_file = Path(evolution_example("zhang2017_model.yaml"))
    model = upload(c, pid, {"file": ("m.yaml", model_file.read_bytes())}, kind="model")
    runs = [
        (blocks, f"/api/datasets/{blocks['id']}/synergy", {"models": ["bliss"]}),
        (profile, f"/api/datasets/{profile['id']}/annotations", {"drugs": ["gefitinib"]}),
        (model, f"/api/datasets/{model['id']}/simulations",
         {"schedules": ["continuous"], "t_end": 100}),
    ]  # fmt: skip
    pairs = []
    for ds, url, body in runs:
        assert ds["status"] == "ok", ds["errors"]
        r = c.post(url, json=body)
        assert r.status_code == 202, r.text
        pairs.append((ds, _done(c, r.json())))
    paths = [p for p, ops in c.get("/openapi.json").json()["paths"].items() if "get" in ops]
    for ds, analysis in pairs:
        values = {"project_id": pid, "dataset_id": ds["id"], "analysis_id": analysis["id"],
                  "job_id": analysis["job"]["id"], "curve": "0", "plate": "P1", "block": "0",
                  "name": "comparison", "fmt": "csv"}  # fmt: skip
        for path in paths:
            url = re.sub(r"\{(\w+)\}", lambda m, v=values: v[m.group(1)], path)
            params = {"parental": "a", "resistant": "b"} if url.endswith("/shift") else {}
            r = c.get(url, params=params)
            assert r.status_code < 500, (ds["kind"], url, r.status_code, r.text[:300])
        page = c.get(f"/datasets/{ds['id']}", headers={"accept": "text/html"})
        assert page.status_code == 200, page.text[:300]
        r = c.post(f"/api/datasets/{ds['id']}/exclusions", json={"row": 0, "reason": "x"})
        assert r.status_code == 409  # exclusions belong to the wells of curve fits


def test_jobs_run_on_a_dask_executor_with_the_serial_results(tmp_path):
    """The job runner uses the analyses' pluggable executor: a fit on a Dask cluster gives the
    same table as the serial executor (the same kernel on the same chunks)."""
    distributed = pytest.importorskip("distributed")
    from oncoresist.data import example_path
    from oncoresist.scale import DaskExecutor
    from test_web_api import plate_files

    tables = []
    with (
        distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        for name, executor in (("serial", "serial"), ("dask", DaskExecutor(dask_client))):
            with client_for(tmp_path / name, executor=executor) as c:
                pid = c.post("/api/projects", json={"name": name}).json()["id"]
                ds = upload(c, pid, plate_files(example_path("prism_plate_map.csv")))
                done = _done(c, c.post(f"/api/datasets/{ds['id']}/fits", json={}).json())
                raw = c.get(f"/api/analyses/{done['id']}/download/parquet").content
                tables.append(pd.read_parquet(io.BytesIO(raw)))
        assert cluster.scheduler.task_prefixes  # the fit's chunks went through the cluster
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_an_uploaded_schedule_runs_on_the_projects_model(app):
    c, pid = app
    model_file = Path(evolution_example("zhang2017_model.yaml"))
    model = upload(c, pid, {"file": ("zhang.yaml", model_file.read_bytes())}, kind="model")
    mine = (
        "name: two_weeks_on_two_off\n"
        "regimens:\n  - {drug: abiraterone, type: intermittent, level: 1.0, on: 14, off: 14}\n"
    )
    other = "name: other_drug\nregimens:\n  - {drug: docetaxel, type: continuous}\n"
    sch = upload(c, pid, {"file": ("mine.yaml", mine.encode())}, kind="schedule")
    assert sch["status"] == "ok", sch["errors"]
    assert sch["summary"]["schedule"] == "two_weeks_on_two_off"
    upload(c, pid, {"file": ("other.yaml", other.encode())}, kind="schedule")
    bad = upload(c, pid, {"file": ("bad.yaml", b"name: x\nregimens: 3\n")}, kind="schedule")
    assert bad["status"] == "invalid" and bad["errors"][0]["message"].startswith("bad.yaml")
    choices = c.get(f"/api/datasets/{model['id']}/schedules").json()
    key = f"upload-{sch['id']}"
    assert key in choices and "two_weeks_on_two_off" in choices[key]
    assert not any("other_drug" in label for label in choices.values())  # not in this model
    body = {"schedules": ["continuous", key], "t_end": 600}
    done = _done(c, c.post(f"/api/datasets/{model['id']}/simulations", json=body).json())
    comp = pd.DataFrame(done["summary"]["comparison"]).set_index("schedule")
    assert list(comp.index) == ["continuous", "two_weeks_on_two_off"]
    # on 14 / off 14 from day 0: half the continuous exposure, to rounding of the last cycle
    assert comp.loc["two_weeks_on_two_off", "exposure_ratio"] == pytest.approx(0.5, abs=0.03)
