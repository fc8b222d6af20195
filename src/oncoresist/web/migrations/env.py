"""Alembic environment: run by ``oncoresist.web._db.upgrade`` with a connection."""

from __future__ import annotations

from alembic import context

from oncoresist.web._db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the app always passes one
    raise RuntimeError("run migrations through oncoresist.web._db.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
