"""The FastAPI application: JSON API under ``/api`` (OpenAPI at ``/openapi.json``) and pages."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError
from . import _analyses as analyses
from . import _service as service
from ._db import Analysis, Dataset, Exclusion, Job, Project, make_engine, new_id, upgrade
from ._jobs import JobRunner
from ._security import Guard, check_csrf, csrf_token
from ._settings import Settings
from ._storage import BombError, ContentError, Storage, TooLargeError, display_name

__all__ = ["create_app"]

_HERE = Path(__file__).parent
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
_DOWNLOADS = {
    "csv": ("text/csv", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "report": ("text/html", "html"),
}
#: what the figure endpoints answer: plotly JSON (the pages draw it) or a static file
_FIGURE_MEDIA = {"json": "application/json", "png": "image/png", "svg": "image/svg+xml",
                 "pdf": "application/pdf"}  # fmt: skip
_FIGURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {} for m in _FIGURE_MEDIA.values()},
          "description": "the figure: plotly JSON, PNG, SVG or PDF (``format``)"},
}  # fmt: skip
FigureFormat = Annotated[str, Query(pattern="^(json|png|svg|pdf)$")]
#: the column-mapping form's fields, by dataset kind
_FIELDS = {
    "combination": ["block_id", "sample", "drug1", "drug2", "conc1", "conc2", "response",
                    "replicate"],
    "screen": ["sample", "drug", "concentration", "conc_unit", "role", "signal", "viability",
               "replicate", "plate", "well"],
}  # fmt: skip
_KIND_TITLES = {"fit": "Curve fit", "synergy": "Combination scores", "annotate": "Mechanisms",
                "simulate": "Schedule comparison"}  # fmt: skip
_TABLE_ROWS = 2000
_PREVIEW_ROWS = 20
_CURVE_COLUMNS = ["sample", "drug", "status", "ic50_abs", "ic50_abs_censored", "ic50_abs_ci_low",
                  "ic50_abs_ci_high", "hill_slope", "auc", "r2", "n_points", "reason"]  # fmt: skip


# --------------------------------------------------------------------------- API models
class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ProjectOut(BaseModel):
    id: str
    name: str
    created_at: str


class ErrorOut(BaseModel):
    message: str
    row: int | None = None
    column: str | None = None
    file: str | None = None


class DatasetOut(BaseModel):
    id: str
    project_id: str
    name: str
    map_name: str | None
    kind: str
    status: str
    options: dict[str, Any]
    errors: list[ErrorOut]
    notes: list[str]
    summary: dict[str, Any]
    columns: list[str]
    preview: list[dict[str, Any]]
    raw_preview: list[str]


class OptionsIn(BaseModel):
    columns: dict[str, str] = Field(default_factory=dict)
    conc_unit: str | None = Field(default=None, max_length=20)
    sheet: str | None = Field(default=None, max_length=100)
    sep: str | None = Field(default=None, max_length=5)
    decimal: str | None = Field(default=None, max_length=1)
    read: str | None = Field(default=None, max_length=100)


class ExclusionIn(BaseModel):
    row: int = Field(ge=0)
    action: str = Field(default="exclude", pattern="^(exclude|restore)$")
    reason: str = Field(min_length=1, max_length=2000)
    user: str | None = Field(default=None, max_length=200)


class ExclusionOut(BaseModel):
    id: int
    row: int
    well: str
    action: str
    reason: str
    user: str
    created_at: str


class FitIn(BaseModel):
    model: str = Field(default="ll4", pattern="^(ll4|ll3|ll2)$")
    ci: str = Field(default="delta", pattern="^(delta|none)$")


class SynergyIn(BaseModel):
    models: list[str] = Field(default_factory=lambda: ["hsa", "bliss", "loewe", "zip"],
                              min_length=1, max_length=10)  # fmt: skip
    n_boot: int = Field(default=0, ge=0, le=200)


class AnnotateIn(BaseModel):
    drugs: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=20
    )


class SimulateIn(BaseModel):
    schedules: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=10
    )
    method: str = Field(default="ode", pattern="^(ode|gillespie|tau_leap|branching)$")
    t_end: float = Field(default=1825.0, gt=0, le=7300)
    n_runs: int = Field(default=1, ge=1, le=500)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class JobOut(BaseModel):
    id: str
    analysis_id: str
    state: str
    progress: float
    message: str
    error: str | None
    created_at: str
    finished_at: str | None


class AnalysisOut(BaseModel):
    id: str
    dataset_id: str
    kind: str
    status: str
    params: dict[str, Any]
    summary: dict[str, Any]
    created_at: str
    job: JobOut | None


class CurvesOut(BaseModel):
    total: int
    matched: int
    curves: list[dict[str, Any]]


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "bad request"},
    403: {"model": Problem, "description": "not allowed: host, access token or CSRF token"},
    404: {"model": Problem, "description": "no such object"},
    409: {"model": Problem, "description": "not possible in the object's state"},
    413: {"model": Problem, "description": "request body over the limit"},
}
_FIGURE_RESPONSES[503] = {
    "model": Problem,
    "description": "static export unavailable here: kaleido or chromium missing (says the fix)",
}


class ShiftOut(BaseModel):
    parental: str
    resistant: list[str]
    ic50: str
    notes: list[str]
    rows: list[dict[str, Any]]


class Csrf(BaseModel):
    csrf_token: str


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite keeps no offset: every time stored is UTC
        value = value.replace(tzinfo=dt.UTC)
    return str(value.isoformat())


def _jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            elif v is pd.NA or v is pd.NaT:
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[str(k)] = v
        out.append(clean)
    return out


@functools.lru_cache(maxsize=128)
def _parquet(path: str, mtime_ns: int) -> pd.DataFrame:
    # results and parsed tables change only by being rewritten (a new mtime): cache by both;
    # callers filter or copy, never modify the cached frame
    return pd.read_parquet(path)


def _read(path: Path) -> pd.DataFrame:
    return _parquet(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _plate_qc(path: str, mtime_ns: int, excluded: frozenset[int]) -> pd.DataFrame | None:
    # the same parsed table and the same excluded wells give the same QC
    from ..curves import plate_qc
    from ..data import Screen

    table = _parquet(path, mtime_ns)
    screen = Screen(table[~table.index.isin(list(excluded))].reset_index(drop=True))
    if screen.is_normalised or not screen.plates:
        return None
    return plate_qc(screen)


@functools.lru_cache(maxsize=32)
def _figures_json(path: str, mtime_ns: int) -> dict[str, Any]:
    import json

    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=32)
def _schedules(model_path: str, files: tuple[tuple[str, str], ...]) -> list[str]:
    # uploads never change: the same model and schedule files give the same answer
    return analyses.compatible_schedules(Path(model_path), {k: Path(v) for k, v in files})


def _figure_response(fig: Any, fmt: str, name: str) -> Response:
    """A plotly figure (object or JSON dict) as JSON for the page, or PNG/SVG/PDF to download."""
    import json

    if fmt == "json":
        text = fig.to_json() if hasattr(fig, "to_json") else json.dumps(fig)
        return Response(text, media_type="application/json")
    from ..errors import OutputError
    from ..report import figure_bytes

    try:
        data = figure_bytes(fig, fmt)
    except OutputError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    from .._io import safe_name

    return Response(data, media_type=_FIGURE_MEDIA[fmt], headers={
        "content-disposition": f'attachment; filename="{safe_name(name)}.{fmt}"'})  # fmt: skip


@functools.lru_cache(maxsize=256)
def _columns(path: str) -> tuple[str, ...]:
    return tuple(service.file_columns(Path(path)))  # uploads never change


class _Ctx:
    """What the handlers share: settings, database sessions, storage, the job runner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_path.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.storage = Storage(
            settings.data_path,
            max_bytes=settings.max_upload_bytes,
            max_expanded=settings.max_expanded_bytes,
        )
        self.jobs = JobRunner(self.sessions, workers=settings.workers)
        self.recovered = self.jobs.recover()
        from ..curves._executors import resolve_executor

        # one executor for every job: a Dask executor connects (or starts its local cluster)
        # once, here, so an unreachable scheduler stops the start-up, not the first job
        self.executor = resolve_executor(settings.executor, scheduler=settings.scheduler)
        self.held = contextlib.ExitStack()
        if isinstance(self.executor, contextlib.AbstractContextManager):
            self.held.enter_context(self.executor)

    # ------------------------------------------------------------------ lookups
    def get(self, db: Session, model: Any, key: str, what: str) -> Any:
        obj = db.get(model, key) if isinstance(key, str) and len(key) <= 64 else None
        if obj is None:
            raise HTTPException(status_code=404, detail=f"no {what} {key!r}")
        return obj

    def events(self, db: Session, dataset_id: str) -> list[Exclusion]:
        q = select(Exclusion).where(Exclusion.dataset_id == dataset_id).order_by(Exclusion.id)
        return list(db.scalars(q).all())

    def job_of(self, db: Session, analysis_id: str) -> Job | None:
        q = select(Job).where(Job.analysis_id == analysis_id).order_by(Job.created_at.desc())
        return db.scalars(q).first()

    # ------------------------------------------------------------------ datasets
    def parsed_table(self, ds: Dataset) -> pd.DataFrame:
        path = self.storage.result_dir(ds.id) / "screen.parquet"
        if ds.status != "ok" or not path.exists():
            raise HTTPException(status_code=409, detail=f"dataset {ds.id} has no valid table yet")
        return _read(path)

    def parse(self, ds: Dataset) -> None:
        path = self.storage.upload_path(ds.file_id)
        map_path = self.storage.upload_path(ds.map_file_id) if ds.map_file_id else None
        target = self.storage.result_dir(ds.id) / "screen.parquet"
        try:
            if ds.kind in analyses.DATASET_KINDS:
                table, summary, notes = analyses.parse_upload(
                    path, label=ds.name, kind=ds.kind, options=dict(ds.options)
                )
            else:
                if path.suffix == ".zip":  # a CurveCurator data set: its .toml and table
                    unpacked = self.storage.result_dir(ds.id) / "unpacked"
                    path = self.storage.unpack(ds.file_id, unpacked, label=ds.name) or path
                screen, notes = service.parse_dataset(
                    path, label=ds.name, kind=ds.kind, options=dict(ds.options),
                    map_path=map_path, map_label=ds.map_name,
                )  # fmt: skip
                table, summary = screen.data, screen.counts()
        except InputError as exc:
            ds.status = "invalid"
            ds.errors = [service.error_record(line) for line in str(exc).split("\n") if line]
            ds.notes = []
            ds.summary = {}
            target.unlink(missing_ok=True)
            return
        from .._io import write_table

        write_table(table, target)
        ds.status = "ok"
        ds.errors = []
        ds.notes = notes
        ds.summary = summary

    def dataset_out(self, ds: Dataset) -> DatasetOut:
        preview: list[dict[str, Any]] = []
        if ds.status == "ok":
            preview = _jsonable(self.parsed_table(ds).head(_PREVIEW_ROWS))
        path = self.storage.upload_path(ds.file_id)
        cols_from = self.storage.upload_path(ds.map_file_id) if ds.map_file_id else path
        # show the start of the file the error is about
        about_map = ds.map_name is not None and any(e.get("file") == ds.map_name for e in ds.errors)
        shown = cols_from if about_map else path
        return DatasetOut(
            id=ds.id, project_id=ds.project_id, name=ds.name, map_name=ds.map_name, kind=ds.kind,
            status=ds.status, options=dict(ds.options),
            errors=[ErrorOut(**e) for e in ds.errors], notes=list(ds.notes),
            summary=dict(ds.summary), columns=list(_columns(str(cols_from))),
            preview=preview, raw_preview=service.raw_preview(shown),
        )  # fmt: skip

    def create_dataset(
        self, db: Session, project: Project, file: UploadFile, plate_map: UploadFile | None,
        options: dict[str, Any], kind: str = "auto",
    ) -> Dataset:  # fmt: skip
        if kind not in ("auto", *analyses.DATASET_KINDS):
            raise HTTPException(
                status_code=400,
                detail=f"kind {kind!r}: use auto (a screen, plate export, GDSC raw file or "
                "CurveCurator zip), combination, profile, model or schedule",
            )
        if kind != "auto" and plate_map is not None and plate_map.filename:
            raise HTTPException(status_code=400,
                                detail=f"a plate map goes with a plate export, not a {kind}")  # fmt: skip
        file_id: str | None = None
        try:
            file_id = self.storage.save_upload(file.file, file.filename or "upload")
            map_id = None
            if plate_map is not None and plate_map.filename:
                map_id = self.storage.save_upload(plate_map.file, plate_map.filename)
        except (TooLargeError, ContentError) as exc:
            if file_id is not None:  # the map was refused: keep no half of the pair
                self.storage.upload_path(file_id).unlink(missing_ok=True)
            status = 413 if isinstance(exc, TooLargeError | BombError) else 415
            raise HTTPException(status_code=status, detail=str(exc)) from exc
        ds = Dataset(
            id=new_id(), project_id=project.id, name=display_name(file.filename),
            map_name=display_name(plate_map.filename) if map_id and plate_map else None,
            kind=kind if kind != "auto" else ("plate_export" if map_id else "screen"),
            file_id=file_id, map_file_id=map_id,
            options=options, status="invalid", errors=[], notes=[], summary={},
        )  # fmt: skip
        self.parse(ds)
        db.add(ds)
        return ds

    def set_options(self, ds: Dataset, options: OptionsIn) -> None:
        ds.options = {k: v for k, v in options.model_dump().items() if v not in (None, "", {})}
        self.parse(ds)

    # ------------------------------------------------------------------ exclusions
    def exclude(self, db: Session, ds: Dataset, body: ExclusionIn) -> Exclusion:
        table = self.usable(ds, "fit")  # exclusions apply to the wells of curve fits
        if body.row >= len(table):
            raise HTTPException(
                status_code=404, detail=f"row {body.row}: the table has {len(table)} wells"
            )
        active = service.active_exclusions(self.events(db, ds.id))
        if body.action == "restore" and body.row not in active:
            raise HTTPException(status_code=409, detail=f"row {body.row} is not excluded")
        if body.action == "exclude" and body.row in active:
            raise HTTPException(status_code=409, detail=f"row {body.row} is already excluded")
        ev = Exclusion(
            dataset_id=ds.id, row=body.row,
            well=service.well_label(table.iloc[body.row], body.row), action=body.action,
            reason=body.reason.strip(), user=(body.user or "").strip() or self.settings.user,
        )  # fmt: skip
        db.add(ev)
        db.flush()
        return ev

    def wells(self, db: Session, ds: Dataset, sample: str | None, drug: str | None) -> list[dict]:
        table = self.parsed_table(ds)
        active = service.active_exclusions(self.events(db, ds.id))
        sel = table
        if sample is not None:
            sel = sel[sel["sample"] == sample]
        if drug is not None:
            sel = sel[sel["drug"] == drug]
        cols = [c for c in ("plate", "well", "sample", "drug", "concentration", "role", "signal",
                            "viability") if c in sel.columns]  # fmt: skip
        out = _jsonable(sel[cols])
        for rec, idx in zip(out, sel.index, strict=True):
            rec["row"] = int(idx)
            rec["label"] = service.well_label(table.loc[idx], int(idx))
            ev = active.get(int(idx))
            rec["excluded"] = ev is not None
            rec["reason"] = ev.reason if ev is not None else None
        return out

    # ------------------------------------------------------------------ plate QC
    def kept_screen(self, db: Session, ds: Dataset) -> Any:
        """The parsed screen without the wells users excluded."""
        from ..data import Screen

        table = self.usable(ds, "fit")
        active = service.active_exclusions(self.events(db, ds.id))
        return Screen(table[~table.index.isin(list(active))].reset_index(drop=True))

    def plate_qc(self, db: Session, ds: Dataset) -> pd.DataFrame | None:
        """:func:`oncoresist.curves.plate_qc` of the kept wells (None: no plates or no reads,
        or not a single-agent screen)."""
        self.parsed_table(ds)  # 409 unless parsed
        if ds.kind not in ("screen", "plate_export"):
            return None
        path = self.storage.result_dir(ds.id) / "screen.parquet"
        active = service.active_exclusions(self.events(db, ds.id))
        return _plate_qc(str(path), path.stat().st_mtime_ns, frozenset(active))

    # ------------------------------------------------------------------ jobs
    def usable(self, ds: Dataset, kind: str) -> pd.DataFrame:
        """The parsed table of ``ds`` if a ``kind`` analysis can run on it (else 409)."""
        wanted = {"fit": ("screen", "plate_export"), "synergy": ("combination",),
                  "annotate": ("profile",), "simulate": ("model",)}[kind]  # fmt: skip
        if ds.kind not in wanted:
            raise HTTPException(
                status_code=409,
                detail=f"dataset {ds.id} is a {ds.kind}; a {kind} analysis needs a "
                + " or ".join(wanted),
            )
        return self.parsed_table(ds)  # 409 unless parsed

    def start_job(
        self, db: Session, ds: Dataset, kind: str, params: dict[str, Any], run: Any
    ) -> Analysis:
        """Record an analysis and its job, then run ``run(out, progress, cancelled)``."""
        self.usable(ds, kind)
        analysis = Analysis(id=new_id(), dataset_id=ds.id, kind=kind, params=params,
                            status="queued", summary={})  # fmt: skip
        job = Job(id=new_id(), analysis_id=analysis.id, kind=kind, state="queued",
                  progress=0.0, message="queued")  # fmt: skip
        db.add_all([analysis, job])
        out = self.storage.result_dir(analysis.id)
        db.commit()
        self.jobs.submit(job.id, lambda progress, cancelled: run(out, progress, cancelled))
        return analysis

    def start_fit(self, db: Session, ds: Dataset, body: FitIn) -> Analysis:
        events = self.events(db, ds.id)
        table = self.usable(ds, "fit")
        source, notes, params = ds.name, list(ds.notes), body.model_dump()
        executor = self.executor

        def run(out: Path, progress: Any, cancelled: Any) -> dict[str, Any]:
            return service.run_fit(
                table, source=source, notes=notes, events=events, params=params, out=out,
                progress=progress, cancelled=cancelled, executor=executor,
            )  # fmt: skip

        return self.start_job(db, ds, "fit", params, run)

    def start_synergy(self, db: Session, ds: Dataset, body: SynergyIn) -> Analysis:
        from ..synergy import available_models

        bad = [m for m in body.models if m not in available_models()]
        if bad:
            raise HTTPException(status_code=400, detail=f"unknown model(s) {bad}; use "
                                + ", ".join(available_models()))  # fmt: skip
        table = self.usable(ds, "synergy")
        source, params = ds.name, body.model_dump()

        def run(out: Path, progress: Any, cancelled: Any) -> dict[str, Any]:
            return analyses.run_synergy(table, source=source, params=params, out=out,
                                        progress=progress, cancelled=cancelled)  # fmt: skip

        return self.start_job(db, ds, "synergy", params, run)

    def start_annotate(self, db: Session, ds: Dataset, body: AnnotateIn) -> Analysis:
        path, label, params = self.storage.upload_path(ds.file_id), ds.name, body.model_dump()

        def run(out: Path, progress: Any, cancelled: Any) -> dict[str, Any]:
            return analyses.run_annotate(path, label=label, params=params, out=out,
                                         progress=progress, cancelled=cancelled)  # fmt: skip

        return self.start_job(db, ds, "annotate", params, run)

    def schedule_files(self, db: Session, ds: Dataset) -> dict[str, tuple[str, Path]]:
        """Schedules a model can be run under: choice -> (label, file). The shipped examples
        (by name) and the project's uploaded schedules (``upload-<dataset id>``)."""
        out = {name: (name, p) for name, p in analyses.example_schedules().items()}
        q = select(Dataset).where(Dataset.project_id == ds.project_id, Dataset.kind == "schedule",
                                  Dataset.status == "ok").order_by(Dataset.created_at)  # fmt: skip
        for d in db.scalars(q):
            label = f"{d.summary.get('schedule', '')} (uploaded: {d.name})"
            out[f"upload-{d.id}"] = (label, self.storage.upload_path(d.file_id))
        return out

    def schedules(self, db: Session, ds: Dataset) -> dict[str, str]:
        """The schedules that run on a model dataset: choice -> label (empty for other kinds)."""
        if ds.kind != "model" or ds.status != "ok":
            return {}
        files = self.schedule_files(db, ds)
        key = tuple((k, str(p)) for k, (_, p) in files.items())
        runs = _schedules(str(self.storage.upload_path(ds.file_id)), key)
        return {k: files[k][0] for k in runs}

    def start_simulate(self, db: Session, ds: Dataset, body: SimulateIn) -> Analysis:
        files: dict[str, Path] = {}
        if ds.kind == "model" and ds.status == "ok":
            allowed = self.schedules(db, ds)
            bad = [n for n in body.schedules if n not in allowed]
            if bad:
                raise HTTPException(status_code=400, detail=f"schedule(s) {bad} do not run on "
                                    f"this model; choose from {list(allowed)}")  # fmt: skip
            files = {k: p for k, (_, p) in self.schedule_files(db, ds).items()}
        path, label, params = self.storage.upload_path(ds.file_id), ds.name, body.model_dump()

        def run(out: Path, progress: Any, cancelled: Any) -> dict[str, Any]:
            return analyses.run_simulate(path, label=label, params=params, out=out,
                                         progress=progress, cancelled=cancelled,
                                         schedule_files=files)  # fmt: skip

        return self.start_job(db, ds, "simulate", params, run)

    def result_file(self, analysis: Analysis, fmt: str) -> Path:
        """The file of a done analysis: its table as csv/xlsx/parquet, or its html report."""
        stem = "fits" if analysis.kind == "fit" else "results"
        name = "report.html" if fmt == "html" else f"{stem}.{fmt}"
        path = self.storage.result_dir(analysis.id) / name
        if analysis.status != "done" or not path.exists():
            raise HTTPException(status_code=409, detail=f"analysis {analysis.id} is not done")
        return path

    def results(self, analysis: Analysis) -> pd.DataFrame:
        return _read(self.result_file(analysis, "parquet"))

    def stored_figures(self, analysis: Analysis) -> dict[str, Any]:
        self.result_file(analysis, "parquet")  # 409 unless done
        path = self.storage.result_dir(analysis.id) / "figures.json"
        return _figures_json(str(path), path.stat().st_mtime_ns) if path.exists() else {}

    def fits(self, analysis: Analysis) -> pd.DataFrame:
        if analysis.kind != "fit":
            raise HTTPException(status_code=409, detail=f"analysis {analysis.id} is a "
                                f"{analysis.kind}, not a curve fit")  # fmt: skip
        return self.results(analysis)

    def curves(
        self, analysis: Analysis, *, q: str | None, sample: str | None, drug: str | None,
        status: str | None,
    ) -> tuple[pd.DataFrame, int]:  # fmt: skip
        fits = self.fits(analysis)
        fits = fits.assign(curve=range(len(fits)))
        sel = fits
        if sample:
            sel = sel[sel["sample"] == sample]
        if drug:
            sel = sel[sel["drug"] == drug]
        if status:
            sel = sel[sel["status"] == status]
        if q:
            text = q.lower()
            hit = sel["sample"].str.lower().str.contains(text, regex=False) | sel[
                "drug"
            ].str.lower().str.contains(text, regex=False)
            sel = sel[hit]
        return sel, len(fits)

    def figure(self, analysis: Analysis, curve: int) -> tuple[Any, pd.Series]:
        from ..curves import plot_curves
        from ..data import Screen

        fits = self.fits(analysis)
        if not 0 <= curve < len(fits):
            raise HTTPException(status_code=404, detail=f"no curve {curve}")
        row = fits.iloc[curve]
        screen = Screen(_read(self.storage.result_dir(analysis.id) / "screen.parquet"))
        try:
            fig = plot_curves(screen, fits.iloc[[curve]])
        except InputError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return fig, row

    def shift(
        self, analysis: Analysis, *, parental: str, resistant: list[str], ic50: str
    ) -> tuple[pd.DataFrame, list[str]]:
        """:func:`oncoresist.curves.resistance_shift` on the wells the analysis fitted."""
        import warnings

        from ..curves import resistance_shift
        from ..data import Screen

        self.fits(analysis)  # 409 unless done
        screen = Screen(_read(self.storage.result_dir(analysis.id) / "screen.parquet"))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = resistance_shift(
                    screen, parental=parental, resistant=resistant,
                    model=str(analysis.params.get("model", "ll4")), ic50=ic50,
                )  # fmt: skip
        except InputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return res, [str(w.message) for w in caught]

    def analysis_out(self, db: Session, analysis: Analysis) -> AnalysisOut:
        job = self.job_of(db, analysis.id)
        return AnalysisOut(
            id=analysis.id, dataset_id=analysis.dataset_id, kind=analysis.kind,
            status=analysis.status,
            params=dict(analysis.params), summary=dict(analysis.summary),
            created_at=str(_iso(analysis.created_at)),
            job=None if job is None else job_out(job),
        )  # fmt: skip


