"""Restart: results and job states survive re-creating the app on the same data folder; a job
a stopped server left running is marked failed with the reason; the schema is migrated."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("alembic")

from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from oncoresist.data import example_path
from oncoresist.web import Settings, create_app
from oncoresist.web._db import Analysis, Job, new_id
from test_web_api import LOCAL, csrf, fit


def test_results_and_jobs_survive_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings), **LOCAL) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        files = {
            "file": ("prism.txt", example_path("prism_parental_resistant_384.txt").read_bytes()),
            "plate_map": ("map.csv", example_path("prism_plate_map.csv").read_bytes()),
        }
        r = c.post(f"/api/projects/{pid}/datasets", files=files, headers=csrf(c))
        ds = r.json()
        assert ds["status"] == "ok"
        c.post(f"/api/datasets/{ds['id']}/exclusions", json={"row": 30, "reason": "edge"})
        done = fit(c, ds["id"])
        curves = c.get(f"/api/analyses/{done['id']}/curves").json()
        csv = c.get(f"/api/analyses/{done['id']}/download/csv").content
        # a job "running" when the server dies: written as the runner would have left it
        ctx = c.app.state.ctx
        with ctx.sessions.begin() as db:
            a = Analysis(id=new_id(), dataset_id=ds["id"], params={}, status="running",
                         summary={})  # fmt: skip
            j = Job(id=new_id(), analysis_id=a.id, state="running", progress=0.4,
                    message="fitting Parental (1/2)")  # fmt: skip
            queued = Job(id=new_id(), analysis_id=a.id, state="queued", progress=0.0, message="")
            db.add_all([a, j, queued])
            stale = (a.id, j.id, queued.id)

    app = create_app(settings)  # the restart
    assert app.state.ctx.recovered == 2
    with TestClient(app, **LOCAL) as c:
        assert c.get("/api/health").json()["recovered_jobs"] == 2
        assert c.get(f"/api/projects/{pid}").json()["name"] == "p"
        again = c.get(f"/api/analyses/{done['id']}").json()
        assert again["status"] == "done" and again["job"]["state"] == "done"
        assert c.get(f"/api/analyses/{done['id']}/curves").json() == curves
        assert c.get(f"/api/analyses/{done['id']}/download/csv").content == csv
        events = c.get(f"/api/datasets/{ds['id']}/exclusions").json()
        assert [(e["row"], e["reason"]) for e in events] == [(30, "edge")]
        for job_id in stale[1:]:
            job = c.get(f"/api/jobs/{job_id}").json()
            assert job["state"] == "failed", job
            assert job["error"].startswith("interrupted: the server stopped while the job was")
            assert job["finished_at"].endswith("+00:00")
        assert c.get(f"/api/analyses/{stale[0]}").json()["status"] == "failed"
        page = c.get(f"/analyses/{stale[0]}")
        assert "interrupted" in page.text
        # and the data set is still usable: fit again after the restart
        assert fit(c, ds["id"])["summary"]["excluded_wells"] == 1

    # a third start finds nothing stale
    assert create_app(settings).state.ctx.recovered == 0


def test_schema_is_migrated_by_alembic(tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    engine = app.state.ctx.engine
    tables = set(inspect(engine).get_table_names())
    assert {"projects", "datasets", "analyses", "jobs", "exclusions", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0001"
    create_app(Settings(data_dir=tmp_path))  # upgrading an up-to-date database is a no-op


def test_any_sqlalchemy_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    with TestClient(create_app(Settings(data_dir=tmp_path / "d", db_url=url)), **LOCAL) as c:
        assert c.post("/api/projects", json={"name": "p"}).status_code == 201
    assert (tmp_path / "elsewhere.db").exists()
    assert not (tmp_path / "d" / "oncoresist.db").exists()


def test_models_match_the_migrations(tmp_path):
    """The shipped Alembic revisions create exactly what the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from oncoresist.web._db import Base

    engine = create_app(Settings(data_dir=tmp_path)).state.ctx.engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_serve_command_builds_the_app_and_binds_loopback(tmp_path, monkeypatch):
    """``oncoresist serve`` hands uvicorn the app for its data folder, on 127.0.0.1."""
    import uvicorn
    from fastapi import FastAPI
    from typer.testing import CliRunner

    from oncoresist.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append((application, kw)))
    data = tmp_path / "d"
    result = CliRunner().invoke(app, ["serve", "--port", "8123", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    ((application, kw),) = calls
    assert isinstance(application, FastAPI)
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123
    assert (data / "oncoresist.db").exists()
    assert "http://127.0.0.1:8123/" in result.output
    token = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--token", "t0k", "--data-dir", str(data)]
    )
    assert token.exit_code == 0 and calls[-1][1]["host"] == "0.0.0.0"
    assert "?token=t0k" in token.output
