"""The web app in a real browser: Playwright driving Debian's headless Chromium.

Playwright's own browser download is not used (not reachable here): the test drives the
``chromium`` on PATH (``make browser`` installs it from the distribution) through
``executable_path`` and is skipped, saying so, when there is none. The server is uvicorn on
127.0.0.1 on a free port, in a thread. Screenshots of every step are saved as test artefacts in
``test-artifacts/web/`` (or ``$ONCORESIST_TEST_ARTIFACTS``), which git ignores.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from oncoresist.data import example_path  # noqa: E402
from oncoresist.web import Settings, create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: run `make browser` (apt-get install chromium) to run the "
    "browser tests",
)
ARTIFACTS = (
    Path(
        os.environ.get(
            "ONCORESIST_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"
        )
    )
    / "web"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("web-data")
    app = create_app(Settings(data_dir=data))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                            lifespan="on")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > end or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # root in CI containers: Chromium's sandbox needs user namespaces it lacks there
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield b
        b.close()


def _open(browser) -> tuple[object, object, list[str]]:
    """A new browser context and page that collects the console's errors."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.set_default_timeout(30_000)
    return context, page, console_errors


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_upload_fix_fit_exclude_view_download(server, browser, tmp_path):
    plate_map = pd.read_csv(example_path("prism_plate_map.csv"))
    plate_map = plate_map.rename(columns={"sample": "cell_line"}).drop(columns=["conc_unit"])
    map_path = tmp_path / "plate_map.csv"
    plate_map.to_csv(map_path, index=False)

    context, page, console_errors = _open(browser)

    page.goto(server + "/")
    page.fill("#project-name", "Parental vs resistant")
    page.click("#create-project")
    page.wait_for_selector("#upload")
    page.set_input_files("#file", str(example_path("prism_parental_resistant_384.txt")))
    page.set_input_files("#plate-map", str(map_path))
    _shot(page, "01-upload")
    page.click("#upload")

    # the reader's error, with its column, and the mapping form
    page.wait_for_selector("#errors")
    assert page.inner_text("#dataset-status") == "invalid"
    assert "cell_line" in page.inner_text("#errors")
    _shot(page, "02-error-missing-column")
    page.select_option("#col_sample", "cell_line")
    page.click("#apply-options")
    page.wait_for_selector("#errors")
    errors = page.inner_text("#errors")
    assert "no unit" in errors and "28" in errors  # the next error names its line
    _shot(page, "03-error-no-unit")
    page.fill("#conc_unit", "nM")
    page.click("#apply-options")
    page.wait_for_selector("#preview")
    assert page.inner_text("#dataset-status") == "ok"
    assert "curves: 6" in page.inner_text("#summary")
    assert page.locator("#qc tr").count() == 3  # plate QC of both plates
    page.wait_for_selector(".plate[data-ready='1'] >> nth=1")  # their heatmaps
    _shot(page, "04-parsed-qc")

    page.click("#fit")
    page.wait_for_selector("#curves", timeout=60_000)  # progress polled, page reloaded
    assert page.inner_text("#job-state") == "done"
    assert page.locator("#curves tr").count() == 7
    _shot(page, "05-fitted")
    page.select_option("#parental", "Parental")
    page.select_option("#resistant", ["Resistant"])
    page.click("#compute-shift")
    page.wait_for_selector("#shift")
    assert "DrugA" in page.inner_text("#shift")
    page.wait_for_selector(".shift-figure[data-ready='1']")  # parental and resistant overlaid
    assert page.locator(".shift-figure").first.locator(".scatterlayer .trace").count() >= 4
    _shot(page, "05-resistance-index")
    page.select_option("#filter-sample", "Resistant")
    page.select_option("#filter-drug", "DrugA")
    with page.expect_navigation():
        page.click("#apply-filter")
    page.wait_for_selector("#curves")
    assert page.locator("#curves tr").count() == 2
    page.click(".curve-link")
    page.wait_for_selector("#figure[data-ready='1']")
    assert page.locator("#figure .scatterlayer .trace").count() >= 2  # points and fit
    _shot(page, "06-curve")

    # exclude the first well of the curve, with a reason
    first = page.locator("#wells tr").nth(1)
    label = first.locator("td").first.inner_text()
    first.locator("input.reason").fill("bubble in the well")
    first.locator("button.well-action").click()
    page.wait_for_selector("#wells tr.excluded")
    assert "bubble in the well" in page.inner_text("#wells tr.excluded")
    _shot(page, "07-excluded")

    page.locator("main p a").nth(1).click()  # the breadcrumb to the dataset page
    page.wait_for_selector("#audit")
    assert label in page.inner_text("#audit") and "bubble in the well" in page.inner_text("#audit")
    page.click("#fit")
    page.wait_for_selector("#curves", timeout=60_000)
    assert "1 well(s) excluded" in page.inner_text("#fit-summary")
    _shot(page, "08-refitted")

    with page.expect_download() as info:
        page.click("#dl-csv")
    csv_path = tmp_path / "fits.csv"
    info.value.save_as(csv_path)
    fits = pd.read_csv(csv_path)
    assert len(fits) == 6 and set(fits["status"]) == {"ok"}
    with page.expect_download() as info:
        page.click("#dl-report")
    report_path = tmp_path / "report.html"
    info.value.save_as(report_path)
    report = report_path.read_text(encoding="utf-8")
    assert label in report and "bubble in the well" in report
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(report_path, ARTIFACTS / "report.html")
    assert not console_errors, console_errors
    context.close()