def job_out(job: Job) -> JobOut:
    return JobOut(id=job.id, analysis_id=job.analysis_id, state=job.state,
                  progress=job.progress, message=job.message, error=job.error,
                  created_at=str(_iso(job.created_at)), finished_at=_iso(job.finished_at))  # fmt: skip


def project_out(p: Project) -> ProjectOut:
    return ProjectOut(id=p.id, name=p.name, created_at=str(_iso(p.created_at)))


def exclusion_out(e: Exclusion) -> ExclusionOut:
    return ExclusionOut(id=e.id, row=e.row, well=e.well, action=e.action, reason=e.reason,
                        user=e.user, created_at=str(_iso(e.created_at)))  # fmt: skip


def _columns_from_text(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        ours, eq, theirs = part.partition("=")
        if eq and ours.strip() and theirs.strip():
            out[ours.strip()] = theirs.strip()
        elif part.strip():
            raise HTTPException(status_code=400, detail=f"columns: {part!r} is not our=theirs")
    return out


# --------------------------------------------------------------------------- the app
def _db_session(request: Request) -> Iterator[Session]:
    with request.app.state.ctx.sessions() as db:
        yield db


DB = Annotated[Session, Depends(_db_session)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web application for ``settings`` (migrates the database, recovers stale jobs).

    >>> from oncoresist.web import Settings, create_app        # doctest: +SKIP
    >>> app = create_app(Settings(data_dir="orx-data"))         # doctest: +SKIP
    """
    settings = settings or Settings()
    ctx = _Ctx(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.jobs.shutdown()
        ctx.engine.dispose()
        ctx.held.close()

    from .. import __version__

    app = FastAPI(
        title="oncoresist",
        version=__version__,
        description="Local web app and API of oncoresist: upload a screen, fit, browse, "
        "exclude wells (audited), download results and the report.",
        docs_url=None,  # the Swagger page loads from a CDN: the schema is at /openapi.json
        redoc_url=None,
        lifespan=lifespan,
        responses=_PROBLEMS,
    )
    app.state.ctx = ctx
    app.add_middleware(Guard, token=settings.token, max_body=settings.max_upload_bytes + 64 * 1024)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    csrf = [Depends(check_csrf)]
    figures: dict[tuple[str, int], str] = {}
    figures_lock = threading.Lock()

    # ------------------------------------------------------------------ API
    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "recovered_jobs": ctx.recovered}

    @app.get("/api/csrf", tags=["meta"], response_model=Csrf)
    def get_csrf(request: Request) -> Csrf:
        """The CSRF token for form posts (also set as the ``orx_csrf`` cookie)."""
        return Csrf(csrf_token=csrf_token(request))

    @app.post("/api/projects", tags=["projects"], response_model=ProjectOut, status_code=201)
    def create_project(body: ProjectIn, db: DB) -> ProjectOut:
        p = Project(id=new_id(), name=body.name.strip() or "project")
        db.add(p)
        db.commit()
        return project_out(p)

    @app.get("/api/projects", tags=["projects"], response_model=list[ProjectOut])
    def list_projects(db: DB) -> list[ProjectOut]:
        return [project_out(p) for p in db.scalars(select(Project).order_by(Project.created_at))]

    @app.get("/api/projects/{project_id}", tags=["projects"], response_model=ProjectOut)
    def get_project(project_id: str, db: DB) -> ProjectOut:
        return project_out(ctx.get(db, Project, project_id, "project"))

    @app.get(
        "/api/projects/{project_id}/datasets", tags=["datasets"], response_model=list[DatasetOut]
    )
    def list_datasets(project_id: str, db: DB) -> list[DatasetOut]:
        ctx.get(db, Project, project_id, "project")
        q = select(Dataset).where(Dataset.project_id == project_id).order_by(Dataset.created_at)
        return [ctx.dataset_out(d) for d in db.scalars(q)]

    @app.post(
        "/api/projects/{project_id}/datasets",
        tags=["datasets"],
        response_model=DatasetOut,
        status_code=201,
        dependencies=csrf,
        responses={
            413: {"model": Problem, "description": "over the upload limit, or a zip bomb"},
            415: {"model": Problem, "description": "file type or content refused"},
        },
    )
    def upload_dataset(
        project_id: str,
        db: DB,
        file: Annotated[UploadFile, File(description="screen table or plate-reader export")],
        plate_map: Annotated[UploadFile | None, File(description="plate map")] = None,
        columns: Annotated[str | None, Form(description="our=theirs,...")] = None,
        conc_unit: Annotated[str | None, Form(max_length=20)] = None,
        sheet: Annotated[str | None, Form(max_length=100)] = None,
        kind: Annotated[str, Form(pattern="^(auto|combination|profile|model|schedule)$")] = "auto",
    ) -> DatasetOut:
        """Upload a dataset; ``kind`` says what it is.

        ``auto``: a screen (CSV/TSV/Excel/Parquet, GDSC raw), a CurveCurator data set (zip of
        its .toml and table) or a plate-reader export with its plate map; ``combination``:
        combination blocks; ``profile``: a tumour profile (YAML/JSON, MAF-like table, VCF) to
        annotate; ``model``: a tumour model (YAML/JSON) to simulate; ``schedule``: a dosing
        schedule (YAML/JSON) for the project's models. The file is parsed at once:
        the answer has the preview or every error with its row and column. Stored under a
        generated id; the file name is only a label.
        """
        project = ctx.get(db, Project, project_id, "project")
        options = {"columns": _columns_from_text(columns), "conc_unit": conc_unit, "sheet": sheet}
        options = {k: v for k, v in options.items() if v}
        ds = ctx.create_dataset(db, project, file, plate_map, options, kind)
        db.commit()
        return ctx.dataset_out(ds)

    @app.get("/api/datasets/{dataset_id}", tags=["datasets"], response_model=DatasetOut)
    def get_dataset(dataset_id: str, db: DB) -> DatasetOut:
        return ctx.dataset_out(ctx.get(db, Dataset, dataset_id, "dataset"))

    @app.put("/api/datasets/{dataset_id}/options", tags=["datasets"], response_model=DatasetOut)
    def put_options(dataset_id: str, body: OptionsIn, db: DB) -> DatasetOut:
        """Set the column mapping and reading options; the upload is parsed again."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        ctx.set_options(ds, body)
        db.commit()
        return ctx.dataset_out(ds)

    @app.get("/api/datasets/{dataset_id}/wells", tags=["wells"])
    def get_wells(
        dataset_id: str,
        db: DB,
        sample: str | None = None,
        drug: str | None = None,
    ) -> list[dict[str, Any]]:
        return ctx.wells(db, ctx.get(db, Dataset, dataset_id, "dataset"), sample, drug)

    @app.get(
        "/api/datasets/{dataset_id}/exclusions",
        tags=["wells"],
        response_model=list[ExclusionOut],
    )
    def get_exclusions(dataset_id: str, db: DB) -> list[ExclusionOut]:
        """Every exclude / restore event of the dataset: who, when, why."""
        ctx.get(db, Dataset, dataset_id, "dataset")
        return [exclusion_out(e) for e in ctx.events(db, dataset_id)]

    @app.post(
        "/api/datasets/{dataset_id}/exclusions",
        tags=["wells"],
        response_model=ExclusionOut,
        status_code=201,
    )
    def post_exclusion(dataset_id: str, body: ExclusionIn, db: DB) -> ExclusionOut:
        """Exclude or restore one well (``row`` of the parsed table) with a reason."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        ev = ctx.exclude(db, ds, body)
        db.commit()
        return exclusion_out(ev)

    @app.get("/api/datasets/{dataset_id}/qc", tags=["wells"])
    def get_qc(dataset_id: str, db: DB) -> list[dict[str, Any]]:
        """Plate QC of the kept wells (Z', SSMD, CVs, edge test, flags; empty without plates)."""
        qc = ctx.plate_qc(db, ctx.get(db, Dataset, dataset_id, "dataset"))
        return [] if qc is None else _jsonable(qc)

    @app.get("/api/datasets/{dataset_id}/plates/{plate}/figure", tags=["wells"],
             responses=_FIGURE_RESPONSES)  # fmt: skip
    def get_plate_figure(
        dataset_id: str, plate: str, db: DB, format: FigureFormat = "json"
    ) -> Response:
        """Heatmap of one plate's raw reads (excluded wells left blank): plotly JSON, or
        PNG/SVG/PDF."""
        from ..curves import plot_plate

        screen = ctx.kept_screen(db, ctx.get(db, Dataset, dataset_id, "dataset"))
        if plate not in screen.plates:
            raise HTTPException(status_code=404, detail=f"no plate {plate!r}")
        try:
            fig = plot_plate(screen, plate=plate)
        except InputError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return _figure_response(fig, format, f"plate-{plate}")

    @app.post(
        "/api/datasets/{dataset_id}/fits",
        tags=["analyses"],
        response_model=AnalysisOut,
        status_code=202,
    )
    def post_fit(dataset_id: str, db: DB, body: FitIn | None = None) -> AnalysisOut:
        """Fit every curve (plate QC and normalisation first) as a background job."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        return ctx.analysis_out(db, ctx.start_fit(db, ds, body or FitIn()))

    @app.post("/api/datasets/{dataset_id}/synergy", tags=["analyses"],
              response_model=AnalysisOut, status_code=202)  # fmt: skip
    def post_synergy(dataset_id: str, body: SynergyIn, db: DB) -> AnalysisOut:
        """Score every combination block under the chosen reference models (background job):
        :func:`oncoresist.synergy.score_combinations`, as ``oncoresist synergy``."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        return ctx.analysis_out(db, ctx.start_synergy(db, ds, body))

    @app.post("/api/datasets/{dataset_id}/annotations", tags=["analyses"],
              response_model=AnalysisOut, status_code=202)  # fmt: skip
    def post_annotation(dataset_id: str, body: AnnotateIn, db: DB) -> AnalysisOut:
        """Annotate a profile with mechanisms of resistance to each drug (background job):
        :func:`oncoresist.mechanisms.annotate`, as ``oncoresist annotate``."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        return ctx.analysis_out(db, ctx.start_annotate(db, ds, body))

    @app.get("/api/datasets/{dataset_id}/schedules", tags=["analyses"])
    def get_schedules(dataset_id: str, db: DB) -> dict[str, str]:
        """Schedules that run on a model dataset, choice -> label: the shipped examples and the
        project's uploaded schedule files (empty for other kinds)."""
        return ctx.schedules(db, ctx.get(db, Dataset, dataset_id, "dataset"))

    @app.post("/api/datasets/{dataset_id}/simulations", tags=["analyses"],
              response_model=AnalysisOut, status_code=202)  # fmt: skip
    def post_simulation(dataset_id: str, body: SimulateIn, db: DB) -> AnalysisOut:
        """Simulate a model under several schedules and compare them (background job):
        :func:`oncoresist.evolution.simulate` + ``compare_schedules``, as ``oncoresist
        simulate`` (common random numbers)."""
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        return ctx.analysis_out(db, ctx.start_simulate(db, ds, body))

    @app.get(
        "/api/datasets/{dataset_id}/analyses", tags=["analyses"], response_model=list[AnalysisOut]
    )
    def list_analyses(dataset_id: str, db: DB) -> list[AnalysisOut]:
        ctx.get(db, Dataset, dataset_id, "dataset")
        q = select(Analysis).where(Analysis.dataset_id == dataset_id).order_by(Analysis.created_at)
        return [ctx.analysis_out(db, a) for a in db.scalars(q)]

    @app.get("/api/analyses/{analysis_id}", tags=["analyses"], response_model=AnalysisOut)
    def get_analysis(analysis_id: str, db: DB) -> AnalysisOut:
        return ctx.analysis_out(db, ctx.get(db, Analysis, analysis_id, "analysis"))

    @app.get("/api/jobs/{job_id}", tags=["jobs"], response_model=JobOut)
    def get_job(job_id: str, db: DB) -> JobOut:
        return job_out(ctx.get(db, Job, job_id, "job"))

    @app.post("/api/jobs/{job_id}/cancel", tags=["jobs"], response_model=JobOut)
    def cancel_job(job_id: str, db: DB) -> JobOut:
        job = ctx.get(db, Job, job_id, "job")
        if job.state in ("queued", "running"):
            ctx.jobs.cancel(job.id)
        db.expire_all()
        return job_out(ctx.get(db, Job, job_id, "job"))

    @app.get("/api/analyses/{analysis_id}/curves", tags=["analyses"], response_model=CurvesOut)
    def get_curves(
        analysis_id: str,
        db: DB,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sample: str | None = None,
        drug: str | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> CurvesOut:
        """Fitted curves, searched (``q`` in sample or drug) and filtered."""
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        sel, total = ctx.curves(analysis, q=q, sample=sample, drug=drug, status=status)
        cols = ["curve", *[c for c in _CURVE_COLUMNS if c in sel.columns]]
        page = sel[cols].iloc[offset : offset + limit]
        return CurvesOut(total=total, matched=len(sel), curves=_jsonable(page))

    @app.get("/api/analyses/{analysis_id}/shift", tags=["analyses"], response_model=ShiftOut)
    def get_shift(
        analysis_id: str,
        db: DB,
        parental: Annotated[str, Query(min_length=1, max_length=200)],
        resistant: Annotated[list[str], Query(min_length=1, max_length=50)],
        ic50: Annotated[str, Query(pattern="^(abs|rel)$")] = "abs",
    ) -> ShiftOut:
        """Resistance index (IC50 fold shift) with 95% CI and F-test per drug, parental vs
        resistant line(s): :func:`oncoresist.curves.resistance_shift` on the fitted wells."""
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        res, notes = ctx.shift(analysis, parental=parental, resistant=resistant, ic50=ic50)
        return ShiftOut(parental=parental, resistant=resistant, ic50=ic50, notes=notes,
                        rows=_jsonable(res))  # fmt: skip

    @app.get("/api/analyses/{analysis_id}/shift/figure", tags=["analyses"],
             responses=_FIGURE_RESPONSES)  # fmt: skip
    def get_shift_figure(
        analysis_id: str,
        db: DB,
        parental: Annotated[str, Query(min_length=1, max_length=200)],
        resistant: Annotated[list[str], Query(min_length=1, max_length=50)],
        drug: Annotated[str, Query(min_length=1, max_length=200)],
        format: FigureFormat = "json",
    ) -> Response:
        """Parental and resistant curves of one drug on one axis (:func:`plot_shift`): plotly
        JSON, or PNG/SVG/PDF."""
        from ..curves import plot_shift
        from ..data import Screen

        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        fits = ctx.fits(analysis)
        screen = Screen(_read(ctx.storage.result_dir(analysis.id) / "screen.parquet"))
        try:
            fig = plot_shift(screen, fits, parental=parental, resistant=resistant, drug=drug)
        except InputError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        return _figure_response(fig, format, f"shift-{drug}")

    @app.get("/api/analyses/{analysis_id}/curves/{curve}/figure", tags=["analyses"],
             responses=_FIGURE_RESPONSES)  # fmt: skip
    def get_figure(analysis_id: str, curve: int, db: DB, format: FigureFormat = "json") -> Response:
        """One curve's figure (points, fit and CI band): plotly JSON, or PNG/SVG/PDF."""
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        key = (analysis.id, curve)
        with figures_lock:
            text = figures.get(key)
        if text is None:
            fig, _ = ctx.figure(analysis, curve)
            text = fig.to_json()  # a done analysis never changes: cached
            with figures_lock:
                figures[key] = text
                while len(figures) > 256:
                    figures.pop(next(iter(figures)))
        if format == "json":
            return Response(text, media_type="application/json")
        import json

        return _figure_response(json.loads(text), format, f"curve-{curve}")

    @app.get("/api/analyses/{analysis_id}/results", tags=["analyses"], response_model=CurvesOut)
    def get_results(
        analysis_id: str,
        db: DB,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> CurvesOut:
        """Rows of a done analysis' main table (fits, scores, evidence or schedule comparison)."""
        table = ctx.results(ctx.get(db, Analysis, analysis_id, "analysis"))
        page = table.iloc[offset : offset + limit]
        return CurvesOut(total=len(table), matched=len(table), curves=_jsonable(page))

    @app.get("/api/analyses/{analysis_id}/figures", tags=["analyses"])
    def list_figures(analysis_id: str, db: DB) -> list[str]:
        """Names of the stored figures of a done analysis (annotation, schedule comparison)."""
        return list(ctx.stored_figures(ctx.get(db, Analysis, analysis_id, "analysis")))

    @app.get("/api/analyses/{analysis_id}/figures/{name}", tags=["analyses"],
             responses=_FIGURE_RESPONSES)  # fmt: skip
    def get_stored_figure(
        analysis_id: str, name: str, db: DB, format: FigureFormat = "json"
    ) -> Response:
        """One stored figure: plotly JSON, or PNG/SVG/PDF."""
        stored = ctx.stored_figures(ctx.get(db, Analysis, analysis_id, "analysis"))
        if name not in stored:
            raise HTTPException(status_code=404, detail=f"no figure {name!r}; have {list(stored)}")
        return _figure_response(stored[name], format, name)

    @app.get("/api/analyses/{analysis_id}/blocks/{block}/figure", tags=["analyses"],
             responses=_FIGURE_RESPONSES)  # fmt: skip
    def get_block_figure(
        analysis_id: str,
        block: str,
        db: DB,
        model: Annotated[str, Query(max_length=20)] = "bliss",
        kind: Annotated[str, Query(pattern="^(heatmap|surface|single_agents)$")] = "heatmap",
        format: FigureFormat = "json",
    ) -> Response:
        """A scored block's excess heatmap or 3-D surface under ``model``, or its single-agent
        fits: plotly JSON, or PNG/SVG/PDF."""
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        if analysis.kind != "synergy":
            raise HTTPException(status_code=409, detail=f"analysis {analysis.id} scored no blocks")
        ctx.result_file(analysis, "parquet")  # 409 unless done
        try:
            fig = analyses.synergy_figure(ctx.storage.result_dir(analysis.id), block, model, kind)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
        return _figure_response(fig, format, f"{kind}-{model}-{block}")

    @app.get(
        "/api/analyses/{analysis_id}/download/{fmt}",
        tags=["analyses"],
        response_class=FileResponse,
    )
    def download(analysis_id: str, fmt: str, db: DB) -> FileResponse:
        """Results as ``csv``, ``xlsx`` or ``parquet``, or the self-contained ``report``."""
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        if fmt not in _DOWNLOADS:
            raise HTTPException(
                status_code=404, detail=f"no download {fmt!r}; use {list(_DOWNLOADS)}"
            )
        media, suffix = _DOWNLOADS[fmt]
        path = ctx.result_file(analysis, suffix)
        return FileResponse(path, media_type=media,
                            filename=f"oncoresist-{analysis.id[:8]}-{path.name}")  # fmt: skip

    # ------------------------------------------------------------------ static files
    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            import plotly

            path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
            return FileResponse(path, media_type="text/javascript",
                                headers={"cache-control": "max-age=86400"})  # fmt: skip
        if name not in _STATIC:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(_HERE / "static" / name, media_type=_STATIC[name])

    # ------------------------------------------------------------------ pages
    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request, name, {"csrf": csrf_token(request), **context}, status_code=status_code
        )

    def back(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)  # fmt: skip
        return page(request, "error.html", status_code=exc.status_code, error=exc.detail)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request, db: DB) -> HTMLResponse:
        projects = db.scalars(select(Project).order_by(Project.created_at.desc())).all()
        return page(request, "index.html", projects=projects)

    @app.post("/projects", include_in_schema=False, dependencies=csrf)
    def form_project(name: Annotated[str, Form(min_length=1, max_length=200)], db: DB) -> Response:
        p = Project(id=new_id(), name=name.strip() or "project")
        db.add(p)
        db.commit()
        return back(f"/projects/{p.id}")

    @app.get("/projects/{project_id}", response_class=HTMLResponse, include_in_schema=False)
    def project_page(request: Request, project_id: str, db: DB) -> HTMLResponse:
        p = ctx.get(db, Project, project_id, "project")
        q = select(Dataset).where(Dataset.project_id == p.id).order_by(Dataset.created_at)
        return page(request, "project.html", project=p, datasets=db.scalars(q).all())

    @app.post("/projects/{project_id}/upload", include_in_schema=False, dependencies=csrf)
    def form_upload(
        project_id: str,
        db: DB,
        file: Annotated[UploadFile, File()],
        plate_map: Annotated[UploadFile | None, File()] = None,
        kind: Annotated[str, Form(max_length=20)] = "auto",
    ) -> Response:
        p = ctx.get(db, Project, project_id, "project")
        ds = ctx.create_dataset(db, p, file, plate_map, {}, kind)
        db.commit()
        return back(f"/datasets/{ds.id}")

    @app.get("/datasets/{dataset_id}", response_class=HTMLResponse, include_in_schema=False)
    def dataset_page(request: Request, dataset_id: str, db: DB) -> HTMLResponse:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        q = select(Analysis).where(Analysis.dataset_id == ds.id).order_by(Analysis.created_at)
        qc = ctx.plate_qc(db, ds) if ds.status == "ok" else None
        qc_cols = ["plate", "z_prime", "robust_z_prime", "ssmd", "signal_to_background",
                   "cv_negative", "edge_pvalue", "flags", "pass"]  # fmt: skip
        qc_rows = [] if qc is None else _jsonable(qc[[c for c in qc_cols if c in qc.columns]])
        from ..synergy import available_models

        return page(
            request, "dataset.html", ds=ds, out=ctx.dataset_out(ds), qc=qc_rows,
            analyses=db.scalars(q).all(), events=ctx.events(db, ds.id),
            fields=_FIELDS.get(ds.kind, _FIELDS["screen"] if ds.kind != "profile"
                               and ds.kind != "model" else []),
            schedules=ctx.schedules(db, ds), synergy_models=available_models(),
            titles=_KIND_TITLES,
        )  # fmt: skip

    @app.post("/datasets/{dataset_id}/options", include_in_schema=False, dependencies=csrf)
    async def form_options(request: Request, dataset_id: str) -> Response:
        form = await request.form()
        columns = {}
        for key, value in form.multi_items():
            if key.startswith("col_") and isinstance(value, str) and value.strip():
                columns[key[4:]] = value.strip()

        def text(name: str) -> str | None:
            v = form.get(name)
            return v.strip() or None if isinstance(v, str) else None

        try:
            opts = OptionsIn(columns=columns, conc_unit=text("conc_unit"), sheet=text("sheet"),
                             sep=text("sep"), decimal=text("decimal"), read=text("read"))  # fmt: skip
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        with ctx.sessions() as db:
            ds = ctx.get(db, Dataset, dataset_id, "dataset")
            ctx.set_options(ds, opts)
            db.commit()
        return back(f"/datasets/{dataset_id}")

    @app.post("/datasets/{dataset_id}/fit", include_in_schema=False, dependencies=csrf)
    def form_fit(
        dataset_id: str,
        db: DB,
        model: Annotated[str, Form()] = "ll4",
    ) -> Response:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        try:
            body = FitIn(model=model)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return back(f"/analyses/{ctx.start_fit(db, ds, body).id}")

    def _form_body(model: type[BaseModel], **values: Any) -> Any:
        try:
            return model(**values)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @app.post("/datasets/{dataset_id}/synergy", include_in_schema=False, dependencies=csrf)
    def form_synergy(
        dataset_id: str,
        db: DB,
        models: Annotated[list[str], Form()],
        n_boot: Annotated[int, Form()] = 0,
    ) -> Response:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        body = _form_body(SynergyIn, models=models, n_boot=n_boot)
        return back(f"/analyses/{ctx.start_synergy(db, ds, body).id}")

    @app.post("/datasets/{dataset_id}/annotate", include_in_schema=False, dependencies=csrf)
    def form_annotate(
        dataset_id: str, db: DB, drugs: Annotated[str, Form(max_length=2000)]
    ) -> Response:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        names = [d.strip() for d in drugs.replace(";", ",").split(",") if d.strip()]
        body = _form_body(AnnotateIn, drugs=names)
        return back(f"/analyses/{ctx.start_annotate(db, ds, body).id}")

    @app.post("/datasets/{dataset_id}/simulate", include_in_schema=False, dependencies=csrf)
    def form_simulate(
        dataset_id: str,
        db: DB,
        schedules: Annotated[list[str], Form()],
        method: Annotated[str, Form()] = "ode",
        t_end: Annotated[float, Form()] = 1825.0,
        n_runs: Annotated[int, Form()] = 1,
        seed: Annotated[int, Form()] = 0,
    ) -> Response:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        body = _form_body(SimulateIn, schedules=schedules, method=method, t_end=t_end,
                          n_runs=n_runs, seed=seed)  # fmt: skip
        return back(f"/analyses/{ctx.start_simulate(db, ds, body).id}")

    @app.post("/datasets/{dataset_id}/wells/{row}", include_in_schema=False, dependencies=csrf)
    def form_exclusion(
        dataset_id: str,
        row: int,
        db: DB,
        reason: Annotated[str, Form(min_length=1, max_length=2000)],
        action: Annotated[str, Form()] = "exclude",
        user: Annotated[str | None, Form(max_length=200)] = None,
        next: Annotated[str | None, Form(max_length=300)] = None,
    ) -> Response:
        ds = ctx.get(db, Dataset, dataset_id, "dataset")
        try:
            body = ExclusionIn(row=row, action=action, reason=reason, user=user)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        ctx.exclude(db, ds, body)
        db.commit()
        # only a local path may be the target: never an absolute or scheme-relative URL
        target = next or ""
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = ""
        return back(target or f"/datasets/{dataset_id}")

    @app.get("/analyses/{analysis_id}", response_class=HTMLResponse, include_in_schema=False)
    def analysis_page(
        request: Request,
        analysis_id: str,
        db: DB,
        q: str | None = None,
        sample: str | None = None,
        drug: str | None = None,
        status: str | None = None,
        parental: str | None = None,
        resistant: Annotated[list[str] | None, Query()] = None,
    ) -> HTMLResponse:
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        ds = ctx.get(db, Dataset, analysis.dataset_id, "dataset")
        job = ctx.job_of(db, analysis.id)
        if analysis.kind != "fit":
            return results_page(request, analysis, ds, job)
        shift: dict[str, Any] | None = None
        if analysis.status == "done" and parental and resistant:
            try:
                res, notes = ctx.shift(analysis, parental=parental, resistant=resistant,
                                       ic50="abs")  # fmt: skip
                from urllib.parse import urlencode

                figs = []
                for drug in dict.fromkeys(res["drug"].astype(str)) if len(res) else ():
                    query = urlencode({"parental": parental, "drug": drug,
                                       "resistant": resistant}, doseq=True)  # fmt: skip
                    figs.append((drug, f"/api/analyses/{analysis.id}/shift/figure?{query}"))
                shift = {"rows": _jsonable(res), "notes": notes, "error": None, "figures": figs}
            except HTTPException as exc:
                shift = {"rows": [], "notes": [], "error": exc.detail, "figures": []}
        curves: list[dict[str, Any]] = []
        total = 0
        options: dict[str, list[str]] = {}
        if analysis.status == "done":
            sel, total = ctx.curves(analysis, q=q, sample=sample, drug=drug, status=status)
            curves = _jsonable(sel[["curve", *[c for c in _CURVE_COLUMNS if c in sel.columns]]])
            fits = ctx.fits(analysis)
            options = {
                k: sorted(fits[k].astype(str).unique()) for k in ("sample", "drug", "status")
            }
        return page(
            request, "analysis.html", analysis=analysis, ds=ds, job=job, curves=curves,
            total=total, options=options, shift=shift,
            pair={"parental": parental or "", "resistant": resistant or []},
            filters={"q": q or "", "sample": sample or "", "drug": drug or "",
                     "status": status or ""},
        )  # fmt: skip

    def results_page(request: Request, analysis: Analysis, ds: Dataset, job: Job | None) -> Any:
        rows: list[dict[str, Any]] = []
        columns: list[str] = []
        total = 0
        figs: list[str] = []
        blocks: list[str] = []
        block = request.query_params.get("block") or ""
        model = request.query_params.get("model") or ""
        if analysis.status == "done":
            table = ctx.results(analysis)
            total = len(table)
            columns = [str(c) for c in table.columns]
            rows = _jsonable(table.head(_TABLE_ROWS))
            figs = list(ctx.stored_figures(analysis))
            if analysis.kind == "synergy":
                blocks = list(dict.fromkeys(table["block_id"].astype(str)))
                block = block if block in blocks else (blocks[0] if blocks else "")
                models = [str(m) for m in analysis.params.get("models", [])]
                model = model if model in models else (models[0] if models else "")
        return page(
            request, "results.html", analysis=analysis, ds=ds, job=job, rows=rows,
            columns=columns, total=total, shown=len(rows), figures=figs, blocks=blocks,
            block=block, model=model, title=_KIND_TITLES.get(analysis.kind, analysis.kind),
        )  # fmt: skip

    @app.get(
        "/analyses/{analysis_id}/curves/{curve}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def curve_page(request: Request, analysis_id: str, curve: int, db: DB) -> HTMLResponse:
        analysis = ctx.get(db, Analysis, analysis_id, "analysis")
        ds = ctx.get(db, Dataset, analysis.dataset_id, "dataset")
        fits = ctx.fits(analysis)
        if not 0 <= curve < len(fits):
            raise HTTPException(status_code=404, detail=f"no curve {curve}")
        row = _jsonable(fits.iloc[[curve]])[0]
        wells = ctx.wells(db, ds, str(row["sample"]), str(row["drug"]))
        return page(request, "curve.html", analysis=analysis, ds=ds, curve=curve, fit=row,
                    wells=wells, columns=[c for c in _CURVE_COLUMNS if c in row])  # fmt: skip

    return app
