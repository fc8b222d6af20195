"""Screenshots of a report for the README (``make screenshots``).

Opens ``REPORT`` (default ``oncoresist-demo/report.html``, written by ``make demo``) in the
system's headless Chromium through Playwright (its own browser download is not used), waits for
the plotly figures to draw, and saves one picture per chosen section (by default the demo's
dose-response, combination, GDSC biomarker and evolution sections) as
``docs/img/demo-report-<n>.png``.

    python tools/screenshot_report.py [REPORT] [--sections 0,3,5,11] [--out docs/img]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", default=str(ROOT / "oncoresist-demo" / "report.html"))
    ap.add_argument("--sections", default="0,3,5,11", help="section numbers (0 = the first)")
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
        for n in (int(s) for s in args.sections.split(",") if s.strip()):
            section = page.locator(f"section#s{n}")
            if section.count() == 0:
                print(f"no section {n} in {report}", file=sys.stderr)
                return 2
            section.scroll_into_view_if_needed()
            box = section.bounding_box()
            assert box is not None
            top = box["y"] + float(page.evaluate("window.scrollY"))  # page, not viewport
            clip = {"x": box["x"], "y": top, "width": box["width"],
                    "height": min(box["height"], 1400)}  # fmt: skip
            page.screenshot(path=str(out / f"demo-report-{n}.png"), clip=clip, full_page=True)
            print(f"wrote {out / f'demo-report-{n}.png'}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
