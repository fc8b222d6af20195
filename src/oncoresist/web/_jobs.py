"""Background jobs: a thread pool, progress and cancellation persisted in the database.

A job's state moves ``queued -> running -> done | failed | cancelled``; every change is
written at once, so a page reload (or another process) sees it. At start-up,
:meth:`JobRunner.recover` marks jobs that a stopped server left queued or running as failed,
with the reason, so none is left "running" forever.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ._db import Analysis, Job, now
from ._service import Cancelled

__all__ = ["JobRunner"]

JobFn = Callable[[Callable[[float, str], None], Callable[[], bool]], dict[str, Any]]


class JobRunner:
    """Runs job functions ``fn(progress, cancelled) -> summary`` in a worker pool."""

    def __init__(self, sessions: sessionmaker[Session], *, workers: int) -> None:
        self._sessions = sessions
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._cancel: dict[str, threading.Event] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def recover(self) -> int:
        """Mark jobs left queued or running by a previous server as failed; returns how many."""
        with self._sessions.begin() as db:
            stale = db.scalars(select(Job).where(Job.state.in_(("queued", "running")))).all()
            for job in stale:
                job.error = (
                    f"interrupted: the server stopped while the job was {job.state} "
                    f"(marked failed at restart, {now().isoformat()}); run it again"
                )
                job.state = "failed"
                job.finished_at = now()
                analysis = db.get(Analysis, job.analysis_id)
                if analysis is not None:
                    analysis.status = "failed"
            return len(stale)

    def submit(self, job_id: str, fn: JobFn) -> None:
        event = threading.Event()
        with self._lock:
            if self._pool is None:  # started on first use, again after a shutdown
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="orx-job"
                )
            self._cancel[job_id] = event
            self._futures[job_id] = self._pool.submit(self._run, job_id, fn, event)

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop; True when it was queued or running here."""
        with self._lock:
            event = self._cancel.get(job_id)
            future = self._futures.get(job_id)
        if event is None:
            return False
        event.set()
        if future is not None and future.cancel():  # never started
            self._finish(job_id, "cancelled", error="cancelled before it started")
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job of this runner ends (tests, the CLI)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            try:
                future.result(timeout=timeout)
            except Exception:  # recorded in the job row already
                pass

    def shutdown(self) -> None:
        """Cancel what is queued or running and wait for the workers (server shutdown)."""
        with self._lock:
            self._stopping = True
            events = list(self._cancel.values())
            pool, self._pool = self._pool, None
            never_started = [j for j, f in self._futures.items() if f.cancel()]
        for event in events:
            event.set()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for job_id in never_started:
            self._finish(job_id, "failed", error="the server shut down before the job started")
        with self._lock:
            self._stopping = False

    # ------------------------------------------------------------------ internals
    def _update(self, job_id: str, **values: Any) -> None:
        with self._sessions.begin() as db:
            job = db.get(Job, job_id)
            if job is None:
                return
            for key, value in values.items():
                setattr(job, key, value)

    def _finish(
        self, job_id: str, state: str, *, error: str | None = None, summary: Any = None
    ) -> None:
        with self._sessions.begin() as db:
            job = db.get(Job, job_id)
            if job is None:
                return
            job.state = state
            job.error = error
            job.finished_at = now()
            if state == "done":
                job.progress = 1.0
            analysis = db.get(Analysis, job.analysis_id)
            if analysis is not None:
                analysis.status = state
                if summary is not None:
                    analysis.summary = summary

    def _run(self, job_id: str, fn: JobFn, event: threading.Event) -> None:
        if event.is_set():
            self._finish(job_id, "cancelled", error="cancelled before it started")
            return
        self._update(job_id, state="running", started_at=now(), message="started")
        with self._sessions.begin() as db:
            job = db.get(Job, job_id)
            analysis = db.get(Analysis, job.analysis_id) if job else None
            if analysis is not None:
                analysis.status = "running"

        def progress(fraction: float, message: str) -> None:
            self._update(job_id, progress=float(min(max(fraction, 0.0), 1.0)), message=message)

        try:
            summary = fn(progress, event.is_set)
        except Cancelled:
            if self._stopping:
                self._finish(job_id, "failed", error="interrupted: the server shut down")
            else:
                self._finish(job_id, "cancelled", error="cancelled by a user")
        except Exception as exc:  # every failure is recorded with its reason
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self._finish(job_id, "failed", error=detail)
        else:
            self._finish(job_id, "done", summary=summary)
        finally:
            with self._lock:
                self._cancel.pop(job_id, None)
                self._futures.pop(job_id, None)