def test_blocks_scored_and_schedules_compared_in_the_browser(server, browser, tmp_path):
    from oncoresist.evolution import example_path as evolution_example
    from oncoresist.synergy import make_combination_screen

    blocks = tmp_path / "blocks.csv"
    make_combination_screen(n_blocks=3, rng=2).data.to_csv(blocks, index=False)
    context, page, console_errors = _open(browser)
    page.goto(server + "/")
    page.fill("#project-name", "Combinations and schedules")
    page.click("#create-project")
    page.wait_for_selector("#upload")
    project_url = page.url

    # combination blocks: the unit error, fixed in the form, then every model scored
    page.select_option("#kind", "combination")
    page.set_input_files("#file", str(blocks))
    page.click("#upload")
    page.wait_for_selector("#errors")
    assert "conc1" in page.inner_text("#errors")
    page.fill("#conc_unit", "uM")
    page.click("#apply-options")
    page.wait_for_selector("#synergy-form")
    page.check("#model-musyc")
    page.click("#score")
    page.wait_for_selector("#results", timeout=120_000)
    assert page.inner_text("#job-state") == "done"
    assert "musyc" in page.inner_text("#results")
    page.select_option("#block-model", "loewe")
    page.click("#show-block")
    page.wait_for_selector("#fig-heatmap[data-ready='1']")
    page.wait_for_selector("#fig-surface[data-ready='1']")
    _shot(page, "10-combination-scores")
    with page.expect_download() as info:
        page.locator("p.downloads a", has_text="PNG").first.click()
    png = tmp_path / "heatmap.png"
    info.value.save_as(png)
    assert png.read_bytes()[:4] == b"\x89PNG"
    page.fill("#table-filter", "loewe")
    assert page.locator("#results tr:visible").count() == 1 + 3  # header + one row per block

    # a model: the example schedules that run on it, simulated and compared
    page.goto(project_url)
    page.select_option("#kind", "model")
    page.set_input_files("#file", str(evolution_example("zhang2017_model.yaml")))
    page.click("#upload")
    page.wait_for_selector("#simulate-form")
    page.uncheck("#schedule-intermittent") if page.is_checked("#schedule-intermittent") else None
    page.check("#schedule-continuous")
    page.check("#schedule-adaptive")
    page.fill("#t_end", "1000")
    page.click("#simulate")
    page.wait_for_selector("#results", timeout=120_000)
    assert "adaptive" in page.inner_text("#results")
    page.wait_for_selector(".figure[data-ready='1']")
    _shot(page, "11-schedule-comparison")
    assert not console_errors, console_errors
    context.close()
