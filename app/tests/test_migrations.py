"""Migrations from an empty database, and `migrate` run by several replicas at once."""

from __future__ import annotations

import subprocess
import sys

import psycopg

from app.migrate import head_revision
from app.tests.conftest import REPO, run_cli


def schema_state(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        faqs = conn.execute("SELECT count(*) FROM faqs").fetchone()[0]
    return {"tables": tables, "versions": versions, "faqs": faqs}


def test_migrate_from_empty_reaches_head_and_is_idempotent(fresh_databases) -> None:
    url = fresh_databases.create()
    first = run_cli("migrate", env={"DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    state = schema_state(url)
    assert state["tables"] >= {"users", "faqs", "feedback", "alembic_version"}
    assert state["versions"] == [head_revision()]
    assert state["faqs"] > 0
    assert '"migrations applied"' in first.stderr

    again = run_cli("migrate", env={"DATABASE_URL": url})
    assert again.returncode == 0, again.stderr
    assert '"schema already at head"' in again.stderr
    assert schema_state(url) == state


def test_concurrent_migrate_applies_schema_exactly_once(fresh_databases) -> None:
    baseline_url = fresh_databases.create()
    assert run_cli("migrate", env={"DATABASE_URL": baseline_url}).returncode == 0
    baseline = schema_state(baseline_url)

    url = fresh_databases.create()
    # postgres:// is what several clouds hand out; the app must map it to its driver.
    env_url = url.replace("postgresql://", "postgres://", 1)
    procs = [subprocess.Popen([sys.executable, "-m", "app", "migrate"], cwd=REPO,
                              env={"DATABASE_URL": env_url, "PATH": "/usr/bin:/bin"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(5)]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in results] == [0] * 5, results
    applied = sum('"migrations applied"' in err for _, err in results)
    assert applied == 1, [err[-300:] for _, err in results]
    assert schema_state(url) == baseline
