"""Static figure export (PNG, SVG, PDF): one implementation for the API, the CLI and the web app.

plotly draws the figure; kaleido renders it in a headless Chromium. kaleido finds the system's
``chromium`` by itself (``make browser`` installs Debian's package), so export works offline.
One browser is started per process, on first use, and reused for every figure after that
(about 3 s to start, then about 0.25 s per figure); it is closed when the process exits.

>>> parse_formats("png, svg")
('png', 'svg')
"""

from __future__ import annotations

import atexit
import contextvars
import os
import threading
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputError

__all__ = [
    "FIGURE_FORMATS",
    "default_figure_formats",
    "export_figures",
    "figure_bytes",
    "parse_formats",
]

#: formats a figure can be written in, with their media types
FIGURE_FORMATS: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
}

_DEFAULT: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "oncoresist_figure_formats", default=()
)
_LOCK = threading.Lock()
_ATTEMPTS = 5
_STARTED = False
_FIX = (
    "static figures need kaleido and a Chromium: pip install 'oncoresist[figures]' and "
    "install the system's chromium (`make browser`, or `apt-get install chromium`)"
)


def parse_formats(formats: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"png,svg"`` (or a list) as a checked tuple; an unknown format is an :class:`InputError`."""
    if formats is None:
        return ()
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for item in items:
        fmt = str(item).strip().lower().lstrip(".")
        if not fmt:
            continue
        if fmt not in FIGURE_FORMATS:
            raise InputError(
                f"figure format {item!r} is not supported; use one or more of "
                f"{', '.join(FIGURE_FORMATS)} (comma-separated, e.g. --figures png,svg)"
            )
        if fmt not in out:
            out.append(fmt)
    return tuple(out)


def default_figure_formats(formats: Sequence[str] | None = None) -> contextvars.Token[Any]:
    """Set the formats :func:`~oncoresist.report.render_report` exports by default (the CLI's
    ``oncoresist --figures png,svg COMMAND``). Returns the token to reset it."""
    return _DEFAULT.set(parse_formats(formats))


def _start() -> None:
    global _STARTED
    if _STARTED:
        return
    try:
        import kaleido
    except ImportError as exc:
        raise OutputError(f"{_FIX} ({exc})") from exc
    try:
        # no MathJax: kaleido's default loads it from a CDN, and figures here use no TeX;
        # plotly.js comes from the installed plotly package
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    except Exception as exc:  # kaleido's own errors: no browser, a browser that does not start
        raise OutputError(f"{_FIX} ({type(exc).__name__}: {exc})") from exc
    _STARTED = True
    atexit.register(_stop)
    import plotly.graph_objects as go

    _render(go.Figure(), "png", None, None, None)  # waits until the page's scripts are loaded


def _stop() -> None:
    global _STARTED
    if _STARTED:
        import kaleido

        _STARTED = False
        kaleido.stop_sync_server(silence_warnings=True)


def figure_bytes(
    fig: Any,
    fmt: str,
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
) -> bytes:
    """The figure as ``fmt`` (``png``, ``svg`` or ``pdf``) bytes.

    ``fig`` is a plotly figure or its JSON text / dict. Width and height in CSS pixels
    (default: the figure's own or 700 x 500); ``scale`` multiplies the PNG resolution.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    (fmt,) = parse_formats([fmt]) or ("",)
    if isinstance(fig, str):
        fig = pio.from_json(fig)
    elif isinstance(fig, Mapping):
        fig = go.Figure(fig)
    with _LOCK:
        _start()
        return _render(fig, fmt, width, height, scale)


def _render(fig: Any, fmt: str, width: Any, height: Any, scale: Any) -> bytes:
    import plotly.io as pio

    # the browser's page may still be loading its scripts (a busy machine): try a few times
    for attempt in range(_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                # plotly passes browser options that a running server does not take
                warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                data = pio.to_image(fig, format=fmt, width=width, height=height, scale=scale)
            return bytes(data)
        except Exception as exc:
            if attempt + 1 == _ATTEMPTS:
                raise OutputError(
                    f"the figure could not be rendered as {fmt} ({type(exc).__name__}: "
                    f"{exc}); " + _FIX
                ) from exc
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _title(fig: Any) -> str:
    try:
        text = fig.layout.title.text
    except AttributeError:
        return ""
    return str(text or "")


def _menu_states(name: str, fig: Any) -> list[tuple[str, Any]]:
    """A figure with a menu of views (e.g. every fitted curve, ``plot_curves(view="menu")``)
    as one static figure per menu entry, named ``<name>-<entry>``; other figures as they are.

    A static file shows one state of an interactive figure, so without this only the first
    curve of a curve menu would be written."""
    menus = getattr(getattr(fig, "layout", None), "updatemenus", None) or ()
    buttons = [b for m in menus for b in (m.buttons or ())]
    if len(menus) != 1 or not buttons or any(b.method != "update" for b in buttons):
        return [(name, fig)]
    import plotly.graph_objects as go

    shown = _title(fig)  # the first entry's title: each file is named by its own entry instead
    if shown and name.endswith(f"-{shown}"):
        name = name[: -len(shown) - 1]
    out: list[tuple[str, Any]] = []
    for b in buttons:
        data, layout, traces = (*b.args, None, None, None)[:3]
        state = go.Figure(fig)
        state.layout.updatemenus = ()
        if data:
            state.plotly_restyle(data, trace_indexes=traces or None)
        if layout:
            state.plotly_relayout(layout)
        out.append((f"{name}-{b.label or len(out) + 1}", state))
    return out


def export_figures(
    figures: Mapping[str, Any] | Sequence[Any],
    folder: str | os.PathLike[str],
    formats: str | Iterable[str] = ("png", "svg"),
) -> list[Path]:
    """Write every figure in every format into ``folder``; returns the paths written.

    ``figures`` is ``{name: figure}``, a list of figures, or a list of report
    :class:`~oncoresist.report.Section` objects (each figure named ``NN-<section>-<title>``).
    A figure with a menu of views (the report's curve menu) is written once per entry
    (``<name>-<entry>``). Names are made safe for file names and unique; files are written
    atomically.

    >>> export_figures([], "unused", "png")
    []
    """
    from .._io import atomic_path, safe_name, unique_names
    from ._section import Section

    fmts = parse_formats(formats)
    named: list[tuple[str, Any]] = []
    if isinstance(figures, Mapping):
        named = [(str(k), v) for k, v in figures.items()]
    else:
        n = 0
        for item in figures:
            if isinstance(item, Section):
                for fig in item.figures:
                    n += 1
                    label = "-".join(p for p in (item.title, _title(fig)) if p)
                    named.append((f"{n:02d}-{label}", fig))
            else:
                n += 1
                named.append((f"{n:02d}-{_title(item) or 'figure'}", item))
    if not named or not fmts:
        return []
    named = [state for name, fig in named for state in _menu_states(name, fig)]
    names = unique_names(safe_name(name, default="figure", max_len=70) for name, _ in named)
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, fig) in zip(names, named, strict=True):
        for fmt in fmts:
            data = figure_bytes(fig, fmt)
            target = out_dir / f"{name}.{fmt}"
            with atomic_path(target) as tmp:
                Path(tmp).write_bytes(data)
            written.append(target)
    return written
