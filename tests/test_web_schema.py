"""Schemathesis against the web app's OpenAPI schema: no 500s, responses as documented.

Every API operation gets a bounded hypothesis run (``MAX_EXAMPLES`` generated requests, fixed
seed) so that CI stays fast. Schemathesis' own pytest plugin is not used: the operations are
looped over here, which works whatever pytest version is installed.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from oncoresist.web import Settings, create_app  # noqa: E402

TOKEN = "schema-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _seed(app) -> dict[str, str]:
    """A project, a parsed plate export, a done fit and its job: real ids for the cases."""
    from fastapi.testclient import TestClient

    from oncoresist.data import example_path

    with TestClient(app, base_url="http://127.0.0.1", headers=AUTH) as c:
        pid = c.post("/api/projects", json={"name": "seed"}).json()["id"]
        files = {
            "file": ("prism.txt", example_path("prism_parental_resistant_384.txt").read_bytes()),
            "plate_map": ("map.csv", example_path("prism_plate_map.csv").read_bytes()),
        }
        ds = c.post(f"/api/projects/{pid}/datasets", files=files).json()
        analysis = c.post(f"/api/datasets/{ds['id']}/fits", json={}).json()
        job = analysis["job"]["id"]
        app.state.ctx.jobs.wait(job, timeout=60)
        assert c.get(f"/api/jobs/{job}").json()["state"] == "done"
    return {"project_id": pid, "dataset_id": ds["id"], "analysis_id": analysis["id"],
            "job_id": job}  # fmt: skip


def test_api_conforms_to_its_schema(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, token=TOKEN, max_upload_bytes=200_000))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    ids = _seed(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    tried = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            # generated ids would only ever meet 404: point most cases at real objects
            for key in list(case.path_parameters or {}):
                if key in ids and case.path_parameters[key][-1:] not in ("0", "1"):
                    case.path_parameters[key] = ids[key]
            case.call_and_validate(headers=AUTH, checks=CHECKS)

        run()
        tried.append(operation.label)
    assert "POST /api/projects/{project_id}/datasets" in tried
