"""``python -m app migrate``: Alembic upgrade to head, serialised by a Postgres advisory lock.

Every replica may run this at start-up at the same moment: the first takes the lock and
migrates, the others wait for it, then find the schema at head and do nothing.
"""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from app.core.config import APP_DIR, Settings
from app.db import make_sync_engine

log = logging.getLogger("app.migrate")

# Any constant shared by all replicas; this one spells "berth".
ADVISORY_LOCK_ID = 0x6265727468


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(APP_DIR / "migrations"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def run_migrations(settings: Settings) -> str | None:
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as conn:
            if settings.is_postgres:
                conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
                conn.commit()
            try:
                before = current_revision(conn)
                config = alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
                after = current_revision(conn)
                log.info("migrations applied" if before != after else "schema already at head",
                         extra={"from_revision": before, "to_revision": after})
                return after
            finally:
                if settings.is_postgres:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
                    conn.commit()
    finally:
        engine.dispose()
