"""Benchmark: the web app under load on the loopback interface (``oncoresist serve``).

Starts the app with uvicorn in a subprocess on 127.0.0.1 (a free port, a temporary data
folder), seeds it over HTTP (a project, the packaged 384-well plate export and its map, one fit)
and then runs, for a bounded time and a bounded number of requests, 50 clients browsing results
(curve table with filters, a curve figure, the analysis and dataset pages) and 5 clients
submitting fit jobs and polling them to the end. Prints p50/p95 latency per kind and the count
of errors; exits 1 on any error (a non-2xx answer or a failed job).

Only 127.0.0.1 is ever contacted. Usage::

    python benchmarks/bench_web.py [--quick]     # 60 s (full) or 10 s (--quick)
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

import numpy as np

HOST = "127.0.0.1"
SERVER = """
import sys, uvicorn
from oncoresist.web import Settings, create_app
app = create_app(Settings(data_dir=sys.argv[1], workers=2))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", ws="none")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _client(base: str):
    import httpx2

    return httpx2.Client(base_url=base, timeout=60.0)


def _seed(base: str) -> dict[str, str]:
    from oncoresist.data import example_path

    with _client(base) as c:
        token = c.get("/api/csrf").json()["csrf_token"]
        pid = c.post("/api/projects", json={"name": "bench"}).json()["id"]
        files = {
            "file": ("prism.txt", example_path("prism_parental_resistant_384.txt").read_bytes()),
            "plate_map": ("map.csv", example_path("prism_plate_map.csv").read_bytes()),
        }
        ds = c.post(
            f"/api/projects/{pid}/datasets", files=files, headers={"X-CSRF-Token": token}
        ).json()
        assert ds["status"] == "ok", ds["errors"]
        analysis = c.post(f"/api/datasets/{ds['id']}/fits", json={}).json()
        _wait(c, analysis["job"]["id"])
    return {"dataset": ds["id"], "analysis": analysis["id"]}


def _wait(c, job_id: str, deadline: float = 120.0) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise RuntimeError(f"job {job_id} did not finish in {deadline} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    ap.add_argument("--browsers", type=int, default=50)
    ap.add_argument("--submitters", type=int, default=5)
    args = ap.parse_args()
    duration = 10.0 if args.quick else 60.0
    max_requests = 200 if args.quick else 1000  # per browsing client: bounded however fast

    port = _free_port()
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="orx-bench-web-") as data:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        server = subprocess.Popen([sys.executable, "-c", SERVER, data, str(port)], env=env)
        try:
            _run(base, server, duration, max_requests, args.browsers, args.submitters)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _run(base, server, duration, max_requests, n_browse, n_submit) -> None:
    import httpx2

    end = time.monotonic() + 60
    while True:
        try:
            with _client(base) as c:
                if c.get("/api/health").status_code == 200:
                    break
        except httpx2.TransportError:
            pass
        if time.monotonic() > end or server.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    ids = _seed(base)
    aid, did = ids["analysis"], ids["dataset"]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def record(kind: str, seconds: float, ok: bool, what: str) -> None:
        with lock:
            latencies[kind].append(seconds)
            if not ok:
                errors.append(what)

    def timed(c, kind: str, method: str, url: str, **kw):
        t0 = time.perf_counter()
        try:
            r = c.request(method, url, **kw)
            ok, what = r.status_code < 400, f"{method} {url}: {r.status_code}"
        except httpx2.HTTPError as exc:
            r, ok, what = None, False, f"{method} {url}: {exc!r}"
        record(kind, time.perf_counter() - t0, ok, what)
        return r

    def browse(seed: int) -> None:
        rng = random.Random(seed)
        urls = [
            ("api", f"/api/analyses/{aid}/curves"),
            ("api", f"/api/analyses/{aid}/curves?sample=Resistant"),
            ("api", f"/api/analyses/{aid}/curves?q=drugb&status=ok"),
            ("figure", f"/api/analyses/{aid}/curves/{{}}/figure"),
            ("page", f"/analyses/{aid}"),
            ("page", f"/datasets/{did}"),
        ]
        with _client(base) as c:
            for _ in range(max_requests):
                if time.monotonic() > stop:
                    return
                kind, url = rng.choice(urls)
                timed(c, kind, "GET", url.format(rng.randrange(6)))

    def submit(seed: int) -> None:
        with _client(base) as c:
            while time.monotonic() < stop:
                r = timed(c, "submit", "POST", f"/api/datasets/{did}/fits", json={})
                if r is None or r.status_code != 202:
                    continue
                t0 = time.perf_counter()
                job = _wait(c, r.json()["job"]["id"])
                record("job", time.perf_counter() - t0, job["state"] == "done",
                       f"job {job['id']}: {job['state']} {job['error']}")  # fmt: skip

    threads = [threading.Thread(target=browse, args=(i,)) for i in range(n_browse)]
    threads += [threading.Thread(target=submit, args=(i,)) for i in range(n_submit)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(len(v) for v in latencies.values())
    print(
        f"bench_web: {n_browse} browsing + {n_submit} submitting clients on {base} for "
        f"{wall:.0f} s: {total} requests and jobs ({total / wall:.0f}/s), {len(errors)} errors"
    )
    for kind in ("api", "figure", "page", "submit", "job"):
        values = np.asarray(latencies.get(kind, []))
        if len(values):
            p50, p95 = np.percentile(values, [50, 95]) * 1000
            print(f"  {kind:7s} n={len(values):6d}  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
    if errors:
        print("errors (first 10):", *errors[:10], sep="\n  ")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
