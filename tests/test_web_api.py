"""The web app's HTTP API end to end (FastAPI TestClient): upload, fix, fit, browse, exclude,
download; and the refusals: too large, zip bombs, paths in file names, other hosts, CSRF."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient

from oncoresist.data import example_path
from oncoresist.web import Settings, create_app

LOCAL = {"base_url": "http://127.0.0.1", "client": ("127.0.0.1", 50000)}


def client_for(data_dir: Path, **settings) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, **settings)), **LOCAL)


def csrf(c: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": c.get("/api/csrf").json()["csrf_token"]}


def broken_map(tmp_path: Path) -> Path:
    """The example plate map with the sample column renamed and the unit column dropped."""
    m = pd.read_csv(example_path("prism_plate_map.csv"))
    m = m.rename(columns={"sample": "cell_line"}).drop(columns=["conc_unit"])
    path = tmp_path / "map.csv"
    m.to_csv(path, index=False)
    return path


def upload(c: TestClient, project: str, files: dict, **data) -> dict:
    r = c.post(f"/api/projects/{project}/datasets", files=files, data=data, headers=csrf(c))
    assert r.status_code == 201, r.text
    return r.json()


def plate_files(map_path: Path) -> dict:
    return {
        "file": ("prism.txt", example_path("prism_parental_resistant_384.txt").read_bytes()),
        "plate_map": ("map.csv", map_path.read_bytes()),
    }


def wait(c: TestClient, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def fit(c: TestClient, dataset: str) -> dict:
    r = c.post(f"/api/datasets/{dataset}/fits", json={"model": "ll4"})
    assert r.status_code == 202, r.text
    analysis = r.json()
    job = wait(c, analysis["job"]["id"])
    assert job["state"] == "done", job
    assert job["progress"] == 1.0
    return c.get(f"/api/analyses/{analysis['id']}").json()


@pytest.fixture
def project(tmp_path):
    with client_for(tmp_path / "data") as c:
        p = c.post("/api/projects", json={"name": "resistance"}).json()
        yield c, p["id"]


def test_plate_export_flow_end_to_end(project, tmp_path):
    c, pid = project
    ds = upload(c, pid, plate_files(broken_map(tmp_path)))
    # the reader's error names the file (the user's name, never the stored path) and column
    assert ds["status"] == "invalid" and ds["kind"] == "plate_export"
    (err,) = ds["errors"]
    assert err["file"] == "map.csv" and err["column"] == "sample", err
    assert "cell_line" in err["message"] and "uploads" not in err["message"]
    assert "cell_line" in ds["columns"]
    # map the column: the next error is the missing unit, with its line
    r = c.put(f"/api/datasets/{ds['id']}/options", json={"columns": {"sample": "cell_line"}})
    ds = r.json()
    assert ds["status"] == "invalid"
    (err,) = ds["errors"]
    assert "no unit" in err["message"] and err["row"] == 28, err
    r = c.put(
        f"/api/datasets/{ds['id']}/options",
        json={"columns": {"sample": "cell_line"}, "conc_unit": "nM"},
    )
    ds = r.json()
    assert ds["status"] == "ok", ds["errors"]
    assert ds["summary"]["curves"] == 6 and ds["summary"]["plates"] == 2
    assert len(ds["preview"]) == 20 and {"plate", "well", "signal"} <= set(ds["preview"][0])

    analysis = fit(c, ds["id"])
    assert analysis["status"] == "done" and analysis["summary"]["curves"] == 6
    aid = analysis["id"]
    curves = c.get(f"/api/analyses/{aid}/curves").json()
    assert curves["total"] == 6 and curves["matched"] == 6
    only = c.get(f"/api/analyses/{aid}/curves", params={"sample": "Resistant", "drug": "DrugA"})
    (row,) = only.json()["curves"]
    assert row["sample"] == "Resistant" and row["status"] == "ok"
    assert c.get(f"/api/analyses/{aid}/curves", params={"q": "druga"}).json()["matched"] == 2
    assert c.get(f"/api/analyses/{aid}/curves", params={"status": "failed"}).json()["matched"] == 0
    fig = c.get(f"/api/analyses/{aid}/curves/{row['curve']}/figure").json()
    modes = {t.get("mode") for t in fig["data"]}
    assert "markers" in modes and "lines" in modes  # points and the fit (and the CI band)

    # resistance index with its CI (README: DrugA 19.1, 95% CI 16.3-22.4)
    shift = c.get(
        f"/api/analyses/{aid}/shift", params={"parental": "Parental", "resistant": "Resistant"}
    ).json()
    by_drug = {r["drug"]: r for r in shift["rows"]}
    assert by_drug["DrugA"]["resistance_index"] == pytest.approx(19.1, abs=0.1)
    assert by_drug["DrugA"]["ri_ci_low"] < 19.1 < by_drug["DrugA"]["ri_ci_high"]
    bad = c.get(f"/api/analyses/{aid}/shift", params={"parental": "X", "resistant": "Resistant"})
    assert bad.status_code == 400 and "X" in bad.json()["detail"]
    page = c.get(f"/analyses/{aid}", params={"parental": "Parental", "resistant": "Resistant"})
    assert 'id="shift"' in page.text and "DrugA" in page.text

    # exclude one treated well of that curve, with a reason; audited
    wells = c.get(
        f"/api/datasets/{ds['id']}/wells", params={"sample": "Resistant", "drug": "DrugA"}
    ).json()
    assert len(wells) == 30 and not any(w["excluded"] for w in wells)
    target = wells[0]
    r = c.post(
        f"/api/datasets/{ds['id']}/exclusions",
        json={"row": target["row"], "reason": "bubble in the well", "user": "ana"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["well"] == target["label"] and r.json()["user"] == "ana"
    again = c.post(
        f"/api/datasets/{ds['id']}/exclusions", json={"row": target["row"], "reason": "twice"}
    )
    assert again.status_code == 409
    refit = fit(c, ds["id"])
    assert refit["summary"]["excluded_wells"] == 1
    rid = refit["id"]
    new_row = c.get(
        f"/api/analyses/{rid}/curves", params={"sample": "Resistant", "drug": "DrugA"}
    ).json()["curves"][0]
    assert new_row["n_points"] == row["n_points"] - 1
    report = c.get(f"/api/analyses/{rid}/download/report")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    text = report.text
    assert target["label"] in text and "bubble in the well" in text and "ana" in text

    csv = pd.read_csv(io.BytesIO(c.get(f"/api/analyses/{rid}/download/csv").content))
    assert len(csv) == 6 and "ic50_abs" in csv
    xlsx = pd.read_excel(io.BytesIO(c.get(f"/api/analyses/{rid}/download/xlsx").content))
    assert len(xlsx) == 6
    parquet = pd.read_parquet(io.BytesIO(c.get(f"/api/analyses/{rid}/download/parquet").content))
    assert parquet["ic50_abs"].tolist() == pytest.approx(csv["ic50_abs"].tolist())
    assert c.get(f"/api/analyses/{rid}/download/pdf").status_code == 404

    r = c.post(
        f"/api/datasets/{ds['id']}/exclusions",
        json={"row": target["row"], "action": "restore", "reason": "re-read: fine"},
    )
    assert r.status_code == 201
    events = c.get(f"/api/datasets/{ds['id']}/exclusions").json()
    assert [e["action"] for e in events] == ["exclude", "restore"]
    assert all(e["created_at"] for e in events)


def test_tidy_table_errors_name_row_and_column(project):
    c, pid = project
    text = "sample,drug,concentration,conc_unit,viability\nA,x,0.1,uM,0.9\nA,x,abc,uM,0.5\n"
    ds = upload(c, pid, {"file": ("screen.csv", text.encode())})
    (err,) = ds["errors"]
    assert err == {**err, "row": 3, "column": "concentration", "file": "screen.csv"}
    assert ds["raw_preview"][2] == "A,x,abc,uM,0.5"
    fixed = upload(c, pid, {"file": ("screen.csv", text.replace("abc", "1").encode())})
    assert fixed["status"] == "ok" and fixed["summary"]["curves"] == 1
    assert c.post(f"/api/datasets/{ds['id']}/fits", json={}).status_code == 409
    plate_only = c.put(f"/api/datasets/{fixed['id']}/options", json={"read": "Lum"}).json()
    assert "plate-reader exports only" in plate_only["errors"][0]["message"]


def test_mapping_through_the_upload_form_fields(project):
    c, pid = project
    text = "cell,drug,dose,viability\n" + "".join(
        f"A,x,{d},{v}\n" for d, v in [(0.01, 1.0), (0.1, 0.9), (1, 0.5), (10, 0.1), (100, 0.05)]
    )
    ds = upload(
        c, pid, {"file": ("s.tsv.csv", text.encode())}, columns="sample=cell,concentration=dose",
        conc_unit="uM",
    )  # fmt: skip
    assert ds["status"] == "ok", ds["errors"]
    assert ds["options"]["columns"] == {"sample": "cell", "concentration": "dose"}


def test_upload_over_the_limit_is_413(tmp_path):
    with client_for(tmp_path, max_upload_bytes=20_000) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        big = b"sample,drug,concentration,viability\n" + b"A,x,1,0.5\n" * 10_000
        r = c.post(
            f"/api/projects/{pid}/datasets", files={"file": ("big.csv", big)}, headers=csrf(c)
        )
        assert r.status_code == 413
        assert "limit" in r.json()["detail"]
        assert not any((tmp_path / "uploads").iterdir())


def test_upload_streamed_without_length_is_413(tmp_path):
    with client_for(tmp_path, max_upload_bytes=20_000) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        body = b"x" * 200_000

        def chunks():
            for i in range(0, len(body), 10_000):
                yield body[i : i + 10_000]

        r = c.post(
            f"/api/projects/{pid}/datasets",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=zzz", **csrf(c)},
        )
        assert r.status_code == 413


def _bomb(name: str, size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, b"0" * size)
    return buf.getvalue()


@pytest.mark.parametrize("suffix", [".zip", ".xlsx"])
def test_zip_bomb_is_refused(tmp_path, suffix):
    with client_for(tmp_path, max_expanded_bytes=1_000_000) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        bomb = _bomb("screen.csv", 20_000_000)
        assert len(bomb) < 50_000
        r = c.post(
            f"/api/projects/{pid}/datasets",
            files={"file": (f"bomb{suffix}", bomb)},
            headers=csrf(c),
        )
        assert r.status_code == 413, r.text
        assert "zip bomb" in r.json()["detail"]
        assert not any((tmp_path / "uploads").iterdir())


def test_gzip_bomb_is_refused(tmp_path):
    import gzip

    with client_for(tmp_path, max_expanded_bytes=1_000_000) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        r = c.post(
            f"/api/projects/{pid}/datasets",
            files={"file": ("s.csv.gz", gzip.compress(b"0" * 5_000_000))},
            headers=csrf(c),
        )
        assert r.status_code == 413 and "bomb" in r.json()["detail"]


def test_binary_posing_as_text_and_unknown_types_are_refused(project):
    c, pid = project
    for name, body in [("s.csv", b"\x00\x01\x02binary"), ("s.exe", b"MZ"), ("s.parquet", b"no")]:
        r = c.post(f"/api/projects/{pid}/datasets", files={"file": (name, body)}, headers=csrf(c))
        assert r.status_code == 415, (name, r.text)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.csv", "..\\..\\windows\\x.csv", "/etc/passwd.csv", "a\x00b.csv"]
)
def test_path_in_a_file_name_is_only_a_label(tmp_path, name):
    data = tmp_path / "data"
    with client_for(data) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        body = b"sample,drug,concentration,conc_unit,viability\nA,x,1,uM,0.5\n"
        ds = upload(c, pid, {"file": (name, body)})
        assert "/" not in ds["name"] and "\\" not in ds["name"] and ".." not in ds["name"]
        stored = list((data / "uploads").iterdir())
        assert len(stored) == 1 and stored[0].name[:32].isalnum()
        assert stored[0].read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_refused_plate_map_keeps_no_half_of_the_pair(tmp_path):
    with client_for(tmp_path) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        files = {
            "file": ("prism.txt", example_path("prism_parental_resistant_384.txt").read_bytes()),
            "plate_map": ("map.exe", b"MZ"),
        }
        r = c.post(f"/api/projects/{pid}/datasets", files=files, headers=csrf(c))
        assert r.status_code == 415
        assert not any((tmp_path / "uploads").iterdir())


def test_a_path_without_an_accepted_suffix_is_refused(project):
    c, pid = project
    r = c.post(
        f"/api/projects/{pid}/datasets",
        files={"file": ("../../etc/passwd", b"root:x:0:0")},
        headers=csrf(c),
    )
    assert r.status_code == 415 and "unsupported file type" in r.json()["detail"]


def test_ids_are_never_paths(project):
    c, _ = project
    for url in ["/api/datasets/..%2F..%2Fetc", "/api/analyses/../../etc/download/csv",
                "/static/..%2F_app.py", "/static/app.py"]:  # fmt: skip
        assert c.get(url).status_code == 404, url


def test_other_hosts_need_a_token(tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    remote = TestClient(app, base_url="http://127.0.0.1", client=("203.0.113.7", 4000))
    r = remote.get("/api/health")
    assert r.status_code == 403 and "127.0.0.1" in r.json()["detail"]
    # a loopback client under a foreign Host (DNS rebinding) is refused too
    rebound = TestClient(app, base_url="http://attacker.example", client=("127.0.0.1", 4000))
    assert rebound.get("/api/health").status_code == 403
    assert TestClient(app, **LOCAL).get("/api/health").status_code == 200


def test_with_a_token_every_request_carries_it(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, token="s3cret-token"))
    remote = TestClient(app, base_url="http://lab-server:8000", client=("203.0.113.7", 4000))
    assert remote.get("/api/health").status_code == 403
    assert remote.get("/api/health", headers={"Authorization": "Bearer nope"}).status_code == 403
    ok = remote.get("/api/health", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    # ?token= once in the browser sets the cookie
    page = remote.get("/?token=s3cret-token")
    assert page.status_code == 200 and "orx_token" in page.headers.get("set-cookie", "")
    assert remote.get("/api/projects").status_code == 200
    local = TestClient(app, **LOCAL)
    assert local.get("/api/health").status_code == 403


def test_csrf_on_form_posts(project):
    c, _ = project
    c.cookies.clear()
    assert c.post("/projects", data={"name": "x"}).status_code == 403  # no cookie, no token
    token = csrf(c)["X-CSRF-Token"]
    assert c.post("/projects", data={"name": "x", "csrf_token": "wrong"}).status_code == 403
    r = c.post("/projects", data={"name": "x", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/projects/")
    # a cross-site origin is refused whatever it carries
    r = c.post(
        "/projects",
        data={"name": "x", "csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    # a form post to a JSON endpoint is no way around it
    r = c.post("/api/projects", content=b'{"name": "x"}', headers={"content-type": "text/plain"})
    assert r.status_code in (403, 415, 422)
    pid = r = c.post("/api/projects", json={"name": "p"}).json()["id"]
    body = b"sample,drug,concentration,conc_unit,viability\nA,x,1,uM,0.5\n"
    r = c.post(f"/api/projects/{pid}/datasets", files={"file": ("s.csv", body)})
    assert r.status_code == 403  # multipart without the token


def test_security_headers_and_no_cdn(project):
    c, _ = project
    r = c.get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "http" not in r.text.replace("http://127.0.0.1", "").split("<main>")[0]
    assert c.get("/docs").status_code == 404  # the Swagger page would load from a CDN
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    schema = c.get("/openapi.json").json()
    assert "/api/projects/{project_id}/datasets" in schema["paths"]


def test_job_cancellation(tmp_path):
    import threading

    from oncoresist.web._db import Analysis, Dataset, Job, Project, new_id

    app = create_app(Settings(data_dir=tmp_path, workers=1))
    ctx = app.state.ctx
    started = threading.Event()
    ids = []
    with ctx.sessions.begin() as db:
        p = Project(id=new_id(), name="p")
        d = Dataset(id=new_id(), project_id=p.id, name="d", kind="screen", file_id="x",
                    options={}, status="ok", errors=[], notes=[], summary={})  # fmt: skip
        db.add_all([p, d])
        for _ in range(2):
            a = Analysis(id=new_id(), dataset_id=d.id, params={}, status="queued", summary={})
            j = Job(id=new_id(), analysis_id=a.id, state="queued", progress=0.0, message="")
            db.add_all([a, j])
            ids.append(j.id)

    def slow(progress, cancelled):
        started.set()
        for i in range(400):
            if cancelled():
                from oncoresist.web._service import Cancelled

                raise Cancelled
            progress(i / 400, "working")
            time.sleep(0.01)
        return {}

    ctx.jobs.submit(ids[0], slow)
    ctx.jobs.submit(ids[1], slow)  # queued behind the first (one worker)
    assert started.wait(10)
    with TestClient(app, **LOCAL) as c:
        running = c.get(f"/api/jobs/{ids[0]}").json()
        assert running["state"] == "running"
        c.post(f"/api/jobs/{ids[1]}/cancel")
        c.post(f"/api/jobs/{ids[0]}/cancel")
        ctx.jobs.wait(ids[0], timeout=10)
        first, second = (c.get(f"/api/jobs/{i}").json() for i in ids)
        assert first["state"] == "cancelled" and first["error"] == "cancelled by a user"
        assert second["state"] == "cancelled"
        assert c.get(f"/api/analyses/{first['analysis_id']}").json()["status"] == "cancelled"


def test_pages_render(project, tmp_path):
    c, pid = project
    ds = upload(c, pid, plate_files(broken_map(tmp_path)))
    page = c.get(f"/datasets/{ds['id']}")
    assert page.status_code == 200 and "cell_line" in page.text and 'id="errors"' in page.text
    c.put(
        f"/api/datasets/{ds['id']}/options",
        json={"columns": {"sample": "cell_line"}, "conc_unit": "nM"},
    )
    qc = c.get(f"/api/datasets/{ds['id']}/qc").json()
    assert [r["plate"] for r in qc] == ["PAR384A", "RES384A"]
    assert all(r["z_prime"] > 0.5 and r["pass"] for r in qc)
    heat = c.get(f"/api/datasets/{ds['id']}/plates/PAR384A/figure").json()
    assert heat["data"][0]["type"] == "heatmap"
    assert c.get(f"/api/datasets/{ds['id']}/plates/nope/figure").status_code == 404
    assert 'id="qc"' in c.get(f"/datasets/{ds['id']}").text
    analysis = fit(c, ds["id"])
    for url in ["/", f"/projects/{pid}", f"/datasets/{ds['id']}", f"/analyses/{analysis['id']}",
                f"/analyses/{analysis['id']}?sample=Parental&status=ok",
                f"/analyses/{analysis['id']}/curves/0"]:  # fmt: skip
        assert c.get(url).status_code == 200, url
    missing = c.get("/projects/nope", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "no project" in missing.text


def test_exclusion_form_redirects_only_to_local_paths(project):
    c, pid = project
    body = b"sample,drug,concentration,conc_unit,viability\nA,x,1,uM,0.5\nA,x,10,uM,0.1\n"
    ds = upload(c, pid, {"file": ("s.csv", body)})
    token = csrf(c)["X-CSRF-Token"]
    for i, target in enumerate(["//evil.example/x", "/\\evil.example", "https://evil.example"]):
        r = c.post(
            f"/datasets/{ds['id']}/wells/{0 if i < 2 else 1}",
            data={"reason": "r", "action": "restore" if i == 1 else "exclude", "next": target,
                  "csrf_token": token},
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == f"/datasets/{ds['id']}"


def test_serve_refuses_another_host_without_a_token():
    from typer.testing import CliRunner

    from oncoresist.cli import app
    from oncoresist.errors import InputError

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert isinstance(result.exception, InputError)  # main() turns it into exit code 2
    assert "needs an access token" in str(result.exception)


@pytest.mark.parametrize("fmt", ["tsv", "xlsx", "parquet", "csv.gz"])
def test_tidy_formats(project, tmp_path, fmt):
    import gzip

    c, pid = project
    frame = pd.DataFrame(
        {
            "sample": "A",
            "drug": "x",
            "concentration": [0.01, 0.1, 1, 10, 100],
            "conc_unit": "uM",
            "viability": [1.0, 0.9, 0.5, 0.1, 0.05],
        }
    )
    path = tmp_path / f"screen.{fmt}"
    if fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        path.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    ds = upload(c, pid, {"file": (path.name, path.read_bytes())})
    assert ds["status"] == "ok", ds["errors"]
    assert ds["summary"]["curves"] == 1 and ds["name"] == path.name
