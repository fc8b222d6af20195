"""Screenshots of a report for the README (``make screenshots``).

Opens ``REPORT`` (default ``oncoresist-demo/report.html``, written by ``make demo``) in the
system's headless Chromium through Playwright (its own browser download is not used), waits for
the plotly figures to draw, and saves one picture per chosen section (by default the demo's
dose-response, combination, GDSC biomarker and evolution sections, found by their titles, so
adding a section to the demo does not change the pictures) as ``docs/img/demo-report-<name>.png``.

    python tools/screenshot_report.py [REPORT] [--sections NAME=TITLE,...] [--out docs/img]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: picture name -> the start of the demo report's section title it shows
DEFAULT_SECTIONS = {
    "dose-response": "Dose-response: synthetic",
    "combinations": "Drug combinations: resistance rescued",
    "biomarkers": "Biomarkers: top resistance",
    "evolution": "Tumour evolution",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", default=str(ROOT / "oncoresist-demo" / "report.html"))
    ap.add_argument(
        "--sections",
        default=",".join(f"{k}={v}" for k, v in DEFAULT_SECTIONS.items()),
        help="NAME=TITLE pairs: the picture demo-report-NAME.png shows the first section whose "
        "title starts with TITLE",
    )
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    report = Path(args.report).resolve()
    if not report.is_file():
        print(f"{report}: no report; run `make demo` first", file=sys.stderr)
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no chromium on PATH: run `make browser`", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
        page.wait_for_timeout(1500)  # the last figures finish drawing
        for pair in (s for s in args.sections.split(",") if s.strip()):
            name, _, title = pair.partition("=")
            section = page.locator("section", has=page.locator("h2", has_text=title)).first
            if section.count() == 0:
                print(f"no section titled {title!r} in {report}", file=sys.stderr)
                return 2
            section.scroll_into_view_if_needed()
            box = section.bounding_box()
            assert box is not None
            top = box["y"] + float(page.evaluate("window.scrollY"))  # page, not viewport
            clip = {"x": box["x"], "y": top, "width": box["width"],
                    "height": min(box["height"], 1400)}  # fmt: skip
            page.screenshot(path=str(out / f"demo-report-{name}.png"), clip=clip, full_page=True)
            print(f"wrote {out / f'demo-report-{name}.png'}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
