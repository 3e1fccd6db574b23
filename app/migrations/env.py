"""Alembic environment. Run through ``python -m app migrate``, which passes a connection
holding the advisory lock; plain ``alembic`` use falls back to the configured DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.core.config import Settings
from app.models import Base

target_metadata = Base.metadata


def run_with(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    with create_engine(Settings().sqlalchemy_database_url).connect() as conn:
        run_with(conn)
        conn.commit()
