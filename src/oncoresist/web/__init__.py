"""``oncoresist serve``: a local web application and HTTP API over the public API.

Pages (Jinja2, a little vendored JavaScript and plotly.js served from the package, no CDN) and
a JSON API (OpenAPI at ``/openapi.json``, the pages use it) for the dose-response workflow:
create a project, upload a screen (tidy table or plate-reader export + plate map), fix what
the readers report, fit curves as a background job, browse them, exclude or restore wells
with a reason (audited) and download the results and the HTML report.

Every analysis is a call into the public API (``oncoresist.data.read_screen``,
``oncoresist.curves.plate_qc`` / ``normalise`` / ``fit_screen`` / ``plot_curves``,
``oncoresist.report.render_report``); nothing is implemented twice.

Safe by default: binds 127.0.0.1, refuses requests from other hosts unless an access token is
configured, limits upload sizes, refuses compressed files that expand too much, stores uploads
under generated ids (a file name is only ever a label), sends security headers and checks a
CSRF token on form posts.

>>> from oncoresist.web import Settings, create_app   # doctest: +SKIP
>>> app = create_app(Settings(data_dir="orx-data"))   # doctest: +SKIP
"""

from __future__ import annotations

from ._app import create_app
from ._settings import Settings

__all__ = ["Settings", "create_app"]
