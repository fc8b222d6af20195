"""Command line: ``oncoresist serve`` (registered on the main app)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

_LOCAL = {"127.0.0.1", "localhost", "::1"}


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""

    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default: loopback)"),
        port: int = typer.Option(8000, "--port", help="port"),
        data_dir: Path = typer.Option(
            Path("oncoresist-data"), "--data-dir", help="database, uploads and results"
        ),
        token: str | None = typer.Option(
            None, "--token", envvar="ONCORESIST_TOKEN", help="access token (needed off loopback)"
        ),
        db_url: str | None = typer.Option(
            None, "--db-url", help="SQLAlchemy URL (default: SQLite in --data-dir)"
        ),
        max_upload_mb: int = typer.Option(50, "--max-upload-mb", help="largest upload (MB)"),
        workers: int = typer.Option(2, "--workers", help="job worker threads"),
        executor: str = typer.Option(
            "serial",
            "--executor",
            help="how each job's curve fits are spread out: serial, threads, processes or dask",
        ),
        scheduler: str | None = typer.Option(
            None,
            "--scheduler",
            help="Dask scheduler address for --executor dask (default: a local cluster)",
        ),
    ) -> None:
        """Local web app and HTTP API: upload, fit, browse curves, exclude wells, download.

        Binds 127.0.0.1; another address needs --token (every request must then carry it).
        """
        from ..errors import InputError

        try:
            import uvicorn

            from . import Settings, create_app
        except ImportError as exc:  # pragma: no cover - the web extra is missing
            raise InputError(
                f"oncoresist serve needs the web extra: pip install 'oncoresist[web]' ({exc})"
            ) from exc
        if host not in _LOCAL and not token:
            raise InputError(
                f"--host {host}: serving another interface than 127.0.0.1 needs an access token "
                "(--token T or ONCORESIST_TOKEN); every request must then carry it"
            )
        if not 1 <= max_upload_mb <= 10_000:
            raise InputError(f"--max-upload-mb {max_upload_mb}: give 1 to 10000")
        settings = Settings(data_dir=data_dir, db_url=db_url, token=token,
                            max_upload_bytes=max_upload_mb * 1024 * 1024, workers=workers,
                            executor=executor, scheduler=scheduler)  # fmt: skip
        application = create_app(settings)
        where = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
        typer.echo(f"oncoresist serve: {where} (data in {data_dir.resolve()})")
        uvicorn.run(application, host=host, port=port, log_level="warning")
