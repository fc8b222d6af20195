"""Settings of the web app (data folder, database URL, access token, limits)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

__all__ = ["Settings"]

_MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a running app needs; every field has a safe default.

    Parameters
    ----------
    data_dir
        Folder of the database (SQLite by default), uploads and results. Created if missing.
    db_url
        Any SQLAlchemy URL (``postgresql+psycopg://...``); default ``sqlite:///<data_dir>/oncoresist.db``.
    token
        Access token. Without one, only requests from the loopback interface are served; with
        one, every request needs it (``Authorization: Bearer``, the ``orx_token`` cookie or
        ``?token=`` once in the browser, which sets the cookie).
    max_upload_bytes
        Largest request body accepted (413 above).
    max_expanded_bytes
        Largest size a compressed upload (``.zip``, ``.gz``, ``.xlsx``) may expand to.
    workers
        Threads of the job pool.
    user
        Name recorded in the audit of exclusions when a request names nobody.
    executor
        How a job's curve fits are spread out: ``"serial"`` (default), ``"threads"``,
        ``"processes"``, ``"dask"`` (with ``scheduler``) or an executor object; the same setting
        as the API's ``executor=`` (:func:`oncoresist.curves.resolve_executor`).
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``) for ``executor="dask"``; a local
        cluster when not given.
    """

    data_dir: Path | str = Path("oncoresist-data")
    db_url: str | None = None
    token: str | None = None
    max_upload_bytes: int = 50 * _MB
    max_expanded_bytes: int = 500 * _MB
    workers: int = 2
    user: str = "local user"
    executor: Any = "serial"
    scheduler: str | None = None

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_path / 'oncoresist.db').resolve()}"
